"""Segment breakdowns: per-segment lifts, a heterogeneity test, correction across segments, Simpson warning.

Segment results are **exploratory**: with many segments some will look significant by chance, so
p-values are corrected across every segment × variant comparison of a metric (Holm by default,
Benjamini–Hochberg on request), and the question "does the effect differ between segments?" is
answered by one test, Cochran's Q on the per-segment lifts with inverse-variance weights::

    Q = Σ w_s (δ_s − δ̄)²,  w_s = 1 / se_s²,  δ̄ = Σ w_s δ_s / Σ w_s,  Q ~ χ²(S − 1) under homogeneity

with I² = max(0, (Q − df) / Q), the share of the spread beyond chance. A **Simpson's-paradox
warning** is raised when every segment's lift points the other way from the pooled lift (the
mix of segments differs between arms enough to reverse the overall direction).

>>> import numpy as np
>>> q, df, p, i2 = heterogeneity_core(np.array([0.01, 0.012, -0.02]), np.array([0.004, 0.005, 0.006]))
>>> round(float(q), 2), int(df), f"{float(p):.1e}", round(float(i2), 3)
(20.8, 2, '3.0e-05', 0.904)
>>> bool(simpson_core(np.array([0.02, 0.03]), -0.01))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..display import ResultMixin
from ..results import Comparison, comparisons_frame

__all__ = ["heterogeneity_core", "simpson_core", "SegmentMetricResult", "SegmentResult"]

Array = NDArray[np.float64]


def heterogeneity_core(lift: ArrayLike, se: ArrayLike, axis: int = 0) -> tuple[Array, Array, Array, Array]:
    """Cochran's Q across ``axis`` (segments): ``(Q, df, p_value, I²)``; NaN or zero-se segments are left out."""
    lift = np.asarray(lift, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    ok = np.isfinite(lift) & np.isfinite(se) & (se > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(ok, 1.0 / (se * se), 0.0)
        lw = np.where(ok, lift, 0.0)
        mean = np.sum(w * lw, axis=axis, keepdims=True) / np.sum(w, axis=axis, keepdims=True)
        q = np.sum(np.where(ok, w * (lw - mean) ** 2, 0.0), axis=axis)
    df = np.sum(ok, axis=axis) - 1.0
    p = np.where(df > 0, special.chdtrc(np.maximum(df, 1.0), q), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, (q - df) / q), 0.0)
    return q, df, p, np.where(df > 0, i2, np.nan)


def simpson_core(segment_lift: ArrayLike, pooled_lift: ArrayLike, axis: int = 0) -> NDArray[np.bool_]:
    """True where every (finite) segment lift has the opposite sign of a non-zero pooled lift."""
    seg = np.asarray(segment_lift, dtype=np.float64)
    pooled = np.asarray(pooled_lift, dtype=np.float64)
    sign = np.sign(np.expand_dims(pooled, axis))
    finite = np.isfinite(seg)
    opposite = np.where(finite, np.sign(seg) == -sign, True)
    return (np.sum(finite, axis=axis) >= 2) & np.all(opposite, axis=axis) & (pooled != 0) & np.isfinite(pooled)


@dataclass(frozen=True)
class SegmentMetricResult(ResultMixin):
    """Per-segment results of one metric, the heterogeneity test per variant and the Simpson check."""

    metric: str
    kind: str
    dim: str
    levels: tuple
    rows: tuple[Comparison, ...]                    # one per segment × variant, ``segment`` set
    pooled_lift: dict[str, float]
    heterogeneity: dict[str, dict[str, float]]      # variant -> {q, df, p_value, i2}
    simpson: dict[str, bool]                        # variant -> pooled and segment directions disagree
    correction: str
    notes: tuple[str, ...] = ()
    unit: str = ""                                  # the metric's unit (how its numbers are written)

    def to_frame(self) -> pd.DataFrame:
        frame = comparisons_frame(self.rows, metric=self.metric)
        return frame.rename(columns={"segment": self.dim})


@dataclass(frozen=True)
class SegmentResult(ResultMixin):
    """A breakdown of an experiment by one dimension (device, channel, user type...). Exploratory."""

    experiment_id: str
    dim: str
    metrics: tuple[SegmentMetricResult, ...]
    note: str = ("Exploratory: segment results are for generating hypotheses, not for decisions; "
                 "p-values are corrected across segments.")

    def to_frame(self) -> pd.DataFrame:
        frames = [m.to_frame() for m in self.metrics]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def warnings(self) -> list[str]:
        out = []
        for m in self.metrics:
            out += [n for n in m.notes if n.startswith("Simpson")]
        return out
