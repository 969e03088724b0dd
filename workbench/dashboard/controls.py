"""Operator controls on the detail page: built only for operators, checked again on every click.

Each button sends an :class:`~workbench.dashboard.actions.ActionRequest` with the reason typed in
the form to :func:`~workbench.dashboard.actions.perform`, together with the identity the server
reads *at click time* (:func:`~workbench.dashboard.session.session_identity`), so even a control
that reached a viewer's page would be refused. The registry's answer — done, or why it refused an
illegal transition — is shown under the buttons.
"""

from __future__ import annotations

from typing import Any, Callable

import panel as pn
from panel.viewable import Viewer

from ..aa import AA_REFUSAL
from ..display import escape
from ..lifecycle.states import allowed_actions
from .actions import AA_REFUSED, ACTIONS, ActionRequest, ActionResult, perform
from .session import AppState, in_background, session_identity
from .ui import alert_html

__all__ = ["OperatorControls", "EXPERIMENT_ACTIONS"]

EXPERIMENT_ACTIONS = ("pause", "resume", "force_winner", "start_rollout", "advance_rollout", "rollback")
# the state-machine action each control needs (to mark which ones the current state allows)
_NEEDS = {"pause": "pause", "resume": "resume", "force_winner": "stop", "start_rollout": "promote",
          "advance_rollout": "advance", "rollback": "rollback"}


class OperatorControls(Viewer):
    """Pause / resume, force winner, start or advance a staged rollout, roll back, promotion period."""

    def __init__(self, service: Any, state: AppState, identity_fn: Callable[[], Any] = session_identity,
                 **params: Any) -> None:
        super().__init__(**params)
        self.service, self.state, self.identity_fn = service, state, identity_fn
        self.reason = pn.widgets.TextInput(label="Reason (required — recorded in the audit log)",
                                           placeholder="why are you doing this?", sizing_mode="stretch_width",
                                           css_classes=["wb-reason"])
        self.variant = pn.widgets.Select(label="Variant (force winner / rollout)", options=[], width=240)
        self.force = pn.widgets.Checkbox(label="advance without waiting for the dwell time or the monitor", value=False)
        self.buttons = {a: pn.widgets.Button(label=ACTIONS[a], color="default", css_classes=[f"wb-act-{a}"])
                        for a in EXPERIMENT_ACTIONS}
        for a, b in self.buttons.items():
            b.on_click(lambda _e, a=a: self.submit(a))
        self.promo_value = pn.widgets.RadioButtonGroup(options=["on", "off"], value="off", color="default")
        self.promo_button = pn.widgets.Button(label="Set promotion period", css_classes=["wb-act-promotion_period"])
        self.promo_button.on_click(lambda _e: self.submit("promotion_period"))
        self.message = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["wb-action-message"])
        self.status = pn.pane.HTML("", sizing_mode="stretch_width")
        self.last_result: ActionResult | None = None
        self._experiment: str | None = None
        self._layout = pn.Column(
            pn.pane.HTML("<h3 style='margin:4px 0'>Operator controls</h3>"), self.status, self.reason,
            pn.Row(self.variant, self.force), pn.Row(*self.buttons.values()),
            pn.Row(pn.pane.HTML("<span class='wb-muted'>Promotion period (all experiments):</span>"),
                   self.promo_value, self.promo_button),
            self.message, css_classes=["wb-card", "wb-controls"], sizing_mode="stretch_width")

    def set_experiment(self, outcome: Any, record: Any, promotion_period: bool) -> None:
        """Point the controls at an experiment: its variants, its state and which actions it allows."""
        variants = list(outcome.data.variants) if outcome is not None else []
        winner = outcome.decision.winner if outcome is not None else None
        self.variant.options = variants
        if variants:
            self.variant.value = winner if winner in variants else (variants[1] if len(variants) > 1 else variants[0])
        state = record.state if record is not None else None
        allowed = set(allowed_actions(state)) if state else set()
        aa = outcome is not None and outcome.result.aa is not None
        for a, b in self.buttons.items():
            b.color = "primary" if _NEEDS[a] in allowed else "default"
            b.visible = not (aa and a in AA_REFUSED)     # an A/A experiment has nothing to launch
        self.variant.visible = not aa
        self.promo_value.value = "on" if promotion_period else "off"
        if record is None:
            self.status.object = alert_html("this experiment is not in the registry; register it to act on it", "info")
        else:
            self.status.object = (f"<span class='wb-muted'>state <b>{escape(state)}</b>; the state machine allows: "
                                  f"{escape(', '.join(sorted(allowed)) or 'nothing')} (highlighted buttons)</span>"
                                  + (f"<br><span class='wb-muted wb-aa-note'>{escape(AA_REFUSAL)}.</span>" if aa else ""))
        eid = outcome.experiment_id if outcome is not None else None
        if eid != self._experiment:
            self._experiment = eid
            self.message.object = ""

    def request(self, action: str) -> ActionRequest:
        return ActionRequest(action=action, why=self.reason.value or "", experiment_id=self.state.experiment or None,
                             variant=self.variant.value, value=self.promo_value.value, force=bool(self.force.value))

    def submit(self, action: str) -> None:
        """Run one action with the identity the server knows now; show the registry's answer."""
        req = self.request(action)
        identity = self.identity_fn()
        self.message.object = alert_html(f"{ACTIONS.get(action, action)}: working…", "info")
        for b in (*self.buttons.values(), self.promo_button):
            b.disabled = True
        in_background(lambda: perform(self.service, identity, req), self._show)

    def _show(self, result: ActionResult) -> None:
        self.last_result = result
        for b in (*self.buttons.values(), self.promo_button):
            b.disabled = False
        self.message.object = alert_html(result.message, "ok" if result.ok else "error")
        if result.ok:
            self.reason.value = ""
            self.state.tick += 1

    def __panel__(self) -> Any:
        return self._layout
