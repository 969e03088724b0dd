"""Staged rollout and the rollback monitor: triggers on real drops, not on noise; every step recorded."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.errors import ConflictError, InputError
from workbench.lifecycle.rollout import (advance_rollout, monitor, plan_rollout, rollback, rollout_status,
                                         start_rollout)

from .builders import T0, make_brief

BASE = 0.05


def series(seed: int, per_minute: float, drop: float, *, minutes: int = 1440, start: dt.datetime = T0,
           variant: str = "b", base: float = BASE) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=minutes, freq="1min")
    units = rng.poisson(per_minute, minutes)
    conv = rng.binomial(units, base * (1 - drop))
    return pd.DataFrame({"ts": ts, "variant": variant, "units": units, "conversions": conv})


# --- plan -----------------------------------------------------------------------------------------
def test_default_plan_is_25_50_100_with_dwell_in_range():
    p = plan_rollout("e1", "b", control="control", baseline_rate=0.05)
    assert p.stages == (0.25, 0.5, 1.0)
    assert all(6 <= h <= 24 for h in p.dwell_hours)
    assert "25% (12 h) → 50% (12 h) → 100% (12 h)" in p.describe()


@pytest.mark.parametrize("kw, column", [
    ({"stages": [0.5, 0.25, 1.0]}, "stages"),
    ({"stages": [0.25, 0.5]}, "stages"),
    ({"stages": [0.0, 1.0]}, "stages"),
    ({"dwell_hours": 2}, "dwell_hours"),
    ({"dwell_hours": [6, 30, 12]}, "dwell_hours"),
    ({"dwell_hours": [6, 12]}, "dwell_hours"),
    ({"baseline_rate": 0.0}, "baseline_rate"),
])
def test_bad_plans_are_refused(kw, column):
    args = {"baseline_rate": 0.05, **kw}
    with pytest.raises(InputError) as exc:
        plan_rollout("e1", "b", control="control", **args)
    assert any(p.column == column for p in exc.value.problems)


# --- monitor --------------------------------------------------------------------------------------
def test_a_real_drop_triggers_quickly():
    frame = series(1, 60, 0.40)
    r = monitor(frame, baseline_rate=BASE, since=T0)
    assert r.triggered and r.drop >= 0.2
    assert r.window_end - T0 < dt.timedelta(hours=2)
    # the reported p-value is the exact one-sided binomial test of the window against the baseline
    ref = stats.binomtest(int(r.conversions), int(r.units), BASE, alternative="less").pvalue
    assert r.p_value == pytest.approx(ref, rel=1e-9)
    assert "below the baseline" in r.reason


def test_tiny_windows_are_insufficient_never_a_rollback():
    frame = series(2, 2, 1.0, minutes=240)          # 2 units a minute, zero conversions: a "100 % drop"
    r = monitor(frame, baseline_rate=BASE, since=T0)
    assert r.status == "insufficient" and not r.triggered
    assert "no rollback on noise" in r.reason
    empty = monitor(frame.iloc[:0], baseline_rate=BASE, since=T0)
    assert empty.status == "insufficient"


def test_noise_does_not_trigger_a_rollback():
    """No drop at all, a day of minute data at modest traffic: the false-alarm rate stays low."""
    alarms = sum(monitor(series(seed, 60, 0.0), baseline_rate=BASE, since=T0).triggered for seed in range(60))
    assert alarms <= 6            # about 4 % measured over 100 seeds; Bonferroni over the 48 windows of the day
    ok = monitor(series(7, 60, 0.0), baseline_rate=BASE, since=T0)
    assert ok.status in ("ok", "rollback") and ok.judged > 1000


def test_without_the_look_correction_noise_would_trigger_most_days():
    naive = sum(monitor(series(seed, 60, 0.0), baseline_rate=BASE, since=T0, looks=1).triggered
                for seed in range(30))
    corrected = sum(monitor(series(seed, 60, 0.0), baseline_rate=BASE, since=T0).triggered for seed in range(30))
    assert naive >= 15 and corrected <= 3


def test_a_30_percent_drop_is_caught_on_most_days():
    hits = [monitor(series(100 + s, 60, 0.30), baseline_rate=BASE, since=T0) for s in range(20)]
    assert sum(h.triggered for h in hits) >= 19
    assert np.median([(h.window_end - T0).total_seconds() / 60 for h in hits if h.triggered]) < 120


def test_small_drop_below_twenty_percent_does_not_trigger_at_high_traffic():
    r = monitor(series(3, 300, 0.05), baseline_rate=BASE, since=T0)
    assert r.status == "ok"


def test_variant_filter_since_and_columns():
    good = series(4, 60, 0.0, variant="control")
    bad = series(5, 60, 0.6, variant="b")
    frame = pd.concat([good, bad])
    assert not monitor(frame, baseline_rate=BASE, since=T0, variant="control").triggered
    assert monitor(frame, baseline_rate=BASE, since=T0, variant="b").triggered
    later = monitor(bad, baseline_rate=BASE, since=T0 + dt.timedelta(days=2))
    assert later.status == "insufficient"
    renamed = bad.rename(columns={"units": "impressions", "conversions": "purchases"})
    assert monitor(renamed, baseline_rate=BASE, since=T0).triggered
    with pytest.raises(InputError) as exc:
        monitor(bad.drop(columns=["conversions"]), baseline_rate=BASE, since=T0)
    assert exc.value.problems[0].column == "conversions (or purchases)"
    broken = bad.copy()
    broken["units"] = broken["units"].astype(object)
    broken.loc[3, "units"] = "lots"
    with pytest.raises(InputError) as exc:
        monitor(broken, baseline_rate=BASE, since=T0)
    assert (exc.value.problems[0].row, exc.value.problems[0].value) == (4, "lots")


# --- registry flow --------------------------------------------------------------------------------
def _running(reg) -> None:
    reg.create(make_brief(id="e1"), by="kim", why="t")
    reg.transition("e1", "start", by="kim", why="go")


def test_staged_rollout_advances_after_each_dwell_and_records_every_step(reg, clock):
    _running(reg)
    plan = plan_rollout("e1", "b", control="control", baseline_rate=BASE, dwell_hours=6, lift_rel=0.07)
    st = start_rollout(reg, plan, by="kim", why="launch decision")
    assert (st.state, st.stage, st.share) == ("promoting", 1, 0.25)
    assert reg.weights("e1") == pytest.approx({"control": 0.75, "b": 0.25})
    quiet = lambda: series(9, 60, 0.0, start=clock.now, minutes=6 * 60)  # noqa: E731
    early = advance_rollout(reg, "e1", frame=quiet(), by="ops", why="check")
    assert early.outcome == "waiting" and "h left" in early.reason
    shares = []
    for _ in range(3):
        frame = quiet()
        clock.advance(hours=6, minutes=1)
        r = advance_rollout(reg, "e1", frame=frame, by="ops", why="dwell over")
        shares.append((r.outcome, r.share))
    assert shares == [("advanced", 0.5), ("advanced", 1.0), ("completed", 1.0)]
    assert reg.get("e1").state == "promoted" and reg.get("e1").ended_at == clock.now
    assert reg.weights("e1") == pytest.approx({"control": 0.0, "b": 1.0})
    events = [(s["step"], s["event"]) for s in rollout_status(reg, "e1").steps]
    assert events == [(1, "started"), (1, "completed"), (2, "started"), (2, "completed"), (3, "started"),
                      (3, "completed")]
    assert reg.audit("e1")["action"].tolist()[-6:] == ["promote", "advance", "advance", "advance", "conclude", "schedule"]
    from workbench.lifecycle.learning import pattern_table
    wins = pattern_table(reg, "shoes")
    assert wins[(wins["tag"] == "cta_tone") & (wins["value"] == "urgent")][["wins", "mean_win_lift"]].values.tolist() \
        == [[1, 0.07]]
    assert reg.schedule()["product_id"].tolist() == ["sho-0001"]
    with pytest.raises(ConflictError, match="no rollout in progress"):
        advance_rollout(reg, "e1", frame=quiet(), by="ops", why="again")


def test_a_drop_after_a_step_rolls_back(reg, clock):
    _running(reg)
    start_rollout(reg, plan_rollout("e1", "b", control="control", baseline_rate=BASE), by="kim", why="launch")
    frame = series(11, 60, 0.5, start=clock.now, minutes=120)
    clock.advance(hours=2)
    r = advance_rollout(reg, "e1", frame=frame, by="monitor", why="scheduled check")
    assert r.outcome == "rolled_back" and r.monitor.triggered
    rec = reg.get("e1")
    assert rec.state == "rolled_back"
    assert reg.weights("e1") == pytest.approx({"control": 1.0, "b": 0.0})
    last = rollout_status(reg, "e1").steps[-1]
    assert last["event"] == "rolled_back" and "monitor" in last["detail"]
    assert reg.audit("e1").iloc[-1]["action"] == "rollback"


def test_advance_needs_a_timeseries_or_force(reg, clock):
    _running(reg)
    start_rollout(reg, plan_rollout("e1", "b", control="control", baseline_rate=BASE), by="kim", why="launch")
    with pytest.raises(InputError, match="time series"):
        advance_rollout(reg, "e1", frame=None, by="ops", why="x")
    r = advance_rollout(reg, "e1", frame=None, by="ops", why="operator checked the dashboards", force=True)
    assert (r.outcome, r.share) == ("advanced", 0.5)


def test_promoting_the_control_or_an_unknown_variant_is_refused(reg):
    _running(reg)
    for v in ("control", "zzz"):
        with pytest.raises(InputError, match="non-control"):
            start_rollout(reg, plan_rollout("e1", v, control="control", baseline_rate=BASE), by="k", why="x")
    assert reg.get("e1").state == "running"


def test_manual_rollback_of_a_running_test(reg):
    _running(reg)
    rollback(reg, "e1", by="oncall", why="5xx spike")
    assert reg.get("e1").state == "rolled_back"
    assert reg.weights("e1") == pytest.approx({"control": 1.0, "b": 0.0})
    with pytest.raises(ConflictError):
        rollback(reg, "e1", by="oncall", why="twice")


from hypothesis import given, settings, strategies as st  # noqa: E402


@given(units=st.lists(st.integers(0, 400), min_size=5, max_size=90), base=st.floats(0.01, 0.3),
       keep=st.floats(0.81, 1.5))
@settings(max_examples=80, deadline=None)
def test_no_rollback_while_every_window_is_within_twenty_percent(units, base, keep):
    """Conversions above 80 % of the baseline rate in every minute can never trigger a rollback."""
    ts = pd.date_range(T0, periods=len(units), freq="1min")
    conv = [int(np.ceil(u * base * keep)) for u in units]
    frame = pd.DataFrame({"ts": ts, "units": units, "conversions": np.minimum(conv, units)})
    assert not monitor(frame, baseline_rate=base, since=T0).triggered


@given(drop=st.floats(0.0, 1.0), extra=st.integers(1, 50))
@settings(max_examples=40, deadline=None)
def test_more_conversions_never_cause_a_rollback(drop, extra):
    frame = series(21, 60, drop, minutes=120)
    better = frame.assign(conversions=np.minimum(frame["conversions"] + extra, frame["units"]))
    if monitor(better, baseline_rate=BASE, since=T0).triggered:
        assert monitor(frame, baseline_rate=BASE, since=T0).triggered
