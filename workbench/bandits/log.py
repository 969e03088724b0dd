"""The allocation log: every bandit decision, per arm, in the workbench database ("why did it do this").

Table ``allocation_log`` (one row per decision × segment × arm) holds the counts the policy saw,
the posterior, P(best), the previous and new weight and the reason; ``bandit_plans`` keeps each
plan's full JSON. Writes are one transaction (all rows of a plan or none). The database is
``Paths.default().db`` (``WORKBENCH_DB``), opened through :func:`workbench.db.connect` (Ibis).

>>> import tempfile, pathlib, pandas as pd
>>> from workbench.bandits.plan import allocate
>>> db = pathlib.Path(tempfile.mkdtemp()) / "wb.duckdb"
>>> counts = pd.DataFrame({"variant": ["a", "b"], "units": [500, 500], "conversions": [20, 35]})
>>> plan = allocate(counts, experiment_id="exp-1", seed=1, now="2026-03-01T09:00:00+00:00")
>>> record_plan(plan, db=db)
2
>>> read_decisions("exp-1", db=db)[["variant", "weight"]].round(2).to_dict("records")
[{'variant': 'a', 'weight': 0.07}, {'variant': 'b', 'weight': 0.93}]
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd

from ..db import connect, database_path
from ..display import dumps, fmt_count, fmt_weight
from ..errors import NotFoundError
from .plan import AllocationPlan, plan_from_json

__all__ = ["record_plan", "read_decisions", "explain_decisions", "latest_plan", "logged_plan", "log_frames", "replace_logged",
           "LOG_TABLE", "PLANS_TABLE"]

LOG_TABLE = "allocation_log"
PLANS_TABLE = "bandit_plans"

_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {LOG_TABLE} (
        decision_id VARCHAR, experiment_id VARCHAR, created_at TIMESTAMPTZ, policy VARCHAR, status VARCHAR,
        segment VARCHAR, variant VARCHAR, units DOUBLE, conversions DOUBLE, posterior_alpha DOUBLE,
        posterior_beta DOUBLE, prob_best DOUBLE, ucb DOUBLE, previous_weight DOUBLE, weight DOUBLE,
        floor DOUBLE, min_units_per_arm DOUBLE, reason VARCHAR, decision_reason VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {PLANS_TABLE} (
        decision_id VARCHAR PRIMARY KEY, experiment_id VARCHAR, created_at TIMESTAMPTZ, plan_json VARCHAR)""",
)


_LOG_COLUMNS = ["decision_id", "experiment_id", "created_at", "policy", "status", "segment", "variant", "units",
                "conversions", "posterior_alpha", "posterior_beta", "prob_best", "ucb", "previous_weight", "weight",
                "floor", "min_units_per_arm", "reason", "decision_reason"]


def _db(db: str | Path | None) -> Path:
    return database_path(db)


def _rows(plan: AllocationPlan) -> list[dict[str, object]]:
    rows = []
    for p in (plan, *plan.segments):
        for a in p.arms:
            rows.append({
                "decision_id": plan.decision_id, "experiment_id": plan.experiment_id,
                "created_at": pd.Timestamp(plan.created_at), "policy": plan.policy, "status": p.status,
                "segment": p.segment or "(all)", "variant": a.variant, "units": a.units,
                "conversions": a.conversions, "posterior_alpha": a.posterior_alpha,
                "posterior_beta": a.posterior_beta, "prob_best": a.prob_best, "ucb": a.ucb,
                "previous_weight": a.previous_weight, "weight": a.weight, "floor": p.floor,
                "min_units_per_arm": p.min_units_per_arm, "reason": a.reason,
                "decision_reason": "; ".join(p.reasons)})
    return rows


def log_frames(plans: "list[AllocationPlan] | tuple[AllocationPlan, ...]") -> dict[str, pd.DataFrame]:
    """The rows ``plans`` add to the log's two tables (for writers that build a whole database at once)."""
    rows = [r for p in plans for r in _rows(p)]
    log = pd.DataFrame(rows, columns=_LOG_COLUMNS).astype({"ucb": "float64", "previous_weight": "float64"})
    log["created_at"] = pd.to_datetime(log["created_at"], utc=True)
    plan_rows = pd.DataFrame({"decision_id": [p.decision_id for p in plans],
                              "experiment_id": [p.experiment_id for p in plans],
                              "created_at": pd.to_datetime([pd.Timestamp(p.created_at) for p in plans], utc=True),
                              "plan_json": [dumps(p) for p in plans]})
    return {LOG_TABLE: log, PLANS_TABLE: plan_rows}


def replace_logged(raw: object, frames: dict[str, pd.DataFrame], experiment_ids: "list[str]") -> None:
    """Inside the caller's transaction on a raw DuckDB connection: drop the logged decisions of
    ``experiment_ids`` and insert ``frames`` (from :func:`log_frames`). Other experiments' decisions stay."""
    for ddl in _DDL:
        _run(raw, ddl)
    for table in (LOG_TABLE, PLANS_TABLE):
        if experiment_ids:
            marks = ", ".join("?" for _ in experiment_ids)
            _run(raw, f"DELETE FROM {table} WHERE experiment_id IN ({marks})", list(experiment_ids))
        frame = frames.get(table)
        if frame is not None and len(frame):
            raw.register("_bandit_rows", frame)  # type: ignore[attr-defined]
            _run(raw, f"INSERT INTO {table} SELECT * FROM _bandit_rows")
            raw.unregister("_bandit_rows")  # type: ignore[attr-defined]


def _run(raw: object, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Execute and drain the result (DuckDB needs a result consumed before the next statement)."""
    return raw.execute(sql, params or []).fetchall()  # type: ignore[attr-defined]


def record_plan(plan: AllocationPlan, *, db: str | Path | None = None) -> int:
    """Append ``plan`` to the log in one transaction; returns the number of arm rows written.

    Recording the same decision twice is a no-op (the decision id is the key).
    """
    with connect(db) as con:
        return _record(con.con, plan)  # type: ignore[attr-defined]


def _record(raw: object, plan: AllocationPlan) -> int:
    try:
        raw.begin()  # type: ignore[attr-defined]
        for ddl in _DDL:
            _run(raw, ddl)
        exists = _run(raw, f"SELECT count(*) FROM {PLANS_TABLE} WHERE decision_id = ?", [plan.decision_id])
        if exists[0][0]:
            raw.rollback()  # type: ignore[attr-defined]
            return 0
        frame = pd.DataFrame(_rows(plan)).astype({"ucb": "float64", "previous_weight": "float64"})
        raw.register("_bandit_rows", frame)  # type: ignore[attr-defined]
        _run(raw, f"INSERT INTO {LOG_TABLE} SELECT * FROM _bandit_rows")
        raw.unregister("_bandit_rows")  # type: ignore[attr-defined]
        _run(raw, f"INSERT INTO {PLANS_TABLE} VALUES (?, ?, ?, ?)",
             [plan.decision_id, plan.experiment_id, pd.Timestamp(plan.created_at).to_pydatetime(), dumps(plan)])
        raw.commit()  # type: ignore[attr-defined]
    except BaseException:
        raw.rollback()  # type: ignore[attr-defined]
        raise
    return len(frame)


def _table(con: ibis.BaseBackend, name: str) -> ibis.Table | None:
    return con.table(name) if name in con.list_tables() else None


def read_decisions(experiment_id: str | None = None, *, db: str | Path | None = None,
                   last: int | None = None, until: dt.datetime | None = None) -> pd.DataFrame:
    """Logged arm rows (newest decision last), optionally for one experiment and its ``last`` decisions.

    ``until`` (naive UTC) keeps the decisions made at or before it — the log as it was then (before
    ``last`` counts). ``created_at`` comes back as naive UTC timestamps.
    """
    if not _db(db).exists():
        return pd.DataFrame()
    with connect(db, read_only=True) as con:
        t = _table(con, LOG_TABLE)
        if t is None:
            return pd.DataFrame()
        if experiment_id is not None:
            t = t.filter(t.experiment_id == experiment_id)
        if until is not None:
            t = t.filter(t.created_at <= pd.Timestamp(until, tz="UTC").to_pydatetime())
        if last is not None:
            recent = (t.select("decision_id", "created_at").distinct()
                      .order_by(ibis.desc("created_at")).limit(int(last)))
            t = t.semi_join(recent, "decision_id")
        rows = t.order_by(["created_at", "decision_id", "segment", "variant"]).to_pandas()
    rows["created_at"] = pd.to_datetime(rows["created_at"], utc=True).dt.tz_localize(None)
    return rows


def latest_plan(experiment_id: str, *, db: str | Path | None = None) -> AllocationPlan:
    """The most recent logged plan of an experiment (the ``previous`` of the next decision)."""
    if _db(db).exists():
        with connect(db, read_only=True) as con:
            t = _table(con, PLANS_TABLE)
            rows = (t.filter(t.experiment_id == experiment_id).order_by(ibis.desc("created_at")).limit(1).to_pandas()
                    if t is not None else pd.DataFrame())
        if len(rows):
            return plan_from_json(rows["plan_json"].iloc[0])
    raise NotFoundError(f"no logged allocation for experiment {experiment_id!r}")


def logged_plan(experiment_id: str, decision_id: str, *, db: str | Path | None = None) -> AllocationPlan:
    """The full plan of one logged decision (e.g. the current one of :func:`workbench.bandits.allocation_history`)."""
    if _db(db).exists():
        with connect(db, read_only=True) as con:
            t = _table(con, PLANS_TABLE)
            rows = (t.filter((t.experiment_id == experiment_id) & (t.decision_id == decision_id)).to_pandas()
                    if t is not None else pd.DataFrame())
        if len(rows):
            return plan_from_json(rows["plan_json"].iloc[0])
    raise NotFoundError(f"no logged plan {decision_id!r} for experiment {experiment_id!r}")


def explain_decisions(experiment_id: str, *, db: str | Path | None = None, last: int = 5,
                      until: dt.datetime | None = None) -> list[str]:
    """"Why the bandit did this": readable lines for the ``last`` decisions of an experiment (made by ``until``)."""
    rows = read_decisions(experiment_id, db=db, last=last, until=until)
    if rows.empty:
        raise NotFoundError(f"no logged allocation for experiment {experiment_id!r}")
    lines: list[str] = []
    for (decision, created), group in rows.groupby(["decision_id", "created_at"], sort=False):
        first = group.iloc[0]
        lines.append(f"{pd.Timestamp(created).isoformat()} decision {decision} [{first.policy}]")
        for segment, seg in group.groupby("segment", sort=False):
            lines.append(f"  {segment} ({seg.status.iloc[0]}): {seg.decision_reason.iloc[0]}")
            for r in seg.itertuples():
                prev = "" if pd.isna(r.previous_weight) else f" (was {fmt_weight(r.previous_weight)})"
                lines.append(f"    {r.variant}: {fmt_weight(r.weight)}{prev} — {fmt_count(r.units)} units, {fmt_count(r.conversions)} "
                             f"conversions; {r.reason}")
    return lines
