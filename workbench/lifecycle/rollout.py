"""Staged rollout of a winner (25 % → 50 % → 100 %) and the monitor that rolls it back.

A :class:`RolloutPlan` gives the stages (share of traffic on the winner), the dwell time of each
stage (6–24 h) and the pre-promotion conversion baseline. After each step, :func:`monitor` watches a
sliding 30-minute window of the promoted traffic and calls for a rollback when conversion is at
least 20 % below the baseline — but only when the drop is not noise:

* the window holds at least ``min_window_units`` units and ``min_expected_conversions`` expected
  conversions at the baseline rate (a tiny window is reported as ``insufficient``, never as a drop);
* a one-sided exact binomial test of the window's conversions against the baseline rate gives
  p < ``alpha / looks``, where ``looks`` is the number of non-overlapping windows in the period
  watched (Bonferroni): sliding a window over a day looks dozens of times, and without the
  correction ordinary noise would trigger a rollback on most days at modest traffic.

Thresholds come from ``Settings.lifecycle.rollout``. The monitor takes a plain time-series frame
(``ts``, ``variant``, ``units`` or ``impressions``, ``conversions`` or ``purchases``) so any data layer
can feed it.
:func:`start_rollout`, :func:`advance_rollout` and :func:`rollback` record every step in the
registry (``rollout_steps``, allocation weights, state, audit log) in one transaction each; when the
last stage is done the winner's tags go to the learning store and the SKU's next experiment is
scheduled after the cooldown.

>>> import pandas as pd
>>> ts = pd.date_range("2026-03-01 12:00", periods=60, freq="1min")
>>> frame = pd.DataFrame({"ts": ts, "variant": "b", "units": 40, "conversions": [2] * 60})
>>> r = monitor(frame, baseline_rate=0.10, since=ts[0])
>>> r.status, round(r.drop, 2), r.triggered
('rollback', 0.5, True)
>>> monitor(frame.head(3), baseline_rate=0.10, since=ts[0]).status
'insufficient'
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..config import get_settings
from ..display import ResultMixin, fmt_fixed, fmt_num, fmt_p_eq, fmt_pct, fmt_share
from ..errors import ConflictError, InputError, Problem
from .registry import Registry

__all__ = ["RolloutPlan", "MonitorResult", "RolloutStatus", "StepResult", "plan_rollout", "monitor",
           "start_rollout", "advance_rollout", "rollback", "rollout_status"]


@dataclass(frozen=True)
class RolloutPlan(ResultMixin):
    """Stages (share of traffic on ``variant``), dwell hours per stage, and the monitor's baseline."""

    experiment_id: str
    variant: str
    control: str
    stages: tuple[float, ...]
    dwell_hours: tuple[float, ...]
    baseline_rate: float
    lift_rel: float | None = None     # the winner's measured lift, recorded in the learning store at 100 %

    def describe(self) -> str:
        steps = " → ".join(f"{fmt_share(s)} ({h:g} h)" for s, h in zip(self.stages, self.dwell_hours))
        return f"{self.variant}: {steps}; roll back if conversion falls ≥ " \
               f"{fmt_share(get_settings().lifecycle.rollout.max_drop)} below {fmt_pct(self.baseline_rate)}"


def plan_rollout(experiment_id: str, variant: str, *, control: str, baseline_rate: float,
                 stages: Sequence[float] | None = None, dwell_hours: float | Sequence[float] | None = None,
                 lift_rel: float | None = None) -> RolloutPlan:
    """A validated plan: stages strictly increasing in (0, 1] ending at 1; each dwell within 6–24 h."""
    cfg = get_settings().lifecycle.rollout
    st = tuple(float(s) for s in (cfg.stages if stages is None else stages))
    dw_in = cfg.dwell_hours if dwell_hours is None else dwell_hours
    dw = tuple(float(h) for h in (dw_in if isinstance(dw_in, (list, tuple)) else [dw_in] * len(st)))
    problems = []
    if not st or any(not 0 < s <= 1 for s in st) or any(b <= a for a, b in zip(st, st[1:])) or st[-1] != 1.0:
        problems.append(Problem("blocked", "bad_rollout", "stages must increase strictly within (0, 1] and end at 1 "
                                "(100 %)", column="stages", value=", ".join(f"{s:g}" for s in st)))
    if len(dw) != len(st):
        problems.append(Problem("blocked", "bad_rollout", f"give one dwell time per stage ({len(st)})",
                                column="dwell_hours", value=len(dw)))
    for i, h in enumerate(dw):
        if not cfg.min_dwell_hours <= h <= cfg.max_dwell_hours:
            problems.append(Problem("blocked", "bad_rollout", f"dwell time must be {cfg.min_dwell_hours:g}-"
                                    f"{cfg.max_dwell_hours:g} hours", column="dwell_hours", row=i + 1, value=h))
    if not 0 < baseline_rate < 1:
        problems.append(Problem("blocked", "bad_rollout", "the baseline conversion rate must be in (0, 1)",
                                column="baseline_rate", value=baseline_rate))
    if problems:
        raise InputError(problems)
    return RolloutPlan(experiment_id, variant, control, st, dw, float(baseline_rate), lift_rel)


@dataclass(frozen=True)
class MonitorResult(ResultMixin):
    """The monitor's verdict: ``rollback`` (drop confirmed), ``ok`` or ``insufficient`` (too little data).

    The window fields describe the window that triggered the rollback, or else the most recent
    window. ``windows`` counts the windows examined, ``judged`` those with enough data.
    """

    status: Literal["ok", "rollback", "insufficient"]
    reason: str
    baseline_rate: float
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    units: float = 0.0
    conversions: float = 0.0
    rate: float | None = None
    drop: float | None = None
    p_value: float | None = None
    windows: int = 0
    judged: int = 0

    @property
    def triggered(self) -> bool:
        return self.status == "rollback"


def _frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if "conversions" not in frame.columns and "purchases" in frame.columns:
        frame = frame.rename(columns={"purchases": "conversions"})
    missing = [c for c in ("ts", "conversions") if c not in frame.columns]
    denom = "units" if "units" in frame.columns else "impressions" if "impressions" in frame.columns else None
    if denom is None:
        missing.append("units (or impressions)")
    if "conversions" in missing:
        missing[missing.index("conversions")] = "conversions (or purchases)"
    if missing:
        raise InputError([Problem("blocked", "missing_column", "the monitor's time series needs this column",
                                  column=c) for c in missing])
    out = frame.copy()
    out["ts"] = pd.to_datetime(out["ts"])
    for col in (denom, "conversions"):
        vals = pd.to_numeric(out[col], errors="coerce")
        bad = out.index[vals.isna() | (vals < 0)]
        if len(bad):
            i = bad[0]
            raise InputError([Problem("blocked", "bad_value", f"{col} must be a number >= 0", column=col,
                                      row=int(list(out.index).index(i)) + 1, value=str(out.loc[i, col]))])
        out[col] = vals.astype("float64")
    return out, denom


def monitor(frame: pd.DataFrame, *, baseline_rate: float, since: dt.datetime | pd.Timestamp,
            until: dt.datetime | pd.Timestamp | None = None, variant: str | Sequence[str] | None = None,
            window_minutes: float | None = None, max_drop: float | None = None, min_window_units: int | None = None,
            min_expected_conversions: float | None = None, alpha: float | None = None,
            looks: int | None = None) -> MonitorResult:
    """Slide a window over the series from ``since`` and report the first confirmed drop (see module doc).

    ``variant`` restricts the rows (the promoted variant, say); by default all rows count.
    Windows end at every observed timestamp and cover the preceding ``window_minutes``. ``looks``
    is the number of independent windows alpha is divided by; by default the number of whole
    windows between ``since`` and ``until`` (or the last timestamp).
    """
    cfg = get_settings().lifecycle.rollout
    window = cfg.window_minutes if window_minutes is None else window_minutes
    drop_at = cfg.max_drop if max_drop is None else max_drop
    min_units = cfg.min_window_units if min_window_units is None else min_window_units
    min_exp = cfg.min_expected_conversions if min_expected_conversions is None else min_expected_conversions
    a = cfg.alpha if alpha is None else alpha
    if not 0 < baseline_rate < 1:
        raise InputError([Problem("blocked", "bad_baseline", "the baseline conversion rate must be in (0, 1)",
                                  column="baseline_rate", value=baseline_rate)])
    df, denom = _frame(frame)
    if variant is not None and "variant" in df.columns:
        keep = [variant] if isinstance(variant, str) else list(variant)
        df = df[df["variant"].astype(str).isin(keep)]
    df = df[df["ts"] >= pd.Timestamp(since)]
    if until is not None:
        df = df[df["ts"] <= pd.Timestamp(until)]
    if df.empty:
        return MonitorResult("insufficient", "no traffic since the step; nothing to judge yet", baseline_rate)
    per_ts = df.groupby("ts")[[denom, "conversions"]].sum().sort_index()
    if looks is None:
        end = pd.Timestamp(until) if until is not None else per_ts.index[-1]
        span = (end - pd.Timestamp(since)).total_seconds() / 60
        looks = max(1, math.ceil(span / window))
    a_window = a / looks
    rolled = per_ts.rolling(f"{window}min").sum()
    units = rolled[denom].to_numpy()
    conv = rolled["conversions"].to_numpy()
    enough = (units >= min_units) & (units * baseline_rate >= min_exp)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(units > 0, conv / units, np.nan)
    drop = 1 - rate / baseline_rate
    p = stats.binom.cdf(np.floor(conv), np.maximum(units, 0).round().astype("int64"), baseline_rate)
    fire = enough & (drop >= drop_at) & (p < a_window)
    ends = rolled.index
    judged = int(enough.sum())

    def at(i: int, status: str, reason: str) -> MonitorResult:
        end = ends[i].to_pydatetime()
        return MonitorResult(status, reason, baseline_rate, end - dt.timedelta(minutes=window), end, float(units[i]),
                             float(conv[i]), None if math.isnan(rate[i]) else float(rate[i]),
                             None if math.isnan(drop[i]) else float(drop[i]), float(p[i]), len(ends), judged)

    if fire.any():
        i = int(np.argmax(fire))
        return at(i, "rollback", f"conversion {fmt_pct(rate[i])} in the {window:g}-minute window ending "
                  f"{ends[i]:%Y-%m-%d %H:%M} is {fmt_share(drop[i])} below the baseline {fmt_pct(baseline_rate)} "
                  f"({fmt_num(conv[i])} of {fmt_num(units[i])} units, binomial {fmt_p_eq(p[i])}, below {a:g}/{looks} looks)")
    last = len(ends) - 1
    if judged == 0:
        return at(last, "insufficient", f"no {window:g}-minute window had enough traffic to judge (needs "
                  f"{min_units} units and {min_exp:g} expected conversions); no rollback on noise")
    worst = int(np.nanargmax(np.where(enough, drop, -np.inf)))
    return at(worst, "ok", f"{judged} windows judged; the worst was {fmt_share(max(drop[worst], 0))} below the baseline "
              f"({fmt_p_eq(p[worst])}), short of a {fmt_share(drop_at)} drop confirmed at p < {a:g}/{looks} looks")


# --- registry integration -------------------------------------------------------------------------
@dataclass(frozen=True)
class RolloutStatus(ResultMixin):
    """Where a rollout stands: current stage, share, when the dwell ends, and every recorded step."""

    experiment_id: str
    state: str
    variant: str | None
    stage: int | None
    share: float | None
    started_at: dt.datetime | None
    dwell_hours: float | None
    due_at: dt.datetime | None
    plan: dict[str, Any] = field(default_factory=dict)
    steps: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StepResult(ResultMixin):
    """What :func:`advance_rollout` did: ``advanced``, ``completed``, ``rolled_back`` or ``waiting``."""

    experiment_id: str
    outcome: Literal["advanced", "completed", "rolled_back", "waiting"]
    reason: str
    share: float | None
    monitor: MonitorResult | None = None


def _insert_step(reg: Registry, con: Any, experiment_id: str, step: int, variant: str | None, share: float,
                 event: str, at: dt.datetime, dwell: float | None, detail: dict[str, Any], by: str) -> None:
    from ..display import dumps
    last = con.execute("SELECT max(seq) FROM rollout_steps").fetchone()[0]
    con.execute("INSERT INTO rollout_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [1 if last is None else int(last) + 1, experiment_id, step, variant, share, event, at, dwell,
                 dumps(detail, sort_keys=True), by])


def _weights_for(variants: Sequence[str], control: str, variant: str, share: float) -> list[float]:
    return [share if v == variant else (1 - share) if v == control else 0.0 for v in variants]


def start_rollout(reg: Registry, plan: RolloutPlan, *, by: str, why: str) -> RolloutStatus:
    """Move the experiment to ``promoting`` and put ``plan.stages[0]`` of traffic on the winner."""
    brief = reg.brief(plan.experiment_id)
    from ..aa import AA_REFUSAL, is_aa
    if is_aa(brief=brief):
        raise ConflictError(f"{plan.experiment_id}: {AA_REFUSAL}")
    if plan.variant not in brief.variant_ids or plan.variant == brief.control:
        raise InputError([Problem("blocked", "bad_variant", f"promote one of the non-control variants "
                                  f"({', '.join(brief.variant_ids[1:])})", column="variant", value=plan.variant)])
    now = reg.clock()
    with reg.transaction() as con:
        reg.transition(plan.experiment_id, "promote", by=by, why=why, con=con,
                       detail={"variant": plan.variant, "stages": list(plan.stages)})
        share = plan.stages[0]
        reg.write_weights(con, plan.experiment_id, now, "rollout", brief.variant_ids,
                            _weights_for(brief.variant_ids, brief.control, plan.variant, share),
                            f"rollout stage 1: {fmt_share(share)} on {plan.variant}")
        _insert_step(reg, con, plan.experiment_id, 1, plan.variant, share, "started", now, plan.dwell_hours[0],
                     {"plan": plan.to_dict()}, by)
    return rollout_status(reg, plan.experiment_id)


def rollout_status(reg: Registry, experiment_id: str) -> RolloutStatus:
    """The rollout's current stage and history (empty when the experiment was never promoted)."""
    rec = reg.get(experiment_id)
    with reg.connect() as con:
        df = con.execute("SELECT step, variant_id, share, event, event_at, dwell_hours, detail, recorded_by "
                         "FROM rollout_steps WHERE experiment_id = ? ORDER BY seq", [experiment_id]).df()
    import json
    steps = tuple({**r, "detail": json.loads(r["detail"] or "{}")} for r in df.to_dict("records"))
    plan = next((s["detail"]["plan"] for s in steps if s["event"] == "started" and "plan" in s["detail"]), None)
    started = [s for s in steps if s["event"] == "started"]
    if plan is None or not started:
        return RolloutStatus(experiment_id, rec.state, None, None, None, None, None, None, {}, steps)
    cur = started[-1]
    at = pd.Timestamp(cur["event_at"]).to_pydatetime()
    dwell = cur["dwell_hours"]
    due = at + dt.timedelta(hours=float(dwell)) if dwell is not None and rec.state == "promoting" else None
    return RolloutStatus(experiment_id, rec.state, plan["variant"], int(cur["step"]), float(cur["share"]), at,
                         None if dwell is None else float(dwell), due, plan, steps)


def advance_rollout(reg: Registry, experiment_id: str, *, frame: pd.DataFrame | None, by: str, why: str,
                    force: bool = False, baseline_rate: float | None = None) -> StepResult:
    """Check the current stage: roll back on a confirmed drop, advance when its dwell time is over.

    ``frame`` is the time series since the stage started (see :func:`monitor`); without one the
    step can only advance with ``force`` (the operator vouches for the metrics). ``baseline_rate``
    replaces the plan's baseline when the series measures conversion differently (the event
    monitor of :mod:`workbench.lifecycle.watch` compares purchases per impression with the same
    measure before the promotion).
    """
    status = rollout_status(reg, experiment_id)
    if status.state != "promoting" or status.stage is None:
        raise ConflictError(f"experiment {experiment_id!r} has no rollout in progress (it is {status.state})")
    plan = status.plan
    now = reg.clock()
    result = None
    if frame is not None:
        result = monitor(frame, baseline_rate=plan["baseline_rate"] if baseline_rate is None else baseline_rate,
                         since=status.started_at, variant=plan["variant"])
        if result.triggered:
            rollback(reg, experiment_id, by=by, why=f"{why}; monitor: {result.reason}" if why else result.reason,
                     detail={"monitor": result.to_dict()})
            return StepResult(experiment_id, "rolled_back", result.reason, 0.0, result)
    elif not force:
        raise InputError([Problem("blocked", "missing_timeseries", "give the time series since the stage started "
                                  "(--timeseries) so the monitor can check for a drop, or --force", column="timeseries")])
    assert status.due_at is not None and status.stage is not None
    if now < status.due_at and not force:
        left = (status.due_at - now).total_seconds() / 3600
        return StepResult(experiment_id, "waiting", f"stage {status.stage} ({fmt_share(status.share)}) dwells until "
                          f"{status.due_at:%Y-%m-%d %H:%M} ({fmt_fixed(left, 1)} h left)", status.share, result)
    stages = list(plan["stages"])
    dwell = list(plan["dwell_hours"])
    brief = reg.brief(experiment_id)
    idx = status.stage  # index of the next stage (0-based)
    detail = {"monitor": None if result is None else result.to_dict(), "forced": force}
    with reg.transaction() as con:
        _insert_step(reg, con, experiment_id, status.stage, plan["variant"], float(status.share or 0), "completed",
                     now, None, detail, by)
        if idx >= len(stages):
            reg.transition(experiment_id, "advance", by=by, why=why, final=True, con=con,
                           detail={"share": 1.0, "variant": plan["variant"]})
            from .learning import conclude
            conclude(reg, experiment_id, winner=plan["variant"], lift_rel=plan.get("lift_rel"), by=by,
                     why=f"promoted to 100 %: {why}", con=con)
            outcome, share, reason = "completed", 1.0, (f"{plan['variant']} now serves 100 % of traffic; its tags "
                                                        "are in the learning store")
        else:
            share = float(stages[idx])
            reg.transition(experiment_id, "advance", by=by, why=why, con=con,
                           detail={"stage": idx + 1, "share": share, "variant": plan["variant"]})
            reg.write_weights(con, experiment_id, now, "rollout", brief.variant_ids,
                                _weights_for(brief.variant_ids, brief.control, plan["variant"], share),
                                f"rollout stage {idx + 1}: {fmt_share(share)} on {plan['variant']}")
            _insert_step(reg, con, experiment_id, idx + 1, plan["variant"], share, "started", now, float(dwell[idx]),
                         {}, by)
            outcome, reason = "advanced", f"stage {idx + 1}: {fmt_share(share)} of traffic on {plan['variant']}"
            if share >= 1.0:
                reason += " (full traffic; the last dwell confirms it)"
    return StepResult(experiment_id, outcome, reason, share, result)


def rollback(reg: Registry, experiment_id: str, *, by: str, why: str, detail: dict[str, Any] | None = None) -> None:
    """Send all traffic back to the control, mark the experiment rolled back, and record the step."""
    brief = reg.brief(experiment_id)
    status = rollout_status(reg, experiment_id)
    now = reg.clock()
    with reg.transaction() as con:
        reg.transition(experiment_id, "rollback", by=by, why=why, con=con, detail=detail)
        reg.write_weights(con, experiment_id, now, "rollback", brief.variant_ids,
                            [1.0 if v == brief.control else 0.0 for v in brief.variant_ids],
                            f"rolled back: {why}")
        _insert_step(reg, con, experiment_id, status.stage or 0, status.variant, 0.0, "rolled_back", now, None,
                     {"why": why, **(detail or {})}, by)
