"""Time effects of one experiment: calendar events in its window, day-of-week balance, novelty or primacy.

:func:`time_effects` is called by :func:`workbench.analysis.analyze` and returns a
:class:`TimeEffects` on ``AnalysisResult.time_effects``:

* **calendar** — the events of the calendar (:mod:`workbench.lifecycle.calendar`) that overlap the
  experiment's window (the days of first exposure in the data, else its start to its as-of), for its
  category or site-wide, with how many days overlap and whether the event holds decisions;
* **day of week** — units by weekday × arm, tested for independence
  (:func:`workbench.stats.time_trend.dow_balance_core`), flagged below the SRM warning threshold
  (it is a sample-ratio check per weekday), and whether the window covers whole weeks;
* **trend** — for the primary metric, the lift of each daily cohort (units by the day of their first
  exposure) regressed on log(1 + days since the first exposure)
  (:func:`workbench.stats.time_trend.lift_trend_core`), detected when the slope's p < alpha; a slope
  against the metric's good direction is *novelty* (the lift fades), with it *primacy*; the early
  (first quarter of the days) and late lifts are shown with their intervals.

Sentences (:meth:`TimeEffects.sentences`) are built here from these facts with the display layer, so
the CLI, the memo and the report say the same.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .display import ResultMixin, fmt_count, fmt_p_eq
from .metrics import fmt_metric_delta, fmt_metric_delta_ci

__all__ = ["CalendarOverlap", "DowBalance", "LiftTrend", "TimeEffects", "time_effects"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class CalendarOverlap(ResultMixin):
    name: str
    kind: str
    start: str
    end: str
    overlap_days: int
    hold: bool
    note: str = ""

    def sentence(self) -> str:
        span = self.start if self.start == self.end else f"{self.start} to {self.end}"
        return (f"{self.kind.replace('_', ' ')} '{self.name}' ({span}) overlaps {fmt_count(self.overlap_days)} "
                f"day(s) of the experiment" + ("; decisions hold while it does" if self.hold else ""))


@dataclass(frozen=True)
class DowBalance(ResultMixin):
    statistic: float
    df: float
    p_value: float
    threshold: float
    imbalanced: bool
    days_by_weekday: dict[str, int]
    whole_weeks: bool
    adaptive: bool = False      # a bandit: its split moves from day to day by design

    def sentence(self) -> str:
        if self.imbalanced:
            test = (f"the arms' traffic differs by day of week (chi-square {fmt_p_eq(self.p_value)}, below "
                    f"{fmt_p_eq(self.threshold).removeprefix('p = ')})")
            if self.adaptive:
                return (f"{test}: expected of a bandit, whose split moves from day to day; each arm saw a different "
                        "mix of weekdays, so a weekly pattern can tilt the pooled comparison")
            return f"{test}; each arm saw a different mix of weekdays"
        if not self.whole_weeks:
            extra = [d for d, k in self.days_by_weekday.items() if k > min(self.days_by_weekday.values())]
            return (f"the window is not whole weeks: {', '.join(extra)} count once more than the other weekdays, "
                    "so a weekly pattern weighs unevenly")
        return ""


@dataclass(frozen=True)
class LiftTrend(ResultMixin):
    """The trend of one variant's lift over daily cohorts (absolute lift, metric units)."""

    metric: str
    kind: str
    unit: str
    variant: str
    slope: float               # lift change per unit of log(1 + days since first exposure)
    slope_se: float
    p_value: float
    detected: bool
    direction: str             # "novelty" (fading), "primacy" (growing) or "none"
    days: int
    early_days: int
    early: float
    early_ci: tuple[float, float]
    late: float
    late_ci: tuple[float, float]
    change: float              # late − early
    change_ci: tuple[float, float]

    def sentence(self) -> str:
        early = fmt_metric_delta(self.metric, self.kind, self.early, self.unit)
        late = fmt_metric_delta(self.metric, self.kind, self.late, self.unit)
        what = {"novelty": "fades with days since first exposure (novelty)",
                "primacy": "grows with days since first exposure (primacy)"}.get(self.direction,
                                                                                 "shows no trend with days since first exposure")
        return (f"the lift of {self.variant} on {self.metric} {what}: first {fmt_count(self.early_days)} day(s) {early}, "
                f"later {late} (change {fmt_metric_delta_ci(self.metric, self.kind, *self.change_ci, self.unit)}; "
                f"trend {fmt_p_eq(self.p_value)})")


@dataclass(frozen=True)
class TimeEffects(ResultMixin):
    window_start: str | None
    window_end: str | None
    calendar: tuple[CalendarOverlap, ...] = ()
    dow: DowBalance | None = None
    trends: tuple[LiftTrend, ...] = ()

    @classmethod
    def from_dict(cls, d: Any) -> "TimeEffects | None":
        """Back from ``to_dict()`` (a saved ``analyze --json``); None for anything else."""
        if not isinstance(d, dict):
            return None
        dow = d.get("dow")
        return cls(window_start=d.get("window_start"), window_end=d.get("window_end"),
                   calendar=tuple(CalendarOverlap(**c) for c in d.get("calendar") or ()),
                   dow=DowBalance(**dow) if isinstance(dow, dict) else None,
                   trends=tuple(LiftTrend(**{**t, **{k: tuple(t[k]) for k in ("early_ci", "late_ci", "change_ci")}})
                                for t in d.get("trends") or ()))

    @property
    def novelty(self) -> tuple[LiftTrend, ...]:
        return tuple(t for t in self.trends if t.detected)

    def sentences(self) -> tuple[str, ...]:
        """What is worth saying (events, imbalance, detected trends), one sentence each."""
        out = [c.sentence() for c in self.calendar]
        if self.dow is not None and self.dow.sentence():
            out.append(self.dow.sentence())
        out += [t.sentence() for t in self.trends if t.detected]
        return tuple(out)


def _as_date(x: Any) -> dt.date | None:
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    try:
        return dt.date.fromisoformat(str(x)[:10])
    except ValueError:
        return None


def _ages(data: Any) -> list[float]:
    """Days since the first exposure of each ``day`` level (dates, or day numbers)."""
    levels = data.levels("day") if "day" in data.cube.columns else []
    dates = [_as_date(x) for x in levels]
    if levels and all(d is not None for d in dates):
        return [float((d - dates[0]).days) for d in dates]  # type: ignore[operator]
    try:
        return [float(x) - float(levels[0]) for x in levels]
    except (TypeError, ValueError):
        return []


def _window(data: Any) -> tuple[dt.date | None, dt.date | None, list[dt.date]]:
    days: list[dt.date] = []
    if "day" in data.cube.columns:
        dates = [_as_date(d) for d in data.levels("day")]
        days = [d for d in dates if d is not None] if all(d is not None for d in dates) else []
        if days:
            return days[0], days[-1], days
    meta = data.meta or {}
    start = meta.get("start_ts")
    end = meta.get("end_ts") or data.as_of
    as_date = (lambda x: x.date() if isinstance(x, dt.datetime) else x if isinstance(x, dt.date) else None)
    first, last = as_date(start), as_date(end)
    if isinstance(end, dt.datetime) and meta.get("end_ts") is not None and end.time() == dt.time(0) and last:
        last = last - dt.timedelta(days=1)          # an end at midnight is exclusive
    return first, last, days


def _calendar(events: Sequence[Any], first: dt.date | None, last: dt.date | None,
              category: str | None) -> tuple[CalendarOverlap, ...]:
    if first is None or last is None:
        return ()
    out = []
    for e in events:
        k = e.overlap_days(first, last)
        if k > 0 and e.applies_to(category):
            out.append(CalendarOverlap(e.name, e.kind, e.start.isoformat(), e.end.isoformat(), k, e.holds, e.note))
    return tuple(out)


def _dow(st: Any, days: list[dt.date], threshold: float, *, adaptive: bool = False) -> DowBalance | None:
    from .stats.time_trend import dow_balance_core
    if not days or st is None:
        return None
    counts = np.zeros((7, st.n.shape[-1]))
    for d, row in zip(days, st.n):
        counts[d.weekday()] += row
    r = dow_balance_core(counts)
    span = np.bincount([d.weekday() for d in _all_days(days[0], days[-1])], minlength=7)
    return DowBalance(statistic=r.statistic, df=r.df, p_value=r.p_value, threshold=threshold,
                      imbalanced=bool(r.p_value < threshold), whole_weeks=bool(span.min() == span.max()),
                      days_by_weekday={w: int(k) for w, k in zip(_WEEKDAYS, span)}, adaptive=adaptive)


def _all_days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _trends(data: Any, st: Any, m: Any, result: Any, opts: Any, alpha: float) -> tuple[LiftTrend, ...]:
    from .stats.compare import compare_arrays
    from .stats.time_trend import early_days, early_late_core, lift_trend_core
    ages = _ages(data)
    if len(ages) < 4 or st is None or result is None or not result.comparisons:
        return ()
    with np.errstate(all="ignore"):
        arr = compare_arrays(m.kind, st, higher_is_better=m.higher_is_better, alpha=alpha, cuped=opts.cuped, bayes=False)
        lift, se = np.asarray(arr["lift_abs"], dtype=float), np.asarray(arr["se"], dtype=float)
        tr = lift_trend_core(lift, se, np.asarray(ages, dtype=float))
        k = early_days(len(ages))
        e, e_se, late, l_se, diff, d_se = early_late_core(lift, se, k)
    z = float(-_ndtri(alpha / 2))
    out = []
    for c in result.comparisons:
        j = list(data.variants).index(c.variant) - 1
        p = float(tr.p_value[j])
        if not math.isfinite(p):
            continue
        detected = p < alpha
        good = tr.slope[j] if m.higher_is_better else -tr.slope[j]
        direction = ("novelty" if good < 0 else "primacy") if detected else "none"
        ci = (lambda est, s: (float(est - z * s), float(est + z * s)))
        out.append(LiftTrend(metric=m.name, kind=m.kind, unit=result.unit, variant=c.variant, slope=float(tr.slope[j]),
                             slope_se=float(tr.se[j]), p_value=p, detected=detected, direction=direction,
                             days=int(tr.days[j]), early_days=k, early=float(e[j]), early_ci=ci(e[j], e_se[j]),
                             late=float(late[j]), late_ci=ci(late[j], l_se[j]), change=float(diff[j]),
                             change_ci=ci(diff[j], d_se[j])))
    return tuple(out)


def _ndtri(q: float) -> float:
    from scipy import special
    return float(special.ndtri(q))


def time_effects(data: Any, primaries: Sequence[Any], opts: Any, *, alpha: float) -> TimeEffects:
    """Calendar overlaps, day-of-week balance and the primary metric's trend (see the module docstring)."""
    from .config import get_settings
    first, last, days = _window(data)
    category = (data.meta or {}).get("category")
    primary = primaries[0] if primaries else None
    metric = data.metric(primary.name) if primary is not None else (data.metrics[0] if data.metrics else None)
    dow = trends = None
    if opts.time_effects and metric is not None and "day" in data.cube.columns:
        _, st = data.stats_by(metric, "day", use_covariate=opts.cuped)      # one pass for both checks
        dow = _dow(st, days, get_settings().srm.warning_p, adaptive=(data.meta or {}).get("allocation") == "bandit")
        trends = _trends(data, st, metric, primary, opts, alpha)
    return TimeEffects(window_start=first.isoformat() if first else None, window_end=last.isoformat() if last else None,
                       calendar=_calendar(opts.calendar, first, last, category), dow=dow, trends=trends or ())
