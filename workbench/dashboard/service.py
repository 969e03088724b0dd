"""The dashboard's data service: one refresh per server, immutable snapshots, caches per experiment.

A server has one :class:`DashboardService` per database (:func:`get_service`). Its
:meth:`~DashboardService.refresh` runs on a schedule set once per server (:func:`start_refresh`,
called from the ``panel serve --setup`` script), never per session: it first reads a cheap
*source key* (event count and latest timestamp, the audit log's last sequence number, the switches
and the allocation log's size) and does the expensive part — :func:`workbench.pipeline.evaluate`
over every experiment, the registry view, the autopilot plan and the bandits' recent allocation
decisions — only when the key changed. The result is a frozen :class:`Snapshot` that every open
page reads; pages poll the snapshot's ``version`` and redraw when it moves.

Per-experiment extras (event-time trends, segment breakdowns, posterior curves, chance to beat
control over time) are cached under ``(kind, experiment id, data_version, ...)`` — the data layer's
version string, which changes whenever that experiment's data does — never under a hash of a
DataFrame. DuckDB allows one writer per file and, within one process, no read-only connection
beside a read-write one, so every database access of the service goes through one lock and runs
off the server's event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pandas as pd

from ..config import Paths, get_settings
from ..db import connect, database_path
from ..errors import WorkbenchError
from .snapshot import LRU, RegistryView, Snapshot, SourceKey

__all__ = ["RegistryView", "Snapshot", "DashboardService", "get_service", "start_refresh", "refresh_task",
           "SourceKey", "prepare_simulator"]

log = logging.getLogger("workbench.dashboard")

def _utcnow() -> dt.datetime:
    # imported when first called: the registry module brings in the query stack, which a server starting from
    # its kept snapshot does not need before its first page is painted
    from ..lifecycle.registry import utcnow
    return utcnow()


FACTS_WAIT = 5.0    # a starting server: seconds the rest of its kept snapshot waits for a first page to load
EXTRAS_PER_EXPERIMENT = 8      # cache entries one experiment can hold: 2 trends, posterior, chance, segments


class DashboardService:
    """Refreshes and holds the snapshot; computes and caches per-experiment extras (see module doc)."""

    def __init__(self, db: str | Path | None = None, *, reports: str | Path | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.db = database_path(db)
        self.reports = Path(reports) if reports is not None else Paths.default().reports
        self.clock = clock or _utcnow
        self.lock = threading.RLock()              # every DuckDB access of this process
        self._refresh_lock = threading.Lock()      # one refresh at a time
        self._snapshot = Snapshot()
        self._cache = LRU(512)
        self._portfolio: tuple[Snapshot, pd.DataFrame] | None = None
        self.checked_at: dt.datetime | None = None
        self.refresh_count = 0                     # refreshes that re-evaluated the portfolio
        self._registry = None
        self._background: threading.Thread | None = None
        self.reanalyse_after_action = True         # re-run the analysis after an operator action
        self.warming = False                       # True while per-experiment extras are computed ahead
        self.keep_snapshot = True                  # keep the evaluated snapshot beside the database (store.py)
        self.progress: tuple[int, int] | None = None   # (experiments analysed, of) while a refresh runs
        self.publish_every = 2.0                   # seconds between the partial snapshots of a first analysis
        self.warm_delay_after_start = 5.0          # seconds between showing a kept snapshot and warming its extras
        self.facts_wait = 0.0                      # kept snapshot: seconds the registry and plan wait for a first page
                                                   # (a server: start_refresh sets FACTS_WAIT)
        self.facts_grace = 0.3                     # ... and after it loaded in the browser, for it to be drawn
        self._first_page = threading.Event()

    # --- snapshot -------------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def publish(self, snapshot: Snapshot) -> None:
        """Make ``snapshot`` the current one (e.g. an analysis computed elsewhere for the same data)."""
        with self._refresh_lock:
            self._snapshot = snapshot

    def _reg(self) -> Any:
        from ..lifecycle.registry import Registry
        if self._registry is None:
            self._registry = Registry(self.db)
        return self._registry

    def source_key(self) -> SourceKey:
        """Cheap facts that change whenever the events, the registry or the allocation log change."""
        if not self.db.exists():
            return SourceKey()
        with self.lock, self._raw_connection() as raw:
            tables = {r[0] for r in raw.execute("SELECT table_name FROM information_schema.tables").fetchall()}

            def one(sql: str) -> Any:
                return raw.execute(sql).fetchone()

            events, last = one("SELECT count(*), CAST(max(ts_server) AS VARCHAR) FROM events") \
                if "events" in tables else (0, "")
            seq = one("SELECT coalesce(max(seq), 0) FROM audit_log")[0] if "audit_log" in tables else 0
            switches = ""
            if "workbench_switches" in tables:
                switches = ";".join(f"{n}={v}" for n, v in raw.execute(
                    "SELECT name, value FROM workbench_switches ORDER BY name").fetchall())
            alloc = one("SELECT count(*) FROM allocation_log")[0] if "allocation_log" in tables else 0
        return SourceKey(int(events or 0), str(last or ""), int(seq or 0), switches, int(alloc or 0))

    @contextlib.contextmanager
    def _raw_connection(self) -> Iterator[Any]:
        """A plain read-only DuckDB connection for the source key's counts (no Ibis: a server starting from its
        kept snapshot checks the key before its first page, and the query layer is not needed for that); the
        Ibis connection when DuckDB refuses a second configuration of the file in this process."""
        import duckdb

        from ..db import open_while_locked
        try:
            raw = open_while_locked(lambda: duckdb.connect(str(self.db), read_only=True), self.db)
        except duckdb.ConnectionException:
            with connect(self.db, read_only=True) as con:
                yield con.con
            return
        try:
            yield raw
        finally:
            raw.close()

    def refresh(self, *, force: bool = False, warm: bool = True) -> Snapshot:
        """Re-evaluate the portfolio when the sources changed (or ``force``); keep the old data on error.

        The first refresh of a server starts from the snapshot kept beside the database
        (:mod:`workbench.dashboard.store`): current when nothing changed since it was made, else shown
        as the previous data while only the changed experiments are re-analysed. After a new snapshot
        is published it is kept for the next start, and the per-experiment extras are computed ahead of
        the first visit (``warm``), outside the refresh lock so operator actions are not held up.
        """
        from .store import inputs_fingerprint, save_snapshot
        built = restored = False
        with self._refresh_lock:
            prev = self._snapshot
            started = time.perf_counter()
            try:
                key = self.source_key()
                inputs = inputs_fingerprint(self.db)
                if not prev.ready and self.keep_snapshot:
                    stored = self._restore(prev, key, inputs)
                    if stored is not None:
                        prev = stored
                        restored = True
                self.checked_at = self.clock()
                unchanged = prev.ready and prev.error is None and key == prev.key and inputs == prev.inputs
                if unchanged and not force:
                    if not restored:
                        return prev
                    snap = prev                     # made from exactly these sources: current
                else:
                    snap = self._build(prev, key, inputs, started)
                    self.refresh_count += 1
                    built = True
            except Exception as exc:  # noqa: BLE001 - a background refresh must never die; show why
                log.exception("dashboard refresh failed")
                message = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
                snap = replace(prev, version=prev.version + 1, error=message, refreshed_at=self.clock(),
                               seconds=time.perf_counter() - started)
            finally:
                self.progress = None
            self._snapshot = snap
            # every experiment's extras fit: an LRU smaller than the portfolio evicted most of them
            # during the warm-up, and switching to an evicted experiment recomputed them (500 experiments)
            self._cache.size = max(self._cache.size, EXTRAS_PER_EXPERIMENT * len(snap.outcomes))
        if built and self.keep_snapshot:
            save_snapshot(self.db, snap, self.portfolio(snap))
        if warm and snap.error is None:
            self.warming = True
            try:
                self.portfolio(snap)           # the rows every session's first paint shows
                if restored:                   # just started: the first pages render before the warm-up competes
                    time.sleep(self.warm_delay_after_start)
                self.warm(snap)
            except Exception:  # noqa: BLE001 - warming is an optimisation; pages compute on demand
                log.exception("dashboard cache warm-up failed")
            finally:
                self.warming = False
        return snap

    def _restore(self, prev: Snapshot, key: SourceKey, inputs: str) -> Snapshot | None:
        """The snapshot kept beside the database (:mod:`workbench.dashboard.store`): its portfolio is published
        first (``loading``); the registry, plan and bandits are read once the first session has shown its page (or
        after ``facts_wait`` seconds); each experiment's outcome is read when it is first asked for. ``previous``
        when the sources changed since it was made."""
        from .store import load_snapshot

        def front(snap: Snapshot) -> None:
            self._snapshot = replace(snap, version=prev.version + 1, previous=snap.key != key)
            if self._first_page.wait(self.facts_wait):
                time.sleep(self.facts_grace)       # the page is drawn before the rest competes for the CPU

        stored = load_snapshot(self.db, inputs, front=front)
        if stored is None:
            self._snapshot = prev
            return None
        snap = replace(stored, version=prev.version + 2, previous=stored.key != key, loading=False)
        self._snapshot = snap
        log.info("showing the dashboard snapshot kept beside the database (analysed %s%s)", snap.refreshed_at,
                 "; the data changed since, re-analysing" if snap.previous else "")
        return snap

    def page_shown(self) -> None:
        """A session's page has loaded in its browser with a ready snapshot (:func:`~workbench.dashboard.app.create_app`)."""
        self._first_page.set()

    def _progress(self, done: int, total: int, outcome: Any = None) -> None:
        self.progress = (done, total)

    def _build(self, prev: Snapshot, key: SourceKey, inputs: str, started: float) -> Snapshot:
        from ..pipeline import evaluate
        outcomes: dict[str, Any] = {}
        # unchanged experiments keep their analysis when it was made with the same settings and calendar
        reuse = prev.outcomes if prev.ready and prev.inputs == inputs else None
        progress = self._progress
        if not prev.ready and key.events:
            progress = self._first_analysis(prev)
        if key.events:
            with self.lock:
                outcomes = evaluate(db=self.db, reuse=reuse, progress=progress)
        as_of = max((o.data.as_of for o in outcomes.values() if o.data.as_of is not None), default=None)
        registry = self.registry_view()
        autopilot, note = self._autopilot(as_of)
        allocations = self._allocations()
        bandits = self.bandit_histories(outcomes)
        return Snapshot(version=self._snapshot.version + 1, outcomes=outcomes, registry=registry, autopilot=autopilot,
                        autopilot_note=note, allocations=allocations, bandits=bandits, as_of=as_of, refreshed_at=self.clock(),
                        seconds=time.perf_counter() - started, error=None, key=key, inputs=inputs)

    def _first_analysis(self, prev: Snapshot) -> Callable[..., None]:
        """With nothing to show yet: publish the registry's facts at once (``pending``: every registered experiment
        "analysing"), then, every ``publish_every`` seconds, the outcomes analysed so far; returns the progress
        callback."""
        from ..bandits.log import read_decisions
        base = Snapshot(version=prev.version + 1, registry=self.registry_view(), refreshed_at=self.clock(),
                        pending=True, autopilot_note="the server is analysing the portfolio for the first time")
        with self.lock:
            logged = read_decisions(db=self.db)        # read before the analysis holds the registry open
        self._snapshot = base
        done_so_far: dict[str, Any] = {}
        last = [time.perf_counter()]

        def progress(done: int, total: int, outcome: Any = None) -> None:
            self._progress(done, total)
            if outcome is not None:
                done_so_far[outcome.experiment_id] = outcome
            if time.perf_counter() - last[0] >= self.publish_every and done < total:
                last[0] = time.perf_counter()
                outcomes = dict(done_so_far)
                as_of = max((o.data.as_of for o in outcomes.values() if o.data.as_of is not None), default=None)
                self._snapshot = replace(base, version=self._snapshot.version + 1, outcomes=outcomes, as_of=as_of,
                                         bandits=self.bandit_histories(outcomes, logged))
        return progress

    def registry_view(self) -> RegistryView | None:
        """Records, allocation, rollouts, decisions and the audit log, read in one registry session."""
        from ..lifecycle.rollout import rollout_status
        from ..pipeline import has_registry
        with self.lock:
            if not has_registry(self.db):
                return None
            reg = self._reg()
            with reg.session():
                records = {r.experiment_id: r for r in reg.list()}
                weights = {e: reg.weights(e) for e in records}
                rollouts = {e: rollout_status(reg, e) for e in records}
                decisions = reg.decisions()
                audit = reg.audit(limit=max(get_settings().dashboard.audit_rows * 20, 500))
                promo = reg.promotion_period()
        return RegistryView(records, weights, rollouts, decisions, audit, promo)

    def refresh_registry(self, *, background: bool | None = None) -> Snapshot:
        """After an operator action: a new snapshot with the registry re-read; the re-analysis follows
        in a background thread (decisions depend on the registry, e.g. the promotion period)."""
        with self._refresh_lock:
            prev = self._snapshot
            snap = replace(prev, version=prev.version + 1, registry=self.registry_view(), refreshed_at=self.clock(),
                           frame=None)          # the portfolio's rows show the registry: rebuilt
            self._snapshot = snap
        if self.reanalyse_after_action if background is None else background:
            t = threading.Thread(target=self.refresh, kwargs={"force": True}, name="workbench-refresh")
            self._background = t
            t.start()
        return snap

    def join_background(self, timeout: float | None = None) -> None:
        """Wait for the re-analysis an operator action started (tests; shutdown)."""
        t = self._background
        if t is not None:
            t.join(timeout)

    def _autopilot(self, as_of: dt.datetime | None) -> tuple[Any, str]:
        from ..lifecycle.autopilot import plan_autopilot
        if self._registry is None and not self.db.exists():
            return None, "no database"
        try:
            with self.lock:
                reg = self._reg()
                with reg.session():
                    return plan_autopilot(reg, now=as_of), ""
        except WorkbenchError as exc:
            return None, str(exc)

    def _allocations(self) -> pd.DataFrame:
        """Each bandit's allocation decisions (:func:`workbench.bandits.read_decisions`) in the last
        ``allocation_window_minutes`` of its own log."""
        from ..bandits.log import read_decisions
        window = dt.timedelta(minutes=get_settings().dashboard.allocation_window_minutes)
        if not self.db.exists():
            return pd.DataFrame()
        with self.lock:
            df = read_decisions(db=self.db)
        if df.empty:
            return df
        latest = df.groupby("experiment_id")["created_at"].transform("max")
        return df[df["created_at"] >= latest - window].reset_index(drop=True)

    def bandit_histories(self, outcomes: Mapping[str, Any], rows: pd.DataFrame | None = None) -> dict[str, Any]:
        """Each bandit's allocation history as of its data's as-of
        (:func:`workbench.bandits.history.history_from_rows`, the reader every view uses), from the allocation
        log's ``rows`` (read now when not given)."""
        from ..bandits.history import history_from_rows
        from ..bandits.log import read_decisions
        if not self.db.exists():
            return {}
        if rows is None:
            with self.lock:
                rows = read_decisions(db=self.db)
        logged = set(rows["experiment_id"]) if not rows.empty else set()
        return {e: history_from_rows(rows, e, as_of=o.data.as_of, variants=o.data.variants)
                for e, o in outcomes.items() if o.data.meta.get("allocation") == "bandit" or e in logged}

    # --- the portfolio: built once per snapshot, filtered and paged on the server --------------
    def portfolio(self, snapshot: Snapshot | None = None) -> pd.DataFrame:
        """The portfolio frame (:func:`~workbench.dashboard.data.portfolio_rows`) of ``snapshot`` (default:
        the current one), built once per snapshot and shared by every session."""
        snap = snapshot or self._snapshot
        if snap.frame is not None:
            return snap.frame
        from .data import portfolio_frame, portfolio_rows
        cached = self._portfolio
        if cached is not None and cached[0] is snap:
            return cached[1]
        frame = portfolio_frame(portfolio_rows(snap.outcomes, snap.registry, snap.bandits, pending=snap.pending))
        self._portfolio = (snap, frame)
        return frame

    def portfolio_page(self, query: Any, snapshot: Snapshot | None = None) -> Any:
        """One :class:`~workbench.dashboard.paging.Page` of the portfolio matching ``query``
        (a :class:`~workbench.dashboard.paging.PortfolioQuery`)."""
        from .paging import query_portfolio
        return query_portfolio(self.portfolio(snapshot), query)

    # --- per-experiment extras (cached by experiment id and data version) -----------------------
    def _outcome(self, experiment_id: str) -> Any:
        o = self._snapshot.outcome(experiment_id)
        if o is None:
            from ..errors import NotFoundError
            raise NotFoundError(f"no experiment {experiment_id!r} in the current data")
        return o

    def story(self, experiment_id: str, snapshot: Snapshot | None = None) -> Any:
        """The experiment's :class:`~workbench.story.ExperimentStory` as of ``snapshot`` (default: the current one;
        pass the one a request already read so a refresh in between cannot change it)."""
        from ..errors import NotFoundError
        from ..story import story_of
        snap = snapshot or self._snapshot
        outcome = snap.outcome(experiment_id)
        if outcome is None:
            raise NotFoundError(f"no experiment {experiment_id!r} in the current data")
        history = snap.bandits.get(experiment_id)     # a bandit's allocation now: its log
        return story_of(outcome, allocation=history.current if history is not None else None)

    def _trend_key(self, o: Any, freq: str) -> tuple:
        return ("trend", o.experiment_id, o.data.data_version, freq)

    @staticmethod
    def _trend_of(log: Any, o: Any, freq: str) -> pd.DataFrame:
        from ..aggregate import timeseries
        from .data import trend_frame
        # lines start at the experiment's start: events before it (bots, QA) are no traffic of the experiment
        ts = timeseries(log, o.experiment_id, freq=freq, as_of=o.data.as_of, since=o.data.meta.get("start_ts"))
        return trend_frame(ts, o.data.variants)

    def trend(self, experiment_id: str, freq: str = "h") -> pd.DataFrame:
        """Event-time trend per variant (``freq`` "h" or "D") from :func:`workbench.aggregate.timeseries`."""
        from ..sources.events import open_event_log
        o = self._outcome(experiment_id)

        def make() -> pd.DataFrame:
            with self.lock, connect(self.db, read_only=True) as con:
                return self._trend_of(open_event_log(con, "events"), o, freq)
        return self._cache.get_or(self._trend_key(o, freq), make)

    def warm(self, snap: Snapshot, *, batch: int = 10) -> int:
        """Compute every experiment's extras ahead of the first visit; returns how many were computed."""
        from ..sources.events import open_event_log
        before = self._cache.misses
        outcomes = list(snap.outcomes.values())
        for i in range(0, len(outcomes), batch):
            todo = [(o, f) for o in outcomes[i:i + batch] for f in ("h", "D")
                    if self._trend_key(o, f) not in self._cache]
            if not todo:
                continue
            with self.lock, connect(self.db, read_only=True) as con:
                log_ = open_event_log(con, "events")
                for o, f in todo:
                    self._cache.get_or(self._trend_key(o, f), lambda o=o, f=f: self._trend_of(log_, o, f))
        for o in outcomes:
            if snap is not self._snapshot:
                break                      # a newer snapshot arrived; its own warm-up takes over
            self.posterior(o.experiment_id)
            self.chance(o.experiment_id)
            dims = [d for d in o.data.dims if d != "day"]
            if dims and o.result.primary is not None and o.result.primary.comparisons:
                self.segments(o.experiment_id, dims[0])
        return self._cache.misses - before

    def segments(self, experiment_id: str, dim: str) -> Any:
        from .data import segment_result
        o = self._outcome(experiment_id)
        return self._cache.get_or(("segments", experiment_id, o.data.data_version, dim),
                                  lambda: segment_result(o, dim))

    def posterior(self, experiment_id: str) -> Any:
        from .data import posterior_curves
        o = self._outcome(experiment_id)
        return self._cache.get_or(("posterior", experiment_id, o.data.data_version), lambda: posterior_curves(o))

    def chance(self, experiment_id: str) -> pd.DataFrame:
        from .data import chance_over_time
        o = self._outcome(experiment_id)
        return self._cache.get_or(("chance", experiment_id, o.data.data_version), lambda: chance_over_time(o))

    @property
    def cache_stats(self) -> dict[str, int]:
        return {"entries": len(self._cache), "hits": self._cache.hits, "misses": self._cache.misses}


_SERVICES: dict[Path, DashboardService] = {}
_SERVICES_LOCK = threading.Lock()


def get_service(db: str | Path | None = None) -> DashboardService:
    """The one service of this process for ``db`` (default: ``WORKBENCH_DB`` / the default database)."""
    path = database_path(db).resolve()
    with _SERVICES_LOCK:
        svc = _SERVICES.get(path)
        if svc is None:
            svc = _SERVICES[path] = DashboardService(path)
        return svc


async def refresh_task() -> None:
    """The scheduled refresh: runs :meth:`DashboardService.refresh` in a worker thread."""
    await asyncio.to_thread(get_service().refresh)


def prepare_simulator() -> None:
    """Load (or compile, on a fresh checkout) the bandit simulator's kernels so the first run is quick."""
    try:
        from ..bandits.simulate import simulate_policies
        simulate_policies([0.1, 0.2], rounds=200, reps=2, checkpoints=2)
    except Exception:  # noqa: BLE001 - an optimisation only; the page reports real errors itself
        log.exception("preparing the bandit simulator failed")


def start_refresh(period_s: float | None = None) -> None:
    """Schedule the refresh once per server (idempotent; the first run starts immediately) and get the
    simulator ready in the background."""
    import panel as pn
    period = period_s if period_s is not None else get_settings().dashboard.refresh_seconds
    get_service().facts_wait = FACTS_WAIT          # a browser is probably on its way: its first page goes first
    pn.state.schedule_task("workbench-dashboard-refresh", refresh_task, period=dt.timedelta(seconds=period))
    threading.Thread(target=_prepare_simulator_later, name="workbench-simulator-warmup", daemon=True).start()


def _prepare_simulator_later(timeout: float = 120.0) -> None:
    """:func:`prepare_simulator` once the server shows its first snapshot and its first pages had time to paint
    (loading the kernels takes seconds of CPU that a starting server's first page should not wait for)."""
    svc = get_service()
    deadline = time.monotonic() + timeout
    while not svc.snapshot.ready and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(svc.warm_delay_after_start)
    prepare_simulator()
