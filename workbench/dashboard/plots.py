"""Bokeh figures for the dashboard: they draw frames from :mod:`workbench.dashboard.data`, nothing more.

Each plot is built once per page and :meth:`update`\\ d in place when the experiment or the data
changes, with one data source per glyph kind holding every arm (colour and legend come from
columns). Only new column data travels to the browser, and a page holds few Bokeh models, which
keeps the first paint and switching experiments fast. Plain Bokeh, served by the Panel server itself
(no CDN).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Label, Range1d, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from ..display import fmt_change_ci, fmt_lift, fmt_p, fmt_prob, tick_formatter, variant_colors
from ..reports.plots import legend_outside

__all__ = ["TrendPlot", "FunnelPlot", "PosteriorPlot", "ChancePlot", "ForestPlot", "RegretPlot",
           "SharePlot", "forest_range", "FUNNEL_STEPS"]

_TOOLS = "pan,box_zoom,reset,save"
FUNNEL_STEPS = ("viewed", "clicked", "carted", "purchased")


def _base(title: str, *, height: int = 260, **kw: Any) -> Any:
    f = figure(title=title, height=height, sizing_mode="stretch_width", tools=_TOOLS, toolbar_location="above", **kw)
    f.toolbar.logo = None
    f.title.text_font_size = "12px"
    return f


def _note(f: Any) -> Label:
    note = Label(x=10, y=10, x_units="screen", y_units="screen", text="", text_color="#52606d", visible=False)
    f.add_layout(note)
    return note


def _lines(frame: pd.DataFrame | None, x: str, y: str, variants: Sequence[str], colours: dict[str, str],
           labels: dict[str, str] | None = None) -> dict[str, list[Any]]:
    """Multi-line data: one line per variant present in ``frame``, in ``variants`` order."""
    out: dict[str, list[Any]] = {"xs": [], "ys": [], "colour": [], "variant": []}
    if frame is None or frame.empty:
        return out
    for v in variants:
        sub = frame[frame["variant"] == v]
        if sub.empty:
            continue
        out["xs"].append(sub[x].to_numpy())
        out["ys"].append(sub[y].to_numpy())
        out["colour"].append(colours[v])
        out["variant"].append((labels or {}).get(v, str(v)))
    return out


def _points(frame: pd.DataFrame | None, cols: Sequence[str], variants: Sequence[str],
            colours: dict[str, str]) -> dict[str, Any]:
    if frame is None or frame.empty:
        return {c: [] for c in (*cols, "colour")}
    sub = frame[frame["variant"].isin(list(variants))]
    data = {c: sub[c].to_numpy() for c in cols}
    data["colour"] = sub["variant"].map(colours).to_numpy()
    return data


class _LinePlot:
    """Lines per arm (one multi-line glyph) plus points carrying the hover values."""

    x: str = "x"
    y: str = "y"
    point_cols: tuple[str, ...] = ()

    def __init__(self, f: Any, *, legend_location: str = "right", point_size: float | None = 4) -> None:
        self.figure = f
        self.line_source = ColumnDataSource({"xs": [], "ys": [], "colour": [], "variant": []})
        self.lines = f.multi_line("xs", "ys", source=self.line_source, line_color="colour", line_width=2,
                                  legend_field="variant")
        self.point_source = self.points = None
        if point_size is not None:                 # points carry the hover values
            self.point_source = ColumnDataSource({c: [] for c in (*self.point_cols, "colour")})
            self.points = f.scatter(self.x, self.y, source=self.point_source, color="colour", size=point_size)
        f.legend.label_text_font_size = "11px"
        # the dashboard's lines share one renderer per chart: a click would hide them all, so no click policy
        legend_outside(f, legend_location, hide_on_click=False)
        self.note = _note(f)

    def _set(self, frame: pd.DataFrame | None, variants: Sequence[str], colours: dict[str, str], empty: str,
             labels: dict[str, str] | None = None) -> None:
        self.line_source.data = _lines(frame, self.x, self.y, variants, colours, labels)
        if self.point_source is not None:
            self.point_source.data = _points(frame, self.point_cols, variants, colours)
        self.note.text = empty
        self.note.visible = not self.line_source.data["xs"]

    @property
    def renderers(self) -> list[Any]:
        """What the plot draws now: one entry per line."""
        return list(self.line_source.data["variant"])


class TrendPlot(_LinePlot):
    """Purchases per active unit in each time bucket, one line per variant."""

    x, y = "ts", "cvr"
    point_cols = ("ts", "cvr", "units", "purchases", "variant")

    def __init__(self) -> None:
        f = _base("Conversion by hour", x_axis_type="datetime")
        f.yaxis.axis_label = "purchases / active users"
        super().__init__(f, point_size=3)
        f.add_tools(HoverTool(renderers=[self.points], formatters={"@ts": "datetime"},
                              tooltips=[("variant", "@variant"), ("time", "@ts{%F %H:%M}"), ("rate", "@cvr{0.00%}"),
                                        ("users", "@units{0,0}"), ("purchases", "@purchases{0,0}")]))

    def update(self, frame: pd.DataFrame | None, variants: Sequence[str], *, freq: str = "h") -> None:
        self.figure.title.text = (f"Conversion by {'hour' if freq == 'h' else 'day'} "
                                  "(purchases per active user, event time)")
        self._set(frame, variants, variant_colors(variants), "no events in this period")


class ChancePlot(_LinePlot):
    """P(variant beats control) by day, cumulative; the policy's decision level when it has one."""

    x, y = "day", "prob_beat_control"
    point_cols = ("day", "prob_beat_control", "units", "variant")

    def __init__(self) -> None:
        f = _base("Chance to beat control over time (cumulative by day of first exposure)", x_axis_type="datetime",
                  y_range=Range1d(0, 1))
        f.yaxis.axis_label = "P(beat control)"
        super().__init__(f, point_size=5)
        f.add_layout(Span(location=0.5, dimension="width", line_color="#9aa5b1", line_dash="dotted"))
        self.threshold = Span(location=0.95, dimension="width", line_color="#1e7b45", line_dash="dashed",
                              visible=False)
        f.add_layout(self.threshold)
        f.add_tools(HoverTool(renderers=[self.points], formatters={"@day": "datetime"},
                              tooltips=[("variant", "@variant"), ("day", "@day{%F}"),
                                        ("P(beat)", "@prob_beat_control{0.0%}"), ("users so far", "@units{0,0}")]))

    def update(self, frame: pd.DataFrame | None, variants: Sequence[str], *, threshold: float | None = None) -> None:
        self.threshold.visible = threshold is not None
        if threshold is not None:
            self.threshold.location = float(threshold)
        self._set(frame, list(variants[1:]), variant_colors(variants), "no daily data")


class PosteriorPlot(_LinePlot):
    """Posterior densities: each arm's rate (Beta) or each variant's lift (normal), shaded."""

    x, y = "x", "density"
    point_cols = ("x", "density", "variant")

    def __init__(self) -> None:
        f = _base("Posterior")
        f.yaxis.axis_label = "density"
        self.area_source = ColumnDataSource({"xs": [], "ys": [], "colour": []})
        self.areas = f.patches("xs", "ys", source=self.area_source, fill_color="colour", fill_alpha=0.22,
                               line_alpha=0)
        super().__init__(f, point_size=None)
        self.zero = Span(location=0, dimension="height", line_color="#52606d", line_dash="dashed", visible=False)
        f.add_layout(self.zero)

    def update(self, curves: Any, variants: Sequence[str]) -> None:
        colours = variant_colors(variants)
        if curves is None:
            self.figure.title.text = "Posterior"
            self.zero.visible = False
            self.area_source.data = {"xs": [], "ys": [], "colour": []}
            self._set(None, variants, colours, "no Bayesian summary (health blocked or no comparison)")
            return
        what = f"each arm's {curves.metric}" if curves.kind == "rate" else f"each variant's lift in {curves.metric}"
        self.figure.title.text = f"Posterior of {what} ({curves.prior})"
        self.zero.visible = curves.kind == "lift"
        labels = {v: f"{v} — P(beat control) {fmt_prob(p)}" for v, p in curves.prob_beat_control.items()}
        self._set(curves.frame, variants, colours, "no posterior", labels)
        lines = self.line_source.data
        self.area_source.data = {
            "xs": [np.concatenate([x, x[::-1]]) for x in lines["xs"]],
            "ys": [np.concatenate([y, np.zeros_like(y)]) for y in lines["ys"]],
            "colour": list(lines["colour"])}


class FunnelPlot:
    """Share of units reaching each funnel step, bars grouped by step (one bar glyph for all arms)."""

    def __init__(self) -> None:
        f = _base("Funnel: share of users reaching each step", x_range=FactorRange(factors=[("viewed", "—")]),
                  y_range=Range1d(0, 1.08))
        f.yaxis.axis_label = "share of users"
        f.xaxis.major_label_orientation = 0.9
        f.xgrid.grid_line_color = None
        self.figure = f
        self.source = ColumnDataSource({"x": [], "share": [], "units": [], "variant": [], "step": [], "colour": []})
        self.bars = f.vbar(x="x", top="share", width=0.9, source=self.source, color="colour", legend_field="variant")
        f.legend.location = "top_right"
        f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("step", "@step"), ("share", "@share{0.00%}"),
                                        ("users", "@units{0,0}")]))
        self.note = _note(f)

    @property
    def renderers(self) -> list[Any]:
        return sorted(set(self.source.data["variant"]))

    def update(self, frame: pd.DataFrame | None, variants: Sequence[str]) -> None:
        colours = variant_colors(variants)
        if frame is None or frame.empty:
            self.source.data = {k: [] for k in self.source.data}
            self.note.text, self.note.visible = "no funnel data", True
            return
        df = frame[frame["variant"].isin(list(variants))]
        factors = [(s, v) for s in FUNNEL_STEPS for v in variants if ((df["step"] == s) & (df["variant"] == v)).any()]
        self.figure.x_range.factors = factors
        self.source.data = {"x": list(zip(df["step"], df["variant"])), "share": df["share"].to_numpy(),
                            "units": df["units"].to_numpy(), "variant": df["variant"].to_numpy(),
                            "step": df["step"].to_numpy(), "colour": df["variant"].map(colours).to_numpy()}
        self.note.visible = False


def forest_range(frame: pd.DataFrame) -> tuple[float | None, float | None]:
    """The x range of the forest plot: every row's interval and estimate (segments too) and zero, padded.

    >>> forest_range(pd.DataFrame({"lift_rel": [0.1], "lo": [0.02], "hi": [0.5]}))
    (-0.04, 0.54)
    """
    vals = pd.concat([frame["lo"], frame["hi"], frame["lift_rel"]]).astype(float)
    vals = vals[np.isfinite(vals)]
    if vals.empty:
        return None, None
    lo, hi = min(float(vals.min()), 0.0), max(float(vals.max()), 0.0)
    pad = 0.08 * (hi - lo or 1.0)
    return round(lo - pad, 12), round(hi + pad, 12)


class ForestPlot:
    """Relative lifts with confidence intervals; green when the estimate moves the metric the good way."""

    cols = ("label", "group", "lift_rel", "lo", "hi", "colour", "alpha", "p_value", "lift_text", "ci_text", "p_text")

    def __init__(self) -> None:
        f = _base("Relative lift vs control with confidence intervals (segments are exploratory)", height=300,
                  y_range=FactorRange("—"), x_range=Range1d(-0.1, 0.1))
        f.xaxis.axis_label = "relative lift"
        f.xaxis.formatter = tick_formatter("lift")
        self.figure = f
        self.points = ColumnDataSource({c: [] for c in self.cols})
        self.bars = ColumnDataSource({c: [] for c in self.cols})
        self.segments = f.segment(x0="lo", x1="hi", y0="label", y1="label", source=self.bars, line_width=3,
                                  color="colour", alpha="alpha")
        self.dots = f.scatter("lift_rel", "label", source=self.points, size=9, color="colour", alpha="alpha")
        f.add_layout(Span(location=0, dimension="height", line_color="#52606d", line_dash="dashed"))
        f.add_tools(HoverTool(renderers=[self.dots], tooltips=[("", "@label (@group)"), ("lift", "@lift_text"),
                                                                ("CI", "@ci_text"), ("adjusted p", "@p_text")]))
        self.note = _note(f)

    @property
    def renderers(self) -> list[Any]:
        return list(self.points.data["label"])

    def update(self, frame: pd.DataFrame | None) -> None:
        if frame is None or frame.empty:
            self.points.data = self.bars.data = {c: [] for c in self.cols}
            self.figure.y_range.factors = ["—"]
            self.note.text, self.note.visible = "no comparisons (health blocked or a single arm)", True
            return
        df = frame.copy()
        better = df["better"]
        df["colour"] = np.where(better.isna(), "#52606d",
                                np.where(better.fillna(False).astype(bool), "#1e7b45", "#b42318"))
        df["alpha"] = np.where(df["significant"], 1.0, 0.55)
        df["p_value"] = df["p_value"].astype(float)
        df["lift_text"] = df["lift_rel"].map(fmt_lift)          # the tooltip reads like the tables
        df["ci_text"] = [fmt_change_ci(lo, hi, "lift") for lo, hi in zip(df["lo"], df["hi"])]
        df["p_text"] = df["p_value"].map(fmt_p)
        finite = df[np.isfinite(df["lo"].astype(float)) & np.isfinite(df["hi"].astype(float))]
        self.figure.y_range.factors = list(df["label"])[::-1]
        self.figure.height = max(180, 26 * len(df) + 80)
        self.points.data = {c: df[c].to_numpy() for c in self.cols}
        self.bars.data = {c: finite[c].to_numpy() for c in self.cols}
        lo, hi = forest_range(df)
        if lo is not None:
            self.figure.x_range.start, self.figure.x_range.end = lo, hi
        self.note.visible = False


class RegretPlot(_LinePlot):
    """Mean cumulative regret over visitors per allocation strategy (simulator)."""

    x, y = "round", "regret"
    point_cols = ("round", "regret", "variant")

    def __init__(self) -> None:
        f = _base("Cumulative regret (expected conversions lost vs always showing the best arm)", height=300)
        f.xaxis.axis_label = "visitors"
        super().__init__(f, point_size=None)

    def update(self, frame: pd.DataFrame | None, policies: Sequence[str]) -> None:
        df = None if frame is None else frame.rename(columns={"policy": "variant"})
        self._set(df, policies, {p: Category10_10[i % 10] for i, p in enumerate(policies)}, "run the simulation")


class SharePlot(_LinePlot):
    """Share of traffic each arm received between checkpoints, for one strategy (simulator)."""

    x, y = "round", "share"
    point_cols = ("round", "share", "variant")

    def __init__(self, policy: str) -> None:
        f = _base(f"Traffic share per arm — {policy}", height=240, y_range=Range1d(0, 1))
        f.xaxis.axis_label = "visitors"
        super().__init__(f, point_size=None)

    def update(self, frame: pd.DataFrame | None, arms: Sequence[str]) -> None:
        self._set(frame, arms, {a: Category10_10[i % 10] for i, a in enumerate(arms)}, "run the simulation")
