"""Where the CPU of a ``workbench report --all`` run goes, process by process (target: 100 experiments < 2 min).

Runs ``workbench report --all --force --workers N`` on a copy of a registered world, in its own process or
handed to a warm ``workbench report-service`` (``--service``), samples the CPU time of every process of the
run every 0.2 s (so that processes that end mid-run are counted) and reads ``/proc/stat`` around it. Prints
the wall time, the machine's busy CPU, and the CPU by kind of process — the run (or the service's gathering),
the report workers, Chromium's renderers, Chromium's other processes — in all and a report. With
``--baseline CHECKOUT`` the same run follows on another copy, with that checkout first on the path.

    workbench simulate --experiments 100 --scale 0.13 --out w100.duckdb      # then register it:
    python -c "from workbench.lifecycle import Registry, seed_from_world; seed_from_world(Registry('w100.duckdb'), by='bench')"
    python benchmarks/reports_cpu.py --db w100.duckdb --baseline <checkout of another commit>
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import load_note  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def busy_cpu() -> float:
    """Seconds of CPU the whole machine has been busy (user, nice, system, irq, softirq)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / os.sysconf("SC_CLK_TCK")


def kind(p: psutil.Process, roots: dict[int, str]) -> str:
    if p.pid in roots:
        return roots[p.pid]
    cmd = " ".join(p.cmdline())
    if "workbench.reports.workers" in cmd:
        return "report workers"
    if "chrom" in p.name():
        return "Chromium renderers" if "--type=renderer" in cmd else "Chromium, other"
    return "other"


class Sampler(threading.Thread):
    """The last CPU time seen of every process below ``roots``, every 0.2 s until stopped."""

    def __init__(self, roots: dict[int, str]) -> None:
        super().__init__(daemon=True)
        self.roots, self.seen, self.done = roots, {}, threading.Event()
        self.sample()

    def sample(self) -> None:
        for pid in list(self.roots):
            try:
                procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
            except psutil.Error:
                continue
            for p in procs:
                try:
                    t = p.cpu_times()
                    self.seen[p.pid] = (kind(p, self.roots), t.user + t.system)
                except psutil.Error:
                    pass

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.sample()


def one_run(db: Path, path: str, workers: int, service: bool) -> dict[str, float]:
    """One ``report --all --force`` on ``db`` with the checkout ``path`` as the working folder and on PYTHONPATH
    (``python -m`` puts the working folder first on ``sys.path``: run from another checkout, the baseline
    would import that checkout's code): wall, busy CPU, CPU by kind, reports and PDFs written."""
    env = {**os.environ, "PYTHONPATH": path}
    wb = [sys.executable, "-m", "workbench"]
    out = db.parent / "reports"
    roots: dict[int, str] = {}
    svc = None
    if service:
        svc = subprocess.Popen([*wb, "report-service", "--db", str(db), "--out", str(out), "--workers",
                                str(workers)], env=env, cwd=path, stderr=subprocess.PIPE, text=True)
        assert svc.stderr is not None
        line = svc.stderr.readline()
        if "ready" not in line:
            raise SystemExit(f"the report service did not start: {line}")
        roots[svc.pid] = "service (gathering)"
    before = {}
    sampler = Sampler(roots)
    before.update(sampler.seen)
    c0, t0 = busy_cpu(), time.perf_counter()
    run = subprocess.Popen([*wb, "report", "--all", "--force", "--workers", str(workers), "--db", str(db), "--out",
                            str(out), "--json", *([] if service else ["--no-service"])], env=env, cwd=path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    roots[run.pid] = "the run" if not service else "client"
    sampler.start()
    _, err = run.communicate()
    wall, cpu = time.perf_counter() - t0, busy_cpu() - c0
    sampler.done.set()
    sampler.join()
    if svc is not None:
        svc.terminate()
        svc.wait(timeout=60)
    if run.returncode != 0:
        raise SystemExit(f"the run failed (exit {run.returncode}): {err[-1500:]}")
    by: dict[str, float] = collections.Counter()
    for pid, (k, t) in sampler.seen.items():
        by[k] += t - before.get(pid, (k, 0.0))[1]
    reports = sum(1 for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    pdfs = sum(1 for _ in out.glob("*/report.pdf"))
    return {"wall": wall, "busy": cpu, "reports": reports, "pdfs": pdfs, **by}


def show(label: str, r: dict[str, float]) -> None:
    n = max(1, int(r["reports"]))
    print(f"{label}: {int(r['reports'])} reports ({int(r['pdfs'])} with a PDF) in {r['wall']:.1f} s wall; "
          f"the machine busy {r['busy']:.1f} s of CPU "
          f"({r['busy'] / r['wall']:.2f} cores; {r['busy'] / n:.2f} s a report)")
    kinds = sorted((k for k in r if k not in ("wall", "busy", "reports", "pdfs")), key=lambda k: -r[k])
    for k in kinds:
        print(f"    {k:22s} {r[k]:7.1f} s CPU   {r[k] / n:5.2f} s a report   {100 * r[k] / max(r['busy'], 1e-9):4.0f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a registered world (copied first, for each side)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--service", action="store_true", help="hand the run to a warm `workbench report-service`")
    ap.add_argument("--baseline", metavar="CHECKOUT", help="then the same run with this checkout first on the path")
    a = ap.parse_args()
    print(load_note())
    sides = [("this checkout", str(REPO))] + ([(f"baseline {a.baseline}", str(Path(a.baseline).resolve()))]
                                            if a.baseline else [])
    results = []
    for label, path in sides:
        with tempfile.TemporaryDirectory(prefix="reports-cpu-") as tmp:
            db = Path(tmp) / "world.duckdb"
            shutil.copy(a.db, db)
            results.append(one_run(db, path, a.workers, a.service))
        show(label, results[-1])
        print(load_note())
    if len(results) == 2:
        print(f"this checkout / baseline: {results[0]['wall'] / results[1]['wall']:.2f}× wall, "
              f"{results[0]['busy'] / results[1]['busy']:.2f}× busy CPU (one run each, one after the other)")


if __name__ == "__main__":
    main()
