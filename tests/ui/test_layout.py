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
    """One tab visits every page in turn; every problem of every page is listed at once."""
    s = as_user("lee")
    s.page.set_viewport_size({"width": 1366, "height": 900})
    found: dict[str, list[str]] = {}
    for query, ready in PAGES:
        s.goto(query, ready)
        settle(s.page)
        problems = layout_problems(s.page)
        if problems:
            found[query] = problems
            s.screenshot("layout-" + query.split("=")[-1])
    assert found == {}, "\n".join(f"{q}:\n  " + "\n  ".join(p) for q, p in found.items())
