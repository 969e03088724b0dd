"""Per-session state: which page and experiment are shown, and who the session belongs to.

:func:`session_identity` asks the server — the signed login cookie Panel decodes as
``pn.state.user`` and the credentials file — never a widget value, so a role cannot be claimed
from the browser. :func:`in_background` runs slow work (database reads, registry writes) in a worker
thread and applies the result to the page on the server's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import param

from .auth import AccessConfig, Identity

__all__ = ["PAGES", "AppState", "session_identity", "in_background"]

PAGES = ("portfolio", "experiment", "autopilot", "simulator")


class AppState(param.Parameterized):
    """What this browser tab shows; synced with the URL (``?page=experiment&experiment=<id>``)."""

    page = param.Selector(default="portfolio", objects=list(PAGES))
    experiment = param.String(default="")
    tick = param.Integer(default=0, doc="bumped after an operator action so the page re-reads the snapshot")


def session_identity() -> Identity:
    """The identity of the current Panel session, as the server established it."""
    import panel as pn
    access = AccessConfig.from_env()
    user = pn.state.user if access.mode in ("password", "oauth") else None
    return access.identity(user)


def in_background(work: Callable[[], Any], apply: Callable[[Any], None]) -> None:
    """Run ``work`` in a thread, then ``apply`` its result on the session's next tick, with the
    document lock held (so ``apply`` may change Bokeh models directly). Without a server session
    (tests, notebooks) both run here and now."""
    import panel as pn

    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        apply(work())
        return

    async def job() -> None:
        result = await asyncio.to_thread(work)
        doc.add_next_tick_callback(lambda: apply(result))

    pn.state.execute(job)
