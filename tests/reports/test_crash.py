"""A report run killed with ``kill -9`` leaves no processes behind, and the next run cleans up its folders.

The run is a real ``run_reports`` in a child process (report worker processes, and Chromium for the PDF
when installed, behind a wrapper that first hangs, as a stuck browser does). It is killed once a
worker and the run's Chromium are running and a report is being built; the test asserts every
process it had started is gone within seconds, then runs again (with the real Chromium) on the
same folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from workbench.processes import PROFILE_PREFIX
from workbench.reports.render import find_chromium

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

RUN = """
import sys
from workbench.reports import run_reports
run_reports(["pdp-shoes-hero", "pdp-beauty-srm"], db=sys.argv[1], out=sys.argv[2], workers=2, record=False)
"""


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _is_chromium(p: psutil.Process) -> bool:
    try:
        return "chrom" in " ".join(p.cmdline()[:2]).lower()
    except psutil.Error:
        return False


def _is_worker(p: psutil.Process) -> bool:
    try:
        return "workbench.reports.workers" in " ".join(p.cmdline())
    except psutil.Error:
        return False


HANGING_CHROMIUM = """#!{python}
import os, sys, time
time.sleep(120)                     # a Chromium that hangs while printing (then the real one)
os.execv({chromium!r}, [{chromium!r}] + sys.argv[1:])
"""


def test_killed_run_leaves_no_children_and_the_next_run_cleans_up(report_world, tmp_path):
    db = tmp_path / "world.duckdb"
    shutil.copy(report_world, db)
    out = tmp_path / "reports"
    chromium = find_chromium()
    want_chromium = chromium is not None
    env = dict(os.environ)
    if want_chromium:               # the print hangs: only dying with the run stops it
        hanging = tmp_path / "chromium"
        hanging.write_text(HANGING_CHROMIUM.format(python=sys.executable, chromium=chromium))
        hanging.chmod(0o755)
        env["WORKBENCH_CHROMIUM"] = str(hanging)
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(db), str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    parent = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 240
    try:
        while True:                     # wait for the report workers (and Chromium printing a PDF, when installed)
            for p in _descendants(parent):
                seen.setdefault(p.pid, p)
            workers = [p for p in seen.values() if _is_worker(p) and p.is_running()]
            printing = [p for p in seen.values() if _is_chromium(p) and p.is_running()]
            building = out.is_dir() and any(out.glob(".tmp-*"))     # a report is being built
            if workers and (printing or not want_chromium) and building:
                break
            assert proc.poll() is None, "the run finished before it could be killed mid-run"
            assert time.monotonic() < deadline, "no report worker/Chromium appeared in time"
            time.sleep(0.05)
        time.sleep(0.3)                 # let Chromium start its helper processes too
        for p in _descendants(parent):
            seen.setdefault(p.pid, p)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _, alive = psutil.wait_procs(list(seen.values()), timeout=5)
        survivors = [(p.pid, p.name()) for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert survivors == [], (f"{len(survivors)} of the {len(seen)} child processes outlived the killed run: "
                                 f"{survivors}")
    finally:
        for p in list(seen.values()) + [parent]:
            try:
                p.kill()
            except psutil.Error:
                pass
    assert len(seen) >= 2
    leftovers = list(out.glob(".tmp-*")) + list(out.glob(".run-*"))
    assert leftovers, "a run killed mid-way leaves its temporary folders (the next run removes them)"

    from workbench.reports import run_reports
    run = run_reports(["pdp-shoes-hero", "pdp-beauty-srm"], db=db, out=out, workers=1, record=False, pdf=False)
    assert [o.status for o in run.outcomes] == ["built", "built"], [o.describe() for o in run.outcomes]
    assert not any(p.exists() for p in leftovers)
    assert not list(out.glob(".tmp-*")) and not list(out.glob(".run-*"))
    assert not [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob(f"{PROFILE_PREFIX}{proc.pid}-*")]


def test_ctrl_c_ends_a_run_with_130_and_no_traceback_and_keeps_what_it_finished(copy_of):
    """Ctrl-C in ``workbench report`` (its own process): exit status 130 and no traceback, also when it lands in
    a DuckDB query (which turns it into its own error); the report being built finishes, no other starts, and
    the finished reports' decisions are recorded in the registry."""
    from .conftest import CLI, IDS, ctrl_c_as_in_a_terminal, decision_counts, summary_times

    db, out = copy_of.db, copy_of.out
    recorded, before = decision_counts(db), summary_times(out)

    def rebuilt() -> list[str]:
        return [e for e, t in summary_times(out).items() if t != before[e]]
    run = subprocess.Popen([sys.executable, "-c", CLI, "report", *IDS, "--force", "--no-service", "--workers", "1",
                            "--db", str(db), "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, preexec_fn=ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while not rebuilt():
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=60) == 130
    assert "Traceback" not in run.stderr.read()
    assert 1 <= len(rebuilt()) <= 2                          # the one in progress finished, the last never started
    assert decision_counts(db) == {e: n + (e in rebuilt()) for e, n in recorded.items()}
