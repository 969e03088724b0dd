"""Server-side filtering and pagination of the dashboard's long lists (portfolio, autopilot candidates).

A browser never receives more than one page of rows: the server filters the portfolio frame it
built once per snapshot (:meth:`workbench.dashboard.service.DashboardService.portfolio`) and sends
the page asked for. With 500 experiments the table then renders 50 rows instead of 500, which is
what keeps the first paint short.

>>> import pandas as pd
>>> f = pd.DataFrame({"experiment_id": [f"e-{i}" for i in range(7)], "name": ["x"] * 7, "state": ["running"] * 7,
...                   "category": ["shoes"] * 7, "decision": ["hold"] * 7, "health": ["healthy"] * 7,
...                   "owner": ["kim", "lee"] * 3 + ["kim"]})
>>> p = query_portfolio(f, PortfolioQuery(owners=("kim",), page=1, size=3))
>>> p.frame["experiment_id"].tolist(), p.total, p.page, p.pages, p.label
(['e-6'], 4, 1, 2, 'rows 4–4 of 4 · page 2 of 2')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from ..display import fmt_count

__all__ = ["PAGE_SIZE", "Page", "PortfolioQuery", "page_of", "query_portfolio", "facets"]

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a filtered list: its rows, how many rows matched, and where it is (0-based ``page``)."""

    frame: pd.DataFrame
    total: int
    page: int
    pages: int
    size: int

    @property
    def first(self) -> int:
        """1-based number of the page's first row (0 when nothing matched)."""
        return self.page * self.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min((self.page + 1) * self.size, self.total)

    @property
    def label(self) -> str:
        if not self.total:
            return "no rows match"
        return (f"rows {fmt_count(self.first)}–{fmt_count(self.last)} of {fmt_count(self.total)} · "
                f"page {fmt_count(self.page + 1)} of {fmt_count(self.pages)}")


def page_of(frame: pd.DataFrame, page: int = 0, size: int = PAGE_SIZE) -> Page:
    """Rows ``page * size`` to ``(page + 1) * size`` of ``frame``; ``page`` is clamped to the pages there are."""
    size = max(int(size), 1)
    total = len(frame)
    pages = max(math.ceil(total / size), 1)
    page = min(max(int(page), 0), pages - 1)
    return Page(frame.iloc[page * size:(page + 1) * size].reset_index(drop=True), total, page, pages, size)


@dataclass(frozen=True)
class PortfolioQuery:
    """What a portfolio page asks the server for: filters (empty = any) and a page."""

    states: Sequence[str] = ()
    decisions: Sequence[str] = ()
    categories: Sequence[str] = ()
    owners: Sequence[str] = ()
    health: Sequence[str] = ()
    text: str = ""
    page: int = 0
    size: int = PAGE_SIZE


def query_portfolio(frame: pd.DataFrame, query: PortfolioQuery) -> Page:
    """The rows of ``frame`` (:func:`workbench.dashboard.data.portfolio_frame`) matching ``query``, one page."""
    from .rows import filter_portfolio

    shown = filter_portfolio(frame, states=query.states, categories=query.categories, decisions=query.decisions,
                             health=query.health, owners=query.owners, text=query.text or "")
    return page_of(shown, query.page, query.size)


def facets(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The values each filter can take in ``frame`` (sorted), for the filter widgets' options."""
    return {col: sorted(frame[col].dropna().unique().tolist()) if col in frame else []
            for col in ("state", "decision", "category", "owner", "health")}
