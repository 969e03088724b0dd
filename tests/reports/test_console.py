"""Terminal output of a run: plain lines for logs, a table, failures printed as text (never as markup)."""

from __future__ import annotations

import io

from rich.console import Console

from workbench.reports.console import ReportProgress, print_run
from workbench.reports.runner import ReportOutcome, ReportRun


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=200, force_terminal=False, color_system=None), buf


def test_plain_progress_lines_for_cron_logs():
    con, buf = _console()
    p = ReportProgress(con)
    ok = ReportOutcome("exp-1", "built", seconds=3.2, decision="launch")
    bad = ReportOutcome("exp-[2]", "failed", seconds=1.0, error="KeyError: '[bold]x[/bold]'", cell=4, section="Trust")
    for event, info in (("start", {"total": 2}), ("gathered", {"count": 2}), ("built", {"outcome": ok}),
                        ("failed", {"outcome": bad})):
        p(event, info)
    text = buf.getvalue()
    assert "reports: checking 2 experiment(s)" in text and "reports: exp-1: built (launch) (3.2 s)" in text
    assert "exp-[2]: failed in cell 4 (Trust): KeyError: '[bold]x[/bold]'" in text


def test_print_run_shows_every_outcome_and_escapes_markup():
    con, buf = _console()
    run = ReportRun((ReportOutcome("a", "built", seconds=2.0, decision="hold", health="blocked", pdf=True),
                     ReportOutcome("b", "skipped", decision="launch"),
                     ReportOutcome("c", "failed", error="ValueError: [red]boom[/red]", cell=7, section="ROI",
                                   failed_notebook="/r/.failed/c.ipynb")),
                    "/r", "/r/index.html", 9.0, 2, None, "cache", ("PDF not written: Chromium was not found",))
    print_run(run, con)
    text = buf.getvalue()
    assert "1 built, 1 skipped, 1 failed" in text and "note: PDF not written" in text
    assert "c: failed in cell 7 (ROI): ValueError: [red]boom[/red] (notebook kept: /r/.failed/c.ipynb)" in text
    assert "portfolio: /r/index.html" in text and run.exit_code == 1
    silent, sbuf = _console()
    ReportProgress(silent, enabled=False)("start", {"total": 1})
    assert sbuf.getvalue() == ""
