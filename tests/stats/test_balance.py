"""Pre-period balance (standardised differences, Hotelling's T²) against statsmodels."""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from statsmodels.stats import multivariate as smv

from workbench.stats.balance import balance_core


def _sums(xs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([len(x) for x in xs], dtype=float), np.array([x.sum(0) for x in xs]),
            np.array([x.T @ x for x in xs]))


def test_hotelling_matches_statsmodels_and_the_regression_f_test() -> None:
    rng = np.random.default_rng(4)
    xs = [rng.gamma(2, 1, (300, 3)), rng.gamma(2, 1, (260, 3)) + [0.0, 0.6, 0.0], rng.gamma(2, 1, (280, 3))]
    b = balance_core(*_sums(xs))
    for a in (1, 2):
        ref = smv.test_mvmean_2indep(xs[a], xs[0])
        np.testing.assert_allclose(b.p_value[a - 1], ref.pvalue, rtol=1e-8)
        np.testing.assert_allclose(b.f[a - 1], ref.statistic, rtol=1e-8)
        t = np.r_[np.zeros(len(xs[0])), np.ones(len(xs[a]))]
        ols = sm.OLS(t, sm.add_constant(np.vstack([xs[0], xs[a]]))).fit()
        np.testing.assert_allclose(b.p_value[a - 1], ols.f_pvalue, rtol=1e-8)
        pooled_sd = np.sqrt((xs[a].var(0, ddof=1) + xs[0].var(0, ddof=1)) / 2)
        np.testing.assert_allclose(b.std_diff[a - 1], (xs[a].mean(0) - xs[0].mean(0)) / pooled_sd, rtol=1e-10)
    assert b.p_value[0] < 1e-4 < b.p_value[1]


def test_constant_covariate_is_left_out_of_the_joint_test() -> None:
    rng = np.random.default_rng(2)
    xs = [np.c_[rng.normal(size=(200, 2)), np.zeros(200)], np.c_[rng.normal(size=(220, 2)), np.zeros(220)]]
    b = balance_core(*_sums(xs))
    ref = smv.test_mvmean_2indep(xs[1][:, :2], xs[0][:, :2])
    assert b.df1[0] == 2
    np.testing.assert_allclose(b.p_value[0], ref.pvalue, rtol=1e-8)
    assert np.isnan(b.std_diff[0, 2])
