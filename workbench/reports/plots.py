"""Bokeh plots of the report's frames (:mod:`workbench.reports.views`), drawn directly with ``bokeh.plotting``.

Every function takes a tidy frame (or a workbench result) and returns a Bokeh figure, which a data
scientist can restyle or add glyphs to in a notebook (``bokeh.io.show``) and the report embeds as
static HTML (:func:`workbench.reports.html.embed`). A plot with nothing to draw is an
:class:`EmptyPlot` carrying the sentence that says what is missing. No statistics are computed here
and no number is formatted here (tick formats come from :mod:`workbench.display`).

Plain Bokeh, no HoloViews and no Panel: a report worker imports only Bokeh, and each plot's document
carries Bokeh's models only.

>>> import pandas as pd
>>> f = pd.DataFrame({"variant": ["b"], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]})
>>> fig = lift_forest(f)
>>> type(fig).__name__, fig.yaxis[0].axis_label
('figure', 'relative lift (%)')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Range1d, Span, TeeHead, Whisker
from bokeh.plotting import figure

from ..display import PALETTE, escape, fmt_share, tick_formatter, variant_colors

__all__ = ["PALETTE", "WIDTH", "HEIGHT", "EmptyPlot", "variant_colors", "empty_message", "padded_range",
           "srm_history_plot", "lift_forest", "sequential_plot", "funnel_plot", "trend_plot", "hour_plot",
           "cohort_plot", "segment_plot", "sku_plot", "shrinkage_plot", "allocation_plot", "roi_plot",
           "new_figure", "legend_outside", "add_hover", "DATE"]

WIDTH, HEIGHT = 680, 260
"""Every plot is at most ``WIDTH`` CSS pixels wide (legend and toolbar included): it fits the printed page
(A4 or Letter with 12 mm margins leaves 700 px or more). Legends sit outside the frame, right of it."""
LEGEND = "right"
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
ZERO = dict(line_color="#57606a", line_dash="dotted", line_width=1.5)
"""The line at zero (no effect) of the lift plots."""


@dataclass(frozen=True)
class EmptyPlot:
    """A stand-in for a plot with nothing to draw: the report shows ``message`` as an italic sentence
    instead of an empty frame (so does a notebook, through ``_repr_html_``)."""

    message: str

    def _repr_html_(self) -> str:
        return f"<p class='wb-sub wb-empty'><i>{escape(self.message)}</i></p>"


def empty_message(obj: object) -> str | None:
    """What an empty plot says is missing; ``None`` for a real plot.

    >>> empty_message(lift_forest(pd.DataFrame())), empty_message(new_figure("a plot"))
    ('nothing to compare', None)
    """
    return obj.message if isinstance(obj, EmptyPlot) else None


def padded_range(*values: object, pad: float = 0.08, include_zero: bool = True) -> tuple[float, float]:
    """A range holding every finite value (and 0), widened by ``pad`` of its span on each side.

    >>> padded_range([1.0, 3.0], [2.0, float("nan")])
    (-0.24, 3.24)
    """
    vals = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values] or [np.zeros(0)])
    vals = vals[np.isfinite(vals)]
    if include_zero:
        vals = np.append(vals, 0.0)
    if vals.size == 0:
        return -1.0, 1.0
    lo, hi = float(vals.min()), float(vals.max())
    span = (hi - lo) or max(abs(hi), 1.0)
    return lo - pad * span, hi + pad * span


def new_figure(title: str, *, xlabel: str = "", ylabel: str = "", width: int = WIDTH, height: int = HEIGHT,
               **kw: Any) -> Any:
    """A report figure: ``width`` × ``height`` CSS pixels, toolbar on the right, no grid lines."""
    fig = figure(title=title, width=width, height=height, x_axis_label=xlabel, y_axis_label=ylabel, tools=TOOLS,
                 toolbar_location="right", active_scroll="wheel_zoom", min_border=10, **kw)
    fig.xgrid.grid_line_color = None
    fig.ygrid.grid_line_color = None
    fig.toolbar.logo = None
    return fig


def legend_outside(fig: Any, side: str = LEGEND, *, hide_on_click: bool = True) -> Any:
    """Move the figure's legends (if any) out of the frame, to ``side`` (right, left, above or below; any other
    value is a location inside the frame, kept there); with ``hide_on_click`` clicking an entry hides its glyphs.
    The report's plots and the dashboard's charts both place their legends with it."""
    if side not in ("right", "left", "above", "below"):
        fig.legend.location = side
        return fig
    for legend in list(fig.legend):
        if legend in fig.center:
            fig.center.remove(legend)
        legend.location = "top_left" if side in ("right", "left") else "center"
        legend.orientation = "vertical" if side in ("right", "left") else "horizontal"
        if hide_on_click:
            legend.click_policy = "hide"
        fig.add_layout(legend, side)
    return fig


DATE = "_date"
"""The column the plots fill with datetimes (hover shows it as a date)."""


def add_hover(fig: Any, renderers: Sequence[Any], fields: Sequence[tuple[str, str]], *,
              date_format: str = "%F") -> None:
    """Hovering a glyph of ``renderers`` shows ``fields`` (label, column); the :data:`DATE` column as a date
    (``date_format``, strftime)."""
    tips = [(label, f"@{{{c}}}{{{date_format}}}" if c == DATE else f"@{{{c}}}") for label, c in fields]
    fig.add_tools(HoverTool(renderers=list(renderers), tooltips=tips,
                            formatters={f"@{{{DATE}}}": "datetime"} if any(c == DATE for _, c in fields) else {}))


def _interval(fig: Any, src: ColumnDataSource, base: str, lower: str, upper: str, *, color: str, width: float,
              head: int) -> None:
    """An interval per row of ``src`` (a vertical whisker from ``lower`` to ``upper`` at ``base``, capped)."""
    fig.add_layout(Whisker(source=src, base=base, lower=lower, upper=upper, line_color=color, line_width=width,
                           lower_head=TeeHead(size=head, line_color=color, line_width=width),
                           upper_head=TeeHead(size=head, line_color=color, line_width=width)))


def _dates(values: Any) -> Any:
    return pd.to_datetime(values)


def srm_history_plot(frame: pd.DataFrame, *, warning_p: float, blocked_p: float, dim: str = "day") -> Any:
    """Cumulative SRM p-value by day on a log scale, with the warning and blocked thresholds."""
    if frame.empty:
        return EmptyPlot("no daily data for an SRM history")
    p = frame["p_value"].clip(lower=1e-300)
    src = ColumnDataSource({DATE: _dates(frame[dim]), "p": p.to_numpy(), "units": frame["units"].to_numpy()})
    lowest = float(min(p.min(), blocked_p))
    fig = new_figure("SRM over time (dashed: warning and blocked thresholds)", xlabel="day (cumulative)",
                     ylabel="SRM p-value", x_axis_type="datetime", y_axis_type="log",
                     y_range=Range1d(max(lowest / 10, 1e-300), 1.5))
    fig.line(DATE, "p", source=src, color=PALETTE[1], line_width=2, legend_label="cumulative SRM p-value")
    pts = fig.scatter(DATE, "p", source=src, color=PALETTE[1], size=6)
    add_hover(fig, [pts], [("day", DATE), ("p-value", "p"), ("units", "units")])
    fig.add_layout(Span(location=warning_p, dimension="width", line_color="#d4a72c", line_dash="dashed",
                        line_width=1.5))
    fig.add_layout(Span(location=blocked_p, dimension="width", line_color="#cf222e", line_dash="dashed",
                        line_width=1.5))
    return legend_outside(fig)


AXIS_NAMES = {"lift_rel": "relative lift", "lift_abs": "absolute lift"}
"""How a plotted column is named on an axis (other columns: their name with spaces)."""


def lift_forest(frame: pd.DataFrame, *, label: str = "variant", value: str = "lift_rel", lo: str = "lo",
                hi: str = "hi", title: str = "", pct: bool = True) -> Any:
    """Point estimate and interval per row (variant, segment, SKU...), with a line at zero; the value axis
    reads "relative lift (%)" for ``lift_rel``.

    >>> fig = lift_forest(pd.DataFrame({"variant": ["b", "c"], "lift_rel": [0.05, 0.02], "lo": [0.01, -0.01],
    ...                                 "hi": [0.09, 0.05]}))
    >>> list(fig.x_range.factors), fig.renderers[0].data_source.data["_v"].tolist()
    (['b', 'c'], [5.0, 2.0])
    """
    if frame.empty:
        return EmptyPlot("nothing to compare")
    scale = 100.0 if pct else 1.0
    f = pd.DataFrame({"_label": frame[label].astype(str), "_v": frame[value] * scale, "_lo": frame[lo] * scale,
                      "_hi": frame[hi] * scale})
    f = f[np.isfinite(f["_v"])]
    if f.empty:
        return EmptyPlot("no finite estimates")
    name = AXIS_NAMES.get(value, value.replace("_", " "))
    rotate = 35 if len(f) > 6 or f["_label"].str.len().max() > 14 else 0
    ylo, yhi = padded_range(f["_lo"], f["_hi"], f["_v"])
    fig = new_figure(title, ylabel=f"{name} (%)" if pct else name, height=280 if rotate else 240,
                     x_range=FactorRange(*dict.fromkeys(f["_label"])), y_range=Range1d(ylo, yhi))
    src = ColumnDataSource(f)
    _interval(fig, src, "_label", "_lo", "_hi", color=PALETTE[1], width=2, head=10)
    pts = fig.scatter("_label", "_v", source=src, size=9, color=PALETTE[1])
    add_hover(fig, [pts], [(label, "_label"), (name, "_v"), ("lo", "_lo"), ("hi", "_hi")])
    fig.add_layout(Span(location=0, dimension="width", **ZERO))
    fig.xaxis.major_label_orientation = math.radians(rotate)
    return fig


def sequential_plot(frames: Mapping[str, pd.DataFrame], variants: Sequence[str], unit: str = "value") -> Any:
    """Always-valid confidence sequence of each variant's lift over looks (days), with the running estimate.

    ``frames`` maps a variant to its :meth:`~workbench.stats.sequential.SequentialResult.to_frame`; a
    difference of rates (``unit="rate"``) is drawn in percentage points, as the tables write it.
    """
    scale, ylabel = (100.0, "absolute lift (pp)") if unit == "rate" else (1.0, "absolute lift")
    frames = {v: f for v, f in frames.items() if not f.empty}
    if not frames:
        return EmptyPlot("no sequential looks")
    dated = any(f["look"].dtype == object or pd.api.types.is_datetime64_any_dtype(f["look"]) for f in frames.values())
    colors = variant_colors(variants)
    fig = new_figure("Sequential monitoring: lift and always-valid band per variant", xlabel="look", ylabel=ylabel,
                     x_axis_type="datetime" if dated else "linear")
    x = DATE if dated else "look"
    lines = []
    for v, f in frames.items():
        color = colors.get(v, PALETTE[1])
        src = ColumnDataSource({x: _dates(f["look"]) if dated else f["look"].to_numpy(),
                                "lift": scale * f["lift"].to_numpy(), "lo": scale * f["cs_lo"].to_numpy(),
                                "hi": scale * f["cs_hi"].to_numpy()})
        fig.varea(x, "lo", "hi", source=src, color=color, alpha=0.15)
        lines.append(fig.line(x, "lift", source=src, color=color, line_width=2, legend_label=str(v)))
    add_hover(fig, lines, [("look", x), ("lift", "lift"), ("lo", "lo"), ("hi", "hi")])
    fig.x_range.range_padding = 0
    fig.add_layout(Span(location=0, dimension="width", **ZERO))
    return legend_outside(fig)


def funnel_plot(frame: pd.DataFrame, variants: Sequence[str]) -> Any:
    """Share of exposed units reaching each funnel step, per variant (grouped bars); only the steps are
    written under the bars (the legend names the colours: variant names under every bar crowd)."""
    if frame.empty:
        return EmptyPlot("no funnel columns in the data")
    colors = variant_colors(variants)
    steps = list(dict.fromkeys(frame["step"].astype(str)))
    shown = [v for v in variants if (frame["variant"] == v).any()]
    fig = new_figure("Funnel", ylabel="% of exposed units", height=280,
                     x_range=FactorRange(*[(s, str(v)) for s in steps for v in shown]),
                     y_range=Range1d(0, float(np.nanmax([frame["share_of_exposed"].max() * 100, 1e-9])) * 1.1))
    bars = []
    for v in shown:
        g = frame[frame["variant"] == v]
        src = ColumnDataSource({"x": [(str(s), str(v)) for s in g["step"]], "step": g["step"].astype(str).to_numpy(),
                                "variant": [str(v)] * len(g), "share": (g["share_of_exposed"] * 100).to_numpy(),
                                "units": g["units"].to_numpy()})
        bars.append(fig.vbar(x="x", top="share", width=0.8, source=src, fill_color=colors[v], line_color="black",
                             legend_label=str(v)))
    add_hover(fig, bars, [("step", "step"), ("variant", "variant"), ("share", "share"), ("units", "units")])
    axis = fig.xaxis[0]
    axis.major_label_text_font_size = "0pt"
    axis.group_text_font_size = "9pt"
    return legend_outside(fig)


def _lines(fig: Any, frame: pd.DataFrame, x: str, y: str, variants: Sequence[str], *, scale: float = 1.0,
           dated: bool = False) -> None:
    """One line per variant of ``frame`` (``y`` against ``x``), in the variants' colours, with hover."""
    colors = variant_colors(variants)
    lines = []
    for v in variants:
        g = frame[frame["variant"] == v]
        if g.empty:
            continue
        src = ColumnDataSource({DATE if dated else x: _dates(g[x]) if dated else g[x].to_numpy(),
                                y: (g[y] * scale).to_numpy(), "variant": [str(v)] * len(g)})
        lines.append(fig.line(DATE if dated else x, y, source=src, color=colors[v], line_width=2,
                              legend_label=str(v)))
    add_hover(fig, lines, [("variant", "variant"), (x, DATE if dated else x), (y, y)])


def trend_plot(frame: pd.DataFrame, y: str, variants: Sequence[str], *, title: str = "", ylabel: str = "",
               pct: bool = False) -> Any:
    """One line per variant over event time (daily or hourly buckets)."""
    if frame.empty:
        return EmptyPlot("no events")
    fig = new_figure(title, ylabel=ylabel or y, x_axis_type="datetime")
    _lines(fig, frame.rename(columns={"ts": "time"}), "time", y, variants, scale=100.0 if pct else 1.0, dated=True)
    fig.x_range.range_padding = 0
    return legend_outside(fig)


def hour_plot(frame: pd.DataFrame, variants: Sequence[str]) -> Any:
    """Average active units by hour of day per variant."""
    if frame.empty:
        return EmptyPlot("no hourly data")
    fig = new_figure("Active units by hour of day (average)", xlabel="hour of day (UTC)", ylabel="units")
    _lines(fig, frame, "hour", "units", variants)
    fig.x_range.range_padding = 0
    return legend_outside(fig)


def cohort_plot(frame: pd.DataFrame, variants: Sequence[str], *, dim: str = "day") -> Any:
    """Relative lift per daily cohort with its CI, one series per variant (novelty shows as a decline)."""
    if frame.empty:
        return EmptyPlot("no daily cohorts")
    colors = variant_colors(variants)
    shown = frame[frame["variant"].isin(variants[1:]) & np.isfinite(frame["lift_rel"])]
    fig = new_figure("Lift by daily cohort (units first exposed that day)", xlabel="first exposure day",
                     ylabel=f"{AXIS_NAMES['lift_rel']} (%)", x_axis_type="datetime",   # the range holds the whiskers too
                     y_range=Range1d(*padded_range(shown["lift_rel"] * 100, shown["lo"] * 100, shown["hi"] * 100)))
    lines = []
    for v in variants[1:]:
        g = shown[shown["variant"] == v]
        if g.empty:
            continue
        src = ColumnDataSource({DATE: _dates(g[dim]), "lift": (g["lift_rel"] * 100).to_numpy(),
                                "lo": (g["lo"] * 100).to_numpy(), "hi": (g["hi"] * 100).to_numpy()})
        _interval(fig, src, DATE, "lo", "hi", color=colors[v], width=1.5, head=8)
        lines.append(fig.line(DATE, "lift", source=src, color=colors[v], line_width=2, legend_label=str(v)))
    add_hover(fig, lines, [("day", DATE), ("lift", "lift"), ("lo", "lo"), ("hi", "hi")])
    fig.add_layout(Span(location=0, dimension="width", **ZERO))
    return legend_outside(fig)


def segment_plot(frame: pd.DataFrame, *, dim: str) -> Any:
    """Per-segment relative lift with its CI (one row per segment × variant)."""
    if frame.empty:
        return EmptyPlot(f"no {dim} segments")
    f = frame.assign(label=frame["segment"].astype(str) + " · " + frame["variant"].astype(str))
    return lift_forest(f, label="label", title=f"Lift by {dim} (exploratory)")


def _by_category(fig: Any, f: pd.DataFrame, x: str, y: str, fields: Sequence[tuple[str, str]]) -> None:
    """One scatter per category (colours from the palette, grey skipped), with hover."""
    cats = sorted(f["category"].astype(str).unique())
    pts = []
    for i, c in enumerate(cats):
        g = f[f["category"].astype(str) == c]
        src = ColumnDataSource({col: g[col].to_numpy() for _, col in fields})
        pts.append(fig.scatter(x, y, source=src, size=7, alpha=0.8, color=PALETTE[(i + 1) % len(PALETTE)],
                               legend_label=c))
    add_hover(fig, pts, fields)


def sku_plot(frame: pd.DataFrame, *, value_label: str = "conversion") -> Any:
    """Each SKU's control vs variant value, coloured by category, with the diagonal (no effect)."""
    if frame.empty:
        return EmptyPlot("no per-SKU data")
    f = frame.assign(control=frame["control_value"] * 100, variant=frame["variant_value"] * 100,
                     units=frame["n_control"] + frame["n_variant"], category=frame["category"].astype(str))
    fig = new_figure("SKUs: variant vs control (raw rates; dotted = no effect)", xlabel=f"control {value_label} %",
                     ylabel=f"variant {value_label} %", height=320)
    _by_category(fig, f, "control", "variant", [("control", "control"), ("variant", "variant"),
                                                ("category", "category"), ("product_id", "product_id"),
                                                ("units", "units")])
    top = float(np.nanmax([f["control"].max(), f["variant"].max(), 1e-9])) * 1.05
    fig.line([0, top], [0, top], **ZERO)
    return legend_outside(fig)


def shrinkage_plot(frame: pd.DataFrame, *, clip: tuple[float, float] = (-1.0, 3.0)) -> Any:
    """Raw relative lift (x) against the hierarchical model's shrunk lift (y) per SKU, by category.

    Points pulled toward the horizontal are SKUs whose raw lift was mostly noise; the dotted
    diagonal is "no shrinkage". Raw lifts are clipped to ``clip`` for display (a SKU with two
    conversions can show +900 %).
    """
    if frame.empty:
        return EmptyPlot("no SKU estimates")
    f = frame.assign(raw=frame["raw_lift_rel"].clip(*clip) * 100, shrunk=frame["lift_rel"] * 100,
                     category=frame["category"].astype(str))
    f = f[np.isfinite(f["raw"]) & np.isfinite(f["shrunk"])]
    fig = new_figure("Per-SKU lift: raw vs shrunk toward the category", xlabel="raw lift % (observed)",
                     ylabel="shrunk lift % (hierarchical)", height=320)
    _by_category(fig, f, "raw", "shrunk", [("raw", "raw"), ("shrunk", "shrunk"), ("category", "category"),
                                           ("sku", "sku"), ("units", "units")])
    lo, hi = clip[0] * 100, clip[1] * 100
    fig.line([lo, hi], [lo, hi], **ZERO)
    fig.add_layout(Span(location=0, dimension="width", line_color="#8c959f", line_width=1))
    return legend_outside(fig)


def allocation_plot(frame: pd.DataFrame, variants: Sequence[str], history: Any = None) -> Any:
    """The bandit's logged allocation over time (``history.plot()``, the dashboard's chart too) with the
    realised share of new units per day (points)."""
    colors = variant_colors(variants)
    base = history.plot(colors) if history is not None and not history.empty else None
    if base is not None and empty_message(base) is not None:
        base = None
    if frame.empty and base is None:
        return EmptyPlot("no allocation history")
    title = "Allocation: logged weight (line) vs realised share of new units per day (points)"
    if base is None:
        fig = new_figure(title, ylabel="% of traffic", x_axis_type="datetime")
    else:
        fig = base
        fig.title.text, fig.width, fig.height = title, WIDTH, HEIGHT
    pts = []
    for v in variants:
        g = frame[(frame["variant"] == v) & frame["realised_share"].notna()] if not frame.empty else frame
        if g.empty:
            continue
        src = ColumnDataSource({DATE: _dates(g["day"]) + pd.Timedelta(hours=12),
                                "share": (g["realised_share"] * 100).to_numpy(), "variant": [str(v)] * len(g)})
        pts.append(fig.scatter(DATE, "share", source=src, color=colors[v], size=6, legend_label=f"{v} realised"))
    if pts:
        add_hover(fig, pts, [("variant", "variant"), ("day", DATE), ("realised share", "share")])
    return legend_outside(fig)


def roi_plot(path: pd.DataFrame, *, variant: str, level: float, currency: str = "") -> Any:
    """Cumulative projected incremental revenue over the horizon with its interval band."""
    if path.empty:
        return EmptyPlot("no projection")
    cur = f" ({currency})" if currency else ""
    fig = new_figure("Projected cumulative incremental revenue", xlabel="days after launch",
                     ylabel=f"incremental revenue{cur}")
    src = ColumnDataSource({"day": path["day"].to_numpy(), "cumulative": path["cumulative"].to_numpy(),
                            "lo": path["lo"].to_numpy(), "hi": path["hi"].to_numpy()})
    fig.varea("day", "lo", "hi", source=src, color=PALETTE[1], alpha=0.2, legend_label=f"{fmt_share(level)} interval")
    line = fig.line("day", "cumulative", source=src, color=PALETTE[1], line_width=2,
                    legend_label=f"{variant} (projected)")
    add_hover(fig, [line], [("day", "day"), ("cumulative", "cumulative"), ("lo", "lo"), ("hi", "hi")])
    fig.add_layout(Span(location=0, dimension="width", **ZERO))
    fig.yaxis.formatter = tick_formatter("currency")
    fig.x_range.range_padding = 0
    return legend_outside(fig)
