"""The dashboard in a real browser: pages, roles, operator actions, refused forgeries, offline resources."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from workbench.lifecycle import Registry

pytestmark = pytest.mark.ui

DEMO = ("pdp-shoes-hero", "pdp-electronics-cta", "pdp-beauty-srm", "pdp-home-lcp", "pdp-fashion-5xx",
        "pdp-shoes-stockout", "pdp-electronics-price", "pdp-beauty-novelty", "reco-model-v2", "ml-ranker-canary",
        "pdp-home-bandit", "aa-pipeline-check", "pdp-longtail-coldstart")


def _registry(ui_server) -> Registry:
    return Registry(ui_server["db"], lock_timeout=60)


def test_login_is_required_and_wrong_passwords_are_refused(browser, ui_server):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{ui_server['base']}/app")
    assert page.url.startswith(f"{ui_server['base']}/login")
    page.fill("#username", "ops")
    page.fill("#password", "not-the-password")
    page.click("#login")
    assert "invalid user name or password" in page.inner_text("#login-error")
    with pytest.raises(urllib.error.HTTPError) as err:                        # reports need a login too
        urllib.request.urlopen(f"{ui_server['base']}/reports/pdp-home-lcp/memo.html", timeout=10)
    assert err.value.code == 401
    ctx.close()


def _wait_rows(s, n: int, timeout_ms: int = 30_000) -> None:
    """Poll until the portfolio table shows ``n`` rows (the table redraws after the page label)."""
    for _ in range(timeout_ms // 100):
        if s.page.locator(".wb-eid").count() == n:
            return
        s.page.wait_for_timeout(100)
    raise AssertionError(f"the portfolio shows {s.page.locator('.wb-eid').count()} rows, not {n}")


def test_portfolio_lists_the_demo_experiments(as_user):
    s = as_user("lee")
    for eid in DEMO:
        s.page.wait_for_selector(f".wb-eid:text-is('{eid}')", timeout=30_000)
    assert s.page.locator(".wb-eid").count() == len(DEMO)
    assert "data as of" in s.page.inner_text("#wb-asof")
    assert s.page.locator(".wb-badge[data-kind='srm']").count() >= 10
    s.screenshot("portfolio")
    s.page.locator(".wb-page-size select").select_option("10")                # the server sends one page at a time
    s.wait_text("#wb-portfolio-page", f"rows 1–10 of {len(DEMO)} · page 1 of 2")
    _wait_rows(s, 10)
    first_page = set(s.page.locator(".wb-eid").all_inner_texts())
    s.page.click(".wb-page-next button")
    s.wait_text("#wb-portfolio-page", f"rows 11–{len(DEMO)} of {len(DEMO)} · page 2 of 2")
    _wait_rows(s, len(DEMO) - 10)
    second_page = set(s.page.locator(".wb-eid").all_inner_texts())
    assert len(second_page) == len(DEMO) - 10 and first_page | second_page == set(DEMO)
    assert s.outside_requests() == []


def test_detail_page_shows_tiles_plots_and_links(as_user):
    s = as_user("lee")
    s.page.click(".wb-eid:text-is('pdp-home-lcp')")                             # click through from the portfolio
    s.page.wait_for_selector("#wb-experiment-title", timeout=30_000)
    assert "pdp-home-lcp" in s.page.inner_text("#wb-experiment-title")
    assert s.page.locator(".wb-tile").count() == 2
    s.page.wait_for_function("document.querySelectorAll('*').length > 0")
    s.page.wait_for_timeout(500)
    canvases = s.page.locator("canvas").count()
    assert canvases >= 5                                                         # trend, funnel, posterior, chance, forest
    assert "limit crossed" in s.page.inner_text(".wb-badges")
    memo = s.page.locator("a:text-is('Decision memo')")
    assert memo.count() == 1 and memo.get_attribute("href") == "/reports/pdp-home-lcp/memo.html"
    assert "PDF report: not generated yet" in s.page.inner_text(".wb-links")
    body = s.context.request.get(f"{s.base}/reports/pdp-home-lcp/memo.html")
    assert body.status == 200 and "Decision memo" in body.text()
    s.screenshot("detail")
    assert s.outside_requests() == []


def test_an_operator_pauses_and_the_registry_and_audit_log_show_it(as_user, ui_server):
    s = as_user("ops")
    s.goto("page=experiment&experiment=pdp-shoes-hero", "#wb-experiment-title")
    assert s.page.inner_text("#wb-state") == "running"
    s.page.fill(".wb-reason input", "mobile conversion looks broken")
    s.page.click(".wb-act-pause button")
    s.wait_text(".wb-action-message .wb-alert", "paused", contains=True)
    s.wait_text("#wb-state", "hold")
    s.wait_text("#wb-audit", "mobile conversion looks broken", contains=True)
    s.page.fill(".wb-reason input", "second try")                              # an illegal transition
    s.page.click(".wb-act-pause button")
    s.wait_text(".wb-action-message .wb-alert", "cannot pause an experiment that is hold", contains=True)
    assert s.page.locator(".wb-alert-error").count() == 1
    s.screenshot("detail-operator")
    reg = _registry(ui_server)                                               # the database itself
    assert reg.get("pdp-shoes-hero").state == "hold"
    audit = reg.audit("pdp-shoes-hero")
    last = audit.iloc[-1]
    assert (last["actor"], last["action"], last["why"]) == ("ops", "pause", "mobile conversion looks broken")
    assert "second try" not in set(audit["why"])                             # the refused action left no trace
    assert reg.verify_audit().ok
    assert s.outside_requests() == []


def test_a_viewer_sees_no_controls_and_a_forged_request_is_refused(as_user, ui_server):
    s = as_user("lee")
    s.goto("page=experiment&experiment=pdp-electronics-cta", "#wb-experiment-title")
    assert s.page.locator(".wb-controls").count() == 0
    assert s.page.locator("text=Operator controls").count() == 0
    assert s.page.locator(".wb-act-pause").count() == 0
    reg = _registry(ui_server)
    audit_before = len(reg.audit())
    forged = s.page.evaluate("""async () => {
        const r = await fetch('/api/actions', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({action: 'pause', experiment_id: 'pdp-electronics-cta', why: 'forged'})});
        return [r.status, await r.json()]; }""")
    assert forged[0] == 403 and "viewer role" in forged[1]["message"] and forged[1]["ok"] is False
    anonymous = urllib.request.Request(f"{ui_server['base']}/api/actions", method="POST",
                                       data=json.dumps({"action": "pause", "experiment_id": "pdp-electronics-cta",
                                                        "why": "no login"}).encode(),
                                       headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(anonymous, timeout=10)
    assert err.value.code == 401
    cross_site = s.context.request.post(f"{s.base}/api/actions", headers={"Origin": "https://evil.example"},
                                        data={"action": "pause", "experiment_id": "pdp-electronics-cta", "why": "x"})
    assert cross_site.status == 403
    reg = _registry(ui_server)
    assert reg.get("pdp-electronics-cta").state == "running" and len(reg.audit()) == audit_before
    s.screenshot("detail-viewer")
    assert s.outside_requests() == []


def test_autopilot_page(as_user):
    s = as_user("lee")
    s.page.click("button:text-is('Autopilot')")
    s.page.wait_for_selector(".wb-budget", timeout=30_000)
    text = s.page.inner_text(".wb-budget")
    assert "in use" in text and "budget" in text
    assert s.page.locator("#wb-candidates tr").count() > 5
    s.screenshot("autopilot")
    assert s.outside_requests() == []


def test_open_pages_follow_the_server_without_a_reload(as_user, ui_server):
    viewer = as_user("lee")
    viewer.goto("page=experiment&experiment=pdp-shoes-stockout", "#wb-experiment-title")
    version = int(viewer.page.get_attribute("#wb-asof", "data-version"))
    assert viewer.page.inner_text("#wb-state") == "running"
    ops = as_user("ops")                                  # an operator acts through the JSON endpoint
    r = ops.context.request.post(f"{ops.base}/api/actions", data={"action": "pause", "why": "stock is low",
                                                                  "experiment_id": "pdp-shoes-stockout"})
    assert r.status == 200 and r.json()["state"] == "hold"
    viewer.wait_text("#wb-state", "hold")                 # the open page polled the server's snapshot
    assert int(viewer.page.get_attribute("#wb-asof", "data-version")) > version
    assert viewer.outside_requests() == [] and ops.outside_requests() == []


def test_simulator_page_compares_ab_thompson_and_ucb(as_user):
    s = as_user("lee")
    s.page.click("button:text-is('Simulator')")
    s.page.wait_for_selector(".wb-sim-run button", timeout=30_000)
    s.page.fill(".wb-sim-rates input", "0.04, 0.06")
    s.page.fill(".wb-sim-names input", "control, better")
    s.page.click(".wb-sim-run button")
    # Opening the page already simulated the world's three arms; wait for the two-arm run that was asked for.
    s.wait_text("#wb-sim-state", "100 of 100 replications · 20,000 visitors each · best arm better", contains=True,
                timeout=120)
    table = s.page.inner_text("#wb-sim-table")
    for name in ("fixed A/B split", "Thompson sampling", "UCB1"):
        assert name in table
    assert s.page.locator(".wb-simulator canvas").count() >= 4         # regret + traffic share per strategy
    s.screenshot("simulator")
    assert s.outside_requests() == []


def test_an_operator_post_from_another_site_is_refused_by_origin_or_referer(as_user, ui_server):
    ops = as_user("ops")
    reg = _registry(ui_server)
    audit_before = len(reg.audit())
    body = {"action": "pause", "experiment_id": "pdp-beauty-novelty", "why": "forged"}
    for headers in ({"Referer": "https://evil.example/page"},                 # no Origin, a foreign Referer
                    {"Origin": "null"}, {"Origin": "https://evil.example"},
                    {"Origin": "https://evil.example", "Referer": f"{ops.base}/app"}):
        r = ops.context.request.post(f"{ops.base}/api/actions", headers=headers, data=body)
        assert r.status == 403 and r.json()["message"] == "cross-origin requests are refused", headers
    reg = _registry(ui_server)
    assert reg.get("pdp-beauty-novelty").state == "running" and len(reg.audit()) == audit_before
    ok = ops.context.request.post(f"{ops.base}/api/actions", headers={"Referer": f"{ops.base}/app"},
                                  data={**body, "why": "same site"})
    assert ok.status == 200 and ok.json()["state"] == "hold"
