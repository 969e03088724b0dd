"""Time effects on a lift: a trend with days since first exposure, early vs late, day-of-week balance.

**Novelty / primacy.** A new design can lift a metric at first and fade (novelty), or start low and
grow as users learn it (primacy). Units enter the experiment day by day, so the daily cube (units
by the day of their first exposure) gives one lift per daily cohort ``d = 0, 1, …`` (days since the
experiment's first exposure) with its standard error. The trend test is a weighted least-squares
regression of the cohort lifts on ``x = log(1 + d)`` with known variances (weights ``1/se²``)::

    slope = Σ w (x − x̄)(lift − l̄) / Σ w (x − x̄)²,    se(slope) = 1 / sqrt(Σ w (x − x̄)²)

and a two-sided z-test on the slope (statsmodels ``WLS(...).fit(cov_type="fixed scale")`` gives the
same numbers). The log scale is the shape novelty takes: most of the fading happens in the first
days, which a straight line in ``d`` would dilute. A slope against the metric's good direction is
*novelty*, one with it is *primacy*. The **early-vs-late** estimate shown beside it pools the first
quarter of the days (at least one) and the rest by inverse variance, with the difference's interval.

**Day-of-week balance.** An arm whose traffic leans on weekends (a ramp-up, an allocation change)
compares different weeks. The check is a chi-square test of independence on units by weekday × arm
(``scipy.stats.chi2_contingency(correction=False)``), plus the window's weekday coverage (a window of
whole weeks counts every weekday equally).

>>> t = lift_trend_core([0.03, 0.015, 0.01, 0.0, 0.002, -0.001], [0.005] * 6)
>>> round(float(t.slope), 4), round(float(t.p_value), 4)
(-0.0176, 0.0)
>>> d = dow_balance_core([[100, 100], [120, 80], [100, 100], [100, 100], [100, 100], [100, 100], [100, 100]])
>>> round(float(d.p_value), 4)
0.3337
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._checks import bad

__all__ = ["TrendArrays", "lift_trend_core", "early_late_core", "DowArrays", "dow_balance_core", "early_days"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class TrendArrays:
    """Per-comparison results of :func:`lift_trend_core` (arrays over the trailing axes)."""

    slope: Array        # change of the lift per unit of log(1 + days)
    se: Array
    z: Array
    p_value: Array
    days: Array         # cohorts used (finite lift and se > 0)


def _valid(lift: Array, se: Array) -> Array:
    return np.isfinite(lift) & np.isfinite(se) & (se > 0)


def lift_trend_core(lift: ArrayLike, se: ArrayLike, day: ArrayLike | None = None) -> TrendArrays:
    """Weighted slope of the daily lift on ``log(1 + day)``, along axis 0 (vectorised over the rest).

    ``lift`` and ``se`` are ``(D, ...)``: one row per daily cohort; ``day`` (length D, default
    ``0..D-1``) is days since the first exposure. Cohorts with a non-finite lift or ``se <= 0`` are
    left out; fewer than 3 usable cohorts give NaN.
    """
    y = np.asarray(lift, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    d = np.arange(y.shape[0], dtype=np.float64) if day is None else np.asarray(day, dtype=np.float64)
    x = np.log1p(d).reshape((-1,) + (1,) * (y.ndim - 1))
    ok = _valid(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(ok, 1.0 / np.where(ok, s, 1.0) ** 2, 0.0)
        y0 = np.where(ok, y, 0.0)
        sw = w.sum(axis=0)
        xb = (w * x).sum(axis=0) / sw
        yb = (w * y0).sum(axis=0) / sw
        sxx = (w * (x - xb) ** 2).sum(axis=0)
        slope = (w * (x - xb) * (y0 - yb)).sum(axis=0) / sxx
        se_b = 1.0 / np.sqrt(sxx)
        z = slope / se_b
    n = ok.sum(axis=0).astype(np.float64)
    enough = (n >= 3) & (sxx > 0)
    slope, se_b, z = (np.where(enough, a, np.nan) for a in (slope, se_b, z))
    p = np.where(enough, 2.0 * special.ndtr(-np.abs(z)), np.nan)
    return TrendArrays(slope=slope, se=se_b, z=z, p_value=p, days=n)


def early_days(n_days: int) -> int:
    """How many of the first days count as "early": a quarter of the window, at least one."""
    return max(1, n_days // 4)


def early_late_core(lift: ArrayLike, se: ArrayLike, early: int | None = None,
                    ) -> tuple[Array, Array, Array, Array, Array, Array]:
    """``(early, early_se, late, late_se, diff, diff_se)``: inverse-variance pooled lifts of the first
    ``early`` cohorts (default :func:`early_days`) and of the rest, along axis 0; ``diff = late − early``."""
    y = np.asarray(lift, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    k = early_days(y.shape[0]) if early is None else int(early)
    ok = _valid(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(ok, 1.0 / np.where(ok, s, 1.0) ** 2, 0.0)
        y0 = np.where(ok, y, 0.0)

        def pool(sl: slice) -> tuple[Array, Array]:
            sw = w[sl].sum(axis=0)
            return (w[sl] * y0[sl]).sum(axis=0) / sw, 1.0 / np.sqrt(sw)
        e, e_se = pool(slice(0, k))
        late, l_se = pool(slice(k, None))
    return e, e_se, late, l_se, late - e, np.sqrt(e_se ** 2 + l_se ** 2)


@dataclass(frozen=True)
class DowArrays:
    """Chi-square test of independence of weekday × arm (units by the weekday of first exposure)."""

    statistic: float
    df: float
    p_value: float
    share: Array        # (7, V): each arm's share of its units by weekday (Monday first)


def dow_balance_core(counts: ArrayLike) -> DowArrays:
    """Chi-square independence test on a weekday × arm table of units (rows with no units are dropped).

    >>> r = dow_balance_core([[10, 10], [10, 10]])
    >>> float(r.statistic), float(r.p_value)
    (0.0, 1.0)
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] < 2:
        raise bad("bad_shape", "counts must be a weekday × arm table with at least two arms", column="counts",
                  value=str(c.shape))
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise bad("bad_counts", "unit counts must be finite and >= 0", column="counts")
    rows = c[c.sum(axis=1) > 0]
    cols = rows[:, rows.sum(axis=0) > 0]
    total = cols.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = c / c.sum(axis=0, keepdims=True)
    if cols.shape[0] < 2 or cols.shape[1] < 2 or total <= 0:
        return DowArrays(0.0, 0.0, 1.0, share)
    expected = cols.sum(axis=1, keepdims=True) * cols.sum(axis=0, keepdims=True) / total
    stat = float(((cols - expected) ** 2 / expected).sum())
    df = float((cols.shape[0] - 1) * (cols.shape[1] - 1))
    return DowArrays(stat, df, float(special.chdtrc(df, stat)), share)
