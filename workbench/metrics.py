"""Metric definitions: each metric is named by its numerator and denominator.

Source documents disagree on what "CVR" means (purchases per click, per impression, per user), so
the workbench never guesses: a :class:`Metric` says which per-unit value is the numerator, which is
the denominator (``None`` means "per randomisation unit"), and how to treat it:

- ``proportion``: a 0/1 value per unit (did the user purchase?) — variance p(1−p);
- ``mean``: any per-unit value (revenue per user) — Welch on the per-unit variance;
- ``ratio``: Σnumerator / Σdenominator where the denominator is not the unit (clicks per
  impression with users randomised) — delta method;
- ``quantile``: a quantile (p50 … p99) of a per-event value (LCP of page views), compared between
  arms from per-arm histogram statistics (:mod:`workbench.quantiles`), not from the cube's sums.

Metrics are data: the catalogue is ``metric_defs/catalogue.yaml`` (package data), and a team adds
its own in ``metrics.yaml``, ``--metrics FILE`` or a brief's ``metrics:`` (:mod:`workbench.metric_defs`).
:data:`CATALOG` holds the built-ins; :func:`workbench.metric_defs.catalog` the built-ins and the
definitions in use.

Aggregated tables name their sum columns by a fixed convention, so any stage can find them:
``n`` (units), ``<value>__sum``, ``<value>__sum_sq`` and ``<a>__x__<b>`` for Σa·b.

>>> m = CATALOG["cvr_per_click"]
>>> m.kind, m.numerator, m.denominator
('ratio', 'purchases', 'clicks')
>>> sorted(m.sum_columns())
['clicks__sum', 'clicks__sum_sq', 'clicks__x__purchases', 'n', 'purchases__sum', 'purchases__sum_sq']
>>> import pandas as pd
>>> rows = pd.DataFrame({"n": [10, 10], "purchased__sum": [2, 3], "purchased__sum_sq": [2, 3]})
>>> Metric("cvr", "proportion", "purchased").stats(rows).mean.tolist()
[0.2, 0.3]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Container, Literal

import numpy as np
import pandas as pd

from .display import fmt_change, fmt_change_ci, fmt_value
from .stats.sufficient import RatioStats, SufficientStats

__all__ = ["Metric", "MetricKind", "Role", "CATALOG", "UNIT_VALUES", "COVARIATES", "sum_col", "sq_col", "xprod_col",
           "metric_unit", "fmt_metric_value", "fmt_metric_delta", "fmt_metric_delta_ci"]

MetricKind = Literal["proportion", "mean", "ratio", "quantile"]
Role = Literal["primary", "secondary", "guardrail"]


def sum_col(value: str) -> str:
    return f"{value}__sum"


def sq_col(value: str) -> str:
    return f"{value}__sum_sq"


def xprod_col(a: str, b: str) -> str:
    """Name of the Σa·b column; symmetric in a and b."""
    a, b = sorted((a, b))
    return f"{a}__x__{b}"


@dataclass(frozen=True)
class Metric:
    """A metric: numerator / denominator of per-unit values, its kind, role and direction.

    ``covariate`` names a pre-period per-unit value used by CUPED: a ``pre_period`` aggregate
    (:data:`COVARIATES`), or with ``covariate_lookback`` the metric's own definition over that many days
    before each unit's first exposure (:mod:`workbench.metric_defs.pre_period`). ``higher_is_better`` is False
    for guardrails such as error rate or LCP. ``limit`` is an absolute level a guardrail must not
    cross (e.g. 3.5 seconds of LCP, 0.005 error rate), checked on the variant's value.
    """

    name: str
    kind: MetricKind
    numerator: str
    denominator: str | None = None
    covariate: str | None = None
    role: Role = "secondary"
    higher_is_better: bool = True
    limit: float | None = None
    label: str = ""
    unit: Literal["rate", "count", "currency", "seconds", "value", ""] = ""   # "": rate for proportions, else value
    window: tuple[float, float] | None = None    # days after each unit's first exposure (display; the value has it)
    cap: Any = None                              # metric_defs.Cap of the numerator (display; the value has it)
    quantile: float | None = None                # kind "quantile": which quantile, in (0, 1)
    description: str = ""
    covariate_lookback: float | None = None      # ``covariate: same``: days before first exposure (else a named one)

    def __post_init__(self) -> None:
        if self.kind == "quantile" and not (self.quantile is not None and 0 < self.quantile < 1):
            raise ValueError(f"quantile metric {self.name!r} needs a quantile strictly between 0 and 1")
        if self.kind == "ratio" and not self.denominator:
            raise ValueError(f"ratio metric {self.name!r} needs a denominator")
        if self.kind != "ratio" and self.denominator:
            raise ValueError(f"{self.kind} metric {self.name!r} is per unit; use kind='ratio' for a denominator")
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if not self.unit:
            object.__setattr__(self, "unit", "rate" if self.kind == "proportion" else "value")

    def with_role(self, role: Role) -> "Metric":
        return replace(self, role=role)

    def values(self) -> list[str]:
        """Per-unit values this metric reads."""
        return [v for v in (self.numerator, self.denominator, self.covariate) if v]

    def sum_columns(self) -> set[str]:
        """Columns an aggregated table must carry for this metric (none for a quantile metric)."""
        if self.kind == "quantile":
            return set()
        cols = {"n", sum_col(self.numerator), sq_col(self.numerator)}
        if self.denominator:
            cols |= {sum_col(self.denominator), sq_col(self.denominator), xprod_col(self.numerator, self.denominator)}
        if self.covariate:
            cols |= {sum_col(self.covariate), sq_col(self.covariate), xprod_col(self.numerator, self.covariate)}
            if self.denominator:
                cols.add(xprod_col(self.denominator, self.covariate))
        return cols

    def products(self) -> set[tuple[str, str]]:
        """Pairs (a, b) whose Σa·b this metric needs."""
        pairs: set[tuple[str, str]] = set()
        if self.kind == "quantile":
            return pairs
        if self.denominator:
            pairs.add(tuple(sorted((self.numerator, self.denominator))))  # type: ignore[arg-type]
        if self.covariate:
            pairs.add(tuple(sorted((self.numerator, self.covariate))))  # type: ignore[arg-type]
            if self.denominator:
                pairs.add(tuple(sorted((self.denominator, self.covariate))))  # type: ignore[arg-type]
        return pairs

    def stats(self, rows: pd.DataFrame, *, use_covariate: bool = True) -> SufficientStats | RatioStats:
        """Sufficient statistics from aggregated rows (one row per arm, in arm order)."""
        return self.stats_from(lambda name: rows[name].to_numpy(dtype="float64"), rows.columns,
                               use_covariate=use_covariate)

    def stats_from(self, col: Callable[[str], np.ndarray], columns: Container[str], *,
                   use_covariate: bool = True) -> SufficientStats | RatioStats:
        """Sufficient statistics from sum columns given by ``col(name)`` (arms on the last axis; any leading
        axes, e.g. one per segment level, are kept); ``columns``: the names ``col`` knows."""
        if self.kind == "quantile":
            raise KeyError(f"{self.name} (a quantile metric is computed from histograms, not the cube)")
        cov = self.covariate if (use_covariate and self.covariate and sum_col(self.covariate) in columns) else None
        if self.kind == "ratio":
            assert self.denominator is not None
            kw = {}
            if cov:
                kw = dict(x_sum=col(sum_col(cov)), x_sum_sq=col(sq_col(cov)),
                          num_x_sum=col(xprod_col(self.numerator, cov)), den_x_sum=col(xprod_col(self.denominator, cov)))
            return RatioStats(n=col("n"), num_sum=col(sum_col(self.numerator)), num_sum_sq=col(sq_col(self.numerator)),
                              den_sum=col(sum_col(self.denominator)), den_sum_sq=col(sq_col(self.denominator)),
                              num_den_sum=col(xprod_col(self.numerator, self.denominator)), **kw)
        kw = {}
        if cov:
            kw = dict(x_sum=col(sum_col(cov)), x_sum_sq=col(sq_col(cov)), xy_sum=col(xprod_col(self.numerator, cov)))
        return SufficientStats(n=col("n"), sum=col(sum_col(self.numerator)), sum_sq=col(sq_col(self.numerator)), **kw)


# Pre-period values joined from the covariate table, for CUPED.
COVARIATES: dict[str, str] = {
    "pre_sessions": "sessions in the 28 days before the experiment",
    "pre_purchases": "purchases in the 28 days before the experiment",
    "pre_revenue": "revenue in the 28 days before the experiment",
}


def _builtins() -> tuple[dict[str, str], dict[str, "Metric"]]:
    from .metric_defs import builtin_definitions
    defs = builtin_definitions()
    return {n: v.description for n, v in defs.values.items()}, dict(defs.metrics)


# Per-unit values the event-log aggregation produces (one row per unit and experiment) and the
# built-in metrics: both read from the package's catalogue.yaml.
UNIT_VALUES, CATALOG = _builtins()


def metric_unit(name: str, kind: str, unit: str | None = None) -> str:
    """``rate``, ``seconds``, ``currency`` … of a metric: its own ``unit`` when known (a result carries
    its metric's), else the catalogue's, else by its kind (proportions are rates)."""
    if unit:
        return unit
    if name in CATALOG:
        return CATALOG[name].unit
    from .metric_defs import catalog
    known = catalog().get(name)
    return known.unit if known is not None else ("rate" if kind == "proportion" else "value")


def fmt_metric_value(name: str, kind: str, v: float | None, unit: str | None = None) -> str:
    """A metric value for people: ``5.12%``, ``3.50 s``, ``1,234.50``; "—" when missing.

    >>> fmt_metric_value("cvr", "proportion", 0.0512), fmt_metric_value("lcp", "mean", 3.5)
    ('5.12%', '3.50 s')
    """
    return fmt_value(v, metric_unit(name, kind, unit))


def fmt_metric_delta(name: str, kind: str, v: float | None, unit: str | None = None) -> str:
    """A signed change of a metric: ``+0.21 pp`` for rates, ``+0.150 s``, ``+12.50``; "—" when missing
    (the notation of :data:`workbench.display.NOTATION` for the metric's unit).

    >>> fmt_metric_delta("cvr", "proportion", 0.0021), fmt_metric_delta("lcp", "mean", 0.15)
    ('+0.21 pp', '+0.150 s')
    """
    return fmt_change(v, metric_unit(name, kind, unit))


def fmt_metric_delta_ci(name: str, kind: str, lo: float | None, hi: float | None, unit: str | None = None) -> str:
    """An interval of a change of a metric: ``[+0.11, +0.73] pp`` for rates.

    >>> fmt_metric_delta_ci("cvr", "proportion", 0.0011, 0.0073)
    '[+0.11, +0.73] pp'
    """
    return fmt_change_ci(lo, hi, metric_unit(name, kind, unit))
