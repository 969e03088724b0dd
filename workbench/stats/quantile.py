"""Quantile metrics (p50, p90, p99 of page-level values with users randomised): clustered delta method.

A quantile metric compares a quantile of *event-level* values (the p90 of LCP over page views,
the median dwell time, the p95 order value) between arms whose **users** were randomised. Page
views of one user are not independent (a user on a slow phone has slow pages), so the textbook
interval ``p(1−p) / (N f(q)²)`` over N page views is too narrow. Deng, Knoblich and Lu (2018,
"Applying the Delta Method in Metric Analytics", section on quantile metrics) write the
empirical CDF at the estimate as a ratio of per-user sums::

    F̂(q̂) = Σᵢ Sᵢ / Σᵢ Nᵢ,   Sᵢ = #{values of user i ≤ q̂},   Nᵢ = #{values of user i}

and its variance by the delta method for a ratio of per-unit sums (the same formula as ratio
metrics, :mod:`.ratio`)::

    σ²_F = (σ²_S − 2 F σ_SN + F² σ²_N) / (n · N̄²)       (per-user variances, n users)

The variance is mapped from the probability scale to the value scale by the **outer
(rank-interval) method**, not by a density estimate: with ``z = Φ⁻¹(1 − rank_alpha/2)``,

    L, U = p ∓ z·σ_F,   q_lo, q_hi = Q̂(L), Q̂(U),   se(q̂) = (q_hi − q_lo) / (2 z)

(Woodruff's interval, which Deng et al. recommend). Why this one: it needs no bandwidth (the
density method's ``1/f̂(q)`` is sensitive to the kernel and bin width, and the histogram's bins are
far finer than a good bandwidth), it adapts to the local shape of the distribution and to the
clustering (a larger σ_F reads a wider stretch of the CDF), and it is what makes the statistics
small: ``q_lo`` and ``q_hi`` are read off the same histogram as ``q̂``, so the decision needs only
a handful of numbers per arm. ``(q_hi − q_lo)/(2z)`` is ``σ_F / f̂`` with the density estimated
over exactly the span the interval needs. Arms are independent, so the difference has
``se² = se_c² + se_t²``; the z-test, the interval and the relative difference (delta method,
``q_t/q_c − 1``) come from :func:`~workbench.stats.frequentist.diff_test`, as for every other
metric. The ``test`` name is ``"quantile-delta"``.

Assumptions: units (users) are independent and randomised; the value distribution is continuous
near the quantile (ties at the quantile — integer seconds, a price point — make ``q_lo = q_hi``
and a zero standard error: the estimate sits on an atom); enough events on both sides of the
quantile (for p99, a few thousand events per arm) for the normal approximation.

**Histogram and resolution.** Values are binned on a log scale with relative width ``resolution``
(bin ``k`` holds ``|v|`` in ``[floor·(1+r)^(k−1), floor·(1+r)^k)``, negative values mirrored, ``|v| <
floor`` in bin 0), and each bin keeps its count, smallest and largest value. An order statistic
is read inside its bin by linear interpolation between the bin's smallest and largest value, and
the quantile interpolates between order statistics as ``numpy.quantile`` does (its default
``linear`` method). So the estimate differs from ``numpy.quantile`` of the same values by at most
``resolution × max(|x₍ₖ₎|, |x₍ₖ₊₁₎|)`` (the two order statistics around the quantile; plus
``2·floor`` for values below ``floor``), and is exact where a bin holds one distinct value.

>>> rng = np.random.default_rng(1)
>>> units = [np.repeat(np.arange(400), 5), np.repeat(np.arange(400), 5)]
>>> lcp = [np.exp(rng.normal(0.6, 0.4, 2000) + np.repeat(rng.normal(0, 0.3, 400), 5)) for _ in range(2)]
>>> lcp[1] = lcp[1] * 1.1
>>> s = QuantileStats.from_values(lcp, units, prob=0.9)
>>> bool(abs(s.quantile[0] - np.quantile(lcp[0], 0.9)) <= 1e-3 * s.quantile[0])
True
>>> r = compare_quantile(s, arms=["control", "treatment"])
>>> r.test, round(r.lift_rel[0], 3), round(r.p_value[0], 3)
(('quantile-delta',), 0.112, 0.001)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..display import ResultMixin
from ..errors import InputError
from ._checks import bad, check_choice, check_probability
from .frequentist import Alternative, ComparisonTable, DiffArrays, diff_test
from .ratio import ratio_core
from .sufficient import RatioStats

__all__ = ["DEFAULT_RESOLUTION", "DEFAULT_FLOOR", "RANK_ALPHA", "QuantileInputError", "bin_keys", "ArmHistogram",
           "QuantileStats", "quantile_core", "quantile_compare_core", "check_quantile", "QuantileComparison",
           "compare_quantile"]

Array = NDArray[np.float64]

DEFAULT_RESOLUTION = 0.001
"""Relative bin width of the histogram: 0.1 %, so a point value is within 0.1 % of numpy's."""
DEFAULT_FLOOR = 1e-9
"""Values with ``|v|`` below this share bin 0 (log bins cannot reach zero)."""
RANK_ALPHA = 0.05
"""Level of the rank interval ``p ∓ z σ_F`` whose ends give the standard error (z = 1.96)."""


class QuantileInputError(InputError, ValueError):
    """Bad input to a quantile function: an :class:`InputError` (exit 2 in the CLI) and a ValueError."""


def _bad(code: str, message: str, **kw: Any) -> QuantileInputError:
    e = bad(code, message, **kw)
    return QuantileInputError(e.problems)


def _check_prob(name: str, value: Any) -> float:
    try:
        return check_probability(name, value)
    except InputError as e:
        raise QuantileInputError(e.problems) from None


def _check_resolution(resolution: float, floor: float) -> None:
    if not (isinstance(resolution, (int, float)) and 0 < resolution <= 0.1):
        raise _bad("bad_parameter", "resolution must be a relative bin width in (0, 0.1]", column="resolution",
                   value=resolution)
    if not (isinstance(floor, (int, float)) and 0 < floor < 1):
        raise _bad("bad_parameter", "floor must be a small positive number", column="floor", value=floor)


def bin_keys(values: ArrayLike, *, resolution: float = DEFAULT_RESOLUTION, floor: float = DEFAULT_FLOOR
             ) -> NDArray[np.int64]:
    """Histogram bin of every value: ±(⌊ln(|v|/floor) / ln(1+resolution)⌋ + 1), 0 when ``|v| < floor``.

    Keys increase with the value, so sorting bins by key sorts them by value. The Ibis function in
    :mod:`workbench.quantiles` computes the same keys in the engine.

    >>> bin_keys([0.5, 1.0, 1.05, 1.2, -1.2], resolution=0.1, floor=1.0).tolist()
    [0, 1, 1, 2, -2]
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.maximum(np.abs(v), floor)
    k = np.floor((np.log(a) - np.log(floor)) / np.log1p(resolution)).astype(np.int64) + 1
    k = np.where(np.abs(v) < floor, 0, k)
    return np.where(v < 0, -k, k)


@dataclass(frozen=True)
class ArmHistogram(ResultMixin):
    """One arm's fine histogram: per bin (ascending) the number of values and their min and max.

    >>> h = ArmHistogram.from_values([3.0, 1.0, 2.0, 2.0, 10.0], resolution=None)
    >>> h.count.tolist(), h.quantile([0.5, 0.9]).tolist() == np.quantile([3, 1, 2, 2, 10], [0.5, 0.9]).tolist()
    ([1.0, 2.0, 1.0, 1.0], True)
    """

    count: Array
    vmin: Array
    vmax: Array

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, np.asarray(getattr(self, f.name), dtype=np.float64).reshape(-1))
        object.__setattr__(self, "_ends", np.cumsum(self.count))

    @classmethod
    def from_bins(cls, count: ArrayLike, vmin: ArrayLike, vmax: ArrayLike) -> "ArmHistogram":
        """Bins in any order (e.g. rows out of the engine), sorted by value; empty bins dropped."""
        c, lo, hi = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (count, vmin, vmax))
        keep = c > 0
        c, lo, hi = c[keep], lo[keep], hi[keep]
        order = np.lexsort((hi, lo))
        return cls(c[order], lo[order], hi[order])

    @classmethod
    def from_values(cls, values: ArrayLike, *, resolution: float | None = DEFAULT_RESOLUTION,
                    floor: float = DEFAULT_FLOOR) -> "ArmHistogram":
        """Histogram of raw values; ``resolution=None`` gives one bin per distinct value (exact)."""
        v = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
        v = v[np.isfinite(v)]
        if resolution is None:
            u, c = np.unique(v, return_counts=True)
            return cls(c, u, u)
        keys = bin_keys(v, resolution=resolution, floor=floor)   # non-decreasing: v is sorted
        breaks = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        starts = np.concatenate(([0], breaks)) if len(v) else breaks
        ends = np.concatenate((breaks, [len(v)])) if len(v) else breaks
        return cls(ends - starts, v[starts], v[ends - 1])

    @property
    def total(self) -> float:
        return float(self._ends[-1]) if len(self._ends) else 0.0

    def order_statistic(self, j: ArrayLike) -> Array:
        """Estimated ``j``-th smallest value (0-based): linear in rank between the bin's min and max."""
        j = np.asarray(j, dtype=np.float64)
        ends = self._ends
        b = np.minimum(np.searchsorted(ends, j, side="right"), len(ends) - 1)
        start = ends[b] - self.count[b]
        span = np.maximum(self.count[b] - 1.0, 1.0)
        t = np.clip((j - start) / span, 0.0, 1.0)
        return self.vmin[b] + (self.vmax[b] - self.vmin[b]) * t

    def quantile(self, probs: ArrayLike) -> Array:
        """Quantiles with numpy's default (``linear``) interpolation between order statistics."""
        p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
        if self.total == 0:
            return np.full(p.shape, np.nan)
        h = (self.total - 1.0) * p
        k = np.floor(h)
        frac = h - k
        lo = self.order_statistic(k)
        hi = self.order_statistic(np.minimum(k + 1.0, self.total - 1.0))
        return np.where(frac > 0, lo + (hi - lo) * frac, lo)


@dataclass(frozen=True)
class QuantileStats(ResultMixin):
    """Sufficient statistics of a quantile metric: arrays with arms on the last axis (control first).

    Any leading shape (probabilities, metrics, experiments) works; ``prob`` broadcasts against it.
    ``n`` users (those without a value may be counted: they change the variance only by the factor
    n/(n − 1)); ``events`` = ΣNᵢ and ``events_sq`` = ΣNᵢ²; ``below`` = ΣSᵢ,
    ``below_sq`` = ΣSᵢ², ``below_events`` = ΣSᵢNᵢ where Sᵢ counts user i's values ≤ ``quantile``;
    ``quantile_lo``/``quantile_hi`` are the quantiles at ``prob ∓ rank_z·σ_F`` read off the same
    histogram (see the module docstring). ``resolution`` records the histogram's bin width (NaN
    when the quantiles are exact).
    """

    prob: Array
    n: Array
    events: Array
    events_sq: Array
    below: Array
    below_sq: Array
    below_events: Array
    quantile: Array
    quantile_lo: Array
    quantile_hi: Array
    rank_z: float = float(special.ndtri(1 - RANK_ALPHA / 2))
    resolution: float = DEFAULT_RESOLUTION

    def __post_init__(self) -> None:
        for f in fields(self)[:10]:
            object.__setattr__(self, f.name, np.asarray(getattr(self, f.name), dtype=np.float64))
        object.__setattr__(self, "rank_z", float(self.rank_z))
        object.__setattr__(self, "resolution", float(self.resolution))

    def to_frame(self) -> Any:
        """One row per arm (and leading index): the ten arrays as columns, ``arm`` the position on the last axis."""
        import pandas as pd
        shape = self.n.shape
        cols = {f.name: np.broadcast_to(getattr(self, f.name), shape).reshape(-1) for f in fields(self)[:10]}
        return pd.DataFrame({"arm": np.broadcast_to(np.arange(shape[-1] if shape else 1), shape).reshape(-1), **cols})

    @property
    def indicator(self) -> RatioStats:
        """The indicator ratio F̂ = ΣS/ΣN as ratio-metric sums (numerator S, denominator N)."""
        return RatioStats(self.n, self.below, self.below_sq, self.events, self.events_sq, self.below_events)

    def take(self, index: ArrayLike, axis: int = -1) -> "QuantileStats":
        """Select arms (or entries of another axis); ``prob`` is broadcast first."""
        vals = [np.take(np.broadcast_to(getattr(self, f.name), self.n.shape) if f.name == "prob"
                        else getattr(self, f.name), index, axis=axis) for f in fields(self)[:10]]
        return QuantileStats(*vals, rank_z=self.rank_z, resolution=self.resolution)

    @classmethod
    def from_moments(cls, histograms: Sequence[ArmHistogram], prob: float | Sequence[float], *, n: ArrayLike,
                     events: ArrayLike, events_sq: ArrayLike, below: ArrayLike, below_sq: ArrayLike,
                     below_events: ArrayLike, quantile: ArrayLike, rank_alpha: float = RANK_ALPHA,
                     resolution: float | None = DEFAULT_RESOLUTION) -> "QuantileStats":
        """Finish the statistics: per-arm moments at ``quantile`` plus each arm's histogram give the rank
        interval ``quantile_lo``/``quantile_hi``. Arrays are ``(arms,)`` for one probability or
        ``(len(prob), arms)`` for several (the moments of probability k in row k)."""
        z = float(special.ndtri(1 - rank_alpha / 2))
        probs = np.asarray(prob, dtype=np.float64)
        m = [np.atleast_1d(np.asarray(x, dtype=np.float64))
             for x in (n, events, events_sq, below, below_sq, below_events, quantile)]
        m = [np.broadcast_to(x, np.broadcast_shapes(*(y.shape for y in m))) for x in m]
        _, _, se2 = ratio_core(RatioStats(m[0], m[3], m[4], m[1], m[2], m[5]))
        if len(histograms) != m[0].shape[-1]:
            raise _bad("bad_shape", f"{len(histograms)} histograms for {m[0].shape[-1]} arms", column="histograms",
                       value=len(histograms))
        sigma = np.sqrt(se2)                     # (arms,) or (K, arms); NaN with fewer than 2 units
        p_full = np.broadcast_to(probs[..., None] if probs.ndim else probs, sigma.shape)
        lo, hi = np.empty(sigma.shape), np.empty(sigma.shape)
        for a, h in enumerate(histograms):                 # one pass per arm for every probability and both ends
            pa, sa = p_full[..., a], np.nan_to_num(sigma[..., a], nan=0.0)
            qs = h.quantile(np.concatenate([np.ravel(pa - z * sa), np.ravel(pa + z * sa)]))
            lo[..., a], hi[..., a] = qs[:pa.size].reshape(pa.shape), qs[pa.size:].reshape(pa.shape)
        undefined = ~np.isfinite(sigma)
        lo[undefined], hi[undefined] = np.nan, np.nan
        return cls(p_full.copy(), *m, lo, hi, rank_z=z,
                   resolution=np.nan if resolution is None else resolution)

    @classmethod
    def from_values(cls, values: Sequence[ArrayLike], units: Sequence[ArrayLike], prob: float | Sequence[float], *,
                    resolution: float | None = DEFAULT_RESOLUTION, floor: float = DEFAULT_FLOOR,
                    rank_alpha: float = RANK_ALPHA) -> "QuantileStats":
        """Statistics from raw event values and their unit ids, one pair of arrays per arm (tests, small
        data). ``resolution=None`` uses exact order statistics; otherwise the same histogram as the
        engine. Several probabilities give a leading axis (one row each). Non-finite values are dropped."""
        many = np.ndim(prob) > 0
        probs = np.array([_check_prob("prob", p) for p in np.reshape(prob, -1)], dtype=np.float64)
        if resolution is not None:
            _check_resolution(resolution, floor)
        if len(values) != len(units):
            raise _bad("bad_shape", f"{len(values)} arms of values but {len(units)} of unit ids", column="units",
                       value=len(units))
        hists, cols = [], []
        for i, (v, u) in enumerate(zip(values, units)):
            v, u = np.asarray(v, dtype=np.float64).reshape(-1), np.asarray(u).reshape(-1)
            if v.shape != u.shape:
                raise _bad("bad_shape", f"arm {i}: {len(v)} values but {len(u)} unit ids", column="units", row=i + 1,
                           value=len(u))
            ok = np.isfinite(v)
            v, u = v[ok], u[ok]
            if len(v) == 0:
                raise _bad("empty_arm", f"arm {i} has no finite values", column="values", row=i + 1, value=0)
            h = ArmHistogram.from_values(v, resolution=resolution, floor=floor)
            q = h.quantile(probs)                                              # (K,)
            _, inv = np.unique(u, return_inverse=True)
            n_i = np.bincount(inv).astype(np.float64)
            s_i = np.stack([np.bincount(inv, weights=(v <= qk).astype(np.float64), minlength=len(n_i)) for qk in q])
            hists.append(h)
            cols.append(np.stack([np.full(len(q), len(n_i)), np.full(len(q), n_i.sum()),
                                  np.full(len(q), (n_i * n_i).sum()), s_i.sum(axis=1), (s_i * s_i).sum(axis=1),
                                  (s_i * n_i).sum(axis=1), q]))                 # (7, K)
        c = np.stack(cols, axis=-1)                                            # (7, K, arms)
        if not many:
            c = c[:, 0]
        return cls.from_moments(hists, probs if many else float(probs[0]), n=c[0], events=c[1], events_sq=c[2],
                                below=c[3], below_sq=c[4], below_events=c[5], quantile=c[6], rank_alpha=rank_alpha,
                                resolution=resolution)


def quantile_core(stats: QuantileStats) -> tuple[Array, Array, Array]:
    """Per-arm quantile, standard error of F̂ (probability scale) and squared standard error of the quantile."""
    _, _, se2_f = ratio_core(stats.indicator)
    se_q = (stats.quantile_hi - stats.quantile_lo) / (2.0 * stats.rank_z)
    return stats.quantile, np.sqrt(se2_f), se_q * se_q


def quantile_compare_core(stats: QuantileStats, *, alpha: float = 0.05, alternative: str = "two-sided",
                          null: float = 0.0, null_rel: float | None = None) -> DiffArrays:
    """Every arm against arm 0 (z-test on the difference of quantiles; relative lift by the delta method)."""
    q, _, se2 = quantile_core(stats)
    q_c, s_c, q_t, s_t = q[..., :1], se2[..., :1], q[..., 1:], se2[..., 1:]
    out = list(diff_test(q_c, s_c, q_t, s_t, np.inf, alpha=alpha, alternative=alternative, null=null,
                         null_rel=null_rel))
    undefined = ~np.isfinite(out[1])         # an arm with < 2 units: no interval and no p-value, never p = 0
    if undefined.any():
        for i in (1, 3, 4, 5, 6, 8, 9, 10):  # se, statistic, p, ci, se_rel, rel ci
            out[i] = np.where(undefined, np.nan, out[i])
    return DiffArrays(np.broadcast_to(q_c, q_t.shape).copy(), q_t, *out,
                      test=np.full(q_t.shape, "quantile-delta", dtype=object))


def check_quantile(stats: QuantileStats, *, arms: Sequence[str] | None = None) -> None:
    """Probability in (0, 1), at least two arms, users in every arm, consistent counts and quantiles."""
    p = np.broadcast_to(stats.prob, stats.n.shape) if stats.n.ndim else stats.prob
    bad_p = ~((p > 0) & (p < 1))
    if np.any(bad_p):
        raise _bad("bad_parameter", "prob must be strictly between 0 and 1", column="prob",
                   value=float(np.asarray(p)[bad_p].reshape(-1)[0]))
    if stats.n.ndim == 0 or stats.n.shape[-1] < 2:
        raise _bad("single_arm", "at least 2 arms are needed (a control and a variant)", column="n",
                   value=1 if stats.n.ndim == 0 else stats.n.shape[-1])

    def first(mask: NDArray[np.bool_]) -> tuple[int, str]:
        idx = tuple(int(i) for i in np.argwhere(mask)[0])
        arm = idx[-1]
        return arm, f"arm {arm}" + (f" ({arms[arm]})" if arms is not None and arm < len(arms) else "")

    for mask, code, text in ((stats.n <= 0, "empty_arm", "has no units with a value; every arm needs units"),
                             (stats.n < 2, "too_few_units", "has a single unit with a value; the clustered "
                              "variance needs at least 2 (and a meaningful interval many more)")):
        if mask.any():
            i, name = first(mask)
            raise _bad(code, f"{name} {text}", column="n", row=i + 1, value=stats.n[tuple(np.argwhere(mask)[0])])
    for f in fields(stats)[1:10]:
        a = getattr(stats, f.name)
        if (m := ~np.isfinite(a)).any():
            i, name = first(m)
            raise _bad("not_finite", f"{f.name} of {name} is not a finite number", column=f.name, row=i + 1,
                       value=str(a[tuple(np.argwhere(m)[0])]))
    checks = [
              ("events", stats.events < stats.n, "has fewer events than units", "inconsistent"),
              ("below", (stats.below < 0) | (stats.below > stats.events),
               "counts more events below the quantile than it has events", "inconsistent"),
              ("quantile_lo", stats.quantile_lo > stats.quantile, "has quantile_lo above the quantile", "inconsistent"),
              ("quantile_hi", stats.quantile_hi < stats.quantile, "has quantile_hi below the quantile", "inconsistent")]
    for col, mask, text, code in checks:
        if mask.any():
            i, name = first(mask)
            raise _bad(code, f"{name} {text}", column=col, row=i + 1,
                       value=getattr(stats, col)[tuple(np.argwhere(mask)[0])])


@dataclass(frozen=True)
class QuantileComparison(ResultMixin):
    """Result of :func:`compare_quantile` for one metric: per arm, then one entry per variant vs control.

    ``estimate``/``se_estimate``: each arm's quantile and its standard error (control first);
    ``estimate_lo``/``estimate_hi``: each arm's own outer interval ``[Q̂(p − zσ_F), Q̂(p + zσ_F)]`` at
    the rank level (95 % by default; asymmetric where the distribution is skewed) — what an absolute
    guardrail such as ``lcp_p90 <= 3.5 s`` reads;
    ``lift_abs`` = q_variant − q_control with ``lift_abs_lo``/``lift_abs_hi``; ``lift_rel`` =
    q_variant / q_control − 1 with its interval; ``se`` is the standard error of the difference.
    """

    prob: float
    arms: tuple[str, ...]
    estimate: tuple[float, ...]
    se_estimate: tuple[float, ...]
    estimate_lo: tuple[float, ...]
    estimate_hi: tuple[float, ...]
    alpha: float
    alternative: str
    variants: tuple[str, ...]
    lift_abs: tuple[float, ...]
    lift_abs_lo: tuple[float, ...]
    lift_abs_hi: tuple[float, ...]
    lift_rel: tuple[float, ...]
    lift_rel_lo: tuple[float, ...]
    lift_rel_hi: tuple[float, ...]
    se: tuple[float, ...]
    p_value: tuple[float, ...]
    test: tuple[str, ...]
    resolution: float

    def ci(self, i: int) -> tuple[float, float]:
        return self.lift_abs_lo[i], self.lift_abs_hi[i]

    def rel_ci(self, i: int) -> tuple[float, float]:
        return self.lift_rel_lo[i], self.lift_rel_hi[i]

    def to_table(self) -> ComparisonTable:
        """The same numbers as the :class:`ComparisonTable` every other metric kind returns."""
        k = len(self.variants)
        return ComparisonTable(self.variants, self.arms[0], "quantile", self.alternative, self.alpha,
                               (self.estimate[0],) * k, self.estimate[1:], self.lift_abs, self.lift_abs_lo,
                               self.lift_abs_hi, self.lift_rel, self.lift_rel_lo, self.lift_rel_hi, self.p_value,
                               self.se, (float("inf"),) * k, self.test)

    def to_frame(self) -> Any:
        return self.to_table().to_frame().assign(prob=self.prob)


def compare_quantile(stats: QuantileStats, *, arms: Sequence[str] | None = None, alpha: float = 0.05,
                     alternative: Alternative = "two-sided", null: float = 0.0,
                     null_rel: float | None = None) -> QuantileComparison:
    """Validated comparison of one quantile metric (1-D arrays, arms only; control first).

    Raises :class:`QuantileInputError` (a ValueError) naming the arm and value for a probability
    outside (0, 1), an empty arm, a single arm, non-finite or inconsistent statistics.
    """
    try:
        check_choice("alternative", alternative, ("two-sided", "greater", "less"))
        alpha = check_probability("alpha", alpha)
    except InputError as e:
        raise QuantileInputError(e.problems) from None
    check_quantile(stats, arms=arms)
    if stats.n.ndim != 1:
        raise _bad("bad_shape", "compare_quantile() takes one metric (1-D arms); use quantile_compare_core for "
                   "batches", column="n", value=str(stats.n.shape))
    names = tuple(arms) if arms is not None else tuple(f"arm{i}" for i in range(stats.n.shape[-1]))
    if len(names) != stats.n.shape[-1]:
        raise _bad("bad_shape", f"{len(names)} arm names for {stats.n.shape[-1]} arms", column="arms",
                   value=len(names))
    r = quantile_compare_core(stats, alpha=alpha, alternative=alternative, null=null, null_rel=null_rel)
    _, _, se2 = quantile_core(stats)

    def t(a: ArrayLike) -> tuple:
        return tuple(np.asarray(a, dtype=object if np.asarray(a).dtype == object else np.float64)
                     .reshape(-1).tolist())
    return QuantileComparison(float(np.asarray(stats.prob).reshape(-1)[0]), names, t(stats.quantile),
                              t(np.sqrt(se2)), t(stats.quantile_lo), t(stats.quantile_hi), alpha, alternative,
                              names[1:], t(r.lift_abs), t(r.ci_lo), t(r.ci_hi), t(r.lift_rel), t(r.rel_ci_lo),
                              t(r.rel_ci_hi), t(r.se), t(r.p_value), t(r.test), stats.resolution)


