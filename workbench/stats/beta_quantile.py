"""Beta pair comparisons when a shape parameter is below 1, integrated in the quantile space.

The fast rule of :func:`workbench.stats.bayes.beta_pair_core` integrates densities on a window of
nodes; a Beta density with a shape below 1 is infinite at 0 (or 1), which no polynomial rule
resolves (P(T > C) came out 1.0 where the truth is 0.37). Such posteriors come from a prior with a
shape below 1 (Jeffreys' Beta(½, ½), or a weak category prior) and an arm with no conversions.

Here every expectation over the variant T is taken in its quantile space,
``E_T[g(T)] = ∫₀¹ g(F_T⁻¹(u)) du``, where the integrand is bounded, with tanh–sinh (double
exponential) quadrature, which converges fast despite algebraic end-point behaviour. Quantiles
near 1 are taken from the mirrored Beta so that ``1 − x`` keeps its digits.

- ``P(T > C) = E_T[F_C(T)]``
- ``E[max(T − C, 0)] = E_T[T·F_C(T) − μ_C·I_T(a_C + 1, b_C)]``
- ``E[max(C − T, 0)] = E[max(T − C, 0)] − (μ_T − μ_C)``
- ``P(arm k is best) = E_k[∏_{j≠k} F_j(X_k)]`` (:func:`prob_best_quantile`), in arm k's quantile space,
  split into panels at the other arms' integration windows so each CDF's rise is resolved

>>> p, loss_t, loss_c = beta_pair_quantile([0.5], [0.5], [30.0], [70.0])
>>> round(float(p[0]), 6)
0.368316
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = ["beta_pair_quantile", "lift_cdf_pdf_quantile", "prob_best_quantile", "tanh_sinh_unit"]

Array = NDArray[np.float64]


@lru_cache(maxsize=4)
def tanh_sinh_unit(step: float = 1 / 64, reach: float = 4.0) -> tuple[Array, Array, Array]:
    """Tanh–sinh nodes on (0, 1): ``(u, 1 − u, weights)``, both ends kept to full relative precision."""
    t = np.arange(-reach, reach + step / 2, step)
    s = 0.5 * np.pi * np.sinh(t)
    u = special.expit(s)                        # 1 / (1 + e^-s)
    v = special.expit(-s)                       # 1 − u, without cancellation
    w = step * 0.5 * np.pi * np.cosh(t) * u * v
    keep = (u > 0) & (v > 0)
    return u[keep], v[keep], w[keep]


def _quantiles(a: Array, b: Array, u: Array, v: Array) -> tuple[Array, Array]:
    """``x = F⁻¹(u)`` and ``1 − x`` of Beta(a, b) on the nodes (rows × nodes), each from its accurate side."""
    low = u <= 0.5
    x_low = special.betaincinv(a[:, None], b[:, None], np.where(low, u, 0.5))
    y_high = special.betaincinv(b[:, None], a[:, None], np.where(low, 0.5, v))   # 1 − x, for u > 1/2
    x = np.where(low, x_low, 1.0 - y_high)
    y = np.where(low, 1.0 - x_low, y_high)
    return x, y


def _cdf(a: Array, b: Array, x: Array, y: Array) -> Array:
    """Beta(a, b) CDF at ``x`` (with ``y = 1 − x``), from the side where it keeps its digits."""
    low = x <= 0.5
    return np.where(low, special.betainc(a[:, None], b[:, None], x), 1.0 - special.betainc(b[:, None], a[:, None], y))


def beta_pair_quantile(a_c: ArrayLike, b_c: ArrayLike, a_t: ArrayLike,
                       b_t: ArrayLike) -> tuple[Array, Array, Array]:
    """``(P(T > C), E[max(C − T, 0)], E[max(T − C, 0)])`` for Beta posteriors (flat arrays, any shapes > 0)."""
    a_c, b_c, a_t, b_t = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (a_c, b_c, a_t, b_t))
    u, v, w = tanh_sinh_unit()
    x, y = _quantiles(a_t, b_t, u, v)
    f_c = _cdf(a_c, b_c, x, y)                                  # F_C(T)
    m_c = a_c / (a_c + b_c)
    m_t = a_t / (a_t + b_t)
    partial = _cdf(a_c + 1.0, b_c, x, y)                        # I_T(a_C + 1, b_C)
    p = f_c @ w
    loss_keep_c = np.maximum((x * f_c - m_c[:, None] * partial) @ w, 0.0)   # E[max(T − C, 0)]
    loss_choose_t = np.maximum(loss_keep_c - (m_t - m_c), 0.0)               # E[max(C − T, 0)]
    return np.clip(p, 0.0, 1.0), loss_choose_t, loss_keep_c


def lift_cdf_pdf_quantile(a_c: Array, b_c: Array, a_t: Array, b_t: Array, v: Array,
                          relative: bool) -> tuple[Array, Array]:
    """CDF and density at ``v`` of ``D = p_t − p_c`` (or ``R = p_t / p_c − 1``), in T's quantile space.

    ``P(D ≤ v) = E_T[1 − F_C(T − v)]`` and ``P(R ≤ v) = E_T[1 − F_C(T / (1 + v))]``; the densities are
    ``E_T[f_C(T − v)]`` and ``E_T[f_C(T / (1 + v)) · T / (1 + v)²]`` (only steer the root finder).
    """
    # C's argument T − v (or T / (1 + v)) reaches 0 or 1 inside T's range, where f_C may be infinite: at
    # T = v (absolute, v > 0) or T = 1 + v (v < 0). The integral is split there, so each piece has its
    # singularity at an end, where tanh–sinh converges.
    kink = np.where(v < 0, 1.0 + v, np.inf if relative else v)
    s = np.where((kink > 0) & (kink < 1), special.betainc(a_t, b_t, np.clip(kink, 0.0, 1.0)), 0.0)[:, None]
    u1, v1, w1 = tanh_sinh_unit()
    u = np.concatenate([s * u1, s + (1.0 - s) * u1], axis=1)
    one_minus_u = np.concatenate([1.0 - s * u1, (1.0 - s) * v1], axis=1)
    w = np.concatenate([s * w1, (1.0 - s) * w1], axis=1)
    x, _ = _quantiles(a_t, b_t, u, one_minus_u)
    c = x / (1.0 + v[:, None]) if relative else x - v[:, None]
    inside = (c > 0.0) & (c < 1.0)
    cc = np.clip(c, 1e-300, 1.0 - 2.0 ** -53)
    f_c = np.where(c >= 1.0, 1.0, np.where(c <= 0.0, 0.0, special.betainc(a_c[:, None], b_c[:, None], cc)))
    cdf = np.clip(np.einsum("ij,ij->i", 1.0 - f_c, w), 0.0, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_pdf = ((a_c[:, None] - 1.0) * np.log(cc) + (b_c[:, None] - 1.0) * np.log1p(-cc)
                   - special.betaln(a_c, b_c)[:, None])
        dens = np.where(inside, np.exp(np.minimum(log_pdf, 700.0)), 0.0)
        if relative:
            dens = dens * x / (1.0 + v[:, None]) ** 2
    return cdf, np.einsum("ij,ij->i", dens, w)


def prob_best_quantile(a: Array, b: Array, lo: Array, hi: Array, *, higher_is_better: bool = True,
                       step: float = 1 / 32) -> Array:
    """P(each arm is the best) for Beta(a, b) posteriors (rows × arms), any shapes > 0.

    For arm k, ``∫₀¹ ∏_{j≠k} F_j(F_k⁻¹(u)) du`` (or the survival functions when lower is better) is split
    at ``F_k`` of every other arm's window edges ``lo``/``hi`` (from ``beta_window``): inside a panel at
    most a few CDFs rise, and tanh–sinh on each panel handles the algebraic behaviour at the ends that a
    shape below 1 brings. Rows are normalised to sum to 1 (they do to ~1e-9 before).

    >>> from workbench.stats.bayes import beta_window
    >>> a, b = np.array([[0.3, 1.0, 2.0, 0.7]]), np.array([[0.4, 3.0, 5.0, 0.2]])
    >>> _, _, lo, hi = beta_window(a, b)
    >>> prob_best_quantile(a, b, lo, hi).round(4).tolist()
    [[0.1997, 0.0384, 0.0438, 0.7181]]
    """
    a, b, lo, hi = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (a, b, lo, hi))
    rows, arms = a.shape
    s, t, w = tanh_sinh_unit(step)
    out = np.empty((rows, arms))
    for k in range(arms):
        others = [j for j in range(arms) if j != k]
        ak, bk = a[:, k:k + 1], b[:, k:k + 1]
        edges = np.concatenate([lo[:, others], hi[:, others]], axis=1)
        # panel edges in u = F_k(x), with 1 − u kept from the upper side (precise near 1)
        u_e = np.sort(np.concatenate([np.zeros((rows, 1)), special.betainc(ak, bk, edges), np.ones((rows, 1))], 1), 1)
        left, right = u_e[:, :-1], u_e[:, 1:]                                         # (rows, P)
        width = right - left
        u = left[..., None] + width[..., None] * s                                     # (rows, P, n)
        v = (1.0 - right)[..., None] + width[..., None] * t
        x, y = _quantiles(np.repeat(ak, u.shape[1], 1).reshape(-1), np.repeat(bk, u.shape[1], 1).reshape(-1),
                          u.reshape(-1, s.size), v.reshape(-1, s.size))
        prod = np.ones_like(x)
        for j in others:
            aj = np.repeat(a[:, j], u.shape[1])
            bj = np.repeat(b[:, j], u.shape[1])
            f = _cdf(aj, bj, x, y) if higher_is_better else _cdf(bj, aj, y, x)   # survival = mirrored CDF
            prod *= f
        out[:, k] = ((prod @ w).reshape(rows, -1) * width).sum(axis=1)
    total = out.sum(axis=1, keepdims=True)
    return out / np.where(total > 0, total, 1.0)
