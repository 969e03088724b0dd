"""The Panel components, built without a server: what each page holds, roles, polling, and no PII."""

from __future__ import annotations

import re
from types import SimpleNamespace

import duckdb
import panel as pn
import pytest

from workbench.dashboard.app import DashboardApp
from workbench.dashboard.controls import OperatorControls
from workbench.dashboard.session import AppState

from .conftest import OPERATOR, VIEWER


def _html(obj) -> str:
    """Every HTML string and Tabulator cell inside a Panel object tree."""
    out = []
    for pane in obj.select(pn.pane.HTML):
        out.append(str(pane.object or ""))
    for table in obj.select(pn.widgets.Tabulator):
        out.append(table.value.to_string())
    return "\n".join(out)


@pytest.fixture
def viewer_app(shared_service):
    return DashboardApp(service=shared_service, identity=VIEWER)


def test_portfolio_lists_every_experiment_and_filters(viewer_app, shared_service):
    page = viewer_app.pages["portfolio"]
    assert viewer_app.current_page == "portfolio"
    assert len(page.table.value) == 13
    for eid in shared_service.snapshot.outcomes:
        assert eid in _html(viewer_app._layout)
    page.categories.value = ["beauty"]
    assert len(page.table.value) == 2
    page.categories.value = []
    page.search.value_input = "canary"
    assert len(page.table.value) == 1 and "ml-ranker-canary" in page.table.value.iloc[0]["experiment_id"]
    assert "as of" in viewer_app.status.object and "2026-11-19" in viewer_app.status.object


def test_clicking_a_row_opens_the_detail_page(viewer_app, shared_service):
    page = viewer_app.pages["portfolio"]
    row = page._shown.index[page._shown["experiment_id"] == "pdp-home-lcp"][0]
    page._open(SimpleNamespace(row=int(row)))
    assert viewer_app.state.page == "experiment" and viewer_app.state.experiment == "pdp-home-lcp"
    detail = viewer_app.pages["experiment"]
    assert viewer_app.current_page == "experiment"
    assert "360° product viewer" in detail.header.object and "pdp-home-lcp" in detail.header.object
    assert detail.tiles.object.count('class="wb-tile"') == 2
    assert "guardrail" in detail.badges.object and "limit crossed" in detail.badges.object
    o = shared_service.snapshot.outcomes["pdp-home-lcp"]
    assert o.decision.reason.split(":")[0] in detail.decision.object
    for name, plot in detail.plots.items():
        assert plot.renderers, name                               # every plot draws something
    assert detail.plots["trend"].renderers == ["control", "treatment"] and detail.plots["chance"].renderers == ["treatment"]
    assert "not generated yet" in detail.links.object
    assert "Decision log" in detail.log.object and "registered from the simulated world" in detail.log.object


def test_switching_experiment_replaces_the_contents(viewer_app):
    viewer_app.state.param.update(page="experiment", experiment="pdp-shoes-hero")
    detail = viewer_app.pages["experiment"]
    assert "pdp-shoes-hero" in detail.header.object
    detail.select.value = "pdp-electronics-cta"                    # the picker on the detail page
    assert viewer_app.state.experiment == "pdp-electronics-cta"
    assert detail.tiles.object.count('class="wb-tile"') == 3 and "pdp-electronics-cta" in detail.header.object
    assert detail.plots["trend"].renderers == ["control", "urgent", "benefit"]
    assert detail.plots["funnel"].renderers == ["benefit", "control", "urgent"]
    assert detail.plots["posterior"].figure.title.text == "Posterior of each arm's cvr (Beta(1, 1) prior)"


def test_viewers_get_no_controls_operators_do(shared_service):
    viewer = DashboardApp(service=shared_service, identity=VIEWER)
    viewer.state.param.update(page="experiment", experiment="pdp-shoes-hero")
    assert viewer.pages["experiment"].controls is None
    assert "Operator controls" not in _html(viewer._layout)
    assert not viewer._layout.select(pn.widgets.Button)
    operator = DashboardApp(service=shared_service, identity=OPERATOR)
    operator.state.param.update(page="experiment", experiment="pdp-shoes-hero")
    controls = operator.pages["experiment"].controls
    assert controls is not None and "Operator controls" in _html(operator._layout)
    assert {b.label for b in controls.buttons.values()} >= {"Pause", "Resume", "Force winner", "Roll back"}
    assert controls.buttons["pause"].color == "primary" and controls.buttons["resume"].color == "default"


def test_controls_ask_the_server_for_the_role_at_click_time(service):
    state = AppState(experiment="pdp-shoes-hero", page="experiment")
    controls = OperatorControls(service, state, identity_fn=lambda: VIEWER)   # a control that reached a viewer
    controls.set_experiment(service.snapshot.outcome("pdp-shoes-hero"), None, False)
    controls.reason.value = "forged"
    controls.submit("pause")
    assert controls.last_result.status == 403 and "wb-alert-error" in controls.message.object
    assert service._reg().get("pdp-shoes-hero").state == "running"
    controls.identity_fn = lambda: OPERATOR
    controls.reason.value = ""
    controls.submit("pause")
    assert controls.last_result.status == 400 and "say why" in controls.message.object   # a reason is required
    controls.reason.value = "looks off"
    controls.submit("pause")
    assert controls.last_result.ok and service._reg().get("pdp-shoes-hero").state == "hold"
    assert controls.reason.value == "" and state.tick == 1
    controls.reason.value = "again"
    controls.submit("pause")
    assert controls.last_result.status == 409 and "cannot pause an experiment that is hold" in controls.message.object


def test_sessions_read_the_snapshot_and_never_refresh_it(service):
    count = service.refresh_count
    apps = [DashboardApp(service=service, identity=VIEWER) for _ in range(2)]
    for app in apps:
        app.poll()
        app.state.param.update(page="experiment", experiment="reco-model-v2")
    assert service.refresh_count == count
    version = service.snapshot.version
    service._reg().transition("reco-model-v2", "pause", by="kim", why="test")
    service.refresh_registry(background=False)
    for app in apps:
        app.poll()
        assert f'data-version="{version + 1}"' in app.status.object
        assert "hold" in app.pages["experiment"].header.object


def test_autopilot_page_shows_the_budget_and_candidates(shared_service):
    app = DashboardApp(service=shared_service, identity=VIEWER)
    app.state.page = "autopilot"
    page = app.pages["autopilot"]
    assert app.current_page == "autopilot"
    plan = shared_service.snapshot.autopilot
    assert "Traffic budget" in page.budget.object and f"{plan.traffic_budget * 100:.0f}%" in page.budget.object
    assert "wb-candidates" in page.candidates.object
    assert plan.candidates[0].product_id in page.candidates.object


def test_no_user_identifiers_reach_any_page(shared_service):
    con = duckdb.connect(str(shared_service.db), read_only=True)
    keys = [r[0] for r in con.execute("SELECT DISTINCT user_key FROM events").fetchall()]
    ips = [r[0] for r in con.execute("SELECT DISTINCT ip_hash FROM events").fetchall()]
    con.close()
    app = DashboardApp(service=shared_service, identity=OPERATOR)
    pages = [_html(app._layout)]
    app.state.page = "autopilot"
    pages.append(_html(app._layout))
    app.state.page = "experiment"
    for eid in shared_service.snapshot.outcomes:
        app.state.experiment = eid
        pages.append(_html(app._layout))
    text = "\n".join(pages)
    assert len(text) > 50_000
    found = [k for k in keys + ips if k and k in text]
    assert found == []
    assert not re.search(r"[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}", text)       # no e-mail addresses


def test_a_bandit_without_logged_allocations_says_so_once(service):
    """A bandit before its first `workbench allocate` (or a world from before allocations were logged)."""
    from dataclasses import replace

    import pandas as pd
    snap = service.snapshot
    none = replace(snap.bandits["pdp-home-bandit"], current=None, current_at=None, current_decision=None,
                   n_decisions=0, decisions=pd.DataFrame())
    allocations = snap.allocations[snap.allocations["experiment_id"] != "pdp-home-bandit"] \
        if snap.allocations is not None and "experiment_id" in snap.allocations else snap.allocations
    service.publish(replace(snap, bandits={**snap.bandits, "pdp-home-bandit": none}, allocations=allocations))
    app = DashboardApp(service=service, identity=VIEWER)
    app.state.param.update(page="experiment", experiment="pdp-home-bandit")
    page = app.pages["experiment"]
    assert service.snapshot.bandits["pdp-home-bandit"].empty
    log = page.log.object.lower()
    assert log.count("no allocation decision") == 1 and "bandit allocation decisions" not in log
    assert not page.allocation.visible                   # no empty chart repeating it


def test_the_bandit_detail_lists_its_recent_allocation_decisions(service):
    import datetime as dt
    from dataclasses import replace

    import pandas as pd

    from workbench.bandits import allocate, record_plan
    counts = pd.DataFrame({"variant": ["control", "cozy", "minimal"], "units": [900, 950, 1000],
                           "conversions": [30, 41, 55]})
    plan = allocate(counts, experiment_id="pdp-home-bandit", seed=1,
                    now=dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC).isoformat())
    record_plan(plan, db=service.db)
    service.publish(replace(service.snapshot, allocations=service._allocations()))
    app = DashboardApp(service=service, identity=VIEWER)
    app.state.param.update(page="experiment", experiment="pdp-home-bandit")
    page = app.pages["experiment"]
    log = page.log.object
    assert "Bandit allocation decisions (last hour of the log)" in log
    history = service.snapshot.bandits["pdp-home-bandit"]         # the allocation now: the log, as of the data
    assert history.current and page.allocation.visible and page.allocation[0].object.visible
    steps = [r for r in page.allocation[0].object.renderers if type(r.glyph).__name__ == "Step"]
    assert [s.data_source.data["variant"][0] for s in steps] == list(history.variants)   # one step line per arm
    from workbench.bandits.history import fmt_weight
    assert "wb-allocation-now" in log and all(fmt_weight(w) in page.tiles.object for w in history.current.values())
    for arm in plan.arms:
        assert arm.reason[:40] in log.replace("&#x27;", "'")
    app.state.experiment = "reco-model-v2"                   # a fixed-split test shows no such section
    assert "Bandit allocation decisions" not in app.pages["experiment"].log.object
    assert not app.pages["experiment"].allocation.visible
