"""Empirical-Bayes fast path against independent references, and its value on a world with known truth."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit, gammaln, logit
from scipy.stats import betabinom, multivariate_normal

from workbench.hierarchical.data import sku_data_from_frame
from workbench.hierarchical.empirical_bayes import (_cs_negloglik, beta_binomial_loglik, category_beta_priors,
                                                    fit_beta_binomial, fit_empirical_bayes, fit_independent,
                                                    fit_lift_pooling)
from workbench.hierarchical.evaluation import compare_to_truth
from workbench.hierarchical.spec import Priors
from workbench.hierarchical.synthetic import simulate_sku_world


def _log_binom(n, y):
    return gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)


def test_beta_binomial_loglik_matches_scipy():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 500, 60).astype(float)
    y = rng.binomial(n.astype(int), 0.07).astype(float)
    g = rng.integers(0, 3, 60)
    a, b = np.array([1.5, 4.0, 0.7]), np.array([20.0, 50.0, 9.0])
    ours = beta_binomial_loglik(a, b, n, y, g, 3)
    ref = [np.sum(betabinom.logpmf(y[g == k], n[g == k], a[k], b[k]) - _log_binom(n[g == k], y[g == k]))
           for k in range(3)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_beta_binomial_mle_matches_a_generic_optimiser():
    rng = np.random.default_rng(1)
    n = rng.integers(20, 2000, 300).astype(float)
    y = rng.binomial(n.astype(int), rng.beta(3, 70, 300)).astype(float)
    a, b = fit_beta_binomial(n, y)

    def nll(t):
        return -betabinom.logpmf(y, n, np.exp(t[0]), np.exp(t[1])).sum()

    ref = minimize(nll, [0.0, 3.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 5000})
    np.testing.assert_allclose([a[0], b[0]], np.exp(ref.x), rtol=2e-3)


def test_compound_symmetric_likelihood_matches_multivariate_normal():
    rng = np.random.default_rng(2)
    cat = np.array([0, 0, 0, 1, 1, 2])
    d, v = rng.normal(0, 0.2, 6), rng.uniform(0.01, 0.1, 6)
    mu, tau, sigma = 0.03, 0.08, 0.05
    cov = np.diag(sigma**2 + v) + tau**2 * (cat[:, None] == cat[None, :])
    ref = multivariate_normal(mean=np.full(6, mu), cov=cov).logpdf(d)
    flat = Priors(mu_delta_sd=1e9, tau_delta_sd=1e9, sigma_delta_sd=1e9)
    ours = -_cs_negloglik(np.array([mu, np.log(tau), np.log(sigma)]), d, v, cat, 3, flat)
    # ours drops the constant -n/2·log(2π) and adds the log-scale Jacobians log τ + log σ
    np.testing.assert_allclose(ours, ref + 3 * np.log(2 * np.pi) + np.log(tau) + np.log(sigma), rtol=1e-10)


def test_lift_posterior_equals_gaussian_conditioning():
    rng = np.random.default_rng(3)
    cat = np.array([0, 0, 1, 1, 1])
    d, v = rng.normal(0.05, 0.2, 5), rng.uniform(0.02, 0.2, 5)
    pool = fit_lift_pooling(d, v, cat, 2)
    mu, tau2, s2 = pool["mu"], pool["tau"] ** 2, pool["sigma"] ** 2
    # joint of (delta_1..5, d_1..5) given hyperparameters, conditioned on d
    same = (cat[:, None] == cat[None, :]).astype(float)
    s_dd = tau2 * same + s2 * np.eye(5)
    s_yy = s_dd + np.diag(v)
    gain = s_dd @ np.linalg.inv(s_yy)
    mean = mu + gain @ (d - mu)
    cov = s_dd - gain @ s_dd
    np.testing.assert_allclose(pool["mean"], mean, rtol=1e-9)
    np.testing.assert_allclose(pool["var"], np.diag(cov), rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(d=st.lists(st.floats(-1, 1), min_size=4, max_size=12), seed=st.integers(0, 1000))
def test_shrunken_lift_lies_between_raw_and_its_category(d, seed):
    rng = np.random.default_rng(seed)
    d = np.array(d)
    v = rng.uniform(0.01, 0.5, d.size)
    cat = np.arange(d.size) % 2
    pool = fit_lift_pooling(d, v, cat, 2)
    lo = np.minimum(d, pool["cat_mean"][cat]) - 1e-9
    hi = np.maximum(d, pool["cat_mean"][cat]) + 1e-9
    assert np.all((pool["mean"] >= lo) & (pool["mean"] <= hi))
    assert np.all(pool["var"] > 0) and np.all(pool["var"] <= v + pool["cat_var"][cat] + 1e-12)


@pytest.fixture(scope="module")
def world():
    return simulate_sku_world(n_categories=30, skus_per_category=20, seed=11)


def _scores(result, truth):
    df = result.to_frame().merge(truth, on=["sku", "category", "variant"])
    err = (df.lift_logodds - df.true_lift_logodds) ** 2
    units = df.n_control + df.n_variant
    low = units <= units.quantile(1 / 3)
    cover = (df.lift_logodds_lo <= df.true_lift_logodds) & (df.true_lift_logodds <= df.lift_logodds_hi)
    return float(np.sqrt(err[low].mean())), float(np.sqrt(err.mean())), float(cover.mean())


def test_pooling_beats_independent_estimates_on_low_traffic_skus_and_covers(world):
    eb = fit_empirical_bayes(world.data, seed=1)
    ind = fit_independent(world.data, seed=1)
    eb_low, eb_all, eb_cover = _scores(eb, world.truth)
    ind_low, ind_all, ind_cover = _scores(ind, world.truth)
    assert eb_low < 0.5 * ind_low and eb_all < ind_all
    # 94 % intervals cover the true lifts at about their rate; at 600 SKUs the lift hyperparameters are weakly
    # identified and this world's sigma_delta comes out high (0.11 for a true 0.06), so its intervals err wide:
    # the catalogue-scale test below checks calibration where the data identify it
    assert 0.90 <= eb_cover <= 0.99
    assert 0.90 <= ind_cover <= 0.98
    assert eb.interval == "94% equal-tailed credible interval"


def test_fast_path_is_fast_and_deterministic(world):
    fit_empirical_bayes(world.data, seed=1)
    t0 = time.process_time()
    a = fit_empirical_bayes(world.data, seed=1)
    assert time.process_time() - t0 < 2.0           # CPU time: the machine may be shared; the benchmark has both
    b = fit_empirical_bayes(world.data, seed=1)
    assert a.to_frame().equals(b.to_frame())


def test_category_priors_for_thompson(world):
    pri = category_beta_priors(world.frame)
    assert set(pri) == set(world.data.categories) | {"*"}
    a, b = pri["*"]
    assert abs(a / (a + b) - world.data.control_y.sum() / world.data.control_n.sum()) < 0.01
    eb = fit_empirical_bayes(world.data, seed=1)
    c = eb.categories[0]
    assert (c.beta_a, c.beta_b) == pytest.approx(pri[c.category])
    assert c.rate_ci[0] < c.rate_mean < c.rate_ci[1]
    assert eb.category_prior("never-seen") == eb.new_category


def test_category_with_no_conversions_gets_a_sensible_prior():
    w = simulate_sku_world(n_categories=4, skus_per_category=5, seed=2)
    df = w.frame.copy()
    df.loc[df.category == "cat-00", "conversions"] = 0.0
    pri = category_beta_priors(df)
    a, b = pri["cat-00"]
    assert 0 < a / (a + b) < pri["*"][0] / sum(pri["*"])
    assert np.isfinite(a) and np.isfinite(b)


@pytest.mark.slow
def test_catalogue_scale_intervals_cover_in_each_of_five_worlds():
    """500 categories × 20 thin SKUs (10,000 SKUs), five seeds: the 94 % intervals cover 92–96 % of the true lifts
    in every world and sigma_delta lands near its truth (0.06). With each arm's own Jeffreys log-odds, whose
    variance falls as its conversions rise, sigma_delta came out 0.040–0.054 and coverage 0.881–0.922."""
    for seed in range(1, 6):
        w = simulate_sku_world(n_categories=500, skus_per_category=20, seed=seed)
        eb = fit_empirical_bayes(w.data, seed=1)
        cover = float(compare_to_truth({"eb": eb}, w.truth).iloc[0].coverage_lift_logodds)
        assert 0.92 <= cover <= 0.96, (seed, cover)
        assert 0.05 <= eb.hyperparameters["sigma_delta"] <= 0.07, (seed, eb.hyperparameters)


def test_a_canary_split_does_not_bias_the_pooled_lift():
    """A 90/10 canary over 200 SKUs (~4 expected variant conversions a SKU), the same true lift (+0.139 on the
    log-odds scale) everywhere: the category lifts centre on the truth. Weighting each lift by the inverse of its
    own Jeffreys variance favoured the SKUs whose few variant conversions came out high (+0.22 to +0.25)."""
    rng = np.random.default_rng(2)
    means = []
    for _ in range(6):
        rows = []
        for c in range(5):
            for k in range(40):
                p = rng.beta(4.75, 95.25)
                rows += [{"sku": f"s{c}-{k}", "category": f"c{c}", "variant": "control", "n": 675.0,
                          "conversions": float(rng.binomial(675, p))},
                         {"sku": f"s{c}-{k}", "category": f"c{c}", "variant": "staging", "n": 75.0,
                          "conversions": float(rng.binomial(75, expit(logit(p) + 0.139)))}]
        eb = fit_empirical_bayes(sku_data_from_frame(pd.DataFrame(rows)))
        means.append(np.mean([c.lift_logodds_mean for c in eb.categories]))
    assert abs(np.mean(means) - 0.139) < 0.03, means
