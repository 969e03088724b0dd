"""On the sample world: the long-tail experiment's SKUs, the bandit experiment's allocation and truth."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_workbench

from workbench.bandits.simulate import simulate_policies
from workbench.bandits.world import true_rates
from workbench.hierarchical import fit_empirical_bayes, fit_independent
from workbench.hierarchical.evaluation import compare_to_truth
from workbench.hierarchical.world import load_sku_experiment, load_sku_truth


@pytest.fixture(scope="module")
def world_db(tmp_path_factory):
    from workbench.simulate.writer import write_world

    db = tmp_path_factory.mktemp("longtail") / "world.duckdb"
    write_world(db, seed=11, scale=0.2)
    return db


def test_longtail_skus_pool_better_than_independent(world_db):
    data = load_sku_experiment("pdp-longtail-coldstart", db=world_db)
    truth = load_sku_truth("pdp-longtail-coldstart", db=world_db)
    assert data.n_categories == 5 and data.n_skus >= 50
    assert not set(data.meta["dropped"]) & set(data.skus)              # SKUs missing an arm are left out
    assert set(truth.category) == set(data.categories)
    table = compare_to_truth({"pooled": fit_empirical_bayes(data, seed=1), "independent": fit_independent(data, seed=1)},
                             truth)
    every = table[table.traffic == "all"].set_index("method")
    assert (every.skus == data.n_lifts).all()                          # every lift has its truth
    assert every.rmse_lift_logodds["pooled"] < 0.3 * every.rmse_lift_logodds["independent"]
    assert every.coverage_lift_logodds["pooled"] >= 0.85


def test_bandit_experiment_allocation_and_simulation(world_db):
    r = run_workbench("allocate", "--experiment", "pdp-home-bandit", "--segment-by", "device", "--json", "--no-log",
                      env={"WORKBENCH_DB": str(world_db)})
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    weights = dict(zip(plan["variants"], plan["weights"]))
    assert max(weights, key=weights.get) == "minimal" and min(weights.values()) >= 0.05 - 1e-12
    assert {s["segment"] for s in plan["segments"]} == {"device=desktop", "device=mobile", "device=tablet"}
    rates = true_rates("pdp-home-bandit", db=world_db)
    sim = simulate_policies(list(rates.values()), rounds=20_000, reps=30, seed=4, variants=list(rates))
    s = sim.summary().set_index("policy")
    assert s.loc["thompson", "regret"] < s.loc["ab", "regret"]
