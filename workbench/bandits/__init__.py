"""Bandits and allocation: sticky GrowthBook-compatible assignment, policies, plans, log, simulation, replay.

- :func:`assign` / :func:`hash_keys`: deterministic bucketing of user keys (GrowthBook hash v1/v2).
- :func:`allocate`: an :class:`AllocationPlan` (weights per variant with reasons, JSON for serving)
  from per-arm counts under Thompson sampling, UCB1 or a fixed split, with an exploration floor,
  a warm-up, optional category priors and per-segment (contextual) weights.
- :func:`record_plan` / :func:`explain_decisions`: the ``allocation_log`` table ("why the bandit did this").
- :func:`allocation_history`: an experiment's logged decisions as of a time and its current allocation
  (:class:`AllocationHistory`, with ``.plot()``) — what every view shows as "allocation now".
- :func:`simulate_policies`: fixed A/B vs Thompson vs UCB on known rates, vectorised over replications.
- :func:`replay`: offline replay evaluation of a policy on logged events.
"""

from .history import AllocationHistory, allocation_history
from .hashing import Assignment, assign, bucket_ranges, gb_hash, hash_keys
from .log import explain_decisions, latest_plan, read_decisions, record_plan
from .plan import AllocationPlan, ArmDecision, allocate, plan_from_json, posterior_densities
from .policies import ArmCounts, policy_weights, prob_best
from .replay import ReplayResult, replay
from .simulate import SimulationResult, simulate_policies

__all__ = ["assign", "hash_keys", "gb_hash", "bucket_ranges", "Assignment", "allocate", "AllocationPlan",
           "ArmDecision", "plan_from_json", "posterior_densities", "ArmCounts", "policy_weights", "prob_best", "record_plan",
           "read_decisions", "explain_decisions", "latest_plan", "allocation_history", "AllocationHistory",
           "simulate_policies", "SimulationResult", "replay", "ReplayResult"]
