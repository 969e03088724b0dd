"""The density's vectorisable exp/log/log1p agree with NumPy's to a few ulp over their domains."""

import numba
import numpy as np
import pytest

from workbench.hierarchical.vecmath import exp_nonpositive, log1p_unit, log_positive, softplus_sigmoid


@numba.njit(cache=True, error_model="numpy")
def _apply(kind: int, x: np.ndarray) -> np.ndarray:
    out = np.empty((2, x.size))
    for i in range(x.size):
        if kind == 0:
            out[0, i] = exp_nonpositive(x[i])
        elif kind == 1:
            out[0, i] = log1p_unit(x[i])
        elif kind == 2:
            out[0, i] = log_positive(x[i])
        else:
            out[0, i], out[1, i] = softplus_sigmoid(x[i])
    return out


def _ulps(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want) / np.spacing(np.abs(want))))


def test_exp_log_log1p_match_numpy_to_a_few_ulp() -> None:
    rng = np.random.default_rng(0)
    t = -np.concatenate([np.abs(rng.normal(0, 5, 200_000)), np.linspace(0, 708, 200_000), [0.0, 1e-300, 1e-20]])
    assert _ulps(_apply(0, t)[0], np.exp(t)) <= 1.0
    e = np.concatenate([np.exp(t[t > -700]), np.linspace(0, 1, 100_001), [0.41421356237309503, 0.4142135623730951]])
    e = e[e > 0]
    assert _ulps(_apply(1, e)[0], np.log1p(e)) <= 1.0
    x = np.concatenate([np.exp(rng.uniform(-700, 700, 200_000)), 1.0 + np.abs(rng.normal(0, 1e-6, 1000)),
                        np.linspace(0.5, 4.0, 100_001)])
    got, want = _apply(2, x)[0], np.log(x)
    assert np.max(np.abs(got - want)) <= 4 * np.spacing(np.maximum(np.abs(want), 1e-300)).max()
    assert _ulps(got[want != 0], want[want != 0]) <= 3.0
    assert _apply(1, np.array([0.0]))[0, 0] == 0.0 and _apply(2, np.array([1.0]))[0, 0] == 0.0


@pytest.mark.parametrize("x", [-800.0, -40.0, -3.2, -1e-12, 0.0, 1e-12, 2.5, 40.0, 800.0])
def test_softplus_and_sigmoid_are_stable(x: float) -> None:
    sp, sg = _apply(3, np.array([x]))[:, 0]
    want_sp = max(x, 0.0) + np.log1p(np.exp(-abs(x)))
    want_sg = 1.0 / (1.0 + np.exp(-x)) if x >= 0 else np.exp(x) / (1.0 + np.exp(x))
    assert sp == pytest.approx(want_sp, rel=1e-15, abs=1e-300 if x > -700 else 1e-300)
    if x >= -700:
        assert sg == pytest.approx(want_sg, rel=1e-15)
    else:                           # exp underflow region: a tiny positive number instead of ~0
        assert 0.0 <= sg < 1e-300
