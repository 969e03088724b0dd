"""Browser tests: a real ``workbench serve`` (panel serve) on a free port, driven by Debian's Chromium.

The server runs against a copy of the small sample world with its registry, a credentials file
with an operator (``ops``) and a viewer (``lee``), and a reports directory with one memo. The tests
skip when ``/usr/bin/chromium`` is missing, except in CI (``WORKBENCH_REQUIRE_BROWSER=1``), where
they fail. Screenshots go to ``tests/ui/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from workbench.dashboard.auth import add_user
from workbench.dashboard.server import serving
from workbench.lifecycle import Registry, seed_from_world

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORDS = {"ops": "operator-password", "lee": "viewer-password"}


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (Debian package chromium; .ci/run installs it)"
    if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def serve_world(root: Path, db: Path, reports: Path) -> Iterator[dict[str, Any]]:
    """A real ``workbench serve`` over ``db`` with the operator ``ops`` and the viewer ``lee``."""
    users = root / "users.yaml"
    add_user(users, "ops", PASSWORDS["ops"], "operator", rounds=4)
    add_user(users, "lee", PASSWORDS["lee"], "viewer", rounds=4)
    env = {**os.environ, "WORKBENCH_DB": str(db), "WORKBENCH_REPORTS": str(reports)}
    env.pop("WORKBENCH_CONFIG", None)
    try:
        with serving(users, db=db, reports=reports, log=root / "serve.log", env=env) as base:
            yield {"base": base, "db": db, "reports": reports, "users": users, "log": root / "serve.log"}
    except RuntimeError as exc:         # the server exited or never got ready: its log says why
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def ui_server(small_world, tmp_path_factory) -> Iterator[dict[str, Any]]:
    require_browser()
    root = tmp_path_factory.mktemp("ui")
    db = root / "world.duckdb"
    shutil.copy(small_world["db"], db)
    seed_from_world(Registry(db), by="demo")
    reports = root / "reports"
    (reports / "pdp-home-lcp").mkdir(parents=True)
    (reports / "pdp-home-lcp" / "memo.html").write_text("<h1>Decision memo: pdp-home-lcp</h1>", encoding="utf-8")
    yield from serve_world(root, db, reports)


@pytest.fixture(scope="session")
def browser(ui_server, chromium_browser) -> Any:
    return chromium_browser                 # the session's one browser (tests/conftest.py)


LOCAL = ("http://localhost:", "http://127.0.0.1:", "ws://localhost:", "ws://127.0.0.1:", "data:", "blob:")


def _outside(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(LOCAL)]


@pytest.fixture(scope="session")
def logins(browser, ui_server) -> Iterator[Any]:
    """One logged-in browser context per user for the whole session (the login page is checked too)."""
    contexts: dict[str, Any] = {}

    def context_for(user: str) -> Any:
        if user not in contexts:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            seen: list[str] = []
            page.on("request", lambda r: seen.append(r.url))
            page.goto(f"{ui_server['base']}/app")
            page.fill("#username", user)
            page.fill("#password", PASSWORDS[user])
            page.click("#login")
            page.wait_for_selector(".wb-eid", timeout=60_000)
            assert _outside(seen) == [], f"the login page made requests off the machine: {_outside(seen)}"
            page.close()
            contexts[user] = ctx
        return contexts[user]
    yield context_for
    for ctx in contexts.values():
        ctx.close()


class Session:
    """A new tab of a logged-in user, recording every request the page makes."""

    def __init__(self, context: Any, base: str) -> None:
        self.base, self.context = base, context
        self.requests: list[str] = []
        self.page = context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("websocket", lambda ws: self.requests.append(ws.url))
        self.page.goto(f"{base}/app")
        self.page.wait_for_selector(".wb-eid", timeout=60_000)

    def goto(self, query: str, wait_for: str) -> None:
        self.page.goto(f"{self.base}/app?{query}")
        self.page.wait_for_selector(wait_for, timeout=60_000)

    def wait_text(self, selector: str, text: str, *, contains: bool = False, timeout: float = 60.0) -> None:
        """Poll until the element's text is (or contains) ``text``; the page updates itself, no reload."""
        deadline = time.monotonic() + timeout
        while True:
            loc = self.page.locator(selector)
            shown = loc.first.inner_text().strip() if loc.count() else ""
            if (text in shown) if contains else (shown == text):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{selector} shows {shown[:300]!r}, not {text!r}")
            self.page.wait_for_timeout(200)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def outside_requests(self) -> list[str]:
        return _outside(self.requests)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def as_user(logins, ui_server) -> Iterator[Any]:
    sessions: list[Session] = []

    def open_tab(user: str) -> Session:
        s = Session(logins(user), ui_server["base"])
        sessions.append(s)
        return s
    yield open_tab
    for s in sessions:
        s.close()
