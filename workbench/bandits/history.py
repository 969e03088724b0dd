"""A bandit's allocation history: the one source of every "allocation now" the workbench shows.

The ``allocation_log`` table (:mod:`.log`) is the only record of what a bandit decided. The
simulated world writes its bandit's daily decisions there, and ``workbench allocate --log`` appends
new ones. :func:`allocation_history` reads an experiment's decisions made at or before an as-of time
(the data's as-of, or one the user gives) and returns an :class:`AllocationHistory`: the decisions
over time, the **current allocation** (the latest decision as of then) and a chart of it. The CLI
(``workbench bandit-log``, ``workbench allocate --experiment``), the dashboard and the report all
read it through this function, so they tell the same story.

>>> import tempfile, pathlib, pandas as pd
>>> from workbench.bandits.plan import allocate
>>> from workbench.bandits.log import record_plan
>>> db = pathlib.Path(tempfile.mkdtemp()) / "wb.duckdb"
>>> counts = pd.DataFrame({"variant": ["a", "b"], "units": [500, 500], "conversions": [20, 35]})
>>> _ = record_plan(allocate(counts, experiment_id="exp-1", seed=1, now="2026-03-01T09:00:00+00:00"), db=db)
>>> h = allocation_history("exp-1", db=db)
>>> h.current_text(), h.current_at.isoformat()
('a 6.7% · b 93.3%', '2026-03-01T09:00:00')
>>> allocation_history("exp-1", db=db, as_of="2026-02-28").current is None
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..asof import naive_utc      # the as-of clock's convention: naive UTC
from ..display import ResultMixin, fmt_weight

__all__ = ["AllocationHistory", "allocation_history", "history_from_rows", "data_as_of", "fmt_weight", "fmt_weights",
           "naive_utc"]

_COLUMNS = ["created_at", "decision_id", "policy", "status", "variant", "units", "conversions", "prob_best",
            "previous_weight", "weight", "reason", "decision_reason"]




def fmt_weights(weights: Mapping[str, float]) -> str:
    """``control 6.0% · cozy 20.9% · minimal 73.1%``."""
    return " · ".join(f"{v} {fmt_weight(w)}" for v, w in weights.items())


@dataclass(frozen=True)
class AllocationHistory(ResultMixin):
    """An experiment's logged allocation decisions (whole-population plan) up to ``as_of``.

    ``decisions``: one row per decision × variant, oldest first (``created_at`` naive UTC).
    ``current``: the weights of the latest decision (``None`` when nothing is logged by ``as_of``).
    """

    experiment_id: str
    as_of: dt.datetime | None
    variants: tuple[str, ...]
    current: Mapping[str, float] | None
    current_at: dt.datetime | None
    current_decision: str | None
    n_decisions: int
    decisions: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def empty(self) -> bool:
        return self.current is None

    def current_text(self) -> str:
        """The current weights as text, or "—" when nothing is logged."""
        return fmt_weights(self.current) if self.current else "—"

    def sentence(self) -> str:
        """One line that says where the current allocation comes from."""
        cut = f" as of {self.as_of:%Y-%m-%d %H:%M} UTC" if self.as_of is not None else ""
        if self.current is None:
            return (f"No allocation decision is logged for {self.experiment_id}{cut} "
                    "(`workbench allocate --experiment ID` logs one).")
        n = self.n_decisions
        return (f"Current allocation{cut}: {self.current_text()} — the latest of {n} logged "
                f"decision{'s' if n != 1 else ''}, made {self.current_at:%Y-%m-%d %H:%M} UTC.")

    def latest(self) -> pd.DataFrame:
        """The arm rows of the current decision."""
        if self.decisions.empty or self.current_decision is None:
            return self.decisions
        return self.decisions[self.decisions["decision_id"] == self.current_decision].reset_index(drop=True)

    def last(self, n: int) -> pd.DataFrame:
        """The arm rows of the ``n`` latest decisions."""
        if self.decisions.empty:
            return self.decisions
        ids = self.decisions.drop_duplicates("decision_id")["decision_id"].tail(int(n))
        return self.decisions[self.decisions["decision_id"].isin(ids)].reset_index(drop=True)

    def step_frame(self) -> pd.DataFrame:
        """``ts, variant, weight``: each decision's weights, held until the next one and up to ``as_of``.

        Lines start at the first logged decision (never at zero before it).
        """
        cols = ["ts", "variant", "weight"]
        if self.decisions.empty:
            return pd.DataFrame(columns=cols)
        f = self.decisions[["created_at", "variant", "weight"]].rename(columns={"created_at": "ts"})
        end = self.as_of
        if end is not None and end > f["ts"].max():
            tail = f[f["ts"] == f["ts"].max()].assign(ts=pd.Timestamp(end))
            f = pd.concat([f, tail], ignore_index=True)
        return f[cols].reset_index(drop=True)

    def by_day(self, days: Sequence[Any] | None = None) -> pd.DataFrame:
        """``day, variant, weight``: the weights of each day's last decision, carried over days without one
        (``days``: the days to cover, default from the first decision through ``as_of``)."""
        cols = ["day", "variant", "weight"]
        if self.decisions.empty:
            return pd.DataFrame(columns=cols)
        f = self.decisions.assign(day=self.decisions["created_at"].dt.floor("D"))
        last = f.drop_duplicates("decision_id").groupby("day")["decision_id"].last()
        wide = (f[f["decision_id"].isin(last.to_numpy())].pivot_table(index="day", columns="variant", values="weight")
                .reindex(columns=[v for v in self.variants if v in set(f["variant"])]))
        first = wide.index.min()
        end = pd.Timestamp(self.as_of).floor("D") if self.as_of is not None else wide.index.max()
        grid = pd.DatetimeIndex(pd.to_datetime(list(days))).floor("D") if days is not None else \
            pd.date_range(first, max(end, first), freq="D")
        grid = grid[grid >= first]                    # no weights before the first decision
        wide = wide.reindex(wide.index.union(grid)).ffill().loc[grid]
        out = wide.rename_axis(index="day", columns="variant").stack().rename("weight").reset_index()
        return out[cols]

    def plot(self, colors: Mapping[str, str] | None = None) -> Any:
        """Allocation over time (a Bokeh figure): one step line per variant, in percent of traffic; an
        :class:`~workbench.reports.plots.EmptyPlot` saying so when no decision was logged."""
        from bokeh.models import ColumnDataSource, Range1d

        from ..reports.plots import DATE, WIDTH, EmptyPlot, add_hover, legend_outside, new_figure, variant_colors
        f = self.step_frame()
        if f.empty:
            return EmptyPlot(f"no allocation decision logged for {self.experiment_id}")
        colors = dict(colors or variant_colors(self.variants))
        fig = new_figure("Allocation over time (logged decisions)", ylabel="% of traffic", width=WIDTH + 80,
                         x_axis_type="datetime", y_range=Range1d(0, 100))
        steps = []
        for v in self.variants:
            g = f[f["variant"] == v]
            if g.empty:
                continue
            src = ColumnDataSource({DATE: pd.to_datetime(g["ts"]), "weight": (g["weight"] * 100).to_numpy(),
                                    "variant": [str(v)] * len(g)})
            steps.append(fig.step(DATE, "weight", source=src, mode="after", color=colors.get(v, "#57606a"),
                                  line_width=2, legend_label=str(v)))
        add_hover(fig, steps, [("variant", "variant"), ("time", DATE), ("weight", "weight")], date_format="%F %H:%M")
        fig.x_range.range_padding = 0
        return legend_outside(fig)

    def to_frame(self) -> pd.DataFrame:
        return self.decisions.copy()

    def to_dict(self) -> dict[str, Any]:
        from ..display import to_jsonable
        return to_jsonable({"experiment_id": self.experiment_id, "as_of": self.as_of, "current": self.current,
                            "current_at": self.current_at, "current_decision": self.current_decision,
                            "n_decisions": self.n_decisions, "variants": list(self.variants),
                            "decisions": self.decisions})


def history_from_rows(rows: pd.DataFrame | None, experiment_id: str, *, as_of: Any = None,
                      variants: Sequence[str] | None = None) -> AllocationHistory:
    """The history of ``experiment_id`` from rows of :func:`workbench.bandits.read_decisions` (any experiments)."""
    at = naive_utc(as_of)
    if rows is None or rows.empty:
        f = pd.DataFrame(columns=_COLUMNS)
    else:
        f = rows[(rows["experiment_id"] == experiment_id) & (rows["segment"] == "(all)")]
        if at is not None:
            f = f[f["created_at"] <= pd.Timestamp(at)]
        f = f.sort_values(["created_at", "decision_id"], kind="stable")[_COLUMNS].reset_index(drop=True)
    names = tuple(variants) if variants else tuple(dict.fromkeys(f["variant"].astype(str)))
    if f.empty:
        return AllocationHistory(experiment_id, at, names, None, None, None, 0, f)
    last_id = str(f["decision_id"].iloc[-1])
    last = f[f["decision_id"] == last_id]
    weights = dict(zip(last["variant"].astype(str), last["weight"].astype(float)))
    order = [v for v in names if v in weights] + [v for v in weights if v not in names]
    current = {v: weights[v] for v in order}
    return AllocationHistory(experiment_id, at, names, current, pd.Timestamp(last["created_at"].iloc[0]).to_pydatetime(),
                             last_id, int(f["decision_id"].nunique()), f)


def allocation_history(experiment_id: str, *, db: str | Path | None = None, as_of: Any = None,
                       variants: Sequence[str] | None = None) -> AllocationHistory:
    """The logged allocation decisions of ``experiment_id`` made at or before ``as_of`` (all when ``None``)."""
    from .log import read_decisions
    return history_from_rows(read_decisions(experiment_id, db=db, until=naive_utc(as_of)), experiment_id,
                             as_of=as_of, variants=variants)


def data_as_of(experiment_id: str, *, db: str | Path | None = None) -> dt.datetime | None:
    """The data's as-of of one experiment (its latest event, as the data layer takes it), or ``None``
    when the database has no events for it."""
    from ..db import connect, database_path

    if "://" not in str(db or "") and not database_path(db).exists():
        return None
    with connect(db, read_only=True) as con:
        if "events" not in con.list_tables():
            return None
        t = con.table("events")
        last = t.filter(t.experiment_id == experiment_id).ts_server.max().execute()
    return None if last is None or pd.isna(last) else naive_utc(last)
