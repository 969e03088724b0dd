"""Benchmark: the dashboard in a real browser on a world of N experiments (50 by default; 500 for issue 20).

Generates (once, under ``benchmarks/out/``) a world of N experiments — the 13 demo experiments
cloned with new ids and owners (:func:`workbench.simulate.specs.portfolio_specs`, the same as
``workbench simulate --experiments N``) — registers them, starts ``workbench serve`` with a password
login on a free port, and drives Debian's Chromium (headless) through Playwright:

* **portfolio** — time from navigation to the table showing its first page (min(N, 50) experiments;
  the server filters and pages, target < 2 s);
* **next page** — time from clicking "Next" to the second page's rows (reported when N > 50);
* **detail** — time from navigation to an experiment's title, tiles and plots (reported);
* **switch** — time from picking another experiment on the detail page to its title (target < 0.5 s).

Two cold starts of the server, timed from the moment the process is started:

* **restart** — on the snapshot the server keeps beside the database (:mod:`workbench.dashboard.store`),
  data unchanged: time until the server answers and until the portfolio's first page is painted
  (the login form included), target < 2 s;
* **restart after new data** — after new events for ``--changed`` experiments: the first paint (it
  must say it shows the previous data) and the time until the page shows the current analysis
  (only the changed experiments are re-analysed).

Between them, in the steady state (after the first server's cache warm-up): portfolio, next page,
detail and switch, five runs each.

Baselines measured in the same run, in this process, on the same database: the server's refresh
from nothing (``evaluate()`` of the whole portfolio, the registry and the autopilot plan — what the
first paint after a start waited for before the snapshot was kept), writing the kept snapshot, reading
its front part (portfolio, registry, plan), one experiment's outcome and then all of them, and the cold computation of one experiment's extras (trend, segments, posterior, chance
over time — what a switch would cost without the server's cache). Timings are medians; the machine's
load average is printed beside them. The world is copied into a temporary folder (removed at the end).

    .venv/bin/python benchmarks/dashboard.py [--experiments 500] [--scale 0.02] [--repeat 5]
    workbench simulate --experiments 500 --scale 0.02 --out data/w500.duckdb
    .venv/bin/python benchmarks/dashboard.py --db data/w500.duckdb
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _bench import timed

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "bench", "bench-password"


def build_world(n: int, scale: float, seed: int) -> Path:
    """A DuckDB world with ``n`` experiments (demo specs cloned with suffixes), registered and running."""
    target = OUT / f"dashboard_world_{n}x{scale:g}_seed{seed}.duckdb"
    if target.exists():
        return target
    sys.path.insert(0, str(HERE.parent))
    from workbench.lifecycle import Registry, seed_from_world
    from workbench.simulate.specs import portfolio_specs
    from workbench.simulate.writer import write_world

    specs = portfolio_specs(n)
    t0 = time.perf_counter()
    tmp = target.with_name(f".building-{target.name}")        # registered before it takes the final name
    tmp.unlink(missing_ok=True)
    written = write_world(tmp, seed=seed, scale=scale, experiments=tuple(specs))
    seed_from_world(Registry(tmp), by="benchmark")
    tmp.rename(target)
    print(f"generated {written.events:,} events for {n} experiments in {time.perf_counter() - t0:.0f} s → {target}")
    return target


def baselines(db: Path, repeat: int) -> dict[str, float]:
    """In-process, on ``db``: the server's refresh from nothing (evaluate() of the portfolio, the registry, the
    autopilot plan — what the first paint after a start waited for before the snapshot was kept), writing the
    kept snapshot, reading it back, and one experiment's extras cold."""
    from workbench.dashboard import store
    from workbench.dashboard.service import DashboardService
    from workbench.dashboard.snapshot import LRU

    store.store_path(db).unlink(missing_ok=True)
    svc = DashboardService(db)
    svc.keep_snapshot = False
    refresh = timed(lambda: svc.refresh(warm=False), 1)
    snap = svc.snapshot
    saved = timed(lambda: store.save_snapshot(db, snap, svc.portfolio(snap)), 1)
    kept: list = []
    front = timed(lambda: kept.append(store.load_snapshot(db, snap.inputs)), 1)     # header, portfolio, registry, plan
    one = timed(lambda: kept[0].outcomes["pdp-home-lcp"], 1)                         # what opening an experiment reads
    rest = timed(lambda: kept[0].outcomes.read_all(), 1)                             # every other outcome
    eid = "pdp-home-lcp"
    extras = []
    for _ in range(repeat):
        svc._cache = LRU(512)
        extras.append(timed(lambda: (svc.trend(eid, "h"), svc.segments(eid, "device"), svc.posterior(eid),
                                     svc.chance(eid)), 1).wall)
    return {"evaluate_s": refresh.wall, "evaluate_cpu": refresh.cpu, "save_s": saved.wall, "front_s": front.wall,
            "one_s": one.wall, "rest_s": rest.wall, "size_mb": store.store_path(db).stat().st_size / 1e6,
            "cold_extras_s": statistics.median(extras)}


def users_file(root: Path) -> Path:
    from workbench.dashboard.auth import add_user
    users = root / "bench-users.yaml"
    if not users.exists():
        add_user(users, USER, PASSWORD, "viewer", rounds=4)
    return users


def wait_count(page, selector: str, n: int, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while page.locator(selector).count() < n:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{selector}: fewer than {n} after {timeout} s")
        page.wait_for_timeout(20)


def login(page, base: str) -> None:
    page.goto(f"{base}/app")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("#login")


def cold_start(page, base_of, first: int, *, logged_in: bool) -> dict[str, float]:
    """Start the server (``base_of()`` starts it and returns its URL) and time, from that moment, its first answer
    and the first meaningful paint of the portfolio (its first page of rows) in the browser."""
    from workbench.dashboard.server import dashboard_status
    t0 = time.perf_counter()
    base = base_of()
    while dashboard_status(base) is None:
        if time.perf_counter() - t0 > 120:
            raise TimeoutError("the server did not answer within 120 s")
        time.sleep(0.05)
    up = time.perf_counter() - t0
    if logged_in:
        page.goto(f"{base}/app", wait_until="commit")
    else:
        login(page, base)
    wait_count(page, ".wb-eid", first, timeout=900)
    paint = time.perf_counter() - t0
    cpu = (dashboard_status(base) or {}).get("cpu_seconds", float("nan"))     # the server's, start to paint
    previous = page.locator(".wb-previous").count() > 0
    while True:                                  # until the page shows the current data's analysis
        status = dashboard_status(base) or {}
        if status.get("ready") and not status.get("previous") and not status.get("analysing") \
                and not status.get("loading"):
            break
        time.sleep(0.2)
    return {"up": up, "paint": paint, "cpu": cpu, "previous": previous, "current": time.perf_counter() - t0,
            "base": base}


def measure(page, base: str, ids: list[str], repeat: int) -> dict[str, list[float]]:
    from workbench.dashboard.paging import PAGE_SIZE
    first = min(len(ids), PAGE_SIZE)
    out: dict[str, list[float]] = {"portfolio": [], "next_page": [], "detail": [], "switch": []}
    wait_count(page, ".wb-eid", first)                     # warm-up visit (browser cache, server warm-up)
    for _ in range(repeat):
        t0 = time.perf_counter()
        page.goto(f"{base}/app", wait_until="commit")
        wait_count(page, ".wb-eid", first)
        out["portfolio"].append(time.perf_counter() - t0)
        if len(ids) > PAGE_SIZE:                           # the server sends the next page on "Next"
            t0 = time.perf_counter()
            page.click(".wb-page-next button")
            page.wait_for_selector("#wb-portfolio-page:has-text('page 2 of')", timeout=60_000)
            out["next_page"].append(time.perf_counter() - t0)
    for i in range(repeat):
        eid = ids[(7 * i + 3) % len(ids)]
        t0 = time.perf_counter()
        page.goto(f"{base}/app?page=experiment&experiment={eid}", wait_until="commit")
        page.wait_for_selector(f"#wb-experiment-title:has-text('({eid})')", timeout=60_000)
        wait_count(page, ".wb-tile", 2)
        wait_count(page, "canvas", 5)
        out["detail"].append(time.perf_counter() - t0)
    picker = page.locator(".wb-picker select")
    for i in range(2 * repeat):
        eid = ids[(11 * i + 5) % len(ids)]
        t0 = time.perf_counter()
        picker.select_option(eid)
        page.wait_for_selector(f"#wb-experiment-title:has-text('({eid})')", timeout=60_000)
        out["switch"].append(time.perf_counter() - t0)
    return out


def change_data(db: Path, ids: list[str], n: int) -> None:
    """New events for ``n`` experiments (three copies of each one's latest events, an hour later, a new user)."""
    import duckdb
    con = duckdb.connect(str(db))
    for k, eid in enumerate(ids[:n]):
        con.execute("INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 HOUR AS ts_server, ? AS user_key) "
                    "FROM events WHERE experiment_id = ? ORDER BY ts_server DESC LIMIT 3", [f"ffffffffffff{k:04x}", eid])
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiments", type=int, default=50, help="world size (500 for issue 20; use --scale 0.02)")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--db", type=Path, default=None, help="a world written by `workbench simulate --experiments N "
                    "--out FILE` (copied; the copy is registered and changed, never the file itself)")
    ap.add_argument("--changed", type=int, default=5, help="experiments given new events before the second start")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (Debian package chromium)")
    sys.path.insert(0, str(HERE.parent))
    from playwright.sync_api import sync_playwright
    from workbench.dashboard.paging import PAGE_SIZE
    from workbench.dashboard.server import dashboard_status, serving
    from workbench.lifecycle import Registry, seed_from_world

    source = args.db or build_world(args.experiments, args.scale, args.seed)
    work = Path(tempfile.mkdtemp(prefix="workbench-dash-bench-"))
    db = work / "world.duckdb"
    shutil.copy(source, db)
    seed_from_world(Registry(db), by="benchmark")          # registers what is not registered yet
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    ids = [r[0] for r in con.execute("SELECT experiment_id FROM world_experiments ORDER BY 1").fetchall()]
    con.close()
    first = min(len(ids), PAGE_SIZE)
    load_before = os.getloadavg()
    base_line = baselines(db, args.repeat)                  # leaves the kept snapshot beside the database
    users = users_file(work)
    env = {**os.environ, "WORKBENCH_COOKIE_SECRET": secrets.token_hex(32)}   # logins survive the restart
    servers: list = []

    def start(n: int) -> str:
        cm = serving(users, db=db, reports=work / "reports", log=work / f"serve-{n}.log", env=env, wait=False)
        servers.append(cm)
        return cm.__enter__()

    def stop() -> None:
        servers.pop().__exit__(None, None, None)

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
                ("http://localhost:", "blob:http://localhost:", "data:")) else None)
            try:
                cold = cold_start(page, lambda: start(1), first, logged_in=False)
                base = cold["base"]
                while (dashboard_status(base) or {}).get("warming", True):   # steady: after the cache warm-up
                    time.sleep(0.3)
                t = measure(page, base, ids, args.repeat)
                stop()
                change_data(db, ids, args.changed)
                changed = cold_start(page, lambda: start(2), first, logged_in=True)
                stop()
            finally:
                while servers:
                    stop()
                browser.close()
            if outside:
                print(f"WARNING: requests left the machine: {outside[:5]}")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in t.items() if v}
    b = base_line
    print(f"dashboard, {len(ids)} experiments ({args.repeat} runs each; medians; other work may share the machine)")
    print(f"  load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; after: "
          f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs")
    print(f"  server start → first meaningful paint (kept snapshot, data unchanged, login form included): "
          f"{cold['paint']:.2f} s (target < 2 s; server CPU {cold['cpu']:.2f} s); the server answered after "
          f"{cold['up']:.2f} s, so the page took {cold['paint'] - cold['up']:.2f} s; current analysis: "
          f"{'yes' if not cold['previous'] else 'no'}")
    print(f"  server start after new events for {args.changed} experiments → first meaningful paint: "
          f"{changed['paint']:.2f} s (server CPU {changed['cpu']:.2f} s; answered after {changed['up']:.2f} s), "
          f"shown as the previous data: "
          f"{'yes' if changed['previous'] else 'NO'}; current analysis after {changed['current']:.1f} s "
          f"(only the changed experiments re-analysed)")
    print(f"  baseline, a start without a kept snapshot: the first paint waits for the whole refresh (evaluate, "
          f"registry, autopilot): {b['evaluate_s']:.1f} s (CPU {b['evaluate_cpu']:.1f} s) in this process")
    print(f"  kept snapshot (JSON + Arrow, no pickle): {b['size_mb']:.0f} MB beside the database, written in "
          f"{b['save_s']:.1f} s; its portfolio, registry and plan read in {b['front_s']:.2f} s, one experiment's "
          f"outcome in {b['one_s'] * 1000:.0f} ms when first opened, all "
          f"{len(ids)} in {b['rest_s']:.1f} s (in the background, after the first paint)")
    print(f"  portfolio first meaningful paint, steady server (first page): {med['portfolio']:.2f} s (target < 2 s; "
          f"{med['portfolio'] / 2:.2f} of target)  runs: {', '.join(f'{x:.2f}' for x in t['portfolio'])}")
    if "next_page" in med:
        print(f"  next page of the portfolio (served by the server): {med['next_page']:.2f} s  runs: "
              f"{', '.join(f'{x:.2f}' for x in t['next_page'])}")
    print(f"  detail page (title, tiles, 5 plots):  {med['detail']:.2f} s  runs: "
          f"{', '.join(f'{x:.2f}' for x in t['detail'])}")
    print(f"  switch experiment on the detail page: {med['switch']:.2f} s (target < 0.5 s; "
          f"{med['switch'] / 0.5:.2f} of target; max {max(t['switch']):.2f} s)")
    print(f"  baseline, one experiment's extras computed cold: {b['cold_extras_s']:.2f} s (the cache "
          f"saves this on every switch)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
