"""HTTP endpoints served beside the app (``panel serve --plugins workbench.dashboard.api``).

* ``POST /api/actions`` — an operator action as JSON (see :mod:`workbench.dashboard.actions`), for
  scripts and on-call tooling. The caller is identified by the same signed login cookie as the
  pages; the role comes from the credentials file on the server. Requests must be
  ``application/json`` and same-origin by their ``Origin`` or, without one, their ``Referer`` (so
  another site cannot post on an operator's behalf).
* ``GET /api/status`` — whether the first refresh has finished, the snapshot version, whether it is
  the analysis of the previous data (kept from before the server started, see
  :mod:`workbench.dashboard.store`), how far a running analysis is, whether the per-experiment
  caches are still being filled, and the server's CPU seconds so far (no data).
* ``GET /api/experiments`` and ``GET /api/experiments/<id>`` — each experiment's story
  (:class:`workbench.story.ExperimentStory`: health, decision and reasons, best variant, primary
  lifts with intervals and p-values, current allocation) as of the snapshot the pages show; the
  same object ``workbench decide --json`` and the report's ``summary.json`` are built from, with
  ``previous_data: true`` while the snapshot is the analysis of the previous data.
* ``GET /reports/<id>/<file>`` — generated reports and memos (login required when login is on).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from typing import Any
from urllib.parse import urlparse

import tornado.web

from ..config import Paths
from ..errors import InputError
from .actions import perform, request_from_mapping
from .auth import AccessConfig
from .login import COOKIE_NAME, current_user

__all__ = ["ROUTES", "ActionHandler", "StatusHandler", "ExperimentsHandler", "ReportsHandler", "request_identity",
           "same_origin"]


def _loopback(ip: str | None) -> bool:
    try:
        return ipaddress.ip_address(ip or "").is_loopback
    except ValueError:
        return False


def request_identity(handler: tornado.web.RequestHandler) -> Any:
    """The identity of an HTTP request as the server establishes it (cookie + credentials file)."""
    access = AccessConfig.from_env()
    if access.mode == "password":
        return access.identity(current_user(handler))
    if access.mode == "oauth":
        raw = handler.get_secure_cookie(COOKIE_NAME)
        return access.identity(raw.decode("utf-8") if raw else None)
    if access.local_operator and not _loopback(handler.request.remote_ip):
        return AccessConfig(mode="none").identity(None)
    return access.identity(None)


def _authenticated(handler: tornado.web.RequestHandler) -> bool:
    access = AccessConfig.from_env()
    if access.mode == "none":
        return True
    return request_identity(handler).user is not None


def same_origin(request: Any) -> bool:
    """False when the request says it comes from another site: its ``Origin`` (``null`` included), or,
    without one, its ``Referer`` names another host. Scripts that send neither are let through (they
    carry the login cookie only if they were given it; a browser always sends one of the two on a
    cross-site POST)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlparse(origin).netloc == request.host
    referer = request.headers.get("Referer")
    if referer is not None:
        return urlparse(referer).netloc == request.host
    return True


class _JSONHandler(tornado.web.RequestHandler):
    def reply(self, status: int, payload: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, default=str))


class ActionHandler(_JSONHandler):
    """``POST /api/actions``: perform one operator action (403 for viewers, 401 without login)."""

    async def post(self) -> None:
        from .service import get_service
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return self.reply(415, {"ok": False, "message": "send the action as application/json"})
        if not same_origin(self.request):
            return self.reply(403, {"ok": False, "message": "cross-origin requests are refused"})
        if not _authenticated(self):
            return self.reply(401, {"ok": False, "message": "log in first"})
        try:
            req = request_from_mapping(json.loads(self.request.body or b"{}"))
        except json.JSONDecodeError as exc:
            return self.reply(400, {"ok": False, "message": f"not valid JSON: {exc}"})
        except InputError as exc:
            return self.reply(400, {"ok": False, "message": str(exc)})
        result = await asyncio.to_thread(perform, get_service(), request_identity(self), req)
        self.reply(result.status, result.to_dict())


class StatusHandler(_JSONHandler):
    """``GET /api/status``: readiness of the data (for health checks and tests)."""

    def get(self) -> None:
        from .service import get_service
        svc = get_service()
        snap = svc.snapshot
        progress = svc.progress
        self.reply(200, {"ready": snap.ready and not snap.pending, "version": snap.version, "error": snap.error is not None,
                         "warming": svc.warming, "previous": snap.previous, "loading": snap.loading,
                         "analysing": None if progress is None else {"done": progress[0], "of": progress[1]},
                         "cpu_seconds": time.process_time()})      # the server's CPU time since it started


class ExperimentsHandler(_JSONHandler):
    """``GET /api/experiments[/<id>]``: the stories of the snapshot's experiments (login required when on)."""

    def get(self, experiment_id: str | None = None) -> None:
        from .service import get_service
        if not _authenticated(self):
            return self.reply(401, {"ok": False, "message": "log in first"})
        svc = get_service()
        snap = svc.snapshot
        if not snap.ready or snap.loading or snap.pending:
            return self.reply(503, {"ok": False, "message": "the data are still loading"})
        if experiment_id:
            if experiment_id not in snap.outcomes:
                return self.reply(404, {"ok": False, "message": f"no experiment {experiment_id!r}"})
            return self.reply(200, {**svc.story(experiment_id, snap).to_dict(), "previous_data": snap.previous})
        self.reply(200, {"as_of": snap.as_of, "version": snap.version, "previous_data": snap.previous,
                         "experiments": [svc.story(eid, snap).to_dict() for eid in snap.outcomes]})


class ReportsHandler(tornado.web.StaticFileHandler):
    """Generated reports under ``WORKBENCH_REPORTS``, for logged-in users only (when login is on)."""

    def prepare(self) -> None:
        if not _authenticated(self):
            raise tornado.web.HTTPError(401)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")


ROUTES = [
    (r"/api/actions", ActionHandler),
    (r"/api/status", StatusHandler),
    (r"/api/experiments/?", ExperimentsHandler),
    (r"/api/experiments/([^/]+)", ExperimentsHandler),
    (r"/reports/(.*)", ReportsHandler, {"path": str(Paths.default().reports)}),
]
