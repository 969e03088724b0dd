"""Beta posteriors with a shape below 1 (Jeffreys' prior, a weak category prior with no conversions):
the pair probabilities, expected losses and lift quantiles against scipy's adaptive quadrature.

The window rule of ``beta_pair_core`` gave P(T > C) = 1.0 for a truth of 0.37 on such posteriors and
expected losses of 1e26; those rows are now integrated in the variant's quantile space."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from workbench.stats.bayes import beta_lift_quantiles, beta_pair_core

SMALL = [(0.5, 100.5, 3.5, 97.5), (0.9, 20.0, 2.0, 20.0), (0.5, 0.5, 30.0, 70.0), (0.9, 40.0, 0.9, 20.0),
         (0.3, 50.0, 0.4, 30.0), (2.0, 60.0, 0.7, 45.0)]


def _points(*extra: float) -> list[float]:
    return sorted({p for p in (1e-12, 1e-9, 1e-6, 1e-3, 0.5, *extra) if 0 < p < 1})


def _exact_pair(ac: float, bc: float, at: float, bt: float) -> tuple[float, float, float]:
    p = integrate.quad(lambda x: stats.beta.cdf(x, ac, bc) * stats.beta.pdf(x, at, bt), 0, 1, limit=2000,
                       points=_points(), epsabs=1e-13)[0]

    def inner(t: float) -> float:     # E[max(t − C, 0)]
        return t * stats.beta.cdf(t, ac, bc) - ac / (ac + bc) * stats.beta.cdf(t, ac + 1, bc)
    keep_c = integrate.quad(lambda t: stats.beta.pdf(t, at, bt) * inner(t), 0, 1, limit=2000, points=_points(),
                            epsabs=1e-13)[0]
    choose_t = keep_c - (at / (at + bt) - ac / (ac + bc))
    return p, choose_t, keep_c


@pytest.mark.parametrize("shapes", SMALL)
def test_pair_probability_and_losses_match_scipy(shapes):
    p, choose_t, keep_c = (float(x) for x in beta_pair_core(*shapes))
    ep, ec, ek = _exact_pair(*shapes)
    assert p == pytest.approx(ep, abs=1e-9)
    assert choose_t == pytest.approx(ec, abs=1e-9) and keep_c == pytest.approx(ek, abs=1e-9)


def test_rows_with_small_shapes_do_not_change_the_others():
    big = (120.0, 900.0, 100.0, 880.0)
    alone = beta_pair_core(*big)
    mixed = beta_pair_core(*(np.array([s, b]) for s, b in zip(SMALL[0], big)))
    assert all(float(m[1]) == pytest.approx(float(a), rel=1e-13, abs=1e-16) for m, a in zip(mixed, alone))


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize("shapes", SMALL[:5])
def test_lift_quantiles_match_scipy(shapes, relative):
    ac, bc, at, bt = shapes
    qs = np.array([0.03, 0.5, 0.97])
    values = beta_lift_quantiles(*(np.array([[s]]) for s in shapes), qs, relative=relative)[0]
    for q, v in zip(qs, values):
        if relative:
            f = lambda t: stats.beta.pdf(t, at, bt) * stats.beta.sf(t / (1 + v), ac, bc)  # noqa: E731
        else:
            f = lambda t: stats.beta.pdf(t, at, bt) * stats.beta.sf(t - v, ac, bc)  # noqa: E731
        cdf = integrate.quad(f, 0, 1, limit=2000, points=_points(v, 1 + v), epsabs=1e-13)[0]
        assert cdf == pytest.approx(q, abs=1e-8), (shapes, relative, q, v)
