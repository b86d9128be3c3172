"""timeline.html in a real browser: Debian's headless Chromium draws it, the test reads the DOM.

``make test`` installs Chromium first (``make browser``) when none is on PATH, so here a
missing ``chromium`` is a failure, not a skip. Each page is drawn twice: ``--dump-dom`` gives
the DOM after the page's script ran, ``--screenshot`` a PNG, kept in the test's ``tmp_path``
and copied to ``.test-output/timeline/`` in the repository.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snakemake_executor_plugin_aws_batch.record import timeline

from . import chromium as browser
from .chromium import Dom, Element

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / ".test-output" / "timeline"
T0 = datetime(2026, 12, 2, 14, 15, 1, 123000, tzinfo=UTC)
INJECTION = "sample=</script><img src=x onerror=alert(1)>"


# Rows as the record writes them --------------------------------------------------------


def iso(moment: datetime, *, zulu: bool = True) -> str:
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if zulu else text


def job_row(
    jobid: int,
    rule: str,
    *,
    submitted: float | None,
    queued: float = 5.0,
    ran: float | None = 30.0,
    status: str = "SUCCEEDED",
    exit_code: str = "0",
    wildcards: str = "",
) -> dict[str, str]:
    """One jobs.tsv row; times in seconds from T0 (None: never submitted / not stopped)."""
    row = dict.fromkeys(timeline.COLUMNS, "")
    row.update(
        rule=rule,
        wildcards=wildcards,
        jobid=str(jobid),
        job_name=f"snakejob-{rule}-{jobid:05d}",
        queue="batch-queue",
        status=status,
        vcpu="2",
        memory_mib="4096",
        gpu="0",
        attempts="1",
    )
    if submitted is None:
        return row
    start = T0 + timedelta(seconds=submitted)
    row.update(
        batch_job_id=f"b0c1{jobid:04x}-0000-4000-8000-{jobid:012d}",
        exit_code=exit_code,
        submitted_at=iso(start, zulu=jobid % 2 == 0),
        started_at=iso(start + timedelta(seconds=queued)),
        queued_s=f"{queued:.3f}",
        log_stream=f"snakejob/default/{jobid:032x}",
    )
    if ran is not None:
        row.update(
            stopped_at=iso(start + timedelta(seconds=queued + ran), zulu=jobid % 3 == 0),
            run_s=f"{ran:.3f}",
        )
    return row


def ten_rows() -> list[dict[str, str]]:
    """10 jobs of 3 rules, given out of submission order: job 4 failed, job 10 never went."""
    rows = [
        job_row(1, "align", submitted=0, wildcards="sample=A"),
        job_row(2, "align", submitted=2, wildcards="sample=B", queued=12, ran=80),
        job_row(3, "align", submitted=4, wildcards="sample=C", ran=45),
        job_row(
            4, "align", submitted=6, wildcards="sample=D", ran=20, status="FAILED", exit_code="137"
        ),
        job_row(5, "sort", submitted=40, wildcards="sample=A", ran=25),
        job_row(6, "sort", submitted=50, wildcards="sample=C", queued=2, ran=30),
        job_row(7, "sort", submitted=100, wildcards="sample=B", ran=15),
        job_row(8, "report", submitted=130, queued=20, ran=10),
        job_row(9, "report", submitted=160, ran=None, status="RUNNING", exit_code=""),
        job_row(10, "report", submitted=None, status="NOT_SUBMITTED", exit_code=""),
    ]
    return list(reversed(rows))


def many_rows(count: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    rules = ["fetch", "trim", "align", "dedup", "call", "filter", "annotate", "report"]
    rows = []
    for jobid in range(1, count + 1):
        failed = rng.random() < 0.01
        rows.append(
            job_row(
                jobid,
                rules[jobid * len(rules) // (count + 1)],
                submitted=jobid * 0.7 + rng.random() * 30,
                queued=rng.expovariate(1 / 60),
                ran=rng.uniform(20, 600),
                status="FAILED" if failed else "SUCCEEDED",
                exit_code="1" if failed else "0",
                wildcards=f"sample=S{jobid % 500:03d},chunk={jobid % 20}",
            )
        )
    rng.shuffle(rows)
    return rows


# The browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    return browser.find()


@dataclass
class Drawn:
    dom: Dom
    seconds: float  # chromium's wall time for --dump-dom, start-up included


def open_page(chromium: str, page: Path, fragment: str = "") -> Drawn:
    began = time.monotonic()
    out = browser.run(chromium, page.parent / "profile", "--dump-dom", page.as_uri() + fragment)
    return Drawn(Dom(out), time.monotonic() - began)


def screenshot(chromium: str, page: Path, name: str, fragment: str = "") -> Path:
    png = page.parent / f"{name}.png"
    browser.run(chromium, page.parent / "profile", f"--screenshot={png}", page.as_uri() + fragment)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is no PNG"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copy2(png, OUTPUT / png.name)
    return png


def write_page(tmp_path: Path, name: str, rows: list[dict[str, str]], title: str) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(timeline.render(rows, title=title), encoding="utf-8")
    return page


def bars(dom: Dom) -> list[Element]:
    return list(dom.find(cls="bar"))


# Ten jobs ------------------------------------------------------------------------------


def test_ten_jobs_one_bar_each_by_submission(chromium: str, tmp_path: Path):
    page = write_page(tmp_path, "ten-jobs", ten_rows(), title="ten jobs")
    drawn = open_page(chromium, page)
    dom = drawn.dom

    assert dom.body.attrs["data-bars"] == "10"
    assert dom.body.attrs["data-rendered"] == "10"
    shown = bars(dom)
    assert [bar.attrs["data-jobid"] for bar in shown] == [str(i) for i in range(1, 11)]

    failed = [bar for bar in shown if "failed" in bar.classes]
    assert [bar.attrs["data-jobid"] for bar in failed] == ["4"]
    assert "\u2715" in failed[0].text
    assert "exit 137" in failed[0].attrs["aria-label"]
    (never,) = (bar for bar in shown if bar.attrs["data-jobid"] == "10")
    assert "nodata" in never.classes
    (running,) = (bar for bar in shown if bar.attrs["data-jobid"] == "9")
    assert "open" in running.classes
    # every submitted job has its queue wait and its run in two shades of one colour
    for bar in shown[:9]:
        assert [child.classes & {"q", "r"} for child in bar.children[:2]] == [{"q"}, {"r"}]

    legend = [button.attrs["data-rule"] for button in dom.find(tag="button")]
    assert legend == ["align", "sort", "report"]
    assert "10 jobs · 1 failed · 1 not submitted · 1 unfinished" in dom.one(id="summary").text
    assert dom.one(id="tip").attrs.get("hidden") is not None
    screenshot(chromium, page, "ten-jobs")
    shutil.copy2(page, OUTPUT / page.name)


def test_ten_jobs_tooltip_names_job_batch_id_resources_and_exit_code(chromium: str, tmp_path: Path):
    page = write_page(tmp_path, "ten-jobs-tooltip", ten_rows(), title="ten jobs")
    dom = open_page(chromium, page, "#job=4").dom

    tip = dom.one(id="tip")
    assert "hidden" not in tip.attrs
    assert "pinned" in tip.classes
    text = tip.text
    for expected in (
        "snakejob-align-00004",
        "align",
        "sample=D",
        "b0c10004-0000-4000-8000-000000000004",
        "2 vCPU, 4096 MiB",
        "FAILED",
        "137",
        "Queue wait5.0 s",
        "Run time20 s",
    ):
        assert expected in text, (expected, text)
    (selected,) = dom.find(cls="selected")
    assert selected.attrs["data-index"] == "3"
    screenshot(chromium, page, "ten-jobs-tooltip", "#job=4")


def test_values_stay_text(chromium: str, tmp_path: Path):
    rows = ten_rows()
    rows[0]["wildcards"] = INJECTION
    rows[1]["job_name"] = "</script><script>document.body.dataset.owned = 1</script>"
    rows[2]["rule"] = "<b onmouseover=alert(1)>bold</b>"
    page = write_page(tmp_path, "injection", rows, title="<img src=x onerror=alert(2)>")
    dom = open_page(chromium, page).dom

    assert not list(dom.find(tag="img"))
    assert not list(dom.find(tag="b"))
    assert "data-owned" not in dom.body.attrs
    assert dom.body.attrs["data-bars"] == "10"
    labels = [element.text for element in dom.find(cls="label")]
    assert any(INJECTION in label for label in labels), labels
    assert "<b onmouseover=alert(1)>bold</b>" in [
        b.attrs["data-rule"] for b in dom.find(tag="button")
    ]
    assert "<img src=x onerror=alert(2)>" in dom.one(tag="h1").text
    assert len(list(dom.find(tag="script"))) == 2


def test_the_page_needs_no_network(tmp_path: Path):
    page = timeline.render(many_rows(50), title="run")
    assert "http:" not in page
    assert "https:" not in page
    assert "default-src 'none'" in page
    assert "src=" not in page.replace("-src ", "")


# Ten thousand jobs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("timeline-10000")
    began = time.monotonic()
    page = write_page(tmp_path, "ten-thousand-jobs", many_rows(10_000), title="10,000 jobs")
    render_s = time.monotonic() - began
    assert render_s < 5, f"render() took {render_s:.1f} s for 10,000 jobs"
    return page


def test_ten_thousand_jobs_draw_only_the_rows_in_view(chromium: str, large_page: Path):
    size_mb = large_page.stat().st_size / 1e6
    assert size_mb < 5, f"the page of 10,000 jobs is {size_mb:.1f} MB"
    drawn = open_page(chromium, large_page)
    body = drawn.dom.body

    assert body.attrs["data-bars"] == "10000"
    rendered = int(body.attrs["data-rendered"])
    assert 0 < rendered < 200, rendered
    assert len(bars(drawn.dom)) == rendered
    # the script's own time to its first drawing: tens of ms on an idle machine; the bound
    # is loose for a loaded one (drawing every bar takes seconds, and the check above fails)
    assert int(body.attrs["data-draw-ms"]) < 10_000, body.attrs["data-draw-ms"]
    legend = [button.attrs["data-rule"] for button in drawn.dom.find(tag="button")]
    assert len(legend) == 8
    screenshot(chromium, large_page, "ten-thousand-jobs")


def test_ten_thousand_jobs_a_job_far_down_is_drawn_when_scrolled_to(
    chromium: str, large_page: Path
):
    dom = open_page(chromium, large_page, "#job=9500").dom

    rendered = int(dom.body.attrs["data-rendered"])
    assert 0 < rendered < 200
    ids = [bar.attrs["data-jobid"] for bar in bars(dom)]
    assert "9500" in ids
    assert "1" not in ids  # the first rows are out of view: not in the DOM
    assert "snakejob-" in dom.one(id="tip").text


# Scrolling, hovering and clicking, through DevTools -------------------------------------

BARS_IN_DOM = "[...document.querySelectorAll('.bar')].map((bar) => bar.dataset.jobid)"
JOB_IDS_BY_SUBMISSION = (
    "JSON.parse(document.getElementById('timeline-data').textContent).jobs.map((job) => job[6])"
)
AFTER_A_FRAME = "new Promise((done) => requestAnimationFrame(() => setTimeout(() => done({}), 50)))"


def test_ten_thousand_jobs_scrolling_redraws_the_rows_in_view(
    chromium: str, large_page: Path, tmp_path: Path
):
    with browser.DevTools(chromium, tmp_path / "profile") as page:
        page.open(large_page.as_uri(), "document.body.dataset.bars")
        top = page.evaluate(BARS_IN_DOM)
        page.evaluate("document.getElementById('rows').scrollTop = 20 * 5000")
        page.evaluate(AFTER_A_FRAME)
        middle = page.evaluate(BARS_IN_DOM)
        rendered = page.evaluate("Number(document.body.dataset.rendered)")
        order = page.evaluate(JOB_IDS_BY_SUBMISSION)

    assert top == order[: len(top)]
    assert rendered == len(middle) < 200
    assert not set(top) & set(middle)
    assert order[5000] in middle  # the row scrolled to the top, with a few above it


def test_hovering_a_bar_shows_its_job(chromium: str, tmp_path: Path):
    page_file = write_page(tmp_path, "ten-jobs", ten_rows(), title="ten jobs")
    with browser.DevTools(chromium, tmp_path / "profile") as page:
        page.open(page_file.as_uri(), "document.body.dataset.bars")
        tip = page.evaluate(
            """(() => {
              const bar = document.querySelector('.bar[data-jobid="4"]');
              const box = bar.getBoundingClientRect();
              bar.dispatchEvent(new MouseEvent('mousemove',
                {bubbles: true, clientX: box.left + 3, clientY: box.top + 3}));
              const tip = document.getElementById('tip');
              return {hidden: tip.hidden, text: tip.textContent};
            })()"""
        )
        page.evaluate("document.getElementById('rows').dispatchEvent(new MouseEvent('mouseleave'))")
        hidden_after = page.evaluate("document.getElementById('tip').hidden")

    assert not tip["hidden"]
    assert "snakejob-align-00004" in tip["text"]
    assert "Exit code137" in tip["text"]
    assert hidden_after


def test_failed_only_and_the_legend_filter_the_rows(
    chromium: str, large_page: Path, tmp_path: Path
):
    with browser.DevTools(chromium, tmp_path / "profile") as page:
        page.open(large_page.as_uri(), "document.body.dataset.bars")
        page.evaluate("document.getElementById('failed-only').click()")
        failed = page.evaluate(
            "[...document.querySelectorAll('.bar')].map((bar) => bar.dataset.status)"
        )
        shown_failed = page.evaluate("Number(document.body.dataset.shown)")
        page.evaluate("document.getElementById('failed-only').click()")
        page.evaluate("document.querySelector('#legend button').click()")
        shown_without_first_rule = page.evaluate("Number(document.body.dataset.shown)")
        pressed = page.evaluate("document.querySelector('#legend button').ariaPressed")

    assert shown_failed == sum(1 for row in many_rows(10_000) if row["status"] == "FAILED")
    assert failed
    assert set(failed) == {"FAILED"}
    assert shown_without_first_rule == 10_000 - 1250
    assert pressed == "false"


def test_a_click_on_the_overview_scrolls_to_that_time(
    chromium: str, large_page: Path, tmp_path: Path
):
    with browser.DevTools(chromium, tmp_path / "profile") as page:
        page.open(large_page.as_uri(), "document.body.dataset.bars")
        page.evaluate(
            """(() => {
              const strip = document.getElementById('overview').getBoundingClientRect();
              const canvas = document.querySelector('#overview canvas').getBoundingClientRect();
              document.getElementById('overview').dispatchEvent(new MouseEvent('click',
                {bubbles: true, clientX: canvas.left + canvas.width / 2, clientY: strip.top + 5}));
            })()"""
        )
        page.evaluate(AFTER_A_FRAME)
        scrolled = page.evaluate("document.getElementById('rows').scrollTop")
        band = page.evaluate("!document.querySelector('#overview .where').hidden")

    assert 20 * 3000 < scrolled < 20 * 7000  # about half way through the run's submissions
    assert band
