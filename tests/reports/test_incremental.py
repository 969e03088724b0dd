"""Incremental runs, the lock, failures that keep the last good report, and the CLI around them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import nbformat
import pytest

from workbench.errors import ConflictError
from workbench.reports import default_notebook, run_reports
from workbench.reports.runner import REPORT_FILES, _RunLock

pytestmark = pytest.mark.notebook


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "report", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_nothing_changed_means_nothing_rebuilt(copy_of):
    before = {e: _snapshot(copy_of.out / e) for e in ("pdp-shoes-hero", "pdp-beauty-srm")}
    t0 = time.perf_counter()
    run = run_reports(["pdp-shoes-hero", "pdp-beauty-srm"], db=copy_of.db, out=copy_of.out, workers=2)
    assert [o.status for o in run.outcomes] == ["skipped", "skipped"]
    assert time.perf_counter() - t0 < 15          # no notebook ran (generous: the machine is shared)
    assert {e: _snapshot(copy_of.out / e) for e in before} == before
    assert {o.decision for o in run.outcomes} == {"launch", "hold"}


def test_new_events_rebuild_only_their_experiment(copy_of):
    con = duckdb.connect(str(copy_of.db))
    con.execute("INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 SECOND AS ts_server) FROM events "
                "WHERE experiment_id = 'pdp-beauty-srm' LIMIT 5")
    con.close()
    old_key = json.loads((copy_of.out / "pdp-beauty-srm" / "summary.json").read_text())["report_key"]
    run = run_reports(["pdp-shoes-hero", "pdp-beauty-srm"], db=copy_of.db, out=copy_of.out, pdf=False)
    assert {o.experiment_id: o.status for o in run.outcomes} == {"pdp-shoes-hero": "skipped", "pdp-beauty-srm": "built"}
    s = json.loads((copy_of.out / "pdp-beauty-srm" / "summary.json").read_text())
    assert s["report_key"] != old_key and s["decision"]["action"] == "hold"
    assert not (copy_of.out / "pdp-beauty-srm" / "report.pdf").exists()    # --no-pdf: the new report has none


def test_a_failing_notebook_leaves_the_last_good_report_untouched(copy_of, tmp_path):
    nb = nbformat.read(str(default_notebook()), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip() == "report.trust()":
            cell.source = "raise RuntimeError('the trust section broke')"
    bad = tmp_path / "broken_report.ipynb"
    nbformat.write(nb, str(bad))
    before = _snapshot(copy_of.out / "pdp-shoes-hero")
    r = _cli("pdp-shoes-hero", "--db", str(copy_of.db), "--out", str(copy_of.out), "--notebook", str(bad), "--force",
             "--no-pdf", "--quiet")
    assert r.returncode == 1, r.stderr
    assert "failed" in r.stderr and "(Trust)" in r.stderr and "RuntimeError: the trust section broke" in r.stderr
    assert "Traceback" not in r.stderr
    assert _snapshot(copy_of.out / "pdp-shoes-hero") == before
    kept = copy_of.out / ".failed" / "pdp-shoes-hero.ipynb"
    assert kept.exists() and "the trust section broke" in kept.read_text()
    assert not list(copy_of.out.glob(".tmp-*"))
    index = (copy_of.out / "index.html").read_text()
    assert "last run failed" in index and "showing the previous report" in index
    status = json.loads((copy_of.out / ".last-run.json").read_text())["experiments"]["pdp-shoes-hero"]
    assert status["status"] == "failed" and status["section"] == "Trust" and isinstance(status["cell"], int)


def test_a_second_run_waits_for_the_lock_then_skips(copy_of):
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with _RunLock(copy_of.out, timeout=5):
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    with pytest.raises(ConflictError, match="another `workbench report` run holds the lock"):
        run_reports(["pdp-shoes-hero"], db=copy_of.db, out=copy_of.out, lock_timeout=0.3)
    timer = threading.Timer(1.0, release.set)
    timer.start()
    t0 = time.perf_counter()
    run = run_reports(["pdp-shoes-hero"], db=copy_of.db, out=copy_of.out, lock_timeout=30)
    waited = time.perf_counter() - t0
    t.join()
    assert waited >= 0.9 and run.outcomes[0].status == "skipped"


def test_concurrent_runs_in_two_processes_do_not_clash(copy_of):
    cmd = [sys.executable, "-m", "workbench", "report", "--all", "--db", str(copy_of.db), "--out", str(copy_of.out),
           "--quiet", "--no-pdf"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for e in ("pdp-shoes-hero", "pdp-beauty-srm", "hostile-names"):
        assert all((copy_of.out / e / f).exists() for f in REPORT_FILES)
    assert not list(copy_of.out.glob(".tmp-*")) and not list(copy_of.out.glob(".run-*"))


def test_cli_user_mistakes_exit_2(copy_of):
    r = _cli("no-such-experiment", "--db", str(copy_of.db), "--out", str(copy_of.out))
    assert r.returncode == 2 and "unknown experiment 'no-such-experiment'" in r.stderr and "Traceback" not in r.stderr
    r = _cli("--db", str(copy_of.db))
    assert r.returncode == 2 and "--all" in r.stderr
    r = _cli("pdp-shoes-hero", "--as-of", "not a date", "--db", str(copy_of.db), "--out", str(copy_of.out))
    assert r.returncode == 2 and "as-of" in r.stderr


def test_cli_json_on_a_fresh_portfolio(copy_of):
    r = _cli("--all", "--db", str(copy_of.db), "--out", str(copy_of.out), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["exit_code"] == 0 and {o["status"] for o in out["outcomes"]} == {"skipped"}
    assert out["index"].endswith("index.html")


def test_gathering_waits_for_another_process_holding_the_database(copy_of, tmp_path):
    from workbench.reports.inputs import gather_inputs
    released = tmp_path / "released"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, pathlib, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(2.5); c.close(); pathlib.Path(sys.argv[2]).touch()",
                               str(copy_of.db), str(released)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    got = gather_inputs(["pdp-shoes-hero"], db=copy_of.db, lock_timeout=60)
    assert released.exists()              # the read could only go through once the other process let go
    holder.wait(10)
    assert got["pdp-shoes-hero"].outcome.decision.action == "launch"



def _workers_of_this_process() -> list[int]:
    import psutil

    pids = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "workbench.reports.workers" in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE:
                pids.append(p.pid)
        except psutil.Error:
            pass
    return pids


def test_a_forced_run_starts_its_workers_early_and_stops_them_when_the_experiment_is_unknown(copy_of, monkeypatch):
    """``--force`` starts the workers before the scan; a scan that fails (an unknown experiment) stops them."""
    from workbench.errors import NotFoundError
    from workbench.reports.workers import WorkerPool

    asked: list[int] = []
    real = WorkerPool.prestart
    monkeypatch.setattr(WorkerPool, "prestart", lambda self, count: asked.append(count) or real(self, count))
    with pytest.raises(NotFoundError, match="unknown experiment 'no-such-experiment'"):
        run_reports(["no-such-experiment"], force=True, db=copy_of.db, out=copy_of.out, workers=2, record=False)
    assert asked == [1]                      # one named experiment: one worker, started before the scan
    assert _workers_of_this_process() == []
