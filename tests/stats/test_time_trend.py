"""Novelty/primacy trend, early-vs-late and day-of-week balance against statsmodels and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from workbench.errors import InputError
from workbench.simulate.specs import DEMO_EXPERIMENTS, WORLD_DAYS
from workbench.stats.time_trend import dow_balance_core, early_days, early_late_core, lift_trend_core


def _daily(seed: int = 3, days: int = 14, variants: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.002, 0.006, (days, variants))
    lift = 0.01 - 0.004 * np.log1p(np.arange(days))[:, None] + rng.normal(0, 1, (days, variants)) * se
    return lift, se


def test_trend_matches_statsmodels_wls_with_known_variances():
    lift, se = _daily()
    day = np.arange(lift.shape[0])
    r = lift_trend_core(lift, se, day)
    for j in range(lift.shape[1]):
        fit = sm.WLS(lift[:, j], sm.add_constant(np.log1p(day)), weights=1 / se[:, j] ** 2).fit(
            cov_type="fixed scale", cov_kwds={"scale": 1.0})
        assert r.slope[j] == pytest.approx(fit.params[1], rel=1e-10)
        assert r.se[j] == pytest.approx(fit.bse[1], rel=1e-10)
        assert r.p_value[j] == pytest.approx(fit.pvalues[1], rel=1e-8)


def test_early_late_matches_wls_on_a_late_indicator():
    lift, se = _daily(seed=5, days=11, variants=3)
    k = early_days(11)
    assert k == 2
    e, e_se, late, l_se, diff, d_se = early_late_core(lift, se)
    late_flag = (np.arange(11) >= k).astype(float)
    for j in range(3):
        fit = sm.WLS(lift[:, j], sm.add_constant(late_flag), weights=1 / se[:, j] ** 2).fit(
            cov_type="fixed scale", cov_kwds={"scale": 1.0})
        assert e[j] == pytest.approx(fit.params[0], rel=1e-10)
        assert diff[j] == pytest.approx(fit.params[1], rel=1e-10)
        assert d_se[j] == pytest.approx(fit.bse[1], rel=1e-10)
        assert late[j] == pytest.approx(e[j] + diff[j], rel=1e-10)


def test_cohorts_without_data_are_left_out_and_too_few_give_nan():
    lift, se = _daily(days=6, variants=1)
    se[2, 0] = 0.0
    lift[4, 0] = np.nan
    r = lift_trend_core(lift, se)
    keep = [0, 1, 3, 5]
    ref = lift_trend_core(lift[keep], se[keep], np.array(keep))
    assert r.days[0] == 4 and r.slope[0] == pytest.approx(ref.slope[0])
    assert np.isnan(lift_trend_core(lift[:2], se[:2]).p_value[0])


def test_dow_balance_matches_scipy_contingency():
    rng = np.random.default_rng(2)
    counts = rng.integers(50, 200, (7, 3)).astype(float)
    r = dow_balance_core(counts)
    chi2, p, dof, _ = stats.chi2_contingency(counts, correction=False)
    assert r.statistic == pytest.approx(chi2, rel=1e-10) and r.p_value == pytest.approx(p, rel=1e-10)
    assert r.df == dof
    assert np.allclose(r.share.sum(axis=0), 1.0)
    # weekdays with no units (a window shorter than a week) are left out of the table
    short = counts.copy()
    short[5:] = 0
    chi2s, ps, dofs, _ = stats.chi2_contingency(short[:5], correction=False)
    assert dow_balance_core(short).p_value == pytest.approx(ps, rel=1e-10) and dow_balance_core(short).df == dofs


def test_dow_balance_refuses_bad_input():
    with pytest.raises(InputError, match="counts"):
        dow_balance_core([[1, -2], [3, 4]])
    with pytest.raises(InputError, match="two arms"):
        dow_balance_core([[1], [2]])


def test_demo_novelty_is_detected_and_a_constant_lift_is_not():
    """The demo's fading novelty (its spec: +30 % on purchase decaying over 2 days), simulated at the demo's
    daily cohort size over many experiments at once: the trend test finds it most of the time, and a
    constant lift of the same average size about alpha of the time."""
    spec = next(s for s in DEMO_EXPERIMENTS if s.experiment_id == "pdp-beauty-novelty")
    nov = spec.faults["novelty"]
    days, base, sims = WORLD_DAYS, 0.077, 3000
    per_arm = int(spec.users * spec.weights[0]) // days        # units a day in each arm
    d = np.arange(days)
    boost = 1 + nov["initial_lift"] * np.exp(-d / nov["decay_days"])
    rng = np.random.default_rng(20261206)
    results = {}
    for name, p_t in (("novelty", base * boost), ("constant", np.full(days, base * boost.mean()))):
        c = rng.binomial(per_arm, base, (sims, days)) / per_arm
        t = rng.binomial(per_arm, p_t, (sims, days)) / per_arm
        lift = (t - c).T
        se = np.sqrt(c * (1 - c) / per_arm + t * (1 - t) / per_arm).T
        r = lift_trend_core(lift, se)
        results[name] = float(np.mean(r.p_value < 0.05))
        if name == "novelty":
            assert np.mean(r.slope < 0) > 0.95          # the lift fades: novelty, not primacy
    assert results["novelty"] > 0.6
    assert results["constant"] < 0.07
