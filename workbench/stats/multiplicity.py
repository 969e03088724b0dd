"""Multiplicity corrections: Holm (default) and Benjamini–Hochberg, vectorised over families.

The *family* is the last axis: by default the variants-vs-control comparisons of one metric
(Holm controls the family-wise error rate: the chance of any false "winner" among them). BH
controls the false discovery rate and suits many metrics or many segments. NaN p-values (a
comparison that could not be made) are left out of the family and stay NaN.

>>> holm_core([0.01, 0.04, 0.03]).round(4).tolist()
[0.03, 0.06, 0.06]
>>> bh_core([0.01, 0.04, 0.03]).round(4).tolist()
[0.03, 0.04, 0.04]
>>> adjust([0.01, 0.04, 0.03], family="3 variants vs control on cvr").note
'Holm correction across 3 variants vs control on cvr (3 tests)'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..display import ResultMixin
from ._checks import bad, check_choice

__all__ = ["Correction", "holm_core", "bh_core", "adjust_core", "AdjustedPValues", "adjust"]

Correction = Literal["holm", "bh", "none"]
Array = NDArray[np.float64]


def _prepare(p: ArrayLike) -> tuple[Array, Array, Array, Array]:
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, axis=-1)                       # NaN sorts last
    ps = np.take_along_axis(p, order, axis=-1)
    m = np.sum(~np.isnan(p), axis=-1, keepdims=True).astype(np.float64)
    rank = np.arange(1, p.shape[-1] + 1, dtype=np.float64)
    return p, order, ps, m + 0 * rank


def _unsort(adj_sorted: Array, order: Array, p: Array) -> Array:
    out = np.empty_like(adj_sorted)
    np.put_along_axis(out, order, adj_sorted, axis=-1)
    return np.where(np.isnan(p), np.nan, np.minimum(out, 1.0))


def holm_core(p: ArrayLike) -> Array:
    """Holm step-down adjusted p-values along the last axis."""
    p, order, ps, m = _prepare(p)
    rank = np.arange(1, p.shape[-1] + 1, dtype=np.float64)
    adj = np.fmax.accumulate(np.minimum((m - rank + 1) * ps, 1.0), axis=-1)
    return _unsort(adj, order, p)


def bh_core(p: ArrayLike) -> Array:
    """Benjamini–Hochberg step-up adjusted p-values (q-values) along the last axis."""
    p, order, ps, m = _prepare(p)
    rank = np.arange(1, p.shape[-1] + 1, dtype=np.float64)
    raw = np.minimum(m * ps / rank, 1.0)
    adj = np.flip(np.fmin.accumulate(np.flip(raw, axis=-1), axis=-1), axis=-1)
    return _unsort(adj, order, p)


def adjust_core(p: ArrayLike, method: str = "holm") -> Array:
    if method == "holm":
        return holm_core(p)
    if method == "bh":
        return bh_core(p)
    return np.asarray(p, dtype=np.float64).copy()


_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "No"}


@dataclass(frozen=True)
class AdjustedPValues(ResultMixin):
    p_values: tuple[float, ...]
    p_adjusted: tuple[float, ...]
    method: str
    family: str
    note: str


def adjust(p: ArrayLike, method: Correction = "holm", *, family: str = "the given tests") -> AdjustedPValues:
    """Adjust one family of p-values and say which family was corrected."""
    check_choice("method", method, ("holm", "bh", "none"))
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1:
        raise bad("bad_shape", "adjust() takes one family (a 1-D list of p-values); use adjust_core for batches",
                  column="p", value=str(arr.shape))
    finite = arr[~np.isnan(arr)]
    if np.any((finite < 0) | (finite > 1)):
        first = float(finite[(finite < 0) | (finite > 1)][0])
        raise bad("bad_parameter", "p-values must lie in [0, 1]", column="p", value=first)
    adj = adjust_core(arr, method)
    m = int(finite.size)
    note = f"{_NAMES[method]} correction across {family} ({m} test{'s' if m != 1 else ''})"
    return AdjustedPValues(tuple(arr.tolist()), tuple(adj.tolist()), method, family, note)
