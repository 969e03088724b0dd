"""The hierarchical PyMC model: SKUs nested in categories, a global level above, on the logit scale.

For SKU *j* in category *c* and a variant arm *l* of that SKU::

    logit p(control of j) = alpha_j          alpha_j ~ Normal(alpha_cat[c], sigma_alpha)
    logit p(variant l)    = alpha_j + delta_l delta_l ~ Normal(delta_cat[c], sigma_delta)
    alpha_cat[c] ~ Normal(mu_alpha, tau_alpha)    delta_cat[c] ~ Normal(mu_delta, tau_delta)

so a thin SKU borrows its baseline rate *and its lift* from its category, and a category from all
categories. The lift is pooled on the log-odds scale: shrinking each arm's rate separately would
leave the prior on the difference as wide as the spread of rates across SKUs.

Priors (weakly informative, on the logit scale): ``mu_alpha ~ Normal(pooled control logit, 1.5)``,
``tau_alpha, sigma_alpha ~ HalfNormal(1)``; ``mu_delta ~ Normal(0, 0.5)``,
``tau_delta, sigma_delta ~ HalfNormal(0.25)`` (a log-odds lift of 0.25 is about +28 % relative
at low rates, already a very large effect for a product-page change).

The likelihood uses the binomial kernel ``y·eta − n·log(1 + exp(eta))`` on sufficient statistics;
it drops the constant ``log C(n, y)`` (same posterior, cheaper gradient).

Parameterisation is a switch: ``"centred"``, ``"noncentred"`` or ``"mixed"`` (baseline rates
centred — SKUs with enough traffic pin their own rate — and lifts non-centred — lifts are weakly
identified and funnel-shaped). ``benchmarks/hierarchical.py`` measures them: "mixed" samples
best when SKUs have a few dozen expected conversions, "noncentred" when they have only a handful.
The default sampler's "auto" is "adaptive" (:mod:`.compiled_density`: every parameter partially
centred on its own data, the same posterior as "noncentred" here); with the PyMC-graph samplers
"auto" picks "mixed" or "noncentred" by the data's informativeness
(:func:`.spec.resolve_parameterisation`). :func:`build_textbook_model` is the benchmark baseline:
fully non-centred with an observed ``pm.Binomial``.

All data enter as ``pm.Data`` so a compiled model can be re-used for new counts of the same shape.

>>> from workbench.hierarchical.synthetic import simulate_sku_world
>>> world = simulate_sku_world(n_categories=2, skus_per_category=3, seed=1)
>>> m = build_model(world.data, "mixed")
>>> sorted(v.name for v in m.free_RVs)[:4]
['alpha', 'alpha_cat', 'mu_alpha', 'mu_delta']
"""

from __future__ import annotations


import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..errors import InputError, Problem
from .data import SkuData
from .spec import PARAMETERISATIONS, TRACE_VARS, Parameterisation, Priors

__all__ = ["Parameterisation", "PARAMETERISATIONS", "Priors", "build_model", "build_textbook_model",
           "model_data", "TRACE_VARS"]

def model_data(data: SkuData) -> dict[str, np.ndarray]:
    """The values of the model's ``pm.Data`` containers for ``data``."""
    return {
        "control_n": data.control_n, "control_y": data.control_y,
        "lift_n": data.lift_n, "lift_y": data.lift_y, "lift_sku": data.lift_sku,
        "sku_cat": data.sku_category, "lift_cat": data.lift_category,
        "cat_slots": np.zeros(data.n_categories),
        "alpha_centre": np.asarray(data.pooled_control_logit()),
    }


def _check_parameterisation(p: str) -> None:
    if p not in PARAMETERISATIONS:
        raise InputError([Problem("blocked", "bad_parameterisation",
                                  f"parameterisation must be one of {', '.join(PARAMETERISATIONS)}",
                                  column="parameterisation", value=p)])


def _normal(name: str, mean: pt.TensorVariable, sd: pt.TensorVariable, shape: pt.TensorVariable,
            centred: bool) -> pt.TensorVariable:
    """``name ~ Normal(mean, sd)``, centred or as ``mean + sd·z`` with ``z ~ Normal(0, 1)``."""
    if centred:
        return pm.Normal(name, mean, sd, shape=shape)
    return pm.Deterministic(name, mean + sd * pm.Normal(f"z_{name}", 0.0, 1.0, shape=shape))


def build_model(data: SkuData, parameterisation: Parameterisation = "mixed", priors: Priors = Priors()) -> pm.Model:
    """The hierarchical model for ``data`` in the given parameterisation (see module docstring)."""
    _check_parameterisation(parameterisation)
    centred_alpha = parameterisation in ("centred", "mixed")
    centred_delta = parameterisation == "centred"
    with pm.Model(check_bounds=False) as model:
        d = {k: pm.Data(k, v) for k, v in model_data(data).items()}
        n_cat, n_sku, n_lift = d["cat_slots"].shape[0], d["sku_cat"].shape[0], d["lift_sku"].shape[0]
        mu_alpha = pm.Normal("mu_alpha", d["alpha_centre"], priors.mu_alpha_sd)
        tau_alpha = pm.HalfNormal("tau_alpha", priors.tau_alpha_sd)
        sigma_alpha = pm.HalfNormal("sigma_alpha", priors.sigma_alpha_sd)
        mu_delta = pm.Normal("mu_delta", 0.0, priors.mu_delta_sd)
        tau_delta = pm.HalfNormal("tau_delta", priors.tau_delta_sd)
        sigma_delta = pm.HalfNormal("sigma_delta", priors.sigma_delta_sd)

        alpha_cat = _normal("alpha_cat", mu_alpha, tau_alpha, n_cat, centred_alpha)
        alpha = _normal("alpha", alpha_cat[d["sku_cat"]], sigma_alpha, n_sku, centred_alpha)
        delta_cat = _normal("delta_cat", mu_delta, tau_delta, n_cat, centred_delta)
        delta = _normal("delta", delta_cat[d["lift_cat"]], sigma_delta, n_lift, centred_delta)

        eta_variant = alpha[d["lift_sku"]] + delta
        loglik = ((d["control_y"] * alpha - d["control_n"] * pt.softplus(alpha)).sum()
                  + (d["lift_y"] * eta_variant - d["lift_n"] * pt.softplus(eta_variant)).sum())
        pm.Potential("binomial_loglik", loglik)
    return model


def build_textbook_model(data: SkuData, priors: Priors = Priors()) -> pm.Model:
    """The benchmark baseline: fully non-centred, observed ``pm.Binomial`` per arm (textbook form)."""
    values = model_data(data)
    n_cat, n_sku, n_lift = data.n_categories, data.n_skus, data.n_lifts
    with pm.Model() as model:
        mu_alpha = pm.Normal("mu_alpha", float(values["alpha_centre"]), priors.mu_alpha_sd)
        tau_alpha = pm.HalfNormal("tau_alpha", priors.tau_alpha_sd)
        sigma_alpha = pm.HalfNormal("sigma_alpha", priors.sigma_alpha_sd)
        mu_delta = pm.Normal("mu_delta", 0.0, priors.mu_delta_sd)
        tau_delta = pm.HalfNormal("tau_delta", priors.tau_delta_sd)
        sigma_delta = pm.HalfNormal("sigma_delta", priors.sigma_delta_sd)
        alpha_cat = pm.Deterministic("alpha_cat", mu_alpha + tau_alpha * pm.Normal("z_alpha_cat", 0, 1, shape=n_cat))
        alpha = pm.Deterministic("alpha", alpha_cat[data.sku_category]
                                 + sigma_alpha * pm.Normal("z_alpha", 0, 1, shape=n_sku))
        delta_cat = pm.Deterministic("delta_cat", mu_delta + tau_delta * pm.Normal("z_delta_cat", 0, 1, shape=n_cat))
        delta = pm.Deterministic("delta", delta_cat[data.lift_category]
                                 + sigma_delta * pm.Normal("z_delta", 0, 1, shape=n_lift))
        pm.Binomial("control_obs", n=data.control_n, logit_p=alpha, observed=data.control_y)
        pm.Binomial("variant_obs", n=data.lift_n, logit_p=alpha[data.lift_sku] + delta, observed=data.lift_y)
    return model
