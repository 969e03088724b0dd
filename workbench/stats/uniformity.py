"""Two small tests of the A/A check without ``scipy.stats``: the binomial upper tail and the one-sample
Kolmogorov–Smirnov test against the uniform distribution.

``scipy.stats`` takes about half a second to import (it builds the docstrings of every distribution), and
the A/A verdict — computed in every report run, for the A/A experiments whose health every report shows —
needed only these two. Both are computed from ``scipy.special`` and NumPy:

* :func:`binomial_sf` is ``P(X >= k)`` for ``X ~ Binomial(n, p)``, ``scipy.stats.binomtest(k, n, p,
  alternative="greater").pvalue``, through the regularised incomplete beta function (``special.bdtrc``).
* :func:`ks_uniform` is the two-sided statistic ``D`` and its exact p-value for ``n`` values against U(0, 1),
  as ``scipy.stats.kstest(x, "uniform")`` computes it (``method="exact"``): the p-value is one minus the
  exact distribution of ``D`` by the matrix method of Marsaglia, Tsang and Wang (2003, *Evaluating
  Kolmogorov's distribution*, J. Stat. Softw. 8(18)), with the matrix power rescaled as it grows (when
  ``n·D`` exceeds 400 — hundreds of days or a gross misfit — Stephens' approximation, within 0.005).

Tested against ``scipy.stats`` (``tests/stats/test_uniformity.py``).

>>> round(binomial_sf(3, 20, 0.05), 6)
0.075484
>>> d, p = ks_uniform([0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 0.1, 0.6, 0.9])
>>> round(d, 3), round(p, 4)
(0.1, 0.9996)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import special

__all__ = ["binomial_sf", "ks_uniform", "kolmogorov_cdf"]

_SCALE = 1e140
_EXACT_MAX_K = 400
"""Above ``n·D = 400`` the exact matrix (``2k − 1`` rows) would be too large: Stephens' approximation is used."""


def binomial_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (1 when ``k <= 0``, 0 when ``k > n``)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(special.bdtrc(k - 1, n, p))


def kolmogorov_cdf(d: float, n: int) -> float:
    """``P(D_n < d)``: the exact distribution of the two-sided one-sample KS statistic for ``n`` values."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if d <= 0.5 / n:
        return 0.0
    if d >= 1.0:
        return 1.0
    nd = n * d
    k = int(math.floor(nd)) + 1
    if k > _EXACT_MAX_K:        # Stephens' (1970) modified statistic with Kolmogorov's limit
        return float(1.0 - special.kolmogorov((math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d))
    m = 2 * k - 1
    h = k - nd
    i = np.arange(m)
    diff = i[:, None] - i[None, :] + 1                              # i - j + 1
    H = (diff >= 0).astype(np.float64)
    H[:, 0] -= h ** (i + 1.0)
    H[m - 1, :] -= h ** (m - i.astype(np.float64))
    if 2 * h - 1 > 0:
        H[m - 1, 0] += (2 * h - 1) ** m
    fact = special.gamma(np.where(diff > 0, diff, 1) + 1.0)          # (i - j + 1)! where positive
    H = np.where(diff > 0, H / fact, H)
    Q, exponent = _matrix_power(H, n)
    s = Q[k - 1, k - 1]
    if s <= 0:
        return 0.0
    # s * n! / n^n, in logarithms (s carries `exponent` factors of _SCALE)
    log_cdf = math.log(s) + exponent * math.log(_SCALE) + math.lgamma(n + 1) - n * math.log(n)
    return float(min(1.0, math.exp(log_cdf)))


def _matrix_power(H: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """``H ** n`` as ``(Q, e)`` with ``H ** n == Q * _SCALE ** e`` (squaring, rescaled when entries grow)."""
    result: np.ndarray | None = None
    e_result = 0
    base, e_base = H.copy(), 0
    while n:
        if n & 1:
            if result is None:
                result, e_result = base.copy(), e_base
            else:
                result, e_result = result @ base, e_result + e_base
                if np.abs(result).max() > _SCALE:
                    result, e_result = result / _SCALE, e_result + 1
        n >>= 1
        if n:
            base, e_base = base @ base, 2 * e_base
            if np.abs(base).max() > _SCALE:
                base, e_base = base / _SCALE, e_base + 1
    assert result is not None
    return result, e_result


def ks_uniform(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The two-sided KS statistic of ``values`` against U(0, 1) and its exact p-value."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.size
    if n == 0:
        raise ValueError("no values to test")
    cdf = np.clip(x, 0.0, 1.0)
    ranks = np.arange(1, n + 1) / n
    d = float(max((ranks - cdf).max(), (cdf - (ranks - 1.0 / n)).max()))
    return d, float(min(1.0, max(0.0, 1.0 - kolmogorov_cdf(d, n))))
