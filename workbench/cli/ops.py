"""``workbench schedule``: print or install the cron line / systemd timer, or run one cycle (``--once``).

A cycle refreshes changed reports, re-evaluates changed decisions, watches rollouts in progress on
the event data (rolling back on a confirmed conversion drop, advancing after each dwell) and sends
alerts; it writes a JSON run log and exits 1 when anything failed, 2 when another cycle is running.
See :mod:`workbench.ops.cycle`.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import InputError, Problem
from ._common import JSON_OPTION, console, engine_options, err_console, print_json


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("schedule", help="Scheduled operation: print (or --install) a cron line / systemd timer that runs "
                                 "`workbench schedule --once`; --once runs one cycle: refresh changed reports, "
                                 "re-evaluate decisions, watch rollouts on the events (auto-rollback), send alerts, "
                                 "write a JSON run log.")(engine_options(schedule_cmd))


def schedule_cmd(
    once: bool = typer.Option(False, "--once", help="Run one cycle now (what the scheduler calls)."),
    every: Optional[int] = typer.Option(None, "--every", help="Minutes between cycles (default schedule.every_minutes)."),
    install: Optional[str] = typer.Option(None, "--install", help="cron (the user's crontab) or systemd (a user timer)."),
    unit_dir: Optional[Path] = typer.Option(None, "--unit-dir", help="Where --install systemd writes the units "
                                                                     "(default ~/.config/systemd/user)."),
    reports: Optional[bool] = typer.Option(None, "--reports/--no-reports", help="Refresh reports in the cycle "
                                                                                "(default schedule.reports)."),
    decisions: Optional[bool] = typer.Option(None, "--decisions/--no-decisions", help="Re-evaluate changed "
                                             "experiments in the cycle (default schedule.decisions)."),
    pdf: Optional[bool] = typer.Option(None, "--pdf/--no-pdf", help="Print report PDFs (default: when Chromium "
                                                                    "is found)."),
    db: Optional[Path] = typer.Option(None, "--db", help="The workbench DuckDB file; default data/workbench.duckdb or "
                                                        "$WORKBENCH_DB."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Reports directory; default reports/ or "
                                                                 "$WORKBENCH_REPORTS."),
    log_dir: Optional[Path] = typer.Option(None, "--log-dir", help="Run logs, lock and alert state (default "
                                                                   "schedule.log_dir, else cycles/ beside the database)."),
    wait: float = typer.Option(0.0, "--wait", min=0, help="Seconds to wait for a running cycle before refusing."),
    json_out: bool = JSON_OPTION,
) -> None:
    from ..config import get_settings
    s = get_settings()
    if once:
        if install:
            raise InputError([Problem("blocked", "bad_option", "--once runs a cycle; --install sets up the schedule: "
                                      "give one of them", column="install", value=install)])
        from ..ops.cycle import run_cycle
        log = run_cycle(db=db, out=out, log_dir=log_dir, reports=reports, decisions=decisions, wait=wait, pdf=pdf)
        if json_out:
            print_json({**log.to_dict(), "exit_code": log.exit_code})
        else:
            _print_cycle(log)
        raise typer.Exit(log.exit_code)
    from ..ops.schedule import cron_line, install_cron, install_systemd, systemd_units
    minutes = every if every is not None else s.schedule.every_minutes
    extra = "".join([" --no-reports" if reports is False else "", " --no-decisions" if decisions is False else "",
                     " --no-pdf" if pdf is False else "",
                     *(f" {flag} {shlex.quote(str(p.resolve()))}" for flag, p in
                       (("--db", db), ("--out", out), ("--log-dir", log_dir)) if p is not None)])
    line = cron_line(minutes, extra=extra)
    units = systemd_units(minutes, extra=extra)
    if install not in (None, "cron", "systemd"):
        raise InputError([Problem("blocked", "bad_option", "--install takes cron or systemd", column="install",
                                  value=install)])
    written: list[str] = []
    if install == "cron":
        install_cron(line)
        written.append("crontab")
    elif install == "systemd":
        written = [str(p) for p in install_systemd(units, unit_dir)]
    if json_out:
        print_json({"every_minutes": minutes, "cron": line, "systemd": units, "installed": written})
        return
    if install == "cron":
        console.print(f"installed in your crontab:\n{line}", highlight=False, markup=False, soft_wrap=True)
        return
    if install == "systemd":
        console.print("wrote " + ", ".join(written) + "\nenable it with: systemctl --user daemon-reload && "
                      "systemctl --user enable --now workbench-cycle.timer", highlight=False, markup=False)
        return
    console.print(f"# cron (crontab -e), every {minutes} min:\n{line}\n\n# systemd: workbench-cycle.service\n"
                  f"{units['service']}\n# systemd: workbench-cycle.timer\n{units['timer']}\n"
                  "# or: workbench schedule --install cron|systemd", highlight=False, markup=False, soft_wrap=True)


def _print_cycle(lg: Any) -> None:
    from ..display import fmt_count, fmt_elapsed
    built = [r for r in lg.refreshed if r["step"] == "reports"]
    decided = [r for r in lg.refreshed if r["step"] == "decisions"]
    console.print(f"cycle {lg.cycle_id}: {lg.status} in {fmt_elapsed(lg.seconds)} — "
                  f"reports rebuilt {fmt_count(len(built))}, decisions re-evaluated {fmt_count(len(decided))}, "
                  f"skipped {fmt_count(len(lg.skipped))}, failed {fmt_count(len(lg.failed))}",
                  highlight=False, markup=False)
    for a in lg.actions:
        console.print(f"  {a['experiment_id']}: {a['action']} — {a['reason']}", highlight=False, markup=False)
    for a in lg.alerts:
        console.print(f"  alert {a['key']} → {a['target']}: {a['status']}", highlight=False, markup=False)
    for f in lg.failed:
        err_console.print(f"failed: {f['step']}" + (f" {f['experiment_id']}" if f["experiment_id"] else "") +
                          f": {f['reason']}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"run log: {lg.log_file}", highlight=False, markup=False)
