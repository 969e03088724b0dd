"""ExperimentData: one experiment's sufficient statistics as a small cube, plus what we know about it.

Every source (aggregated CSV, unit-level table, event log in DuckDB or Parquet) ends up here. The
``cube`` has one row per variant × dimension cell (segment columns such as device, channel,
user_type, and optionally ``day`` of first exposure) and the sum columns named as in
:mod:`workbench.metrics`. Because sums add up, any breakdown is a group-by-and-sum of the cube: the
engine is queried once and never again for a new view.

>>> import pandas as pd
>>> from workbench.metrics import Metric
>>> cube = pd.DataFrame({"variant": ["control", "control", "b", "b"], "device": ["app", "web"] * 2,
...                      "n": [50, 50, 60, 40], "purchased__sum": [5, 5, 9, 3], "purchased__sum_sq": [5, 5, 9, 3]})
>>> d = ExperimentData("exp1", ("control", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),),
...                    dims=("device",))
>>> d.units().tolist()
[100.0, 100.0]
>>> d.stats("cvr").mean.tolist()
[0.1, 0.12]
>>> levels, s = d.stats_by("cvr", "device")
>>> levels, s.mean.round(3).tolist()
(['app', 'web'], [[0.1, 0.15], [0.1, 0.075]])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .display import TRANSIENT, ResultMixin
from .errors import Problem
from .metrics import Metric, Role
from .stats.sufficient import RatioStats, SufficientStats

__all__ = ["ExperimentData", "TrustFacts"]


@dataclass(frozen=True)
class TrustFacts(ResultMixin):
    """Counts the data layer measured about data quality, for the health checks to judge.

    ``bot_units``/``bot_events``: excluded as bots (by rule in ``bot_reasons``); ``sticky_violators``:
    units seen in more than one variant (excluded); ``units_total``/``events_total`` before exclusion.
    """

    units_total: int = 0
    events_total: int = 0
    bot_units: int = 0
    bot_events: int = 0
    bot_reasons: Mapping[str, int] = field(default_factory=dict)
    sticky_violators: int = 0
    unknown_variants: Mapping[str, int] = field(default_factory=dict)

    @property
    def bot_exclusion_rate(self) -> float:
        return self.bot_units / self.units_total if self.units_total else 0.0


@dataclass(frozen=True)
class ExperimentData:
    """Sufficient statistics of one experiment (control first in ``variants``) and their provenance."""

    experiment_id: str
    variants: tuple[str, ...]
    cube: pd.DataFrame
    metrics: tuple[Metric, ...] = ()
    dims: tuple[str, ...] = ()
    control_note: str = ""
    expected_weights: Mapping[str, float] | None = None
    problems: tuple[Problem, ...] = ()
    trust: TrustFacts | None = None
    source: str = ""
    as_of: dt.datetime | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    data_version: str = ""     # changes whenever the underlying data changes (cache and report keys)
    quantiles: pd.DataFrame | None = None   # quantile metrics: one row per metric × arm (aggregate_quantiles)
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False,
                                 metadata={TRANSIENT: True})
    """Reductions of ``cube`` computed once and reused by every metric (the arms' sums, the adjustment's cells);
    the cube is never changed in place. Not pickled nor kept in the dashboard's snapshot, and a
    :func:`dataclasses.replace` starts an empty one."""

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "memo"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, memo={})

    @property
    def control(self) -> str:
        return self.variants[0]

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.metrics) or "none"
        from .errors import InputError
        raise InputError([Problem("blocked", "unknown_metric", f"unknown metric {name!r}; this experiment has: {known}",
                                  file=self.source or None, column=name)])

    def metrics_with_role(self, role: Role) -> list[Metric]:
        return [m for m in self.metrics if m.role == role]

    @property
    def primary(self) -> Metric | None:
        found = self.metrics_with_role("primary")
        return found[0] if found else None

    def with_metrics(self, metrics: tuple[Metric, ...]) -> "ExperimentData":
        return replace(self, metrics=tuple(metrics))

    # --- reductions of the cube ---------------------------------------------------------------
    def _sum_cols(self) -> list[str]:
        return [c for c in self.cube.columns if c == "n" or "__" in c]

    def arm_table(self, where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One row per variant (in ``variants`` order) with the sum columns, optionally filtered."""
        if not where and "arms" in self.memo:
            return self.memo["arms"].copy()
        cube = self._filter(where)
        table = cube.groupby("variant", sort=False, observed=True)[self._sum_cols()].sum()
        table = table.reindex(list(self.variants), fill_value=0)
        if not where:
            self.memo["arms"] = table.copy()
        return table

    def _filter(self, where: Mapping[str, Any] | None) -> pd.DataFrame:
        cube = self.cube
        for key, value in (where or {}).items():
            cube = cube[cube[key].isin(value if isinstance(value, (list, tuple, set)) else [value])]
        return cube

    def units(self, where: Mapping[str, Any] | None = None) -> np.ndarray:
        return self.arm_table(where)["n"].to_numpy(dtype="float64")

    def units_per_day(self, *, full_days_only: bool = True) -> np.ndarray:
        """New units per ``day`` of first exposure, all arms together, in day order (empty without days).

        ``full_days_only`` leaves out the first and last day when there are more than three: an
        experiment rarely starts and stops at midnight, so those days are partial.
        """
        if "day" not in self.cube.columns:
            return np.asarray([], dtype=np.float64)
        counts = self.cube.groupby("day", observed=True)["n"].sum().sort_index().to_numpy(dtype=np.float64)
        return counts[1:-1] if full_days_only and counts.size > 3 else counts

    def stats(self, metric: str | Metric, where: Mapping[str, Any] | None = None,
              *, use_covariate: bool = True) -> SufficientStats | RatioStats:
        """Stats of one metric with arms on the last axis (control first)."""
        m = metric if isinstance(metric, Metric) else self.metric(metric)
        return m.stats(self.arm_table(where), use_covariate=use_covariate)

    def quantile_stats(self, metric: str | Metric) -> Any:
        """:class:`~workbench.stats.quantile.QuantileStats` of a quantile metric, arms in ``variants``
        order (an arm without values gets n = 0). KeyError when the data has none for it."""
        from .stats.quantile import QuantileStats
        m = metric if isinstance(metric, Metric) else self.metric(metric)
        q = self.quantiles
        rows = q[q["metric"] == m.name] if q is not None and len(q) else None
        if rows is None or rows.empty:
            raise KeyError(f"{m.name} (no quantile statistics)")
        rows = rows.set_index("variant").reindex(list(self.variants))
        cols = ("n", "events", "events_sq", "below", "below_sq", "below_events", "quantile", "quantile_lo",
                "quantile_hi")
        arr = {c: rows[c].to_numpy(dtype="float64") for c in cols}
        missing = np.isnan(arr["n"])
        for c in cols:
            arr[c] = np.where(missing, 0.0, arr[c])
        return QuantileStats(np.full(len(self.variants), float(m.quantile or 0.5)), **arr)

    def levels(self, dim: str) -> list[Any]:
        return sorted(self.cube[dim].dropna().unique().tolist())

    def stats_by(self, metric: str | Metric, dim: str, *, use_covariate: bool = True,
                 cumulative: bool = False) -> tuple[list[Any], SufficientStats | RatioStats]:
        """Stats per level of ``dim`` (leading axis) × arm (last axis).

        ``cumulative=True`` adds levels up in order (for ``day``: stats as of the end of each day
        for units first exposed by then), which is what sequential monitoring looks at.
        """
        m = metric if isinstance(metric, Metric) else self.metric(metric)
        levels = self.levels(dim)
        cols = self._sum_cols()
        grouped = self.cube.groupby([dim, "variant"], observed=True)[cols].sum()
        full = pd.MultiIndex.from_product([levels, list(self.variants)], names=[dim, "variant"])
        grouped = grouped.reindex(full, fill_value=0)
        if cumulative:
            grouped = grouped.groupby(level="variant", sort=False).cumsum()
        # levels × arms × sums in one array (the product index is level-major): one stats object for all levels
        sums = grouped.to_numpy(dtype="float64").reshape(len(levels), len(self.variants), len(cols))
        at = {c: i for i, c in enumerate(grouped.columns)}
        return levels, m.stats_from(lambda name: sums[:, :, at[name]], at, use_covariate=use_covariate)

    def funnel(self, where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Funnel per variant: event counts impression → click → cart → purchase, and units at each step."""
        t = self.arm_table(where)
        steps = [("units", "n"), ("impressions", "impressions__sum"), ("clicks", "clicks__sum"),
                 ("add_to_cart", "carts__sum"), ("purchases", "purchases__sum"), ("units_clicked", "clicked__sum"),
                 ("units_carted", "carted__sum"), ("units_purchased", "purchased__sum")]
        out = pd.DataFrame({label: t[c] for label, c in steps if c in t})
        out.index.name = "variant"
        return out
