"""Simulations: Thompson beats a fixed split on a clear winner; the sampler is right; same seed, same numbers."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.bandits import simulate as S
from workbench.bandits.replay import replay
from workbench.bandits.simulate import simulate_policies
from workbench.errors import InputError


@numba.njit
def _betas(seed, a, b, n):
    st = S._seed_state(seed)
    out = np.empty(n)
    for i in range(n):
        out[i] = S._beta(st, a, b)
    return out


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (0.5, 3.0), (2.0, 5.0), (41.0, 961.0)])
def test_beta_sampler_matches_the_beta_distribution(a, b):
    x = _betas(12345, a, b, 100_000)
    assert stats.kstest(x, stats.beta(a, b).cdf).pvalue > 1e-3
    assert x.mean() == pytest.approx(a / (a + b), rel=0.01)
    assert x.var() == pytest.approx(stats.beta(a, b).var(), rel=0.03)


@pytest.fixture(scope="module")
def sim():
    return simulate_policies([0.04, 0.05, 0.045], rounds=30_000, reps=60, seed=5, variants=["a", "b", "c"])


def test_thompson_regret_below_fixed_ab_on_a_clear_winner(sim):
    s = sim.summary().set_index("policy")
    assert s.loc["thompson", "regret"] + 3 * s.loc["thompson", "regret_se"] < s.loc["ab", "regret"]
    assert s.loc["ucb", "regret"] < s.loc["ab", "regret"]
    assert s.loc["thompson", "best_arm_share"] > 0.5 > s.loc["ab", "best_arm_share"]
    # a fixed equal split has expected regret exactly mean(best - p) per user
    expected = 30_000 * np.mean(0.05 - np.array([0.04, 0.05, 0.045]))
    assert s.loc["ab", "regret"] == pytest.approx(expected, rel=0.01)


def test_curves_and_traffic(sim):
    f = sim.to_frame()
    assert set(f.policy) == {"ab", "thompson", "ucb"}
    ts = f[f.policy == "thompson"]
    assert ts["regret"].is_monotonic_increasing
    assert (ts[["share_a", "share_b", "share_c"]].sum(axis=1).round(10) == 1).all()
    tr = sim.traffic()
    late = tr[(tr.policy == "thompson") & (tr["round"] == tr["round"].max())].set_index("variant").share
    assert late["b"] > 0.6
    # the exploration floor: every arm keeps about floor share even late on
    assert late.min() > 0.05 * 0.8
    dec = sim.decision_rounds()
    assert dec.shape == (3, 60) and np.nanmedian(dec[1]) > 0


def test_same_seed_same_numbers_and_threads_do_not_matter():
    a = simulate_policies([0.1, 0.12], rounds=5000, reps=8, seed=3)
    b = simulate_policies([0.1, 0.12], rounds=5000, reps=8, seed=3)
    np.testing.assert_array_equal(a.regret, b.regret)
    numba.set_num_threads(1)
    try:
        c = simulate_policies([0.1, 0.12], rounds=5000, reps=8, seed=3)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(a.regret, c.regret)


def test_batched_updates_and_bad_inputs():
    batched = simulate_policies([0.05, 0.08], rounds=20_000, reps=20, batch=1000, seed=2, policies=["thompson"])
    assert batched.summary().regret.iloc[0] > 0
    with pytest.raises(InputError, match="two true rates"):
        simulate_policies([0.5])
    with pytest.raises(InputError, match="unknown policy"):
        simulate_policies([0.1, 0.2], policies=["greedy"])


def test_replay_recovers_the_policy_value_on_a_uniform_log():
    rng = np.random.default_rng(0)
    n = 60_000
    rates = np.array([0.04, 0.08])
    arms = rng.integers(0, 2, n)
    log = pd.DataFrame({"variant": np.array(["a", "b"])[arms], "reward": (rng.random(n) < rates[arms]).astype(int)})
    fixed = replay(log, "ab", seed=1, floor=0.0, min_units=0)
    assert fixed.reward_rate_ci[0] < 0.06 < fixed.reward_rate_ci[1]            # a 50/50 policy earns the mean
    ts = replay(log, "thompson", seed=1, floor=0.0, min_units=0)
    assert ts.reward_rate > fixed.reward_rate_ci[1] and ts.accepted_per_arm[1] > ts.accepted_per_arm[0]
    assert ts.lift_vs_log > 0.15


def test_replay_with_propensities_and_errors():
    rng = np.random.default_rng(1)
    n = 40_000
    p_b = 0.8                                                 # the log favoured b
    arms = (rng.random(n) < p_b).astype(int)
    rates = np.array([0.05, 0.05])
    log = pd.DataFrame({"variant": np.array(["a", "b"])[arms], "reward": (rng.random(n) < rates[arms]).astype(int),
                        "propensity": np.where(arms == 1, p_b, 1 - p_b)})
    r = replay(log, "ab", seed=2, floor=0.0, min_units=0)
    assert r.accepted_per_arm[0] == pytest.approx(r.accepted_per_arm[1], rel=0.1)   # rejection restores balance
    with pytest.raises(InputError, match="rewards must be 0 or 1"):
        replay(log.assign(reward=2), "ab")
    with pytest.raises(InputError, match="missing column"):
        replay(log.drop(columns="variant"), "ab")
