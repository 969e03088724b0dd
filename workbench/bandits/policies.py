"""Allocation policies: Thompson sampling, UCB1 and fixed splits, with an exploration floor.

A policy turns each arm's units and conversions into traffic weights. Rules shared by all:

- **exploration floor**: every arm keeps at least ``floor`` of the traffic
  (``Settings.bandit.min_exploration_share``, 5 %): ``weight = floor + (1 − K·floor) · raw``;
- **warm-up**: weights move only once every arm has ``min_units`` units
  (``Settings.bandit.min_units_per_arm``); before that the previous plan's weights (or an equal
  split) stay, and the plan says which arm is short;
- **Thompson sampling**: ``raw`` = the probability that each arm is best under its posterior
  Beta(a + conversions, b + units − conversions), with a = b = 1 or a category prior from the
  empirical-Bayes fast path for cold start (Monte Carlo with a fixed seed);
- **UCB1**: ``raw`` puts all movable traffic on the arm with the largest
  mean + sqrt(2 · ln(total units) / units) (ties share it);
- **fixed**: ``raw`` = the given weights (an A/B test).

>>> arms = [ArmCounts("control", 1000, 40), ArmCounts("b", 1000, 60)]
>>> w = policy_weights(arms, "thompson", floor=0.05, min_units=100, seed=1)
>>> w.status, [round(x, 3) for x in w.weights], w.weights[0] >= 0.05
('adaptive', [0.069, 0.931], True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
from numpy.typing import NDArray

from ..display import fmt_num, fmt_pp, fmt_prob, fmt_rate, fmt_share, fmt_weight
from ..errors import InputError, Problem

__all__ = ["ArmCounts", "PolicyName", "POLICIES", "PolicyWeights", "prob_best", "ucb1_index", "apply_floor",
           "policy_weights"]

PolicyName = Literal["thompson", "ucb", "fixed"]
POLICIES: tuple[str, ...] = ("thompson", "ucb", "fixed")


@dataclass(frozen=True)
class ArmCounts:
    """Units (users, or sessions) exposed to an arm and how many converted."""

    variant: str
    units: float
    conversions: float


@dataclass(frozen=True)
class PolicyWeights:
    """Weights per arm and why: ``raw`` before the floor, ``status`` adaptive / warming_up / fixed."""

    variants: tuple[str, ...]
    weights: tuple[float, ...]
    raw: tuple[float, ...]
    status: str
    reasons: tuple[str, ...]
    arm_reasons: tuple[str, ...]
    posterior_alpha: tuple[float, ...]
    posterior_beta: tuple[float, ...]
    prob_best: tuple[float, ...]
    ucb: tuple[float, ...] = ()
    extra: dict[str, float] = field(default_factory=dict)


def prob_best(alpha: NDArray[np.float64], beta: NDArray[np.float64], *, draws: int = 20000,
              seed: int = 0) -> NDArray[np.float64]:
    """P(arm is best) for Beta(alpha, beta) posteriors (arms on the last axis), by Monte Carlo.

    >>> prob_best(np.array([41.0, 61.0]), np.array([961.0, 941.0]), seed=0).round(2).tolist()
    [0.02, 0.98]
    """
    alpha = np.asarray(alpha, dtype=float)
    beta = np.asarray(beta, dtype=float)
    rng = np.random.default_rng(seed)
    samples = rng.beta(alpha, beta, size=(draws,) + alpha.shape)
    best = samples.argmax(axis=-1)
    k = alpha.shape[-1]
    counts = np.stack([(best == i).mean(axis=0) for i in range(k)], axis=-1)
    return counts


def ucb1_index(units: NDArray[np.float64], conversions: NDArray[np.float64]) -> NDArray[np.float64]:
    """UCB1 index mean + sqrt(2 ln N / n) (Auer et al. 2002); +inf for an arm without units."""
    units = np.asarray(units, dtype=float)
    conversions = np.asarray(conversions, dtype=float)
    total = units.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        idx = conversions / units + np.sqrt(2.0 * math.log(max(total, 1.0)) / units)
    return np.where(units > 0, idx, np.inf)


def apply_floor(raw: Sequence[float], floor: float) -> NDArray[np.float64]:
    """Weights with every arm at least ``floor``: floor + (1 − K·floor) · raw (raw sums to 1)."""
    raw = np.asarray(raw, dtype=float)
    raw = raw / raw.sum()
    return floor + (1.0 - raw.size * floor) * raw


def _validate(arms: Sequence[ArmCounts], policy: str, floor: float, fixed: Sequence[float] | None,
              prior: Sequence[tuple[float, float]] | None) -> None:
    problems: list[Problem] = []
    if policy not in POLICIES:
        problems.append(Problem("blocked", "bad_policy", f"policy must be one of {', '.join(POLICIES)}",
                                column="policy", value=policy))
    if len(arms) < 2:
        problems.append(Problem("blocked", "too_few_arms", "an allocation needs at least two arms"))
    names = [a.variant for a in arms]
    if len(set(names)) != len(names):
        problems.append(Problem("blocked", "duplicate_variant", "variant names must be unique", column="variant"))
    for i, a in enumerate(arms, start=1):
        if not (math.isfinite(a.units) and a.units >= 0):
            problems.append(Problem("blocked", "bad_units", "units must be >= 0", row=i, column="units", value=a.units))
        if not (math.isfinite(a.conversions) and a.conversions >= 0):
            problems.append(Problem("blocked", "bad_conversions", "conversions must be >= 0", row=i,
                                    column="conversions", value=a.conversions))
        elif a.conversions > a.units:
            problems.append(Problem("blocked", "conversions_above_units",
                                    f"conversions ({a.conversions:g}) exceed units ({a.units:g})", row=i,
                                    column="conversions", value=a.conversions))
    if not (0 <= floor and floor * max(len(arms), 1) <= 1):
        problems.append(Problem("blocked", "bad_floor", f"exploration floor × {len(arms)} arms must be <= 1",
                                column="floor", value=floor))
    if fixed is not None and (len(fixed) != len(arms) or any(w < 0 for w in fixed) or sum(fixed) <= 0):
        problems.append(Problem("blocked", "bad_weights", "fixed weights need one non-negative weight per arm",
                                column="weights", value=list(fixed)))
    if prior is not None and (len(prior) != len(arms) or any(a <= 0 or b <= 0 for a, b in prior)):
        problems.append(Problem("blocked", "bad_prior", "prior needs a positive Beta(a, b) per arm", column="prior"))
    if problems:
        raise InputError(problems)


def policy_weights(arms: Sequence[ArmCounts], policy: str = "thompson", *, floor: float = 0.05,
                   min_units: float = 100, previous: Sequence[float] | None = None,
                   fixed: Sequence[float] | None = None, prior: Sequence[tuple[float, float]] | None = None,
                   draws: int = 20000, seed: int = 0) -> PolicyWeights:
    """Traffic weights for ``arms`` under ``policy`` (see the module docstring for the rules)."""
    _validate(arms, policy, floor, fixed, prior)
    k = len(arms)
    names = tuple(a.variant for a in arms)
    units = np.array([a.units for a in arms], dtype=float)
    conv = np.array([a.conversions for a in arms], dtype=float)
    pri = np.array(prior if prior is not None else [(1.0, 1.0)] * k, dtype=float)
    alpha, beta = pri[:, 0] + conv, pri[:, 1] + units - conv
    pb = prob_best(alpha, beta, draws=draws, seed=seed)
    ucb = ucb1_index(units, conv)
    arm_reasons: list[str] = []
    reasons: list[str] = []
    if policy == "fixed":
        raw = np.asarray(fixed if fixed is not None else [1.0 / k] * k, dtype=float)
        raw = raw / raw.sum()
        weights = raw
        status = "fixed"
        reasons.append("fixed split: weights do not depend on the data")
        arm_reasons = [f"fixed weight {fmt_weight(w)}" for w in weights]
        return PolicyWeights(names, tuple(weights.tolist()), tuple(raw.tolist()), status, tuple(reasons),
                             tuple(arm_reasons), tuple(alpha.tolist()), tuple(beta.tolist()), tuple(pb.tolist()),
                             tuple(ucb.tolist()))
    short = [a.variant for a in arms if a.units < min_units]
    if short:
        base = np.asarray(previous if previous is not None else [1.0 / k] * k, dtype=float)
        weights = base / base.sum()
        status = "warming_up"
        reasons.append(f"weights held until every arm has {min_units:g} units; short: "
                       + ", ".join(f"{a.variant} ({a.units:g})" for a in arms if a.units < min_units))
        arm_reasons = [f"held at {fmt_weight(w)} ({'previous plan' if previous is not None else 'equal split'}); "
                       + (f"only {u:g} of {min_units:g} units" if u < min_units else f"{u:g} units")
                       for w, u in zip(weights, units)]
        return PolicyWeights(names, tuple(weights.tolist()), tuple(weights.tolist()), status, tuple(reasons),
                             tuple(arm_reasons), tuple(alpha.tolist()), tuple(beta.tolist()), tuple(pb.tolist()),
                             tuple(ucb.tolist()))
    if policy == "thompson":
        raw = pb
        reasons.append("Thompson sampling: traffic proportional to each arm's probability of being best "
                       f"(Beta posteriors, {draws} draws, seed {seed})")
    else:
        top = ucb == ucb.max()
        raw = top / top.sum()
        reasons.append("UCB1: movable traffic to the arm with the highest mean + sqrt(2 ln N / n)")
    weights = apply_floor(raw, floor)
    if floor > 0:
        reasons.append(f"every arm keeps at least {fmt_share(floor)} of traffic (exploration floor)")
    means = alpha / (alpha + beta)
    for i, a in enumerate(arms):
        bits = [f"posterior mean {fmt_rate(means[i])}", f"P(best) {fmt_prob(pb[i])}"]
        if policy == "ucb":
            bits.append(f"UCB {fmt_num(ucb[i], 4)}")
        if weights[i] <= floor + 1e-12 and floor > 0:
            bits.append("at the exploration floor")
        if previous is not None:
            change = weights[i] - float(np.asarray(previous, dtype=float)[i] / np.sum(previous))
            bits.append(f"{'up' if change >= 0 else 'down'} {fmt_pp(abs(change))[1:]} from the previous plan")
        arm_reasons.append("; ".join(bits))
    return PolicyWeights(names, tuple(weights.tolist()), tuple(np.asarray(raw, float).tolist()), "adaptive",
                         tuple(reasons), tuple(arm_reasons), tuple(alpha.tolist()), tuple(beta.tolist()),
                         tuple(pb.tolist()), tuple(ucb.tolist()))
