"""Badges: health, SRM, bots and guardrails of one experiment, each with its explanation.

Every badge reads what the analysis and the decision engine already found — the health report's
issues (:class:`~workbench.results.HealthReport`) and the decision's facts about guardrails — so the
portfolio, the detail page and the memo agree. ``level`` is ``ok``, ``info``, ``warning`` or
``blocked``; ``explanation`` is the sentence shown on hover and on the detail page.

>>> from workbench.results import HealthReport, SRMResult
>>> from workbench.errors import Problem
>>> srm = SRMResult(("control", "b"), (5100.0, 4900.0), (5000.0, 5000.0), (0.5, 0.5), 4.0, 0.0455, "healthy")
>>> h = HealthReport("warning", (Problem("warning", "bots_excluded", "2,500 of 10,000 units (25.00%) were excluded as bots"),),
...                  srm=srm, bot_exclusion_rate=0.25)
>>> [(b.kind, b.level) for b in health_badges(h, facts={"guardrails_worsened": 0, "guardrails_breached": 0})]
[('health', 'warning'), ('srm', 'ok'), ('bots', 'warning'), ('guardrail', 'ok')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..display import ResultMixin, escape, fmt_p_eq, fmt_pct
from ..results import HealthReport

__all__ = ["Badge", "health_badges", "badges_for", "badges_html", "LEVEL_COLOURS"]

LEVEL_COLOURS = {"ok": "#1e7b45", "info": "#52606d", "warning": "#b54708", "blocked": "#b42318"}
_LEVEL_OF = {"healthy": "ok", "warning": "warning", "blocked": "blocked", "info": "info"}


@dataclass(frozen=True)
class Badge(ResultMixin):
    """One badge: what it is about, how bad, the short label and the explanation."""

    kind: str          # health | srm | bots | guardrail | sticky | labels | sample | aa | segment_srm | balance
    level: str         # ok | info | warning | blocked
    label: str
    explanation: str


def _issue(h: HealthReport, *codes: str) -> Any:
    for p in h.issues:
        if p.code in codes:
            return p
    return None


def health_badges(health: HealthReport, *, facts: Mapping[str, Any] | None = None) -> list[Badge]:
    """The four portfolio badges (health, SRM, bots, guardrail) plus any other trust issue."""
    facts = facts or {}
    out: list[Badge] = []
    out.append(Badge("health", _LEVEL_OF[health.status], health.status, _health_explanation(health)))

    srm_issue = _issue(health, "srm", "srm_severe")
    not_applicable = _issue(health, "srm_not_applicable")
    if srm_issue is not None:
        out.append(Badge("srm", _LEVEL_OF.get(srm_issue.level, "warning"), f"SRM {fmt_p_eq(health.srm.p_value)}"
                         if health.srm else "SRM", srm_issue.message))
    elif health.srm is not None:
        split = " / ".join(fmt_pct(o / sum(health.srm.observed), 1) for o in health.srm.observed) \
            if sum(health.srm.observed) else "—"
        out.append(Badge("srm", "ok", "SRM", f"observed split {split} matches the planned "
                         f"{' / '.join(fmt_pct(w, 1) for w in health.srm.weights)} (chi-square "
                         f"{fmt_p_eq(health.srm.p_value)})"))
    elif not_applicable is not None:
        out.append(Badge("srm", "info", "SRM n/a", not_applicable.message))

    bots = _issue(health, "bots_excluded")
    rate = health.bot_exclusion_rate
    if bots is not None:
        out.append(Badge("bots", "warning" if bots.level == "warning" else "ok",
                         f"bots {fmt_pct(rate, 1)}" if rate is not None else "bots", bots.message))
    elif rate is not None:
        out.append(Badge("bots", "ok", f"bots {fmt_pct(rate, 1)}", "no units were excluded as bots"))

    worsened = facts.get("guardrails_worsened")
    if worsened is not None:
        breached, severe = int(facts.get("guardrails_breached") or 0), int(facts.get("guardrails_severe") or 0)
        if breached or severe:
            parts = [f"limit crossed: {facts.get('breached_list')}" if breached else "",
                     f"worsened severely: {facts.get('severe_list')}" if severe else ""]
            out.append(Badge("guardrail", "blocked", "guardrail", "; ".join(p for p in parts if p)))
        elif int(worsened):
            out.append(Badge("guardrail", "warning", "guardrail", f"worsened: {facts.get('worsened_list')}"))
        else:
            out.append(Badge("guardrail", "ok", "guardrails", "no guardrail worsened or crossed its limit"))

    extra = {"sticky_violation": ("sticky", "sticky"), "unknown_variant": ("labels", "variant labels"),
             "small_sample": ("sample", "small sample"), "aa_significant": ("aa", "A/A")}
    for p in health.issues:
        if p.code in extra and p.level != "info":
            kind, label = extra[p.code]
            out.append(Badge(kind, _LEVEL_OF.get(p.level, "warning"), label, p.message))
    for code, kind, label in (("segment_srm", "segment_srm", "segment SRM"), ("imbalance", "balance", "pre-period balance")):
        found = [p for p in health.issues if p.code == code and p.level != "info"]
        if found:     # one badge however many segments or variants are flagged
            out.append(Badge(kind, _LEVEL_OF.get(found[0].level, "warning"), label, "; ".join(p.message for p in found)))
    return out


#: issue codes that get a badge of their own, and what that badge is called in the health badge's sentence
_OWN_BADGE = {"srm": "SRM", "srm_severe": "SRM", "bots_excluded": "bots", "sticky_violation": "sticky",
              "unknown_variant": "variant labels", "small_sample": "small sample", "aa_significant": "A/A",
              "segment_srm": "segment SRM", "imbalance": "pre-period balance"}


def _health_explanation(health: HealthReport) -> str:
    """The health badge's sentence: issues with a badge of their own are named, not repeated (each finding once)."""
    issues = [p for p in health.issues if p.level != "info"]
    if not issues:
        return "every trust check passed"
    named = list(dict.fromkeys(_OWN_BADGE[p.code] for p in issues if p.code in _OWN_BADGE))
    rest = list(dict.fromkeys(p.message for p in issues if p.code not in _OWN_BADGE))
    parts = rest + ([f"see the {', '.join(named)} badge{'s' if len(named) > 1 else ''}"] if named else [])
    return f"{health.status}: " + "; ".join(parts)


def badges_for(outcome: Any) -> list[Badge]:
    """Badges of a :class:`~workbench.pipeline.ExperimentOutcome`."""
    return health_badges(outcome.result.health, facts=outcome.decision.facts)


def badges_html(badges: list[Badge], *, kinds: tuple[str, ...] | None = None, explain: bool = False) -> str:
    """Coloured pills (``title`` = explanation); with ``explain`` the explanation follows each pill."""
    parts = []
    for b in badges:
        if kinds is not None and b.kind not in kinds:
            continue
        colour = LEVEL_COLOURS.get(b.level, "#52606d")
        pill = (f'<span class="wb-badge wb-{escape(b.level)}" data-kind="{escape(b.kind)}" '
                f'title="{escape(b.explanation)}" style="background:{colour}">{escape(b.label)}</span>')
        parts.append(f'<div class="wb-badge-row">{pill} <span>{escape(b.explanation)}</span></div>' if explain
                     else pill)
    return "".join(parts) if explain else " ".join(parts)
