"""The dashboard application: header, navigation and pages, refreshed from the server's snapshot.

``panel-app/app.py`` (the ``panel serve`` entry) calls :func:`create_app` once per browser
session. The session reads the server-wide snapshot of :class:`~workbench.dashboard.service.DashboardService`
— it never runs the analysis itself — and polls its version every
``dashboard.session_poll_seconds``: when the server's scheduled refresh (or an operator action)
produced a new snapshot, the visible page redraws and the header shows the new as-of time.
"""

from __future__ import annotations

from typing import Any

import panel as pn
from panel.viewable import Viewer

from ..config import get_settings
from ..display import escape, fmt_count
from .login import LOGOUT_URL
from .portfolio import PortfolioView
from .service import get_service
from .session import AppState, session_identity
from .ui import CSS, alert_html, fmt_time

__all__ = ["DashboardApp", "create_app", "previous_banner"]

_NAV = {"Portfolio": "portfolio", "Experiment": "experiment", "Autopilot": "autopilot", "Simulator": "simulator"}


def previous_banner(snap: Any, doing: str = "") -> str:
    """What every page says while it shows the analysis the server kept from before its start: the data or the
    registry changed since, so its verdicts are those of the previous data until the refresh completes."""
    return (f'<div class="wb-alert wb-alert-info" id="wb-previous">Showing the analysis of the <b>previous data</b> '
            f"(as of {escape(fmt_time(snap.as_of))}, analysed {escape(fmt_time(snap.refreshed_at))}): the data or the "
            f"registry changed since, and its decisions may no longer hold. "
            f"{escape(doing.capitalize() + '…' if doing else 'Re-analysing…')}</div>")


class _Pages(dict):
    """The session's pages, each built (and its module imported) when it is first shown: a new session's first
    paint is the portfolio, and the experiment page's plotting stack is not needed for it."""

    def __init__(self, app: "DashboardApp") -> None:
        super().__init__()
        self._app = app

    def __missing__(self, page: str) -> Any:
        app = self._app
        if page == "portfolio":
            view = PortfolioView(app.service, app.state)
        elif page == "experiment":
            from .detail import ExperimentDetail
            view = ExperimentDetail(app.service, app.state, app.identity)
        elif page == "autopilot":
            from .autopilot_page import AutopilotPage
            view = AutopilotPage(app.service, app.state)
        elif page == "simulator":
            from .simulator_page import SimulatorPage
            view = SimulatorPage(app.service, app.state)
        else:
            raise KeyError(page)
        self[page] = view
        return view


class DashboardApp(Viewer):
    """One browser session of the dashboard."""

    def __init__(self, service: Any = None, identity: Any = None, **params: Any) -> None:
        super().__init__(**params)
        self.service = service or get_service()
        self.identity = identity or session_identity()
        self.state = AppState()
        self.nav = pn.widgets.RadioButtonGroup(options=_NAV, value="portfolio", color="default",
                                               css_classes=["wb-nav"])
        self.nav.param.watch(lambda e: setattr(self.state, "page", e.new), "value")
        self.status = pn.pane.HTML("", css_classes=["wb-status-pane"])
        self.banner = pn.pane.HTML("", sizing_mode="stretch_width")
        self.pages: dict[str, Any] = _Pages(self)       # built on first visit
        self.main = pn.Column(sizing_mode="stretch_width")
        self._seen: dict[str, int] = {}
        self._version = -1
        self.current_page: str | None = None
        self._checked: Any = None
        self._progress: Any = None
        self.state.param.watch(self._on_page, "page")
        self.state.param.watch(lambda _e: self._show(), "experiment")
        self.state.param.watch(lambda _e: self.poll(), "tick")
        who = self.identity.user or "anonymous"
        logout = f' · <a href="{LOGOUT_URL}">sign out</a>' if self.identity.mode == "password" else ""
        self.user = pn.pane.HTML(f'<span class="wb-status" id="wb-user">{escape(who)} ({escape(self.identity.role)})'
                                 f"{logout}</span>")
        self._layout = pn.Column(
            pn.Row(pn.pane.HTML('<h1 class="wb-title">Experiment Workbench</h1>'), self.nav, pn.layout.HSpacer(),
                   self.user, sizing_mode="stretch_width", css_classes=["wb-header"]),
            self.status, self.banner, self.main, sizing_mode="stretch_width")
        self._show()

    def _on_page(self, event: Any) -> None:
        if self.nav.value != event.new and event.new in _NAV.values():
            self.nav.value = event.new
        self._show()

    def poll(self) -> None:
        """Redraw when the server's snapshot moved on (called periodically and after an action)."""
        snap = self.service.snapshot
        if snap.version != self._version:
            self._version = snap.version
            self._show()
        elif self.service.progress != self._progress:
            self._show_progress(snap)
        elif snap.ready and self.service.checked_at != self._checked:
            self._status(snap)

    def _progress_text(self) -> str:
        """``analysing 37 of 500 experiments`` while the server's refresh runs (else "")."""
        self._progress = progress = self.service.progress
        if progress is None:
            return ""
        done, total = progress
        return f"analysing {fmt_count(done)} of {fmt_count(total)} experiments"

    def _show_progress(self, snap: Any) -> None:
        """The banner of a snapshot that is not (yet) the analysis of the current data."""
        doing = self._progress_text()
        if not snap.ready:
            self.banner.object = alert_html("The server is analysing the data for the first time" +
                                            (f": {doing}" if doing else "") + "; the page fills in by itself.", "info")
        elif snap.previous:
            self.banner.object = previous_banner(snap, doing)
        elif snap.pending:
            self.banner.object = alert_html("The server is analysing the portfolio for the first time" +
                                            (f": {doing}" if doing else "") + ". Decisions and health fill in as "
                                            "each experiment is done.", "info")

    def _status(self, snap: Any) -> None:
        """The header line: the data's as-of time and when the server last checked for new data."""
        self._checked = self.service.checked_at
        checked = self._checked or snap.refreshed_at
        refresh = get_settings().dashboard.refresh_seconds
        self.status.object = (f'<span class="wb-status" id="wb-asof" data-version="{snap.version}">data as of '
                              f"<b>{escape(fmt_time(snap.as_of))}</b> · checked {escape(fmt_time(checked))} "
                              f"(every {refresh:g} s)</span>")

    def _show(self) -> None:
        snap = self.service.snapshot
        if not snap.ready:
            self.status.object = '<span class="wb-status">loading data…</span>'
            self._show_progress(snap)
            self.main.objects = []
            self.current_page = None
            return
        self._status(snap)
        if snap.error:
            self.banner.object = alert_html(f"the last refresh failed, showing the previous data: {snap.error}", "error")
        elif snap.previous or snap.pending:
            self._show_progress(snap)
        else:
            self.banner.object = ""
        page = self.state.page if self.state.page in _NAV.values() else "portfolio"
        view = self.pages[page]
        if page == "experiment":
            view.update(snap)
        elif self._seen.get(page) != snap.version:
            view.update(snap)
        self._seen[page] = snap.version
        if self.current_page != page:
            self.current_page = page
            self.main.objects = [view]

    def __panel__(self) -> Any:
        return self._layout


def create_app() -> Any:
    """A new session's app, synced with the URL and polling the server's snapshot."""
    pn.extension("tabulator", raw_css=[CSS], notifications=False)
    app = DashboardApp()
    if pn.state.location is not None:
        pn.state.location.sync(app.state, {"page": "page", "experiment": "experiment"})
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        def loaded() -> None:            # the page is in the browser: the server may read the rest of its snapshot
            if app.service.snapshot.ready:
                app.service.page_shown()
        pn.state.onload(loaded)
        period = int(get_settings().dashboard.session_poll_seconds * 1000)
        pn.state.add_periodic_callback(app.poll, period=period)
        if not app.service.snapshot.ready:          # opened while the server starts: paint as soon as data are there
            soon: list = []

            def poll_soon() -> None:
                app.poll()
                if app.service.snapshot.ready and soon:
                    soon[0].stop()
                    app.service.page_shown()
            soon.append(pn.state.add_periodic_callback(poll_soon, period=200))
    return app

