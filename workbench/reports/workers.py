"""Report workers: one Python process per worker thread of a run, reused for its reports, started early.

A worker process builds whole reports: papermill executes the report notebook in the worker's own
IPython shell (:mod:`workbench.reports.inprocess`; no Jupyter kernel, no messages), nbconvert exports
the executed notebook as HTML and the run's Chromium prints the PDF
(:func:`workbench.reports.runner.build_one`). The run's threads hand it one :class:`BuildJob` at a time
and wait for its :class:`ReportOutcome`, one JSON line each way over its stdin and stdout (what a
notebook prints goes to the cell's outputs, never into that channel).

* **Start early.** :meth:`WorkerPool.prestart` starts the run's workers while the run gathers its
  inputs; each imports the analysis, plotting and notebook stack, draws two small plots and exports
  a small notebook (the first-use set-up of Bokeh and nbconvert) before its first report. The report's plots
  are plain Bokeh: a worker imports neither HoloViews nor Panel (tested).
* **Reuse.** A worker thread keeps its process for its next reports (each notebook runs in a fresh
  namespace); a process that died or did not answer in time is replaced (the report it was building
  fails, with that said), and each is replaced after :data:`MAX_WORKER_USES` reports.
* **Die with the run.** Every worker is started with ``die_with_parent`` from the run's thread or a
  worker thread, so it dies with the run even on ``kill -9`` (see :mod:`workbench.processes`), and the
  one-shot Chromium a worker may start dies with the worker.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..processes import child_env, die_with_parent
from ._imports import skip_slow_optional_imports

skip_slow_optional_imports()   # nbformat's jsonschema would compile rfc3987_syntax's grammars (seconds) in each worker

__all__ = ["WorkerPool", "WorkerError", "MAX_WORKER_USES", "job_deadline"]

MAX_WORKER_USES = 50
READY = "ready"


class WorkerError(Exception):
    """The worker process died or did not answer in time."""


def job_deadline(job: Any) -> float:
    """Seconds a worker may take for one report before it is stopped: a cell's timeout (each cell is also
    interrupted on its own after it), the PDF's and five minutes for the rest."""
    return float(job.cell_timeout) + float(job.pdf_timeout) + 300.0


def _env() -> dict[str, str]:
    """The run's environment, marked as the run's, with this ``workbench`` package first on the path."""
    env = child_env()
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self, warm: bool = True) -> None:
        cmd = [sys.executable, "-m", "workbench.reports.workers", *([] if warm else ["--cold"])]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(),
                                     preexec_fn=die_with_parent)
        self.uses = 0
        self._buf = b""

    def _line(self, deadline: float) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise WorkerError("timeout")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    code = self.proc.wait(timeout=5)
                    raise WorkerError(f"the report worker exited (exit {code})")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8")

    def build(self, job: Any, printer: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.uses += 1
        try:
            self.proc.stdin.write((json.dumps({"job": asdict(job), "printer": printer}) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except OSError:
            code = self.proc.poll()
            raise WorkerError(f"the report worker exited (exit {code})") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self._line(deadline))
            if reply != READY:
                return reply

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()          # the worker's loop ends at end of input
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class WorkerPool:
    """One worker process per run thread, reused for that thread's reports (see the module doc)."""

    def __init__(self, *, warm: bool = True) -> None:
        self.warm = warm            # False: no warm-up before the first report (tests of the pool itself)
        self._local = threading.local()
        self._all: list[_Worker] = []
        self._ready: list[_Worker] = []
        self._guard = threading.Lock()

    def _start(self) -> _Worker:
        w = _Worker(self.warm)
        with self._guard:
            self._all.append(w)
        return w

    @property
    def started(self) -> int:
        """Workers started and not stopped."""
        with self._guard:
            return len(self._all)

    def prestart(self, count: int) -> int:
        """Start ``count`` workers now (call from the run's thread; returns at once); how many started."""
        started = 0
        for _ in range(count):
            try:
                w = self._start()
            except OSError:        # the worker's own start says so per experiment
                break
            with self._guard:
                self._ready.append(w)
            started += 1
        return started

    def acquire(self) -> _Worker:
        """This thread's worker (a prestarted one first; replaced when dead or used up)."""
        w = getattr(self._local, "worker", None)
        if w is not None and (w.uses >= MAX_WORKER_USES or not w.alive()):
            self.discard()
            w = None
        if w is None:
            with self._guard:
                w = self._ready.pop(0) if self._ready else None
            w = w or self._start()
            self._local.worker = w
        return w

    def build(self, job: Any, printer: dict[str, Any] | None = None) -> dict[str, Any]:
        """Build ``job`` in this thread's worker; the outcome's fields. :class:`WorkerError` when the worker
        died or timed out (it is then replaced for the next report)."""
        w = self.acquire()
        try:
            return w.build(job, printer, job_deadline(job))
        except WorkerError as exc:
            self.discard()
            if str(exc) == "timeout":
                raise WorkerError(f"the report worker did not finish within {job_deadline(job):g} s and was "
                                  "stopped") from None
            raise

    def discard(self) -> None:
        """Stop this thread's worker (the next report starts a new one)."""
        w = getattr(self._local, "worker", None)
        self._local.worker = None
        if w is not None:
            with self._guard:
                if w in self._all:
                    self._all.remove(w)
            w.stop()

    def recycle(self, warm: int = 0) -> None:
        """After a run whose threads have ended: its workers wait for the next run's threads (a worker that
        died or reached :data:`MAX_WORKER_USES` is stopped instead), and new ones start, warming up now, until
        ``warm`` are ready (call from the thread the workers should die with)."""
        with self._guard:
            keep = [w for w in self._all if w.alive() and w.uses < MAX_WORKER_USES]
            done = [w for w in self._all if w not in keep]
            self._all, self._ready = keep, list(keep)
        for w in done:
            w.stop()
        self.prestart(warm - len(keep))

    def close(self) -> None:
        """Stop every worker started (unused prestarted ones too)."""
        with self._guard:
            workers, self._all, self._ready = self._all, [], []
        for w in workers:
            w.stop()


# --- the worker process --------------------------------------------------------------------------------
def warm_up() -> None:
    """What a worker does before its first report: the imports, and the first-use set-up of the plots and the
    HTML exporter (two small plots drawn, a small notebook exported, all thrown away)."""
    try:
        import papermill  # noqa: F401

        import workbench.reports.report  # noqa: F401
        from . import inprocess
        from .html import warm_up as plots_warm_up
        from .render import warm_up_html
        plots_warm_up()
        warm_up_html()
        inprocess._get_shell()
    except Exception:  # noqa: BLE001 - a failing import then fails the first report, which says why
        pass


def main() -> None:
    """A worker's loop: a job a line on stdin, its outcome a line on the original stdout."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)                      # anything else written to stdout goes where stderr goes
    if "--cold" not in sys.argv[1:]:
        warm_up()
    channel.write(json.dumps(READY) + "\n")
    from .pdf import PdfPrinter
    from .runner import BuildJob, ReportOutcome, build_one
    printer: PdfPrinter | None = None
    for line in sys.stdin:
        msg = json.loads(line)
        job = BuildJob(**msg["job"])
        spec = msg.get("printer")
        if spec and (printer is None or printer.profile != spec["profile"]):
            printer = PdfPrinter.attach(**spec)
        try:
            outcome = build_one(job, printer=printer)
        except Exception as exc:  # noqa: BLE001 - a crashed build fails its experiment, not the worker
            outcome = ReportOutcome(job.experiment_id, "failed",
                                    error=f"build crashed: {type(exc).__name__}: {exc}"[:500])
        channel.write(json.dumps(asdict(outcome)) + "\n")


if __name__ == "__main__":
    main()
