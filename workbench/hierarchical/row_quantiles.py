"""``np.quantile(rows, [lo, hi], axis=1)`` (the default "linear" method) for long rows, ~3× faster.

The hierarchical fit summarises five series of 4 × 1,250 draws for each of 20,000 lifts; NumPy's
quantile (a partition of every row) was 7 of its 8 s of CPU. Equal-tailed intervals need two
quantiles near the ends, so each row is read once against two thresholds taken from a sorted
subsample (a little beyond the quantiles, so the needed order statistics lie between the row's
extreme and the threshold); only the few hundred values beyond each threshold are sorted. When a
threshold does not hold enough values the row is sorted whole, so the result is always the exact
order statistics, interpolated exactly as NumPy does (``_lerp``): the same numbers, bit for bit
(``tests/hierarchical/test_row_quantiles.py``). Rows with a NaN give NaN, as in NumPy.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(3, 4000))
>>> bool((row_quantiles(x, 0.03, 0.97) == np.quantile(x, [0.03, 0.97], axis=1).T).all())
True
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["row_quantiles"]

_SUB = 400          # subsample size for the thresholds
_SHORT = 1000       # rows shorter than this are sorted whole


@numba.njit(cache=True, inline="always")
def _lerp(a: float, b: float, t: float) -> float:
    """NumPy's ``_lerp``: a + (b − a)·t, computed from b's side when t >= 0.5."""
    d = b - a
    return b - d * (1.0 - t) if t >= 0.5 else a + d * t


@numba.njit(cache=True, nogil=True)
def _rows(x: NDArray[np.float64], lo: float, hi: float, out: NDArray[np.float64]) -> None:
    p, n = x.shape
    v_lo, v_hi = (n - 1) * lo, (n - 1) * hi                  # NumPy's virtual indexes ("linear")
    k_lo, k_hi = int(np.floor(v_lo)), int(np.floor(v_hi))
    g_lo, g_hi = v_lo - k_lo, v_hi - k_hi
    k_lo1, k_hi1 = min(k_lo + 1, n - 1), min(k_hi + 1, n - 1)
    m = min(_SUB, n)
    stride = max(n // m, 1)
    # the thresholds' ranks in the subsample: the quantile's own rank plus a margin of ~4 binomial SDs
    r_lo = min(int((k_lo1 + 1) * m / n + 4.0 * np.sqrt((k_lo1 + 1) * m / n) + 4.0), m - 1)
    r_hi = max(int(k_hi * m / n - 4.0 * np.sqrt((n - k_hi) * m / n) - 4.0), 0)
    sub = np.empty(m)
    below = np.empty(n)
    above = np.empty(n)
    for i in range(p):
        row = x[i]
        sub_ok = n >= _SHORT
        if sub_ok:
            for j in range(m):
                sub[j] = row[j * stride]
            sub.sort()
            t_lo, t_hi = sub[r_lo], sub[r_hi]
            c_lo = c_hi = 0
            nan = False
            for j in range(n):                               # branch-free: write always, advance if kept
                v = row[j]
                below[c_lo] = v
                c_lo += v <= t_lo
                above[c_hi] = v
                c_hi += v >= t_hi
                nan |= v != v
            if nan:
                out[i, 0] = out[i, 1] = np.nan
                continue
            # below holds the c_lo smallest values, above the c_hi largest (ties included)
            sub_ok = c_lo > k_lo1 and c_hi >= n - k_hi
        if sub_ok:
            off = n - c_hi
            b = np.partition(below[:c_lo], np.array([k_lo, k_lo1]))
            a = np.partition(above[:c_hi], np.array([k_hi - off, k_hi1 - off]))
            out[i, 0] = _lerp(b[k_lo], b[k_lo1], g_lo)
            out[i, 1] = _lerp(a[k_hi - off], a[k_hi1 - off], g_hi)
        else:
            s = np.sort(row)
            if s[n - 1] != s[n - 1]:                         # NaN sorts last
                out[i, 0] = out[i, 1] = np.nan
                continue
            out[i, 0] = _lerp(s[k_lo], s[k_lo1], g_lo)
            out[i, 1] = _lerp(s[k_hi], s[k_hi1], g_hi)


def row_quantiles(x: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    """Rows' ``lo`` and ``hi`` quantiles as columns (rows, 2): ``np.quantile(x, [lo, hi], axis=1).T``."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0 or not 0.0 <= lo <= hi <= 1.0:
        return np.quantile(x, [lo, hi], axis=-1).T
    out = np.empty((x.shape[0], 2))
    _rows(x, float(lo), float(hi), out)
    return out
