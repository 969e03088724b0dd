"""The disk-cached compiled log density is exactly the PyMC model (parameterisation "mixed")."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.hierarchical import compiled_density as cd
from workbench.hierarchical.model import build_model
from workbench.hierarchical.spec import Priors
from workbench.hierarchical.synthetic import simulate_sku_world

HEAD = ["mu_alpha", "tau_alpha_log__", "sigma_alpha_log__", "mu_delta", "tau_delta_log__", "sigma_delta_log__"]
ORDERS = {"mixed": HEAD + ["alpha_cat", "alpha", "z_delta_cat", "z_delta"],
          "noncentred": HEAD + ["z_alpha_cat", "z_alpha", "z_delta_cat", "z_delta"]}


@pytest.mark.parametrize("parameterisation", ["mixed", "noncentred"])
@pytest.mark.parametrize("priors", [Priors(), Priors(mu_alpha_sd=0.7, tau_delta_sd=0.1, sigma_delta_sd=0.4)])
def test_log_density_and_gradient_equal_pymc(priors, parameterisation):
    world = simulate_sku_world(n_categories=3, skus_per_category=4, seed=3)
    data = world.data
    model = build_model(data, parameterisation, priors)
    ORDER = ORDERS[parameterisation]
    assert [v.name for v in model.value_vars] == ORDER
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    blob = cd.pack_data(data, priors, parameterisation)
    C, S = data.n_categories, data.n_skus
    cuts = np.cumsum([1, 1, 1, 1, 1, 1, C, S, C])
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    for k in range(4):
        x = cd.initial_point(data, k, parameterisation) + rng.normal(0, 0.3, cd.n_params(data))
        point = dict(zip(ORDER, np.split(x, cuts)))
        point = {k2: (v[0] if k2 in ORDER[:6] else v) for k2, v in point.items()}
        grad = np.empty_like(x)
        ours.append(cd.logp_and_grad(x, blob, grad))
        theirs.append(float(logp(point)))
        np.testing.assert_allclose(grad, dlogp(point), rtol=1e-9, atol=1e-9)
    # Equal up to the constants PyMC keeps and we drop.
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-10)


@pytest.mark.parametrize("parameterisation", ["mixed", "noncentred"])
def test_sampling_through_the_compiled_density_is_the_sampled_model(parameterisation):
    world = simulate_sku_world(n_categories=3, skus_per_category=4, seed=3)
    model = cd.compiled_model(world.data, Priors(), parameterisation)
    assert model.model.n_dim == cd.n_params(world.data)


def test_expand_gives_model_variables():
    world = simulate_sku_world(n_categories=2, skus_per_category=3, seed=1)
    data = world.data
    x = cd.initial_point(data, 1)
    out = np.empty(2 * data.n_skus + 2 * data.n_categories + 6 - data.n_skus + data.n_lifts)
    cd.expand(x, cd.pack_data(data), out)
    C, S, L = data.n_categories, data.n_skus, data.n_lifts
    np.testing.assert_allclose(out[:S], x[6 + C:6 + C + S])                    # alpha
    zc, zl = x[6 + C + S:6 + 2 * C + S], x[6 + 2 * C + S:]
    mu_d, td, sd = x[3], np.exp(x[4]), np.exp(x[5])
    np.testing.assert_allclose(out[S:S + L], mu_d + td * zc[data.lift_category] + sd * zl)
    np.testing.assert_allclose(out[-6:], [x[0], np.exp(x[1]), np.exp(x[2]), x[3], np.exp(x[4]), np.exp(x[5])])
