"""Ratio metrics (Σnumerator / Σdenominator with a finer unit than the randomisation unit): delta method.

When users are randomised but the metric is clicks per impression, impressions of one user are
not independent, so the per-impression binomial variance is wrong. The delta method linearises
the ratio ``R = Ȳ / D̄`` around the per-unit means; the variance of the estimate is::

    Var(R̂) ≈ (σ²_Y − 2 R σ_YD + R² σ²_D) / (n · D̄²)

with per-unit (per randomisation unit) variances and covariance. The comparison of two arms is
then a z-test on ``R_t − R_c`` (``test = "delta"``), and the relative lift uses the same delta
method as means.

>>> from workbench.stats.sufficient import RatioStats
>>> s = RatioStats.from_values([[1, 0, 2, 1], [2, 1, 2, 3]], [[3, 2, 4, 3], [4, 3, 3, 5]])
>>> r, v, se2 = ratio_core(s)
>>> r.round(4).tolist(), se2.round(6).tolist()
([0.3333, 0.5333], [0.00823, 0.003845])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from ._checks import check_choice, check_probability, check_ratio
from .frequentist import Alternative, ComparisonTable, DiffArrays, diff_test
from .sufficient import RatioStats

__all__ = ["ratio_core", "ratio_moments", "ratio_compare_core", "compare_ratio"]

Array = NDArray[np.float64]


def ratio_moments(stats: RatioStats) -> tuple[Array, Array, Array, Array, Array]:
    """Per-arm ``(R, D̄, var_Y, var_D, cov_YD)`` with n − 1 denominators."""
    n = stats.n
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = stats.num_sum / stats.den_sum
        d_bar = stats.den_sum / n
        var_y = (stats.num_sum_sq - stats.num_sum ** 2 / n) / (n - 1)
        var_d = (stats.den_sum_sq - stats.den_sum ** 2 / n) / (n - 1)
        cov = (stats.num_den_sum - stats.num_sum * stats.den_sum / n) / (n - 1)
    return ratio, d_bar, var_y, var_d, cov


def ratio_core(stats: RatioStats) -> tuple[Array, Array, Array]:
    """Per-arm ratio, per-unit variance of its linearisation, and the squared standard error."""
    ratio, d_bar, var_y, var_d, cov = ratio_moments(stats)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_lin = (var_y - 2 * ratio * cov + ratio * ratio * var_d) / (d_bar * d_bar)
    var_lin = np.maximum(var_lin, 0.0)  # round-off only: it is a variance of a linear combination
    return ratio, var_lin, var_lin / stats.n


def ratio_compare_core(stats: RatioStats, *, alpha: float = 0.05, alternative: str = "two-sided",
                       null: float = 0.0, null_rel: float | None = None) -> DiffArrays:
    """Every arm against arm 0 on a ratio metric (delta method, normal reference)."""
    ratio, _, se2 = ratio_core(stats)
    m_c, s_c, m_t, s_t = ratio[..., :1], se2[..., :1], ratio[..., 1:], se2[..., 1:]
    out = diff_test(m_c, s_c, m_t, s_t, np.inf, alpha=alpha, alternative=alternative, null=null, null_rel=null_rel)
    return DiffArrays(np.broadcast_to(m_c, m_t.shape).copy(), m_t, *out, test=np.full(m_t.shape, "delta", dtype=object))


def compare_ratio(stats: RatioStats, *, arms: Sequence[str] | None = None, alpha: float = 0.05,
                  alternative: Alternative = "two-sided", null: float = 0.0,
                  null_rel: float | None = None) -> ComparisonTable:
    """Validated ratio-metric comparison for one experiment (arms on the only axis)."""
    check_choice("alternative", alternative, ("two-sided", "greater", "less"))
    alpha = check_probability("alpha", alpha)
    check_ratio(stats, arms=arms)
    names = tuple(arms) if arms is not None else tuple(f"arm{i}" for i in range(stats.n.shape[-1]))
    r = ratio_compare_core(stats, alpha=alpha, alternative=alternative, null=null, null_rel=null_rel)
    return ComparisonTable.from_arrays(r, variants=names[1:], control=names[0], kind="ratio",
                                       alternative=alternative, alpha=alpha)
