"""Formatted rows for the adjusted estimates, the segment SRM tests and the pre-period balance.

One path for every view (CLI, report, dashboard, memo): each cell goes through
:mod:`workbench.display` and the metric formatters, so the same number reads the same everywhere.

>>> from workbench.adjustment import AdjustedEstimate, Adjustment
>>> from workbench.results import MetricResult
>>> e = AdjustedEstimate("b", .10, .11, .01, (.002, .018), .1, (.02, .18), .004, .01, .012, (-.001, .025), .0066,
...                      .07, .63)
>>> m = MetricResult("cvr", "proportion", "primary", (), adjustment=Adjustment("cvr", ("device",), ("pre_purchases",),
...                  3, 0, .95, (e,)))
>>> [r["estimate"] for r in adjustment_rows(m)], adjustment_rows(m)[-1]["var. reduction"]
(['plain', 'stratified + covariates'], '63.0%')
"""

from __future__ import annotations

from typing import Any

from .display import fmt_count, fmt_covariate, fmt_num, fmt_p, fmt_p_eq, fmt_pct, fmt_signed
from .metrics import fmt_metric_delta, fmt_metric_delta_ci

__all__ = ["ADJUST_COLUMNS", "BALANCE_COLUMNS", "SEGMENT_SRM_COLUMNS", "adjustment_rows", "adjustment_caption", "result_caption",
           "balance_rows", "balance_summary", "segment_srm_rows", "segment_srm_summary"]

ADJUST_COLUMNS = ("metric", "variant", "estimate", "lift", "CI", "p", "var. reduction")
BALANCE_COLUMNS = ("variant", "covariate", "control mean", "variant mean", "std. diff.")
SEGMENT_SRM_COLUMNS = ("segment", "units", "p", "p adj.")


def adjustment_rows(m: Any) -> list[dict[str, str]]:
    """Per variant: the plain estimate, the headline's single-covariate CUPED (when applied) and the
    stratified multi-covariate estimate, each with its interval, p-value and variance reduction."""
    a = getattr(m, "adjustment", None)
    if a is None or not a.applied:
        return []
    heads = {c.variant: c for c in m.comparisons}

    def row(variant: str, label: str, lift: float, ci: tuple[float, float], p: float, red: Any) -> dict[str, str]:
        return {"metric": m.name, "variant": variant, "estimate": label,
                "lift": fmt_metric_delta(m.name, m.kind, lift, m.unit),
                "CI": fmt_metric_delta_ci(m.name, m.kind, *ci, m.unit), "p": fmt_p(p),
                "var. reduction": "—" if red is None else fmt_pct(red, 1)}

    rows = []
    for e in a.estimates:
        rows.append(row(e.variant, "plain", e.plain_lift_abs, e.plain_lift_abs_ci, e.plain_p_value, None))
        c = heads.get(e.variant)
        if e.cuped_variance_reduction is not None and c is not None:
            cu = (c.extra.get("cuped") if isinstance(c.extra, dict) else None) or {}
            which = fmt_covariate(a.cuped_covariate, lookback_days=cu.get("covariate_lookback_days"), short=True)
            rows.append(row(e.variant, f"CUPED ({which})", c.lift_abs, c.lift_abs_ci, c.p_value,
                            e.cuped_variance_reduction))
        rows.append(row(e.variant, "stratified + covariates" if a.strata and a.covariates else
                        "stratified" if a.strata else "covariates", e.lift_abs, e.lift_abs_ci, e.p_value,
                        e.variance_reduction))
    return rows


def adjustment_caption(m: Any) -> str:
    """What the adjusted estimate used, and its notes."""
    a = getattr(m, "adjustment", None)
    if a is None:
        return ""
    return "; ".join([a.method(), "HC0 standard errors, normal intervals, p-values per comparison (not corrected "
                      "for multiplicity); ratio metrics linearised (delta method)", *a.notes])


def result_caption(result: Any) -> str:
    """The captions of every adjusted metric of an analysis, each distinct one once."""
    return " | ".join(dict.fromkeys(adjustment_caption(m) for m in result.metrics if adjustment_rows(m)))


def balance_rows(h: Any) -> list[dict[str, str]]:
    """Per variant × covariate: the arms' pre-period means and the standardised difference."""
    b = getattr(h, "balance", None)
    if b is None:
        return []
    return [{"variant": v.variant, "covariate": c, "control mean": fmt_num(v.control_mean[i]),
             "variant mean": fmt_num(v.variant_mean[i]), "std. diff.": fmt_signed(v.std_diff[i], 3)}
            for v in b.variants for i, c in enumerate(b.covariates)]


def balance_summary(h: Any) -> str:
    """One line: the joint test per variant and its correction."""
    b = getattr(h, "balance", None)
    if b is None:
        return ""
    tests = ", ".join(f"{v.variant} {fmt_p_eq(v.p_value)}" + (f" ({fmt_p_eq(v.p_value_adjusted, 'adjusted p')})"
                                                               if len(b.variants) > 1 else "") for v in b.variants)
    return f"pre-period balance ({', '.join(b.covariates)}): Hotelling's T² {tests}" + \
        (f"; correction: {b.correction}" if len(b.variants) > 1 else "")


def segment_srm_rows(h: Any) -> list[dict[str, str]]:
    """Every segment SRM test: observed units per arm, p and the Holm-adjusted p."""
    s = getattr(h, "segment_srm", None)
    if s is None:
        return []
    return [{"segment": f"{t.dim} = {t.level}", "units": " / ".join(fmt_count(o) for o in t.observed),
             "p": fmt_p(t.p_value), "p adj.": fmt_p(t.p_value_adjusted)} for t in s.tests]


def segment_srm_summary(h: Any) -> str:
    """One line: how many segment tests, the correction and the smallest adjusted p."""
    s = getattr(h, "segment_srm", None)
    if s is None or not s.tests:
        return ""
    low = min(s.tests, key=lambda t: t.p_value_adjusted)
    flagged = s.flagged()
    verdict = (f"{len(flagged)} below {s.threshold:g}" if flagged else f"none below {s.threshold:g}")
    return (f"SRM by segment: {s.correction}; smallest {fmt_p_eq(low.p_value_adjusted, 'adjusted p')} "
            f"({low.dim} = {low.level}); {verdict}"
            + (f"; not tested (too few units): {', '.join(s.untested)}" if s.untested else ""))
