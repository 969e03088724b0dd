"""P(best) and expected losses of 3- and 4-arm experiments against plain Monte Carlo (issue 18, item 6).

Each check allows the smaller of 1e-3 and four Monte Carlo standard errors (computed from the draws),
so the tolerance is met by the number of draws, not by luck: 4,000,000 draws put four standard errors
of a probability at ≤ 1e-3. Cases include Beta shapes below 1 at one or both ends (Jeffreys' prior with
arms that have no conversions), which the quadrature integrates in the quantile space.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.stats.bayes import beta_pair_core, prob_best_beta, prob_best_normal

DRAWS = 4_000_000
CHUNK = 1_000_000


def _monte_carlo(sample, arms: int, seed: int):
    """Plain Monte Carlo: ``sample(rng, k, size)`` draws arm k. Returns P(best), P(worst), and per variant
    the mean and sd of max(C − T, 0) and of max(T − C, 0) against arm 0."""
    rng = np.random.default_rng(seed)
    best, worst = np.zeros(arms), np.zeros(arms)
    pos1, pos2, d1, d2 = (np.zeros(arms - 1) for _ in range(4))
    d = np.empty((CHUNK, arms))
    for _ in range(DRAWS // CHUNK):
        for k in range(arms):
            d[:, k] = sample(rng, k, CHUNK)        # one arm at a time: scalar parameters sample fastest
        best += np.bincount(d.argmax(1), minlength=arms)
        worst += np.bincount(d.argmin(1), minlength=arms)
        diff = d[:, :1] - d[:, 1:]                                 # C − T per variant
        pos = np.maximum(diff, 0.0)
        pos1 += pos.sum(0)
        pos2 += np.einsum("ij,ij->j", pos, pos)
        d1 += diff.sum(0)
        d2 += np.einsum("ij,ij->j", diff, diff)
    # max(T − C, 0) = max(C − T, 0) − (C − T), and its square is (C − T)² − max(C − T, 0)²
    mean = np.array([pos1, pos1 - d1]) / DRAWS
    second = np.array([pos2, d2 - pos2]) / DRAWS
    sd = np.sqrt(np.maximum(second - mean * mean, 0.0))
    return best / DRAWS, worst / DRAWS, mean, sd


def _assert_prob_close(got, mc):
    tol = np.minimum(1e-3, 4 * np.sqrt(np.maximum(mc * (1 - mc), 1e-12) / DRAWS) + 1e-6)
    assert np.all(np.abs(got - mc) <= tol), (got, mc, tol)


BETA_CASES = [
    # Jeffreys' prior Beta(½, ½): two arms without conversions (density infinite at 0), one with 3 of 153
    ("jeffreys_zero_conversions", [0.5, 0.5, 3.5], [120.5, 90.5, 150.5]),
    # shapes below 1 at both ends, four arms (the window rule gave P(best) 0.9993 for the last; truth 0.718)
    ("shapes_below_one_both_ends", [0.3, 1.0, 2.0, 0.7], [0.4, 3.0, 5.0, 0.2]),
    # an ordinary three-arm conversion test
    ("three_arm_conversion", [101.0, 121.0, 111.0], [901.0, 881.0, 891.0]),
]


@pytest.mark.parametrize("name,a,b", BETA_CASES, ids=[c[0] for c in BETA_CASES])
def test_beta_prob_best_and_losses_match_monte_carlo(name, a, b):
    a, b = np.array(a), np.array(b)
    best, worst, loss_mean, loss_sd = _monte_carlo(lambda rng, k, n: rng.beta(a[k], b[k], n), a.size, seed=18)
    _assert_prob_close(prob_best_beta(a, b), best)
    _assert_prob_close(prob_best_beta(a, b, higher_is_better=False), worst)
    p_gt, loss_choose_t, loss_keep_c = beta_pair_core(a[0], b[0], a[1:], b[1:])
    for got, mc, sd in ((loss_choose_t, loss_mean[0], loss_sd[0]), (loss_keep_c, loss_mean[1], loss_sd[1])):
        tol = np.minimum(1e-3, 4 * sd / np.sqrt(DRAWS) + 1e-9)
        assert np.all(np.abs(got - mc) <= tol), (got, mc, tol)
    assert np.all(loss_choose_t > 0) and np.all(loss_keep_c > 0)       # the checks compare something


def test_normal_prob_best_and_losses_match_monte_carlo():
    m, sd = np.array([0.010, 0.012, 0.009, 0.0115]), np.array([0.001, 0.0015, 0.0005, 0.002])
    best, worst, _, _ = _monte_carlo(lambda rng, k, n: rng.normal(m[k], sd[k], n), m.size, seed=19)
    _assert_prob_close(prob_best_normal(m, sd), best)
    _assert_prob_close(prob_best_normal(m, sd, higher_is_better=False), worst)


def test_rows_with_and_without_small_shapes_are_routed_row_by_row():
    """A batch mixing a row with a shape below 1 and ordinary rows gives each row's own answer."""
    small_a, small_b = np.array(BETA_CASES[0][1]), np.array(BETA_CASES[0][2])
    big_a, big_b = np.array(BETA_CASES[2][1]), np.array(BETA_CASES[2][2])
    a, b = np.stack([big_a, small_a, big_a[::-1]]), np.stack([big_b, small_b, big_b[::-1]])
    got = prob_best_beta(a, b)
    np.testing.assert_allclose(got[0], prob_best_beta(big_a, big_b), atol=1e-13)
    np.testing.assert_allclose(got[1], prob_best_beta(small_a, small_b), atol=1e-13)
    np.testing.assert_allclose(got[2], prob_best_beta(big_a, big_b)[::-1], atol=1e-13)
    assert got.shape == (3, 3) and np.allclose(got.sum(axis=1), 1.0)
