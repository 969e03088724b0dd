"""Posterior summaries of a lift on the log-odds scale over a Beta control rate, without Monte Carlo.

The empirical-Bayes path of the hierarchical model (:mod:`workbench.hierarchical.empirical_bayes`)
has, for every SKU, a control rate ``p0 ~ Beta(a, b)`` and an independent log-odds lift
``L ~ Normal(m, s²)``; the variant's rate is ``p1 = expit(logit(p0) + L)``. This module gives every
summary a SKU row shows — means and equal-tailed intervals of ``p0``, ``p1``, ``p1 − p0``,
``p1/p0 − 1`` and ``L``, ``P(p1 > p0)`` and both expected losses — by deterministic quadrature
instead of a thousand random draws per SKU (which cost 3 s at 20,000 lifts and carried Monte
Carlo error of about 5 % of a standard deviation in each interval bound):

- ``L``: exact normal; ``P(p1 > p0) = P(L > 0) = Φ(m/s)``; ``p0``: exact Beta mean and quantiles
  (``scipy.special.betaincinv``).
- Expectations over ``(X, L)``, ``X = logit(p0)`` with density ``expit(x)^a·expit(−x)^b / B(a, b)``,
  use a product rule: the trapezoidal rule in ``t`` with ``x = log(a/b) + c·sinh(t)`` (nodes dense
  in the density's core, of width ``c = √((a + b)/(ab))``, and reaching 10 SDs into its tails —
  exponentially accurate for a smooth, exponentially decaying integrand) times Gauss–Hermite
  nodes in ``L``. They give the means of ``p1``, ``p1 − p0`` and ``p1/p0`` and the first four
  moments of ``p1^(1/3)`` and ``log(p1/p0)``, nearly normal scales on which the Cornish–Fisher
  expansion gives the quantiles of ``p1`` and ``p1/p0 − 1``.
- ``p1 − p0`` is increasing in ``L`` given ``p0``, so its CDF is ``Σ_k w_k·Φ((g(x_k, t) − m)/s)``
  over the ``x`` nodes; its quantiles are Newton steps on that, from the Cornish–Fisher start.
- ``E[max(p0 − p1, 0)]``: ``p0 > p1`` exactly when ``L < 0``, so the ``L`` integral is taken over
  ``L < 0`` only (Gauss–Legendre nodes in the normal's probability scale), no kink to resolve;
  ``E[max(p1 − p0, 0)]`` is that plus ``E[p1 − p0]``.

Tested against a fixed-seed Monte Carlo with 400,000 draws (``tests/stats/test_beta_logit_lift.py``).

>>> s = beta_logit_lift_summaries([30.0], [570.0], [0.1], [0.04], level=0.94)
>>> round(float(s.control_rate[0]), 4), round(float(s.prob_beat_control[0]), 3)
(0.05, 0.691)
>>> bool(s.lift_rel_ci[0, 0] < s.lift_rel[0] < s.lift_rel_ci[0, 1])
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaincinv, expit, ndtr, ndtri, polygamma

__all__ = ["LiftSummaries", "beta_logit_lift_summaries", "cornish_fisher"]

Array = NDArray[np.float64]

#: trapezoid nodes in x = logit(p0) over ±_REACH SDs, Gauss–Hermite nodes in L, Gauss–Legendre nodes in L < 0
_NX, _REACH, _NL, _NLOSS = 17, 10.0, 6, 6
#: lifts per block (keeps the (lifts × nodes) arrays in cache)
_BLOCK = 2048


@dataclass(frozen=True)
class LiftSummaries:
    """Means, equal-tailed intervals (rows of ``[lo, hi]``), P(beat) and expected losses per lift."""

    control_rate: Array
    control_rate_ci: Array
    variant_rate: Array
    variant_rate_ci: Array
    lift_abs: Array
    lift_abs_ci: Array
    lift_rel: Array
    lift_rel_ci: Array
    lift_logodds: Array
    lift_logodds_ci: Array
    prob_beat_control: Array
    expected_loss: Array
    expected_loss_control: Array


def cornish_fisher(z: float, k1: Array, k2: Array, k3: Array, k4: Array) -> Array:
    """Quantile at normal score ``z`` from the first four cumulants (Cornish–Fisher, to second order).

    Skewness and excess kurtosis are clipped to a range where the expansion stays monotone.

    >>> round(float(cornish_fisher(1.96, np.array([0.0]), np.array([1.0]), np.array([0.0]), np.array([0.0]))[0]), 2)
    1.96
    """
    sd = np.sqrt(k2)
    g1 = np.clip(k3 / sd**3, -2.0, 2.0)
    g2 = np.clip(k4 / k2**2, -1.0, 8.0)
    w = z + (z * z - 1) * g1 / 6 + (z**3 - 3 * z) * g2 / 24 - (2 * z**3 - 5 * z) * g1 * g1 / 36
    return k1 + sd * w


def _cumulants(e1: Array, e2: Array, e3: Array, e4: Array) -> tuple[Array, Array, Array, Array]:
    """Cumulants from raw moments."""
    v = np.maximum(e2 - e1**2, 1e-300)
    k3 = e3 - 3 * e1 * e2 + 2 * e1**3
    m4 = e4 - 4 * e1 * e3 + 6 * e1**2 * e2 - 3 * e1**4
    return e1, v, k3, m4 - 3 * v * v


def _softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def _block(a: Array, b: Array, m: Array, s: Array, z_lo: float, z_hi: float) -> Array:
    """Columns: means and bounds of p1, p1 − p0, p1/p0 − 1, then E[max(p0 − p1, 0)]."""
    vx = polygamma(1, a) + polygamma(1, b)
    sx = np.sqrt(vx)
    # nodes x = mode + core·sinh(t), t uniform: dense where the density's core is, sparse in its tails
    core = np.sqrt((a + b) / (a * b))
    reach = np.arcsinh(_REACH * sx / core)
    t = reach[:, None] * np.linspace(-1.0, 1.0, _NX)
    x = np.log(a / b)[:, None] + core[:, None] * np.sinh(t)               # (n, K)
    logf = -a[:, None] * _softplus(-x) - b[:, None] * _softplus(x) + np.log(np.cosh(t))
    wx = np.exp(logf - logf.max(axis=1, keepdims=True))
    wx /= wx.sum(axis=1, keepdims=True)
    log_p0 = -_softplus(-x)
    p0 = np.exp(log_p0)

    zl, wl = hermegauss(_NL)
    wl = wl / wl.sum()
    y = x[:, :, None] + (m[:, None] + s[:, None] * zl)[:, None, :]      # (n, K, J) logit of p1
    log_p1 = -_softplus(-y)
    p1 = np.exp(log_p1)
    w = wx[:, :, None] * wl                                              # joint weights
    d = p1 - p0[:, :, None]
    q = log_p1 - log_p0[:, :, None]

    def moments(v: Array) -> tuple[Array, Array, Array, Array]:
        v2 = v * v
        return ((w * v).sum(axis=(1, 2)), (w * v2).sum(axis=(1, 2)), (w * v2 * v).sum(axis=(1, 2)),
                (w * v2 * v2).sum(axis=(1, 2)))

    md, mq = moments(d), moments(q)
    kc = _cumulants(*moments(np.cbrt(p1)))
    ratio = (w * np.exp(q)).sum(axis=(1, 2))
    kd, kq = _cumulants(*md), _cumulants(*mq)

    # E[(p0 − p1)·1{L < 0}]: L's nodes in its probability scale on (0, Φ(−m/s))
    gx, gw = leggauss(_NLOSS)
    below = ndtr(-m / s)
    u = below[:, None] * (0.5 * (gx + 1))                                 # (n, J')
    ln = m[:, None] + s[:, None] * ndtri(np.maximum(u, 1e-300))
    p1n = expit(x[:, :, None] + ln[:, None, :])
    loss = (wx[:, :, None] * (p0[:, :, None] - p1n) * (0.5 * gw)).sum(axis=(1, 2)) * below

    out = np.empty((a.size, 10))
    out[:, 0] = (w * p1).sum(axis=(1, 2))
    out[:, 1], out[:, 2] = cornish_fisher(z_lo, *kc) ** 3, cornish_fisher(z_hi, *kc) ** 3
    out[:, 3] = md[0]
    out[:, 4], out[:, 5] = cornish_fisher(z_lo, *kd), cornish_fisher(z_hi, *kd)
    for col, z in ((4, z_lo), (5, z_hi)):
        out[:, col] = _abs_quantile(out[:, col], float(ndtr(z)), p0, wx, m, s)
    out[:, 6] = ratio - 1
    out[:, 7], out[:, 8] = np.expm1(cornish_fisher(z_lo, *kq)), np.expm1(cornish_fisher(z_hi, *kq))
    out[:, 9] = np.maximum(loss, 0.0)
    return out


def _abs_quantile(t: Array, q: float, p0: Array, wx: Array, m: Array, s: Array, steps: int = 3) -> Array:
    """Solve P(p1 − p0 <= t) = q by Newton steps: given p0 the difference is increasing in L."""
    for _ in range(steps):
        p = np.clip(p0 + t[:, None], 1e-300, 1 - 1e-16)
        g = (np.log(p) - np.log1p(-p) - np.log(p0) + np.log1p(-p0) - m[:, None]) / s[:, None]
        cdf = (wx * ndtr(g)).sum(axis=1)
        dens = (wx * np.exp(-0.5 * g * g) / (p * (1 - p))).sum(axis=1) / (s * np.sqrt(2 * np.pi))
        t = t - (cdf - q) / np.maximum(dens, 1e-300)
    return t


def beta_logit_lift_summaries(a: ArrayLike, b: ArrayLike, m: ArrayLike, v: ArrayLike, *,
                              level: float) -> LiftSummaries:
    """Summaries of ``p0 ~ Beta(a, b)``, ``L ~ Normal(m, v)`` independent, ``p1 = expit(logit(p0) + L)``.

    ``v`` is the lift's variance; arrays of equal length (one entry per lift).
    """
    a, b, m, v = (np.asarray(t, dtype=np.float64).reshape(-1) for t in (a, b, m, v))
    s = np.sqrt(np.maximum(v, 1e-300))
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    z_lo, z_hi = float(ndtri(lo_q)), float(ndtri(hi_q))
    cols = np.empty((a.size, 10))
    for start in range(0, a.size, _BLOCK):
        sl = slice(start, start + _BLOCK)
        cols[sl] = _block(a[sl], b[sl], m[sl], s[sl], z_lo, z_hi)
    mean0 = a / (a + b)
    ci0 = np.column_stack([betaincinv(a, b, lo_q), 1.0 - betaincinv(b, a, lo_q)])
    gain = cols[:, 0] - mean0
    loss = cols[:, 9]
    return LiftSummaries(
        control_rate=mean0, control_rate_ci=ci0, variant_rate=cols[:, 0], variant_rate_ci=cols[:, 1:3],
        lift_abs=gain, lift_abs_ci=cols[:, 4:6], lift_rel=cols[:, 6], lift_rel_ci=cols[:, 7:9],
        lift_logodds=m, lift_logodds_ci=np.column_stack([m + z_lo * s, m + z_hi * s]),
        prob_beat_control=ndtr(m / s), expected_loss=loss, expected_loss_control=np.maximum(loss + gain, 0.0))
