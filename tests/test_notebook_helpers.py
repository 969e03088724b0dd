"""What the exploration notebooks start from: the workbench's database, or a small sample world of their own."""

from __future__ import annotations

import tempfile

import duckdb

from workbench.notebook import sample_database


def test_sample_database_is_the_workbench_database_when_it_exists(tmp_path, monkeypatch):
    db = tmp_path / "mine.duckdb"
    duckdb.connect(str(db)).close()
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    assert sample_database() == db


def test_sample_database_on_a_fresh_clone_generates_one_world_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "none-yet.duckdb"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    db = sample_database(scale=0.003)
    assert db.parent == tmp_path / "tmp" and db.is_file()
    assert not (tmp_path / "none-yet.duckdb").exists()                 # the user's database is not created
    with duckdb.connect(str(db), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT DISTINCT experiment_id FROM events").fetchall()}
    assert "pdp-shoes-hero" in ids                                      # what the notebooks read
    stamp = db.stat().st_mtime_ns
    assert sample_database(scale=0.003) == db and db.stat().st_mtime_ns == stamp   # reused, not regenerated
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]     # no partial file left
