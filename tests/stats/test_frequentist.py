"""Frequentist comparisons against scipy/statsmodels, property tests and calibration by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats import proportion as smp
from statsmodels.stats.proportion import confint_proportions_2indep

from workbench.errors import InputError
from workbench.stats.frequentist import (compare, fisher_exact_pvalue, means_core, newcombe_interval,
                                         non_inferiority, proportions_core)
from workbench.stats.sufficient import SufficientStats


# --- references ------------------------------------------------------------------------------------

@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_matches_scipy_ttest_ind_from_stats(alternative):
    rng = np.random.default_rng(5)
    n = rng.integers(20, 5000, (200, 2)).astype(float)
    mean = rng.normal(10, 1, (200, 2))
    sd = rng.uniform(0.5, 6, (200, 2))
    r = means_core(n, mean, sd ** 2, alternative=alternative)
    ref = sps.ttest_ind_from_stats(mean[:, 1], sd[:, 1], n[:, 1], mean[:, 0], sd[:, 0], n[:, 0],
                                   equal_var=False, alternative=alternative)
    np.testing.assert_allclose(r.statistic[:, 0], ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(r.p_value[:, 0], ref.pvalue, rtol=1e-9, atol=1e-15)


def test_welch_interval_matches_scipy_on_raw_data():
    rng = np.random.default_rng(6)
    a, b = rng.lognormal(1, 0.8, 300), rng.lognormal(1.1, 0.9, 450)
    r = compare(SufficientStats.from_values([a, b]), kind="mean")
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r.p_value[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.ci(0) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert r.df[0] == pytest.approx(ref.df, rel=1e-12)
    assert r.test == ("welch",)


def test_proportions_match_statsmodels_wald():
    rng = np.random.default_rng(7)
    n = rng.integers(2000, 200000, (100, 3)).astype(float)
    s = rng.binomial(n.astype(int), rng.uniform(0.02, 0.5, (100, 1))).astype(float)
    r = proportions_core(n, s)
    for i in range(100):
        for j in (1, 2):
            t = smp.test_proportions_2indep(s[i, j], n[i, j], s[i, 0], n[i, 0], method="wald")
            lo, hi = confint_proportions_2indep(s[i, j], n[i, j], s[i, 0], n[i, 0], method="wald")
            assert r.p_value[i, j - 1] == pytest.approx(t.pvalue, rel=1e-9, abs=1e-14)
            assert (r.ci_lo[i, j - 1], r.ci_hi[i, j - 1]) == pytest.approx((lo, hi), rel=1e-9)
    assert set(r.test.ravel()) == {"z"}


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_fisher_exact_matches_scipy(alternative):
    rng = np.random.default_rng(8)
    for _ in range(300):
        n_c, n_t = rng.integers(1, 60, 2)
        s_c, s_t = rng.integers(0, n_c + 1), rng.integers(0, n_t + 1)
        ref = sps.fisher_exact([[s_t, n_t - s_t], [s_c, n_c - s_c]], alternative=alternative).pvalue
        assert fisher_exact_pvalue(s_c, n_c, s_t, n_t, alternative=alternative) == pytest.approx(ref, rel=1e-9, abs=1e-14)


def test_fisher_exact_with_a_large_arm_matches_scipy():
    for s_c, n_c, s_t, n_t in [(3, 100000, 12, 100000), (0, 5000, 4, 5100), (2, 40, 30, 20000)]:
        ref = sps.fisher_exact([[s_t, n_t - s_t], [s_c, n_c - s_c]]).pvalue
        assert fisher_exact_pvalue(s_c, n_c, s_t, n_t) == pytest.approx(ref, rel=1e-9)


def test_newcombe_matches_statsmodels():
    rng = np.random.default_rng(9)
    for _ in range(200):
        n_c, n_t = rng.integers(1, 300, 2)
        s_c, s_t = rng.integers(0, n_c + 1), rng.integers(0, n_t + 1)
        lo, hi = newcombe_interval(s_c, n_c, s_t, n_t)
        ref = confint_proportions_2indep(s_t, n_t, s_c, n_c, method="newcomb", compare="diff")
        assert (float(lo), float(hi)) == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_small_counts_switch_to_fisher_and_newcombe():
    r = compare(SufficientStats.from_counts([400, 400, 400], [3, 12, 40]), kind="proportion")
    assert r.test == ("fisher", "fisher")          # control has fewer than 5 successes
    ref_p = sps.fisher_exact([[12, 388], [3, 397]]).pvalue
    assert r.p_value[0] == pytest.approx(ref_p, rel=1e-9)
    ref_ci = confint_proportions_2indep(12, 400, 3, 400, method="newcomb")
    assert r.ci(0) == pytest.approx(ref_ci, rel=1e-9)
    big = compare(SufficientStats.from_counts([400, 400], [30, 40]), kind="proportion")
    assert big.test == ("z",)
    # all conversions in every arm is valid input: exact test, p = 1
    full = compare(SufficientStats.from_counts([50, 60], [50, 60]), kind="proportion")
    assert full.test == ("fisher",) and full.p_value[0] == 1.0


def test_relative_interval_is_the_delta_method():
    s = SufficientStats.from_counts([20000, 20000], [2000, 2200])
    r = compare(s, kind="proportion")
    pc, pt = 0.1, 0.11
    var = pt * (1 - pt) / 20000 / pc ** 2 + pt ** 2 * pc * (1 - pc) / 20000 / pc ** 4
    z = sps.norm.ppf(0.975)
    assert r.lift_rel[0] == pytest.approx(0.1)
    assert r.rel_ci(0) == pytest.approx((0.1 - z * np.sqrt(var), 0.1 + z * np.sqrt(var)), rel=1e-12)


def test_one_sided_and_non_inferiority():
    rng = np.random.default_rng(10)
    a, b = rng.normal(100, 20, 2000), rng.normal(99.5, 20, 2000)
    s = SufficientStats.from_values([a, b])
    greater = compare(s, kind="mean", alternative="greater")
    ref = sps.ttest_ind(b, a, equal_var=False, alternative="greater")
    assert greater.p_value[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert greater.lift_abs_hi[0] == np.inf
    assert greater.lift_abs_lo[0] == pytest.approx(ref.confidence_interval(0.95).low, rel=1e-9)
    # absolute margin: "no worse than -2 units" is the t-test of (b + 2) against a
    ni = compare(s, kind="mean", **non_inferiority(2.0, relative=False))
    ref_ni = sps.ttest_ind(b + 2.0, a, equal_var=False, alternative="greater")
    assert ni.p_value[0] == pytest.approx(ref_ni.pvalue, rel=1e-9)
    # relative margin: statistic on the relative lift with its delta-method standard error
    rel = compare(s, kind="mean", **non_inferiority(0.02))
    full = compare(s, kind="mean")
    crit = sps.t.ppf(0.975, full.df[0])
    se_rel = (full.lift_rel_hi[0] - full.lift_rel_lo[0]) / (2 * crit)
    expected = sps.t.sf((full.lift_rel[0] + 0.02) / se_rel, full.df[0])
    assert rel.p_value[0] == pytest.approx(expected, rel=1e-9)
    assert rel.p_value[0] < 0.05   # a -0.5 % lift is shown to be no worse than -2 %
    # lower-is-better guardrail: H0 is "worse by more than the margin"
    kw = non_inferiority(0.001, relative=False, higher_is_better=False)
    assert kw == {"alternative": "less", "null": 0.001, "null_rel": None}


# --- properties --------------------------------------------------------------------------------------

counts = st.integers(50, 100000)


@settings(max_examples=150, deadline=None)
@given(n_c=counts, n_t=counts, p_c=st.floats(0.0, 1.0), p_t=st.floats(0.0, 1.0),
       alt=st.sampled_from(["two-sided", "greater", "less"]))
def test_proportion_properties(n_c, n_t, p_c, p_t, alt):
    s_c, s_t = round(n_c * p_c), round(n_t * p_t)
    r = compare(SufficientStats.from_counts([n_c, n_t], [s_c, s_t]), kind="proportion", alternative=alt)
    assert 0.0 <= r.p_value[0] <= 1.0
    assert r.lift_abs_lo[0] <= r.lift_abs[0] + 1e-15 and r.lift_abs[0] - 1e-15 <= r.lift_abs_hi[0]
    swapped = compare(SufficientStats.from_counts([n_t, n_c], [s_t, s_c]), kind="proportion")
    straight = compare(SufficientStats.from_counts([n_c, n_t], [s_c, s_t]), kind="proportion")
    assert swapped.lift_abs[0] == pytest.approx(-straight.lift_abs[0], abs=1e-15)
    assert swapped.p_value[0] == pytest.approx(straight.p_value[0], rel=1e-9, abs=1e-15)
    assert swapped.lift_abs_lo[0] == pytest.approx(-straight.lift_abs_hi[0], abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(data=st.lists(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=40), min_size=2, max_size=4),
       scale=st.floats(1e-3, 1e3))
def test_mean_properties(data, scale):
    arms = [np.asarray(a) for a in data]
    assume(all(np.ptp(a) > 1e-6 for a in arms))
    s = SufficientStats.from_values(arms)
    r = compare(s, kind="mean")
    assert all(0.0 <= p <= 1.0 for p in r.p_value)
    for i in range(len(arms) - 1):
        assert r.lift_abs_lo[i] <= r.lift_abs[i] <= r.lift_abs_hi[i]
    # swapping control and variant flips the sign and keeps the p-value
    sw = compare(SufficientStats.from_values([arms[1], arms[0]]), kind="mean")
    assert sw.lift_abs[0] == pytest.approx(-r.lift_abs[0], rel=1e-9, abs=1e-9)
    assert sw.p_value[0] == pytest.approx(r.p_value[0], rel=1e-6, abs=1e-12)
    # relative lift and its interval do not depend on the unit of measurement
    assume(all(abs(a.mean()) > 1e-3 for a in arms))
    scaled = compare(SufficientStats.from_values([a * scale for a in arms]), kind="mean")
    for i in range(len(arms) - 1):
        assert scaled.lift_rel[i] == pytest.approx(r.lift_rel[i], rel=1e-6, abs=1e-9)
        assert scaled.lift_rel_lo[i] == pytest.approx(r.lift_rel_lo[i], rel=1e-6, abs=1e-9)
        assert scaled.p_value[i] == pytest.approx(r.p_value[i], rel=1e-6, abs=1e-12)


def test_vectorised_equals_one_by_one():
    rng = np.random.default_rng(12)
    n = rng.integers(1000, 9000, (4, 5, 3)).astype(float)
    s = rng.binomial(n.astype(int), 0.1).astype(float)
    batch = proportions_core(n, s)
    for idx in np.ndindex(4, 5):
        one = proportions_core(n[idx], s[idx])
        np.testing.assert_array_equal(batch.p_value[idx], one.p_value)
        np.testing.assert_array_equal(batch.ci_lo[idx], one.ci_lo)


# --- calibration (known truth, fixed seeds) -------------------------------------------------------------

def test_aa_false_positive_rate_is_alpha():
    """2,000 simulated A/A experiments: about 5 % are 'significant' at alpha 5 %, for both kinds."""
    rng = np.random.default_rng(2024)
    sims, n = 2000, 20000
    conv = rng.binomial(n, 0.08, (sims, 2)).astype(float)
    r = proportions_core(np.full((sims, 2), float(n)), conv)
    fpr = np.mean(r.p_value < 0.05)
    assert 0.04 <= fpr <= 0.06, fpr
    y = rng.gamma(2.0, 5.0, (sims, 2, 800))
    s = SufficientStats(n=np.full((sims, 2), 800.0), sum=y.sum(-1), sum_sq=(y * y).sum(-1))
    rm = means_core(s.n, s.mean, s.var)
    fpr_m = np.mean(rm.p_value < 0.05)
    assert 0.04 <= fpr_m <= 0.06, fpr_m


def test_intervals_cover_the_true_lift_95_percent():
    rng = np.random.default_rng(77)
    sims, n = 10000, 10000
    p_c, p_t = 0.10, 0.11
    conv = np.stack([rng.binomial(n, p_c, sims), rng.binomial(n, p_t, sims)], axis=-1).astype(float)
    r = proportions_core(np.full((sims, 2), float(n)), conv)
    cover = np.mean((r.ci_lo[:, 0] <= p_t - p_c) & (p_t - p_c <= r.ci_hi[:, 0]))
    cover_rel = np.mean((r.rel_ci_lo[:, 0] <= p_t / p_c - 1) & (p_t / p_c - 1 <= r.rel_ci_hi[:, 0]))
    assert 0.94 <= cover <= 0.96, cover
    assert 0.94 <= cover_rel <= 0.96, cover_rel
    y = rng.gamma(2.0, 5.0, (4000, 2, 500))
    y[:, 1] += 0.7
    s = SufficientStats(n=np.full((4000, 2), 500.0), sum=y.sum(-1), sum_sq=(y * y).sum(-1))
    rm = means_core(s.n, s.mean, s.var)
    cover_m = np.mean((rm.ci_lo[:, 0] <= 0.7) & (0.7 <= rm.ci_hi[:, 0]))
    assert 0.94 <= cover_m <= 0.96, cover_m


# --- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stats,kind,match", [
    (SufficientStats.from_counts([1000, 0], [10, 0]), "proportion", "arm 1 \\(b\\) has no units"),
    (SufficientStats.from_counts([1000], [10]), "proportion", "at least 2 arms"),
    (SufficientStats.from_counts([1000, 1000], [10, float("nan")]), "proportion", "sum of arm 1 \\(b\\) is not a finite"),
    (SufficientStats.from_counts([1000, 1000], [10, 1200]), "proportion", "more successes \\(1200\\) than units"),
    (SufficientStats(n=[10, 10], sum=[50, 40], sum_sq=[100, 400]), "mean", "negative variance"),
    (SufficientStats(n=[10, 10], sum=[50, 40], sum_sq=[300, -1]), "mean", "sum_sq of arm 1 \\(b\\) must not be negative"),
    (SufficientStats(n=[10, float("inf")], sum=[50, 40], sum_sq=[300, 400]), "mean", "n of arm 1 \\(b\\) is not a finite"),
])
def test_bad_inputs(stats, kind, match):
    with pytest.raises(InputError, match=match):
        compare(stats, kind=kind, arms=("a", "b")[: stats.n.size] if stats.n.size <= 2 else None)


def test_bad_parameters():
    s = SufficientStats.from_counts([100, 100], [10, 12])
    with pytest.raises(InputError, match="alpha must be strictly between 0 and 1"):
        compare(s, kind="proportion", alpha=5)
    with pytest.raises(InputError, match="alternative must be one of"):
        compare(s, kind="proportion", alternative="bigger")  # type: ignore[arg-type]


def test_zero_variance_metric_gives_p_one_not_a_crash():
    r = compare(SufficientStats(n=[100, 100], sum=[0, 0], sum_sq=[0, 0]), kind="mean")
    assert r.p_value[0] == 1.0 and r.ci(0) == (0.0, 0.0)
