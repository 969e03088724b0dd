"""The autopilot page: the traffic budget in use, what the autopilot would start and why, and every SKU.

It shows :func:`workbench.lifecycle.plan_autopilot` (a dry run: nothing changes) as computed by the
server's refresh, as of the data's time, so it matches ``workbench autopilot --dry-run``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..display import css_pct, escape, fmt_count, fmt_num, fmt_pct
from .paging import PAGE_SIZE, page_of
from .session import AppState
from .ui import alert_html, fmt_time, frame_html

__all__ = ["AutopilotPage", "budget_html", "steps_frame", "candidates_frame", "schedule_frame",
           "ordered_candidates"]


def budget_html(plan: Any) -> str:
    """A bar: traffic in use by running experiments, what the plan would add, and the budget."""
    used, planned, budget = plan.traffic_in_use, plan.traffic_planned, plan.traffic_budget
    scale = max(budget, used + planned, 1e-9) * 1.1
    bar = (f'<div class="wb-bar" title="budget {fmt_pct(budget, 0)}">'
           f'<span style="left:0;width:{css_pct(used / scale)};background:#1f5fa8"></span>'
           f'<span style="left:{css_pct(used / scale)};width:{css_pct(planned / scale)};background:#7cb2e8"></span>'
           f'<span style="left:{css_pct(budget / scale)};width:2px;background:#b42318"></span></div>')
    notes = "".join(f"<li>{escape(n)}</li>" for n in plan.notes)
    return (f'<div class="wb-card wb-budget"><h3>Traffic budget</h3>{bar}'
            f"<p>in use <b>{fmt_pct(used, 1)}</b> · planned now <b>{fmt_pct(planned, 1)}</b> · budget "
            f"<b>{fmt_pct(budget, 0)}</b> · experiments running {plan.concurrent} of at most {plan.max_concurrent}"
            f"{' · <b>promotion period on</b>' if plan.promotion_period else ''}</p>"
            f"<p class='wb-muted'>as of {escape(fmt_time(plan.now))} (dry run — nothing was changed)</p>"
            f"{'<ul>' + notes + '</ul>' if notes else ''}</div>")


def steps_frame(plan: Any, *, show_skus: int = 6) -> pd.DataFrame:
    """What the autopilot would do, step by step, with its reason; SKUs skipped for one reason share a row.

    >>> from types import SimpleNamespace as S
    >>> steps = [S(action="create_and_start", product_id="a-1", experiment_id="auto-a-1", traffic_share=0.01,
    ...            reason="eligible")] + [S(action="skip", product_id=f"b-{i}", experiment_id=None,
    ...                                     traffic_share=0.002, reason="at most 5 experiments") for i in range(8)]
    >>> steps_frame(S(steps=steps), show_skus=2)[["action", "SKU", "traffic"]].values.tolist()
    [['create_and_start', 'a-1', '1.0%'], ['skip', 'b-0, b-1 and 6 more (8 SKUs)', '1.6%']]
    """
    rows: list[dict[str, Any]] = []
    skipped: dict[str, list[Any]] = {}
    for s in plan.steps:
        if s.action == "skip":
            if s.reason not in skipped:
                skipped[s.reason] = []
                rows.append({"action": "skip", "reason": s.reason})      # keeps the first skip's place
            skipped[s.reason].append(s)
        else:
            rows.append({"action": s.action, "SKU": s.product_id, "experiment": s.experiment_id,
                         "traffic": fmt_pct(s.traffic_share, 1) if s.traffic_share is not None else "—",
                         "why": s.reason})
    for row in rows:
        group = skipped.get(row.pop("reason", None)) if row["action"] == "skip" else None
        if group is None:
            continue
        names = [str(s.product_id) for s in group]
        more = len(names) - show_skus
        shares = [s.traffic_share for s in group if s.traffic_share is not None]
        row.update({"SKU": ", ".join(names[:show_skus]) + (f" and {more} more ({len(names)} SKUs)" if more > 0 else ""),
                    "experiment": "—", "traffic": fmt_pct(sum(shares), 1) if shares else "—",
                    "why": group[0].reason})
    return pd.DataFrame(rows, columns=["action", "SKU", "experiment", "traffic", "why"])


def ordered_candidates(plan: Any) -> list[Any]:
    """Eligible SKUs first, then the busiest ineligible ones (the candidate list's order, every page)."""
    return sorted(plan.candidates, key=lambda c: (not c.eligible, -c.sessions, c.product_id))


def candidates_frame(plan: Any, *, limit: int | None = 60, cands: Any = None) -> pd.DataFrame:
    """Eligible SKUs first, then the busiest ineligible ones, each with its reasons (``cands``: one page
    of :func:`ordered_candidates` instead of its first ``limit``)."""
    if cands is None:
        cands = ordered_candidates(plan)[:limit]
    return pd.DataFrame([{"SKU": c.product_id, "category": c.category or "—", "sessions": fmt_num(c.sessions),
                          "traffic": fmt_pct(c.traffic_share, 2), "stock": fmt_num(c.stock) if c.stock is not None
                          else "—", "eligible": "yes" if c.eligible else "no",
                          "why": "eligible" + (" (scheduled and due)" if c.scheduled_due else "") if c.eligible
                          else "; ".join(c.reasons)} for c in cands],
                        columns=["SKU", "category", "sessions", "traffic", "stock", "eligible", "why"])


def schedule_frame(plan: Any) -> pd.DataFrame:
    """SKUs with a scheduled next experiment (after a winner's cooldown)."""
    due = [c for c in plan.candidates if c.scheduled_due or any("scheduled" in r for r in c.reasons)]
    return pd.DataFrame([{"SKU": c.product_id, "category": c.category or "—",
                          "status": "due now" if c.scheduled_due else "; ".join(r for r in c.reasons if "scheduled" in r)}
                         for c in due], columns=["SKU", "category", "status"])


class AutopilotPage(Viewer):
    """Budget, planned steps, the schedule and the candidates with their reasons."""

    def __init__(self, service: Any, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.service, self.state = service, state
        self.budget = pn.pane.HTML("", sizing_mode="stretch_width")
        self.steps = pn.pane.HTML("", sizing_mode="stretch_width")
        self.schedule = pn.pane.HTML("", sizing_mode="stretch_width")
        self.candidates = pn.pane.HTML("", sizing_mode="stretch_width")
        self.prev = pn.widgets.Button(label="‹ Previous", width=110, disabled=True, css_classes=["wb-cand-prev"])
        self.next = pn.widgets.Button(label="Next ›", width=110, disabled=True, css_classes=["wb-cand-next"])
        self.prev.on_click(lambda _e: self._turn(-1))
        self.next.on_click(lambda _e: self._turn(+1))
        self.page_label = pn.pane.HTML("")
        self.page_size = PAGE_SIZE
        self._page = 0
        self._ordered: tuple[Any, list[Any]] | None = None
        self._plan: Any = None
        self._layout = pn.Column(self.budget, self.steps, self.schedule, self.candidates,
                                 pn.Row(self.prev, self.page_label, self.next), sizing_mode="stretch_width",
                                 css_classes=["wb-autopilot"])

    def update(self, snapshot: Any) -> None:
        plan = snapshot.autopilot
        if plan is None:
            self.budget.object = alert_html(f"no autopilot plan: {snapshot.autopilot_note or 'no data yet'}", "info")
            self.steps.object = self.schedule.object = self.candidates.object = self.page_label.object = ""
            self._plan, self.prev.disabled, self.next.disabled = None, True, True
            return
        self.budget.object = budget_html(plan)
        self.steps.object = ("<div class='wb-card'><h3>What the autopilot would do now</h3>"
                             f"{frame_html(steps_frame(plan), empty='nothing to do', css_id='wb-autopilot-steps')}</div>")
        self.schedule.object = ("<div class='wb-card'><h3>Schedule</h3>"
                                f"{frame_html(schedule_frame(plan), empty='no SKU has a scheduled next experiment')}</div>")
        if plan is not self._plan:
            self._plan, self._page = plan, 0
        self._show_candidates()

    def _turn(self, step: int) -> None:
        self._page += step
        self._show_candidates()

    def _show_candidates(self) -> None:
        """One page of the candidates (eligible first, then the busiest): the browser gets only that page."""
        plan = self._plan
        if plan is None:
            return
        if self._ordered is None or self._ordered[0] is not plan:      # sorted once per plan
            self._ordered = (plan, ordered_candidates(plan))
        ordered = self._ordered[1]
        page = page_of(pd.DataFrame({"i": range(len(ordered))}), self._page, self.page_size)
        self._page = page.page
        cands = [ordered[i] for i in page.frame["i"]]
        eligible = sum(c.eligible for c in plan.candidates)
        self.candidates.object = (f"<div class='wb-card'><h3>Candidates ({fmt_count(eligible)} eligible of "
                                  f"{fmt_count(len(plan.candidates))} SKUs; eligible first, then the busiest)</h3>"
                                  f"{frame_html(candidates_frame(plan, cands=cands), css_id='wb-candidates')}</div>")
        self.page_label.object = f'<span class="wb-status" id="wb-candidates-page">{escape(page.label)}</span>'
        self.prev.disabled = page.page == 0
        self.next.disabled = page.page >= page.pages - 1

    def __panel__(self) -> Any:
        return self._layout
