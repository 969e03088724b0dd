"""The report's evidence sections: trust, primary result (with sequential monitoring), guardrails,
secondary metrics and funnel. A mixin of :class:`~workbench.reports.report.ExperimentReport`."""

from __future__ import annotations


import pandas as pd

from ..display import fmt_ci, fmt_count, fmt_num, fmt_p, fmt_p_eq, fmt_pct, fmt_pp, fmt_prob, fmt_share, fmt_change_ci
from ..metrics import fmt_metric_delta_ci, metric_unit
from ..results import MetricResult
from . import plots, views
from .sections_adjust import balance_html, segment_srm_html
from .html import HEALTH_CLASS, Html, badge, bullets, embed, heading, kv, note, table

from ._fmt import _value, _delta, _pct, _spct, _when, _e


class EvidenceSections:
    """Trust, primary result, guardrails and secondary metrics (see :class:`ExperimentReport`)."""

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
        parts += [segment_srm_html(h), balance_html(h)]
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
        unit = metric_unit(m.name, m.kind, m.unit)
        for s in seq:
            rows.append({"variant": s.variant, "looks": len(s.looks), "units so far": s.n[-1],
                         "planned units": s.planned_n, "always-valid CI (Δ)": fmt_change_ci(s.cs_lo[-1], s.cs_hi[-1], unit),
                         "always-valid p": s.p_value[-1],
                         "status": "can stop: the interval excludes 0" if s.significant else
                         ("planned size reached" if s.n[-1] >= s.planned_n else "keep going")})
        parts.append(table(pd.DataFrame(rows), {"always-valid p": fmt_p, "units so far": fmt_num,
                                                "planned units": fmt_num},
                           caption="Confidence sequences stay valid however often you look (Waudby-Smith et al.), "
                                   "tuned to the brief's planned sample size."))
        parts.append(embed(plots.sequential_plot({sr.variant: sr.to_frame() for sr in seq}, self.variants, unit)))
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
        g = self.settings.guardrails

        def used(key: str, default: float) -> float:     # the threshold the decision used (facts), else the default
            v = f.get(key)
            return float(v) if v is not None else default
        parts.append(note(
            f"A guardrail is worse when it moves the wrong way by more than "
            f"{fmt_pp(used('guardrail_worsened_abs', g.worsened_abs)).lstrip('+')} (rates; "
            f"{fmt_share(used('guardrail_worsened_rel', 0.05))} of the control's level for other units) or "
            f"significantly; severely worse beyond {fmt_pp(used('guardrail_severe_abs', g.severe_abs)).lstrip('+')} "
            f"({fmt_share(used('guardrail_severe_rel', 0.15))}). The policy and the brief can set their own."))
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
