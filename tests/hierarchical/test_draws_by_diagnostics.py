"""Without explicit draws the fit samples batches of chains until the diagnostics' targets are met."""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.config import get_settings
from workbench.hierarchical import simulate_sku_world
from workbench.hierarchical.fit import sample_to_targets, targets_met

KW = dict(sampler="nutpie", parameterisation="adaptive", tune=100, cores=2, target_accept=0.9, priors=None)


def _run(hs, chains=2):
    world = simulate_sku_world(n_categories=3, skus_per_category=4, seed=9)
    kw = {k: v for k, v in KW.items() if v is not None}
    return sample_to_targets(world.data, hs, seed=4, chains=chains, **kw)


def test_batches_are_added_until_the_cap_when_the_targets_are_out_of_reach():
    hs = dataclasses.replace(get_settings().hierarchical, draws_batch=40, draws=120, min_ess_bulk=1e6)
    sample, diag = _run(hs)
    assert (diag.chains, diag.draws) == (6, 40)                 # 3 batches of 2 chains, then the cap
    assert sample.draws["delta"].shape[:2] == (6, 40) and sample.diverging.shape == (6, 40)
    assert not targets_met(diag, hs) and any("bulk ESS" in w for w in diag.warnings)


def test_one_batch_when_it_meets_the_targets():
    hs = dataclasses.replace(get_settings().hierarchical, draws_batch=300, draws=900, min_ess_bulk=50,
                             max_rhat=1.5)
    sample, diag = _run(hs)
    assert (diag.chains, diag.draws) == (2, 300) and targets_met(diag, hs)
    assert np.isfinite(sample.draws["sigma_delta"]).all()
