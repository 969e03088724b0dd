"""Check: defined metrics (windows, fixed and percentile caps, quantiles) give the same numbers on PySpark
and on DuckDB through the same Ibis expressions (no SQL strings, no backend-specific functions).

A 1-in-20 sample of two experiments' users from a workbench database (default: the demo world) is
loaded into both engines; the cube, the caps and the quantile statistics are compared.

    .venv/bin/python benchmarks/aggregate_engines.py [--db data/workbench.duckdb]
"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import duckdb, ibis, numpy as np, pandas as pd
from workbench.metric_defs import definitions_from_mapping, use, catalog
from workbench.aggregate import aggregate_all
from workbench.sources.events import EventLog

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--db", default="data/workbench.duckdb")
db = ap.parse_args().db
if not Path(db).exists():
    print(f"{db} does not exist (run `make demo` or give --db); nothing to compare")
    raise SystemExit(0)
c = duckdb.connect(db, read_only=True)
ev = c.execute("select * from events where experiment_id in ('pdp-shoes-hero','pdp-home-lcp') "
               "and hash(user_key) % 20 = 0").df()
pre = c.execute("select * from pre_period").df()
skus = dict(c.execute("select experiment_id, product_id from world_experiments").fetchall())
print("events", len(ev))
defs = definitions_from_mapping({
    "values": {"sku_buys": {"event": "purchase", "where": "product_id == experiment.product_id", "agg": "count"}},
    "metrics": {"sku_buys_20m": {"kind": "mean", "value": "sku_buys", "window": {"start": 0, "end": "20m"}},
                "revenue_p90cap": {"kind": "mean", "value": "revenue", "cap": {"percentile": 0.9, "ignore_zeros": True}},
                "revenue_cap50": {"kind": "mean", "value": "revenue", "cap": 50},
                "views_10m": {"kind": "mean", "value": "impressions", "window": {"start": 0, "end": "10m"}}}},
    source="spark-test")
attrs = {"product_id": skus}
out = {}
with use(defs):
    ms = [m for m in catalog().values() if m.name in ("cvr", "ctr", "revenue_per_user", "sku_buys_20m", "revenue_p90cap",
                                                      "revenue_cap50", "views_10m", "lcp_p90", "dwell_p50")]
    for name in ("duckdb", "pyspark"):
        t0 = time.perf_counter()
        if name == "duckdb":
            con = ibis.duckdb.connect()
        else:
            from pyspark.sql import SparkSession
            spark = (SparkSession.builder.master("local[2]").config("spark.sql.session.timeZone", "UTC")
                     .config("spark.ui.enabled", "false").getOrCreate())
            con = ibis.pyspark.connect(spark)
        if name == "duckdb":
            con.con.register("events_df", ev); con.con.register("pre_df", pre)
            t, p = con.table("events_df"), con.table("pre_df")
        else:
            t = con.create_table("events", ev)
            p = con.create_table("pre_period", pre)
        log = EventLog(t, "events", "duckdb", None, p)
        cube, q = aggregate_all(log, metrics=ms, dims=("device",), experiment_attrs=attrs)
        out[name] = (cube, q)
        print(name, f"{time.perf_counter() - t0:.1f} s", cube.shape, q.shape)
a, b = out["duckdb"][0], out["pyspark"][0]
keys = ["experiment_id", "variant", "excluded", "device"]
a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
assert a[keys].equals(b[keys]), "different cells"
cols = [c for c in a.columns if c == "n" or "__" in c or c.endswith("_capped_at")]
diff = max(float(np.nanmax(np.abs(a[c].astype(float) - b[c].astype(float)) / np.maximum(1, np.abs(a[c].astype(float))))) for c in cols)
print("cube columns compared:", len(cols), "max relative difference", diff)
qa, qb = out["duckdb"][1].sort_values(["metric", "experiment_id", "variant"]).reset_index(drop=True), \
         out["pyspark"][1].sort_values(["metric", "experiment_id", "variant"]).reset_index(drop=True)
num = ["n", "events", "below", "quantile", "quantile_lo", "quantile_hi"]
print("quantile rows identical:", np.allclose(qa[num].astype(float), qb[num].astype(float), rtol=1e-12))
print([c for c in cols if "capped_at" in c], a[[c for c in cols if "capped_at" in c]].iloc[0].tolist(),
      b[[c for c in cols if "capped_at" in c]].iloc[0].tolist())
