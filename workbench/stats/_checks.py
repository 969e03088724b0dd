"""Input checks shared by the public statistics functions.

The NumPy cores never validate (they are the hot path and broadcast NaN quietly); the friendly
wrappers call these helpers first so a user mistake becomes an :class:`~workbench.errors.InputError`
naming the parameter (``column``), the arm or position (``row``, 1-based) and the bad value.

>>> try:
...     check_probability("alpha", 1.5)
... except InputError as e:
...     print(e)
column alpha, value 1.5: alpha must be strictly between 0 and 1
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError, Problem
from .sufficient import RatioStats, SufficientStats

__all__ = ["bad", "check_probability", "check_positive", "check_choice", "check_finite_array",
           "check_sufficient", "check_ratio", "check_counts", "arm_label"]


def bad(code: str, message: str, *, column: str | None = None, row: int | None = None, value: Any = None,
        file: str | None = None) -> InputError:
    """An InputError with one blocked problem (raise the returned object)."""
    return InputError([Problem("blocked", code, message, file=file, column=column, row=row, value=_plain(value))])


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def arm_label(index: tuple[int, ...], arms: Sequence[str] | None) -> str:
    """'arm 2 (treatment)' for a position on the last axis, with leading indices if any."""
    if not index:
        return "the value"
    arm = index[-1]
    name = f"arm {arm}" + (f" ({arms[arm]})" if arms is not None and arm < len(arms) else "")
    return name + (f" at {tuple(int(i) for i in index[:-1])}" if len(index) > 1 else "")


def check_probability(name: str, value: float, *, inclusive: bool = False) -> float:
    """A number in (0, 1) (or [0, 1] when ``inclusive``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise bad("bad_parameter", f"{name} must be a number", column=name, value=value) from None
    ok = (0.0 <= v <= 1.0) if inclusive else (0.0 < v < 1.0)
    if not ok or math.isnan(v):
        where = "between 0 and 1" if inclusive else "strictly between 0 and 1"
        raise bad("bad_parameter", f"{name} must be {where}", column=name, value=value)
    return v


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise bad("bad_parameter", f"{name} must be a number", column=name, value=value) from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise bad("bad_parameter", f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}",
                  column=name, value=value)
    return v


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if value not in options:
        raise bad("bad_parameter", f"{name} must be one of {', '.join(map(repr, options))}", column=name, value=value)
    return value


def check_finite_array(name: str, values: ArrayLike, *, arms: Sequence[str] | None = None,
                       nonnegative: bool = False) -> np.ndarray:
    """Float array with no NaN/inf (and no negatives when asked); the error names the first bad entry."""
    a = np.asarray(values, dtype=np.float64)
    bad_mask = ~np.isfinite(a)
    if bad_mask.any():
        idx = tuple(int(i) for i in np.argwhere(bad_mask)[0])
        raise bad("not_finite", f"{name} of {arm_label(idx, arms)} is not a finite number",
                  column=name, row=idx[-1] + 1 if idx else None, value=str(a[idx]))
    if nonnegative and (a < 0).any():
        idx = tuple(int(i) for i in np.argwhere(a < 0)[0])
        raise bad("negative", f"{name} of {arm_label(idx, arms)} must not be negative",
                  column=name, row=idx[-1] + 1 if idx else None, value=a[idx])
    return a


def _check_arms(n: np.ndarray, arms: Sequence[str] | None, min_arms: int) -> None:
    if n.ndim == 0 or n.shape[-1] < min_arms:
        found = 1 if n.ndim == 0 else n.shape[-1]
        raise bad("single_arm", f"at least {min_arms} arms are needed (a control and a variant); found {found}",
                  column="n", value=found)
    zero = n <= 0
    if zero.any():
        idx = tuple(int(i) for i in np.argwhere(zero)[0])
        raise bad("zero_units", f"{arm_label(idx, arms)} has no units (n = {n[idx]:g}); every arm needs units",
                  column="n", row=idx[-1] + 1, value=n[idx])
    frac = n != np.round(n)
    if frac.any():
        idx = tuple(int(i) for i in np.argwhere(frac)[0])
        raise bad("not_integer", f"n of {arm_label(idx, arms)} must be a whole number of units",
                  column="n", row=idx[-1] + 1, value=n[idx])


def check_sufficient(stats: SufficientStats, *, arms: Sequence[str] | None = None, min_arms: int = 2,
                     proportion: bool = False) -> None:
    """Finite sums, units in every arm, non-negative variances; counts within [0, n] for proportions."""
    for f in ("n", "sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum"):
        v = getattr(stats, f)
        if v is not None:
            check_finite_array(f, v, arms=arms, nonnegative=f in ("n", "sum_sq", "x_sum_sq"))
    _check_arms(stats.n, arms, min_arms)
    if proportion:
        check_counts(stats.n, stats.sum, arms=arms)
        return
    tol = 1e-9 * np.maximum(1.0, np.abs(stats.sum_sq))
    neg = (stats.sum_sq - stats.sum * stats.sum / stats.n) < -tol
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise bad("negative_variance",
                  f"inconsistent sums for {arm_label(idx, arms)}: sum_sq ({stats.sum_sq[idx]:g}) is smaller than "
                  f"sum²/n ({stats.sum[idx] ** 2 / stats.n[idx]:g}), which would mean a negative variance",
                  column="sum_sq", row=idx[-1] + 1, value=stats.sum_sq[idx])


def check_counts(n: ArrayLike, successes: ArrayLike, *, arms: Sequence[str] | None = None) -> None:
    """0 <= successes <= n, whole numbers."""
    n_ = check_finite_array("n", n, arms=arms, nonnegative=True)
    s = check_finite_array("successes", successes, arms=arms, nonnegative=True)
    over = s > n_
    if over.any():
        idx = tuple(int(i) for i in np.argwhere(over)[0])
        raise bad("count_exceeds_units", f"{arm_label(idx, arms)} has more successes ({s[idx]:g}) than units "
                  f"({n_[idx]:g})", column="successes", row=idx[-1] + 1, value=s[idx])
    frac = s != np.round(s)
    if frac.any():
        idx = tuple(int(i) for i in np.argwhere(frac)[0])
        raise bad("not_integer", f"successes of {arm_label(idx, arms)} must be a whole number",
                  column="successes", row=idx[-1] + 1, value=s[idx])


def check_ratio(stats: RatioStats, *, arms: Sequence[str] | None = None, min_arms: int = 2) -> None:
    """Finite sums, units in every arm, a positive denominator, non-negative variances."""
    for f in ("n", "num_sum", "num_sum_sq", "den_sum", "den_sum_sq", "num_den_sum",
              "x_sum", "x_sum_sq", "num_x_sum", "den_x_sum"):
        v = getattr(stats, f)
        if v is not None:
            check_finite_array(f, v, arms=arms, nonnegative=f in ("n", "num_sum_sq", "den_sum_sq", "x_sum_sq"))
    _check_arms(stats.n, arms, min_arms)
    zero = stats.den_sum <= 0
    if zero.any():
        idx = tuple(int(i) for i in np.argwhere(zero)[0])
        raise bad("zero_denominator", f"the denominator of {arm_label(idx, arms)} sums to {stats.den_sum[idx]:g}; "
                  "a ratio metric needs a positive denominator", column="den_sum", row=idx[-1] + 1,
                  value=stats.den_sum[idx])
    for s, ss, col in ((stats.num_sum, stats.num_sum_sq, "num_sum_sq"), (stats.den_sum, stats.den_sum_sq, "den_sum_sq")):
        tol = 1e-9 * np.maximum(1.0, np.abs(ss))
        neg = (ss - s * s / stats.n) < -tol
        if neg.any():
            idx = tuple(int(i) for i in np.argwhere(neg)[0])
            raise bad("negative_variance", f"inconsistent sums for {arm_label(idx, arms)}: {col} is smaller than "
                      "sum²/n, which would mean a negative variance", column=col, row=idx[-1] + 1, value=ss[idx])
