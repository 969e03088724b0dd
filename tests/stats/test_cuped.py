"""CUPED: pooled theta equals the regression slope, variance falls by rho², clean fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from workbench.stats.cuped import cuped_means_core, cuped_ratio_core
from workbench.stats.frequentist import means_core
from workbench.stats.sufficient import RatioStats, SufficientStats


def _correlated(rng, shape, rho, lift=0.0):
    x = rng.normal(0, 1, shape)
    y = rho * x + np.sqrt(1 - rho ** 2) * rng.normal(0, 1, shape)
    return 10 + 2 * x, 50 + 5 * y + lift


def test_theta_is_the_within_arm_regression_slope():
    rng = np.random.default_rng(1)
    xs, ys = [], []
    for arm, (n, shift) in enumerate([(500, 0.0), (700, 1.5), (600, -0.5)]):
        x, y = _correlated(rng, n, 0.7, lift=shift)
        xs.append(x + arm)          # arms differ in x as well: only within-arm variation may count
        ys.append(y)
    c = cuped_means_core(SufficientStats.from_values(ys, xs))
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    dummies = np.zeros((len(x_all), 3))
    dummies[np.arange(len(x_all)), np.repeat([0, 1, 2], [500, 700, 600])] = 1
    ols = sm.OLS(y_all, np.column_stack([x_all, dummies])).fit()
    assert float(c.theta) == pytest.approx(ols.params[0], rel=1e-10)
    # adjusted differences between arms equal the regression's arm effects
    np.testing.assert_allclose(c.mean[1:] - c.mean[0], ols.params[2:] - ols.params[1], rtol=1e-9)


def test_variance_reduction_matches_one_minus_rho_squared():
    """Known truth: with pre-period correlation rho the adjusted lift's variance is (1 − rho²) of the raw one."""
    rng = np.random.default_rng(2)
    sims, n, rho = 3000, 400, 0.6
    x, y = _correlated(rng, (sims, 2, n), rho)
    s = SufficientStats(n=np.full((sims, 2), float(n)), sum=y.sum(-1), sum_sq=(y * y).sum(-1),
                        x_sum=x.sum(-1), x_sum_sq=(x * x).sum(-1), xy_sum=(x * y).sum(-1))
    c = cuped_means_core(s)
    assert c.applied.all()
    # reported reduction (from each experiment's own sums) ...
    assert np.mean(c.variance_reduction) == pytest.approx(rho ** 2, abs=0.01)
    # ... and the actual spread of the estimates across experiments
    raw_lift = s.mean[:, 1] - s.mean[:, 0]
    adj_lift = c.mean[:, 1] - c.mean[:, 0]
    assert np.var(adj_lift) / np.var(raw_lift) == pytest.approx(1 - rho ** 2, abs=0.04)
    # the adjusted test stays calibrated (A/A) and unbiased
    r = means_core(c.n, c.mean, c.var)
    assert 0.04 <= np.mean(r.p_value < 0.05) <= 0.06
    assert abs(np.mean(adj_lift)) < 3 * np.std(adj_lift) / np.sqrt(sims)


def test_ratio_cuped_reduces_variance_and_matches_regression_on_linearised_values():
    rng = np.random.default_rng(3)
    nums, dens, xs = [], [], []
    for n in (800, 900):
        pre = rng.gamma(2.0, 1.0, n)
        imp = 1 + rng.poisson(3, n)
        clicks = rng.binomial(imp, np.clip(0.03 + 0.06 * pre, 0, 0.95))   # heavy past users click more
        nums.append(clicks.astype(float)), dens.append(imp.astype(float)), xs.append(pre)
    s = RatioStats.from_values(nums, dens, xs)
    c = cuped_ratio_core(s)
    assert c.applied and c.variance_reduction[0] > 0.1
    # theta = pooled within-arm slope of the linearised metric on x
    lins = [(y - y.sum() / d.sum() * d) / d.mean() for y, d in zip(nums, dens)]
    xc = np.concatenate([x - x.mean() for x in xs])
    lc = np.concatenate([v - v.mean() for v in lins])
    assert float(c.theta) == pytest.approx((xc @ lc) / (xc @ xc), rel=1e-9)
    np.testing.assert_allclose(c.var, [np.var(v - float(c.theta) * x, ddof=1) for v, x in zip(lins, xs)], rtol=1e-9)


def test_fallbacks_when_covariate_missing_or_constant():
    plain = SufficientStats.from_values([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0]])
    c = cuped_means_core(plain)
    assert not c.applied and "no pre-period covariate" in c.reason
    np.testing.assert_array_equal(c.mean, plain.mean)
    const = SufficientStats.from_values([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0]], [[7.0] * 3, [7.0] * 3])
    c2 = cuped_means_core(const)
    assert not c2.applied and "constant" in c2.reason and c2.variance_reduction.tolist() == [0.0]
    np.testing.assert_allclose(c2.var, plain.var)
    r = RatioStats.from_values([[1, 2, 0], [2, 2, 1]], [[3, 3, 2], [4, 3, 3]])
    assert not cuped_ratio_core(r).applied
