"""Report run safety: one run at a time per reports directory, complete directories only, clean-up after a crash.

* :class:`_RunLock` — an exclusive file lock on the reports directory, naming the holder when a
  second run waits too long;
* :func:`replace_dir` — a complete new report directory replaces the old one atomically
  (``renameat2(RENAME_EXCHANGE)`` on Linux);
* :func:`_recover` — what a crashed run left: temporary directories, a report caught between two
  renames, report workers and Chromium processes, Chromium profiles.

Used by :func:`workbench.reports.runner.run_reports` (split out of it; the names are re-exported there).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ..errors import ConflictError
from ..processes import reap_orphans, remove_stale_profiles

__all__ = ["LOCK_NAME", "replace_dir"]

LOCK_NAME = ".report.lock"


# --- the lock ---------------------------------------------------------------------------------------
class _RunLock:
    """An exclusive file lock on the reports directory, naming the holder's process when it waits too long."""

    def __init__(self, out: Path, timeout: float) -> None:
        from filelock import FileLock
        self.path = out / LOCK_NAME
        self.info = out / (LOCK_NAME + ".pid")
        self.timeout = timeout
        self.lock = FileLock(str(self.path))

    def __enter__(self) -> "_RunLock":
        from filelock import Timeout
        try:
            self.lock.acquire(timeout=self.timeout)
        except Timeout:
            holder = self.info.read_text().strip() if self.info.exists() else "unknown"
            raise ConflictError(f"{self.path.parent}: another `workbench report` run holds the lock ({holder}); "
                                f"waited {self.timeout:g} s") from None
        self.info.write_text(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.info.unlink(missing_ok=True)
        finally:
            self.lock.release()


# --- atomic directory replacement -------------------------------------------------------------------
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE)
    return rc == 0


def replace_dir(new: Path, final: Path) -> None:
    """Put the complete directory ``new`` at ``final``; the previous ``final`` is removed afterwards.

    Readers see either the old or the new directory, never a missing or half-written one (an
    atomic exchange where the OS has one; elsewhere two renames a few microseconds apart).
    """
    if not final.exists():
        os.rename(new, final)
        return
    if _exchange(new, final):
        shutil.rmtree(new, ignore_errors=True)
        return
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    os.rename(final, old)
    os.rename(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _recover(out: Path) -> list[str]:
    """Clean up after a crashed run (called under the run lock, so nothing here belongs to a live run):
    remove its temporary directories, put back a report caught between two renames, stop the report
    workers and Chromium processes it left running and remove its Chromium profiles."""
    notes = []
    for p in out.glob(".old-*"):
        name = p.name[len(".old-"):].rsplit("-", 1)[0]
        target = out / name
        if p.is_dir() and not target.exists():
            os.rename(p, target)
            notes.append(f"restored the report of {name} left by an interrupted run")
        else:
            shutil.rmtree(p, ignore_errors=True)
    for p in list(out.glob(".tmp-*")) + list(out.glob(".run-*")):
        shutil.rmtree(p, ignore_errors=True)
    killed = reap_orphans()
    if killed:
        notes.append(f"stopped {len(killed)} process(es) left running by a killed run (report workers, Chromium)")
    remove_stale_profiles()
    return notes
