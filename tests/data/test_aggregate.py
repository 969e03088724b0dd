"""The Ibis/DuckDB aggregation agrees with an independent pandas computation on the same events."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench.aggregate import DEFAULT_DIMS, aggregate_cube, available_metrics, timeseries, timeseries_by_experiment
from workbench.config import Settings
from workbench.db import connect
from workbench.metrics import CATALOG
from workbench.sources.events import open_event_log
from workbench.sources.experiments import load_experiments


def reference_cube(events: pd.DataFrame, pre: pd.DataFrame, s: Settings) -> pd.DataFrame:
    """Per-unit values, bot and sticky rules, and the cube — written directly in pandas."""
    b = s.bots
    e = events.sort_values("ts_server", kind="stable").copy()
    e["is_imp"] = e["event"] == "impression"
    e["rev"] = np.where(e["event"] == "purchase", e["price"] * e["quantity"], 0.0)
    for flag, name in (("is_click", "click_detail"), ("is_cart", "add_to_cart"), ("is_buy", "purchase")):
        e[flag] = e["event"] == name
    e["is_err"] = e["http_status"] >= 500
    headless = re.compile(b.headless_ua_pattern)
    e["is_headless"] = e["user_agent"].map(lambda ua: bool(headless.search(ua)))
    e["minute"] = e["ts_server"].dt.floor("min")
    burst = e.groupby(["ip_hash", "minute"]).size()
    burst_ips = set(burst[burst > b.ip_burst_events_per_minute].index.get_level_values(0))
    g = e.groupby(["experiment_id", "user_key"], sort=False)
    u = pd.DataFrame({
        "variant": g["variant_id"].first(), "device": g["device"].first(), "channel": g["channel"].first(),
        "user_type": g["user_type"].first(), "n_variants": g["variant_id"].nunique(),
        "first_ts": g["ts_server"].min(), "last_ts": g["ts_server"].max(), "n_events": g.size(),
        "impressions": g["is_imp"].sum(), "clicks": g["is_click"].sum(), "carts": g["is_cart"].sum(),
        "purchases": g["is_buy"].sum(),
        "revenue": g["rev"].sum(), "sessions": g["session_id"].nunique(),
        "lcp_s": g["lcp_ms"].sum() / 1000.0, "errors": g["is_err"].sum(), "headless": g["is_headless"].any(),
        "dwell_mean": e[e["is_imp"]].groupby(["experiment_id", "user_key"])["dwell_ms"].mean(),
        "ip": g["ip_hash"].max(),
    }).reset_index()
    reason = np.select(
        [u["headless"], (u["dwell_mean"] < b.min_mean_dwell_ms) & (u["impressions"] >= b.min_impressions_for_dwell),
         u["ip"].isin(burst_ips), u["n_events"] > b.max_events_per_unit_hour * (
            (u["last_ts"] - u["first_ts"]).dt.total_seconds() / 3600 + 1), u["n_variants"] > 1],
        ["headless_ua", "short_dwell", "ip_burst", "event_rate", "sticky"], default="")
    u["excluded"] = reason
    u["day"] = u["first_ts"].dt.date
    for flag, src in (("clicked", "clicks"), ("carted", "carts"), ("purchased", "purchases")):
        u[flag] = (u[src] > 0).astype(float)
    u = u.merge(pre, on="user_key", how="left")
    for c in ("pre_sessions", "pre_purchases", "pre_revenue"):
        u[c] = u[c].fillna(0.0)
    out = u.groupby(["experiment_id", "variant", "excluded", *DEFAULT_DIMS]).agg(
        n=("user_key", "size"),
        purchased__sum=("purchased", "sum"),
        revenue__sum=("revenue", "sum"),
        revenue__sum_sq=("revenue", lambda x: (x * x).sum()),
        clicks__sum=("clicks", "sum"),
        impressions__sum=("impressions", "sum"),
        lcp_s__sum=("lcp_s", "sum"),
        errors__sum=("errors", "sum"),
        sessions__sum=("sessions", "sum"),
        n_events__sum=("n_events", "sum"),
    )
    u["clicks_x_impressions"] = u["clicks"] * u["impressions"]
    u["purchased_x_pre"] = u["purchased"] * u["pre_purchases"]
    u["revenue_x_pre"] = u["revenue"] * u["pre_revenue"]
    extra = u.groupby(["experiment_id", "variant", "excluded", *DEFAULT_DIMS])[
        ["clicks_x_impressions", "purchased_x_pre", "revenue_x_pre"]].sum()
    return out.join(extra).reset_index()


@pytest.fixture(scope="module")
def world_frames(small_world):
    con = duckdb.connect(str(small_world["db"]), read_only=True)
    events = con.execute("select * from events").df()
    pre = con.execute("select * from pre_period").df()
    con.close()
    return events, pre


def test_cube_matches_pandas_reference(small_world, world_frames):
    events, pre = world_frames
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        cube = aggregate_cube(log, metrics=available_metrics(log))
    ref = reference_cube(events, pre, Settings())
    keys = ["experiment_id", "variant", "excluded", *DEFAULT_DIMS]
    merged = ref.merge(cube, on=keys, how="outer", suffixes=("_ref", ""), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][keys].head()
    pairs = {"n": "n", "purchased__sum": "purchased__sum", "revenue__sum": "revenue__sum",
             "revenue__sum_sq": "revenue__sum_sq", "clicks__sum": "clicks__sum",
             "impressions__sum": "impressions__sum", "lcp_s__sum": "lcp_s__sum", "errors__sum": "errors__sum",
             "sessions__sum": "sessions__sum", "n_events__sum": "n_events__sum",
             "clicks_x_impressions": "clicks__x__impressions", "purchased_x_pre": "pre_purchases__x__purchased",
             "revenue_x_pre": "pre_revenue__x__revenue"}
    for ref_col, col in pairs.items():
        np.testing.assert_allclose(merged[col].to_numpy(float), merged[ref_col if ref_col != col else col + "_ref"]
                                   .to_numpy(float), rtol=1e-9, atol=1e-6, err_msg=col)
    # every exclusion rule fired somewhere in the sample world
    assert {"headless_ua", "short_dwell", "ip_burst", "sticky"} <= set(cube["excluded"])


def test_cube_has_every_sum_the_catalog_needs(small_world):
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        default = aggregate_cube(log)
        full = aggregate_cube(log, metrics=available_metrics(log))
    assert set().union(*(m.sum_columns() for m in CATALOG.values())) <= set(full.columns)
    assert "sessions__sum" not in default and "sessions__sum" in full     # the costly distinct count is opt-in


def test_parquet_and_duckdb_sources_give_the_same_cube(small_world):
    with connect(small_world["db"], read_only=True) as con:
        a = aggregate_cube(open_event_log(con, "events"))
    with connect(":memory:") as con:
        b = aggregate_cube(open_event_log(con, str(small_world["parquet"] / "events.parquet")))
    pd.testing.assert_frame_equal(a.drop(columns="last_ts"), b.drop(columns="last_ts"), check_dtype=False)


def test_experiment_data_split_and_trust_facts(small_world, world_frames):
    events, _ = world_frames
    data = load_experiments(db=small_world["db"])
    assert len(data) == 13
    cta = data["pdp-electronics-cta"]
    assert cta.trust.sticky_violators > 0
    assert data["reco-model-v2"].trust.unknown_variants == {"treatmnet": events.loc[
        events["variant_id"] == "treatmnet", "user_key"].nunique()}
    for d in data.values():
        assert d.trust.units_total == events.loc[events["experiment_id"] == d.experiment_id, "user_key"].nunique()
        assert d.trust.events_total == (events["experiment_id"] == d.experiment_id).sum()
        assert 0.005 < d.trust.bot_exclusion_rate < 0.05
    bandit = data["pdp-home-bandit"]
    assert bandit.expected_weights["minimal"] > 0.4 > bandit.expected_weights["control"]


def test_timeseries_counts_events(small_world, world_frames):
    events, _ = world_frames
    with connect(small_world["db"], read_only=True) as con:
        ts = timeseries(open_event_log(con, "events"), "pdp-shoes-hero", freq="D")
    sub = events[events["experiment_id"] == "pdp-shoes-hero"]
    assert ts["impressions"].sum() == (sub["event"] == "impression").sum()
    assert ts["purchases"].sum() == (sub["event"] == "purchase").sum()
    assert list(ts.columns) == ["ts", "variant", "units", "impressions", "clicks", "carts", "purchases", "revenue"]


def test_timeseries_of_many_experiments_in_one_query_match_the_events(small_world, world_frames):
    """The report run's one-pass series: each experiment's from its own start (one with none), cut at as-of."""
    events, _ = world_frames
    ids = sorted(events["experiment_id"].unique())
    first = events.groupby("experiment_id")["ts_server"].min()
    starts = {e: (None if i == 0 else first[e] + pd.Timedelta(hours=30)) for i, e in enumerate(ids)}
    as_of = events["ts_server"].max() - pd.Timedelta(days=2)
    with connect(small_world["db"], read_only=True) as con:
        many = timeseries_by_experiment(open_event_log(con, "events"), starts, freq="D", as_of=as_of.to_pydatetime())
    assert list(many) == ids
    for e in ids:
        sub = events[(events["experiment_id"] == e) & (events["ts_server"] <= as_of)]
        if starts[e] is not None:
            sub = sub[sub["ts_server"] >= starts[e]]
        want = (sub.assign(ts=sub["ts_server"].dt.floor("D"))
                .groupby(["ts", "variant_id"]).agg(units=("user_key", "nunique"),
                                                  impressions=("event", lambda x: int((x == "impression").sum())))
                .reset_index())
        got = many[e]
        assert len(got) == len(want) > 0
        assert got["units"].tolist() == want["units"].tolist()
        assert got["impressions"].tolist() == want["impressions"].tolist()
        assert got["ts"].min() >= (starts[e] or first[e]).floor("D")


def test_as_of_restricts_events(small_world):
    full = load_experiments(["pdp-shoes-hero"], db=small_world["db"])["pdp-shoes-hero"]
    early = load_experiments(["pdp-shoes-hero"], db=small_world["db"],
                             as_of=pd.Timestamp("2026-11-12").to_pydatetime())["pdp-shoes-hero"]
    assert 0 < early.units().sum() < full.units().sum()
    assert early.data_version != full.data_version
