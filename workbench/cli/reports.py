"""``workbench report``: per-experiment HTML/PDF reports and the portfolio page, incremental and locked.

Examples::

    workbench report pdp-shoes-hero            # one report (reports/pdp-shoes-hero/...)
    workbench report --all --workers 2         # every experiment; fresh ones are skipped
    workbench report --all --force             # rebuild everything
    workbench report --all --as-of 2026-11-15  # as the data stood then
    workbench report-service &                 # keep a warm process: each `workbench report` then runs there

A cron line for a daily refresh (the run waits for an earlier run still going, then skips what is
fresh; the exit status is 1 when a report failed)::

    30 6 * * *  cd /srv/workbench && .venv/bin/workbench report --all --workers 2 >> reports/cron.log 2>&1
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError, Problem
from ._common import JSON_OPTION, MLFLOW_OPTION, console, engine_options, err_console, print_json


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("report", help="Run the report notebook for experiments (papermill → HTML with code hidden, PDF "
                               "when Chromium is available, memo, summary.json) and update reports/index.html. "
                               "Incremental: unchanged experiments are skipped (--force to rebuild).")(engine_options(report_cmd))
    kernel = typer.Typer(help="The `workbench` Jupyter kernel for notebooks in JupyterLab (executed report notebooks name it).",
                         no_args_is_help=True)
    kernel.command("install", help="Install (or replace) the `workbench` kernelspec that starts this Python: into "
                                   "the active virtual environment, else your user's Jupyter folder.")(kernel_install_cmd)
    kernel.command("show", help="Where the `workbench` kernelspec is and which Python it starts.")(kernel_show_cmd)
    app.add_typer(kernel, name="kernel")
    app.command("report-service", help="Keep one process warm for `workbench report` on these reports: the imports, "
                                       "report workers and Chromium are ready, so each run starts at once (same "
                                       "lock, files and outcome). Runs in the foreground until --idle minutes pass "
                                       "without a run, or Ctrl-C.")(engine_options(report_service_cmd))


def report_cmd(
    experiments: Optional[list[str]] = typer.Argument(None, help="Experiment ids (or --all)."),
    all_: bool = typer.Option(False, "--all", help="Every experiment with events in the database."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Notebooks executed in parallel."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when data, parameters and code are unchanged."),
    db: Optional[str] = typer.Option(None, "--db", help="DuckDB file with the events and the registry; default "
                                                        "data/workbench.duckdb or $WORKBENCH_DB."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Reports directory; default reports/ or "
                                                                 "$WORKBENCH_REPORTS."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Report as the data stood at this date/time (ISO)."),
    policy: Optional[str] = typer.Option(None, "--policy", help="Decide with this policy instead of each brief's."),
    pdf: Optional[bool] = typer.Option(None, "--pdf/--no-pdf", help="Print report.pdf with headless Chromium "
                                                                    "(default: when Chromium is found)."),
    record: bool = typer.Option(True, "--record/--no-record", help="Record the rebuilt reports' decisions in the "
                                                                   "registry."),
    horizon: Optional[int] = typer.Option(None, "--horizon", min=1, help="ROI projection horizon in days."),
    handoff: str = typer.Option("cache", "--handoff", help="cache: aggregate once and hand each notebook a file; "
                                                           "direct: each notebook queries the database."),
    notebook: Optional[Path] = typer.Option(None, "--notebook", help="Report notebook; default "
                                                                     "the one shipped with the package."),
    wait: Optional[float] = typer.Option(None, "--wait", min=0, help="Seconds to wait for another report run "
                                                                     "(default reports.lock_timeout_s)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    service: bool = typer.Option(True, "--service/--no-service", help="Run in the warm report service when one is "
                                                                      "running for these reports (`workbench "
                                                                      "report-service`); else in this process."),
    json_out: bool = JSON_OPTION,
    mlflow: Optional[str] = MLFLOW_OPTION,
) -> None:
    from ..reports.console import ReportProgress, print_run
    from ..reports.runner import run_reports
    from ..reports.service import NOT_USED_NOTE, run_with_service

    if all_ and experiments:
        raise InputError([Problem("blocked", "bad_option", "give experiment ids or --all, not both",
                                  value=" ".join(experiments))])
    if not all_ and not experiments:
        raise InputError([Problem("blocked", "bad_option", "name the experiments to report on, or pass --all")])
    if handoff not in ("cache", "direct"):
        raise InputError([Problem("blocked", "bad_option", "--handoff must be cache or direct", column="handoff",
                                  value=handoff)])
    options = dict(experiment_ids=None if all_ else experiments, workers=workers, force=force, db=db, out=out,
                   as_of=as_of, policy=policy, pdf=pdf, record=record, roi_horizon_days=horizon, handoff=handoff,
                   notebook=notebook, lock_timeout=wait)
    progress = ReportProgress(err_console, enabled=not quiet and not json_out)
    run, why = run_with_service(progress, **options) if service else (None, "")
    if run is None:
        run = run_reports(progress=progress, **options)
        if why:
            run = replace(run, notes=(*run.notes, NOT_USED_NOTE.format(why=why)))
    logged = _log_reports(run, mlflow, db) if mlflow is not None else None
    if json_out:
        print_json({**run.to_dict(), "exit_code": run.exit_code, **({"mlflow": logged} if logged is not None else {})})
    else:
        print_run(run, console, errors=err_console)
    if run.built and mlflow is None:
        _exit_without_teardown(run.exit_code)
    raise typer.Exit(run.exit_code)


def report_service_cmd(
    db: Optional[str] = typer.Option(None, "--db", help="DuckDB file with the events and the registry; default "
                                                        "data/workbench.duckdb or $WORKBENCH_DB."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Reports directory; default reports/ or "
                                                                 "$WORKBENCH_REPORTS."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Report workers kept warm."),
    idle: float = typer.Option(30.0, "--idle", min=0.01, help="Minutes without a run before the service stops."),
) -> None:
    from ..reports.service import serve
    say = lambda text: err_console.print(text, highlight=False, markup=False, soft_wrap=True)  # noqa: E731
    try:
        serve(db, out, workers=workers, idle=idle * 60, say=say)
    except KeyboardInterrupt:
        say("report service: stopped")


def _exit_without_teardown(code: int) -> None:
    """End a ``workbench report`` process that built reports without Python's interpreter teardown.

    Building imports the analysis and plotting stacks; freeing them all at exit took 0.5–1.5 s of a
    report's wall time (measured: ``benchmarks/reports.py``'s "process start-up, imports and exit").
    Everything the run started is already stopped (report workers, Chromium) and every file is written and
    renamed into place, so only the ``atexit`` handlers run (log handlers flushed), then the output
    streams are flushed and the process ends. Only in the ``workbench`` process itself: called from
    Python (tests, scripts), the command returns as usual.
    """
    from . import _common
    if not _common.WHOLE_PROCESS:
        return
    import atexit
    import os
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):       # a closed pipe: nothing more to say
            pass
    os._exit(code)


def _log_reports(run: object, uri: str, db: Optional[str]) -> list[dict]:
    """Log every built or fresh report to MLflow once (a report already logged under its key is not
    logged again, so a daily run adds a run only for what changed)."""
    from ..tracking import log_report
    out = []
    for o in run.outcomes:  # type: ignore[attr-defined]
        if o.status == "failed":
            continue
        r = log_report(o.directory, uri=uri, db=db)
        out.append(r.to_dict())
        err_console.print(f"MLflow: {o.experiment_id}: run {r.run_id}" + (" (already logged)" if r.reused else ""),
                          highlight=False, markup=False, soft_wrap=True)
    return out


def kernel_install_cmd(
    user: bool = typer.Option(False, "--user", help="Into your user's Jupyter folder (default outside a venv)."),
    sys_prefix: bool = typer.Option(False, "--sys-prefix", help="Into this environment (default inside a venv)."),
    prefix: Optional[Path] = typer.Option(None, "--prefix", help="Into PREFIX/share/jupyter/kernels."),
    json_out: bool = JSON_OPTION,
) -> None:
    from ..kernel import install_kernel

    if user + sys_prefix + (prefix is not None) > 1:
        raise InputError([Problem("blocked", "bad_option", "give one of --user, --sys-prefix and --prefix")])
    info = install_kernel(scope="user" if user else "sys-prefix" if sys_prefix else None, prefix=prefix)
    if json_out:
        print_json(info)
        return
    console.print(f"installed kernel {info.name!r} ({info.display_name}) in {info.directory}; it runs {info.python}",
                  highlight=False, markup=False, soft_wrap=True)


def kernel_show_cmd(json_out: bool = JSON_OPTION) -> None:
    from ..kernel import require_kernel

    info = require_kernel()
    if json_out:
        print_json({**info.to_dict(), "is_this_python": info.is_this_python})
        return
    note = "" if info.is_this_python else " (not this workbench's Python: `workbench kernel install` replaces it)"
    console.print(f"kernel {info.name!r} ({info.display_name}) in {info.directory}; it runs {info.python}{note}",
                  highlight=False, markup=False, soft_wrap=True)
