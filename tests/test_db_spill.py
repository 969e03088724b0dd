"""DuckDB spill folders: one per process, so concurrent aggregations and report runs do not collide.

The processes run with ``TMPDIR`` set to the test's folder (their spill folders are made there) and a
``workbench.yaml`` whose ``engine.memory_limit`` is small enough that the small world's aggregation
spills to disk (the limit is searched for: the smallest of a few that completes and spills alone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from workbench.db import process_temp_dir

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

AGGREGATE = textwrap.dedent("""
    import json, sys, threading, time
    from pathlib import Path
    from workbench.aggregate import aggregate_cube, available_metrics
    from workbench.db import connect, process_temp_dir
    from workbench.sources.events import open_event_log

    temp = process_temp_dir()
    peak, stop = [0], threading.Event()

    def watch():                      # the largest size the spill folder reached
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], sum(f.stat().st_size for f in temp.rglob("*") if f.is_file()))
            except OSError:
                pass
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with connect(sys.argv[1], read_only=True) as con:
        log = open_event_log(con, "events")
        cube = aggregate_cube(log, metrics=available_metrics(log))
    stop.set()
    watcher.join()
    cube.to_pickle(sys.argv[2])
    print(json.dumps({"temp": str(temp), "spilled": peak[0]}))
""")


def _env(tmp: Path, limit: str | None) -> dict[str, str]:
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if limit:
        cfg = tmp / f"workbench-{limit}.yaml"
        cfg.write_text(f"engine:\n  memory_limit: {limit}\n  threads: 1\n", encoding="utf-8")
        env["WORKBENCH_CONFIG"] = str(cfg)
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    return out


def _aggregate(db: Path, out: Path, env: dict[str, str]) -> subprocess.Popen:
    return _start([AGGREGATE, str(db), str(out)], env)


@pytest.fixture(scope="module")
def spilling_limit(small_world, tmp_path_factory) -> tuple[str, Path]:
    """The smallest memory limit at which the aggregation alone spills and completes, and its cube."""
    tmp = tmp_path_factory.mktemp("spill-limit")
    tried = []
    for limit in ("28MB", "32MB", "26MB", "40MB", "48MB", "64MB"):
        out = tmp / f"alone-{limit}.pkl"
        proc = _aggregate(small_world["db"], out, _env(tmp, limit))
        stdout, stderr = proc.communicate(timeout=600)
        if proc.returncode == 0:
            info = json.loads(stdout.strip().splitlines()[-1])
            tried.append((limit, info["spilled"]))
            if info["spilled"] > 0:
                return limit, out
        else:
            tried.append((limit, stderr.strip().splitlines()[-1][:120] if stderr.strip() else proc.returncode))
    pytest.fail(f"no memory limit made the aggregation spill and finish: {tried}")


def test_two_spilling_aggregations_at_once_give_the_numbers_of_one_alone(small_world, spilling_limit, tmp_path):
    limit, alone = spilling_limit
    env = _env(tmp_path, limit)
    procs = [_aggregate(small_world["db"], tmp_path / f"cube-{i}.pkl", env) for i in range(2)]
    infos = [json.loads(_finish(p).strip().splitlines()[-1]) for p in procs]
    assert all(i["spilled"] > 0 for i in infos), infos                      # both really spilled
    assert infos[0]["temp"] != infos[1]["temp"]                              # each into its own folder
    assert all(Path(i["temp"]).parent == tmp_path for i in infos)
    assert not list(tmp_path.glob("workbench-duckdb-*"))                     # removed at exit
    reference = pd.read_pickle(alone)
    for i in range(2):
        pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / f"cube-{i}.pkl"), reference)


REPORT = textwrap.dedent("""
    import json, sys
    from workbench.reports import run_reports
    run = run_reports(["pdp-shoes-hero"], db=sys.argv[1], out=sys.argv[2], pdf=False, record=False)
    print(json.dumps([o.status for o in run.outcomes]))
""")


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b


@pytest.mark.notebook
def test_two_report_runs_at_once(small_world, tmp_path):
    import shutil

    from workbench.lifecycle import Registry, seed_from_world
    db = tmp_path / "world.duckdb"
    shutil.copy(small_world["db"], db)
    seed_from_world(Registry(db), by="tests")
    env = _env(tmp_path, None)
    procs = [_start([REPORT, str(db), str(tmp_path / f"reports-{i}")], env) for i in range(2)]
    statuses = [json.loads(_finish(p).strip().splitlines()[-1]) for p in procs]
    assert statuses == [["built"], ["built"]]
    summaries = [json.loads((tmp_path / f"reports-{i}" / "pdp-shoes-hero" / "summary.json").read_text()) for i in range(2)]
    # DuckDB's multi-threaded sums may differ in the last bits between runs, so numbers agree to 1e-9
    for key in ("units", "primary", "guardrails", "health", "roi"):
        assert _close(summaries[0][key], summaries[1][key]), key
    decisions = [{k: s["decision"][k] for k in ("action", "reason", "winner")} for s in summaries]  # facts hold times
    assert decisions[0] == decisions[1]
    assert not list(tmp_path.glob("workbench-duckdb-*"))


def test_the_folder_of_a_dead_process_is_removed_by_the_next(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f"workbench-duckdb-{dead.pid}-abc123"
    (left / "duckdb_temp_storage").mkdir(parents=True)
    (left / "duckdb_temp_storage" / "block.tmp").write_bytes(b"x" * 1000)
    alive = tmp_path / f"workbench-duckdb-{os.getpid()}-live"          # a live process's folder stays
    alive.mkdir()
    out = _finish(_start(["from workbench.db import process_temp_dir; print(process_temp_dir())"],
                         _env(tmp_path, None)))
    assert not left.exists()
    assert alive.exists()
    made = Path(out.strip())
    assert made.parent == tmp_path and not made.exists()                    # its own, removed at its exit
    assert process_temp_dir() != made
