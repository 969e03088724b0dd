"""`workbench schedule --once` cycles on a two-experiment sample world: unchanged cycles skip everything, a
healthy rollout advances after its dwell, a post-promotion conversion drop in the events is rolled back and
alerted once, overlapping cycles are refused, failures exit non-zero."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from cli_runner import invoke

from workbench.config import get_settings
from workbench.lifecycle.registry import Registry
from workbench.lifecycle.rollout import plan_rollout, rollout_status, start_rollout
from workbench.ops.cycle import run_cycle

from .events import append_traffic

EID = "ml-ranker-canary"
T0 = dt.datetime(2026, 11, 20, 0, 0)          # the sample world's events end just before


def test_a_second_cycle_skips_everything_unchanged(capsys, world_copy, tmp_path):
    first = run_cycle(db=world_copy, out=tmp_path / "reports", reports=False)
    assert first.status == "ok" and first.exit_code == 0 and first.failed == ()
    assert {r["experiment_id"] for r in first.refreshed if r["step"] == "decisions"} == {EID, "pdp-shoes-hero"}
    assert {a["action"] for a in first.actions} == {"decision_recorded"}
    assert {"step": "reports", "experiment_id": None,
            "why": "report refresh turned off (--no-reports or schedule.reports: false)"} in first.skipped
    log = json.loads((world_copy.parent / "cycles" / "last.json").read_text())
    assert log["cycle_id"] == first.cycle_id and log["exit_code"] == 0 and log["started_at"] <= log["finished_at"]
    recorded = Registry(world_copy).decisions()
    assert sorted(recorded["experiment_id"]) == [EID, "pdp-shoes-hero"]

    code, out, err = invoke(capsys, None, "schedule", "--once", "--no-reports", "--db", str(world_copy), "--out",
                            str(tmp_path / "reports"), "--json")
    second = json.loads(out)
    assert code == 0 and second["exit_code"] == 0 and second["refreshed"] == [] and second["actions"] == []
    assert {(s["step"], s["experiment_id"]) for s in second["skipped"]} >= {("decisions", EID),
                                                                            ("decisions", "pdp-shoes-hero")}
    assert len(Registry(world_copy).decisions()) == len(recorded)          # nothing re-recorded
    assert len(list((world_copy.parent / "cycles").glob("cycle-*.json"))) == 2


def test_rollout_advances_after_its_dwell_and_a_drop_is_rolled_back_and_alerted(world_copy, tmp_path, http_receiver,
                                                                                smtp_receiver):
    now = [T0]
    reg = Registry(world_copy, clock=lambda: now[0])
    start_rollout(reg, plan_rollout(EID, "staging", control="production", baseline_rate=0.05), by="kim", why="canary won")
    settings = get_settings().with_overrides({"alerts": {
        "json_webhooks": [http_receiver.url("/json")], "slack_webhooks": [http_receiver.url("/slack")],
        "email": {"host": "127.0.0.1", "port": smtp_receiver.port, "to": ["oncall@example.com"]},
        "kinds": ["rollback", "report_failed"], "timeout_s": 2}})

    def cycle(at: dt.datetime):
        now[0] = at
        return run_cycle(db=world_copy, out=tmp_path / "reports", reports=False, decisions=False, clock=lambda: at,
                         settings=settings)

    # stage 1 (25 %): an hour of healthy traffic converting as before; after the 12 h dwell it moves to 50 %
    base = append_traffic(world_copy, EID, {"staging": 0.039, "production": 0.039}, start=T0 + dt.timedelta(minutes=1),
                          minutes=60, per_minute={"staging": 10, "production": 30}, seed=1)
    assert base > 0
    waiting = cycle(T0 + dt.timedelta(hours=2))
    [w] = waiting.actions
    assert w["action"] == "waiting" and w["monitor"]["status"] == "ok" and w["measure"] == "purchases per impression"
    advanced = cycle(T0 + dt.timedelta(hours=12, minutes=5))
    [a] = advanced.actions
    assert a["action"] == "advanced" and a["share"] == 0.5
    assert rollout_status(Registry(world_copy), EID).share == 0.5

    # stage 2 (50 %): staging's conversion falls by 70 % — the monitor reads it from the events and rolls back
    append_traffic(world_copy, EID, {"staging": 0.012, "production": 0.039},
                   start=T0 + dt.timedelta(hours=12, minutes=10), minutes=60, per_minute={"staging": 20, "production": 20},
                   seed=2)
    rolled = cycle(T0 + dt.timedelta(hours=13, minutes=30))
    [r] = rolled.actions
    assert r["action"] == "rolled_back" and r["monitor"]["status"] == "rollback" and r["monitor"]["drop"] >= 0.2
    after = Registry(world_copy)
    assert after.get(EID).state == "rolled_back" and after.weights(EID) == {"production": 1.0, "staging": 0.0}
    assert rolled.exit_code == 0 and {d["status"] for d in rolled.alerts} == {"sent"} and len(rolled.alerts) == 3
    [alert] = http_receiver.bodies("/json")
    assert (alert["kind"], alert["experiment_id"], alert["severity"]) == ("rollback", EID, "critical")
    assert "below the baseline" in alert["message"] and alert["cycle_id"] == rolled.cycle_id
    assert "Rolled back: ml-ranker-canary" in http_receiver.bodies("/slack")[0]["text"]
    assert [m["Subject"] for m in smtp_receiver.messages] == ["[workbench] Rolled back: ml-ranker-canary"]

    quiet = cycle(T0 + dt.timedelta(hours=14))                       # the same rollback is not announced twice
    assert quiet.alerts == () and len(http_receiver.posts) == 2 and quiet.exit_code == 0


def test_overlapping_cycles_are_refused(capsys, world_copy, tmp_path):
    cycles = world_copy.parent / "cycles"
    cycles.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from filelock import FileLock
        lock = FileLock({str(cycles / '.cycle.lock')!r}); lock.acquire()
        print("held", flush=True); sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = invoke(capsys, None, "schedule", "--once", "--db", str(world_copy), "--out", str(tmp_path / "r"))
        assert code == 2 and "another cycle is running" in err and "Traceback" not in err
        log = json.loads((cycles / "last.json").read_text())
        assert log["status"] == "refused" and log["exit_code"] == 2 and log["failed"][0]["step"] == "lock"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_failed_step_makes_the_cycle_exit_non_zero(tmp_path):
    log = run_cycle(db=tmp_path / "missing.duckdb", out=tmp_path / "reports", reports=False)
    assert log.exit_code == 1 and log.failed[0]["step"] == "database" and "not found" in log.failed[0]["reason"]


def test_schedule_prints_and_installs_a_timer(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "w.duckdb"))
    code, out, _ = invoke(capsys, None, "schedule", "--every", "10", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["cron"].startswith("*/10 * * * * cd ") and "-m workbench schedule --once" in shown["cron"]
    assert f"WORKBENCH_DB={tmp_path / 'w.duckdb'}" in shown["cron"]
    assert "OnUnitActiveSec=10min" in shown["systemd"]["timer"]
    code, out, _ = invoke(capsys, None, "schedule", "--every", "10", "--install", "systemd", "--unit-dir", str(tmp_path / "units"))
    assert code == 0 and (tmp_path / "units" / "workbench-cycle.timer").read_text() == shown["systemd"]["timer"]
    assert "ExecStart=" in (tmp_path / "units" / "workbench-cycle.service").read_text()
    if shutil.which("systemd-analyze"):                              # systemd's own check of the two units
        units = [str(tmp_path / "units" / f"workbench-cycle.{k}") for k in ("service", "timer")]
        done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "workbench-cycle" not in done.stderr, done.stderr
    code, _, err = invoke(capsys, None, "schedule", "--every", "7")
    assert code == 2 and "--every must divide an hour" in err


def test_a_failing_report_fails_the_cycle_and_is_alerted(world_copy, tmp_path, http_receiver):
    # a cell time-out no notebook can meet: every report fails in a cell (the path of any failing cell)
    settings = get_settings().with_overrides({"alerts": {"json_webhooks": [http_receiver.url("/json")]},
                                              "reports": {"cell_timeout_s": 0.001}})
    first = run_cycle(db=world_copy, out=tmp_path / "reports", decisions=False, pdf=False, settings=settings)
    assert first.exit_code == 1 and {(f["step"], f["experiment_id"]) for f in first.failed} == {
        ("reports", EID), ("reports", "pdp-shoes-hero")}
    assert all("CellTimeout" in f["reason"] for f in first.failed)
    assert sorted((b["kind"], b["experiment_id"]) for b in http_receiver.bodies("/json")) == [
        ("report_failed", EID), ("report_failed", "pdp-shoes-hero")]
    assert json.loads((world_copy.parent / "cycles" / "last.json").read_text())["exit_code"] == 1
