"""The A/A check's binomial tail and KS test against scipy.stats (the independent reference)."""

import numpy as np
import pytest
from scipy import stats

from workbench.stats.uniformity import binomial_sf, kolmogorov_cdf, ks_uniform


@pytest.mark.parametrize("k,n,p", [(0, 4, 0.05), (1, 4, 0.05), (3, 20, 0.05), (20, 20, 0.05), (5, 100, 0.05),
                                   (1, 1, 0.05), (7, 30, 0.2), (50, 100, 0.5)])
def test_binomial_tail_is_scipys_one_sided_binomial_test(k, n, p):
    ref = stats.binomtest(k, n, p, alternative="greater").pvalue
    assert binomial_sf(k, n, p) == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_binomial_tail_outside_the_support():
    assert binomial_sf(-1, 5, 0.1) == 1.0
    assert binomial_sf(6, 5, 0.1) == 0.0


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 14, 30, 60, 100, 140])
def test_ks_matches_scipys_exact_test(n):
    """Up to 140 values scipy computes the exact distribution too: the two agree to ~1e-13."""
    rng = np.random.default_rng(n)
    for power in (1.0, 1.3, 2.0, 4.0):        # uniform, then ever less uniform
        for _ in range(10):
            x = rng.uniform(size=n) ** power
            d, p = ks_uniform(x)
            ref = stats.kstest(x, "uniform")
            assert d == pytest.approx(ref.statistic, abs=1e-14)
            assert p == pytest.approx(ref.pvalue, abs=1e-11)


@pytest.mark.parametrize("n", [141, 500, 2000, 20000])
def test_ks_matches_scipy_for_long_series(n):
    """Above 140 values scipy approximates (Pelz–Good): exact here, so the two agree to its accuracy; the
    largest misfits take Stephens' approximation."""
    rng = np.random.default_rng(n)
    for power in (1.0, 1.05, 1.2):
        x = rng.uniform(size=n) ** power
        d, p = ks_uniform(x)
        ref = stats.kstest(x, "uniform")
        assert d == pytest.approx(ref.statistic, abs=1e-14)
        assert p == pytest.approx(ref.pvalue, abs=5e-3 if n * d > 400 else 1e-5)


def test_kolmogorov_cdf_edges_and_the_closed_form():
    n = 8
    assert kolmogorov_cdf(0.5 / n, n) == 0.0
    assert kolmogorov_cdf(1.0, n) == 1.0
    d = 0.8 / n            # for 1/(2n) < d <= 1/n the cdf is n! (2d - 1/n)^n
    assert kolmogorov_cdf(d, n) == pytest.approx(np.prod(np.arange(1, n + 1)) * (2 * d - 1 / n) ** n, rel=1e-10)
    assert kolmogorov_cdf(0.3, n) == pytest.approx(stats.kstwo.cdf(0.3, n), abs=1e-13)


def test_ks_under_the_null_is_calibrated():
    """A simulation with known truth: uniform samples reject at 5 % about 5 % of the time."""
    rng = np.random.default_rng(7)
    p = np.array([ks_uniform(rng.uniform(size=20))[1] for _ in range(2000)])
    assert 0.04 <= float(np.mean(p < 0.05)) <= 0.06
