"""The portfolio page: every experiment with its state, timing, traffic, primary lift, decision and badges.

Rows come from :func:`workbench.dashboard.data.portfolio_rows`, built once per snapshot by the
service (:meth:`~workbench.dashboard.service.DashboardService.portfolio`); the filters (state,
decision, category, owner, health, text) and the page are applied on the server, so the browser
receives one page of rows (:mod:`workbench.dashboard.paging`). Clicking a row opens the
experiment's detail page in the same tab (no reload).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..display import escape, fmt_ci, fmt_num, fmt_pct, fmt_action
from .badges import badges_html
from .rows import portfolio_frame
from .paging import PAGE_SIZE, PortfolioQuery, facets
from .session import AppState
from .ui import ACTION_COLOURS, STATE_COLOURS, fmt_days, fmt_lift, fmt_prob, pill

__all__ = ["PortfolioView", "display_frame", "COLUMNS"]

COLUMNS = {"experiment_id": "Experiment", "state": "State", "category": "Category",
           "days": "Days", "traffic": "Traffic", "lift": "Primary lift [CI]", "p_beat": "P(beat ctrl)",
           "decision": "Decision", "badges": "Badges"}


def display_frame(frame: pd.DataFrame, *, previous: bool = False) -> pd.DataFrame:
    """The portfolio frame formatted for the table (HTML only where the table renders HTML); ``previous``: the
    rows are the analysis of the previous data (:attr:`~workbench.dashboard.service.Snapshot.previous`), and each
    decision says so."""
    stale = '<br><span class="wb-muted wb-previous">previous data</span>' if previous else ""
    rows = []
    for r in frame.itertuples(index=False):
        point = fmt_lift(r.lift_rel)
        ci = fmt_ci(r.lift_rel_lo, r.lift_rel_hi, pct=True) if point != "—" and pd.notna(r.lift_rel_lo) \
            and pd.notna(r.lift_rel_hi) else ""
        who = f"{r.best_variant} " if r.best_variant and r.arms > 2 else ""
        lift = (f"{escape(r.primary_metric)} {escape(who)}<b>{escape(point)}</b>"
                + (f'<br><span class="wb-muted">{escape(ci)}</span>' if ci else ""))
        rows.append({
            "experiment_id": f'<b class="wb-eid">{escape(r.experiment_id)}</b><br>'
                             f'<span class="wb-muted">{escape(r.name)}</span>',
            "state": pill(r.state, STATE_COLOURS.get(r.state, "#52606d")),
            "category": escape(r.category), "days": fmt_days(r.days_running),
            "traffic": fmt_pct(r.traffic_share, 1) if r.traffic_share is not None else "—",
            "lift": lift, "p_beat": fmt_prob(r.prob_beat_control),
            "decision": f'<span title="{escape(r.decision_reason)}">'
                        f'{pill(fmt_action(r.decision), ACTION_COLOURS.get(r.decision, "#52606d"))}</span>{stale}',
            "badges": badges_html(list(r.badges), kinds=("health", "srm", "bots", "guardrail")),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


# The table fits the page: columns share its width and a cell's badges or text wrap onto more lines
# instead of running past the right edge (Tabulator keeps cells on one line and clips them by default).
_WRAP_CELLS = (".tabulator-cell { white-space: normal !important; overflow-wrap: break-word; } "
               ".tabulator-col-title { white-space: normal !important; }")


class PortfolioView(Viewer):
    """Filters, a summary line and the experiments table (click a row to open it)."""

    def __init__(self, service: Any, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.service, self.state = service, state
        self.states = pn.widgets.MultiChoice(label="State", options=[], width=220)
        self.categories = pn.widgets.MultiChoice(label="Category", options=[], width=220)
        self.decisions = pn.widgets.MultiChoice(label="Decision", options=[], width=220)
        self.owners = pn.widgets.MultiChoice(label="Owner", options=[], width=200)
        self.health = pn.widgets.MultiChoice(label="Health", options=["healthy", "warning", "blocked"], width=200)
        self.search = pn.widgets.TextInput(label="Search", placeholder="experiment id or name", width=220)
        html_cols = {c: {"type": "html"} for c in ("experiment_id", "state", "category", "lift", "decision", "badges")}
        self.table = pn.widgets.Tabulator(
            display_frame(pd.DataFrame(columns=portfolio_frame([]).columns)), disabled=True, show_index=False,
            selectable=False, titles=COLUMNS, formatters=html_cols, layout="fit_columns",
            widths={"experiment_id": "19%", "state": "8%", "category": "9%", "days": "6%", "traffic": "7%",
                    "lift": "15%", "p_beat": "8%", "decision": "10%", "badges": "18%"}, sizing_mode="stretch_width",
            css_classes=["wb-portfolio"], header_filters=False, stylesheets=[_WRAP_CELLS])
        self.table.on_click(self._open)
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width")
        for w in (self.states, self.categories, self.decisions, self.owners, self.health):
            w.param.watch(self._refilter, "value")
        self.search.param.watch(self._refilter, "value_input")
        self.prev = pn.widgets.Button(label="‹ Previous", width=110, disabled=True, css_classes=["wb-page-prev"])
        self.next = pn.widgets.Button(label="Next ›", width=110, disabled=True, css_classes=["wb-page-next"])
        self.prev.on_click(lambda _e: self._turn(-1))
        self.next.on_click(lambda _e: self._turn(+1))
        self.page_label = pn.pane.HTML("", css_classes=["wb-page-label"])
        self.size = pn.widgets.Select(label="Rows per page", options=[10, 25, PAGE_SIZE, 100], value=PAGE_SIZE,
                                      width=110, css_classes=["wb-page-size"])
        self.size.param.watch(self._refilter, "value")
        self._page = 0
        self._snap: Any = None
        self._shown = portfolio_frame([])
        self._layout = pn.Column(
            self.summary,
            pn.Row(self.states, self.categories, self.decisions, self.owners, self.health, self.search),
            self.table, pn.Row(self.prev, self.page_label, self.next, self.size), sizing_mode="stretch_width")

    def update(self, snapshot: Any) -> None:
        """Show a new snapshot (its rows built once by the service), keeping the filters and the page."""
        self._snap = snapshot
        f = self.service.portfolio(snapshot)
        values = facets(f)
        self.states.options = values["state"]
        # Choices.js renders option labels as HTML: the label is escaped, the value stays the category
        self.categories.options = {escape(c): c for c in values["category"]}
        self.owners.options = {escape(c): c for c in values["owner"]}
        self.decisions.options = values["decision"]
        counts = f["decision"].value_counts()
        health = f["health"].value_counts()
        parts = [f"<b>{len(f)}</b> experiments"]
        parts += [f"{pill(fmt_action(a), ACTION_COLOURS.get(a, '#52606d'))} {int(n)}" for a, n in counts.items()]
        parts += [f"{escape(h)}: {int(n)}" for h, n in health.items()]
        units = fmt_num(float(f["units"].sum())) if len(f) else "0"
        self.summary.object = f'<div class="wb-status">{" · ".join(parts)} · {units} users analysed</div>'
        self._query()

    def _refilter(self, *_: Any) -> None:
        self._page = 0                       # new filters start at the first page
        self._query()

    def _turn(self, step: int) -> None:
        self._page += step
        self._query()

    def _query(self) -> None:
        """Ask the service for the current page of the filtered portfolio and show it."""
        q = PortfolioQuery(states=tuple(self.states.value), decisions=tuple(self.decisions.value),
                           categories=tuple(self.categories.value), owners=tuple(self.owners.value),
                           health=tuple(self.health.value), text=self.search.value_input or "",
                           page=self._page, size=self.size.value)
        page = self.service.portfolio_page(q, self._snap)
        self._page = page.page
        self._shown = page.frame
        self.table.value = display_frame(page.frame, previous=bool(getattr(self._snap, "previous", False)))
        self.page_label.object = f'<span class="wb-status" id="wb-portfolio-page">{escape(page.label)}</span>'
        self.prev.disabled = page.page == 0
        self.next.disabled = page.page >= page.pages - 1

    def _open(self, event: Any) -> None:
        row = getattr(event, "row", None)
        if row is None or row >= len(self._shown):
            return
        self.state.param.update(experiment=str(self._shown.iloc[row]["experiment_id"]), page="experiment")

    def __panel__(self) -> Any:
        return self._layout
