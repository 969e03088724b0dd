"""IP bursts: the one bot rule that spans experiments — more than ``bots.ip_burst_events_per_minute`` events
from one IP hash in some minute.

An IP's burst is a fact of the whole event log up to the as-of time, not of the experiments being looked at:
a unit from a bursting IP is excluded whether its experiment is aggregated alone (``analyze -e``, one report)
or with all the others (the dashboard, ``report --all``), so every view counts the same units.

The rule has two forms, kept equal by ``tests/data/test_bursts.py``: :func:`burst_ips_expr`, an Ibis
expression that runs inside the aggregation's query on every engine (:mod:`workbench.aggregate`), and
:func:`bursts_by_experiment_sql`, DuckDB SQL text for the report keys, which read the database without
importing Ibis so that an unchanged re-run stays fast (:mod:`workbench.reports.keys`). This module imports
nothing heavy.

>>> "HAVING count(*) > 120" in bursts_by_experiment_sql(120, as_of=False)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["burst_ips_expr", "bursts_by_experiment", "bursts_by_experiment_sql"]


def burst_ips_expr(t: ir.Table, per_minute: int, among: ir.Table | None = None) -> ir.Table:
    """The IPs with more than ``per_minute`` events of ``t`` in some minute (``ip_hash``, distinct, never null);
    with ``among``, only the IPs that appear in those events (a subset of ``t``'s) are looked at.

    Only an IP with more than ``per_minute`` events in all can have such a minute, so the per-minute count runs
    over those IPs' events alone (bots: 16 IPs in two days of the 100 M-event lake). The count per IP has
    fewer groups than the count per IP and minute, which has nearly one per event (in a file of that lake
    202 k against 534 k, for 707 k events), and the groups are what a hash aggregation holds or spills.
    """
    t = t.filter(t.ip_hash.notnull())
    if among is not None:
        t = t.filter(t.ip_hash.isin(among.select("ip_hash").distinct().ip_hash))
    heavy = t.group_by("ip_hash").aggregate(c=t.count()).filter(lambda b: b.c > per_minute)
    cand = t.filter(t.ip_hash.isin(heavy.ip_hash))
    minute = cand.ts_server.truncate("m")
    return (cand.group_by([cand.ip_hash, minute.name("minute")]).aggregate(c=cand.count())
            .filter(lambda b: b.c > per_minute).select("ip_hash").distinct())


def bursts_by_experiment(t: ir.Table, per_minute: int) -> ir.Table:
    """``experiment_id``, ``ip_hash`` (distinct): each experiment's IPs that burst in the events ``t`` (the whole
    log up to a time) — what a report key must notice, since another experiment's events can make an IP burst."""
    b = burst_ips_expr(t, per_minute)
    seen = t.filter(t.ip_hash.isin(b.ip_hash))
    return seen.select(seen.experiment_id.cast("string").name("experiment_id"), "ip_hash").distinct()


def bursts_by_experiment_sql(per_minute: int, as_of: bool) -> str:
    """DuckDB SQL for :func:`bursts_by_experiment` of the ``events`` table, one row per experiment with its
    bursting IPs as a sorted list (``experiment_id``, ``ips``); with ``as_of`` it takes one parameter, the
    time up to which events count."""
    n = int(per_minute)
    ev = "FROM events WHERE ip_hash IS NOT NULL" + (" AND ts_server <= $1" if as_of else "")
    # the bursts once (materialised), then each experiment's events from them
    return (f"WITH burst AS MATERIALIZED (SELECT DISTINCT ip_hash {ev} AND ip_hash IN "
            f"(SELECT ip_hash {ev} GROUP BY ip_hash HAVING count(*) > {n}) "
            f"GROUP BY ip_hash, date_trunc('minute', ts_server) HAVING count(*) > {n}) "
            "SELECT CAST(experiment_id AS VARCHAR) AS experiment_id, list_sort(list(DISTINCT ip_hash)) AS ips "
            f"{ev} AND ip_hash IN (SELECT ip_hash FROM burst) GROUP BY 1")
