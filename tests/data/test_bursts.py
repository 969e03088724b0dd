"""The IP-burst rule's two forms (Ibis in the aggregation, DuckDB SQL in the report keys) find the same bursts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from workbench.aggregate import burst_ips
from workbench.bursts import bursts_by_experiment, bursts_by_experiment_sql
from workbench.db import connect
from workbench.sources.events import open_event_log


def _by_sql(path: str, per_minute: int, as_of: dt.datetime | None) -> dict[str, list[str]]:
    con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute(bursts_by_experiment_sql(per_minute, as_of is not None), [as_of] if as_of else []).fetchall()
    finally:
        con.close()
    return {e: list(ips) for e, ips in rows}


def _by_ibis(log, per_minute: int, as_of: dt.datetime | None) -> dict[str, list[str]]:
    t = log.table if as_of is None else log.table.filter(log.table.ts_server <= as_of)
    df = bursts_by_experiment(t, per_minute).execute()
    return {str(e): sorted(g) for e, g in df.groupby("experiment_id")["ip_hash"]}


def test_sql_and_ibis_forms_agree_on_a_world_with_bursts(small_world):
    cut = dt.datetime(2026, 11, 12)
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        ibis_all, ibis_cut = _by_ibis(log, 120, None), _by_ibis(log, 120, cut)
        low = _by_ibis(log, 30, None)
        whole = burst_ips(log)
    assert ibis_all and ibis_all != low                      # the world has bursts, and the threshold matters
    assert _by_sql(str(small_world["db"]), 120, None) == ibis_all
    assert _by_sql(str(small_world["db"]), 120, cut) == ibis_cut
    assert _by_sql(str(small_world["db"]), 30, None) == low
    assert sorted({ip for ips in ibis_all.values() for ip in ips}) == whole


def test_events_without_an_ip_never_burst(tmp_path):
    """200 events in one minute with no IP hash (a tracker that drops it) are not a burst, and do not break the sort."""
    t0 = dt.datetime(2026, 11, 6, 12, 0)
    frame = pd.DataFrame({"ts_server": [t0 + dt.timedelta(milliseconds=100 * k) for k in range(200)],
                          "user_key": [f"u{k}" for k in range(200)], "session_id": "s", "product_id": "p",
                          "experiment_id": "a", "variant_id": "A", "event": "impression", "device": "mobile",
                          "channel": "seo", "user_type": "new", "price": 1.0, "quantity": 1,
                          "ip_hash": [None] * 199 + ["ip-1"]})
    frame.to_parquet(tmp_path / "e.parquet")
    with connect(":memory:") as con:
        log = open_event_log(con, str(tmp_path / "e.parquet"))
        assert burst_ips(log) == []
    db = str(tmp_path / "w.duckdb")
    c = duckdb.connect(db)
    c.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{tmp_path / 'e.parquet'}')")
    c.close()
    assert _by_sql(db, 120, None) == {}
