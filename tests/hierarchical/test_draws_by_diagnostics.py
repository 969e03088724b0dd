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
