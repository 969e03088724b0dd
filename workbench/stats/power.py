"""Power and planning: units per arm for a minimum detectable effect, the MDE for a sample, duration.

The formula is the unpooled normal approximation of DESIGN.md. For a two-arm test of a proportion
with baseline ``p₁`` and target ``p₂`` (difference ``δ = p₂ − p₁``) and allocation weights
``w₁``, ``w₂`` (shares of all units)::

    N = (z₁₋α/₂ + z₁₋β)² · (p₁(1−p₁)/w₁ + p₂(1−p₂)/w₂) / δ²,   nᵢ = wᵢ · N

so with a 1:1 split ``n = (z₁₋α/₂ + z₁₋β)² · (p₁(1−p₁) + p₂(1−p₂)) / δ²`` per arm. Means use
``σ₁², σ₂²`` in place of ``p(1−p)``. With more than two arms every variant is compared with the
control; by default alpha is split over those comparisons (Bonferroni), which is what the Holm
correction of the analysis can only improve on, so the plan is never optimistic. Per-arm sizes are
rounded up.

>>> r = sample_size(0.10, 0.05, relative=True, alpha=0.05, power=0.8)
>>> r.n_per_arm, r.n_total
(57760, 115520)
>>> sample_size(0.10, 0.05, daily_units=10_000).days
12
>>> round(mde(0.10, 57760).mde_rel, 4)
0.05
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ..display import ResultMixin, fmt_count, fmt_lift, fmt_num, fmt_share
from ._checks import bad, check_choice, check_positive, check_probability

__all__ = ["SampleSize", "MDEResult", "sample_size", "mde", "power_at", "n_total_core", "z_crit"]

Kind = Literal["proportion", "mean"]


def z_crit(alpha: ArrayLike, two_sided: bool = True) -> np.ndarray:
    """Normal critical value z₁₋α/₂ (two-sided) or z₁₋α (one-sided)."""
    a = np.asarray(alpha, dtype=np.float64)
    return -special.ndtri(a / 2 if two_sided else a)


def n_total_core(var_c: ArrayLike, var_t: ArrayLike, delta: ArrayLike, w_c: ArrayLike, w_t: ArrayLike,
                 z_alpha: ArrayLike, z_beta: ArrayLike) -> np.ndarray:
    """Total units (all arms) so that the control-vs-variant test has the requested power.

    Pure NumPy, broadcast over any shape: ``(z_α + z_β)² (σc²/w_c + σt²/w_t) / δ²``.
    """
    z = np.asarray(z_alpha, dtype=np.float64) + np.asarray(z_beta, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return z * z * (np.asarray(var_c) / w_c + np.asarray(var_t) / w_t) / np.square(delta)


@dataclass(frozen=True)
class SampleSize(ResultMixin):
    """Units needed per arm (and in total) to detect ``mde_abs`` with the given power.

    ``n_per_arm`` is the largest per-arm requirement (every arm's, for an equal split) and is the
    number to compare with the units an arm has so far; ``n_by_arm`` lists each arm (control
    first) for unequal splits. ``days`` is ``ceil(n_total / daily_units)`` when traffic is given.
    """

    n_per_arm: int
    n_by_arm: tuple[int, ...]
    n_total: int
    kind: str
    baseline: float
    target: float
    mde_abs: float
    mde_rel: float
    alpha: float
    alpha_per_comparison: float
    power: float
    arms: int
    split: tuple[float, ...]
    two_sided: bool
    sd: float | None = None
    daily_units: float | None = None
    days: int | None = None
    note: str = ""

    def remaining(self, units_per_arm: ArrayLike) -> int:
        """Units still needed in the arm furthest from its target (0 when every arm has enough).

        ``units_per_arm`` is the current count of every arm (control first) or one number for all.
        """
        have = np.broadcast_to(np.asarray(units_per_arm, dtype=np.float64), (self.arms,))
        return int(max(0.0, float(np.max(np.asarray(self.n_by_arm) - have))))

    def summary(self) -> str:
        text = (f"{fmt_count(self.n_per_arm)} units per arm ({fmt_count(self.n_total)} in total) to detect "
                f"{fmt_lift(self.mde_rel)} relative ({self.baseline:g} -> {self.target:g}) with "
                f"{fmt_share(self.power)} power at alpha {self.alpha:g}")
        if self.days is not None:
            text += f"; about {self.days} days at {fmt_num(self.daily_units)} units a day"
        return text


@dataclass(frozen=True)
class MDEResult(ResultMixin):
    """Smallest effect the planned sample detects with the given power (upward direction)."""

    mde_abs: float
    mde_rel: float
    kind: str
    baseline: float
    n_by_arm: tuple[float, ...]
    alpha: float
    alpha_per_comparison: float
    power: float
    two_sided: bool
    sd: float | None = None


def _validate(baseline: float, kind: str, sd: float | None, alpha: float, power: float, arms: int,
              split: Sequence[float] | None, correction: str) -> tuple[float, float, int, np.ndarray]:
    check_choice("kind", kind, ("proportion", "mean"))
    check_choice("correction", correction, ("bonferroni", "none"))
    alpha = check_probability("alpha", alpha)
    power = check_probability("power", power)
    if isinstance(arms, bool) or not isinstance(arms, (int, np.integer)) or arms < 2:
        raise bad("bad_parameter", "arms must be a whole number >= 2 (a control and at least one variant)",
                  column="arms", value=arms)
    if kind == "proportion":
        check_probability("baseline", baseline)
    else:
        b = float(baseline)
        if not math.isfinite(b):
            raise bad("bad_parameter", "baseline must be a finite number", column="baseline", value=baseline)
        if sd is None:
            raise bad("bad_parameter", "a mean needs its per-unit standard deviation (sd)", column="sd")
        check_positive("sd", sd)
    if split is None:
        w = np.full(arms, 1.0 / arms)
    else:
        w = np.asarray(split, dtype=np.float64)
        if w.shape != (arms,):
            raise bad("bad_parameter", f"split needs one weight per arm ({arms}); got {len(w)}", column="split",
                      value=list(split))
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise bad("bad_parameter", "split weights must be positive numbers", column="split", value=list(split))
        w = w / w.sum()
    return alpha, power, int(arms), w


def _alpha_per_comparison(alpha: float, arms: int, correction: str) -> float:
    return alpha / (arms - 1) if correction == "bonferroni" else alpha


def sample_size(baseline: float, mde: float, *, relative: bool = True, alpha: float = 0.05, power: float = 0.8,
                arms: int = 2, split: Sequence[float] | None = None, kind: Kind = "proportion",
                sd: float | None = None, sd_variant: float | None = None, two_sided: bool = True,
                correction: Literal["bonferroni", "none"] = "bonferroni",
                daily_units: float | None = None) -> SampleSize:
    """Units per arm to detect a lift of ``mde`` over ``baseline`` (relative by default).

    ``kind="proportion"``: ``baseline`` is the control rate, per-unit variance p(1−p) in each arm.
    ``kind="mean"``: ``baseline`` is the control mean and ``sd`` its per-unit standard deviation
    (``sd_variant`` defaults to ``sd``). ``split`` gives allocation weights (control first; they
    are normalised). ``daily_units`` (units entering the experiment per day, all arms) adds the
    expected duration.

    >>> sample_size(0.10, 0.005, relative=False).n_per_arm
    57760
    >>> sample_size(20.0, 0.5, relative=False, kind="mean", sd=10.0).n_per_arm
    6280
    """
    alpha, power, arms, w = _validate(baseline, kind, sd, alpha, power, arms, split, correction)
    b = float(baseline)
    try:
        m = float(mde)
    except (TypeError, ValueError):
        raise bad("bad_parameter", "mde must be a number", column="mde", value=mde) from None
    if not math.isfinite(m) or m == 0:
        raise bad("bad_parameter", "mde must be a non-zero finite number", column="mde", value=mde)
    if relative and b == 0:
        raise bad("bad_parameter", "a relative MDE needs a non-zero baseline", column="baseline", value=baseline)
    delta = b * m if relative else m
    target = b + delta
    if kind == "proportion":
        if not 0 < target < 1:
            raise bad("bad_parameter", f"baseline {b:g} with this MDE gives a rate of {target:g}, outside (0, 1)",
                      column="mde", value=mde)
        var_c, var_t = b * (1 - b), target * (1 - target)
    else:
        assert sd is not None
        sdv = sd if sd_variant is None else check_positive("sd_variant", sd_variant)
        var_c, var_t = float(sd) ** 2, float(sdv) ** 2
    a_cmp = _alpha_per_comparison(alpha, arms, correction)
    totals = n_total_core(var_c, var_t, delta, w[0], w[1:], z_crit(a_cmp, two_sided), -special.ndtri(1 - power))
    total = float(np.max(totals))
    n_by_arm = tuple(int(math.ceil(wi * total * (1 - 1e-12))) for wi in w)
    days = None
    if daily_units is not None:
        daily = check_positive("daily_units", daily_units)
        days = int(math.ceil(sum(n_by_arm) / daily))
    note = ""
    if arms > 2 and correction == "bonferroni":
        note = f"alpha {alpha:g} split over {arms - 1} comparisons with the control (Bonferroni): {a_cmp:g} each"
    return SampleSize(n_per_arm=max(n_by_arm), n_by_arm=n_by_arm, n_total=sum(n_by_arm), kind=kind, baseline=b,
                      target=target, mde_abs=delta, mde_rel=delta / b if b else math.nan, alpha=alpha,
                      alpha_per_comparison=a_cmp, power=power, arms=arms, split=tuple(float(x) for x in w),
                      two_sided=two_sided, sd=None if sd is None else float(sd), daily_units=daily_units,
                      days=days, note=note)


def mde(baseline: float, n_per_arm: float | None = None, *, n_total: float | None = None, alpha: float = 0.05,
        power: float = 0.8, arms: int = 2, split: Sequence[float] | None = None, kind: Kind = "proportion",
        sd: float | None = None, two_sided: bool = True,
        correction: Literal["bonferroni", "none"] = "bonferroni") -> MDEResult:
    """Smallest upward lift detectable with ``n_per_arm`` units in each arm (or ``n_total`` split).

    For a proportion the variant's variance depends on the effect, so the MDE solves the quadratic
    ``δ² = z² (p(1−p)/n_c + (p+δ)(1−p−δ)/n_t)`` exactly; for a mean it is ``z σ √(1/n_c + 1/n_t)``.
    With several variants the largest (worst) MDE over them is reported.

    >>> r = mde(20.0, 6280, kind="mean", sd=10.0)
    >>> round(r.mde_abs, 3)
    0.5
    """
    alpha, power, arms, w = _validate(baseline, kind, sd, alpha, power, arms, split, correction)
    if (n_per_arm is None) == (n_total is None):
        raise bad("bad_parameter", "give exactly one of n_per_arm and n_total", column="n_per_arm")
    total = (check_positive("n_per_arm", n_per_arm) * arms if n_per_arm is not None  # type: ignore[arg-type]
             else check_positive("n_total", n_total))  # type: ignore[arg-type]
    n = w * total
    a_cmp = _alpha_per_comparison(alpha, arms, correction)
    z = float(z_crit(a_cmp, two_sided) - special.ndtri(1 - power))
    b = float(baseline)
    n_c, n_t = n[0], n[1:]
    if kind == "mean":
        assert sd is not None
        d = z * float(sd) * np.sqrt(1 / n_c + 1 / n_t)
    else:
        z2 = z * z
        v_c = b * (1 - b)
        # (1 + z²/n_t) δ² − (z² (1−2p)/n_t) δ − z² (v_c/n_c + p(1−p)/n_t) = 0, positive root
        qa = 1 + z2 / n_t
        qb = -z2 * (1 - 2 * b) / n_t
        qc = -z2 * (v_c / n_c + v_c / n_t)
        d = (-qb + np.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa)
    worst = float(np.max(d))
    return MDEResult(mde_abs=worst, mde_rel=worst / b if b else math.nan, kind=kind, baseline=b,
                     n_by_arm=tuple(float(x) for x in n), alpha=alpha, alpha_per_comparison=a_cmp, power=power,
                     two_sided=two_sided, sd=None if sd is None else float(sd))


def power_at(baseline: float, mde: float, n_per_arm: float, *, relative: bool = True, alpha: float = 0.05,
             kind: Kind = "proportion", sd: float | None = None, two_sided: bool = True) -> float:
    """Power of a two-arm, equal-split test with ``n_per_arm`` units per arm (both tails counted).

    >>> round(power_at(0.10, 0.05, 57760), 3)
    0.8
    """
    check_choice("kind", kind, ("proportion", "mean"))
    alpha = check_probability("alpha", alpha)
    n = check_positive("n_per_arm", n_per_arm)
    b = float(baseline)
    delta = b * float(mde) if relative else float(mde)
    if kind == "proportion":
        check_probability("baseline", b)
        t = b + delta
        if not 0 < t < 1:
            raise bad("bad_parameter", f"the target rate {t:g} is outside (0, 1)", column="mde", value=mde)
        se = math.sqrt((b * (1 - b) + t * (1 - t)) / n)
    else:
        if sd is None:
            raise bad("bad_parameter", "a mean needs its per-unit standard deviation (sd)", column="sd")
        se = check_positive("sd", sd) * math.sqrt(2 / n)
    z = float(z_crit(alpha, two_sided))
    shift = abs(delta) / se
    p = special.ndtr(shift - z)
    if two_sided:
        p += special.ndtr(-shift - z)
    return float(p)
