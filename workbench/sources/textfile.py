"""Checks every CSV input goes through before it is parsed: it exists, is not empty, is UTF-8, and
is comma-separated. Each failure is one clear :class:`~workbench.errors.Problem` naming the file.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "semi.csv").write_text("variant;users;conversions\\ncontrol;10;1\\n")
>>> try:
...     check_csv_text(d / "semi.csv")
... except InputError as e:
...     print(e.problems[0].code, e.problems[0].line, e.problems[0].message)
wrong_delimiter 1 the file looks separated by ';' (semicolon); the workbench reads comma-separated files — re-export it with ',' as the delimiter
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import InputError, Problem

__all__ = ["check_csv_text", "check_csv_head", "display_name"]

_DELIMS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def display_name(path: Path | str) -> str:
    """How a file is named in messages: as the user gave it (relative stays relative)."""
    return str(path)


def check_csv_text(path: Path | str, *, required: tuple[str, ...] = ()) -> str:
    """Return the decoded text of a comma-separated file, or raise :class:`InputError`.

    A UTF-8 byte-order mark is accepted (Excel writes one). ``required`` column names help tell a
    wrong delimiter from a missing column.
    """
    p = Path(path)
    name = display_name(p)
    if not p.exists():
        raise InputError([Problem("blocked", "missing_file", "file not found", file=name)])
    if p.is_dir():
        raise InputError([Problem("blocked", "not_a_file", "is a directory, expected a CSV file", file=name)])
    raw = p.read_bytes()
    if not raw.strip():
        raise InputError([Problem("blocked", "empty_file", "the file is empty", file=name)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start: exc.start + 1].hex()
        raise InputError([Problem(
            "blocked", "not_utf8",
            f"the file is not UTF-8 text (byte 0x{byte} at offset {exc.start}); save it as UTF-8 (CSV UTF-8 in Excel)",
            file=name, line=line)]) from None
    header = text.splitlines()[0] if text.splitlines() else ""
    if "," not in header:
        for delim, label in _DELIMS.items():
            if delim in header:
                raise InputError([Problem(
                    "blocked", "wrong_delimiter",
                    f"the file looks separated by {delim!r} ({label}); the workbench reads comma-separated files"
                    " — re-export it with ',' as the delimiter", file=name, line=1)])
        if len(required) > 1:
            raise InputError([Problem(
                "blocked", "wrong_delimiter",
                f"the header has a single column ({header.strip()[:60]!r}); expected comma-separated columns "
                f"{', '.join(required)}", file=name, line=1)])
    rows = list(csv.reader(io.StringIO(text)))
    if len([r for r in rows if any(c.strip() for c in r)]) < 2:
        raise InputError([Problem("blocked", "no_rows", "the file has a header but no data rows", file=name)])
    return text


def check_csv_head(path: Path | str) -> None:
    """Cheap checks on the first 64 KiB only (for large files such as event logs)."""
    path = Path(path)
    name = display_name(path)
    if not path.exists():
        raise InputError([Problem("blocked", "missing_file", "file not found", file=name)])
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise InputError([Problem("blocked", "empty_file", "the file is empty", file=name)])
    try:
        first = head.decode("utf-8-sig").splitlines()[0]
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise InputError([Problem("blocked", "not_utf8", f"the file is not UTF-8 text (byte 0x{head[exc.start]:02x} at"
                                  f" offset {exc.start}); save it as UTF-8", file=name, line=line)]) from None
    if "," not in first and any(d in first for d in ";\t|"):
        delim = next(d for d in ";\t|" if d in first)
        raise InputError([Problem("blocked", "wrong_delimiter", f"the file looks separated by {delim!r}; the workbench"
                                  " reads comma-separated files — re-export it with ',' as the delimiter",
                                  file=name, line=1)])
    if len(head.splitlines()) < 2:
        raise InputError([Problem("blocked", "no_rows", "the file has a header but no data rows", file=name)])
