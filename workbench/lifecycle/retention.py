"""Retention: delete user-level rows older than the retention period from EVERY table that holds them.

The tables are found by their columns, not by a list of names: every table of the database with a
``user_key`` column holds user-level data (the registry never stores user identifiers).

- The event log (``events`` by default) and any other user table with a time column (``ts_server``,
  else its first TIMESTAMP or DATE column): rows whose time is before the cutoff are deleted.
- A user table without a time column — ``pre_period``, the covariates CUPED reads, summarises each
  user's activity *before* they entered their experiment — is as old as the user's first event at
  least. Its rows are deleted when the user's first event (before this purge) is older than the
  cutoff, or when the user has no event at all (its age cannot be shown to be within the period).
  So after a purge every remaining row of every user table is younger than the cutoff.

Tables without user identifiers (the registry and its audit log, decisions, the bandits' allocation
log, the world's catalogue, daily stock and prices, allocations and truth) are not personal data
and are kept whole. Aggregates are never stored: the cube is computed from the tables on every
load, its ``data_version`` hashes the cube itself, and report keys hash the tables' contents, so
after a purge the dashboard's caches and the reports are recomputed from what remains.

Everything happens inside the caller's transaction (one transaction for all tables).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb

from ..db import quote_ident
from ..display import ResultMixin

__all__ = ["TablePurge", "user_tables", "purge_user_tables", "HASHED"]

HASHED = re.compile(r"^[0-9a-fA-F]{16,}$")
_TIME_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


@dataclass(frozen=True)
class TablePurge(ResultMixin):
    """What the purge did (or would do) to one table."""

    table: str
    rule: str                   # how a row's age is judged
    deleted: int
    remaining: int


_q = quote_ident


def user_tables(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """``{table: time column or None}`` for every table of the main schema with a ``user_key`` column."""
    rows = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = 'main' AND table_catalog = current_database() "
                       "ORDER BY table_name, ordinal_position").fetchall()
    cols: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        cols.setdefault(table, []).append((column, dtype.upper()))
    out: dict[str, str | None] = {}
    for table, columns in cols.items():
        names = [c for c, _ in columns]
        if "user_key" not in names:
            continue
        timed = [c for c, t in columns if t in _TIME_TYPES]
        out[table] = "ts_server" if "ts_server" in timed else (timed[0] if timed else None)
    return out


def purge_user_tables(con: duckdb.DuckDBPyConnection, *, cutoff: dt.datetime, events: str, ts_column: str,
                      dry_run: bool) -> tuple[list[TablePurge], int, list[str]]:
    """Purge (or count) rows older than ``cutoff`` in every user table; returns per-table results
    (the event table first), the number of distinct user keys that do not look hashed, and notes."""
    tables = user_tables(con)
    tables[events] = ts_column
    notes: list[str] = []
    results: list[TablePurge] = []
    have_events = events in tables and "user_key" in _columns(con, events)
    # Untimed tables first: their age is read from the events as they are before the purge.
    untimed = [t for t, ts in tables.items() if ts is None]
    for table in untimed:
        if not have_events:
            notes.append(f"table {table} has user keys but no time column, and there is no event log to date them: "
                         "kept")
            continue
        young = (f"SELECT CAST(user_key AS VARCHAR) FROM {_q(events)} WHERE user_key IS NOT NULL "
                 f"GROUP BY 1 HAVING min({_q(ts_column)}) >= ?")
        where = f"user_key IS NULL OR CAST(user_key AS VARCHAR) NOT IN ({young})"
        results.append(_apply(con, table, where, [cutoff], dry_run,
                              f"the user's first event in {events} is before the cutoff, or there is none"))
    timed = [events] + sorted(t for t, ts in tables.items() if ts is not None and t != events)
    for table in timed:
        column = ts_column if table == events else tables[table]
        assert column is not None
        results.append(_apply(con, table, f"{_q(column)} < ?", [cutoff], dry_run, f"{column} is before the cutoff"))
    results.sort(key=lambda r: (r.table != events, r.table))
    unhashed = 0
    for table in tables:
        if "user_key" in _columns(con, table):
            keys = con.execute(f"SELECT DISTINCT CAST(user_key AS VARCHAR) FROM {_q(table)}").fetchall()
            unhashed += sum(1 for (k,) in keys if k is not None and not HASHED.match(k))
    if unhashed:
        notes.append(f"{unhashed} distinct user_key values do not look hashed; hash identifiers before loading them")
    return results, unhashed, notes


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                      "AND table_schema = 'main'", [table]).fetchall()}


def _apply(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list[object], dry_run: bool,
           rule: str) -> TablePurge:
    old = int(con.execute(f"SELECT count(*) FROM {_q(table)} WHERE {where}", params).fetchone()[0])
    if old and not dry_run:
        con.execute(f"DELETE FROM {_q(table)} WHERE {where}", params)
    remaining = int(con.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0])
    return TablePurge(table, rule, old, remaining)
