"""Which files of the workflow's folder travel with a detached run, and their archive."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.detached.sources import (
    MAX_SOURCE_FILE_BYTES,
    archive,
    check_size,
    select,
    unpack,
)


def make(folder: Path, files: dict[str, int | str]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            with path.open("wb") as handle:
                handle.truncate(content)  # sparse: large without writing it
        else:
            path.write_text(content)


def test_sources_leave_out_hidden_folders_caches_data_and_exclusions(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "Snakefile": "rule all: ...",
            "rules/align.smk": "rule align: ...",
            "scripts/plot.py": "print()",
            "envs/tools.yaml": "channels: []",
            "config/samples.tsv": "a\tb",
            ".snakemake/log/x.log": "log",
            ".git/config": "git",
            ".env": "SECRET=1",
            "scripts/__pycache__/plot.cpython-311.pyc": "cache",
            "data/reads.fastq": MAX_SOURCE_FILE_BYTES + 1,
            "results/old.txt": "old",
            "notes/draft.md": "draft",
        },
    )
    selection = select(tmp_path, excludes=["results", "*.md"])
    assert [path for path, _ in selection.files] == [
        "Snakefile", "config/samples.tsv", "envs/tools.yaml", "rules/align.smk", "scripts/plot.py",
    ]  # fmt: skip
    assert selection.data == (("data/reads.fastq", MAX_SOURCE_FILE_BYTES + 1),)


def test_sources_above_the_limit_are_refused_naming_the_largest(tmp_path: Path) -> None:
    make(tmp_path, {"Snakefile": "x", **{f"ref/part{i}.txt": 4 * 1024 * 1024 for i in range(3)}})
    make(tmp_path, {"ref/big.txt": 9 * 1024 * 1024})
    with pytest.raises(WorkflowError) as refused:
        check_size(select(tmp_path), max_total_mib=20)
    message = str(refused.value)
    assert "21.0 MiB in 5 files, above the limit of 20 MiB (--max-sources-mib)" in message
    assert message.index("ref/big.txt (9.0 MiB)") < message.index("ref/part0.txt (4.0 MiB)")
    assert "--exclude PATTERN" in message
    check_size(select(tmp_path), max_total_mib=22)  # below the limit: accepted


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="no file to pack"):
        check_size(select(tmp_path), max_total_mib=1)


def test_the_archive_unpacks_to_the_same_files(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    make(source, {"Snakefile": "rule all: ...", "scripts/a b.py": "print('é')", ".hidden": "x"})
    names = unpack(archive(source, select(source)), target)
    assert sorted(names) == ["Snakefile", "scripts/a b.py"]
    assert (target / "scripts" / "a b.py").read_text() == "print('é')"
    assert not (target / ".hidden").exists()


def test_unpacking_refuses_paths_outside_the_folder(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(tarfile.TarError):
        unpack(buffer.getvalue(), tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()
