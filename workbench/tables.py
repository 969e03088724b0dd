"""Formatted rows of result objects: what the CLI prints and what a notebook shows are the same strings.

Every cell goes through the formatting table of :mod:`workbench.display` (a metric's value and change
in the notation of its unit, relative lifts signed, p-values ``<0.001``), so ``workbench analyze``,
``AnalysisResult._repr_html_`` and the tests that compare them with ``--json`` read one path.

>>> from workbench.results import Comparison, MetricResult
>>> c = Comparison(variant="b", control="a", control_value=0.0511, variant_value=0.0553, lift_abs=0.0042,
...                lift_abs_ci=(0.0011, 0.0073), lift_rel=0.0818, lift_rel_ci=(0.02, 0.14), p_value=0.004,
...                p_value_adjusted=0.008, test="z", prob_beat_control=0.996)
>>> m = MetricResult(name="cvr", kind="proportion", role="primary", comparisons=(c,))
>>> comparison_row(m, c)
{'variant': 'b', 'value': '5.53%', 'lift': '+0.42 pp', 'CI': '[+0.11, +0.73] pp', 'rel. lift': '+8.18%', 'p adj.': '0.008', 'P(beat)': '99.6%'}
"""

from __future__ import annotations

from typing import Any

from .display import escape, fmt_count, fmt_lift, fmt_p, fmt_pct, fmt_prob, fmt_share, fmt_value
from .metrics import fmt_metric_delta, fmt_metric_delta_ci, fmt_metric_value

__all__ = ["COMPARISON_COLUMNS", "SEGMENT_COLUMNS", "comparison_row", "metric_title", "metric_caption",
           "segment_rows", "segment_caption", "summary_rows", "summary_caption", "html_table", "ci_header"]

COMPARISON_COLUMNS = ("variant", "value", "lift", "CI", "rel. lift", "p adj.", "P(beat)")
SEGMENT_COLUMNS = ("segment", "variant", "control", "value", "lift", "CI", "rel. lift", "p", "p adj.")


def ci_header(alpha: float) -> str:
    """``95% CI`` for ``alpha`` 0.05."""
    return f"{fmt_share(1 - alpha)} CI"


def comparison_row(m: Any, c: Any) -> dict[str, str]:
    """One variant against the control on metric ``m`` (a :class:`~workbench.results.MetricResult`)."""
    return {"variant": str(c.variant), "value": fmt_metric_value(m.name, m.kind, c.variant_value, m.unit),
            "lift": fmt_metric_delta(m.name, m.kind, c.lift_abs, m.unit),
            "CI": fmt_metric_delta_ci(m.name, m.kind, *c.lift_abs_ci, m.unit),
            "rel. lift": fmt_lift(c.lift_rel), "p adj.": fmt_p(c.p_value_adjusted),
            "P(beat)": fmt_prob(c.prob_beat_control)}


def metric_title(m: Any) -> str:
    control = fmt_metric_value(m.name, m.kind, m.comparisons[0].control_value, m.unit) if m.comparisons else "—"
    return f"{m.label or m.name} [{m.role}] — control {control}"


def metric_caption(m: Any) -> str:
    tests = sorted({c.test for c in m.comparisons})
    best = (["P(best): " + ", ".join(f"{v} {fmt_prob(p)}" for v, p in m.prob_best.items())]
            if m.prob_best and len(m.prob_best) > 2 else [])
    return "; ".join(([f"test: {', '.join(tests)}"] if tests else []) + ([m.correction] if m.correction else [])
                     + best + list(m.notes))


def segment_rows(s: Any) -> list[dict[str, str]]:
    """Per-segment lifts of one metric (a :class:`~workbench.stats.segments.SegmentMetricResult`)."""
    return [{"segment": str(c.segment), "variant": str(c.variant),
             "control": fmt_metric_value(s.metric, s.kind, c.control_value, s.unit),
             "value": fmt_metric_value(s.metric, s.kind, c.variant_value, s.unit),
             "lift": fmt_metric_delta(s.metric, s.kind, c.lift_abs, s.unit),
             "CI": fmt_metric_delta_ci(s.metric, s.kind, *c.lift_abs_ci, s.unit),
             "rel. lift": fmt_lift(c.lift_rel), "p": fmt_p(c.p_value), "p adj.": fmt_p(c.p_value_adjusted)}
            for c in s.rows]


def segment_caption(s: Any, alpha: float = 0.05) -> str:
    """Cochran's Q once per variant (the analysis' one sentence), the correction, and the other notes."""
    from .analysis import heterogeneity_note
    het = [heterogeneity_note(v, s.metric, s.dim, h, alpha) for v, h in s.heterogeneity.items()]
    notes = [n for n in s.notes if "Cochran's Q" not in n and not n.startswith("exploratory")]
    return "; ".join(het + [s.correction] + notes)


def summary_rows(s: Any) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of an :class:`~workbench.summary.ExperimentSummary`: counts, then each metric in its unit."""
    frame = s.to_frame()
    roles, units = dict(s.metric_roles), dict(s.metric_units)
    counts = [c for c in ("units", "impressions", "clicks", "add_to_cart", "purchases") if c in frame]
    metric_cols = [m for m, _ in s.metric_roles]
    rows = []
    for rec in frame.to_dict(orient="records"):
        cells = [str(rec["variant"]) + (" (control)" if rec["variant"] == s.control else "")]
        cells += [fmt_count(rec[c]) for c in counts]
        cells += [fmt_value(rec[m], units.get(m, "value")) for m in metric_cols]
        rows.append(cells)
    return ["variant", *counts, *[f"{m} [{roles[m][0].upper()}]" for m in metric_cols]], rows


def summary_caption(s: Any) -> str:
    caption = [f"control: {s.control_note}"]
    if s.bot_exclusion_rate is not None:
        caption.append(f"bots excluded: {fmt_pct(s.bot_exclusion_rate)} of units")
    if s.sticky_violators:
        caption.append(f"units seen in more than one variant (excluded): {fmt_count(s.sticky_violators)}")
    for label, n in s.unknown_variants:
        caption.append(f"unknown variant label {label!r}: {fmt_count(n)} units (excluded)")
    return "; ".join(caption)


def html_table(columns: tuple[str, ...] | list[str], rows: list[dict[str, str]], *, title: str = "",
               caption: str = "") -> str:
    """An escaped HTML table of formatted rows (the notebook twin of the CLI's Rich table)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    cap = f"<caption>{escape(title)}</caption>" if title else ""
    foot = f"<p class='workbench-caption'>{escape(caption)}</p>" if caption else ""
    return f"<table class='workbench-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}"
