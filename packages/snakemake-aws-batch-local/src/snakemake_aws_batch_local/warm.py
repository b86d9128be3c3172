"""What the fork server does once, before it forks, so that each command it runs does not.

A job's ``python -m snakemake`` spends its CPU, after the imports, on three things every
process does the same way: finding Snakemake's plugins (it imports every installed plugin
package to list them), finding and reading botocore's JSON data files (service models,
endpoints) for each client it makes, and building that first client. The server does
each once; a forked command finds them done. When a command could see a plugin the server
did not (on its ``PYTHONPATH``, installed since, or deployed with pip into its working
directory), it looks for them again, as a fresh interpreter would. The modules the server
imported stay as they are: a command's ``PYTHONPATH`` adds modules, it does not replace
those.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import boto3
from botocore.loaders import JSONFileLoader, Loader

# Imported once by the server, before it forks.
PRELOAD = (
    "snakemake.cli",
    "snakemake_storage_plugin_s3",
    "boto3",
    "pip._internal.cli.main",
    "pip._internal.commands.install",
)
# Snakemake's plugin registries: singletons that list the installed plugins when first made.
REGISTRIES = (
    "snakemake_interface_executor_plugins.registry:ExecutorPluginRegistry",
    "snakemake_interface_storage_plugins.registry:StoragePluginRegistry",
    "snakemake_interface_report_plugins.registry:ReportPluginRegistry",
    "snakemake_interface_logger_plugins.registry:LoggerPluginRegistry",
    "snakemake_interface_scheduler_plugins.registry:SchedulerPluginRegistry",
)
PLUGIN_PREFIX = "snakemake_"
PLUGIN_MARK = "_plugin_"

# The plugin packages on ``sys.path`` when the registries listed them.
_listed: set[str] = set()


def prepare(modules: Sequence[str] = PRELOAD) -> None:
    """In the server: import ``modules``, list Snakemake's plugins, keep botocore's data
    files once read and its lists of services once made, and make one S3 client (which
    reads most of them)."""
    for module in modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    if list_plugins():
        _listed.update(plugin_packages(sys.path))
    keep_botocore_data_files()
    keep_botocore_service_lists()
    with contextlib.suppress(Exception):  # no client without a region: that is fine
        boto3.session.Session(region_name="us-east-1").client("s3")


def refresh() -> None:
    """In a forked command, once its ``sys.path`` is set: list the plugins again when it
    holds a plugin package the server did not see (on its ``PYTHONPATH``, installed since,
    or in the working directory's pip deployments)."""
    if _listed and not plugin_packages(sys.path) <= _listed:
        forget_plugins()


def _registries() -> list[Any]:
    found = []
    for entry in REGISTRIES:
        module, _, name = entry.partition(":")
        with contextlib.suppress(ImportError, AttributeError):
            found.append(getattr(importlib.import_module(module), name))
    return found


def list_plugins() -> bool:
    """Make each registry (which lists its plugins); False if one could not be made."""
    registries = _registries()
    try:
        for registry in registries:
            registry()
    except Exception:
        forget_plugins()
        return False
    return len(registries) == len(REGISTRIES)


def forget_plugins() -> None:
    for registry in _registries():
        registry._instance = None


def plugin_packages(folders: Sequence[str]) -> set[str]:
    """The Snakemake plugin modules and packages in ``folders`` (not their versioned
    ``.dist-info``: a job's pip deploys a plugin's newest version, which is no other plugin)."""
    found: set[str] = set()
    for folder in folders:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        found.update(
            name.removesuffix(".py")
            for name in names
            if name.startswith(PLUGIN_PREFIX) and PLUGIN_MARK in name and "-" not in name
        )
    return found


def keep_botocore_data_files() -> None:
    """Read each of botocore's JSON data files once per process: its loader reads them
    again for every session, and a session per client is the rule."""
    _keep(JSONFileLoader, "load_file", lambda _loader, file_path: file_path)


def keep_botocore_service_lists() -> None:
    """List botocore's services once per process and set of data folders: its loader,
    one per session, lists every folder of each data folder (over 400) to find them."""
    _keep(Loader, "list_available_services", service_list_key)


def service_list_key(loader: Any, type_name: str) -> Hashable:
    # The folders that exist: a job's own ~/.aws/models, in a fresh HOME, does not.
    return tuple(path for path in loader.search_paths if os.path.isdir(path)), type_name


def _keep(owner: type, name: str, key_of: Callable[..., Hashable]) -> None:
    """Make the method ``owner.name`` answer each key (``key_of`` its arguments) once."""
    method = getattr(owner, name)
    if not getattr(method, "kept", False):
        setattr(owner, name, _kept(method, key_of))


def _kept(method: Callable[..., Any], key_of: Callable[..., Hashable]) -> Callable[..., Any]:
    """``method``, answering each key once; an answer of None is asked for again."""
    answers: dict[Hashable, Any] = {}

    @functools.wraps(method)
    def kept(self: Any, *args: Any) -> Any:
        key = key_of(self, *args)
        if key not in answers:
            answer = method(self, *args)
            if answer is None:
                return None
            answers[key] = answer
        return answers[key]

    kept.kept = True  # type: ignore[attr-defined]
    return kept
