"""The rollback monitor on the event data itself: no hand-made time series.

A staged rollout (:mod:`workbench.lifecycle.rollout`) is watched through the same event log the
analyses read (DuckDB by default, any Ibis backend): :func:`rollout_series` counts, per minute and
variant, the impressions and purchases of the experiment since the current stage started, with
the units the pipeline excludes (bots, sticky-assignment violators; :func:`workbench.aggregate.unit_expr`)
left out. The baseline is the same measure — purchases per impression — of the promoted variant
before the rollout began (all arms, when the variant had fewer impressions than one judged
window needs), so the 30-minute windows and the baseline are comparable; the plan's baseline is a
per-user conversion rate over the whole experiment, a different measure.

:func:`watch_rollout` hands that series to :func:`~workbench.lifecycle.rollout.advance_rollout`:
a confirmed drop (≥ ``lifecycle.rollout.max_drop`` below the baseline in a
``window_minutes`` window, enough traffic, exact binomial test with the looks corrected) rolls the
experiment back; otherwise the stage advances when its dwell time is over (25 → 50 → 100 %).
``workbench experiments advance ID`` without ``--timeseries`` and each ``workbench schedule --once``
cycle call it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..display import ResultMixin
from ..errors import ConflictError
from .registry import Registry
from .rollout import StepResult, advance_rollout, rollout_status

__all__ = ["EventSeries", "rollout_series", "watch_rollout"]

MEASURE = "purchases per impression"


@dataclass(frozen=True)
class EventSeries(ResultMixin):
    """Minute counts since the stage started, and the pre-rollout baseline of the same measure."""

    experiment_id: str
    variant: str
    since: dt.datetime
    promoted_at: dt.datetime
    baseline_rate: float | None
    baseline_impressions: float
    baseline_purchases: float
    baseline_scope: str                 # "variant" or "all arms"
    frame: pd.DataFrame                 # ts, variant, units (impressions), conversions (purchases)
    measure: str = MEASURE


def _promoted_at(steps: tuple[dict[str, Any], ...]) -> dt.datetime:
    """When the current rollout began: its first stage after the last rollback (or ever)."""
    start = None
    for s in steps:
        if s["event"] == "started" and (start is None or s["step"] == 1):
            start = pd.Timestamp(s["event_at"]).to_pydatetime()
    assert start is not None
    return start


def rollout_series(reg: Registry, experiment_id: str, *, db: str | Path | None = None,
                   events: str = "events") -> EventSeries:
    """The event series of an experiment's rollout in progress (see the module doc)."""
    from ..aggregate import unit_expr
    from ..config import get_settings
    from ..db import connect
    from ..sources.events import open_event_log

    status = rollout_status(reg, experiment_id)
    if status.state != "promoting" or status.stage is None or status.started_at is None:
        raise ConflictError(f"experiment {experiment_id!r} has no rollout in progress (it is {status.state})")
    variant = str(status.plan["variant"])
    promoted = _promoted_at(status.steps)
    with connect(db if db is not None else reg.path, read_only=True) as con:
        log = open_event_log(con, events)
        excluded = unit_expr(log, experiments=[experiment_id])
        excluded = excluded.filter(excluded.excluded != "").select("user_key")
        t = log.table.filter(log.table.experiment_id == experiment_id)
        t = t.anti_join(excluded, "user_key")
        ev = t.event
        imp, buy = (ev == "impression").ifelse(1, 0), (ev == "purchase").ifelse(1, 0)
        recent = t.filter(t.ts_server >= status.started_at)
        frame = (recent.group_by([recent.ts_server.truncate("m").name("ts"), recent.variant_id.name("variant")])
                 .aggregate(units=imp.sum(), conversions=buy.sum()).order_by(["ts", "variant"]).execute())
        before = t.filter(t.ts_server < promoted)
        base = (before.group_by(before.variant_id.name("variant"))
                .aggregate(impressions=imp.sum(), purchases=buy.sum()).execute())
    frame["ts"] = pd.to_datetime(frame["ts"])
    for c in ("units", "conversions"):
        frame[c] = frame[c].astype("float64")
    need = get_settings().lifecycle.rollout.min_window_units
    mine = base[base["variant"].astype(str) == variant]
    scope = "variant"
    if mine.empty or float(mine["impressions"].sum()) < need:
        mine, scope = base, "all arms"
    n, k = float(mine["impressions"].sum()), float(mine["purchases"].sum())
    rate = k / n if n > 0 and 0 < k < n else None
    return EventSeries(experiment_id, variant, status.started_at, promoted, rate, n, k, scope, frame)


def watch_rollout(reg: Registry, experiment_id: str, *, db: str | Path | None = None, by: str,
                  why: str = "rollout monitor") -> tuple[StepResult, EventSeries]:
    """Check a rollout stage on the event data: roll back on a confirmed drop, advance after the dwell."""
    series = rollout_series(reg, experiment_id, db=db)
    if series.baseline_rate is None:
        # no usable baseline: advance_rollout's monitor cannot judge; say so instead of guessing one
        from ..display import fmt_count
        from .rollout import MonitorResult
        status = rollout_status(reg, experiment_id)
        why = (f"no pre-rollout baseline in the events ({fmt_count(series.baseline_purchases)} purchases in "
               f"{fmt_count(series.baseline_impressions)} impressions); nothing judged")
        result = MonitorResult("insufficient", why, float("nan"))
        return StepResult(experiment_id, "waiting", result.reason, status.share, result), series
    step = advance_rollout(reg, experiment_id, frame=series.frame, baseline_rate=series.baseline_rate, by=by,
                           why=why)
    return step, series
