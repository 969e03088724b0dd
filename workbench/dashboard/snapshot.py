"""What the dashboard's service publishes: the source key, the registry view, the snapshot, and the extras' LRU.

A :class:`Snapshot` is immutable; the service (:mod:`workbench.dashboard.service`) replaces it as a
whole, and the kept copy beside the database (:mod:`workbench.dashboard.store`) is one of these too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import pandas as pd

__all__ = ["SourceKey", "RegistryView", "Snapshot", "LRU"]


@dataclass(frozen=True)
class SourceKey:
    """What the refresh checks before doing any work; equal keys mean nothing changed."""

    events: int = 0
    last_event: str = ""
    audit_seq: int = 0
    switches: str = ""
    allocation_rows: int = 0


@dataclass(frozen=True)
class RegistryView:
    """The registry as the dashboard shows it (read in one session)."""

    records: Mapping[str, Any] = field(default_factory=dict)
    weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    rollouts: Mapping[str, Any] = field(default_factory=dict)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)
    audit: pd.DataFrame = field(default_factory=pd.DataFrame)
    promotion_period: bool = False


@dataclass(frozen=True)
class Snapshot:
    """Everything the pages show, as of one refresh. ``version`` grows with every new snapshot."""

    version: int = 0
    outcomes: Mapping[str, Any] = field(default_factory=dict)
    registry: RegistryView | None = None
    autopilot: Any = None
    autopilot_note: str = ""
    allocations: pd.DataFrame = field(default_factory=pd.DataFrame)
    bandits: Mapping[str, Any] = field(default_factory=dict)   # AllocationHistory per bandit, as of its data
    as_of: dt.datetime | None = None          # the data's time: the latest event analysed
    refreshed_at: dt.datetime | None = None   # wall-clock time of the refresh (UTC)
    seconds: float = 0.0
    error: str | None = None
    key: SourceKey | None = None
    inputs: str = ""                          # settings and events calendar analysed with (store.inputs_fingerprint)
    previous: bool = False                    # the analysis of the previous data, shown while the refresh runs
    frame: Any = None                         # the portfolio frame, when kept with the snapshot (store.py)
    loading: bool = False                     # outcomes still loading (a kept snapshot now reads them on demand)
    pending: bool = False                     # first analysis running: registry facts, and the outcomes so far

    @property
    def ready(self) -> bool:
        return self.refreshed_at is not None

    def outcome(self, experiment_id: str) -> Any:
        return self.outcomes.get(experiment_id)


class LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                self.hits += 1
                return self._d[key]
        value = make()
        with self._lock:
            self.misses += 1
            self._d[key] = value
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: tuple) -> bool:
        return key in self._d
