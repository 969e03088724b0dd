"""The aggregation under a deliberately small DuckDB memory limit: it spills and gives the same numbers; a limit
it truly cannot fit in ends in one line naming the setting to change (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli_runner import invoke


def _limit(monkeypatch, tmp_path: Path, limit: str, threads: int = 1) -> None:
    cfg = tmp_path / f"workbench-{limit}.yaml"
    cfg.write_text(f"engine:\n  memory_limit: {limit}\n  threads: {threads}\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    from workbench.config import get_settings
    get_settings.cache_clear()


def test_small_memory_limit_gives_the_same_cube(small_world, monkeypatch, tmp_path):
    from workbench.sources.experiments import load_experiments

    ids = ["pdp-shoes-hero", "pdp-beauty-srm"]
    free = load_experiments(ids, db=small_world["db"])
    _limit(monkeypatch, tmp_path, "48MB")
    tight = load_experiments(ids, db=small_world["db"])
    for e in ids:
        assert free[e].cube["n"].sum() > 100
        pd.testing.assert_frame_equal(free[e].cube, tight[e].cube, check_exact=False, rtol=1e-12)


def test_a_limit_too_small_is_one_line_naming_the_setting(small_world, monkeypatch, tmp_path, capsys):
    _limit(monkeypatch, tmp_path, "4MB", threads=2)      # fails on two threads, then on one: the one line
    code, out, err = invoke(capsys, None, "analyze", "-e", "pdp-shoes-hero", "--db", str(small_world["db"]))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err
    assert "engine.memory_limit = 4MB" in lines[0] and "workbench.yaml" in lines[0]


def test_a_limit_one_thread_fits_in_is_enough_on_many_threads(small_world, monkeypatch, tmp_path):
    """The cause of the OutOfMemoryException at a fraction of the limit: what a hash aggregation cannot spill
    (its hash table, one pinned block per partition, its state arenas) is held per thread. 40 MB fits the small
    world's aggregation on one thread and not on sixteen; the aggregation retries on one thread and gives the
    cube of a run without a limit."""
    import duckdb


    from workbench.aggregate import aggregate_cube, cube_expr, default_metrics, unit_expr
    from workbench.db import connect
    from workbench.sources.events import open_event_log

    events = small_world["parquet"] / "events.parquet"
    with connect(":memory:") as con:
        free = aggregate_cube(open_event_log(con, events))
    cfg = tmp_path / "workbench-40MB.yaml"
    cfg.write_text("engine:\n  memory_limit: 40MB\n  threads: 16\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    from workbench.config import get_settings
    get_settings.cache_clear()
    with connect(":memory:") as con:
        log = open_event_log(con, events)
        metrics = default_metrics(log)
        units = unit_expr(log, values={v for m in metrics for v in m.values()})
        with pytest.raises(duckdb.OutOfMemoryException):          # the premise: sixteen threads do not fit
            cube_expr(units, metrics).execute()
        assert con.raw_sql("SELECT current_setting('threads')").fetchone()[0] == 16
        tight = aggregate_cube(log)
        assert con.raw_sql("SELECT current_setting('threads')").fetchone()[0] == 16     # restored after the retry
    assert free["n"].sum() > 1000
    pd.testing.assert_frame_equal(free, tight, check_exact=False, rtol=1e-12)


def test_auto_threads_leave_each_thread_its_share_of_the_limit(monkeypatch, tmp_path):
    from workbench.config import get_settings
    from workbench.db import MEMORY_PER_THREAD, auto_threads, connect

    assert auto_threads("1GB", cores=64) == 1_000_000_000 // MEMORY_PER_THREAD
    assert auto_threads("100MB", cores=8) == 1 and auto_threads("64GB", cores=8) == 8 and auto_threads("", cores=3) == 3
    cfg = tmp_path / "workbench.yaml"
    cfg.write_text("engine:\n  memory_limit: 300MB\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    get_settings.cache_clear()
    with connect(":memory:") as con:
        assert con.raw_sql("SELECT current_setting('threads')").fetchone()[0] == 1


def test_a_full_spill_folder_is_one_line_naming_the_disk_not_the_memory(small_world, monkeypatch, tmp_path):
    from workbench.aggregate import aggregate_cube
    from workbench.db import connect, engine_limits
    from workbench.errors import WorkbenchError
    from workbench.sources.events import open_event_log

    _limit(monkeypatch, tmp_path, "28MB")                          # it must spill
    with connect(":memory:") as con:
        con.raw_sql("SET max_temp_directory_size = '0KB'")       # a full disk under the spill folder
        log = open_event_log(con, small_world["parquet"] / "events.parquet")
        with pytest.raises(WorkbenchError) as err, engine_limits():
            aggregate_cube(log)
    message = str(err.value)
    assert "\n" not in message and "is full" in message and "engine.temp_directory" in message


def test_the_python_api_raises_the_one_line_too(small_world, monkeypatch, tmp_path):
    """``aggregate_cube`` called from Python (as ``benchmarks/engines.py`` does) ends in the same one line as the CLI."""
    from workbench.aggregate import aggregate_cube
    from workbench.db import connect
    from workbench.errors import WorkbenchError
    from workbench.sources.events import open_event_log

    _limit(monkeypatch, tmp_path, "4MB", threads=2)
    with connect(":memory:") as con:
        log = open_event_log(con, small_world["parquet"] / "events.parquet")
        with pytest.raises(WorkbenchError) as err:
            aggregate_cube(log)
    message = str(err.value)
    assert "\n" not in message and "engine.memory_limit = 4MB" in message and "workbench.yaml" in message


def test_burst_ips_counted_over_heavy_ips_only_are_the_per_minute_bursts():
    """The IP-burst rule counts events per IP and minute only for IPs with more events than the limit in all; the
    bursts are those of the plain count per IP and minute over every event (the reference, in SQL)."""
    import datetime as dt

    import duckdb
    import ibis

    from workbench.bursts import burst_ips_expr as _burst_ips

    t0 = dt.datetime(2026, 11, 6, 12, 0, 0)
    rows = ([("burst", t0 + dt.timedelta(seconds=i % 50)) for i in range(7)]            # 7 in one minute
            + [("spread", t0 + dt.timedelta(minutes=i)) for i in range(9)]              # 9 in all, 1 a minute
            + [("edge", t0 + dt.timedelta(seconds=i)) for i in range(5)]                # exactly the limit
            + [("quiet", t0)] + [(None, t0 + dt.timedelta(seconds=i)) for i in range(8)])
    frame = pd.DataFrame(rows, columns=["ip_hash", "ts_server"])
    ours = sorted(ibis.duckdb.connect().execute(_burst_ips(ibis.memtable(frame), 5))["ip_hash"])
    reference = duckdb.connect().execute(
        "SELECT DISTINCT ip_hash FROM (SELECT ip_hash, date_trunc('minute', ts_server) AS m, count(*) AS c "
        "FROM frame GROUP BY 1, 2) WHERE c > 5 AND ip_hash IS NOT NULL").fetchall()
    assert ours == sorted(r[0] for r in reference) == ["burst"]
