"""Experiments from an event log: metadata, the aggregated cube, and ExperimentData per experiment.

Metadata (variants in order, planned weights, metrics and their roles, kind, category, SKU) comes
from the ``world_experiments`` table when the database has one (the demo world, or a table the
user keeps in the same shape); otherwise it is inferred from the events: the variant named
``control`` (else the first in alphabetical order) is the control, weights are equal, and the
catalog's standard metrics are used with ``cvr`` as the primary.

:func:`load_experiments` runs the aggregation once for all requested experiments and splits the
cube; excluded units (bots, sticky violators) and unknown variant labels are counted into each
experiment's :class:`~workbench.experiment_data.TrustFacts` and left out of its statistics.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import ibis
import pandas as pd

from ..aggregate import BOT_REASONS, DEFAULT_DIMS, DEFAULT_METRICS, aggregate_all, available_metrics
from ..db import connect, engine_limits
from ..engine import open_events
from ..errors import NotFoundError, is_missing
from ..ids import safe_id
from ..experiment_data import ExperimentData, TrustFacts
from ..metric_defs import requested
from ..metric_defs import use as use_definitions
from ..metrics import Metric
from .events import EventLog, open_event_log, validate_event_log

__all__ = ["ExperimentInfo", "experiment_infos", "select_experiments", "load_experiments", "load_experiment", "DEFAULT_SECONDARY",
           "DEFAULT_GUARDRAILS"]

DEFAULT_SECONDARY = ("ctr", "atc_rate", "pages_per_user", "revenue_per_user")
DEFAULT_GUARDRAILS = ("lcp", "error_rate", "return_rate")


@dataclass(frozen=True)
class ExperimentInfo:
    """What is known about an experiment besides its data."""

    experiment_id: str
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    name: str = ""
    kind: str = "ab"
    allocation: str = "fixed"
    category: str | None = None
    product_id: str | None = None
    primary_metric: str = "cvr"
    secondary_metrics: tuple[str, ...] = DEFAULT_SECONDARY
    guardrails: tuple[str, ...] = DEFAULT_GUARDRAILS
    start_ts: dt.datetime | None = None
    end_ts: dt.datetime | None = None
    hypothesis: str = ""
    owner: str = ""
    variant_meta: dict[str, dict[str, str]] = field(default_factory=dict)
    inferred: bool = False

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name or self.experiment_id, "allocation": self.allocation,
                "category": self.category, "product_id": self.product_id, "start_ts": self.start_ts,
                "end_ts": self.end_ts, "hypothesis": self.hypothesis, "owner": self.owner,
                "variant_meta": self.variant_meta, "metadata_inferred": self.inferred}


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, str):
        return (x,)
    return tuple(x.tolist() if hasattr(x, "tolist") else x)


def experiment_infos(con: ibis.BaseBackend, log: EventLog | None = None) -> dict[str, ExperimentInfo]:
    """Metadata of every experiment: from ``world_experiments`` when present, else inferred."""
    if "world_experiments" in con.list_tables():
        df = con.table("world_experiments").execute()
        out = {}
        for rec in df.to_dict(orient="records"):
            r = {k: None if is_missing(v) else v for k, v in rec.items()}     # a NULL category is NaN from pandas
            out[r["experiment_id"]] = ExperimentInfo(
                experiment_id=r["experiment_id"], variants=_as_tuple(r["variants"]),
                weights=tuple(float(w) for w in _as_tuple(r["weights"])), name=r.get("name") or "",
                kind=r.get("kind") or "ab", allocation=r.get("allocation") or "fixed",
                category=r.get("category") or None, product_id=r.get("product_id") or None,
                primary_metric=r.get("primary_metric") or "cvr",
                secondary_metrics=_as_tuple(r.get("secondary_metrics")), guardrails=_as_tuple(r.get("guardrails")),
                start_ts=pd.Timestamp(r["start_ts"]).to_pydatetime() if r.get("start_ts") is not None else None,
                end_ts=pd.Timestamp(r["end_ts"]).to_pydatetime() if r.get("end_ts") is not None else None,
                hypothesis=r.get("hypothesis") or "", owner=r.get("owner") or "",
                variant_meta=json.loads(r["variant_meta"]) if r.get("variant_meta") else {})
        return out
    if log is None:
        return {}
    t = log.table
    pairs = t.group_by(["experiment_id", "variant_id"]).aggregate(n=t.user_key.nunique(), first=t.ts_server.min(),
                                                                  last=t.ts_server.max()).execute()
    out = {}
    for exp, g in pairs.groupby("experiment_id"):
        labels = sorted(g["variant_id"].astype(str))
        control = next((v for v in labels if v.lower() == "control"), labels[0])
        variants = (control, *[v for v in labels if v != control])
        out[str(exp)] = ExperimentInfo(str(exp), variants, tuple([1 / len(variants)] * len(variants)),
                                       start_ts=g["first"].min().to_pydatetime(),
                                       end_ts=g["last"].max().to_pydatetime(), inferred=True)
    return out


def select_experiments(infos: Mapping[str, ExperimentInfo], ids: Sequence[str] | None) -> list[str]:
    """The requested experiment ids (all known ones, sorted, when ``ids`` is None); an unknown id is a
    :class:`NotFoundError` that lists the known ones."""
    if ids is None:
        return sorted(infos)
    for e in ids:
        safe_id(e, column="experiment")
    missing = [e for e in ids if e not in infos]
    if missing:
        raise NotFoundError(f"unknown experiment {missing[0]!r}; known: {', '.join(sorted(infos)) or 'none'}")
    return list(ids)


def load_experiments(experiment_ids: Sequence[str] | None = None, *, db: str | Path | None = None,
                     source: str = "events", as_of: dt.datetime | None = None, dims: Sequence[str] = DEFAULT_DIMS,
                     validate: bool = True, engine: Any = None, events: str | Path | None = None,
                     definitions: Mapping[str, Any] | None = None) -> dict[str, ExperimentData]:
    """Aggregate the event log once and return an :class:`ExperimentData` per experiment.

    ``source`` is a table of the database (default ``events``) or a CSV/Parquet file path (read by
    an in-memory DuckDB unless ``db`` is given). ``engine`` and ``events`` choose where the event work
    runs and a Parquet lake to read (see :mod:`workbench.engine`; default: the settings, else the
    database's ``events`` table on DuckDB). ``definitions`` maps an experiment to its own metric
    definitions (its brief's, :meth:`~workbench.lifecycle.brief.ExperimentBrief.metric_definitions`): they
    are aggregated in the same query, and each experiment gets only the metrics its own brief asks for.
    """
    own = dict(definitions or {})
    base = requested()                  # what every experiment gets (a --metrics file, the project's metrics.yaml)
    mine = {e: base | set(d.metrics) | set(d.wanted) for e, d in own.items()}
    with contextlib.ExitStack() as stack:
        for d in own.values():
            stack.enter_context(use_definitions(d))
        return _load(experiment_ids, db=db, source=source, as_of=as_of, dims=dims, validate=validate,
                     engine=engine, events=events, extra_of=lambda e: mine.get(e, base))


def _load(experiment_ids: Sequence[str] | None, *, db: str | Path | None, source: str, as_of: dt.datetime | None,
          dims: Sequence[str], validate: bool, engine: Any, events: str | Path | None,
          extra_of: Any) -> dict[str, ExperimentData]:
    is_file = Path(source).suffix.lower() in {".csv", ".parquet", ".pq"} or Path(source).is_file()
    ctx = _file_source(db) if is_file else open_events(db, engine=engine, events=events)
    with ctx as (con, lake), engine_limits():
        log = open_event_log(con, source, lake=lake)
        if lake is not None:
            log, infos, ids = _lake_scope(con, log, lake, experiment_ids, as_of)
        if validate:
            validate_event_log(log)
        if lake is None:
            infos = experiment_infos(con, log)
            ids = select_experiments(infos, experiment_ids)
        declared = {n for e in ids for n in (infos[e].primary_metric, *infos[e].secondary_metrics, *infos[e].guardrails)}
        extra = requested()                 # every experiment's: a team's own definitions, what briefs ask for
        metrics = [m for m in available_metrics(log) if m.name in declared or m.name in DEFAULT_METRICS
                   or m.name in extra]
        attrs = {"product_id": {e: infos[e].product_id for e in ids}}
        cube, quantiles = aggregate_all(log, dims=dims, experiments=ids, as_of=as_of, metrics=metrics,
                                        experiment_attrs=attrs)
        allocations = (con.table("world_allocations").execute()
                       if "world_allocations" in con.list_tables() else None)
        covariate_rows: Any = int(log.covariates.count().execute()) if log.covariates is not None else None
        if log.pre_events is not None and any(m.covariate_lookback is not None for m in metrics):
            covariate_rows = [covariate_rows, int(log.pre_events.count().execute())]   # covariate: same reads them
    source_name = f"{source} ({db or 'default database'})" if log.kind == "duckdb" else log.name
    return {e: replace(_experiment_data(infos[e], cube[cube["experiment_id"] == e], metrics, dims, allocations, as_of,
                                        source_name, covariate_rows, extra_of(e)),
                       quantiles=quantiles[quantiles["experiment_id"] == e].reset_index(drop=True)) for e in ids}


@contextlib.contextmanager
def _file_source(db: str | Path | None) -> Iterator[tuple[Any, None]]:
    with connect(":memory:" if db is None else db) as con:
        yield con, None


def _lake_scope(con: Any, log: EventLog, lake: str, experiment_ids: Sequence[str] | None,
                as_of: dt.datetime | None) -> tuple[EventLog, dict[str, ExperimentInfo], list[str]]:
    """On a lake: the experiments' days (the lake was checked when it was opened), pruned before any event is read."""
    from dataclasses import replace

    from .lake import prune_dates

    infos = experiment_infos(con) if "world_experiments" in con.list_tables() else {}
    ids = select_experiments(infos, experiment_ids) if infos else []
    first, last = (prune_dates([infos[e].start_ts for e in ids], [infos[e].end_ts for e in ids], as_of)
                   if infos else (None, as_of.date() if as_of else None))
    t = log.table
    if "date" in t.columns:                     # hive partition column: whole folders are skipped
        if first is not None:
            t = t.filter(t.date >= first)
        if last is not None:
            t = t.filter(t.date <= last)
        log = replace(log, table=t)
    if not infos:
        infos = experiment_infos(con, log)
        ids = select_experiments(infos, experiment_ids)
    return log, infos, ids


def load_experiment(experiment_id: str, **kwargs: Any) -> ExperimentData:
    """One experiment's data (see :func:`load_experiments` for the options)."""
    return load_experiments([experiment_id], **kwargs)[experiment_id]


def _roles(info: ExperimentInfo, metrics: list[Metric], extra: set[str] = frozenset()) -> tuple[Metric, ...]:
    by_name = {m.name: m for m in metrics}
    chosen: list[Metric] = []
    for names, role in (((info.primary_metric,), "primary"), (info.secondary_metrics, "secondary"),
                        (info.guardrails, "guardrail")):
        for n in names:
            if n in by_name and all(c.name != n for c in chosen):
                chosen.append(by_name[n].with_role(role))  # type: ignore[arg-type]
    chosen += [m for m in metrics if m.name in extra and all(c.name != m.name for c in chosen)]
    return tuple(chosen)


def _experiment_data(info: ExperimentInfo, rows: pd.DataFrame, metrics: list[Metric], dims: Sequence[str],
                     allocations: pd.DataFrame | None, as_of: dt.datetime | None, source: str,
                     covariate_rows: Any = None, extra: set[str] = frozenset()) -> ExperimentData:
    known = set(info.variants)
    included = rows[(rows["excluded"] == "") & rows["variant"].isin(known)]
    unknown = rows[(rows["excluded"] == "") & ~rows["variant"].isin(known)]
    by_reason = rows.groupby("excluded")["n"].sum()
    events_by_reason = rows.groupby("excluded")["n_events__sum"].sum()
    bots = {r: int(by_reason.get(r, 0)) for r in BOT_REASONS if by_reason.get(r, 0)}
    trust = TrustFacts(
        units_total=int(rows["n"].sum()), events_total=int(rows["n_events__sum"].sum()),
        bot_units=sum(bots.values()), bot_events=int(sum(events_by_reason.get(r, 0) for r in BOT_REASONS)),
        bot_reasons=bots, sticky_violators=int(by_reason.get("sticky", 0)),
        unknown_variants={str(k): int(v) for k, v in unknown.groupby("variant")["n"].sum().items()})
    keep_dims = tuple(d for d in dims if d in included.columns)
    cube = included.drop(columns=["experiment_id", "excluded"]).reset_index(drop=True)
    last = rows["last_ts"].max() if len(rows) else None
    last_ts = pd.Timestamp(last).to_pydatetime() if last is not None and not pd.isna(last) else None
    # The covariate rows count too: a retention purge of pre_period (or of pre_events, when a metric's
    # covariate is its own definition over them) changes the cube without changing the event counts,
    # and must still invalidate the caches keyed by this version.
    version = hashlib.sha1(json.dumps([info.experiment_id, trust.units_total, trust.events_total, str(last_ts),
                                       str(as_of), list(keep_dims)] + ([covariate_rows] if covariate_rows is not None
                                                                       else [])).encode()).hexdigest()[:16]
    return ExperimentData(
        experiment_id=info.experiment_id, variants=info.variants, cube=cube, metrics=_roles(info, metrics, extra),
        dims=keep_dims, control_note="the first variant declared for the experiment" if not info.inferred else
        ("the variant named 'control'" if info.variants[0].lower() == "control" else
         f"no variant is named 'control', so the first alphabetically ({info.variants[0]!r}) is the control"),
        expected_weights=_expected_weights(info, included, allocations), trust=trust, source=source,
        as_of=as_of or last_ts, meta=info.meta(), data_version=version)


def _expected_weights(info: ExperimentInfo, rows: pd.DataFrame, allocations: pd.DataFrame | None) -> dict[str, float]:
    """Planned weights; for a bandit, its daily allocation weighted by each day's new units."""
    fixed = dict(zip(info.variants, info.weights))
    if info.allocation != "bandit" or allocations is None or "day" not in rows.columns:
        return fixed
    plan = allocations[allocations["experiment_id"] == info.experiment_id]
    if plan.empty:
        return fixed
    daily_units = rows.groupby("day")["n"].sum()
    plan = plan.assign(day=pd.to_datetime(plan["day"]).dt.date)
    plan = plan.assign(units=plan["day"].map(daily_units).fillna(0.0))
    expected = (plan["weight"] * plan["units"]).groupby(plan["variant"]).sum()
    total = float(expected.sum())
    return {v: float(expected.get(v, 0.0)) / total for v in info.variants} if total > 0 else fixed
