"""Report workers: a prestarted worker process is reused, builds in its own IPython shell, and a worker that dies
fails only the report it was building; the in-process engine stops a cell that runs too long."""

from __future__ import annotations

import nbformat
import papermill as pm
import psutil
import pytest

from workbench.reports.inprocess import INPROCESS_ENGINE
from workbench.reports.runner import KERNEL, BuildJob, _in_worker
from workbench.reports.workers import WorkerPool


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "language": "python", "display_name": "workbench"}
    nb.cells = [nbformat.v4.new_code_cell("out_dir = None", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return str(path)


def _job(tmp_path, notebook, cell_timeout=60.0):
    return BuildJob("exp-1", "k", notebook, str(tmp_path / "out"), {}, None, cell_timeout=cell_timeout)


def test_a_worker_is_reused_and_a_dead_one_fails_its_report_and_is_replaced(tmp_path):
    pool = WorkerPool(warm=False)           # these notebooks need no plotting stack
    try:
        assert pool.prestart(1) == 1
        pids = "import os, pathlib; pathlib.Path(out_dir, '../pids').resolve().open('a').write(f'{os.getpid()}\\n')"
        nb = _notebook(tmp_path / "pid.ipynb", [pids, "raise RuntimeError('no summary on purpose')"])
        first = _in_worker(_job(tmp_path, nb), pool, None)
        second = _in_worker(_job(tmp_path, nb), pool, None)
        assert first.status == second.status == "failed" and "RuntimeError: no summary on purpose" in first.error
        assert first.cell == 3 and first.failed_notebook.endswith(".failed/exp-1.ipynb")
        (a, b) = (tmp_path / "out" / "pids").read_text().split()
        assert a == b and psutil.Process(int(a)).is_running()          # the same process built both
        killer = _notebook(tmp_path / "kill.ipynb", ["import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
        died = _in_worker(_job(tmp_path, killer), pool, None)
        assert died.status == "failed" and "the report worker exited (exit -9)" in died.error
        again = _in_worker(_job(tmp_path, nb), pool, None)              # a new worker takes the next report
        assert again.status == "failed" and "no summary on purpose" in again.error
        last = int((tmp_path / "out" / "pids").read_text().split()[-1])
        assert last != int(a)
    finally:
        pool.close()
    assert pool._all == [] and not psutil.pid_exists(last)            # closing the pool stopped (and reaped) it


def test_recycled_workers_serve_the_next_runs_threads_and_a_used_up_one_is_replaced(tmp_path):
    """Between two runs of the report service: the workers of the first run's threads wait for the next run's
    threads; one that reached MAX_WORKER_USES is stopped and a fresh one started in its place."""
    import threading

    from workbench.reports.workers import MAX_WORKER_USES
    pool = WorkerPool(warm=False)
    pids = "import os, pathlib; pathlib.Path(out_dir, '../pids').resolve().open('a').write(f'{os.getpid()}\\n')"
    nb = _notebook(tmp_path / "pid.ipynb", [pids, "raise RuntimeError('no summary on purpose')"])

    def one_run() -> int:                       # a run's thread (threads end with their run)
        t = threading.Thread(target=_in_worker, args=(_job(tmp_path, nb), pool, None))
        t.start()
        t.join()
        return int((tmp_path / "out" / "pids").read_text().split()[-1])
    try:
        pool.prestart(1)
        first = one_run()
        pool.recycle(1)
        assert one_run() == first and pool.started == 1             # the next run's thread got the same worker
        (worker,) = pool._all
        worker.uses = MAX_WORKER_USES
        pool.recycle(1)
        assert pool.started == 1 and not worker.alive()             # used up: stopped, a new one started
        assert one_run() != first
    finally:
        pool.close()


def test_the_in_process_engine_stops_a_cell_that_runs_too_long(tmp_path):
    nb = _notebook(tmp_path / "slow.ipynb", ["import time\ntime.sleep(30)", "x = 1"])
    with pytest.raises(pm.PapermillExecutionError, match="CellTimeout"):
        pm.execute_notebook(nb, str(tmp_path / "out.ipynb"), engine_name=INPROCESS_ENGINE, kernel_name=KERNEL,
                            progress_bar=False, execution_timeout=0.5)
    saved = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    err = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert [e.ename for e in err] == ["CellTimeout"] and "0.5 s" in err[0].evalue


WARM_UP = """
import json, sys
from workbench.reports.workers import warm_up
warm_up()
print(json.dumps({m: m in sys.modules for m in ("holoviews", "panel", "bokeh.plotting", "workbench.reports.plots",
                                                  "papermill")}))
"""


def test_the_warm_up_draws_with_bokeh_alone_without_holoviews_or_panel():
    """The report's plots are plain Bokeh: a worker's warm-up (which swallows errors) drew them, and imported
    neither HoloViews nor Panel (about a second of each worker's start, on cores the run's gathering needs)."""
    import json
    import subprocess
    import sys

    from workbench.reports.workers import _env
    r = subprocess.run([sys.executable, "-c", WARM_UP], capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 0, r.stderr[-2000:]
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert loaded == {"holoviews": False, "panel": False, "bokeh.plotting": True, "workbench.reports.plots": True,
                      "papermill": True}
