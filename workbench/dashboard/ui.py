"""Small presentation helpers shared by the views: the page CSS, number formats, HTML snippets.

Everything user-supplied (experiment names, variant labels, reasons) goes through
:func:`workbench.display.escape` before it reaches HTML. Fonts are the system's own: the dashboard
loads nothing from outside the server.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

import pandas as pd

from ..display import escape, fmt_ci, fmt_fixed, fmt_num
from ..display import fmt_lift as _signed_lift
from ..display import fmt_prob as _prob

__all__ = ["CSS", "ACTION_COLOURS", "STATE_COLOURS", "fmt_lift", "fmt_prob", "fmt_days", "fmt_time", "pill",
           "kv_table", "frame_html", "alert_html", "raw"]

CSS = """
:root { --wb-font: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
body, .bk-root, .bk { font-family: var(--wb-font); }
.wb-header { display: flex; align-items: center; gap: 16px; flex-wrap: wrap; }
.wb-title { font-size: 1.3rem; font-weight: 600; margin: 0; }
.wb-status { color: #52606d; font-size: .85rem; }
.wb-badge { display: inline-block; color: #fff; border-radius: 10px; padding: 1px 8px; font-size: .75rem;
            margin: 1px 2px; white-space: nowrap; }
.wb-badge-row { margin: 4px 0; font-size: .88rem; }
.wb-pill { display: inline-block; border-radius: 4px; padding: 1px 8px; font-size: .8rem; color: #fff; }
.wb-card { border: 1px solid #d9e2ec; border-radius: 6px; padding: 10px 14px; background: #fff; }
.wb-card h3 { margin: 0 0 6px; font-size: .95rem; }
.wb-tiles { display: flex; gap: 12px; flex-wrap: wrap; }
.wb-tile { border: 1px solid #d9e2ec; border-radius: 6px; padding: 10px 14px; min-width: 190px; background: #fff; }
.wb-tile h4 { margin: 0 0 6px; font-size: .95rem; }
.wb-tile table td { padding: 1px 8px 1px 0; font-size: .85rem; }
.wb-tile .wb-ctrl { color: #52606d; font-size: .75rem; }
.wb-kv td { padding: 2px 12px 2px 0; font-size: .88rem; vertical-align: top; }
.wb-kv td:first-child { color: #52606d; white-space: nowrap; }
.wb-table { border-collapse: collapse; font-size: .85rem; width: 100%; }
.wb-table th, .wb-table td { border-bottom: 1px solid #e4e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
.wb-alert { padding: 8px 12px; border-radius: 4px; font-size: .9rem; }
.wb-alert-ok { background: #ecfdf3; color: #05603a; }
.wb-alert-error { background: #fef3f2; color: #b42318; }
.wb-alert-info { background: #eff4fa; color: #1f5fa8; }
.wb-progress { display: flex; gap: 4px; margin: 6px 0; }
.wb-stage { flex: 1; text-align: center; padding: 4px; border-radius: 4px; background: #e4e7eb; font-size: .8rem; }
.wb-stage-done { background: #a6e3bf; } .wb-stage-now { background: #1f5fa8; color: #fff; }
.wb-bar { background: #e4e7eb; border-radius: 4px; height: 14px; position: relative; overflow: hidden; }
.wb-bar > span { position: absolute; top: 0; bottom: 0; }
.wb-muted { color: #52606d; font-size: .85rem; }

"""

ACTION_COLOURS = {"launch": "#1e7b45", "promote": "#1e7b45", "hold": "#b54708", "keep_testing": "#1f5fa8",
                  "stop": "#52606d", "rollback": "#b42318"}
STATE_COLOURS = {"running": "#1f5fa8", "hold": "#b54708", "draft": "#52606d", "completed": "#52606d",
                 "promoting": "#1e7b45", "promoted": "#1e7b45", "rolled_back": "#b42318", "archived": "#9aa5b1"}


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def fmt_lift(lift: float | None, lo: float | None = None, hi: float | None = None) -> str:
    """A relative lift and its interval, as the tables show it.

    >>> fmt_lift(0.0321, -0.0102, 0.0744), fmt_lift(float("nan"))
    ('+3.21% [-1.02%, 7.44%]', '—')
    """
    if not _finite(lift):
        return "—"
    text = _signed_lift(lift)
    if _finite(lo) and _finite(hi):
        text += f" {fmt_ci(lo, hi, pct=True)}"
    return text


def fmt_prob(p: float | None) -> str:
    return _prob(p)


def fmt_days(d: float | None) -> str:
    return fmt_fixed(d, 1)


def fmt_time(t: Any) -> str:
    if t is None or (isinstance(t, float) and math.isnan(t)) or t is pd.NaT:
        return "—"
    ts = pd.Timestamp(t)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime("%Y-%m-%d %H:%M") + " UTC"


def pill(text: str, colour: str) -> str:
    return f'<span class="wb-pill" style="background:{colour}">{escape(text)}</span>'


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{v if isinstance(v, _Raw) else escape(v)}</td></tr>"
                   for k, v in pairs)
    return f'<table class="wb-kv">{rows}</table>'


class _Raw(str):
    """Already-escaped HTML for :func:`kv_table`."""


def raw(html: str) -> _Raw:
    return _Raw(html)


def _cell(v: Any) -> str:
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return escape(fmt_time(v))
    if isinstance(v, float):
        return escape(fmt_num(v))            # "—" for NaN
    if v is None:
        return "—"
    return escape(v)


def frame_html(frame: pd.DataFrame, *, empty: str = "nothing yet", css_id: str = "") -> str:
    """A small escaped HTML table (for logs; big tables use Tabulator)."""
    if frame is None or frame.empty:
        return f'<p class="wb-muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return f'<table class="wb-table"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def alert_html(message: str, kind: str = "info") -> str:
    return f'<div class="wb-alert wb-alert-{escape(kind)}">{escape(message)}</div>'
