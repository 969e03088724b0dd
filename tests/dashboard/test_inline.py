"""The dashboard's views inline in a notebook: the same parts, built by the same functions, as the detail page.
(``explore()``, which analyses an experiment first, runs in notebooks/cuped_and_segments, executed by the
notebook tests.)"""

from __future__ import annotations

import panel as pn

from workbench.dashboard.data import current_weights
from workbench.dashboard.detail import ExperimentDetail
from workbench.dashboard.inline import ExperimentView
from workbench.dashboard.session import AppState

from .conftest import VIEWER


def test_inline_view_shows_what_the_detail_page_shows(shared_service):
    snap = shared_service.snapshot
    eid = "pdp-home-lcp"
    o = snap.outcomes[eid]
    detail = ExperimentDetail(shared_service, AppState(page="experiment", experiment=eid), VIEWER)
    detail.update(snap)
    view = ExperimentView(o, weights=current_weights(o, snap.registry, snap.bandits), segments=detail.dim.value)
    for part in ("header", "badges", "decision", "tiles"):    # one story: the same HTML, character for character
        assert getattr(view, part).object == getattr(detail, part).object, part
    for name in ("funnel", "posterior", "chance", "forest"):
        assert view.plots[name].renderers == detail.plots[name].renderers, name
        assert view.plots[name].renderers, name                   # and they draw something
    shown = pn.panel(o)                                           # ExperimentOutcome.__panel__ in a notebook
    html = "\n".join(str(p.object) for p in shown.select(pn.pane.HTML))
    assert view.decision.object in html and view.header.object in html and "wb-tile" in html
    assert len(shown.select(pn.pane.Bokeh)) == 4
