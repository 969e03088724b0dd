"""Everything a report reads, gathered in one pass for many experiments, and handed to notebooks as a file.

:func:`gather_inputs` does all the I/O of a report run up front:

1. the pipeline (:func:`workbench.pipeline.evaluate`) — the event log aggregated **once** for all
   requested experiments, each analysed as its brief says and decided by its policy (or the
   ``policy`` given);
2. event-time series by hour and day (:func:`workbench.aggregate.timeseries`), the per-SKU cube of
   multi-SKU experiments (one more aggregation, only for them), the catalog, and a bandit's
   allocation history (:func:`workbench.bandits.history.allocation_history`, as of the report's
   as-of or else the data's) with the daily weights in force;
3. from the registry: allocation snapshots, the learning store's patterns for the category.

The result per experiment is a :class:`ReportInputs`, a plain picklable value. ``workbench report``
writes one file per experiment (:func:`save_inputs`) and passes its path to the notebook, so the
report workers executing the notebooks never touch the database; a notebook run on its own calls :func:`gather_inputs`
for its one experiment instead. Either way the numbers come from the same functions.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..errors import InputError, NotFoundError, Problem
from ..experiment_data import ExperimentData
from ..files import atomic_file
from ..pipeline import ExperimentOutcome, evaluate
from .keys import parse_as_of

__all__ = ["ReportParams", "ReportInputs", "gather_inputs", "save_inputs", "load_inputs", "parse_as_of",
           "INPUTS_FORMAT"]

INPUTS_FORMAT = 2


@dataclass(frozen=True)
class ReportParams:
    """What a report was asked for (part of the report's key: change one and the report is rebuilt)."""

    db: str | None = None
    as_of: dt.datetime | None = None
    policy: str | None = None
    roi_horizon_days: int | None = None


@dataclass(frozen=True)
class ReportInputs:
    """One experiment's report inputs (see the module docstring); picklable."""

    experiment_id: str
    outcome: ExperimentOutcome
    params: ReportParams
    hourly: pd.DataFrame
    daily: pd.DataFrame
    sku_data: ExperimentData | None = None
    catalog: pd.DataFrame | None = None
    planned_allocation: pd.DataFrame | None = None     # day, variant, weight in force (bandits, from the log)
    weights_history: pd.DataFrame | None = None        # registry allocation snapshots
    patterns: pd.DataFrame | None = None               # learning store, this experiment's category
    winning: Mapping[str, str] = field(default_factory=dict)
    aa_checks: tuple[Mapping[str, Any], ...] = ()
    bandit_log: pd.DataFrame | None = None             # the bandit's logged allocation decisions (last ones)
    allocation: Any = None                             # AllocationHistory as of the report's as-of (bandits)
    gathered_at: dt.datetime | None = None
    fingerprint: str = ""
    format: int = INPUTS_FORMAT


def _scan(db: str | Path | None, ids: Sequence[str] | None, as_of: dt.datetime | None) -> dict[str, Any]:
    """One read-only pass: experiment metadata, time series, catalog, planned allocations, SKU counts."""
    from ..aggregate import timeseries_by_experiment
    from ..engine import open_events
    from ..sources.events import open_event_log
    from ..sources.experiments import experiment_infos, select_experiments

    with open_events(db) as (con, lake):          # the engine and lake in force (WORKBENCH_ENGINE/_EVENTS)
        log = open_event_log(con, "events", lake=lake)
        infos = experiment_infos(con, log)
        wanted = select_experiments(infos, ids)
        tables = set(con.list_tables())
        t = log.table
        skus: dict[str, int] = {}
        if "product_id" in t.columns and wanted:
            q = t.filter(t.experiment_id.isin(wanted))
            if as_of is not None:
                q = q.filter(q.ts_server <= as_of)
            counts = q.group_by("experiment_id").aggregate(skus=q.product_id.nunique()).execute()
            skus = {str(r.experiment_id): int(r.skus) for r in counts.itertuples()}
        # the series start at the experiment's start (no buckets of stray events before it)
        starts = {e: infos[e].start_ts for e in wanted}
        hourly = timeseries_by_experiment(log, starts, freq="h", as_of=as_of) if wanted else {}
        daily = timeseries_by_experiment(log, starts, freq="D", as_of=as_of) if wanted else {}
        series = {e: (hourly[e], daily[e]) for e in wanted}
        catalog = con.table("catalog").execute() if "catalog" in tables else None
    return {"infos": infos, "ids": wanted, "skus": skus, "series": series, "catalog": catalog}


def _aa_summary(o: ExperimentOutcome) -> dict[str, Any]:
    m = o.result.primary
    p = min((c.p_value_adjusted for c in m.comparisons), default=None) if m is not None else None
    return {"experiment_id": o.experiment_id, "health": o.result.health.status, "metric": m.name if m else None,
            "p_value": p, "reasons": list(o.result.health.reasons),
            "verdict": o.result.aa.verdict if o.result.aa is not None else None}


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text or "in use by another process" in text


def _gather_lock(db: str | Path | None) -> Any:
    """An inter-process lock per database: report gathers (the runner's, or notebooks run with
    ``--handoff direct``) take turns instead of fighting over DuckDB's single-writer file lock."""
    import hashlib

    from filelock import FileLock

    from ..db import database_path
    key = str(db) if db is not None and "://" in str(db) else str(database_path(db).resolve())
    name = f"workbench-gather-{hashlib.sha1(key.encode()).hexdigest()[:12]}.lock"
    return FileLock(str(Path(tempfile.gettempdir()) / name))


def gather_inputs(experiment_ids: Sequence[str] | None = None, *, db: str | Path | None = None,
                  as_of: str | dt.datetime | None = None, policy: str | None = None,
                  roi_horizon_days: int | None = None, lock_timeout: float | None = None,
                  validate: bool = True) -> dict[str, ReportInputs]:
    """Report inputs for each experiment (all in the database when ``None``); see the module doc.

    ``validate=False`` skips the event log's row checks, for a caller that checked these events already
    (the report runner: once per content of the events table, see :mod:`workbench.reports.validated`).

    Another process holding the database (the dashboard acting on the
    registry, a data load) is waited for: the whole read is retried for up to ``lock_timeout``
    seconds (default: twice ``lifecycle.lock_timeout_s``).
    """
    import duckdb

    from ..config import get_settings
    from ..errors import ConflictError, WorkbenchError

    timeout = 2 * get_settings().lifecycle.lock_timeout_s if lock_timeout is None else lock_timeout
    deadline = time.monotonic() + timeout
    delay = 0.2
    with _gather_lock(db):
        while True:
            try:
                return _gather(experiment_ids, db=db, as_of=as_of, policy=policy, roi_horizon_days=roi_horizon_days,
                               validate=validate)
            except (duckdb.IOException, duckdb.ConnectionException, WorkbenchError) as exc:
                if isinstance(exc, (InputError, NotFoundError)) or not _is_lock_error(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise ConflictError(f"{db or 'the database'}: in use by another process for more than "
                                        f"{timeout:g} s ({str(exc).splitlines()[0][:200]}); retry when it is free") from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)


def _gather(experiment_ids: Sequence[str] | None, *, db: str | Path | None, as_of: str | dt.datetime | None,
            policy: str | None, roi_horizon_days: int | None, validate: bool = True) -> dict[str, ReportInputs]:
    from ..lifecycle.registry import Registry
    from ..pipeline import has_registry
    from ..sources.experiments import load_experiments

    at = parse_as_of(as_of)
    scan = _scan(db, experiment_ids, at)
    ids: list[str] = scan["ids"]
    infos = scan["infos"]
    aa_ids = [e for e, info in infos.items() if info.kind == "aa"]
    need = list(dict.fromkeys([*ids, *aa_ids]))
    have = evaluate(need, db=db, as_of=at, policy=policy, validate=validate)
    multi = [e for e in ids if scan["skus"].get(e, 0) > 1]
    # the same events as the pipeline's pass just read (and checked, unless the caller had): not checked twice
    sku_data = load_experiments(multi, db=db, as_of=at, dims=("product_id",), validate=False) if multi else {}
    histories: dict[str, Any] = {}
    if any(infos[e].allocation == "bandit" for e in ids) and (db is None or "://" not in str(db)):
        from ..bandits.history import allocation_history     # the one reader of "allocation now"
        for e in ids:
            if infos[e].allocation == "bandit":
                data = have[e].data
                histories[e] = allocation_history(e, db=db, as_of=at or data.as_of, variants=data.variants)
    aa_checks = tuple(_aa_summary(have[e]) for e in aa_ids if e in have)

    registry = Registry(db) if has_registry(db) else None
    extra: dict[str, dict[str, Any]] = {e: {} for e in ids}
    if registry is not None:
        from ..lifecycle.learning import pattern_table, winning_tags
        with registry.session():
            with registry.connect() as con:
                weights = con.execute("SELECT * FROM experiment_weights WHERE ? IS NULL OR effective_at <= ? "
                                      "ORDER BY snapshot, variant_id", [at, at]).df()
            pattern_cache: dict[Any, tuple[pd.DataFrame, dict[str, str]]] = {}
            for e in ids:
                o = have[e]
                category = o.category
                if category not in pattern_cache:
                    pattern_cache[category] = (pattern_table(registry, category) if category else pattern_table(registry),
                                               winning_tags(registry, category))
                patterns, winning = pattern_cache[category]
                extra[e]["patterns"], extra[e]["winning"] = patterns, winning
                extra[e]["weights_history"] = weights[weights["experiment_id"] == e].reset_index(drop=True)

    params = ReportParams(db=str(db) if db is not None else None, as_of=at, policy=policy,
                          roi_horizon_days=roi_horizon_days)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out: dict[str, ReportInputs] = {}
    for e in ids:
        hourly, daily = scan["series"][e]
        history = histories.get(e)
        planned = history.by_day() if history is not None and not history.empty else None
        out[e] = ReportInputs(experiment_id=e, outcome=have[e], params=params, hourly=hourly, daily=daily,
                              sku_data=sku_data.get(e), catalog=scan["catalog"], planned_allocation=planned,
                              weights_history=extra[e].get("weights_history"), patterns=extra[e].get("patterns"),
                              winning=extra[e].get("winning", {}), aa_checks=aa_checks,
                              bandit_log=history.last(10) if history is not None else None, allocation=history,
                              gathered_at=now)
    return out


def save_inputs(inputs: ReportInputs, path: str | Path) -> Path:
    """Pickle ``inputs`` to ``path`` atomically (temporary file, then rename), readable by this user only, in a
    folder only this user can write (the run's hand-off folder): a pickle runs code when it is loaded, so no
    one else may put one where the report's worker reads it."""
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with atomic_file(path, binary=True, mode=0o600) as fh:
        pickle.dump(inputs, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(path)


def load_inputs(path: str | Path, experiment_id: str | None = None) -> ReportInputs:
    """Read a file written by :func:`save_inputs` (only files the workbench wrote: it is a pickle)."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"{p}: report inputs not found")
    with p.open("rb") as fh:
        obj = pickle.load(fh)  # noqa: S301 - our own hand-off file, written by save_inputs in this run
    if not isinstance(obj, ReportInputs) or obj.format != INPUTS_FORMAT:
        raise InputError([Problem("blocked", "bad_inputs", "not report inputs written by this workbench version",
                                  file=str(p))])
    if experiment_id is not None and obj.experiment_id != experiment_id:
        raise InputError([Problem("blocked", "bad_inputs", f"the inputs are for {obj.experiment_id!r}, not "
                                  f"{experiment_id!r}", file=str(p))])
    return obj
