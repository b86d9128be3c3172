"""The process engine's wheels of this environment's storage plugins."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from snakemake_aws_batch_local import wheelhouse
from snakemake_aws_batch_local.wheelhouse import NotPackableError, pack, pip_environment, wheel_tag


def test_the_installed_s3_plugin_is_packed_into_a_wheel_pip_installs_offline(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    environment = pip_environment(folder)
    assert environment == {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(folder)}
    version = importlib.metadata.version("snakemake-storage-plugin-s3")
    wheel = folder / f"snakemake_storage_plugin_s3-{version}-py3-none-any.whl"
    assert [path.name for path in folder.iterdir()] == [wheel.name]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read(f"snakemake_storage_plugin_s3-{version}.dist-info/RECORD")
    assert not [name for name in names if "__pycache__" in name or name.endswith("INSTALLER")]
    # Each file is in the RECORD with its hash and size, the RECORD itself without.
    assert sorted(line.split(",")[0] for line in record.decode().splitlines()) == sorted(names)
    target = tmp_path / "deployed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--target", str(target), "--no-deps",
         "--disable-pip-version-check", "snakemake-storage-plugin-s3"],
        env={"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null", **environment},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    module = importlib.import_module("snakemake_storage_plugin_s3")
    assert module.__file__ is not None
    deployed = target / "snakemake_storage_plugin_s3" / "__init__.py"
    assert deployed.read_bytes() == Path(module.__file__).read_bytes()


@pytest.mark.parametrize(
    ("wheel_file", "tag"),
    [
        ("Wheel-Version: 1.0\nTag: py3-none-any\n", "py3-none-any"),
        ("Tag: py2-none-any\nTag: py3-none-any\n", "py2.py3-none-any"),
    ],
)
def test_the_wheel_s_tag_comes_from_its_wheel_file(wheel_file: str, tag: str) -> None:
    assert wheel_tag(wheel_file) == tag


def test_a_wheel_file_without_a_tag_is_not_packable() -> None:
    with pytest.raises(NotPackableError, match="no valid tag"):
        wheel_tag("Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")


class EditableInstall(importlib.metadata.Distribution):
    """A distribution installed in editable mode: its dist-info and a .pth file."""

    def __init__(self, site: Path) -> None:
        self.site = site
        info = site / "snakemake_storage_plugin_mine-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Name: snakemake-storage-plugin-mine\nVersion: 1.0\n")
        (info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: py3-none-any\n")
        (info / "RECORD").write_text(
            f"{info.name}/METADATA,,\n{info.name}/WHEEL,,\n__editable__.mine.pth,,\n"
        )
        (site / "__editable__.mine.pth").write_text("/somewhere/src\n")

    def read_text(self, filename: str) -> str | None:
        path = self.site / "snakemake_storage_plugin_mine-1.0.dist-info" / filename
        return path.read_text() if path.exists() else None

    def locate_file(self, path: Any) -> Path:
        return self.site / str(path)


def test_an_editable_plugin_is_not_packed_and_leaves_pip_on_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editable = EditableInstall(tmp_path / "site-packages")
    with pytest.raises(NotPackableError, match="editable"):
        pack(editable, tmp_path)
    monkeypatch.setattr(wheelhouse, "storage_plugins", lambda: [editable])
    folder = tmp_path / "wheels"
    folder.mkdir()
    assert pip_environment(folder) == {}


def test_no_storage_plugin_leaves_pip_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wheelhouse, "storage_plugins", list)
    assert pip_environment(tmp_path) == {}
