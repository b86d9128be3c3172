"""A port served in a thread of its own, which can refuse connections for a while."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

logger = logging.getLogger(__name__)

ACCEPT_POLL_SECONDS = 0.1


class _QuietHandler(MotoRequestHandler):
    """No access log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def _never() -> bool:
    return False


class Listener:
    """Serves ``app`` on ``host:port``, each connection in its own thread.

    While ``refusing()`` is true the listening socket is closed, so new connections are
    refused (connections accepted before stay open).
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: Callable[..., Any],
        *,
        name: str,
        refusing: Callable[[], bool] = _never,
    ) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self._server.timeout = ACCEPT_POLL_SECONDS
        self.port = int(self._server.server_port)
        self._refusing = refusing
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._closing.set()
        self._thread.join(timeout=10)
        self._server.server_close()

    def _serve(self) -> None:
        server, listening = self._server, True
        while not self._closing.is_set():
            if self._refusing():
                if listening:
                    server.socket.close()
                    listening = False
                time.sleep(ACCEPT_POLL_SECONDS)
                continue
            if not listening:
                try:
                    self._listen_again()
                except OSError:
                    logger.exception("could not open port %d again", self.port)
                    return
                listening = True
            server.handle_request()

    def _listen_again(self) -> None:
        """Open the port again (it was closed to refuse connections)."""
        server = self._server
        server.socket = socket.socket(server.address_family, server.socket_type)
        deadline = time.monotonic() + 5
        while True:
            try:
                server.server_bind()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(ACCEPT_POLL_SECONDS)
        server.server_activate()
