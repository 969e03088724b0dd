"""SRM chi-square against scipy.stats.chisquare, any arms, zero-weight arms, thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from workbench.errors import InputError
from workbench.stats.srm import srm_core, srm_test


def test_matches_scipy_chisquare_any_number_of_arms():
    rng = np.random.default_rng(1)
    for arms in (2, 3, 5):
        w = rng.uniform(0.5, 2, arms)
        obs = rng.multinomial(100000, w / w.sum()).astype(float)
        r = srm_test(obs, w)
        ref = chisquare(obs, obs.sum() * w / w.sum())
        assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert sum(r.weights) == pytest.approx(1.0)


def test_vectorised_core():
    obs = np.array([[5000, 5100], [5000, 5600], [3300, 3300]], dtype=float)
    stat, p, df, _ = srm_core(obs, [1.0, 1.0])
    for i in range(3):
        assert p[i] == pytest.approx(chisquare(obs[i]).pvalue, rel=1e-9)
    assert df.tolist() == [1, 1, 1]


def test_thresholds_and_overrides():
    assert srm_test([10000, 10000]).status == "healthy"
    assert srm_test([10000, 10500]).status == "warning"        # p ≈ 4.4e-4
    assert srm_test([10000, 11000]).status == "blocked"
    assert srm_test([10000, 10300], warning_p=0.05).status == "warning"
    assert srm_test([60, 40], {"control": 0.6, "b": 0.4}, variants=("control", "b")).p_value == pytest.approx(1.0)


def test_zero_weight_arms():
    # an arm planned at 0 % with no units is left out of the test
    r = srm_test([5000, 5050, 0], [0.5, 0.5, 0.0])
    assert r.p_value == pytest.approx(chisquare([5000, 5050]).pvalue, rel=1e-9)
    assert r.status == "healthy"
    # ...but units in an arm planned at 0 % are the most severe mismatch, not a division by zero
    bad = srm_test([5000, 5050, 30], [0.5, 0.5, 0.0])
    assert bad.p_value == 0.0 and bad.status == "blocked"
    assert np.isinf(bad.statistic)


@pytest.mark.parametrize("args,kwargs,match", [
    (([100],), {}, "at least 2 arms"),
    (([100, float("nan")],), {}, "not a finite number"),
    (([100, -5],), {}, "must not be negative"),
    (([0, 0],), {}, "no units in any arm"),
    (([100, 100], [0, 0]), {}, "at least one expected weight must be positive"),
    (([100, 100], [1, 1, 1]), {}, "3 weights for 2 arms"),
    (([100, 100], {"control": 1}), {"variants": ("control", "b")}, "no expected weight for variant\\(s\\) 'b'"),
])
def test_bad_inputs(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        srm_test(*args, **kwargs)
