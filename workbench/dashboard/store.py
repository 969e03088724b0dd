"""The dashboard's last evaluated snapshot, kept beside the database so a restarted server shows it at once.

After every refresh that re-evaluated the portfolio, the service writes its
:class:`~workbench.dashboard.service.Snapshot` (the pipeline's outcomes, the registry view, the
autopilot plan and the bandits' allocations — the very objects the pages, the JSON API and the CLI
formatters read) to ``<database>.dashboard-snapshot`` next to the database file: pickled, written to
a temporary file and renamed over the old one, so a reader never sees half a file.

A header in front of the snapshot says what it was computed from:

* ``code`` — a hash of the workbench's own source files: a snapshot made by other code is never
  used (its objects may not even load);
* ``inputs`` — the settings and the events calendar (what the analysis reads besides the data);
* ``key`` — the service's source key (events, audit log, switches, allocation log), the same key the
  scheduled refresh compares to decide that nothing changed.

On start (:meth:`DashboardService.refresh` with no snapshot yet) the stored snapshot is published
as current when all three match. When only the data or the registry changed, it is published marked
``previous`` — every page says it shows the analysis of the previous data while the refresh runs —
and the refresh re-analyses only the experiments whose data or brief changed
(:func:`workbench.pipeline.evaluate` with ``reuse``). The file is a cache of what the server itself
computed; delete it at any time.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

__all__ = ["FORMAT", "StoreHeader", "store_path", "code_fingerprint", "inputs_fingerprint", "save_snapshot",
           "load_snapshot"]

log = logging.getLogger("workbench.dashboard")

FORMAT = 1


@dataclass(frozen=True)
class StoreHeader:
    """What a stored snapshot was computed from (compared before the snapshot itself is read)."""

    format: int
    code: str
    inputs: str
    key: Any
    outcomes: int = 0


def store_path(db: str | Path) -> Path:
    """``<database>.dashboard-snapshot`` beside the database file."""
    db = Path(db)
    return db.with_name(db.name + ".dashboard-snapshot")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of every Python source file of the installed ``workbench`` package (names and contents)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:20]


def inputs_fingerprint(db: str | Path) -> str:
    """A hash of what the analysis reads besides the data: the settings and the events calendar."""
    from ..config import get_settings
    from ..lifecycle.inputs import calendar_options
    return hashlib.sha256(repr((get_settings(), calendar_options(db))).encode()).hexdigest()[:20]


def save_snapshot(db: str | Path, snapshot: Any, frame: Any) -> Path | None:
    """Write ``snapshot`` and its portfolio ``frame`` atomically beside ``db``; returns the path (None, logged,
    when it cannot be written).

    The file holds the header, then the snapshot without its outcomes but with the portfolio frame
    (what the first page shows; a few hundred kB for 500 experiments), then each outcome on its own
    (most of the size: every experiment's aggregated cube), so a reader can show the portfolio first.
    """
    target = store_path(db)
    header = StoreHeader(FORMAT, code_fingerprint(), snapshot.inputs, snapshot.key, len(snapshot.outcomes))
    front = replace(snapshot, outcomes={}, frame=frame, previous=False, loading=False)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                dump = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump
                dump(header)
                dump(front)
                for item in snapshot.outcomes.items():
                    dump(item)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception:  # noqa: BLE001 - a cache: the dashboard works without it (e.g. a read-only folder)
        log.warning("could not keep the dashboard snapshot beside the database (%s)", target, exc_info=True)
        return None
    return target


def load_snapshot(db: str | Path, inputs: str, *, front: Callable[[Any], None] | None = None) -> Any | None:
    """The stored snapshot when it was made by this code with these ``inputs`` (else None).

    ``front(snapshot)`` is called first with the snapshot whose portfolio frame, registry and plan are
    read but whose outcomes are not yet (they follow, one experiment at a time).
    """
    path = store_path(db)
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            unpickler = pickle.Unpickler(f)          # one unpickler: the pickler's memo spans the whole file
            header = unpickler.load()
            if not isinstance(header, StoreHeader) or header.format != FORMAT or header.code != code_fingerprint():
                log.info("the stored dashboard snapshot was made by other code; analysing afresh")
                return None
            if header.inputs != inputs:
                log.info("the settings or the events calendar changed since the stored snapshot; analysing afresh")
                return None
            snapshot = unpickler.load()
            if front is not None:
                front(snapshot)
            outcomes = dict(unpickler.load() for _ in range(header.outcomes))
            return replace(snapshot, outcomes=outcomes)
    except Exception:  # noqa: BLE001 - unreadable or truncated by hand: as if there were none
        log.warning("ignoring an unreadable dashboard snapshot %s", path, exc_info=True)
        return None
