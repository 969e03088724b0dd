"""Frequentist comparisons of every variant with the control, from sufficient statistics.

Conventions (DESIGN.md):

- **Means**: Welch's t-test on the difference of means, Welch–Satterthwaite degrees of freedom.
  The p-value and the confidence interval come from the same statistic, so "significant" always
  means "the interval excludes the null".
- **Proportions**: the same statistic with the per-unit variance p(1−p) (the unpooled Wald
  z-test; with thousands of units the Welch degrees of freedom are so large that the t reference
  *is* the normal, and using the normal makes the result identical to statsmodels' Wald test).
  **Small counts** (an arm of the pair with fewer than ``small_count`` successes or failures)
  switch to Fisher's exact p-value and the Newcombe hybrid-score interval for the difference;
  the ``test`` says which was used.
- **Relative lift** ``variant / control − 1``: delta-method interval with
  var ≈ σt²/(nt·μc²) + μt²·σc²/(nc·μc⁴), using the same critical value as the absolute interval.
- **One-sided tests and non-inferiority**: ``alternative="greater"`` tests lift > ``null``;
  a non-inferiority margin ("no worse than −2 %") is ``alternative="greater", null_rel=-0.02``
  (see :func:`non_inferiority`). One-sided intervals are one-sided: ``(lo, +inf)``.

Every core takes arrays with arms on the last axis (control = arm 0) and any leading shape, and
returns :class:`DiffArrays` with one entry per variant (last axis of length ``arms − 1``).

>>> from workbench.stats.sufficient import SufficientStats
>>> r = compare(SufficientStats.from_counts([10000, 10000], [1000, 1100]), kind="proportion")
>>> r.test, round(r.lift_abs[0], 4), [round(x, 4) for x in r.ci(0)], round(r.p_value[0], 4)
(('z',), 0.01, [0.0015, 0.0185], 0.0211)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..display import ResultMixin
from ._checks import bad, check_choice, check_probability, check_sufficient
from .sufficient import SufficientStats

__all__ = ["Alternative", "DiffArrays", "ComparisonTable", "welch_df", "t_quantile", "diff_test", "means_core", "proportions_core",
           "fisher_exact_pvalue", "wilson_interval", "newcombe_interval", "non_inferiority", "compare"]

Alternative = Literal["two-sided", "greater", "less"]
Array = NDArray[np.float64]


class DiffArrays(NamedTuple):
    """Variant-vs-control results as arrays of shape (..., arms − 1)."""

    control_value: Array
    variant_value: Array
    lift_abs: Array
    se: Array
    df: Array
    statistic: Array
    p_value: Array
    ci_lo: Array
    ci_hi: Array
    lift_rel: Array
    se_rel: Array
    rel_ci_lo: Array
    rel_ci_hi: Array
    test: NDArray[np.str_]


def welch_df(var_c: ArrayLike, n_c: ArrayLike, var_t: ArrayLike, n_t: ArrayLike) -> Array:
    """Welch–Satterthwaite degrees of freedom (inf when both variances are zero)."""
    a = np.asarray(var_c) / n_c
    b = np.asarray(var_t) / n_t
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a * a / (np.asarray(n_c) - 1) + b * b / (np.asarray(n_t) - 1))
    return np.where(np.isfinite(df), df, np.inf)


def _cdf(t: Array, df: Array) -> Array:
    return np.where(np.isinf(df), special.ndtr(t), special.stdtr(np.where(np.isinf(df), 1.0, df), t))


def t_quantile(q: float, df: ArrayLike) -> Array:
    """Quantile ``q`` of Student's t with ``df`` degrees of freedom (the normal's where df is infinite).

    >>> round(float(t_quantile(0.975, np.inf)), 3), round(float(t_quantile(0.975, 10.0)), 3)
    (1.96, 2.228)
    """
    df = np.asarray(df, dtype=np.float64)
    return np.where(np.isinf(df), special.ndtri(q), special.stdtrit(np.where(np.isinf(df), 1.0, df), q))


def _p_from_stat(stat: Array, df: Array, alternative: str) -> Array:
    if alternative == "two-sided":
        p = 2.0 * _cdf(-np.abs(stat), df)
    elif alternative == "greater":
        p = _cdf(-stat, df)
    else:
        p = _cdf(stat, df)
    return np.minimum(p, 1.0)


def diff_test(m_c: ArrayLike, se2_c: ArrayLike, m_t: ArrayLike, se2_t: ArrayLike, df: ArrayLike = np.inf, *,
              alpha: float = 0.05, alternative: str = "two-sided", null: float = 0.0,
              null_rel: float | None = None) -> tuple[Array, ...]:
    """Test and intervals for ``m_t − m_c`` given each estimate's squared standard error.

    Returns ``(lift_abs, se, df, statistic, p, lo, hi, lift_rel, se_rel, rel_lo, rel_hi)``.
    ``null`` is the lift under H0 (absolute); ``null_rel`` puts H0 on the relative lift instead
    (the statistic is then ``(lift_rel − null_rel) / se_rel``). A zero standard error gives p = 1
    when the lift equals the null and p = 0 otherwise.
    """
    m_c, m_t = np.asarray(m_c, dtype=np.float64), np.asarray(m_t, dtype=np.float64)
    se2_c, se2_t = np.asarray(se2_c, dtype=np.float64), np.asarray(se2_t, dtype=np.float64)
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), np.broadcast_shapes(m_c.shape, m_t.shape))
    diff = m_t - m_c
    se = np.sqrt(se2_c + se2_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = m_t / m_c - 1.0
        se_rel = np.sqrt(se2_t / (m_c * m_c) + m_t * m_t * se2_c / m_c ** 4)
        if null_rel is None:
            num, den = diff - null, se
        else:
            # fall back to the absolute scale (control mean taken as fixed) where the ratio is undefined
            ok = np.isfinite(se_rel) & (m_c != 0)
            num = np.where(ok, rel - null_rel, diff - null_rel * m_c)
            den = np.where(ok, se_rel, se)
        stat = np.where(den > 0, num / den, np.where(num == 0, 0.0, np.sign(num) * np.inf))
    p = _p_from_stat(stat, df, alternative)
    if alternative == "two-sided":
        crit = t_quantile(1 - alpha / 2, df)
        lo, hi = diff - crit * se, diff + crit * se
        rlo, rhi = rel - crit * se_rel, rel + crit * se_rel
    else:
        crit = t_quantile(1 - alpha, df)
        inf = np.full_like(diff, np.inf)
        if alternative == "greater":
            lo, hi, rlo, rhi = diff - crit * se, inf, rel - crit * se_rel, inf
        else:
            lo, hi, rlo, rhi = -inf, diff + crit * se, -inf, rel + crit * se_rel
    return diff, se, df, stat, p, lo, hi, rel, se_rel, rlo, rhi


def means_core(n: ArrayLike, mean: ArrayLike, var: ArrayLike, *, alpha: float = 0.05,
               alternative: str = "two-sided", null: float = 0.0, null_rel: float | None = None,
               test_name: str = "welch") -> DiffArrays:
    """Welch's t-test of every arm against arm 0 from per-arm n, mean and per-unit variance."""
    n, mean, var = (np.asarray(a, dtype=np.float64) for a in (n, mean, var))
    n_c, m_c, v_c = n[..., :1], mean[..., :1], var[..., :1]
    n_t, m_t, v_t = n[..., 1:], mean[..., 1:], var[..., 1:]
    df = welch_df(v_c, n_c, v_t, n_t)
    out = diff_test(m_c, v_c / n_c, m_t, v_t / n_t, df, alpha=alpha, alternative=alternative, null=null,
                    null_rel=null_rel)
    return DiffArrays(np.broadcast_to(m_c, m_t.shape).copy(), m_t, *out,
                      test=np.full(m_t.shape, test_name, dtype=object))


def proportions_core(n: ArrayLike, successes: ArrayLike, *, alpha: float = 0.05, alternative: str = "two-sided",
                     null: float = 0.0, null_rel: float | None = None, small_count: int = 5,
                     exact: bool = True) -> DiffArrays:
    """Proportions of every arm against arm 0: Wald z with p(1−p), Fisher/Newcombe for small counts.

    The exact branch is used only for the ordinary hypothesis (no margin); with a margin the z-test
    is kept. ``exact=False`` never switches.
    """
    n = np.asarray(n, dtype=np.float64)
    s = np.asarray(successes, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / n
    n_c, p_c, s_c = n[..., :1], p[..., :1], s[..., :1]
    n_t, p_t, s_t = n[..., 1:], p[..., 1:], s[..., 1:]
    out = list(diff_test(p_c, p_c * (1 - p_c) / n_c, p_t, p_t * (1 - p_t) / n_t, np.inf, alpha=alpha,
                         alternative=alternative, null=null, null_rel=null_rel))
    shape = p_t.shape
    test = np.full(shape, "z", dtype=object)
    if exact and null == 0 and null_rel is None:
        small = ((np.minimum(s_c, n_c - s_c) < small_count) | (np.minimum(s_t, n_t - s_t) < small_count))
        small = np.broadcast_to(small, shape)
        if small.any():
            idx = np.nonzero(small)
            sc, nc = np.broadcast_to(s_c, shape)[idx], np.broadcast_to(n_c, shape)[idx]
            st, nt = s_t[idx], n_t[idx]
            out[4] = out[4].copy()
            out[4][idx] = fisher_exact_pvalue(sc, nc, st, nt, alternative=alternative)
            level_alpha = alpha if alternative == "two-sided" else 2 * alpha
            lo, hi = newcombe_interval(sc, nc, st, nt, alpha=level_alpha)
            out[5], out[6] = out[5].copy(), out[6].copy()
            if alternative != "less":
                out[5][idx] = lo
            if alternative != "greater":
                out[6][idx] = hi
            test[idx] = "fisher"
    return DiffArrays(np.broadcast_to(p_c, shape).copy(), p_t, *out, test=test)


def _log_hypergeom_pmf(k: Array, total: float, good: float, draws: float) -> Array:
    def lchoose(a: Array | float, b: Array | float) -> Array:
        return special.gammaln(np.asarray(a) + 1) - special.gammaln(np.asarray(b) + 1) - special.gammaln(
            np.asarray(a) - np.asarray(b) + 1)
    return lchoose(good, k) + lchoose(total - good, draws - k) - lchoose(total, draws)


def fisher_exact_pvalue(s_c: ArrayLike, n_c: ArrayLike, s_t: ArrayLike, n_t: ArrayLike, *,
                        alternative: str = "two-sided") -> Array:
    """Fisher's exact test of two proportions (variant vs control), element by element.

    The table is ``[[s_t, n_t − s_t], [s_c, n_c − s_c]]``; ``"greater"`` means the variant's rate
    is higher. Two-sided: the sum of the hypergeometric probabilities no larger than the observed
    one (relative tolerance 1e-7). The loop runs only over the (rare) small-count comparisons;
    each one is vectorised over its support.

    >>> round(float(fisher_exact_pvalue(1, 6, 8, 10)), 6)   # scipy: fisher_exact([[8, 2], [1, 5]])
    0.034965
    """
    s_c, n_c, s_t, n_t = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (s_c, n_c, s_t, n_t)))
    out = np.empty(s_c.shape)
    for i in np.ndindex(s_c.shape):
        draws, good = n_t[i], s_t[i] + s_c[i]
        total = n_t[i] + n_c[i]
        x = s_t[i]
        lo_k, hi_k = max(0.0, draws - (total - good)), min(good, draws)
        if good == 0 or good == total:
            out[i] = 1.0
            continue
        k = np.arange(lo_k, hi_k + 1)
        logp = _log_hypergeom_pmf(k, total, good, draws)
        pmf = np.exp(logp)
        if alternative == "greater":
            val = pmf[k >= x].sum()
        elif alternative == "less":
            val = pmf[k <= x].sum()
        else:
            obs = np.exp(_log_hypergeom_pmf(np.array(x), total, good, draws))
            val = pmf[pmf <= obs * (1 + 1e-7)].sum()
        out[i] = min(1.0, float(val))
    return out


def wilson_interval(successes: ArrayLike, n: ArrayLike, alpha: float = 0.05) -> tuple[Array, Array]:
    """Wilson score interval for a proportion (no continuity correction)."""
    s, n = np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64)
    z = -special.ndtri(alpha / 2)
    p = s / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def newcombe_interval(s_c: ArrayLike, n_c: ArrayLike, s_t: ArrayLike, n_t: ArrayLike, *,
                      alpha: float = 0.05) -> tuple[Array, Array]:
    """Newcombe's hybrid-score interval for ``p_t − p_c`` (method 10 of Newcombe 1998).

    >>> lo, hi = newcombe_interval(1, 6, 8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1299, 0.8313)
    """
    s_c, n_c, s_t, n_t = (np.asarray(a, dtype=np.float64) for a in (s_c, n_c, s_t, n_t))
    p_c, p_t = s_c / n_c, s_t / n_t
    l_c, u_c = wilson_interval(s_c, n_c, alpha)
    l_t, u_t = wilson_interval(s_t, n_t, alpha)
    d = p_t - p_c
    lo = d - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    hi = d + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    return lo, hi


def non_inferiority(margin: float, *, relative: bool = True, higher_is_better: bool = True
                    ) -> dict[str, float | str | None]:
    """Keyword arguments for a non-inferiority test: "the variant is no worse than ``margin``".

    ``margin`` is a positive amount of acceptable harm (0.02 = two percent when ``relative``).
    For a metric where higher is better, H0: lift ≤ −margin against H1: lift > −margin.

    >>> non_inferiority(0.02)
    {'alternative': 'greater', 'null': 0.0, 'null_rel': -0.02}
    >>> non_inferiority(0.001, relative=False, higher_is_better=False)
    {'alternative': 'less', 'null': 0.001, 'null_rel': None}
    """
    m = abs(float(margin))
    signed = -m if higher_is_better else m
    return {"alternative": "greater" if higher_is_better else "less",
            "null": 0.0 if relative else signed, "null_rel": signed if relative else None}


@dataclass(frozen=True)
class ComparisonTable(ResultMixin):
    """Friendly result of :func:`compare` for one experiment (1-D arms): one entry per variant."""

    variants: tuple[str, ...]
    control: str
    kind: str
    alternative: str
    alpha: float
    control_value: tuple[float, ...]
    variant_value: tuple[float, ...]
    lift_abs: tuple[float, ...]
    lift_abs_lo: tuple[float, ...]
    lift_abs_hi: tuple[float, ...]
    lift_rel: tuple[float, ...]
    lift_rel_lo: tuple[float, ...]
    lift_rel_hi: tuple[float, ...]
    p_value: tuple[float, ...]
    se: tuple[float, ...]
    df: tuple[float, ...]
    test: tuple[str, ...]

    def ci(self, i: int) -> tuple[float, float]:
        return self.lift_abs_lo[i], self.lift_abs_hi[i]

    def rel_ci(self, i: int) -> tuple[float, float]:
        return self.lift_rel_lo[i], self.lift_rel_hi[i]

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        cols = ["control_value", "variant_value", "lift_abs", "lift_abs_lo", "lift_abs_hi", "lift_rel",
                "lift_rel_lo", "lift_rel_hi", "p_value", "se", "df", "test"]
        return pd.DataFrame({"variant": d["variants"], "control": self.control, **{c: d[c] for c in cols}})

    @classmethod
    def from_arrays(cls, r: DiffArrays, *, variants: Sequence[str], control: str, kind: str, alternative: str,
                    alpha: float) -> "ComparisonTable":
        def t(a: np.ndarray) -> tuple:
            return tuple(np.asarray(a).reshape(-1).tolist())
        return cls(tuple(variants), control, kind, alternative, alpha, t(r.control_value), t(r.variant_value),
                   t(r.lift_abs), t(r.ci_lo), t(r.ci_hi), t(r.lift_rel), t(r.rel_ci_lo), t(r.rel_ci_hi),
                   t(r.p_value), t(r.se), t(r.df), t(r.test))


def compare(stats: SufficientStats, *, kind: Literal["proportion", "mean"] = "mean",
            arms: Sequence[str] | None = None, alpha: float = 0.05, alternative: Alternative = "two-sided",
            null: float = 0.0, null_rel: float | None = None, small_count: int = 5,
            exact: bool = True) -> ComparisonTable:
    """Validate one experiment's stats (arms on the only axis) and compare each variant with arm 0.

    ``arms`` names the arms (control first); defaults to ``arm0, arm1, ...``. Bad input (zero
    units, NaN, negative variance from inconsistent sums, a single arm, successes > units) raises
    :class:`~workbench.errors.InputError` naming the arm and the value.
    """
    check_choice("kind", kind, ("proportion", "mean"))
    check_choice("alternative", alternative, ("two-sided", "greater", "less"))
    alpha = check_probability("alpha", alpha)
    check_sufficient(stats, arms=arms, proportion=kind == "proportion")
    if stats.n.ndim != 1:
        raise bad("bad_shape", "compare() takes one experiment (a 1-D array of arms); use the *_core functions "
                  "for batches", column="n", value=str(stats.n.shape))
    names = tuple(arms) if arms is not None else tuple(f"arm{i}" for i in range(stats.n.shape[-1]))
    if kind == "proportion":
        r = proportions_core(stats.n, stats.sum, alpha=alpha, alternative=alternative, null=null, null_rel=null_rel,
                             small_count=small_count, exact=exact)
    else:
        r = means_core(stats.n, stats.mean, stats.var, alpha=alpha, alternative=alternative, null=null,
                       null_rel=null_rel)
    return ComparisonTable.from_arrays(r, variants=names[1:], control=names[0], kind=kind, alternative=alternative,
                                 alpha=alpha)
