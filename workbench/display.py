"""One display layer for every result object.

Result objects are small frozen dataclasses that inherit :class:`ResultMixin` and so get
``to_dict()`` (JSON-ready: NumPy scalars and arrays become Python numbers and lists, NaN becomes
``None``, floats keep full precision), ``to_frame()`` (a tidy pandas DataFrame) and
``_repr_html_()`` (what Jupyter shows). Presenters (CLI, memo, report, dashboard, notebooks) format
every number with the formatting table below (:data:`NOTATION` and the ``fmt_*`` functions), so a
lift reads the same in a notebook, a memo, the CLI and the dashboard: rates ``5.12%``, differences
of rates ``+0.42 pp``, relative lifts ``+8.18%``, p-values ``0.008`` / ``<0.001``, counts ``40,142``.

>>> fmt_rate(0.0512), fmt_pp(0.0042), fmt_lift(0.0818), fmt_p(0.00001234), fmt_p_eq(4e-73)
('5.12%', '+0.42 pp', '+8.18%', '<0.001', 'p < 0.001')
>>> fmt_count(24120.0), fmt_currency(500000), fmt_seconds(2.404), fmt_prob(0.9957), fmt_share(0.25)
('24,120', '500,000.00', '2.40 s', '99.6%', '25%')
>>> fmt_num(40011.5), fmt_num(40012.0), fmt_num(0.012344)
('40,011.5', '40,012', '0.01234')
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(ResultMixin):
...     name: str
...     value: float
>>> Demo("a", float("nan")).to_dict()
{'name': 'a', 'value': None}
>>> Demo("a", 1.5).to_frame()
  name  value
0    a    1.5
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import html
import json
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import pandas as pd

# NumPy and pandas are imported where a function needs them (the CLI's --help must not load them);
# a value can only be a NumPy or pandas object when that library is already imported.

__all__ = ["ResultMixin", "to_jsonable", "dumps", "escape", "Notation", "NOTATION", "fmt_value", "fmt_change",
           "fmt_change_ci", "fmt_num", "fmt_fixed", "css_pct", "fmt_signed", "fmt_pct", "fmt_rate", "fmt_pp", "fmt_lift", "fmt_prob", "fmt_share",
           "fmt_count", "fmt_currency", "fmt_seconds", "fmt_elapsed", "fmt_p", "fmt_p_eq", "p_in_text", "fmt_ci", "tick_formatter",
           "fmt_action", "fmt_scope", "finite_or_none", "fmt_weight", "fmt_covariate", "PALETTE", "variant_colors", "TRANSIENT"]


TRANSIENT = "transient"
"""Dataclass field metadata ``{TRANSIENT: True}`` marks a memo of values derived from the other fields: not a fact
of the result, so it is left out of JSON (:func:`to_jsonable`) and of the dashboard's kept snapshot."""


def to_jsonable(obj: Any) -> Any:
    """Convert results, NumPy and pandas values into plain JSON types (NaN/inf -> None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict") and not isinstance(obj, ResultMixin):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_") and not f.metadata.get(TRANSIENT)}     # a memo is not a fact
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    np_ = sys.modules.get("numpy")
    if np_ is not None and isinstance(obj, np_.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, bool) or (np_ is not None and isinstance(obj, np_.bool_)):
        return bool(obj)
    if isinstance(obj, int) or (np_ is not None and isinstance(obj, np_.integer)):
        return int(obj)
    if isinstance(obj, float) or (np_ is not None and isinstance(obj, np_.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    pd_ = sys.modules.get("pandas")
    if isinstance(obj, (dt.datetime, dt.date)) or (pd_ is not None and isinstance(obj, pd_.Timestamp)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if pd_ is not None and isinstance(obj, pd_.DataFrame):
        return to_jsonable(obj.to_dict(orient="records"))
    if obj is None or isinstance(obj, str):
        return obj
    if pd_ is not None and obj is pd_.NaT:
        return None
    return str(obj)


def dumps(obj: Any, **kwargs: Any) -> str:
    """JSON text of ``obj`` with full-precision floats (``repr`` round-trips) and no NaN."""
    return json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False, **kwargs)


class ResultMixin:
    """Gives a frozen dataclass ``to_dict``, ``to_frame`` and ``_repr_html_``.

    Override ``to_frame`` when a result is naturally a table (one row per variant, say);
    the default is one row of the scalar fields.
    """

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)  # type: ignore[return-value]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, (list, dict))}
        return pd.DataFrame([row])

    def _repr_html_(self) -> str:
        title = escape(type(self).__name__)
        table = self.to_frame().to_html(index=False, border=0, na_rep="—", float_format=_float_html)
        return f"<div class='workbench-result'><strong>{title}</strong>{table}</div>"


def _float_html(x: float) -> str:
    return fmt_num(x)


def escape(text: Any) -> str:
    """HTML-escape any user-supplied value (names, ids, variant labels), quotes included."""
    return html.escape("" if text is None else str(text), quote=True)


# --- the formatting table ---------------------------------------------------------------------------
#
# Every number a person reads goes through one of these functions. The notation:
#
# ============  ==================  ==================================================================
# what          looks like          function
# ============  ==================  ==================================================================
# rate          ``5.12%``           :func:`fmt_rate` (a share of units or events, 2 decimals)
# pp difference ``+0.42 pp``        :func:`fmt_pp` (an absolute difference of two rates)
# relative lift ``+8.18%``          :func:`fmt_lift` (variant / control − 1, always signed)
# p-value       ``0.008``/``<0.001`` :func:`fmt_p`; in a sentence :func:`fmt_p_eq` (``p < 0.001``)
# count         ``40,142``          :func:`fmt_count` (thousands separators, never 4e+04)
# currency      ``6.26``            :func:`fmt_currency` (2 decimals, thousands separators)
# seconds       ``2.40 s``          :func:`fmt_seconds` (changes ``+0.003 s``)
# probability   ``99.6%``           :func:`fmt_prob` (P(beat control), P(best): 1 decimal)
# share         ``50%``/``12.5%``   :func:`fmt_share` (traffic weights, confidence levels, thresholds)
# any number    ``1.531``           :func:`fmt_num` (significant digits, never scientific notation)
# ============  ==================  ==================================================================
#
# A metric's value and change are formatted by its unit (``rate``, ``count``, ``currency``,
# ``seconds``, ``value``) through :data:`NOTATION` with :func:`fmt_value` / :func:`fmt_change` /
# :func:`fmt_change_ci`; :mod:`workbench.metrics` maps a metric to its unit.

def finite_or_none(x: Any) -> float | None:
    """``x`` as a float, or None when it is missing, NaN, infinite or not a number (bools and text included)."""
    np_ = sys.modules.get("numpy")
    if x is None or isinstance(x, (bool, str)) or (np_ is not None and isinstance(x, np_.bool_)):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _positional(x: float, digits: int) -> str:
    """``digits`` significant digits, positional (no exponent), thousands separators."""
    import numpy as np
    s = np.format_float_positional(x, precision=max(1, digits), unique=False, fractional=False, trim="-")
    sign, s = ("-", s[1:]) if s.startswith("-") else ("", s)
    whole, _, frac = s.partition(".")
    return sign + f"{int(whole):,}" + (f".{frac}" if frac else "")


def fmt_num(x: Any, digits: int = 4) -> str:
    """Any number: integers with thousands separators, others to ``digits`` significant digits.

    >>> fmt_num(40011.5), fmt_num(40012.0), fmt_num(0.012344), fmt_num(-6.039e-05), fmt_num(None)
    ('40,011.5', '40,012', '0.01234', '-0.00006039', '—')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    if f.is_integer() and abs(f) < 1e15:
        return f"{int(f):,}"
    if abs(f) >= 10 ** digits:          # large: thousands separators, never scientific notation
        return f"{f:,.1f}"
    return _positional(f, digits)


def fmt_signed(x: Any, digits: int = 3) -> str:
    """A signed change in no particular unit: ``+0.0024``, ``-12.5``.

    >>> fmt_signed(0.002403), fmt_signed(-12.5), fmt_signed(0.0)
    ('+0.0024', '-12.5', '+0')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    s = fmt_num(f, digits)
    return s if s.startswith("-") else "+" + s


def fmt_fixed(x: Any, decimals: int = 1) -> str:
    """A number with a fixed number of decimals and thousands separators: ``1,234.5``, ``4.50``.

    >>> fmt_fixed(1234.54), fmt_fixed(4.5, 2), fmt_fixed(float("inf"))
    ('1,234.5', '4.50', '—')
    """
    f = finite_or_none(x)
    return "—" if f is None else f"{f:,.{decimals}f}"


def css_pct(x: Any) -> str:
    """A fraction as a CSS length in percent (layout, not reading): ``12.34%``.

    >>> css_pct(0.12345), css_pct(None)
    ('12.35%', '0%')
    """
    f = finite_or_none(x)
    return "0%" if f is None else f"{f * 100:.2f}%"


def fmt_pct(x: Any, digits: int = 2, *, signed: bool = False) -> str:
    """A fraction as a percentage with ``digits`` decimals; ``signed`` puts ``+`` on positive values.

    >>> fmt_pct(0.01234), fmt_pct(-0.5, signed=True), fmt_pct(0.1, 0, signed=True)
    ('1.23%', '-50.00%', '+10%')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    return f"{f * 100:+.{digits}f}%" if signed and f > 0 else f"{f * 100:.{digits}f}%"


def fmt_rate(x: Any, digits: int = 2) -> str:
    """A rate (share of units or events): ``5.12%``, ``0.08%``.

    >>> fmt_rate(0.0512), fmt_rate(0.000848)
    ('5.12%', '0.08%')
    """
    return fmt_pct(x, digits)


def fmt_pp(x: Any, digits: int = 2) -> str:
    """An absolute difference of two rates in percentage points, always signed: ``+0.42 pp``.

    >>> fmt_pp(0.0042), fmt_pp(-0.00006), fmt_pp(None)
    ('+0.42 pp', '-0.01 pp', '—')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    v = round(f * 100, digits) + 0.0            # + 0.0 turns -0.0 into 0.0
    return f"{v:+.{digits}f} pp"


def fmt_lift(x: Any, digits: int = 2) -> str:
    """A relative lift (variant / control − 1), always signed: ``+8.18%``, ``-1.19%``.

    >>> fmt_lift(0.0818), fmt_lift(-0.0119), fmt_lift(0.0)
    ('+8.18%', '-1.19%', '+0.00%')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    v = round(f * 100, digits) + 0.0
    return f"{v:+.{digits}f}%"


def fmt_prob(x: Any) -> str:
    """A probability such as P(beat control) or P(best): ``99.6%``; never a rounded-up certainty
    (``>99.9%``, ``<0.1%``).

    >>> fmt_prob(0.9957), fmt_prob(0.5), fmt_prob(0.99996), fmt_prob(0.0002), fmt_prob(1.0)
    ('99.6%', '50.0%', '>99.9%', '<0.1%', '100.0%')
    """
    f = finite_or_none(x)
    if f is not None and 0.9995 <= f < 1.0:
        return ">99.9%"
    if f is not None and 0.0 < f < 0.0005:
        return "<0.1%"
    return fmt_pct(x, 1)


def fmt_share(x: Any) -> str:
    """A share such as a traffic weight, a confidence level or a threshold, to 0.1%: ``50%``, ``12.5%``.

    >>> fmt_share(0.5), fmt_share(0.125), fmt_share(0.95), fmt_share(0.005)
    ('50%', '12.5%', '95%', '0.5%')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    s = f"{f * 100:.1f}".rstrip("0").rstrip(".")
    return f"{s}%"


def fmt_count(x: Any, *, signed: bool = False) -> str:
    """A count of units, events or conversions, rounded, with thousands separators: ``40,142``.

    >>> fmt_count(24120.0), fmt_count(40011.5), fmt_count(1500, signed=True)
    ('24,120', '40,012', '+1,500')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    return f"{round(f):+,}" if signed else f"{round(f):,}"


def fmt_currency(x: Any, *, signed: bool = False) -> str:
    """Money (no symbol: the data's currency): ``1,234.50``; changes ``+0.55``.

    >>> fmt_currency(1234.5), fmt_currency(0.5531, signed=True), fmt_currency(-2.0, signed=True)
    ('1,234.50', '+0.55', '-2.00')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    return f"{round(f, 2) + 0.0:+,.2f}" if signed else f"{f:,.2f}"


def fmt_seconds(x: Any, *, signed: bool = False) -> str:
    """Seconds of a metric such as LCP: ``2.40 s``; a change ``+0.003 s``.

    >>> fmt_seconds(2.404), fmt_seconds(0.002824, signed=True)
    ('2.40 s', '+0.003 s')
    """
    f = finite_or_none(x)
    if f is None:
        return "—"
    return f"{round(f, 3) + 0.0:+.3f} s" if signed else f"{f:.2f} s"


def fmt_elapsed(x: Any, *, suffix: bool = True) -> str:
    """Wall-clock time a step took: ``1.2 s``, ``0.04 s`` under a second (``1.2`` in a column headed "seconds").

    >>> fmt_elapsed(1.234), fmt_elapsed(0.0412), fmt_elapsed(12.34, suffix=False)
    ('1.2 s', '0.04 s', '12.3')
    """
    f = finite_or_none(x)
    return "—" if f is None else (f"{f:.1f}" if f >= 1 else f"{f:.2f}") + (" s" if suffix else "")


def fmt_p(p: Any) -> str:
    """A p-value for a table cell: three decimals, ``<0.001`` below 0.001 (never ``4e-73`` or ``0``).

    >>> fmt_p(0.0081), fmt_p(4e-73), fmt_p(0.0), fmt_p(1.0), fmt_p(float("nan"))
    ('0.008', '<0.001', '<0.001', '1.000', '—')
    """
    f = finite_or_none(p)
    if f is None:
        return "—"
    return "<0.001" if f < 0.001 else f"{f:.3f}"


def fmt_p_eq(p: Any, name: str = "p") -> str:
    """A p-value in a sentence: ``p = 0.008``, ``p < 0.001``.

    >>> fmt_p_eq(0.0081), fmt_p_eq(1e-12), fmt_p_eq(0.3, "adjusted p")
    ('p = 0.008', 'p < 0.001', 'adjusted p = 0.300')
    """
    s = fmt_p(p)
    return f"{name} < 0.001" if s == "<0.001" else f"{name} = {s}"


def p_in_text(text: str) -> str:
    """A sentence whose template wrote ``p = {p}`` or ``P = {prob}`` with a table-cell value that is a bound:
    ``p = <0.001`` -> ``p < 0.001``, ``P(b beats a) = >99.9%`` -> ``P(b beats a) > 99.9%``.

    >>> p_in_text("Hold: SRM (p = <0.001, threshold 0.001); launch (p = 0.008)")
    'Hold: SRM (p < 0.001, threshold 0.001); launch (p = 0.008)'
    >>> p_in_text("P(b beats a) = >99.9% (promote at 95%); P = <0.1%")
    'P(b beats a) > 99.9% (promote at 95%); P < 0.1%'
    """
    return _BOUND_AFTER_EQUALS.sub(r"\1 ", text)


_BOUND_AFTER_EQUALS = re.compile(r"= ([<>])(?=\d)")
"""``= <0.001`` / ``= >99.9%``: a bound that a formatter (fmt_p, fmt_prob) wrote where a template put ``=``."""


def fmt_ci(lo: Any, hi: Any, *, pct: bool = False, digits: int = 2) -> str:
    """An interval: ``[-1.00%, 2.00%]`` with ``pct``, else significant digits.

    >>> fmt_ci(-0.01, 0.02, pct=True), fmt_ci(0.1338, 0.9725)
    ('[-1.00%, 2.00%]', '[0.1338, 0.9725]')
    """
    f = (lambda v: fmt_pct(v, digits)) if pct else (lambda v: fmt_num(v, digits + 2))
    return f"[{f(lo)}, {f(hi)}]"


@dataclasses.dataclass(frozen=True)
class Notation:
    """How one unit is written: a value and a (signed) change."""

    value: Any
    change: Any


#: unit -> notation of a value and of a change; unknown units use ``value``
NOTATION: dict[str, Notation] = {
    "rate": Notation(fmt_rate, fmt_pp),
    "count": Notation(lambda v: fmt_currency(v), lambda v: fmt_signed(v, 3)),   # per-unit counts: 1.53
    "currency": Notation(fmt_currency, lambda v: fmt_currency(v, signed=True)),
    "seconds": Notation(fmt_seconds, lambda v: fmt_seconds(v, signed=True)),
    "value": Notation(lambda v: fmt_num(v, 4), lambda v: fmt_signed(v, 4)),
    "lift": Notation(fmt_lift, fmt_lift),
    "probability": Notation(fmt_prob, fmt_pp),
    "share": Notation(fmt_share, fmt_pp),
    "p_value": Notation(fmt_p, fmt_p),
    "units": Notation(fmt_count, lambda v: fmt_count(v, signed=True)),
}


def _notation(unit: str) -> Notation:
    return NOTATION.get(unit, NOTATION["value"])


def fmt_value(x: Any, unit: str = "value") -> str:
    """A value in ``unit``'s notation (see :data:`NOTATION`).

    >>> fmt_value(0.0512, "rate"), fmt_value(1.5306, "count"), fmt_value(6.2645, "currency"), fmt_value(2.404, "seconds")
    ('5.12%', '1.53', '6.26', '2.40 s')
    """
    return "—" if finite_or_none(x) is None else _notation(unit).value(x)


def fmt_change(x: Any, unit: str = "value") -> str:
    """A signed change in ``unit``'s notation: rates in percentage points.

    >>> fmt_change(0.0042, "rate"), fmt_change(0.002403, "count"), fmt_change(0.5531, "currency")
    ('+0.42 pp', '+0.0024', '+0.55')
    """
    return "—" if finite_or_none(x) is None else _notation(unit).change(x)


def fmt_change_ci(lo: Any, hi: Any, unit: str = "value") -> str:
    """An interval of a change, the unit's suffix written once: ``[+0.11, +0.73] pp``.

    >>> fmt_change_ci(0.0011, 0.0073, "rate"), fmt_change_ci(-0.005457, 0.01111, "seconds")
    ('[+0.11, +0.73] pp', '[-0.005, +0.011] s')
    >>> fmt_change_ci(-0.0119, 0.02, "lift"), fmt_change_ci(0.1338, 0.9725, "currency")
    ('[-1.19%, +2.00%]', '[+0.13, +0.97]')
    """
    a, b = fmt_change(lo, unit), fmt_change(hi, unit)
    for suffix in (" pp", " s"):
        if a.endswith(suffix) and b.endswith(suffix):
            return f"[{a[:-len(suffix)]}, {b[:-len(suffix)]}]{suffix}"
    return f"[{a}, {b}]"


PALETTE = ("#6e7781", "#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#0a3069", "#9a6700")
"""The colours of an experiment's arms in every view (the report's plots, the dashboard's charts): the control
grey, then the variants in the experiment's order."""


def variant_colors(variants: Sequence[str]) -> dict[str, str]:
    """Each arm's colour, the same in every plot and view (the control, first, is grey).

    >>> variant_colors(["control", "cozy", "minimal"])
    {'control': '#6e7781', 'cozy': '#0969da', 'minimal': '#bf3989'}
    """
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(variants)}


def tick_formatter(unit: str = "value") -> Any:
    """A Bokeh tick formatter for an axis in ``unit`` (``figure.yaxis.formatter``, or HoloViews' ``yformatter``):
    thousands separators (``500,000``, never ``5.000e+5``), rates and lifts in %.

    >>> type(tick_formatter("currency")).__name__, tick_formatter("rate").format
    ('NumeralTickFormatter', '0.0%')
    """
    from bokeh.models import NumeralTickFormatter
    fmt = {"rate": "0.0%", "lift": "+0.0%", "probability": "0%", "share": "0%", "units": "0,0",
           "currency": "0,0[.]00", "seconds": "0.00"}.get(unit, "0,0[.][0000]")
    return NumeralTickFormatter(format=fmt)


def fmt_action(action: Any) -> str:
    """A decision's action as people read it (banners upper-case it).

    >>> fmt_action("keep_testing"), fmt_action("launch").upper()
    ('keep testing', 'LAUNCH')
    """
    return "—" if not action else str(action).replace("_", " ")


def fmt_scope(category: Any, product_id: Any) -> str:
    """An experiment's category and SKU as the report and the dashboard show them ("—" for none).

    >>> fmt_scope("shoes", "sho-0026"), fmt_scope(None, None)
    ('shoes / sho-0026', '— / —')
    """
    return f"{category or '—'} / {product_id or '—'}"


def fmt_weight(w: Any) -> str:
    """A traffic weight (an allocation), as every view shows it: one decimal of a percent.

    >>> fmt_weight(0.06), fmt_weight(0.5), fmt_weight(0.7312)
    ('6.0%', '50.0%', '73.1%')
    """
    return fmt_pct(w, 1)


def fmt_covariate(name: str | None, *, lookback_days: float | None = None, ratio: bool = False,
                  description: str = "", short: bool = False) -> str:
    """Which CUPED covariate a metric used, in words: a named pre-period value with its description, or
    the metric's own definition over a lookback window (``covariate: same``); "" when none. ``short``:
    the form for a table cell.

    >>> fmt_covariate("rev_pre", lookback_days=7.0, ratio=True)
    "the same definition over the 7 days before each unit's first exposure (the pre-period ratio, linearised)"
    >>> fmt_covariate("pre_sessions", description="sessions in the 28 days before the experiment")
    'pre_sessions (sessions in the 28 days before the experiment)'
    >>> fmt_covariate("rev_pre", lookback_days=14.0, short=True), fmt_covariate("pre_revenue", short=True)
    ('same definition, 14 days before exposure', 'pre_revenue')
    """
    if not name:
        return ""
    if lookback_days is None:
        return f"{name} ({description})" if description and not short else name
    days = fmt_num(lookback_days, 4)
    if short:
        return f"same definition, {days} day{'' if days == '1' else 's'} before exposure"
    text = f"the same definition over the {days} day{'' if days == '1' else 's'} before each unit's first exposure"
    return text + (" (the pre-period ratio, linearised)" if ratio else "")
