"""Find example rows that break a rule, with their row numbers — only on the error path.

Parquet files carry ``file_row_number``; DuckDB tables a ``rowid``; CSV files are scanned in Python
for the offending values (DuckDB's parallel CSV reader keeps no line numbers). A Parquet lake, on any
engine: the engine names the days (partitions) holding offending rows, then the embedded DuckDB reads
only those folders' files with their file names and row numbers and applies the same rule — so Spark
and DuckDB name the same file and row. Where no row number can be had (a table of another backend, a
remote lake) the offending values are still shown, without a row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import ibis.expr.types as ir

__all__ = ["example_rows", "located_rows", "EXAMPLES"]

EXAMPLES = 3


def example_rows(t: ir.Table, kind: str, path: Path | None, rule: Callable[[ir.Table], ir.BooleanValue],
                 column: str, limit: int = EXAMPLES) -> list[tuple[int | None, Any]]:
    """Up to ``limit`` rows where ``rule`` holds, as (1-based row number, value of ``column``)."""
    return [(r[0], r[1]) for r in _example_rows(t, kind, path, rule, column, limit)]


def located_rows(t: ir.Table, kind: str, path: Path | None, rule: Callable[[ir.Table], ir.BooleanValue],
                 column: str, limit: int = EXAMPLES) -> list[tuple[int | None, Any, str | None]]:
    """As :func:`example_rows`, with the file holding each row when it is not the source itself (a lake's part)."""
    return [(r[0], r[1], r[2] if len(r) > 2 else None) for r in _example_rows(t, kind, path, rule, column, limit)]


def _example_rows(t: ir.Table, kind: str, path: Path | None, rule: Callable[[ir.Table], ir.BooleanValue],
                  column: str, limit: int) -> list[tuple]:
    if kind == "lake" and path is not None and "date" in t.columns and path.is_dir():
        return _lake_rows(t, path, rule, column, limit)
    if kind in ("lake", "duckdb") and (kind == "lake" or t.get_backend().name != "duckdb"):
        df = t.filter(rule(t)).select(t[column]).limit(limit).execute()      # values only: no row numbers here
        return [(None, v) for v in df[column]]
    if kind == "parquet":
        df = (t.filter(rule(t)).select(t.file_row_number, t[column]).order_by(t.file_row_number)
              .limit(limit).execute())
        return [(int(r) + 1, v) for r, v in zip(df["file_row_number"], df[column])]
    if kind == "csv" and path is not None:
        values = set(t.filter(rule(t)).select(t[column]).distinct().limit(50).execute()[column].tolist())
        return _scan_csv(path, column, values, limit)
    view = t.get_backend().sql(f'SELECT rowid + 1 AS _row_number, * FROM "{t.get_name()}"')
    df = view.filter(rule(view)).select("_row_number", column).order_by("_row_number").limit(limit).execute()
    return [(int(r), v) for r, v in zip(df["_row_number"], df[column])]


def _lake_rows(t: ir.Table, root: Path, rule: Callable[[ir.Table], ir.BooleanValue], column: str,
               limit: int) -> list[tuple]:
    import ibis

    days = t.filter(rule(t)).select("date").distinct().order_by("date").limit(limit).execute()["date"]
    out: list[tuple] = []
    con = ibis.duckdb.connect()
    try:
        for day in days:
            folder = root / "events" / f"date={pd_date(day)}"
            files = sorted(folder.glob("*.parquet"))
            if not files:
                continue
            v = con.read_parquet([str(f) for f in files], filename=True, file_row_number=True)
            df = (v.filter(rule(v)).select("filename", "file_row_number", column)
                  .order_by(["filename", "file_row_number"]).limit(limit - len(out)).execute())
            out += [(int(r) + 1, val, f"{root.name}/{Path(f).relative_to(root)}")
                    for f, r, val in zip(df["filename"], df["file_row_number"], df[column])]
            if len(out) >= limit:
                break
    finally:
        con.disconnect()
    return out


def pd_date(day: Any) -> str:
    """``YYYY-MM-DD`` of a date that came back from an engine (date, datetime or Timestamp)."""
    return str(day)[:10]


def _scan_csv(path: Path, column: str, values: set[Any], limit: int) -> list[tuple[int | None, Any]]:
    def norm(v: Any) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        return str(v)

    wanted = {norm(v) for v in values}
    out: list[tuple[int | None, Any]] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        idx = header.index(column)
        for row_no, row in enumerate(reader, start=1):
            cell = row[idx].strip() if idx < len(row) else ""
            if cell in wanted or (cell.lower() in {"nan", "null", "na"} and "" in wanted):
                out.append((row_no, cell or None))
                if len(out) == limit:
                    break
    return out
