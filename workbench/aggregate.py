"""Aggregation: events → per-unit values → sufficient statistics, pushed down to the engine.

One Ibis expression does it all and runs as a single query (DuckDB by default; any Ibis backend):

1. **per unit** (experiment × user_key): the first variant, device, channel, user type and product
   seen; every per-unit value the metrics need, compiled from its definition
   (:mod:`workbench.metric_defs`: event filter, aggregation, window after the unit's first exposure,
   cap — no metric is written here); the bot signals (headless user agent, mean dwell, events per
   active hour, IP bursts) and the number of variants seen (sticky-assignment violations);
2. the pre-period covariates joined on ``user_key`` (missing → 0: new users have no history), and
   each ``covariate: same`` — the metric's own definition over the pre-period events of the lookback
   before the unit's first exposure (:mod:`workbench.metric_defs.pre_period`);
3. **the cube**: grouped by experiment × variant × exclusion reason × dimensions, with ``n``, Σv,
   Σv² for every per-unit value and the Σa·b cross-products the metric catalog needs (CUPED and
   ratio metrics) and those of the pre-period covariates with each other and with every metric's
   values (the balance check and the multi-covariate adjustment, :mod:`workbench.adjustment`).
   Excluded units (bots, sticky violators) stay in the cube under their reason, so the trust
   checks count them from the same numbers the analysis uses.

Only the cube — a few hundred rows per experiment — leaves the engine.

On DuckDB, a log of more than ``engine.events_per_query`` events is aggregated in batches of whole
experiments, one query each (:func:`experiment_batches`): units never span experiments, so the batches'
cubes concatenate to the one query's cube exactly, and the memory a query holds follows its batch, not the
lake. The IP bursts, which span experiments, are then found once (:func:`burst_ips`) and passed to every
batch. Other engines run the one query (a Spark query pays its planning and scheduling once).

An IP's burst is a fact of the whole log up to the as-of time, not of the experiments asked for: a unit is
excluded for it whether its experiment is aggregated alone (``analyze -e``, one report) or with every other
(the dashboard, ``report --all``), so every view counts the same units. Only the IPs seen in the requested
experiments are looked at, their events counted across the whole log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from .adjustment import adjustment_products
from .bursts import burst_ips_expr
from .config import Settings, get_settings
from .db import execute_bounded
from .metric_defs import ValueDef
from .metric_defs import catalog as _catalog
from .metric_defs import covariate_defs as _covariate_defs
from .metric_defs import values as _values
from .metric_defs.compile import FIRST_EXPOSURE, apply_caps, cap_column, fill_values, needs_exposure, unit_aggregate
from .metric_defs.pre_period import add_pre_covariates
from .metrics import COVARIATES, Metric, sq_col, sum_col, xprod_col
from .sources.events import EventLog

__all__ = ["DEFAULT_DIMS", "unit_expr", "cube_expr", "aggregate_cube", "aggregate_all", "timeseries", "available_metrics",
           "BOT_REASONS", "default_metrics", "value_columns", "experiment_batches", "burst_ips"]

DEFAULT_DIMS: tuple[str, ...] = ("device", "channel", "user_type", "day")
BOT_REASONS = ("headless_ua", "short_dwell", "ip_burst", "event_rate")
# Always summed, whatever the metrics: the funnel (events and units reaching each step) and revenue.
FUNNEL_VALUES = ("impressions", "clicks", "carts", "purchases", "clicked", "carted", "purchased", "revenue")
_FIRST = ("variant_id", "device", "channel", "user_type", "product_id")


def _builtin_defaults() -> tuple[str, ...]:
    from .metric_defs import builtin_definitions
    b = builtin_definitions()
    return tuple(n for n, m in b.metrics.items() if m.kind != "quantile"
                 and all(b.values[v].agg != "distinct" for v in m.values() if v in b.values))


# Built-in metrics aggregated when none are named (all but those needing a distinct count per unit).
DEFAULT_METRICS = _builtin_defaults()


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.ifelse(1, 0).sum()


def value_columns(log: EventLog, defs: dict[str, ValueDef] | None = None) -> set[str]:
    """Per-unit values this event log can provide: those whose columns it has."""
    defs = defs if defs is not None else _values()
    return {n for n, v in defs.items() if all(log.has(c) for c in v.columns())}


def available_metrics(log: EventLog) -> list[Metric]:
    """Metrics in use (built-in and defined) whose per-unit values this event log can provide;
    a named covariate the log has no ``pre_period`` for is dropped (the metric is analysed without
    CUPED); a ``covariate: same`` stays, and aggregating it without pre-period events is an error."""
    have = value_columns(log) | (set(COVARIATES) if log.covariates is not None else set()) | set(_covariate_defs())
    out = []
    for m in _catalog().values():
        if {m.numerator, m.denominator or m.numerator} <= have:
            if m.covariate and m.covariate not in have:
                m = Metric(**{**m.__dict__, "covariate": None})
            out.append(m)
    return out


def default_metrics(log: EventLog) -> list[Metric]:
    """What is aggregated when no metrics are named: every available cube metric except those that
    need an exact distinct count per unit (``sessions``: costly, computed only when asked for)."""
    vals = _values()
    return [m for m in available_metrics(log) if m.kind != "quantile"
            and all(vals[v].agg != "distinct" for v in m.values() if v in vals)]


def _first_by_time(t: ir.Table, column: str) -> ir.Value:
    """The value of ``column`` on the unit's first event (portable ``argmin``; ties: the engine's pick)."""
    return t[column].cast("string").argmin(t.ts_server)


def _events(log: EventLog, experiments: Sequence[str] | None, as_of: dt.datetime | None) -> ir.Table:
    t = log.table
    if experiments is not None:
        t = t.filter(t.experiment_id.isin(list(experiments)))
    if as_of is not None:
        t = t.filter(t.ts_server <= as_of)
    return t


def burst_ips(log: EventLog, *, experiments: Sequence[str] | None = None, as_of: dt.datetime | None = None,
              settings: Settings | None = None) -> list[str]:
    """The IPs of ``experiments``' events that burst (:func:`workbench.bursts.burst_ips_expr`) in the whole log
    up to ``as_of``, run now (sorted); ``[]`` when the log has no ``ip_hash``."""
    if not log.has("ip_hash"):
        return []
    per_minute = (settings or get_settings()).bots.ip_burst_events_per_minute
    return sorted(execute_bounded(_log_bursts(log, experiments, as_of, per_minute).ip_hash).tolist())


def _log_bursts(log: EventLog, experiments: Sequence[str] | None, as_of: dt.datetime | None,
                per_minute: int) -> ir.Table:
    """The bursts of the whole log up to ``as_of`` among the IPs of ``experiments`` (all when ``None``)."""
    everything = _events(log, None, as_of)
    return burst_ips_expr(everything, per_minute, None if experiments is None else _events(log, experiments, as_of))


def experiment_batches(log: EventLog, *, experiments: Sequence[str] | None = None, as_of: dt.datetime | None = None,
                       settings: Settings | None = None) -> list[list[str]] | None:
    """Whole experiments in batches of at most ``engine.events_per_query`` events (the largest experiment alone
    when it has more), largest first; None when one query does it: the setting is 0, the engine is not DuckDB,
    the events fit, or an event has no experiment.

    Packing is first-fit by decreasing size, so the batches are few (each re-reads the pre-period tables for its
    joins) and the largest holds about the limit. Costs one count of events per experiment on DuckDB.
    """
    limit = (settings or get_settings()).engine.events_per_query
    if limit <= 0 or log.table.get_backend().name != "duckdb":
        return None
    t = _events(log, experiments, as_of)
    sizes = execute_bounded(t.group_by("experiment_id").aggregate(n=t.count()))
    if int(sizes["n"].sum()) <= limit or len(sizes) < 2 or sizes["experiment_id"].isna().any():
        return None
    cap = max(limit, int(sizes["n"].max()))
    batches: list[tuple[int, list[str]]] = []
    for exp, n in sorted(zip(sizes["experiment_id"], sizes["n"].astype(int)), key=lambda x: (-x[1], x[0])):
        for i, (total, ids) in enumerate(batches):
            if total + n <= cap:
                batches[i] = (total + n, [*ids, exp])
                break
        else:
            batches.append((n, [exp]))
    return [ids for _, ids in batches]


_HEADLESS = "_headless_event"


def _with_headless(t: ir.Table, events: ir.Table, pattern: str) -> ir.Table:
    """``t`` with ``_headless_event`` (1: the event's user agent matches ``pattern``, else 0).

    The regex runs once per distinct user agent (a handful), not once per event, and is joined back on the
    string: on Spark, Java's regex with ``(?i)`` and ten alternatives cost about 4.6 µs an event (half the
    CPU of the per-unit aggregation at 10 M events), where the join costs a hash lookup.
    """
    ua = events.select("user_agent").distinct()
    ua = ua.mutate(**{_HEADLESS: ua.user_agent.re_search(pattern).ifelse(1, 0)})
    j = t.left_join(ua, t.user_agent == ua.user_agent)
    return j.select(*t.columns, j[_HEADLESS].fill_null(0).name(_HEADLESS))


def unit_expr(log: EventLog, *, experiments: Sequence[str] | None = None, as_of: dt.datetime | None = None,
              settings: Settings | None = None, values: Iterable[str] | None = None,
              experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None,
              bursts: Sequence[str] | None = None) -> ir.Table:
    """Per-unit values and exclusion reason (an Ibis expression; nothing runs yet).

    ``values`` names the per-unit values computed besides the funnel (each compiled from its
    definition: event filter, aggregation, window after the unit's first exposure, cap); the
    funnel, revenue and the bot signals are always there. ``experiment_attrs`` gives the
    experiments' attributes a definition may compare with (``{"product_id": {experiment: sku}}``).
    ``bursts``: the bursting IPs, found beforehand (:func:`burst_ips`; a batch); by default they are found in
    this expression. Either way they are the bursts of the whole log up to ``as_of``, whatever ``experiments``.
    """
    s = (settings or get_settings()).bots
    defs = _values()
    have = value_columns(log, defs)
    wanted = (set(values) if values is not None else have) | set(FUNNEL_VALUES)
    pre_covs = {n: c for n, c in _covariate_defs().items() if n in wanted}    # covariate: same (pre-period events)
    chosen = {n: defs[n] for n in sorted(wanted & have) if defs[n].agg != "event"}    # per-event: quantiles
    t = events = _events(log, experiments, as_of)
    if needs_exposure(chosen):
        t = t.mutate(**{FIRST_EXPOSURE: t.ts_server.min().over(group_by=[t.experiment_id, t.user_key])})
    if log.has("user_agent"):
        t = _with_headless(t, events, s.headless_ua_pattern)
    first = {c if c != "variant_id" else "variant": _first_by_time(t, c) for c in _FIRST if c in t.columns}
    aggs: dict[str, ir.Value] = {
        **first,
        "multi_variant": t.variant_id.min() != t.variant_id.max(),
        "first_ts": t.ts_server.min(),
        "last_ts": t.ts_server.max(),
        "n_events": t.count(),
    }
    for name, v in chosen.items():
        aggs[name] = unit_aggregate(t, v, experiment_attrs)
    if log.has("user_agent"):
        aggs["headless"] = t[_HEADLESS].sum() > 0
    if log.has("dwell_ms"):
        aggs["dwell_mean"] = (t.event == "impression").ifelse(t.dwell_ms, ibis.null()).mean()
    if log.has("ip_hash"):
        aggs["ip"] = t.ip_hash.max()
    u = t.group_by(["experiment_id", "user_key"]).aggregate(**aggs)

    reasons: list[tuple[ir.BooleanValue, str]] = []
    if log.has("user_agent"):
        reasons.append((u.headless, "headless_ua"))
    if log.has("dwell_ms"):
        reasons.append(((u.dwell_mean < s.min_mean_dwell_ms) & (u.impressions >= s.min_impressions_for_dwell),
                        "short_dwell"))
    if log.has("ip_hash"):
        burst = (list(bursts) if bursts is not None
                 else _log_bursts(log, experiments, as_of, s.ip_burst_events_per_minute).ip_hash)
        reasons.append((u.ip.isin(burst), "ip_burst"))
    span_hours = (u.last_ts.epoch_seconds() - u.first_ts.epoch_seconds()) / 3600.0
    reasons.append((u.n_events > s.max_events_per_unit_hour * (span_hours + 1.0), "event_rate"))
    reasons.append((u.multi_variant, "sticky"))
    excluded = ibis.cases(*reasons, else_="")

    u = u.mutate(excluded=excluded, day=u.first_ts.date(), **fill_values(u, list(chosen)))
    u = apply_caps(u, chosen)
    u = add_pre_covariates(u, log.pre_events, pre_covs, experiment_attrs)
    if log.covariates is not None:
        c = log.covariates
        cov_cols = [k for k in COVARIATES if k in c.columns]
        c = c.select("user_key", *cov_cols)
        if bursts is not None:      # a batch: only its units' rows of the pre-period table (a semi-join)
            c = c.filter(c.user_key.isin(u.user_key))
        u = u.left_join(c, u.user_key == c.user_key).drop("user_key_right")
        u = u.mutate(**{k: u[k].fill_null(0).cast("float64") for k in cov_cols})
    return u


def cube_expr(units: ir.Table, metrics: Iterable[Metric], dims: Sequence[str] = DEFAULT_DIMS, *,
              collect_excluded: bool = False) -> ir.Table:
    """Group per-unit values into the cube of sufficient statistics.

    ``collect_excluded`` adds ``excluded_units``: the user keys of the excluded units of each cell
    (bots and sticky violators, a few percent), which the quantile metrics leave out."""
    metrics = list(metrics)
    covariates = [c for c in COVARIATES if c in units.columns]      # all of them: balance check and adjustment
    values = sorted(({v for m in metrics for v in m.values()} | set(FUNNEL_VALUES) | set(covariates))
                    & set(units.columns))
    pairs = sorted({p for m in metrics for p in m.products()} | adjustment_products(metrics, covariates))
    pairs = [p for p in pairs if set(p) <= set(units.columns)]
    aggs: dict[str, ir.Value] = {"n": units.count(), "n_events__sum": units.n_events.sum(),
                                 "last_ts": units.last_ts.max()}
    for v in values:
        if cap_column(v) in units.columns:
            aggs[cap_column(v)] = units[cap_column(v)].max()
    for v in values:
        col = units[v].cast("float64")
        aggs[sum_col(v)] = col.sum()
        aggs[sq_col(v)] = (col * col).sum()
    for a, b in pairs:
        aggs[xprod_col(a, b)] = (units[a].cast("float64") * units[b].cast("float64")).sum()
    if collect_excluded:
        aggs[_EXCLUDED_UNITS] = (units.excluded != "").ifelse(units.user_key, ibis.null()).collect()
    keys = ["experiment_id", "variant", "excluded", *[d for d in dims if d in units.columns]]
    return units.group_by(keys).aggregate(**aggs)


_EXCLUDED_UNITS = "excluded_units"


def aggregate_cube(log: EventLog, *, dims: Sequence[str] = DEFAULT_DIMS, experiments: Sequence[str] | None = None,
                   as_of: dt.datetime | None = None, metrics: Iterable[Metric] | None = None,
                   settings: Settings | None = None,
                   experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Run the aggregation (one query, or one per batch of experiments: :func:`experiment_batches`) and return the cube for every experiment as a DataFrame.

    Quantile metrics are skipped here (their per-arm statistics come from histograms, not sums:
    :func:`aggregate_all`). A capped value's cube carries ``<value>_capped_at``, the cap it was
    winsorised at.
    """
    ms = [m for m in (list(metrics) if metrics is not None else default_metrics(log)) if m.kind != "quantile"]
    return _run_cube(log, ms, dims, experiments=experiments, as_of=as_of, settings=settings,
                     experiment_attrs=experiment_attrs)


def _run_cube(log: EventLog, metrics: list[Metric], dims: Sequence[str], *, experiments: Sequence[str] | None,
              as_of: dt.datetime | None, settings: Settings | None,
              experiment_attrs: Mapping[str, Mapping[str, Any]] | None, collect_excluded: bool = False
              ) -> pd.DataFrame:
    """The cube: one query, or one per batch of :func:`experiment_batches`, concatenated."""
    needed = {v for m in metrics for v in m.values()}
    batches = experiment_batches(log, experiments=experiments, as_of=as_of, settings=settings)
    groups: list[Sequence[str] | None] = [experiments] if not batches else list(batches)
    bursts = burst_ips(log, experiments=experiments, as_of=as_of, settings=settings) if batches else None
    parts = []
    for ids in groups:
        units = unit_expr(log, experiments=ids, as_of=as_of, settings=settings, values=needed,
                          experiment_attrs=experiment_attrs, bursts=bursts)
        parts.append(execute_bounded(cube_expr(units, metrics, dims, collect_excluded=collect_excluded)))
    return _cube_frame(parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True), dims)


def _cube_frame(cube: pd.DataFrame, dims: Sequence[str]) -> pd.DataFrame:
    sums = [c for c in cube.columns if "__" in c or c == "n"]
    cube[sums] = cube[sums].fillna(0.0).astype("float64")
    if "day" in cube.columns:
        cube["day"] = pd.to_datetime(cube["day"]).dt.date
    return cube.sort_values(["experiment_id", "variant", "excluded", *[d for d in dims if d in cube.columns]],
                            kind="stable").reset_index(drop=True)


def aggregate_all(log: EventLog, *, dims: Sequence[str] = DEFAULT_DIMS, experiments: Sequence[str] | None = None,
                  as_of: dt.datetime | None = None, metrics: Iterable[Metric] | None = None,
                  settings: Settings | None = None, experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cube and the quantile metrics' per-arm statistics (:mod:`workbench.aggregate_quantiles`).

    Without quantile metrics this is :func:`aggregate_cube` (one query). With them, the cube query
    also lists the excluded units (bots, sticky violators: a few percent), which the quantiles'
    event values leave out; an included unit's events all carry its one variant, which is its arm.
    """
    from .aggregate_quantiles import aggregate_quantiles, empty_quantiles
    ms = list(metrics) if metrics is not None else default_metrics(log)
    qms = [m for m in ms if m.kind == "quantile"]
    cms = [m for m in ms if m.kind != "quantile"]
    cube = _run_cube(log, cms, dims, experiments=experiments, as_of=as_of, settings=settings,
                     experiment_attrs=experiment_attrs, collect_excluded=bool(qms))
    if not qms:
        return cube, empty_quantiles()
    lists = cube.pop(_EXCLUDED_UNITS)
    excluded = pd.DataFrame({"experiment_id": cube["experiment_id"], "user_key": lists}).explode("user_key")
    excluded = excluded.dropna(subset=["user_key"])
    return cube, aggregate_quantiles(log, qms, experiments=experiments, as_of=as_of, settings=settings,
                                     experiment_attrs=experiment_attrs, excluded=excluded)


def timeseries(log: EventLog, experiment_id: str, *, freq: str = "h", as_of: dt.datetime | None = None,
               since: dt.datetime | None = None) -> pd.DataFrame:
    """Event-time counts per variant and time bucket (``freq``: "m", "h" or "D").

    Columns: ``ts, variant, units, impressions, clicks, carts, purchases, revenue``. Used for
    trends (the rollout monitor reads its own series: :mod:`workbench.lifecycle.watch`).
    """
    return timeseries_by_experiment(log, {experiment_id: since}, freq=freq, as_of=as_of)[experiment_id]


def timeseries_by_experiment(log: EventLog, starts: Mapping[str, dt.datetime | None], *, freq: str = "h",
                             as_of: dt.datetime | None = None) -> dict[str, pd.DataFrame]:
    """:func:`timeseries` of each experiment in ``starts`` (its series from its start, or all when ``None``),
    in one query: a report run reads every experiment's series in one pass instead of one query each."""
    ids = list(starts)
    t = log.table.filter(log.table.experiment_id.isin(ids))
    if as_of is not None:
        t = t.filter(t.ts_server <= as_of)
    since = {e: s for e, s in starts.items() if s is not None and not pd.isna(s)}     # NaT: no start known
    if since:
        start = ibis.cases(*((t.experiment_id == e, ibis.literal(s, type=t.ts_server.type()))
                             for e, s in since.items()), else_=ibis.null(t.ts_server.type()))
        t = t.filter(start.isnull() | (t.ts_server >= start))
    unit = {"m": "m", "h": "h", "D": "D", "d": "D"}[freq]
    ev = t.event
    out = (t.group_by([t.experiment_id.name("_experiment"), t.ts_server.truncate(unit).name("ts"),
                       t.variant_id.name("variant")])
           .aggregate(units=t.user_key.nunique(), impressions=_count(ev == "impression"),
                      clicks=_count(ev == "click_detail"), carts=_count(ev == "add_to_cart"),
                      purchases=_count(ev == "purchase"),
                      revenue=(ev == "purchase").ifelse(t.price * t.quantity, 0.0).sum())
           .order_by(["_experiment", "ts", "variant"])).execute()
    parts = dict(iter(out.groupby("_experiment", sort=False)))
    empty = out.iloc[:0]
    return {e: parts.get(e, empty).drop(columns="_experiment").reset_index(drop=True) for e in ids}
