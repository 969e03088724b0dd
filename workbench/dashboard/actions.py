"""Operator actions: the one server-side gate every control goes through.

The dashboard's buttons and the JSON endpoint (``POST /api/actions``) both call :func:`perform`
with the :class:`~workbench.dashboard.auth.Identity` the *server* established for the request (the
signed login cookie and the credentials file) — never a role the browser claims. A viewer gets
status 403 and nothing changes, whatever the request looks like. Each action needs a reason and
goes through the registry's state machine and audit log (:mod:`workbench.lifecycle`); an illegal
transition comes back as the registry's refusal message (status 409), bad input as 400.

=====================  =====================================================================
action                 what the registry does
=====================  =====================================================================
``pause``/``resume``   ``Registry.transition`` (running ⇄ hold)
``force_winner``       stop (completed) naming the winner; its tags go to the learning store
``start_rollout``      :func:`~workbench.lifecycle.rollout.start_rollout` (promoting, stage 1)
``advance_rollout``    :func:`~workbench.lifecycle.rollout.advance_rollout` on the event monitor's
                       series (:mod:`workbench.lifecycle.watch`; rolls back on a confirmed drop)
``rollback``           :func:`~workbench.lifecycle.rollout.rollback` (all traffic to control)
``promotion_period``   the global switch (``on``/``off``)
=====================  =====================================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from ..aa import AA_REFUSAL, is_aa
from ..display import ResultMixin, fmt_pct
from ..errors import ConflictError, InputError, NotFoundError, Problem, WorkbenchError
from .auth import Identity

__all__ = ["AA_REFUSED", "ACTIONS", "ActionRequest", "ActionResult", "perform", "request_from_mapping"]

log = logging.getLogger("workbench.dashboard")

ACTIONS: dict[str, str] = {
    "pause": "Pause",
    "resume": "Resume",
    "force_winner": "Force winner",
    "start_rollout": "Start staged rollout",
    "advance_rollout": "Advance rollout",
    "rollback": "Roll back",
    "promotion_period": "Promotion-period switch",
}


@dataclass(frozen=True)
class ActionRequest:
    """What an operator asks for. ``variant`` for force_winner/start_rollout; ``value`` on/off for the switch."""

    action: str
    why: str
    experiment_id: str | None = None
    variant: str | None = None
    value: str | None = None
    force: bool = False


@dataclass(frozen=True)
class ActionResult(ResultMixin):
    """The answer: ``ok``, an HTTP-like ``status`` and the message shown to the operator."""

    ok: bool
    status: int
    message: str
    action: str
    experiment_id: str | None = None
    state: str | None = None
    actor: str | None = None


def request_from_mapping(body: Mapping[str, Any]) -> ActionRequest:
    """An :class:`ActionRequest` from JSON; unknown fields are an :class:`InputError` (a role is not a field).

    >>> request_from_mapping({"action": "pause", "experiment_id": "exp-1", "why": "checking"})
    ActionRequest(action='pause', why='checking', experiment_id='exp-1', variant=None, value=None, force=False)
    """
    if not isinstance(body, Mapping):
        raise InputError([Problem("blocked", "bad_request", "expected a JSON object")])
    known = {"action", "why", "experiment_id", "variant", "value", "force"}
    extra = sorted(set(body) - known)
    if extra:
        raise InputError([Problem("blocked", "bad_request", f"unknown field; known: {', '.join(sorted(known))}",
                                  column=extra[0])])
    action = str(body.get("action") or "")
    force = body.get("force", False)
    return ActionRequest(action=action, why=str(body.get("why") or ""),
                         experiment_id=None if body.get("experiment_id") is None else str(body["experiment_id"]),
                         variant=None if body.get("variant") is None else str(body["variant"]),
                         value=None if body.get("value") is None else str(body["value"]), force=force is True)


def _refuse(req: ActionRequest, status: int, message: str, actor: str | None) -> ActionResult:
    return ActionResult(False, status, message, req.action, req.experiment_id, None, actor)


def perform(service: Any, identity: Identity, req: ActionRequest) -> ActionResult:
    """Check the role (server-side), validate, carry the action out through the registry, refresh."""
    actor = identity.user
    if not identity.can_operate:
        log.warning("refused %s on %s by %s (role %s)", req.action, req.experiment_id, actor, identity.role)
        return _refuse(req, 403, f"refused: {actor or 'this user'} has the {identity.role} role; only operators can "
                       "change experiments — nothing was changed", actor)
    if req.action not in ACTIONS:
        return _refuse(req, 400, f"unknown action {req.action!r}; known: {', '.join(ACTIONS)}", actor)
    if not req.why.strip():
        return _refuse(req, 400, "say why: every change is recorded with its reason in the audit log", actor)
    if req.action != "promotion_period" and not req.experiment_id:
        return _refuse(req, 400, "name the experiment", actor)
    snap = getattr(service, "snapshot", None)
    if req.action in FROM_ANALYSIS and any(getattr(snap, f, False) for f in ("previous", "loading", "pending")):
        return _refuse(req, 409, f"refused: {req.action} takes its numbers from the analysis, and the dashboard still "
                       "shows the analysis of the previous data while the current data is analysed; try again when "
                       "the page says it is done — nothing was changed", actor)
    try:
        with service.lock:     # every database access of the service holds its lock (the A/A check too)
            if req.action in AA_REFUSED and req.experiment_id and _is_aa(service, req.experiment_id):
                log.warning("refused %s on A/A experiment %s by %s", req.action, req.experiment_id, actor)
                return _refuse(req, 409, f"refused: {req.experiment_id}: {AA_REFUSAL} — nothing was changed", actor)
            message = _carry_out(service, identity, req)
            state = None
            if req.experiment_id:
                reg = service._reg()
                state = reg.get(req.experiment_id).state
    except ConflictError as exc:
        return _refuse(req, 409, f"refused by the registry: {exc}", actor)
    except NotFoundError as exc:
        return _refuse(req, 404, str(exc), actor)
    except (InputError, WorkbenchError) as exc:
        return _refuse(req, 400, str(exc).replace("\n", "; "), actor)
    service.refresh_registry()
    return ActionResult(True, 200, message, req.action, req.experiment_id, state, actor)


#: actions that take numbers from the current analysis (refused while it is the previous data's)
FROM_ANALYSIS = ("force_winner", "start_rollout")

#: actions that launch a winner: meaningless for an A/A experiment (both arms the same by design)
AA_REFUSED = ("force_winner", "start_rollout", "advance_rollout")


def _is_aa(service: Any, experiment_id: str) -> bool:
    """Whether the experiment is an A/A one: its analysis carries an A/A verdict, or its brief says so."""
    outcome = service.snapshot.outcome(experiment_id) if getattr(service, "snapshot", None) is not None else None
    if outcome is not None and outcome.result.aa is not None:
        return True
    reg = service._reg()       # a database error is raised (and refuses the action), never read as "not A/A"
    return reg.exists(experiment_id) and is_aa(brief=reg.brief(experiment_id))


def _carry_out(service: Any, identity: Identity, req: ActionRequest) -> str:
    from ..lifecycle.learning import stop_and_conclude
    from ..lifecycle.rollout import advance_rollout, plan_rollout, rollback, rollout_status, start_rollout
    from .data import _num, comparison_of

    reg = service._reg()
    by, why, eid = str(identity.user or "operator"), req.why.strip(), req.experiment_id
    if req.action == "promotion_period":
        value = (req.value or "").lower()
        if value not in ("on", "off"):
            raise InputError([Problem("blocked", "bad_value", "say on or off", column="value", value=req.value)])
        reg.set_switch("promotion_period", value, by=by, why=why)
        return f"promotion period switched {value}" + (
            " — automatic experiments pause at the autopilot's next run" if value == "on" else "")
    assert eid is not None
    if req.action in ("pause", "resume"):
        rec = reg.transition(eid, req.action, by=by, why=why)
        return f"{eid}: {req.action}d — now {rec.state}"
    if req.action == "rollback":
        rollback(reg, eid, by=by, why=why)
        return f"{eid}: rolled back — all traffic on the control"
    outcome = service.snapshot.outcome(eid)
    brief = reg.brief(eid)
    if req.action == "force_winner":
        variant = req.variant
        if variant not in brief.variant_ids:
            raise InputError([Problem("blocked", "bad_variant", f"the winner must be one of "
                                      f"{', '.join(brief.variant_ids)}", column="variant", value=variant)])
        c = comparison_of(outcome, variant) if outcome is not None else None
        lift = _num(c.lift_rel) if c is not None else None
        stop_and_conclude(reg, eid, winner=variant, lift_rel=lift, by=by, why=why, detail={"forced": True})
        return f"{eid}: stopped with {variant} as the winner (forced by {by})"
    if req.action == "start_rollout":
        variant = req.variant or (outcome.decision.winner if outcome is not None else None)
        if not variant or variant == brief.control or variant not in brief.variant_ids:
            raise InputError([Problem("blocked", "bad_variant", "choose the variant to promote: one of "
                                      f"{', '.join(brief.variant_ids[1:])}", column="variant", value=variant)])
        c = comparison_of(outcome, variant) if outcome is not None else None
        rate = _num(c.variant_value) if c is not None else None
        if rate is None or not 0 < rate < 1:
            raise InputError([Problem("blocked", "missing_baseline", "the rollout monitor needs the winner's "
                                      "conversion rate as its baseline, and the current analysis has none for "
                                      f"{variant} (primary metric not a rate, or health blocked)", column="variant",
                                      value=variant)])
        plan = plan_rollout(eid, variant, control=brief.control, baseline_rate=rate,
                            lift_rel=_num(c.lift_rel) if c is not None else None)
        status = start_rollout(reg, plan, by=by, why=why)
        return f"{eid}: rollout started — {fmt_pct(status.share, 0)} of traffic on {variant} ({plan.describe()})"
    if req.action == "advance_rollout":
        status = rollout_status(reg, eid)
        series = None
        if status.started_at is not None and status.state == "promoting":
            # the same event monitor as `workbench experiments advance` and the scheduled cycle
            from ..lifecycle.watch import rollout_series
            with service.lock:
                series = rollout_series(reg, eid, db=service.db)
        usable = series is not None and not series.frame.empty and series.baseline_rate is not None
        if not usable and not req.force and status.state == "promoting":
            raise InputError([Problem("blocked", "no_traffic", "no traffic since this stage started, so the rollback "
                                      "monitor has nothing to judge; tick 'force' to advance on your word",
                                      column="force")])
        r = advance_rollout(reg, eid, frame=series.frame if usable else None, by=by, why=why, force=req.force,
                            baseline_rate=series.baseline_rate if usable else None)
        monitor = f" (monitor: {r.monitor.status} — {r.monitor.reason})" if r.monitor is not None else ""
        return f"{eid}: {r.outcome.replace('_', ' ')} — {r.reason}{monitor}"
    raise InputError([Problem("blocked", "unknown_action", "unknown action", column="action", value=req.action)])
