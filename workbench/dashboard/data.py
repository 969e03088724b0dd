"""What each dashboard view shows, as plain data built from the pipeline's results.

The views never compute a statistic: every lift, interval, p-value and chance to beat control
comes from :func:`workbench.pipeline.evaluate` (an :class:`~workbench.pipeline.ExperimentOutcome`),
from :func:`workbench.analysis.analyze_segments`, or from the statistics core
(:func:`workbench.stats.compare.compare_arrays`, :func:`workbench.stats.bayes.normal_lift`) called
here with the options the analysis used. These functions only select, join and reshape those
numbers into rows and frames for tables and plots, and each is unit-tested on its own.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..analysis import AnalysisOptions, analyze_segments
from ..bandits.history import fmt_weights
from ..display import ResultMixin, fmt_pct, finite_or_none
from ..lifecycle.inputs import analysis_options
from ..results import Comparison, MetricResult
from ..summary import summarize
from .badges import badges_for
from .rows import ANALYSING, PortfolioRow, filter_portfolio, portfolio_frame

__all__ = ["PortfolioRow", "current_weights", "portfolio_rows", "portfolio_frame", "filter_portfolio", "best_comparison",
           "VariantTile", "variant_tiles", "funnel_frame", "trend_frame", "PosteriorCurves", "posterior_curves",
           "chance_over_time", "forest_frame", "segment_result", "decision_log", "audit_frame", "allocation_frame",
           "RolloutProgress", "rollout_progress", "ReportLink", "report_links", "options_of", "REPORT_FILES",
           "comparison_of"]

REPORT_FILES = (("report", "report.html", "HTML report"), ("pdf", "report.pdf", "PDF report"),
                ("memo", "memo.html", "Decision memo"))


def _num(x: Any) -> float | None:
    return finite_or_none(x)


def options_of(outcome: Any) -> AnalysisOptions:
    """The analysis options the pipeline used for this experiment (its brief's, else the defaults)."""
    return AnalysisOptions(**analysis_options(outcome.brief, outcome.data))


# --- portfolio -------------------------------------------------------------------------------------
def comparison_of(outcome: Any, variant: Any) -> Comparison | None:
    """The primary-metric comparison of ``variant`` against the control (None when there is none)."""
    primary = outcome.result.primary
    for c in primary.comparisons if primary is not None else ():
        if c.variant == variant:
            return c
    return None


def best_comparison(outcome: Any) -> Comparison | None:
    """The primary-metric comparison of the variant the decision engine calls best."""
    primary = outcome.result.primary
    if primary is None or not primary.comparisons:
        return None
    best = comparison_of(outcome, outcome.decision.facts.get("best_variant"))
    return best or (primary.comparisons[0] if len(primary.comparisons) == 1 else None)


def _text(x: Any, default: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return default
    return str(x)


def current_weights(outcome: Any, registry: Any = None, bandits: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The traffic split in force: a bandit's latest logged decision as of its data
    (:class:`workbench.bandits.history.AllocationHistory`), else the registry's weights, else the planned split."""
    eid = outcome.experiment_id
    history = (bandits or {}).get(eid)
    if history is not None and history.current:
        return dict(history.current)
    weights = registry.weights.get(eid) if registry is not None else None
    return dict(weights) if weights else dict(outcome.data.expected_weights or {})


def portfolio_rows(outcomes: Mapping[str, Any], registry: Any = None,
                   bandits: Mapping[str, Any] | None = None, *, pending: bool = False) -> list[PortfolioRow]:
    """One row per experiment: registry state, timing, traffic, the primary lift and the decision.

    ``traffic_share`` is the experiment's share of all units in the portfolio; ``allocation`` the
    current weights (:func:`current_weights`: a bandit's latest logged decision, else the registry's, else
    the planned split). Registered experiments without
    events yet (drafts, just started) follow with ``decision`` and ``health`` "no data" — or, while the server's
    first analysis is still running (``pending``), "analysing": their registry facts, no verdict yet.
    """
    # a share of the portfolio's units needs every experiment's: none while the first analysis runs
    total = 0.0 if pending else sum(float(sum(o.result.units)) for o in outcomes.values()) or 0.0
    rows = []
    for eid, o in outcomes.items():
        rec = registry.records.get(eid) if registry is not None else None
        weights = current_weights(o, registry, bandits)
        units = float(sum(o.result.units))
        c = best_comparison(o)
        primary = o.result.primary
        facts = o.decision.facts
        rows.append(PortfolioRow(
            experiment_id=eid, name=_text(rec.name if rec else o.data.meta.get("name"), eid),
            state=rec.state if rec else "not registered",
            kind=_text(rec.kind if rec else o.data.meta.get("kind"), "ab"),
            category=_text(rec.category if rec else o.data.meta.get("category"), "—"),
            days_running=_num(facts.get("days_running")),
            traffic_share=units / total if total else None, units=units,
            allocation=fmt_weights(weights),
            primary_metric=primary.name if primary else "—",
            best_variant=c.variant if c else None,
            lift_rel=_num(c.lift_rel) if c else None,
            lift_rel_lo=_num(c.lift_rel_ci[0]) if c else None, lift_rel_hi=_num(c.lift_rel_ci[1]) if c else None,
            prob_beat_control=_num(c.prob_beat_control) if c else None,
            decision=o.decision.action, decision_reason=o.decision.reason, health=o.result.health.status,
            badges=tuple(badges_for(o)), arms=len(o.data.variants),
            owner=_text(rec.owner if rec else o.data.meta.get("owner"), "—")))
    for eid, rec in (registry.records.items() if registry is not None else ()):
        if eid in outcomes:
            continue                                   # registered but no events analysed yet (e.g. a draft)
        weights = registry.weights.get(eid) or {}
        rows.append(PortfolioRow(
            experiment_id=eid, name=_text(rec.name, eid), state=rec.state, kind=_text(rec.kind, "ab"),
            category=_text(rec.category, "—"), days_running=None, traffic_share=None, units=0.0,
            allocation=fmt_weights(weights), primary_metric="—",
            best_variant=None, lift_rel=None, lift_rel_lo=None, lift_rel_hi=None, prob_beat_control=None,
            decision=ANALYSING if pending else "no data", health=ANALYSING if pending else "no data",
            decision_reason="the server is analysing this experiment" if pending else
            "no events for this experiment in the data yet",
            arms=len(weights), owner=_text(rec.owner, "—")))
    return rows


# --- detail: tiles, funnel, trend ------------------------------------------------------------------
@dataclass(frozen=True)
class VariantTile(ResultMixin):
    """Descriptive numbers of one variant (no inference)."""

    variant: str
    is_control: bool
    units: float
    impressions: float | None
    ctr: float | None
    cvr: float | None
    revenue: float | None
    revenue_per_user: float | None
    weight: float | None


def variant_tiles(outcome: Any, weights: Mapping[str, float] | None = None) -> list[VariantTile]:
    """Per-variant units, impressions, CTR, CVR and revenue from :func:`workbench.summary.summarize`."""
    s = summarize(outcome.data)
    revenue = outcome.data.arm_table()["revenue__sum"] if "revenue__sum" in outcome.data.cube else None
    out = []
    for row in s.rows:
        v = row["variant"]
        out.append(VariantTile(
            variant=v, is_control=v == s.control, units=float(row["units"]), impressions=_num(row.get("impressions")),
            ctr=_num(row.get("ctr")), cvr=_num(row.get("cvr")),
            revenue=_num(revenue[v]) if revenue is not None else None,
            revenue_per_user=_num(row.get("revenue_per_user")),
            weight=_num((weights or {}).get(v))))
    return out


def funnel_frame(outcome: Any) -> pd.DataFrame:
    """Units reaching each step per variant (view → click → cart → purchase) and their share of the units
    (:func:`workbench.reports.views.funnel_rates`, with the dashboard's step names)."""
    from ..reports.views import funnel_rates

    f = funnel_rates(outcome.data).rename(columns={"share_of_exposed": "share"})
    f["step"] = f["step"].replace({"exposed": "viewed", "added to cart": "carted"})
    return f[["variant", "step", "units", "share"]]


def trend_frame(ts: pd.DataFrame, variants: Sequence[str] | None = None) -> pd.DataFrame:
    """Event-time trend: purchases per active unit per bucket (:func:`workbench.reports.views.event_trends`),
    naive UTC times, optionally for some variants."""
    from ..reports.views import event_trends

    cols = ["ts", "variant", "units", "purchases", "cvr"]
    if ts is None or ts.empty:
        return pd.DataFrame(columns=cols)
    out = event_trends(ts).rename(columns={"purchases_per_unit": "cvr"})
    if out["ts"].dt.tz is not None:
        out["ts"] = out["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    if variants is not None:
        out = out[out["variant"].isin(list(variants))]
    return out.reset_index(drop=True)[cols]


# --- detail: Bayesian evidence ---------------------------------------------------------------------
@dataclass(frozen=True)
class PosteriorCurves(ResultMixin):
    """Posterior densities of the primary metric: per arm (``rate``) or of each lift (``lift``)."""

    metric: str
    kind: str                               # rate (Beta per arm) | lift (normal per variant)
    model: str
    frame: pd.DataFrame                     # x, variant, density
    prob_beat_control: dict[str, float] = field(default_factory=dict)
    prior: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def posterior_curves(outcome: Any, *, points: int = 240) -> PosteriorCurves | None:
    """Densities for the primary metric, with the prior and model the analysis used.

    Proportions: each arm's Beta(a₀ + successes, b₀ + failures) posterior (the same parameters
    :func:`~workbench.stats.compare.compare_arrays` integrates for P(beat)). Means and ratios: the
    normal posterior of each variant's absolute lift from :func:`~workbench.stats.bayes.normal_lift`.
    """
    from ..stats.bayes import beta_density_grid, normal_density_grid, normal_lift

    primary = outcome.result.primary
    data = outcome.data
    if primary is None or not primary.comparisons:
        return None
    opts = options_of(outcome)
    probs = {c.variant: float(c.prob_beat_control) for c in primary.comparisons if _num(c.prob_beat_control) is not None}
    m = data.metric(primary.name)
    if primary.kind == "proportion":
        a0, b0 = opts.priors.get(m.name, opts.prior)
        st = data.stats(m, use_covariate=False)
        a = a0 + st.sum
        b = b0 + st.n - st.sum
        seen = np.asarray(st.n) > 0
        curves = beta_density_grid(a[seen], b[seen], [v for v, s in zip(data.variants, seen) if s], points=points)
        model = f"Beta({a0:g}, {b0:g}) prior, Beta–Binomial posterior of each arm's rate"
        return PosteriorCurves(m.name, "rate", model, curves.rename(columns={"name": "variant"}), probs,
                               f"Beta({a0:g}, {b0:g}) prior")
    prior = opts.normal_priors.get(m.name)
    posts = {}
    for c in primary.comparisons:
        se = _num(c.extra.get("se"))
        if se is None or se <= 0 or _num(c.lift_abs) is None:
            continue
        posts[c.variant] = normal_lift(c.lift_abs, se, prior_mean=prior[0] if prior else 0.0,
                                       prior_sd=prior[1] if prior else None, higher_is_better=primary.higher_is_better)
    if not posts:
        return None
    curves = normal_density_grid([p.post_mean for p in posts.values()], [p.post_sd for p in posts.values()],
                                 list(posts), points=points)
    prior_text = "flat prior" if prior is None else f"N({prior[0]:g}, {prior[1]:g}²) prior"
    return PosteriorCurves(m.name, "lift", f"normal–normal on the lift, {prior_text}",
                           curves.rename(columns={"name": "variant"}), probs, prior_text)


def chance_over_time(outcome: Any, dim: str = "day") -> pd.DataFrame:
    """P(variant beats control) on the primary metric as data accrued: cumulative by ``dim`` (day).

    Each point is the Bayesian comparison of the units first exposed up to that day
    (:func:`workbench.reports.views.cohort_lifts`, cumulative) with the prior and CUPED setting the
    analysis used.
    """
    from ..reports.views import cohort_lifts

    cols = ["day", "variant", "prob_beat_control", "units"]
    primary = outcome.result.primary
    data = outcome.data
    if primary is None or not primary.comparisons or dim not in data.cube.columns:
        return pd.DataFrame(columns=cols)
    opts = options_of(outcome)
    m = data.metric(primary.name)
    f = cohort_lifts(data, m, dim=dim, cumulative=True, cuped=opts.cuped, bayes=True,
                     prior=opts.priors.get(m.name, opts.prior), normal_prior=opts.normal_priors.get(m.name))
    f = f[np.isfinite(f["prob_beat_control"].astype(float))]
    return pd.DataFrame({"day": pd.to_datetime(f[dim]), "variant": f["variant"],
                         "prob_beat_control": f["prob_beat_control"], "units": f["n"]}, columns=cols).reset_index(drop=True)


def segment_result(outcome: Any, dim: str) -> Any:
    """Per-segment comparisons of every metric by ``dim`` (exploratory), with the analysis' options."""
    return analyze_segments(outcome.data, dim, options_of(outcome))


def _forest_row(group: str, label: str, m: MetricResult | Any, c: Any, alpha: float) -> dict[str, Any]:
    from ..metric_defs import catalog, treatment_text
    lift, (lo, hi) = _num(c.lift_rel), (_num(c.lift_rel_ci[0]), _num(c.lift_rel_ci[1]))
    signed = None if lift is None else (lift if m.higher_is_better else -lift)
    defined = catalog().get(m.name)
    treated = defined is not None and bool(treatment_text(defined))      # windowed or capped: say so
    return {"group": group, "label": label, "metric": f"{m.name}: {m.label}" if treated else m.name, "variant": c.variant, "lift_rel": lift,
            "lo": lo, "hi": hi, "better": None if signed is None else signed > 0,
            "significant": c.significant(alpha), "p_value": _num(c.p_value_adjusted)}


def forest_frame(outcome: Any, segments: Any = None) -> pd.DataFrame:
    """Relative lifts with confidence intervals: primary, secondary, guardrails, then segments.

    ``better`` says whether the point estimate moves the metric in its good direction (guardrails
    are better lower); segment rows come from :func:`segment_result` for the primary metric.
    """
    cols = ["group", "label", "metric", "variant", "lift_rel", "lo", "hi", "better", "significant", "p_value"]
    r = outcome.result
    rows = []
    order = {"primary": 0, "secondary": 1, "guardrail": 2}
    for m in sorted(r.metrics, key=lambda m: order.get(m.role, 3)):
        for c in m.comparisons:
            label = f"{m.name} · {c.variant}" if len(r.variants) > 2 else m.name
            rows.append(_forest_row(m.role, label, m, c, r.alpha))
    primary = r.primary
    if segments is not None and primary is not None:
        for sm in segments.metrics:
            if sm.metric != primary.name:
                continue
            for row in sm.rows:
                label = f"{segments.dim}={row.segment}" + (f" · {row.variant}" if len(r.variants) > 2 else "")
                rows.append(_forest_row(f"segment ({segments.dim})", label, primary, row, r.alpha))
    return pd.DataFrame(rows, columns=cols)


# --- detail: decisions, audit, allocation, rollout, reports ----------------------------------------
def decision_log(outcome: Any, registry: Any = None) -> pd.DataFrame:
    """The decision the policy makes now (not recorded) followed by the recorded decisions, newest first."""
    cols = ["when", "source", "policy", "action", "winner", "reason"]
    d = outcome.decision
    rows = [{"when": outcome.data.as_of, "source": "now (current data)", "policy": d.policy, "action": d.action,
             "winner": d.winner, "reason": d.reason}]
    if registry is not None and not registry.decisions.empty:
        rec = registry.decisions[registry.decisions["experiment_id"] == outcome.experiment_id]
        for r in rec.sort_values("decision_id", ascending=False).to_dict("records"):
            rows.append({"when": r["decided_at"], "source": f"recorded by {r['decided_by']}", "policy": r["policy"],
                         "action": r["action"], "winner": r["winner"], "reason": r["reason"]})
    return pd.DataFrame(rows, columns=cols)


def audit_frame(registry: Any, experiment_id: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Audit rows (newest first): when, who, action, why — optionally for one experiment."""
    cols = ["seq", "logged_at", "actor", "action", "experiment_id", "why"]
    if registry is None or registry.audit.empty:
        return pd.DataFrame(columns=cols)
    a = registry.audit
    if experiment_id is not None:
        a = a[a["experiment_id"] == experiment_id]
    return a.sort_values("seq", ascending=False).head(limit)[cols].reset_index(drop=True)


def allocation_frame(allocations: pd.DataFrame, experiment_id: str) -> pd.DataFrame:
    """The bandit's allocation decisions for one experiment in the window the service keeps."""
    cols = ["created_at", "policy", "segment", "variant", "units", "conversions", "prob_best", "previous_weight",
            "weight", "reason"]
    if allocations is None or allocations.empty:
        return pd.DataFrame(columns=cols)
    a = allocations[allocations["experiment_id"] == experiment_id]
    return a.sort_values(["created_at", "segment", "variant"], ascending=[False, True, True])[
        [c for c in cols if c in a.columns]].reset_index(drop=True)


@dataclass(frozen=True)
class RolloutProgress(ResultMixin):
    """Where a staged rollout stands, for the progress bar."""

    active: bool
    variant: str | None
    stages: tuple[float, ...]
    stage: int | None                  # 1-based current stage
    share: float | None
    due_at: dt.datetime | None
    state: str
    summary: str
    steps: pd.DataFrame


def rollout_progress(status: Any) -> RolloutProgress:
    """From :func:`workbench.lifecycle.rollout_status`: the stages, the current one and every step."""
    steps = pd.DataFrame([{k: s.get(k) for k in ("step", "variant_id", "share", "event", "event_at", "recorded_by")}
                          for s in (status.steps if status is not None else ())],
                         columns=["step", "variant_id", "share", "event", "event_at", "recorded_by"])
    if status is None or not status.plan:
        state = status.state if status is not None else "—"
        return RolloutProgress(False, None, (), None, None, None, state, "no staged rollout", steps)
    stages = tuple(float(s) for s in status.plan.get("stages", ()))
    if status.state == "promoting":
        due = f"; next check due {status.due_at:%Y-%m-%d %H:%M} UTC" if status.due_at else ""
        summary = f"stage {status.stage} of {len(stages)}: {fmt_pct(status.share, 0)} of traffic on {status.variant}{due}"
    elif status.state == "promoted":
        summary = f"{status.variant} serves 100 % of traffic (rollout complete)"
    elif status.state == "rolled_back":
        summary = f"rolled back: all traffic on the control (was {fmt_pct(status.share, 0)} on {status.variant})"
    else:
        summary = f"rollout of {status.variant}: {status.state}"
    return RolloutProgress(status.state == "promoting", status.variant, stages, status.stage, status.share,
                           status.due_at, status.state, summary, steps)


@dataclass(frozen=True)
class ReportLink(ResultMixin):
    """One generated file of an experiment and whether it exists yet."""

    key: str
    label: str
    url: str
    exists: bool


def report_links(reports_dir: str | Path, experiment_id: str) -> list[ReportLink]:
    """``reports/<dir>/report.html``, ``report.pdf`` and ``memo.html``, served under ``/reports/``."""
    from ..reports.keys import report_dirname

    folder = report_dirname(experiment_id)          # where the report runner writes it
    base = Path(reports_dir) / folder
    return [ReportLink(key, label, f"/reports/{folder}/{name}", (base / name).is_file())
            for key, name, label in REPORT_FILES]
