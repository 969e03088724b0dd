"""What a decision's reasons may say: each finding once, and never a sentence the facts contradict.

A policy's rules are checked in order and the first that holds decides; the reasons of lower rules
that also hold are listed too. Two things keep that list true and short:

* **claims** — a reason template may state something that is only true because the rules above it
  failed (``significant-launch`` says "no guardrail worsened"). :data:`CLAIMS` maps such phrases to
  the fact test that makes them true; :func:`false_claims` finds the ones a text gets wrong, and the
  engine never prints such a reason;
* **findings** — each rule is about a finding with a stable key (the rule's ``finding``, else its
  id; a reason that quotes the health check covers every health finding, such as ``srm``). A lower
  rule about a finding an earlier reason already states is not repeated.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

__all__ = ["CLAIMS", "false_claims", "finding_key", "covered_findings"]


def finding_key(code: str) -> str:
    """The stable key of a health issue code: srm and srm_severe are one finding."""
    return "srm" if code.startswith("srm") else code


#: sentences a reason may state, and the fact test that makes each true; a reason whose claim is false
#: for these facts is never printed (a lower rule's template may assume the rules above it failed)
CLAIMS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "no guardrail worsened": lambda f: f.get("guardrails_worsened") == 0,
    "a guardrail worsened": lambda f: (f.get("guardrails_worsened") or 0) > 0,
    "worsened severely": lambda f: (f.get("guardrails_severe") or 0) > 0,
    "limit is crossed": lambda f: (f.get("guardrails_breached") or 0) > 0,
    "is not significant": lambda f: not f.get("primary_significant") and not f.get("primary_harmful"),
    "maximum duration": lambda f: bool(f.get("max_duration_reached")),
    "sample ratio mismatch": lambda f: bool(f.get("srm_warning")) or "srm" in str(f.get("health_findings") or ""),
    "sample ratio mismatch within": lambda f: "segment_srm" in str(f.get("health_findings") or "").split(","),
    "pre-period covariates differ": lambda f: "imbalance" in str(f.get("health_findings") or "").split(","),
    "not shown non-inferior": lambda f: (f.get("non_inferior_failed") or 0) > 0 or f.get("primary_non_inferior") is False,
    "calendar event that holds decisions": lambda f: (f.get("calendar_hold") or 0) > 0,
    "fades with days since first exposure": lambda f: f.get("novelty_direction") == "novelty",
}


def false_claims(text: str, facts: Mapping[str, Any]) -> list[str]:
    """The :data:`CLAIMS` that ``text`` states but ``facts`` contradict.

    >>> false_claims("Launch b: cvr +5% and no guardrail worsened", {"guardrails_worsened": 1})
    ['no guardrail worsened']
    >>> false_claims("Hold: a guardrail worsened: lcp", {"guardrails_worsened": 1})
    []
    """
    low = text.lower()
    return [c for c, holds in CLAIMS.items() if c in low and not holds(facts)]


def covered_findings(key: str, template: str, facts: Mapping[str, Any]) -> set[str]:
    """The findings a rule's reason states: its own key, plus every health finding when it quotes the health check.

    >>> sorted(covered_findings("health-blocked", "Blocked ({health_blocked_by})", {"health_findings": "srm,bots"}))
    ['bots', 'health-blocked', 'srm']
    """
    keys = {key}
    if "{health_reasons" in template or "{health_blocked_by" in template:
        keys |= {k for k in str(facts.get("health_findings") or "").split(",") if k}
    return keys
