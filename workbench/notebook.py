"""How result objects read in a notebook: a short ``repr``, HTML from the formatting table, and ``.plot()``.

The result classes (:class:`~workbench.results.AnalysisResult`, ``HealthReport``, ``MetricResult``,
``Comparison``, the lifecycle's ``Decision``, the Bayesian results) call these functions, so a
notebook shows the same strings as ``workbench analyze`` (cells come from :mod:`workbench.tables`).
Plots are HoloViews objects (Bokeh backend): a forest plot of relative lifts with their intervals
for an analysis, posterior densities for Bayesian results.

>>> from workbench.results import HealthReport
>>> health_repr(HealthReport(status="healthy"))
'HealthReport(healthy, no issues)'
>>> "HEALTHY" in health_html(HealthReport(status="healthy"))
True
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .display import escape, fmt_ci, fmt_lift, fmt_p, fmt_p_eq, fmt_share, tick_formatter, fmt_action
from .tables import (COMPARISON_COLUMNS, ci_header, comparison_row, html_table, metric_caption, metric_title)

__all__ = ["sample_database", "explore", "badge_html", "health_repr", "health_html", "comparison_repr", "metric_repr", "metric_html",
           "analysis_repr", "analysis_html", "decision_repr", "decision_html", "forest_plot", "density_plot"]

_TONE = {"healthy": "#1a7f37", "warning": "#9a6700", "blocked": "#cf222e"}


def badge_html(status: str) -> str:
    colour = _TONE.get(status, "#57606a")
    return (f"<span class='workbench-badge' style='background:{colour};color:#fff;padding:1px 8px;"
            f"border-radius:8px;font-weight:600'>{escape(str(status).upper())}</span>")


def _srm_text(h: Any) -> str:
    return f"SRM chi-square {fmt_p_eq(h.srm.p_value)}" if h.srm is not None else "no SRM test"


def health_repr(h: Any) -> str:
    issues = [p for p in h.issues if p.level != "info"]
    parts = [h.status] + ([_srm_text(h)] if h.srm is not None else [])
    parts.append(f"{len(issues)} issue(s)" if issues else "no issues")
    return f"HealthReport({', '.join(parts)})"


def health_html(h: Any) -> str:
    rows = [{"level": p.level, "code": p.code, "where": p.location(), "message": p.message} for p in h.issues]
    table = html_table(("level", "code", "where", "message"), rows) if rows else "<p>No issues.</p>"
    return (f"<div class='workbench-result'><strong>Health</strong> {badge_html(h.status)} "
            f"<span>{escape(_srm_text(h))}</span>{table}</div>")


def comparison_repr(c: Any) -> str:
    return (f"Comparison({c.variant} vs {c.control}: lift {fmt_lift(c.lift_rel)} "
            f"{fmt_ci(*c.lift_rel_ci, pct=True)}, adjusted {fmt_p_eq(c.p_value_adjusted)})")


def metric_repr(m: Any) -> str:
    best = m.best()
    what = (f"best {best.variant} {fmt_lift(best.lift_rel)}, adjusted {fmt_p_eq(best.p_value_adjusted)}"
            if best is not None else "no comparisons")
    return f"MetricResult({m.name} [{m.role}], {len(m.comparisons)} comparison(s): {what})"


def metric_html(m: Any, alpha: float = 0.05) -> str:
    columns = [ci_header(alpha) if c == "CI" else c for c in COMPARISON_COLUMNS]
    rows = [dict(zip(columns, comparison_row(m, c).values())) for c in m.comparisons]
    return html_table(columns, rows, title=metric_title(m), caption=metric_caption(m))


def analysis_repr(r: Any) -> str:
    p = r.primary
    best = p.best() if p is not None else None
    primary = (f"; primary {p.name}: {best.variant} {fmt_lift(best.lift_rel)} "
               f"{fmt_ci(*best.lift_rel_ci, pct=True)}, adjusted {fmt_p_eq(best.p_value_adjusted)}"
               if best is not None else "")
    variants = ", ".join(f"{v} (control)" if v == r.control else v for v in r.variants)
    return (f"AnalysisResult({r.experiment_id}: {variants}; "
            f"health {r.health.status}{primary}; {len(r.metrics)} metric(s))")


def analysis_html(r: Any) -> str:
    parts = [f"<div class='workbench-result'><h4>Experiment {escape(r.experiment_id)}</h4>",
             f"<p>Variants: {escape(', '.join(f'{v} (control)' if v == r.control else v for v in r.variants))}</p>",
             health_html(r.health)]
    for m in r.metrics:
        parts.append(metric_html(m, r.alpha) if m.comparisons else
                     f"<p>{escape(m.label or m.name)} [{escape(m.role)}]: {escape('; '.join(m.notes) or 'no comparisons')}</p>")
    parts += [f"<p class='workbench-note'>note: {escape(n)}</p>" for n in r.notes]
    return "".join(parts) + "</div>"


def decision_repr(d: Any) -> str:
    return f"Decision({d.action}: {d.reason})"


def decision_html(d: Any) -> str:
    tone = {"launch": "healthy", "stop": "blocked", "rollback": "blocked"}.get(d.action, "warning")
    others = "".join(f"<li>{escape(r)}</li>" for r in d.reasons[1:])
    checks = html_table(("rule", "action", "held"), [{"rule": c.rule, "action": c.action,
                                                      "held": "yes" if c.held else "no"} for c in d.checks]
                        ) if d.checks else ""
    return (f"<div class='workbench-result'><strong>Decision</strong> "
            f"<span class='workbench-badge' style='background:{_TONE[tone]};color:#fff;padding:1px 8px;"
            f"border-radius:8px;font-weight:600'>{escape(fmt_action(d.action).upper())}</span>"
            f"<p class='workbench-reason'>{escape(d.reason)}</p>"
            + (f"<ul>{others}</ul>" if others else "")
            + f"<p>policy {escape(d.policy)}, rule {escape(d.rule)}"
            + (f", winner {escape(d.winner)}" if d.winner else "") + f"</p>{checks}</div>")


def forest_plot(r: Any) -> Any:
    """Relative lift of every comparison (one row per metric × variant) with its interval."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (options need the backend)
    import pandas as pd
    rows = [{"label": f"{m.name} · {c.variant}", "lift": c.lift_rel, "lo": c.lift_rel_ci[0], "hi": c.lift_rel_ci[1],
             "lift_text": fmt_lift(c.lift_rel), "p": fmt_p(c.p_value_adjusted), "role": m.role}
            for m in r.metrics for c in m.comparisons]
    df = pd.DataFrame(rows, columns=["label", "lift", "lo", "hi", "lift_text", "p", "role"])
    df["y"] = list(range(len(df)))[::-1]
    df["y1"] = df["y"]
    ticks = list(zip(df["y"], df["label"]))
    opts = dict(yticks=ticks, xformatter=tick_formatter("lift"), xlabel="relative lift", ylabel="",
                responsive=True, min_height=80 + 28 * len(df))
    segments = hv.Segments(df, kdims=["lo", "y", "hi", "y1"]).opts(color="#1f5fa8", line_width=3)
    points = hv.Scatter(df, kdims=["lift"], vdims=["y", "label", "lift_text", "p"]).opts(
        color="#1f5fa8", size=8, tools=["hover"])
    return (hv.VLine(0).opts(color="#888", line_dash="dashed") * segments * points).opts(
        **opts, title=f"{r.experiment_id}: relative lifts with {ci_header(r.alpha)}")


def density_plot(grid: Any, *, title: str, xlabel: str, unit: str) -> Any:
    """One posterior density curve per name of a ``(x, name, density)`` grid."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401
    curves = [hv.Curve(grid[grid["name"] == n], kdims=["x"], vdims=["density"], label=str(n))
              for n in grid["name"].unique()]
    return hv.Overlay(curves).opts(title=title, xlabel=xlabel, ylabel="density", responsive=True, min_height=260,
                                   xformatter=tick_formatter(unit), legend_position="top_right")


def sample_database(*, scale: float = 0.05, seed: int = 20261121) -> Path:
    """The database an exploration notebook reads: the workbench's own when it exists (``make demo``
    writes it; ``WORKBENCH_DB`` / ``WORKBENCH_HOME`` move it), else a small sample world generated
    once into the temporary folder and reused — so a notebook runs top to bottom on a fresh clone."""
    from .config import Paths

    db = Paths.default().db
    if db.exists():
        return db
    cached = Path(tempfile.gettempdir()) / f"workbench-sample-{seed}-{scale:g}.duckdb"
    if not cached.exists():
        from .simulate.writer import write_world
        part = cached.with_name(f"{cached.stem}.{os.getpid()}.part.duckdb")    # whole or not at all
        write_world(part, seed=seed, scale=scale, force=True)
        os.replace(part, cached)
    return cached


def explore(experiment_id: str, *, db: str | Path | None = None, segments: str | None = None) -> Any:
    """The dashboard's views of one experiment in a notebook cell (:func:`workbench.dashboard.inline.explore`)."""
    from .dashboard.inline import explore as _explore
    return _explore(experiment_id, db=db, segments=segments)
