"""The dashboard's views inline in a notebook: the same parts, built by the same functions, as the detail page."""

from __future__ import annotations

import panel as pn

from workbench.dashboard.app import DashboardApp
from workbench.dashboard.data import current_weights
from workbench.dashboard.inline import ExperimentView, explore

from .conftest import VIEWER


def test_inline_view_shows_what_the_detail_page_shows(shared_service):
    snap = shared_service.snapshot
    eid = "pdp-home-lcp"
    o = snap.outcomes[eid]
    app = DashboardApp(service=shared_service, identity=VIEWER)
    app.state.param.update(page="experiment", experiment=eid)
    detail = app.pages["experiment"]
    view = ExperimentView(o, weights=current_weights(o, snap.registry, snap.bandits),
                          segments=detail.dim.value)
    for part in ("header", "badges", "decision", "tiles"):          # one story: the same HTML, character for character
        assert getattr(view, part).object == getattr(detail, part).object, part
    for name in ("funnel", "posterior", "chance", "forest"):
        assert view.plots[name].renderers == detail.plots[name].renderers, name
        assert view.plots[name].renderers, name                     # and they draw something
    laid_out = pn.panel(view)
    assert view.decision in laid_out.select(pn.pane.HTML)


def test_pn_panel_of_an_outcome_and_explore(mini_world):
    view = explore("pdp-shoes-hero", db=mini_world)
    assert "pdp-shoes-hero" in view.header.object and 'class="wb-tile"' in view.tiles.object
    assert view.segments in view.outcome.data.dims and view.plots["forest"].renderers
    shown = pn.panel(view.outcome)                                  # ExperimentOutcome.__panel__
    html = "\n".join(str(p.object) for p in shown.select(pn.pane.HTML))
    assert view.decision.object in html and view.tiles.object in html
