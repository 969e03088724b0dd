"""Small formatters the report's sections share (metric values and changes, shares, times).

They only choose a display-layer function; no number is formatted here by hand.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..display import fmt_lift, fmt_pct
from ..metrics import fmt_metric_delta, fmt_metric_value
from ..results import MetricResult


def _value(m: MetricResult, v: float | None) -> str:
    return fmt_metric_value(m.name, m.kind, v, m.unit)


def _delta(m: MetricResult, v: float | None) -> str:
    return fmt_metric_delta(m.name, m.kind, v, m.unit)


def _pct(v: Any) -> str:
    return fmt_pct(v) if isinstance(v, (int, float)) and v is not None else "—"


def _spct(v: Any) -> str:
    """A relative lift, always signed (the display layer's notation)."""
    return fmt_lift(v)


def _when(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    ts = pd.Timestamp(x)
    return ts.strftime("%Y-%m-%d %H:%M") if (ts.hour or ts.minute) else ts.strftime("%Y-%m-%d")


def _e(text: Any) -> str:
    from ..display import escape
    return escape(text)
