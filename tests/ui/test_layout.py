"""Every dashboard page, as a stakeholder sees it: no empty chart frames, nothing cut at an edge,
no message shown twice (see ``layout.py`` for what each check looks for)."""

from __future__ import annotations

import pytest

from .layout import layout_problems, settle
from .test_dashboard_ui import DEMO

pytestmark = pytest.mark.ui

PAGES = [("page=portfolio", ".wb-eid"), ("page=autopilot", ".wb-budget"), ("page=simulator", "canvas")] + [
    (f"page=experiment&experiment={eid}", "#wb-experiment-title") for eid in DEMO]


def test_every_page_layout(as_user) -> None:
    """One tab visits every page in turn; every problem of every page is listed at once. The first experiment
    page is opened by its address, the others by picking them in its Experiment list, as a user goes from one
    to the next (so what a switch leaves behind of the previous experiment is checked too)."""
    s = as_user("lee")
    s.page.set_viewport_size({"width": 1366, "height": 900})
    found: dict[str, list[str]] = {}
    on_detail = False
    for query, ready in PAGES:
        eid = query.partition("experiment=")[2]
        if eid and on_detail:
            s.page.locator(".wb-picker select").select_option(eid)
            s.wait_text("#wb-experiment-title", f"({eid})", contains=True)
        else:
            s.goto(query, ready)
            on_detail = bool(eid)
        settle(s.page)
        problems = layout_problems(s.page)
        if problems:
            found[query] = problems
            s.screenshot("layout-" + query.split("=")[-1])
    assert found == {}, "\n".join(f"{q}:\n  " + "\n  ".join(p) for q, p in found.items())
