"""Analysis of a quantile metric (``lcp_p90``): each variant's quantile against the control's.

The per-arm statistics come from :func:`workbench.aggregate_quantiles.aggregate_quantiles` (a
histogram and per-user indicator sums, computed in the engine); the comparison is the clustered
delta method of Deng, Knoblich and Lu (2018) with the outer rank interval
(:func:`workbench.stats.quantile.quantile_compare_core`): a z-test on the difference of quantiles,
its interval, and the relative difference by the delta method. p-values are corrected across the
variants like every other metric. No CUPED, Bayesian summary, segment breakdown or confidence
sequence is computed for a quantile metric; the result says so in its notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError
from .metrics import Metric
from .results import Comparison, MetricResult
from .stats.multiplicity import adjust_core

__all__ = ["quantile_metric_result", "QUANTILE_METHOD"]

QUANTILE_METHOD = ("clustered delta method for quantiles (Deng, Knoblich and Lu 2018; outer rank interval) "
                   "from a fine histogram computed in the engine")
_CORRECTION = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"}


def quantile_metric_result(data: Any, m: Metric, opts: Any, alpha: float, base: dict[str, Any]) -> MetricResult:
    """The :class:`MetricResult` of a quantile metric (``base``: name, kind, role, label, … fields)."""
    from .stats.quantile import check_quantile, quantile_compare_core
    try:
        stats = data.quantile_stats(m)
    except KeyError:
        return MetricResult(comparisons=(), notes=("not analysed: the data has no quantile statistics for this "
                                                   "metric (no matching events)",), **base)
    if stats.n[0] <= 0:
        return MetricResult(comparisons=(), notes=("not analysed: the control has no values",), **base)
    compared = [i for i in range(1, len(data.variants)) if stats.n[i] > 0]
    if not compared:
        return MetricResult(comparisons=(), notes=("not analysed: no variant has values",), **base)
    keep = [0, *compared]
    sub = stats.take(keep)
    try:
        check_quantile(sub, arms=[data.variants[i] for i in keep])
    except InputError as exc:
        return MetricResult(comparisons=(), notes=(f"not analysed: {exc}",), **base)
    alt = opts.alternatives.get(m.name, "two-sided")
    r = quantile_compare_core(sub, alpha=alpha, alternative=alt)
    p_raw = np.asarray(r.p_value, dtype=np.float64)
    method = opts.correction if len(compared) > 1 else "none"
    p_adj = adjust_core(p_raw, method) if len(compared) else p_raw
    correction = (f"{_CORRECTION[method]} correction across {len(compared)} variants vs control on {m.name}"
                  if method != "none" else "none (one comparison)")
    comps = []
    for k, i in enumerate(compared):
        comps.append(Comparison(
            variant=data.variants[i], control=data.control, control_value=float(r.control_value[k]),
            variant_value=float(r.variant_value[k]), lift_abs=float(r.lift_abs[k]),
            lift_abs_ci=(float(r.ci_lo[k]), float(r.ci_hi[k])), lift_rel=float(r.lift_rel[k]),
            lift_rel_ci=(float(r.rel_ci_lo[k]), float(r.rel_ci_hi[k])), p_value=float(r.p_value[k]),
            p_value_adjusted=float(p_adj[k]), test=str(r.test[k]), prob_beat_control=None, expected_loss=None,
            n_control=float(sub.n[0]), n_variant=float(sub.n[k + 1]),
            extra={"se": float(r.se[k]), "df": float("inf"), "statistic": float(r.statistic[k]), "alternative": alt,
                   "ci_level": 1 - alpha, "ci_sides": 2 if alt == "two-sided" else 1,
                   "quantile": {"prob": float(m.quantile or 0), "method": QUANTILE_METHOD,
                                "events_control": float(sub.events[0]), "events_variant": float(sub.events[k + 1]),
                                "resolution": float(sub.resolution)}}))
    skipped = [data.variants[i] for i in range(1, len(data.variants)) if stats.n[i] <= 0]
    notes = [f"quantile of a per-event value, users randomised: {QUANTILE_METHOD}; no CUPED, Bayesian summary, "
             "segments or confidence sequence for quantile metrics"]
    if skipped:
        notes.append(f"not compared (no values): {', '.join(skipped)}")
    return MetricResult(comparisons=tuple(comps), correction=correction, notes=tuple(notes), **base)
