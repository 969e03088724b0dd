"""Benchmark: quantile metrics in the engine (Ibis → DuckDB) vs the same two passes hand-written in DuckDB SQL.

Three quantile metrics over one Parquet file of events (default 10 million rows: 5 experiments × 2 arms,
users with a random effect and 1 + Poisson page views): ``lcp_p90`` (every page view), ``dwell_p50``
(views with a dwell time) and ``order_value_p95`` (purchases only). Each method runs in its own
subprocess (so peak memory is measured per method), alternating, ``--repeat`` times:

- **workbench**: :func:`workbench.quantiles.quantile_sufficient_stats` once per metric;
- **hand-written SQL**: the same histogram query and indicator-sum query written by hand, with the
  thresholds read off the histogram by the same NumPy code (so the numbers must be identical);
- **exact**: DuckDB's ``quantile_cont`` per experiment × arm (the point values only), to show the
  histogram's estimate is within its resolution of the exact quantile and what an exact one costs.

Prints the medians, the ratio workbench / hand-written (target ≤ 1.2), peak RSS (target < 2 GB), whether
the sufficient statistics are identical and the largest relative distance to the exact quantile.

    .venv/bin/python benchmarks/quantiles.py [--events 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
METRICS = {  # name: (value expression in SQL, filter, probability)
    "lcp_p90": ("lcp_ms / 1000.0", "lcp_ms IS NOT NULL", 0.9),
    "dwell_p50": ("dwell_ms", "dwell_ms IS NOT NULL", 0.5),
    "order_value_p95": ("order_value", "event = 'purchase'", 0.95),
}


def ensure_data(n_events: int, seed: int) -> Path:
    """Synthetic page views with clustered users, written once with DuckDB (no pandas in memory)."""
    path = OUT / f"quantile_events_{n_events // 1_000_000}m_seed{seed}.parquet"
    if path.exists():
        return path
    import duckdb
    OUT.mkdir(parents=True, exist_ok=True)
    users = max(n_events // 5, 1)
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute(f"""
    COPY (
      WITH u AS MATERIALIZED (
        SELECT range AS user_key, 'exp' || (range % 5)::VARCHAR AS experiment_id,
               CASE WHEN hash(range, {seed}) % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant_id,
               sqrt(-2 * ln(random())) * cos(2 * pi() * random()) * 0.4 AS effect,
               (1 + floor(-ln(random()) * 4))::BIGINT AS views
        FROM range({users})),
      e AS (SELECT experiment_id, variant_id, user_key, effect, unnest(range(views)) AS j FROM u),
      f AS (SELECT *, sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS eps, random() AS r FROM e LIMIT {n_events})
      SELECT experiment_id, variant_id, user_key,
             CASE WHEN r < 0.03 THEN 'purchase' ELSE 'impression' END AS event,
             CASE WHEN r < 0.9 THEN exp(7.5 + effect + 0.5 * eps) * (CASE WHEN variant_id = 'treatment'
                  THEN 1.03 ELSE 1.0 END) END AS lcp_ms,
             CASE WHEN r >= 0.1 THEN round(exp(9 + effect + 0.8 * eps)) END AS dwell_ms,
             CASE WHEN r < 0.03 THEN round(exp(3.5 + effect + eps), 2) END AS order_value
      FROM f) TO '{path}' (FORMAT parquet)""")
    print(f"generated {n_events:,} events in {time.perf_counter() - t0:.0f} s → {path}", file=sys.stderr)
    return path


WORKBENCH = """
import json, sys, time
import pandas as pd
from workbench.db import connect
from workbench.quantiles import quantile_sufficient_stats
path, out, metrics = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t0 = time.perf_counter()
frames = []
with connect(":memory:") as con:
    ev = con.read_parquet(path)
    ev = ev.mutate(lcp_s=ev.lcp_ms / 1000.0)
    tables = {"lcp_p90": (ev.filter(ev.lcp_ms.notnull()), "lcp_s"),
              "dwell_p50": (ev.filter(ev.dwell_ms.notnull()), "dwell_ms"),
              "order_value_p95": (ev.filter(ev.event == "purchase"), "order_value")}
    for name, (sql_value, sql_filter, prob) in metrics.items():
        table, value = tables[name]
        agg = quantile_sufficient_stats(table, value=value, unit="user_key", arm="variant_id",
                                        by=["experiment_id"], probs=[prob])
        frames.append(agg.rows.assign(metric=name))
elapsed = time.perf_counter() - t0
pd.concat(frames).to_parquet(out)
print(json.dumps({"seconds": elapsed}))
"""

HAND = r"""
import json, sys, time, math
import duckdb
import numpy as np
import pandas as pd
from workbench.stats.quantile import ArmHistogram, QuantileStats, DEFAULT_RESOLUTION as R, DEFAULT_FLOOR as F
path, out, metrics = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")
frames = []
for name, (value, where, prob) in metrics.items():
    key = (f"CASE WHEN abs(v) < {F!r} THEN 0 ELSE sign(v) * (floor((ln(greatest(abs(v), {F!r})) - {math.log(F)!r})"
           f" / {math.log1p(R)!r})::BIGINT + 1) END")
    hist = con.execute(f'''
      SELECT experiment_id, variant_id, {key} AS k, count(*) AS c, min(v) AS lo, max(v) AS hi
      FROM (SELECT experiment_id, variant_id, ({value})::DOUBLE AS v FROM read_parquet('{path}')
            WHERE {where} AND user_key IS NOT NULL AND isfinite(({value})::DOUBLE))
      GROUP BY ALL''').df()
    hists, thr = {}, []
    for (e, a), g in hist.groupby(["experiment_id", "variant_id"]):
        g = g.sort_values("k")
        hists[(e, a)] = h = ArmHistogram(g.c, g.lo, g.hi)
        thr.append((e, a, float(h.quantile(prob))))
    values = ", ".join(f"('{e}', '{a}', {q!r}::DOUBLE)" for e, a, q in thr)
    m = con.execute(f'''
      WITH t(experiment_id, variant_id, q) AS (VALUES {values}),
      u AS (SELECT experiment_id, variant_id, user_key, count(*) AS nn, sum(CASE WHEN v <= q THEN 1 ELSE 0 END) AS s
            FROM (SELECT experiment_id, variant_id, user_key, ({value})::DOUBLE AS v FROM read_parquet('{path}')
                  WHERE {where} AND user_key IS NOT NULL AND isfinite(({value})::DOUBLE))
            JOIN t USING (experiment_id, variant_id)
            GROUP BY ALL)
      SELECT experiment_id, variant_id, count(*) AS n, sum(nn) AS events, sum(nn * nn) AS events_sq, sum(s) AS below,
             sum(s * s) AS below_sq, sum(s * nn) AS below_events
      FROM u GROUP BY ALL''').df()
    for _, r in m.iterrows():
        h = hists[(r.experiment_id, r.variant_id)]
        s = QuantileStats.from_moments([h], prob, n=[r.n], events=[r.events], events_sq=[r.events_sq], below=[r.below],
                                       below_sq=[r.below_sq], below_events=[r.below_events],
                                       quantile=[h.quantile(prob)])
        frames.append({"metric": name, "experiment_id": r.experiment_id, "variant_id": r.variant_id, "prob": prob,
                       **{c: float(getattr(s, c)[0]) for c in ("n", "events", "events_sq", "below", "below_sq",
                          "below_events", "quantile", "quantile_lo", "quantile_hi")}})
elapsed = time.perf_counter() - t0
pd.DataFrame(frames).to_parquet(out)
print(json.dumps({"seconds": elapsed}))
"""

EXACT = r"""
import json, sys, time
import duckdb
import pandas as pd
path, out, metrics = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")
frames = []
for name, (value, where, prob) in metrics.items():
    frames.append(con.execute(f'''SELECT '{name}' AS metric, experiment_id, variant_id,
        quantile_cont(({value})::DOUBLE, {prob}) AS exact
        FROM read_parquet('{path}') WHERE {where} GROUP BY ALL''').df())
elapsed = time.perf_counter() - t0
pd.concat(frames).to_parquet(out)
print(json.dumps({"seconds": elapsed}))
"""


def run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter and return the JSON line it prints."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=HERE.parent, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
    args = ap.parse_args()
    data = str(ensure_data(args.events, args.seed))
    metrics = json.dumps(METRICS)
    outs = {k: str(OUT / f"quantiles_{k}.parquet") for k in ("workbench", "hand", "exact")}
    codes = {"workbench": WORKBENCH, "hand": HAND, "exact": EXACT}
    times: dict[str, list[float]] = {k: [] for k in codes}
    for i in range(args.repeat):
        for k, code in codes.items():
            times[k].append(run(code, data, outs[k], metrics)["seconds"])
        print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    rss = {k: peak_rss(codes[k], data, outs[k], metrics) for k in ("workbench", "hand")}

    import pandas as pd
    keys = ["metric", "experiment_id", "variant_id"]
    a = pd.read_parquet(outs["workbench"]).sort_values(keys).reset_index(drop=True)
    b = pd.read_parquet(outs["hand"]).sort_values(keys).reset_index(drop=True)
    x = pd.read_parquet(outs["exact"]).merge(a, on=keys)
    cols = ["n", "events", "events_sq", "below", "below_sq", "below_events", "quantile", "quantile_lo", "quantile_hi"]
    same = a[keys].equals(b[keys]) and all(
        float(((a[c] - b[c]).abs() / b[c].abs().clip(lower=1.0)).max()) < 1e-12 for c in cols)
    rel = float(((x["quantile"] - x["exact"]).abs() / x["exact"].abs()).max())
    wb, hand, exact = (statistics.median(times[k]) for k in ("workbench", "hand", "exact"))
    print(f"\nevents: {args.events:,}   metrics: {', '.join(METRICS)}   rows: {len(a)}   histogram rows ≤ "
          f"ln(max/min)/resolution per arm")
    print(f"workbench (Ibis → DuckDB): {wb:.2f} s median   peak RSS {rss['workbench']:,.0f} MB")
    print(f"hand-written DuckDB SQL:   {hand:.2f} s median   peak RSS {rss['hand']:,.0f} MB")
    print(f"exact quantile_cont only:  {exact:.2f} s median (point values, no interval)")
    print(f"ratio workbench / hand-written: {wb / hand:.2f}  (target ≤ 1.2)")
    print(f"peak memory under 2 GB: {'yes' if max(rss.values()) < 2048 else 'NO'}")
    print(f"identical statistics: {'yes' if same else 'NO'};  largest distance to the exact quantile: {rel:.1e} "
          f"(resolution 1.0e-03)")


if __name__ == "__main__":
    main()
