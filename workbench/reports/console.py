"""Terminal output of a report run: a progress bar (or plain lines in logs) and the summary table.

Used by ``workbench report`` and by ``workbench demo``::

    from workbench.reports import run_reports
    from workbench.reports.console import ReportProgress, print_run
    run = run_reports(workers=2, progress=ReportProgress(console))
    print_run(run, console)
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..display import fmt_action, fmt_elapsed

__all__ = ["ReportProgress", "print_run", "run_table"]


class ReportProgress:
    """Progress callback for :func:`~workbench.reports.run_reports`: a Rich bar on a terminal, one line per
    event otherwise (cron logs), nothing when ``enabled`` is False."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.enabled = enabled
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self.console.is_terminal:
            self._rich(event, info)
        else:
            self._plain(event, info)

    def _rich(self, event: str, info: dict[str, Any]) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        if event == "start":
            self.bar = Progress(TextColumn("[bold]reports[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("{task.description}"), console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("checking what changed", total=info["total"])
            return
        if self.bar is None:
            return
        if event == "skip":
            self.bar.advance(self.task)
        elif event == "gathered":
            self.bar.update(self.task, description=f"gathered the inputs of {info['count']} more experiment(s)")
        elif event == "building":
            self.bar.update(self.task, description=f"building {info['experiment_id']}")
        elif event in ("built", "failed"):
            o = info["outcome"]
            self.bar.advance(self.task)
            self.bar.update(self.task, description=f"{o.experiment_id} {o.status} ({fmt_elapsed(o.seconds)})")
            if event == "failed":
                self.bar.console.print(f"[red]failed[/] {escape(o.describe())}", highlight=False, markup=True)
        elif event == "done":
            self.bar.stop()

    def _plain(self, event: str, info: dict[str, Any]) -> None:
        say = lambda text: self.console.print(text, highlight=False, markup=False, soft_wrap=True)  # noqa: E731
        if event == "start":
            say(f"reports: checking {info['total']} experiment(s)")
        elif event == "gathered":
            say(f"reports: gathered the inputs of {info['count']} experiment(s) (one pipeline pass)")
        elif event in ("built", "failed"):
            o = info["outcome"]
            say(f"reports: {o.describe()} ({fmt_elapsed(o.seconds)})")


def run_table(run: Any) -> Table:
    """The per-experiment table of a :class:`~workbench.reports.ReportRun`."""
    t = Table(title="Reports", title_justify="left", caption_justify="left",
              caption=f"{len(run.built)} built, {len(run.skipped)} skipped, {len(run.failed)} failed in "
                      f"{fmt_elapsed(run.seconds)} with {run.workers} worker(s)")
    for col in ("experiment", "status", "seconds", "health", "decision", "pdf", "error"):
        t.add_column(col, justify="left" if col in ("experiment", "error") else "right",
                     overflow="fold" if col == "error" else "ellipsis")
    colours = {"built": "green", "skipped": "dim", "failed": "red"}
    for o in run.outcomes:
        err = ""
        if o.status == "failed":
            err = (f"cell {o.cell} ({o.section}): " if o.cell is not None else "") + o.error
        t.add_row(escape(o.experiment_id), f"[{colours[o.status]}]{o.status}[/]",
                  fmt_elapsed(o.seconds, suffix=False) if o.status != "skipped" else "—", o.health or "—", fmt_action(o.decision),
                  "yes" if o.pdf else "no", escape(err))
    return t


def print_run(run: Any, console: Console | None = None, *, errors: Console | None = None) -> None:
    """Print the table, the run's notes, each failure (with the kept notebook) and the portfolio path."""
    out = console or Console(highlight=False)
    err = errors or out
    out.print(run_table(run))
    for n in run.notes:
        out.print(f"note: {n}", highlight=False, markup=False, soft_wrap=True)
    for o in run.failed:
        kept = f" (notebook kept: {o.failed_notebook})" if o.failed_notebook else ""
        err.print(f"[red]failed:[/] {escape(o.describe() + kept)}", highlight=False, soft_wrap=True)
    out.print(f"portfolio: {run.index}", highlight=False, markup=False, soft_wrap=True)
