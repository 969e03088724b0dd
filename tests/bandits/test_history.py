"""One story for the bandit: every view's current allocation is the latest decision in the allocation log."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest

from tests.cli_runner import invoke
from workbench.bandits.history import allocation_history, data_as_of, fmt_weights

EID = "pdp-home-bandit"


@pytest.fixture()
def world(small_world, tmp_path, monkeypatch):
    db = tmp_path / "world.duckdb"
    shutil.copy(small_world["db"], db)
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    return db


def _schedule_last_day(db) -> dict[str, float]:
    con = duckdb.connect(str(db), read_only=True)
    alloc = con.execute("SELECT day, variant, weight FROM world_allocations WHERE experiment_id = ?", [EID]).df()
    con.close()
    last = alloc[alloc["day"] == alloc["day"].max()]
    return dict(zip(last["variant"], last["weight"]))


def test_the_world_logs_its_bandit_and_every_view_reads_the_same_current_allocation(world, capsys, monkeypatch):
    as_of = data_as_of(EID, db=world)
    history = allocation_history(EID, db=world, as_of=as_of)
    assert history.current is not None and history.n_decisions > 5
    assert list(history.current) == ["control", "cozy", "minimal"]
    # the log holds the weights the world assigned its units with (its schedule), as of the data's as-of
    assert history.current == pytest.approx(_schedule_last_day(world), abs=1e-12)
    assert history.current_at <= as_of

    # CLI: bandit-log --json and its text
    code, out, err = invoke(capsys, monkeypatch, "bandit-log", EID, "--json")
    assert code == 0, err
    cli = json.loads(out)
    assert cli["current"] == history.current and cli["current_decision"] == history.current_decision
    code, text, _ = invoke(capsys, monkeypatch, "bandit-log", EID, "--last", "1")
    assert code == 0 and fmt_weights(history.current) in text

    # CLI: allocate --experiment proposes a next plan and says what is current
    code, out, err = invoke(capsys, monkeypatch, "allocate", "--experiment", EID, "--no-log", "--json")
    assert code == 0, err
    proposal = json.loads(out)
    assert proposal["logged"] is False and proposal["current"]["current"] == history.current
    assert {a["variant"]: a["previous_weight"] for a in proposal["arms"]} == history.current   # "was" = current
    code, text, _ = invoke(capsys, monkeypatch, "allocate", "--experiment", EID, "--no-log")
    assert f"{fmt_weights(history.current)}" in text and "Proposed next allocation (not logged" in text
    assert allocation_history(EID, db=world, as_of=as_of).current_decision == history.current_decision   # unchanged

    # report: its inputs, the section and summary.json
    from workbench.reports import load_report
    report = load_report(EID, db=world)
    assert report.inputs.allocation.current == history.current
    assert report.summary()["allocation"]["current"] == history.current
    assert report.summary()["story"]["allocation"] == history.current
    assert history.sentence() in str(report.bandit()).replace("&#x27;", "'")
    planned = report.inputs.planned_allocation
    last_day = planned[planned["day"] == planned["day"].max()]
    assert dict(zip(last_day["variant"], last_day["weight"])) == history.current

    # dashboard: the data layer the tiles and the portfolio use
    from workbench.dashboard.data import current_weights, portfolio_rows, variant_tiles
    from workbench.dashboard.service import DashboardService
    svc = DashboardService(world, reports=world.parent / "reports")
    snap = svc.refresh(warm=False)
    o = snap.outcome(EID)
    assert snap.bandits[EID].current == history.current
    assert svc.story(EID).allocation == history.current                 # what /api/experiments serves
    assert current_weights(o, snap.registry, snap.bandits) == history.current
    assert {t.variant: t.weight for t in variant_tiles(o, current_weights(o, snap.registry, snap.bandits))} == \
        history.current
    row = next(r for r in portfolio_rows(snap.outcomes, snap.registry, snap.bandits) if r.experiment_id == EID)
    assert row.allocation == fmt_weights(history.current)

    # the same chart in both: lines start at the first logged decision, never at zero before it
    steps = history.step_frame()
    assert steps["ts"].min() == history.decisions["created_at"].min() and (steps["weight"] > 0).all()
    fig = history.plot()
    drawn = {r.glyph.__class__.__name__ for r in fig.renderers}
    assert drawn == {"Step"} and len(fig.renderers) == steps["variant"].nunique()
    assert fig.renderers[0].data_source.data["_date"].min() == steps["ts"].min()
    assert fig.yaxis[0].axis_label == "% of traffic" and [i.label.value for i in fig.legend[0].items] == \
        [v for v in history.variants if v in set(steps["variant"])]


def test_logging_a_new_plan_makes_it_the_current_allocation_everywhere(world, capsys, monkeypatch):
    before = allocation_history(EID, db=world, as_of=data_as_of(EID, db=world))
    code, text, err = invoke(capsys, monkeypatch, "allocate", "--experiment", EID, "--log")
    assert code == 0, err
    assert "now the current one" in text
    after = allocation_history(EID, db=world, as_of=data_as_of(EID, db=world))
    assert after.n_decisions == before.n_decisions + 1 and after.current_decision != before.current_decision
    code, out, _ = invoke(capsys, monkeypatch, "bandit-log", EID, "--json")
    assert json.loads(out)["current"] == after.current
    from workbench.reports import load_report
    assert load_report(EID, db=world).summary()["allocation"]["current"] == after.current


def test_as_of_before_the_first_decision_has_no_current_allocation(world, capsys, monkeypatch):
    first = allocation_history(EID, db=world).decisions["created_at"].min()
    early = (first - pd.Timedelta(hours=1)).isoformat()
    code, _, err = invoke(capsys, monkeypatch, "bandit-log", EID, "--as-of", early)
    assert code == 2 and "no logged allocation" in err
    assert allocation_history(EID, db=world, as_of=early).empty
    from workbench.reports.plots import empty_message
    assert "no allocation decision logged" in empty_message(allocation_history(EID, db=world, as_of=early).plot())


def test_trend_lines_start_at_the_first_traffic_not_with_zeros_before_it(world):
    """A stray event before the experiment's start (a bot, a QA click) draws no zero-conversion hours."""
    con = duckdb.connect(str(world))
    start = con.execute("SELECT start_ts FROM world_experiments WHERE experiment_id = ?", [EID]).fetchone()[0]
    con.execute("INSERT INTO events SELECT * REPLACE (ts_server - INTERVAL 2 DAY AS ts_server) FROM events "
                "WHERE experiment_id = ? ORDER BY ts_server LIMIT 5", [EID])
    con.close()
    from workbench.dashboard.service import DashboardService
    from workbench.reports.inputs import gather_inputs
    svc = DashboardService(world, reports=world.parent / "reports")
    svc.refresh(warm=False)
    for freq in ("h", "D"):
        trend = svc.trend(EID, freq)
        assert not trend.empty and trend["ts"].min() >= pd.Timestamp(start)
    inputs = gather_inputs([EID], db=world)[EID]
    assert inputs.hourly["ts"].min() >= pd.Timestamp(start) and inputs.daily["ts"].min() >= pd.Timestamp(start)
    assert inputs.allocation.step_frame()["ts"].min() == pd.Timestamp(start)      # the first decision, at the start


def test_a_second_different_decision_for_the_same_data_is_refused(world, capsys, monkeypatch):
    code, _, err = invoke(capsys, monkeypatch, "allocate", "--experiment", EID, "--log")
    assert code == 0, err
    logged = allocation_history(EID, db=world, as_of=data_as_of(EID, db=world))
    code, _, err = invoke(capsys, monkeypatch, "allocate", "--experiment", EID, "--log")   # same data, same plan
    assert code == 0 and allocation_history(EID, db=world).n_decisions == logged.n_decisions
    code, _, err = invoke(capsys, monkeypatch, "allocate", "--experiment", EID, "--policy", "ucb", "--log")
    assert code == 2 and "already logged" in err and "--no-log" in err
    assert allocation_history(EID, db=world).current_decision == logged.current_decision
