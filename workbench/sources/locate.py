"""Find example rows that break a rule, with their row numbers — only on the error path.

Parquet files carry ``file_row_number``; DuckDB tables a ``rowid``; CSV files are scanned in Python
for the offending values (DuckDB's parallel CSV reader keeps no line numbers).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import ibis.expr.types as ir

__all__ = ["example_rows", "EXAMPLES"]

EXAMPLES = 3


def example_rows(t: ir.Table, kind: str, path: Path | None, rule: Callable[[ir.Table], ir.BooleanValue],
                 column: str, limit: int = EXAMPLES) -> list[tuple[int | None, Any]]:
    """Up to ``limit`` rows where ``rule`` holds, as (1-based row number, value of ``column``)."""
    if kind == "parquet":
        df = (t.filter(rule(t)).select(t.file_row_number, t[column]).order_by(t.file_row_number)
              .limit(limit).execute())
        return [(int(r) + 1, v) for r, v in zip(df["file_row_number"], df[column])]
    if kind == "csv" and path is not None:
        values = set(t.filter(rule(t)).select(t[column]).distinct().limit(50).execute()[column].tolist())
        return _scan_csv(path, column, values, limit)
    view = t._find_backend().sql(f'SELECT rowid + 1 AS _row_number, * FROM "{t.get_name()}"')
    df = view.filter(rule(view)).select("_row_number", column).order_by("_row_number").limit(limit).execute()
    return [(int(r), v) for r, v in zip(df["_row_number"], df[column])]


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
