"""The allocation log: transactional writes to DuckDB, read back as reasons."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from workbench.bandits import log as banditlog
from workbench.bandits.log import explain_decisions, latest_plan, read_decisions, record_plan
from workbench.bandits.plan import allocate
from workbench.errors import NotFoundError


def _plan(day: int, conv_b: int = 71, **kw):
    counts = pd.DataFrame({"variant": ["control", "b"], "units": [1200, 1180], "conversions": [48, conv_b]})
    return allocate(counts, experiment_id="exp-log", seed=day, now=f"2026-05-0{day}T08:00:00+00:00", **kw)


def test_record_and_read_back_in_order(tmp_path):
    db = tmp_path / "wb.duckdb"
    p1 = _plan(1)
    assert record_plan(p1, db=db) == 2
    assert record_plan(p1, db=db) == 0                      # the same decision is not logged twice
    p2 = _plan(2, conv_b=50, previous=p1)
    record_plan(p2, db=db)
    rows = read_decisions("exp-log", db=db)
    assert rows["decision_id"].nunique() == 2 and len(rows) == 4
    assert rows.groupby("decision_id").weight.sum().round(10).tolist() == [1.0, 1.0]
    last = read_decisions("exp-log", db=db, last=1)
    assert set(last.decision_id) == {p2.decision_id}
    assert latest_plan("exp-log", db=db) == p2
    lines = explain_decisions("exp-log", db=db)
    assert any("(was " in line for line in lines) and any("P(best)" in line for line in lines)
    with pytest.raises(NotFoundError):
        explain_decisions("nope", db=db)


def test_default_database_comes_from_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "env.duckdb"))
    record_plan(_plan(3))
    assert (tmp_path / "env.duckdb").exists()
    assert len(read_decisions("exp-log")) == 2


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    db = tmp_path / "wb.duckdb"
    record_plan(_plan(1), db=db)
    original = banditlog._run

    def failing(raw, sql, params=None):
        if sql.startswith(f"INSERT INTO {banditlog.PLANS_TABLE}"):
            raise RuntimeError("disk full")
        return original(raw, sql, params)

    monkeypatch.setattr(banditlog, "_run", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        record_plan(_plan(2), db=db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from allocation_log").fetchone()[0] == 2      # the arm rows rolled back
    assert con.execute("select count(*) from bandit_plans").fetchone()[0] == 1
    con.close()
