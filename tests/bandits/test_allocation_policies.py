"""Allocation policies and plans: the floor holds, weights wait for data, reasons are given."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from workbench.bandits.plan import allocate, plan_from_json
from workbench.bandits.policies import ArmCounts, apply_floor, policy_weights, prob_best, ucb1_index
from workbench.errors import InputError

NOW = "2026-05-01T08:00:00+00:00"


def test_prob_best_matches_numerical_integration():
    a, b = np.array([41.0, 61.0, 55.0]), np.array([961.0, 941.0, 947.0])
    mc = prob_best(a, b, draws=400_000, seed=3)
    grid = np.linspace(0, 0.2, 40001)
    exact = []
    for i in range(3):
        f = stats.beta(a[i], b[i]).pdf(grid)
        others = np.prod([stats.beta(a[j], b[j]).cdf(grid) for j in range(3) if j != i], axis=0)
        exact.append(integrate.simpson(f * others, x=grid))
    np.testing.assert_allclose(mc, exact, atol=0.003)


def test_ucb1_index_formula():
    idx = ucb1_index([100, 400, 0], [10, 60, 0])
    total = 500
    np.testing.assert_allclose(idx[:2], [0.1 + np.sqrt(2 * np.log(total) / 100), 0.15 + np.sqrt(2 * np.log(total) / 400)])
    assert idx[2] == np.inf


@settings(max_examples=200, deadline=None)
@given(raw=st.lists(st.floats(0, 10), min_size=2, max_size=6).filter(lambda r: sum(r) > 0),
       floor=st.floats(0, 0.16))
def test_floor_keeps_every_arm_above_it_and_weights_sum_to_one(raw, floor):
    w = apply_floor(raw, floor)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w >= floor - 1e-12)
    # the ranking of the raw weights is kept
    assert np.all(np.diff(w[np.argsort(raw)]) >= -1e-12)


@settings(max_examples=60, deadline=None)
@given(units=st.lists(st.integers(100, 5000), min_size=2, max_size=4), rate=st.floats(0.0, 0.3),
       seed=st.integers(0, 10_000))
def test_thompson_allocation_respects_the_floor(units, rate, seed):
    arms = [ArmCounts(f"v{i}", u, round(u * rate * (1 + 0.3 * i))) for i, u in enumerate(units)]
    arms = [ArmCounts(a.variant, a.units, min(a.conversions, a.units)) for a in arms]
    w = policy_weights(arms, "thompson", floor=0.05, min_units=100, draws=2000, seed=seed)
    assert w.status == "adaptive"
    assert min(w.weights) >= 0.05 - 1e-12 and sum(w.weights) == pytest.approx(1.0)


def test_clear_winner_gets_the_traffic_and_ucb_picks_the_top_index():
    arms = [ArmCounts("control", 5000, 200), ArmCounts("b", 5000, 300), ArmCounts("c", 5000, 210)]
    t = policy_weights(arms, "thompson", floor=0.05, seed=1)
    assert t.weights[1] == pytest.approx(1 - 2 * 0.05, abs=1e-3)
    u = policy_weights(arms, "ucb", floor=0.05)
    assert u.weights == pytest.approx((0.05, 0.9, 0.05))
    f = policy_weights(arms, "fixed", fixed=[2, 1, 1])
    assert f.status == "fixed" and f.weights == pytest.approx((0.5, 0.25, 0.25))


def test_weights_hold_until_every_arm_has_enough_units():
    arms = [ArmCounts("control", 5000, 200), ArmCounts("b", 60, 10)]
    w = policy_weights(arms, "thompson", min_units=100, previous=[0.7, 0.3])
    assert w.status == "warming_up" and w.weights == pytest.approx((0.7, 0.3))
    assert "b (60)" in w.reasons[0]
    w = policy_weights(arms, "thompson", min_units=100)
    assert w.weights == pytest.approx((0.5, 0.5))


def test_category_prior_changes_a_cold_start():
    arms = [ArmCounts("control", 100, 2), ArmCounts("b", 100, 5)]
    flat = policy_weights(arms, "thompson", min_units=0, floor=0, seed=2)
    informed = policy_weights(arms, "thompson", min_units=0, floor=0, prior=[(40, 960), (40, 960)], seed=2)
    assert flat.posterior_alpha == (3.0, 6.0)
    assert informed.posterior_alpha == (42.0, 45.0) and informed.posterior_beta == (1058.0, 1055.0)
    assert 0.5 < informed.prob_best[1] < flat.prob_best[1]        # the prior tempers the early signal


def test_bad_arms_are_clear_errors():
    with pytest.raises(InputError) as err:
        policy_weights([ArmCounts("a", 10, 20), ArmCounts("a", -1, 0)], "thompson", floor=0.6)
    codes = {p.code for p in err.value.problems}
    assert {"conversions_above_units", "bad_units", "duplicate_variant", "bad_floor"} <= codes
    with pytest.raises(InputError, match="policy must be one of"):
        policy_weights([ArmCounts("a", 10, 1), ArmCounts("b", 10, 1)], "epsilon")


def test_plan_json_for_serving_and_round_trip():
    counts = pd.DataFrame({"variant": ["control", "b"], "units": [1200, 1180], "conversions": [48, 71]})
    plan = allocate(counts, experiment_id="pdp-1", seed=7, now=NOW)
    serving = plan.serving()
    assert serving["weights"] == pytest.approx(dict(zip(plan.variants, plan.weights)))
    assert serving["hash"] == {"seed": "pdp-1", "version": 2, "coverage": 1.0,
                               "ranges": [[0.0, plan.weights[0]], [plan.weights[0], 1.0]]}
    again = plan_from_json(plan.to_json())
    assert again == plan
    assert allocate(counts, experiment_id="pdp-1", seed=7, now=NOW).to_json() == plan.to_json()
    text = "\n".join(plan.explain())
    assert "P(best)" in text and "exploration floor" in text
    assert json.loads(plan.to_json())["arms"][1]["variant"] == "b"


def test_segmented_plan_uses_overall_weights_where_data_are_thin():
    counts = pd.DataFrame({"variant": ["control", "b"] * 3, "device": ["mobile"] * 2 + ["desktop"] * 2 + ["tablet"] * 2,
                           "units": [3000, 3000, 2000, 2000, 40, 40], "conversions": [90, 150, 100, 90, 2, 1]})
    plan = allocate(counts, experiment_id="pdp-2", segment_by="device", seed=1, now=NOW)
    seg = {s.segment: s for s in plan.segments}
    assert set(seg) == {"device=desktop", "device=mobile", "device=tablet"}
    assert seg["device=mobile"].weights[1] > 0.8            # b wins on mobile
    assert seg["device=desktop"].weights[0] > 0.5           # ...but not on desktop
    assert seg["device=tablet"].status == "warming_up"
    assert seg["device=tablet"].weights == pytest.approx(plan.weights)
    assert "overall weights" in " ".join(seg["device=tablet"].reasons)
    assert set(plan.serving()["segments"]) == set(seg)
    assert plan.arms[0].units == 5040                       # overall = sum of segments


def test_previous_plan_is_reported_and_must_match():
    counts = pd.DataFrame({"variant": ["control", "b"], "units": [1200, 1180], "conversions": [48, 71]})
    first = allocate(counts, experiment_id="pdp-3", seed=1, now=NOW)
    second = allocate(counts, experiment_id="pdp-3", previous=first, seed=1, now="2026-05-02T08:00:00+00:00")
    assert second.arms[1].previous_weight == pytest.approx(first.weights[1])
    with pytest.raises(InputError, match="previous plan's variants"):
        allocate(counts, experiment_id="pdp-3", previous={"control": 0.5, "c": 0.5})
