"""Ratio metrics: the delta method against a direct computation on unit data and by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.stats.ratio import compare_ratio, ratio_compare_core, ratio_core
from workbench.stats.sufficient import RatioStats


def _world(rng, n, p_mean, shape=(), a=0.6):
    imp = 1 + rng.poisson(3.0, shape + (n,))
    b = a * (1 - p_mean) / p_mean
    p = rng.beta(a, b, shape + (n,))
    clicks = rng.binomial(imp, p)
    return clicks.astype(float), imp.astype(float)


def test_delta_variance_equals_variance_of_linearised_values():
    rng = np.random.default_rng(1)
    y, d = _world(rng, 3000, 0.1)
    s = RatioStats.from_values([y], [d])
    r, var_lin, se2 = ratio_core(s)
    lin = (y - r[0] * d) / d.mean()
    assert r[0] == pytest.approx(y.sum() / d.sum(), rel=1e-14)
    assert var_lin[0] == pytest.approx(np.var(lin, ddof=1), rel=1e-9)
    assert se2[0] == pytest.approx(np.var(lin, ddof=1) / 3000, rel=1e-9)


def test_ratio_interval_covers_true_difference_and_naive_binomial_does_not():
    """Known truth: clicks per impression with users randomised (impressions are clustered)."""
    rng = np.random.default_rng(2)
    sims, n = 3000, 400
    yc, dc = _world(rng, n, 0.10, (sims,))
    yt, dt = _world(rng, n, 0.11, (sims,))
    s = RatioStats(n=np.full((sims, 2), float(n)), num_sum=np.stack([yc.sum(-1), yt.sum(-1)], -1),
                   num_sum_sq=np.stack([(yc ** 2).sum(-1), (yt ** 2).sum(-1)], -1),
                   den_sum=np.stack([dc.sum(-1), dt.sum(-1)], -1),
                   den_sum_sq=np.stack([(dc ** 2).sum(-1), (dt ** 2).sum(-1)], -1),
                   num_den_sum=np.stack([(yc * dc).sum(-1), (yt * dt).sum(-1)], -1))
    r = ratio_compare_core(s)
    truth = 0.11 - 0.10            # E[clicks]/E[impressions] = E[p] since p and impressions are independent
    cover = np.mean((r.ci_lo[:, 0] <= truth) & (truth <= r.ci_hi[:, 0]))
    assert 0.94 <= cover <= 0.96, cover
    # the per-impression binomial variance ignores the clustering and under-covers
    p = s.num_sum / s.den_sum
    se_naive = np.sqrt((p * (1 - p) / s.den_sum).sum(-1))
    diff = p[:, 1] - p[:, 0]
    naive_cover = np.mean(np.abs(diff - truth) <= 1.959964 * se_naive)
    assert naive_cover < 0.92, naive_cover
    assert set(r.test.ravel()) == {"delta"}


def test_compare_ratio_friendly_wrapper():
    s = RatioStats.from_values([[1, 0, 2, 1, 0], [2, 1, 2, 3, 1]], [[3, 2, 4, 3, 1], [4, 3, 3, 5, 2]])
    r = compare_ratio(s, arms=("control", "b"))
    assert r.variants == ("b",) and r.control == "control" and r.kind == "ratio"
    assert r.control_value[0] == pytest.approx(4 / 13) and r.variant_value[0] == pytest.approx(9 / 17)
    assert 0 <= r.p_value[0] <= 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(den_sum=[10, 0]), "denominator of arm 1 \\(b\\) sums to 0"),
    (dict(n=[5, 0]), "arm 1 \\(b\\) has no units"),
    (dict(num_sum=[4, float("nan")]), "num_sum of arm 1 \\(b\\) is not a finite number"),
    (dict(num_sum_sq=[1, 9]), "inconsistent sums"),
])
def test_bad_ratio_inputs(kwargs, match):
    base = dict(n=[5, 5], num_sum=[4, 9], num_sum_sq=[6, 19], den_sum=[13, 17], den_sum_sq=[39, 63],
                num_den_sum=[15, 34])
    base.update(kwargs)
    with pytest.raises(InputError, match=match):
        compare_ratio(RatioStats(**base), arms=("control", "b"))
    with pytest.raises(InputError, match="at least 2 arms"):
        compare_ratio(RatioStats(**{k: v[:1] for k, v in base.items()}))
