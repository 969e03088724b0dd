"""CUPED covariates as *the same definition over the pre-period* (``covariate: same``).

GrowthBook, Eppo and Statsig compute a metric's CUPED covariate by running the metric's own
definition over a lookback window before each unit's first exposure. So does the workbench when a
definition says ``covariate: same`` (14 days, GrowthBook's default) or ``covariate: {lookback_days: 7}``:

- the source is the **pre-period events** (``pre_events``: the tracking schema of ``events`` without
  ``experiment_id``/``variant_id`` — a user's activity before exposure belongs to no experiment), a
  table beside ``events`` in DuckDB, ``pre_events.parquet`` beside an events file, or ``pre_events/``
  in a Parquet lake (so Spark reads it too);
- per unit (experiment × user), the metric's value — its event filter, ``where``, aggregation and cap,
  not its post-exposure window — over the pre-period events in ``[first exposure − lookback, first
  exposure)``, computed in the same Ibis query as the metric itself (a join of the units' first
  exposures with ``pre_events`` on ``user_key``, then one ``group_by``); units without pre-period
  events get 0, like new users;
- a ratio metric's covariate is the linearised pre-period ratio ``num − R·den`` (R: the pooled
  pre-period ratio of the experiment's included units, a window sum in the engine), the covariate
  Deng et al. (2013) use for ratio metrics; it enters the cube's sums like any covariate.

The named pre-period aggregates (``pre_sessions``, ``pre_purchases``, ``pre_revenue`` in ``pre_period``)
stay: the built-ins use them, and they are the covariates of a world without pre-period events. A
``covariate: same`` metric over an event log without pre-period events is refused in one line naming
the definitions file and key.

>>> from workbench.metric_defs import definitions_from_mapping
>>> d = definitions_from_mapping({"metrics": {"rev14": {"kind": "mean", "value": "revenue",
...     "covariate": "same"}}}, source="team.yaml")
>>> m = d.metrics["rev14"]
>>> m.covariate, m.covariate_lookback, d.covariates["rev14_pre"].numerator.window
('rev14_pre', 14.0, (-14.0, 0.0))
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..errors import InputError, Problem
from .schema import ValueDef, _days

__all__ = ["CovariateDef", "DEFAULT_LOOKBACK_DAYS", "parse_covariate", "same_covariate", "add_pre_covariates",
           "PRE_EVENTS"]

# ``covariate: same``: the metric's own definition over this many days before each unit's first
# exposure (GrowthBook's default CUPED lookback).
DEFAULT_LOOKBACK_DAYS = 14.0
PRE_EVENTS = "pre_events"


@dataclass(frozen=True)
class CovariateDef:
    """A metric's CUPED covariate as *the same definition over the pre-period*: its ``numerator`` value
    (and, for a ratio, its ``denominator``) evaluated on the pre-period events of the ``lookback_days``
    before each unit's first exposure (both values carry that window as ``(-lookback_days, 0)``).
    A ratio's covariate is the linearised pre-period ratio ``num − R·den`` (R: the experiment's pooled
    pre-period ratio), one number per unit like any covariate.

    ``key`` and ``source`` name the definition (``metrics.rev.covariate`` in ``team.yaml``) for errors.
    """

    name: str
    numerator: ValueDef
    denominator: ValueDef | None
    lookback_days: float
    key: str = ""
    source: str = ""

    def values(self) -> list[ValueDef]:
        return [v for v in (self.numerator, self.denominator) if v is not None]

    def columns(self) -> set[str]:
        """Pre-period event columns the covariate reads (besides ``user_key`` and ``ts_server``)."""
        return set().union(*(v.columns() for v in self.values()))


def parse_covariate(c: Any, key: str, spec: Any, kind: Any, covariates: set[str] | None) -> float | None:
    """``covariate:``: a pre-period aggregate's name (None returned), or ``same`` / ``{lookback_days: N}``
    (the metric's own definition over the N days before each unit's first exposure: N returned)."""
    if spec is None:
        return None
    if kind == "quantile":
        c.add(key, "a quantile metric cannot have a CUPED covariate (CUPED adjusts means of per-unit values)",
              spec if isinstance(spec, str) else str(spec))
        return None
    if isinstance(spec, str) and spec.strip() == "same":
        return DEFAULT_LOOKBACK_DAYS
    if isinstance(spec, Mapping):
        if set(spec) != {"lookback_days"}:
            c.add(key, "a covariate is the name of a pre-period value (pre_revenue, ...), same, or "
                  "{lookback_days: 14} (the metric's own definition over the days before first exposure)",
                  str(dict(spec)))
            return None
        try:
            days = _days(spec["lookback_days"])
        except ValueError as exc:
            c.add(f"{key}.lookback_days", str(exc), str(spec["lookback_days"]))
            return None
        if not days > 0:
            c.add(f"{key}.lookback_days", "the lookback must be longer than 0 days (the days before each unit's "
                  "first exposure)", spec["lookback_days"])
            return None
        return days
    if not isinstance(spec, str):
        c.add(key, "the covariate is the name of a pre-period value (pre_revenue, ...), same, or {lookback_days: 14}",
              str(spec))
    elif covariates is not None and spec not in covariates:
        c.add(key, f"unknown pre-period value; one of {', '.join(sorted(covariates))}, or same", spec)
    return None


def same_covariate(c: Any, key: str, name: str, lookback: float, values: Mapping[str, ValueDef],
                   numerator: str, denominator: str | None, out: dict[str, CovariateDef]) -> str:
    """Register the covariate column ``<name>_pre``: the metric's value(s) over the lookback window."""
    col = f"{name}_pre"
    for taken in (col, f"{col}_num", f"{col}_den"):
        if taken in values:
            c.add(f"{key}.covariate", f"the covariate's column name {taken!r} is already a value", taken)
    window = (-float(lookback), 0.0)
    num = replace(values[numerator], name=col if denominator is None else f"{col}_num", window=window)
    den = replace(values[denominator], name=f"{col}_den", window=window, cap=None) if denominator else None
    out[col] = CovariateDef(col, num, den, float(lookback), key=f"{key}.covariate", source=c.source)
    return col


def _missing_source(covs: Mapping[str, CovariateDef], why: str, column: str | None = None) -> InputError:
    return InputError([Problem("blocked", "no_pre_period_events", why, file=c.source or None,
                               column=c.key or None, value=column) for c in covs.values()][:1])


def add_pre_covariates(u: Any, pre: Any, covs: Mapping[str, CovariateDef],
                       experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """Add each covariate of ``covs`` as a column of the per-unit table ``u`` (an Ibis expression with
    ``experiment_id, user_key, first_ts, excluded``), from the pre-period events ``pre``.

    Raises :class:`InputError` (file and key of the first definition) when there is no pre-period
    source or it lacks a column a definition reads.
    """
    import ibis

    from .compile import FIRST_EXPOSURE, apply_caps, unit_aggregate

    if not covs:
        return u
    if pre is None:
        raise _missing_source(covs, "covariate: same needs pre-period events (a pre_events table beside the "
                              "events, pre_events.parquet beside an events file, or pre_events/ in a lake); "
                              "name a pre-period value (pre_revenue, ...) or remove the covariate")
    need = set().union(*(c.columns() for c in covs.values())) - {"experiment_id", "variant_id"}
    for col in ("user_key", "ts_server", *sorted(need)):
        if col not in pre.columns:
            bad = {k: c for k, c in covs.items() if col in c.columns() | {"user_key", "ts_server"}}
            raise _missing_source(bad, f"the pre-period events have no column {col!r}, which the covariate reads",
                                  col)
    p = pre.select("user_key", "ts_server", *sorted(need))
    keys = u.select("experiment_id", pre_key="user_key", **{FIRST_EXPOSURE: u.first_ts})
    longest = max(c.lookback_days for c in covs.values())
    j = keys.inner_join(p, keys.pre_key == p.user_key)
    j = j.filter((j.ts_server < j[FIRST_EXPOSURE])
                 & (j.ts_server >= j[FIRST_EXPOSURE] - ibis.interval(seconds=int(round(longest * 86400)))))
    defs = {v.name: v for c in covs.values() for v in c.values()}
    a = (j.group_by(["experiment_id", "pre_key"])
         .aggregate(**{n: unit_aggregate(j, replace(v, cap=None), experiment_attrs) for n, v in defs.items()}))
    a = a.rename(pre_experiment="experiment_id")
    u = u.left_join(a, (u.experiment_id == a.pre_experiment) & (u.user_key == a.pre_key)).drop("pre_experiment",
                                                                                              "pre_key")
    u = u.mutate(**{n: u[n].fill_null(0).cast("float64") for n in defs})
    u = apply_caps(u, defs)
    ratios = {k: c for k, c in covs.items() if c.denominator is not None}
    if ratios:
        included = u.excluded == ""
        lin = {}
        for k, c in ratios.items():
            num, den = u[c.numerator.name], u[c.denominator.name]      # type: ignore[union-attr]
            s_num = included.ifelse(num, 0.0).sum().over(group_by=[u.experiment_id])
            s_den = included.ifelse(den, 0.0).sum().over(group_by=[u.experiment_id])
            r = (s_den != 0).ifelse(s_num / s_den, 0.0)
            lin[k] = num - r * den
        u = u.mutate(**lin)
    return u
