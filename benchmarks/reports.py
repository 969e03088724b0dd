"""Benchmark: report runs on the demo world — one report cold and warm, `--all` with 1 and 2 workers, a no-change re-run.

Every figure is the wall time of a real ``workbench report`` command in its own process (papermill,
nbconvert and, when Chromium is installed, the PDF), on a copy of the demo world (13 experiments,
1.8 M events) under ``benchmarks/out/``. Targets (issue 6): warm single report < 20 s, ``--all``
< 3 min, a re-run with nothing changed < 5 s. Also compares the two ways of handing the data to
the notebooks — aggregate once and pass a file (``--handoff cache``, the default) or let every
notebook query the database (``--handoff direct``) — and prints each figure's ratio against its
baseline from the same run.

    .venv/bin/python benchmarks/reports.py [--no-pdf] [--skip-direct] [--experiment pdp-shoes-hero]
"""

from __future__ import annotations

import argparse
import json
import os
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


def say(name: str, seconds: float, note: str = "") -> tuple[str, float, str]:
    print(f"  {name:<52} {seconds:7.1f} s   {note}", flush=True)
    return name, seconds, note


def report(db: Path, out: Path, *args: str) -> tuple[float, dict]:
    """Run `workbench report ... --json` in a fresh process; (seconds, parsed output)."""
    cmd = [sys.executable, "-m", "workbench", "report", *args, "--db", str(db), "--out", str(out), "--json"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    seconds = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"`{' '.join(cmd)}` failed ({r.returncode}):\n{r.stderr[-3000:]}")
    data = json.loads(r.stdout)
    failed = [o for o in data["outcomes"] if o["status"] == "failed"]
    if failed:
        raise SystemExit(f"{len(failed)} report(s) failed: {failed[0]['error']}")
    return seconds, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="pdp-shoes-hero")
    ap.add_argument("--no-pdf", action="store_true", help="skip the Chromium PDFs")
    ap.add_argument("--skip-direct", action="store_true", help="skip the --handoff direct comparison")
    a = ap.parse_args()
    db = ensure_world()
    pdf = ["--no-pdf"] if a.no_pdf else []
    scratch = OUT / "reports-bench"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    work = scratch / "world.duckdb"
    shutil.copy(db, work)
    print(f"Report benchmarks: demo world, {os.cpu_count()} CPU cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}, PDF {'off' if a.no_pdf else 'on when Chromium is found'}",
          flush=True)

    single = scratch / "single"
    cold, d = report(work, single, a.experiment, "--force", *pdf)
    say(f"one report, cold ({a.experiment})", cold, f"PDF printed: {'yes' if d['outcomes'][0]['pdf'] else 'no'}")
    warm, _ = report(work, single, a.experiment, "--force", *pdf)
    say(f"one report, warm ({a.experiment})", warm,
        f"{cold / warm:.2f}x the cold run; target < 20 s: {'met' if warm < 20 else 'MISSED'}")

    all1, d1 = report(work, scratch / "all-1", "--all", "--workers", "1", *pdf)
    n = len(d1["outcomes"])
    say(f"--all, 1 worker ({n} experiments)", all1, f"target < 180 s: {'met' if all1 < 180 else 'MISSED'}")
    all2, _ = report(work, scratch / "all-2", "--all", "--workers", "2", *pdf)
    say(f"--all, 2 workers ({n} experiments)", all2,
        f"{all1 / all2:.2f}x faster than 1 worker; target < 180 s: {'met' if all2 < 180 else 'MISSED'}")
    if not a.skip_direct:
        direct, _ = report(work, scratch / "all-direct", "--all", "--workers", "2", "--handoff", "direct", *pdf)
        say("--all, 2 workers, every notebook queries the DB", direct,
            f"aggregate-once hand-off (the default) is {direct / all2:.2f}x faster")
    again, d3 = report(work, scratch / "all-2", "--all", "--workers", "2", *pdf)
    skipped = sum(1 for o in d3["outcomes"] if o["status"] == "skipped")
    say(f"re-run, nothing changed ({skipped}/{n} skipped)", again,
        f"{all2 / again:.0f}x faster than building; target < 5 s: {'met' if again < 5 else 'MISSED'}")
    print(f"(every figure is one run, on both sides of each ratio; {load_note()})")


if __name__ == "__main__":
    main()
