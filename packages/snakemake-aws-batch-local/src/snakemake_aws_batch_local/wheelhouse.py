"""This environment's storage plugins as wheels, for the process engine's jobs to deploy.

A Snakemake job deploys the workflow's storage plugins first (``pip install --target``).
A job of the process engine runs in the host's environment, so the plugins it deploys
are those installed here: the engine packs each into a wheel once, in a folder, and its
jobs' pip installs from that folder alone (``PIP_NO_INDEX=1``, ``PIP_FIND_LINKS``), the
way a job in the podman image installs from the image's own wheels. No package index is
asked, so jobs run on a machine without one, and each job's pip takes about 0.09
CPU-seconds less. A plugin that cannot be packed (an editable install, one without a
WHEEL file) leaves the jobs' pip on the package index, as it was.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import zipfile
from pathlib import Path

PLUGIN_PREFIX = "snakemake-storage-plugin-"
# Files of an installed .dist-info that record its installation, not the wheel's content.
INSTALL_RECORDS = frozenset({"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"})


class NotPackableError(Exception):
    """The distribution's installed files do not make a wheel."""


def storage_plugins() -> list[importlib.metadata.Distribution]:
    """The installed distributions named like Snakemake's storage plugins, one each."""
    found: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions():
        name = normalized(dist.metadata["Name"] or "")
        if name.startswith(PLUGIN_PREFIX):
            found.setdefault(name, dist)  # the first on sys.path, the one imported
    return [found[name] for name in sorted(found)]


def normalized(name: str) -> str:
    """A distribution's name as the package index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_tag(wheel_file: str) -> str:
    """The tag of a wheel's file name from its WHEEL file: ``py3-none-any``."""
    tags = [
        line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line.startswith("Tag:")
    ]
    parts = [tag.split("-") for tag in tags]
    if not parts or any(len(part) != 3 for part in parts):
        raise NotPackableError(f"the WHEEL file has no valid tag: {tags}")
    return "-".join(".".join(dict.fromkeys(part[i] for part in parts)) for i in range(3))


def record_line(path: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
    return f"{path},sha256={digest.decode()},{len(content)}"


def wheel_contents(dist: importlib.metadata.Distribution) -> dict[str, bytes]:
    """What the wheel holds, by path in it: the installed files but compiled ones, those
    outside site-packages (scripts) and the installation's records."""
    files = dist.files
    if not files:
        raise NotPackableError("it lists no installed files")
    contents: dict[str, bytes] = {}
    for file in files:
        path = file.as_posix()
        parts = path.split("/")
        if ".." in parts or "__pycache__" in parts or path.endswith(".pth"):
            continue
        if parts[0].endswith(".dist-info") and parts[-1] in INSTALL_RECORDS:
            continue
        contents[path] = Path(str(file.locate())).read_bytes()
    if not any(path.endswith(".dist-info/WHEEL") for path in contents):
        raise NotPackableError("it has no WHEEL file")
    if all(path.split("/")[0].endswith(".dist-info") for path in contents):
        raise NotPackableError("it installs no files in site-packages (an editable install?)")
    return contents


def pack(dist: importlib.metadata.Distribution, folder: Path) -> Path:
    """Writes ``dist`` as a wheel in ``folder``; raises NotPackableError."""
    contents = wheel_contents(dist)
    info = next(path.split("/")[0] for path in contents if path.endswith(".dist-info/WHEEL"))
    stem = info.removesuffix(".dist-info")  # name_with_underscores-version
    wheel = folder / f"{stem}-{wheel_tag(contents[f'{info}/WHEEL'].decode())}.whl"
    record = [record_line(path, content) for path, content in contents.items()]
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in contents.items():
            archive.writestr(path, content)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def pip_environment(folder: Path) -> dict[str, str]:
    """Packs every storage plugin into ``folder``; the environment that makes a job's pip
    install from there alone; none when there are none, or one cannot be packed."""
    plugins = storage_plugins()
    try:
        for dist in plugins:
            pack(dist, folder)
    except (NotPackableError, OSError):
        return {}
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(folder)} if plugins else {}
