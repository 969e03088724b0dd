"""Deterministic quadrature of Beta and normal posteriors: Clenshaw–Curtis rules (plain and sinh-mapped),
integration windows that hold all but ~1e-12 of a Beta's mass, and an exact-enough log Beta function.

These are the building blocks of :mod:`workbench.stats.bayes` (chance to beat control, expected loss,
credible intervals) and :mod:`workbench.stats.best` (P(best) of several arms).

>>> x, s_t, w = clenshaw_curtis(16)
>>> round(float(w @ x**2), 12)              # ∫_{-1}^{1} x² dx
0.666666666667
>>> mean, sd, lo, hi = beta_window(30.0, 70.0)
>>> bool(lo < mean < hi), round(float(mean), 2)
(True, 0.3)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev as cheb
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = ["clenshaw_curtis", "mapped_rule", "beta_window", "lbeta"]

Array = NDArray[np.float64]
NODES = 64            # Clenshaw–Curtis nodes per window for intervals and P(best) (accuracy ~1e-12)
PAIR_NODES = 52       # nodes of the sinh-mapped rule for chance to beat / expected loss (accuracy ~1e-10)
PAIR_STRETCH = 1.0
_CHUNK = 2048         # comparisons per block: keeps the (block × nodes) temporaries in cache


@lru_cache(maxsize=1)
def _blas_controller():  # noqa: ANN202
    try:
        from threadpoolctl import ThreadpoolController  # installed with PyMC
    except ImportError:  # pragma: no cover - optional
        return None
    return ThreadpoolController()


def _single_threaded_blas():  # noqa: ANN202
    """Small (rows × 48) @ (48 × 48) products are ~10x slower with multi-threaded OpenBLAS on a busy
    machine (thread hand-offs dominate); run them on one thread when threadpoolctl is available."""
    from contextlib import nullcontext
    controller = _blas_controller()
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


@lru_cache(maxsize=8)
def clenshaw_curtis(k: int = NODES) -> tuple[Array, Array, Array]:
    """Chebyshev points on [−1, 1] (ascending), the cumulative-integration matrix and the weights.

    ``S @ f`` gives ``∫_{−1}^{x_i} p(t) dt`` for the polynomial ``p`` interpolating ``f`` at the
    nodes; its last row is the Clenshaw–Curtis quadrature rule. The matrix is returned
    *transposed* and C-contiguous (``Sᵀ``), the layout in which ``values @ Sᵀ`` over many rows is
    fastest (a transposed view makes multi-threaded OpenBLAS ~20x slower here).
    """
    x = -np.cos(np.pi * np.arange(k) / (k - 1))
    v = cheb.chebvander(x, k - 1)
    integ = np.zeros((k + 1, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1.0
        integ[:, j] = cheb.chebint(e, lbnd=-1)
    s = cheb.chebvander(x, k) @ integ @ np.linalg.inv(v)
    return x, np.ascontiguousarray(s.T), s[-1].copy()


@lru_cache(maxsize=8)
def mapped_rule(k: int = PAIR_NODES, stretch: float = PAIR_STRETCH) -> tuple[Array, Array, Array]:
    """Clenshaw–Curtis on t ∈ [−1, 1] mapped by ``g(t) = sinh(stretch·t) / sinh(stretch)``.

    Returns ``(g, (S·diag(g'))ᵀ, w·g')``: for a window [mid − half, mid + half] the nodes are
    ``mid + half·g``, ``half · (f @ (S·diag(g'))ᵀ)`` integrates f from the left end to each node
    and ``half · (w·g') @ f`` over the window. The map puts more nodes near the middle of the window,
    where a posterior's mass is, so fewer nodes reach the same accuracy.
    """
    t, s_t, w = clenshaw_curtis(k)
    if stretch <= 0:
        return t, s_t, w
    g = np.sinh(stretch * t) / np.sinh(stretch)
    dg = stretch * np.cosh(stretch * t) / np.sinh(stretch)
    return g, np.ascontiguousarray(s_t * dg[:, None]), w * dg


def _tail_mult(shape: Array) -> Array:
    # Gamma-like tails: mean + k·sd with this k leaves < ~1e-12 of the mass outside (see module doc)
    return 8.0 + 22.0 / np.sqrt(np.maximum(shape, 1e-3))


def beta_window(a: ArrayLike, b: ArrayLike) -> tuple[Array, Array, Array, Array]:
    """Mean, sd and an integration window [lo, hi] ⊂ [0, 1] holding all but ~1e-12 of Beta(a, b)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    s = a + b
    mean = a / s
    sd = np.sqrt(a * b / (s * s * (s + 1)))
    lo = np.clip(mean - _tail_mult(b) * sd, 0.0, 1.0)
    hi = np.clip(mean + _tail_mult(a) * sd, 0.0, 1.0)
    return mean, sd, lo, hi


_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi * np.longdouble(1))


def _lgamma_ld(x: Array) -> NDArray[np.longdouble]:
    """log Γ(x) in extended precision: Stirling's series for x ≥ 30, scipy's gammaln below."""
    xl = np.asarray(x, dtype=np.longdouble)
    big = xl >= 30
    safe = np.where(big, xl, np.longdouble(30))
    inv = 1 / safe
    inv2 = inv * inv
    stirling = ((safe - 0.5) * np.log(safe) - safe + _HALF_LOG_2PI
                + inv * (1 / np.longdouble(12) - inv2 * (1 / np.longdouble(360) - inv2 * (1 / np.longdouble(1260)
                                                                                        - inv2 / 1680))))
    return np.where(big, stirling, special.gammaln(np.asarray(x, dtype=np.float64)).astype(np.longdouble))


def lbeta(a: ArrayLike, b: ArrayLike) -> Array:
    """log B(a, b) without the ~1e-9 absolute error of ``gammaln(a) + gammaln(b) − gammaln(a + b)``
    (what ``scipy.special.betaln`` does) when the shapes are in the hundreds of thousands: the
    differences are taken in extended precision (80-bit on x86-64; plain double elsewhere)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (_lgamma_ld(a) + _lgamma_ld(b) - _lgamma_ld(a + b)).astype(np.float64)


def _log_beta_pdf(a: Array, b: Array, log_norm: Array, lx: Array, l1x: Array) -> Array:
    """log Beta(a, b) density from log x and log(1 − x) (nodes are kept inside (0, 1), see _nodes)."""
    out = (a - 1.0) * lx
    out += (b - 1.0) * l1x
    out -= log_norm
    # densities below e^-300 are exactly 0 for our purposes; cutting them keeps every later product
    # out of the subnormal range, where floating point is ~100x slower
    np.putmask(out, out < -300.0, -np.inf)
    return out


def _nodes(lo: Array, half: Array, x: Array) -> Array:
    """Window nodes, nudged off 0 and 1 so log x and log(1 − x) stay finite: at a clipped edge the
    density is then its limit (0, or the finite value when the shape parameter is 1)."""
    nodes = lo[:, None] + half[:, None] * (x + 1.0)
    return np.clip(nodes, 1e-300, 1.0 - 2.0 ** -53, out=nodes)
