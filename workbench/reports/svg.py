"""A report plot's Bokeh figure drawn as static SVG, for the printed page.

The PDF is printed without JavaScript: BokehJS drawing a report's ~11 interactive plots was ~70 % of
Chromium's CPU for a print, and a printed canvas is a bitmap. Each embedded plot therefore carries this
drawing of the *same* figure (:func:`workbench.reports.html.embed`): the same data sources, ranges,
colours, labels, titles and legend, read from the figure's models, with axis ticks chosen and written as
BokehJS chooses and writes them (:mod:`workbench.display_ticks`). The page shows the interactive plot on
screen and this drawing in print (and when scripts are off). Vector lines and text: sharp on paper,
selectable, searchable. Numbers are never formatted here: tick labels come from the display layer, and
coordinates are tenths of a pixel (:func:`_num`).

Only what the report's plots use is drawn (lines, steps, circles, areas, bars, whiskers, spans,
legends; linear, log, datetime and categorical axes); :func:`figure_svg` raises
:class:`UnsupportedFigure` for anything else, and :func:`workbench.reports.html.embed` then leaves the
plot to BokehJS, in print too.

>>> import pandas as pd
>>> from workbench.reports.plots import lift_forest
>>> svg = figure_svg(lift_forest(pd.DataFrame({"variant": ["b"], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]})))
>>> svg.startswith("<svg") and "relative lift (%)" in svg
True
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..display import escape
from ..display_ticks import (MINUS, fmt_basic, fmt_datetime, fmt_numeral, ticks_datetime, ticks_linear,
                             ticks_log)

__all__ = ["figure_svg", "UnsupportedFigure"]

FONT = "helvetica,arial,sans-serif"
TEXT = "#444444"
CHAR_W = {11: 6.1, 12: 6.7, 13: 7.2}
"""Average glyph width (px) of the sans-serif font at these sizes, for laying out labels without font metrics."""
DASH = {"solid": "", "dashed": "6", "dotted": "2,4", "dotdash": "2,4,6,4", "dashdot": "6,4,2,4"}


class UnsupportedFigure(ValueError):
    """The figure holds a model this drawing does not know."""


# ---- the figure's models, read ---------------------------------------------------------------------------

def _column(glyph: Any, name: str, data: dict[str, Any]) -> Any:
    """A glyph property: its data column (as an array) or its single value."""
    spec = getattr(glyph, name)
    key = spec if isinstance(spec, str) else getattr(spec, "field", None)
    if isinstance(key, str) and key in data:
        col = data[key]
        if pd.api.types.is_datetime64_any_dtype(getattr(col, "dtype", None)):    # as Bokeh sends it: ms, UTC
            s = pd.Series(col)
            if s.dt.tz is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            v = s.to_numpy(dtype="datetime64[ns]")
            return np.where(np.isnat(v), np.nan, v.astype("int64") / 1e6)
        if isinstance(col, (list, tuple)) and col and isinstance(col[0], (tuple, str)):
            return list(col)
        return np.asarray(col, dtype=float) if not (len(col) and isinstance(col[0], str)) else list(col)
    return getattr(spec, "value", spec)


def _label(item: Any) -> str:
    lab = item.label
    if isinstance(lab, dict):
        lab = lab.get("value", "")
    return str(getattr(lab, "value", lab) or "")


def _paint(kind: str, color: Any, alpha: Any) -> str:
    """``stroke="…" stroke-opacity="…"`` (``kind`` stroke or fill)."""
    c = "none" if color is None else (str(color) if not isinstance(color, tuple) else
                                      "#%02x%02x%02x" % tuple(int(v) for v in color[:3]))
    a = 1.0 if alpha is None else float(alpha)
    return f'{kind}="{escape(c)}"' + (f' {kind}-opacity="{a:.3g}"' if a < 1 else "")


@dataclass
class _Axis:
    """One axis: what it maps from (a numeric range or factors) and how its ticks are chosen and written."""

    kind: str                       # linear, log, datetime or categorical
    lo: float
    hi: float
    factors: dict[Any, float] = field(default_factory=dict)     # factor -> centre (categorical)
    groups: dict[str, float] = field(default_factory=dict)      # first level -> centre (nested factors)
    label: str = ""
    formatter: Any = None
    orientation: float = 0.0
    major_px: int = 11
    group_px: int = 11
    show_major: bool = True

    def coord(self, value: Any) -> float:
        if self.kind == "categorical":
            return self.factors.get(tuple(value) if isinstance(value, list) else value, math.nan)
        v = float(value)
        if self.kind == "log":
            return math.log10(v) if v > 0 else math.nan
        return v

    def bounds(self) -> tuple[float, float]:
        return (math.log10(self.lo), math.log10(self.hi)) if self.kind == "log" else (self.lo, self.hi)

    def ticks(self) -> tuple[list[Any], list[str]]:
        if self.kind == "categorical":
            keys = list(self.factors)
            return keys, [str(k[-1] if isinstance(k, tuple) else k) for k in keys]
        if self.kind == "datetime":
            t = ticks_datetime(self.lo, self.hi)
            return t, fmt_datetime(t, self.formatter)
        t = ticks_log(self.lo, self.hi) if self.kind == "log" else ticks_linear(self.lo, self.hi)
        fmt = self.formatter
        if fmt is not None and type(fmt).__name__ == "NumeralTickFormatter":
            return t, fmt_numeral(t, fmt.format)
        if self.kind == "log" and all(float(x).is_integer() for x in np.log10(t)) and t:
            return t, [f"10^{int(round(math.log10(x)))}".replace("-", MINUS) for x in t]
        return t, fmt_basic(t)


def _factor_positions(factors: Sequence[Any], rng: Any) -> tuple[dict[Any, float], dict[str, float], float]:
    """Centres of ``factors`` as BokehJS's ``FactorRange`` lays them out (one unit each, group padding between
    first-level groups), the first level's centres, and the range's end."""
    pos: dict[Any, float] = {}
    groups: dict[str, list[float]] = {}
    total, last = 0.0, None
    for i, f in enumerate(factors):
        key = tuple(f) if isinstance(f, (list, tuple)) else f
        top = key[0] if isinstance(key, tuple) else None
        if i > 0:
            total += rng.group_padding if (top is not None and top != last) else rng.factor_padding
        pos[key] = total + 0.5
        if top is not None:
            groups.setdefault(top, []).append(total + 0.5)
        total += 1.0
        last = top
    pad = rng.range_padding * total if rng.range_padding else 0.0
    return pos, {g: (v[0] + v[-1]) / 2 for g, v in groups.items()}, total + pad


def _data_range(rng: Any, values: list[np.ndarray], log: bool) -> tuple[float, float]:
    """A range's start and end: given (``Range1d``), or BokehJS's ``DataRange1d`` of the plotted values."""
    if type(rng).__name__ == "Range1d":
        return float(rng.start), float(rng.end)
    vals = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    if log:
        vals = np.log10(vals[vals > 0])
    if vals.size == 0:
        lo, hi = -1.0, 1.0
    else:
        lo, hi = float(vals.min()), float(vals.max())
        if hi == lo:
            lo, hi = lo - rng.default_span / 2, hi + rng.default_span / 2
        elif rng.range_padding:
            pad = (hi - lo) * rng.range_padding / 2 if rng.range_padding_units == "percent" else rng.range_padding
            lo, hi = lo - pad, hi + pad
    for given, name in ((rng.start, "lo"), (rng.end, "hi")):     # an unset end is NaN (or None)
        if isinstance(given, (int, float)) and math.isfinite(given):
            lo, hi = (float(given), hi) if name == "lo" else (lo, float(given))
    return (10 ** lo, 10 ** hi) if log else (lo, hi)


_EXTENT = {"Line": (("x",), ("y",)), "Step": (("x",), ("y",)), "Scatter": (("x",), ("y",)),
           "VArea": (("x",), ("y1", "y2")), "VBar": (("x",), ("top", "bottom"))}


def _axis(fig: Any, dim: str, renderers: list[Any]) -> _Axis:
    rng = getattr(fig, f"{dim}_range")
    axis = (fig.xaxis if dim == "x" else fig.yaxis)[0]
    scale = type(getattr(fig, f"{dim}_scale")).__name__
    kind = {"CategoricalAxis": "categorical", "DatetimeAxis": "datetime", "LogAxis": "log"}.get(
        type(axis).__name__, "log" if scale == "LogScale" else "linear")
    orient = axis.major_label_orientation
    common = dict(label=str(axis.axis_label or ""), formatter=axis.formatter,
                  orientation=float(orient) if isinstance(orient, (int, float)) else 0.0,
                  major_px=_px(axis.major_label_text_font_size), show_major=_px(axis.major_label_text_font_size) > 0)
    if kind == "categorical":
        pos, groups, end = _factor_positions(list(rng.factors), rng)
        return _Axis(kind, 0.0, end, pos, groups, group_px=_px(getattr(axis, "group_text_font_size", "11px")),
                     **common)
    values = []
    for r in renderers:
        glyph, data = r.glyph, r.data_source.data
        for name in _EXTENT[type(glyph).__name__][0 if dim == "x" else 1]:
            v = _column(glyph, name, data)
            if isinstance(v, np.ndarray):
                values.append(v)
            elif isinstance(v, (int, float)):
                values.append(np.array([float(v)]))
    lo, hi = _data_range(rng, values, kind == "log")
    return _Axis(kind, lo, hi, **common)


def _px(size: Any) -> int:
    s = str(size or "11px")
    v = float(s.rstrip("ptx") or 0)
    return int(round(v * 4 / 3)) if s.endswith("pt") else int(round(v))


def _text_w(text: str, px: int) -> float:
    return len(text) * CHAR_W.get(px, px * 0.55)


# ---- drawing ---------------------------------------------------------------------------------------------

def figure_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element of the figure's width × height in CSS px."""
    renderers = [r for r in fig.renderers if type(r).__name__ == "GlyphRenderer" and r.visible]
    for r in renderers:
        if type(r.glyph).__name__ not in _EXTENT:
            raise UnsupportedFigure(f"no static drawing of a {type(r.glyph).__name__} glyph")
    annotations = [a for a in fig.center if type(a).__name__ in ("Whisker", "Span")]
    legends = [m for side in (fig.right, fig.left, fig.center, fig.above, fig.below) for m in side
               if type(m).__name__ == "Legend"]
    W, H = int(fig.width), int(fig.height)
    xa, ya = _axis(fig, "x", renderers), _axis(fig, "y", renderers)
    title = str(fig.title.text or "") if fig.title is not None else ""

    # layout: the frame inside the title, the axes' labels and the legend (Bokeh's min_border around all)
    xt, xl = xa.ticks()
    yt, yl = ya.ticks()
    items = [(_label(it), [r for r in it.renderers if r.visible]) for lg in legends for it in lg.items]
    items = [(lab, rs) for lab, rs in items if lab and rs]
    legend_w = (max(_text_w(lab, 12) for lab, _ in items) + 20 + 5 + 2 * 10) if items else 0
    border = 10
    top = border + (22 if title else 4)
    y_tick_w = max((_text_w(lab, ya.major_px) for lab in yl), default=0) + 8 + 4
    left = border + (20 if ya.label else 0) + y_tick_w
    rot = xa.orientation
    x_lines = max((lab.count("\n") + 1 for lab in xl), default=1)
    x_tick_h = (max((_text_w(lab, xa.major_px) for lab in xl), default=0) * abs(math.sin(rot)) + xa.major_px * 1.2
                if rot else xa.major_px * 1.2 * x_lines + 2) if xa.show_major and xl else 0
    bottom = border + 8 + x_tick_h + (xa.group_px * 1.5 if xa.groups else 0) + (20 if xa.label else 0)
    right = W - border - (legend_w + 8 if items else 0)
    fx0, fx1, fy0, fy1 = left, max(right, left + 50), top, max(H - bottom, top + 40)

    xlo, xhi = xa.bounds()
    ylo, yhi = ya.bounds()

    def px(v: Any) -> float:
        c = xa.coord(v)
        return fx0 + (c - xlo) / (xhi - xlo) * (fx1 - fx0) if xhi != xlo else math.nan

    def py(v: Any) -> float:
        c = ya.coord(v)
        return fy1 - (c - ylo) / (yhi - ylo) * (fy1 - fy0) if yhi != ylo else math.nan

    out: list[str] = []
    clip = 'clip-path="url(#{cid})"'
    for a in annotations:                           # whiskers are drawn under the glyphs, as Bokeh's underlay
        if type(a).__name__ == "Whisker":
            out.append(_whisker(a, px, py, clip))
    for r in renderers:
        out.append(_glyph(r.glyph, r.data_source.data, px, py, clip, (fx1 - fx0) / (xhi - xlo)))
    for a in annotations:
        if type(a).__name__ == "Span":
            out.append(_span(a, px, py, (fx0, fx1, fy0, fy1)))

    out.append(f'<rect x="{_num(fx0)}" y="{_num(fy0)}" width="{_num(fx1 - fx0)}" height="{_num(fy1 - fy0)}" '
               f'fill="none" stroke="#e5e5e5"/>')
    out.append(_axes(xa, ya, xt, xl, yt, yl, px, py, (fx0, fx1, fy0, fy1), H, W))
    if title:
        out.append(_text(fx0, border + 12, title, 13, weight="bold"))
    if items:
        out.append(_legend(items, right + 8, fy0))
    body = "".join(out)
    cid = "wb-clip-" + hashlib.sha1(body.encode()).hexdigest()[:12]
    body = body.replace("{cid}", cid)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="wb-svg" width="{W}" height="{H}" '
            f'viewBox="0 0 {W} {H}" font-family="{FONT}" role="img" aria-label="{escape(title or "plot")}">'
            f'<clipPath id="{cid}"><rect x="{_num(fx0)}" y="{_num(fy0)}" width="{_num(fx1 - fx0)}" '
            f'height="{_num(fy1 - fy0)}"/></clipPath>{body}</svg>')


def _num(v: float) -> str:
    """An SVG coordinate or length (a tenth of a CSS pixel), not a number shown to the reader."""
    return str(round(float(v), 1))


def _text(x: float, y: float, text: str, size: int, *, anchor: str = "start", weight: str = "normal",
          style: str = "normal", rotate: float = 0.0, color: str = TEXT, cls: str = "") -> str:
    """A text; each line of a multi-line ``text`` (a date over its year) under the one before."""
    attrs = f' class="{cls}"' if cls else ""
    attrs += f' font-weight="{weight}"' if weight != "normal" else ""
    attrs += f' font-style="{style}"' if style != "normal" else ""
    attrs += f' transform="rotate({_num(rotate)} {_num(x)} {_num(y)})"' if rotate else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" fill="{color}"{attrs}>'
            f'{_tspans(text, size, x)}</text>')


def _tspans(text: str, size: int, x: float) -> str:
    if text.startswith("10^") and text[3:].lstrip(MINUS).isdigit():    # a power of ten, as BokehJS draws it
        return f'10<tspan dy="-{_num(size * 0.4)}" font-size="{_num(size * 0.75)}">{escape(text[3:])}</tspan>'
    lines = text.split("\n")
    if len(lines) == 1:
        return escape(text)
    return escape(lines[0]) + "".join(f'<tspan x="{_num(x)}" dy="{_num(size * 1.2)}">{escape(line)}</tspan>'
                                      for line in lines[1:] if line)


def _line_style(g: Any) -> str:
    dash = g.line_dash if isinstance(g.line_dash, str) else " ".join(str(d) for d in (g.line_dash or []))
    dash = DASH.get(dash, dash)
    return (f'{_paint("stroke", g.line_color, g.line_alpha)} stroke-width="{float(g.line_width):g}" fill="none"'
            + (f' stroke-dasharray="{dash}"' if dash else ""))


def _path(xs: Sequence[float], ys: Sequence[float]) -> str:
    parts, pen = [], False
    for x, y in zip(xs, ys):
        if not (math.isfinite(x) and math.isfinite(y)):
            pen = False
            continue
        parts.append(f"{'L' if pen else 'M'}{_num(x)} {_num(y)}")
        pen = True
    return "".join(parts)


def _glyph(g: Any, data: dict[str, Any], px: Callable, py: Callable, clip: str, unit: float) -> str:
    """One glyph renderer's marks (``unit``: pixels per unit of the x axis, for a bar's width)."""
    kind = type(g).__name__
    n = len(next(iter(data.values()))) if data else 0
    col = lambda name: _column(g, name, data)     # noqa: E731
    seq = lambda v: v if isinstance(v, (list, np.ndarray)) else [v] * n   # noqa: E731
    if kind in ("Line", "Step"):
        xs, ys = [px(v) for v in seq(col("x"))], [py(v) for v in seq(col("y"))]
        if kind == "Step":
            xs, ys = _steps(xs, ys, g.mode)
        return f'<path d="{_path(xs, ys)}" {_line_style(g)} stroke-linejoin="round" {clip}/>'
    if kind == "Scatter":
        if g.marker not in ("circle", None):
            raise UnsupportedFigure(f"no static drawing of a {g.marker} marker")
        size = float(g.size) / 2
        fill, stroke = _paint("fill", g.fill_color, g.fill_alpha), _paint("stroke", g.line_color, g.line_alpha)
        dots = "".join(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{size:g}"/>'
                       for x, y in zip((px(v) for v in seq(col("x"))), (py(v) for v in seq(col("y"))))
                       if math.isfinite(x) and math.isfinite(y))
        return f'<g {fill} {stroke} stroke-width="{float(g.line_width):g}" {clip}>{dots}</g>'
    if kind == "VArea":
        xs = [px(v) for v in seq(col("x"))]
        y1, y2 = [py(v) for v in seq(col("y1"))], [py(v) for v in seq(col("y2"))]
        pts = [(x, a) for x, a in zip(xs, y1)] + [(x, b) for x, b in reversed(list(zip(xs, y2)))]
        pts = [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
        d = "M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in pts) + "Z" if pts else ""
        return f'<path d="{d}" {_paint("fill", g.fill_color, g.fill_alpha)} stroke="none" {clip}/>'
    # VBar
    width = float(g.width)
    bars = []
    for x, t, b in zip(seq(col("x")), seq(col("top")), seq(col("bottom"))):
        x0, x1 = px(x) - width / 2 * unit, px(x) + width / 2 * unit
        y0, y1 = py(t), py(b)
        if all(math.isfinite(v) for v in (x0, x1, y0, y1)):
            bars.append(f'<rect x="{_num(min(x0, x1))}" y="{_num(min(y0, y1))}" width="{_num(abs(x1 - x0))}" '
                        f'height="{_num(abs(y1 - y0))}"/>')
    return (f'<g {_paint("fill", g.fill_color, g.fill_alpha)} {_paint("stroke", g.line_color, g.line_alpha)} '
            f'stroke-width="{float(g.line_width):g}" {clip}>{"".join(bars)}</g>')


def _steps(xs: list[float], ys: list[float], mode: str) -> tuple[list[float], list[float]]:
    sx, sy = [], []
    for i, (x, y) in enumerate(zip(xs, ys)):
        if i:
            if mode == "before":
                sx.append(xs[i - 1]), sy.append(y)
            elif mode == "center":
                mid = (xs[i - 1] + x) / 2
                sx += [mid, mid]
                sy += [ys[i - 1], y]
            else:                                   # after: hold the value until the next point
                sx.append(x), sy.append(ys[i - 1])
        sx.append(x), sy.append(y)
    return sx, sy


def _whisker(a: Any, px: Callable, py: Callable, clip: str) -> str:
    data = a.source.data
    base, lower, upper = (_column(a, n, data) for n in ("base", "lower", "upper"))
    n = len(lower) if isinstance(lower, (list, np.ndarray)) else 1
    head = getattr(a.upper_head, "size", 10) / 2 if a.upper_head is not None else 0
    parts = []
    for b, lo, hi in zip(*(v if isinstance(v, (list, np.ndarray)) else [v] * n for v in (base, lower, upper))):
        x, y0, y1 = px(b), py(lo), py(hi)
        if not all(math.isfinite(v) for v in (x, y0, y1)):
            continue
        parts.append(f"M{_num(x)} {_num(y0)}V{_num(y1)}")
        if head:
            parts.append(f"M{_num(x - head)} {_num(y0)}H{_num(x + head)}M{_num(x - head)} {_num(y1)}H{_num(x + head)}")
    return f'<path d="{"".join(parts)}" {_line_style(a)} {clip}/>'


def _span(a: Any, px: Callable, py: Callable, frame: tuple[float, float, float, float]) -> str:
    fx0, fx1, fy0, fy1 = frame
    if a.location is None:
        return ""
    if a.dimension == "width":
        y = py(a.location)
        if not (math.isfinite(y) and fy0 <= y <= fy1):
            return ""
        return f'<path d="M{_num(fx0)} {_num(y)}H{_num(fx1)}" {_line_style(a)}/>'
    x = px(a.location)
    if not (math.isfinite(x) and fx0 <= x <= fx1):
        return ""
    return f'<path d="M{_num(x)} {_num(fy0)}V{_num(fy1)}" {_line_style(a)}/>'


def _axes(xa: _Axis, ya: _Axis, xt: list[Any], xl: list[str], yt: list[Any], yl: list[str], px: Callable,
          py: Callable, frame: tuple[float, float, float, float], H: int, W: int) -> str:
    fx0, fx1, fy0, fy1 = frame
    out = [f'<path d="M{_num(fx0)} {_num(fy1)}H{_num(fx1)}M{_num(fx0)} {_num(fy0)}V{_num(fy1)}" stroke="black" '
           f'fill="none"/>']
    ticks = []
    for t, lab in zip(xt, xl):
        x = px(t)
        if not (math.isfinite(x) and fx0 - 0.5 <= x <= fx1 + 0.5):
            continue
        ticks.append(f"M{_num(x)} {_num(fy1 - 2)}V{_num(fy1 + 6)}")
        if xa.show_major:
            if xa.orientation:
                out.append(_text(x, fy1 + 8 + xa.major_px * 0.8, lab, xa.major_px, anchor="end",
                                 rotate=-math.degrees(xa.orientation), cls="wb-xtick"))
            else:
                out.append(_text(x, fy1 + 8 + xa.major_px, lab, xa.major_px, anchor="middle", cls="wb-xtick"))
    lines = max((lab.count("\n") + 1 for lab in xl), default=1)
    y_label_at = fy1 + 8 + (xa.major_px * 1.2 * lines + 2 if xa.show_major and xl else 0)
    for g, c in xa.groups.items():
        x = fx0 + (c - xa.lo) / (xa.hi - xa.lo) * (fx1 - fx0)
        out.append(_text(x, y_label_at + xa.group_px, str(g), xa.group_px, anchor="middle", weight="bold"))
    if xa.groups:
        y_label_at += xa.group_px * 1.5
    for t, lab in zip(yt, yl):
        y = py(t)
        if not (math.isfinite(y) and fy0 - 0.5 <= y <= fy1 + 0.5):
            continue
        ticks.append(f"M{_num(fx0 - 6)} {_num(y)}H{_num(fx0 + 2)}")
        out.append(_text(fx0 - 8, y + ya.major_px * 0.35, lab, ya.major_px, anchor="end", cls="wb-ytick"))
    out.append(f'<path d="{"".join(ticks)}" stroke="black" fill="none"/>')
    if xa.label:
        rot_h = max((_text_w(lab, xa.major_px) for lab in xl), default=0) * abs(math.sin(xa.orientation))
        out.append(_text((fx0 + fx1) / 2, min(y_label_at + rot_h + 16, H - 4), xa.label, 13, anchor="middle",
                         style="italic"))
    if ya.label:
        out.append(_text(14, (fy0 + fy1) / 2, ya.label, 13, anchor="middle", style="italic", rotate=-90))
    return "".join(out)


def _legend(items: list[tuple[str, list[Any]]], x: float, y: float) -> str:
    row = 22
    w = max(_text_w(lab, 12) for lab, _ in items) + 20 + 5 + 20
    h = row * len(items) + 14
    out = [f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" fill="white" '
           f'stroke="#e5e5e5"/>']
    for i, (lab, rs) in enumerate(items):
        gy = y + 7 + i * row + row / 2
        gx = x + 10
        for r in rs:
            g = r.glyph
            kind = type(g).__name__
            if kind in ("Line", "Step"):
                out.append(f'<path d="M{_num(gx)} {_num(gy)}H{_num(gx + 20)}" {_line_style(g)}/>')
            elif kind == "Scatter":
                paint = f'{_paint("fill", g.fill_color, g.fill_alpha)} {_paint("stroke", g.line_color, g.line_alpha)}'
                out.append(f'<circle cx="{_num(gx + 10)}" cy="{_num(gy)}" r="{float(g.size) / 2:g}" {paint}/>')
            else:
                stroke = _paint("stroke", g.line_color, g.line_alpha) if kind == "VBar" else 'stroke="none"'
                out.append(f'<rect x="{_num(gx + 2)}" y="{_num(gy - 8)}" width="16" height="16" '
                           f'{_paint("fill", g.fill_color, g.fill_alpha)} {stroke}/>')
        out.append(_text(gx + 25, gy + 4, lab, 12))
    return "".join(out)
