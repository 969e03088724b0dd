"""Experiment lifecycle: briefs, the registry and its state machine, decision policies, staged rollout,
autopilot, the learning store, variant checks and the decision memo.

The usual path of an experiment::

    brief = load_brief("brief.yaml")                       # validated charter
    reg = Registry()                                       # the DuckDB registry (Paths.default().db)
    reg.create(brief, by="kim", why="approved in review")  # draft
    reg.transition(brief.id, "start", by="kim", why="go")  # running
    decision = decide(result, brief=brief)                 # one engine, policy from the brief
    reg.record_decision(decision, by="kim")
    write_memo(build_memo(result, decision, brief=brief), "memo.html")
"""

from .autopilot import AutopilotPlan, plan_autopilot, run_autopilot
from .brief import ExperimentBrief, Guardrail, Variant, load_brief, parse_brief, safe_id
from .learning import conclude, pattern_table, winning_tags
from .memo import DecisionMemo, build_memo, write_memo
from .policies import Decision, DecisionContext, DecisionPolicy, decide, evaluate, get_policy, list_policies
from .registry import ExperimentRecord, Registry
from .rollout import RolloutPlan, advance_rollout, monitor, plan_rollout, rollback, rollout_status, start_rollout
from .seed import seed_from_world
from .signals import decision_context, market_signals
from .states import STATES, TRANSITIONS, allowed_actions, next_state
from .variant_checks import check_brief_variants, check_variant, contrast_ratio

__all__ = ["ExperimentBrief", "Guardrail", "Variant", "load_brief", "parse_brief", "safe_id", "Registry",
           "ExperimentRecord", "STATES", "TRANSITIONS", "allowed_actions", "next_state", "Decision",
           "DecisionContext", "DecisionPolicy", "decide", "evaluate", "get_policy", "list_policies", "RolloutPlan",
           "plan_rollout", "monitor", "start_rollout", "advance_rollout", "rollback", "rollout_status",
           "AutopilotPlan", "plan_autopilot", "run_autopilot", "conclude", "pattern_table", "winning_tags",
           "check_variant", "check_brief_variants", "contrast_ratio", "DecisionMemo", "build_memo", "write_memo",
           "seed_from_world", "decision_context", "market_signals"]
