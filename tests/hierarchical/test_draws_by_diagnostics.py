"""Without explicit draws the fit samples until the diagnostics' targets are met: the compiled
sampler's chains keep running in steps. (Other samplers add batches of new chains, unchanged code;
compiling their PyTensor model takes a minute, too long for this suite.)"""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.config import get_settings
from workbench.hierarchical import simulate_sku_world
from workbench.hierarchical.fit import sample_to_targets, targets_met

KW = dict(sampler="nutpie", parameterisation="adaptive", tune=100, cores=2, target_accept=0.9)


def _run(hs, chains=2, **kw):
    world = simulate_sku_world(n_categories=3, skus_per_category=4, seed=9)
    return sample_to_targets(world.data, hs, seed=4, chains=chains, **{**KW, **kw})


def test_chains_grow_in_steps_until_the_cap_when_the_targets_are_out_of_reach():
    hs = dataclasses.replace(get_settings().hierarchical, draws_batch=40, draws_step=40, draws=120, min_ess_bulk=1e6)
    sample, diag = _run(hs)
    assert (diag.chains, diag.draws) == (2, 120)                # the same 2 chains, grown to the cap
    assert sample.draws["delta"].shape[:2] == (2, diag.draws) and sample.diverging.shape == (2, diag.draws)
    assert not targets_met(diag, hs) and any("bulk ESS" in w for w in diag.warnings)


def test_chains_stop_at_the_first_check_when_it_meets_the_targets():
    hs = dataclasses.replace(get_settings().hierarchical, draws_batch=300, draws_step=100, draws=900,
                             min_ess_bulk=50, max_rhat=1.5)
    sample, diag = _run(hs)
    assert (diag.chains, diag.draws) == (2, 300) and targets_met(diag, hs)
    assert np.isfinite(sample.draws["sigma_delta"]).all()


def test_a_grown_sample_does_not_depend_on_the_threads_timing():
    hs = dataclasses.replace(get_settings().hierarchical, draws_batch=200, draws_step=100, draws=400,
                             min_ess_bulk=50, max_rhat=1.5)
    a, _ = _run(hs)
    b, _ = _run(hs)
    np.testing.assert_array_equal(a.draws["delta"], b.draws["delta"])


def test_the_trace_is_converted_variable_by_variable_when_read():
    """A check that asks only the hyperparameters never copies the SKU cells (lazy Arrow draws)."""
    import nutpie

    from workbench.hierarchical.compiled_density import compiled_model
    from workbench.hierarchical.diagnostics import small_rhat
    from workbench.hierarchical.sampling import PosteriorSample, _arrow_batches, _from_arrow

    world = simulate_sku_world(n_categories=4, skus_per_category=20, seed=1)     # alpha, delta: > 64 cells
    compiled = compiled_model(world.data, parameterisation="adaptive").model
    raw = nutpie.sample(compiled, draws=60, tune=40, chains=2, cores=1, seed=5, progress_bar=False,
                        return_raw_trace=True)
    raw = _arrow_batches(raw)
    eager, div, steps = _from_arrow(raw, compiled.shapes, 40)
    lazy, div2, _ = _from_arrow(raw, compiled.shapes, 40, lazy=True)
    assert isinstance(eager, dict) and (div == div2).all() and steps.shape == (2, 60)
    sample = PosteriorSample(draws=lazy, diverging=div2, sampler="nutpie", parameterisation="adaptive", chains=2,
                             n_draws=60, tune=40, compile_seconds=0.0, sample_seconds=0.0)
    assert lazy.sizes["delta"] == world.data.n_lifts and lazy.sizes["sigma_delta"] == 1
    small_rhat(sample)
    assert lazy.converted == {"mu_alpha", "tau_alpha", "sigma_alpha", "mu_delta", "tau_delta", "sigma_delta",
                              "alpha_cat", "delta_cat"}          # 4 categories: small too
    for name in eager:
        assert np.array_equal(lazy[name], eager[name]), name
    assert lazy.converted == set(eager)
