"""Return on an experiment: incremental revenue per day, projected over a horizon, with its interval.

A variant that lifts revenue per unit by Δ (the analysed ``revenue_per_user`` difference, CUPED
adjusted when the analysis applied CUPED) brings Δ extra revenue for every new unit that sees it.
With T new units per day at launch, the incremental revenue is

    R = Δ · T  per day,      H · R  over a horizon of H days,

and both estimates are uncertain: Δ has the standard error of the comparison, T the standard
error of the mean of the daily counts (day-to-day variation, sd / √days). For independent
estimates the variance of the product is exactly (Goodman, 1960)

    Var(Δ̂ T̂) = T² σ_Δ² + Δ² σ_T² + σ_Δ² σ_T²,

estimated by plugging in Δ̂ and T̂. The interval is R̂ ± q · √Var with q the Student-t quantile of
the comparison's degrees of freedom (normal when they are infinite), so with no traffic
uncertainty the interval is exactly T times the lift's confidence interval the report shows.
Over a horizon everything scales by H: the projection assumes traffic stays at the observed level
and the per-unit difference persists (novelty effects fade — read the trends section).

An optional one-off ``cost`` gives the net return H·R − cost and the ROI (H·R − cost) / cost.

>>> p = roi_projection(0.25, 0.05, daily_units=4000.0, daily_units_se=0.0, horizon_days=90, df=float("inf"))
>>> round(p.per_day, 2), [round(x, 1) for x in p.per_day_ci]
(1000.0, [608.0, 1392.0])
>>> round(p.horizon_total), p.horizon_days
(90000, 90)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..display import ResultMixin
from ..stats.frequentist import t_quantile

__all__ = ["RoiProjection", "roi_core", "roi_projection", "daily_traffic", "roi_for_result"]

Array = NDArray[np.float64]


def roi_core(delta: ArrayLike, se_delta: ArrayLike, traffic: ArrayLike, se_traffic: ArrayLike, *,
             df: ArrayLike = np.inf, level: float = 0.95) -> tuple[Array, Array, Array, Array]:
    """``(per_day, se, lo, hi)`` of Δ·T per day, vectorised over any shape (see the module doc)."""
    d = np.asarray(delta, dtype=np.float64)
    sd = np.asarray(se_delta, dtype=np.float64)
    t = np.asarray(traffic, dtype=np.float64)
    st = np.asarray(se_traffic, dtype=np.float64)
    per_day = d * t
    var = t * t * sd * sd + d * d * st * st + sd * sd * st * st
    se = np.sqrt(var)
    q = t_quantile(0.5 + level / 2.0, df)
    return per_day, se, per_day - q * se, per_day + q * se


@dataclass(frozen=True)
class RoiProjection(ResultMixin):
    """Incremental revenue of one variant per day and over ``horizon_days``, with ``level`` intervals."""

    variant: str
    control: str
    metric: str
    delta_per_unit: float
    delta_se: float
    delta_df: float
    daily_units: float
    daily_units_se: float
    days_observed: int
    horizon_days: int
    level: float
    per_day: float
    per_day_se: float
    per_day_ci: tuple[float, float]
    horizon_total: float
    horizon_ci: tuple[float, float]
    prob_positive: float
    cost: float | None = None
    net: float | None = None
    net_ci: tuple[float, float] | None = None
    roi: float | None = None
    roi_ci: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()

    def path(self) -> pd.DataFrame:
        """Cumulative projected revenue by day 0..H with its interval band (for the ROI plot)."""
        days = np.arange(self.horizon_days + 1, dtype=np.float64)
        return pd.DataFrame({"day": days, "cumulative": days * self.per_day, "lo": days * self.per_day_ci[0],
                             "hi": days * self.per_day_ci[1]})


def roi_projection(delta: float, se_delta: float, *, daily_units: float, daily_units_se: float = 0.0,
                   horizon_days: int = 90, df: float = math.inf, level: float = 0.95, days_observed: int = 0,
                   cost: float | None = None, variant: str = "variant", control: str = "control",
                   metric: str = "revenue_per_user", notes: Sequence[str] = ()) -> RoiProjection:
    """Project a per-unit revenue difference over ``horizon_days`` of ``daily_units`` new units a day.

    ``cost`` (optional, one-off) adds the net return and the ROI ratio; their intervals follow from
    the horizon interval (the cost is taken as known).
    """
    from ..errors import InputError, Problem
    problems = []
    for name, value in (("se_delta", se_delta), ("daily_units", daily_units), ("daily_units_se", daily_units_se)):
        if not (math.isfinite(value) and value >= 0):
            problems.append(Problem("blocked", "bad_parameter", f"{name} must be a finite number >= 0",
                                    column=name, value=value))
    if not math.isfinite(delta):
        problems.append(Problem("blocked", "bad_parameter", "delta must be finite", column="delta", value=delta))
    if not (isinstance(horizon_days, (int, np.integer)) and horizon_days >= 1):
        problems.append(Problem("blocked", "bad_parameter", "horizon_days must be a whole number >= 1",
                                column="horizon_days", value=horizon_days))
    if not 0 < level < 1:
        problems.append(Problem("blocked", "bad_parameter", "level must be strictly between 0 and 1",
                                column="level", value=level))
    if cost is not None and not (math.isfinite(cost) and cost > 0):
        problems.append(Problem("blocked", "bad_parameter", "cost must be a positive number", column="cost",
                                value=cost))
    if problems:
        raise InputError(problems)
    per_day, se, lo, hi = (float(x) for x in roi_core(delta, se_delta, daily_units, daily_units_se, df=df,
                                                      level=level))
    h = int(horizon_days)
    prob = float(special.ndtr(per_day / se)) if se > 0 else float(per_day > 0)
    net = net_ci = roi = roi_ci = None
    if cost is not None:
        net, net_ci = h * per_day - cost, (h * lo - cost, h * hi - cost)
        roi, roi_ci = net / cost, (net_ci[0] / cost, net_ci[1] / cost)
    return RoiProjection(variant=variant, control=control, metric=metric, delta_per_unit=float(delta),
                         delta_se=float(se_delta), delta_df=float(df), daily_units=float(daily_units),
                         daily_units_se=float(daily_units_se), days_observed=int(days_observed), horizon_days=h,
                         level=level, per_day=per_day, per_day_se=se, per_day_ci=(lo, hi), horizon_total=h * per_day,
                         horizon_ci=(h * lo, h * hi), prob_positive=prob, cost=cost, net=net, net_ci=net_ci, roi=roi,
                         roi_ci=roi_ci, notes=tuple(notes))


def daily_traffic(units_by_day: ArrayLike) -> tuple[float, float, int]:
    """Mean new units per day, its standard error (sd / √days) and the number of days.

    >>> daily_traffic([100, 120, 110])
    (110.0, 5.773502691896258, 3)
    """
    x = np.asarray(units_by_day, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 0.0, 0.0, 0
    se = float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0
    return float(x.mean()), se, int(x.size)


def roi_for_result(result: Any, data: Any, *, variant: str | None = None, metric: str = "revenue_per_user",
                   horizon_days: int = 90, level: float | None = None, cost: float | None = None,
                   full_days_only: bool = True) -> list[RoiProjection]:
    """ROI of each variant (or only ``variant``) from an analysis and its data.

    Δ and its standard error come from ``result``'s comparisons on ``metric`` (what the report's
    tables show); the daily traffic comes from the units first exposed on each ``day`` of the
    data's cube (all arms: at launch every eligible unit sees the winner). With
    ``full_days_only`` partial first and last days are left out (:meth:`ExperimentData.units_per_day`). Returns ``[]`` when the
    metric was not analysed (for example when health is blocked).
    """
    m = next((x for x in result.metrics if x.name == metric), None)
    if m is None or not m.comparisons:
        return []
    mean, se, days = daily_traffic(data.units_per_day(full_days_only=full_days_only))
    notes = []
    if days == 0:
        return []
    if full_days_only and "day" in data.cube.columns and len(data.cube["day"].unique()) > 3:
        notes.append("traffic from full days only (first and last day of data left out)")
    lvl = level if level is not None else 1 - float(result.alpha)
    out = []
    for c in m.comparisons:
        if variant is not None and c.variant != variant:
            continue
        se_d = float(c.extra.get("se", float("nan")))
        if not math.isfinite(se_d) or not math.isfinite(c.lift_abs):
            continue
        out.append(roi_projection(c.lift_abs, se_d, daily_units=mean, daily_units_se=se, horizon_days=horizon_days,
                                  df=float(c.extra.get("df", math.inf)), level=lvl, days_observed=days, cost=cost,
                                  variant=c.variant, control=c.control, metric=metric, notes=notes))
    return out
