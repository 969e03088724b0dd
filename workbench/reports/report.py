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
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..config import Settings, get_settings
from ..display import dumps, fmt_ci, fmt_num, fmt_p, fmt_prob, fmt_scope, fmt_share
from ..experiment_data import ExperimentData
from ..lifecycle.brief import ExperimentBrief
from ..lifecycle.memo import DecisionMemo
from ..lifecycle.policies import Decision
from ..lifecycle.registry import ExperimentRecord
from ..pipeline import ExperimentOutcome
from ..results import AnalysisResult
from ..story import story_of
from . import views
from .html import HEALTH_CLASS, Html, badge, decision_banner, heading, kv, page_head, table
from .inputs import ReportInputs, gather_inputs, load_inputs
from .roi import RoiProjection, roi_for_result
from .sections_context import ContextSections
from .sections_evidence import EvidenceSections
from ._fmt import _pct, _spct, _when, _e

__all__ = ["ExperimentReport", "load_report", "SECTIONS", "SUMMARY_SCHEMA"]

SUMMARY_SCHEMA = 1
SECOND_PASS = {"bayes": False, "adjust": False, "time_effects": False, "calendar": (), "aa": False}
"""Analysis options a report's second passes (the CUPED comparison, the sequential view) switch off: they
add Bayesian, covariate-adjusted and time-effect results and the A/A verdict beside the comparisons and never
change a comparison's interval or a confidence sequence, which is all those views read (the tests compare)."""
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


class ExperimentReport(EvidenceSections, ContextSections):
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
        return analyze(self.data, **{**self._options(), **SECOND_PASS, "cuped": False})

    @cached_property
    def sequential(self) -> tuple[Any, ...]:
        """Always-valid confidence sequences of the primary metric by day, tuned to the brief's sample size.

        The pipeline's analysis of the primary metric alone, with what does not enter a confidence
        sequence switched off (:data:`SECOND_PASS`): a metric's sequence depends on its own data, the
        analysis' alpha and CUPED only, so it is the sequence a full analysis computes, in a fraction of
        the time (the test compares the two).
        """
        if self.blocked or self.brief is None or not self.brief.min_sample_size or "day" not in self.data.cube:
            return ()
        from ..analysis import SequentialOptions, analyze
        m = self.result.primary
        if m is None:
            return ()
        res = analyze(self.data, **{**self._options(), **SECOND_PASS, "metrics": (m.name,),
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
            ("Category / SKU", fmt_scope(self.outcome.category, self.outcome.product_id)),
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


def section_methods() -> Mapping[str, str]:
    """Section heading → the :class:`ExperimentReport` method that renders it."""
    return dict(zip(SECTIONS, ("overview", "trust", "primary_result", "guardrails", "secondary", "trends", "cuped",
                               "segments", "hierarchical", "bandit", "roi_section", "decision_section", "learning")))
