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

from __future__ import annotations

from ..lazy import lazy_exports


# Names are imported from their modules on first use (PEP 562), so importing one module of this
# package does not import all of them (see the README's Layout: heavy imports are lazy).
_EXPORTS = {
    "AutopilotPlan": "autopilot", "plan_autopilot": "autopilot", "run_autopilot": "autopilot",
    "ExperimentBrief": "brief", "Guardrail": "brief", "Variant": "brief", "load_brief": "brief",
    "parse_brief": "brief", "safe_id": "brief", "conclude": "learning", "pattern_table": "learning",
    "winning_tags": "learning", "DecisionMemo": "memo", "build_memo": "memo", "write_memo": "memo",
    "Decision": "policies", "DecisionContext": "policies", "DecisionPolicy": "policies", "decide": "policies",
    "evaluate": "policies", "get_policy": "policies", "list_policies": "policies", "ExperimentRecord": "registry",
    "Registry": "registry", "RolloutPlan": "rollout", "advance_rollout": "rollout", "monitor": "rollout",
    "plan_rollout": "rollout", "rollback": "rollout", "rollout_status": "rollout", "start_rollout": "rollout",
    "seed_from_world": "seed", "decision_context": "signals", "market_signals": "signals", "STATES": "states",
    "TRANSITIONS": "states", "allowed_actions": "states", "next_state": "states",
    "check_brief_variants": "variant_checks", "check_variant": "variant_checks", "contrast_ratio": "variant_checks",
}

__all__ = ["ExperimentBrief", "Guardrail", "Variant", "load_brief", "parse_brief", "safe_id", "Registry",
           "ExperimentRecord", "STATES", "TRANSITIONS", "allowed_actions", "next_state", "Decision",
           "DecisionContext", "DecisionPolicy", "decide", "evaluate", "get_policy", "list_policies", "RolloutPlan",
           "plan_rollout", "monitor", "start_rollout", "advance_rollout", "rollback", "rollout_status",
           "AutopilotPlan", "plan_autopilot", "run_autopilot", "conclude", "pattern_table", "winning_tags",
           "check_variant", "check_brief_variants", "contrast_ratio", "DecisionMemo", "build_memo", "write_memo",
           "seed_from_world", "decision_context", "market_signals"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
