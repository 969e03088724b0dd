"""Script payloads in every free-text field of a brief, the world and the audit log never run in the dashboard.

Two experiments of a private copy of the small world carry payloads in their name, category, owner,
hypothesis and variant meta tags (ids and variant names are safe ids by rule, so they cannot); the
audit log gets a payload as the reason of a pause. Every page is opened as a viewer and as an
operator; no dialog may open and no element that the payloads would create may exist.
"""

from __future__ import annotations

import json
import shutil
from typing import Any, Iterator

import duckdb
import pytest

from workbench.lifecycle import Registry, seed_from_world

from .conftest import PASSWORDS, require_browser, serve_world
from .layout import settle

pytestmark = pytest.mark.ui

PAYLOADS = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "\"><svg onload=alert(1)>",
            "<a href=\"javascript:alert(1)\">click</a>")
EVIL = ("pdp-shoes-hero", "pdp-electronics-cta")
# what the payloads would create if they were parsed as HTML (the dashboard itself makes none of these)
INJECTED = ("img[onerror]", "svg[onload]", "script:text-matches('alert\\\\(1\\\\)')", "a[href^='javascript:']")


def poison_world(db) -> None:
    """Put the payloads into every free-text column of two world experiments (before they are registered)."""
    text = " ".join(PAYLOADS)
    con = duckdb.connect(str(db))
    try:
        for i, eid in enumerate(EVIL):
            meta = json.loads(con.execute("SELECT variant_meta FROM world_experiments WHERE experiment_id = ?",
                                          [eid]).fetchone()[0])
            meta = {v: {k: f"{PAYLOADS[j % len(PAYLOADS)]}{k}" for j, k in enumerate(tags)}
                    for v, tags in meta.items()}
            con.execute("UPDATE world_experiments SET name = ?, category = ?, owner = ?, hypothesis = ?, "
                        "variant_meta = ? WHERE experiment_id = ?",
                        [f"{text} name", f"{text} cat{i}", f"{text} owner", text, json.dumps(meta), eid])
    finally:
        con.close()


@pytest.fixture(scope="module")
def evil_server(small_world, tmp_path_factory) -> Iterator[dict[str, Any]]:
    require_browser()
    root = tmp_path_factory.mktemp("ui-evil")
    db = root / "world.duckdb"
    shutil.copy(small_world["db"], db)
    poison_world(db)
    reg = Registry(db)
    seed_from_world(reg, by="demo")
    reg.transition(EVIL[1], "pause", by="ops", why=" ".join(PAYLOADS))
    reports = root / "reports"
    reports.mkdir()
    yield from serve_world(root, db, reports)


@pytest.fixture(scope="module")
def evil_browser(evil_server, chromium_browser) -> Any:
    return chromium_browser


def _injected(page) -> list[str]:
    found = [sel for sel in INJECTED if page.locator(sel).count()]
    # Bokeh/Panel widgets live in shadow roots; querySelectorAll does not enter them, so walk them too
    found += page.evaluate("""() => {
        const out = [];
        const walk = (root) => {
            for (const el of root.querySelectorAll('*')) {
                const tag = el.tagName.toLowerCase();
                if ((tag === 'img' && el.hasAttribute('onerror')) || (tag === 'svg' && el.hasAttribute('onload'))
                    || (tag === 'script' && el.textContent.includes('alert(1)'))
                    || (tag === 'a' && (el.getAttribute('href') || '').startsWith('javascript:')))
                    out.push(tag + ' in ' + (root.host ? root.host.tagName : 'document'));
                if (el.shadowRoot) walk(el.shadowRoot);
            }
        };
        walk(document);
        return out; }""")
    return found


@pytest.mark.parametrize("user", ["lee", "ops"])
def test_script_payloads_in_briefs_never_run(evil_browser, evil_server, user):
    ctx = evil_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    dialogs: list[str] = []
    where = ["login"]
    page.on("dialog", lambda d: (dialogs.append(f"{where[0]}: {d.message}"), d.dismiss()))
    base = evil_server["base"]
    page.goto(f"{base}/app")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("#login")
    page.wait_for_selector(".wb-eid", timeout=60_000)
    seen: dict[str, list[str]] = {}
    where[0] = "portfolio"
    # the portfolio, with the Category filter's list opened (its options are the payload categories)
    settle(page)
    assert page.get_by_text(f"{PAYLOADS[0]}", exact=False).count() >= 1                      # shown as text
    page.locator(".choices").nth(1).click()            # open the Category filter: the payload categories listed
    settle(page)
    seen["portfolio"] = _injected(page)
    page.keyboard.press("Enter")                        # choose the first (a payload): shown as a chip, and it filters
    for _ in range(100):
        if page.locator(".wb-eid").count() == 1:
            break
        page.wait_for_timeout(200)
    assert [page.locator(".wb-eid").inner_text()] == [EVIL[0]]
    seen["portfolio filtered"] = _injected(page)
    for eid in EVIL:
        where[0] = eid
        page.goto(f"{base}/app?page=experiment&experiment={eid}")
        page.wait_for_selector("#wb-experiment-title", timeout=60_000)
        settle(page)
        seen[eid] = _injected(page)
        assert page.get_by_text("onerror=alert(1)").count() >= 1                       # shown as text
    for name, ready in (("autopilot", ".wb-budget"), ("simulator", ".wb-sim-run button")):
        where[0] = name
        page.goto(f"{base}/app?page={name}")
        page.wait_for_selector(ready, timeout=60_000)
        settle(page)
        seen[name] = _injected(page)
    # the simulator's arm names are typed in by the user: payloads as names end up in its table and state line
    where[0] = "simulator run"
    page.fill(".wb-sim-rates input", "0.04, 0.06")
    page.fill(".wb-sim-names input", f"{PAYLOADS[0]}, {PAYLOADS[2]}")
    page.click(".wb-sim-run button")
    state = page.locator("#wb-sim-state")
    for _ in range(900):                           # up to 3 minutes: the run asked for, with the payload names
        if state.count() and state.get_attribute("data-state") == "done" and "<svg" in state.inner_text():
            break
        page.wait_for_timeout(200)
    assert "onload=alert(1)" in state.inner_text()                                    # shown as text
    seen["simulator run"] = _injected(page)
    ctx.close()
    assert dialogs == []
    assert {k: v for k, v in seen.items() if v} == {}
