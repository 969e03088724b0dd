"""Quantile metrics in the engine: fine histogram → quantile → per-user indicator sums, through Ibis.

:func:`quantile_sufficient_stats` turns an event table (any Ibis backend: DuckDB, PySpark, …; only
portable Ibis operations, no SQL strings) into the sufficient statistics of
:mod:`workbench.stats.quantile`, in two grouped queries:

1. **histogram**: every value gets a log-spaced bin key (relative width ``resolution``, default
   0.1 %; :func:`~workbench.stats.quantile.bin_keys`), grouped by ``by`` × arm × bin with the count,
   smallest and largest value. These rows (≈ ln(max/min) / resolution per arm at most, a few
   thousand) are the only thing read in this step; each arm's quantile ``q̂`` at every requested
   probability is read off them in NumPy, with numpy's ``linear`` interpolation, within the
   resolution (see the guarantee below);
2. **indicator sums**: the thresholds ``q̂`` (a small table, one row per group × arm) are joined to
   the events; per user ``Nᵢ`` (values) and ``Sᵢ`` (values ≤ ``q̂``, one column per probability);
   per arm ``n``, ΣN, ΣN², ΣS, ΣS², ΣS·N. One row per group × arm leaves the engine.

Then each arm's rank interval ``quantile_lo``/``quantile_hi`` is read off its histogram (outer
method of Deng, Knoblich and Lu 2018; see :mod:`workbench.stats.quantile`).

**Guarantee.** ``quantile`` equals ``numpy.quantile`` of the same values (default method) to within
``resolution × max(|x₍ₖ₎|, |x₍ₖ₊₁₎|)``, the two order statistics the quantile interpolates between
(plus ``2·floor`` for values closer to zero than ``floor``); it is exact when a bin holds a single
distinct value. The indicator sums are exact counts at that ``q̂``.

Rows with a missing or non-finite value, or a missing unit, arm or group key, are left out (a
user with no value is not part of the event-level distribution).

>>> import ibis, pandas as pd
>>> ev = pd.DataFrame({"user": [1, 1, 2, 3, 3, 4, 5, 6, 6, 6], "arm": ["a"] * 5 + ["b"] * 5,
...                    "lcp": [1.0, 2.0, 3.0, 4.0, 5.0, 1.5, 2.5, 3.5, 4.5, 9.0]})
>>> agg = quantile_sufficient_stats(ibis.memtable(ev), value="lcp", unit="user", arm="arm", probs=[0.5])
>>> print(agg.rows[["arm", "n", "events", "below", "quantile"]].to_string(index=False))
arm  n  events  below  quantile
  a  3       5      3       3.0
  b  3       5      3       3.5
>>> agg.stats(0.5, arms=["a", "b"]).quantile.tolist()
[3.0, 3.5]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from .display import ResultMixin
from .stats.quantile import (DEFAULT_FLOOR, DEFAULT_RESOLUTION, RANK_ALPHA, ArmHistogram, QuantileInputError,
                             QuantileStats, _bad, _check_prob, _check_resolution)

__all__ = ["bin_key_expr", "finite", "histogram_expr", "quantile_histograms", "quantile_thresholds",
           "thresholds_table", "unit_indicator_aggs", "indicator_expr", "QuantileAggregate",
           "quantile_sufficient_stats", "QuantileInputError"]

_V = "__qv"          # the cleaned value column
_KEY = "__qbin"       # histogram bin key
MOMENTS = ("n", "events", "events_sq", "below", "below_sq", "below_events")


def bin_key_expr(v: ir.NumericValue, *, resolution: float = DEFAULT_RESOLUTION,
                 floor: float = DEFAULT_FLOOR) -> ir.IntegerValue:
    """The histogram bin of a float64 value, in the engine (same formula as ``stats.quantile.bin_keys``)."""
    a = ibis.greatest(v.abs(), ibis.literal(floor, type="float64"))
    k = ((a.ln() - math.log(floor)) / math.log1p(resolution)).floor().cast("int64") + 1
    k = (v.abs() < floor).ifelse(ibis.literal(0, type="int64"), k)
    return k * (v < 0).ifelse(ibis.literal(-1, type="int64"), ibis.literal(1, type="int64"))


def finite(v: ir.NumericValue) -> ir.BooleanValue:
    """True where a float64 value can enter a quantile (not NULL, NaN or ±inf)."""
    return v.notnull() & ~v.isnan() & ~v.isinf()


def _clean(table: ir.Table, *, value: str, keys: Sequence[str]) -> ir.Table:
    missing = [c for c in (value, *keys) if c not in table.columns]
    if missing:
        raise _bad("missing_column", f"the event table has no column {missing[0]!r} (columns: "
                   f"{', '.join(table.columns)})", column=missing[0], value=missing[0])
    if not table[value].type().is_numeric():
        raise _bad("bad_type", f"column {value!r} must be numeric to take a quantile; it is {table[value].type()}",
                   column=value, value=str(table[value].type()))
    v = table[value].cast("float64")
    t = table.mutate(**{_V: v})
    cond = finite(t[_V])
    for c in keys:
        cond = cond & t[c].notnull()
    return t.filter(cond)


def histogram_expr(table: ir.Table, *, value: str, arm: str, by: Sequence[str] = (),
                   resolution: float = DEFAULT_RESOLUTION, floor: float = DEFAULT_FLOOR,
                   unit: str | None = None) -> ir.Table:
    """Ibis expression: one row per ``by`` × arm × bin with ``count``, ``vmin``, ``vmax`` (nothing runs)."""
    _check_resolution(resolution, floor)
    t = _clean(table, value=value, keys=[*by, arm, *([unit] if unit else [])])
    t = t.mutate(**{_KEY: bin_key_expr(t[_V], resolution=resolution, floor=floor)})
    return t.group_by([*by, arm, _KEY]).aggregate(count=t.count(), vmin=t[_V].min(), vmax=t[_V].max())


def quantile_histograms(table: ir.Table, *, value: str, arm: str, by: Sequence[str] = (),
                        resolution: float = DEFAULT_RESOLUTION, floor: float = DEFAULT_FLOOR,
                        unit: str | None = None) -> dict[tuple[Any, ...], ArmHistogram]:
    """Run :func:`histogram_expr`; one :class:`ArmHistogram` per ``(*by values, arm)``."""
    df = histogram_expr(table, value=value, arm=arm, by=by, resolution=resolution, floor=floor,
                        unit=unit).to_pandas()
    out: dict[tuple[Any, ...], ArmHistogram] = {}
    for key, g in df.groupby([*by, arm], sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(_KEY)
        out[tuple(_plain(k) for k in key)] = ArmHistogram(
            g["count"].to_numpy(np.float64), g["vmin"].to_numpy(np.float64), g["vmax"].to_numpy(np.float64))
    return out


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def quantile_thresholds(histograms: Mapping[tuple[Any, ...], ArmHistogram], probs: Sequence[float],
                        keys: Sequence[str]) -> pd.DataFrame:
    """Each group's quantile estimates: columns ``*keys, q_0 … q_{K-1}`` (one row per histogram)."""
    return pd.DataFrame([(*k, *h.quantile(list(probs)).tolist()) for k, h in histograms.items()],
                        columns=[*keys, *(f"q_{i}" for i in range(len(probs)))])


def thresholds_table(table: ir.Table, thresholds: pd.DataFrame, keys: Sequence[str]) -> ir.Table:
    """:func:`quantile_thresholds` as a small Ibis table on ``table``'s backend, keys cast to its types
    (join it to the events on ``keys`` to put each row's thresholds next to its value)."""
    schema = table.schema()
    mem = ibis.memtable(thresholds)
    return mem.mutate(**{c: mem[c].cast(schema[c]) for c in keys})


def unit_indicator_aggs(value: ir.NumericValue, thresholds: Sequence[ir.NumericValue], *,
                        where: ir.BooleanValue | None = None, prefix: str = "") -> dict[str, ir.Value]:
    """Per-unit aggregations for a ``group_by(unit).aggregate(...)``: ``{prefix}n`` = the unit's values
    (rows where ``where`` holds and ``value`` is finite) and ``{prefix}below_k`` = those ≤ ``thresholds[k]``.

    This is how the indicator sums join a larger per-unit query (one pass over the events for every
    metric): the thresholds come from :func:`quantile_thresholds` (a joined column, or an ``ibis.cases``
    over a few experiment × arm keys), the per-arm Σ, Σ² and Σ·N of these columns are the moments of
    :class:`~workbench.stats.quantile.QuantileStats` (``n`` may count units without values: the
    variance changes only by the factor n/(n − 1)), and ``QuantileStats.from_moments`` finishes.
    """
    v = value.cast("float64")
    ok = finite(v) if where is None else (where & finite(v))
    one, zero = ibis.literal(1, type="int64"), ibis.literal(0, type="int64")
    out: dict[str, ir.Value] = {f"{prefix}n": ok.ifelse(one, zero).sum()}
    for k, q in enumerate(thresholds):
        out[f"{prefix}below_{k}"] = (ok & (v <= q)).ifelse(one, zero).sum()
    return out


def indicator_expr(table: ir.Table, thresholds: ir.Table, *, value: str, unit: str, arm: str,
                   by: Sequence[str] = (), n_probs: int = 1) -> ir.Table:
    """Ibis expression: per ``by`` × arm, ``n`` users and ΣN, ΣN², and for each probability k ΣSₖ, ΣSₖ²,
    ΣSₖN (columns ``below_k``, ``below_sq_k``, ``below_events_k``) where Sₖ counts a user's values at
    or below the arm's threshold ``q_k`` (``thresholds`` has ``by``, ``arm`` and ``q_0 … q_{K-1}``)."""
    keys = [*by, arm]
    t = _clean(table, value=value, keys=[*keys, unit])
    j = t.inner_join(thresholds, keys)
    u = j.group_by([*keys, unit]).aggregate(
        **unit_indicator_aggs(j[_V], [j[f"q_{k}"] for k in range(n_probs)], prefix="__"))
    aggs: dict[str, ir.Value] = {"n": u.count(), "events": u["__n"].sum(), "events_sq": (u["__n"] * u["__n"]).sum()}
    for k in range(n_probs):
        s = u[f"__below_{k}"]
        aggs |= {f"below_{k}": s.sum(), f"below_sq_{k}": (s * s).sum(), f"below_events_{k}": (s * u["__n"]).sum()}
    return u.group_by(keys).aggregate(**aggs)


@dataclass(frozen=True)
class QuantileAggregate(ResultMixin):
    """What :func:`quantile_sufficient_stats` returns.

    ``rows``: one row per ``by`` × arm × prob with columns ``*by, arm, prob, n, events, events_sq,
    below, below_sq, below_events, quantile, quantile_lo, quantile_hi`` (the fields of
    :class:`~workbench.stats.quantile.QuantileStats`). ``bins``: histogram rows read from the engine.
    """

    rows: pd.DataFrame
    by: tuple[str, ...]
    arm: str
    probs: tuple[float, ...]
    resolution: float
    floor: float
    rank_alpha: float
    bins: int

    def to_frame(self) -> pd.DataFrame:
        return self.rows

    def stats(self, prob: float, *, arms: Sequence[Any] | None = None,
              where: Mapping[str, Any] | None = None) -> QuantileStats:
        """:class:`QuantileStats` of one probability and one group (``where={"experiment_id": "e1"}``),
        arms in the order given (control first; default: sorted)."""
        r = self.rows[np.isclose(self.rows["prob"], prob, rtol=0, atol=1e-12)]
        for col, val in (where or {}).items():
            if col not in self.by:
                raise _bad("bad_parameter", f"{col!r} is not a grouping column (by: {', '.join(self.by) or 'none'})",
                           column=col, value=col)
            r = r[r[col] == val]
        if r.empty:
            raise _bad("no_rows", f"no quantile statistics for prob {prob} and {dict(where or {})}", column="prob",
                       value=prob)
        if len(r) != r[self.arm].nunique():
            raise _bad("ambiguous", "several groups match; name one with where={...}", column="where",
                       value=str(dict(where or {})))
        names = list(arms) if arms is not None else sorted(r[self.arm].tolist())
        r = r.set_index(self.arm)
        absent = [a for a in names if a not in r.index]
        if absent:
            raise _bad("empty_arm", f"arm {absent[0]!r} has no values for this metric", column=self.arm,
                       value=absent[0])
        r = r.loc[names]
        cols = {c: r[c].to_numpy(np.float64) for c in (*MOMENTS, "quantile", "quantile_lo", "quantile_hi")}
        from scipy import special
        return QuantileStats(np.full(len(names), float(prob)), **cols,
                             rank_z=float(special.ndtri(1 - self.rank_alpha / 2)), resolution=self.resolution)


def quantile_sufficient_stats(table: ir.Table, *, value: str, unit: str, arm: str, probs: Sequence[float],
                              by: Sequence[str] = (), resolution: float = DEFAULT_RESOLUTION,
                              floor: float = DEFAULT_FLOOR, rank_alpha: float = RANK_ALPHA) -> QuantileAggregate:
    """Sufficient statistics of ``value``'s quantiles at ``probs`` per ``by`` × ``arm``, computed in the engine.

    ``table`` holds one row per event (page view, order…) with the randomisation ``unit``, the
    ``arm`` and the numeric ``value``; ``by`` are optional grouping keys (experiment, segment). Raises
    :class:`~workbench.stats.quantile.QuantileInputError` (a ValueError) for a probability outside
    (0, 1), a missing or non-numeric column, or a table with no values.
    """
    probs = tuple(_check_prob("prob", p) for p in probs)
    if not probs:
        raise _bad("bad_parameter", "probs must name at least one probability", column="probs", value="[]")
    by = tuple(by)
    keys = [*by, arm]
    hists = quantile_histograms(table, value=value, arm=arm, by=by, resolution=resolution, floor=floor, unit=unit)
    if not hists:
        raise _bad("no_values", f"column {value!r} has no finite values to take a quantile of", column=value,
                   value=0)
    q_hat = {k: h.quantile(probs) for k, h in hists.items()}
    mem = thresholds_table(table, quantile_thresholds(hists, probs, keys), keys)
    moments = indicator_expr(table, mem, value=value, unit=unit, arm=arm, by=by, n_probs=len(probs)).to_pandas()
    out = []
    k = range(len(probs))
    for _, m in moments.iterrows():                  # one row per group × arm; all probabilities at once
        key = tuple(_plain(m[c]) for c in keys)      # the engine returns the keys it was given
        col = {c: np.array([[float(m[f"{c}_{i}"])] for i in k]) for c in ("below", "below_sq", "below_events")}
        per = {c: [[float(m[c])]] * len(probs) for c in ("n", "events", "events_sq")}
        s = QuantileStats.from_moments([hists[key]], probs, **per, **col, quantile=q_hat[key][:, None],
                                       rank_alpha=rank_alpha, resolution=resolution)
        for i, p in enumerate(probs):
            out.append({**dict(zip(keys, key)), "prob": p, **{c: float(getattr(s, c)[i, 0]) for c in MOMENTS},
                        **{c: float(getattr(s, c)[i, 0]) for c in ("quantile", "quantile_lo", "quantile_hi")}})
    rows = pd.DataFrame(out, columns=[*keys, "prob", *MOMENTS, "quantile", "quantile_lo", "quantile_hi"])
    rows = rows.astype({c: "int64" for c in MOMENTS}).sort_values([*keys, "prob"], kind="stable")
    rows = rows.reset_index(drop=True)
    return QuantileAggregate(rows, by, arm, probs, resolution, floor, rank_alpha,
                             int(sum(len(h.count) for h in hists.values())))
