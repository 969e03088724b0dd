"""Axis ticks as BokehJS chooses and writes them: the display layer of the report plots' static drawings
(:mod:`workbench.reports.svg`).

The printed plot must read like the interactive one, so its ticks follow BokehJS's own rules: the adaptive
ticker (the mantissa times a power of the base closest to six ticks), the log ticker, the datetime ticker (of
its tickers of milliseconds, minutes, hours, days of the month, months and years, the one whose interval best
gives six ticks), the basic tick format (the fewest decimals that keep neighbours apart, the minus sign), the
numeral formats :func:`workbench.display.tick_formatter` uses, and the datetime format with its resolution,
boundary scaling, hidden repeats and context. ``tests/reports/test_svg.py`` compares the result with BokehJS
in Chromium, axis by axis, on the built reports.

>>> ticks_linear(0.0, 10.0), fmt_basic([-0.5, 0.0, 0.5])
([0.0, 2.0, 4.0, 6.0, 8.0, 10.0], ['\u22120.5', '0', '0.5'])
"""

from __future__ import annotations

import bisect
import calendar
import math
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["ticks_linear", "ticks_log", "ticks_datetime", "fmt_basic", "fmt_numeral", "fmt_datetime", "MINUS",
           "DAY_MS"]

DAY_MS = 86_400_000.0
MINUS = "\u2212"
"""BokehJS writes a negative tick (and a negative power of ten) with the minus sign, not a hyphen."""



def _adaptive_interval(lo: float, hi: float, n: int, mantissas: Sequence[float], base: float = 10.0,
                       min_interval: float = 0.0, max_interval: float = math.inf) -> float:
    """BokehJS's ``AdaptiveTicker.get_interval``: the mantissa × power of ``base`` closest to ``n`` ticks."""
    span = hi - lo
    ideal = span / n
    magnitude = base ** math.floor(math.log(ideal) / math.log(base))
    candidates = [mantissas[-1] / base, *mantissas, mantissas[0] * base]
    errors = [abs(n - span / (m * magnitude)) for m in candidates]
    return min(max(candidates[int(np.argmin(errors))] * magnitude, min_interval), max_interval)


def _single_interval(lo: float, hi: float, interval: float) -> list[float]:
    first, last = math.floor(lo / interval), math.ceil(hi / interval)
    return [k * interval for k in range(first, last + 1) if lo <= k * interval <= hi]


def ticks_linear(lo: float, hi: float, n: int = 6) -> list[float]:
    """The major ticks of BokehJS's ``BasicTicker`` (mantissas 1, 2, 5; six ticks wanted).

    >>> ticks_linear(-0.24, 3.24), ticks_linear(0.0, 0.0)
    ([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], [])
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    return _single_interval(lo, hi, _adaptive_interval(lo, hi, n, (1, 2, 5)))


def ticks_log(lo: float, hi: float, n: int = 6) -> list[float]:
    """The major ticks of BokehJS's ``LogTicker``: within two decades, multiples of a 1-or-5 interval (as a linear
    ticker with mantissas 1 and 5); wider, powers of ten inside the range, every k-th so that about ``n`` remain.

    >>> ticks_log(1.0000000000000002e-06, 1.5), ticks_log(0.2, 3.0)
    ([1e-05, 0.0001, 0.001, 0.01, 0.1, 1.0], [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    """
    if not (lo > 0 and hi > lo and math.isfinite(hi)):
        return []
    a, b = math.log10(lo), math.log10(hi)
    if b - a < 2:
        step = _adaptive_interval(lo, hi, n, (1, 5))
        return [t for t in _single_interval(lo, hi, step) if t != 0]
    powers = [10.0 ** k for k in range(math.ceil(a) - 1, math.floor(b) + 1)]
    powers = [t for t in powers if lo <= t <= hi]
    every = math.ceil(len(powers) / n) or 1
    return powers[::every]


def fmt_basic(ticks: Sequence[float]) -> list[str]:
    """Tick labels as BokehJS's ``BasicTickFormatter`` writes them: the fewest decimals that keep neighbours
    apart, trailing zeros dropped; scientific beyond 1e5 and below 1e-3.

    >>> fmt_basic([-0.5, 0.0, 0.5, 1.0]), fmt_basic([0.0, 200000.0])
    (['−0.5', '0', '0.5', '1'], ['0.0e+0', '2.0e+5'])
    """
    if not ticks:
        return []
    eps = abs(ticks[1] - ticks[0]) / 10000 if len(ticks) > 1 else 0.0
    sci = any(abs(t) > eps and (abs(t) >= 1e5 or abs(t) <= 1e-3) for t in ticks)
    labels: list[str] = []
    for digits in range(1, 16):
        if sci:
            labels = [_js_exponential(t, digits) for t in ticks]
        else:
            labels = [_strip(f"{t:.{digits}f}") for t in ticks]
        if all(a != b for a, b in zip(labels, labels[1:])):
            break
    return [("0" if lab in ("-0", "0") else lab).replace("-", MINUS) for lab in labels]


def _strip(s: str) -> str:
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _js_exponential(value: float, digits: int) -> str:
    mant, exp = f"{value:.{digits}e}".split("e")
    return f"{mant}e{int(exp):+d}"


def fmt_numeral(ticks: Sequence[float], fmt: str) -> list[str]:
    """Tick labels in the numeral.js patterns :func:`workbench.display.tick_formatter` uses (``0.0%``,
    ``+0.0%``, ``0%``, ``0,0``, ``0,0[.]00``, ``0.00``, ``0,0[.][0000]``).

    >>> fmt_numeral([0.05, -0.1], "+0.0%"), fmt_numeral([1500.0, 2.5], "0,0[.]00")
    (['+5.0%', '-10.0%'], ['1,500', '2.50'])
    """
    pct, plus, comma = fmt.endswith("%"), fmt.startswith("+"), "," in fmt
    body = fmt.strip("+%")
    decimals = optional = 0
    if "[.]" in body:
        optional_point = body.split("[.]", 1)[1]
        decimals, optional = len(optional_point), -1            # all of them or none
    elif "." in body:
        tail = body.split(".", 1)[1]
        fixed = tail.split("[", 1)[0]
        extra = tail[len(fixed):].strip("[]")
        decimals, optional = len(fixed) + len(extra), len(extra)
    out = []
    for t in ticks:
        v = t * 100 if pct else t
        s = f"{v:{',' if comma else ''}.{decimals}f}"
        if optional == -1 and "." in s and float(s.replace(",", "")) == round(v):
            s = s.split(".")[0]
        elif optional > 0 and "." in s:
            keep = len(s) - optional
            s = s[:keep] + s[keep:].rstrip("0")
            s = s.rstrip(".")
        if plus and v >= 0 and not s.startswith("-"):
            s = "+" + s
        out.append(("-" + s[1:] if s.startswith("-") else s) + ("%" if pct else ""))
    return out


_DAY_TICKERS = ([*range(1, 32)], [1, 4, 7, 10, 13, 16, 19, 22, 25, 28], [1, 8, 15, 22], [1, 15])
_MONTH_TICKERS = ([*range(12)], [0, 2, 4, 6, 8, 10], [0, 4, 8], [0, 6])


def _month_starts(lo: float, hi: float, step_years: bool = False) -> list[datetime]:
    a, b = _utc(lo), _utc(hi)
    y, m = (a.year, 1) if step_years else (a.year, a.month)
    out = []
    while True:
        d = datetime(y, m, 1, tzinfo=timezone.utc)
        out.append(d)
        if step_years:
            y += 1
        else:
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        if d > b:
            return out


def _utc(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)


def _ms(d: datetime) -> float:
    return calendar.timegm(d.utctimetuple()) * 1000.0


def ticks_datetime(lo: float, hi: float, n: int = 6) -> list[float]:
    """The major ticks (ms since the epoch) of BokehJS's ``DatetimeTicker``: of its tickers (milliseconds,
    seconds and minutes, hours, days of the month, months, years) the one whose interval best gives ``n``.

    >>> [_utc(t).day for t in ticks_datetime(_ms(datetime(2026, 11, 2, tzinfo=timezone.utc)),
    ...                                      _ms(datetime(2026, 11, 14, tzinfo=timezone.utc)))]
    [4, 7, 10, 13]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    adaptive = [((1, 2, 5), 10.0, 0.0, 500.0), ((1, 2, 5, 10, 15, 20, 30), 60.0, 1000.0, 1_800_000.0),
                ((1, 2, 4, 6, 8, 12), 24.0, 3_600_000.0, 43_200_000.0)]
    tickers: list[tuple[float, float, Callable[[], list[float]]]] = []
    for mant, base, mn, mx in adaptive:
        tickers.append((mn, mx, lambda mant=mant, base=base, mn=mn, mx=mx:
                        _single_interval(lo, hi, _adaptive_interval(lo, hi, n, mant, base, mn, mx))))
    for days in _DAY_TICKERS:
        iv = (days[1] - days[0]) * DAY_MS if len(days) > 1 else 31 * DAY_MS
        tickers.append((iv, iv, lambda days=days, iv=iv: _days(lo, hi, days, iv)))
    for months in _MONTH_TICKERS:
        iv = (months[1] - months[0]) * 30 * DAY_MS
        tickers.append((iv, iv, lambda months=months: [t for y in _month_starts(lo, hi, True) for m in months
                                                       if lo <= (t := _ms(y.replace(month=m + 1))) <= hi]))
    year = 365 * DAY_MS
    tickers.append((year, math.inf, lambda: [t for y in _month_starts(lo, hi, True)
                                             if lo <= (t := _ms(y)) <= hi]))
    mins, maxs = [t[0] for t in tickers], [t[1] for t in tickers]
    ideal, span = (hi - lo) / n, hi - lo
    idx = [bisect.bisect_left(mins, ideal) - 1, bisect.bisect_left(maxs, ideal)]
    best, err = 0, math.inf
    for i, iv in ((idx[0], mins[idx[0]] if 0 <= idx[0] < len(mins) else math.nan),
                  (idx[1], maxs[idx[1]] if 0 <= idx[1] < len(maxs) else math.nan)):
        e = abs(n - span / iv) if iv and math.isfinite(iv) else math.inf
        if e < err:
            best, err = i, e
    return tickers[best][2]()


def _days(lo: float, hi: float, days: Sequence[int], interval: float) -> list[float]:
    out = []
    for month in _month_starts(lo, hi):
        for day in days:
            try:
                t = _ms(month.replace(day=day))
            except ValueError:          # the 31st of a 30-day month
                continue
            if _utc(t + interval / 2).month == month.month and lo <= t <= hi:
                out.append(t)
    return out


_LEVELS = ("microseconds", "milliseconds", "seconds", "minsec", "minutes", "hourmin", "hours", "days", "months",
           "years")
_TM_INDEX = {"seconds": 5, "minsec": 4, "minutes": 4, "hourmin": 3, "hours": 3}
"""Which field of (year, month, day, hour, minute, second) being zero puts a tick on the next unit's boundary
(0, the year, for the others: never)."""


def _resolution(ticks: Sequence[float]) -> str:
    """The format BokehJS picks from the ticks' mean spacing (widened by 10 %) and span."""
    span = abs(ticks[-1] - ticks[0])
    r = span / (len(ticks) - 1) * 1.1 if len(ticks) > 1 else math.nan
    if not r < 365 * DAY_MS:
        return "years"
    for limit, res in ((1, "microseconds"), (1000, "milliseconds"),
                       (60_000, "minsec" if span >= 60_000 else "seconds"),
                       (3_600_000, "hourmin" if span >= 3_600_000 else "minutes"), (DAY_MS, "hours"),
                       (30 * DAY_MS, "days")):
        if r < limit:
            return res
    return "months"


def _strftime(ms: float, fmt: str) -> str:
    if "%" not in fmt:
        return fmt
    d = _utc(ms)
    return d.strftime(fmt.replace("%3N", f"{d.microsecond // 1000:03d}").replace("%f", f"{d.microsecond:06d}"))


def _tick_label(formatter: Any, t: float, res: str) -> str:
    label, final = _strftime(t, getattr(formatter, res)), res
    if formatter.boundary_scaling:       # a tick on the next unit's boundary is written in that unit's format
        d = _utc(t)
        tm = (d.year, d.month, d.day, d.hour, d.minute, d.second)
        i, hybrid_done = _LEVELS.index(res), False
        while tm[_TM_INDEX.get(_LEVELS[i], 0)] == 0:
            i += 1
            if i == len(_LEVELS):
                break
            if res in ("minsec", "hourmin") and not hybrid_done:
                if (res == "minsec" and tm[4] == 0 and tm[5] != 0) or (res == "hourmin" and tm[3] == 0 and tm[4] != 0):
                    final = _LEVELS[_LEVELS.index(res) - 1]
                    label = _strftime(t, getattr(formatter, final))
                    break
                hybrid_done = True
            final = _LEVELS[i]
            label = _strftime(t, getattr(formatter, final))
    strip = formatter.strip_leading_zeros
    if strip is True or (isinstance(strip, (list, tuple)) and final in strip):
        bare = label.lstrip("0")
        if bare != label and not bare[:1].isdigit():
            return "0" + bare
        return bare
    return label


def fmt_datetime(ticks: Sequence[float], formatter: Any = None, res: str | None = None) -> list[str]:
    """Labels as BokehJS's ``DatetimeTickFormatter`` writes them: the format of the ticks' resolution, with its
    boundary scaling, hidden repeats and context (another format or formatter, on one tick or all, below or
    beside). ``bokeh.plotting``'s datetime axis writes days as ``Nov 07`` with the year under the first.

    >>> from bokeh.plotting import figure
    >>> fmt = figure(x_axis_type="datetime").xaxis[0].formatter
    >>> fmt_datetime([_ms(datetime(2026, 11, d, tzinfo=timezone.utc)) for d in (25, 28)], fmt)
    ['Nov 25\\n2026', 'Nov 28\\n']
    """
    if not ticks:
        return []
    if formatter is None:
        from bokeh.models import DatetimeTickFormatter
        formatter = DatetimeTickFormatter()
    res = res or _resolution(ticks)
    labels = [_tick_label(formatter, t, res) for t in ticks]
    if formatter.hide_repeats:            # a run of equal labels keeps its first
        first = 0
        for i in range(1, len(labels)):
            if labels[i] == labels[first]:
                labels[i] = ""
            else:
                first = i
    context = formatter.context
    if context is None:
        return labels
    ctx = [_strftime(t, context) for t in ticks] if isinstance(context, str) else fmt_datetime(ticks, context, res)
    keep = {"start": 0, "end": len(ctx) - 1, "center": len(ctx) // 2}.get(formatter.context_which)
    ctx = [c if keep is None or i == keep else "" for i, c in enumerate(ctx)]
    if all(c == "" for c in ctx):
        return labels
    where = formatter.context_location
    if where in ("left", "right"):
        return [lab if not c else (f"{c} {lab}" if where == "left" else f"{lab} {c}") for lab, c in zip(labels, ctx)]
    return [f"{c}\n{lab}" if where == "above" else f"{lab}\n{c}" for lab, c in zip(labels, ctx)]
