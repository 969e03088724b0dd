"""Allocation plans: the weights a serving system should use next, with the reasons, as JSON.

:func:`allocate` runs a policy (:mod:`.policies`) on per-arm counts and returns an
:class:`AllocationPlan`. Its ``serving()`` JSON is what a feature-flag or serving system reads:
weights per variant, and the GrowthBook-compatible hash settings and bucket ranges
(:mod:`.hashing`), so assignment stays reproducible. Segmented (contextual) allocation runs the
policy per segment (e.g. device or channel); a segment without enough units per arm uses the
overall weights and says so.

Every plan can be written to the ``allocation_log`` table (:mod:`.log`) and read back as
"why the bandit did this".

>>> import pandas as pd
>>> counts = pd.DataFrame({"variant": ["control", "b"], "units": [1200, 1180], "conversions": [48, 71]})
>>> plan = allocate(counts, experiment_id="pdp-42", policy="thompson", seed=7, now="2026-01-01T00:00:00+00:00")
>>> plan.status, plan.weights_by_variant()["b"] > 0.9, plan.serving()["hash"]["version"]
('adaptive', True, 2)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import pandas as pd

from ..config import get_settings
from ..display import ResultMixin, dumps, fmt_pct
from ..errors import InputError, Problem
from .hashing import bucket_ranges
from .policies import ArmCounts, PolicyWeights, policy_weights

__all__ = ["ArmDecision", "AllocationPlan", "allocate", "arms_from_frame", "plan_from_json", "posterior_densities"]


@dataclass(frozen=True)
class ArmDecision(ResultMixin):
    """One arm's numbers in a plan and the reason for its weight."""

    variant: str
    units: float
    conversions: float
    posterior_alpha: float
    posterior_beta: float
    prob_best: float
    ucb: float | None
    previous_weight: float | None
    weight: float
    reason: str


@dataclass(frozen=True)
class AllocationPlan(ResultMixin):
    """Weights per variant for one experiment (and optionally per segment), with reasons.

    ``status``: ``adaptive`` (weights follow the data), ``warming_up`` (held until every arm has
    ``min_units_per_arm`` units) or ``fixed``. ``segments`` holds per-segment plans of a
    contextual allocation, keyed like ``"device=mobile"``.
    """

    decision_id: str
    experiment_id: str
    created_at: str
    policy: str
    status: str
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    arms: tuple[ArmDecision, ...]
    reasons: tuple[str, ...]
    floor: float
    min_units_per_arm: float
    seed: int
    hash_seed: str
    hash_version: int = 2
    coverage: float = 1.0
    segment: str | None = None
    segments: tuple["AllocationPlan", ...] = ()
    prior: str = "Beta(1, 1)"

    def weights_by_variant(self) -> dict[str, float]:
        return dict(zip(self.variants, self.weights))

    def ranges(self) -> list[tuple[float, float]]:
        """GrowthBook bucket ranges of these weights and coverage."""
        return bucket_ranges(len(self.variants), self.coverage, list(self.weights))

    def serving(self) -> dict[str, Any]:
        """The small JSON a serving system consumes (weights, hash settings, bucket ranges)."""
        out: dict[str, Any] = {
            "experiment_id": self.experiment_id, "decision_id": self.decision_id, "created_at": self.created_at,
            "variants": list(self.variants), "weights": self.weights_by_variant(),
            "hash": {"seed": self.hash_seed, "version": self.hash_version, "coverage": self.coverage,
                     "ranges": [list(r) for r in self.ranges()]},
        }
        if self.segments:
            out["segments"] = {s.segment: {"weights": s.weights_by_variant(),
                                           "ranges": [list(r) for r in s.ranges()]} for s in self.segments}
        return out

    def to_frame(self) -> pd.DataFrame:
        rows = [{"segment": self.segment or "(all)", **a.to_dict()} for a in self.arms]
        for s in self.segments:
            rows += [{"segment": s.segment, **a.to_dict()} for a in s.arms]
        return pd.DataFrame(rows)

    def explain(self) -> list[str]:
        """Plain sentences: why the bandit chose these weights."""
        head = f"{self.created_at} {self.experiment_id} [{self.policy}, {self.status}]"
        lines = [head + (f" segment {self.segment}" if self.segment else "") + ": " + "; ".join(self.reasons)]
        for a in self.arms:
            lines.append(f"  {a.variant}: {fmt_pct(a.weight, 1)} — {a.reason}")
        for s in self.segments:
            lines += ["  " + line for line in s.explain()]
        return lines

    def to_json(self, **kwargs: Any) -> str:
        return dumps(self, **kwargs)


def arms_from_frame(frame: pd.DataFrame, *, file: str | None = None) -> list[ArmCounts]:
    """Arms from a table with columns ``variant``, ``units`` (or ``n``) and ``conversions`` (one row per arm)."""
    df = frame.rename(columns={"n": "units"}) if "units" not in frame.columns else frame
    missing = [c for c in ("variant", "units", "conversions") if c not in df.columns]
    if missing:
        raise InputError([Problem("blocked", "missing_column", f"missing column {c!r}; expected variant, units, "
                                  "conversions", file=file, column=c) for c in missing])
    problems = []
    out = []
    for i, row in enumerate(df.itertuples(index=False), start=1):
        u = pd.to_numeric(pd.Series([row.units]), errors="coerce").iloc[0]
        c = pd.to_numeric(pd.Series([row.conversions]), errors="coerce").iloc[0]
        if pd.isna(u):
            problems.append(Problem("blocked", "not_a_number", "units must be a number", file=file, row=i,
                                    column="units", value=row.units))
        if pd.isna(c):
            problems.append(Problem("blocked", "not_a_number", "conversions must be a number", file=file, row=i,
                                    column="conversions", value=row.conversions))
        out.append(ArmCounts(str(row.variant), float(u), float(c)))
    if problems:
        raise InputError(problems)
    if df["variant"].duplicated().any():
        dup = df["variant"][df["variant"].duplicated()].iloc[0]
        raise InputError([Problem("blocked", "duplicate_variant", "one row per variant expected (sum segments first "
                                  "or use segment_by)", file=file, column="variant", value=dup)])
    return out


def _decision_id(experiment_id: str, created_at: str, weights: Sequence[float], segment: str | None) -> str:
    text = dumps([experiment_id, created_at, list(weights), segment])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plan(arms: Sequence[ArmCounts], pw: PolicyWeights, *, experiment_id: str, created_at: str, policy: str,
          floor: float, min_units: float, seed: int, hash_seed: str, hash_version: int, coverage: float,
          previous: Sequence[float] | None, segment: str | None, prior: str) -> AllocationPlan:
    decisions = tuple(ArmDecision(
        variant=a.variant, units=a.units, conversions=a.conversions, posterior_alpha=pw.posterior_alpha[i],
        posterior_beta=pw.posterior_beta[i], prob_best=pw.prob_best[i],
        ucb=(pw.ucb[i] if policy == "ucb" and pw.ucb else None),
        previous_weight=None if previous is None else float(previous[i]), weight=pw.weights[i],
        reason=pw.arm_reasons[i]) for i, a in enumerate(arms))
    return AllocationPlan(decision_id=_decision_id(experiment_id, created_at, pw.weights, segment),
                          experiment_id=experiment_id, created_at=created_at, policy=policy, status=pw.status,
                          variants=pw.variants, weights=pw.weights, arms=decisions, reasons=pw.reasons, floor=floor,
                          min_units_per_arm=min_units, seed=seed, hash_seed=hash_seed, hash_version=hash_version,
                          coverage=coverage, segment=segment, prior=prior)


def _previous_weights(previous: "AllocationPlan | Mapping[str, float] | None", variants: Sequence[str],
                      segment: str | None = None) -> list[float] | None:
    if previous is None:
        return None
    if isinstance(previous, AllocationPlan):
        source = previous
        if segment is not None:
            for s in previous.segments:
                if s.segment == segment:
                    source = s
        mapping = source.weights_by_variant()
    else:
        mapping = dict(previous)
    if set(mapping) != set(variants):
        raise InputError([Problem("blocked", "previous_mismatch", "the previous plan's variants "
                                  f"{sorted(mapping)} differ from the data's {sorted(variants)}", column="variant")])
    return [float(mapping[v]) for v in variants]


def allocate(counts: pd.DataFrame | Sequence[ArmCounts], *, experiment_id: str, policy: str = "thompson",
             floor: float | None = None, min_units: float | None = None,
             previous: "AllocationPlan | Mapping[str, float] | None" = None,
             fixed_weights: Sequence[float] | None = None, prior: tuple[float, float] | None = None,
             segment_by: str | None = None, seed: int | None = None, hash_seed: str | None = None,
             hash_version: int = 2, coverage: float = 1.0, now: str | dt.datetime | None = None,
             file: str | None = None) -> AllocationPlan:
    """Allocation plan for one experiment from per-arm (optionally per-segment) counts.

    ``prior`` is a Beta(a, b) for every arm's conversion rate (e.g. a category prior from
    :func:`workbench.hierarchical.category_beta_priors` for a cold start); default Beta(1, 1).
    ``segment_by`` names a column (device, channel...) for contextual Thompson sampling: one plan
    per segment, inside the overall plan. ``floor`` and ``min_units`` default to
    ``Settings.bandit``. ``now`` fixes the timestamp (for reproducible plans).
    """
    settings = get_settings().bandit
    floor = settings.min_exploration_share if floor is None else float(floor)
    min_units = settings.min_units_per_arm if min_units is None else float(min_units)
    seed = get_settings().seed if seed is None else int(seed)
    created = (now.isoformat() if isinstance(now, dt.datetime) else now) or \
        dt.datetime.now(dt.timezone.utc).isoformat()   # microseconds: two calls in one second are two decisions
    hash_seed = hash_seed or experiment_id
    prior_text = f"Beta({prior[0]:g}, {prior[1]:g})" if prior else "Beta(1, 1)"
    common = dict(experiment_id=experiment_id, created_at=created, policy=policy, floor=floor, min_units=min_units,
                  seed=seed, hash_seed=hash_seed, hash_version=hash_version, coverage=coverage, prior=prior_text)
    if isinstance(counts, pd.DataFrame):
        frame = counts.rename(columns={"n": "units"}) if "units" not in counts.columns else counts
        if segment_by is not None and segment_by not in frame.columns:
            raise InputError([Problem("blocked", "missing_column", f"no column {segment_by!r} to segment by",
                                      file=file, column=segment_by)])
        overall_frame = (frame.groupby("variant", sort=False, as_index=False)[["units", "conversions"]].sum()
                         if segment_by is not None or frame["variant"].duplicated().any() else frame)
        arms = arms_from_frame(overall_frame, file=file)
    else:
        frame = None
        arms = list(counts)
        if segment_by is not None:
            raise InputError([Problem("blocked", "bad_input", "segment_by needs a table with a segment column")])
    variants = [a.variant for a in arms]
    priors = [prior] * len(arms) if prior else None
    prev = _previous_weights(previous, variants)
    pw = policy_weights(arms, policy, floor=floor, min_units=min_units, previous=prev, fixed=fixed_weights,
                        prior=priors, draws=settings.prob_best_draws, seed=seed)
    plan = _plan(arms, pw, previous=prev, segment=None, **common)
    if segment_by is None or frame is None:
        return plan
    segs = []
    for j, (level, part) in enumerate(frame.groupby(segment_by, sort=True)):
        name = f"{segment_by}={level}"
        part = part.set_index("variant").reindex(variants, fill_value=0).reset_index()
        seg_arms = arms_from_frame(part[["variant", "units", "conversions"]], file=file)
        seg_prev = _previous_weights(previous, variants, name) if isinstance(previous, AllocationPlan) else prev
        spw = policy_weights(seg_arms, policy, floor=floor, min_units=min_units,
                             previous=seg_prev if seg_prev is not None else list(plan.weights),
                             fixed=fixed_weights, prior=priors, draws=settings.prob_best_draws, seed=seed + 1 + j)
        if spw.status == "warming_up" and seg_prev is None:
            spw = replace(spw, reasons=spw.reasons + ("too little data in this segment: it uses the overall weights",))
        segs.append(_plan(seg_arms, spw, previous=seg_prev, segment=name, **common))
    return replace(plan, segments=tuple(segs))


def plan_from_json(text: str) -> AllocationPlan:
    """Read back a plan written by ``AllocationPlan.to_json()`` (e.g. the previous plan)."""
    import json

    def build(d: Mapping[str, Any]) -> AllocationPlan:
        d = dict(d)
        d["arms"] = tuple(ArmDecision(**a) for a in d["arms"])
        d["segments"] = tuple(build(s) for s in d.get("segments", []))
        for k in ("variants", "weights", "reasons"):
            d[k] = tuple(d[k])
        return AllocationPlan(**d)

    try:
        return build(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError([Problem("blocked", "bad_plan", f"not an allocation plan written by the workbench: {exc}")]) \
            from None


def posterior_densities(plan: AllocationPlan, *, points: int = 400) -> pd.DataFrame:
    """Beta posterior density of each arm's conversion rate on a common grid (for charts).

    >>> import pandas as pd
    >>> plan = allocate(pd.DataFrame({"variant": ["a", "b"], "units": [500, 500], "conversions": [20, 30]}),
    ...                 experiment_id="e", seed=1, now="2026-01-01T00:00:00+00:00")
    >>> d = posterior_densities(plan, points=50)
    >>> sorted(d.variant.unique()), bool(d.density.max() > 0)
    (['a', 'b'], True)
    """
    from ..stats.bayes import beta_density_grid

    d = beta_density_grid([arm.posterior_alpha for arm in plan.arms], [arm.posterior_beta for arm in plan.arms],
                          [arm.variant for arm in plan.arms], points=points, tail=0.0005)
    return d.rename(columns={"name": "variant", "x": "rate"})[["variant", "rate", "density"]]
