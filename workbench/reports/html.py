"""Small HTML building blocks for the report: escaped tables, key-value lists, badges, notes, embedded plots.

Every value that reaches the page goes through :func:`workbench.display.escape` (names, ids,
variant labels, reasons, hypothesis text — anything a user typed), so ``<script>`` in an
experiment name shows as text. Fragments are :class:`Html` objects: they render in Jupyter
(``_repr_html_``) and concatenate with ``+``. Plots are embedded as static Bokeh components; the
page loads BokehJS once, inline (:func:`page_head`), so reports open offline.

>>> str(table(__import__("pandas").DataFrame({"name": ["<b>x</b>"], "p": [0.0001]}), {"p": fmt_p}))
'<table class="wb-table"><thead><tr><th class="t">name</th><th>p</th></tr></thead><tbody><tr><td class="t">&lt;b&gt;x&lt;/b&gt;</td><td>&lt;0.001</td></tr></tbody></table>'
>>> str(badge("launch", "go"))
'<span class="wb-badge go">launch</span>'
"""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import pandas as pd

from ..display import escape, fmt_ci, fmt_num, fmt_p, fmt_pct, fmt_action
from ..lifecycle.policies import ACTION_TONE

__all__ = ["Html", "table", "kv", "badge", "note", "bullets", "embed", "page_head", "REPORT_CSS", "ACTION_CLASS",
           "HEALTH_CLASS", "decision_banner", "fmt_ci", "fmt_num", "fmt_p", "fmt_pct", "heading"]

ACTION_CLASS = ACTION_TONE
HEALTH_CLASS = {"healthy": "go", "warning": "hold", "blocked": "stop"}


class Html:
    """A trusted HTML fragment (built by this module from escaped parts)."""

    __slots__ = ("text",)

    def __init__(self, text: str = "") -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Html({len(self.text)} chars)"

    def __add__(self, other: "Html | str") -> "Html":
        return Html(self.text + (other.text if isinstance(other, Html) else escape(other)))

    def __bool__(self) -> bool:
        return bool(self.text)

    @staticmethod
    def join(parts: Iterable["Html | None"]) -> "Html":
        return Html("".join(p.text for p in parts if p))


_NUM = r"[-+−]?[\d.,]+(?:e-?\d+)?\s?(?:%|pp|s)?"
_NUMERIC = re.compile(rf"^\s*(?:—|\[?{_NUM}(?:,\s*{_NUM})?\]?\s?(?:%|pp|s)?)\s*$")


_LONG_WORD = re.compile(r"\S{20,}")
_SHORT_TOKEN = re.compile(r"\S{1,19}")


def _td(text: str, left: bool) -> str:
    """A cell; a word of 20 characters or more (an id, a path) may break anywhere when printed, and a short
    hyphenated one (a method such as ``cuped-z``) never breaks at its hyphen."""
    raw = html.unescape(text)
    cls = " ".join(c for c, on in (("t", left), ("w", bool(_LONG_WORD.search(raw))),
                                   ("n", "-" in raw and bool(_SHORT_TOKEN.fullmatch(raw)))) if on)
    return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"


def _cell(value: Any, fmt: Callable[[Any], str] | None) -> str:
    if fmt is not None:
        try:
            return escape(fmt(value))
        except (TypeError, ValueError):
            return escape(value)
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return escape(fmt_num(value))
    return escape(value)


def table(frame: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]] | None = None, *,
          headers: Mapping[str, str] | None = None, columns: Sequence[str] | None = None,
          row_class: Callable[[Mapping[str, Any]], str] | None = None, caption: str = "") -> Html:
    """An escaped HTML table of ``frame`` (``formats`` per column, ``headers`` renames columns)."""
    formats = formats or {}
    headers = headers or {}
    cols = list(columns or frame.columns)
    # text columns (not numbers, not formatted as numbers) read better left-aligned
    text = {c for c in cols if c not in formats and c in frame and not pd.api.types.is_numeric_dtype(frame[c])
            and not all(_NUMERIC.match(str(v)) for v in frame[c])}
    left = ' class="t"'
    head = "".join(f"<th{left if c in text else ''}>{escape(headers.get(c, c))}</th>" for c in cols)
    body = []
    for rec in frame.to_dict("records"):
        cls = row_class(rec) if row_class else ""
        attr = f' class="{escape(cls)}"' if cls else ""
        body.append(f"<tr{attr}>" + "".join(_td(_cell(rec.get(c), formats.get(c)), c in text) for c in cols) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Html(f'<table class="wb-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def kv(pairs: Iterable[tuple[str, Any]]) -> Html:
    """Label → value rows (values escaped; :class:`Html` values kept as they are).

    A borderless two-column table rather than a ``<dl>``: notebook stylesheets restyle lists.
    """
    items = []
    for k, v in pairs:
        val = v.text if isinstance(v, Html) else ("—" if v is None or v == "" else escape(v))
        items.append(f"<tr><th class='k'>{escape(k)}</th><td class='v'>{val}</td></tr>")
    return Html(f'<table class="wb-kv"><tbody>{"".join(items)}</tbody></table>')


def decision_banner(decision: Any) -> Html:
    """The decision's action and reason in a coloured banner."""
    cls = ACTION_CLASS.get(decision.action, "hold")
    return Html(f"<div class='wb-decision {cls}'><span class='action'>{escape(fmt_action(decision.action).upper())}"
                f"</span><span class='reason'>{escape(decision.reason)}</span></div>")


def badge(text: Any, kind: str = "") -> Html:
    return Html(f'<span class="wb-badge {escape(kind)}">{escape(text)}</span>')


def note(text: Any, kind: str = "info") -> Html:
    """A boxed note: ``info``, ``warn`` (caveats) or ``bad``."""
    return Html(f'<div class="wb-note {escape(kind)}">{escape(text)}</div>')


def bullets(items: Iterable[Any]) -> Html:
    lis = "".join(f"<li>{i.text if isinstance(i, Html) else escape(i)}</li>" for i in items)
    return Html(f"<ul class='wb-list'>{lis}</ul>") if lis else Html()


def heading(text: Any, level: int = 3) -> Html:
    return Html(f"<h{level} class='wb-h'>{escape(text)}</h{level}>")


def embed(obj: Any) -> Html:
    """A Bokeh figure (:mod:`workbench.reports.plots`) as a static Bokeh embed: a ``<div>`` and the script
    that fills it.

    The script only calls BokehJS, which :func:`page_head` inlines once per page, so the plot
    renders without a network. Text in plots (titles, labels) is rendered by BokehJS as text.
    A plot with nothing to draw (an :class:`~workbench.reports.plots.EmptyPlot`) becomes its italic
    sentence instead of an empty chart frame. The toolbar shows while the pointer is over the plot
    and is never printed.

    Beside it, the same figure drawn as static SVG (:func:`workbench.reports.svg.figure_svg`) is what
    prints (``@media print``) and what shows when scripts are off: the PDF is printed without
    JavaScript, so BokehJS draws nothing for it. A figure the drawing does not know (a restyled plot) is
    marked :data:`workbench.reports.pdf.SCRIPTED`, and its page is printed with its scripts, BokehJS drawing it
    as on screen.
    """
    from bokeh.embed import components

    from .pdf import SCRIPTED
    from .plots import empty_message
    from .svg import UnsupportedFigure, figure_svg

    message = empty_message(obj)
    if message is not None:
        return Html(f"<p class='wb-sub wb-empty'>{escape(message)}</p>")
    _print_friendly(obj)
    try:
        static = f"<div class='wb-static'>{figure_svg(obj)}</div>"     # as wide as _print_friendly left it
    except UnsupportedFigure:          # a figure restyled beyond what the drawing knows prints interactively
        static = ""
    with _no_document_validation():
        script, div = components(obj)
    if not static:      # the printer runs the scripts of a page that holds such a plot
        return Html(f"<div class='wb-plot {SCRIPTED}'>{div}{script}</div>")
    return Html(f"<div class='wb-plot'><div class='wb-live'>{div}{script}</div>{static}</div>")


@contextmanager
def _no_document_validation() -> Iterator[None]:
    """Bokeh's integrity checks of the document off while embedding: they walk every model of the plot again
    (a fifth of embedding it) and only log. The report's plots are checked once, in the tests
    (``tests/reports/test_plots.py``), not in every report."""
    from bokeh.settings import settings

    setting = settings.perform_document_validation
    setting.set_value(False)
    try:
        yield
    finally:
        setting.unset_value()       # back to BOKEH_VALIDATE_DOC or Bokeh's default


def warm_up() -> None:
    """Draw two small plots and throw them away: a report worker started ahead of its first report runs this
    while the run gathers its inputs, so Bokeh's first-use set-up (imports, model classes, serialisation)
    is not on the report's time."""
    from .plots import lift_forest, trend_plot

    embed(lift_forest(pd.DataFrame({"variant": ["b"], "lift_rel": [0.05], "lo": [0.01], "hi": [0.09]})))
    embed(trend_plot(pd.DataFrame({"ts": pd.to_datetime(["2026-01-01", "2026-01-02"]), "variant": ["a", "a"],
                                   "units": [1, 2]}), "units", ["a"]))


_NO_PRINT = "@media print{:host{display:none!important}}"


def _print_friendly(model: Any) -> None:
    """Plots at most ``plots.WIDTH`` wide; toolbars hidden until hovered, and always in print (they live
    in Bokeh's shadow DOM, out of reach of the page's CSS, so the rule goes into their own stylesheets)."""
    from bokeh.models import InlineStyleSheet, Plot, Toolbar

    from .plots import WIDTH

    # a plot's own toolbar is at hand; walking a plot's ~40 models to find it cost a fifth of embedding it
    figs = [model] if isinstance(model, Plot) else list(model.select({"type": Plot}))
    bars = [model.toolbar] if isinstance(model, Plot) else model.select({"type": Toolbar})
    for plot in figs:      # the printed page is about 700 px wide (A4, 12 mm margins)
        if plot.width is not None and plot.width > WIDTH:
            plot.width = WIDTH
    for bar in bars:
        bar.autohide = True
        bar.logo = None
        bar.stylesheets = [*bar.stylesheets, InlineStyleSheet(css=_NO_PRINT)]


@lru_cache(maxsize=1)
def _bokeh_js() -> str:
    from bokeh.resources import Resources

    # only the inlined code: were Panel imported (a notebook using the dashboard), Resources would also list
    # Panel's module shim as a relative <script src> that does not exist next to the report
    raw = Resources(mode="inline", components=["bokeh"]).js_raw
    return "".join(f'<script type="text/javascript">\n{js}\n</script>' for js in raw)


def page_head() -> Html:
    """The report's CSS and BokehJS, inline (call once, before the first plot); without scripts, the plots'
    static drawings show on screen too."""
    return Html(f"<style>{REPORT_CSS}</style><noscript><style>{NO_SCRIPT_CSS}</style></noscript>{_bokeh_js()}")


NO_SCRIPT_CSS = ".wb-plot .wb-static{display:block}"


REPORT_CSS = """
.wb-table{border-collapse:collapse;font-size:.86rem;margin:6px 0 12px;min-width:50%}
table.wb-table th,table.wb-table td{border:1px solid #d0d7de;padding:3px 8px;text-align:right;vertical-align:top}
table.wb-table th:first-child,table.wb-table td:first-child,table.wb-table td.t,table.wb-table th.t{text-align:left}
table.wb-table th{background:#f6f8fa}table.wb-table td.n{white-space:nowrap}
.wb-table caption{caption-side:bottom;text-align:left;color:#656d76;font-size:.8rem;padding-top:3px}
.wb-table tr.bad td{background:#ffebe9}.wb-table tr.warn td{background:#fff8c5}.wb-table tr.good td{background:#dafbe1}
table.wb-kv{border-collapse:collapse;margin:6px 0 12px;font-size:.9rem}
table.wb-kv th.k,table.wb-kv td.v{border:0;padding:2px 16px 2px 0;text-align:left;vertical-align:top;background:none}
table.wb-kv th.k{font-weight:600;color:#424a53;white-space:nowrap}table.wb-kv.wb-kv tbody tr:nth-child(n){background:none}
.wb-badge{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:700;font-size:.85rem;border:1px solid #d0d7de;
 text-transform:uppercase;letter-spacing:.02em}
.wb-badge.go{background:#dafbe1;border-color:#4ac26b}.wb-badge.stop{background:#ffebe9;border-color:#ff8182}
.wb-badge.hold{background:#fff8c5;border-color:#d4a72c}.wb-badge.wait{background:#ddf4ff;border-color:#54aeff}
.wb-note{border-left:4px solid #54aeff;background:#f6f8fa;padding:6px 10px;margin:6px 0;font-size:.88rem}
.wb-note.warn{border-color:#d4a72c;background:#fff8c5}.wb-note.bad{border-color:#cf222e;background:#ffebe9}
.wb-decision{display:flex;gap:14px;align-items:center;padding:12px 16px;border-radius:6px;border:1px solid;margin:8px 0}
.wb-decision .action{font-weight:800;font-size:1.15rem;white-space:nowrap}
.wb-decision.go{background:#dafbe1;border-color:#4ac26b}.wb-decision.stop{background:#ffebe9;border-color:#ff8182}
.wb-decision.hold{background:#fff8c5;border-color:#d4a72c}.wb-decision.wait{background:#ddf4ff;border-color:#54aeff}
.wb-title{font-size:1.6rem;font-weight:700;margin:4px 0 2px}.wb-sub{color:#656d76;font-size:.9rem;margin-bottom:8px}
.wb-list{margin:4px 0 10px;padding-left:22px}.wb-h{font-size:1rem;margin:14px 0 4px}
.wb-plot{margin:6px 0 14px;page-break-inside:avoid;break-inside:avoid}
.wb-kpis{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.wb-kpi{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;min-width:120px}
.wb-kpi .v{font-size:1.15rem;font-weight:700}.wb-kpi .k{color:#656d76;font-size:.78rem}
.wb-empty{font-style:italic}
.wb-plot .wb-static{display:none}.wb-svg{max-width:100%;height:auto}
@media print{
 .wb-plot .wb-live{display:none}.wb-plot .wb-static{display:block}
 table.wb-table{font-size:7.5pt;min-width:0;max-width:100%;table-layout:auto}
 table.wb-table th,table.wb-table td{padding:1px 4px;overflow-wrap:break-word}
 table.wb-table td.w,table.wb-kv td.v{overflow-wrap:anywhere}
 table.wb-table thead{display:table-header-group}table.wb-table tr{break-inside:avoid}
 table.wb-kv{font-size:8.5pt}table.wb-kv th.k,table.wb-kv td.v{padding:1px 12px 1px 0}
 .wb-plot,.wb-decision,.wb-note,.wb-kpi{break-inside:avoid}.wb-h{break-after:avoid}
 .wb-title{font-size:1.35rem}.wb-kpi{padding:4px 10px}
}
""".strip()
"""The report's styles; ``@media print`` keeps every table within the page width (smaller type, wrapping
cells) and every plot, note and banner on one page."""
