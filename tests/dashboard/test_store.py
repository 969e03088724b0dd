"""The snapshot kept beside the database: a restarted server shows it at once, and re-analyses only what changed."""

from __future__ import annotations

import duckdb
import pytest

import workbench.pipeline
from workbench.dashboard import store
from workbench.dashboard.actions import ActionRequest, perform
from workbench.dashboard.app import DashboardApp, previous_banner
from workbench.dashboard.portfolio import display_frame
from workbench.dashboard.service import DashboardService

from .conftest import OPERATOR, VIEWER


def assert_same(a, b, where: str) -> None:
    """``a`` is ``b`` rebuilt: the same types all the way down, the same DataFrames (dtypes, exact values), the
    same numbers (NaN where NaN), the same reprs."""
    import dataclasses

    import pandas as pd

    from workbench.display import TRANSIENT
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_column_type=True, check_index_type=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_index_type=True, obj=where)
    elif hasattr(type(a), "model_fields"):
        assert a.model_fields_set == b.model_fields_set and a == b, where
        for f in type(a).model_fields:
            assert_same(getattr(a, f), getattr(b, f), f"{where}.{f}")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.metadata.get(TRANSIENT):        # a memo of derived values: not kept (tests/dashboard/test_codec.py)
                continue
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b and repr(a) == repr(b), (where, a, b)


@pytest.fixture
def analyses(monkeypatch):
    """Every call of the analysis the pipeline makes, by experiment id."""
    seen: list[str] = []
    real = workbench.pipeline.analyze

    def counting(data, **kw):
        seen.append(data.experiment_id)
        return real(data, **kw)
    monkeypatch.setattr(workbench.pipeline, "analyze", counting)
    return seen


def test_a_restart_shows_the_kept_snapshot_without_analysing(world_db, tmp_path, analyses):
    first = DashboardService(world_db, reports=tmp_path)
    snap = first.refresh(warm=False)
    kept = store.store_path(world_db)
    assert kept.is_file() and len(analyses) == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []       # no temporary file left

    again = DashboardService(world_db, reports=tmp_path)
    restored = again.refresh(warm=False)
    assert len(analyses) == 3 and again.refresh_count == 0                             # nothing analysed
    assert restored.ready and not restored.previous and restored.key == again.source_key()
    # the first page needs only the portfolio: no outcome is read until an experiment is opened
    kept_outcomes = restored.outcomes
    assert isinstance(kept_outcomes, store.KeptOutcomes) and set(kept_outcomes) == set(snap.outcomes)
    assert again.portfolio(restored) is restored.frame and kept_outcomes.read == 0
    assert_same(restored.frame, first.portfolio(snap), "frame")
    assert_same(restored.registry, snap.registry, "registry")
    assert again.story("pdp-shoes-hero").to_dict() == first.story("pdp-shoes-hero").to_dict()   # one story
    assert kept_outcomes.read == 1
    assert {e: o.decision.action for e, o in restored.outcomes.items()} == \
        {e: o.decision.action for e, o in snap.outcomes.items()}

    # lossless: every restored outcome is the evaluated one (types, dtypes, float bits), and renders identically
    for eid, fresh in snap.outcomes.items():
        assert_same(kept_outcomes[eid], fresh, eid)
    shown = []
    for svc in (first, again):
        app = DashboardApp(service=svc, identity=VIEWER)
        table = app.pages["portfolio"].table.value.to_string()
        app.state.param.update(page="experiment", experiment="pdp-home-bandit")
        detail = app.pages["experiment"]
        shown.append([table] + [getattr(detail, pane).object for pane in ("header", "badges", "decision", "tiles",
                                                                          "adjusted", "rollout", "log")])
    assert shown[0] == shown[1] and "pdp-home-bandit" in shown[1][1] and "Bandit allocation" in shown[1][-1]

    fronts: list = []                  # the first page's part comes first: the portfolio, without registry or plan
    full = store.load_snapshot(world_db, snap.inputs, front=fronts.append)
    assert fronts[0].loading and fronts[0].registry is None and fronts[0].autopilot is None and not fronts[0].outcomes
    assert_same(fronts[0].frame, first.portfolio(snap), "front frame")
    assert not full.loading and full.registry is not None and set(full.outcomes) == set(snap.outcomes)

    # other code (or settings, or calendar): the kept snapshot is not used at all
    assert store.load_snapshot(world_db, "other inputs") is None
    whole = kept.read_bytes()
    kept.write_bytes(whole[:-100])                                                       # truncated by hand
    assert store.load_snapshot(world_db, snap.inputs) is None


def test_changed_data_shows_the_previous_analysis_marked_and_reanalyses_only_what_changed(world_db, tmp_path,
                                                                                          analyses):
    DashboardService(world_db, reports=tmp_path).refresh(warm=False)
    eid = "pdp-shoes-hero"
    con = duckdb.connect(str(world_db))
    con.execute("INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 HOUR AS ts_server, "
                "'ffffffffffffff01' AS user_key) FROM events WHERE experiment_id = ? ORDER BY ts_server DESC LIMIT 3",
                [eid])
    con.close()
    analyses.clear()
    svc = DashboardService(world_db, reports=tmp_path)
    shown: list[tuple] = []
    real = svc._progress

    def watch(done, total, outcome=None):         # what a page sees while the refresh runs
        snap = svc.snapshot
        shown.append((snap.previous, snap.ready, done, total, svc.progress))
        real(done, total, outcome)
    svc._progress = watch
    snap = svc.refresh(warm=False)
    assert analyses == [eid] and svc.refresh_count == 1        # the two unchanged experiments kept their analysis
    assert shown and all(prev and ready for prev, ready, *_ in shown) and shown[-1][2:4] == (3, 3)
    assert snap.error is None and not snap.previous and svc.progress is None and snap.key == svc.source_key()
    assert store.load_snapshot(world_db, snap.inputs).key == snap.key                   # kept for the next start


def test_the_previous_analysis_says_so_and_refuses_actions_that_use_its_numbers(world_db, tmp_path, mini_snapshot):
    from dataclasses import replace
    svc = DashboardService(world_db, reports=tmp_path)
    svc.publish(replace(mini_snapshot, previous=True, registry=svc.registry_view()))
    svc.reanalyse_after_action = False
    r = perform(svc, OPERATOR, ActionRequest("start_rollout", "ship it", "pdp-shoes-hero"))
    assert not r.ok and r.status == 409 and "previous data" in r.message
    assert svc._reg().get("pdp-shoes-hero").state == "running"                           # nothing changed
    assert perform(svc, OPERATOR, ActionRequest("pause", "stock", "pdp-shoes-hero")).ok
    frame = svc.portfolio()
    assert display_frame(frame, previous=True)["decision"].str.contains("previous data").all()
    assert not display_frame(frame)["decision"].str.contains("previous data").any()
    banner = previous_banner(svc.snapshot, "analysing 2 of 3 experiments")
    assert "previous data" in banner and "Analysing 2 of 3 experiments" in banner


def test_a_first_start_shows_the_registry_at_once_and_each_verdict_when_it_is_ready(world_db, tmp_path):
    svc = DashboardService(world_db, reports=tmp_path)
    svc.publish_every = 0.0
    seen: list = []
    real = svc._progress

    def watch(done, total, outcome=None):
        snap = svc.snapshot
        frame = svc.portfolio(snap)
        seen.append((snap.pending, len(snap.outcomes), dict(zip(frame["experiment_id"], frame["decision"]))))
        real(done, total, outcome)
    svc._progress = watch
    final = svc.refresh(warm=False)
    assert seen[0][:2] == (True, 0) and set(seen[0][2].values()) == {"analysing"} and len(seen[0][2]) == 3
    assert seen[-1][0] and seen[-1][1] == 2                 # two verdicts published, the third still analysing
    shown = seen[-1][2]
    assert sum(d == "analysing" for d in shown.values()) == 1
    assert all(shown[e] == final.outcomes[e].decision.action for e, d in shown.items() if d != "analysing")
    assert not final.pending and final.version > 1 and len(svc.portfolio(final)) == 3
