"""The dashboard's decision card says which test decided and lists the time effects (the story's sentences)."""

from __future__ import annotations

from types import SimpleNamespace

from workbench.analysis import analyze
from workbench.lifecycle.calendar import CalendarEvent
from workbench.lifecycle.policies import decide

from lifecycle.test_decision_tests import _data


def test_decision_card_names_the_deciding_test_and_the_calendar_event():
    from workbench.dashboard.detail import decision_html
    from workbench.story import time_sentences
    r = analyze(_data(days=7), cuped=False,
                calendar=(CalendarEvent(name="cdn", kind="outage", start="2026-11-03", end="2026-11-03"),))
    d = decide(r, policy="decision-layer")
    html = decision_html(SimpleNamespace(decision=d, result=r, brief=None))
    assert "decided by fixed-horizon z-test" in html
    assert "Time effects:" in html and "outage &#x27;cdn&#x27; (2026-11-03)" in html
    assert len(time_sentences(r)) == html.count("<li>") - len(d.reasons[1:])
