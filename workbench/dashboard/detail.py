"""The experiment detail page: evidence, risk, decision and next action for one experiment.

Sections, top to bottom: the header (state, timing, hypothesis) with badges and their
explanations; the decision with every reason; tiles per variant; the conversion trend (by hour or
day) and the funnel; the posterior densities and the chance to beat control over time; the forest
plot of lifts (primary, secondary, guardrails, segments); the staged rollout; the decision log with
the bandit's recent allocation decisions and the audit trail; links to the report and memo; and,
for operators only, the controls. Switching experiment swaps the contents in place.
"""

from __future__ import annotations

from typing import Any

import panel as pn
from panel.viewable import Viewer

from ..config import get_settings
from ..bandits.history import fmt_weight
from ..display import escape, fmt_action, fmt_currency, fmt_num, fmt_pct, fmt_prob, fmt_scope, variant_colors
from .badges import badges_for, badges_html
from .controls import OperatorControls
from .data import (allocation_frame, audit_frame, current_weights, decision_log, forest_frame, funnel_frame,
                   report_links, rollout_progress, variant_tiles)
from .plots import ChancePlot, ForestPlot, FunnelPlot, PosteriorPlot, TrendPlot
from .session import AppState, in_background
from .ui import ACTION_COLOURS, STATE_COLOURS, alert_html, fmt_days, fmt_time, frame_html, kv_table, pill, raw

__all__ = ["ExperimentDetail", "tiles_html", "rollout_html", "links_html", "decision_html", "withheld_sentence",
           "header_html"]


def tiles_html(tiles: list[Any]) -> str:
    """One tile per variant: units, impressions, CTR, CVR, revenue (and the current weight)."""
    out = []
    for t in tiles:
        rows = [("users", fmt_num(t.units)), ("impressions", fmt_num(t.impressions)), ("CTR", fmt_pct(t.ctr)),
                ("CVR", fmt_pct(t.cvr)), ("revenue", fmt_currency(t.revenue)),
                ("revenue / user", fmt_currency(t.revenue_per_user))]
        if t.weight is not None:
            rows.append(("allocation now", fmt_weight(t.weight)))
        body = "".join(f"<tr><td>{escape(k)}</td><td><b>{escape(v)}</b></td></tr>" for k, v in rows)
        ctrl = ' <span class="wb-ctrl">control</span>' if t.is_control else ""
        out.append(f'<div class="wb-tile" data-variant="{escape(t.variant)}"><h4>{escape(t.variant)}{ctrl}</h4>'
                   f"<table>{body}</table></div>")
    return f'<div class="wb-tiles">{"".join(out)}</div>'


def decision_html(outcome: Any) -> str:
    d = outcome.decision
    others = "".join(f"<li>{escape(r)}</li>" for r in d.reasons[1:])
    more = f"<p class='wb-muted' style='margin:6px 0 2px'>Other rules that also hold:</p><ul>{others}</ul>" if others else ""
    winner = f" · winner <b>{escape(d.winner)}</b>" if d.winner else ""
    if d.decided_by:
        winner += f" · decided by {escape(d.decided_by)}"
    from ..story import time_sentences
    times = "".join(f"<li>{escape(t)}</li>" for t in time_sentences(outcome.result))
    if times:
        more += f"<p class='wb-muted' style='margin:6px 0 2px'>Time effects:</p><ul>{times}</ul>"
    from ..lifecycle.memo import ACTING, risks
    if d.action in ACTING:      # before acting on it: the memo's and the report's risks, as `workbench decide` lists
        listed = "".join(f"<li>{escape(r)}</li>" for r in risks(outcome.result, d, outcome.brief))
        if listed:
            more += f"<p class='wb-muted' style='margin:6px 0 2px'>Risks before acting:</p><ul class='wb-risks'>{listed}</ul>"
    return (f'<div class="wb-card wb-decision"><h3>Decision {pill(fmt_action(d.action), ACTION_COLOURS.get(d.action, "#52606d"))}'
            f'</h3><p style="margin:4px 0">{escape(d.reason)}</p>'
            f'<p class="wb-muted">policy {escape(d.policy)} · rule {escape(d.rule)}{winner}</p>{more}</div>')


def withheld_sentence(outcome: Any) -> str | None:
    """Why the posterior, chance and lift charts are not drawn (None when they are): one sentence from the health facts."""
    from ..health import nothing_to_show
    return nothing_to_show(outcome.result.health, "posterior, chance or lift charts")


def checks_html(outcome: Any) -> str:
    """The segment SRM and pre-period balance lines under the trust badges (the CLI's and the memo's sentences)."""
    from ..adjust_tables import balance_summary, segment_srm_summary
    h = outcome.result.health
    lines = [line for line in (segment_srm_summary(h), balance_summary(h)) if line]
    return "".join(f'<p class="wb-muted wb-check">{escape(line)}</p>' for line in lines)


def trust_card_html(outcome: Any) -> str:
    """The trust-checks card: badges with their explanations and the segment SRM / balance lines."""
    return ('<div class="wb-card wb-badges"><h3>Trust checks</h3>'
            f"{badges_html(badges_for(outcome), explain=True)}{checks_html(outcome)}</div>")


def adjusted_html(outcome: Any) -> str:
    """Plain, CUPED and stratified multi-covariate estimates of every metric (empty when none was adjusted)."""
    import pandas as pd

    from ..adjust_tables import adjustment_rows, result_caption
    r = outcome.result
    rows = [row for m in r.metrics for row in adjustment_rows(m)]
    if not rows:
        return ""
    return ('<div class="wb-card wb-adjusted"><h3>Adjusted estimates (beside the headline; decisions use the '
            f'headline)</h3>{frame_html(pd.DataFrame(rows), css_id="wb-adjusted")}'
            f'<p class="wb-muted">{escape(result_caption(r))}</p></div>')


def rollout_html(progress: Any) -> str:
    """The stages as a progress bar plus the current status."""
    if not progress.stages:
        return f'<div class="wb-card wb-rollout"><h3>Staged rollout</h3><p class="wb-muted">{escape(progress.summary)}</p></div>'
    cells = []
    for i, s in enumerate(progress.stages, start=1):
        cls = "wb-stage"
        if progress.state == "promoted" or (progress.stage is not None and i < progress.stage):
            cls += " wb-stage-done"
        elif progress.active and progress.stage == i:
            cls += " wb-stage-now"
        cells.append(f'<div class="{cls}">stage {i}: {fmt_pct(s, 0)}</div>')
    return (f'<div class="wb-card wb-rollout"><h3>Staged rollout</h3><div class="wb-progress">{"".join(cells)}</div>'
            f'<p style="margin:4px 0">{escape(progress.summary)}</p>'
            f'{frame_html(progress.steps, empty="no steps recorded")}</div>')


def header_html(o: Any, rec: Any = None) -> str:
    """The experiment's name, state, timing and hypothesis (``rec``: its registry record, when known)."""
    meta = o.data.meta
    state = rec.state if rec is not None else "not registered"
    name = rec.name if rec is not None else meta.get("name", o.experiment_id)
    facts = o.decision.facts
    pairs = [("state", raw(f'<span id="wb-state">{pill(state, STATE_COLOURS.get(state, "#52606d"))}</span>')),
             ("kind", rec.kind if rec else meta.get("kind", "")),
             ("category / SKU", fmt_scope(o.category, o.product_id)),
             ("owner", rec.owner if rec else meta.get("owner", "—")),
             ("started", fmt_time(rec.started_at if rec else meta.get("start_ts"))),
             ("days running", fmt_days(facts.get("days_running"))),
             ("users", fmt_num(sum(o.result.units))),
             ("data as of", fmt_time(o.data.as_of)),
             ("hypothesis", (o.brief.hypothesis if o.brief is not None else meta.get("hypothesis")) or "—")]
    return (f'<h2 class="wb-title" id="wb-experiment-title">{escape(name)} '
            f'<span class="wb-muted">({escape(o.experiment_id)})</span></h2>{kv_table(pairs)}')


def links_html(links: list[Any]) -> str:
    items = []
    for link in links:
        if link.exists:
            items.append(f'<a href="{escape(link.url)}" target="_blank" rel="noopener">{escape(link.label)}</a>')
        else:
            items.append(f'<span class="wb-muted">{escape(link.label)}: not generated yet</span>')
    return f'<div class="wb-card wb-links"><h3>Reports</h3>{" · ".join(items)}</div>'


class ExperimentDetail(Viewer):
    """Everything about one experiment; operators also get :class:`OperatorControls`."""

    def __init__(self, service: Any, state: AppState, identity: Any, **params: Any) -> None:
        super().__init__(**params)
        self.service, self.state, self.identity = service, state, identity
        self.select = pn.widgets.Select(label="Experiment", options=[], width=320, css_classes=["wb-picker"])
        self.select.param.watch(self._picked, "value")
        self.freq = pn.widgets.RadioButtonGroup(options={"by hour": "h", "by day": "D"}, value="h")
        self.freq.param.watch(lambda _e: self._load_trend(), "value")
        self.dim = pn.widgets.Select(label="Segments by", options=[], width=180)
        self.dim.param.watch(lambda _e: self._render_forest(), "value")
        sw = {"sizing_mode": "stretch_width"}
        self.header = pn.pane.HTML("", **sw)
        self.badges = pn.pane.HTML("", **sw)
        self.decision = pn.pane.HTML("", **sw)
        self.tiles = pn.pane.HTML("", **sw)
        self.plots = {"trend": TrendPlot(), "funnel": FunnelPlot(), "posterior": PosteriorPlot(),
                      "chance": ChancePlot(), "forest": ForestPlot()}
        self.trend, self.funnel, self.posterior, self.chance, self.forest = (
            pn.pane.Bokeh(p.figure, **sw) for p in self.plots.values())
        self.adjusted = pn.pane.HTML("", **sw)
        self.rollout = pn.pane.HTML("", **sw)
        # the chart's pane sits in a column that is shown or hidden: a Bokeh pane created hidden would pass
        # visible=False on to every figure it is given (Panel syncs its layout options with the figure's)
        self.allocation = pn.Column(pn.pane.Bokeh(None), visible=False, css_classes=["wb-allocation"])
        self.log = pn.pane.HTML("", **sw)
        self.links = pn.pane.HTML("", **sw)
        self.notice = pn.pane.HTML("", **sw)
        self.withheld = pn.pane.HTML("", visible=False, css_classes=["wb-withheld"], **sw)
        self.controls = OperatorControls(service, state) if identity.can_operate else None
        self._rendered: tuple | None = None
        self._token = 0
        body = [
            pn.Row(self.select, pn.Spacer(width=20), self.links, **sw), self.notice, self.header,
            pn.Row(self.badges, self.decision, **sw),
        ]
        if self.controls is not None:
            body.append(self.controls)
        body += [
            self.tiles,
            pn.Row(pn.Column(self.freq, self.trend, **sw), self.funnel, **sw),
            self.withheld,
            pn.Row(self.posterior, self.chance, **sw),
            pn.Column(self.dim, self.forest, **sw),
            self.adjusted, self.rollout, self.allocation, self.log,
        ]
        self._layout = pn.Column(*body, sizing_mode="stretch_width", css_classes=["wb-detail"])

    # --- updates ----------------------------------------------------------------------------------
    def _picked(self, event: Any) -> None:
        if event.new and event.new != self.state.experiment:
            self.state.experiment = event.new

    def update(self, snapshot: Any) -> None:
        """Show ``state.experiment`` as of ``snapshot`` (no work when neither changed)."""
        ids = sorted(snapshot.outcomes)
        if list(self.select.options) != ids:
            self.select.options = ids
        eid = self.state.experiment or (ids[0] if ids else "")
        if eid and not self.state.experiment:
            self.state.experiment = eid
        key = (eid, snapshot.version)
        if key == self._rendered:
            return
        self._rendered = key
        o = snapshot.outcome(eid)
        if o is None and snapshot.pending:
            self.notice.object = alert_html(f"{eid or 'This experiment'} is being analysed (the server's first analysis "
                                            "of the portfolio); this page fills in by itself.", "info")
            self._rendered = None
            return
        if o is None and snapshot.loading:
            self.notice.object = alert_html("The server is still loading the experiments' analyses it kept from "
                                            "before it started; this page fills in by itself in a moment.", "info")
            self._rendered = None
            return
        if o is None:
            rec = snapshot.registry.records.get(eid) if snapshot.registry is not None and eid else None
            text = (f"{eid} is registered ({rec.state}) but the data has no events for it yet" if rec is not None else
                    f"no experiment {eid!r} in the current data" if eid else "no experiments yet")
            self.notice.object = alert_html(text, "info" if rec is not None else "error")
            return
        self.notice.object = ""
        if self.select.value != eid:
            self.select.value = eid
        reg = snapshot.registry
        rec = reg.records.get(eid) if reg is not None else None
        history = snapshot.bandits.get(eid)
        weights = current_weights(o, reg, snapshot.bandits)
        self._render_header(o, rec)
        self.badges.object = trust_card_html(o)
        self.adjusted.object = adjusted_html(o)
        self.decision.object = decision_html(o)
        self.tiles.object = tiles_html(variant_tiles(o, weights))
        shown = history is not None and not history.empty                      # else the log says "none logged"
        if shown:                                # the report draws the same chart (AllocationHistory.plot)
            self.allocation[0].object = history.plot(variant_colors(list(o.data.variants)))
        self.allocation.visible = shown
        variants = list(o.data.variants)
        self.plots["funnel"].update(funnel_frame(o), variants)
        # a blocked experiment has no comparisons: say why once instead of drawing empty frames
        why = withheld_sentence(o)
        self.withheld.object = alert_html(why, "error") if why else ""
        self.withheld.visible = why is not None
        for pane in (self.posterior, self.chance, self.forest, self.dim):
            pane.visible = why is None
        if why is None:
            self.plots["posterior"].update(self.service.posterior(eid), variants)
            self.plots["chance"].update(self.service.chance(eid), variants,
                                        threshold=o.decision.params.get("prob_threshold"))
        dims = [d for d in o.data.dims if d != "day"]
        if list(self.dim.options) != dims:
            self.dim.options = dims
        if dims and self.dim.value not in dims:
            self.dim.value = dims[0]
        self._render_forest()
        status = reg.rollouts.get(eid) if reg is not None else None
        self.rollout.object = rollout_html(rollout_progress(status))
        self._render_log(o, snapshot)
        self.links.object = links_html(report_links(self.service.reports, eid))
        if self.controls is not None:
            self.controls.set_experiment(o, rec, bool(reg.promotion_period) if reg is not None else False)
        self._load_trend()

    def _render_header(self, o: Any, rec: Any) -> None:
        self.header.object = header_html(o, rec)

    def _render_forest(self) -> None:
        snap = self.service.snapshot
        o = snap.outcome(self.state.experiment) if self.state.experiment else None
        if o is None or withheld_sentence(o) is not None:
            return
        seg = self.service.segments(o.experiment_id, self.dim.value) if self.dim.value and o.result.primary and \
            o.result.primary.comparisons else None
        self.plots["forest"].update(forest_frame(o, seg))

    def _render_log(self, o: Any, snapshot: Any) -> None:
        reg = snapshot.registry
        decisions = decision_log(o, reg)
        decisions["when"] = decisions["when"].map(fmt_time)
        decisions["action"] = decisions["action"].map(fmt_action)
        alloc = allocation_frame(snapshot.allocations, o.experiment_id)
        audit = audit_frame(reg, o.experiment_id, limit=get_settings().dashboard.audit_rows)
        parts = ['<div class="wb-card wb-log"><h3>Decision log</h3>',
                 frame_html(decisions, css_id="wb-decision-log")]
        history = snapshot.bandits.get(o.experiment_id)
        bandit = o.data.meta.get("allocation") == "bandit" or not alloc.empty
        if bandit and history is not None:
            parts.append(f"<p id='wb-allocation-now'>{escape(history.sentence())}</p>")
        if bandit and not (alloc.empty and history is not None and history.empty):   # else the sentence said "none"
            parts.append("<h3 style='margin-top:10px'>Bandit allocation decisions (last hour of the log)</h3>")
            shown = alloc.assign(**{c: alloc[c].map(fmt_weight) for c in ("previous_weight", "weight")
                                    if c in alloc.columns})          # weights as every view shows them
            if "prob_best" in shown.columns:
                shown["prob_best"] = shown["prob_best"].map(fmt_prob)
            parts.append(frame_html(shown, empty="no allocation decisions logged for this experiment yet"))
        parts.append("<h3 style='margin-top:10px'>Audit trail</h3>")
        parts.append(frame_html(audit.drop(columns=["experiment_id"]), empty="no audit entries", css_id="wb-audit"))
        parts.append("</div>")
        self.log.object = "".join(parts)

    def _load_trend(self) -> None:
        eid, freq = self.state.experiment, self.freq.value
        o = self.service.snapshot.outcome(eid)
        if o is None:
            return
        self._token += 1
        token = self._token
        variants = list(o.data.variants)

        def apply(frame: Any) -> None:
            if token == self._token:
                self.plots["trend"].update(frame, variants, freq=freq)
        in_background(lambda: self.service.trend(eid, freq), apply)

    def __panel__(self) -> Any:
        return self._layout
