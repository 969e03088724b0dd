"""Event logs with the tracking schema, read from CSV, Parquet or a DuckDB table — through Ibis.

Required columns: ``ts_server, user_key, session_id, product_id, experiment_id, variant_id, event,
device, channel, price, quantity``; ``event`` is one of impression, click_detail, add_to_cart,
purchase. Optional columns unlock more: ``user_agent``, ``dwell_ms`` and ``ip_hash`` (bot
filtering), ``lcp_ms`` and ``http_status`` (performance guardrails), ``returned`` (return rate),
``user_type`` (new vs returning segments).

``user_key`` must be a salted hash, and no text column may hold a raw e-mail address or phone
number — also URL-encoded, full-width or spelled out (see :mod:`.pii`); such rows are refused and
the identifier is masked in the message, so the error itself does not leak it.

Validation is pushed down: one aggregate query counts every kind of bad row; only when something
is wrong are a few example rows fetched, with their row numbers (the CSV line for text files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import ibis
import ibis.expr.types as ir

from ..engine import engine_errors, engine_message
from ..errors import InputError, Problem
from .locate import located_rows
from .pii import count_identifiers, identifier_rules, mask_identifier, masked
from .textfile import check_csv_head, display_name, file_format

__all__ = ["EventLog", "open_event_log", "validate_event_log", "EVENT_TYPES", "REQUIRED", "OPTIONAL", "mask_identifier"]

EVENT_TYPES = ("impression", "click_detail", "add_to_cart", "purchase")
REQUIRED: dict[str, str] = {
    "ts_server": "timestamp", "user_key": "string", "session_id": "string", "product_id": "string",
    "experiment_id": "string", "variant_id": "string", "event": "string", "device": "string",
    "channel": "string", "price": "numeric", "quantity": "integer",
}
OPTIONAL: dict[str, str] = {
    "user_agent": "string", "dwell_ms": "numeric", "ip_hash": "string", "lcp_ms": "numeric",
    "http_status": "integer", "returned": "boolean", "user_type": "string",
}


@dataclass(frozen=True)
class EventLog:
    """An event table (Ibis expression) and where it came from."""

    table: ir.Table
    name: str                     # as shown in messages
    kind: str                     # csv | parquet | duckdb (a table of the engine) | lake
    path: Path | None = None
    covariates: ir.Table | None = None
    pre_events: ir.Table | None = None      # pre-period events (``covariate: same``; metric_defs.pre_period)

    def has(self, column: str) -> bool:
        return column in self.table.columns


def open_event_log(con: ibis.BaseBackend, source: str | Path, *, table: str = "events",
                   lake: str | Path | None = None) -> EventLog:
    """Open ``source``: a ``.csv`` or ``.parquet`` file, or a table of the connected database; with ``lake``
    (a Parquet lake registered on ``con`` by :func:`workbench.engine.open_events`), its ``events`` view.

    Column problems are checked here (missing required columns, wrong types); row problems by
    :func:`validate_event_log`.
    """
    if lake is not None:
        return _open_lake(con, lake)
    text = str(source)
    path = Path(text)
    name = display_name(text)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".parquet", ".pq"} or path.is_file():
        suffix = ".parquet" if file_format(path) == "parquet" else ".csv"     # by content, not by name
    try:
        if suffix == ".csv":
            check_csv_head(path)
            t = con.read_csv(str(path), table_name=None, header=True, auto_detect=True)
            kind = "csv"
        elif suffix in {".parquet", ".pq"}:
            if not path.exists():
                raise InputError([Problem("blocked", "missing_file", "file not found", file=name)])
            t = con.read_parquet(str(path), file_row_number=True)
            kind = "parquet"
        else:
            if source not in con.list_tables():
                raise InputError([Problem("blocked", "missing_table",
                                          f"no table {text!r} in the database (tables: "
                                          f"{', '.join(sorted(con.list_tables())) or 'none'})", file=text)])
            t = con.table(text)
            kind = "duckdb"
    except engine_errors() as exc:
        raise InputError([_duckdb_problem(exc, name)]) from None
    if "ts_server" in t.columns and t.schema()["ts_server"].is_string():
        t = t.mutate(ts_server=t.ts_server.try_cast("timestamp"))     # ISO text; bad values become missing
    log = EventLog(t, name, kind, path if kind != "duckdb" else None, _covariates(con, path, kind),
                   _pre_events(con, path, kind))
    _check_columns(log)
    return log


def _open_lake(con: ibis.BaseBackend, lake: str | Path) -> EventLog:
    root = str(lake)
    name = display_name(root.rstrip("/") + "/events")
    try:
        tables = set(con.list_tables())
        t = con.table("events")
        cov = con.table("pre_period") if "pre_period" in tables else None
        pre = con.table("pre_events") if "pre_events" in tables else None
        log = EventLog(t, name, "lake", Path(root), cov, pre)
        _check_columns(log)
    except engine_errors() as exc:
        raise InputError([Problem("blocked", "unreadable", f"cannot read the lake: {engine_message(exc)}",
                                  file=name)]) from None
    return log


def _covariates(con: ibis.BaseBackend, path: Path, kind: str) -> ir.Table | None:
    """The pre-period table: ``pre_period`` in the database, or ``pre_period.parquet`` beside the file."""
    if kind == "duckdb":
        return con.table("pre_period") if "pre_period" in con.list_tables() else None
    side = path.with_name("pre_period.parquet")
    return con.read_parquet(str(side)) if side.exists() else None


def _pre_events(con: ibis.BaseBackend, path: Path, kind: str) -> ir.Table | None:
    """The pre-period events: ``pre_events`` in the database, or ``pre_events.parquet`` beside the file."""
    if kind == "duckdb":
        return con.table("pre_events") if "pre_events" in con.list_tables() else None
    side = path.with_name("pre_events.parquet")
    return con.read_parquet(str(side)) if side.exists() else None


def _duckdb_problem(exc: BaseException, name: str) -> Problem:
    msg = engine_message(exc)
    if "unicode" in msg.lower() or "utf" in msg.lower():
        return Problem("blocked", "not_utf8", "the file is not UTF-8 text; save it as UTF-8", file=name)
    if "No files found" in msg or "No such file" in msg:
        return Problem("blocked", "missing_file", "file not found", file=name)
    return Problem("blocked", "unreadable", f"cannot read the file: {msg}", file=name)


_KIND_OK = {
    "timestamp": lambda t: t.is_timestamp(),
    "string": lambda t: t.is_string(),
    "numeric": lambda t: t.is_numeric(),
    "integer": lambda t: t.is_integer(),
    "boolean": lambda t: t.is_boolean() or t.is_integer(),
}


def _check_columns(log: EventLog) -> None:
    schema = log.table.schema()
    problems = [Problem("blocked", "missing_column", f"required column {c!r} is missing", file=log.name, column=c)
                for c in REQUIRED if c not in schema]
    for col, kind in {**REQUIRED, **OPTIONAL}.items():
        if col in schema and not _KIND_OK[kind](schema[col]):
            if kind == "string" and not schema[col].is_string():
                continue        # ids stored as numbers are fine; they are cast when read
            problems.append(Problem("blocked", "wrong_type", f"column {col!r} should be {kind}, found {schema[col]}",
                                    file=log.name, column=col, value=str(schema[col])))
    if problems:
        raise InputError(problems)


Rule = tuple[Callable[[ir.Table], ir.BooleanValue], str, str]


def _rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {
        "unknown_event": (lambda t: ~t.event.isin(EVENT_TYPES) | t.event.isnull(), "event",
                          "unknown event type {value!r}; expected one of " + ", ".join(EVENT_TYPES)),
        "negative_price": (lambda t: t.price < 0, "price", "price must not be negative"),
        "negative_quantity": (lambda t: t.quantity < 0, "quantity", "quantity must not be negative"),
    }
    for col in REQUIRED:
        what = "missing or not a timestamp" if col == "ts_server" else "missing"
        rules[f"missing_{col}"] = (lambda t, c=col: t[c].isnull(), col, f"{col} is {what}")
    return rules


def validate_event_log(log: EventLog) -> int:
    """Check every row in one pushed-down query; raise :class:`InputError` naming rows and values.

    Returns the number of rows checked.
    """
    t = log.table
    rules = _rules()
    try:
        counts = t.aggregate(n=t.count(), **{code: fn(t).ifelse(1, 0).sum() for code, (fn, _, _) in rules.items()}
                             ).execute().iloc[0].to_dict()
        rules.update(identifier_rules(t))     # raw e-mail addresses and phone numbers in any text column (.pii)
        counts.update(count_identifiers(t))
    except engine_errors() as exc:
        raise InputError([Problem("blocked", "unreadable", f"cannot read the events: {engine_message(exc)}",
                                  file=log.name)]) from None
    problems: list[Problem] = []
    for code, (fn, col, template) in rules.items():
        bad = int(counts.get(code) or 0)
        if not bad:
            continue
        for row, value, where in located_rows(log.table, log.kind, log.path, fn, col):
            raw = code.startswith("raw_")
            msg = template.format(value=value, masked=masked(value, bare_phone=col == "user_key") if raw else value)
            problems.append(Problem("blocked", code.split(":")[0],
                                    f"{msg} ({bad:,} row{'s' if bad != 1 else ''} like this)",
                                    file=where or log.name, column=col, row=row,
                                    line=row + 1 if log.kind == "csv" and row else None,
                                    value=None if raw else value))
    if problems:
        raise InputError(problems)
    return int(counts["n"])
