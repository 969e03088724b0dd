"""The facts a decision policy's rules test, computed from one analysis, the brief and the context.

:func:`compute_facts` turns an :class:`~workbench.results.AnalysisResult`, the experiment's brief and
what is known about its surroundings (:class:`DecisionContext`) into the named facts of
:data:`FACTS`; the engine (:mod:`workbench.lifecycle.policies`) checks rules against them. Facts about
which test decides (fixed-horizon or always-valid), non-inferiority margins and time effects come from
:mod:`workbench.lifecycle.decision_tests`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..asof import days_between
from ..config import get_settings
from ..display import ResultMixin, fmt_ci, fmt_num, fmt_p_eq
from ..health import blocked_reason
from ..metrics import fmt_metric_delta, fmt_metric_value, metric_unit
from ..results import AnalysisResult, MetricResult
from .brief import ExperimentBrief
from .decision_tests import TEST_FACTS, decision_test_facts, sequential_p, time_facts
from .reasons import finding_key

__all__ = ["FACTS", "DecisionContext", "compute_facts"]

FACTS: dict[str, str] = {
    "experiment_id": "the experiment",
    "control": "the control variant",
    "health": "health badge: healthy, warning or blocked",
    "health_reasons": "the health check's reasons, joined",
    "srm_p": "SRM chi-square p-value",
    "srm_warning_p": "SRM warning threshold in force (brief, policy, or settings)",
    "srm_warning": "true when SRM p < the warning threshold or the health check flagged SRM",
    "primary_present": "the result has a primary metric",
    "primary": "primary metric name",
    "best_variant": "the variant with the best primary result (lift in the metric's good direction)",
    "primary_p": "p-value of the best variant on the primary metric that decides (see decided_by): the adjusted "
                 "fixed-horizon p, or the always-valid p when the decision is sequential",
    "primary_p_raw": "unadjusted p-value of the best variant",
    "primary_significant": "primary_p < alpha and the lift is in the good direction (fixed-horizon, or always-valid "
                           "when sequential)",
    "primary_harmful": "primary_p < alpha and the lift is in the bad direction",
    "primary_lift_abs": "best variant - control on the primary metric",
    "primary_lift_rel": "best variant / control - 1",
    "primary_gain_rel": "relative lift signed so that positive is better",
    "primary_ci_rel": "confidence interval of the relative lift (text)",
    "primary_ci_abs": "confidence interval of the absolute lift (text)",
    "control_value": "control's primary value",
    "variant_value": "best variant's primary value",
    "prob_beat_control": "Bayesian chance the best variant beats control",
    "expected_loss": "Bayesian expected loss of choosing the best variant",
    "best_supported": "the arm the evidence favours (best variant if P(beat) >= 0.5, else control)",
    "best_supported_prob": "the evidence for best_supported (P(beat) or 1 - P(beat))",
    "guardrails_worsened": "guardrail comparisons that worsened: delta > 0 and (delta > threshold or p < alpha, p the "
                           "always-valid one when the decision is sequential); the "
                           "threshold is worsened_abs (percentage points) for rates, worsened_rel x control for "
                           "other units, or the brief's per-guardrail worsened_abs",
    "guardrails_severe": "guardrail comparisons whose worsening exceeds severe_abs (rates) / severe_rel x control",
    "guardrails_breached": "guardrail comparisons whose variant value crosses the guardrail's limit",
    "worsened_list": "which guardrails worsened, by how much",
    "severe_list": "which guardrails worsened severely",
    "breached_list": "which limits were crossed",
    "variant_error_rate": "highest error rate among the variants (metric named by param error_metric)",
    "units_total": "units in all arms",
    "units_min_arm": "units in the smallest arm",
    "min_sample_size": "minimum units per arm from the brief",
    "sample_planned": "units the plan asks for: min_sample_size in the smallest arm, or min_sample_size x arms in all "
                      "arms together for a bandit (it moves traffic away from losing arms, so those stay small)",
    "min_sample_reached": "the sample counted (smallest arm; all arms for a bandit) has reached sample_planned (true "
                          "when the brief sets none)",
    "sample_progress": "the sample against the plan, in words (\"smallest arm 4,675 units, plan 8,333\")",
    "units_needed": "more units (all arms) the power calculator asks for",
    "units_needed_basis": "what units_needed is computed for",
    "days_running": "days from the start to the data's as-of (or --as-of; to the end when it ended earlier), to a "
                    "tenth of a day as the views show it",
    "max_duration_days": "maximum duration from the brief",
    "max_duration_reached": "days_running >= max_duration_days",
    "stock_drop": "relative fall in stock since the start (0.6 = 60 % less)",
    "price_change": "largest relative price move since the start",
    "promotion_period": "the global promotion-period switch is on",
    "automatic": "the experiment was created by the autopilot",
    "looks": "versions of its data the experiment has been decided on, this one included (1 without a registry)",
    "data_version": "the analysed data's version",
    "aa": "an A/A experiment (both arms the same by design): decided on the pipeline's health, never launched",
    "aa_healthy": "A/A only: split as planned, false positives compatible with alpha, daily p-values uniform",
    "health_blocked_by": "what blocks the health check, in a few words (e.g. a sample ratio mismatch)",
    "health_findings": "short keys of the health check's warnings and blocks (srm, sticky, bots...), joined",
    **TEST_FACTS,
}
"""Every fact a rule may test, with what it means (shown by ``workbench policies show``)."""



# --- facts ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionContext(ResultMixin):
    """What the engine knows beyond the analysis: timing, market signals and switches."""

    now: dt.datetime | None = None            # the evaluation time (workbench.asof.evaluation_time), not the wall clock
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    stock_drop: float | None = None
    price_change: float | None = None
    promotion_period: bool = False
    automatic: bool | None = None
    looks: int | None = None                  # versions of its data decided on, this one included (Registry.looks)



def _sequential(brief: ExperimentBrief | None, params: Mapping[str, Any]) -> bool:
    """Decide on the always-valid sequence: the brief says so, or the policy's ``sequential`` param."""
    return bool(getattr(brief, "sequential", False) or params.get("sequential", False))


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def compute_facts(result: AnalysisResult, *, brief: ExperimentBrief | None = None,
                  context: DecisionContext | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every fact of :data:`FACTS` for one analysis (unknown ones are ``None``)."""
    settings = get_settings()
    params = dict(params or {})
    ctx = context or DecisionContext()
    alpha = float(params.get("alpha", result.alpha or settings.alpha))
    f: dict[str, Any] = {k: None for k in FACTS}
    f.update(experiment_id=result.experiment_id, control=result.control, data_version=result.data_version or None)

    # health and SRM
    health = result.health
    f["health"] = health.status
    f["health_reasons"] = "; ".join(health.reasons) or "no issues"
    f["health_findings"] = ",".join(dict.fromkeys(finding_key(p.code) for p in health.issues if p.level != "info"))
    f["health_blocked_by"] = (blocked_reason(health) or "").removeprefix("the health check is blocked by ") or None
    f["aa"] = result.aa is not None
    f["aa_healthy"] = bool(result.aa.healthy) if result.aa is not None else None
    warn_p = (brief.srm.warning_p if brief and brief.srm.warning_p is not None else
              params.get("srm_warning_p", settings.srm.warning_p))
    f["srm_warning_p"] = float(warn_p)
    srm = health.srm
    flagged = any(p.code.startswith("srm") and p.level != "info" for p in health.issues)
    if srm is not None:
        f["srm_p"] = _num(srm.p_value)
        f["srm_warning"] = bool(srm.status != "healthy" or (f["srm_p"] is not None and f["srm_p"] < warn_p) or flagged)
    else:
        f["srm_warning"] = flagged

    # primary metric
    m = result.primary
    f["primary_present"] = m is not None
    if m is not None:
        f["primary"] = m.name
        best = m.best()
        if best is not None:
            gain = m.gain(best)
            sig = bool(best.p_value_adjusted < alpha)
            f.update(best_variant=best.variant, primary_p=_num(best.p_value_adjusted), primary_p_raw=_num(best.p_value),
                     primary_significant=sig and gain > 0, primary_harmful=sig and gain < 0,
                     primary_lift_abs=_num(best.lift_abs), primary_lift_rel=_num(best.lift_rel),
                     primary_gain_rel=_num(best.lift_rel if m.higher_is_better else -best.lift_rel),
                     primary_ci_rel=fmt_ci(*best.lift_rel_ci, pct=True), primary_ci_abs=fmt_ci(*best.lift_abs_ci),
                     control_value=_num(best.control_value), variant_value=_num(best.variant_value),
                     prob_beat_control=_num(best.prob_beat_control), expected_loss=_num(best.expected_loss))
            decision_test_facts(result, m, best, alpha=alpha, sequential=_sequential(brief, params), f=f)
            pb = f["prob_beat_control"]
            if pb is not None:
                f["best_supported"], f["best_supported_prob"] = ((best.variant, pb) if pb >= 0.5
                                                                 else (result.control, 1 - pb))
            elif f["primary_significant"]:
                f["best_supported"], f["best_supported_prob"] = best.variant, None
            else:
                f["best_supported"] = result.control

    if f["best_variant"] is None:
        decision_test_facts(result, None, None, alpha=alpha, sequential=_sequential(brief, params), f=f)
    time_facts(result, f)

    # guardrails
    worsened, severe, breached = [], [], []
    default_w = float(params.get("worsened_abs", settings.guardrails.worsened_abs))
    default_s = float(params.get("severe_abs", settings.guardrails.severe_abs))
    rel_w = float(params.get("worsened_rel", 0.05))
    rel_s = float(params.get("severe_rel", 0.15))
    f.update(guardrail_worsened_abs=default_w, guardrail_severe_abs=default_s, guardrail_worsened_rel=rel_w,
             guardrail_severe_rel=rel_s)      # the thresholds used, so every view states the same ones
    seq_mode = _sequential(brief, params)
    for g in result.guardrails():
        spec = brief.guardrail(g.name) if brief else None
        higher_better = spec.higher_is_better if spec else g.higher_is_better
        limit = spec.limit if spec and spec.limit is not None else g.limit
        is_rate = _unit(g) == "rate"
        for c in g.comparisons:
            # rates: absolute thresholds in percentage points; other units (seconds, currency):
            # thresholds relative to the control's level, unless the brief sets absolute ones
            scale = 1.0 if is_rate else abs(c.control_value) if math.isfinite(c.control_value) else 0.0
            w_abs = spec.worsened_abs if spec and spec.worsened_abs is not None else \
                (default_w if is_rate else rel_w * scale)
            s_abs = spec.severe_abs if spec and spec.severe_abs is not None else \
                (default_s if is_rate else rel_s * scale)
            delta = -c.lift_abs if higher_better else c.lift_abs   # > 0 means worse
            if not math.isfinite(delta):
                continue
            label = f"{g.name} ({c.variant}) {_fmt_delta(g, delta)}"
            # a sequential decision looks at every refresh: "worse by its p" then needs the always-valid p
            # too (a fixed-horizon p checked at every look would flag a harmless guardrail sooner or later)
            p_worse, p_name = c.p_value_adjusted, "adjusted p"
            if seq_mode and (p_seq := sequential_p(c, len(g.comparisons))) is not None:
                p_worse, p_name = p_seq, "always-valid p"
            # a one-sided p (an options file's non-inferiority test) says nothing about "worse"
            worse_p = p_worse < alpha and c.extra.get("alternative", "two-sided") == "two-sided"
            if delta > 0 and (delta > w_abs or worse_p):
                worsened.append(label + (f", {fmt_p_eq(p_worse, p_name)}" if math.isfinite(p_worse) else ""))
                if delta > s_abs:
                    severe.append(label)
            if limit is not None and math.isfinite(c.variant_value):
                over = c.variant_value > limit if not higher_better else c.variant_value < limit
                if over:
                    breached.append(f"{g.name} ({c.variant}) {_fmt_value(g, c.variant_value)} "
                                    f"{'>' if not higher_better else '<'} limit {_fmt_value(g, limit)}")
    f.update(guardrails_worsened=len(worsened), guardrails_severe=len(severe), guardrails_breached=len(breached),
             worsened_list="; ".join(worsened) or "none", severe_list="; ".join(severe) or "none",
             breached_list="; ".join(breached) or "none")
    err_name = str(params.get("error_metric", "error_rate"))
    for mm in result.metrics:
        if mm.name == err_name and mm.comparisons:
            f["variant_error_rate"] = max(_num(c.variant_value) or 0.0 for c in mm.comparisons)

    # sample size
    units = [float(u) for u in result.units] if result.units else []
    if not units and m is not None and m.comparisons and m.comparisons[0].n_control is not None:
        units = [float(m.comparisons[0].n_control)] + [float(c.n_variant or 0) for c in m.comparisons]
    if units:
        f["units_total"] = sum(units)
        f["units_min_arm"] = min(units)
    f["min_sample_size"] = brief.min_sample_size if brief else None
    f.update(_sample_plan(units, f["min_sample_size"], bandit=brief is not None and brief.allocation.mode == "bandit"))
    if m is not None and f["best_variant"] is not None and len(units) >= 2:
        best = next(c for c in m.comparisons if c.variant == f["best_variant"])
        idx = list(result.variants).index(best.variant) if best.variant in result.variants else 1
        from .sizing import units_needed
        need = units_needed(control_value=best.control_value, lift_abs_ci=best.lift_abs_ci, n_by_arm=units,
                            compare=(0, idx), kind=m.kind, mde=brief.mde if brief else None,
                            mde_type=brief.mde_type if brief else "relative", observed_lift_abs=best.lift_abs,
                            split=brief.expected_split if brief and brief.expected_split and
                            len(brief.expected_split) == len(units) else None)
        if need is not None:
            f["units_needed"] = need.units_more
            f["units_needed_basis"] = need.basis

    # timing and surroundings
    days = days_between(ctx.started_at, ctx.now, ended_at=ctx.ended_at)
    # to a tenth of a day, as every view shows it: data that ends seconds before the 12th midnight has run
    # "12.0 days" and has reached a 12-day maximum, on the dashboard and in the decision alike
    f["days_running"] = None if days is None else round(days, 1)
    f["max_duration_days"] = brief.max_duration_days if brief else None
    f["max_duration_reached"] = (f["days_running"] is not None and f["max_duration_days"] is not None
                                 and f["days_running"] >= f["max_duration_days"])
    f["stock_drop"] = _num(ctx.stock_drop)
    f["price_change"] = _num(ctx.price_change)
    f["promotion_period"] = bool(ctx.promotion_period)
    f["looks"] = int(ctx.looks or 1)
    f["automatic"] = bool(ctx.automatic if ctx.automatic is not None else (brief is not None and brief.origin == "autopilot"))
    return f


def _sample_plan(units: list[float], per_arm: int | None, *, bandit: bool) -> dict[str, Any]:
    """``sample_planned``, ``min_sample_reached`` and ``sample_progress``: the smallest arm against the minimum per
    arm, or, for a bandit, all arms against the minimum times the arms."""
    if per_arm is None:
        return {"sample_planned": None, "min_sample_reached": True, "sample_progress": "no planned sample in the brief"}
    if bandit:
        planned, counted = per_arm * len(units), sum(units)
        words = f"{fmt_num(counted)} units in all arms, plan {fmt_num(planned)} (a bandit plans the total)"
    else:
        planned, counted = per_arm, min(units) if units else 0.0
        words = f"smallest arm {fmt_num(counted)} units, plan {fmt_num(planned)}"
    return {"sample_planned": planned, "min_sample_reached": bool(units) and counted >= planned,
            "sample_progress": words}


def _unit(m: MetricResult) -> str:
    return metric_unit(m.name, m.kind, m.unit)


def _fmt_delta(m: MetricResult, delta: float) -> str:
    return f"{fmt_metric_delta(m.name, m.kind, delta, m.unit)} worse"


def _fmt_value(m: MetricResult, v: float) -> str:
    return fmt_metric_value(m.name, m.kind, v, m.unit)


