"""Sample sizes for briefs and for "needs N more units": thin wrappers over the power calculator.

The brief's minimum sample size (when not given) and the decision engine's "needs about N more
units" both come from :func:`workbench.stats.power.sample_size`, with alpha and power from
:class:`~workbench.config.Settings`. For a metric that is not a proportion the per-unit standard
deviation is recovered from the comparison's confidence interval (the standard error of the
difference scales as σ·√(1/n_c + 1/n_t)).

>>> min_sample_size(0.10, 0.05)
57760
>>> r = units_needed(control_value=0.10, lift_abs_ci=(-0.004, 0.006), n_by_arm=(10_000, 10_000),
...                  kind="proportion", mde=0.05, mde_type="relative")
>>> r.units_more, r.n_per_arm
(95520, 57760)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import special

from ..config import get_settings
from ..display import ResultMixin, fmt_pct
from ..errors import WorkbenchError
from ..stats.power import sample_size

__all__ = ["min_sample_size", "units_needed", "UnitsNeeded"]


def min_sample_size(baseline_rate: float, mde: float, *, mde_type: str = "relative", arms: int = 2,
                    split: Sequence[float] | None = None) -> int:
    """Units per arm to detect ``mde`` on a proportion with the configured alpha and power."""
    s = get_settings()
    return sample_size(baseline_rate, mde, relative=(mde_type == "relative"), alpha=s.alpha, power=s.power,
                       arms=arms, split=split).n_per_arm


@dataclass(frozen=True)
class UnitsNeeded(ResultMixin):
    """How many more units (all arms together) the test needs to detect the target effect."""

    units_more: int
    n_per_arm: int
    target_abs: float
    basis: str


def units_needed(*, control_value: float, lift_abs_ci: tuple[float, float], n_by_arm: Sequence[float],
                 kind: str, compare: tuple[int, int] = (0, 1), mde: float | None, mde_type: str = "relative", observed_lift_abs: float | None = None,
                 ci_level: float | None = None, split: Sequence[float] | None = None) -> UnitsNeeded | None:
    """Units still needed for the planned MDE (or, without one, to confirm the observed lift).

    ``n_by_arm`` holds the units of every arm so far (control first); ``compare`` names the two
    arms whose comparison ``lift_abs_ci`` describes. The plan covers every arm (alpha split over the
    comparisons as the power calculator does) and the answer is the sum of every arm's shortfall.

    Returns ``None`` when no target effect can be formed (no MDE and a zero observed lift) or the
    inputs do not allow a plan (control value 0 for a relative MDE, undefined interval).
    """
    s = get_settings()
    arms = len(n_by_arm)
    if arms < 2 or any(not (n > 0) for n in n_by_arm):
        return None
    if mde is not None:
        target = control_value * mde if mde_type == "relative" else mde
        basis = (f"planned MDE {fmt_pct(mde, 1)} relative" if mde_type == "relative" else f"planned MDE {mde:g} absolute")
    elif observed_lift_abs:
        target = abs(observed_lift_abs)
        basis = "to confirm the observed lift"
    else:
        return None
    if not math.isfinite(target) or target == 0:
        return None
    weights = list(split) if split is not None else [n / sum(n_by_arm) for n in n_by_arm]
    try:
        if kind == "proportion" and 0 < control_value < 1 and 0 < control_value + target < 1:
            plan = sample_size(control_value, target, relative=False, alpha=s.alpha, power=s.power, arms=arms,
                               split=weights)
        else:
            lo, hi = lift_abs_ci
            level = s.ci_level if ci_level is None else ci_level
            z = -special.ndtri((1 - level) / 2)
            se = (hi - lo) / (2 * z)
            i, j = compare
            sd = se / math.sqrt(1 / n_by_arm[i] + 1 / n_by_arm[j])
            if not (math.isfinite(sd) and sd > 0 and math.isfinite(control_value)):
                return None
            plan = sample_size(control_value, target, relative=False, alpha=s.alpha, power=s.power, arms=arms,
                               split=weights, kind="mean", sd=sd)
    except WorkbenchError:  # an impossible plan (target outside (0, 1)...) means "no estimate"
        return None
    more = sum(max(0.0, need - have) for need, have in zip(plan.n_by_arm, n_by_arm))
    return UnitsNeeded(units_more=int(math.ceil(more)), n_per_arm=plan.n_per_arm, target_abs=float(target), basis=basis)
