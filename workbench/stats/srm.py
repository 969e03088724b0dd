"""Sample-ratio mismatch: chi-square goodness of fit of units per arm against the planned weights.

A mismatch means assignment or logging is broken (a redirect losing users, a bot filter hitting
one arm...), so every comparison is suspect. Any number of arms. **Zero-weight arms**: an arm
planned at 0 % with no units is left out of the test (and of the degrees of freedom); an arm
planned at 0 % that *received* units is an impossible allocation, reported as p = 0 (the most
severe mismatch) rather than a division by zero.

Thresholds (Settings.srm, overridable per experiment): Warning at p < 0.001, Blocked at
p < 0.00001.

>>> r = srm_test([5000, 5210], variants=("control", "b"))
>>> round(r.p_value, 5), r.status
(0.03768, 'healthy')
>>> srm_test([5000, 5600], variants=("control", "b")).status
'blocked'
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..results import HealthStatus, SRMResult
from ._checks import bad, check_finite_array, check_probability

__all__ = ["srm_core", "srm_status", "srm_test"]

Array = NDArray[np.float64]


def srm_core(observed: ArrayLike, weights: ArrayLike) -> tuple[Array, Array, Array, Array]:
    """``(statistic, p_value, df, expected)`` along the last axis (vectorised over leading axes)."""
    obs = np.asarray(observed, dtype=np.float64)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), obs.shape)
    total = obs.sum(axis=-1, keepdims=True)
    wsum = w.sum(axis=-1, keepdims=True)
    expected = total * w / wsum
    active = w > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(active, (obs - expected) ** 2 / expected, 0.0)
    stat = terms.sum(axis=-1)
    df = active.sum(axis=-1) - 1.0
    impossible = np.any((~active) & (obs > 0), axis=-1)
    p = np.where(df > 0, special.chdtrc(np.maximum(df, 1.0), stat), 1.0)
    stat = np.where(impossible, np.inf, stat)
    p = np.where(impossible, 0.0, p)
    return stat, p, df, expected


def srm_status(p: float, warning_p: float, blocked_p: float) -> HealthStatus:
    if p < blocked_p:
        return "blocked"
    if p < warning_p:
        return "warning"
    return "healthy"


def srm_test(observed: ArrayLike, weights: ArrayLike | Mapping[str, float] | None = None, *,
             variants: Sequence[str] | None = None, warning_p: float | None = None,
             blocked_p: float | None = None) -> SRMResult:
    """Chi-square SRM test of one experiment (units per arm, control first).

    ``weights`` are the planned allocation (any positive scale; equal when omitted), as a list in
    arm order or a mapping ``variant -> weight`` (a variant missing from the mapping is an error).
    """
    from ..config import get_settings
    s = get_settings().srm
    warning_p = check_probability("warning_p", s.warning_p if warning_p is None else warning_p)
    blocked_p = check_probability("blocked_p", s.blocked_p if blocked_p is None else blocked_p)
    obs = check_finite_array("observed", observed, arms=variants, nonnegative=True)
    if obs.ndim != 1 or obs.size < 2:
        raise bad("single_arm", "the SRM test needs units for at least 2 arms", column="observed",
                  value=str(obs.tolist()))
    names = tuple(variants) if variants is not None else tuple(f"arm{i}" for i in range(obs.size))
    if len(names) != obs.size:
        raise bad("bad_shape", f"{len(names)} variant names for {obs.size} arms", column="variants")
    if weights is None:
        w = np.ones(obs.size)
    elif isinstance(weights, Mapping):
        missing = [v for v in names if v not in weights]
        if missing:
            raise bad("unknown_weight", f"no expected weight for variant(s) {', '.join(map(repr, missing))}; "
                      f"weights are given for {', '.join(map(repr, weights))}", column="expected_weights",
                      value=missing[0])
        w = np.array([float(weights[v]) for v in names])
    else:
        w = np.asarray(weights, dtype=np.float64)
    w = check_finite_array("weights", w, arms=names, nonnegative=True)
    if w.shape != obs.shape:
        raise bad("bad_shape", f"{w.size} weights for {obs.size} arms", column="weights", value=str(w.tolist()))
    if not np.any(w > 0):
        raise bad("bad_parameter", "at least one expected weight must be positive", column="weights",
                  value=str(w.tolist()))
    if obs.sum() <= 0:
        raise bad("zero_units", "no units in any arm; nothing to test", column="observed", value=0)
    stat, p, _, expected = srm_core(obs, w)
    p_f = float(p)
    return SRMResult(variants=names, observed=tuple(obs.tolist()), expected=tuple(expected.tolist()),
                     weights=tuple((w / w.sum()).tolist()), statistic=float(stat), p_value=p_f,
                     status=srm_status(p_f, warning_p, blocked_p))
