"""Every state × action: legal transitions land where they should, illegal ones are refused clearly."""

from __future__ import annotations

import itertools

import pytest

from workbench.errors import ConflictError, InputError
from workbench.lifecycle.states import ACTIONS, STATES, allowed_actions, next_state

from .builders import make_brief

# Written out independently of states.TRANSITIONS: the lifecycle as the issue describes it.
LEGAL = {
    ("draft", "start"): "running", ("draft", "archive"): "archived",
    ("running", "pause"): "hold", ("running", "stop"): "completed", ("running", "promote"): "promoting",
    ("running", "rollback"): "rolled_back",
    ("hold", "resume"): "running", ("hold", "stop"): "completed", ("hold", "rollback"): "rolled_back",
    ("completed", "promote"): "promoting", ("completed", "archive"): "archived", ("completed", "rollback"): "rolled_back",
    ("promoting", "advance"): "promoting", ("promoting", "rollback"): "rolled_back",
    ("promoted", "rollback"): "rolled_back", ("promoted", "archive"): "archived",
    ("rolled_back", "archive"): "archived",
}
ALL_PAIRS = list(itertools.product(STATES, ACTIONS))


@pytest.mark.parametrize("state, action", ALL_PAIRS)
def test_every_pair(state, action):
    if (state, action) in LEGAL:
        assert next_state(state, action) == LEGAL[(state, action)]
        assert action in allowed_actions(state)
    else:
        with pytest.raises(ConflictError) as exc:
            next_state(state, action)
        msg = str(exc.value)
        assert state.replace("_", " ") in msg
        assert ("allowed now" in msg) or ("final" in msg)
        assert action not in allowed_actions(state)


def test_archived_is_final_and_unknowns_are_input_errors():
    assert allowed_actions("archived") == []
    with pytest.raises(InputError):
        next_state("flying", "start")
    with pytest.raises(InputError):
        next_state("draft", "launch-now")


def _to(reg, eid: str, target: str) -> None:
    """Drive a registered experiment to ``target`` through legal steps."""
    path = {"draft": [], "running": ["start"], "hold": ["start", "pause"], "completed": ["start", "stop"],
            "promoting": ["start", "promote"], "promoted": ["start", "promote", "advance!"],
            "rolled_back": ["start", "rollback"], "archived": ["archive"]}[target]
    for step in path:
        final = step.endswith("!")
        reg.transition(eid, step.rstrip("!"), by="t", why="setup", final=final)
    assert reg.get(eid).state == target


@pytest.mark.parametrize("state", STATES)
def test_registry_applies_legal_and_refuses_illegal(reg, clock, state):
    for action in ACTIONS:
        eid = f"e-{state}-{action}"
        reg.create(make_brief(id=eid), by="kim", why="test")
        _to(reg, eid, state)
        before = reg.get(eid)
        audit_before = len(reg.audit())
        clock.advance(minutes=5)
        if (state, action) in LEGAL:
            after = reg.transition(eid, action, by="kim", why=f"{action} it")
            assert after.state == LEGAL[(state, action)]
            assert after.version == before.version + 1
            last = reg.audit().iloc[-1]
            assert (last["actor"], last["action"], last["why"], last["experiment_id"]) == ("kim", action,
                                                                                          f"{action} it", eid)
        else:
            with pytest.raises(ConflictError):
                reg.transition(eid, action, by="kim", why="should fail")
            assert reg.get(eid) == before
            assert len(reg.audit()) == audit_before


def test_timestamps_follow_the_transitions(reg, clock):
    reg.create(make_brief(id="e1"), by="kim", why="t")
    assert reg.get("e1").started_at is None
    t_start = clock.advance(hours=1)
    reg.transition("e1", "start", by="kim", why="go")
    reg.transition("e1", "pause", by="kim", why="look")
    clock.advance(hours=1)
    reg.transition("e1", "resume", by="kim", why="ok")
    t_end = clock.advance(days=3)
    rec = reg.transition("e1", "stop", by="kim", why="done")
    assert (rec.started_at, rec.ended_at) == (t_start, t_end)


def test_last_advance_ends_in_promoted(reg):
    reg.create(make_brief(id="e1"), by="kim", why="t")
    _to(reg, "e1", "promoting")
    assert reg.transition("e1", "advance", by="k", why="stage 2").state == "promoting"
    assert reg.transition("e1", "advance", by="k", why="stage 3", final=True).state == "promoted"
