"""One headless Chromium per report run, printing every report's PDF over the DevTools protocol.

Starting Chromium costs about as much as printing a report with it, so a run starts one browser
(:class:`PdfPrinter`, once its first reports are gathered, beside their notebooks) and each report worker
(a process, :mod:`workbench.reports.workers`) prints through its own DevTools connection to it, in one
tab reused for its next reports, with the same page settings and waiting rule as ``chromium --headless
--print-to-pdf --virtual-time-budget=15000`` (the page runs in virtual time until nothing is pending or the budget is spent, then
``Page.printToPDF`` with the page's CSS size, backgrounds, no header or footer).

Like the one-shot print (:func:`workbench.reports.render.html_to_pdf`, still used when the browser
cannot be started), the browser is started with ``die_with_parent`` from the run's thread and is
marked with the run's pid (:func:`workbench.processes.child_env`): it dies with the run even on
``kill -9``, and its profile folder ``workbench-chromium-<pid>-*`` is removed by the next run. Each
PDF is written to a temporary file and renamed, so a report never holds half a PDF.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..files import file_mode
from ..processes import PROFILE_PREFIX, child_env, die_with_parent, remove_profile
from .render import CHROMIUM_FLAGS, VIRTUAL_TIME_BUDGET_MS, PdfError, html_to_pdf

__all__ = ["PdfPrinter", "PdfTimeout", "start_printer", "print_pdf", "CHROMIUM_FLAGS", "VIRTUAL_TIME_BUDGET_MS"]

SCRIPTED = "wb-scripted"
"""The class :func:`workbench.reports.html.embed` gives a plot without a static drawing: a page holding one is
printed with its scripts running, so that BokehJS draws it (every other page is printed without JavaScript)."""

PRINT = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}
"""``Page.printToPDF`` parameters as ``--print-to-pdf --no-pdf-header-footer`` sets them."""


class PdfTimeout(PdfError):
    """Chromium did not finish printing in time (the one-shot print would not do better)."""


class _Connection:
    """One thread's DevTools connection to the browser (flat sessions: one socket, many tabs)."""

    def __init__(self, url: str, timeout: float) -> None:
        import websocket
        # no UTF-8 check of each reply in pure Python: a PDF comes back as ~1 MB of base64 (ASCII), and the
        # check took ~12 % of a report worker's CPU; a malformed reply still fails to parse as JSON
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True, skip_utf8_validation=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.tab: tuple[str, str] | None = None       # (target, session) of this connection's tab
        self.scripts: bool | None = None              # whether the tab runs the page's scripts (None: not set)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             deadline: float | None = None) -> dict[str, Any]:
        n = next(self.ids)
        msg: dict[str, Any] = {"id": n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = self._recv(deadline)
            if reply.get("id") == n:
                if "error" in reply:
                    raise PdfError(f"Chromium: {method}: {reply['error'].get('message', reply['error'])}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, session: str, deadline: float) -> dict[str, Any]:
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return self.events.pop(i)
            reply = self._recv(deadline)
            if "method" in reply:
                self.events.append(reply)

    def _recv(self, deadline: float | None) -> dict[str, Any]:
        import websocket
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.ws.settimeout(left)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise TimeoutError from None

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001 - a connection to a browser that is gone needs no goodbye
            pass


class PdfPrinter:
    """A headless Chromium kept for a run's PDFs (see the module doc). Start it from the run's thread."""

    def __init__(self, chromium: str, *, start_timeout: float = 30.0, launch: bool = True) -> None:
        self._setup(chromium, tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-"), start_timeout, time.time())
        self._owns_profile = True
        if launch:
            self.launch()

    def launch(self) -> None:
        """Start the browser (once; from the run's thread). A run launches it when its first reports are
        gathered, not at its start: the browser's start then runs beside the first notebook instead of
        taking CPU from the gathering, and it is ready well before the first PDF."""
        if self.proc is not None:
            return
        self._started, self._t0 = time.time(), time.monotonic()     # the start deadline counts from here
        # the browser dies with the thread that starts it (the run's) and is marked as the run's for the reaper
        try:
            self.proc = subprocess.Popen([self.chromium, *CHROMIUM_FLAGS, "--remote-debugging-port=0",
                                          f"--user-data-dir={self.profile}", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, env=child_env(), preexec_fn=die_with_parent)
        except OSError as exc:      # each report then tries the one-shot print, which says why per experiment
            self._error = f"Chromium ({self.chromium}) could not be started: {exc}"

    def _setup(self, chromium: str, profile: str, start_timeout: float, started: float) -> None:
        """The state a printer has whether it started the browser or attached to one (no process yet)."""
        self.chromium, self.profile = chromium, profile
        self.proc: subprocess.Popen[bytes] | None = None
        self._local = threading.local()
        self._conns: list[_Connection] = []
        self._guard = threading.Lock()
        self._url: str | None = None
        self._error: str | None = None
        self._start_timeout, self._started = start_timeout, started
        self._owns_profile = False
        self._t0 = time.monotonic() - max(0.0, time.time() - started)     # the start deadline counts from `started`

    def spec(self) -> dict[str, Any]:
        """What a report worker process needs to print through this browser (:meth:`attach`)."""
        return {"chromium": self.chromium, "profile": self.profile, "started": self._started,
                "start_timeout": self._start_timeout, "error": self._error}

    @classmethod
    def attach(cls, chromium: str, profile: str, started: float, start_timeout: float = 30.0,
               error: str | None = None) -> "PdfPrinter":
        """A printer using the browser another process started (:meth:`spec`); it neither stops the browser nor
        removes its profile. ``error``: why that browser could not be started (each print then says so)."""
        self = cls.__new__(cls)
        self._setup(chromium, profile, start_timeout, started)
        self._error = error
        return self

    def _endpoint(self) -> str:
        """The browser's DevTools URL, once it has written ``DevToolsActivePort`` into its profile."""
        with self._guard:
            if self._url is not None:
                return self._url
            if self._error is not None:
                raise PdfError(self._error)
            port_file = Path(self.profile) / "DevToolsActivePort"
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    self._error = f"Chromium ({self.chromium}) exited at start (exit {self.proc.returncode})"
                    raise PdfError(self._error)
                try:
                    lines = port_file.read_text().split()
                except OSError:
                    lines = []
                if len(lines) >= 2:
                    self._url = f"ws://127.0.0.1:{lines[0]}{lines[1]}"
                    return self._url
                if time.monotonic() - self._t0 > self._start_timeout:
                    self._error = f"Chromium ({self.chromium}) did not start within {self._start_timeout:g} s"
                    raise PdfError(self._error)
                time.sleep(0.02)

    def _connection(self, timeout: float) -> _Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _Connection(self._endpoint(), timeout)
            self._local.conn = conn
            with self._guard:
                self._conns.append(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def print_pdf(self, html: str | Path, pdf: str | Path, *, timeout: float) -> Path:
        """Print ``html`` to ``pdf`` (atomically) in this thread's tab; :class:`PdfError` when Chromium cannot.

        Each thread keeps its tab for its next prints (the page is replaced by the next navigation): a new
        tab per report cost a new renderer process each time, ~0.35 s of CPU a report. The PDFs are the
        same (only the DOM node numbers of the PDF's structure tree and its dates differ)."""
        from websocket import WebSocketException

        src, dst = Path(html).resolve(), Path(pdf)
        dst.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        conn: _Connection | None = None
        ok = False
        try:
            conn = self._connection(timeout)
            if conn.tab is None:
                target = conn.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
                conn.tab, conn.scripts = (target, ""), None
                sid = conn.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                deadline=deadline)["sessionId"]
                conn.tab = (target, sid)
                conn.call("Page.enable", session=sid, deadline=deadline)
                # laid out and drawn for print from the start: printing then does not lay out and redraw the
                # page (and its plots) a second time (0.1 s of a report's 1.3 s print; the pages are the same)
                conn.call("Emulation.setEmulatedMedia", {"media": "print"}, session=sid, deadline=deadline)
            sid = conn.tab[1]
            # no JavaScript: the page prints its plots' static drawings (workbench.reports.svg); BokehJS drawing
            # the interactive plots for nothing was ~70 % of Chromium's CPU for a print. A page with a plot that
            # has no static drawing (SCRIPTED) runs its scripts, so that BokehJS draws that plot.
            scripts = SCRIPTED.encode() in src.read_bytes()
            if conn.scripts is not scripts:
                conn.call("Emulation.setScriptExecutionDisabled", {"value": not scripts}, session=sid,
                          deadline=deadline)
                conn.scripts = scripts
            # as --virtual-time-budget does: paused virtual time while navigating, then the budget
            conn.call("Emulation.setVirtualTimePolicy", {"policy": "pause"}, session=sid, deadline=deadline)
            conn.call("Page.navigate", {"url": src.as_uri()}, session=sid, deadline=deadline)
            conn.call("Emulation.setVirtualTimePolicy", {"policy": "pauseIfNetworkFetchesPending",
                                                         "budget": VIRTUAL_TIME_BUDGET_MS},
                      session=sid, deadline=deadline)
            conn.wait_event("Emulation.virtualTimeBudgetExpired", sid, deadline)
            data = conn.call("Page.printToPDF", PRINT, session=sid, deadline=deadline)["data"]
            ok = True
        except TimeoutError:
            self._drop_connection()       # a reply may still arrive on it: the next print starts afresh
            raise PdfTimeout(f"{src.name}: Chromium did not finish printing within {timeout:g} s") from None
        except (OSError, ValueError, KeyError, WebSocketException) as exc:   # the browser went away, a bad reply
            self._drop_connection()
            raise PdfError(f"{src.name}: Chromium could not print the PDF ({type(exc).__name__}: {exc})") from None
        finally:
            # a tab whose print failed is closed; the next print opens a new one
            if not ok and conn is not None and conn.tab is not None and getattr(self._local, "conn", None) is conn:
                target, conn.tab = conn.tab[0], None
                try:
                    conn.call("Target.closeTarget", {"targetId": target}, deadline=time.monotonic() + 5)
                except (PdfError, TimeoutError, OSError, ValueError, WebSocketException):
                    self._drop_connection()
        fd, tmp = tempfile.mkstemp(prefix=".report.", suffix=".pdf", dir=dst.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(base64.b64decode(data))
            os.chmod(tmp, file_mode())
            os.replace(tmp, dst)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return dst

    def stop(self) -> None:
        """Close the connections and ask the browser to quit, without waiting (:meth:`close` waits): a run
        stops its browser when the last PDF is printed and waits for it after recording and indexing."""
        with self._guard:
            conns, self._conns = self._conns, []
        for c in conns:
            c.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def close(self) -> None:
        """Close the connections, stop the browser and remove its profile (also when it was never launched; a
        printer attached to another process's browser only closes its connections)."""
        self.stop()
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._owns_profile:
            remove_profile(self.profile)


def start_printer(chromium: str | None, *, launch: bool = True) -> PdfPrinter | None:
    """The run's browser for its PDFs (call from the run's thread: it dies with the run), or None;
    ``launch=False``: the browser starts at :meth:`PdfPrinter.launch`."""
    if chromium is None:
        return None
    try:
        return PdfPrinter(chromium, launch=launch)
    except OSError:      # no profile folder: each report tries the one-shot print, which says why per experiment
        return None


def print_pdf(html: Path, pdf: Path, *, chromium: str, timeout: float, printer: PdfPrinter | None = None) -> Path:
    """Print with the run's browser; with a one-shot Chromium when there is none or it failed (not timed out)."""
    if printer is not None:
        try:
            return printer.print_pdf(html, pdf, timeout=timeout)
        except PdfTimeout:
            raise
        except PdfError:
            pass
    return html_to_pdf(html, pdf, chromium=chromium, timeout=timeout)
