"""The timeline page's data, without a browser (tests/browser draws it in Chromium)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from snakemake_executor_plugin_aws_batch.record import timeline


def row(jobid: str, rule: str = "align", **values: str) -> dict[str, str]:
    return {**dict.fromkeys(timeline.COLUMNS, ""), "jobid": jobid, "rule": rule, **values}


def embedded(page: str) -> dict[str, object]:
    match = re.search(
        r'<script type="application/json" id="timeline-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    data: dict[str, object] = json.loads(match.group(1))
    return data


def test_jobs_by_submission_with_times_from_the_first():
    rows = [
        row(
            "3",
            status="RUNNING",
            submitted_at="2026-12-02T14:16:00+00:00",
            started_at="2026-12-02T14:16:10Z",
        ),
        row(
            "1",
            "sort",
            submitted_at="2026-12-02T14:15:00.500Z",
            started_at="2026-12-02T14:15:01Z",
            stopped_at="2026-12-02T14:15:31Z",
            queued_s="0.500",
            run_s="30.000",
            status="SUCCEEDED",
        ),
        row("2", status="NOT_SUBMITTED"),
    ]
    data = timeline.page_data(rows, title="run")

    jobs = data["jobs"]
    assert [job[6] for job in jobs] == ["1", "3", "2"]  # jobid is the first SHOWN field
    assert jobs[0][:6] == [0, 0.0, 0.5, 30.5, 0.5, 30.0]
    assert jobs[1][:6] == [1, 59.5, 69.5, None, 10.0, None]
    assert jobs[2][:6] == [1, None, None, None, None, None]
    assert [rule["name"] for rule in data["rules"]] == ["sort", "align"]
    assert data["span"] == 69.5
    assert data["t0"] == 1796220900500
    assert data["summary"]["not_submitted"] == 1
    assert data["summary"]["unfinished"] == 1  # job 3, still RUNNING


def test_times_that_are_no_times_are_unknown():
    data = timeline.page_data([row("1", submitted_at="yesterday", started_at="")], title="run")
    assert data["jobs"][0][:6] == [0, None, None, None, None, None]
    assert data["t0"] is None
    assert data["span"] == 0.0


def test_rule_colours_differ_and_keep_clear_of_red():
    colours = [timeline.rule_colours(i)["full"] for i in range(60)]
    assert len(set(colours)) == 60
    for colour in colours:
        hue = int(colour.removeprefix("hsl(").split()[0])
        assert 20 <= hue <= 340, colour


def test_no_value_ends_the_data_element():
    nasty = "</script><img src=x onerror=alert(1)> & <!-- <script>"
    page = timeline.render([row("1", wildcards=nasty, job_name=nasty)], title=nasty)

    assert page.count("</script>") == 2  # the data element's and the script's own
    assert "<img" not in page.replace("&lt;img", "")
    assert "<!--" not in page
    assert embedded(page)["jobs"][0][7] == nasty  # wildcards, back as it was


def test_the_policy_admits_exactly_the_inline_style_and_script():
    page = timeline.render([row("1")], title="run")

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    style = re.search(r"<style>(.*?)</style>", page, re.S)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert style is not None
    assert script is not None
    assert f"style-src 'sha256-{digest(style.group(1))}'" in page
    assert f"script-src 'sha256-{digest(script.group(1))}'" in page


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4 s"), (12.4, "12 s"), (245, "4 min 05 s"), (7380, "2 h 03 min")],
)
def test_duration(seconds: float, text: str):
    assert timeline.duration(seconds) == text
