"""A policy that peeks daily: false launches with the fixed-horizon test vs the always-valid sequence."""

from __future__ import annotations

import time

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.lifecycle.brief import ExperimentBrief
from workbench.lifecycle.policies import decide
from workbench.results import AnalysisResult, Comparison, HealthReport, MetricResult
from workbench.stats.peeking import peeking_looks, simulate_peeking


def test_daily_peeking_keeps_false_launches_within_alpha_only_with_the_sequential_rule():
    start = time.perf_counter()
    r = simulate_peeking(n_experiments=4000, days=28, daily_units=1000, base_rate=0.05, alpha=0.05, seed=7)
    assert time.perf_counter() - start < 5
    assert r.false_launch_sequential <= 0.05
    assert r.false_launch_fixed > 0.05
    # the fixed-horizon rule without peeking (one look at the end) stays near alpha / 2 (launches go one way)
    looks = peeking_looks(4000, 28, 1000, 0.05, seed=7)
    last = (looks.p_fixed[:, -1] < 0.05) & (looks.lift_abs[:, -1] > 0)
    assert abs(last.mean() - 0.025) < 0.01


def test_a_real_lift_is_still_launched_by_the_sequential_rule():
    r = simulate_peeking(n_experiments=1000, days=28, daily_units=4000, base_rate=0.05, true_lift_rel=0.1, seed=3)
    assert r.false_launch_sequential > 0.5          # here a "launch" is a correct one: power of the sequential rule
    assert r.false_launch_sequential < r.false_launch_fixed


def _result(looks, i: int, d: int) -> AnalysisResult:
    c = Comparison(variant="b", control="control", control_value=float(looks.control_value[i, d]),
                   variant_value=float(looks.variant_value[i, d]), lift_abs=float(looks.lift_abs[i, d]),
                   lift_abs_ci=(float(looks.lift_abs[i, d]) - 0.01, float(looks.lift_abs[i, d]) + 0.01),
                   lift_rel=float(looks.variant_value[i, d] / looks.control_value[i, d] - 1), lift_rel_ci=(-0.1, 0.1),
                   p_value=float(looks.p_fixed[i, d]), p_value_adjusted=float(looks.p_fixed[i, d]), test="z",
                   n_control=float(looks.n_control[i, d]), n_variant=float(looks.n_variant[i, d]),
                   extra={"sequential": {"cs": [float(looks.cs_lo[i, d]), float(looks.cs_hi[i, d])],
                                         "p_value": float(looks.p_sequential[i, d]), "looks": d + 1}})
    return AnalysisResult(experiment_id="sim", variants=("control", "b"), control="control",
                          health=HealthReport("healthy"), metrics=(MetricResult("cvr", "proportion", "primary", (c,)),),
                          units=(float(looks.n_control[i, d]), float(looks.n_variant[i, d])))


def test_the_simulated_rule_is_the_decision_layer_policy():
    """The vectorised launch rule of the simulation is what the decision engine does with the same numbers: with a
    fixed-horizon test the decision-layer launches a significant win only once the planned sample (7,000 units
    per arm) is reached; deciding sequentially, at any look."""
    looks = peeking_looks(600, 16, 1000, 0.05, seed=11)
    planned = np.minimum(looks.n_control, looks.n_variant) >= 7000
    fixed = (looks.p_fixed < 0.05) & (looks.lift_abs > 0) & planned
    early = (looks.p_fixed < 0.05) & (looks.lift_abs > 0) & ~planned
    seq = (looks.p_sequential < 0.05) & (looks.lift_abs > 0)
    rng = np.random.default_rng(0)
    picks = [tuple(x) for x in np.argwhere(fixed)[:6]] + [tuple(x) for x in np.argwhere(early)[:6]] + \
        [tuple(x) for x in np.argwhere(seq)[:4]] + [(int(rng.integers(600)), int(rng.integers(16))) for _ in range(8)]
    assert seq.any() and fixed.any() and early.sum() > fixed.sum()
    base = dict(id="sim", owner="t", variants=[{"id": "control"}, {"id": "b"}], min_sample_size=7000)
    briefs = {False: ExperimentBrief.model_validate(base),
              True: ExperimentBrief.model_validate({**base, "sequential": True})}
    for i, d in picks:
        res = _result(looks, int(i), int(d))
        for sequential, rule in ((False, fixed), (True, seq)):
            dec = decide(res, brief=briefs[sequential], policy="decision-layer")
            assert (dec.action == "launch") == bool(rule[i, d]), (i, d, sequential, dec.reason)
            assert dec.facts["decided_by"].startswith("always-valid" if sequential else "fixed-horizon")


def test_bad_simulation_parameters_are_refused():
    with pytest.raises(InputError, match="base_rate"):
        simulate_peeking(n_experiments=10, base_rate=1.5)
