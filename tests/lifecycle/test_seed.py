"""Seeding the registry from the simulated world (the real generator at a small scale), and what follows from it."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.lifecycle.autopilot import plan_autopilot
from workbench.lifecycle.policies import decide
from workbench.lifecycle.registry import Registry
from workbench.lifecycle.seed import seed_from_world
from workbench.lifecycle.signals import decision_context
from workbench.simulate.world import WORLD_END
from workbench.simulate.writer import write_world

from .builders import comp, result


@pytest.fixture(scope="module")
def world_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "wb.duckdb"
    write_world(path, seed=7, scale=0.02)
    return path


def test_seed_registers_and_starts_every_world_experiment(world_db):
    reg = Registry(world_db, clock=lambda: WORLD_END)
    created = seed_from_world(reg, by="demo")
    with reg.connect() as con:
        world = con.execute("SELECT experiment_id, kind, start_ts, product_id FROM world_experiments").fetchall()
    assert sorted(r.experiment_id for r in created) == sorted(w[0] for w in world)
    by_id = {r.experiment_id: r for r in reg.list()}
    for eid, kind, start, product in world:
        rec = by_id[eid]
        assert rec.state == "running" and rec.started_at == start and rec.product_id == product
        assert rec.policy == {"canary": "model-promotion", "bandit": "bayesian-promotion"}.get(kind, "decision-layer")
    canary = reg.brief("ml-ranker-canary")
    assert canary.control == "production" and canary.allocation.weights == pytest.approx([0.9, 0.1])
    with reg.connect() as con:
        planned = con.execute("SELECT planned_units FROM world_experiments WHERE experiment_id = 'ml-ranker-canary'"
                              ).fetchone()[0]
    assert planned == 2910 and canary.min_sample_size == 291  # 97 % of its 3000 units planned, x 0.1
    assert reg.brief("pdp-home-bandit").allocation.mode == "bandit"
    assert reg.brief("pdp-shoes-hero").variants[1].meta["layout"]
    assert seed_from_world(reg) == []                         # idempotent
    assert reg.verify_audit().ok


def test_world_stockout_and_price_shock_force_holds(world_db):
    reg = Registry(world_db, clock=lambda: WORLD_END)
    seed_from_world(reg)
    stock = decision_context(reg, "pdp-shoes-stockout")
    price = decision_context(reg, "pdp-electronics-price")
    calm = decision_context(reg, "pdp-shoes-hero")
    assert stock.stock_drop == pytest.approx(1.0) and price.price_change == pytest.approx(0.4, abs=0.01)
    assert calm.stock_drop < 0.5 and calm.price_change == 0
    assert stock.started_at == dt.datetime(2026, 11, 6) and stock.now == WORLD_END
    win = result([comp("treatment", p=0.001)], experiment_id="pdp-shoes-stockout")
    assert decide(win, brief=reg.brief("pdp-shoes-stockout"), context=stock).rule == "stock-drop"
    win = result([comp("treatment", p=0.001)], experiment_id="pdp-electronics-price")
    assert decide(win, brief=reg.brief("pdp-electronics-price"), context=price).rule == "price-change"


def test_autopilot_over_the_world(world_db):
    reg = Registry(world_db, clock=lambda: WORLD_END)
    seed_from_world(reg)
    plan = plan_autopilot(reg, now=WORLD_END)
    by_sku = {c.product_id: c for c in plan.candidates}
    assert any("already in experiment pdp-shoes-hero" in r for r in by_sku[reg.get("pdp-shoes-hero").product_id].reasons)
    flagged = [c for c in plan.candidates if "flagged for manual review in the catalogue" in c.reasons]
    assert flagged                                            # the world flags about 5 % of SKUs
    assert any("site-wide experiments" in n for n in plan.notes)
    assert plan.traffic_in_use > 0
