"""The Parquet lake layout written by ``simulate --format parquet`` and the engine choice (no Spark needed)."""

from __future__ import annotations

import pyarrow.parquet as pq

from tests.cli_runner import invoke


def test_simulate_writes_a_hive_partitioned_lake(capsys, tmp_path):
    out = tmp_path / "lake"
    code, stdout, err = invoke(capsys, None, "simulate", "--format", "parquet", "--out", str(out), "--scale", "0.001")
    assert code == 0, err
    days = sorted(p.name for p in (out / "events").iterdir())
    assert len(days) >= 7 and all(d.startswith("date=") for d in days)
    for side in ("pre_period", "world_experiments", "catalog_daily"):
        assert list((out / side).glob("*.parquet")), side
    part = next((out / "events" / days[0]).glob("*.parquet"))
    assert "date" not in pq.read_schema(part).names and "ts_server" in pq.read_schema(part).names
    code, _, err = invoke(capsys, None, "simulate", "--format", "parquet", "--out", str(out), "--scale", "0.001")
    assert code == 2 and "--force" in err                      # an existing lake is not replaced by surprise


def test_engine_choice_errors_are_one_line(capsys, tmp_path, monkeypatch):
    db = str(tmp_path / "x.duckdb")
    code, out, err = invoke(capsys, None, "analyze", "-e", "x", "--db", db, "--engine", "oracle")
    assert code == 2 and out == "" and "unknown engine 'oracle'" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("WORKBENCH_ENGINE", "spark")
    code, out, err = invoke(capsys, None, "analyze", "-e", "x", "--db", db)
    assert code == 2 and "--events" in err and len(err.strip().splitlines()) == 1


def test_engine_shorthand_in_workbench_yaml(tmp_path, monkeypatch):
    from workbench.config import get_settings
    from workbench.engine import resolve_engine

    cfg = tmp_path / "workbench.yaml"
    cfg.write_text("engine: spark\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    get_settings.cache_clear()
    assert resolve_engine().engine == "spark" and get_settings().engine.memory_limit == "1GB"
    assert resolve_engine("duckdb", tmp_path).events == str(tmp_path)


def test_registry_stays_in_the_embedded_database(tmp_path, monkeypatch):
    from workbench.db import registry_path
    from workbench.pipeline import has_registry

    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "wb.duckdb"))
    assert registry_path("pyspark://") == tmp_path / "wb.duckdb"
    assert registry_path(f"duckdb://{tmp_path / 'other.duckdb'}") == tmp_path / "other.duckdb"
    assert has_registry("pyspark://") is False                 # no file: no registry, and no engine is started
