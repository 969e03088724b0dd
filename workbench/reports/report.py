"""One experiment's report: every section as an HTML fragment, plus the memo and summary.json.

:class:`ExperimentReport` wraps the :class:`~workbench.reports.inputs.ReportInputs` of one
experiment (the pipeline's outcome and the report's extra data) and renders each section the
report notebook shows — overview, trust, primary result, guardrails, secondary metrics and
funnel, trends, CUPED, segments, SKUs within their category, bandit allocation, ROI, decision,
learning. Sections only *present*: numbers come from the pipeline's
:class:`~workbench.results.AnalysisResult` and :class:`~workbench.lifecycle.policies.Decision`
(the same objects the memo and the dashboard read), from :mod:`workbench.reports.views` and
:mod:`workbench.reports.roi`, or from the analysis functions the pipeline itself calls (run
again with one option changed, e.g. without CUPED, to show what CUPED bought).

In a notebook::

    from workbench.reports import load_report
    report = load_report("pdp-shoes-hero")
    report.header()
    report.trust()
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..analysis import heterogeneity_note
from ..config import Settings, get_settings
from ..display import dumps, fmt_ci, fmt_count, fmt_num, fmt_lift, fmt_p, fmt_p_eq, fmt_pct, fmt_pp, fmt_prob, fmt_share, fmt_change_ci
from ..experiment_data import ExperimentData
from ..lifecycle.brief import ExperimentBrief
from ..lifecycle.memo import DecisionMemo
from ..lifecycle.policies import Decision
from ..lifecycle.registry import ExperimentRecord
from ..metrics import fmt_metric_delta, fmt_metric_delta_ci, fmt_metric_value
from ..pipeline import ExperimentOutcome
from ..results import AnalysisResult, MetricResult
from ..story import story_of
from . import plots, views
from .html import HEALTH_CLASS, Html, badge, decision_banner, bullets, embed, heading, kv, note, page_head, table
from .inputs import ReportInputs, gather_inputs, load_inputs
from .roi import RoiProjection, roi_for_result

__all__ = ["ExperimentReport", "load_report", "SECTIONS", "SUMMARY_SCHEMA"]

SUMMARY_SCHEMA = 1
SECTIONS: tuple[str, ...] = ("Overview", "Trust", "Primary result", "Guardrails", "Secondary metrics and funnel",
                             "Trends", "CUPED variance reduction", "Segments", "SKU within its category",
                             "Bandit allocation", "ROI", "Decision and next actions", "Learning")
"""The report's section headings, in order (the notebook's Markdown headings say the same)."""


def load_report(experiment_id: str, *, db: str | Path | None = None, as_of: Any = None, policy: str | None = None,
                cache: str | Path | None = None, roi_horizon_days: int | None = None,
                settings: Settings | None = None) -> "ExperimentReport":
    """The report of one experiment: from the hand-off file ``cache`` when given, else from the database."""
    if cache:
        inputs = load_inputs(cache, experiment_id)
    else:
        inputs = gather_inputs([experiment_id], db=db, as_of=as_of, policy=policy,
                               roi_horizon_days=roi_horizon_days)[experiment_id]
    return ExperimentReport(inputs, settings=settings)


def _value(m: MetricResult, v: float | None) -> str:
    return fmt_metric_value(m.name, m.kind, v, m.unit)


def _delta(m: MetricResult, v: float | None) -> str:
    return fmt_metric_delta(m.name, m.kind, v, m.unit)


def _pct(v: Any) -> str:
    return fmt_pct(v) if isinstance(v, (int, float)) and v is not None else "—"


def _spct(v: Any) -> str:
    """A relative lift, always signed (the display layer's notation)."""
    return fmt_lift(v)


def _pp(v: Any) -> str:
    """A difference of rates in percentage points."""
    return fmt_pp(v)


def _when(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    ts = pd.Timestamp(x)
    return ts.strftime("%Y-%m-%d %H:%M") if (ts.hour or ts.minute) else ts.strftime("%Y-%m-%d")


class ExperimentReport:
    """The sections of one experiment's report (see the module docstring)."""

    def __init__(self, inputs: ReportInputs, *, settings: Settings | None = None) -> None:
        self.inputs = inputs
        self.settings = settings or get_settings()

    # --- what the report is about ------------------------------------------------------------------
    @property
    def experiment_id(self) -> str:
        return self.inputs.experiment_id

    @property
    def outcome(self) -> ExperimentOutcome:
        return self.inputs.outcome

    @property
    def data(self) -> ExperimentData:
        return self.outcome.data

    @property
    def result(self) -> AnalysisResult:
        return self.outcome.result

    @property
    def decision(self) -> Decision:
        return self.outcome.decision

    @property
    def brief(self) -> ExperimentBrief | None:
        return self.outcome.brief

    @property
    def record(self) -> ExperimentRecord | None:
        return self.outcome.record

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.data.variants)

    @property
    def name(self) -> str:
        if self.brief is not None and self.brief.name:
            return self.brief.name
        if self.record is not None and self.record.name:
            return self.record.name
        return str(self.data.meta.get("name") or self.experiment_id)

    @property
    def kind(self) -> str:
        return str(self.brief.kind if self.brief is not None else self.data.meta.get("kind", "ab"))

    @property
    def is_bandit(self) -> bool:
        mode = self.brief.allocation.mode if self.brief is not None else self.data.meta.get("allocation")
        return mode == "bandit" or self.kind == "bandit"

    @property
    def blocked(self) -> bool:
        return self.result.health.status == "blocked"

    @property
    def horizon_days(self) -> int:
        return int(self.inputs.params.roi_horizon_days or self.settings.reports.roi_horizon_days)

    def _options(self) -> dict[str, Any]:
        from ..lifecycle.inputs import analysis_options
        return analysis_options(self.brief, self.data)

    # --- extra analyses (the pipeline's own functions with one option changed) ------------------
    @cached_property
    def raw_result(self) -> AnalysisResult | None:
        """The same analysis without CUPED (to show the variance reduction CUPED achieved)."""
        if self.blocked:
            return None
        from ..analysis import analyze
        return analyze(self.data, **{**self._options(), "cuped": False, "bayes": False})

    @cached_property
    def sequential(self) -> tuple[Any, ...]:
        """Always-valid confidence sequences of the primary metric by day, tuned to the brief's sample size."""
        if self.blocked or self.brief is None or not self.brief.min_sample_size or "day" not in self.data.cube:
            return ()
        from ..analysis import SequentialOptions, analyze
        m = self.result.primary
        if m is None:
            return ()
        res = analyze(self.data, **{**self._options(), "bayes": False,
                                    "sequential": SequentialOptions(float(self.brief.min_sample_size))})
        return tuple((res.sequential or {}).get(m.name, ()))

    @cached_property
    def segment_results(self) -> dict[str, Any]:
        """Exploratory breakdowns of the primary metric by the configured dimensions."""
        from ..analysis import analyze_segments
        m = self.result.primary
        if self.blocked or m is None:
            return {}
        out = {}
        for dim in self.settings.reports.segment_dims:
            if dim in self.data.cube.columns:
                out[dim] = analyze_segments(self.data, dim, **{**self._options(), "metrics": (m.name,)})
        return out

    @cached_property
    def hierarchical_result(self) -> Any:
        """Empirical-Bayes shrinkage of per-SKU lifts within their categories (multi-SKU experiments), or None.

        :func:`workbench.hierarchical.fit_empirical_bayes` — the fast path of the hierarchical model
        (category Beta priors, lifts pooled on the log-odds scale); seeded by ``Settings.seed``.
        """
        sku, m = self.inputs.sku_data, self.result.primary
        cat = self.inputs.catalog
        if sku is None or m is None or m.kind != "proportion" or cat is None or cat.empty:
            return None
        from ..hierarchical import fit_empirical_bayes, sku_data_from_frame
        from ..hierarchical.world import sku_frame_from_breakdown
        categories = dict(zip(cat["product_id"].astype(str), cat["category"].astype(str)))
        frame, dropped = sku_frame_from_breakdown(sku, categories, metric=m.name)
        if frame.empty or frame["category"].nunique() < 1:
            return None
        data = sku_data_from_frame(frame, control=sku.control, file=self.experiment_id)
        return fit_empirical_bayes(data), dropped

    @cached_property
    def roi(self) -> list[RoiProjection]:
        return roi_for_result(self.result, self.data, horizon_days=self.horizon_days)

    @cached_property
    def memo(self) -> DecisionMemo:
        from ..lifecycle.memo import build_memo
        return build_memo(self.result, self.decision, brief=self.brief, record=self.record,
                          now=self.inputs.gathered_at)

    def _memo_items(self, section: str) -> list[str]:
        for name, blocks in self.memo.sections:
            if name == section:
                return [str(i) for b in blocks for i in b.items]
        return []

    # --- sections ----------------------------------------------------------------------------------
    def header(self) -> Html:
        """Page head (CSS, inline BokehJS), title, decision banner and key figures."""
        sub = f"{self.experiment_id} · {self.kind} · " + (f"state {self.record.state} · " if self.record else "") + \
            f"data as of {_when(self.data.as_of)} · data version {self.result.data_version}"
        parts = [page_head(), Html(f"<div class='wb-title'>{_e(self.name)}</div><div class='wb-sub'>{_e(sub)}</div>"),
                 decision_banner(self.decision)]
        kpis = [("health", badge(self.result.health.status, HEALTH_CLASS.get(self.result.health.status, "")))]
        m = self.result.primary
        best = (m.best() or m.comparisons[0]) if m is not None and m.comparisons else None
        if m is not None and best is not None:
            kpis += [(f"{m.name}: {best.variant} vs {best.control}", Html(_e(_spct(best.lift_rel)))),
                     (f"{fmt_share(1 - self.result.alpha)} CI (relative)",
                      Html(_e(fmt_ci(*best.lift_rel_ci, pct=True)))),
                     ("p-value (adjusted)", Html(_e(fmt_p(best.p_value_adjusted)))),
                     ("chance to beat control", Html(_e(fmt_prob(best.prob_beat_control))))]
        kpis.append(("units", Html(_e(fmt_num(float(sum(self.result.units))) if self.result.units else "—"))))
        items = "".join(f"<div class='wb-kpi'><div class='v'>{v.text}</div><div class='k'>{_e(k)}</div></div>"
                        for k, v in kpis)
        parts.append(Html(f"<div class='wb-kpis'>{items}</div>"))
        return Html.join(parts)

    def overview(self) -> Html:
        """Brief, hypothesis, dates, allocation and variants."""
        b, r, meta = self.brief, self.record, self.data.meta
        daily = self.inputs.daily
        first = daily["ts"].min() if daily is not None and not daily.empty else meta.get("start_ts")
        last = daily["ts"].max() if daily is not None and not daily.empty else self.data.as_of
        guard = ", ".join(g.describe() for g in b.guardrails) if b is not None and b.guardrails else \
            ", ".join(g.name for g in self.result.guardrails()) or "none"
        secondary = ", ".join(m.name for m in self.result.metrics if m.role == "secondary") or "none"
        mode = b.allocation.mode if b is not None else meta.get("allocation", "fixed")
        pairs: list[tuple[str, Any]] = [
            ("Hypothesis", (b.hypothesis if b is not None and b.hypothesis else meta.get("hypothesis")) or "not given"),
            ("Owner", b.owner if b is not None else meta.get("owner")),
            ("Kind", self.kind), ("State", r.state if r is not None else "not in the registry"),
            ("Decision policy", self.decision.policy),
            ("Primary metric", (self.result.primary.label or self.result.primary.name) if self.result.primary else "none"),
            ("Guardrails", guard), ("Secondary metrics", secondary),
            ("Category / SKU", f"{self.outcome.category or '—'} / {self.outcome.product_id or 'several or none'}"),
            *self._run_dates(),
            ("Data from", f"{_when(first)} to {_when(last)}"),
            # the same as-of as the header's "data as of" (the --as-of cut when one was given)
            ("As of", _when(self.data.as_of) + ("" if self.inputs.params.as_of else " (all data)")),
            ("Planned units per arm", fmt_num(b.min_sample_size) if b is not None and b.min_sample_size else "not set"),
            ("Maximum duration", f"{b.max_duration_days} days" if b is not None else "—"),
            ("Allocation", mode),
            ("Data version", self.result.data_version), ("Source", self.result.source or self.data.source)]
        split = views.arm_split(self.data, self.result.health.srm and dict(zip(self.result.health.srm.variants,
                                                                                self.result.health.srm.weights)))
        vm = self.data.meta.get("variant_meta") or {}
        rows = []
        for rec in split.to_dict("records"):
            v = rec["variant"]
            tags = (b.variant(v).meta if b is not None and v in b.variant_ids else vm.get(v, {})) or {}
            desc = b.variant(v).description if b is not None and v in b.variant_ids else ""
            rows.append({"variant": v + (" (control)" if v == self.data.control else ""), "description": desc,
                         "tags": ", ".join(f"{k}={val}" for k, val in sorted(tags.items())),
                         "planned": rec["planned_share"], "units": rec["units"], "observed": rec["observed_share"]})
        vt = table(pd.DataFrame(rows), {"planned": _pct, "observed": _pct, "units": fmt_num},
                   headers={"planned": "planned share", "observed": "observed share"},
                   caption="Planned share: the brief's split (for a bandit, its daily weights averaged over new units).")
        return Html.join([kv(pairs), heading("Variants"), vt])

    def _run_dates(self) -> list[tuple[str, str]]:
        """"Started" and "Ended" when the experiment ended, else one "Running since" row."""
        r, meta = self.record, self.data.meta
        started = _when(r.started_at) if r is not None and r.started_at else _when(meta.get("start_ts"))
        if r is not None and r.ended_at:
            return [("Started", started), ("Ended", _when(r.ended_at))]
        return [("Running since", started)]

    def trust(self) -> Html:
        """Health badge with every issue, SRM and its history, bots, sticky assignment, unknown labels, A/A."""
        h, t = self.result.health, self.data.trust
        parts = [Html(f"<p>Health: {badge(h.status, HEALTH_CLASS.get(h.status, '')).text}</p>")]
        issues = [p for p in h.issues if p.level != "info"]
        if issues:
            parts.append(table(pd.DataFrame([{"level": p.level, "check": p.code, "finding": p.message}
                                             for p in issues])))
        else:
            parts.append(note("No trust issue found: the split matches the plan, and bots, sticky-assignment "
                              "violations and unknown labels are within their thresholds."))
        parts.append(heading("Sample ratio"))
        srm = h.srm
        warn_p, blocked_p = self._srm_thresholds()
        if srm is not None:
            parts.append(table(srm.to_frame().assign(
                observed_share=lambda f: f["observed"] / f["observed"].sum()),
                {"observed": fmt_count, "expected": fmt_count, "weight": _pct,
                 "observed_share": _pct},
                caption=f"Chi-square {fmt_p_eq(srm.p_value)} (warning below {fmt_num(warn_p)}, blocked below {fmt_num(blocked_p)})."))
            hist = views.srm_history(self.data, dict(zip(srm.variants, srm.weights)))
            if not hist.empty:
                parts.append(embed(plots.srm_history_plot(hist, warning_p=warn_p, blocked_p=blocked_p)))
                below = hist[hist["p_value"] < warn_p]
                if not below.empty:
                    parts.append(note(f"The cumulative SRM p-value first fell below {fmt_num(warn_p)} on "
                                      f"{_when(below.iloc[0]['day'])}: look for a release, a redirect or a "
                                      "tracking change around that day.", "warn"))
        elif self.is_bandit:
            parts.append(note("SRM is not tested for a bandit: its allocation moves on purpose. The allocation "
                              "section compares the planned weights with the realised split day by day."))
        else:
            parts.append(note("No SRM test: no planned weights are known for this experiment."))
        parts.append(heading("Bots, sticky assignment and labels"))
        if t is not None:
            pairs = [("Units seen (before exclusions)", fmt_num(t.units_total)),
                     ("Excluded as bots", f"{fmt_num(t.bot_units)} units ({fmt_pct(t.bot_exclusion_rate)}), "
                                          f"{fmt_num(t.bot_events)} events"),
                     ("Bot rules that fired", ", ".join(f"{k}: {fmt_num(v)}" for k, v in sorted(t.bot_reasons.items()))
                      or "none"),
                     ("Sticky-assignment violations", f"{fmt_num(t.sticky_violators)} units seen in more than one "
                                                      f"variant ({fmt_pct(t.sticky_violators / t.units_total if t.units_total else 0, 3)}), excluded"),
                     ("Unknown variant labels", ", ".join(f"{k!r}: {fmt_num(v)} units" for k, v in
                                                          sorted(t.unknown_variants.items())) or "none")]
            parts.append(kv(pairs))
            parts.append(Html(f"<p class='wb-sub'>Warning thresholds: bots above "
                              f"{fmt_pct(self.settings.health.bot_rate_warning, 0)} of units, sticky violations above "
                              f"{fmt_pct(self.settings.health.sticky_rate_warning, 2)}.</p>"))
        else:
            parts.append(note("The data came aggregated: bots and sticky assignment could not be measured here."))
        parts.append(heading("A/A"))
        parts.append(self._aa())
        return Html.join(parts)

    def _srm_thresholds(self) -> tuple[float, float]:
        # The thresholds the analysis used: the brief's (via the analysis options), else Settings.
        from ..health import srm_thresholds_of
        o = self._options()
        return srm_thresholds_of(self.data, self.settings, o.get("srm_warning_p"), o.get("srm_blocked_p"))

    def _aa(self) -> Html:
        v = self.result.aa
        if v is not None:       # the same verdict object as the decision, the memo, the CLI and the dashboard
            return note(f"This is an A/A experiment: {v.verdict}; the three checks are listed with the decision.",
                        "info" if v.healthy else "warn")
        checks = [c for c in self.inputs.aa_checks if c.get("experiment_id") != self.experiment_id]
        if not checks:
            return note("No A/A experiment runs in this database, so the pipeline itself is not checked by one.", "warn")
        rows = [{"A/A experiment": c["experiment_id"], "verdict": c.get("verdict") or "—", "health": c["health"],
                 "metric": c.get("metric"), "p-value": c.get("p_value")} for c in checks]
        return Html.join([table(pd.DataFrame(rows), {"p-value": fmt_p},
                                caption="An A/A test on the same pipeline should be healthy with a non-significant "
                                        "p-value; if it is not, distrust every result.")])

    def _nothing(self, what: str, *, first: bool = False) -> Html:
        """One sentence, from the health facts, instead of empty tables and charts of a blocked experiment; the
        first empty section (the primary result) names the cause, later ones refer back to it."""
        from ..health import nothing_to_show
        return note(nothing_to_show(self.result.health, what, first=first) or f"No {what}.", "bad")

    def primary_result(self) -> Html:
        """Lift, CI, p-value, chance to beat control, sequential status."""
        m = self.result.primary
        if m is None:
            return note("No primary metric was analysed.", "warn")
        if self.blocked:
            return self._nothing("primary result", first=True)
        if not m.comparisons:
            return Html.join([note("Not analysed: " + ("; ".join(m.notes) or "no comparisons"), "bad"),
                              Html("<p>See the Trust section: results are withheld until the data can be trusted.</p>")])
        frame = views.comparisons_frame(m)
        level = 1 - self.result.alpha
        shown = frame.assign(ci_abs=[fmt_metric_delta_ci(m.name, m.kind, lo, hi, m.unit) for lo, hi in
                                     zip(frame["lift_abs_lo"], frame["lift_abs_hi"])],
                             ci_rel=[fmt_ci(lo, hi, pct=True) for lo, hi in zip(frame["lift_rel_lo"], frame["lift_rel_hi"])])
        parts = [Html(f"<p><strong>{_e(m.label or m.name)}</strong>. Multiplicity: {_e(m.correction)}.</p>"),
                 table(shown, {"control_value": lambda v: _value(m, v), "variant_value": lambda v: _value(m, v),
                               "lift_abs": lambda v: _delta(m, v), "lift_rel": _spct, "p_value": fmt_p,
                               "p_value_adjusted": fmt_p, "prob_beat_control": fmt_prob,
                               "expected_loss": lambda v: _delta(m, v) if v is not None else "—"},
                       columns=["variant", "control_value", "variant_value", "lift_abs", "ci_abs", "lift_rel", "ci_rel",
                                "p_value", "p_value_adjusted", "test", "prob_beat_control", "expected_loss"],
                       headers={"control_value": "control", "variant_value": "variant", "lift_abs": "Δ",
                                "ci_abs": f"{fmt_share(level)} CI (Δ)", "lift_rel": "lift", "ci_rel": f"{fmt_share(level)} CI (lift)",
                                "p_value": "p", "p_value_adjusted": "p (adjusted)", "prob_beat_control": "P(beat control)",
                                "expected_loss": "expected loss"},
                       row_class=lambda r: "good" if r["p_value_adjusted"] < self.result.alpha and
                       (r["lift_abs"] if m.higher_is_better else -r["lift_abs"]) > 0 else ("bad" if r["p_value_adjusted"] < self.result.alpha else "")),
                 embed(plots.lift_forest(frame.rename(columns={"lift_rel_lo": "lo", "lift_rel_hi": "hi"}),
                                         title=f"Relative lift of {m.name} with {fmt_share(level)} CI"))]
        bayes = next((c.extra.get("bayes") for c in m.comparisons if isinstance(c.extra, dict) and c.extra.get("bayes")),
                     None)
        if bayes:
            parts.append(Html(f"<p class='wb-sub'>Chance to beat control: {_e(bayes.get('model'))}.</p>"))
        if m.prob_best and len(m.prob_best) > 2:
            best = ", ".join(f"{v} {fmt_prob(p)}" for v, p in sorted(m.prob_best.items(), key=lambda kv: -kv[1]))
            parts.append(Html(f"<p>Chance of being the best arm: {_e(best)}.</p>"))
        if m.notes:
            parts.append(bullets(m.notes))
        parts.append(heading("Sequential status"))
        parts.append(self._sequential(m))
        return Html.join(parts)

    def _sequential(self, m: MetricResult) -> Html:
        seq = self.sequential
        if not seq:
            why = ("no planned sample size in the brief" if self.brief is None or not self.brief.min_sample_size
                   else "no daily data")
            return note(f"No always-valid monitoring: {why}. The p-value above assumes one look at the planned end.")
        parts = []
        rows = []
        for s in seq:
            rows.append({"variant": s.variant, "looks": len(s.looks), "units so far": s.n[-1],
                         "planned units": s.planned_n, "always-valid CI (Δ)": fmt_change_ci(s.cs_lo[-1], s.cs_hi[-1], m.unit),
                         "always-valid p": s.p_value[-1],
                         "status": "can stop: the interval excludes 0" if s.significant else
                         ("planned size reached" if s.n[-1] >= s.planned_n else "keep going")})
        parts.append(table(pd.DataFrame(rows), {"always-valid p": fmt_p, "units so far": fmt_num,
                                                "planned units": fmt_num},
                           caption="Confidence sequences stay valid however often you look (Waudby-Smith et al.), "
                                   "tuned to the brief's planned sample size."))
        parts.append(embed(plots.sequential_plot({sr.variant: sr.to_frame() for sr in seq}, self.variants, m.unit)))
        return Html.join(parts)

    def guardrails(self) -> Html:
        """Each guardrail's Δ, interval, limit and the verdict the decision used."""
        if self.blocked and self.result.guardrails():
            return self._nothing("guardrail results")
        g = views.guardrail_frame(self.result, self.decision.facts)
        if g.empty:
            return note("No guardrail metric is defined for this experiment.", "warn")
        metrics = {m.name: m for m in self.result.guardrails()}
        fmt_rows = []
        for rec in g.to_dict("records"):
            m = metrics[rec["metric"]]
            fmt_rows.append({"metric": m.label or m.name, "variant": rec["variant"],
                             "control": _value(m, rec["control_value"]), "variant value": _value(m, rec["variant_value"]),
                             "Δ": _delta(m, rec["delta"]),
                             "CI (Δ)": fmt_metric_delta_ci(m.name, m.kind, rec["lo"], rec["hi"], m.unit),
                             "p (adjusted)": fmt_p(rec["p_value_adjusted"]), "limit": _value(m, rec["limit"]) if rec["limit"] is not None
                             else "—", "verdict": rec["verdict"]})
        f = self.decision.facts
        parts = [table(pd.DataFrame(fmt_rows),
                       row_class=lambda r: "bad" if r["verdict"] in ("limit crossed", "severely worse") else
                       ("warn" if r["verdict"] == "worse" else "")),
                 bullets([f"Worsened: {f.get('worsened_list') or 'none'}", f"Severe: {f.get('severe_list') or 'none'}",
                          f"Limits crossed: {f.get('breached_list') or 'none'}"])]
        parts.append(Html(f"<p class='wb-sub'>A guardrail is worse when it moves the wrong way by more than "
                          f"{self.settings.guardrails.worsened_abs * 100:g} pp (rates; 5 % of the control's level for "
                          f"other units) or significantly; severe beyond "
                          f"{self.settings.guardrails.severe_abs * 100:g} pp (15 %). The brief can set its own.</p>"))
        return Html.join(parts)

    def secondary(self) -> Html:
        """Secondary metrics vs control and the funnel impression → click → cart → purchase."""
        parts = []
        rows = []
        if self.blocked and any(m.role == "secondary" for m in self.result.metrics):
            parts.append(self._nothing("secondary results"))
        for m in self.result.metrics:
            if self.blocked:
                break
            if m.role != "secondary":
                continue
            if not m.comparisons:
                rows.append({"metric": m.label or m.name, "variant": "—", "control": "—", "variant value": "—",
                             "Δ": "—", "lift": "—", "CI (lift)": "—", "p (adjusted)": "; ".join(m.notes)[:120]})
            for c in m.comparisons:
                rows.append({"metric": m.label or m.name, "variant": c.variant, "control": _value(m, c.control_value),
                             "variant value": _value(m, c.variant_value), "Δ": _delta(m, c.lift_abs),
                             "lift": _spct(c.lift_rel), "CI (lift)": fmt_ci(*c.lift_rel_ci, pct=True),
                             "p (adjusted)": fmt_p(c.p_value_adjusted)})
        if self.blocked:
            pass
        elif rows:
            parts.append(table(pd.DataFrame(rows), caption="Secondary metrics inform; they do not decide. p-values "
                                                           "are corrected across the variants of each metric."))
        else:
            parts.append(note("No secondary metrics."))
        parts.append(heading("Funnel"))
        funnel = views.funnel_rates(self.data)
        if funnel.empty:
            parts.append(note("The data has no funnel columns."))
        else:
            wide = funnel.pivot(index="step", columns="variant", values="share_of_exposed").reindex(
                funnel["step"].drop_duplicates())
            wide = wide[list(self.variants)].reset_index()
            parts.append(table(wide, {v: _pct for v in self.variants},
                               caption="Share of exposed units reaching each step."))
            parts.append(embed(plots.funnel_plot(funnel, self.variants)))
        return Html.join(parts)

    def trends(self) -> Html:
        """Daily and hourly activity, and the lift by daily cohort (novelty shows as a decline)."""
        parts = []
        daily = views.event_trends(self.inputs.daily)
        if not daily.empty:
            parts.append(embed(plots.trend_plot(daily, "purchases_per_unit", self.variants,
                                                title="Purchases per active unit, by day (event time)",
                                                ylabel="purchases per active unit")))
        hours = views.hour_profile(self.inputs.hourly)
        if not hours.empty:
            parts.append(embed(plots.hour_plot(hours, self.variants)))
        if not self.blocked:
            cohorts = views.cohort_lifts(self.data, alpha=self.result.alpha)
            if not cohorts.empty:
                parts.append(embed(plots.cohort_plot(cohorts, self.variants)))
                parts.append(self._novelty_note())
        if not parts:
            return note("No time dimension in the data.")
        return Html.join(parts)

    def _novelty_note(self) -> Html:
        check = views.novelty_check(self.data, alpha=self.result.alpha)
        caption = Html("<p class='wb-sub'>Each point is the lift among units first exposed that day, with its CI "
                       "(not corrected for the many days).</p>")
        if check.empty:
            return caption
        rows = check.to_dict("records")
        fading = [r for r in rows if r["fading"]]
        text = "; ".join(f"{r['variant']}: early cohorts {_spct(r['early_lift'])}, later cohorts "
                         f"{_spct(r['late_lift'])} (difference {fmt_p_eq(r['p_value'])})" for r in rows)
        if fading:
            return Html.join([caption, note(f"The lift fades: {text}. Expect less than the average after launch "
                                            "(novelty effect).", "warn")])
        return Html.join([caption, note(f"Early and later cohorts do not differ significantly: {text}. A "
                                        "difference can still exist; the daily chart shows how the lift moves.")])

    def cuped(self) -> Html:
        """Where CUPED was applied, θ and the variance reduction; CI width with and without it."""
        if self.blocked:
            return self._nothing("analysis")
        f = views.cuped_frame(self.result, self.raw_result)
        if f.empty:
            return note("No metric of this experiment has a pre-period covariate, so CUPED was not applied.")
        applied = f[f["applied"]]
        parts = [table(f, {"theta": lambda v: fmt_num(v, 4), "variance_reduction": _pct, "ci_width_raw": fmt_num,
                           "ci_width_cuped": fmt_num, "ci_narrower_by": _pct, "applied": lambda v: "yes" if v else "no"},
                       headers={"variance_reduction": "variance reduction", "ci_width_raw": "CI width without",
                                "ci_width_cuped": "CI width with CUPED", "ci_narrower_by": "CI narrower by"})]
        if not applied.empty:
            best = applied.sort_values("variance_reduction", ascending=False).iloc[0]
            parts.append(note(f"CUPED uses each unit's pre-experiment behaviour ({best['covariate']}) to remove "
                              f"noise: on {best['metric']} it cut the variance of the lift by "
                              f"{fmt_pct(best['variance_reduction'], 1)}, worth about "
                              f"{fmt_pct(1 / max(1e-9, 1 - best['variance_reduction']) - 1, 0)} more units."))
        return Html.join(parts)

    def segments(self) -> Html:
        """Primary metric by device, channel and new vs returning — exploratory, with caveats."""
        if self.blocked:
            return self._nothing("analysis")
        results = self.segment_results
        if not results:
            return note("The data has no segment dimensions.")
        parts = [note("Exploratory: with many segments some differences appear by chance. p-values are corrected "
                      "across segments; use these to form hypotheses for a follow-up test, not to decide.", "warn")]
        for dim, res in results.items():
            parts.append(heading(f"By {dim}"))
            frame = views.segment_frame(res)
            parts.append(embed(plots.segment_plot(frame, dim=dim)))
            parts.append(table(frame, {"lift_rel": _spct, "lo": _spct, "hi": _spct, "p_value": fmt_p,
                                       "p_value_adjusted": fmt_p, "n_control": fmt_num, "n_variant": fmt_num,
                                       "lift_abs": lambda v: fmt_num(v, 3)},
                               headers={"segment": dim, "lift_rel": "lift", "lo": "CI low", "hi": "CI high",
                                        "p_value_adjusted": "p (adjusted)"},
                               columns=["segment", "variant", "n_control", "n_variant", "lift_rel", "lo", "hi",
                                        "p_value", "p_value_adjusted"]))
            # one sentence per (metric, variant) about heterogeneity, from the same function as the analysis note
            het = [heterogeneity_note(v, m.metric, dim, h, self.result.alpha) for m in res.metrics
                   for v, h in m.heterogeneity.items() if h.get("p_value") is not None and math.isfinite(h["p_value"])]
            notes = [n for m in res.metrics for n in m.notes if not n.startswith("exploratory") and n not in het]
            notes += het
            if notes:
                parts.append(bullets(notes))
        return Html.join(parts)

    def hierarchical(self) -> Html:
        """Where the experiment spans several SKUs: each SKU's lift shrunk toward its category's (empirical Bayes)."""
        sku = self.inputs.sku_data
        if sku is None:
            pid, cat = self.outcome.product_id, self.outcome.category
            where = f" ({pid} in {cat})" if pid else ""
            return note(f"This experiment runs on one SKU{where}; the per-SKU view applies to experiments that "
                        "span several SKUs.")
        frame = views.sku_frame(sku, self.inputs.catalog)
        if frame.empty:
            return note("The primary metric cannot be broken down by SKU.")
        parts: list[Html] = []
        fitted = self.hierarchical_result
        if fitted is not None:
            eb, dropped = fitted
            shrunk = views.shrinkage_frame(eb)
            parts.append(Html(f"<p>Each SKU's lift is estimated together with its category's (empirical Bayes: "
                              f"category priors, lifts pooled on the log-odds scale; intervals: {_e(eb.interval)}). "
                              "A SKU with little traffic borrows strength from its category instead of showing a "
                              "noisy raw rate.</p>"))
            parts.append(embed(plots.shrinkage_plot(shrunk)))
            cats = pd.DataFrame([{"category": c.category, "SKUs": c.n_skus, "conversion": c.rate_mean,
                                  "lift": c.lift_rel_mean, "interval": fmt_ci(*c.lift_rel_ci, pct=True)}
                                 for c in eb.categories])
            parts.append(table(cats, {"conversion": _pct, "lift": _spct},
                               caption=f"Category level: the prior a new SKU of the category starts from "
                                       f"(relative lift: {eb.interval})."))
            top = shrunk.sort_values("prob_beat_control", ascending=False).head(8)
            parts += [heading("SKUs most likely to gain"),
                      table(top, {"raw_lift_rel": _spct, "lift_rel": _spct, "prob_beat_control": fmt_prob,
                                  "units": fmt_num},
                            columns=["sku", "category", "units", "raw_lift_rel", "lift_rel", "interval",
                                     "prob_beat_control"],
                            headers={"raw_lift_rel": "raw lift", "lift_rel": "shrunk lift",
                                     "prob_beat_control": "P(beat control)"})]
            if dropped:
                parts.append(Html(f"<p class='wb-sub'>Left out (no units in an arm, or no category): "
                                  f"{_e(', '.join(dropped[:20]))}{' …' if len(dropped) > 20 else ''}.</p>"))
        else:
            parts.append(note("Per-SKU rates below are raw: the shrinkage model needs a proportion metric and the "
                              "catalog's categories.", "warn"))
        small = int(((frame["n_control"] + frame["n_variant"]) < self.settings.small_sample_units * 2).sum())
        parts += [heading("Raw rates by SKU"), embed(plots.sku_plot(frame)),
                  Html(f"<p class='wb-sub'>{small} of {len(frame)} SKUs have fewer than "
                       f"{self.settings.small_sample_units * 2} units: their raw rates scatter widely by chance.</p>")]
        return Html.join(parts)

    def bandit(self) -> Html:
        """For a bandit: its allocation history (the logged decisions) vs the realised split by day."""
        if not self.is_bandit:
            return note("Fixed allocation: no bandit in this experiment.")
        from ..bandits.history import fmt_weight
        history = self.inputs.allocation
        frame = views.allocation_frame(self.data, self.inputs.planned_allocation)
        parts = [note(history.sentence())] if history is not None else []
        parts.append(embed(plots.allocation_plot(frame, self.variants, history)))
        f = self.decision.facts
        if f.get("best_supported"):
            parts.append(note(f"Best-supported arm now: {f['best_supported']}"
                              + (f" (chance to be better than the control {fmt_prob(f.get('best_supported_prob'))})"
                                 if f.get("best_supported_prob") is not None else "") + "."))
        last = frame.dropna(subset=["realised_share"]).groupby("variant", sort=False).tail(1)
        if not last.empty:
            parts.append(table(last, {"planned_weight": fmt_weight, "realised_share": fmt_weight, "units": fmt_num,
                                      "day": _when},
                               headers={"planned_weight": "weight in force", "realised_share": "realised share"},
                               columns=["day", "variant", "planned_weight", "realised_share", "units"],
                               caption="The latest day: the weight in force (latest logged decision) and the "
                                       "realised share of new units."))
        parts.append(heading("Allocation decisions logged by the bandit"))
        if history is not None and not history.empty:
            last = history.latest()
            parts.append(table(last, {"weight": fmt_weight, "previous_weight": fmt_weight, "prob_best": _pct,
                                      "units": fmt_num,
                                      "conversions": fmt_num, "created_at": _when},
                               columns=["created_at", "policy", "variant", "units", "conversions", "prob_best",
                                        "previous_weight", "weight", "reason"],
                               headers={"prob_best": "P(best)", "previous_weight": "was", "weight": "now"},
                               caption=f"The latest logged decision ({last['decision_reason'].iloc[0]})."))
        else:
            parts.append(note("No allocation decision is logged for this experiment yet: `workbench allocate "
                              "--experiment ID` computes one and logs it with its reasons, and `workbench bandit-log "
                              "ID` shows the log."))
        wh = self.inputs.weights_history
        if wh is not None and not wh.empty:
            parts.append(heading("Split recorded in the registry (the brief's plan; the bandit's decisions are above)"))
            parts.append(table(wh, {"weight": fmt_weight, "effective_at": _when},
                               columns=["effective_at", "mode", "variant_id", "weight", "reason"]))
        return Html.join(parts)

    def roi_section(self) -> Html:
        """Incremental revenue per day and over the horizon, with intervals."""
        if self.blocked:
            return self._nothing("ROI")
        if self.result.aa is not None:
            return note("No ROI: an A/A experiment has nothing to launch (both arms are the same by design).")
        proj = self.roi
        if not proj:
            return note("No revenue metric was analysed (revenue_per_user), so no ROI can be projected.", "warn")
        rows = [{"variant": p.variant, "Δ revenue per unit": fmt_num(p.delta_per_unit, 4),
                 "new units per day": fmt_num(round(p.daily_units, 1)),
                 "per day": fmt_num(round(p.per_day, 2)),
                 f"per day ({fmt_share(p.level)} interval)": f"{fmt_num(round(p.per_day_ci[0], 2))} to "
                                                       f"{fmt_num(round(p.per_day_ci[1], 2))}",
                 f"over {p.horizon_days} days": fmt_num(round(p.horizon_total)),
                 "interval": f"{fmt_num(round(p.horizon_ci[0]))} to {fmt_num(round(p.horizon_ci[1]))}",
                 "P(positive)": fmt_prob(p.prob_positive)} for p in proj]
        winner = self.decision.winner
        head = next((p for p in proj if p.variant == winner), None) or max(proj, key=lambda p: p.per_day)
        parts = [table(pd.DataFrame(rows)), embed(plots.roi_plot(head.path(), variant=head.variant, level=head.level)),
                 note("Incremental revenue per day = Δ revenue per unit × new units per day (all of today's eligible "
                      "traffic at launch). The interval combines the uncertainty of Δ and of daily traffic; the "
                      "projection assumes both stay as observed — novelty effects fade (see Trends) and seasonality "
                      "is not modelled.", "warn")]
        for n in head.notes:
            parts.append(Html(f"<p class='wb-sub'>{_e(n)}</p>"))
        return Html.join(parts)

    def decision_section(self) -> Html:
        """The decision, every reason, the rules checked, and the next actions and risks (as in the memo)."""
        d = self.decision
        parts = [decision_banner(d),
                 kv([("Policy", d.policy), ("Deciding rule", d.rule), ("Winner", d.winner or "none")])]
        if len(d.reasons) > 1:
            parts += [heading("Other reasons that also held"), bullets(d.reasons[1:])]
        parts += [heading("Next actions"), bullets(self._memo_items("Next actions")),
                  heading("Risks and limitations"), bullets(self._memo_items("Risks and limitations"))]
        checks = pd.DataFrame([{"rule": c.rule, "action": c.action, "held": "yes" if c.held else "no",
                                "conditions not met": "; ".join(c.failed)} for c in d.checks])
        if not checks.empty:
            parts += [heading("Rules checked, in order"), table(checks, row_class=lambda r: "good" if r["held"] == "yes"
                                                               else "")]
        return Html.join(parts)

    def learning(self) -> Html:
        """Winning patterns in this category (learning store) against this experiment's variants."""
        cat = self.outcome.category
        winning = dict(self.inputs.winning or {})
        patterns = self.inputs.patterns
        b = self.brief
        if b is not None:
            vm = {v.id: v.meta for v in b.variants}
        else:
            vm = self.data.meta.get("variant_meta") or {}
        tags = sorted({k for meta in vm.values() for k in meta} | set(winning))
        parts = []
        if tags:
            rows = []
            for tag in tags:
                row = {"tag": tag, f"winning in {cat or 'all categories'}": winning.get(tag, "no win yet")}
                for v in self.variants:
                    val = (vm.get(v) or {}).get(tag, "—")
                    row[v] = val + (" ✓" if winning.get(tag) == val else "")
                rows.append(row)
            parts.append(table(pd.DataFrame(rows), caption="✓ marks a variant's tag value that has won before in "
                                                           "this category."))
        else:
            parts.append(note("The variants carry no meta tags (layout, CTA tone, palette, key benefit), so the "
                              "learning store cannot learn from this experiment."))
        if patterns is not None and not patterns.empty:
            top = patterns.sort_values(["win_rate", "wins"], ascending=False).head(12)
            parts += [heading("Patterns recorded so far"),
                      table(top, {"win_rate": _pct, "mean_win_lift": _spct},
                            headers={"win_rate": "win rate (smoothed)", "mean_win_lift": "mean lift of wins"})]
        else:
            parts.append(note("No concluded experiment has recorded a pattern yet; when this one concludes with a "
                              "winner, its tags are added."))
        return Html.join(parts)

    # --- machine-readable outputs ----------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds: identity, health, decision, primary and guardrail results, ROI."""
        r, d = self.result, self.decision
        m = r.primary

        def comp(c: Any) -> dict[str, Any]:
            x = c.to_dict()
            x.pop("extra", None)
            return x

        rec = self.record
        return {
            "schema": SUMMARY_SCHEMA, "experiment_id": self.experiment_id, "name": self.name, "kind": self.kind,
            "state": rec.state if rec is not None else None, "owner": self.brief.owner if self.brief else None,
            "category": self.outcome.category,
            "as_of": self.inputs.params.as_of, "data_as_of": self.data.as_of, "data_version": r.data_version,
            "generated_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "health": {"status": r.health.status, "reasons": r.health.reasons,
                       "srm_p": r.health.srm.p_value if r.health.srm else None,
                       "bot_exclusion_rate": r.health.bot_exclusion_rate,
                       "sticky_violators": r.health.sticky_violators},
            "decision": {"action": d.action, "reason": d.reason, "reasons": list(d.reasons), "winner": d.winner,
                         "policy": d.policy, "rule": d.rule, "facts": d.facts},
            "variants": list(self.variants), "units": dict(zip(self.variants, r.units)),
            "primary": {"metric": m.name if m else None, "comparisons": [comp(c) for c in m.comparisons] if m else [],
                        "notes": list(m.notes) if m else []},
            "guardrails": views.guardrail_frame(r, d.facts).to_dict("records"),
            "sequential": [{"variant": s.variant, "p_value": s.p_value[-1], "cs": [s.cs_lo[-1], s.cs_hi[-1]],
                            "significant": s.significant, "looks": len(s.looks)} for s in self.sequential],
            "roi": [p.to_dict() for p in self.roi],
            "allocation": (self.inputs.allocation.to_dict() | {"decisions": None}
                           if self.is_bandit and self.inputs.allocation is not None else None),
            "sections": list(SECTIONS),
            "story": story_of(self.outcome, allocation=self.inputs.allocation.current
                              if self.is_bandit and self.inputs.allocation is not None else None).to_dict(),
        }

    def write_artifacts(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``memo.md``, ``memo.html`` and ``summary.json`` into ``out_dir`` (each atomically)."""
        from ..files import write_text_atomic
        from ..lifecycle.memo import write_memo
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {"memo_md": write_memo(self.memo, out / "memo.md"), "memo_html": write_memo(self.memo, out / "memo.html")}
        files["summary"] = write_text_atomic(out / "summary.json", dumps(self.summary(), indent=2) + "\n")
        return files


def _e(text: Any) -> str:
    from ..display import escape
    return escape(text)


def section_methods() -> Mapping[str, str]:
    """Section heading → the :class:`ExperimentReport` method that renders it."""
    return dict(zip(SECTIONS, ("overview", "trust", "primary_result", "guardrails", "secondary", "trends", "cuped",
                               "segments", "hierarchical", "bandit", "roi_section", "decision_section", "learning")))
