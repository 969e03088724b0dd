"""row_quantiles gives NumPy's quantiles bit for bit, whatever the rows hold."""

import numpy as np
import pytest

from workbench.hierarchical.row_quantiles import row_quantiles


def _rows() -> np.ndarray:
    rng = np.random.default_rng(3)
    n = 5000
    rows = [rng.normal(size=n), rng.standard_cauchy(n), rng.integers(0, 3, n).astype(float),   # heavy tails, ties
            np.sort(rng.normal(size=n)), np.sort(rng.normal(size=n))[::-1], np.full(n, 0.25),   # ordered, constant
            np.cumsum(rng.normal(size=n)), rng.beta(0.5, 50, n)]                                # autocorrelated, skewed
    return np.array(rows)


@pytest.mark.parametrize("lo,hi", [(0.03, 0.97), (0.025, 0.975), (0.0, 1.0), (0.5, 0.5), (0.2, 0.9)])
def test_matches_numpy_bit_for_bit(lo: float, hi: float) -> None:
    x = _rows()
    want = np.quantile(x, [lo, hi], axis=1).T
    assert np.array_equal(row_quantiles(x, lo, hi), want)
    short = x[:, :300]                                   # sorted whole
    assert np.array_equal(row_quantiles(short, lo, hi), np.quantile(short, [lo, hi], axis=1).T)


def test_nan_rows_give_nan_like_numpy() -> None:
    x = _rows()[:3].copy()
    x[1, 1234] = np.nan
    got = row_quantiles(x, 0.03, 0.97)
    assert np.isnan(got[1]).all() and np.array_equal(got[[0, 2]], np.quantile(x[[0, 2]], [0.03, 0.97], axis=1).T)
