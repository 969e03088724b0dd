"""Browser tests: a real ``workbench serve`` (panel serve) on a free port, driven by Debian's Chromium.

The server runs against a copy of the small sample world with its registry, a credentials file
with an operator (``ops``) and a viewer (``lee``), and a reports directory with one memo. The tests
skip when ``/usr/bin/chromium`` is missing, except in CI (``WORKBENCH_REQUIRE_BROWSER=1``), where
they fail. Screenshots go to ``tests/ui/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from workbench.dashboard.auth import add_user
from workbench.lifecycle import Registry, seed_from_world

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORDS = {"ops": "operator-password", "lee": "viewer-password"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (Debian package chromium; .ci/run installs it)"
    if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _status(base: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{base}/api/status", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


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
    users = root / "users.yaml"
    add_user(users, "ops", PASSWORDS["ops"], "operator", rounds=4)
    add_user(users, "lee", PASSWORDS["lee"], "viewer", rounds=4)
    port = _free_port()
    base = f"http://localhost:{port}"
    log = open(root / "serve.log", "w")
    env = {**os.environ, "WORKBENCH_DB": str(db), "WORKBENCH_REPORTS": str(reports)}
    env.pop("WORKBENCH_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--auth", str(users),
                             "--db", str(db), "--reports", str(reports)], stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"workbench serve exited with {proc.returncode}:\n{(root / 'serve.log').read_text()}")
            status = _status(base)
            if status and status["ready"]:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the dashboard did not get ready:\n{(root / 'serve.log').read_text()}")
        yield {"base": base, "db": db, "reports": reports, "users": users, "log": root / "serve.log", "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="session")
def browser(ui_server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


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
