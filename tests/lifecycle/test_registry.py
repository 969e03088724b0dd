"""The registry: experiments, briefs, weights, audit hash chain, transactions under crashes and concurrency, retention."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pytest

from workbench.errors import ConflictError, InputError, NotFoundError
from workbench.lifecycle.policies import decide
from workbench.lifecycle.registry import Registry

from .builders import T0, make_brief, result


def test_create_get_list_and_brief(reg):
    b = make_brief(id="e1", allocation={"weights": [0.7, 0.3]})
    rec = reg.create(b, by="kim", why="planned")
    assert (rec.state, rec.category, rec.product_id, rec.policy, rec.origin) == ("draft", "shoes", "sho-0001",
                                                                              "decision-layer", "manual")
    assert reg.brief("e1") == b
    assert reg.weights("e1") == pytest.approx({"control": 0.7, "b": 0.3})
    reg.create(make_brief(id="e2"), by="kim", why="second")
    assert [r.experiment_id for r in reg.list()] == ["e1", "e2"]
    reg.transition("e2", "start", by="kim", why="go")
    assert [r.experiment_id for r in reg.list("running")] == ["e2"]
    assert list(reg.frame()["experiment_id"]) == ["e1", "e2"]


def test_duplicates_unknowns_and_missing_who_why(reg):
    reg.create(make_brief(id="e1"), by="kim", why="x")
    with pytest.raises(ConflictError, match="already exists"):
        reg.create(make_brief(id="e1"), by="kim", why="again")
    with pytest.raises(NotFoundError, match="known: e1"):
        reg.get("nope")
    with pytest.raises(InputError, match="who acts"):
        reg.transition("e1", "start", by=" ", why="x")
    with pytest.raises(InputError, match="why"):
        reg.transition("e1", "start", by="kim", why="")
    with pytest.raises(NotFoundError, match="no decision policy"):
        reg.create(make_brief(id="e9", policy="no-such-policy"), by="kim", why="x")
    assert reg.get("e1").state == "draft"


def test_brief_revisions_only_in_draft(reg):
    reg.create(make_brief(id="e1"), by="kim", why="x")
    reg.update_brief(make_brief(id="e1", name="Renamed", allocation={"weights": [0.6, 0.4]}), by="kim", why="review")
    assert reg.brief("e1").name == "Renamed" and reg.get("e1").name == "Renamed"
    assert reg.brief("e1", revision=1).name == "Bolder CTA"
    assert reg.weights("e1") == pytest.approx({"control": 0.6, "b": 0.4})
    reg.transition("e1", "start", by="kim", why="go")
    with pytest.raises(ConflictError, match="frozen"):
        reg.update_brief(make_brief(id="e1", name="Too late"), by="kim", why="x")


def test_set_weights_validated_and_recorded(reg):
    reg.create(make_brief(id="e1"), by="kim", why="x")
    reg.set_weights("e1", {"control": 0.2, "b": 0.8}, by="bandit", why="posterior update", mode="bandit")
    assert reg.weights("e1") == pytest.approx({"control": 0.2, "b": 0.8})
    with pytest.raises(InputError, match="add up to 1"):
        reg.set_weights("e1", {"control": 0.2, "b": 0.7}, by="x", why="y")
    with pytest.raises(InputError, match="exactly the variants"):
        reg.set_weights("e1", {"control": 0.5, "zzz": 0.5}, by="x", why="y")
    assert reg.audit("e1")["action"].tolist() == ["create", "set_weights"]


def test_decisions_recorded_with_every_reason(reg):
    reg.create(make_brief(id="exp-1"), by="kim", why="x")
    d = decide(result(srm_p=1e-4), brief=reg.brief("exp-1"))
    did = reg.record_decision(d, by="kim")
    rows = reg.decisions("exp-1")
    assert did == 1 and len(rows) == 1
    row = rows.iloc[0]
    assert (row["action"], row["policy"], row["reason"]) == ("hold", "decision-layer", d.reason)
    assert row["reasons"] == list(d.reasons) and len(row["reasons"]) >= 1
    assert row["facts"]["srm_p"] == pytest.approx(1e-4)
    audit = reg.audit("exp-1").iloc[-1]
    assert audit["action"] == "decide" and audit["why"] == d.reason


def test_looks_count_versions_of_the_data_decided_on(reg):
    """Deciding again on the same data is not another look; each new data version is, and so is a decision
    without a data version; the version being decided now counts once, recorded or not."""
    from workbench.lifecycle.signals import decision_context
    reg.create(make_brief(id="e1"), by="kim", why="x")
    assert reg.looks("e1", "v1") == 1
    for version in ("v1", "v1", "v2"):
        reg.record_decision(decide(result(experiment_id="e1", data_version=version), brief=reg.brief("e1")), by="kim")
    assert reg.looks("e1", "v2") == 2 and reg.looks("e1", "v1") == 2 and reg.looks("e1", "v3") == 3
    reg.record_decision(decide(result(experiment_id="e1", data_version=""), brief=reg.brief("e1")), by="kim")
    assert reg.looks("e1", "v3") == 4 and reg.looks("other", "v1") == 1
    ctx = decision_context(reg, "e1", data_version="v3")
    assert ctx.looks == 4
    assert decide(result(experiment_id="e1", data_version="v3"), context=ctx).facts["looks"] == 4
    assert decide(result(experiment_id="e1")).facts["looks"] == 1      # no registry: this look only


def test_audit_log_is_a_hash_chain_that_shows_tampering(tmp_path, clock):
    reg = Registry(tmp_path / "wb.duckdb", clock=clock)
    reg.create(make_brief(id="e1"), by="kim", why="x")
    reg.transition("e1", "start", by="kim", why="go")
    reg.set_switch("promotion_period", "on", by="ops", why="black friday")
    check = reg.verify_audit()
    assert check.ok and check.rows == 3
    with duckdb.connect(str(tmp_path / "wb.duckdb")) as con:
        con.execute("UPDATE audit_log SET why = 'nothing to see' WHERE seq = 2")
    bad = reg.verify_audit()
    assert not bad.ok and bad.first_bad_seq == 2
    with duckdb.connect(str(tmp_path / "wb.duckdb")) as con:
        con.execute("UPDATE audit_log SET why = 'go' WHERE seq = 2")
        con.execute("DELETE FROM audit_log WHERE seq = 1")
    assert not reg.verify_audit().ok


def test_exception_inside_a_write_leaves_the_previous_state(reg, monkeypatch):
    reg.create(make_brief(id="e1"), by="kim", why="x")
    reg.transition("e1", "start", by="kim", why="go")
    before, audit_before = reg.get("e1"), reg.audit()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(reg, "append_audit", boom)   # fails after the state UPDATE, before COMMIT
    with pytest.raises(RuntimeError, match="disk on fire"):
        reg.transition("e1", "pause", by="kim", why="look")
    monkeypatch.undo()
    assert reg.get("e1") == before
    assert reg.audit().equals(audit_before)
    assert reg.transition("e1", "pause", by="kim", why="look").state == "hold"


CRASHER = textwrap.dedent("""
    import sys, time, datetime as dt
    from workbench.lifecycle.registry import Registry
    reg = Registry(sys.argv[1], clock=lambda: dt.datetime(2026, 3, 1, 12))
    real = Registry.append_audit
    def slow(self, con, **kw):
        seq = real(self, con, **kw)          # state and audit rows written, not committed
        print("IN-TRANSACTION", flush=True)
        time.sleep(60)                        # killed here
        return seq
    Registry.append_audit = slow
    reg.transition("e1", "pause", by="crasher", why="never committed")
""")


def test_killed_writer_leaves_previous_state_intact(tmp_path, clock):
    path = tmp_path / "wb.duckdb"
    reg = Registry(path, clock=clock)
    reg.create(make_brief(id="e1"), by="kim", why="x")
    reg.transition("e1", "start", by="kim", why="go")
    before, n_audit = reg.get("e1"), len(reg.audit())
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "IN-TRANSACTION"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = Registry(path, clock=clock)
    assert after.get("e1") == before
    assert len(after.audit()) == n_audit
    assert after.verify_audit().ok
    assert after.transition("e1", "pause", by="kim", why="works again").state == "hold"


def test_concurrent_writers_in_one_process_never_half_apply(tmp_path, clock):
    path = tmp_path / "wb.duckdb"
    Registry(path, clock=clock).create(make_brief(id="e1"), by="kim", why="x")
    Registry(path, clock=clock).transition("e1", "start", by="kim", why="go")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def worker(i: int) -> None:
        r = Registry(path, clock=clock)
        barrier.wait()
        try:
            r.transition("e1", "pause" if i % 2 else "stop", by=f"w{i}", why="race")
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    reg = Registry(path, clock=clock)
    final = reg.get("e1")
    changes = reg.audit("e1")["action"].tolist()[2:]   # after create, start
    assert outcomes.count("ok") == len(changes) >= 1
    assert final.version == 2 + len(changes)
    assert final.state in ("hold", "completed")
    assert reg.verify_audit().ok


WRITER = textwrap.dedent("""
    import sys
    from workbench.lifecycle.registry import Registry
    reg = Registry(sys.argv[1], lock_timeout=60)
    for i in range(int(sys.argv[3])):
        reg.set_switch(f"w{sys.argv[2]}", str(i), by=f"proc{sys.argv[2]}", why="concurrent")
""")


def test_two_processes_take_turns_on_the_file(tmp_path):
    path = tmp_path / "wb.duckdb"
    Registry(path).set_switch("init", "1", by="t", why="create the file")
    n = 8
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(k), str(n)]) for k in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    reg = Registry(path)
    audit = reg.audit()
    assert len(audit) == 1 + 2 * n
    assert reg.verify_audit().ok
    assert reg.switch("w0") == str(n - 1) and reg.switch("w1") == str(n - 1)


def test_a_held_lock_times_out_with_a_clear_message(tmp_path):
    path = tmp_path / "wb.duckdb"
    Registry(path).set_switch("init", "1", by="t", why="x")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(30)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with pytest.raises(ConflictError, match="in use by another process"):
            Registry(path, lock_timeout=0.5).get("x")
        assert time.monotonic() - t0 < 10
    finally:
        holder.kill()
        holder.wait()


def _events_db(path, now):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events (ts_server TIMESTAMP, user_key VARCHAR, session_id VARCHAR, event VARCHAR)")
        rows = [(now - dt.timedelta(days=d), f"{d:032x}" if d != 5 else "jane@example.com", f"s{d}", "impression")
                for d in (1, 5, 100, 200, 400)]
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)


def test_retention_purge(tmp_path):
    now = dt.datetime(2026, 11, 20)
    path = tmp_path / "wb.duckdb"
    _events_db(path, now)
    reg = Registry(path, clock=lambda: now)
    dry = reg.purge_events(retention_days=180, by="dpo", why="policy", dry_run=True)
    assert (dry.deleted, dry.remaining, dry.unhashed_user_keys) == (2, 5, 1)
    assert len(reg.audit()) == 0
    r = reg.purge_events(retention_days=180, by="dpo", why="retention policy")
    assert (r.deleted, r.remaining) == (2, 3) and "do not look hashed" in r.notes[0]
    assert r.cutoff == now - dt.timedelta(days=180)
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT min(ts_server) FROM events").fetchone()[0] >= r.cutoff
    a = reg.audit().iloc[-1]
    assert (a["action"], a["actor"]) == ("purge_events", "dpo")
    with pytest.raises(InputError, match="at least 1 day"):
        reg.purge_events(retention_days=0, by="x", why="y")
    assert Registry(tmp_path / "empty.duckdb").purge_events(by="x", why="y").notes[0].startswith("no table")


def test_registry_stores_no_user_identifiers(reg):
    reg.create(make_brief(id="e1"), by="kim", why="x")
    reg.transition("e1", "start", by="kim", why="go")
    reg.record_decision(decide(result(experiment_id="e1"), brief=reg.brief("e1")), by="kim")
    with reg.connect() as con:
        cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns").fetchall()}
    assert not cols & {"user_key", "user_id", "email", "phone", "ip", "session_id"}


def test_switches_and_review_flags(reg):
    assert not reg.promotion_period()
    reg.set_switch("promotion_period", "on", by="ops", why="sale")
    assert reg.promotion_period()
    reg.flag_review("sho-0001", reason="legal", by="legal-team", why="claims under review")
    reg.flag_review("sho-0001", reason="manual", by="legal-team", why="downgraded")
    flags = reg.review_flags()
    assert flags[["product_id", "reason"]].values.tolist() == [["sho-0001", "manual"]]
    with pytest.raises(InputError, match="manual' or 'legal"):
        reg.flag_review("x", reason="whim", by="a", why="b")
    reg.unflag_review("sho-0001", by="legal-team", why="cleared")
    with pytest.raises(NotFoundError):
        reg.unflag_review("sho-0001", by="legal-team", why="again")
    assert reg.audit()["action"].tolist() == ["set_switch", "flag_review", "flag_review", "unflag_review"]


def test_session_and_loose_registries_agree(loose_reg, tmp_path, clock):
    loose_reg.create(make_brief(id="e1"), by="kim", why="x")
    with loose_reg.session() as r:
        r.transition("e1", "start", by="kim", why="go")
        with r.transaction():
            r.transition("e1", "pause", by="kim", why="nested 1")
            r.transition("e1", "resume", by="kim", why="nested 2")
    assert loose_reg.get("e1").state == "running"
    assert loose_reg.audit()["action"].tolist() == ["create", "start", "pause", "resume"]
    assert loose_reg.get("e1").created_at == T0
