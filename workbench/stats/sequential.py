"""Sequential testing: asymptotic always-valid confidence sequences (Waudby-Smith et al., 2021+).

A fixed-horizon 95 % interval looked at every day and acted on the first time it excludes zero
gives far more than 5 % false positives. A *confidence sequence* covers the true lift at every
look simultaneously with probability ≥ 1 − α, so a dashboard can be watched daily.

We use the normal-mixture boundary of "Time-uniform central limit theory and asymptotic
confidence sequences" (Waudby-Smith, Arbour, Sinha, Kennedy, Ramdas) applied to the
difference-in-means estimator: with ``t = n_c + n_t`` units so far and the estimator's standard
error ``se`` (so the per-unit influence variance is ``t·se²``), the two-sided CS is::

    lift ± se · sqrt( 2 (tρ² + 1) / (tρ²) · log( sqrt(tρ² + 1) / α ) )

``ρ`` is tuned so the sequence is tightest at the planned sample size ``t*`` (the power
calculator's ``n_per_arm`` × 2)::

    ρ² = (−2 log α + log(1 − 2 log α)) / t*

The always-valid p-value is the smallest α whose sequence excludes zero,
``min(1, sqrt(tρ²+1) · exp(−z² tρ² / (2 (tρ²+1))))`` with ``z = lift / se``; over several
looks it is the running minimum. These are asymptotic (large-sample) guarantees, like the Welch
test itself; the calibration test in the suite checks the false-positive rate under daily peeking.

>>> lo, hi, p = confidence_sequence_core(0.01, 0.004, 20000, planned_n=20000, alpha=0.05)
>>> round(float(lo), 4), round(float(hi), 4), round(float(p), 3)
(-0.0021, 0.0221, 0.186)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..display import ResultMixin
from ._checks import bad, check_finite_array, check_positive, check_probability

__all__ = ["rho2_for", "cs_multiplier", "always_valid_p", "confidence_sequence_core", "SequentialResult",
           "confidence_sequence"]

Array = NDArray[np.float64]


def rho2_for(planned_n: ArrayLike, alpha: float = 0.05) -> Array:
    """Mixture variance ρ² that makes the sequence tightest at ``planned_n`` units."""
    la = -2.0 * np.log(alpha)
    return (la + np.log1p(la)) / np.asarray(planned_n, dtype=np.float64)


def cs_multiplier(n: ArrayLike, rho2: ArrayLike, alpha: float = 0.05) -> Array:
    """Half-width of the confidence sequence in units of the standard error."""
    tr = np.asarray(n, dtype=np.float64) * np.asarray(rho2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.sqrt(2.0 * (tr + 1.0) / tr * np.log(np.sqrt(tr + 1.0) / alpha))
    return np.where(tr > 0, m, np.inf)


def always_valid_p(z: ArrayLike, n: ArrayLike, rho2: ArrayLike) -> Array:
    """Always-valid p-value at one look (take the running minimum over looks)."""
    tr = np.asarray(n, dtype=np.float64) * np.asarray(rho2, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.sqrt(tr + 1.0) * np.exp(-0.5 * z * z * tr / (tr + 1.0))
    return np.where(np.isnan(p), 1.0, np.minimum(p, 1.0))


def confidence_sequence_core(lift: ArrayLike, se: ArrayLike, n: ArrayLike, *, planned_n: ArrayLike,
                             alpha: float = 0.05) -> tuple[Array, Array, Array]:
    """``(lo, hi, p_always_valid)`` at one look; every argument broadcasts (vectorised)."""
    lift, se = np.asarray(lift, dtype=np.float64), np.asarray(se, dtype=np.float64)
    rho2 = rho2_for(planned_n, alpha)
    half = se * cs_multiplier(n, rho2, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, lift / se, np.where(lift == 0, 0.0, np.inf))
    return lift - half, lift + half, always_valid_p(z, n, rho2)


@dataclass(frozen=True)
class SequentialResult(ResultMixin):
    """A confidence sequence over successive looks (e.g. days) for one variant vs control.

    ``cs_lo``/``cs_hi`` are the running intersection of the per-look sequences (still valid, and
    never widening); ``p_value`` is the running minimum always-valid p-value; ``naive_p`` is the
    fixed-horizon p-value at each look, shown side by side to make the peeking problem visible.
    """

    variant: str
    control: str
    alpha: float
    planned_n: float
    looks: tuple
    n: tuple[float, ...]
    lift: tuple[float, ...]
    cs_lo: tuple[float, ...]
    cs_hi: tuple[float, ...]
    p_value: tuple[float, ...]
    naive_p: tuple[float, ...]

    @property
    def significant(self) -> bool:
        return bool(self.p_value and self.p_value[-1] < self.alpha)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"look": self.looks, "n": self.n, "lift": self.lift, "cs_lo": self.cs_lo,
                             "cs_hi": self.cs_hi, "p_always_valid": self.p_value, "p_fixed_horizon": self.naive_p})


def confidence_sequence(lift: ArrayLike, se: ArrayLike, n: ArrayLike, *, planned_n: float, alpha: float = 0.05,
                        looks: Sequence | None = None, variant: str = "variant", control: str = "control",
                        ) -> SequentialResult:
    """Confidence sequence over looks (1-D arrays, one entry per look, cumulative data).

    >>> r = confidence_sequence([0.0, 0.004, 0.006], [0.006, 0.004, 0.003], [2000, 4000, 8000], planned_n=8000)
    >>> r.significant, [round(x, 3) for x in r.p_value]
    (False, [1.0, 1.0, 0.506])
    """
    lift_a = check_finite_array("lift", lift)
    se_a = check_finite_array("se", se, nonnegative=True)
    n_a = check_finite_array("n", n, nonnegative=True)
    if not (lift_a.ndim == se_a.ndim == n_a.ndim == 1) or not (lift_a.size == se_a.size == n_a.size) or not lift_a.size:
        raise bad("bad_shape", "lift, se and n need one entry per look (1-D, same length, at least one)",
                  column="lift", value=str(lift_a.shape))
    if np.any(np.diff(n_a) < 0):
        raise bad("not_cumulative", "n must not decrease from one look to the next (looks are cumulative)",
                  column="n", value=str(n_a.tolist()))
    planned = check_positive("planned_n", planned_n)
    alpha = check_probability("alpha", alpha)
    lo, hi, p = confidence_sequence_core(lift_a, se_a, n_a, planned_n=planned, alpha=alpha)
    from scipy import special
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se_a > 0, lift_a / se_a, np.where(lift_a == 0, 0.0, np.inf))
    naive = np.minimum(1.0, 2 * special.ndtr(-np.abs(z)))
    return SequentialResult(
        variant=variant, control=control, alpha=alpha, planned_n=planned,
        looks=tuple(looks) if looks is not None else tuple(range(1, lift_a.size + 1)), n=tuple(n_a.tolist()),
        lift=tuple(lift_a.tolist()), cs_lo=tuple(np.maximum.accumulate(lo).tolist()),
        cs_hi=tuple(np.minimum.accumulate(hi).tolist()), p_value=tuple(np.minimum.accumulate(p).tolist()),
        naive_p=tuple(naive.tolist()))
