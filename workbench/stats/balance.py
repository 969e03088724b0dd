"""Pre-period balance of covariates between arms: standardised differences and a joint test.

Randomisation makes the arms alike *before* the experiment; pre-period covariates (sessions,
purchases, revenue in the 28 days before) that differ between arms mean assignment is not random
(or the covariate join is broken). For each variant against the control, from per-arm ``n``, Σx
and Σxxᵀ:

- **standardised difference** of each covariate: ``(x̄_a − x̄_0) / √((s²_a + s²_0)/2)`` (sample
  variances, n−1) — the scale-free size of an imbalance; ``|d| > 0.1`` is the usual rule of thumb;
- **Hotelling's two-sample T²** over the covariates' mean differences with the pooled covariance,
  ``T² = n_0 n_a/(n_0+n_a) · Δᵀ S⁻¹ Δ``, and its exact F form
  ``F = (N−P−1)/(P(N−2)) · T² ~ F(P, N−P−1)`` (``N = n_0 + n_a``). For two groups this is the
  overall F-test of the regression of the arm indicator on the covariates.

Covariates with no variance in the pair are left out of the joint test (``df1`` counts the rest).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = [rng.normal(0, 1, (500, 2)), rng.normal(0, 1, (500, 2))]
>>> b = balance_core(np.array([500.0, 500.0]), np.array([v.sum(0) for v in x]), np.array([v.T @ v for v in x]))
>>> b.p_value.shape, bool(b.p_value[0] > 0.01)
((1,), True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._checks import bad, check_finite_array

__all__ = ["BalanceArrays", "balance_core"]

Array = NDArray[np.float64]


class BalanceArrays(NamedTuple):
    """Per variant (axis ``K − 1``): ``std_diff`` (…, K−1, P), ``t2``, ``f``, ``df1``, ``df2``, ``p_value``;
    per arm: ``mean`` and ``sd`` (…, K, P)."""

    mean: Array
    sd: Array
    std_diff: Array
    t2: Array
    f: Array
    df1: Array
    df2: Array
    p_value: Array


def balance_core(n: ArrayLike, x_sum: ArrayLike, xx_sum: ArrayLike) -> BalanceArrays:
    """Standardised differences and Hotelling's T² of every arm against arm 0 (see module doc).

    Shapes: ``n`` (…, K), ``x_sum`` (…, K, P), ``xx_sum`` (…, K, P, P).
    """
    n = check_finite_array("n", n, nonnegative=True)
    xs = check_finite_array("x_sum", x_sum)
    xx = check_finite_array("xx_sum", xx_sum)
    if n.ndim < 1 or n.shape[-1] < 2 or xs.shape[:-1] != n.shape or xx.shape != (*xs.shape, xs.shape[-1]):
        raise bad("bad_shape", f"balance needs n (..., K≥2), x_sum (..., K, P), xx_sum (..., K, P, P); got "
                  f"{n.shape}, {xs.shape}, {xx.shape}", column="x_sum", value=str(xs.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = xs / n[..., None]
        scatter = xx - xs[..., :, None] * xs[..., None, :] / n[..., None, None]      # (…, K, P, P)
        cov = scatter / (n[..., None, None] - 1)
        var = np.maximum(np.diagonal(cov, axis1=-2, axis2=-1), 0.0)                  # (…, K, P)
        sd = np.sqrt(var)
        delta = mean[..., 1:, :] - mean[..., :1, :]                                  # (…, K−1, P)
        std_diff = delta / np.sqrt((var[..., 1:, :] + var[..., :1, :]) / 2)
        n0, na = n[..., :1], n[..., 1:]
        big_n = n0 + na
        pooled = (scatter[..., 1:, :, :] + scatter[..., :1, :, :]) / (big_n - 2)[..., None, None]
    diag = np.diagonal(pooled, axis1=-2, axis2=-1)
    scale = np.max(np.abs(np.nan_to_num(diag)), axis=-1, keepdims=True)
    keep = np.nan_to_num(diag) > 1e-12 * np.maximum(scale, 1e-300)                   # (…, K−1, P)
    mask = keep[..., :, None] & keep[..., None, :]
    eye = np.eye(pooled.shape[-1])
    s = np.where(mask, np.nan_to_num(pooled), eye)                                   # dropped covariates → identity
    d = np.where(keep, np.nan_to_num(delta), 0.0)
    quad = np.einsum("...p,...p->...", d, np.linalg.solve(s, d[..., None])[..., 0]) if s.shape[-1] else \
        np.zeros(d.shape[:-1])
    df1 = keep.sum(axis=-1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = n0 * na / big_n * quad
        df2 = big_n - df1 - 1
        f = df2 / (df1 * (big_n - 2)) * t2
        ok = (df1 > 0) & (df2 > 0) & np.isfinite(f)
        p = np.where(ok, special.fdtrc(np.maximum(df1, 1), np.maximum(df2, 1), np.where(ok, f, 0.0)), np.nan)
    return BalanceArrays(mean, sd, std_diff, t2, f, df1, df2, p)
