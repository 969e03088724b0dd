"""The dashboard's last evaluated snapshot, kept beside the database so a restarted server shows it at once.

After every refresh that re-evaluated the portfolio, the service writes its
:class:`~workbench.dashboard.snapshot.Snapshot` (the pipeline's outcomes, the registry view, the
autopilot plan, the bandits' allocations and the portfolio's rows — the very objects the pages, the
JSON API and the CLI formatters read) to ``<database>.dashboard-snapshot`` next to the database file,
written to a temporary file and renamed over the old one, so a reader never sees half a file.

The file is data, never code (:mod:`workbench.dashboard.codec`: JSON plus Arrow tables; a class is
rebuilt only when the workbench defines it), so a file written by someone else can at worst show wrong
numbers, not run anything. Its layout::

    b"WBSNAP2\\n", u64 header length, header (JSON), then one record per part

The header says what the snapshot was computed from, and where each part is:

* ``code`` — a hash of the workbench's own source files: a snapshot made by other code is never
  used (its classes may have other fields);
* ``inputs`` — the settings and the events calendar (what the analysis reads besides the data);
* ``key`` — the service's source key (events, audit log, switches, allocation log), the same key the
  scheduled refresh compares to decide that nothing changed;
* ``front`` — what the first page shows: the portfolio's rows and the snapshot's dates and key (a few
  hundred kB for 500 experiments; reading it needs neither the analysis nor the registry code);
* ``facts`` — the registry view, the autopilot plan and the bandits' allocations (read right after);
* ``outcomes`` — where each experiment's outcome is (most of the size: its aggregated cube).

:func:`load_snapshot` checks the header, reads the front part (the server publishes it at once, marked
``loading``), then the facts, and hands back a snapshot whose outcomes are read from the file one
experiment at a time, when a page (or the warm-up) first asks for one (:class:`KeptOutcomes`; the file
is memory-mapped, so replacing it meanwhile is harmless).

On start (:meth:`DashboardService.refresh` with no snapshot yet) the stored snapshot is published
as current when all three header facts match. When only the data or the registry changed, it is
published marked ``previous`` — every page says it shows the analysis of the previous data while the
refresh runs — and the refresh re-analyses only the experiments whose data or brief changed
(:func:`workbench.pipeline.evaluate` with ``reuse``). The file is a cache of what the server itself
computed; delete it at any time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import mmap
import os
import struct
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from . import codec

__all__ = ["FORMAT", "MAGIC", "StoreHeader", "KeptOutcomes", "store_path", "code_fingerprint", "inputs_fingerprint",
           "save_snapshot", "load_snapshot", "read_header"]

log = logging.getLogger("workbench.dashboard")

FORMAT = 2
MAGIC = b"WBSNAP2\n"
_FACTS = ("registry", "autopilot", "autopilot_note", "allocations", "bandits")   # read after the front part


@dataclass(frozen=True)
class StoreHeader:
    """What a stored snapshot was computed from (compared before the snapshot itself is read), and where its parts are."""

    format: int
    code: str
    inputs: str
    key: Any
    outcomes: int = 0
    front: tuple[int, int] = (0, 0)                            # offset and length of the front record
    facts: tuple[int, int] = (0, 0)                            # offset and length of the registry, plan, bandits
    index: Mapping[str, tuple[int, int]] | None = None       # experiment id → offset and length of its outcome


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
    when it cannot be written)."""
    target = store_path(db)
    try:
        import pandas as pd
        blank = {"registry": None, "autopilot": None, "autopilot_note": "", "allocations": pd.DataFrame(), "bandits": {}}
        front = codec.encode(replace(snapshot, outcomes={}, frame=frame, previous=False, loading=False, **blank))
        facts = codec.encode({name: getattr(snapshot, name) for name in _FACTS})
        records = [front, facts]
        index: dict[str, list[int]] = {}
        offset = len(front) + len(facts)
        for eid, outcome in snapshot.outcomes.items():
            record = codec.encode(outcome)
            index[eid] = [offset, len(record)]
            records.append(record)
            offset += len(record)
        key = snapshot.key
        header = json.dumps({"format": FORMAT, "code": code_fingerprint(), "inputs": snapshot.inputs,
                             "key": None if key is None else asdict(key), "outcomes": len(index),
                             "front": [0, len(front)], "facts": [len(front), len(facts)], "index": index}).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + struct.pack("<Q", len(header)) + header)
                for record in records:
                    out.write(record)
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


def read_header(data: bytes | mmap.mmap) -> tuple[StoreHeader, int]:
    """The header of a kept snapshot and where its records start (:class:`codec.CodecError` if it is none)."""
    if data[:len(MAGIC)] != MAGIC:
        raise codec.CodecError("not a dashboard snapshot of this format")
    start = len(MAGIC) + 8
    (n,) = struct.unpack_from("<Q", data, len(MAGIC))
    raw = json.loads(bytes(data[start:start + n]))
    from .snapshot import SourceKey
    header = StoreHeader(int(raw["format"]), str(raw["code"]), str(raw["inputs"]),
                         None if raw["key"] is None else SourceKey(**raw["key"]), int(raw["outcomes"]),
                         tuple(raw["front"]), tuple(raw["facts"]), {str(k): (int(o), int(m)) for k, (o, m) in raw["index"].items()})
    return header, start + n


class KeptOutcomes(Mapping):
    """The outcomes of a kept snapshot, each read from the file the first time it is asked for."""

    def __init__(self, data: mmap.mmap, base: int, index: Mapping[str, tuple[int, int]]) -> None:
        self._data = data
        self._base = base
        self._index = dict(index)
        self._read: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getitem__(self, eid: str) -> Any:
        got = self._read.get(eid)
        if got is not None:
            return got
        offset, length = self._index[eid]               # KeyError: not in this snapshot
        with self._lock:
            got = self._read.get(eid)
            if got is None:
                start = self._base + offset
                got = self._read[eid] = codec.decode(memoryview(self._data)[start:start + length])
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, eid: object) -> bool:
        return eid in self._index

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    @property
    def read(self) -> int:
        """How many outcomes were read so far."""
        return len(self._read)

    def read_all(self) -> None:
        """Read every outcome now (e.g. in the background after the first page is painted)."""
        for eid in self._index:
            self[eid]


def load_snapshot(db: str | Path, inputs: str, *, front: Callable[[Any], None] | None = None) -> Any | None:
    """The stored snapshot when it was made by this code with these ``inputs`` (else None), its outcomes
    read on demand (:class:`KeptOutcomes`).

    ``front(snapshot)``, when given, is called first with the part the portfolio page shows: the snapshot
    with its portfolio frame and dates, marked ``loading``, without the registry, plan, bandits and outcomes
    (reading those imports most of the workbench; a server shows its first page before).
    """
    path = store_path(db)
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        header, base = read_header(data)
        if header.format != FORMAT or header.code != code_fingerprint():
            log.info("the stored dashboard snapshot was made by other code; analysing afresh")
            return None
        if header.inputs != inputs:
            log.info("the settings or the events calendar changed since the stored snapshot; analysing afresh")
            return None
        parts = [header.front, header.facts, *header.index.values()]
        if base + max(o + n for o, n in parts) != len(data):
            raise codec.CodecError("the file is longer or shorter than its header says")

        def part(where: tuple[int, int]) -> Any:
            return codec.decode(memoryview(data)[base + where[0]:base + where[0] + where[1]])
        snapshot = part(header.front)
        from .snapshot import Snapshot
        if type(snapshot) is not Snapshot or snapshot.key != header.key:
            raise codec.CodecError("the front part is not the snapshot its header describes")
        if front is not None:
            front(replace(snapshot, loading=True, autopilot_note="the server is still reading the plan it kept"))
        facts = part(header.facts)
        if type(facts) is not dict or set(facts) != set(_FACTS):
            raise codec.CodecError("the registry part is not what its header describes")
        return replace(snapshot, outcomes=KeptOutcomes(data, base, header.index), **facts)
    except Exception:  # noqa: BLE001 - unreadable, truncated, or another format: as if there were none
        log.warning("ignoring an unreadable dashboard snapshot %s", path, exc_info=True)
        return None
