"""Bokeh figures for the dashboard: they draw frames from :mod:`workbench.dashboard.data`, nothing more.

Each plot is built once per page with a fixed set of renderers (one per possible arm, up to
``MAX_ARMS``) and :meth:`update`\\ d in place when the experiment or the data changes: only new
column data travels to the browser, which keeps switching experiments fast. Plain Bokeh (served by
the Panel server itself, no CDN) keeps pages light.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from bokeh.models import (ColumnDataSource, FactorRange, HoverTool, Label, Legend, LegendItem, NumeralTickFormatter,
                          Range1d, Span)
from bokeh.core.properties import value
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.transform import dodge

__all__ = ["MAX_ARMS", "variant_colours", "TrendPlot", "FunnelPlot", "PosteriorPlot", "ChancePlot", "ForestPlot",
           "RegretPlot", "SharePlot", "forest_range"]

MAX_ARMS = 6
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
FUNNEL_STEPS = ["viewed", "clicked", "carted", "purchased"]


def variant_colours(variants: Sequence[str]) -> dict[str, str]:
    """A stable colour per variant (control first, in the experiment's order)."""
    return {v: Category10_10[i % 10] for i, v in enumerate(variants)}


def _base(title: str, *, height: int = 260, **kw: Any) -> Any:
    f = figure(title=title, height=height, sizing_mode="stretch_width", tools=_TOOLS, toolbar_location="above", **kw)
    f.toolbar.logo = None
    f.title.text_font_size = "12px"
    return f


def _empty_note(f: Any) -> Label:
    note = Label(x=10, y=10, x_units="screen", y_units="screen", text="", text_color="#52606d", visible=False)
    f.add_layout(note)
    return note


def _columns(frame: pd.DataFrame | None, cols: Sequence[str]) -> dict[str, Any]:
    if frame is None or frame.empty:
        return {c: [] for c in cols}
    return {c: frame[c].to_numpy() for c in cols}


class _ArmPlot:
    """A figure with one glyph group per arm slot; slots beyond the experiment's arms are hidden."""

    cols: tuple[str, ...] = ()

    def __init__(self, f: Any, legend_location: str = "top_left") -> None:
        self.figure = f
        self.sources = [ColumnDataSource(_columns(None, self.cols)) for _ in range(MAX_ARMS)]
        self.glyphs: list[list[Any]] = [self._glyphs(i, s) for i, s in enumerate(self.sources)]
        self.items = [LegendItem(label=value(f"arm {i}"), renderers=[g[0]], visible=False)
                      for i, g in enumerate(self.glyphs)]
        self.legend = Legend(items=self.items, location=legend_location, click_policy="hide",
                             label_text_font_size="11px")
        f.add_layout(self.legend)
        self.note = _empty_note(f)
        for g in self.glyphs:
            for r in g:
                r.visible = False

    def _glyphs(self, i: int, source: ColumnDataSource) -> list[Any]:
        raise NotImplementedError

    def _fill(self, slots: list[tuple[str, pd.DataFrame | None, str]], empty: str) -> None:
        """``slots``: (variant, its rows, legend label) per arm in order; hide the rest."""
        shown = 0
        for i in range(MAX_ARMS):
            if i < len(slots) and slots[i][1] is not None and not slots[i][1].empty:
                v, rows, label = slots[i]
                self.sources[i].data = _columns(rows.assign(variant=v), self.cols)
                self.items[i].label = value(label)
                visible = True
                shown += 1
            else:
                self.sources[i].data = _columns(None, self.cols)
                visible = False
            self.items[i].visible = visible
            for r in self.glyphs[i]:
                r.visible = visible
        self.note.text, self.note.visible = empty, shown == 0

    @property
    def renderers(self) -> list[Any]:
        """The glyph renderers in use (visible ones)."""
        return [r for g in self.glyphs for r in g if r.visible]


class TrendPlot(_ArmPlot):
    """Purchases per active unit in each time bucket, one line per variant."""

    cols = ("ts", "cvr", "units", "purchases", "variant")

    def __init__(self) -> None:
        f = _base("Conversion by hour", x_axis_type="datetime")
        f.yaxis.axis_label = "purchases / active users"
        super().__init__(f)
        f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("time", "@ts{%F %H:%M}"), ("rate", "@cvr{0.00%}"),
                                        ("users", "@units{0,0}"), ("purchases", "@purchases{0,0}")],
                              formatters={"@ts": "datetime"}))

    def _glyphs(self, i: int, source: ColumnDataSource) -> list[Any]:
        return [self.figure.line("ts", "cvr", source=source, color=Category10_10[i], line_width=2)]

    def update(self, frame: pd.DataFrame | None, variants: Sequence[str], *, freq: str = "h") -> None:
        self.figure.title.text = (f"Conversion by {'hour' if freq == 'h' else 'day'} "
                                  "(purchases per active user, event time)")
        rows = [(v, None if frame is None else frame[frame["variant"] == v], str(v)) for v in variants]
        self._fill(rows, "no events in this period")


class FunnelPlot(_ArmPlot):
    """Share of units reaching each funnel step, bars grouped by step."""

    cols = ("step", "share", "units", "variant")

    def __init__(self) -> None:
        f = _base("Funnel: share of users reaching each step", x_range=FactorRange(*FUNNEL_STEPS))
        f.yaxis.axis_label = "share of users"
        f.y_range = Range1d(0, 1.05)
        super().__init__(f, legend_location="top_right")
        f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("step", "@step"), ("share", "@share{0.00%}"),
                                        ("users", "@units{0,0}")]))

    def _glyphs(self, i: int, source: ColumnDataSource) -> list[Any]:
        x = dodge("step", 0.0, range=self.figure.x_range)
        if not hasattr(self, "dodges"):
            self.dodges: list[Any] = []
        self.dodges.append(x.transform)
        return [self.figure.vbar(x=x, top="share", width=0.2, source=source, color=Category10_10[i])]

    def update(self, frame: pd.DataFrame | None, variants: Sequence[str]) -> None:
        k = max(len(variants), 1)
        width = 0.8 / k
        for i, g in enumerate(self.glyphs):
            g[0].glyph.width = width * 0.9
            self.dodges[i].value = (i - (k - 1) / 2) * width
        rows = [(v, None if frame is None else frame[frame["variant"] == v], str(v)) for v in variants]
        self._fill(rows, "no funnel data")


class PosteriorPlot(_ArmPlot):
    """Posterior densities: each arm's rate (Beta) or each variant's lift (normal)."""

    cols = ("x", "density", "variant")

    def __init__(self) -> None:
        f = _base("Posterior")
        f.yaxis.axis_label = "density"
        super().__init__(f)
        self.zero = Span(location=0, dimension="height", line_color="#52606d", line_dash="dashed", visible=False)
        f.add_layout(self.zero)

    def _glyphs(self, i: int, source: ColumnDataSource) -> list[Any]:
        line = self.figure.line("x", "density", source=source, color=Category10_10[i], line_width=2)
        area = self.figure.varea(x="x", y1=0, y2="density", source=source, fill_color=Category10_10[i], fill_alpha=0.25)
        return [line, area]

    def update(self, curves: Any, variants: Sequence[str]) -> None:
        if curves is None:
            self.figure.title.text = "Posterior"
            self.zero.visible = False
            self._fill([], "no Bayesian summary (health blocked or no comparison)")
            return
        what = f"each arm's {curves.metric}" if curves.kind == "rate" else f"each variant's lift in {curves.metric}"
        self.figure.title.text = f"Posterior of {what}"
        self.zero.visible = curves.kind == "lift"
        slots = []
        for v in variants:
            rows = curves.frame[curves.frame["variant"] == v]
            if rows.empty:
                continue
            p = curves.prob_beat_control.get(v)
            slots.append((v, rows, f"{v}" + (f" — P(beat control) {p:.1%}" if p is not None else "")))
        self._fill(slots, "no posterior")


class ChancePlot(_ArmPlot):
    """P(variant beats control) by day, cumulative; the policy's decision level when it has one."""

    cols = ("day", "prob_beat_control", "units", "variant")

    def __init__(self) -> None:
        f = _base("Chance to beat control over time (cumulative by day of first exposure)", x_axis_type="datetime")
        f.y_range = Range1d(0, 1)
        f.yaxis.axis_label = "P(beat control)"
        super().__init__(f, legend_location="bottom_left")
        f.add_layout(Span(location=0.5, dimension="width", line_color="#9aa5b1", line_dash="dotted"))
        self.threshold = Span(location=0.95, dimension="width", line_color="#1e7b45", line_dash="dashed",
                              visible=False)
        f.add_layout(self.threshold)
        f.add_tools(HoverTool(tooltips=[("variant", "@variant"), ("day", "@day{%F}"),
                                        ("P(beat)", "@prob_beat_control{0.0%}"), ("users so far", "@units{0,0}")],
                              formatters={"@day": "datetime"}))

    def _glyphs(self, i: int, source: ColumnDataSource) -> list[Any]:
        c = Category10_10[(i + 1) % 10]          # slot i is variant i + 1 (the control has no line)
        return [self.figure.line("day", "prob_beat_control", source=source, color=c, line_width=2),
                self.figure.scatter("day", "prob_beat_control", source=source, color=c, size=5)]

    def update(self, frame: pd.DataFrame | None, variants: Sequence[str], *, threshold: float | None = None) -> None:
        self.threshold.visible = threshold is not None
        if threshold is not None:
            self.threshold.location = float(threshold)
        rows = [(v, None if frame is None else frame[frame["variant"] == v], str(v)) for v in variants[1:]]
        self._fill(rows, "no daily data")


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


class ForestPlot:
    """Relative lifts with confidence intervals; green when the estimate moves the metric the good way."""

    cols = ("label", "group", "lift_rel", "lo", "hi", "colour", "alpha", "p_value")

    def __init__(self) -> None:
        f = _base("Relative lift vs control with confidence intervals (segments are exploratory)", height=300,
                  y_range=FactorRange("—"), x_range=Range1d(-0.1, 0.1))
        f.xaxis.axis_label = "relative lift"
        f.xaxis.formatter = NumeralTickFormatter(format="+0%")
        self.figure = f
        self.points = ColumnDataSource(_columns(None, self.cols))
        self.bars = ColumnDataSource(_columns(None, self.cols))
        self.segments = f.segment(x0="lo", x1="hi", y0="label", y1="label", source=self.bars, line_width=3,
                                  color="colour", alpha="alpha")
        self.dots = f.scatter("lift_rel", "label", source=self.points, size=9, color="colour", alpha="alpha")
        f.add_layout(Span(location=0, dimension="height", line_color="#52606d", line_dash="dashed"))
        f.add_tools(HoverTool(renderers=[self.dots], tooltips=[("", "@label (@group)"), ("lift", "@lift_rel{+0.00%}"),
                                                                ("CI", "[@lo{+0.00%}, @hi{+0.00%}]"),
                                                                ("adjusted p", "@p_value{0.0000}")]))
        self.note = _empty_note(f)

    @property
    def renderers(self) -> list[Any]:
        return [self.segments, self.dots] if len(self.points.data["label"]) else []

    def update(self, frame: pd.DataFrame | None) -> None:
        if frame is None or frame.empty:
            self.points.data = self.bars.data = _columns(None, self.cols)
            self.figure.y_range.factors = ["—"]
            self.note.text, self.note.visible = "no comparisons (health blocked or a single arm)", True
            return
        df = frame.copy()
        better = df["better"]
        df["colour"] = np.where(better.isna(), "#52606d", np.where(better.fillna(False).astype(bool), "#1e7b45",
                                                                      "#b42318"))
        df["alpha"] = np.where(df["significant"], 1.0, 0.55)
        df["p_value"] = df["p_value"].astype(float)
        finite = df[np.isfinite(df["lo"].astype(float)) & np.isfinite(df["hi"].astype(float))]
        labels = list(df["label"])[::-1]
        self.figure.y_range.factors = labels
        self.figure.height = max(180, 26 * len(labels) + 80)
        self.points.data = _columns(df, self.cols)
        self.bars.data = _columns(finite, self.cols)
        lo, hi = forest_range(df)
        if lo is not None:
            self.figure.x_range.start, self.figure.x_range.end = lo, hi
        self.note.visible = False


class RegretPlot:
    """Cumulative regret over visitors per allocation strategy (simulator)."""

    def __init__(self, policies: Sequence[str]) -> None:
        f = _base("Cumulative regret (expected conversions lost vs always showing the best arm)", height=300)
        f.xaxis.axis_label = "visitors"
        self.figure = f
        self.sources = {p: ColumnDataSource({"step": [], "regret": []}) for p in policies}
        for i, (p, s) in enumerate(self.sources.items()):
            f.line("step", "regret", source=s, color=Category10_10[i], line_width=2, legend_label=str(p))
        f.legend.location = "top_left"

    def update(self, frame: pd.DataFrame) -> None:
        for p, s in self.sources.items():
            sub = frame[frame["policy"] == p]
            s.data = {"step": sub["step"].to_numpy(), "regret": sub["regret"].to_numpy()}


class SharePlot(_ArmPlot):
    """Share of traffic per arm over visitors for one strategy (simulator)."""

    cols = ("step", "share", "variant")

    def __init__(self, policy: str) -> None:
        f = _base(f"Traffic share per arm — {policy}", height=240)
        f.y_range = Range1d(0, 1)
        f.xaxis.axis_label = "visitors"
        super().__init__(f)

    def _glyphs(self, i: int, source: ColumnDataSource) -> list[Any]:
        return [self.figure.line("step", "share", source=source, color=Category10_10[i], line_width=2)]

    def update(self, frame: pd.DataFrame, arms: Sequence[str]) -> None:
        self._fill([(a, frame[frame["arm"] == a], str(a)) for a in arms], "run the simulation")
