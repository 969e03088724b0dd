"""Convergence diagnostics of a posterior sample, always computed and turned into plain warnings.

The statistics are ArviZ's (``arviz.rhat`` with ``method="rank"``, ``arviz.ess`` with
``method="bulk"`` and ``"tail"``; Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021):
rank-normalised split r_hat (the larger of bulk and folded-tail r_hat), bulk ESS of the
rank-normalised split chains, and tail ESS (the smaller ESS of the 5 % and 95 % quantile
indicators). ArviZ computes them one parameter at a time (about 1 ms each); a model with thousands
of SKUs needs them for every parameter, so this module evaluates the same formulas vectorised over
parameters in compiled loops (autocovariances summed lag by lag only as far as Geyer's initial
monotone sequence reaches — a few lags for most parameters — rather than an FFT over every lag,
which took 14 s of CPU for 21,000 parameters × 4,000 draws). The test suite checks the numbers
against ``arviz`` itself.

Limits come from ``Settings.hierarchical`` (r_hat <= 1.01 and bulk ESS >= 400 on the SKU lifts,
r_hat <= 1.05 on every parameter, no divergences).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> good = rng.normal(size=(4, 500, 3))
>>> bool(rhat(good).max() < 1.01), bool(ess_bulk(good).min() > 1000)
(True, True)
>>> stuck = good + np.arange(4)[:, None, None]      # chains that disagree
>>> bool(rhat(stuck).max() > 1.5)
True
"""

from __future__ import annotations

import functools
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from ..config import HierarchicalSettings
from .blocks import in_blocks
from .results import Diagnostics
from .row_quantiles import row_quantiles
from .sampling import PosteriorSample

__all__ = ["rhat", "ess_bulk", "ess_tail", "diagnose"]

Array = NDArray[np.float64]

#: parameters per block (see :mod:`.blocks`)
_BLOCK = 32
#: the quantiles whose indicators give the tail ESS
_TAIL = (0.05, 0.95)


def _split(t: Array) -> Array:
    """Split each chain in halves (dropping the middle draw of odd lengths), as extra chains."""
    half = t.shape[2] // 2
    return np.concatenate([t[:, :, :half], t[:, :, t.shape[2] - half:]], axis=1)


@functools.lru_cache(maxsize=8)
def _score_table(size: int) -> Array:
    """Normal scores of every possible average rank among ``size`` draws (Blom's 3/8 offset)."""
    ranks = np.arange(2 * size - 1) / 2.0 + 1.0
    return ndtri((ranks - 0.375) / (size - 0.75 + 1))


@numba.njit(cache=True, nogil=True)
def _scores_row(x: Array, order: NDArray[np.int64], table: Array, out: Array) -> None:
    """Normal scores of the average ranks of x, given its ascending order.

    A tie group spanning sorted positions i..k has average rank (i + k)/2 + 1, whose score is
    ``table[i + k]``.
    """
    n = x.size
    i = 0
    while i < n:
        k = i
        v = x[order[i]]
        while k + 1 < n and x[order[k + 1]] == v:
            k += 1
        score = table[i + k]
        for m in range(i, k + 1):
            out[order[m]] = score
        i = k + 1


@numba.njit(cache=True, nogil=True)
def _rank_scores(x: Array, order: NDArray[np.int64], table: Array) -> tuple[Array, Array]:
    """Rank-normalised rows of x and of their distances from the row median (for the folded r_hat).

    The distances need no second sort: walking outwards from the median through x's sort order
    visits them in ascending order (a merge of the draws below and above the median).
    """
    p, n = x.shape
    z = np.empty((p, n))
    zf = np.empty((p, n))
    f = np.empty(n)
    f_order = np.empty(n, dtype=np.int64)
    for j in range(p):
        xj, oj = x[j], order[j]
        _scores_row(xj, oj, table, z[j])
        h = n // 2
        med = xj[oj[h]] if n % 2 else (xj[oj[h - 1]] + xj[oj[h]]) / 2.0
        for i in range(n):
            f[i] = abs(xj[i] - med)
        hi = 0
        while hi < n and xj[oj[hi]] < med:
            hi += 1
        lo = hi - 1
        for k in range(n):
            if hi >= n or (lo >= 0 and f[oj[lo]] <= f[oj[hi]]):
                f_order[k] = oj[lo]
                lo -= 1
            else:
                f_order[k] = oj[hi]
                hi += 1
        _scores_row(f, f_order, table, zf[j])
    return z, zf


def _rhat_basic(t: Array) -> Array:
    n = t.shape[2]
    chain_mean = t.mean(axis=2)
    within = t.var(axis=2, ddof=1).mean(axis=1)
    between = n * chain_mean.var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((between / within + n - 1) / n)


@numba.njit(cache=True, nogil=True, inline="always")
def _mean_acov(centred: Array, k: int) -> float:
    """Chain-averaged autocovariance at lag k (divided by the draws, as the FFT form) of centred chains."""
    c, n = centred.shape
    total = 0.0
    for ch in range(c):
        acc = 0.0
        for i in range(n - k):
            acc += centred[ch, i] * centred[ch, i + k]
        total += acc / n
    return total / c


@numba.njit(cache=True, nogil=True)
def _ess_rows(t: Array) -> Array:
    """ESS of every parameter of (parameters, chain, draw) draws, Geyer's initial monotone sequence.

    The autocovariances are summed directly, lag by lag, only as far as the sequence goes (a few
    lags for a well-mixing parameter) instead of by an FFT over every lag: the same numbers as
    ArviZ's ``_ess`` at a fraction of the cost for thousands of parameters.
    """
    n_par, c, n = t.shape
    out = np.empty(n_par)
    rho = np.zeros(n)
    centred = np.empty((c, n))
    means = np.empty(c)
    for p in range(n_par):
        for ch in range(c):
            acc = 0.0
            for i in range(n):
                acc += t[p, ch, i]
            means[ch] = acc / n
            for i in range(n):
                centred[ch, i] = t[p, ch, i] - means[ch]
        mv = _mean_acov(centred, 0) * n / (n - 1.0)
        vp = mv * (n - 1.0) / n
        if c > 1:
            grand = means.mean()
            vp += ((means - grand) ** 2).sum() / (c - 1.0)
        if not vp > 0.0:                      # constant parameter: handled by the caller
            out[p] = np.nan
            continue
        rho[:] = 0.0
        rho_even = 1.0
        rho[0] = rho_even
        rho_odd = 1.0 - (mv - _mean_acov(centred, 1)) / vp
        rho[1] = rho_odd
        k = 1
        while k < n - 3 and rho_even + rho_odd > 0.0:
            rho_even = 1.0 - (mv - _mean_acov(centred, k + 1)) / vp
            rho_odd = 1.0 - (mv - _mean_acov(centred, k + 2)) / vp
            if rho_even + rho_odd >= 0:
                rho[k + 1] = rho_even
                rho[k + 2] = rho_odd
            k += 2
        max_t = k - 2
        if rho_even > 0:
            rho[max_t + 1] = rho_even
        k = 1
        while k <= max_t - 2:
            if rho[k + 1] + rho[k + 2] > rho[k - 1] + rho[k]:
                rho[k + 1] = (rho[k - 1] + rho[k]) / 2.0
                rho[k + 2] = rho[k + 1]
            k += 2
        ess = c * n
        tau = -1.0 + 2.0 * rho[: max_t + 1].sum() + rho[max_t + 1: max_t + 2].sum()
        tau = max(tau, 1.0 / np.log10(ess))
        value = ess / tau
        if np.isnan(tau):
            value = np.nan
        out[p] = value
    return out


def _ess(t: Array) -> Array:
    """ESS of every parameter of a (parameters, chain, draw) array (ArviZ's ``_ess``)."""
    p, c, n = t.shape
    const = (t.max(axis=(1, 2)) - t.min(axis=(1, 2))) < np.finfo(float).resolution
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _ess_rows(np.ascontiguousarray(t, dtype=np.float64))
    out[const] = c * n
    return out


def _ess_tail(t: Array) -> Array:
    q = row_quantiles(t.reshape(t.shape[0], -1), *_TAIL).T        # np.quantile's, bit for bit
    low = _ess(_split((t <= q[0][:, None, None]).astype(np.float64)))
    high = _ess(_split((t <= q[1][:, None, None]).astype(np.float64)))
    return np.minimum(low, high)


def _block_stats(t: Array, tail: bool) -> Array:
    """Rows r_hat, bulk ESS and tail ESS (NaN unless ``tail``) of a (parameters, chain, draw) block."""
    p, c, n = t.shape
    out = np.full((3, p), np.nan)
    if n < 4:
        return out
    s = _split(t)
    flat = s.reshape(p, -1)
    z, zf = _rank_scores(flat, np.argsort(flat, axis=1), _score_table(flat.shape[1]))
    z, zf = z.reshape(s.shape), zf.reshape(s.shape)
    out[1] = _ess(z)
    if c >= 2:
        out[0] = np.maximum(_rhat_basic(z), _rhat_basic(zf))
    if tail:
        out[2] = _ess_tail(t)
    return out


def _stats(variables: list[tuple[Array, bool]]) -> list[Array]:
    """r_hat, bulk and tail ESS (rows) of every parameter of each (draws, tail?) pair, block by block."""
    arrays = [np.asarray(d, dtype=np.float64) for d, _ in variables]
    arrays = [a.reshape(a.shape[0], a.shape[1], -1) for a in arrays]
    outs = [np.empty((3, a.shape[2])) for a in arrays]
    blocks = [(k, i, min(i + _BLOCK, a.shape[2])) for k, a in enumerate(arrays) for i in range(0, a.shape[2], _BLOCK)]

    def run(s: slice) -> None:
        for k, first, stop in blocks[s]:
            block = np.ascontiguousarray(arrays[k][:, :, first:stop].transpose(2, 0, 1))
            outs[k][:, first:stop] = _block_stats(block, variables[k][1])

    in_blocks(run, len(blocks), size=1)
    return outs


def rhat(draws: Array) -> Array:
    """Rank-normalised split r_hat of every parameter in draws (chain, draw, ...), flattened."""
    return _stats([(draws, False)])[0][0]


def ess_bulk(draws: Array) -> Array:
    """Bulk effective sample size of every parameter in draws (chain, draw, ...), flattened."""
    return _stats([(draws, False)])[0][1]


def ess_tail(draws: Array) -> Array:
    """Tail effective sample size: min of the ESS of the 5 % and 95 % quantile indicators."""
    return _stats([(draws, True)])[0][2]


SMALL_VARIABLE = 64
"""Variables of at most this many parameters (the hyperparameters) are "small" for :func:`small_rhat`."""


def small_rhat(sample: PosteriorSample) -> float:
    """The largest r_hat of the sample's small variables (the hyperparameters; NaN when there are none).

    Cheap beside :func:`diagnose` at catalogue scale (a few parameters instead of 20,000 cells), and it
    decides the same way when it is above the limit: :func:`diagnose`'s largest r_hat of every parameter
    is at least this. The growing sampler asks it first (``sigma_delta`` mixes slowest).
    """
    sizes = getattr(sample.draws, "sizes", None)       # a lazily converted trace knows them unread
    cells = {k: sizes[k] if sizes is not None else int(np.prod(np.shape(sample.draws[k])[2:], dtype=int))
             for k in sample.draws}
    small = [sample.draws[k] for k, n in cells.items() if n <= SMALL_VARIABLE]
    if not small:
        return float("nan")
    return _worst(np.concatenate([s[0] for s in _stats([(d, False) for d in small])]), np.nanmax)


def _worst(values: Array, pick: Any) -> float:
    """``pick`` (np.nanmax or np.nanmin) of the finite values, NaN when there are none."""
    return float(pick(values)) if np.isfinite(values).any() else float("nan")


def diagnose(sample: PosteriorSample, limits: HierarchicalSettings) -> Diagnostics:
    """Diagnostics of ``sample`` with a warning for every limit it breaks."""
    names = list(sample.draws)
    stats = _stats([(sample.draws[k], k == "delta") for k in names])
    r_all = np.concatenate([s[0] for s in stats])
    e_all = np.concatenate([s[1] for s in stats])
    r_l, e_l, t_l = stats[names.index("delta")]
    rhat_l, ess_b_l, ess_t_l = _worst(r_l, np.nanmax), _worst(e_l, np.nanmin), _worst(t_l, np.nanmin)
    rhat_a, ess_a = _worst(r_all, np.nanmax), _worst(e_all, np.nanmin)
    divergences = int(sample.diverging.sum())
    warnings: list[str] = []
    if not rhat_l <= limits.max_rhat:
        warnings.append(f"r_hat of a SKU lift up to {rhat_l:.3f} (> {limits.max_rhat}): chains disagree; "
                        "run longer or check the model")
    if not ess_b_l >= limits.min_ess_bulk:
        warnings.append(f"bulk ESS of a SKU lift only {ess_b_l:.0f} (< {limits.min_ess_bulk:.0f}): "
                        "intervals are imprecise; draw more")
    if not rhat_a <= limits.max_rhat_hyper:
        warnings.append(f"r_hat of a hyperparameter up to {rhat_a:.3f} (> {limits.max_rhat_hyper}): category priors "
                        "are unreliable; run longer")
    if divergences:
        warnings.append(f"{divergences} divergent transitions: the posterior may be biased; "
                        "try another parameterisation or a higher target_accept")
    return Diagnostics(sampler=sample.sampler, parameterisation=sample.parameterisation, chains=sample.chains,
                       draws=sample.n_draws, tune=sample.tune, max_rhat_lifts=rhat_l, min_ess_bulk_lifts=ess_b_l,
                       min_ess_tail_lifts=ess_t_l, max_rhat_all=rhat_a, min_ess_bulk_all=ess_a,
                       divergences=divergences, compile_seconds=sample.compile_seconds,
                       sample_seconds=sample.sample_seconds, warnings=tuple(warnings))
