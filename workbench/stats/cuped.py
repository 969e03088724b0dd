"""CUPED: variance reduction with a pre-period covariate, for means and ratio metrics.

For a per-unit metric Y and a pre-experiment covariate X (last month's purchases, say), the
adjusted metric ``Y − θ (X − X̄)`` has the same expected difference between arms (X was measured
before assignment) but a smaller variance when X and Y are correlated::

    θ = pooled cov(Y, X) / pooled var(X)            (within-arm moments, pooled over all arms)
    Ȳ_adj = Ȳ − θ (X̄_arm − X̄_all)                  (centred on the overall X̄ so values stay on Y's scale)
    σ²_adj = σ²_Y − 2 θ σ_XY + θ² σ²_X              (≈ σ²_Y (1 − ρ²))

Pooling the *within-arm* moments over all arms keeps the treatment effect out of θ. Ratio
metrics use their delta-method linearisation ``(y − R d) / D̄`` in place of Y. The comparison
then runs on the adjusted means and variances (Welch for means, z for proportions and ratios)
and the result reports the variance reduction achieved, ``1 − Var_adj / Var_raw`` of the lift.

Falls back cleanly (``applied`` is False, with a ``reason``) when the covariate is missing or
constant (no within-arm variance), and the caller uses the plain test.

>>> import numpy as np
>>> from workbench.stats.sufficient import SufficientStats
>>> rng = np.random.default_rng(0)
>>> x = [rng.normal(10, 2, 4000) for _ in range(2)]
>>> y = [xi * 0.8 + rng.normal(0, 1, 4000) for xi in x]
>>> c = cuped_means_core(SufficientStats.from_values(y, x))
>>> bool(c.applied), round(float(c.theta), 2), round(float(c.variance_reduction[0]), 2)
(True, 0.8, 0.72)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .ratio import ratio_moments
from .sufficient import RatioStats, SufficientStats

__all__ = ["CupedArrays", "cuped_means_core", "cuped_ratio_core"]

Array = NDArray[np.float64]
_CONSTANT_TOL = 1e-12


class CupedArrays(NamedTuple):
    """Adjusted per-arm values (arms on the last axis) and what the adjustment achieved.

    ``applied`` and ``theta`` have the leading shape (one per experiment/metric/segment);
    ``variance_reduction`` has one entry per variant (last axis ``arms − 1``).
    """

    mean: Array
    var: Array
    raw_var: Array
    n: Array
    theta: Array
    applied: NDArray[np.bool_]
    variance_reduction: Array
    reason: str


def _finish(n: Array, y_mean: Array, y_var: Array, x_mean: Array, x_var: Array, cov_xy: Array) -> CupedArrays:
    w = n - 1
    sxx = np.sum(w * x_var, axis=-1, keepdims=True)
    sxy = np.sum(w * cov_xy, axis=-1, keepdims=True)
    x_all = np.sum(n * x_mean, axis=-1, keepdims=True) / np.sum(n, axis=-1, keepdims=True)
    scale = np.maximum(1.0, np.sum(n * x_mean ** 2, axis=-1, keepdims=True) / np.sum(n, axis=-1, keepdims=True))
    ok = np.isfinite(sxx) & np.isfinite(sxy) & (sxx > _CONSTANT_TOL * scale * np.sum(w, axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(ok, sxy / sxx, 0.0)
    mean = y_mean - theta * np.where(ok, x_mean - x_all, 0.0)
    var = np.maximum(y_var - 2 * theta * cov_xy + theta * theta * x_var, 0.0)
    var = np.where(ok, var, y_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = y_var[..., :1] / n[..., :1] + y_var[..., 1:] / n[..., 1:]
        adj = var[..., :1] / n[..., :1] + var[..., 1:] / n[..., 1:]
        reduction = np.where(ok, 1.0 - adj / raw, 0.0)
    applied = ok[..., 0]
    reason = "" if applied.all() else ("covariate is constant (no within-arm variance); CUPED not applied"
                                       if applied.ndim == 0 else "covariate is constant in some cells; CUPED "
                                       "not applied there")
    return CupedArrays(mean, var, y_var, n, theta[..., 0], applied, reduction, reason)


def _not_applied(n: Array, y_mean: Array, y_var: Array, reason: str) -> CupedArrays:
    lead = n.shape[:-1]
    return CupedArrays(y_mean, y_var, y_var, n, np.zeros(lead), np.zeros(lead, dtype=bool),
                       np.zeros(n.shape[:-1] + (n.shape[-1] - 1,)), reason)


def cuped_means_core(stats: SufficientStats) -> CupedArrays:
    """CUPED-adjusted per-arm means and per-unit variances of a mean (or 0/1) metric."""
    n, y_mean, y_var = stats.n, stats.mean, stats.var
    if not stats.has_covariate:
        return _not_applied(n, y_mean, y_var, "no pre-period covariate; CUPED not applied")
    return _finish(n, y_mean, y_var, stats.x_mean, stats.x_var, stats.xy_cov)


def cuped_ratio_core(stats: RatioStats) -> CupedArrays:
    """CUPED on a ratio metric through its delta-method linearisation ``(y − R d) / D̄``."""
    n = stats.n
    ratio, d_bar, var_y, var_d, cov_yd = ratio_moments(stats)
    with np.errstate(divide="ignore", invalid="ignore"):
        lin_var = np.maximum((var_y - 2 * ratio * cov_yd + ratio * ratio * var_d) / (d_bar * d_bar), 0.0)
    if not stats.has_covariate:
        return _not_applied(n, ratio, lin_var, "no pre-period covariate; CUPED not applied")
    with np.errstate(divide="ignore", invalid="ignore"):
        x_mean = stats.x_sum / n  # type: ignore[operator]
        x_var = (stats.x_sum_sq - stats.x_sum ** 2 / n) / (n - 1)  # type: ignore[operator]
        cov_yx = (stats.num_x_sum - stats.num_sum * stats.x_sum / n) / (n - 1)  # type: ignore[operator]
        cov_dx = (stats.den_x_sum - stats.den_sum * stats.x_sum / n) / (n - 1)  # type: ignore[operator]
        cov_lin_x = (cov_yx - ratio * cov_dx) / d_bar
    return _finish(n, ratio, lin_var, x_mean, x_var, cov_lin_x)
