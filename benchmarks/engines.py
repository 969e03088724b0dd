"""Benchmark: the workbench's aggregation on DuckDB and on Spark from a Parquet lake, each against a
hand-written query on the same engine, in the same run.

The lake (``simulate --format parquet`` layout, hive-partitioned by day) is generated once and cached under
``benchmarks/out/`` (git-ignored). Every measurement runs in a fresh subprocess, so peak memory (the largest
resident size of the process and its children, the Spark JVM included, sampled every 0.1 s) is measured per method; both sides of
each ratio are timed the same way (median of ``--repeat`` runs, query time only: Spark's session start-up is
reported apart). All experiments × variants × exclusion × segments (device, channel, user type). On DuckDB the
workbench's cube of a lake larger than ``engine.events_per_query`` runs as one query per batch of whole
experiments (the number is printed); the hand-written query is one query over the whole lake.

Spark projection to a cluster (see the README, "Running on Spark"): from the Spark run, the fixed cost F (the
same query over zero partitions: planning, code generation, scheduling) and the per-partition cost
c = (T − F) × cores / P (P input partitions, ``local[cores]``); on N executors × k cores for E events,
T ≈ F + c × ceil(P × E / E_measured / (N × k)). Both are also printed from CPU time (this process and its children,
the JVM included, via psutil): on a busy machine the wall figures include waiting for a core.

    .venv/bin/python benchmarks/engines.py [--events 100000000] [--engines duckdb,spark] [--repeat 1] [--memory-limit 3GB]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
EVENTS_PER_SCALE = 1_845_000          # the demo world at scale 1.0
DIMS = ("device", "channel", "user_type")
LOCAL_CORES = 2
MEMORY_LIMIT = "3GB"
"""DuckDB's memory_limit on both sides (see the README, "Running on Spark", Scale, for why not the 1 GB default)."""


SLICE_EVENTS = 10_000_000
"""Events generated at once. The simulator holds one experiment's events in memory (about 1.1 KB an event at
its peak: 14.9 GB for the 13 M events of pdp-electronics-cta at 100 M, and the largest experiment would need
about 23 GB), so a large lake is generated as independent worlds of at most this many events (seeds
``seed + k·2⁴⁰``: user keys, hashed with the seed, never collide between slices) whose day partitions hold
one file per slice. Each experiment then has the users of all slices over the same days."""


def ensure_lake(n_events: int, seed: int, slice_events: int = SLICE_EVENTS) -> Path:
    target = OUT / f"lake_{n_events // 1_000_000}m_seed{seed}"
    info = target / "lake_info.json"
    if info.exists() and json.loads(info.read_text()).get("events_target") == n_events:
        return target
    sys.path.insert(0, str(HERE.parent))
    import shutil
    from workbench.simulate.writer import write_world
    t0 = time.perf_counter()
    slices = max(1, math.ceil(n_events / slice_events))
    tmp = OUT / f".{target.name}.partial"          # slices done survive an interrupted run: it resumes
    events = 0
    for k in range(slices):
        done = tmp / f"slice{k}.done"
        if done.exists():
            events += int(done.read_text())
            continue
        part = tmp / f"slice{k}"
        shutil.rmtree(part, ignore_errors=True)
        s = write_world(part, seed=seed + (k << 40), scale=n_events / slices / EVENTS_PER_SCALE, layout="lake",
                        force=True, progress=lambda e, k=k: print(f"  slice {k + 1}/{slices}: generated {e}", file=sys.stderr))
        events += s.events
        for table in sorted(p.name for p in part.iterdir() if p.is_dir()):
            if table != "events" and table != "pre_period" and k > 0:
                continue                                  # the experiments' own tables: the first slice's
            for f in sorted((part / table).rglob("*.parquet")):
                dest = tmp / "lake" / table / f.parent.relative_to(part / table) / f"part-{k:05d}.parquet"
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)
        shutil.rmtree(part)
        done.write_text(str(s.events))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp / "lake", target)
    shutil.rmtree(tmp, ignore_errors=True)
    info.write_text(json.dumps({"seed": seed, "events_target": n_events, "events": events, "slices": slices}))
    print(f"generated {events:,} events ({slices} slice{'s' if slices > 1 else ''}) in {time.perf_counter() - t0:.0f} s "
          f"→ {target}")
    return target


PEAK = """
import threading, time, psutil
_peak = [0]
def _watch():
    me = psutil.Process()
    while True:
        try:
            _peak[0] = max(_peak[0], sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.1)
threading.Thread(target=_watch, daemon=True).start()
def _cpu():
    # CPU seconds of this process and its children (Spark's JVM is a child: its CPU counts too)
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for p in me.children(recursive=True):
        try:
            total += sum(p.cpu_times()[:2])
        except psutil.Error:
            pass
    return total
"""

WORKBENCH = PEAK + """
import json, sys, time
t0 = time.perf_counter()
from workbench.engine import open_events
from workbench.sources.events import open_event_log
from workbench.aggregate import aggregate_cube, experiment_batches
from workbench.errors import WorkbenchError
lake, engine, out, dims = sys.argv[1], sys.argv[2], sys.argv[3], tuple(sys.argv[4].split(","))
with open_events(engine=engine, events=lake) as (con, root):
    log = open_event_log(con, "events", lake=root)
    start = time.perf_counter() - t0
    extra = {}
    if engine == "spark":        # the fixed cost: the same query over zero partitions
        import dataclasses, datetime as dt
        empty = dataclasses.replace(log, table=log.table.filter(log.table.date < dt.date(1970, 1, 2)))
        t1, c1 = time.perf_counter(), _cpu(); aggregate_cube(empty, dims=dims)
        extra["fixed"], extra["fixed_cpu"] = time.perf_counter() - t1, _cpu() - c1
        extra["partitions"] = con._session.read.parquet(lake + "/events").rdd.getNumPartitions()
    else:                        # DuckDB: the queries the cube takes (batches of whole experiments)
        extra["batches"] = len(experiment_batches(log) or [None])
    t1, c1 = time.perf_counter(), _cpu()
    try:
        cube = aggregate_cube(log, dims=dims)
    except WorkbenchError as exc:          # the one line naming the setting to change (engine.memory_limit)
        print(json.dumps({"error": str(exc), "seconds": time.perf_counter() - t1, "peak": _peak[0]}))
        raise SystemExit(0)
    elapsed, cpu = time.perf_counter() - t1, _cpu() - c1
cube.drop(columns=["last_ts"]).to_parquet(out)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "startup": start, "rows": len(cube), "peak": _peak[0], **extra}))
"""

HAND = PEAK + r"""
import json, sys, time
t0 = time.perf_counter()
lake, engine, out, columns, dims = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5].split(",")
limit, threads = sys.argv[6], int(sys.argv[7])
values = sorted({c[:-5] for c in columns if c.endswith("__sum") and c != "n_events__sum"})
pairs = [c.split("__x__") for c in columns if "__x__" in c]
D = "CAST({} AS DOUBLE)"
sums = ",\n  ".join([f"sum({D.format(v)}) AS {v}__sum, sum({D.format(v)} * {D.format(v)}) AS {v}__sum_sq" for v in values]
                    + [f"sum({D.format(a)} * {D.format(b)}) AS {a}__x__{b}" for a, b in pairs])
pattern = "(?i)(headless|phantomjs|selenium|puppeteer|playwright|bot|crawler|spider|curl|python-requests)"
if engine == "duckdb":
    import duckdb
    import atexit, shutil, tempfile
    spill = tempfile.mkdtemp(prefix="bench-hand-")          # this process's own spill folder
    atexit.register(shutil.rmtree, spill, True)
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute(f"SET memory_limit = '{limit}'"); con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    events = f"read_parquet('{lake}/events/date=*/*.parquet', hive_partitioning = true)"
    pre = f"read_parquet('{lake}/pre_period/*.parquet')"
    regex, epoch = "regexp_matches(user_agent, '{}')".format(pattern), "epoch({})"
    run = lambda sql: con.execute(sql).df()
    units_from, headless = events, f"sum(CASE WHEN {regex} THEN 1 ELSE 0 END)"
else:
    from workbench.engine import spark_session
    spark = spark_session()
    spark.read.parquet(f"{lake}/events").createOrReplaceTempView("ev")
    spark.read.parquet(f"{lake}/pre_period").createOrReplaceTempView("pre")
    events, pre = "ev", "pre"
    regex, epoch = "user_agent RLIKE '{}'".format(pattern), "unix_timestamp({})"
    # the regex once per distinct user agent, joined back (Java's regex per event is the costliest part of a row)
    spark.sql(f'''SELECT e.*, coalesce(h.headless_event, 0) AS headless_event FROM ev e LEFT JOIN
                  (SELECT user_agent, CASE WHEN {regex} THEN 1 ELSE 0 END AS headless_event
                   FROM (SELECT DISTINCT user_agent FROM ev)) h ON e.user_agent = h.user_agent''').createOrReplaceTempView("evh")
    units_from, headless = "evh", "sum(headless_event)"
    run = lambda sql: spark.sql(sql).toPandas()
firsts = ", ".join(f"min_by({d}, ts_server) AS {d}" for d in dims)
sql = f'''
WITH bursts AS (
  SELECT DISTINCT ip_hash FROM (SELECT ip_hash, date_trunc('minute', ts_server) AS m, count(*) AS c
                                FROM {events} GROUP BY ip_hash, date_trunc('minute', ts_server)) b WHERE c > 120),
u AS (
  SELECT experiment_id, user_key, min_by(variant_id, ts_server) AS variant, {firsts},
    min(variant_id) <> max(variant_id) AS multi_variant, count(*) AS n_events,
    {epoch.format("max(ts_server)")} - {epoch.format("min(ts_server)")} AS span_s,
    sum(CASE WHEN event = 'impression' THEN 1 ELSE 0 END) AS impressions,
    sum(CASE WHEN event = 'click_detail' THEN 1 ELSE 0 END) AS clicks,
    sum(CASE WHEN event = 'add_to_cart' THEN 1 ELSE 0 END) AS carts,
    sum(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    sum(CASE WHEN event = 'purchase' THEN quantity ELSE 0 END) AS quantity,
    sum(CASE WHEN event = 'purchase' THEN price * quantity ELSE 0 END) AS revenue,
    coalesce(sum(lcp_ms / 1000.0), 0) AS lcp_s,
    sum(CASE WHEN http_status >= 500 THEN 1 ELSE 0 END) AS errors,
    sum(CASE WHEN event = 'purchase' AND returned THEN 1 ELSE 0 END) AS returns,
    {headless} > 0 AS headless,
    avg(CASE WHEN event = 'impression' THEN dwell_ms END) AS dwell_mean,
    max(ip_hash) AS ip
  FROM {units_from} GROUP BY experiment_id, user_key),
units AS (
  SELECT u.*,
    CASE WHEN headless THEN 'headless_ua'
         WHEN dwell_mean < 1000 AND impressions >= 3 THEN 'short_dwell'
         WHEN ip IN (SELECT ip_hash FROM bursts) THEN 'ip_burst'
         WHEN n_events > 300 * (span_s / 3600.0 + 1) THEN 'event_rate'
         WHEN multi_variant THEN 'sticky' ELSE '' END AS excluded,
    CASE WHEN clicks > 0 THEN 1 ELSE 0 END AS clicked, CASE WHEN carts > 0 THEN 1 ELSE 0 END AS carted,
    CASE WHEN purchases > 0 THEN 1 ELSE 0 END AS purchased,
    CAST(coalesce(p.pre_sessions, 0) AS DOUBLE) AS pre_sessions,
    CAST(coalesce(p.pre_purchases, 0) AS DOUBLE) AS pre_purchases,
    CAST(coalesce(p.pre_revenue, 0) AS DOUBLE) AS pre_revenue
  FROM u LEFT JOIN {pre} AS p ON u.user_key = p.user_key)
SELECT experiment_id, variant, excluded, {", ".join(dims)}, count(*) AS n, CAST(sum(n_events) AS DOUBLE) AS n_events__sum,
  {sums}
FROM units GROUP BY experiment_id, variant, excluded, {", ".join(dims)}
'''
start = time.perf_counter() - t0
t1, c1 = time.perf_counter(), _cpu()
try:
    cube = run(sql)
except Exception as exc:
    if type(exc).__name__ != "OutOfMemoryException":
        raise
    print(json.dumps({"error": f"the hand-written query does not fit in memory_limit = {limit} "
                               f"({str(exc).splitlines()[0]}); raise --memory-limit", "seconds": time.perf_counter() - t1,
                      "peak": _peak[0]}))
    raise SystemExit(0)
elapsed, cpu = time.perf_counter() - t1, _cpu() - c1
cube.to_parquet(out)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "startup": start, "rows": len(cube), "peak": _peak[0]}))
"""


def run(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; its JSON line plus its peak RSS (MB, largest of it and its children)."""
    wrapper = ("import json, resource, subprocess, sys\n"
               "p = subprocess.run([sys.executable, '-c'] + sys.argv[1:], capture_output=True, text=True)\n"
               "sys.stderr.write(p.stderr[-3000:] if p.returncode else '')\n"
               "print(json.dumps({'rc': p.returncode, 'out': p.stdout, "
               "'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    proc = subprocess.run([sys.executable, "-c", wrapper, code, *args], capture_output=True, text=True, cwd=HERE.parent,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent), **(env or {})})
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if res["rc"]:
        raise SystemExit(f"failed:\n{proc.stderr}")
    out = json.loads(res["out"].strip().splitlines()[-1])
    # the larger of the kernel's maximum RSS of the process and the sampled sum over its process tree (Spark's JVM)
    return {**out, "rss_mb": max(res["rss"] / 1024, out.get("peak", 0) / 2 ** 20)}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000_000, help="events in the lake (generated once, cached)")
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slice-events", type=int, default=SLICE_EVENTS, help="events generated at once (memory)")
    ap.add_argument("--memory-limit", default=MEMORY_LIMIT,
                    help="DuckDB's memory_limit for both sides (the workbench's engine.memory_limit; ≤ 4GB)")
    ap.add_argument("--project", default="4x4,16x4,64x4", help="clusters to project: executors x cores, comma-separated")
    args = ap.parse_args()
    lake = ensure_lake(args.events, args.seed, args.slice_events)
    events = json.loads((lake / "lake_info.json").read_text())["events"]
    print(f"lake: {lake} ({events:,} events); {load()}", flush=True)
    import pandas as pd
    sys.path.insert(0, str(HERE.parent))
    from workbench.db import auto_threads
    dims = ",".join(DIMS)
    config = OUT / f"engines-bench-{os.getpid()}.yaml"     # the workbench side's engine.memory_limit
    config.write_text(f"engine:\n  memory_limit: {args.memory_limit}\n", encoding="utf-8")
    env = {"WORKBENCH_CONFIG": str(config)}
    threads = auto_threads(args.memory_limit)
    try:
        for engine in args.engines.split(","):
            if engine == "duckdb":
                print(f"DuckDB memory_limit = {args.memory_limit} on both sides ({threads} thread{'s' if threads > 1 else ''}; --memory-limit)",
                      flush=True)
            _engine(engine, args, lake, events, dims, env, threads)
    finally:
        config.unlink(missing_ok=True)


def _engine(engine: str, args: argparse.Namespace, lake: Path, events: int, dims: str, env: dict[str, str],
            threads: int) -> None:
    import pandas as pd
    wb_out, hand_out = OUT / f"cube_{engine}_workbench.parquet", OUT / f"cube_{engine}_hand.parquet"
    wb, hand = [], []
    for i in range(args.repeat):
        wb.append(run(WORKBENCH, str(lake), engine, str(wb_out), dims, env=env))
        if "error" in wb[-1]:
            print(f"{engine} run {i + 1}: workbench stopped after {wb[-1]['seconds']:.0f} s: {wb[-1]['error']} "
                  "(here: --memory-limit)")
            return
        batches = f", {wb[-1]['batches']} queries (engine.events_per_query)" if "batches" in wb[-1] else ""
        print(f"{engine} run {i + 1}: workbench {wb[-1]['seconds']:.1f} s (CPU {wb[-1]['cpu']:.1f} s, peak "
              f"{wb[-1]['rss_mb']:,.0f} MB{batches})  ({load()})", flush=True)
        columns = [c for c in pd.read_parquet(wb_out).columns if c == "n" or "__" in c]
        hand.append(run(HAND, str(lake), engine, str(hand_out), json.dumps(columns), dims, args.memory_limit,
                        str(threads)))
        if "error" in hand[-1]:
            print(f"{engine} run {i + 1}: hand-written stopped after {hand[-1]['seconds']:.0f} s: {hand[-1]['error']}")
            return
        print(f"{engine} run {i + 1}: hand-written {hand[-1]['seconds']:.1f} s (CPU {hand[-1]['cpu']:.1f} s, peak "
              f"{hand[-1]['rss_mb']:,.0f} MB)  ({load()})", flush=True)
    t_wb, t_hand = statistics.median(r["seconds"] for r in wb), statistics.median(r["seconds"] for r in hand)
    a, b = pd.read_parquet(wb_out), pd.read_parquet(hand_out)
    keys = ["experiment_id", "variant", "excluded", *DIMS]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    cols = [c for c in columns if c in b.columns]
    same = len(a) == len(b) and a[keys].astype(str).equals(b[keys].astype(str))
    diff = max(float(((a[c] - b[c]).abs() / b[c].abs().clip(lower=1.0)).max()) for c in cols) if same else float("nan")
    print(f"\n== {engine}: {len(a)} cube rows, {len(cols)} sums compared, identical to the hand-written query: "
          f"{'yes' if same and diff < 1e-9 else 'NO'} (max relative difference {diff:.1e})")
    cpu_note = "CPU of the process" + (" and its JVM" if engine == "spark" else "")
    print(f"  workbench (Ibis):  {t_wb:7.1f} s  {events / t_wb:12,.0f} events/s  peak RSS {max(r['rss_mb'] for r in wb):7,.0f} MB"
          f"  CPU {statistics.median(r['cpu'] for r in wb):.1f} s  (start-up {wb[0]['startup']:.1f} s)")
    print(f"  hand-written SQL:  {t_hand:7.1f} s  {events / t_hand:12,.0f} events/s  peak RSS "
          f"{max(r['rss_mb'] for r in hand):7,.0f} MB  CPU {statistics.median(r['cpu'] for r in hand):.1f} s  ({cpu_note})")
    print(f"  ratio workbench / hand-written: {t_wb / t_hand:.2f} (target ≤ 1.2)")
    if engine == "duckdb":
        print(f"  DuckDB peak memory under 4 GB: {'yes' if max(r['rss_mb'] for r in wb) < 4096 else 'NO'}")
    if engine == "spark":
        fixed, parts = statistics.median(r["fixed"] for r in wb), wb[0]["partitions"]
        per = max(t_wb - fixed, 0.0) * LOCAL_CORES / parts
        fixed_cpu = statistics.median(r["fixed_cpu"] for r in wb)
        per_cpu = max(statistics.median(r["cpu"] for r in wb) - fixed_cpu, 0.0) / parts
        print(f"  projection: fixed cost F = {fixed:.1f} s, {parts} input partitions, per-partition cost "
              f"c = {per:.2f} s (local[{LOCAL_CORES}], wall); in CPU: F = {fixed_cpu:.1f} s, c = {per_cpu:.2f} s "
              "(what c is on an idle core; the wall figure includes waiting for a busy machine's cores)")
        for target in (events, 100_000_000, 1_000_000_000):
            cells = []
            for spec in args.project.split(","):
                n, k = (int(x) for x in spec.split("x"))
                t = fixed + per * math.ceil(parts * target / events / (n * k))
                cells.append(f"{n}x{k}: {t:,.0f} s")
            print(f"    {target:>13,} events → " + ", ".join(cells))


if __name__ == "__main__":
    main()
