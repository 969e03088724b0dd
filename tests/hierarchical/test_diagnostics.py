"""Vectorised diagnostics reproduce ArviZ exactly, and bad chains give warnings."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from workbench.config import HierarchicalSettings
from workbench.hierarchical.diagnostics import diagnose, ess_bulk, ess_tail, rhat, small_rhat
from workbench.hierarchical.sampling import PosteriorSample
from workbench.hierarchical.spec import TRACE_VARS


def ar1_chains(phi, chains=4, draws=401, seed=0):
    rng = np.random.default_rng(seed)
    phi = np.asarray(phi, dtype=float)
    x = np.zeros((chains, draws, phi.size))
    e = rng.normal(size=x.shape)
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("draws", [400, 401])
def test_matches_arviz_including_ties_constants_and_offsets(draws):
    x = ar1_chains([0.0, 0.5, 0.9, 0.99, 0.7, 0.3, 0.2], draws=draws)
    x[1, :, 4] += 1.0                       # one chain elsewhere
    x[:, :, 5] = np.round(x[:, :, 5])       # heavy ties
    x[:, :, 6] = 2.5                         # constant
    r, eb, et = rhat(x), ess_bulk(x), ess_tail(x)
    for k in range(x.shape[2]):
        a = x[:, :, k]
        ref_r = float(az.rhat(a, chain_axis=0, draw_axis=1))
        ref_b = float(az.ess(a, chain_axis=0, draw_axis=1))
        ref_t = float(az.ess(a, method="tail", prob=(0.05, 0.95), chain_axis=0, draw_axis=1))
        np.testing.assert_allclose([r[k], eb[k], et[k]], [ref_r, ref_b, ref_t], rtol=1e-9, equal_nan=True)


def _sample(draws_by_name, diverging):
    return PosteriorSample(draws=draws_by_name, diverging=diverging, sampler="test", parameterisation="mixed",
                           chains=4, n_draws=400, tune=0, compile_seconds=0.0, sample_seconds=1.0)


def test_good_chains_pass_and_bad_ones_warn():
    rng = np.random.default_rng(1)
    shapes = {"alpha": (3,), "delta": (3,), "alpha_cat": (2,), "delta_cat": (2,)}
    good = {k: rng.normal(size=(4, 400) + shapes.get(k, ())) for k in TRACE_VARS}
    d = diagnose(_sample(good, np.zeros((4, 400), bool)), HierarchicalSettings())
    assert d.ok and d.divergences == 0 and d.max_rhat_lifts < 1.01 and d.min_ess_bulk_lifts > 400

    bad = dict(good)
    bad["delta"] = good["delta"] + np.arange(4)[:, None, None]      # chains disagree
    div = np.zeros((4, 400), bool)
    div[0, :3] = True
    d = diagnose(_sample(bad, div), HierarchicalSettings())
    assert not d.ok and d.divergences == 3
    text = " ".join(d.warnings)
    assert "r_hat" in text and "divergent" in text and "bulk ESS" in text


def test_small_rhat_is_the_hyperparameters_part_of_the_full_check():
    rng = np.random.default_rng(2)
    shapes = {"alpha": (100,), "delta": (100,), "alpha_cat": (2,), "delta_cat": (2,)}
    draws = {k: rng.normal(size=(4, 400) + shapes.get(k, ())) for k in TRACE_VARS}
    draws["sigma_delta"] = draws["sigma_delta"] + 0.3 * np.arange(4)[:, None]    # the slow hyperparameter
    draws["delta"] = draws["delta"] + np.arange(4)[:, None, None]                # a large variable, worse still
    s = _sample(draws, np.zeros((4, 400), bool))
    small = [k for k in TRACE_VARS if k not in ("alpha", "delta")]
    expected = max(float(np.max(rhat(draws[k]))) for k in small)
    assert small_rhat(s) == pytest.approx(expected, rel=1e-12) and small_rhat(s) > 1.01
    assert diagnose(s, HierarchicalSettings()).max_rhat_all >= small_rhat(s)    # it can only say "not yet"
    assert diagnose(s, HierarchicalSettings()).max_rhat_all > small_rhat(s)     # the large variables are not in it
