"""File helpers for published reports: atomic writes with ordinary permissions.

Reports are read by other people and processes (a web server, the dashboard), so files get the
usual ``0o644``-style mode under the process umask instead of the ``0o600`` of a temporary file.

>>> import tempfile, pathlib, stat
>>> p = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "hi")
>>> p.read_text(), oct(stat.S_IMODE(p.stat().st_mode) & 0o044) != "0o0"
('hi', True)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic", "publish_tree", "file_mode"]


def file_mode(directory: bool = False) -> int:
    """``0o666`` (files) or ``0o777`` (directories) under the current umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` next to ``path`` in a temporary file, fsync it, set the mode, rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def publish_tree(root: Path) -> None:
    """Give a finished report directory and its files ordinary read permissions."""
    os.chmod(root, file_mode(directory=True))
    fm = file_mode()
    for p in root.rglob("*"):
        os.chmod(p, file_mode(directory=True) if p.is_dir() else fm)
