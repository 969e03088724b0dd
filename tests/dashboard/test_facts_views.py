"""The dashboard tells the same story as the memo: the A/A verdict without launch controls, blocked
experiments say why instead of drawing empty charts, and each health finding is stated once."""

from __future__ import annotations

import html
from types import SimpleNamespace


from workbench.dashboard.actions import ActionRequest, perform
from workbench.dashboard.app import DashboardApp
from workbench.dashboard.badges import health_badges
from workbench.dashboard.detail import decision_html, withheld_sentence
from workbench.errors import Problem
from workbench.health import nothing_to_show
from workbench.results import HealthReport, SRMResult

from .conftest import OPERATOR


def _detail(service, eid):
    app = DashboardApp(service=service, identity=OPERATOR)
    app.state.param.update(page="experiment", experiment=eid)
    return app.pages["experiment"]


def test_the_aa_experiment_shows_its_verdict_and_no_launch_controls(shared_service):
    o = shared_service.snapshot.outcome("aa-pipeline-check")
    assert o is not None and o.result.aa is not None
    assert o.result.aa.sentence in html.unescape(decision_html(o))
    detail = _detail(shared_service, "aa-pipeline-check")
    buttons = detail.controls.buttons
    assert not buttons["force_winner"].visible and not buttons["start_rollout"].visible
    assert buttons["pause"].visible
    ab = _detail(shared_service, "pdp-shoes-hero").controls.buttons
    assert ab["force_winner"].visible and ab["start_rollout"].visible


def test_the_decision_card_lists_the_memos_risks_before_a_launch(shared_service):
    """A launch or promotion on the dashboard shows the memo's (and the report's) risks word for word, as
    `workbench decide` prints them; other decisions do not (the small world holds or keeps testing all of
    its experiments, so its outcomes are shown once as they are and once as launches)."""
    from dataclasses import replace

    from workbench.lifecycle.memo import ACTING, build_memo
    outcomes = list(shared_service.snapshot.outcomes.values())
    assert outcomes and not any(o.decision.action in ACTING for o in outcomes)
    for o in outcomes:
        assert o.decision.facts["looks"] == 1          # nothing recorded yet in the shared copy
        assert "Risks before acting:" not in decision_html(o), o.experiment_id
        launch = replace(o, decision=replace(o.decision, action="launch"))
        card = html.unescape(decision_html(launch))
        said = build_memo(o.result, launch.decision, brief=o.brief, record=o.record).items("Risks and limitations")
        assert "Risks before acting:" in card and said and all(r in card for r in said), o.experiment_id


def test_actions_refuse_to_launch_an_aa_experiment(shared_service):
    before = shared_service._reg().get("aa-pipeline-check").state
    for action in ("force_winner", "start_rollout"):
        r = perform(shared_service, OPERATOR, ActionRequest(action, "try", "aa-pipeline-check", variant="control-copy"))
        assert not r.ok and r.status == 409 and "A/A experiment" in r.message and "nothing was changed" in r.message
    assert shared_service._reg().get("aa-pipeline-check").state == before


def test_a_blocked_experiment_says_why_instead_of_empty_charts(shared_service):
    health = HealthReport("blocked", (Problem("blocked", "srm_severe", "split is off"),),
                          srm=SRMResult(("a", "b"), (60.0, 40.0), (50.0, 50.0), (0.5, 0.5), 4.0, 1e-7, "blocked"))
    sentence = withheld_sentence(SimpleNamespace(result=SimpleNamespace(health=health)))
    assert sentence == nothing_to_show(health, "posterior, chance or lift charts")
    assert "sample ratio mismatch" in sentence
    assert withheld_sentence(shared_service.snapshot.outcome("pdp-shoes-hero")) is None
    blocked = [e for e, o in shared_service.snapshot.outcomes.items() if o.result.health.status == "blocked"]
    for eid in blocked[:1]:
        detail = _detail(shared_service, eid)
        assert detail.withheld.visible and not detail.posterior.visible and not detail.forest.visible
        assert "no comparisons were computed" in detail.withheld.object
    healthy = _detail(shared_service, "pdp-shoes-hero")
    assert not healthy.withheld.visible and healthy.posterior.visible


def test_each_health_finding_is_stated_once_in_the_badges():
    sticky = "222 units (0.218%) were seen in more than one variant and were excluded; assignment is not sticky"
    h = HealthReport("warning", (Problem("warning", "sticky_violation", sticky),))
    badges = health_badges(h, facts={"guardrails_worsened": 0})
    text = " ".join(b.explanation for b in badges)
    assert text.count(sticky) == 1
    assert "sticky" in next(b for b in badges if b.kind == "health").explanation
