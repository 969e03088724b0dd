"""HoloViews plots of the report's frames (:mod:`workbench.reports.views`), drawn with the Bokeh backend.

Every function takes a tidy frame (or a workbench result) and returns a HoloViews object, so a data
scientist can restyle or overlay it in a notebook and the report can embed it as static HTML
(:func:`workbench.reports.render.embed`). No statistics are computed here.

Importing this module selects the Bokeh backend without ``hv.extension()``: the extension's
notebook output pulls BokehJS from a CDN, while the report inlines it once (offline).

>>> import pandas as pd
>>> f = pd.DataFrame({"variant": ["b"], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]})
>>> type(lift_forest(f)).__name__
'Overlay'
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the Bokeh renderer and its options)
import numpy as np
import pandas as pd

from ..display import fmt_share, tick_formatter

hv.Store.set_current_backend("bokeh")

__all__ = ["PALETTE", "variant_colors", "empty_message", "padded_range", "srm_history_plot", "lift_forest", "sequential_plot", "funnel_plot",
           "trend_plot", "hour_plot", "cohort_plot", "segment_plot", "sku_plot", "shrinkage_plot", "allocation_plot",
           "roi_plot"]

PALETTE = ("#6e7781", "#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#0a3069", "#9a6700")
WIDTH, HEIGHT = 680, 260
"""Every plot is at most ``WIDTH`` CSS pixels wide (legend and toolbar included): it fits the printed page
(A4 or Letter with 12 mm margins leaves 700 px or more). Legends sit outside the frame, right of it."""
LEGEND = "right"
_BASE = dict(width=WIDTH, height=HEIGHT, toolbar="right", tools=["hover"], default_tools=["pan", "wheel_zoom",
                                                                                           "box_zoom", "reset", "save"])


def variant_colors(variants: Sequence[str]) -> dict[str, str]:
    """The control is grey; variants take the palette in order (same colour in every plot)."""
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(variants)}


_EMPTY = "Empty"


def _empty(message: str) -> hv.Text:
    """A stand-in for a plot with nothing to draw; the report shows ``message`` as text instead of a frame."""
    return hv.Text(0.5, 0.5, message, group=_EMPTY).opts(width=WIDTH, height=80, xaxis=None, yaxis=None,
                                                         toolbar=None)


def empty_message(obj: object) -> str | None:
    """What an empty plot (or an overlay of nothing but one) says is missing; ``None`` for a real plot.

    >>> empty_message(lift_forest(pd.DataFrame())), empty_message(hv.Curve([(0, 1)]))
    ('nothing to compare', None)
    """
    if isinstance(obj, hv.Overlay) and len(obj) == 1:
        obj = obj.values()[0]
    if isinstance(obj, hv.Text) and obj.group == _EMPTY:
        return str(obj.text)
    return None


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


def srm_history_plot(frame: pd.DataFrame, *, warning_p: float, blocked_p: float, dim: str = "day") -> hv.Overlay:
    """Cumulative SRM p-value by day on a log scale, with the warning and blocked thresholds."""
    if frame.empty:
        return _empty("no daily data for an SRM history")
    f = frame.assign(p_plot=frame["p_value"].clip(lower=1e-300), x=pd.to_datetime(frame[dim]))
    curve = hv.Curve(f, "x", "p_plot", label="cumulative SRM p-value").opts(color=PALETTE[1], line_width=2)
    points = hv.Scatter(f, "x", ["p_plot", "units"]).opts(color=PALETTE[1], size=6, tools=["hover"])
    warn = hv.HLine(warning_p).opts(color="#d4a72c", line_dash="dashed", line_width=1.5)
    block = hv.HLine(blocked_p).opts(color="#cf222e", line_dash="dashed", line_width=1.5)
    lowest = float(min(f["p_plot"].min(), blocked_p))
    return (curve * points * warn * block).opts(
        logy=True, ylim=(max(lowest / 10, 1e-300), 1.5), xlabel="day (cumulative)", ylabel="SRM p-value",
        title="SRM over time (dashed: warning and blocked thresholds)", **_BASE)


AXIS_NAMES = {"lift_rel": "relative lift", "lift_abs": "absolute lift"}
"""How a plotted column is named on an axis (other columns: their name with spaces)."""


def lift_forest(frame: pd.DataFrame, *, label: str = "variant", value: str = "lift_rel", lo: str = "lo",
                hi: str = "hi", title: str = "", pct: bool = True) -> hv.Overlay:
    """Point estimate and interval per row (variant, segment, SKU...), with a line at zero; the value axis
    reads "relative lift (%)" for ``lift_rel``.

    >>> o = lift_forest(pd.DataFrame({"variant": ["b"], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]}))
    >>> hv.Store.lookup_options("bokeh", o, "plot").kwargs["ylabel"]
    'relative lift (%)'
    """
    if frame.empty:
        return hv.Overlay([_empty("nothing to compare")])
    f = frame.copy()
    f["_label"] = f[label].astype(str)
    scale = 100.0 if pct else 1.0
    f["_v"], f["_lo"], f["_hi"] = f[value] * scale, f[lo] * scale, f[hi] * scale
    f["_err_lo"], f["_err_hi"] = f["_v"] - f["_lo"], f["_hi"] - f["_v"]
    f = f[np.isfinite(f["_v"])]
    if f.empty:
        return hv.Overlay([_empty("no finite estimates")])
    bars = hv.ErrorBars(f, "_label", ["_v", "_err_lo", "_err_hi"], horizontal=False).opts(line_width=2,
                                                                                         color=PALETTE[1])
    pts = hv.Scatter(f, "_label", ["_v", "_lo", "_hi"]).opts(size=9, color=PALETTE[1], tools=["hover"])
    zero = hv.HLine(0).opts(color="#57606a", line_dash="dotted")
    name = AXIS_NAMES.get(value, value.replace("_", " "))
    rotate = 35 if len(f) > 6 or f["_label"].str.len().max() > 14 else 0
    return (bars * pts * zero).opts(xlabel="", ylabel=f"{name} (%)" if pct else name,
                                    ylim=padded_range(f["_lo"], f["_hi"], f["_v"]), title=title,
                                    xrotation=rotate, **{**_BASE, "height": 280 if rotate else 240})


def sequential_plot(frames: Mapping[str, pd.DataFrame], variants: Sequence[str], unit: str = "value") -> hv.Overlay:
    """Always-valid confidence sequence of each variant's lift over looks (days), with the running estimate.

    ``frames`` maps a variant to its :meth:`~workbench.stats.sequential.SequentialResult.to_frame`; a
    difference of rates (``unit="rate"``) is drawn in percentage points, as the tables write it.
    """
    scale, ylabel = (100.0, "absolute lift (pp)") if unit == "rate" else (1.0, "absolute lift")
    frames = {v: f for v, f in frames.items() if not f.empty}
    if not frames:
        return hv.Overlay([_empty("no sequential looks")])
    colors = variant_colors(variants)
    layers = []
    for v, f in frames.items():
        x = pd.to_datetime(f["look"]) if f["look"].dtype == object else f["look"]
        mid, half = scale * (f["cs_lo"] + f["cs_hi"]) / 2, scale * (f["cs_hi"] - f["cs_lo"]) / 2
        layers.append(hv.Spread((x, mid, half), "look", ["lift", "half"]).opts(color=colors.get(v, PALETTE[1]),
                                                                               alpha=0.15))
        layers.append(hv.Curve((x, scale * f["lift"]), "look", "lift", label=str(v)).opts(color=colors.get(v, PALETTE[1]),
                                                                                  line_width=2))
    layers.append(hv.HLine(0).opts(color="#57606a", line_dash="dotted"))
    return hv.Overlay(layers).opts(xlabel="look", ylabel=ylabel,
                                   title="Sequential monitoring: lift and always-valid band per variant",
                                   legend_position=LEGEND, **_BASE)


def funnel_plot(frame: pd.DataFrame, variants: Sequence[str]) -> hv.Bars:
    """Share of exposed units reaching each funnel step, per variant (grouped bars)."""
    if frame.empty:
        return _empty("no funnel columns in the data")
    f = frame.assign(share=frame["share_of_exposed"] * 100)
    colors = variant_colors(variants)
    steps = list(dict.fromkeys(f["step"]))
    kdims = [hv.Dimension("step", values=steps), hv.Dimension("variant", values=list(variants))]
    return hv.Bars(f, kdims, ["share", "units"]).opts(
        color="variant", cmap=colors, ylabel="% of exposed units", xlabel="", title="Funnel",
        multi_level=True, legend_position=LEGEND, hooks=[_steps_only], **{**_BASE, "height": 280})


def _steps_only(plot: object, element: object) -> None:
    """Label the funnel's groups (steps) only: the legend names the bars' colours, and variant names
    under every bar crowd into each other."""
    axis = plot.state.xaxis[0]
    axis.major_label_text_font_size = "0pt"
    axis.group_text_font_size = "9pt"


def trend_plot(frame: pd.DataFrame, y: str, variants: Sequence[str], *, title: str = "", ylabel: str = "",
               pct: bool = False) -> hv.Overlay:
    """One line per variant over event time (daily or hourly buckets)."""
    if frame.empty:
        return hv.Overlay([_empty("no events")])
    colors = variant_colors(variants)
    curves = []
    for v in variants:
        g = frame[frame["variant"] == v]
        if g.empty:
            continue
        vals = g[y] * (100 if pct else 1)
        curves.append(hv.Curve((g["ts"], vals), "time", y, label=str(v)).opts(color=colors[v], line_width=2))
    return hv.Overlay(curves).opts(title=title, ylabel=ylabel or y, xlabel="", legend_position=LEGEND, **_BASE)


def hour_plot(frame: pd.DataFrame, variants: Sequence[str]) -> hv.Overlay:
    """Average active units by hour of day per variant."""
    if frame.empty:
        return hv.Overlay([_empty("no hourly data")])
    colors = variant_colors(variants)
    curves = [hv.Curve(frame[frame["variant"] == v], "hour", "units", label=str(v)).opts(color=colors[v],
                                                                                         line_width=2)
              for v in variants if (frame["variant"] == v).any()]
    return hv.Overlay(curves).opts(title="Active units by hour of day (average)", xlabel="hour of day (UTC)",
                                   ylabel="units", legend_position=LEGEND, **_BASE)


def cohort_plot(frame: pd.DataFrame, variants: Sequence[str], *, dim: str = "day") -> hv.Overlay:
    """Relative lift per daily cohort with its CI, one series per variant (novelty shows as a decline)."""
    if frame.empty:
        return hv.Overlay([_empty("no daily cohorts")])
    colors = variant_colors(variants)
    layers = []
    for v in variants[1:]:
        g = frame[(frame["variant"] == v) & np.isfinite(frame["lift_rel"])]
        if g.empty:
            continue
        x = pd.to_datetime(g[dim])
        mid = g["lift_rel"] * 100
        layers.append(hv.ErrorBars((x, mid, mid - g["lo"] * 100, g["hi"] * 100 - mid), "day",
                                   ["lift", "neg", "pos"]).opts(color=colors[v], line_width=1.5))
        layers.append(hv.Curve((x, mid), "day", "lift", label=str(v)).opts(color=colors[v], line_width=2))
    layers.append(hv.HLine(0).opts(color="#57606a", line_dash="dotted"))
    return hv.Overlay(layers).opts(title="Lift by daily cohort (units first exposed that day)", ylabel="relative lift %",
                                   xlabel="first exposure day", legend_position=LEGEND, **_BASE)


def segment_plot(frame: pd.DataFrame, *, dim: str) -> hv.Overlay:
    """Per-segment relative lift with its CI (one row per segment × variant)."""
    if frame.empty:
        return hv.Overlay([_empty(f"no {dim} segments")])
    f = frame.assign(label=frame["segment"].astype(str) + " · " + frame["variant"].astype(str))
    return lift_forest(f, label="label", title=f"Lift by {dim} (exploratory)")


def sku_plot(frame: pd.DataFrame, *, value_label: str = "conversion") -> hv.Overlay:
    """Each SKU's control vs variant value, coloured by category, with the diagonal (no effect)."""
    if frame.empty:
        return hv.Overlay([_empty("no per-SKU data")])
    f = frame.assign(control=frame["control_value"] * 100, variant=frame["variant_value"] * 100,
                     units=frame["n_control"] + frame["n_variant"])
    cats = sorted(f["category"].astype(str).unique())
    cmap = {c: PALETTE[(i + 1) % len(PALETTE)] for i, c in enumerate(cats)}
    pts = hv.Scatter(f, "control", ["variant", "category", "product_id", "units"]).opts(
        color="category", cmap=cmap, size=7, alpha=0.8, tools=["hover"], legend_position=LEGEND)
    top = float(np.nanmax([f["control"].max(), f["variant"].max(), 1e-9])) * 1.05
    diag = hv.Curve([(0, 0), (top, top)]).opts(color="#57606a", line_dash="dotted")
    return (pts * diag).opts(xlabel=f"control {value_label} %", ylabel=f"variant {value_label} %",
                             title="SKUs: variant vs control (raw rates; dotted = no effect)",
                             **{**_BASE, "height": 320})


def shrinkage_plot(frame: pd.DataFrame, *, clip: tuple[float, float] = (-1.0, 3.0)) -> hv.Overlay:
    """Raw relative lift (x) against the hierarchical model's shrunk lift (y) per SKU, by category.

    Points pulled toward the horizontal are SKUs whose raw lift was mostly noise; the dotted
    diagonal is "no shrinkage". Raw lifts are clipped to ``clip`` for display (a SKU with two
    conversions can show +900 %).
    """
    if frame.empty:
        return hv.Overlay([_empty("no SKU estimates")])
    f = frame.assign(raw=frame["raw_lift_rel"].clip(*clip) * 100, shrunk=frame["lift_rel"] * 100)
    f = f[np.isfinite(f["raw"]) & np.isfinite(f["shrunk"])]
    cats = sorted(f["category"].astype(str).unique())
    cmap = {c: PALETTE[(i + 1) % len(PALETTE)] for i, c in enumerate(cats)}
    pts = hv.Scatter(f, "raw", ["shrunk", "category", "sku", "units"]).opts(
        color="category", cmap=cmap, size=7, alpha=0.8, tools=["hover"], legend_position=LEGEND)
    lo, hi = clip[0] * 100, clip[1] * 100
    diag = hv.Curve([(lo, lo), (hi, hi)]).opts(color="#57606a", line_dash="dotted")
    zero = hv.HLine(0).opts(color="#8c959f", line_width=1)
    return (pts * diag * zero).opts(xlabel="raw lift % (observed)", ylabel="shrunk lift % (hierarchical)",
                                    title="Per-SKU lift: raw vs shrunk toward the category",
                                    **{**_BASE, "height": 320})


def allocation_plot(frame: pd.DataFrame, variants: Sequence[str], history: Any = None) -> hv.Overlay:
    """The bandit's logged allocation over time (``history.plot()``, the dashboard's chart too) with the
    realised share of new units per day (points)."""
    colors = variant_colors(variants)
    base = history.plot(colors) if history is not None and not history.empty else None
    if frame.empty and base is None:
        return hv.Overlay([_empty("no allocation history")])
    layers = []
    for v in variants:
        g = frame[(frame["variant"] == v) & frame["realised_share"].notna()] if not frame.empty else frame
        if g.empty:
            continue
        layers.append(hv.Scatter((g["day"] + pd.Timedelta(hours=12), g["realised_share"] * 100), "time", "weight",
                                 label=f"{v} realised").opts(color=colors[v], size=6, tools=["hover"]))
    out = (base * hv.Overlay(layers)) if base is not None else hv.Overlay(layers)
    return out.opts(title="Allocation: logged weight (line) vs realised share of new units per day (points)",
                    ylabel="% of traffic", xlabel="", legend_position=LEGEND, **_BASE)


def roi_plot(path: pd.DataFrame, *, variant: str, level: float, currency: str = "") -> hv.Overlay:
    """Cumulative projected incremental revenue over the horizon with its interval band."""
    if path.empty:
        return hv.Overlay([_empty("no projection")])
    band = hv.Spread((path["day"], (path["lo"] + path["hi"]) / 2, (path["hi"] - path["lo"]) / 2),
                     label=f"{fmt_share(level)} interval").opts(color=PALETTE[1], alpha=0.2)
    line = hv.Curve(path, "day", "cumulative", label=f"{variant} (projected)").opts(color=PALETTE[1], line_width=2)
    zero = hv.HLine(0).opts(color="#57606a", line_dash="dotted")
    cur = f" ({currency})" if currency else ""
    return (band * line * zero).opts(xlabel="days after launch", ylabel=f"incremental revenue{cur}",
                                     title="Projected cumulative incremental revenue", legend_position=LEGEND,
                                     yformatter=tick_formatter("currency"), **_BASE)
