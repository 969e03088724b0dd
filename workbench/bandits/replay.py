"""Offline replay evaluation: how a policy would have done on logged events, without deploying it.

The replay method of Li, Chu, Langford & Wang (2011): walk through the log in time order; at each
logged event the policy picks an arm from what it has learnt so far; if it matches the arm that
was actually served, the event counts (the policy sees its outcome and learns), otherwise it is
skipped. When the log was served uniformly at random, the accepted events are an unbiased sample
of what the policy would have experienced. When the log carries each event's ``propensity``
(the probability the logging system served that arm), a matching event is kept with probability
``min_propensity / propensity``, which restores the uniform case.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> arms = rng.integers(0, 2, 20000); rates = np.array([0.04, 0.08])
>>> log = pd.DataFrame({"variant": np.array(["a", "b"])[arms], "reward": rng.random(20000) < rates[arms]})
>>> r = replay(log, "thompson", seed=1, floor=0.0, min_units=0)
>>> r.accepted > 5000, r.reward_rate > 0.07
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..config import get_settings
from ..display import ResultMixin
from ..errors import InputError, Problem
from .simulate import SIM_POLICIES, _choose, _observe, _seed_state, _uniform

__all__ = ["ReplayResult", "replay"]


@numba.njit(cache=True)
def _replay(arms: NDArray, rewards: NDArray, keep: NDArray, k: int, code: int, floor: float, min_units: float,
            prior_a: float, prior_b: float, weights: NDArray, batch: int, seed: int) -> tuple[NDArray, NDArray]:
    st = _seed_state(seed)
    s = np.zeros(k)
    f = np.zeros(k)
    n = np.zeros(k)
    ps = np.zeros(k)
    pf = np.zeros(k)
    cum_w = np.cumsum(weights / weights.sum())
    accepted = 0
    since = 0
    for e in range(arms.shape[0]):
        arm = _choose(code, k, s, f, n, prior_a, prior_b, cum_w, floor, min_units, st)
        if arm == arms[e] and _uniform(st) < keep[e]:
            accepted += 1
            since = _observe(arm, rewards[e] > 0, s, f, n, ps, pf, since, batch)
    return s + ps, s + ps + f + pf


@dataclass(frozen=True)
class ReplayResult(ResultMixin):
    """What the policy would have earned on the accepted events, with a normal-approximation interval."""

    policy: str
    events: int
    accepted: int
    reward_rate: float
    reward_rate_ci: tuple[float, float]
    logged_rate: float
    variants: tuple[str, ...]
    accepted_per_arm: tuple[float, ...]
    reward_per_arm: tuple[float, ...]

    @property
    def lift_vs_log(self) -> float:
        """Relative difference of the policy's reward rate from the log's own."""
        return self.reward_rate / self.logged_rate - 1 if self.logged_rate else float("nan")


def replay(events: pd.DataFrame, policy: str = "thompson", *, variant_column: str = "variant",
           reward_column: str = "reward", propensity_column: str | None = "propensity",
           floor: float | None = None, min_units: float | None = None, prior: tuple[float, float] = (1.0, 1.0),
           weights: list[float] | None = None, batch: int = 1, seed: int | None = None,
           level: float | None = None) -> ReplayResult:
    """Replay ``policy`` ("thompson", "ucb" or "ab") on a time-ordered event log (see module docstring).

    ``events`` has one row per served unit: the arm (``variant_column``), the 0/1 outcome
    (``reward_column``) and optionally the serving ``propensity``. The interval's ``level``
    defaults to ``Settings.ci_level``.
    """
    from scipy.stats import norm

    settings = get_settings()
    floor = settings.bandit.min_exploration_share if floor is None else float(floor)
    min_units = settings.bandit.min_units_per_arm if min_units is None else float(min_units)
    seed = settings.seed if seed is None else int(seed)
    level = settings.ci_level if level is None else float(level)
    problems = []
    for col in (variant_column, reward_column):
        if col not in events.columns:
            problems.append(Problem("blocked", "missing_column", f"missing column {col!r}", column=col))
    if policy not in SIM_POLICIES:
        problems.append(Problem("blocked", "bad_policy", f"policy must be one of {', '.join(SIM_POLICIES)}",
                                column="policy", value=policy))
    if problems:
        raise InputError(problems)
    reward = pd.to_numeric(events[reward_column], errors="coerce").astype(float).to_numpy()
    bad = np.flatnonzero(~np.isin(reward, [0.0, 1.0]))
    if bad.size:
        raise InputError([Problem("blocked", "bad_reward", "rewards must be 0 or 1", row=int(bad[0]) + 1,
                                  column=reward_column, value=events[reward_column].iloc[bad[0]])])
    codes, variants = pd.factorize(events[variant_column].astype(str), sort=True)
    k = len(variants)
    if k < 2:
        raise InputError([Problem("blocked", "too_few_arms", "the log must contain at least two arms",
                                  column=variant_column)])
    if propensity_column and propensity_column in events.columns:
        prop = pd.to_numeric(events[propensity_column], errors="coerce").to_numpy(dtype=float)
        if not np.all((prop > 0) & (prop <= 1)):
            i = int(np.flatnonzero(~((prop > 0) & (prop <= 1)))[0])
            raise InputError([Problem("blocked", "bad_propensity", "propensities must be in (0, 1]", row=i + 1,
                                      column=propensity_column, value=prop[i])])
        keep = prop.min() / prop
    else:
        keep = np.ones(len(events))
    w = np.asarray(weights if weights is not None else [1.0 / k] * k, dtype=float)
    succ, n = _replay(codes.astype(np.int64), reward, keep, k, SIM_POLICIES[policy], floor, min_units,
                      float(prior[0]), float(prior[1]), w, int(batch), seed)
    accepted = int(n.sum())
    rate = float(succ.sum() / accepted) if accepted else float("nan")
    half = norm.ppf(0.5 + level / 2) * np.sqrt(rate * (1 - rate) / accepted) if accepted else float("nan")
    return ReplayResult(policy=policy, events=len(events), accepted=accepted, reward_rate=rate,
                        reward_rate_ci=(rate - half, rate + half), logged_rate=float(reward.mean()),
                        variants=tuple(str(v) for v in variants), accepted_per_arm=tuple(n.tolist()),
                        reward_per_arm=tuple(succ.tolist()))
