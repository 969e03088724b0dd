"""The login and logout pages and the signed ``user`` cookie, as Tornado request handlers.

``panel serve --auth-module workbench/dashboard/auth_hooks.py`` plugs these into the server (see
:mod:`workbench.dashboard.auth_hooks`). The login page is self-contained (inline CSS, no scripts,
no web fonts) so it works without any network. A successful login sets the ``user`` cookie signed
with the server's cookie secret (Tornado secure cookie, the same one Panel reads as
``pn.state.user``), HTTP-only and SameSite=Lax. Passwords are checked with bcrypt off the event loop;
repeated failures for one name are throttled. The form carries Tornado's XSRF token.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import tornado.web

from ..config import get_settings
from ..display import escape
from .auth import AccessConfig, LoginThrottle

__all__ = ["LoginHandler", "LogoutHandler", "current_user", "safe_next", "LOGIN_URL", "LOGOUT_URL", "COOKIE_NAME"]

LOGIN_URL = "/login"
LOGOUT_URL = "/logout"
COOKIE_NAME = "user"
_COOKIE_DAYS = 1

_throttle: LoginThrottle | None = None


def _get_throttle() -> LoginThrottle:
    global _throttle
    if _throttle is None:
        s = get_settings().dashboard
        _throttle = LoginThrottle(s.login_max_failures, s.login_lockout_seconds)
    return _throttle


def safe_next(target: str | None, default: str = "/app") -> str:
    """Only same-site relative paths are followed after login (no open redirect).

    >>> safe_next("/app?page=autopilot"), safe_next("https://elsewhere.example/")
    ('/app?page=autopilot', '/app')
    """
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def current_user(handler: tornado.web.RequestHandler) -> str | None:
    """The user of a request: a valid signed cookie naming a user still in the credentials file."""
    raw = handler.get_secure_cookie(COOKIE_NAME, max_age_days=_COOKIE_DAYS)
    if not raw:
        return None
    user = raw.decode("utf-8")
    access = AccessConfig.from_env()
    if access.mode == "password":
        try:
            creds = access.credentials()
        except Exception:  # noqa: BLE001 - an unreadable file logs everybody out rather than crash
            return None
        if user not in creds.users:
            return None
    return user


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Experiment Workbench — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f4f6f8; margin: 0; color: #1f2933; }}
main {{ max-width: 360px; margin: 12vh auto; background: #fff; padding: 28px 32px; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.25rem; margin: 0 0 4px; }} p.sub {{ color: #52606d; margin: 0 0 20px; font-size: .9rem; }}
label {{ display: block; font-size: .85rem; margin: 12px 0 4px; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: 8px; font-size: 1rem;
       border: 1px solid #cbd2d9; border-radius: 4px; }}
button {{ margin-top: 20px; width: 100%; padding: 9px; font-size: 1rem; background: #1f5fa8; color: #fff;
       border: 0; border-radius: 4px; cursor: pointer; }}
.error {{ color: #b42318; background: #fef3f2; padding: 8px; border-radius: 4px; font-size: .9rem; }}
</style></head>
<body><main>
<h1>Experiment Workbench</h1><p class="sub">Sign in to the dashboard</p>
{error}
<form method="post" action="{action}">
{xsrf}
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label><input id="username" name="username" type="text" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login">Sign in</button>
</form></main></body></html>"""


class LoginHandler(tornado.web.RequestHandler):
    """GET shows the form; POST checks the password (bcrypt) and sets the signed ``user`` cookie."""

    def _render(self, error: str = "", status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        nxt = safe_next(self.get_argument("next", None))
        self.write(_PAGE.format(error=f'<p class="error" id="login-error">{escape(error)}</p>' if error else "",
                                action=escape(LOGIN_URL), xsrf=self.xsrf_form_html(), next=escape(nxt)))

    def get(self) -> None:
        self._render()

    async def post(self) -> None:
        self.check_xsrf_cookie()
        name = self.get_argument("username", "").strip()
        password = self.get_argument("password", "")
        throttle = _get_throttle()
        if throttle.blocked(name):
            self._render("too many failed attempts for this user; wait a few minutes and try again", 429)
            return
        access = AccessConfig.from_env()
        try:
            creds = access.credentials()
        except Exception as exc:  # noqa: BLE001 - show the operator what is wrong with the file
            self._render(f"the server's credentials file cannot be read: {exc}", 500)
            return
        ok = await asyncio.to_thread(creds.verify, name, password)
        if not ok:
            throttle.failed(name)
            self._render("invalid user name or password", 401)
            return
        throttle.succeeded(name)
        self.set_secure_cookie(COOKIE_NAME, name, expires_days=_COOKIE_DAYS, httponly=True, samesite="Lax")
        self.redirect(safe_next(self.get_argument("next", None)))


class LogoutHandler(tornado.web.RequestHandler):
    """Clears the login cookie and returns to the login page."""

    def get(self) -> None:
        self.clear_cookie(COOKIE_NAME)
        self.redirect(LOGIN_URL)
