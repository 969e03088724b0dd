"""The experiment state machine: which actions are allowed in which state.

::

    draft ──start──▶ running ──pause──▶ hold ──resume──▶ running
      │                 │  ╲               │
    archive           stop  promote      stop / rollback
      ▼                 ▼      ╲           ▼
    archived ◀─archive─ completed ─promote─▶ promoting ──advance──▶ promoted
                          │                    │                      │
                          └──────rollback──────┴──────rollback────────┴──▶ rolled_back ─archive─▶ archived

``promoting`` is a staged rollout in progress (25 % → 50 % → 100 %); ``advance`` moves it one stage
and the last stage ends in ``promoted``. ``rollback`` undoes a running test or a promotion. An
illegal action raises :class:`~workbench.errors.ConflictError` naming the state, the action and
what is allowed instead.

>>> next_state("draft", "start")
'running'
>>> next_state("archived", "start")
Traceback (most recent call last):
...
workbench.errors.ConflictError: cannot start an experiment that is archived (archived is final; nothing can change it)
>>> allowed_actions("hold")
['resume', 'stop', 'rollback']
"""

from __future__ import annotations

from typing import Literal, get_args

from ..errors import ConflictError, InputError, Problem

__all__ = ["State", "Action", "STATES", "ACTIONS", "TRANSITIONS", "next_state", "allowed_actions", "check_state"]

State = Literal["draft", "running", "hold", "completed", "promoting", "promoted", "rolled_back", "archived"]
Action = Literal["start", "pause", "resume", "stop", "promote", "advance", "rollback", "archive"]
STATES: tuple[str, ...] = get_args(State)
ACTIONS: tuple[str, ...] = get_args(Action)

TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "start"): "running",
    ("draft", "archive"): "archived",
    ("running", "pause"): "hold",
    ("running", "stop"): "completed",
    ("running", "promote"): "promoting",
    ("running", "rollback"): "rolled_back",
    ("hold", "resume"): "running",
    ("hold", "stop"): "completed",
    ("hold", "rollback"): "rolled_back",
    ("completed", "promote"): "promoting",
    ("completed", "rollback"): "rolled_back",
    ("completed", "archive"): "archived",
    ("promoting", "advance"): "promoting",   # the registry turns the last advance into "promoted"
    ("promoting", "rollback"): "rolled_back",
    ("promoted", "rollback"): "rolled_back",
    ("promoted", "archive"): "archived",
    ("rolled_back", "archive"): "archived",
}
"""(state, action) -> new state. Anything not listed is refused."""

_VERBS = {"start": "start", "pause": "pause", "resume": "resume", "stop": "stop", "promote": "promote",
          "advance": "advance the rollout of", "rollback": "roll back", "archive": "archive"}


def check_state(state: str) -> str:
    if state not in STATES:
        raise InputError([Problem("blocked", "unknown_state", f"unknown state; known: {', '.join(STATES)}",
                                  column="state", value=state)])
    return state


def allowed_actions(state: str) -> list[str]:
    """Actions allowed from ``state``, in the order of :data:`ACTIONS`."""
    check_state(state)
    return [a for a in ACTIONS if (state, a) in TRANSITIONS]


def next_state(state: str, action: str) -> str:
    """The state after ``action``, or :class:`ConflictError` if the action is not allowed now."""
    check_state(state)
    if action not in ACTIONS:
        raise InputError([Problem("blocked", "unknown_action", f"unknown action; known: {', '.join(ACTIONS)}",
                                  column="action", value=action)])
    new = TRANSITIONS.get((state, action))
    if new is None:
        allowed = allowed_actions(state)
        hint = f"allowed now: {', '.join(allowed)}" if allowed else f"{state} is final; nothing can change it"
        raise ConflictError(f"cannot {_VERBS[action]} an experiment that is {state.replace('_', ' ')} ({hint})")
    return new
