"""The disk-cached compiled log density is exactly the PyMC model's, in its own coordinates.

Its coordinates differ from PyMC's for the lifts (``w``, see :mod:`workbench.hierarchical.compiled_density`)
and ``sigma_delta`` (signed): mapped to PyMC's, the two log densities differ by the log Jacobian of
the change of coordinates and a constant; the gradient is checked against finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.hierarchical import compiled_density as cd
from workbench.hierarchical.model import build_model
from workbench.hierarchical.spec import Priors
from workbench.hierarchical.synthetic import simulate_sku_world

HEAD = ["mu_alpha", "tau_alpha_log__", "sigma_alpha_log__", "mu_delta", "tau_delta_log__", "sigma_delta_log__"]
ORDERS = {"mixed": HEAD + ["alpha_cat", "alpha", "z_delta_cat", "z_delta"],
          "noncentred": HEAD + ["z_alpha_cat", "z_alpha", "z_delta_cat", "z_delta"],
          "adaptive": HEAD + ["z_alpha_cat", "z_alpha", "z_delta_cat", "z_delta"]}   # PyMC's: the non-centred model's


def partially_centred(w, s, iv, res):
    """z = a·res + v·w of a partially centred coordinate, and its log Jacobian −½ Σ log(1 + s²·iv)."""
    prec = 1.0 + s * s * iv
    return s * iv / prec * res + w / np.sqrt(prec), -0.5 * np.log(prec).sum()


def to_pymc(x, data, parameterisation):
    """Our unconstrained point as PyMC's value variables, and the log Jacobian between them."""
    C, S = data.n_categories, data.n_skus
    cuts = np.cumsum([1, 1, 1, 1, 1, 1, C, S, C])
    parts = dict(zip(ORDERS[parameterisation], np.split(x, cuts)))
    point = {k: (v[0] if k in HEAD else v) for k, v in parts.items()}
    s = point["sigma_delta_log__"]
    point["sigma_delta_log__"] = np.log(abs(s))
    ta, sa, td = (np.exp(point[k]) for k in ("tau_alpha_log__", "sigma_alpha_log__", "tau_delta_log__"))
    a_mean, a_prec, e0, iv0, d_mean, d_prec = cd.level_information(data, adaptive=parameterisation == "adaptive")
    log_jacobian = 0.0
    # Baselines as the model has them (partially centred coordinates -> PyMC's z's), then the lifts.
    if parameterisation == "mixed":
        alpha = parts["alpha"]
    else:
        point["z_alpha_cat"], jac_c = partially_centred(parts["z_alpha_cat"], ta, a_prec, a_mean - point["mu_alpha"])
        a_cat = point["mu_alpha"] + ta * point["z_alpha_cat"]
        point["z_alpha"], jac_s = partially_centred(parts["z_alpha"], sa, iv0, e0 - a_cat[data.sku_category])
        alpha = a_cat[data.sku_category] + sa * point["z_alpha"]
        log_jacobian += jac_c + jac_s
    point["z_delta_cat"], jac_d = partially_centred(parts["z_delta_cat"], td, d_prec, d_mean - point["mu_delta"])
    m = (point["mu_delta"] + td * point["z_delta_cat"])[data.lift_category]
    yhat, inv_var = cd.lift_data_approximation(data)
    z, jac_l = partially_centred(parts["z_delta"], s, inv_var, yhat - alpha[data.lift_sku] - m)
    point["z_delta"] = np.sign(s) * z              # delta = m + s*z = m + |s|*(sign(s)*z)
    log_jacobian += jac_d + jac_l - np.log(abs(s))
    return point, log_jacobian


@pytest.mark.parametrize("parameterisation", ["mixed", "noncentred", "adaptive"])
@pytest.mark.parametrize("priors", [Priors(), Priors(mu_alpha_sd=0.7, tau_delta_sd=0.1, sigma_delta_sd=0.4)])
def test_log_density_equals_pymc_and_gradient_its_derivative(priors, parameterisation):
    world = simulate_sku_world(n_categories=3, skus_per_category=4, seed=3)
    data = world.data
    model = build_model(data, "noncentred" if parameterisation == "adaptive" else parameterisation, priors)
    assert [v.name for v in model.value_vars] == ORDERS[parameterisation]
    logp = model.compile_logp()
    blob = cd.pack_data(data, priors, parameterisation)
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    for k in range(4):
        x = cd.initial_point(data, k, parameterisation) + rng.normal(0, 0.3, cd.n_params(data))
        x[5] *= -1 if k % 2 else 1                 # both signs of sigma_delta's coordinate
        grad = np.empty_like(x)
        ours.append(cd.logp_and_grad(x, blob, grad))
        point, log_jacobian = to_pymc(x, data, parameterisation)
        theirs.append(float(logp(point)) + log_jacobian)
        h = 1e-6
        numeric = [(cd.logp_and_grad(x + h * e, blob, np.empty_like(x))
                    - cd.logp_and_grad(x - h * e, blob, np.empty_like(x))) / (2 * h) for e in np.eye(x.size)]
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-5)
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
    x[5] = -0.07
    out = np.empty(2 * data.n_skus + 2 * data.n_categories + 6 - data.n_skus + data.n_lifts)
    cd.expand(x, cd.pack_data(data), out)
    C, S, L = data.n_categories, data.n_skus, data.n_lifts
    np.testing.assert_allclose(out[:S], x[6 + C:6 + C + S])                    # alpha
    point, _ = to_pymc(x, data, "mixed")
    mu_d, td, sd = x[3], np.exp(x[4]), 0.07
    delta_cat = mu_d + td * point["z_delta_cat"]
    np.testing.assert_allclose(out[S:S + L], delta_cat[data.lift_category] + sd * point["z_delta"])
    np.testing.assert_allclose(out[-6:], [x[0], np.exp(x[1]), np.exp(x[2]), x[3], np.exp(x[4]), sd])
