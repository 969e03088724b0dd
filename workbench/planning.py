"""Power from history: sample size, MDE and duration from an experiment's own data.

``workbench plan -e ID [--metric NAME]`` reads what the formula-based plan has to be told: the
control's **baseline** value of the metric and its per-unit **variance** (for a ratio metric, the
variance of its delta-method linearisation), the **CUPED-adjusted variance** ``σ²(1 − ρ²)`` where
``ρ²`` is the share of variance the pre-period covariate explains (the pooled-θ CUPED of the
analysis, :mod:`workbench.stats.cuped`), and the **daily traffic** (new units per full day, all
arms). With the brief's MDE, arms and split (or ``--mde``), :func:`workbench.stats.power.sample_size`
gives the units per arm and the duration, once with the plain variance and once with the CUPED
one; :func:`workbench.stats.power.mde` gives the smallest lift detectable within the brief's
maximum duration. Both use the normal approximation with the measured per-unit standard deviation
in both arms (``kind="mean"``; for a proportion that is ``sqrt(p(1−p))`` as measured), which is
``statsmodels.stats.power.NormalIndPower`` with effect size ``δ/σ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .display import ResultMixin, fmt_count, fmt_lift, fmt_share
from .errors import InputError, Problem

__all__ = ["HistoryPlan", "plan_from_data"]


@dataclass(frozen=True)
class HistoryPlan(ResultMixin):
    """A plan whose inputs were measured on an experiment's data (see the module docstring)."""

    experiment_id: str
    metric: str
    kind: str
    unit: str
    baseline: float
    sd: float
    sd_cuped: float | None          # None when the metric has no pre-period covariate
    variance_reduction: float       # ρ²: 1 − σ²_cuped / σ²
    daily_units: float | None       # new units per full day, all arms
    arms: int
    split: tuple[float, ...]
    alpha: float
    power: float
    mde_abs: float | None           # the lift to detect (None: neither the brief nor --mde gives one)
    mde_rel: float | None
    mde_source: str                 # "the brief" or "given"; "" without an MDE
    n_per_arm: int | None
    n_total: int | None
    days: int | None
    n_per_arm_cuped: int | None
    n_total_cuped: int | None
    days_cuped: int | None
    max_duration_days: int | None
    mde_at_max_abs: float | None    # smallest detectable lift within max_duration_days (plain / CUPED)
    mde_at_max_cuped_abs: float | None
    min_sample_size: int | None = None      # the brief's units per arm, and what they can detect
    days_to_min_sample: int | None = None
    mde_at_min_sample_abs: float | None = None
    mde_at_min_sample_cuped_abs: float | None = None

    def summary(self) -> str:
        """One paragraph for people (counts, shares and lifts through the display layer)."""
        from .metrics import fmt_metric_delta, fmt_metric_value
        def d(x: float | None) -> str:
            return fmt_metric_delta(self.metric, self.kind, x, self.unit)
        lines = [f"{self.metric} on {self.experiment_id}: baseline {fmt_metric_value(self.metric, self.kind, self.baseline, self.unit)}, "
                 f"per-unit sd {fmt_metric_value(self.metric, self.kind, self.sd, self.unit)}"
                 + (f", CUPED sd {fmt_metric_value(self.metric, self.kind, self.sd_cuped, self.unit)} (the pre-period "
                    f"covariate explains {fmt_share(self.variance_reduction)} of the variance)" if self.sd_cuped else "")
                 + (f", {fmt_count(self.daily_units)} new units a day" if self.daily_units else "") + "."]
        if self.n_per_arm is not None:
            lines.append(f"To detect {d(self.mde_abs)} ({fmt_lift(self.mde_rel)}, MDE {self.mde_source}) at "
                         f"{fmt_share(self.power)} power: {fmt_count(self.n_per_arm)} units per arm" +
                         (f", about {fmt_count(self.days)} days" if self.days is not None else "") + ".")
        if self.n_per_arm_cuped is not None:
            lines.append(f"With CUPED: {fmt_count(self.n_per_arm_cuped)} units per arm" +
                         (f", about {fmt_count(self.days_cuped)} days" if self.days_cuped is not None else "") + ".")
        if self.mde_at_min_sample_abs is not None:
            lines.append(f"The brief's {fmt_count(self.min_sample_size)} units per arm" +
                         (f" (about {fmt_count(self.days_to_min_sample)} days)" if self.days_to_min_sample else "") +
                         f" detect {d(self.mde_at_min_sample_abs)}" +
                         (f" ({d(self.mde_at_min_sample_cuped_abs)} with CUPED)"
                          if self.mde_at_min_sample_cuped_abs is not None else "") + ".")
        if self.mde_at_max_abs is not None and self.max_duration_days:
            lines.append(f"Within the maximum duration ({fmt_count(self.max_duration_days)} days) the smallest detectable "
                         f"lift is {d(self.mde_at_max_abs)}" + (f" ({d(self.mde_at_max_cuped_abs)} with CUPED)"
                          if self.mde_at_max_cuped_abs is not None else "") + ".")
        return "\n".join(lines)


def _bad(message: str, **where: Any) -> InputError:
    return InputError([Problem("blocked", "bad_plan", message, **where)])


def plan_from_data(data: Any, *, metric: str | None = None, brief: Any = None, mde: float | None = None,
                   relative: bool | None = None, alpha: float | None = None, power: float | None = None,
                   arms: int | None = None, split: Sequence[float] | None = None,
                   max_duration_days: int | None = None) -> HistoryPlan:
    """Plan from ``data`` (an :class:`~workbench.experiment_data.ExperimentData`) as the brief says.

    ``metric`` defaults to the brief's primary metric, else the data's primary. The MDE, arms, split
    and maximum duration come from the brief unless given.
    """
    from .config import get_settings
    from .stats.compare import compare_arrays
    from .stats.cuped import cuped_means_core, cuped_ratio_core
    from .stats.power import mde as mde_for, sample_size
    settings = get_settings()
    name = metric or (brief.primary_metric if brief is not None else None) or \
        (data.primary.name if data.primary is not None else None)
    if name is None:
        raise _bad("no metric to plan for: give --metric", column="metric")
    m = data.metric(name)
    stats = data.stats(m, use_covariate=True)
    if float(stats.n[0]) < 2:
        raise _bad("the control has fewer than 2 units: nothing to measure the variance on", column="n",
                   value=float(stats.n[0]))
    with np.errstate(all="ignore"):
        arr = compare_arrays(m.kind, stats, cuped=True, bayes=False)
        c = cuped_ratio_core(stats) if m.kind == "ratio" else cuped_means_core(stats)
    baseline = float(arr.get("raw_control_value", arr["control_value"])[0])
    sd = math.sqrt(float(c.raw_var[0]))
    applied = bool(np.all(c.applied))
    sd_cuped = math.sqrt(float(c.var[0])) if applied else None
    if not (math.isfinite(baseline) and math.isfinite(sd) and sd > 0):
        raise _bad(f"cannot measure {name}'s baseline and variance on the control (baseline {baseline:g}, sd {sd:g})",
                   column=name)
    reduction = 1.0 - (sd_cuped / sd) ** 2 if sd_cuped is not None else 0.0
    if mde is None and brief is not None and brief.mde is not None:
        mde, rel, source = float(brief.mde), brief.mde_type == "relative", "from the brief"
    else:
        rel, source = (True if relative is None else relative), "given" if mde is not None else ""
    k = arms or (len(brief.variants) if brief is not None else len(data.variants))
    w = split or (brief.expected_split if brief is not None and brief.expected_split else None)
    a = alpha if alpha is not None else settings.alpha
    pw = power if power is not None else settings.power
    per_day = data.units_per_day(full_days_only=True)
    daily = float(per_day.mean()) if per_day.size else None
    kw = dict(relative=rel, alpha=a, power=pw, arms=k, split=w, kind="mean", daily_units=daily)
    plain = sample_size(baseline, mde, sd=sd, **kw) if mde is not None else None  # type: ignore[arg-type]
    cup = sample_size(baseline, mde, sd=sd_cuped, **kw) if sd_cuped and mde is not None else None  # type: ignore[arg-type]
    max_days = max_duration_days or (brief.max_duration_days if brief is not None else None)
    common = dict(alpha=a, power=pw, arms=k, split=w, kind="mean")

    def detectable(total: float | None) -> tuple[float | None, float | None]:
        if not total:
            return None, None
        p = mde_for(baseline, n_total=total, sd=sd, **common).mde_abs  # type: ignore[arg-type]
        c_ = mde_for(baseline, n_total=total, sd=sd_cuped, **common).mde_abs if sd_cuped else None  # type: ignore[arg-type]
        return p, c_
    at_max, at_max_c = detectable(daily * max_days if max_days and daily else None)
    min_n = brief.min_sample_size if brief is not None else None
    at_min, at_min_c = detectable(float(min_n) * k if min_n else None)
    if plain is None and at_max is None and at_min is None:
        raise _bad("nothing to plan: give --mde (the brief gives no mde, minimum sample size or duration)", column="mde")
    return HistoryPlan(experiment_id=data.experiment_id, metric=name, kind=m.kind, unit=m.unit, baseline=baseline,
                       sd=sd, sd_cuped=sd_cuped, variance_reduction=reduction, daily_units=daily, arms=k,
                       split=tuple(float(x) / sum(w) for x in w) if w else tuple([1.0 / k] * k), alpha=a, power=pw,
                       mde_abs=plain.mde_abs if plain else None, mde_rel=plain.mde_rel if plain else None,
                       mde_source=source, n_per_arm=plain.n_per_arm if plain else None,
                       n_total=plain.n_total if plain else None, days=plain.days if plain else None,
                       n_per_arm_cuped=cup.n_per_arm if cup else None, n_total_cuped=cup.n_total if cup else None,
                       days_cuped=cup.days if cup else None, max_duration_days=max_days, mde_at_max_abs=at_max,
                       mde_at_max_cuped_abs=at_max_c, min_sample_size=min_n,
                       days_to_min_sample=math.ceil(min_n * k / daily) if min_n and daily else None,
                       mde_at_min_sample_abs=at_min, mde_at_min_sample_cuped_abs=at_min_c)
