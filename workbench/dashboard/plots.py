"""Bokeh figures for the dashboard: they draw frames from :mod:`workbench.dashboard.data`, nothing more.

Plain Bokeh (served by the Panel server itself, no CDN) keeps pages light. Each function takes
the frame a data function returns and gives a figure; an empty frame gives a figure that says so.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, Range1d, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

__all__ = ["variant_colours", "trend_figure", "funnel_figure", "posterior_figure", "chance_figure", "forest_figure",
           "regret_figure", "share_figure", "forest_range"]

_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def variant_colours(variants: Sequence[str]) -> dict[str, str]:
    """A stable colour per variant (control first, in the experiment's order)."""
    return {v: Category10_10[i % 10] for i, v in enumerate(variants)}


def _base(title: str, *, height: int = 260, x_axis_type: str = "auto", **kw: Any) -> Any:
    f = figure(title=title, height=height, sizing_mode="stretch_width", tools=_TOOLS, toolbar_location="above",
               x_axis_type=x_axis_type, **kw)
    f.toolbar.logo = None
    f.title.text_font_size = "12px"
    return f


def _empty(f: Any, text: str) -> Any:
    from bokeh.models import Label
    f.add_layout(Label(x=10, y=10, x_units="screen", y_units="screen", text=text, text_color="#52606d"))
    return f


def trend_figure(frame: pd.DataFrame, variants: Sequence[str], *, freq: str = "h") -> Any:
    """Purchases per active unit in each time bucket, one line per variant."""
    f = _base(f"Conversion by {'hour' if freq == 'h' else 'day'} (purchases per active user, event time)",
              x_axis_type="datetime")
    f.yaxis.axis_label = "purchases / active users"
    if frame is None or frame.empty:
        return _empty(f, "no events in this period")
    colours = variant_colours(variants)
    for v in variants:
        sub = frame[frame["variant"] == v]
        if sub.empty:
            continue
        src = ColumnDataSource(sub.assign(variant=v))
        f.line("ts", "cvr", source=src, color=colours[v], legend_label=str(v), line_width=2)
    f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("time", "@ts{%F %H:%M}"), ("rate", "@cvr{0.00%}"),
                                    ("users", "@units{0,0}"), ("purchases", "@purchases{0,0}")],
                          formatters={"@ts": "datetime"}))
    f.legend.location = "top_left"
    f.legend.click_policy = "hide"
    return f


def funnel_figure(frame: pd.DataFrame, variants: Sequence[str]) -> Any:
    """Share of units reaching each funnel step, bars grouped by step."""
    steps = list(dict.fromkeys(frame["step"])) if frame is not None and not frame.empty else []
    f = _base("Funnel: share of users reaching each step", x_range=steps or ["—"])
    f.yaxis.axis_label = "share of users"
    if not steps:
        return _empty(f, "no funnel data")
    colours = variant_colours(variants)
    width = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        sub = frame[frame["variant"] == v]
        offset = (i - (len(variants) - 1) / 2) * width
        from bokeh.transform import dodge
        src = ColumnDataSource(sub.assign(variant=v))
        f.vbar(x=dodge("step", offset, range=f.x_range), top="share", width=width * 0.9, source=src,
               color=colours[v], legend_label=str(v))
    f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("step", "@step"), ("share", "@share{0.00%}"),
                                    ("users", "@units{0,0}")]))
    f.y_range.start = 0
    f.legend.location = "top_right"
    return f


def posterior_figure(curves: Any, variants: Sequence[str]) -> Any:
    """Posterior densities: each arm's rate (Beta) or each variant's lift (normal)."""
    if curves is None:
        return _empty(_base("Posterior"), "no Bayesian summary (health blocked or no comparison)")
    what = f"each arm's {curves.metric}" if curves.kind == "rate" else f"each variant's lift in {curves.metric}"
    f = _base(f"Posterior of {what}")
    f.yaxis.axis_label = "density"
    colours = variant_colours(variants)
    for v in variants:
        sub = curves.frame[curves.frame["variant"] == v]
        if sub.empty:
            continue
        p = curves.prob_beat_control.get(v)
        label = f"{v}" + (f" — P(beat control) {p:.1%}" if p is not None else "")
        src = ColumnDataSource(sub.assign(variant=v))
        f.varea(x="x", y1=0, y2="density", source=src, fill_color=colours[v], fill_alpha=0.25)
        f.line("x", "density", source=src, color=colours[v], line_width=2, legend_label=label)
    if curves.kind == "lift":
        f.add_layout(Span(location=0, dimension="height", line_color="#52606d", line_dash="dashed"))
    f.legend.location = "top_left"
    f.legend.label_text_font_size = "11px"
    return f


def chance_figure(frame: pd.DataFrame, variants: Sequence[str], *, threshold: float | None = None) -> Any:
    """P(variant beats control) by day, cumulative; ``threshold`` is the policy's decision level if any."""
    f = _base("Chance to beat control over time (cumulative by day of first exposure)", x_axis_type="datetime")
    f.y_range = Range1d(0, 1)
    f.yaxis.axis_label = "P(beat control)"
    if frame is None or frame.empty:
        return _empty(f, "no daily data")
    colours = variant_colours(variants)
    for v in variants[1:]:
        sub = frame[frame["variant"] == v]
        if sub.empty:
            continue
        src = ColumnDataSource(sub.assign(variant=v))
        f.line("day", "prob_beat_control", source=src, color=colours[v], line_width=2, legend_label=str(v))
        f.scatter("day", "prob_beat_control", source=src, color=colours[v], size=5)
    f.add_layout(Span(location=0.5, dimension="width", line_color="#9aa5b1", line_dash="dotted"))
    if threshold is not None:
        f.add_layout(Span(location=threshold, dimension="width", line_color="#1e7b45", line_dash="dashed"))
    f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("day", "@day{%F}"), ("P(beat)", "@prob_beat_control{0.0%}"),
                                    ("users so far", "@units{0,0}")], formatters={"@day": "datetime"}))
    f.legend.location = "bottom_left"
    return f


def forest_figure(frame: pd.DataFrame) -> Any:
    """Relative lifts with confidence intervals; green when the estimate moves the metric the good way."""
    labels = list(frame["label"])[::-1] if frame is not None and not frame.empty else ["—"]
    height = max(180, 28 * len(labels) + 70)
    f = _base("Relative lift vs control with confidence intervals (segments are exploratory)", height=height,
              y_range=labels)
    f.xaxis.axis_label = "relative lift"
    if frame is None or frame.empty:
        return _empty(f, "no comparisons (health blocked or a single arm)")
    df = frame.copy()
    df["colour"] = np.where(df["better"].fillna(False).astype(bool), "#1e7b45", "#b42318")
    df.loc[df["better"].isna(), "colour"] = "#52606d"
    df["alpha"] = np.where(df["significant"], 1.0, 0.55)
    finite = df[np.isfinite(df["lo"].astype(float)) & np.isfinite(df["hi"].astype(float))]
    src = ColumnDataSource(df)
    f.segment(x0="lo", x1="hi", y0="label", y1="label", source=ColumnDataSource(finite), line_width=3,
              color="colour", alpha="alpha")
    f.scatter("lift_rel", "label", source=src, size=9, color="colour", alpha="alpha")
    f.add_layout(Span(location=0, dimension="height", line_color="#52606d", line_dash="dashed"))
    lo, hi = forest_range(df)
    if lo is not None:
        f.x_range = Range1d(lo, hi)
    f.add_tools(HoverTool(tooltips=[("", "@label (@group)"), ("lift", "@lift_rel{+0.00%}"),
                                    ("CI", "[@lo{+0.00%}, @hi{+0.00%}]"), ("adjusted p", "@p_value{0.0000}")]))
    from bokeh.models import NumeralTickFormatter
    f.xaxis.formatter = NumeralTickFormatter(format="+0%")
    return f


def forest_range(frame: pd.DataFrame) -> tuple[float | None, float | None]:
    """The x range of the forest plot: every metric row's interval (segments may run off the edge)."""
    rows = frame[~frame["group"].astype(str).str.startswith("segment")]
    if rows.empty:
        rows = frame
    vals = pd.concat([rows["lo"], rows["hi"], rows["lift_rel"]]).astype(float)
    vals = vals[np.isfinite(vals)]
    if vals.empty:
        return None, None
    lo, hi = min(float(vals.min()), 0.0), max(float(vals.max()), 0.0)
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def regret_figure(frame: pd.DataFrame) -> Any:
    """Cumulative regret over time per allocation strategy (simulator)."""
    f = _base("Cumulative regret (expected conversions lost vs always showing the best arm)")
    f.xaxis.axis_label = "visitors"
    if frame is None or frame.empty:
        return _empty(f, "run the simulation")
    for i, (name, sub) in enumerate(frame.groupby("policy", sort=False)):
        f.line(sub["step"].to_numpy(), sub["regret"].to_numpy(), color=Category10_10[i % 10], line_width=2,
               legend_label=str(name))
    f.legend.location = "top_left"
    return f


def share_figure(frame: pd.DataFrame, policy: str, arms: Sequence[str]) -> Any:
    """Share of traffic per arm over time for one strategy (simulator)."""
    f = _base(f"Traffic share per arm — {policy}")
    f.y_range = Range1d(0, 1)
    f.xaxis.axis_label = "visitors"
    if frame is None or frame.empty:
        return _empty(f, "run the simulation")
    colours = variant_colours(arms)
    for arm in arms:
        sub = frame[frame["arm"] == arm]
        if not sub.empty:
            f.line(sub["step"].to_numpy(), sub["share"].to_numpy(), color=colours[arm], line_width=2,
                   legend_label=str(arm))
    f.legend.location = "top_left"
    return f
