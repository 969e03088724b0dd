"""Atomic file writes: a reader (or a crash) never sees half a file.

Every file the workbench writes — reports, memos, briefs, allocation plans, pickled report inputs,
the dashboard's credentials — goes through :func:`atomic_file`: a temporary file next to the
target, flushed to disk, given its final permissions, then renamed over the target. Published
files get the usual ``0o644``-style mode under the process umask (others read them: a web server,
the dashboard); secrets pass ``mode=0o600``.

>>> import tempfile, pathlib, stat
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> p = write_text_atomic(d / "a" / "memo.md", "hello")
>>> p.read_text(), sorted(x.name for x in p.parent.iterdir())
('hello', ['memo.md'])
>>> oct(stat.S_IMODE(write_text_atomic(d / "secret", "x", mode=0o600).stat().st_mode))
'0o600'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_file", "write_text_atomic", "file_mode", "publish_tree"]


def file_mode(directory: bool = False) -> int:
    """``0o666`` (files) or ``0o777`` (directories) under the current umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


@contextlib.contextmanager
def atomic_file(path: str | Path, binary: bool = False, *, mode: int | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on a clean exit it replaces ``path``, on an error it vanishes.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "plan.json"
    >>> with atomic_file(target) as fh:
    ...     _ = fh.write("{}")
    >>> target.read_text()
    '{}'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`); returns the path."""
    with atomic_file(path, mode=mode) as fh:
        fh.write(text)
    return Path(path)


def publish_tree(root: Path) -> None:
    """Give a finished directory (a report) and its files ordinary read permissions."""
    os.chmod(root, file_mode(directory=True))
    fm = file_mode()
    for p in root.rglob("*"):
        os.chmod(p, file_mode(directory=True) if p.is_dir() else fm)
