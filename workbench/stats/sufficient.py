"""Sufficient statistics: the only thing analysis functions ever see.

A metric's per-arm data is reduced in the engine to counts, sums and sums of squares (and the
cross-products CUPED and ratio metrics need). Arrays may have any leading shape (metrics,
segments, experiments...); **arms are on the last axis** and the control is arm 0 unless a
function says otherwise.

For a 0/1 metric (a proportion) ``sum_sq == sum``; :meth:`SufficientStats.from_counts` builds that.

>>> s = SufficientStats.from_counts([1000, 1000], [100, 120])
>>> s.mean.tolist(), s.var.round(6).tolist()
([0.1, 0.12], [0.09009, 0.105706])
>>> import numpy as np
>>> x = np.array([1.0, 2.0, 4.0])
>>> t = SufficientStats.from_values([x, x + 1])
>>> t.mean.round(4).tolist(), t.var.round(4).tolist()
([2.3333, 3.3333], [2.3333, 2.3333])
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..display import ResultMixin

__all__ = ["SufficientStats", "RatioStats"]

Array = NDArray[np.float64]


def _arr(x: ArrayLike | None) -> Array | None:
    return None if x is None else np.asarray(x, dtype=np.float64)


class _Sums(ResultMixin):
    """Arrays of sums: converted to float on creation, added, indexed and reduced field by field."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            object.__setattr__(self, f.name, _arr(getattr(self, f.name)))

    def _map(self, fn: Callable[[Array], Array]) -> Any:
        return type(self)(*(None if (a := getattr(self, f.name)) is None else fn(a)
                            for f in fields(self)))  # type: ignore[arg-type]

    def __add__(self, other: Any) -> Any:
        """Sums are additive: stats of a union of disjoint unit sets (segments, days)."""
        def add(a: Array | None, b: Array | None) -> Array | None:
            return None if a is None or b is None else a + b
        return type(self)(*(add(getattr(self, f.name), getattr(other, f.name))
                            for f in fields(self)))  # type: ignore[arg-type]

    def take(self, index: ArrayLike, axis: int = -1) -> Any:
        """Select arms (or entries of another axis), e.g. ``s.take([0, 2])``."""
        return self._map(lambda a: np.take(a, index, axis=axis))

    def sum_over(self, axis: int) -> Any:
        """Collapse an axis (e.g. segments) by adding its sums."""
        return self._map(lambda a: a.sum(axis=axis))


@dataclass(frozen=True)
class SufficientStats(_Sums):
    """Per-arm ``n``, ``sum``, ``sum_sq`` of a metric Y, optionally with a pre-period covariate X.

    ``x_sum``, ``x_sum_sq`` and ``xy_sum`` (Σx, Σx², Σxy over the same units) enable CUPED.
    Variances are per-unit sample variances with the n−1 denominator.
    """

    n: Array
    sum: Array
    sum_sq: Array
    x_sum: Array | None = None
    x_sum_sq: Array | None = None
    xy_sum: Array | None = None


    @classmethod
    def from_counts(cls, n: ArrayLike, successes: ArrayLike) -> "SufficientStats":
        """Stats of a 0/1 metric from units and successes (conversions)."""
        s = np.asarray(successes, dtype=np.float64)
        return cls(n=np.asarray(n, dtype=np.float64), sum=s, sum_sq=s)

    @classmethod
    def from_values(cls, arms: Sequence[ArrayLike], covariates: Sequence[ArrayLike] | None = None) -> "SufficientStats":
        """Stats from raw per-unit values, one array per arm (for tests and small data)."""
        ys = [np.asarray(a, dtype=np.float64) for a in arms]
        kw: dict[str, list[float]] = {}
        if covariates is not None:
            xs = [np.asarray(c, dtype=np.float64) for c in covariates]
            kw = dict(x_sum=[x.sum() for x in xs], x_sum_sq=[(x * x).sum() for x in xs],
                      xy_sum=[(x * y).sum() for x, y in zip(xs, ys)])
        return cls(n=[len(y) for y in ys], sum=[y.sum() for y in ys], sum_sq=[(y * y).sum() for y in ys], **kw)

    @property
    def has_covariate(self) -> bool:
        return self.x_sum is not None and self.x_sum_sq is not None and self.xy_sum is not None

    @property
    def mean(self) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sum / self.n

    @property
    def var(self) -> Array:
        """Unbiased per-unit variance, Σ(y−ȳ)²/(n−1); tiny negative round-off is clipped to 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1)
        return np.where(v < 0, np.where(v > -1e-9 * np.maximum(1.0, np.abs(self.sum_sq)), 0.0, v), v)

    @property
    def x_mean(self) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.x_sum / self.n  # type: ignore[operator]

    @property
    def x_var(self) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.x_sum_sq - self.x_sum * self.x_sum / self.n) / (self.n - 1)  # type: ignore[operator]

    @property
    def xy_cov(self) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.xy_sum - self.x_sum * self.sum / self.n) / (self.n - 1)  # type: ignore[operator]



@dataclass(frozen=True)
class RatioStats(_Sums):
    """Per-arm sums for a ratio metric Σnum/Σden when the unit is finer than the denominator.

    Example: clicks per impression with users as the randomisation unit. The delta method needs
    Σnum, Σnum², Σden, Σden² and Σnum·den per arm (over units). Optional covariate sums
    (``x_*``, ``num_x_sum``, ``den_x_sum``) enable CUPED on the ratio.
    """

    n: Array
    num_sum: Array
    num_sum_sq: Array
    den_sum: Array
    den_sum_sq: Array
    num_den_sum: Array
    x_sum: Array | None = None
    x_sum_sq: Array | None = None
    num_x_sum: Array | None = None
    den_x_sum: Array | None = None


    @classmethod
    def from_values(cls, nums: Sequence[ArrayLike], dens: Sequence[ArrayLike],
                    covariates: Sequence[ArrayLike] | None = None) -> "RatioStats":
        ys = [np.asarray(a, dtype=np.float64) for a in nums]
        ds = [np.asarray(a, dtype=np.float64) for a in dens]
        kw: dict[str, list[float]] = {}
        if covariates is not None:
            xs = [np.asarray(c, dtype=np.float64) for c in covariates]
            kw = dict(x_sum=[x.sum() for x in xs], x_sum_sq=[(x * x).sum() for x in xs],
                      num_x_sum=[(x * y).sum() for x, y in zip(xs, ys)],
                      den_x_sum=[(x * d).sum() for x, d in zip(xs, ds)])
        return cls(n=[len(y) for y in ys], num_sum=[y.sum() for y in ys], num_sum_sq=[(y * y).sum() for y in ys],
                   den_sum=[d.sum() for d in ds], den_sum_sq=[(d * d).sum() for d in ds],
                   num_den_sum=[(y * d).sum() for y, d in zip(ys, ds)], **kw)

    @property
    def has_covariate(self) -> bool:
        return all(getattr(self, k) is not None for k in ("x_sum", "x_sum_sq", "num_x_sum", "den_x_sum"))

    @property
    def ratio(self) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.num_sum / self.den_sum

