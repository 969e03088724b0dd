"""Report kernels: one ``workbench`` kernel per worker thread, reused for that worker's reports, started early.

A report kernel spends most of its start-up importing the plotting stack (HoloViews, Bokeh,
pandas). :class:`KernelPool` saves that twice:

* **Reuse.** A worker thread keeps its kernel for its next reports (the report notebook is written
  to run in a used kernel: every name it reads is assigned in the run). A kernel that failed a
  report is replaced, and each kernel is replaced after :data:`MAX_KERNEL_USES` reports.
* **Start early.** :meth:`KernelPool.prestart` starts the run's kernels and has them import the
  report module *while* the run gathers its inputs (the pipeline pass in the run's own process),
  so the first report of each worker finds a warm kernel instead of waiting for the imports.
  The notebook still runs from its first cell; the warm-up imports what its first cell imports and
  draws two small plots that it throws away (HoloViews' and Bokeh's first-use set-up).

Every kernel is started from the run's thread or a worker thread with ``die_with_parent``, so it
dies with the run even on ``kill -9`` (see :mod:`workbench.processes`).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from ..processes import child_env, die_with_parent

__all__ = ["KernelPool", "KERNEL_ARGS", "MAX_KERNEL_USES", "WARM_UP"]

KERNEL_ARGS = ["--log-level=CRITICAL"]   # the kernel's own start-up chatter stays out of cron logs
MAX_KERNEL_USES = 25
WARM_UP = "import workbench.reports.report\nfrom workbench.reports.html import warm_up as _wb_warm_up\n_wb_warm_up()\n" \
          "del _wb_warm_up"
"""What a prestarted kernel runs before its first report: the import the notebook's first cell makes, and two
small plots drawn and thrown away (:func:`workbench.reports.html.warm_up`)."""
WARM_UP_TIMEOUT = 120.0


class _Prestarted:
    """A kernel started ahead of its first report; a helper thread waits for it and sends the warm-up import.

    Only the kernel's process is tied to the thread that started it (the run's thread); the helper
    thread just talks to the kernel and ends when the import is done.
    """

    def __init__(self, km: Any, timeout: float) -> None:
        self.km = km
        self._thread = threading.Thread(target=self._warm_up, args=(timeout,), name="report-kernel-warm-up",
                                        daemon=True)
        self._thread.start()

    def _warm_up(self, timeout: float) -> None:
        from jupyter_client.blocking import BlockingKernelClient
        # parent=km: "is the kernel alive?" asks its process, not the heartbeat, which a kernel still
        # starting on a busy machine may not have answered yet ("Kernel died before replying")
        kc = BlockingKernelClient(connection_file=self.km.connection_file, parent=self.km)
        try:
            kc.load_connection_file()
            kc.start_channels()
            kc.wait_for_ready(timeout=timeout)
            kc.execute_interactive(WARM_UP, silent=True, store_history=False, timeout=timeout,
                                   output_hook=lambda msg: None)
        except Exception:  # noqa: BLE001 - a slow or failed warm-up only costs the time the notebook would have spent
            pass
        finally:
            kc.stop_channels()

    def ready(self, timeout: float) -> Any:
        """Wait for the warm-up import to finish (or fail: the notebook then reports the error); the kernel."""
        self._thread.join(timeout)
        return self.km


class KernelPool:
    """One ``workbench`` kernel per worker thread, reused for that worker's reports (see the module doc)."""

    def __init__(self, kernel: str) -> None:
        self.kernel = kernel
        self._local = threading.local()
        self._all: list[Any] = []
        self._guard = threading.Lock()
        self._ready: queue.SimpleQueue[_Prestarted] = queue.SimpleQueue()

    def _start(self) -> Any:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync
        km = AsyncKernelManager(kernel_name=self.kernel)
        # the kernel dies with the thread that starts it or the run (workbench/processes.py), even on kill -9
        run_sync(km.start_kernel)(extra_arguments=KERNEL_ARGS, env=child_env(), preexec_fn=die_with_parent)
        with self._guard:
            self._all.append(km)
        return km

    def prestart(self, count: int) -> int:
        """Start ``count`` kernels now and send each the warm-up import (returns at once; call from the run's thread).

        Returns how many were started; a kernel that cannot start is left to the worker (which
        then reports the error on its experiment).
        """
        started = 0
        for _ in range(count):
            try:
                km = self._start()
            except Exception:  # noqa: BLE001 - e.g. no such kernel: the worker's own start says so per experiment
                break
            self._ready.put(_Prestarted(km, WARM_UP_TIMEOUT))
            started += 1
        return started

    def acquire(self) -> Any:
        from jupyter_core.utils import run_sync
        km = getattr(self._local, "km", None)
        if km is not None and (self._local.uses >= MAX_KERNEL_USES or not run_sync(km.is_alive)()):
            self.discard()
            km = None
        if km is None:
            try:
                km = self._ready.get_nowait().ready(WARM_UP_TIMEOUT)
            except queue.Empty:
                km = self._start()
            self._local.km, self._local.uses = km, 0
        self._local.uses += 1
        return km

    def discard(self) -> None:
        """Shut down this thread's kernel (after a failure, so the next report starts clean)."""
        km = getattr(self._local, "km", None)
        self._local.km = None
        if km is not None:
            self._shutdown(km)

    def _shutdown(self, km: Any) -> None:
        from jupyter_core.utils import run_sync
        with self._guard:
            if km in self._all:
                self._all.remove(km)
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a kernel that is already gone needs no shutdown
            pass

    def close(self) -> None:
        """Shut down every kernel started (an unused prestarted one too: its warm-up thread then ends on its own)."""
        while True:
            try:
                self._ready.get_nowait()
            except queue.Empty:
                break
        for km in list(self._all):
            self._shutdown(km)
