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

Measured in the steady state: after the server's first refresh and its cache warm-up have finished.

Baselines measured in the same run, in this process, on the same database: the server's refresh
(``evaluate()`` of the whole portfolio, the registry and the autopilot plan — what a page that
analysed per session would wait for before painting), and the cold computation of one experiment's
extras (trend, segments, posterior, chance over time — what a switch would cost without the server's
cache). Timings are medians; the machine's load average is printed beside them.

    .venv/bin/python benchmarks/dashboard.py [--experiments 500] [--scale 0.02] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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


def baselines(db: Path) -> dict[str, float]:
    """In-process: the server's refresh (evaluate() of the portfolio ...), and one experiment's extras cold."""
    from workbench.dashboard.service import DashboardService

    svc = DashboardService(db)
    t0 = time.perf_counter()
    svc.refresh(warm=False)
    evaluate_s = time.perf_counter() - t0
    eid = "pdp-home-lcp"
    extras = []
    for _ in range(repeats):
        svc = DashboardService(db)
        svc.refresh(warm=False)
        extras.append(timed(lambda: (svc.trend(eid, "h"), svc.segments(eid, "device"), svc.posterior(eid),
                                     svc.chance(eid)), 1).wall)
    return {"evaluate_s": evaluate_s, "cold_extras_s": statistics.median(extras)}


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


def measure(base: str, ids: list[str], repeat: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright
    from workbench.dashboard.paging import PAGE_SIZE
    first = min(len(ids), PAGE_SIZE)
    out: dict[str, list[float]] = {"portfolio": [], "next_page": [], "detail": [], "switch": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, f"blob:{base}", "data:")) else None)
        page.goto(f"{base}/app")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("#login")
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
        browser.close()
        if outside:
            print(f"WARNING: requests left the machine: {outside[:5]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiments", type=int, default=50, help="world size (500 for issue 20; use --scale 0.02)")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (Debian package chromium)")
    db = build_world(args.experiments, args.scale, args.seed)
    load_before = os.getloadavg()
    base_line = baselines(db)
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    ids = [r[0] for r in con.execute("SELECT experiment_id FROM world_experiments ORDER BY 1").fetchall()]
    con.close()
    from workbench.dashboard.server import serving
    try:
        # steady: measured once the caches are filled after the first refresh
        with serving(users_file(OUT), db=db, reports=OUT / "reports", log=OUT / "bench-serve.log",
                     timeout=300 + 2.0 * len(ids), steady=True) as base:
            t = measure(base, ids, args.repeat)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in t.items() if v}
    print(f"dashboard, {len(ids)} experiments ({args.repeat} runs each; medians; other work may share the machine)")
    print(f"  load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; after: "
          f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs")
    print(f"  portfolio first meaningful paint (first page): {med['portfolio']:.2f} s (target < 2 s; "
          f"{med['portfolio'] / 2:.2f} of target)  runs: {', '.join(f'{x:.2f}' for x in t['portfolio'])}")
    if "next_page" in med:
        print(f"  next page of the portfolio (served by the server): {med['next_page']:.2f} s  runs: "
              f"{', '.join(f'{x:.2f}' for x in t['next_page'])}")
    print(f"  baseline, the portfolio's analysis per session (evaluate, registry, autopilot): "
          f"{base_line['evaluate_s']:.2f} s → the shared snapshot paints in "
          f"{med['portfolio'] / base_line['evaluate_s']:.3f}× that time")
    print(f"  detail page (title, tiles, 5 plots):  {med['detail']:.2f} s  runs: "
          f"{', '.join(f'{x:.2f}' for x in t['detail'])}")
    print(f"  switch experiment on the detail page: {med['switch']:.2f} s (target < 0.5 s; "
          f"{med['switch'] / 0.5:.2f} of target; max {max(t['switch']):.2f} s)")
    print(f"  baseline, one experiment's extras computed cold: {base_line['cold_extras_s']:.2f} s (the cache "
          f"saves this on every switch)")


if __name__ == "__main__":
    main()
