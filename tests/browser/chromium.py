"""Debian's headless Chromium for the browser tests: the DOM after scripts ran, screenshots,
and a DevTools session over a pipe (no port, no extra package) to scroll, hover and click.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

TIMEOUT_S = 60
WINDOW = "1400,900"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    f"--window-size={WINDOW}",
)


def find() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "no `chromium` on PATH: the browser tests need Debian's package. "
            "`make browser` installs it (apt-get install chromium); `make test` runs that first."
        )
    return found


def run(chromium: str, profile: Path, *args: str) -> str:
    """Chromium's standard output; killed with its child processes after TIMEOUT_S."""
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish in {TIMEOUT_S} s: {' '.join(command)}")
    assert process.returncode == 0, f"chromium exited {process.returncode}:\n{err[-3000:]}"
    return out


# The DOM as Chromium dumped it -----------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    texts: list[str] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return "".join(self.texts)


class Dom(HTMLParser):
    """Every element of a page, in document order, each with the text inside it."""

    VOID = frozenset({"meta", "link", "input", "img", "br", "hr", "source", "wbr", "area"})

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if self._open:
            self._open[-1].children.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.texts.append(data)

    def find(
        self, *, tag: str | None = None, cls: str | None = None, id: str | None = None
    ) -> Iterator[Element]:
        for element in self.elements:
            if tag is not None and element.tag != tag:
                continue
            if cls is not None and cls not in element.classes:
                continue
            if id is not None and element.attrs.get("id") != id:
                continue
            yield element

    def one(self, **how: str) -> Element:
        (element,) = self.find(**how)
        return element

    @property
    def body(self) -> Element:
        return self.one(tag="body")


# A DevTools session over --remote-debugging-pipe -----------------------------------------


class DevTools:
    """One page in a headless Chromium, driven by DevTools messages on fds 3 (in) and 4 (out)."""

    def __init__(self, chromium: str, profile: Path) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def pipes_at_3_and_4() -> None:  # in the child, before exec
            inbound = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10)
            outbound = fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
            os.dup2(inbound, 3)
            os.dup2(outbound, 4)

        self._process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=pipes_at_3_and_4,  # noqa: PLW1509 (the test process has no threads here)
            start_new_session=True,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._deadline = time.monotonic() + TIMEOUT_S
        self._buffer = b""
        self._next = 0
        self._session: str | None = None
        pages: list[dict[str, Any]] = []
        while not pages:
            targets = self.send("Target.getTargets")["targetInfos"]
            pages = [target for target in targets if target["type"] == "page"]
        attached = self.send("Target.attachToTarget", targetId=pages[0]["targetId"], flatten=True)
        self._session = attached["sessionId"]

    def send(self, method: str, *, to_page: bool = True, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self._session is not None and to_page:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = json.loads(self._message())
            if reply.get("id") == self._next:
                assert "error" not in reply, (method, reply["error"])
                result: dict[str, Any] = reply["result"]
                return result

    def _message(self) -> bytes:
        while b"\0" not in self._buffer:
            left = self._deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(0.0, left))
            if not ready:
                pytest.fail(f"chromium did not answer in {TIMEOUT_S} s")
            chunk = os.read(self._read, 1 << 16)
            assert chunk, "chromium closed its DevTools pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return message

    def open(self, url: str, ready: str) -> None:
        """Go to ``url`` and wait until the expression ``ready`` is true there."""
        self.send("Page.navigate", url=url)
        self.evaluate(
            "new Promise((done) => { const check = () => { try { if ("
            + ready
            + ") return done(true); }"
            " catch (e) {} setTimeout(check, 20); }; check(); })"
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def __enter__(self) -> DevTools:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):  # Chromium may be gone already
            os.write(self._write, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        os.close(self._write)
        os.close(self._read)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
