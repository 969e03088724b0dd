"""One display layer for every result object.

Result objects are small frozen dataclasses that inherit :class:`ResultMixin` and so get
``to_dict()`` (JSON-ready: NumPy scalars and arrays become Python numbers and lists, NaN becomes
``None``, floats keep full precision), ``to_frame()`` (a tidy pandas DataFrame) and
``_repr_html_()`` (what Jupyter shows). Presenters format numbers with the helpers below so a lift
reads the same in a notebook, a memo and the dashboard.

>>> fmt_pct(0.01234), fmt_pct(-0.5, signed=True), fmt_ci(-0.01, 0.02, pct=True), fmt_p(0.00001234)
('1.23%', '-50.00%', '[-1.00%, 2.00%]', '1.2e-05')
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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ResultMixin", "to_jsonable", "dumps", "fmt_pct", "fmt_num", "fmt_ci", "fmt_p", "escape", "tick_formatter"]


def to_jsonable(obj: Any) -> Any:
    """Convert results, NumPy and pandas values into plain JSON types (NaN/inf -> None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict") and not isinstance(obj, ResultMixin):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, (dt.datetime, dt.date, pd.Timestamp)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.to_dict(orient="records"))
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NaT:
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
        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, (list, dict))}
        return pd.DataFrame([row])

    def _repr_html_(self) -> str:
        title = escape(type(self).__name__)
        table = self.to_frame().to_html(index=False, border=0, na_rep="—", float_format=_float_html)
        return f"<div class='workbench-result'><strong>{title}</strong>{table}</div>"


def _float_html(x: float) -> str:
    return f"{x:.4g}"


def escape(text: Any) -> str:
    """HTML-escape any user-supplied value (names, ids, variant labels), quotes included."""
    return html.escape("" if text is None else str(text), quote=True)


def fmt_pct(x: float | None, digits: int = 2, *, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x * 100:+.{digits}f}%" if signed and x > 0 else f"{x * 100:.{digits}f}%"


def fmt_num(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 10 ** digits:          # large: thousands separators, never scientific notation
        return f"{x:,.1f}"
    return f"{x:,.{digits}g}"


def fmt_ci(lo: float | None, hi: float | None, *, pct: bool = False, digits: int = 2) -> str:
    f = (lambda v: fmt_pct(v, digits)) if pct else (lambda v: fmt_num(v, digits + 2))
    return f"[{f(lo)}, {f(hi)}]"


def fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def tick_formatter(unit: str = "value") -> Any:
    """A Bokeh tick formatter for an axis in ``unit`` (HoloViews ``xformatter``/``yformatter``):
    thousands separators (``500,000``, never ``5.000e+5``), rates and lifts in %.

    >>> type(tick_formatter("currency")).__name__, tick_formatter("rate").format
    ('NumeralTickFormatter', '0.0%')
    """
    from bokeh.models import NumeralTickFormatter
    fmt = {"rate": "0.0%", "lift": "+0.0%", "probability": "0%", "share": "0%", "units": "0,0",
           "currency": "0,0[.]00", "seconds": "0.00"}.get(unit, "0,0[.][0000]")
    return NumeralTickFormatter(format=fmt)
