"""The full PyMC model recovers known truth, reports diagnostics, and agrees with the fast path.

Real NUTS sampling (nutpie) on a small world with fixed seeds; the full-size figures are in
``benchmarks/hierarchical.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.hierarchical import fit_empirical_bayes, fit_hierarchical, fit_independent
from workbench.hierarchical.synthetic import simulate_sku_world


@pytest.fixture(scope="module")
def world():
    return simulate_sku_world(n_categories=20, skus_per_category=15, seed=5)


@pytest.fixture(scope="module")
def full(world):
    return fit_hierarchical(world.data, draws=700, tune=400, chains=4, seed=3)


def _merge(result, truth):
    return result.to_frame().merge(truth, on=["sku", "category", "variant"])


def test_recovers_truth_and_beats_independent_estimates_on_thin_skus(world, full):
    df = _merge(full, world.truth)
    ind = _merge(fit_independent(world.data, seed=1), world.truth)
    units = df.n_control + df.n_variant
    low = (units <= units.quantile(1 / 3)).to_numpy()
    err_h = (df.lift_logodds - df.true_lift_logodds).to_numpy() ** 2
    err_i = (ind.lift_logodds - ind.true_lift_logodds).to_numpy() ** 2
    assert np.sqrt(err_h[low].mean()) < 0.5 * np.sqrt(err_i[low].mean())
    rate_err_h = np.sqrt(((df.control_rate - df.true_control_rate) ** 2)[low].mean())
    rate_err_i = np.sqrt(((ind.control_rate - ind.true_control_rate) ** 2)[low].mean())
    assert rate_err_h < rate_err_i
    for what in ("lift_logodds", "control_rate", "variant_rate"):
        truth = df[f"true_{what}"]
        cover = ((df[f"{what}_lo"] <= truth) & (truth <= df[f"{what}_hi"])).mean()
        assert 0.88 <= cover <= 0.99, (what, cover)       # nominal 94 %


def test_hyperparameters_near_truth(world, full):
    h = full.hyperparameters
    assert abs(h["mu_delta"] - 0.05) < 0.05
    assert abs(h["sigma_alpha"] - world.params["sigma_alpha"]) < 0.1


def test_diagnostics_always_reported_and_warnings_follow_them(full):
    d = full.diagnostics
    assert d is not None and d.sampler == "nutpie" and d.parameterisation == "adaptive" and d.chains == 4
    assert d.max_rhat_lifts < 1.02 and d.divergences == 0
    assert (d.min_ess_bulk_lifts < 400) == any("bulk ESS" in w for w in full.warnings)
    assert full.warnings == d.warnings
    assert full.interval == "94% equal-tailed credible interval"


def test_result_rows_are_consistent(full):
    for s in full.skus[:50]:
        assert s.control_rate_ci[0] <= s.control_rate <= s.control_rate_ci[1]
        assert s.lift_rel_ci[0] <= s.lift_rel <= s.lift_rel_ci[1]
        assert 0 <= s.prob_beat_control <= 1
        assert s.expected_loss >= 0 and s.expected_loss_control >= 0
        # E[max(p0-p1,0)] - E[max(p1-p0,0)] = -E[p1-p0]
        assert s.expected_loss - s.expected_loss_control == pytest.approx(-s.lift_abs, abs=1e-12)
    cats = full.categories_frame()
    assert len(cats) == 20 and (cats.beta_a > 0).all() and (cats.rate_lo < cats.rate_mean).all()
    d = full.to_dict()
    assert d["skus"][0]["control_rate_ci"][0] <= d["skus"][0]["control_rate"]
    assert "_draws" not in d
    assert "<strong>hierarchical estimates</strong>" in full._repr_html_()


def test_fast_path_agrees_with_full_model(world, full):
    eb = fit_empirical_bayes(world.data, seed=1)
    a = full.to_frame().lift_logodds.to_numpy()
    b = eb.to_frame().lift_logodds.to_numpy()
    assert np.corrcoef(a, b)[0, 1] > 0.9
    truth = world.truth.true_lift_logodds.to_numpy()
    rmse_full, rmse_eb = np.sqrt(((a - truth) ** 2).mean()), np.sqrt(((b - truth) ** 2).mean())
    assert rmse_eb < 1.15 * rmse_full


def test_same_seed_same_numbers(world):
    small = simulate_sku_world(n_categories=3, skus_per_category=4, seed=9)
    a = fit_hierarchical(small.data, draws=100, tune=100, chains=2, seed=4)
    b = fit_hierarchical(small.data, draws=100, tune=100, chains=2, seed=4)
    assert a.to_frame().equals(b.to_frame())


def test_pytensor_graph_path_samples_the_same_model():
    small = simulate_sku_world(n_categories=3, skus_per_category=5, seed=2)
    centred = fit_hierarchical(small.data, parameterisation="centred", draws=300, tune=300, chains=2, seed=1)
    mixed = fit_hierarchical(small.data, draws=300, tune=300, chains=2, seed=1)
    assert centred.diagnostics.sampler == "nutpie-pytensor" and centred.diagnostics.parameterisation == "centred"
    a = centred.to_frame().control_rate.to_numpy()
    b = mixed.to_frame().control_rate.to_numpy()
    np.testing.assert_allclose(a, b, atol=0.01)


def test_bad_settings_are_clear_errors(world):
    with pytest.raises(InputError, match="sampler must be one of"):
        fit_hierarchical(world.data, sampler="gibbs")
    with pytest.raises(InputError, match="parameterisation must be one of"):
        fit_hierarchical(world.data, parameterisation="sideways")
    with pytest.raises(InputError, match="no categories"):
        fit_hierarchical(world.frame.drop(columns="category"))


def test_block_summaries_equal_one_pass_summaries():
    """The lifts' summaries made block by block (rates on all cores) are the one-pass summariser's."""
    from scipy.special import expit

    from workbench.hierarchical.fit import _summaries
    from workbench.hierarchical.results import summarise_draws

    rng = np.random.default_rng(4)
    alpha = rng.normal(-3.0, 0.3, (400, 7))
    delta = rng.normal(0.05, 0.2, (400, 9))
    lift_sku = np.array([0, 1, 2, 3, 4, 5, 6, 6, 2])
    blocked = _summaries(alpha, delta, lift_sku, 0.94, block=4)
    eta0 = alpha[:, lift_sku]
    whole = summarise_draws(expit(eta0), expit(eta0 + delta), level=0.94, lift_logodds=delta)
    assert blocked.keys() == whole.keys()
    for key, value in whole.items():
        np.testing.assert_allclose(np.asarray(blocked[key], dtype=float), np.asarray(value, dtype=float),
                                   rtol=1e-12, err_msg=key)
