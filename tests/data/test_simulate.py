"""The synthetic world: deterministic, faithful to its truth, and carrying every injected fault."""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench.simulate import generate_world
from workbench.simulate.specs import DEMO_EXPERIMENTS
from workbench.sources.experiments import load_experiments


def digest(df: pd.DataFrame) -> str:
    df = df.apply(lambda c: c.map(repr) if c.map(lambda v: isinstance(v, (list, dict))).any() else c)
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()


def test_same_seed_same_bytes_different_seed_different_data():
    a, b, c = generate_world(seed=3, scale=0.01), generate_world(seed=3, scale=0.01), generate_world(seed=4, scale=0.01)
    for name in a.tables:
        assert digest(a.tables[name]) == digest(b.tables[name]), name
    assert digest(a.tables["events"]) != digest(c.tables["events"])


def test_world_shape(small_world):
    con = duckdb.connect(str(small_world["db"]), read_only=True)
    exps = con.execute("select * from world_experiments").df()
    assert len(exps) == len(DEMO_EXPERIMENTS) >= 12
    assert exps["category"].dropna().nunique() >= 4
    assert set(exps["kind"]) >= {"ab", "aa", "canary", "bandit", "multi"}
    assert set(con.execute("select distinct event from events").df()["event"]) == {
        "impression", "click_detail", "add_to_cart", "purchase"}
    daily = con.execute("select * from catalog_daily").df()
    stockout = exps.set_index("experiment_id").loc["pdp-shoes-stockout", "product_id"]
    assert (daily[daily["product_id"] == stockout].sort_values("day")["stock"].tail(3) == 0).all()
    price = exps.set_index("experiment_id").loc["pdp-electronics-price", "product_id"]
    p = daily[daily["product_id"] == price].sort_values("day")["price"]
    assert p.iloc[-1] / p.iloc[0] == pytest.approx(1.4, rel=0.01)
    con.close()


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    from workbench.simulate.writer import write_world
    db = tmp_path_factory.mktemp("medium") / "w.duckdb"
    write_world(db, seed=5, scale=0.25)
    return db


def test_estimates_agree_with_design_truth(medium):
    """Observed conversion (bots removed) is within sampling error of the design truth."""
    data = load_experiments(db=medium)
    con = duckdb.connect(str(medium), read_only=True)
    truth = con.execute("select * from truth where metric = 'cvr' and segment is null and product_id is null").df()
    con.close()
    z = []
    skip = {"pdp-shoes-stockout", "pdp-electronics-price", "pdp-beauty-srm"}   # faults change the realised rate
    for row in truth.itertuples():
        if row.experiment_id in skip:
            continue
        d = data[row.experiment_id]
        s = d.stats("cvr", use_covariate=False)
        i = d.variants.index(row.variant)
        z.append((s.mean[i] - row.value) / np.sqrt(row.value * (1 - row.value) / s.n[i]))
    z = np.asarray(z)
    assert len(z) >= 15
    assert np.abs(z).max() < 4
    assert abs(z.mean()) < 3 / np.sqrt(len(z))      # no systematic bias


def test_faults_are_visible_in_the_data(medium):
    data = load_experiments(db=medium)
    srm = data["pdp-beauty-srm"].units()
    expected = 0.96 / 1.96                           # 4 % of treatment lost by the redirect bug
    assert abs(srm[1] / srm.sum() - expected) < 3 * np.sqrt(expected * (1 - expected) / srm.sum())
    lcp = data["pdp-home-lcp"].stats("lcp", use_covariate=False).ratio
    assert lcp[0] < 3.0 < 3.5 < lcp[1]
    err = data["pdp-fashion-5xx"].stats("error_rate", use_covariate=False).ratio
    assert err[0] < 0.005 < err[1]
    canary = data["ml-ranker-canary"].units()
    assert canary[1] / canary.sum() == pytest.approx(0.1, abs=0.01)
    days, s = data["pdp-beauty-novelty"].stats_by("cvr", "day", use_covariate=False)
    early = s.sum[:4].sum(0) / s.n[:4].sum(0)
    late = s.sum[-5:].sum(0) / s.n[-5:].sum(0)
    assert early[1] / early[0] > late[1] / late[0]   # the novelty lift fades


def test_pre_period_covariates_correlate(medium):
    d = load_experiments(["pdp-shoes-hero"], db=medium)["pdp-shoes-hero"]
    for metric, floor in (("revenue_per_user", 0.02), ("cvr", 0.02), ("pages_per_user", 0.15)):
        s = d.stats(metric)
        rho = s.xy_cov / np.sqrt(s.var * s.x_var)
        assert (rho > floor).all(), (metric, rho)


def test_write_world_can_hold_a_subset_of_the_experiments(tmp_path):
    from workbench.simulate.writer import write_world

    picked = tuple(s for s in DEMO_EXPERIMENTS if s.experiment_id in ("pdp-shoes-hero", "pdp-home-bandit"))
    summary = write_world(tmp_path / "w.duckdb", seed=2, scale=0.01, experiments=picked)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        ids = sorted(r[0] for r in con.execute("SELECT DISTINCT experiment_id FROM events").fetchall())
        n = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert ids == ["pdp-home-bandit", "pdp-shoes-hero"] and summary.experiments == 2 and summary.events == n


def test_the_bandit_logs_its_allocation_decisions_in_duckdb_and_parquet(small_world):
    """The world's bandit has a history: one logged decision per day, with the weights its units were assigned by."""
    with duckdb.connect(str(small_world["db"]), read_only=True) as con:
        log = con.execute("SELECT * FROM allocation_log WHERE experiment_id = 'pdp-home-bandit'").df()
        plans = con.execute("SELECT count(*) FROM bandit_plans WHERE experiment_id = 'pdp-home-bandit'").fetchone()[0]
        sched = con.execute("SELECT * FROM world_allocations WHERE experiment_id = 'pdp-home-bandit'").df()
        start = con.execute("SELECT start_ts FROM world_experiments WHERE experiment_id = 'pdp-home-bandit'").fetchone()[0]
    days = sched["day"].nunique()
    assert plans == days == log["decision_id"].nunique() and len(log) == 3 * days
    log["day"] = pd.to_datetime(log["created_at"]).dt.tz_convert("UTC").dt.tz_localize(None)
    merged = log.merge(sched.assign(day=pd.to_datetime(sched["day"])), on=["day", "variant"], suffixes=("", "_w"))
    assert len(merged) == len(log) and np.allclose(merged["weight"], merged["weight_w"])
    assert log["day"].min() == pd.Timestamp(start)
    first = log[log["day"] == log["day"].min()]
    assert (first["units"] == 0).all() and first["previous_weight"].isna().all()     # nothing seen before the start
    later = log.sort_values("day").groupby("variant")["units"].agg(["first", "last"])
    assert (later["last"] > later["first"]).all()
    parquet = pd.read_parquet(small_world["parquet"] / "allocation_log.parquet")
    assert len(parquet[parquet["experiment_id"] == "pdp-home-bandit"]) == len(log)
    assert (small_world["parquet"] / "bandit_plans.parquet").exists()


def test_rewriting_a_world_keeps_other_experiments_logged_decisions(tmp_path):
    from workbench.bandits import allocate, read_decisions, record_plan
    from workbench.simulate.writer import write_world

    picked = tuple(s for s in DEMO_EXPERIMENTS if s.experiment_id == "pdp-home-bandit")
    db = tmp_path / "w.duckdb"
    write_world(db, seed=2, scale=0.01, experiments=picked)
    n_world = len(read_decisions("pdp-home-bandit", db=db))
    counts = pd.DataFrame({"variant": ["a", "b"], "units": [500, 500], "conversions": [20, 35]})
    record_plan(allocate(counts, experiment_id="other", seed=1, now="2026-11-10T00:00:00+00:00"), db=db)
    write_world(db, seed=2, scale=0.01, experiments=picked, force=True)   # replaced: the log is carried over
    assert len(read_decisions("pdp-home-bandit", db=db)) == n_world and len(read_decisions("other", db=db)) == 2


def test_bots_visit_only_while_their_experiment_runs(small_world):
    with duckdb.connect(str(small_world["db"]), read_only=True) as con:
        early = con.execute("SELECT count(*) FROM events e JOIN world_experiments w USING (experiment_id) "
                            "WHERE e.ts_server < w.start_ts").fetchone()[0]
    assert early == 0
