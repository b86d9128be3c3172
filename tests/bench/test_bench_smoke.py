"""The benchmark at 100 jobs, once: call counts only (timings depend on the machine)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from benchmarks import report, run

N = 100


def test_smoke_benchmark_call_counts(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert run.main(["--smoke", "--workdir", str(tmp_path), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["endpoint"] == "local"
    (summary,) = result["summaries"]
    assert summary["n"] == N
    trials = result["trials"][str(N)]
    assert len(trials) == 2  # a timing trial on a fresh endpoint, a re-run with tracemalloc

    for trial in trials:
        submit = trial["submit"]
        calls = report.server_calls(submit)
        refused = report.refused(submit, "SubmitJob")
        # Every job submitted exactly once: one accepted SubmitJob each, whatever was refused.
        assert calls["SubmitJob"] - refused == N
        assert submit["with_batch_id"] == submit["unique_batch_ids"] == N
        assert submit["errors"] == []
        # ceil(N/100) DescribeJobs per status round, nothing else.
        for status_round in trial["status"]["rounds"]:
            assert status_round["active"] == status_round["still_active"] == N
            assert report.server_calls(status_round) == {"DescribeJobs": math.ceil(N / 100)}
        assert trial["finish"]["reported_succeeded"] == N
        assert trial["finish"]["reported_failed"] == 0
        # No clean-up call once the jobs have finished.
        assert report.cleanup_calls(trial) == {}

    fresh, rerun = trials
    assert report.server_calls(fresh["submit"]).get("RegisterJobDefinition", 0) <= 1
    assert "RegisterJobDefinition" not in report.server_calls(rerun["submit"])
    assert rerun["traced"]["plugin_lines_bytes_per_job"] > 0
