"""One vectorised entry point: every variant vs control for a metric of any kind, with or without CUPED.

:func:`compare_arrays` picks the right test for the metric's kind and returns plain arrays with
one entry per variant (last axis) for any leading shape (segments, days, experiments), so the
analysis, the segment breakdown, the sequential path and the benchmark all run the very same
code:

==============  ===============================  ======================================
kind            test (``test`` field)            with a pre-period covariate (CUPED)
==============  ===============================  ======================================
proportion      ``z`` (p(1−p)); ``fisher`` for   ``cuped-z`` (small counts stay exact)
                small counts (Newcombe interval)
mean            ``welch``                        ``cuped-welch``
ratio           ``delta``                        ``cuped-delta``
==============  ===============================  ======================================

Bayesian fields (``prob_beat``, ``expected_loss``, credible intervals) come from the
Beta–Binomial model on the raw counts for proportions and from the normal–normal model on the
(CUPED-adjusted) lift for means and ratios, in the metric's better direction.

>>> from workbench.stats.sufficient import SufficientStats
>>> r = compare_arrays("proportion", SufficientStats.from_counts([10000, 10000], [1000, 1100]))
>>> r["test"].tolist(), round(float(r["p_value"][0]), 4), round(float(r["prob_beat"][0]), 4)
(['z'], 0.0211, 0.9895)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .bayes import beta_lift_quantiles, beta_pair_core, normal_lift_core
from .cuped import CupedArrays, cuped_means_core, cuped_ratio_core
from .frequentist import DiffArrays, diff_test, means_core, proportions_core
from .ratio import ratio_compare_core
from .sufficient import RatioStats, SufficientStats

__all__ = ["compare_arrays"]

Array = NDArray[np.float64]


def _cuped_diff(c: CupedArrays, *, alpha: float, alternative: str, null: float, null_rel: float | None,
                welch: bool, name: str) -> DiffArrays:
    if welch:
        r = means_core(c.n, c.mean, c.var, alpha=alpha, alternative=alternative, null=null, null_rel=null_rel,
                       test_name=name)
        return r
    se2 = c.var / c.n
    out = diff_test(c.mean[..., :1], se2[..., :1], c.mean[..., 1:], se2[..., 1:], np.inf, alpha=alpha,
                    alternative=alternative, null=null, null_rel=null_rel)
    shape = out[0].shape
    return DiffArrays(np.broadcast_to(c.mean[..., :1], shape).copy(), c.mean[..., 1:], *out,
                      test=np.full(shape, name, dtype=object))


def _select(mask: NDArray[np.bool_], a: DiffArrays, b: DiffArrays) -> DiffArrays:
    """Field by field: ``a`` where ``mask`` else ``b``."""
    return DiffArrays(*(np.where(mask, x, y) for x, y in zip(a, b)))


def compare_arrays(kind: str, stats: SufficientStats | RatioStats, *, higher_is_better: bool = True,
                   alpha: float = 0.05, alternative: str = "two-sided", null: float = 0.0,
                   null_rel: float | None = None, small_count: int = 5, cuped: bool = True, bayes: bool = True,
                   prior: tuple[float, float] = (1.0, 1.0), normal_prior: tuple[float, float] | None = None,
                   credible_level: float = 0.94, credible_intervals: bool = True) -> dict[str, Any]:
    """All variant-vs-control results of one metric as arrays of shape (..., arms − 1).

    Keys: ``control_value, variant_value, lift_abs, ci_lo, ci_hi, lift_rel, rel_ci_lo, rel_ci_hi,
    p_value, se, se_rel, df, statistic, test, n_control, n_variant`` (per variant), ``arm_value,
    arm_se`` (per arm, control first: the estimates the test used) and, when ``bayes``,
    ``prob_beat, expected_loss`` (+ ``cred_lo, cred_hi, cred_rel_lo, cred_rel_hi`` when
    ``credible_intervals``); CUPED adds ``cuped_applied, cuped_theta, variance_reduction,
    cuped_reason, raw_control_value, raw_variant_value``. Arms with no units give NaN.
    """
    kw = dict(alpha=alpha, alternative=alternative, null=null, null_rel=null_rel)
    c: CupedArrays | None = None
    with np.errstate(all="ignore"):
        if kind == "proportion":
            assert isinstance(stats, SufficientStats)
            plain = proportions_core(stats.n, stats.sum, small_count=small_count, **kw)  # type: ignore[arg-type]
            r = plain
            if cuped and stats.has_covariate:
                c = cuped_means_core(stats)
                adj = _cuped_diff(c, welch=False, name="cuped-z", **kw)  # type: ignore[arg-type]
                use = np.broadcast_to(c.applied[..., None], plain.p_value.shape) & (plain.test != "fisher")
                r = _select(use, adj, plain)
        elif kind == "mean":
            assert isinstance(stats, SufficientStats)
            r = means_core(stats.n, stats.mean, stats.var, **kw)  # type: ignore[arg-type]
            if cuped and stats.has_covariate:
                c = cuped_means_core(stats)
                adj = _cuped_diff(c, welch=True, name="cuped-welch", **kw)  # type: ignore[arg-type]
                r = _select(np.broadcast_to(c.applied[..., None], r.p_value.shape), adj, r)
        elif kind == "ratio":
            assert isinstance(stats, RatioStats)
            r = ratio_compare_core(stats, **kw)  # type: ignore[arg-type]
            if cuped and stats.has_covariate:
                c = cuped_ratio_core(stats)
                adj = _cuped_diff(c, welch=False, name="cuped-delta", **kw)  # type: ignore[arg-type]
                r = _select(np.broadcast_to(c.applied[..., None], r.p_value.shape), adj, r)
        else:
            raise ValueError(f"unknown metric kind {kind!r}")
    n = stats.n
    shape = r.p_value.shape
    # per-arm estimate and squared standard error (what the comparison used), for P(best) and plots
    with np.errstate(all="ignore"):
        if isinstance(stats, RatioStats):
            from .ratio import ratio_core
            arm_value, _, arm_se2 = ratio_core(stats)
        elif kind == "proportion":
            arm_value = stats.sum / n
            arm_se2 = arm_value * (1 - arm_value) / n
        else:
            arm_value, arm_se2 = stats.mean, stats.var / n
        if c is not None:
            use_c = np.broadcast_to(c.applied[..., None], n.shape)
            arm_value = np.where(use_c, c.mean, arm_value)
            arm_se2 = np.where(use_c, c.var / n, arm_se2)
    n_c = np.broadcast_to(n[..., :1], shape)
    n_t = n[..., 1:]
    out: dict[str, Any] = {
        "control_value": r.control_value, "variant_value": r.variant_value, "lift_abs": r.lift_abs,
        "ci_lo": r.ci_lo, "ci_hi": r.ci_hi, "lift_rel": r.lift_rel, "rel_ci_lo": r.rel_ci_lo,
        "rel_ci_hi": r.rel_ci_hi, "p_value": r.p_value, "se": r.se, "se_rel": r.se_rel, "df": r.df,
        "statistic": r.statistic, "test": r.test, "n_control": n_c.astype(np.float64), "n_variant": n_t,
        "arm_value": arm_value, "arm_se": np.sqrt(arm_se2)}
    if c is not None:
        out["cuped_applied"] = np.broadcast_to(c.applied[..., None], shape) & (r.test != "fisher")
        out["cuped_theta"] = np.broadcast_to(np.asarray(c.theta)[..., None], shape)
        out["variance_reduction"] = np.where(out["cuped_applied"], c.variance_reduction, 0.0)
        out["cuped_reason"] = c.reason
        raw_mean = stats.mean if isinstance(stats, SufficientStats) else stats.ratio
        out["raw_control_value"] = np.broadcast_to(raw_mean[..., :1], shape)
        out["raw_variant_value"] = raw_mean[..., 1:]
    if bayes:
        with np.errstate(all="ignore"):
            if kind == "proportion":
                assert isinstance(stats, SufficientStats)
                a0, b0 = prior
                a = a0 + stats.sum
                b = b0 + stats.n - stats.sum
                a_c, b_c = np.broadcast_to(a[..., :1], shape), np.broadcast_to(b[..., :1], shape)
                a_t, b_t = a[..., 1:], b[..., 1:]
                p_gt, loss_t, loss_c = beta_pair_core(a_c, b_c, a_t, b_t)
                out["prob_beat"] = p_gt if higher_is_better else 1.0 - p_gt
                out["expected_loss"] = loss_t if higher_is_better else loss_c
                if credible_intervals:
                    q = np.array([(1 - credible_level) / 2, (1 + credible_level) / 2])
                    qa = beta_lift_quantiles(a_c[..., None], b_c[..., None], a_t[..., None], b_t[..., None], q)
                    qr = beta_lift_quantiles(a_c[..., None], b_c[..., None], a_t[..., None], b_t[..., None], q,
                                             relative=True)
                    out["cred_lo"], out["cred_hi"] = qa[..., 0], qa[..., 1]
                    out["cred_rel_lo"], out["cred_rel_hi"] = qr[..., 0], qr[..., 1]
            else:
                pm, ps = normal_prior if normal_prior is not None else (0.0, np.inf)
                _, _, prob, loss, lo, hi = normal_lift_core(r.lift_abs, r.se, prior_mean=pm, prior_sd=ps,
                                                            higher_is_better=higher_is_better, level=credible_level)
                out["prob_beat"], out["expected_loss"] = prob, loss
                if credible_intervals:
                    out["cred_lo"], out["cred_hi"] = lo, hi
                    _, _, _, _, rlo, rhi = normal_lift_core(r.lift_rel, r.se_rel, higher_is_better=higher_is_better,
                                                            level=credible_level)
                    out["cred_rel_lo"], out["cred_rel_hi"] = rlo, rhi
    empty = (n_c < 1) | (n_t < 1)
    if np.any(empty):
        for key, val in out.items():
            if isinstance(val, np.ndarray) and val.dtype.kind == "f" and val.shape == shape and key not in (
                    "n_control", "n_variant"):
                out[key] = np.where(empty, np.nan, val)
    return out
