"""Child processes die with the process that started them (report workers, Chromium printing PDFs,
the dashboard server a test or benchmark starts).

A run killed with ``kill -9`` gets no chance to stop what it started. Two mechanisms cover that:

* :func:`die_with_parent` is the ``preexec_fn`` of every child we spawn: Linux's
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill the child when the thread that
  spawned it ends (the run's thread, or the run itself).
* Every child gets :data:`OWNER_ENV` = the run's pid in its environment, which its own children
  (Chromium's zygotes and renderers) inherit. :func:`reap_orphans`, called by the next run, kills
  every process whose owner is a dead process — whatever escaped the first mechanism.
"""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Callable

__all__ = ["OWNER_ENV", "PROFILE_PREFIX", "remove_profile", "die_with_parent", "child_env", "reap_orphans", "pid_alive",
           "remove_stale_profiles", "remove_stale_dirs"]

OWNER_ENV = "WORKBENCH_OWNER_PID"
PROFILE_PREFIX = "workbench-chromium-"   # + owner pid + "-": Chromium's throw-away profile for one PDF
_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):   # not Linux: the reaper alone cleans up
        return None


_PRCTL = _prctl()


def die_with_parent() -> None:
    """``preexec_fn``: SIGKILL this (forked, not yet exec'd) child when its parent thread dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child of this process, marked with this process as its owner."""
    out = dict(os.environ if env is None else env)
    out[OWNER_ENV] = str(os.getpid())
    return out


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (zombies count as dead)."""
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def reap_orphans() -> list[int]:
    """Kill the processes marked with an owner that is no longer alive; returns their pids."""
    import psutil
    killed: list[psutil.Process] = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        try:
            owner = proc.environ().get(OWNER_ENV)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
        if not owner or not owner.isdigit() or int(owner) == me or proc.pid == me:
            continue
        if not pid_alive(int(owner)):
            try:
                proc.kill()
                killed.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
    psutil.wait_procs(killed, timeout=5)
    return [p.pid for p in killed]


def remove_stale_dirs(prefix: str, root: str | None = None) -> list[str]:
    """Remove the folders ``<prefix><pid>-*`` in ``root`` (the temp folder) whose process is gone.

    Folders named by their owner's pid (Chromium profiles, DuckDB spill folders) outlive a ``kill -9``;
    the next process removes them. This process's own folders are never touched.
    """
    import shutil
    import tempfile
    from pathlib import Path
    removed = []
    for p in Path(root or tempfile.gettempdir()).glob(f"{prefix}*"):
        pid = p.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(str(p))
    return removed


def remove_profile(path: str, *, wait: float = 3.0) -> None:
    """Remove a Chromium profile folder once its browser has exited. A helper process (crash handler, utility)
    can still write into it for a moment after the browser itself has gone, leaving a file behind a first
    ``rmtree``: try again until it is gone or ``wait`` seconds have passed (the next run removes what is left)."""
    import shutil
    import time
    deadline = time.monotonic() + wait
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def remove_stale_profiles(root: str | None = None) -> list[str]:
    """Remove Chromium profiles (``workbench-chromium-<pid>-*`` in the temp folder) of dead processes."""
    return remove_stale_dirs(PROFILE_PREFIX, root)
