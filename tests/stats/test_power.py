"""Power and planning against statsmodels, the published example and a simulation with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower, normal_sample_size_one_tail

from workbench.errors import InputError
from workbench.stats.power import mde, power_at, sample_size


def test_issue_example_57760_per_arm():
    r = sample_size(0.10, 0.05, relative=True, alpha=0.05, power=0.8, arms=2)
    assert r.n_per_arm == 57760
    assert r.n_by_arm == (57760, 57760) and r.n_total == 115520
    assert r.mde_abs == pytest.approx(0.005) and r.target == pytest.approx(0.105)


@pytest.mark.parametrize("p1,rel,alpha,power", [(0.10, 0.05, 0.05, 0.8), (0.02, 0.10, 0.05, 0.9),
                                                  (0.5, -0.03, 0.01, 0.8), (0.3, 0.2, 0.1, 0.95)])
def test_proportion_matches_statsmodels_unpooled(p1, rel, alpha, power):
    p2 = p1 * (1 + rel)
    std = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ref = normal_sample_size_one_tail(p2 - p1, power, alpha / 2, std_null=std, std_alternative=std)
    r = sample_size(p1, rel, relative=True, alpha=alpha, power=power)
    assert r.n_per_arm == math.ceil(ref)


@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.25])
def test_mean_matches_statsmodels_normal_ind_power(ratio):
    sd, delta = 12.0, 0.8
    # statsmodels counts both tails of the two-sided test; the other tail adds < 1e-6 power here
    ref_n1 = NormalIndPower().solve_power(effect_size=delta / sd, alpha=0.05, power=0.8, ratio=ratio)
    r = sample_size(50.0, delta, relative=False, kind="mean", sd=sd, split=(1.0, ratio))
    assert r.n_by_arm[0] == pytest.approx(ref_n1, abs=1.0)
    assert r.n_by_arm[1] == pytest.approx(ref_n1 * ratio, abs=1.0)


def test_one_sided_uses_z_one_minus_alpha():
    p1, p2 = 0.1, 0.11
    std = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ref = normal_sample_size_one_tail(p2 - p1, 0.8, 0.05, std_null=std, std_alternative=std)
    assert sample_size(p1, 0.01, relative=False, two_sided=False).n_per_arm == math.ceil(ref)


def test_more_arms_split_alpha_and_add_units():
    two = sample_size(0.1, 0.05)
    four = sample_size(0.1, 0.05, arms=4)
    assert four.alpha_per_comparison == pytest.approx(0.05 / 3)
    std = math.sqrt(0.09 + 0.105 * 0.895)
    ref = normal_sample_size_one_tail(0.005, 0.8, 0.05 / 6, std_null=std, std_alternative=std)
    assert four.n_per_arm == math.ceil(ref) > two.n_per_arm
    assert four.n_total == 4 * four.n_per_arm
    assert "Bonferroni" in four.note
    assert sample_size(0.1, 0.05, arms=4, correction="none").n_per_arm == two.n_per_arm


def test_unequal_split_needs_more_units_in_total():
    equal = sample_size(0.1, 0.05)
    skew = sample_size(0.1, 0.05, split=(0.8, 0.2))
    assert skew.n_total > equal.n_total
    assert skew.n_by_arm[0] == pytest.approx(4 * skew.n_by_arm[1], rel=1e-4)
    # the unpooled variance of the difference at those sizes gives exactly the planned power
    se = math.sqrt(0.09 / skew.n_by_arm[0] + 0.105 * 0.895 / skew.n_by_arm[1])
    from scipy.stats import norm
    assert norm.cdf(0.005 / se - norm.ppf(0.975)) == pytest.approx(0.8, abs=2e-4)


def test_duration_from_daily_traffic_and_remaining():
    r = sample_size(0.1, 0.05, daily_units=5000)
    assert r.days == math.ceil(115520 / 5000) == 24
    assert r.remaining([50000, 57000]) == 7760
    assert r.remaining(60000) == 0
    assert "57,760 units per arm" in r.summary() and "24 days" in r.summary()


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.01, 0.6), rel=st.floats(0.02, 0.5), power=st.floats(0.5, 0.95),
       alpha=st.floats(0.005, 0.2), arms=st.integers(2, 5))
def test_mde_inverts_sample_size(p, rel, power, alpha, arms):
    r = sample_size(p, rel, alpha=alpha, power=power, arms=arms)
    back = mde(p, r.n_per_arm, alpha=alpha, power=power, arms=arms)
    # rounding n up can only make the detectable effect smaller, never larger
    assert back.mde_rel <= rel * (1 + 1e-9)
    assert back.mde_rel == pytest.approx(rel, rel=2e-3 + 2.0 / r.n_per_arm)


def test_mde_for_means_closed_form():
    r = mde(10.0, 1000, kind="mean", sd=4.0, alpha=0.05, power=0.8)
    from scipy.stats import norm
    assert r.mde_abs == pytest.approx((norm.ppf(0.975) + norm.ppf(0.8)) * 4.0 * math.sqrt(2 / 1000))
    assert mde(10.0, n_total=2000, kind="mean", sd=4.0).mde_abs == pytest.approx(r.mde_abs)


def test_power_at_planned_n_is_the_requested_power():
    r = sample_size(0.05, 0.1, power=0.9)
    assert power_at(0.05, 0.1, r.n_per_arm) == pytest.approx(0.9, abs=1e-3)
    ref = NormalIndPower().power(effect_size=0.5 / 10, nobs1=5000, alpha=0.05, ratio=1.0)
    assert power_at(20.0, 0.5, 5000, relative=False, kind="mean", sd=10.0) == pytest.approx(ref, rel=1e-12)


def test_simulated_power_matches_plan():
    """Known truth: at the planned n, a z-test on simulated experiments rejects about 80 % of the time."""
    rng = np.random.default_rng(11)
    r = sample_size(0.2, 0.1)
    n, sims = r.n_per_arm, 4000
    c = rng.binomial(n, 0.2, sims) / n
    t = rng.binomial(n, 0.22, sims) / n
    z = (t - c) / np.sqrt((c * (1 - c) + t * (1 - t)) / n)
    achieved = np.mean(np.abs(z) > 1.959963984540054)
    assert 0.78 <= achieved <= 0.82


@pytest.mark.parametrize("kwargs,match", [
    (dict(baseline=0.0, mde=0.05), "baseline must be strictly between 0 and 1"),
    (dict(baseline=1.2, mde=0.05), "baseline must be strictly between 0 and 1"),
    (dict(baseline=float("nan"), mde=0.05), "baseline must be strictly between 0 and 1"),
    (dict(baseline=0.1, mde=0.0), "mde must be a non-zero finite number"),
    (dict(baseline=0.1, mde=float("nan")), "mde must be a non-zero finite number"),
    (dict(baseline=0.9, mde=0.2), "outside \\(0, 1\\)"),
    (dict(baseline=0.1, mde=0.05, alpha=0), "alpha must be strictly between 0 and 1"),
    (dict(baseline=0.1, mde=0.05, power=1.0), "power must be strictly between 0 and 1"),
    (dict(baseline=0.1, mde=0.05, arms=1), "arms must be a whole number >= 2"),
    (dict(baseline=0.1, mde=0.05, split=(1, 0)), "split weights must be positive"),
    (dict(baseline=0.1, mde=0.05, split=(1, 1, 1)), "split needs one weight per arm"),
    (dict(baseline=5.0, mde=0.05, kind="mean"), "needs its per-unit standard deviation"),
    (dict(baseline=5.0, mde=0.05, kind="mean", sd=-1), "sd must be a finite number > 0"),
    (dict(baseline=0.1, mde=0.05, kind="median"), "kind must be one of"),
    (dict(baseline=0.1, mde=0.05, daily_units=0), "daily_units must be a finite number > 0"),
])
def test_bad_inputs_raise_clear_errors(kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        sample_size(**kwargs)
    assert info.value.problems[0].column is not None


def test_mde_bad_inputs():
    with pytest.raises(InputError, match="exactly one of n_per_arm and n_total"):
        mde(0.1)
    with pytest.raises(InputError, match="n_per_arm must be a finite number > 0"):
        mde(0.1, 0)
