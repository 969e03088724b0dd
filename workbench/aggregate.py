"""Aggregation: events → per-unit values → sufficient statistics, pushed down to the engine.

One Ibis expression does it all and runs as a single query (DuckDB by default; any Ibis backend):

1. **per unit** (experiment × user_key): the first variant, device, channel, user type and product
   seen; counts of the four events; revenue; sessions; LCP, 5xx and returns; the bot signals
   (headless user agent, mean dwell, events per active hour, IP bursts) and the number of variants
   seen (sticky-assignment violations);
2. the pre-period covariates joined on ``user_key`` (missing → 0: new users have no history);
3. **the cube**: grouped by experiment × variant × exclusion reason × dimensions, with ``n``, Σv,
   Σv² for every per-unit value and the Σa·b cross-products the metric catalog needs (CUPED and
   ratio metrics) and those of the pre-period covariates with each other and with every metric's
   values (the balance check and the multi-covariate adjustment, :mod:`workbench.adjustment`).
   Excluded units (bots, sticky violators) stay in the cube under their reason, so the trust
   checks count them from the same numbers the analysis uses.

Only the cube — a few hundred rows per experiment — leaves the engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir
import pandas as pd

from .adjustment import adjustment_products
from .config import Settings, get_settings
from .metrics import CATALOG, COVARIATES, Metric, sq_col, sum_col, xprod_col
from .sources.events import EventLog

__all__ = ["DEFAULT_DIMS", "unit_expr", "cube_expr", "aggregate_cube", "timeseries", "available_metrics",
           "BOT_REASONS"]

DEFAULT_DIMS: tuple[str, ...] = ("device", "channel", "user_type", "day")
BOT_REASONS = ("headless_ua", "short_dwell", "ip_burst", "event_rate")
# Always summed, whatever the metrics: the funnel (events and units reaching each step) and revenue.
# Metrics aggregated when none are named: everything in the catalog except the costlier per-session ratio.
DEFAULT_METRICS = tuple(name for name in CATALOG if name != "revenue_per_session")
FUNNEL_VALUES = ("impressions", "clicks", "carts", "purchases", "clicked", "carted", "purchased", "revenue")
_FIRST = ("variant_id", "device", "channel", "user_type", "product_id")


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.ifelse(1, 0).sum()


def available_metrics(log: EventLog) -> list[Metric]:
    """Catalog metrics whose per-unit values this event log can provide."""
    have = _unit_values(log) | (set(COVARIATES) if log.covariates is not None else set())
    out = []
    for m in CATALOG.values():
        if {m.numerator, m.denominator or m.numerator} <= have:
            if m.covariate and m.covariate not in have:
                m = Metric(**{**m.__dict__, "covariate": None})
            out.append(m)
    return out


def _unit_values(log: EventLog) -> set[str]:
    values = {"impressions", "clicks", "carts", "purchases", "quantity", "revenue", "sessions",
              "clicked", "carted", "purchased"}
    if log.has("lcp_ms"):
        values.add("lcp_s")
    if log.has("http_status"):
        values.add("errors")
    if log.has("returned"):
        values.add("returns")
    return values


@ibis.udf.agg.builtin(name="arg_min")
def _duckdb_arg_min(arg: str, key: dt_.timestamp) -> str:  # type: ignore[empty-body]
    """DuckDB's native arg_min (Ibis's portable argmin compiles to a slower ordered FIRST)."""


def _first_by_time(t: ir.Table, column: str) -> ir.Value:
    col = t[column].cast("string")
    if t._find_backend().name == "duckdb":
        return _duckdb_arg_min(col, t.ts_server)
    return col.argmin(t.ts_server)


def unit_expr(log: EventLog, *, experiments: Sequence[str] | None = None, as_of: dt.datetime | None = None,
              settings: Settings | None = None, values: Iterable[str] | None = None) -> ir.Table:
    """Per-unit values and exclusion reason (an Ibis expression; nothing runs yet).

    ``values`` limits the optional per-unit values computed (``sessions`` costs an exact distinct
    count per unit, so it is computed only when a metric asks for it); the funnel, revenue and the
    bot signals are always there.
    """
    s = (settings or get_settings()).bots
    wanted = set(values) if values is not None else _unit_values(log)
    t = log.table
    if experiments is not None:
        t = t.filter(t.experiment_id.isin(list(experiments)))
    if as_of is not None:
        t = t.filter(t.ts_server <= as_of)
    ev = t.event
    first = {c if c != "variant_id" else "variant": _first_by_time(t, c) for c in _FIRST if c in t.columns}
    aggs: dict[str, ir.Value] = {
        **first,
        "multi_variant": t.variant_id.min() != t.variant_id.max(),
        "first_ts": t.ts_server.min(),
        "last_ts": t.ts_server.max(),
        "n_events": t.count(),
        "impressions": _count(ev == "impression"),
        "clicks": _count(ev == "click_detail"),
        "carts": _count(ev == "add_to_cart"),
        "purchases": _count(ev == "purchase"),
        "quantity": (ev == "purchase").ifelse(t.quantity, 0).sum(),
        "revenue": (ev == "purchase").ifelse(t.price * t.quantity, 0.0).sum(),
    }
    if "sessions" in wanted:
        aggs["sessions"] = t.session_id.nunique()
    if log.has("lcp_ms"):
        aggs["lcp_s"] = (t.lcp_ms / 1000.0).sum()
    if log.has("http_status"):
        aggs["errors"] = _count(t.http_status >= 500)
    if log.has("returned"):
        aggs["returns"] = _count((ev == "purchase") & t.returned.cast("boolean"))
    if log.has("user_agent"):
        aggs["headless"] = _count(t.user_agent.re_search(s.headless_ua_pattern)) > 0
    if log.has("dwell_ms"):
        aggs["dwell_mean"] = (ev == "impression").ifelse(t.dwell_ms, ibis.null()).mean()
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
        minute = t.ts_server.truncate("m")
        bursts = (t.group_by([t.ip_hash, minute.name("minute")]).aggregate(c=t.count())
                  .filter(lambda b: b.c > s.ip_burst_events_per_minute).select("ip_hash").distinct())
        reasons.append((u.ip.isin(bursts.ip_hash), "ip_burst"))
    span_hours = (u.last_ts.epoch_seconds() - u.first_ts.epoch_seconds()) / 3600.0
    reasons.append((u.n_events > s.max_events_per_unit_hour * (span_hours + 1.0), "event_rate"))
    reasons.append((u.multi_variant, "sticky"))
    excluded = ibis.cases(*reasons, else_="")

    mutations: dict[str, ir.Value] = {
        "excluded": excluded,
        "day": u.first_ts.date(),
        "clicked": (u.clicks > 0).ifelse(1, 0),
        "carted": (u.carts > 0).ifelse(1, 0),
        "purchased": (u.purchases > 0).ifelse(1, 0),
    }
    if "lcp_s" in u.columns:
        mutations["lcp_s"] = u.lcp_s.fill_null(0.0)
    u = u.mutate(**mutations)
    if log.covariates is not None:
        c = log.covariates
        cov_cols = [k for k in COVARIATES if k in c.columns]
        c = c.select("user_key", *cov_cols)
        u = u.left_join(c, u.user_key == c.user_key).drop("user_key_right")
        u = u.mutate(**{k: u[k].fill_null(0).cast("float64") for k in cov_cols})
    return u


def cube_expr(units: ir.Table, metrics: Iterable[Metric], dims: Sequence[str] = DEFAULT_DIMS) -> ir.Table:
    """Group per-unit values into the cube of sufficient statistics."""
    metrics = list(metrics)
    covariates = [c for c in COVARIATES if c in units.columns]      # all of them: balance check and adjustment
    values = sorted(({v for m in metrics for v in m.values()} | set(FUNNEL_VALUES) | set(covariates))
                    & set(units.columns))
    pairs = sorted({p for m in metrics for p in m.products()} | adjustment_products(metrics, covariates))
    pairs = [p for p in pairs if set(p) <= set(units.columns)]
    aggs: dict[str, ir.Value] = {"n": units.count(), "n_events__sum": units.n_events.sum(),
                                 "last_ts": units.last_ts.max()}
    for v in values:
        col = units[v].cast("float64")
        aggs[sum_col(v)] = col.sum()
        aggs[sq_col(v)] = (col * col).sum()
    for a, b in pairs:
        aggs[xprod_col(a, b)] = (units[a].cast("float64") * units[b].cast("float64")).sum()
    keys = ["experiment_id", "variant", "excluded", *[d for d in dims if d in units.columns]]
    return units.group_by(keys).aggregate(**aggs)


def aggregate_cube(log: EventLog, *, dims: Sequence[str] = DEFAULT_DIMS, experiments: Sequence[str] | None = None,
                   as_of: dt.datetime | None = None, metrics: Iterable[Metric] | None = None,
                   settings: Settings | None = None) -> pd.DataFrame:
    """Run the aggregation (one query) and return the cube for every experiment as a DataFrame."""
    ms = list(metrics) if metrics is not None else [m for m in available_metrics(log) if m.name in DEFAULT_METRICS]
    needed = {v for m in ms for v in m.values()}
    expr = cube_expr(unit_expr(log, experiments=experiments, as_of=as_of, settings=settings, values=needed), ms, dims)
    cube = expr.execute()
    sums = [c for c in cube.columns if "__" in c or c == "n"]
    cube[sums] = cube[sums].fillna(0.0).astype("float64")
    if "day" in cube.columns:
        cube["day"] = pd.to_datetime(cube["day"]).dt.date
    return cube.sort_values(["experiment_id", "variant", "excluded", *[d for d in dims if d in cube.columns]],
                            kind="stable").reset_index(drop=True)


def timeseries(log: EventLog, experiment_id: str, *, freq: str = "h", as_of: dt.datetime | None = None,
               since: dt.datetime | None = None) -> pd.DataFrame:
    """Event-time counts per variant and time bucket (``freq``: "m", "h" or "D").

    Columns: ``ts, variant, units, impressions, clicks, carts, purchases, revenue``. Used for
    trends (the rollout monitor reads its own series: :mod:`workbench.lifecycle.watch`).
    """
    t = log.table.filter(log.table.experiment_id == experiment_id)
    if as_of is not None:
        t = t.filter(t.ts_server <= as_of)
    if since is not None:
        t = t.filter(t.ts_server >= since)
    unit = {"m": "m", "h": "h", "D": "D", "d": "D"}[freq]
    ev = t.event
    out = (t.group_by([t.ts_server.truncate(unit).name("ts"), t.variant_id.name("variant")])
           .aggregate(units=t.user_key.nunique(), impressions=_count(ev == "impression"),
                      clicks=_count(ev == "click_detail"), carts=_count(ev == "add_to_cart"),
                      purchases=_count(ev == "purchase"),
                      revenue=(ev == "purchase").ifelse(t.price * t.quantity, 0.0).sum())
           .order_by(["ts", "variant"]))
    return out.execute()
