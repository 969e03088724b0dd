"""Retention purge over every table with user rows (events, pre_period, any table with a user_key):
afterwards no row older than the cutoff remains in any of them, tables without user data are kept,
and the aggregates recomputed from what remains match a world that never had the old rows."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench.lifecycle import Registry
from workbench.lifecycle.retention import user_tables
from workbench.reports.keys import source_fingerprints
from workbench.simulate.world import WORLD_END
from workbench.sources.experiments import load_experiments

NOW = WORLD_END
DAYS = 7
CUTOFF = NOW - dt.timedelta(days=DAYS)
EXPERIMENT = "pdp-shoes-hero"


def counts(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


@pytest.fixture
def world(tmp_path, small_world):
    db = tmp_path / "w.duckdb"
    shutil.copy(small_world["db"], db)
    with duckdb.connect(str(db)) as con:       # another user table with its own time column
        con.execute("CREATE TABLE sessions AS SELECT session_id, any_value(user_key) AS user_key, "
                    "min(ts_server) AS started_at FROM events GROUP BY session_id")
    return db


def expected_world(source, target) -> None:
    """What the world would be had the old rows never been loaded, built independently of the purge."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'src'").fetchall():
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM src."{name}"')
        first = con.execute("SELECT user_key, min(ts_server) AS first FROM events GROUP BY 1").df()
        young = set(first.loc[first["first"] >= CUTOFF, "user_key"])  # noqa: F841
        con.execute("DELETE FROM events WHERE ts_server < ?", [CUTOFF])
        con.execute("DELETE FROM sessions WHERE started_at < ?", [CUTOFF])
        con.execute("DELETE FROM pre_events WHERE ts_server < ?", [CUTOFF])
        keep = pd.DataFrame({"user_key": sorted(young)})  # noqa: F841
        con.execute("DELETE FROM pre_period WHERE user_key NOT IN (SELECT user_key FROM keep)")
        con.execute("DETACH src")


def test_user_tables_are_found_by_their_columns(world):
    with duckdb.connect(str(world), read_only=True) as con:
        assert user_tables(con) == {"events": "ts_server", "pre_events": "ts_server", "pre_period": None,
                                    "sessions": "started_at"}


def test_purge_covers_every_user_table_and_nothing_older_remains(world, tmp_path):
    before = counts(world)
    reg = Registry(world, clock=lambda: NOW)
    dry = reg.purge_events(retention_days=DAYS, by="dpo", why="check", dry_run=True)
    planned = {t.table: t.deleted for t in dry.tables}
    assert set(planned) == {"events", "pre_events", "pre_period", "sessions"} and all(planned.values())
    assert {k: v for k, v in counts(world).items() if k in before} == before and len(reg.audit()) == 0

    with duckdb.connect(str(world), read_only=True) as con:
        first_before = dict(con.execute("SELECT user_key, min(ts_server) FROM events GROUP BY 1").fetchall())
    r = reg.purge_events(retention_days=DAYS, by="dpo", why="retention policy")
    assert {t.table: t.deleted for t in r.tables} == planned and r.deleted == planned["events"]
    after = counts(world)
    for t in r.tables:
        assert after[t.table] == before[t.table] - t.deleted == t.remaining > 0
    with duckdb.connect(str(world), read_only=True) as con:
        assert con.execute("SELECT min(ts_server) FROM events").fetchone()[0] >= CUTOFF
        assert con.execute("SELECT min(started_at) FROM sessions").fetchone()[0] >= CUTOFF
        kept = [k for (k,) in con.execute("SELECT user_key FROM pre_period").fetchall()]
        orphans = con.execute("SELECT count(*) FROM pre_period p WHERE NOT EXISTS "
                              "(SELECT 1 FROM events e WHERE e.user_key = p.user_key)").fetchone()[0]
    assert kept and orphans == 0 and min(first_before[k] for k in kept) >= CUTOFF
    # tables without user data are kept whole; the purge is audited with every table
    for name in ("catalog_daily", "truth", "world_allocations", "world_experiments", "catalog"):
        assert after[name] == before[name], name
    detail = reg.audit().iloc[-1]["detail"]
    assert '"pre_period"' in str(detail) and '"sessions"' in str(detail)


def test_aggregates_after_a_purge_are_those_of_a_world_without_the_old_rows(world, tmp_path):
    original = tmp_path / "original.duckdb"
    shutil.copy(world, original)
    expected_db = tmp_path / "expected.duckdb"
    expected_world(original, expected_db)
    old = load_experiments([EXPERIMENT], db=world)[EXPERIMENT]
    old_key = source_fingerprints(world, [EXPERIMENT])[EXPERIMENT]

    Registry(world, clock=lambda: NOW).purge_events(retention_days=DAYS, by="dpo", why="retention policy")
    new = load_experiments([EXPERIMENT], db=world)[EXPERIMENT]
    expected = load_experiments([EXPERIMENT], db=expected_db)[EXPERIMENT]
    assert new.trust.events_total < old.trust.events_total
    assert new.data_version != old.data_version                              # the dashboard's caches miss
    assert source_fingerprints(world, [EXPERIMENT])[EXPERIMENT] != old_key   # the reports are rebuilt
    assert new.data_version == expected.data_version
    cols = sorted(new.cube.columns)
    key = [c for c in cols if not pd.api.types.is_numeric_dtype(new.cube[c])]
    a = new.cube[cols].sort_values(key).reset_index(drop=True)
    b = expected.cube[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert any("pre" in c for c in cols)                                     # covariates are part of the cube
    assert not np.allclose(a.filter(like="pre").to_numpy(dtype=float).sum(),
                           old.cube.filter(like="pre").to_numpy(dtype=float).sum())


def test_pre_period_purge_alone_changes_the_data_version(world):
    old = load_experiments([EXPERIMENT], db=world)[EXPERIMENT]
    with duckdb.connect(str(world)) as con:
        con.execute("DELETE FROM pre_period WHERE user_key IN (SELECT user_key FROM pre_period LIMIT 50)")
    assert load_experiments([EXPERIMENT], db=world)[EXPERIMENT].data_version != old.data_version
