"""Per-segment comparisons of every metric (exploratory), split from :mod:`workbench.analysis`.

:func:`analyze_segments` compares each variant with the control within every level of one
dimension, corrects p-values across segment × variant, and adds Cochran's heterogeneity test and a
Simpson's-paradox check per variant. :func:`heterogeneity_note` is the one sentence about Cochran's Q.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .config import Settings, get_settings
from .display import fmt_p_eq, fmt_pct, fmt_signed
from .errors import InputError, Problem
from .experiment_data import ExperimentData
from .results import Comparison
from .stats.compare import compare_arrays
from .stats.multiplicity import adjust_core
from .stats.segments import SegmentMetricResult, SegmentResult, heterogeneity_core, simpson_core

if TYPE_CHECKING:
    from .analysis import AnalysisOptions

__all__ = ["analyze_segments", "heterogeneity_note"]


def _f(x: Any) -> float:
    return float(x)


def heterogeneity_note(variant: str, metric: str, dim: str, h: Mapping[str, float], alpha: float) -> str:
    """The one sentence about Cochran's Q for a variant's lift across segments (analysis notes and the report).

    >>> heterogeneity_note("b", "cvr", "device", {"p_value": 0.0301, "i2": 0.7141}, 0.05)
    "the lift of b on cvr differs across device segments (Cochran's Q p = 0.030, I² = 71.41%)"
    """
    p = h.get("p_value", float("nan"))
    verb = "differs" if math.isfinite(p) and p < alpha else "does not clearly differ"
    return f"the lift of {variant} on {metric} {verb} across {dim} segments (Cochran's Q {fmt_p_eq(p)}, " \
           f"I² = {fmt_pct(h.get('i2'))})"


def analyze_segments(data: ExperimentData, dim: str, options: AnalysisOptions | None = None, *,
                     settings: Settings | None = None, **overrides: Any) -> SegmentResult:
    """Per-segment comparisons of every metric by ``dim`` (exploratory; see :mod:`workbench.stats.segments`).

    p-values are corrected across every segment × variant of a metric (``correction``, Holm by
    default); each variant gets Cochran's heterogeneity test across segments and a Simpson's-paradox
    check against the pooled lift.
    """
    from .analysis import _CORRECTION_NAMES, AnalysisOptions, _apply_roles
    settings = settings or get_settings()
    opts = replace(options or AnalysisOptions(), **overrides)
    alpha = opts.alpha if opts.alpha is not None else settings.alpha
    if dim not in data.cube.columns:
        raise InputError([Problem("blocked", "unknown_dimension", f"the data has no column {dim!r} to break down by; "
                                  f"it has: {', '.join(d for d in data.dims) or 'no dimensions'}",
                                  file=data.source or None, column=dim)])
    out = []
    for m in _apply_roles(data, opts):
        if m.kind == "quantile":
            continue                    # per-segment histograms are not aggregated (see analysis_quantile)
        levels, st = data.stats_by(m, dim, use_covariate=opts.cuped)
        kw = dict(higher_is_better=m.higher_is_better, alpha=alpha, cuped=opts.cuped, bayes=False,
                  small_count=opts.small_count or settings.small_count)
        seg = compare_arrays(m.kind, st, **kw)                              # (S, V)
        pooled = compare_arrays(m.kind, data.stats(m, use_covariate=opts.cuped), **kw)
        s_count, v_count = seg["p_value"].shape
        p_adj = adjust_core(seg["p_value"].reshape(-1), opts.correction).reshape(s_count, v_count)
        q, df, p_het, i2 = heterogeneity_core(seg["lift_abs"], seg["se"], axis=0)
        simpson = simpson_core(seg["lift_abs"], pooled["lift_abs"], axis=0)
        rows = []
        for s_i, level in enumerate(levels):
            for j in range(v_count):
                rows.append(Comparison(
                    segment=level, variant=data.variants[j + 1], control=data.control, n_control=_f(seg["n_control"][s_i, j]),
                    n_variant=_f(seg["n_variant"][s_i, j]), control_value=_f(seg["control_value"][s_i, j]),
                    variant_value=_f(seg["variant_value"][s_i, j]), lift_abs=_f(seg["lift_abs"][s_i, j]),
                    lift_abs_ci=(_f(seg["ci_lo"][s_i, j]), _f(seg["ci_hi"][s_i, j])),
                    lift_rel=_f(seg["lift_rel"][s_i, j]),
                    lift_rel_ci=(_f(seg["rel_ci_lo"][s_i, j]), _f(seg["rel_ci_hi"][s_i, j])),
                    p_value=_f(seg["p_value"][s_i, j]), p_value_adjusted=_f(p_adj[s_i, j]), test=str(seg["test"][s_i, j])))
        notes = ["exploratory: use segment results to form hypotheses, not to decide"]
        het: dict[str, dict[str, float]] = {}
        simp: dict[str, bool] = {}
        for j in range(v_count):
            v = data.variants[j + 1]
            het[v] = {"q": _f(q[j]), "df": _f(df[j]), "p_value": _f(p_het[j]), "i2": _f(i2[j])}
            simp[v] = bool(simpson[j])
            if simp[v]:
                notes.append(f"Simpson's paradox: the pooled lift of {v} on {m.name} "
                             f"({fmt_signed(pooled['lift_abs'][j], 4)}) points the other way from every {dim} segment; the mix "
                             f"of {dim} differs between arms, so read the per-segment results")
            if math.isfinite(het[v]["p_value"]) and het[v]["p_value"] < alpha:
                notes.append(heterogeneity_note(v, m.name, dim, het[v], alpha))
        empty = [f"{lv}" for s_i, lv in enumerate(levels) if np.any(st.n[s_i] <= 0)]
        if empty:
            notes.append(f"{dim} segment(s) with an arm that has no units (not compared): {', '.join(empty)}")
        n_tests = int(np.sum(np.isfinite(seg["p_value"])))
        correction = (f"{_CORRECTION_NAMES[opts.correction]} correction across {len(levels)} {dim} segments × "
                      f"{v_count} variant(s) on {m.name} ({n_tests} tests)")
        out.append(SegmentMetricResult(metric=m.name, kind=m.kind, unit=m.unit, dim=dim, levels=tuple(levels), rows=tuple(rows),
                                       pooled_lift={data.variants[j + 1]: _f(pooled["lift_abs"][j])
                                                    for j in range(v_count)},
                                       heterogeneity=het, simpson=simp, correction=correction, notes=tuple(notes)))
    return SegmentResult(experiment_id=data.experiment_id, dim=dim, metrics=tuple(out))
