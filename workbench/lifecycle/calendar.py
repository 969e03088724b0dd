"""The events calendar: promotions, holidays, outages and price campaigns that can bias an experiment.

An experiment that runs through Black Friday, a site outage or a price campaign measures that week,
not a typical one. The calendar lists such events; every analysis flags the ones its window overlaps
(:mod:`workbench.time_effects`), and a policy can hold on them (the ``calendar-hold`` rule of the
``operational-holds`` rule set holds while an overlapping event has ``hold: true``).

The calendar is a YAML file beside the database (``calendar.yaml`` in the directory of
``WORKBENCH_DB``, or ``WORKBENCH_CALENDAR``), readable and editable by hand or with
``workbench calendar add|list|remove``::

    events:
      - name: black-friday-2026
        kind: promotion            # promotion | holiday | outage | price_campaign | other
        start: 2026-11-27          # first day, inclusive
        end: 2026-11-30            # last day, inclusive
        hold: false                # hold decisions while it overlaps (default: true for outages only)
        categories: [shoes]        # only experiments of these categories (empty: site-wide)
        note: "sitewide -20 %"

>>> e = CalendarEvent(name="bf", kind="promotion", start="2026-11-27", end="2026-11-30")
>>> e.overlap_days(dt.date(2026, 11, 20), dt.date(2026, 11, 28)), e.holds
(2, False)
>>> CalendarEvent(name="cdn", kind="outage", start="2026-11-10", end="2026-11-10").holds
True
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError, NotFoundError, Problem
from ..yamlio import load_yaml

__all__ = ["EVENT_KINDS", "CalendarEvent", "calendar_path", "load_calendar", "save_calendar", "add_event",
           "remove_event", "parse_events"]

EVENT_KINDS = ("promotion", "holiday", "outage", "price_campaign", "other")


class CalendarEvent(BaseModel):
    """One dated event (both ends inclusive); ``hold`` defaults to true for outages only."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    kind: Literal["promotion", "holiday", "outage", "price_campaign", "other"] = "other"
    start: dt.date
    end: dt.date
    hold: bool | None = None
    categories: list[str] = Field(default_factory=list)
    note: str = Field(default="", max_length=500)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v.strip()[:10])
            except ValueError:
                raise ValueError(f"a date is written YYYY-MM-DD, got {v!r}") from None
        return v

    @model_validator(mode="after")
    def _order(self) -> "CalendarEvent":
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self

    @property
    def holds(self) -> bool:
        """Whether decisions hold while this event overlaps the experiment."""
        return self.kind == "outage" if self.hold is None else bool(self.hold)

    def overlap_days(self, first: dt.date, last: dt.date) -> int:
        """Days of ``[first, last]`` (inclusive) that this event covers (0: no overlap)."""
        lo, hi = max(first, self.start), min(last, self.end)
        return max(0, (hi - lo).days + 1)

    def applies_to(self, category: str | None) -> bool:
        return not self.categories or (category is not None and category in self.categories)


def calendar_path(db: str | Path | None = None) -> Path:
    """``WORKBENCH_CALENDAR``, else ``calendar.yaml`` in the database's directory."""
    env = os.environ.get("WORKBENCH_CALENDAR")
    if env:
        return Path(env)
    from ..db import database_path
    return database_path(db).resolve().parent / "calendar.yaml"


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def parse_events(data: Any, *, source: str = "<calendar>") -> tuple[CalendarEvent, ...]:
    """Validate a calendar mapping (``{"events": [...]}``); every problem names the file, field and value."""
    if data is None:
        return ()
    if not isinstance(data, dict) or not isinstance(data.get("events", []), list) or set(data) - {"events"}:
        raise InputError([Problem("blocked", "bad_calendar", "a calendar is a mapping with one key, events: a list "
                                  "of events", file=source)])
    out: list[CalendarEvent] = []
    problems: list[Problem] = []
    for i, raw in enumerate(data.get("events") or []):
        try:
            out.append(CalendarEvent.model_validate(raw))
        except ValidationError as exc:
            for e in exc.errors():
                value = e.get("input")
                problems.append(Problem("blocked", "bad_calendar", str(e.get("msg", "invalid")).removeprefix(
                    "Value error, "), file=source, column=_loc(("events", i, *e.get("loc", ()))),
                    value=value if isinstance(value, (str, int, float, bool)) else None))
    names = [e.name for e in out]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem("blocked", "bad_calendar", "event names must be unique", file=source,
                                column="events.name", value=dup))
    if problems:
        raise InputError(problems)
    return tuple(out)


def load_calendar(path: str | Path | None = None) -> tuple[CalendarEvent, ...]:
    """The events of the calendar file (none when the file does not exist)."""
    p = Path(path) if path is not None else calendar_path()
    if not p.exists():
        return ()
    try:
        data = load_yaml(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {str(exc).splitlines()[0]}",
                                  file=str(p))]) from None
    except OSError as exc:
        raise InputError([Problem("blocked", "unreadable_file", f"cannot read the calendar: {exc.strerror or exc}",
                                  file=str(p))]) from None
    return parse_events(data, source=str(p))


def save_calendar(events: Sequence[CalendarEvent], path: str | Path | None = None) -> Path:
    """Write the calendar atomically, events in start order."""
    from ..files import write_text_atomic
    p = Path(path) if path is not None else calendar_path()
    rows = [e.model_dump(mode="json", exclude_defaults=True) for e in sorted(events, key=lambda e: (e.start, e.name))]
    return write_text_atomic(p, yaml.safe_dump({"events": rows}, sort_keys=False, allow_unicode=True))


def add_event(event: CalendarEvent, path: str | Path | None = None) -> Path:
    """Add ``event``; a name already in the calendar is refused."""
    events = load_calendar(path)
    if any(e.name == event.name for e in events):
        raise InputError([Problem("blocked", "duplicate_event", "the calendar already has an event of this name "
                                  "(remove it first)", file=str(path or calendar_path()), column="name",
                                  value=event.name)])
    return save_calendar((*events, event), path)


def remove_event(name: str, path: str | Path | None = None) -> CalendarEvent:
    """Remove the event called ``name`` and return it."""
    events = load_calendar(path)
    found = [e for e in events if e.name == name]
    if not found:
        known = ", ".join(e.name for e in events) or "none"
        raise NotFoundError(f"no calendar event called {name!r}; the calendar has: {known}")
    save_calendar([e for e in events if e.name != name], path)
    return found[0]
