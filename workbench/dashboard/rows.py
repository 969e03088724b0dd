"""The portfolio's rows: what the first page shows, in a module that imports nothing heavy.

:func:`workbench.dashboard.data.portfolio_rows` builds the rows from the pipeline's outcomes; this module
holds their type, the frame the server pages and filters (:mod:`workbench.dashboard.paging`), and the
filter, so a server that starts from its kept snapshot paints the portfolio before it imports the
analysis and plotting stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd

from ..display import ResultMixin
from .badges import Badge

__all__ = ["ANALYSING", "PortfolioRow", "portfolio_frame", "filter_portfolio"]

ANALYSING = "analysing"


@dataclass(frozen=True)
class PortfolioRow(ResultMixin):
    """One experiment in the portfolio table."""

    experiment_id: str
    name: str
    state: str
    kind: str
    category: str
    days_running: float | None
    traffic_share: float | None
    units: float
    allocation: str
    primary_metric: str
    best_variant: str | None
    lift_rel: float | None
    lift_rel_lo: float | None
    lift_rel_hi: float | None
    prob_beat_control: float | None
    decision: str
    decision_reason: str
    health: str
    badges: tuple[Badge, ...] = ()
    arms: int = 0                           # variants including the control
    owner: str = "—"


def portfolio_frame(rows: Sequence[PortfolioRow]) -> pd.DataFrame:
    """The rows as a DataFrame (badges as a list column), in the order given."""
    cols = [f for f in PortfolioRow.__dataclass_fields__]
    return pd.DataFrame([{k: getattr(r, k) for k in cols} for r in rows], columns=cols)


def filter_portfolio(frame: pd.DataFrame, *, states: Iterable[str] = (), categories: Iterable[str] = (),
                     decisions: Iterable[str] = (), health: Iterable[str] = (), text: str = "",
                     owners: Iterable[str] = ()) -> pd.DataFrame:
    """Rows matching every non-empty filter (``text`` searches the id and the name, any case).

    >>> f = pd.DataFrame({"experiment_id": ["a-1", "b-2"], "name": ["Shoes hero", "Beauty tabs"],
    ...                   "state": ["running", "hold"], "category": ["shoes", "beauty"],
    ...                   "decision": ["hold", "launch"], "health": ["healthy", "warning"]})
    >>> filter_portfolio(f, text="BEAUTY")["experiment_id"].tolist(), len(filter_portfolio(f, states=["running"]))
    (['b-2'], 1)
    """
    keep = pd.Series(True, index=frame.index)
    for col, values in (("state", states), ("category", categories), ("decision", decisions), ("health", health),
                        ("owner", owners)):
        values = list(values)
        if values:
            keep &= frame[col].isin(values)
    if text.strip():
        t = text.strip().lower()
        keep &= frame["experiment_id"].str.lower().str.contains(t, regex=False) | \
            frame["name"].str.lower().str.contains(t, regex=False)
    return frame[keep]
