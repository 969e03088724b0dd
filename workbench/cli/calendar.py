"""``workbench calendar add|list|remove``: the events calendar (promotions, holidays, outages, price campaigns).

Analyses flag the events their window overlaps; the ``calendar-hold`` rule holds decisions while an
event with ``hold`` overlaps (outages hold by default). The calendar is ``calendar.yaml`` beside the
database (``--db``), or ``--file`` / ``WORKBENCH_CALENDAR``; see :mod:`workbench.lifecycle.calendar`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from ._common import JSON_OPTION, console, print_json, table

__all__ = ["register", "calendar_app"]

calendar_app = typer.Typer(help="The events calendar: promotions, holidays, outages and price campaigns that "
                                "analyses flag and policies can hold on.", no_args_is_help=True)

_FILE = typer.Option(None, "--file", help="Calendar YAML (default: calendar.yaml beside the database, or "
                                          "$WORKBENCH_CALENDAR).")
_DB = typer.Option(None, "--db", help="The database whose calendar to use (default $WORKBENCH_DB).")


def _path(file: Optional[Path], db: Optional[Path]) -> Path:
    from ..lifecycle.calendar import calendar_path
    return file if file is not None else calendar_path(db)


@calendar_app.command("add")
def add_cmd(name: str = typer.Argument(..., help="A unique name, e.g. black-friday-2026."),
            kind: str = typer.Option("other", "--kind", help="promotion, holiday, outage, price_campaign or other."),
            start: str = typer.Option(..., "--start", help="First day, YYYY-MM-DD (inclusive)."),
            end: Optional[str] = typer.Option(None, "--end", help="Last day, YYYY-MM-DD (inclusive; default: start)."),
            hold: Optional[bool] = typer.Option(None, "--hold/--no-hold", help="Hold decisions while it overlaps "
                                                "(default: only outages hold)."),
            category: list[str] = typer.Option([], "--category", help="Only experiments of this category (repeat; "
                                               "default: site-wide)."),
            note: str = typer.Option("", "--note", help="A free-text note."),
            file: Optional[Path] = _FILE, db: Optional[Path] = _DB, json_: bool = JSON_OPTION) -> None:
    """Add an event to the calendar."""
    from pydantic import ValidationError

    from ..errors import InputError, Problem
    from ..lifecycle.calendar import CalendarEvent, add_event
    path = _path(file, db)
    raw: dict[str, Any] = {"name": name, "kind": kind, "start": start, "end": end or start, "hold": hold,
                           "categories": list(category), "note": note}
    try:
        event = CalendarEvent.model_validate(raw)
    except ValidationError as exc:
        raise InputError([Problem("blocked", "bad_event", str(e.get("msg", "invalid")).removeprefix("Value error, "),
                                  file=str(path), column="--" + ".".join(str(x) for x in e.get("loc", ())) if e.get("loc")
                                  else None, value=e.get("input") if isinstance(e.get("input"), str) else None)
                          for e in exc.errors()]) from None
    add_event(event, path)
    if json_:
        print_json(event.model_dump(mode="json"))
        return
    console.print(f"added {escape(event.name)} ({event.kind}, {event.start} to {event.end}"
                  f"{', holds decisions' if event.holds else ''}) to {escape(str(path))}")


@calendar_app.command("list")
def list_cmd(file: Optional[Path] = _FILE, db: Optional[Path] = _DB, json_: bool = JSON_OPTION) -> None:
    """List the calendar's events in date order."""
    from ..lifecycle.calendar import load_calendar
    path = _path(file, db)
    events = sorted(load_calendar(path), key=lambda e: (e.start, e.name))
    if json_:
        print_json({"file": str(path), "events": [dict(e.model_dump(mode="json"), holds=e.holds) for e in events]})
        return
    if not events:
        console.print(f"no events in {escape(str(path))}")
        return
    console.print(table(f"Calendar ({escape(str(path))})", ["name", "kind", "start", "end", "holds", "categories", "note"],
                        [(escape(e.name), e.kind, e.start.isoformat(), e.end.isoformat(), "yes" if e.holds else "no",
                          escape(", ".join(e.categories) or "all"), escape(e.note)) for e in events]))


@calendar_app.command("remove")
def remove_cmd(name: str = typer.Argument(..., help="The event's name."), file: Optional[Path] = _FILE,
               db: Optional[Path] = _DB) -> None:
    """Remove an event from the calendar."""
    from ..lifecycle.calendar import remove_event
    path = _path(file, db)
    event = remove_event(name, path)
    console.print(f"removed {escape(event.name)} from {escape(str(path))}")


def register(app: typer.Typer) -> None:
    """Add the calendar commands to the main app."""
    app.add_typer(calendar_app, name="calendar")
