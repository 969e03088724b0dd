"""Sequential testing: calibration under daily peeking (side by side with the naive test)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import InputError
from workbench.stats.frequentist import proportions_core
from workbench.stats.sequential import (always_valid_p, confidence_sequence, confidence_sequence_core,
                                        cs_multiplier, rho2_for)


def _daily_aa(rng, sims, days, per_day, p):
    daily = rng.binomial(per_day, p, (sims, days, 2)).astype(float)
    conv = np.cumsum(daily, axis=1)
    n = per_day * np.arange(1, days + 1, dtype=float)[None, :, None] * np.ones((sims, 1, 2))
    return n, conv


def test_daily_peeking_sequential_keeps_fpr_naive_does_not():
    """2,000 A/A experiments looked at every day for 28 days, side by side."""
    rng = np.random.default_rng(31)
    sims, days, per_day = 2000, 28, 500
    n, conv = _daily_aa(rng, sims, days, per_day, 0.1)
    r = proportions_core(n, conv, exact=False)              # (sims, days, 1)
    naive_any = np.any(r.p_value[..., 0] < 0.05, axis=1)
    total = n[..., 0] + n[..., 1]
    planned = 2 * per_day * days
    _, _, p_seq = confidence_sequence_core(r.lift_abs[..., 0], r.se[..., 0], total, planned_n=planned)
    seq_any = np.any(p_seq < 0.05, axis=1)
    naive_fpr, seq_fpr = naive_any.mean(), seq_any.mean()
    final_fpr = np.mean(r.p_value[:, -1, 0] < 0.05)          # one look at the end is fine
    assert seq_fpr <= 0.05, seq_fpr
    assert naive_fpr > 0.15, naive_fpr                       # peeking daily inflates 5 % to > 15 %
    assert 0.035 <= final_fpr <= 0.065


def test_sequential_still_detects_a_real_effect():
    rng = np.random.default_rng(32)
    sims, days, per_day = 500, 28, 2000
    daily = np.stack([rng.binomial(per_day, 0.10, (sims, days)), rng.binomial(per_day, 0.11, (sims, days))], -1)
    conv = np.cumsum(daily, axis=1).astype(float)
    n = per_day * np.arange(1, days + 1, dtype=float)[None, :, None] * np.ones((sims, 1, 2))
    r = proportions_core(n, conv, exact=False)
    _, _, p = confidence_sequence_core(r.lift_abs[..., 0], r.se[..., 0], n.sum(-1), planned_n=2 * per_day * days)
    assert np.mean(np.any(p < 0.05, axis=1)) > 0.6


def test_tuning_makes_the_sequence_tightest_at_the_planned_size():
    planned = 50_000
    rho2 = rho2_for(planned)
    # the half-width per unit of sigma, sigma*sqrt(1/t)*multiplier, is minimised over rho near t = planned
    grid = np.geomspace(rho2 / 20, rho2 * 20, 2001)
    widths = cs_multiplier(planned, grid) / np.sqrt(planned)
    assert grid[np.argmin(widths)] == pytest.approx(rho2, rel=0.15)
    # always wider than the fixed-horizon interval, and the p-value is consistent with the sequence
    assert cs_multiplier(planned, rho2) > 1.96


@settings(max_examples=100, deadline=None)
@given(lift=st.floats(-1, 1), se=st.floats(1e-4, 1), n=st.floats(10, 1e7), planned=st.floats(100, 1e7))
def test_p_value_below_alpha_iff_sequence_excludes_zero(lift, se, n, planned):
    lo, hi, p = confidence_sequence_core(lift, se, n, planned_n=planned, alpha=0.05)
    assert 0.0 <= p <= 1.0 and lo <= lift <= hi
    excludes = bool(lo > 0 or hi < 0)
    if abs(float(p) - 0.05) > 1e-9:
        assert (float(p) < 0.05) == excludes


def test_confidence_sequence_over_days_is_monotone():
    r = confidence_sequence([0.01, 0.012, 0.011, 0.0105], [0.008, 0.005, 0.004, 0.0035],
                            [2000, 5000, 8000, 10000], planned_n=10000, looks=["d1", "d2", "d3", "d4"])
    assert all(a <= b for a, b in zip(r.cs_lo, r.cs_lo[1:])) and all(a >= b for a, b in zip(r.cs_hi, r.cs_hi[1:]))
    assert all(a >= b for a, b in zip(r.p_value, r.p_value[1:]))
    assert list(r.to_frame()["look"]) == ["d1", "d2", "d3", "d4"]
    assert r.naive_p[-1] < r.p_value[-1]
    z = 0.0105 / 0.0035
    assert r.p_value[-1] == pytest.approx(min(r.p_value[:-1] + (float(always_valid_p(z, 10000, rho2_for(10000))),)))


@pytest.mark.parametrize("kwargs,match", [
    (dict(lift=[0.1, float("nan")], se=[0.1, 0.1], n=[10, 20]), "lift of arm 1 is not a finite"),
    (dict(lift=[0.1], se=[-0.1], n=[10]), "se of arm 0 must not be negative"),
    (dict(lift=[0.1, 0.1], se=[0.1, 0.1], n=[20, 10]), "must not decrease"),
    (dict(lift=[0.1, 0.1], se=[0.1], n=[20, 10]), "one entry per look"),
])
def test_bad_inputs(kwargs, match):
    with pytest.raises(InputError, match=match):
        confidence_sequence(planned_n=100, **kwargs)
    with pytest.raises(InputError, match="planned_n must be a finite number > 0"):
        confidence_sequence([0.1], [0.1], [10], planned_n=0)
