"""The dashboard's decision card says what decided (a test, the posterior, or the reason alone) and lists the
time effects (the story's sentences)."""

from __future__ import annotations

from types import SimpleNamespace

from workbench.analysis import analyze
from workbench.lifecycle.calendar import CalendarEvent
from workbench.lifecycle.policies import decide

from lifecycle.test_decision_tests import _data


def test_a_calendar_hold_names_its_event_and_no_test():
    from workbench.dashboard.detail import decision_html
    from workbench.story import time_sentences
    r = analyze(_data(days=7), cuped=False,
                calendar=(CalendarEvent(name="cdn", kind="outage", start="2026-11-03", end="2026-11-03"),))
    d = decide(r, policy="decision-layer")
    html = decision_html(SimpleNamespace(decision=d, result=r, brief=None))
    assert d.rule == "calendar-hold" and "decided by" not in html       # the calendar decided, not a test
    assert "Time effects:" in html and "outage &#x27;cdn&#x27; (2026-11-03)" in html
    assert len(time_sentences(r)) == html.count("<li>") - len(d.reasons[1:])


def test_decided_by_names_the_evidence_the_deciding_rule_read():
    """A promotion on the chance to beat control is decided by the posterior, not by the z-test computed beside
    it; a stock-out or health hold by neither (its reason says what decided). The card, the CLI's line, the
    memo and the story read the same ``Decision.decided_by``."""
    from workbench.dashboard.detail import decision_html
    from workbench.lifecycle.memo import build_memo
    from workbench.lifecycle.policies import BAYES_EVIDENCE, DecisionContext
    from workbench.story import ExperimentStory

    from lifecycle.builders import comp, make_brief, result
    res = result([comp("b", prob=0.999, p=1e-4)], units=(20000.0, 20000.0))
    launch = decide(res, policy="decision-layer")
    promote = decide(res, brief=make_brief(policy="bayesian-promotion"))
    stock = decide(res, policy="decision-layer", context=DecisionContext(stock_drop=0.9))
    blocked = decide(result([comp("b", p=1e-4)], health="blocked"), policy="decision-layer")
    assert (launch.action, launch.decided_by) == ("launch", launch.facts["decided_by"])
    assert launch.decided_by.startswith("fixed-horizon")
    assert (promote.action, promote.decided_by) == ("promote", BAYES_EVIDENCE)
    assert (stock.rule, stock.decided_by) == ("stock-drop", None) and blocked.decided_by is None
    said = build_memo(res, promote).items("Risks and limitations")     # the posterior's caveat, not the z-test's
    assert any(r.startswith("Decided on the chance to beat control") for r in said)
    assert not any(r.startswith(("Fixed-horizon test", "Multiple looks")) for r in said)
    assert any(r.startswith("Fixed-horizon test") for r in build_memo(res, launch).items("Risks and limitations"))
    for d in (launch, promote, stock, blocked):
        card = decision_html(SimpleNamespace(decision=d, result=res, brief=None))
        memo = build_memo(res, d).to_markdown()
        story = ExperimentStory.from_parts(res, d)
        assert story.decided_by == d.decided_by
        if d.decided_by:
            assert f"decided by {d.decided_by}" in card and f"decided by {d.decided_by}" in memo
        else:
            assert "decided by" not in card and "decided by" not in memo
