"""One experiment's story: the facts every view shows, taken from one object.

The CLI's ``decide --json``, the report's ``summary.json``, the dashboard's ``/api/experiments``
and the cross-view tests all read an :class:`ExperimentStory` built by :func:`story_of` from the
pipeline's :class:`~workbench.pipeline.ExperimentOutcome`: the health badge and its reasons, the
decision and its reasons, the best variant (``MetricResult.best``, the one the decision engine
names) and the primary metric's comparisons. Text views format these numbers with the display layer
(:mod:`workbench.display`), so a lift, an interval or a p-value reads the same everywhere.

>>> from workbench.results import Comparison, MetricResult, AnalysisResult, HealthReport
>>> c = Comparison("b", "control", 0.10, 0.11, 0.01, (0.002, 0.018), 0.1, (0.02, 0.18), 0.01, 0.01, "z")
>>> m = MetricResult("cvr", "proportion", "primary", (c,))
>>> r = AnalysisResult("e1", ("control", "b"), "control", HealthReport("healthy", ()), (m,))
>>> s = ExperimentStory.from_parts(r, None)
>>> s.best_variant, s.primary.comparisons[0]["lift_rel"]
('b', 0.1)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from .display import ResultMixin, escape, to_jsonable

__all__ = ["ExperimentStory", "PrimaryStory", "story_of", "time_sentences"]

_COMPARISON_KEYS = ("variant", "control", "control_value", "variant_value", "lift_abs", "lift_abs_ci", "lift_rel",
                    "lift_rel_ci", "p_value", "p_value_adjusted", "test", "prob_beat_control", "expected_loss")


@dataclass(frozen=True)
class PrimaryStory(ResultMixin):
    """The primary metric's comparisons with the control (full precision)."""

    metric: str | None
    kind: str | None
    correction: str = ""
    comparisons: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ExperimentStory(ResultMixin):
    """What every view says about one experiment: health, decision, best variant, primary lifts, allocation."""

    experiment_id: str
    control: str
    variants: tuple[str, ...]
    units: dict[str, float]
    health: str
    health_reasons: tuple[str, ...]
    srm_p: float | None
    action: str | None
    reason: str | None
    reasons: tuple[str, ...]
    winner: str | None
    policy: str | None
    rule: str | None
    best_variant: str | None
    primary: PrimaryStory
    data_as_of: str | None = None
    data_version: str = ""
    allocation: dict[str, float] = field(default_factory=dict)
    aa: dict[str, Any] | None = None          # an A/A experiment's pipeline verdict (workbench.aa.AAVerdict)
    decided_by: str | None = None             # what decided (Decision.decided_by: the test, the posterior or None)
    time_effects: tuple[str, ...] = ()        # calendar events, day-of-week imbalance, novelty/primacy (sentences)

    @classmethod
    def from_parts(cls, result: Any, decision: Any, *, data_as_of: Any = None,
                   allocation: Mapping[str, float] | None = None) -> "ExperimentStory":
        m = result.primary
        best = m.best() if m is not None else None
        comps = tuple({k: to_jsonable(getattr(c, k)) for k in _COMPARISON_KEYS} for c in m.comparisons) if m else ()
        h = result.health
        return cls(
            experiment_id=result.experiment_id, control=result.control, variants=tuple(result.variants),
            units={v: float(n) for v, n in zip(result.variants, result.units)},
            health=h.status, health_reasons=tuple(h.reasons), srm_p=h.srm.p_value if h.srm is not None else None,
            action=getattr(decision, "action", None), reason=getattr(decision, "reason", None),
            reasons=tuple(getattr(decision, "reasons", ()) or ()), winner=getattr(decision, "winner", None),
            policy=getattr(decision, "policy", None), rule=getattr(decision, "rule", None),
            best_variant=best.variant if best is not None else None,
            primary=PrimaryStory(m.name if m else None, m.kind if m else None, m.correction if m else "", comps),
            data_as_of=_iso(data_as_of if data_as_of is not None else getattr(result, "as_of", None)),
            data_version=result.data_version,
            allocation={str(k): float(v) for k, v in (allocation or {}).items()},
            aa=result.aa.to_dict() if getattr(result, "aa", None) is not None else None,
            decided_by=getattr(decision, "decided_by", None),
            time_effects=time_sentences(result),
        )

    def _repr_html_(self) -> str:
        from .display import fmt_ci, fmt_p, fmt_pct
        rows = "".join(
            f"<tr><td>{escape(c['variant'])}</td><td>{fmt_pct(c['lift_rel'], signed=True)}</td>"
            f"<td>{fmt_ci(*c['lift_rel_ci'], pct=True)}</td><td>{fmt_p(c['p_value_adjusted'])}</td></tr>"
            for c in self.primary.comparisons)
        return (f"<div class='workbench-result'><strong>{escape(self.experiment_id)}</strong>: "
                f"{escape((self.action or '—').title())} · health {escape(self.health)}<br>{escape(self.reason or '')}"
                f"<table><tr><th>variant</th><th>lift</th><th>CI</th><th>p (adj.)</th></tr>{rows}</table></div>")


def time_sentences(result: Any) -> tuple[str, ...]:
    """The time-effect sentences of an analysis (:meth:`workbench.time_effects.TimeEffects.sentences`)."""
    te = getattr(result, "time_effects", None)
    return tuple(te.sentences()) if te is not None and hasattr(te, "sentences") else ()


def _iso(x: Any) -> str | None:
    if x is None:
        return None
    if isinstance(x, (dt.datetime, dt.date)):
        return x.isoformat()
    return str(x)


def story_of(outcome: Any, *, allocation: Mapping[str, float] | None = None) -> ExperimentStory:
    """The story of one :class:`~workbench.pipeline.ExperimentOutcome`."""
    return ExperimentStory.from_parts(outcome.result, outcome.decision, data_as_of=outcome.data.as_of,
                                      allocation=allocation)
