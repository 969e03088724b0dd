"""Conjugate Bayesian: exact formula, scipy quadrature and Monte Carlo as references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from scipy import stats as sps

from workbench.errors import InputError
from workbench.stats.bayes import (beta_binomial, beta_lift_quantiles, beta_pair_core, normal_lift,
                                   normal_lift_core, prob_best_beta, prob_best_normal)


def exact_prob_t_beats_c(a_c, b_c, a_t, b_t):
    """Evan Miller's closed form for P(p_t > p_c), a finite sum over the variant's successes."""
    i = np.arange(int(a_t))
    terms = (special.betaln(a_c + i, b_c + b_t) - np.log(b_t + i) - special.betaln(1 + i, b_t)
             - special.betaln(a_c, b_c))
    return float(np.exp(terms).sum())


def quad_loss(a_c, b_c, a_t, b_t):
    """E[max(p_c − p_t, 0)] by scipy.integrate.quad."""
    c, t, c_plus = sps.beta(a_c, b_c), sps.beta(a_t, b_t), sps.beta(a_c + 1, b_c)
    m_c = a_c / (a_c + b_c)
    f = lambda x: t.pdf(x) * (m_c * c_plus.sf(x) - x * c.sf(x))  # noqa: E731
    return integrate.quad(f, t.ppf(1e-15), t.isf(1e-15), epsabs=1e-15, epsrel=1e-12, limit=200)[0]


def _random_pairs(rng, k, max_n=50000):
    out = []
    for _ in range(k):
        n1, n2 = rng.integers(5, max_n, 2)
        p = rng.uniform(0.002, 0.6)
        c1, c2 = rng.binomial(n1, p), rng.binomial(n2, p * rng.uniform(0.9, 1.1))
        out.append((1.0 + c1, 1.0 + n1 - c1, 1.0 + c2, 1.0 + n2 - c2))
    return np.array(out)


def test_prob_beat_control_matches_the_exact_formula():
    rng = np.random.default_rng(1)
    pairs = _random_pairs(rng, 150, max_n=20000)
    got, _, _ = beta_pair_core(*pairs.T)
    ref = np.array([exact_prob_t_beats_c(*row) for row in pairs])
    np.testing.assert_allclose(got, ref, atol=2e-9)


def test_expected_losses_match_quadrature():
    rng = np.random.default_rng(2)
    pairs = _random_pairs(rng, 40)
    _, loss_t, loss_c = beta_pair_core(*pairs.T)
    for row, lt, lc in zip(pairs, loss_t, loss_c):
        a_c, b_c, a_t, b_t = row
        assert lt == pytest.approx(quad_loss(a_c, b_c, a_t, b_t), abs=1e-11)
        assert lc == pytest.approx(quad_loss(a_t, b_t, a_c, b_c), abs=1e-11)


def test_small_counts_and_lopsided_arms():
    cases = np.array([[1, 1, 1, 1], [1, 30, 2, 29], [3, 98, 1, 200], [2, 5000, 40, 1_000_000], [501, 500, 3, 2]],
                     dtype=float)
    got, loss_t, _ = beta_pair_core(*cases.T)
    for row, g, lt in zip(cases, got, loss_t):
        a_c, b_c, a_t, b_t = row
        assert g == pytest.approx(exact_prob_t_beats_c(a_c, b_c, a_t, b_t), abs=1e-9)
        assert lt == pytest.approx(quad_loss(a_c, b_c, a_t, b_t), abs=1e-10)
    assert got[0] == pytest.approx(0.5)


def test_deterministic_and_monte_carlo_agree():
    a_c, b_c, a_t, b_t = 1001.0, 9001.0, 1101.0, 8901.0
    rng = np.random.default_rng(3)
    c, t = rng.beta(a_c, b_c, 2_000_000), rng.beta(a_t, b_t, 2_000_000)
    p, loss, _ = beta_pair_core(a_c, b_c, a_t, b_t)
    assert float(p) == pytest.approx(np.mean(t > c), abs=3e-4)
    assert float(loss) == pytest.approx(np.mean(np.maximum(c - t, 0)), rel=0.03)
    assert beta_pair_core(a_c, b_c, a_t, b_t)[0].tobytes() == p.tobytes()


def _lift_cdf_by_quad(a_c, b_c, a_t, b_t, v, relative):
    c, t = sps.beta(a_c, b_c), sps.beta(a_t, b_t)
    g = (lambda x: c.pdf(x) * t.cdf((1 + v) * x)) if relative else (lambda x: c.pdf(x) * t.cdf(x + v))
    return integrate.quad(g, c.ppf(1e-14), c.isf(1e-14), epsabs=1e-14, epsrel=1e-12, limit=200)[0]


@pytest.mark.parametrize("params", [(101, 901, 121, 881), (4, 60, 9, 55), (2001, 18001, 2101, 17901),
                                    (11, 990, 30, 30000)])
def test_lift_credible_interval_quantiles_are_exact(params):
    q = np.array([0.03, 0.5, 0.97])
    for relative in (False, True):
        v = beta_lift_quantiles(*params, q, relative=relative)
        for qi, vi in zip(q, v):
            assert _lift_cdf_by_quad(*params, vi, relative) == pytest.approx(qi, abs=1e-8)


def test_prob_best_sums_to_one_and_matches_pairs_and_monte_carlo():
    a = np.array([101.0, 121.0, 111.0, 90.0])
    b = np.array([901.0, 881.0, 891.0, 912.0])
    best = prob_best_beta(a, b)
    assert best.sum() == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(4)
    draws = rng.beta(a, b, (400_000, 4))
    mc = np.bincount(draws.argmax(1), minlength=4) / 400_000
    np.testing.assert_allclose(best, mc, atol=3e-3)
    worst = prob_best_beta(a, b, higher_is_better=False)
    np.testing.assert_allclose(worst, np.bincount(draws.argmin(1), minlength=4) / 400_000, atol=3e-3)
    two = prob_best_beta(a[:2], b[:2])
    assert two[1] == pytest.approx(float(beta_pair_core(a[0], b[0], a[1], b[1])[0]), abs=1e-9)
    # a very narrow arm inside a wide one: panels keep each CDF resolved
    lopsided = prob_best_beta(np.array([3.0, 20001.0]), np.array([30.0, 180001.0]))
    ref = 1 - exact_prob_t_beats_c(20001.0, 180001.0, 3.0, 30.0)
    assert lopsided[1] == pytest.approx(ref, abs=1e-8)
    # leading axes are vectorised
    stacked = prob_best_beta(np.stack([a, a[::-1]]), np.stack([b, b[::-1]]))
    np.testing.assert_allclose(stacked[1], best[::-1], atol=1e-12)


def test_prob_best_normal():
    m, sd = np.array([1.0, 1.2, 0.9]), np.array([0.1, 0.15, 0.05])
    best = prob_best_normal(m, sd)
    rng = np.random.default_rng(5)
    draws = rng.normal(m, sd, (400_000, 3))
    np.testing.assert_allclose(best, np.bincount(draws.argmax(1), minlength=3) / 400_000, atol=3e-3)
    two = prob_best_normal(m[:2], sd[:2])
    assert two[1] == pytest.approx(sps.norm.cdf(0.2 / np.hypot(0.1, 0.15)), abs=1e-10)


def test_normal_lift_closed_forms():
    mean, sd, prob, loss, lo, hi = normal_lift_core(0.3, 0.2, level=0.94)
    assert prob == pytest.approx(sps.norm.cdf(1.5))
    ref_loss = integrate.quad(lambda d: max(-d, 0) * sps.norm.pdf(d, 0.3, 0.2), -3, 3, points=[0])[0]
    assert loss == pytest.approx(ref_loss, rel=1e-8)
    assert (lo, hi) == pytest.approx(sps.norm.interval(0.94, 0.3, 0.2))
    # proper prior: precision-weighted mean
    m2, s2, *_ = normal_lift_core(0.3, 0.2, prior_mean=0.0, prior_sd=0.1)
    assert m2 == pytest.approx(0.3 * (1 / 0.04) / (1 / 0.04 + 1 / 0.01))
    assert s2 == pytest.approx(1 / np.sqrt(1 / 0.04 + 1 / 0.01))
    # lower is better flips the direction
    _, _, p_low, loss_low, _, _ = normal_lift_core(0.3, 0.2, higher_is_better=False)
    assert p_low == pytest.approx(1 - prob) and loss_low == pytest.approx(loss + 0.3)


@settings(max_examples=60, deadline=None)
@given(n_c=st.integers(20, 20000), n_t=st.integers(20, 20000), p_c=st.floats(0.0, 1.0), p_t=st.floats(0.0, 1.0))
@example(n_c=467, n_t=60, p_c=0.25, p_t=0.0)    # once 1.7e-10 off: Beta(1, 61)'s long window, see below
def test_beta_properties(n_c, n_t, p_c, p_t):
    s_c, s_t = round(n_c * p_c), round(n_t * p_t)
    a_c, b_c, a_t, b_t = 1.0 + s_c, 1.0 + n_c - s_c, 1.0 + s_t, 1.0 + n_t - s_t
    p, loss_t, loss_c = beta_pair_core(a_c, b_c, a_t, b_t)
    assert 0.0 <= p <= 1.0 and loss_t >= 0 and loss_c >= 0
    p_sw, loss_t_sw, _ = beta_pair_core(a_t, b_t, a_c, b_c)
    assert p_sw == pytest.approx(1.0 - p, abs=1e-9)       # swapping arms
    assert loss_t_sw == pytest.approx(loss_c, abs=1e-10)
    # E[max(C−T,0)] − E[max(T−C,0)] = E[C] − E[T]
    assert loss_t - loss_c == pytest.approx(a_c / (a_c + b_c) - a_t / (a_t + b_t), abs=1e-10)


def test_skewed_arm_with_a_long_window_matches_quadrature():
    """Beta(1, 61) has the smaller sd but the longer integration window (its exponential tail): the
    other arm's sharp peak must not be integrated on that window (it was ~1e-9 off)."""
    a_c, b_c, a_t, b_t = 118.0, 351.0, 1.0, 61.0
    p, loss_t, loss_c = beta_pair_core(a_c, b_c, a_t, b_t)
    assert float(p) == pytest.approx(exact_prob_t_beats_c(a_c, b_c, a_t, b_t), abs=1e-12)
    assert float(loss_t) == pytest.approx(quad_loss(a_c, b_c, a_t, b_t), abs=1e-12)
    assert float(loss_c) == pytest.approx(quad_loss(a_t, b_t, a_c, b_c), abs=1e-12)
    assert float(loss_c) > 0


def test_beta_binomial_wrapper():
    r = beta_binomial([10000, 10000, 10000], [1000, 1100, 1020], arms=("control", "b", "c"))
    assert r.variants == ("b", "c")
    assert r.prob_best[1] > 0.9 and sum(r.prob_best) == pytest.approx(1.0)
    lo, hi = r.lift_abs_ci[0]
    assert lo < 0.01 < hi and r.lift_rel_ci[0][0] < 0.1 < r.lift_rel_ci[0][1]
    low = beta_binomial([10000, 10000], [100, 130], higher_is_better=False)
    assert low.prob_beat_control[0] < 0.1     # more guardrail events is worse


@pytest.mark.parametrize("args,kwargs,match", [
    (([100, 0], [5, 0]), {}, "arm 1 has no units"),
    (([100], [5]), {}, "at least 2 arms"),
    (([100, 100], [5, float("nan")]), {}, "not a finite number"),
    (([100, 100], [5, 120]), {}, "more successes"),
    (([100, 100], [5, 6]), {"prior": (0, 1)}, "positive numbers"),
])
def test_bad_inputs(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        beta_binomial(*args, **kwargs)
    with pytest.raises(InputError, match="prior_sd must be a positive"):
        normal_lift(0.1, 0.1, prior_sd=0)
    with pytest.raises(InputError, match="se of .* must not be negative|se .*negative"):
        normal_lift(0.1, -1)


def test_prob_best_bad_inputs():
    with pytest.raises(InputError, match="at least 2 arms"):
        prob_best_beta([3.0], [4.0])
    with pytest.raises(InputError, match="must be positive"):
        prob_best_beta([3.0, 0.0], [4.0, 5.0])
    with pytest.raises(InputError, match="not a finite number"):
        prob_best_normal([1.0, float("nan")], [0.1, 0.1])
    with pytest.raises(InputError, match="must not be negative"):
        prob_best_normal([1.0, 2.0], [0.1, -0.1])


def test_density_grids_hold_almost_all_the_mass():
    from workbench.stats.bayes import beta_density_grid, normal_density_grid

    for grid in (beta_density_grid([21, 300], [481, 4700], ["a", "b"], points=2000),
                 normal_density_grid([0.01, 0.03], [0.005, 0.002], ["a", "b"], points=2000)):
        for _, g in grid.groupby("name"):
            assert abs(np.trapezoid(g.density, g.x) - 1) < 1e-3
