"""The data service: one refresh per change, snapshots, caches keyed by experiment and data version."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt

import duckdb
import pandas as pd
import pytest

from workbench.dashboard import service as service_mod
from workbench.dashboard.actions import ActionRequest, perform
from workbench.dashboard.service import DashboardService, get_service, refresh_task

from .conftest import OPERATOR


def test_refresh_builds_the_snapshot(shared_service):
    snap = shared_service.snapshot
    assert snap.ready and snap.error is None and not snap.pending and snap.version >= 1
    assert len(snap.outcomes) == 13 and shared_service.refresh_count == 1
    assert snap.as_of == max(o.data.as_of for o in snap.outcomes.values())
    assert set(snap.registry.records) == set(snap.outcomes)
    assert snap.autopilot is not None and snap.autopilot.dry_run
    assert snap.key.events > 0 and snap.key.audit_seq > 0


def test_refresh_is_skipped_while_nothing_changed_and_redone_when_the_registry_changes(world_db, tmp_path):
    svc = DashboardService(world_db, reports=tmp_path)
    first = svc.refresh(warm=False)
    assert svc.refresh_count == 1
    assert svc.refresh(warm=False) is first and svc.refresh_count == 1          # unchanged: no work
    svc._reg().transition("pdp-shoes-hero", "pause", by="kim", why="test")
    second = svc.refresh(warm=False)
    assert svc.refresh_count == 2 and second.version == first.version + 1
    assert second.registry.records["pdp-shoes-hero"].state == "hold"
    assert second.outcomes["pdp-shoes-hero"].record.state == "hold"


def test_new_events_change_the_data_version_and_the_cache_key(service):
    svc = service
    eid = "pdp-shoes-hero"
    old = svc.snapshot.outcomes[eid].data.data_version
    other = svc.snapshot.outcomes["reco-model-v2"].data.data_version
    t1 = svc.trend(eid, "D")
    assert svc.trend(eid, "D") is t1 and svc.cache_stats["misses"] == 1          # cached by (id, data version)
    con = duckdb.connect(str(svc.db))
    con.execute("INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 HOUR AS ts_server, "
                "'ffffffffffffff01' AS user_key) FROM events WHERE experiment_id = ? ORDER BY ts_server DESC LIMIT 3",
                [eid])
    con.close()
    svc.refresh(warm=False)
    new = svc.snapshot.outcomes[eid].data.data_version
    assert new != old and svc.refresh_count == 1
    assert svc.snapshot.outcomes["reco-model-v2"].data.data_version == other      # untouched experiment
    t2 = svc.trend(eid, "D")
    assert t2 is not t1 and svc.cache_stats["misses"] == 2
    assert t2["units"].sum() >= t1["units"].sum()


def test_warm_up_fills_the_caches_once(service):
    assert not service.warming
    computed = service.warm(service.snapshot)
    assert computed >= 3 * 4           # trends by hour and day, posterior, chance (+ segments) per experiment
    assert service.warm(service.snapshot) == 0


def test_a_failed_refresh_keeps_the_previous_data(service, monkeypatch):
    import workbench.pipeline
    before = service.snapshot

    def broken(*_a, **_k):
        raise RuntimeError("engine exploded")
    monkeypatch.setattr(workbench.pipeline, "evaluate", broken)
    snap = service.refresh(force=True)
    assert snap.error == "RuntimeError: engine exploded"
    assert snap.outcomes is before.outcomes and snap.version == before.version + 1
    monkeypatch.undo()
    healed = service.refresh(warm=False)
    assert healed.error is None and healed.version == snap.version + 1


def test_allocation_decisions_are_kept_for_the_last_hour_of_each_log(service):
    from workbench.bandits import allocate, record_plan
    counts = pd.DataFrame({"variant": ["control", "cozy", "minimal"], "units": [900, 950, 1000],
                           "conversions": [30, 41, 55]})
    t = dt.datetime(2026, 11, 19, 12, 0, tzinfo=dt.UTC)
    world_rows = service.source_key().allocation_rows            # the simulated bandit's own decisions
    for when in (t, t - dt.timedelta(minutes=45), t - dt.timedelta(hours=2)):
        record_plan(allocate(counts, experiment_id="pdp-home-bandit", seed=1, now=when.isoformat()), db=service.db)
    record_plan(allocate(counts.head(2), experiment_id="other", seed=1, now=(t - dt.timedelta(days=3)).isoformat()),
                db=service.db)
    a = service._allocations()
    bandit = a[a["experiment_id"] == "pdp-home-bandit"]
    assert sorted(bandit["created_at"].dt.minute.unique().tolist()) == [0, 15] and len(bandit) == 6   # 2 decisions × 3 arms
    assert len(a[a["experiment_id"] == "other"]) == 2          # its own last hour
    assert service.source_key().allocation_rows == world_rows + 11 != service.snapshot.key.allocation_rows  # refresh
    from workbench.dashboard.data import allocation_frame
    shown = allocation_frame(a, "pdp-home-bandit")
    assert list(shown["created_at"].dt.minute[:3]) == [0, 0, 0] and set(shown["variant"]) == {"control", "cozy", "minimal"}


def test_an_action_starts_a_reanalysis(service):
    service.reanalyse_after_action = True
    before = service.refresh_count
    r = perform(service, OPERATOR, ActionRequest("promotion_period", "sale", value="on"))
    service.join_background(60)
    assert r.ok and service.refresh_count == before + 1
    assert all(o.decision.facts["promotion_period"] for o in service.snapshot.outcomes.values())


def test_one_service_per_database_and_the_scheduled_task_refreshes_it(world_db, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(world_db))
    monkeypatch.setattr(service_mod, "_SERVICES", {})
    svc = get_service()
    assert get_service(world_db) is svc and not svc.snapshot.ready
    monkeypatch.setattr(DashboardService, "warm", lambda self, snap, batch=10: 0)
    # a loop of its own in a thread of its own: this thread may already run one (Playwright's sync API
    # started by another test of the same process), and asyncio.run() refuses to nest
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, refresh_task()).result(120)
    assert svc.snapshot.ready and len(svc.snapshot.outcomes) == 3


def test_a_missing_database_gives_an_empty_snapshot(tmp_path):
    svc = DashboardService(tmp_path / "none.duckdb", reports=tmp_path)
    snap = svc.refresh()
    assert snap.ready and snap.error is None and snap.outcomes == {} and snap.registry is None
    assert not (tmp_path / "none.duckdb").exists()
    with pytest.raises(Exception, match="no experiment"):
        svc.trend("x")
