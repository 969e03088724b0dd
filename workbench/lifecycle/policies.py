"""Decision policies as data, evaluated by one engine that returns an action and every reason.

A policy is a YAML file: an ordered list of **rules**, each a set of conditions on named **facts**
and the action to take when they all hold, plus a **default** for when none does. The engine
(:func:`evaluate`) turns an :class:`~workbench.results.AnalysisResult`, the experiment's brief and
what is known about its surroundings (:class:`DecisionContext`: how long it has run, stock and
price moves, the promotion-period switch) into facts (:func:`compute_facts`), checks every rule,
and returns a :class:`Decision`: the action of the first rule that holds, its one-line reason, the
reasons of every other rule that also holds, and the facts themselves, so the decision can be
explained and recorded.

Rule syntax::

    - id: significant-launch
      when: {primary_significant: true, guardrails_worsened: 0}      # fact: value means "equals"
      action: launch                                                    # launch|promote|hold|rollback|keep_testing|stop
      reason: "Launch {best_variant}: {primary} {primary_lift_rel:+pct} (p = {primary_p:p})"
    - id: enough-evidence
      when: {prob_beat_control: {ge: $prob_threshold}}                  # ops: eq ne lt le gt ge in; $name = a param
    - include: trust-checks                                             # splice another rule set here

Reasons are ``str.format`` templates over the facts and params, with extra format specs ``p``
(p-value), ``pct``/``+pct`` (percent, signed), ``prob`` (a probability, as the result tiles show it: ``97.0%``,
``>99.9%``), ``share`` (a threshold or traffic share: ``95%``, ``0.5%``) and ``n`` (a count). A fact that is unknown
(``None``) makes every comparison on it false. Presets live in ``workbench/presets``; a YAML file
of the same name in the user's policy directory (``lifecycle.policy_dir`` under ``WORKBENCH_HOME``,
or ``WORKBENCH_POLICIES``) replaces a preset, and new names add policies.

>>> policy = get_policy("decision-layer")
>>> [r.id for r in policy.rules][:3]
['health-blocked', 'srm-warning', 'no-primary']
>>> sorted(list_policies())[:3]
['bayesian-promotion', 'decision-layer', 'model-promotion']
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..config import get_settings
from ..display import ResultMixin, fmt_num, fmt_p, fmt_pct, fmt_prob, fmt_share, p_in_text
from ..results import AnalysisResult
from .brief import ExperimentBrief
from .facts import FACTS, DecisionContext, compute_facts
from .policy_model import (ACTION_TONE, ACTIONS, Condition, DecisionAction, DecisionPolicy, Rule, find_preset,
                           get_policy, list_policies, load_policy, policy_dirs)
from .reasons import CLAIMS, covered_findings, false_claims

__all__ = ["DecisionAction", "ACTIONS", "ACTION_TONE", "Condition", "Rule", "DecisionPolicy", "DecisionContext", "Decision",
           "RuleCheck", "get_policy", "list_policies", "load_policy", "evaluate", "decide", "compute_facts",
           "policy_dirs", "find_preset", "FACTS", "CLAIMS", "false_claims"]


def _covers(rule: Rule, facts: Mapping[str, Any]) -> set[str]:
    return covered_findings(rule.finding or rule.id, rule.reason, facts)



# --- the engine -----------------------------------------------------------------------------------
class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or isinstance(value, float) and not math.isfinite(value):
            return "—"
        if format_spec == "p":
            return fmt_p(value)
        if format_spec in ("pct", "+pct"):
            return fmt_pct(value, signed=format_spec == "+pct")
        if format_spec == "prob":
            return fmt_prob(value)
        if format_spec == "share":
            return fmt_share(value)
        if format_spec == "n":
            return fmt_num(value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return super().format_field(value, format_spec)

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key) if isinstance(key, str) else super().get_value(key, args, kwargs)


_FMT = _Formatter()


def _render(template: str, names: Mapping[str, Any]) -> str:
    try:
        return p_in_text(_FMT.vformat(template, (), dict(names)))
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        return f"{template} (reason template error: {exc})"


@dataclass(frozen=True)
class RuleCheck(ResultMixin):
    """One rule as evaluated: did it hold, and which conditions did not."""

    rule: str
    action: str
    held: bool
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision(ResultMixin):
    """The engine's answer: the action, the one-line reason first, then every other reason.

    ``reasons[0]`` is ``reason`` (the deciding rule); the rest come from other rules that also
    held. ``checks`` lists every rule in order with whether it held; ``facts`` are the inputs.
    """

    experiment_id: str
    policy: str
    action: str
    reason: str
    reasons: tuple[str, ...]
    rule: str
    winner: str | None = None
    checks: tuple[RuleCheck, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    data_version: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: the evidence the deciding rule acted on, as every view names it: the fixed-horizon or always-valid test
    #: (the ``decided_by`` fact) when the rule reads the primary metric's significance or p-value, the Bayesian
    #: posterior when it reads the chance to beat control, ``None`` when neither (a health, SRM, stock or price
    #: hold, a guardrail limit, an A/A verdict: the reason itself says what decided)
    decided_by: str | None = None

    def to_frame(self):  # type: ignore[override]
        import pandas as pd
        return pd.DataFrame([c.to_dict() for c in self.checks])

    def __repr__(self) -> str:
        from ..notebook import decision_repr
        return decision_repr(self)

    def _repr_html_(self) -> str:
        from ..notebook import decision_html
        return decision_html(self)


def evaluate(policy: DecisionPolicy, result: AnalysisResult, *, brief: ExperimentBrief | None = None,
             context: DecisionContext | None = None) -> Decision:
    """Apply ``policy`` to ``result``: the one engine behind every preset and user policy."""
    params = dict(policy.params)
    facts = compute_facts(result, brief=brief, context=context, params=params)
    if result.aa is not None:
        return _aa_decision(policy, result, facts, params)
    names = {**params, **facts}
    checks: list[RuleCheck] = []
    held: list[Rule] = []
    for rule in policy.rules:
        failed = tuple(c.describe() for c in rule.when if not c.holds(facts, params))
        checks.append(RuleCheck(rule.id, rule.action, not failed, failed))
        if not failed:
            held.append(rule)
    if held:
        deciding = held[0]
    else:
        assert policy.default is not None
        deciding = policy.default
        checks.append(RuleCheck(deciding.id, deciding.action, True, ()))
    reason = _render(deciding.reason, names)
    reasons, covered = [reason], _covers(deciding, facts)
    for r in held[1:]:
        text = _render(r.reason, names)
        keys = _covers(r, facts)
        # once per finding, and never a sentence the facts contradict
        if text in reasons or keys & covered or false_claims(text, facts):
            continue
        reasons.append(text)
        covered |= keys
    kind = deciding.winner_kind
    winner = facts.get("best_variant") if kind == "best" else facts.get("best_supported") if kind == "best_supported" else None
    return Decision(experiment_id=result.experiment_id, policy=policy.name, action=deciding.action, reason=reason,
                    reasons=tuple(reasons), rule=deciding.id, winner=winner, checks=tuple(checks), facts=facts,
                    data_version=result.data_version or None, params=params, decided_by=_evidence(deciding, facts))


_TEST_FACTS = frozenset({"primary_significant", "primary_harmful", "primary_p", "primary_p_raw", "decided_by"})
_BAYES_FACTS = frozenset({"prob_beat_control", "expected_loss", "best_supported", "best_supported_prob"})
BAYES_EVIDENCE = "Bayesian posterior (chance to beat control)"


def _evidence(rule: Rule, facts: Mapping[str, Any]) -> str | None:
    """What decided, from the facts the deciding rule's conditions and reason read (see ``Decision.decided_by``)."""
    used = {c.fact for c in rule.when} | {name for _, name, _, _ in _FMT.parse(rule.reason) if name}
    if used & _TEST_FACTS:
        return facts.get("decided_by")
    if used & _BAYES_FACTS:
        return BAYES_EVIDENCE
    return None


def _aa_decision(policy: DecisionPolicy, result: AnalysisResult, facts: dict[str, Any],
                 params: dict[str, Any]) -> Decision:
    """An A/A experiment is decided on its verdict alone: keep it running while the pipeline is healthy, hold
    (investigate the pipeline) when not. It never has a winner, whatever the policy says about products."""
    from ..aa import AA_RULE
    v = result.aa
    action = "keep_testing" if v.healthy else "hold"
    reason = v.sentence + ("" if v.healthy else "; find the cause before trusting any experiment on this pipeline")
    return Decision(experiment_id=result.experiment_id, policy=policy.name, action=action, reason=reason,
                    reasons=(reason,), rule=AA_RULE, winner=None, checks=(RuleCheck(AA_RULE, action, True, ()),),
                    facts=facts, data_version=result.data_version or None, params=params)


def decide(result: AnalysisResult, *, brief: ExperimentBrief | None = None, policy: str | DecisionPolicy | None = None,
           context: DecisionContext | None = None) -> Decision:
    """Evaluate the named policy (the brief's, else the configured default) on ``result``."""
    if isinstance(policy, DecisionPolicy):
        pol = policy
    else:
        name = policy or (brief.policy if brief else get_settings().lifecycle.default_policy)
        pol = get_policy(name)
    return evaluate(pol, result, brief=brief, context=context)
