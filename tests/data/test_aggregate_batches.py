"""Aggregation in batches of whole experiments (``engine.events_per_query``, DuckDB) gives the one query's cube."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate import DEFAULT_DIMS, aggregate_all, aggregate_cube, burst_ips, experiment_batches
from workbench.config import Settings
from workbench.db import connect
from workbench.metrics import CATALOG
from workbench.sources.events import open_event_log

KEYS = ["experiment_id", "variant", "excluded", *DEFAULT_DIMS]


def _settings(events_per_query: int) -> Settings:
    s = Settings()
    return dataclasses.replace(s, engine=dataclasses.replace(s.engine, events_per_query=events_per_query))


def _same_cube(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same cells; counts exactly, every sum to 1e-9 relative."""
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a[KEYS], b[KEYS])
    counts = ["n", "n_events__sum"]
    assert (a[counts].to_numpy() == b[counts].to_numpy()).all()
    sums = [c for c in a.columns if "__" in c and c not in counts]
    np.testing.assert_allclose(a[sums].to_numpy(float), b[sums].to_numpy(float), rtol=1e-9, atol=0)
    assert (a["last_ts"] == b["last_ts"]).all()


def test_batches_of_experiments_give_the_one_query_cube(small_world):
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        metrics = [m for m in CATALOG.values() if m.name in {"cvr", "revenue_per_user", "ctr", "aov", "lcp"}]
        total = log.table.count().execute()
        batches = experiment_batches(log, settings=_settings(total // 4))
        one = aggregate_cube(log, metrics=metrics, settings=_settings(0))
        batched = aggregate_cube(log, metrics=metrics, settings=_settings(total // 4))
        # a subset up to a cut-off: the bursts are those of the whole log up to it, in both
        ids, as_of = sorted(set(one["experiment_id"]))[:6], dt.datetime(2026, 11, 12)
        sub_one = aggregate_cube(log, experiments=ids, as_of=as_of, metrics=metrics, settings=_settings(0))
        sub_batched = aggregate_cube(log, experiments=ids, as_of=as_of, metrics=metrics, settings=_settings(1))
    # several batches, each experiment in one, none over the limit unless it is one experiment alone
    flat = [e for b in batches for e in b]
    assert len(batches) >= 3 and sorted(flat) == sorted(set(one["experiment_id"]))
    sizes = one.groupby("experiment_id")["n_events__sum"].sum()
    assert all(len(b) == 1 or sizes[b].sum() <= total // 4 for b in batches)
    assert "ip_burst" in set(one["excluded"]) and len(one) > 500
    _same_cube(one, batched)
    assert len(set(sub_one["experiment_id"])) == 6
    _same_cube(sub_one, sub_batched)


def test_one_query_when_the_events_fit_or_the_setting_is_zero(small_world):
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        assert experiment_batches(log, settings=_settings(10 ** 9)) is None
        assert experiment_batches(log, settings=_settings(0)) is None
        assert experiment_batches(log, experiments=["pdp-shoes-hero"], settings=_settings(1)) is None


def test_quantile_metrics_in_batches(small_world):
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        metrics = [m for m in CATALOG.values() if m.kind == "quantile"][:1] + [CATALOG["cvr"]]
        ids = ["pdp-shoes-hero", "pdp-beauty-srm", "reco-model-v2"]
        cube1, q1 = aggregate_all(log, experiments=ids, metrics=metrics, settings=_settings(0))
        cube2, q2 = aggregate_all(log, experiments=ids, metrics=metrics, settings=_settings(1))
    assert metrics[0].kind == "quantile" and len(q1) > 0
    _same_cube(cube1, cube2)
    pd.testing.assert_frame_equal(q1, q2)


def _events(rows: list[tuple[str, str, str, dt.datetime]]) -> pd.DataFrame:
    return pd.DataFrame([{"ts_server": ts, "user_key": user, "session_id": user, "product_id": "p1",
                          "experiment_id": exp, "variant_id": "A", "event": "impression", "device": "mobile",
                          "channel": "seo", "user_type": "new", "price": 1.0, "quantity": 1, "ip_hash": ip}
                         for exp, user, ip, ts in rows])


def test_an_ip_bursting_only_across_experiments_is_excluded_in_every_batch(tmp_path):
    """70 + 70 events of one IP in one minute, in two experiments: a burst (> 120 a minute) of the whole log,
    not of either experiment; each batch, and each experiment aggregated alone, must still exclude that IP's units."""
    t0 = dt.datetime(2026, 11, 6, 12, 0)
    rows = [(exp, f"{exp}-bot", "ip-bot", t0 + dt.timedelta(seconds=k * 0.5)) for exp in ("a", "b") for k in range(70)]
    rows += [(exp, f"{exp}-u{k}", f"ip-{exp}{k}", t0 + dt.timedelta(minutes=k)) for exp in ("a", "b") for k in range(5)]
    _events(rows).to_parquet(tmp_path / "events.parquet")
    with connect(":memory:") as con:
        log = open_event_log(con, str(tmp_path / "events.parquet"))
        s = dataclasses.replace(_settings(100), bots=dataclasses.replace(Settings().bots, max_events_per_unit_hour=1000))
        assert experiment_batches(log, settings=s) == [["a"], ["b"]]
        assert burst_ips(log, settings=s) == ["ip-bot"] == burst_ips(log, experiments=["a"], settings=s)
        one = aggregate_cube(log, metrics=[CATALOG["ctr"]], settings=dataclasses.replace(s, engine=Settings().engine))
        batched = aggregate_cube(log, metrics=[CATALOG["ctr"]], settings=s)
        alone = {e: aggregate_cube(log, experiments=[e], metrics=[CATALOG["ctr"]],
                                   settings=dataclasses.replace(s, engine=Settings().engine)) for e in ("a", "b")}
        # up to 20 s into its minute (41 + 41 events) it bursts nowhere yet
        early = burst_ips(log, experiments=["b"], as_of=dt.datetime(2026, 11, 6, 12, 0, 20), settings=s)
    _same_cube(one, batched)
    excluded = batched.groupby(["experiment_id", "excluded"])["n"].sum().to_dict()
    assert excluded == {("a", ""): 5, ("a", "ip_burst"): 1, ("b", ""): 5, ("b", "ip_burst"): 1}
    # one experiment aggregated alone (``analyze -e``, one report) excludes the same units as all together
    for e, cube in alone.items():
        _same_cube(one[one["experiment_id"] == e].reset_index(drop=True), cube)
    assert early == []


@pytest.mark.parametrize("limit", [0, 1])
def test_burst_ips_without_an_ip_column_is_empty(limit, tmp_path):
    _events([("a", "u", "ip", dt.datetime(2026, 11, 6))]).drop(columns="ip_hash").to_parquet(tmp_path / "e.parquet")
    with connect(":memory:") as con:
        log = open_event_log(con, str(tmp_path / "e.parquet"))
        assert burst_ips(log) == []
        cube = aggregate_cube(log, metrics=[CATALOG["ctr"]], settings=_settings(limit))
    assert cube["n"].tolist() == [1.0]
