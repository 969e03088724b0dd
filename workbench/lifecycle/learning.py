"""The learning store: which variant meta tags win in which category.

When an experiment concludes, :func:`conclude` records every variant's meta tags (layout, CTA
tone, palette, key benefit...) with the outcome — ``win`` for the winner, ``loss`` for the others
— under the experiment's category, and schedules the SKU's next experiment for after the cooldown.
:func:`pattern_table` turns the records into a "which tags win where" table; :func:`winning_tags`
picks, per tag, the value with the highest smoothed win rate ((wins + 1) / (trials + 2), so one
lucky win does not beat a solid record), which the autopilot uses for its next variants.

>>> import tempfile, pathlib
>>> from workbench.lifecycle.brief import ExperimentBrief
>>> from workbench.lifecycle.registry import Registry
>>> reg = Registry(pathlib.Path(tempfile.mkdtemp()) / "wb.duckdb")
>>> b = ExperimentBrief(id="e1", owner="kim", min_sample_size=100, targeting={"categories": ["shoes"]},
...     variants=[{"id": "control", "meta": {"cta_tone": "neutral"}}, {"id": "b", "meta": {"cta_tone": "urgent"}}])
>>> _ = reg.create(b, by="kim", why="test")
>>> conclude(reg, "e1", winner="b", lift_rel=0.08, by="kim", why="b won")
>>> pattern_table(reg)[["category", "tag", "value", "wins", "trials"]].to_dict("records")
[{'category': 'shoes', 'tag': 'cta_tone', 'value': 'urgent', 'wins': 1, 'trials': 1}, {'category': 'shoes', 'tag': 'cta_tone', 'value': 'neutral', 'wins': 0, 'trials': 1}]
>>> winning_tags(reg, "shoes")
{'cta_tone': 'urgent'}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from ..config import get_settings
from .registry import Registry

__all__ = ["conclude", "stop_and_conclude", "pattern_table", "winning_tags", "UNCATEGORISED"]

UNCATEGORISED = "(uncategorised)"


def _check_winner(brief: Any, winner: str | None) -> None:
    from ..aa import AA_REFUSAL, is_aa
    if winner is not None and is_aa(brief=brief):
        from ..errors import ConflictError
        raise ConflictError(f"{brief.id}: {AA_REFUSAL} (stop it without --winner)")
    if winner is not None and winner not in brief.variant_ids:
        from ..errors import InputError, Problem
        raise InputError([Problem("blocked", "bad_variant", f"the winner must be one of {', '.join(brief.variant_ids)}",
                                  column="winner", value=winner)])


def stop_and_conclude(reg: Registry, experiment_id: str, *, winner: str | None, lift_rel: float | None = None,
                      by: str, why: str, detail: dict[str, Any] | None = None) -> None:
    """Stop a running experiment and :func:`conclude` it, in one registry transaction.

    ``detail`` adds to the audit entry of the stop (which always names the winner).
    """
    _check_winner(reg.brief(experiment_id), winner)
    with reg.transaction() as con:
        reg.transition(experiment_id, "stop", by=by, why=why, con=con, detail={"winner": winner, **(detail or {})})
        conclude(reg, experiment_id, winner=winner, lift_rel=lift_rel, by=by, why=why, con=con)


def conclude(reg: Registry, experiment_id: str, *, winner: str | None, lift_rel: float | None = None, by: str,
             why: str, con: duckdb.DuckDBPyConnection | None = None, schedule: bool = True) -> None:
    """Record the outcome's tags in the learning store and schedule the SKU's next experiment.

    ``winner`` may be the control (the challengers lost) or ``None`` (no winner: nothing is learnt,
    but the next experiment is still scheduled after the cooldown).
    """
    brief = reg.brief(experiment_id)
    _check_winner(brief, winner)
    category = brief.category or UNCATEGORISED

    def write(c: duckdb.DuckDBPyConnection) -> None:
        now = reg.clock()
        if winner is not None:
            c.execute("DELETE FROM learning_patterns WHERE experiment_id = ?", [experiment_id])
            for v in brief.variants:
                outcome = "win" if v.id == winner else "loss"
                for tag, value in sorted(v.meta.items()):
                    if value:
                        c.execute("INSERT INTO learning_patterns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  [experiment_id, category, v.id, outcome, tag, value,
                                   lift_rel if v.id == winner else None, now])
        reg.append_audit(c, actor=by, action="conclude", why=why, experiment_id=experiment_id, at=now,
                         detail={"winner": winner, "lift_rel": lift_rel, "category": category})
        if schedule and brief.product_id:
            cooldown = get_settings().lifecycle.autopilot.cooldown_days
            reg.schedule_next(brief.product_id, not_before=now + dt.timedelta(days=cooldown), category=brief.category,
                              source_experiment_id=experiment_id, by=by,
                              why=f"next experiment after the {cooldown}-day cooldown", con=c)

    if con is not None:
        write(con)
    else:
        with reg.transaction() as own:
            write(own)


def pattern_table(reg: Registry, category: str | None = None) -> pd.DataFrame:
    """Per category × tag × value: wins, trials, smoothed win rate and mean lift of the wins."""
    sql = """
        SELECT category, tag, value,
               CAST(sum(CASE WHEN outcome = 'win' THEN 1 ELSE 0 END) AS BIGINT) AS wins,
               CAST(count(*) AS BIGINT) AS trials,
               avg(CASE WHEN outcome = 'win' THEN lift_rel END) AS mean_win_lift
        FROM learning_patterns {where}
        GROUP BY category, tag, value"""
    params: list[Any] = []
    where = ""
    if category is not None:
        where, params = "WHERE category = ?", [category]
    with reg.connect() as con:
        df = con.execute(sql.format(where=where), params).df()
    if df.empty:
        return pd.DataFrame(columns=["category", "tag", "value", "wins", "trials", "win_rate", "mean_win_lift"])
    df["wins"] = df["wins"].astype("int64")
    df["trials"] = df["trials"].astype("int64")
    df["win_rate"] = (df["wins"] + 1) / (df["trials"] + 2)
    df = df.sort_values(["category", "tag", "win_rate", "wins", "value"], ascending=[True, True, False, False, True])
    return df[["category", "tag", "value", "wins", "trials", "win_rate", "mean_win_lift"]].reset_index(drop=True)


def winning_tags(reg: Registry, category: str | None) -> dict[str, str]:
    """The best value of each tag in ``category`` (only tags with at least one win)."""
    df = pattern_table(reg, category or UNCATEGORISED)
    out: dict[str, str] = {}
    for tag, g in df.groupby("tag", sort=True):
        top = g.iloc[0]
        if int(top["wins"]) > 0:
            out[str(tag)] = str(top["value"])
    return out
