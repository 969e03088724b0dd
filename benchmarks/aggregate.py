"""Benchmark: the workbench's aggregation vs one hand-written DuckDB SQL query, on 10 million events.

Both compute the same numbers — per-unit values with the bot and sticky rules and the pre-period
join, then n / Σ / Σ² / cross-products per experiment × variant × exclusion × device — from the same
Parquet file, each in its own subprocess (so peak memory is measured per method), alternating, three
times. Prints both medians, the ratio (target ≤ 1.2), peak RSS (target < 2 GB) and whether the
numbers are identical.

    .venv/bin/python benchmarks/aggregate.py [--events 10000000] [--repeat 3]
    .venv/bin/python benchmarks/aggregate.py --defined [--data DIR]    # only the 20 defined metrics

After the built-in run comes the defined-metrics run: 20 metrics from definitions (3 quantiles, 2 conversion windows, 2 caps; see
``aggregate_defined.py``) against hand-written DuckDB SQL computing the same numbers. ``--data DIR``
uses an existing world (``events.parquet``, ``pre_period.parquet``, ``world_experiments.parquet``) instead
of generating one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bench import load_note

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
EVENTS_PER_SCALE = 1_845_000          # the demo world at scale 1.0


def ensure_data(n_events: int, seed: int) -> Path:
    scale = n_events / EVENTS_PER_SCALE
    target = OUT / f"world_{n_events // 1_000_000}m_seed{seed}"
    info = target / "world_info.json"
    if info.exists() and json.loads(info.read_text()) == {"seed": seed, "scale": scale}:
        return target
    sys.path.insert(0, str(HERE.parent))
    from workbench.simulate.writer import write_world
    t0 = time.perf_counter()
    s = write_world(target, seed=seed, scale=scale, force=True, progress=lambda e: print(f"  generated {e}", file=sys.stderr))
    print(f"generated {s.events:,} events in {time.perf_counter() - t0:.0f} s → {target}")
    return target


WORKBENCH = """
import json, sys, time
from workbench.db import connect
from workbench.sources.events import open_event_log
from workbench.aggregate import aggregate_cube
path = sys.argv[1]
t0, c0 = time.perf_counter(), time.process_time()
with connect(":memory:") as con:
    cube = aggregate_cube(open_event_log(con, path + "/events.parquet"), dims=("device",))
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
cube.drop(columns=["last_ts"]).to_parquet(sys.argv[2])
print(json.dumps({"seconds": elapsed, "cpu": cpu, "rows": len(cube)}))
"""

HAND = r"""
import json, sys, time
import duckdb
import pandas as pd
path, out, columns = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
values = sorted({c[:-5] for c in columns if c.endswith("__sum") and c != "n_events__sum"})
pairs = [c.split("__x__") for c in columns if "__x__" in c]
sums = ",\n  ".join([f"sum({v}::DOUBLE) AS {v}__sum, sum({v}::DOUBLE * {v}::DOUBLE) AS {v}__sum_sq" for v in values]
                    + [f"sum({a}::DOUBLE * {b}::DOUBLE) AS {a}__x__{b}" for a, b in pairs])
sql = f'''
WITH bursts AS (
  SELECT DISTINCT ip_hash FROM (SELECT ip_hash, date_trunc('minute', ts_server) AS m, count(*) AS c
                                FROM read_parquet('{path}/events.parquet') GROUP BY ALL) WHERE c > 120),
u AS (
  SELECT experiment_id, user_key,
    arg_min(variant_id, ts_server) AS variant, arg_min(device, ts_server) AS device,
    min(variant_id) <> max(variant_id) AS multi_variant, count(*) AS n_events,
    epoch(max(ts_server)) - epoch(min(ts_server)) AS span_s,
    sum(CASE WHEN event = 'impression' THEN 1 ELSE 0 END) AS impressions,
    sum(CASE WHEN event = 'click_detail' THEN 1 ELSE 0 END) AS clicks,
    sum(CASE WHEN event = 'add_to_cart' THEN 1 ELSE 0 END) AS carts,
    sum(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    sum(CASE WHEN event = 'purchase' THEN quantity ELSE 0 END) AS quantity,
    sum(CASE WHEN event = 'purchase' THEN price * quantity ELSE 0 END) AS revenue,
    coalesce(sum(lcp_ms / 1000.0), 0) AS lcp_s,
    sum(CASE WHEN http_status >= 500 THEN 1 ELSE 0 END) AS errors,
    sum(CASE WHEN event = 'purchase' AND returned THEN 1 ELSE 0 END) AS returns,
    sum(CASE WHEN regexp_matches(user_agent, '(?i)(headless|phantomjs|selenium|puppeteer|playwright|bot|crawler|spider|curl|python-requests)') THEN 1 ELSE 0 END) > 0 AS headless,
    avg(CASE WHEN event = 'impression' THEN dwell_ms END) AS dwell_mean,
    max(ip_hash) AS ip
  FROM read_parquet('{path}/events.parquet') GROUP BY experiment_id, user_key),
units AS (
  SELECT u.*,
    CASE WHEN headless THEN 'headless_ua'
         WHEN dwell_mean < 1000 AND impressions >= 3 THEN 'short_dwell'
         WHEN ip IN (SELECT ip_hash FROM bursts) THEN 'ip_burst'
         WHEN n_events > 300 * (span_s / 3600.0 + 1) THEN 'event_rate'
         WHEN multi_variant THEN 'sticky' ELSE '' END AS excluded,
    (clicks > 0)::INT AS clicked, (carts > 0)::INT AS carted, (purchases > 0)::INT AS purchased,
    coalesce(p.pre_sessions, 0)::DOUBLE AS pre_sessions, coalesce(p.pre_purchases, 0)::DOUBLE AS pre_purchases,
    coalesce(p.pre_revenue, 0)::DOUBLE AS pre_revenue
  FROM u LEFT JOIN read_parquet('{path}/pre_period.parquet') AS p USING (user_key))
SELECT experiment_id, variant, excluded, device, count(*) AS n, sum(n_events)::DOUBLE AS n_events__sum,
  {sums}
FROM units GROUP BY experiment_id, variant, excluded, device
'''
t0, c0 = time.perf_counter(), time.process_time()
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")   # the same engine settings the workbench uses
cube = con.execute(sql).df()
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
cube.to_parquet(out)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "rows": len(cube)}))
"""


# Runs the benchmark's code as its only child and reports that child's CPU time and peak RSS.
_MEASURED = ("import json, resource, subprocess, sys; p = subprocess.run([sys.executable, '-c'] + sys.argv[1:], "
             "capture_output=True, text=True); sys.stderr.write(p.stderr); r = resource.getrusage("
             "resource.RUSAGE_CHILDREN); print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else '{}'); "
             "print(json.dumps({'cpu': r.ru_utime + r.ru_stime, 'rss_mb': r.ru_maxrss / 1024})); sys.exit(p.returncode)")


def run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter and return the JSON line it prints, with ``cpu`` (the process's
    CPU seconds, user + system, start-up included) and ``rss_mb`` (its peak RSS) beside its wall ``seconds``."""
    proc = subprocess.run([sys.executable, "-c", _MEASURED, code, *args], capture_output=True, text=True,
                          cwd=HERE.parent, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    if proc.returncode:
        raise SystemExit(proc.stderr)
    *_, result, usage = proc.stdout.strip().splitlines()
    return {**json.loads(result), **json.loads(usage)}


def peak_rss(code: str, *args: str) -> float:
    """Peak RSS (MB) of one run: a wrapper process reads its only child's ru_maxrss."""
    wrapper = ("import resource, subprocess, sys; subprocess.run([sys.executable, '-c'] + sys.argv[1:], check=True, "
               "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", wrapper, code, *args], capture_output=True, text=True,
                          cwd=HERE.parent, env={**os.environ, "PYTHONPATH": str(HERE.parent)}, check=True)
    return int(proc.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--defined", action="store_true", help="only the run of 20 defined metrics (3 quantiles, "
                    "2 windows, 2 caps)")
    ap.add_argument("--data", type=Path, default=None, help="an existing world directory (Parquet files)")
    args = ap.parse_args()
    data = args.data if args.data is not None else ensure_data(args.events, args.seed)
    if args.defined:
        return main_defined(data, args.repeat)
    wb_out, hand_out = OUT / "cube_workbench.parquet", OUT / "cube_hand.parquet"

    import pandas as pd
    wb_times, hand_times, wb_cpu, hand_cpu = [], [], [], []
    for i in range(args.repeat):
        res = run(WORKBENCH, str(data), str(wb_out))
        wb_times.append(res["seconds"])
        wb_cpu.append(res["cpu"])
        columns = [c for c in pd.read_parquet(wb_out).columns if c == "n" or "__" in c]
        res = run(HAND, str(data), str(hand_out), json.dumps(columns))
        hand_times.append(res["seconds"])
        hand_cpu.append(res["cpu"])
        print(f"run {i + 1}: workbench {wb_times[-1]:.2f} s (CPU {wb_cpu[-1]:.1f} s), hand-written SQL "
              f"{hand_times[-1]:.2f} s (CPU {hand_cpu[-1]:.1f} s)  ({load_note()})")
    wb_rss = peak_rss(WORKBENCH, str(data), str(wb_out))
    hand_rss = peak_rss(HAND, str(data), str(hand_out), json.dumps(columns))

    a = pd.read_parquet(wb_out)
    b = pd.read_parquet(hand_out)
    keys = ["experiment_id", "variant", "excluded", "device"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    cols = [c for c in columns if c in b.columns]
    diff = max(float(((a[c] - b[c]).abs() / b[c].abs().clip(lower=1.0)).max()) for c in cols)
    same_keys = a[keys].equals(b[keys])

    wb, hand = statistics.median(wb_times), statistics.median(hand_times)
    n_events = int(pd.read_parquet(data / "events.parquet", columns=["event"]).shape[0])
    print(f"\nevents: {n_events:,}   cube rows: {len(a)}   sums compared: {len(cols)}")
    print(f"workbench (Ibis → DuckDB): {wb:.2f} s median (CPU {statistics.median(wb_cpu):.1f} s)   "
          f"peak RSS {wb_rss:,.0f} MB")
    print(f"hand-written DuckDB SQL:   {hand:.2f} s median (CPU {statistics.median(hand_cpu):.1f} s)   "
          f"peak RSS {hand_rss:,.0f} MB")
    print(f"ratio workbench / hand-written: {wb / hand:.2f}  (target ≤ 1.2)")
    print(f"peak memory under 2 GB: {'yes' if max(wb_rss, hand_rss) < 2048 else 'NO'}")
    print(f"identical numbers: {'yes' if same_keys and diff < 1e-12 else 'NO'} (max relative difference {diff:.1e})")
    print(f"({load_note()})")
    print("\n== 20 defined metrics (3 quantiles, 2 windows, 2 caps)")
    main_defined(data, args.repeat)


def main_defined(data: Path, repeat: int) -> None:
    """The defined-metrics run (see aggregate_defined.py)."""
    sys.path.insert(0, str(HERE))
    import aggregate_defined as d
    import pandas as pd
    if not (data / "world_experiments.parquet").exists():
        raise SystemExit(f"{data} has no world_experiments.parquet (experiment_id, product_id)")
    OUT.mkdir(parents=True, exist_ok=True)
    defs = OUT / "metrics_defined.yaml"
    defs.write_text(d.METRICS_YAML, encoding="utf-8")
    wb_out, hand_out = str(OUT / "cube_defined_workbench.parquet"), str(OUT / "cube_defined_hand.parquet")
    names = json.dumps(d.METRICS)
    wb_times, hand_times, wb_cpu, hand_cpu = [], [], [], []
    wb_rss = hand_rss = 0.0
    columns: list[str] = []
    for i in range(repeat):          # each run measures its own CPU time and peak RSS (no extra runs)
        res = run(d.WORKBENCH, str(data), wb_out, str(defs), names)
        wb_times.append(res["seconds"])
        wb_cpu.append(res["cpu"])
        wb_rss = max(wb_rss, res["rss_mb"])
        columns = [c for c in pd.read_parquet(wb_out).columns if c == "n" or "__" in c or c.endswith("_capped_at")]
        res = run(d.HAND, str(data), hand_out, json.dumps(columns))
        hand_times.append(res["seconds"])
        hand_cpu.append(res["cpu"])
        hand_rss = max(hand_rss, res["rss_mb"])
        print(f"run {i + 1}: workbench {wb_times[-1]:.2f} s (CPU {wb_cpu[-1]:.1f} s), hand-written SQL "
              f"{hand_times[-1]:.2f} s (CPU {hand_cpu[-1]:.1f} s)   ({load_note()})", flush=True)
    n_cols, diff, same_keys, q_rel, counts = d.compare(wb_out, hand_out)
    wb, hand = statistics.median(wb_times), statistics.median(hand_times)
    n_events = int(pd.read_parquet(data / "events.parquet", columns=["event"]).shape[0])
    print(f"\nevents: {n_events:,}   metrics: {len(d.METRICS)} (3 quantiles, 2 windows, 2 caps)   "
          f"cube columns compared: {n_cols}")
    wbc, handc = statistics.median(wb_cpu), statistics.median(hand_cpu)
    print(f"workbench (Ibis → DuckDB): {wb:.2f} s wall median, CPU {wbc:.1f} s   peak RSS {wb_rss:,.0f} MB")
    print(f"hand-written DuckDB SQL:   {hand:.2f} s wall median, CPU {handc:.1f} s   peak RSS {hand_rss:,.0f} MB")
    print(f"ratio workbench / hand-written: {wb / hand:.2f} wall, {wbc / handc:.2f} CPU  (target ≤ 1.2)")
    print(f"peak memory under 2 GB: {'yes' if max(wb_rss, hand_rss) < 2048 else 'NO'}")
    print(f"identical sums: {'yes' if same_keys and diff < 1e-12 else 'NO'} (max relative difference {diff:.1e})")
    print(f"quantiles within the histogram's resolution (1e-3): {'yes' if q_rel <= 1e-3 else 'NO'} "
          f"(max relative difference {q_rel:.1e}); users and events per arm identical: {'yes' if counts else 'NO'}")
    print(f"({load_note()})")


if __name__ == "__main__":
    main()
