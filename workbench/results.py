"""Result objects of an analysis: the contract every presenter and the decision engine read.

These are produced by :func:`workbench.analysis.analyze` (statistics core) and consumed by the
decision policies, the memo, the report notebook, the dashboard and ``workbench analyze --json``.
Field names match the JSON the CLI prints. New fields may be added; existing ones keep their
meaning.

>>> c = Comparison(variant="b", control="control", control_value=0.10, variant_value=0.12,
...                lift_abs=0.02, lift_abs_ci=(0.01, 0.03), lift_rel=0.2, lift_rel_ci=(0.1, 0.3),
...                p_value=0.001, p_value_adjusted=0.002, test="welch", prob_beat_control=0.999,
...                expected_loss=0.0)
>>> c.significant(0.05), c.to_dict()["lift_abs_ci"]
(True, [0.01, 0.03])
"""

from __future__ import annotations

import datetime as dt

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Sequence

if TYPE_CHECKING:           # pandas is imported by the to_frame methods (the CLI's --help must not load it)
    import pandas as pd

from .display import ResultMixin
from .errors import Problem

__all__ = ["HealthStatus", "SRMResult", "HealthReport", "Comparison", "MetricResult", "AnalysisResult",
           "comparisons_frame"]

HealthStatus = Literal["healthy", "warning", "blocked"]


@dataclass(frozen=True)
class SRMResult(ResultMixin):
    """Chi-square goodness of fit of observed units against expected weights."""

    variants: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]     # expected units under the planned weights
    weights: tuple[float, ...]
    statistic: float
    p_value: float
    status: HealthStatus

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame({"variant": self.variants, "observed": self.observed,
                             "expected": self.expected, "weight": self.weights})


@dataclass(frozen=True)
class HealthReport(ResultMixin):
    """One badge (healthy / warning / blocked) with every reason that led to it."""

    status: HealthStatus
    issues: tuple[Problem, ...] = ()
    srm: SRMResult | None = None
    bot_exclusion_rate: float | None = None
    sticky_violators: int | None = None
    segment_srm: Any = None      # SRM within each segment, corrected together (workbench.health_balance)
    balance: Any = None          # pre-period covariate balance between arms (workbench.health_balance)

    @property
    def reasons(self) -> list[str]:
        return [p.message for p in self.issues if p.level != "info"]

    def __repr__(self) -> str:
        from .notebook import health_repr
        return health_repr(self)

    def _repr_html_(self) -> str:
        from .notebook import health_html
        return health_html(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([p.to_dict() for p in self.issues],
                            columns=["level", "code", "message", "file", "column", "row", "value"])


@dataclass(frozen=True)
class Comparison(ResultMixin):
    """One variant against the control on one metric.

    ``lift_abs`` = variant − control; ``lift_rel`` = variant / control − 1 (delta-method CI).
    ``test`` names what produced the p-value ("welch", "fisher", "delta", "cuped-welch"...).
    ``p_value_adjusted`` is after the multiplicity correction named in the metric result.
    ``prob_beat_control`` and ``expected_loss`` are Bayesian, in the metric's "better" direction.
    """

    variant: str
    control: str
    control_value: float
    variant_value: float
    lift_abs: float
    lift_abs_ci: tuple[float, float]
    lift_rel: float
    lift_rel_ci: tuple[float, float]
    p_value: float
    p_value_adjusted: float
    test: str
    prob_beat_control: float | None = None
    expected_loss: float | None = None
    n_control: float | None = None
    n_variant: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    segment: Any = None            # the segment level, for comparisons within one segment

    def significant(self, alpha: float = 0.05) -> bool:
        return bool(self.p_value_adjusted < alpha)

    def __repr__(self) -> str:
        from .notebook import comparison_repr
        return comparison_repr(self)


def comparisons_frame(comparisons: Sequence[Comparison], **columns: Any) -> pd.DataFrame:
    """One row per comparison, intervals split into ``*_lo``/``*_hi``, with constant ``columns`` first."""
    import pandas as pd
    rows = []
    for c in comparisons:
        d = c.to_dict()
        d.pop("extra", None)
        if d.get("segment") is None:
            d.pop("segment", None)
        lo, hi = d.pop("lift_abs_ci")
        rlo, rhi = d.pop("lift_rel_ci")
        rows.append({**columns, **d, "lift_abs_lo": lo, "lift_abs_hi": hi, "lift_rel_lo": rlo, "lift_rel_hi": rhi})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class MetricResult(ResultMixin):
    """All comparisons of one metric, with its role and how multiplicity was handled."""

    name: str
    kind: Literal["proportion", "mean", "ratio"]
    role: Literal["primary", "secondary", "guardrail"]
    comparisons: tuple[Comparison, ...]
    label: str = ""
    higher_is_better: bool = True
    limit: float | None = None
    correction: str = ""
    variance_reduction: float | None = None   # CUPED, when applied
    notes: tuple[str, ...] = ()
    prob_best: dict[str, float] | None = None  # Bayesian P(each compared arm is best), in the better direction
    unit: str = ""                             # rate, count, currency, seconds, value: how its numbers are written
    adjustment: Any = None                     # stratified multi-covariate estimate (workbench.adjustment.Adjustment)

    def to_frame(self) -> pd.DataFrame:
        return comparisons_frame(self.comparisons, metric=self.name, role=self.role)

    def __repr__(self) -> str:
        from .notebook import metric_repr
        return metric_repr(self)

    def _repr_html_(self) -> str:
        from .notebook import metric_html
        return f"<div class='workbench-result'>{metric_html(self)}</div>"

    def gain(self, c: Comparison) -> float:
        """``c``'s change in the metric's good direction (positive = better)."""
        return c.lift_abs if self.higher_is_better else -c.lift_abs

    def best(self) -> Comparison | None:
        """The comparison that moves the metric furthest in its good direction (ties: smaller adjusted p);
        None when no lift is finite."""
        comps = [c for c in self.comparisons if c.lift_abs is not None and math.isfinite(c.lift_abs)]
        if not comps:
            return None
        return max(comps, key=lambda c: (self.gain(c), -c.p_value_adjusted if math.isfinite(c.p_value_adjusted) else 0))


@dataclass(frozen=True)
class AnalysisResult(ResultMixin):
    """Health and metric results for one experiment (what ``workbench analyze --json`` prints)."""

    experiment_id: str
    variants: tuple[str, ...]
    control: str
    health: HealthReport
    metrics: tuple[MetricResult, ...]
    alpha: float = 0.05
    units: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()
    segments: tuple[Any, ...] = ()
    sequential: Any = None
    source: str = ""
    data_version: str = ""
    as_of: dt.datetime | None = None     # the data's time: the latest event analysed, or the --as-of asked for
    aa: Any = None                       # the A/A verdict (workbench.aa.AAVerdict) of an A/A experiment
    time_effects: Any = None             # calendar overlaps, day-of-week balance, novelty trend (workbench.time_effects)

    @property
    def primary(self) -> MetricResult | None:
        for m in self.metrics:
            if m.role == "primary":
                return m
        return None

    def guardrails(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.role == "guardrail"]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        frames = [m.to_frame() for m in self.metrics]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def __repr__(self) -> str:
        from .notebook import analysis_repr
        return analysis_repr(self)

    def _repr_html_(self) -> str:
        from .notebook import analysis_html
        return analysis_html(self)

    def plot(self) -> Any:
        """A HoloViews forest plot: the relative lift of every metric × variant with its interval."""
        from .notebook import forest_plot
        return forest_plot(self)
