"""The report kernels start early: a prestarted kernel has imported the report module before its first report."""

from __future__ import annotations

from jupyter_client.blocking import BlockingKernelClient

from workbench.reports.kernels import KernelPool
from workbench.reports.runner import KERNEL


def _ask(km, code: str) -> str:
    kc = BlockingKernelClient(connection_file=km.connection_file)
    kc.load_connection_file()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out: list[str] = []
        kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", "")))
        return "".join(out)
    finally:
        kc.stop_channels()


def test_a_prestarted_kernel_has_imported_the_report_module_and_is_reused():
    pool = KernelPool(KERNEL)
    try:
        assert pool.prestart(1) == 1
        km = pool.acquire()
        assert _ask(km, "import sys; print('workbench.reports.report' in sys.modules)").strip() == "True"
        assert pool.acquire() is km          # the same worker thread reuses its kernel
    finally:
        pool.close()
    assert pool._all == []                   # every kernel it started is shut down


def test_a_kernel_that_cannot_start_is_left_to_the_worker():
    pool = KernelPool("no-such-kernel")
    try:
        assert pool.prestart(2) == 0
    finally:
        pool.close()


def test_closing_a_pool_stops_a_prestarted_kernel_that_was_never_used():
    import time
    pool = KernelPool(KERNEL)
    assert pool.prestart(1) == 1
    km = pool._all[0]
    t0 = time.monotonic()
    pool.close()                             # e.g. gathering the inputs failed: no report ran
    assert time.monotonic() - t0 < 20 and pool._all == [] and not km.has_kernel
