"""Builders for the lifecycle tests: crafted analysis results and briefs (no statistics are run)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from workbench.errors import Problem
from workbench.lifecycle.brief import ExperimentBrief, parse_brief
from workbench.results import AnalysisResult, Comparison, HealthReport, MetricResult, SRMResult

T0 = dt.datetime(2026, 3, 1, 9, 0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


def comp(variant: str = "b", control_value: float = 0.10, variant_value: float = 0.12, *, p: float = 0.001,
         p_adj: float | None = None, half_width: float | None = None, prob: float | None = None,
         n: tuple[float, float] | None = None, test: str = "welch", control: str = "control") -> Comparison:
    """A comparison whose lift and intervals follow from the values (CI half-width given or 0.01)."""
    lift = variant_value - control_value
    hw = 0.01 if half_width is None else half_width
    rel = variant_value / control_value - 1 if control_value else float("nan")
    rhw = hw / control_value if control_value else float("nan")
    return Comparison(variant=variant, control=control, control_value=control_value, variant_value=variant_value,
                      lift_abs=lift, lift_abs_ci=(lift - hw, lift + hw), lift_rel=rel, lift_rel_ci=(rel - rhw, rel + rhw),
                      p_value=p, p_value_adjusted=p if p_adj is None else p_adj, test=test, prob_beat_control=prob,
                      n_control=None if n is None else n[0], n_variant=None if n is None else n[1])


def metric(name: str, role: str, comps: Sequence[Comparison], *, kind: str = "proportion",
           higher_is_better: bool = True, limit: float | None = None, label: str = "") -> MetricResult:
    return MetricResult(name=name, kind=kind, role=role, comparisons=tuple(comps), label=label,  # type: ignore[arg-type]
                        higher_is_better=higher_is_better, limit=limit, correction="holm")


def guardrail(name: str = "error_rate", control_value: float = 0.002, variant_value: float = 0.002, *,
              p: float = 0.5, variant: str = "b", kind: str = "ratio", limit: float | None = 0.005,
              higher_is_better: bool = False) -> MetricResult:
    return metric(name, "guardrail", [comp(variant, control_value, variant_value, p=p, half_width=0.001)],
                  kind=kind, higher_is_better=higher_is_better, limit=limit)


def result(primary: Sequence[Comparison] | None = None, *, guardrails: Sequence[MetricResult] = (),
           secondary: Sequence[MetricResult] = (), health: str = "healthy", srm_p: float | None = 0.5,
           issues: Sequence[Problem] = (), units: Sequence[float] = (20000.0, 20000.0),
           variants: Sequence[str] | None = None, experiment_id: str = "exp-1", source: str = "",
           primary_name: str = "cvr", data_version: str = "v1", notes: Sequence[str] = ()) -> AnalysisResult:
    """An AnalysisResult built directly (no statistics run)."""
    comps = list(primary) if primary is not None else [comp()]
    names = tuple(variants) if variants else ("control", *[c.variant for c in comps])
    srm = None
    if srm_p is not None:
        status = "blocked" if srm_p < 1e-5 else "warning" if srm_p < 1e-3 else "healthy"
        total = sum(units)
        srm = SRMResult(variants=names, observed=tuple(units), expected=tuple(total / len(units) for _ in units),
                        weights=tuple(1 / len(units) for _ in units), statistic=1.0, p_value=srm_p, status=status)
    metrics = []
    if primary is not None or primary_name:
        metrics.append(metric(primary_name, "primary", comps))
    metrics += list(secondary) + list(guardrails)
    return AnalysisResult(experiment_id=experiment_id, variants=names, control=names[0],
                          health=HealthReport(health, tuple(issues), srm), metrics=tuple(metrics),  # type: ignore[arg-type]
                          units=tuple(units), source=source, data_version=data_version, notes=tuple(notes))


def brief_dict(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": "exp-1", "name": "Bolder CTA", "owner": "kim", "hypothesis": "urgent CTA lifts conversion",
        "primary_metric": "cvr", "secondary_metrics": ["ctr"],
        "guardrails": ["lcp <= 3.5s", "error_rate <= 0.5%", "return_rate"],
        "targeting": {"categories": ["shoes"], "product_ids": ["sho-0001"]},
        "variants": [{"id": "control", "meta": {"layout": "classic", "cta_tone": "neutral", "palette": "brand",
                                                "key_benefit": "price"}},
                     {"id": "b", "meta": {"layout": "classic", "cta_tone": "urgent", "palette": "brand",
                                          "key_benefit": "price"}}],
        "min_sample_size": 10000, "max_duration_days": 14,
    }
    d.update(over)
    return d


def make_brief(**over: Any) -> ExperimentBrief:
    return parse_brief(brief_dict(**over))
