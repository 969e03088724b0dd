"""The defined-metrics run of ``benchmarks/aggregate.py``: 20 metrics from definitions (3 quantiles,
2 conversion windows, 2 caps) vs hand-written DuckDB SQL computing the same numbers.

The workbench side reads ``METRICS_YAML`` (a team's definitions file) and runs the cube and the
quantile statistics through Ibis exactly as ``workbench analyze`` does. The hand-written side
materialises the per-unit table once (a temporary table), then the cube and, per quantile metric,
the exact ``quantile_cont`` per arm and the per-user indicator sums at it. Quantiles are compared to
the histogram's resolution (0.1 % relative); every sum must be identical.
"""

from __future__ import annotations

METRICS_YAML = """
values:
  sku_purchases: {event: purchase, where: product_id == experiment.product_id, agg: count}
metrics:
  sku_purchases_20m:
    kind: mean
    value: sku_purchases
    window: {start: 0m, end: 20m}
  views_10m:
    kind: mean
    value: {event: impression, agg: count}
    window: {start: 0m, end: 10m}
  revenue_p99cap:
    kind: mean
    value: revenue
    cap: {percentile: 0.99}
    unit: currency
  revenue_cap200:
    kind: mean
    value: revenue
    cap: 200
    unit: currency
  sku_buyers:
    kind: proportion
    value: {event: purchase, where: product_id == experiment.product_id, agg: any}
  items_per_user: {kind: mean, value: quantity, unit: count}
"""
# 11 built-in cube metrics + 3 built-in quantiles + 6 defined above = 20
METRICS = ["cvr", "ctr", "click_rate", "atc_rate", "cvr_per_click", "pages_per_user", "revenue_per_user", "aov",
           "lcp", "error_rate", "return_rate", "lcp_p90", "dwell_p50", "order_value_p95",
           "sku_purchases_20m", "views_10m", "revenue_p99cap", "revenue_cap200", "sku_buyers", "items_per_user"]

WORKBENCH = """
import json, sys, time
from workbench.db import connect
from workbench.sources.events import open_event_log
from workbench.metric_defs import activate, catalog, load_definitions
from workbench.aggregate import aggregate_all
path, out, defs, names = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
activate(load_definitions(defs))
t0 = time.perf_counter()
with connect(":memory:") as con:
    log = open_event_log(con, path + "/events.parquet")
    exp = con.read_parquet(path + "/world_experiments.parquet").execute()
    attrs = {"product_id": dict(zip(exp["experiment_id"], exp["product_id"]))}
    ms = [catalog()[n] for n in names]
    cube, q = aggregate_all(log, dims=("device",), metrics=ms, experiment_attrs=attrs)
elapsed = time.perf_counter() - t0
cube.drop(columns=["last_ts"]).to_parquet(out)
q.to_parquet(out + ".quantiles.parquet")
print(json.dumps({"seconds": elapsed, "rows": len(cube), "metrics": len(ms)}))
"""

HAND = r"""
import json, sys, time
import duckdb
path, out, columns = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
values = sorted({c[:-5] for c in columns if c.endswith("__sum") and c != "n_events__sum"})
pairs = [c.split("__x__") for c in columns if "__x__" in c]
caps = [c for c in columns if c.endswith("_capped_at")]
sums = ",\n  ".join([f"sum({v}::DOUBLE) AS {v}__sum, sum({v}::DOUBLE * {v}::DOUBLE) AS {v}__sum_sq" for v in values]
                    + [f"sum({a}::DOUBLE * {b}::DOUBLE) AS {a}__x__{b}" for a, b in pairs]
                    + [f"max({c}) AS {c}" for c in caps])
units = f'''
CREATE TEMP TABLE units AS
WITH ev AS (
  SELECT e.*, s.product_id AS sku, min(ts_server) OVER (PARTITION BY experiment_id, user_key) AS first_ts
  FROM read_parquet('{path}/events.parquet') e LEFT JOIN read_parquet('{path}/world_experiments.parquet') s USING (experiment_id)),
bursts AS (
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
    sum(CASE WHEN event = 'purchase' AND product_id = sku AND ts_server < first_ts + INTERVAL 20 MINUTE
             THEN 1 ELSE 0 END) AS sku_purchases_20m_value,
    sum(CASE WHEN event = 'impression' AND ts_server < first_ts + INTERVAL 10 MINUTE THEN 1 ELSE 0 END) AS views_10m_value,
    max(CASE WHEN event = 'purchase' AND product_id = sku THEN 1 ELSE 0 END) AS sku_buyers_value,
    sum(CASE WHEN regexp_matches(user_agent, '(?i)(headless|phantomjs|selenium|puppeteer|playwright|bot|crawler|spider|curl|python-requests)') THEN 1 ELSE 0 END) > 0 AS headless,
    avg(CASE WHEN event = 'impression' THEN dwell_ms END) AS dwell_mean,
    max(ip_hash) AS ip
  FROM ev GROUP BY experiment_id, user_key),
x AS (
  SELECT u.*,
    CASE WHEN headless THEN 'headless_ua'
         WHEN dwell_mean < 1000 AND impressions >= 3 THEN 'short_dwell'
         WHEN ip IN (SELECT ip_hash FROM bursts) THEN 'ip_burst'
         WHEN n_events > 300 * (span_s / 3600.0 + 1) THEN 'event_rate'
         WHEN multi_variant THEN 'sticky' ELSE '' END AS excluded
  FROM u)
SELECT x.*,
  (clicks > 0)::INT AS clicked, (carts > 0)::INT AS carted, (purchases > 0)::INT AS purchased,
  quantile_cont(CASE WHEN excluded = '' THEN revenue END, 0.99) OVER (PARTITION BY experiment_id)
    AS revenue_p99cap_value_capped_at,
  200.0 AS revenue_cap200_value_capped_at,
  coalesce(p.pre_sessions, 0)::DOUBLE AS pre_sessions, coalesce(p.pre_purchases, 0)::DOUBLE AS pre_purchases,
  coalesce(p.pre_revenue, 0)::DOUBLE AS pre_revenue
FROM x LEFT JOIN read_parquet('{path}/pre_period.parquet') AS p USING (user_key)'''
cube_sql = f'''
SELECT experiment_id, variant, excluded, device, count(*) AS n, sum(n_events)::DOUBLE AS n_events__sum, {sums}
FROM (SELECT *, least(revenue, revenue_p99cap_value_capped_at) AS revenue_p99cap_value,
             least(revenue, 200.0) AS revenue_cap200_value FROM units)
GROUP BY experiment_id, variant, excluded, device'''
QUANTILES = {"lcp_p90": ("impression", "e.lcp_ms / 1000.0", 0.9), "dwell_p50": ("impression", "e.dwell_ms / 1000.0", 0.5),
             "order_value_p95": ("purchase", "e.price * e.quantity", 0.95)}
q_sql = " UNION ALL ".join(f'''(
WITH v AS (SELECT e.experiment_id, i.variant, e.user_key, ({expr})::DOUBLE AS v
           FROM read_parquet('{path}/events.parquet') e JOIN units i USING (experiment_id, user_key)
           WHERE i.excluded = '' AND e.event = '{event}' AND ({expr}) IS NOT NULL),
qt AS (SELECT experiment_id, variant, quantile_cont(v, {p}) AS q FROM v GROUP BY ALL),
pu AS (SELECT experiment_id, variant, user_key, count(*) AS n, sum((v <= q)::INT) AS s
       FROM v JOIN qt USING (experiment_id, variant) GROUP BY ALL)
SELECT '{name}' AS metric, experiment_id, variant, count(*) AS n, sum(n) AS events, sum(n * n) AS events_sq,
       sum(s) AS below, sum(s * s) AS below_sq, sum(s * n) AS below_events, any_value(q) AS quantile
FROM pu JOIN qt USING (experiment_id, variant) GROUP BY ALL)''' for name, (event, expr, p) in QUANTILES.items())
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")   # the same engine settings the workbench uses
con.execute(units)
cube = con.execute(cube_sql).df()
quant = con.execute(q_sql).df()
elapsed = time.perf_counter() - t0
cube.to_parquet(out)
quant.to_parquet(out + ".quantiles.parquet")
print(json.dumps({"seconds": elapsed, "rows": len(cube)}))
"""


def compare(wb_out: str, hand_out: str) -> tuple[int, float, bool, float, bool]:
    """Cube cells compared, max relative difference of the sums, same cells?, max relative quantile
    difference, equal quantile counts?"""
    import numpy as np
    import pandas as pd
    a, b = pd.read_parquet(wb_out), pd.read_parquet(hand_out)
    keys = ["experiment_id", "variant", "excluded", "device"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    cols = [c for c in b.columns if c not in keys]
    diff = max(float(((a[c] - b[c]).abs() / b[c].abs().clip(lower=1.0)).max()) for c in cols)
    qa = pd.read_parquet(wb_out + ".quantiles.parquet").sort_values(["metric", "experiment_id", "variant"])
    qb = pd.read_parquet(hand_out + ".quantiles.parquet").sort_values(["metric", "experiment_id", "variant"])
    qa, qb = qa.reset_index(drop=True), qb.reset_index(drop=True)
    q_rel = float(np.max(np.abs(qa["quantile"] - qb["quantile"]) / np.abs(qb["quantile"]).clip(lower=1e-12)))
    counts = all(np.array_equal(qa[c].to_numpy(np.int64), qb[c].to_numpy(np.int64)) for c in ("n", "events", "events_sq"))
    return len(cols), diff, a[keys].equals(b[keys]), q_rel, counts


if __name__ == "__main__":
    print("the definitions and queries of `benchmarks/aggregate.py --defined`; run that script")
