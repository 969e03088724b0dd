"""The event log's row checks, run by ``workbench report`` only on the events that changed since they last passed.

Every read of the events checks every row first (:func:`workbench.sources.events.validate_event_log`: event
types, missing values, negative prices, raw e-mail addresses and phone numbers in any text column). On the
demo world that is a scan of the distinct values of every text column of 1.8 M rows, about 3.5 s, which
was more than half of one report's gathering — run again for the same rows on every report.

The checks are counts of rows that break a rule, and whether a row breaks one depends on that row alone, so
the whole table passes exactly when each of its parts passes. The report runner therefore keeps, in the
reports directory (``.validated.json``), the content hash of each experiment's events (``count(*)`` and
``sum(hash(row))``, the hash :mod:`workbench.reports.keys` computes for the reports' keys; rows without an
experiment are one more part) that passed the checks, with the code and settings version that checked them.
A run checks only the parts whose hash is not there: one experiment's new events are checked alone (in one
query filtered to them), an unchanged table is not checked again. When a part breaks a rule, the full check
runs on the whole table, so the error is exactly the one every other command gives (rows and values named).
A database that is not a DuckDB file (another engine, a lake) is checked in full, as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from ..files import write_text_atomic

__all__ = ["MARKER", "events_parts", "parts_of", "check_events"]

MARKER = ".validated.json"
_NULL = "\x00no experiment"      # the part of rows without an experiment id (not a valid experiment id)


def events_parts(raw: Any) -> dict[str, str]:
    """``{experiment id: "rows:hash"}`` of the whole ``events`` table, on a raw DuckDB connection (one scan)."""
    return parts_of(raw.execute("SELECT CAST(experiment_id AS VARCHAR), count(*), CAST(sum(hash(x)) AS VARCHAR) "
                                "FROM events x GROUP BY 1").fetchall())


def parts_of(rows: Any) -> dict[str, str]:
    """``{experiment id: "rows:hash"}`` from ``(experiment id, count, hash)`` rows (the keys' scan reads the same)."""
    return {(_NULL if e is None else str(e)): f"{int(n)}:{h}" for e, n, h in rows}


def _digest(parts: Mapping[str, str], code: str) -> dict[str, str]:
    return {e: hashlib.sha256(f"{code}|{e}|{fp}".encode()).hexdigest()[:24] for e, fp in parts.items()}


def _stored(out_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((out_dir / MARKER).read_text(encoding="utf-8"))
        return dict(data.get("passed") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def check_events(db: str | Path, parts: Mapping[str, str] | None, out_dir: Path, code: str) -> bool:
    """Check the rows of the parts of ``events`` that did not pass before; True when the gathering may skip its
    own check (every part has passed), False when it must check everything itself (``parts`` is None: not a
    DuckDB file). A part that breaks a rule raises the full check's :class:`~workbench.errors.InputError`."""
    if parts is None:
        return False
    now = _digest(parts, code)
    passed = _stored(out_dir)
    changed = [e for e, d in now.items() if passed.get(e) != d]
    if changed:
        _validate(db, changed)
    if changed or set(passed) != set(now):
        write_text_atomic(out_dir / MARKER, json.dumps({"passed": now, "checked_at": dt.datetime.now(dt.UTC)
                                                        .replace(tzinfo=None).isoformat(timespec="seconds")},
                                                       indent=1, sort_keys=True) + "\n")
    return True


def _validate(db: str | Path, changed: list[str]) -> None:
    """The row checks on the events of ``changed`` parts only; on any problem, the full check (its error)."""
    from dataclasses import replace

    from ..engine import open_events
    from ..sources.events import open_event_log, validate_event_log

    with open_events(db) as (con, _lake):
        log = open_event_log(con, "events")
        t = log.table
        ids = [e for e in changed if e != _NULL]
        eid = t.experiment_id.cast("string")
        cond = eid.isin(ids) if ids else None
        if _NULL in changed:
            cond = t.experiment_id.isnull() if cond is None else (cond | t.experiment_id.isnull())
        try:
            validate_event_log(replace(log, table=t.filter(cond)))
        except Exception:  # noqa: BLE001 - a broken row (or its example rows, which need the table itself):
            validate_event_log(log)     # the whole table's check, whose error names rows and values as every
            raise                       # command does (it raises; should it not, the part's error stands)
