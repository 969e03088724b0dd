"""Operator actions go through the registry's state machine and audit log; viewers are refused server-side."""

from __future__ import annotations

import json

import pytest

from workbench.dashboard.actions import ActionRequest, perform, request_from_mapping
from workbench.errors import InputError

from .conftest import OPERATOR, VIEWER

EID = "pdp-shoes-hero"


def _audit_rows(service) -> int:
    return len(service._reg().audit())


def act(service, identity, action, **kw):
    r = perform(service, identity, ActionRequest(action=action, why=kw.pop("why", "test reason"), **kw))
    service.join_background()
    return r


@pytest.mark.parametrize("action", ["pause", "force_winner", "start_rollout", "rollback", "promotion_period"])
def test_viewers_are_refused_and_nothing_changes(service, action):
    before = _audit_rows(service)
    r = act(service, VIEWER, action, experiment_id=EID, variant="treatment", value="on")
    assert not r.ok and r.status == 403 and "viewer role" in r.message and "nothing was changed" in r.message
    assert service._reg().get(EID).state == "running"
    assert _audit_rows(service) == before
    assert not service._reg().promotion_period()


def test_pause_and_resume_are_recorded_with_who_and_why(service):
    r = act(service, OPERATOR, "pause", experiment_id=EID, why="traffic anomaly on mobile")
    assert r.ok and r.status == 200 and r.state == "hold" and r.actor == "ops"
    last = service._reg().audit(EID).iloc[-1]
    assert (last["actor"], last["action"], last["why"]) == ("ops", "pause", "traffic anomaly on mobile")
    assert json.loads(last["detail"]) == {"from": "running", "to": "hold"}
    assert service.snapshot.registry.records[EID].state == "hold"       # the snapshot shows it at once
    assert act(service, OPERATOR, "resume", experiment_id=EID, why="fixed").state == "running"
    assert service._reg().verify_audit().ok


def test_an_illegal_transition_shows_the_registry_refusal(service):
    before = _audit_rows(service)
    r = act(service, OPERATOR, "resume", experiment_id=EID)
    assert not r.ok and r.status == 409
    assert r.message == ("refused by the registry: cannot resume an experiment that is running "
                         "(allowed now: pause, stop, promote, rollback)")
    assert _audit_rows(service) == before


def test_a_reason_is_required(service):
    r = act(service, OPERATOR, "pause", experiment_id=EID, why="   ")
    assert not r.ok and r.status == 400 and r.message.startswith("say why")
    assert service._reg().get(EID).state == "running"


def test_force_winner_stops_and_records_the_winner(service):
    r = act(service, OPERATOR, "force_winner", experiment_id=EID, variant="treatment", why="business call")
    assert r.ok and r.state == "completed"
    last = service._reg().audit(EID)
    stop = last[last["action"] == "stop"].iloc[-1]
    assert json.loads(stop["detail"])["winner"] == "treatment" and json.loads(stop["detail"])["forced"] is True
    bad = act(service, OPERATOR, "force_winner", experiment_id="reco-model-v2", variant="nope")
    assert bad.status == 400 and "the winner must be one of control, treatment" in bad.message


def test_staged_rollout_start_advance_and_roll_back(service):
    started = act(service, OPERATOR, "start_rollout", experiment_id=EID, variant="treatment", why="launch")
    assert started.ok and started.state == "promoting" and "25% of traffic on treatment" in started.message
    reg = service._reg()
    assert reg.weights(EID) == {"control": 0.75, "treatment": 0.25}
    # the demo data ends before the rollout began: the monitor has nothing to judge
    waiting = act(service, OPERATOR, "advance_rollout", experiment_id=EID, why="hourly check")
    assert waiting.status == 400 and "no traffic since this stage started" in waiting.message
    forced = act(service, OPERATOR, "advance_rollout", experiment_id=EID, why="checked by hand", force=True)
    assert forced.ok and "advanced — stage 2: 50% of traffic on treatment" in forced.message
    assert reg.weights(EID)["treatment"] == 0.5
    back = act(service, OPERATOR, "rollback", experiment_id=EID, why="complaints")
    assert back.ok and back.state == "rolled_back" and reg.weights(EID) == {"control": 1.0, "treatment": 0.0}
    again = act(service, OPERATOR, "rollback", experiment_id=EID, why="twice")
    assert again.status == 409 and "rolled back is final" not in again.message and "refused" in again.message


def test_a_rollout_needs_a_rate_baseline(service):
    r = act(service, OPERATOR, "start_rollout", experiment_id="reco-model-v2", variant="treatment")
    assert r.status == 400 and "baseline" in r.message
    assert service._reg().get("reco-model-v2").state == "running"


def test_promotion_period_switch(service):
    assert act(service, OPERATOR, "promotion_period", value="on", why="black friday").ok
    assert service._reg().promotion_period() and service.snapshot.registry.promotion_period
    assert act(service, OPERATOR, "promotion_period", value="maybe").status == 400
    assert act(service, OPERATOR, "promotion_period", value="off", why="over").ok
    assert not service._reg().promotion_period()


def test_unknown_action_and_experiment(service):
    assert act(service, OPERATOR, "delete_everything", experiment_id=EID).status == 400
    assert act(service, OPERATOR, "pause", experiment_id="no-such-exp").status == 404
    assert act(service, OPERATOR, "pause").status == 400


def test_request_from_json_mapping():
    req = request_from_mapping({"action": "pause", "experiment_id": "e", "why": "w", "force": True})
    assert req == ActionRequest("pause", "w", "e", None, None, True)
    assert request_from_mapping({"action": "pause", "force": "yes"}).force is False   # only a JSON true forces
    with pytest.raises(InputError, match="unknown field"):
        request_from_mapping({"action": "pause", "role": "operator"})
    with pytest.raises(InputError):
        request_from_mapping(["pause"])  # type: ignore[arg-type]
