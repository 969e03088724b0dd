"""Checks every input table goes through before it is parsed, and the one table reader of small inputs.

A file is recognised by its *content*: a Parquet file starts and ends with the magic bytes ``PAR1``
whatever its name (a ``.csv`` that is really Parquet is read as Parquet; a ``.parquet`` that is not
is refused as such). Text must exist, not be empty, be UTF-8 and comma-separated. Each failure is one
clear :class:`~workbench.errors.Problem` naming the file (and the line, column and value when known).

:func:`read_table` reads a small table (aggregated results, SKU counts) from CSV or Parquet into
text cells with their row and line numbers, so every reader validates both the same way; a cell
longer than ``Settings.limits.max_field_chars`` is refused (there is no 131,072-character CSV
field limit traceback).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "semi.csv").write_text("variant;users;conversions\\ncontrol;10;1\\n")
>>> try:
...     check_csv_text(d / "semi.csv")
... except InputError as e:
...     print(e.problems[0].code, e.problems[0].line, e.problems[0].message)
wrong_delimiter 1 the file looks separated by ';' (semicolon); the workbench reads comma-separated files — re-export it with ',' as the delimiter
>>> _ = (d / "ok.csv").write_text("variant,users\\ncontrol,10\\n")
>>> t = read_table(d / "ok.csv")
>>> t.header, t.rows[0].cells, t.rows[0].line
(['variant', 'users'], ['control', '10'], 2)
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem

__all__ = ["check_csv_text", "check_csv_head", "display_name", "file_format", "read_table", "Table", "TableRow",
           "PARQUET_MAGIC", "preview", "engine_message"]

_DELIMS = {";": "semicolon", "\t": "tab", "|": "pipe"}
PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")


def display_name(path: Path | str) -> str:
    """How a file is named in messages: as the user gave it (relative stays relative)."""
    return str(path)


def preview(value: Any, width: int = 40) -> Any:
    """A long text value shortened for a message (``'aaaa…' (140,000 characters)``)."""
    if isinstance(value, str) and len(value) > width + 20:
        return f"{value[:width]}… ({len(value):,} characters)"
    return value


def engine_message(exc: BaseException) -> str:
    """The useful part of a DuckDB/Arrow error, on one line (never the offending line's full text)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.startswith("Original Line")]
    first = lines[0] if lines else type(exc).__name__
    size = next((ln for ln in lines if ln.startswith("Maximum line size")), None)
    if size:
        return f"a line is too long for the CSV reader ({size.rstrip('.')}; the limit of one line of a large table)"
    return preview(first, 200)


def _blocked(code: str, message: str, name: str, **where: Any) -> InputError:
    return InputError([Problem("blocked", code, message, file=name, **where)])


def _exists(p: Path, name: str) -> None:
    if not p.exists():
        raise _blocked("missing_file", "file not found", name)
    if p.is_dir():
        raise _blocked("not_a_file", "is a directory, expected a file", name)


def file_format(path: Path | str) -> str:
    """``"parquet"`` (by its magic bytes, whatever the name) or ``"text"``; a file named ``.parquet``
    that does not start with ``PAR1`` is refused. Raises for a missing file, a directory or an empty file."""
    p = Path(path)
    name = display_name(path)
    _exists(p, name)
    with p.open("rb") as fh:
        head = fh.read(4)
        if not head:
            raise _blocked("empty_file", "the file is empty", name)
        if head == PARQUET_MAGIC:
            return "parquet"
    if p.suffix.lower() in PARQUET_SUFFIXES:
        raise _blocked("not_parquet", f"not a Parquet file (it does not start with the Parquet magic bytes "
                       f"'PAR1', it starts with {head!r})", name)
    return "text"


def _utf8(raw: bytes, name: str, hint: str = "; save it as UTF-8 (CSV UTF-8 in Excel)") -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start: exc.start + 1].hex()
        raise _blocked("not_utf8", f"the file is not UTF-8 text (byte 0x{byte} at offset {exc.start}){hint}",
                       name, line=line) from None


def _delimiter(header: str, name: str, required: tuple[str, ...]) -> None:
    if "," in header:
        return
    for delim, label in _DELIMS.items():
        if delim in header:
            raise _blocked("wrong_delimiter", f"the file looks separated by {delim!r} ({label}); the workbench reads "
                           "comma-separated files — re-export it with ',' as the delimiter", name, line=1)
    if len(required) > 1:
        raise _blocked("wrong_delimiter", f"the header has a single column ({preview(header.strip())!r}); expected "
                       f"comma-separated columns {', '.join(required)}", name, line=1)


def check_csv_text(path: Path | str, *, required: tuple[str, ...] = ()) -> str:
    """Return the decoded text of a comma-separated file, or raise :class:`InputError`.

    A UTF-8 byte-order mark is accepted (Excel writes one). ``required`` column names help tell a
    wrong delimiter from a missing column.
    """
    p = Path(path)
    name = display_name(p)
    _exists(p, name)
    raw = p.read_bytes()
    if not raw.strip():
        raise _blocked("empty_file", "the file is empty", name)
    if raw[:4] == PARQUET_MAGIC:
        raise _blocked("not_text", "this is a Parquet file, not CSV text", name)
    text = _utf8(raw, name)
    lines = text.splitlines()
    _delimiter(lines[0] if lines else "", name, required)
    if len([ln for ln in lines if ln.strip().strip(",")]) < 2:
        raise _blocked("no_rows", "the file has a header but no data rows", name)
    return text


def check_csv_head(path: Path | str) -> None:
    """Cheap checks on the first 64 KiB only (for large files such as event logs)."""
    path = Path(path)
    name = display_name(path)
    _exists(path, name)
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head[:4] == PARQUET_MAGIC:
        raise _blocked("not_text", "this is a Parquet file, not CSV text", name)
    try:
        lines = head.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        if len(head) < 65536 or exc.start < len(head) - 3:      # not merely a character cut at 64 KiB
            _utf8(head[: exc.start + 1], name)
        lines = head[: exc.start].decode("utf-8-sig").splitlines()
    if not "".join(lines).strip():                              # empty, white space or a byte-order mark only
        raise _blocked("empty_file", "the file is empty", name)
    first = lines[0]
    _delimiter(first, name, ())
    if len(head.splitlines()) < 2:
        raise _blocked("no_rows", "the file has a header but no data rows", name)


@dataclass(frozen=True)
class TableRow:
    """One data row: 1-based ``row`` (the header not counted), the text ``line`` (None for Parquet), cells."""

    row: int
    line: int | None
    cells: list[str]


@dataclass(frozen=True)
class Table:
    """A small table read as text cells: lower-cased, stripped header and the data rows."""

    name: str
    kind: str                     # "csv" | "parquet"
    header: list[str]
    rows: list[TableRow]             # rows with as many fields as the header
    problems: list[Problem]          # the other rows, one "ragged_row" problem each


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return str(v)


def _read_parquet(p: Path, name: str) -> tuple[list[str], list[TableRow]]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        tbl = pq.read_table(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _blocked("unreadable", f"not a readable Parquet file: {str(exc).splitlines()[0]}", name) from None
    header = list(tbl.column_names)
    columns = []
    for col in tbl.columns:
        if pa.types.is_nested(col.type) or pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            raise _blocked("wrong_type", f"column holds {col.type} values; expected numbers or text", name,
                           column=header[len(columns)], line=None)
        columns.append([_cell(v) for v in col.to_pylist()])
    rows = [TableRow(i + 1, None, [c[i] for c in columns]) for i in range(tbl.num_rows)]
    if not rows:
        raise _blocked("no_rows", "the table has columns but no rows", name)
    return header, rows


def lift_csv_field_limit() -> None:
    """Lift the csv module's 131,072-character field limit (a longer field ended in a traceback); our
    readers bound fields themselves by ``Settings.limits.max_field_chars`` and name the cell."""
    if csv.field_size_limit() < 2 ** 31 - 1:
        csv.field_size_limit(2 ** 31 - 1)


def _read_csv(p: Path, name: str, required: tuple[str, ...]) -> tuple[list[str], list[TableRow]]:
    text = check_csv_text(p, required=required)
    lift_csv_field_limit()
    reader = csv.reader(io.StringIO(text))
    out: list[TableRow] = []
    header: list[str] | None = None
    row_no = 0
    try:
        for cells in reader:
            if header is None:
                header = cells
                continue
            if not any(c.strip() for c in cells):
                continue
            row_no += 1
            out.append(TableRow(row_no, reader.line_num, cells))
    except csv.Error as exc:
        raise _blocked("bad_csv", f"not valid CSV: {exc}", name, line=reader.line_num) from None
    return header or [], out


def read_table(path: Path | str, *, required: tuple[str, ...] = ()) -> Table:
    """Read a small CSV or Parquet table (format by content) as text cells, or raise :class:`InputError`.

    The header is stripped and lower-cased. A duplicated column or a cell over
    ``Settings.limits.max_field_chars`` characters raises; a row with the wrong number of fields is
    left out of ``rows`` and becomes a ``ragged_row`` problem in ``problems`` (the caller decides).
    """
    from ..config import get_settings
    p = Path(path)
    name = display_name(path)
    kind = "csv" if file_format(p) == "text" else "parquet"
    header_raw, rows = _read_parquet(p, name) if kind == "parquet" else _read_csv(p, name, required)
    header = [h.strip().lower() for h in header_raw]
    limit = get_settings().limits.max_field_chars
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, h in enumerate(header):
        if len(header_raw[i]) > limit:
            problems.append(Problem("blocked", "field_too_long", f"a column name has {len(h):,} characters; at most "
                                    f"{limit:,} are accepted", file=name, line=1, value=preview(h)))
        elif h in seen:
            problems.append(Problem("blocked", "duplicate_column", f"column {h!r} appears twice in the header",
                                    file=name, column=h, line=1))
        seen.add(h)
    if problems:
        raise InputError(problems)
    ragged: list[Problem] = []
    for r in rows:
        if len(r.cells) != len(header):
            ragged.append(Problem("blocked", "ragged_row", f"expected {len(header)} comma-separated fields, "
                                  f"found {len(r.cells)}", file=name, row=r.row, line=r.line))
            continue
        for col, cell in zip(header, r.cells):
            if len(cell) > limit:
                problems.append(Problem("blocked", "field_too_long", f"{col}: {len(cell):,} characters; at most "
                                        f"{limit:,} are accepted in one field (Settings.limits.max_field_chars)",
                                        file=name, column=col, row=r.row, line=r.line, value=preview(cell)))
    if problems:
        raise InputError(problems)
    return Table(name, kind, header, [r for r in rows if len(r.cells) == len(header)], ragged)
