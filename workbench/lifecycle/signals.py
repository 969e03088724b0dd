"""Signals from around an experiment that can force a Hold: stock, price, the promotion period.

:func:`market_signals` reads the ``catalog_daily`` table (product_id, day, stock, price) through
Ibis and reports how far stock has fallen and how far the price has moved since the experiment
started; :func:`decision_context` puts those together with the experiment's start time and the
global promotion-period switch into the :class:`~workbench.lifecycle.policies.DecisionContext`
the decision engine reads.

>>> import duckdb, datetime as dt
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE catalog_daily AS SELECT * FROM (VALUES "
...     "('p1', DATE '2026-03-01', 100, 10.0), ('p1', DATE '2026-03-02', 80, 10.0), "
...     "('p1', DATE '2026-03-03', 30, 12.5)) t(product_id, day, stock, price)")
>>> s = market_signals(con, "p1", since=dt.datetime(2026, 3, 1, 9), now=dt.datetime(2026, 3, 3, 18))
>>> round(s.stock_drop, 2), round(s.price_change, 2)
(0.7, 0.25)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..asof import evaluation_time
from ..display import ResultMixin
from .policies import DecisionContext
from .registry import Registry

__all__ = ["MarketSignals", "market_signals", "decision_context", "as_ibis", "has_table"]


def as_ibis(con: Any) -> Any:
    """An Ibis backend for a DuckDB connection (or the Ibis backend itself)."""
    if hasattr(con, "table") and hasattr(con, "list_tables"):
        return con
    import ibis    # here, not at import: a report worker imports this module (the pipeline's types) but never queries

    return ibis.duckdb.from_connection(con)


def has_table(backend: Any, name: str) -> bool:
    return name in set(backend.list_tables())


@dataclass(frozen=True)
class MarketSignals(ResultMixin):
    """Stock fall (0.7 = 70 % less than at the start) and largest relative price move since the start."""

    product_id: str
    stock_start: float | None
    stock_now: float | None
    stock_drop: float | None
    price_start: float | None
    price_change: float | None
    days: int


def market_signals(con: Any, product_id: str, *, since: dt.datetime, now: dt.datetime) -> MarketSignals:
    """Stock and price moves of one SKU between ``since`` and ``now`` from ``catalog_daily``."""
    import ibis

    backend = as_ibis(con)
    if not has_table(backend, "catalog_daily"):
        return MarketSignals(product_id, None, None, None, None, None, 0)
    t = backend.table("catalog_daily")
    start_day, end_day = since.date(), now.date()
    before = (t.filter((t.product_id == product_id) & (t.day <= start_day)).order_by(ibis.desc("day")).limit(1)
              .select("day", "stock", "price"))
    during = (t.filter((t.product_id == product_id) & (t.day >= start_day) & (t.day <= end_day))
              .order_by("day").select("day", "stock", "price"))
    df = ibis.union(before, during, distinct=True).order_by("day").execute()
    if df.empty:
        return MarketSignals(product_id, None, None, None, None, None, 0)
    first, last = df.iloc[0], df.iloc[-1]
    stock0, stock1 = float(first["stock"]), float(last["stock"])
    drop = max(0.0, 1 - stock1 / stock0) if stock0 > 0 else None
    price0 = float(first["price"])
    change = float((df["price"].astype("float64") / price0 - 1).abs().max()) if price0 > 0 else None
    return MarketSignals(product_id, stock0, stock1, drop, price0, change, len(df))


def decision_context(reg: Registry, experiment_id: str, *, con: Any | None = None,
                     now: dt.datetime | None = None, data_as_of: dt.datetime | None = None,
                     data_version: str | None = None) -> DecisionContext:
    """Everything the engine needs besides the analysis, for an experiment in the registry.

    The clock is :func:`~workbench.asof.evaluation_time`: ``now`` (the user's --as-of), else the
    data's as-of (``AnalysisResult.as_of``), and the registry's clock only when neither is known.
    ``data_version`` (``AnalysisResult.data_version``) counts the looks: deciding again on data already
    decided on is not another one (:meth:`~workbench.lifecycle.registry.Registry.looks`).
    """
    rec = reg.get(experiment_id)
    now = evaluation_time(as_of=now, data_as_of=data_as_of, fallback=reg.clock)
    assert now is not None
    stock_drop = price_change = None
    if rec.product_id and rec.started_at is not None:
        if con is not None:
            s = market_signals(con, rec.product_id, since=rec.started_at, now=now)
        else:
            with reg.connect() as own:
                s = market_signals(own, rec.product_id, since=rec.started_at, now=now)
        stock_drop, price_change = s.stock_drop, s.price_change
    return DecisionContext(now=now, started_at=rec.started_at, ended_at=rec.ended_at, stock_drop=stock_drop, price_change=price_change,
                           promotion_period=reg.promotion_period(), automatic=rec.origin == "autopilot",
                           looks=reg.looks(experiment_id, data_version))
