"""Benchmark: report runs on the demo world — one report cold and warm, `--all` with 2 (and 1) workers, a no-change re-run.

Every figure is the wall time of a real ``workbench report`` command in its own process (papermill,
nbconvert and, when Chromium is installed, the PDF), with its CPU time (user + system, with the
worker processes and Chromium it waited for) beside it, on a copy of the demo world (13 experiments,
1.8 M events) under ``benchmarks/out/`` — or of the world given with ``--db`` (copied first) —
each printed with the machine's load average (``os.getloadavg()``) when it ended. "Cold" is the
first run after the world was copied (the OS page cache may already hold the code); "warm" is the
same command again (with ``--force``); "after new events" adds one event to the experiment and runs the
command without ``--force``: the report is rebuilt and only that experiment's event rows are checked again
(``workbench/reports/validated.py``). Each run's worker processes start while it gathers its inputs, and each
worker executes its reports' notebooks in its own process, one after the other. Targets (issue 20): one report warm < 5 s, ``--all`` on 100
experiments < 2 min with 2 workers, an unchanged re-run < 2 s. The 100-experiment figure is
measured when the world has 100 experiments, else extrapolated linearly from this world's
per-report time (and said so, without a verdict: ``benchmarks/reports_cpu.py`` measures a registered
100-experiment world), and — also an extrapolation — from the warm single report plus each
further report's marginal time in `--all`. Also compares the aggregate-once hand-off (the default)
with every notebook querying the database (``--handoff direct``), and prints where one warm report's
time went, stage by stage: the process (start-up, imports, exit), the run's ``stages`` (check,
start, gather, finish; ``workbench report --json``) and the report's ``timings`` (``summary.json``:
worker wait, notebook execution, nbconvert HTML, Chromium PDF).

    .venv/bin/python benchmarks/reports.py [--no-pdf] [--skip-direct] [--skip-one-worker] [--skip-service]
                                           [--experiment pdp-shoes-hero] [--db WORLD.duckdb] [--baseline CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _bench import load_note

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ROOT = HERE.parent
SEED = 20261121


def ensure_world() -> Path:
    """The demo world (seeded, registered) in benchmarks/out, generated once."""
    db = OUT / "reports-world.duckdb"
    marker = OUT / "reports-world.json"
    if db.exists() and marker.exists() and json.loads(marker.read_text()) == {"seed": SEED, "scale": 1.0}:
        return db
    sys.path.insert(0, str(ROOT))
    from workbench.lifecycle import Registry, seed_from_world
    from workbench.simulate.writer import write_world
    OUT.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    s = write_world(db, seed=SEED)
    seed_from_world(Registry(db), by="benchmark")
    marker.write_text(json.dumps({"seed": SEED, "scale": 1.0}))
    print(f"generated the demo world: {s.events:,} events in {time.perf_counter() - t0:.0f} s -> {db}")
    return db


def load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


LAST_CPU = [0.0]
"""CPU seconds (user + system) of the last `workbench report` process and the children it waited for
(report workers, Chromium): on a shared machine the wall time grows with the load, the CPU time much less."""


def say(name: str, seconds: float, note: str = "") -> tuple[str, float, str]:
    print(f"  {name:<52} {seconds:7.1f} s (CPU {LAST_CPU[0]:5.1f} s)   [{load()}]   {note}", flush=True)
    return name, seconds, note


def met(value: float, target: float) -> str:
    return f"target < {target:g} s: {'met' if value < target else 'MISSED'}"


def code_env(code: str | Path) -> tuple[dict[str, str], str]:
    """The environment and working folder that make a process — and the report kernels and Chromium it starts,
    which inherit both — import the ``workbench`` package of checkout ``code`` and no other: ``python -m`` puts
    the working folder first on ``sys.path``, then ``PYTHONPATH``. Each version so runs end to end in its own
    processes (its runner writes the report inputs its own kernels read: nothing is unpickled across versions)."""
    code = str(Path(code).resolve())
    return {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": code}, code


def check_code(code: str | Path) -> None:
    """Fail early unless a process started as :func:`report` starts one imports ``workbench`` from ``code``."""
    env, cwd = code_env(code)
    r = subprocess.run([sys.executable, "-c", "import workbench, os; print(os.path.realpath(workbench.__file__))"],
                       capture_output=True, text=True, env=env, cwd=cwd)
    where = r.stdout.strip()
    if r.returncode != 0 or not where.startswith(str(Path(code).resolve()) + os.sep):
        raise SystemExit(f"{code}: a process started there imports workbench from {where or r.stderr[-500:]!r}, "
                         "not from that checkout")


def report(db: Path, out: Path, *args: str, code: str | Path = ROOT) -> tuple[float, dict]:
    """Run `workbench report ... --json` in a fresh process with the code of checkout ``code`` (this one by
    default; see :func:`code_env`); (seconds, parsed output)."""
    cmd = [sys.executable, "-m", "workbench", "report", *args, "--db", str(db), "--out", str(out), "--json"]
    env, cwd = code_env(code)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode not in (0, 1):
        raise SystemExit(f"`{' '.join(cmd)}` failed ({r.returncode}):\n{r.stderr[-3000:]}")
    data = json.loads(r.stdout)
    failed = [o for o in data["outcomes"] if o["status"] == "failed"]
    if failed:
        raise SystemExit(f"{len(failed)} report(s) failed: {failed[0]['error']}")
    return seconds, data


def add_event(db: Path, experiment: str) -> None:
    """One more event for ``experiment`` (a copy of one of its impressions, a second later): new data for it alone."""
    import duckdb
    con = duckdb.connect(str(db))
    try:
        con.execute("INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 SECOND AS ts_server) FROM events "
                    "WHERE experiment_id = ? AND event = 'impression' LIMIT 1", [experiment])
    finally:
        con.close()


STAGES = {"check": "lock, fingerprints and keys", "start": "workers and Chromium launched",
          "gather": "gathering the inputs (the pipeline pass)", "finish": "workers and Chromium stopped, decisions "
          "recorded, index"}
REPORT_STAGES = {"worker": "waiting for the worker's warm-up", "imports": "papermill imported (by the warm-up)",
                 "notebook": "executing the notebook (papermill, in the worker)",
                 "html": "nbconvert HTML", "pdf": "Chromium PDF"}


def stage_breakdown(wall: float, data: dict) -> None:
    """Where one report's wall time went: the process, the run's stages and the report's own timings."""
    stages = data.get("stages") or {}
    summary = json.loads((Path(data["outcomes"][0]["directory"]) / "summary.json").read_text())
    timings = summary.get("timings", {})
    rows = [("process start-up, imports and exit", wall - data["seconds"])]
    rows += [(STAGES["check"], stages.get("check", 0.0)), (STAGES["start"], stages.get("start", 0.0)),
             (STAGES["gather"], stages.get("gather", 0.0))]
    rows += [(REPORT_STAGES[k], v) for k, v in timings.items() if k in REPORT_STAGES]
    other = stages.get("build", 0.0) - stages.get("gather", 0.0) - sum(v for k, v in timings.items() if k in REPORT_STAGES)
    rows += [("rest of the build (summary, swap into place)", other), (STAGES["finish"], stages.get("finish", 0.0))]
    print("      stage breakdown of the warm report:", flush=True)
    for name, sec in rows:
        print(f"        {name:<50} {sec:6.2f} s", flush=True)


def through_service(db: Path, out: Path, experiment: str, pdf: list[str], alone: float, runs: int = 3) -> None:
    """The warm report through ``workbench report-service`` (started for ``db`` and ``out``, stopped after):
    each run's wall time as the user waits for it (the `workbench report` process), and the CPU of that
    process plus the service, its workers and Chromium during the run."""
    import psutil
    env, cwd = code_env(ROOT)
    t0 = time.perf_counter()
    service = subprocess.Popen([sys.executable, "-m", "workbench", "report-service", "--db", str(db), "--out", str(out),
                                "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=env, cwd=cwd)
    try:
        assert service.stderr is not None
        line = service.stderr.readline()
        if "ready" not in line:
            raise SystemExit(f"the report service did not start: {line}{service.stderr.read()[-2000:]}")
        print(f"  report service started and warm in {time.perf_counter() - t0:.1f} s   [{load()}]", flush=True)

        def service_cpu() -> float:
            procs = [psutil.Process(service.pid), *psutil.Process(service.pid).children(recursive=True)]
            total = 0.0
            for p in procs:
                try:
                    c = p.cpu_times()
                    total += c.user + c.system
                except psutil.Error:
                    pass
            return total

        times = []
        for i in range(runs):
            before = service_cpu()
            seconds, d = report(db, out, experiment, "--force", *pdf)
            client = LAST_CPU[0]
            LAST_CPU[0] = client + max(0.0, service_cpu() - before)
            if not any("built by the warm report service" in n for n in d.get("notes", [])):
                raise SystemExit("the run did not go through the report service")
            times.append(seconds)
            say(f"one report through the warm service, run {i + 1}", seconds,
                (f"{met(seconds, 5)}; {seconds / alone:.2f}x the warm report in its own process" if i else
                 "the service's first run"))
        if runs > 1:
            stage_breakdown(times[-1], d)
    finally:
        service.terminate()
        service.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="pdp-shoes-hero")
    ap.add_argument("--db", help="a registered world to use instead of the demo world (copied first)")
    ap.add_argument("--no-pdf", action="store_true", help="skip the Chromium PDFs")
    ap.add_argument("--skip-direct", action="store_true", help="skip the --handoff direct comparison")
    ap.add_argument("--skip-one-worker", action="store_true", help="skip `--all` with 1 worker")
    ap.add_argument("--skip-service", action="store_true", help="skip the warm report service")
    ap.add_argument("--baseline", metavar="CHECKOUT",
                    help="also time the warm report and `--all` with the workbench code of another checkout "
                         "(e.g. the main branch before a change), in the same run")
    a = ap.parse_args()
    db = Path(a.db) if a.db else ensure_world()
    pdf = ["--no-pdf"] if a.no_pdf else []
    scratch = OUT / "reports-bench"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    work = scratch / "world.duckdb"
    shutil.copy(db, work)
    check_code(ROOT)
    base_work = scratch / "base-world.duckdb"          # the baseline's own copy: its runs record decisions too
    if a.baseline:
        check_code(a.baseline)
        shutil.copy(db, base_work)
    print(f"Report benchmarks: {db.name}, {os.cpu_count()} CPU cores, {load()} at the start, "
          f"PDF {'off' if a.no_pdf else 'on when Chromium is found'}", flush=True)

    single = scratch / "single"
    cold, d = report(work, single, a.experiment, "--force", *pdf)
    say(f"one report, cold ({a.experiment})", cold, f"PDF printed: {'yes' if d['outcomes'][0]['pdf'] else 'no'}")
    warm, d = report(work, single, a.experiment, "--force", *pdf)
    say(f"one report, warm ({a.experiment})", warm, f"{cold / warm:.2f}x the cold run; {met(warm, 5)}")
    stage_breakdown(warm, d)
    if a.baseline:
        base, _ = report(base_work, scratch / "base-single", a.experiment, "--force", *pdf, code=a.baseline)
        base, _ = report(base_work, scratch / "base-single", a.experiment, "--force", *pdf, code=a.baseline)
        say("  baseline: one report, warm, with --baseline's code", base, f"this code takes {warm / base:.2f}x")
    if not a.skip_service:
        through_service(work, single, a.experiment, pdf, warm)
    one, _ = report(work, single, a.experiment, *pdf)
    say("one report, unchanged re-run", one, met(one, 2))
    # new events for this experiment alone: the report is rebuilt, its event rows checked again (only its own)
    add_event(work, a.experiment)
    fresh, d = report(work, single, a.experiment, *pdf)
    say("one report after new events for it", fresh, f"{met(fresh, 5)}; the warm report + checking its new rows")
    stage_breakdown(fresh, d)
    if a.baseline:
        add_event(base_work, a.experiment)
        base, _ = report(base_work, scratch / "base-single", a.experiment, *pdf, code=a.baseline)
        say("  baseline: one report after new events, with --baseline's code", base, f"this code takes {fresh / base:.2f}x")

    all2, d2 = report(work, scratch / "all-2", "--all", "--workers", "2", *pdf)
    n = len(d2["outcomes"])
    say(f"--all, 2 workers ({n} experiments)", all2, f"{all2 / n:.1f} s a report")
    if a.baseline:
        base, _ = report(base_work, scratch / "base-all-2", "--all", "--workers", "2", *pdf, code=a.baseline)
        say("  baseline: --all, 2 workers, with --baseline's code", base, f"this code takes {all2 / base:.2f}x")
    if n >= 100:
        say(f"--all, 2 workers, per 100 experiments (measured on {n})", all2 * 100 / n, met(all2 * 100 / n, 120))
    else:
        est = all2 * 100 / n
        # no verdict on an extrapolation: this world's experiments are not the 100-experiment world's
        print(f"      100 experiments extrapolated linearly from {n}: {est:.0f} s (not measured: this world has {n} "
              f"experiments; benchmarks/reports_cpu.py measures a 100-experiment world)", flush=True)
        marginal = max(all2 - warm, 0.0) / max(n - 1, 1)
        est2 = warm + 99 * marginal
        print(f"      100 experiments extrapolated from the warm single report ({warm:.1f} s) plus 99 x the marginal "
              f"{marginal:.1f} s a further report took here: {est2:.0f} s (also not measured)", flush=True)
    if not a.skip_one_worker:
        all1, _ = report(work, scratch / "all-1", "--all", "--workers", "1", *pdf)
        say(f"--all, 1 worker ({n} experiments)", all1, f"2 workers are {all1 / all2:.2f}x faster")
    if not a.skip_direct:
        direct, _ = report(work, scratch / "all-direct", "--all", "--workers", "2", "--handoff", "direct", *pdf)
        say("--all, 2 workers, every notebook queries the DB", direct,
            f"aggregate-once hand-off (the default) is {direct / all2:.2f}x faster")
    again, d3 = report(work, scratch / "all-2", "--all", "--workers", "2", *pdf)
    skipped = sum(1 for o in d3["outcomes"] if o["status"] == "skipped")
    say(f"re-run, nothing changed ({skipped}/{n} skipped)", again,
        f"{all2 / again:.0f}x faster than building; {met(again, 2)}")
    print(f"(every figure is one run, on both sides of each ratio; {load_note()})")


if __name__ == "__main__":
    main()
