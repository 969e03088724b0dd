"""Holm and Benjamini–Hochberg against statsmodels.multipletests, vectorised and NaN-aware."""

from __future__ import annotations

import gc
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests as _multipletests

from workbench.errors import InputError
from workbench.stats.multiplicity import adjust, adjust_core, bh_core, holm_core


def multipletests(p, method):
    """statsmodels' reference; it calls gc.collect() on every call, which is all of its cost here."""
    with mock.patch.object(gc, "collect", lambda *args: 0):
        return _multipletests(p, method=method)


@settings(max_examples=200, deadline=None)
@given(p=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_match_statsmodels(p):
    np.testing.assert_allclose(holm_core(p), multipletests(p, method="holm")[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bh_core(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12, atol=1e-15)
    adj = holm_core(p)
    assert np.all(adj >= np.asarray(p) - 1e-15) and np.all(adj <= 1.0)


def test_vectorised_over_families_and_nan_is_left_out():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.2, (50, 4))
    for method, sm in (("holm", "holm"), ("bh", "fdr_bh")):
        batch = adjust_core(p, method)
        for i in range(50):
            np.testing.assert_array_equal(batch[i], adjust_core(p[i], method))
        for i in range(50):
            np.testing.assert_allclose(batch[i], multipletests(p[i], method=sm)[1], rtol=1e-12)
    with_nan = np.array([0.01, np.nan, 0.04, 0.03])
    out = holm_core(with_nan)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="holm")[1])
    out_bh = bh_core(with_nan)
    np.testing.assert_allclose(out_bh[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1])


def test_adjust_names_the_family():
    r = adjust([0.01, 0.02], "bh", family="2 variants vs control on cvr")
    assert r.note == "Benjamini–Hochberg correction across 2 variants vs control on cvr (2 tests)"
    assert adjust([0.01], "none").p_adjusted == (0.01,)
    with pytest.raises(InputError, match="p-values must lie in \\[0, 1\\]"):
        adjust([0.1, 1.5])
    with pytest.raises(InputError, match="method must be one of"):
        adjust([0.1], "bonferroni")  # type: ignore[arg-type]
