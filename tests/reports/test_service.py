"""The warm report service: ``workbench report`` runs there when one listens for its reports, with the same
outcome as a run of its own, and in its own process otherwise (another environment, no service, a dead one)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from workbench.reports.service import run_with_service, socket_path

from .conftest import CLI, IDS, ctrl_c_as_in_a_terminal, decision_counts, summary_times


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _start_service(db: Path, out: Path, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", CLI, "report-service", "--db", str(db), "--out", str(out),
                             "--workers", "1", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()                      # the service says it is ready once it listens
    assert "report service: ready" in line, line + (proc.stderr.read() if proc.poll() is not None else "")
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def _line_with(proc: subprocess.Popen, text: str, deadline: float) -> str:
    """The first line holding ``text`` that ``proc`` writes to stderr from now on (waiting until ``deadline``);
    read from the pipe itself, not through Python's buffer, so that select sees every line."""
    import select
    assert proc.stderr is not None
    fd, seen = proc.stderr.fileno(), b""
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            chunk = os.read(fd, 1 << 16)
            assert chunk, "the service ended"
            seen += chunk
            for line in seen.decode("utf-8", "replace").splitlines():
                if text in line:
                    return line
    raise AssertionError(f"the service never said {text!r}")


def _summary(out: Path, experiment: str) -> dict:
    return json.loads((out / experiment / "summary.json").read_text(encoding="utf-8"))


def test_a_run_goes_through_the_service_with_the_same_outcome_and_nothing_held_between_runs(built, copy_of):
    db, out = copy_of.db, copy_of.out
    # the session's reports were built by a run of its own (run_reports in the test process): the same outcome
    (mine,) = [o for o in built.run.outcomes if o.experiment_id == IDS[0]]
    decision = _summary(out, IDS[0])["decision"]
    service = _start_service(db, out)
    try:
        helpers = psutil.Process(service.pid).children(recursive=True)
        assert helpers                                      # its warm worker (and browser) run beside it
        browsers = [p for p in helpers if "chrom" in p.name() and "--type=" not in " ".join(p.cmdline())]
        runs = []
        for i in range(3):      # run 1 prints without the killed browser; the service replaces it after that run
            r = _cli("report", IDS[0], "--force", "--db", str(db), "--out", str(out), "--json")
            assert r.returncode == 0, r.stderr[-2000:]
            runs.append(json.loads(r.stdout))
            # between runs the service holds no connection: another process writes to the database
            import duckdb
            with duckdb.connect(str(db)) as con:
                con.execute("CREATE OR REPLACE TABLE written_between_runs AS SELECT 1 AS x")
            if i == 0 and browsers:          # its browser dies: the next run still prints, and it is replaced
                browsers[0].kill()           # (a zombie until the service reaps it)
                deadline = time.monotonic() + 10
                while browsers[0].is_running() and browsers[0].status() != psutil.STATUS_ZOMBIE:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        if browsers:
            now = [p for p in psutil.Process(service.pid).children(recursive=True)
                   if "chrom" in p.name() and "--type=" not in " ".join(p.cmdline())]
            assert now and now[0].pid != browsers[0].pid
        for run in runs:
            assert any(f"warm report service (pid {service.pid}" in n for n in run["notes"])
            (o,) = run["outcomes"]
            assert o["status"] == "built" and o["decision"] == mine.decision
            assert o["health"] == mine.health and o["pdf"] == mine.pdf
        assert _summary(out, IDS[0])["decision"] == decision          # the same decision, the same sentence
        # the same warm worker built both reports (a new one would have had to warm up first)
        assert {p.pid for p in psutil.Process(service.pid).children() if "workers" in " ".join(p.cmdline())} \
            <= {p.pid for p in helpers}
        # a user's mistake is the same clear error, exit 2, from the service as from a run of its own
        bad = _cli("report", "no-such-experiment", "--db", str(db), "--out", str(out))
        bad_alone = _cli("report", "no-such-experiment", "--no-service", "--db", str(db), "--out", str(out))
        assert bad.returncode == bad_alone.returncode == 2
        assert "Traceback" not in bad.stderr and bad.stderr.strip() == bad_alone.stderr.strip()
        # one service per database and reports directory: a second one says so and exits 2
        second = _cli("report-service", "--db", str(db), "--out", str(out), timeout=120)
        assert second.returncode == 2 and "already running" in second.stderr and "Traceback" not in second.stderr
        # Ctrl-C in the client stops the service's run as it stops a run of its own: the report in progress
        # finishes, no other starts, the finished ones' decisions are recorded, the index is not rewritten; the
        # service then takes the next run
        recorded, before = decision_counts(db), summary_times(out)
        index = (out / "index.html").stat().st_mtime_ns
        client = subprocess.Popen([sys.executable, "-c", CLI, "report", *IDS, "--force", "--db", str(db), "--out",
                                   str(out), "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  preexec_fn=ctrl_c_as_in_a_terminal)
        deadline = time.monotonic() + 120

        def rebuilt() -> list[str]:
            return [e for e, t in summary_times(out).items() if t != before[e]]
        while not rebuilt():                                # the first report is in place: Ctrl-C
            assert client.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        client.send_signal(signal.SIGINT)
        assert client.wait(timeout=30) == 130
        said = _line_with(service, "its client went away", deadline)
        assert re.search(r"the run was stopped after [12] of 3 report\(s\)", said), said
        assert 1 <= len(rebuilt()) <= 2 and (out / "index.html").stat().st_mtime_ns == index
        assert decision_counts(db) == {e: n + (e in rebuilt()) for e, n in recorded.items()}
        after = _cli("report", IDS[0], "--db", str(db), "--out", str(out), "--json")
        assert after.returncode == 0, after.stderr[-2000:]
        assert any(f"warm report service (pid {service.pid}" in n for n in json.loads(after.stdout)["notes"])
    finally:
        _stop(service)
    assert service.returncode == 0
    assert not socket_path(db, out).exists()
    for p in helpers:                                       # its workers and browser stopped with it
        assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE


def test_another_environment_runs_in_its_own_process_and_an_idle_service_stops(copy_of):
    db, out = copy_of.db, copy_of.out
    service = _start_service(db, out, "--idle", "0.1")        # 6 s without a run
    try:
        r = _cli("report", IDS[1], "--force", "--no-pdf", "--db", str(db), "--out", str(out), "--json",
                 env={"WORKBENCH_REPORTS_TEST_MARK": "another setting"})
        assert r.returncode == 0, r.stderr[-2000:]
        run = json.loads(r.stdout)
        assert run["outcomes"][0]["status"] == "built"
        # built here, and the run says why the service did not take it
        assert not any("built by the warm report service" in n for n in run["notes"])
        assert "ran in this process, not in the warm report service: WORKBENCH_REPORTS_TEST_MARK differs" \
            in run["notes"], run["notes"]
        service.wait(timeout=60)                                             # idle: it stops by itself
    finally:
        _stop(service)
    assert service.returncode == 0 and not socket_path(db, out).exists()


def test_no_service_or_a_dead_one_means_a_run_of_its_own(tmp_path):
    db, out = tmp_path / "w.duckdb", tmp_path / "reports"
    assert run_with_service(db=db, out=out) == (None, "")                # nothing listens
    path = socket_path(db, out)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))                                                # a socket left by a killed service
    dead.close()
    try:
        assert path.exists() and run_with_service(db=db, out=out) == (None, "")
    finally:
        path.unlink(missing_ok=True)
    with pytest.raises(TypeError, match="not a report run option"):
        run_with_service(db=db, out=out, progress_bar=True)

