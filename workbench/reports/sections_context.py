"""The report's context sections: trends, CUPED, segments, SKUs in their category, bandit
allocation, ROI, decision and learning. A mixin of :class:`~workbench.reports.report.ExperimentReport`."""

from __future__ import annotations

import math

import pandas as pd

from ..analysis import heterogeneity_note
from ..display import fmt_change, fmt_ci, fmt_currency, fmt_num, fmt_p, fmt_pct, fmt_prob, fmt_share
from . import plots, views
from .sections_adjust import adjusted_html
from .html import Html, decision_banner, bullets, embed, heading, kv, note, table

from ._fmt import _delta, _pct, _spct, _when, _e


class ContextSections:
    """Trends, CUPED, segments, SKUs, bandit, ROI, decision and learning (see :class:`ExperimentReport`)."""

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
        """The analysis's time effects (workbench.time_effects): the sentences the CLI and the memo print too."""
        caption = Html("<p class='wb-sub'>Each point is the lift among units first exposed that day, with its CI "
                       "(not corrected for the many days).</p>")
        te = self.result.time_effects
        if te is None:
            return caption

        def sentence(text: str, tail: str = "") -> str:
            return text[:1].upper() + text[1:] + "." + tail
        parts = [caption]
        for t in te.trends:
            if t.detected:
                parts.append(note(sentence(t.sentence(), " Expect less than the average after launch (novelty)."
                                           if t.direction == "novelty" else " Expect more than the average once users "
                                           "are used to it (primacy)."), "warn"))
            else:
                parts.append(note(sentence(t.sentence(), " A trend can still exist; the daily chart shows how the lift "
                                           "moves.")))
        parts += [note(sentence(c.sentence()), "warn") for c in te.calendar]
        if te.dow is not None and te.dow.sentence():
            parts.append(note(sentence(te.dow.sentence()), "warn" if te.dow.imbalanced else "info"))
        return Html.join(parts)

    def cuped(self) -> Html:
        """Where CUPED was applied, θ and the variance reduction; CI width with and without it."""
        if self.blocked:
            return self._nothing("analysis")
        f = views.cuped_frame(self.result, self.raw_result)
        if f.empty:
            return Html.join([note("No metric of this experiment has a pre-period covariate, so CUPED was not "
                                   "applied."), adjusted_html(self.result)])
        applied = f[f["applied"]]
        by_name = {m.name: m for m in self.result.metrics}

        def widths(col: str) -> list[str]:     # an interval's width in its metric's notation (pp for rates)
            return [_delta(by_name[n], w).lstrip("+") if n in by_name else fmt_num(w) for n, w in zip(f["metric"], f[col])]
        shown = f.assign(ci_width_raw=widths("ci_width_raw"), ci_width_cuped=widths("ci_width_cuped"))
        parts = [table(shown, {"theta": lambda v: fmt_num(v, 4), "variance_reduction": _pct, "ci_narrower_by": _pct,
                               "applied": lambda v: "yes" if v else "no"},
                       headers={"variance_reduction": "variance reduction", "ci_width_raw": "CI width without",
                                "ci_width_cuped": "CI width with CUPED", "ci_narrower_by": "CI narrower by"})]
        if not applied.empty:
            best = applied.sort_values("variance_reduction", ascending=False).iloc[0]
            parts.append(note(f"CUPED uses each unit's pre-experiment behaviour ({best['covariate']}) to remove "
                              f"noise: on {best['metric']} it cut the variance of the lift by "
                              f"{fmt_pct(best['variance_reduction'], 1)}, worth about "
                              f"{fmt_pct(1 / max(1e-9, 1 - best['variance_reduction']) - 1, 0)} more units."))
        parts.append(adjusted_html(self.result))
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
        rows = [{"variant": p.variant, "Δ revenue per unit": fmt_change(p.delta_per_unit, "currency"),
                 "new units per day": fmt_num(round(p.daily_units, 1)),
                 "per day": fmt_currency(p.per_day),
                 f"per day ({fmt_share(p.level)} interval)": f"{fmt_currency(p.per_day_ci[0])} to "
                                                       f"{fmt_currency(p.per_day_ci[1])}",
                 f"over {p.horizon_days} days": fmt_currency(p.horizon_total),
                 "interval": f"{fmt_currency(p.horizon_ci[0])} to {fmt_currency(p.horizon_ci[1])}",
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
                 # "Decided by" names the evidence a rule read (a test, the posterior); a hold on health, stock, price
                 # or the calendar reads none, and the card and `decide` then leave the line out too
                 kv([("Policy", d.policy), ("Deciding rule", d.rule), ("Winner", d.winner or "none"),
                     *([("Decided by", d.decided_by)] if d.decided_by else [])])]
        if len(d.reasons) > 1:
            parts += [heading("Other reasons that also held"), bullets(d.reasons[1:])]
        parts += [heading("Next actions"), bullets(self.memo.items("Next actions")),
                  heading("Risks and limitations"), bullets(self.memo.items("Risks and limitations"))]
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
