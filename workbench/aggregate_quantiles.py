"""Quantile metrics from the event log: per-event values → per-arm histogram statistics, in the engine.

A quantile metric (``lcp_p90``) reads a per-event value (``lcp_ms / 1000`` of page views) through
its definition (event filter, window after the unit's first exposure) on the events of the units
the cube analyses (included units: no bots, no sticky violators, so a unit's events carry its one
variant, its arm). :func:`workbench.quantiles.quantile_sufficient_stats` turns them into per-experiment × arm
statistics (a histogram pass and an indicator-sum pass; events never leave the engine). Metrics
that read the same value share the passes (``lcp_p50`` and ``lcp_p90``: one histogram).

The result is a small table, one row per metric × experiment × arm: ``metric, experiment_id,
variant, prob`` and the fields of :class:`workbench.stats.quantile.QuantileStats`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

import ibis
import pandas as pd

from .config import Settings
from .db import execute_bounded
from .metric_defs import values as _values
from .metric_defs.compile import FIRST_EXPOSURE, event_value
from .metrics import Metric
from .sources.events import EventLog

__all__ = ["aggregate_quantiles", "empty_quantiles", "QUANTILE_COLUMNS"]

QUANTILE_COLUMNS = ("metric", "experiment_id", "variant", "prob", "n", "events", "events_sq", "below", "below_sq",
                    "below_events", "quantile", "quantile_lo", "quantile_hi")


def empty_quantiles() -> pd.DataFrame:
    """The quantile table with no rows (no quantile metric)."""
    return pd.DataFrame(columns=list(QUANTILE_COLUMNS))


def aggregate_quantiles(log: EventLog, metrics: Iterable[Metric], *, experiments: Sequence[str] | None = None,
                        as_of: dt.datetime | None = None, settings: Settings | None = None,
                        experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None,
                        excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-arm quantile statistics of every quantile metric in ``metrics`` (empty table when none).

    ``excluded`` lists the excluded units (``experiment_id``, ``user_key``: bots and sticky
    violators, as :func:`workbench.aggregate.unit_expr` decides); by default it is computed here.
    Every other unit's events carry one variant (units seen in two are excluded), which is its arm.
    """
    from .aggregate import unit_expr
    from .quantiles import QuantileInputError, quantile_sufficient_stats

    qms = [m for m in metrics if m.kind == "quantile"]
    if not qms:
        return empty_quantiles()
    defs = _values()
    if excluded is None:
        units = unit_expr(log, experiments=experiments, as_of=as_of, settings=settings, values=(),
                          experiment_attrs=experiment_attrs)
        excluded = execute_bounded(units.filter(units.excluded != "").select("experiment_id", "user_key"))
    t = log.table
    if experiments is not None:
        t = t.filter(t.experiment_id.isin(list(experiments)))
    if as_of is not None:
        t = t.filter(t.ts_server <= as_of)
    by_value: dict[str, list[Metric]] = {}
    for m in qms:
        by_value.setdefault(m.numerator, []).append(m)
    if any(defs[v].window is not None for v in by_value):
        t = t.mutate(**{FIRST_EXPOSURE: t.ts_server.min().over(group_by=[t.experiment_id, t.user_key])})
    frames = []
    if len(excluded):
        keys = excluded[["experiment_id", "user_key"]].astype(str).drop_duplicates().reset_index(drop=True)
        drop = ibis.memtable(keys)
        schema = t.schema()
        drop = drop.mutate(**{c: drop[c].cast(schema[c]) for c in ("experiment_id", "user_key")})
    for value, ms in by_value.items():
        expr, cond = event_value(t, defs[value], experiment_attrs)
        ev = (t if cond is None else t.filter(cond)).select("experiment_id", "user_key", variant=t.variant_id,
                                                            __value=expr.cast("float64"))
        if len(excluded):
            ev = ev.anti_join(drop, ["experiment_id", "user_key"])
        probs = sorted({float(m.quantile) for m in ms if m.quantile is not None})
        try:
            agg = quantile_sufficient_stats(ev, value="__value", unit="user_key", arm="variant", probs=probs,
                                            by=["experiment_id"])
        except QuantileInputError:
            continue                        # no value at all: the analysis says "not analysed"
        for m in ms:
            rows = agg.rows[(agg.rows["prob"] - float(m.quantile or 0)).abs() < 1e-12]
            frames.append(rows.assign(metric=m.name))
    out = pd.concat(frames, ignore_index=True) if frames else empty_quantiles()
    return out[list(QUANTILE_COLUMNS)]
