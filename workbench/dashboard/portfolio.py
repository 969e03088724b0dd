"""The portfolio page: every experiment with its state, timing, traffic, primary lift, decision and badges.

Rows come from :func:`workbench.dashboard.data.portfolio_rows`; the filters narrow them; clicking
a row opens the experiment's detail page in the same tab (no reload).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
from panel.viewable import Viewer

from ..display import escape, fmt_ci, fmt_num, fmt_pct, fmt_action
from .badges import badges_html
from .data import filter_portfolio, portfolio_frame, portfolio_rows
from .session import AppState
from .ui import ACTION_COLOURS, STATE_COLOURS, fmt_days, fmt_lift, fmt_prob, pill

__all__ = ["PortfolioView", "display_frame", "COLUMNS"]

COLUMNS = {"experiment_id": "Experiment", "state": "State", "category": "Category",
           "days": "Days", "traffic": "Traffic", "lift": "Primary lift [CI]", "p_beat": "P(beat ctrl)",
           "decision": "Decision", "badges": "Badges"}


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The portfolio frame formatted for the table (HTML only where the table renders HTML)."""
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
                        f'{pill(fmt_action(r.decision), ACTION_COLOURS.get(r.decision, "#52606d"))}</span>',
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
        self.health = pn.widgets.MultiChoice(label="Health", options=["healthy", "warning", "blocked"], width=220)
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
        for w in (self.states, self.categories, self.decisions, self.health):
            w.param.watch(self._refilter, "value")
        self.search.param.watch(self._refilter, "value_input")
        self._frame = portfolio_frame([])
        self._shown = self._frame
        self._layout = pn.Column(
            self.summary,
            pn.Row(self.states, self.categories, self.decisions, self.health, self.search),
            self.table, sizing_mode="stretch_width")

    def update(self, snapshot: Any) -> None:
        """Rebuild the rows from a new snapshot, keeping the filters."""
        self._frame = portfolio_frame(portfolio_rows(snapshot.outcomes, snapshot.registry, snapshot.bandits))
        f = self._frame
        self.states.options = sorted(f["state"].unique().tolist())
        # Choices.js renders option labels as HTML: the label is escaped, the value stays the category
        self.categories.options = {escape(c): c for c in sorted(f["category"].unique().tolist())}
        self.decisions.options = sorted(f["decision"].unique().tolist())
        counts = f["decision"].value_counts()
        health = f["health"].value_counts()
        parts = [f"<b>{len(f)}</b> experiments"]
        parts += [f"{pill(fmt_action(a), ACTION_COLOURS.get(a, '#52606d'))} {int(n)}" for a, n in counts.items()]
        parts += [f"{escape(h)}: {int(n)}" for h, n in health.items()]
        units = fmt_num(float(f["units"].sum())) if len(f) else "0"
        self.summary.object = f'<div class="wb-status">{" · ".join(parts)} · {units} users analysed</div>'
        self._refilter()

    def _refilter(self, *_: Any) -> None:
        self._shown = filter_portfolio(self._frame, states=self.states.value, categories=self.categories.value,
                                       decisions=self.decisions.value, health=self.health.value,
                                       text=self.search.value_input or "").reset_index(drop=True)
        self.table.value = display_frame(self._shown)

    def _open(self, event: Any) -> None:
        row = getattr(event, "row", None)
        if row is None or row >= len(self._shown):
            return
        self.state.param.update(experiment=str(self._shown.iloc[row]["experiment_id"]), page="experiment")

    def __panel__(self) -> Any:
        return self._layout
