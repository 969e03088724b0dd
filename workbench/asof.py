"""What "now" means for an evaluation: the data's as-of (or the time the user asked for), not the wall clock.

Every clock an evaluation needs — days running, the maximum duration, market signals since the
start, the autopilot's look-back window — is read from :func:`evaluation_time`, so a database
built on November 19 says "13.8 days running" on December 6 too, and ``--as-of`` replays any day.
The wall clock is only the last resort, when neither the user nor the data gives a time (a saved
result without an as-of); writes to the registry (audit log) still use the registry's clock,
because they happen now.

>>> import datetime as dt
>>> evaluation_time(data_as_of=dt.datetime(2026, 11, 19, 23, 0))
datetime.datetime(2026, 11, 19, 23, 0)
>>> evaluation_time(as_of=dt.datetime(2026, 11, 12), data_as_of=dt.datetime(2026, 11, 19))
datetime.datetime(2026, 11, 12, 0, 0)
>>> round(days_between(dt.datetime(2026, 11, 6), dt.datetime(2026, 11, 19, 12)), 1)
13.5
>>> days_between(dt.datetime(2026, 11, 6), dt.datetime(2026, 11, 19), ended_at=dt.datetime(2026, 11, 10))
4.0
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pandas as pd

__all__ = ["evaluation_time", "days_between", "naive_utc", "events_as_of"]


def naive_utc(value: Any) -> dt.datetime | None:
    """A naive UTC datetime (the database's convention) from a datetime, date, Timestamp or ISO text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    t = pd.Timestamp(value)
    if pd.isna(t):
        return None
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.floor("us").to_pydatetime()      # Python datetimes hold microseconds; the engine may give nanoseconds


def evaluation_time(*, as_of: Any = None, data_as_of: Any = None,
                    fallback: Callable[[], dt.datetime] | None = None) -> dt.datetime | None:
    """The time an evaluation happens at: the user's ``as_of``, else the data's, else ``fallback()`` (or None)."""
    for value in (as_of, data_as_of):
        t = naive_utc(value)
        if t is not None:
            return t
    return fallback() if fallback is not None else None


def days_between(start: Any, now: Any, *, ended_at: Any = None) -> float | None:
    """Days from ``start`` to ``now`` — or to ``ended_at`` when the experiment ended before ``now``."""
    s, n, e = naive_utc(start), naive_utc(now), naive_utc(ended_at)
    if s is None or n is None:
        return None
    end = min(n, e) if e is not None else n
    return max(0.0, (end - s).total_seconds() / 86400)


def events_as_of(backend: Any) -> dt.datetime | None:
    """The latest event time in the ``events`` table (an Ibis backend), or None without events."""
    if "events" not in set(backend.list_tables()):
        return None
    t = backend.table("events")
    if "ts_server" not in t.columns:
        return None
    return naive_utc(t.ts_server.max().execute())
