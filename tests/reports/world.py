"""A tiny event-level world for the report tests: a clear launch, an SRM hold and a hostile name.

The demo simulator's small scale is too small for a significant winner or a blocking SRM, so the
report tests write their own few thousand users with known effects, in the tracking schema the
workbench reads (``events``, ``world_experiments``, ``pre_period``, ``catalog``):

* ``pdp-shoes-hero`` — conversion 4 % → 8 %, healthy: the policy launches the treatment;
* ``pdp-beauty-srm`` — 3,000 vs 2,500 units on a 50/50 plan: sample-ratio mismatch, Blocked → hold;
* ``hostile-names`` — a name, hypothesis and variant tags full of HTML, to check escaping.

:func:`write_sku_bandit_world` writes a second small world for the sections that only some
experiments have: ``longtail`` (a trust badge on 16 SKUs in two categories) and ``home-bandit``
(three arms whose daily weights a bandit moved, with one logged allocation decision).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

START = dt.datetime(2026, 11, 6)
DAYS = 10
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
# the script payloads of the hardening issue, in the category, owner, hypothesis and variant tags too
SCRIPTS = ' <img src=x onerror=alert(1)> <script>alert(1)</script> "><svg onload=alert(1)> <a href="javascript:alert(1)">x</a>'


def _users(rng: np.random.Generator, eid: str, variant: str, n: int, cvr: float | np.ndarray, product: str | np.ndarray,
           price: float, offset: int, first: pd.DatetimeIndex | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = np.array([f"{eid[:3]}{offset + i:013x}" for i in range(n)])
    if first is None:
        first = START + pd.to_timedelta(rng.integers(0, DAYS * 86400 - 7200, n), unit="s")
    product = np.broadcast_to(np.asarray(product, dtype=object), (n,))
    pre_p = rng.poisson(0.5, n)
    bought = rng.uniform(size=n) < np.clip(cvr * (0.7 + 0.4 * np.minimum(pre_p, 2)), 0, 0.9)
    clicked = bought | (rng.uniform(size=n) < 0.35)
    carted = bought | (clicked & (rng.uniform(size=n) < 0.3))
    devices = rng.choice(["mobile", "desktop", "tablet"], n, p=[0.6, 0.3, 0.1])
    channels = rng.choice(["organic", "paid_search", "email"], n)
    types = rng.choice(["new", "returning"], n, p=[0.4, 0.6])
    rows = []
    for step, mask, offset_s in (("impression", np.ones(n, bool), 0), ("click_detail", clicked, 30),
                                 ("add_to_cart", carted, 90), ("purchase", bought, 240)):
        idx = np.nonzero(mask)[0]
        rows.append(pd.DataFrame({
            "ts_server": first[idx] + pd.to_timedelta(offset_s, unit="s"), "user_key": keys[idx],
            "session_id": [f"{k}-0" for k in keys[idx]], "product_id": product[idx], "experiment_id": eid,
            "variant_id": variant, "event": step, "device": devices[idx], "channel": channels[idx],
            "user_type": types[idx], "price": price, "quantity": 1 if step == "purchase" else 0,
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", "dwell_ms": rng.uniform(4000, 30000, idx.size),
            "ip_hash": [f"ip{k}" for k in keys[idx]], "lcp_ms": rng.normal(2400, 300, idx.size).clip(500) if step == "impression" else np.nan,
            "http_status": np.int16(200), "returned": False}))
    pre = pd.DataFrame({"user_key": keys, "pre_sessions": rng.poisson(3, n) + 1, "pre_purchases": pre_p,
                        "pre_revenue": pre_p * rng.gamma(2.0, 30.0, n)})
    return pd.concat(rows, ignore_index=True), pre


def _experiment(eid: str, name: str, category: str | None, product: str | None, hypothesis: str, planned: int,
                meta: dict[str, dict[str, str]] | None = None, *, variants: tuple[str, ...] = ("control", "treatment"),
                kind: str = "ab", allocation: str = "fixed", owner: str = "growth-team") -> dict:
    return {"experiment_id": eid, "name": name, "kind": kind, "category": category, "product_id": product,
            "variants": list(variants), "weights": [1 / len(variants)] * len(variants), "allocation": allocation,
            "start_ts": START, "end_ts": START + dt.timedelta(days=DAYS), "hypothesis": hypothesis,
            "primary_metric": "cvr", "secondary_metrics": ["ctr", "atc_rate", "revenue_per_user"],
            "guardrails": ["lcp", "error_rate"], "owner": owner, "faults": [], "planned_units": planned,
            "variant_meta": json.dumps(meta or {"control": {"layout": "gallery", "cta_tone": "neutral"},
                                                "treatment": {"layout": "lifestyle-hero", "cta_tone": "neutral"}})}


def _write(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for name, df in tables.items():
            con.register("df", df)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM df")
            con.unregister("df")
        con.execute("ALTER TABLE world_experiments ALTER variants TYPE VARCHAR[]")
    finally:
        con.close()
    return path


def write_sku_bandit_world(path: Path, *, seed: int = 5) -> Path:
    """The multi-SKU and bandit world (see the module docstring); also logs one bandit decision."""
    rng = np.random.default_rng(seed)
    skus = [f"sho-{i:04d}" for i in range(8)] + [f"bea-{i:04d}" for i in range(8)]
    cats = ["shoes"] * 8 + ["beauty"] * 8
    base = dict(zip(skus, rng.uniform(0.03, 0.08, len(skus))))
    events, pre, offset = [], [], 0
    for variant, mult in (("control", 1.0), ("treatment", 1.25)):
        n = 2400
        product = rng.choice(skus, n, p=np.linspace(3, 0.2, len(skus)) / np.linspace(3, 0.2, len(skus)).sum())
        cvr = np.array([base[p] for p in product]) * mult
        e, pr = _users(rng, "longtail", variant, n, cvr, product, 40.0, offset)
        events.append(e)
        pre.append(pr)
        offset += n
    # the bandit: each day's new users split by that day's weights; "minimal" converts best
    days = pd.date_range(START, periods=DAYS, freq="D")
    weights = {"control": np.linspace(1 / 3, 0.08, DAYS), "cozy": np.linspace(1 / 3, 0.22, DAYS)}
    weights["minimal"] = 1 - weights["control"] - weights["cozy"]
    alloc = []
    for d, day in enumerate(days):
        for variant, cvr in (("control", 0.04), ("cozy", 0.045), ("minimal", 0.07)):
            w = float(weights[variant][d])
            alloc.append({"experiment_id": "home-bandit", "day": day.date(), "variant": variant, "weight": w})
            n = int(round(600 * w))
            first = day + pd.to_timedelta(rng.integers(0, 86400 - 3600, n), unit="s")
            e, pr = _users(rng, "home-bandit", variant, n, cvr, "hom-0002", 60.0, offset, first=first)
            events.append(e)
            pre.append(pr)
            offset += n
    ev = pd.concat(events, ignore_index=True).sort_values("ts_server", kind="stable").reset_index(drop=True)
    experiments = pd.DataFrame([
        _experiment("longtail", "Long-tail PDPs: trust badges", None, None, "Trust badges lift thin SKUs.", 4800),
        _experiment("home-bandit", "Home PDP: headline bandit", "home", "hom-0002", "A calmer headline converts.",
                    6000, {"control": {"layout": "gallery"}, "cozy": {"layout": "gallery"},
                           "minimal": {"layout": "minimal"}},
                    variants=("control", "cozy", "minimal"), kind="bandit", allocation="bandit")])
    catalog = pd.DataFrame({"product_id": [*skus, "hom-0002"], "category": [*cats, "home"], "name": "x",
                            "price": 40.0, "stock": 500, "review_flag": False})
    _write(path, {"events": ev, "pre_period": pd.concat(pre, ignore_index=True), "world_experiments": experiments,
                  "catalog": catalog, "world_allocations": pd.DataFrame(alloc)})
    # the bandit's decisions, one per day, in its allocation log (what every view reads)
    from workbench.bandits.log import record_plan
    from workbench.bandits.world import schedule_plans
    variants = ("control", "cozy", "minimal")
    users = (ev[ev["experiment_id"] == "home-bandit"].groupby("user_key")
             .agg(first=("ts_server", "min"), variant=("variant_id", "first"),
                  bought=("event", lambda x: bool((x == "purchase").any()))))
    unit_day = ((pd.to_datetime(users["first"]) - pd.Timestamp(START)).dt.days).to_numpy()
    schedule = {d: np.array([weights[v][d] for v in variants]) for d in range(DAYS)}
    for plan in schedule_plans("home-bandit", variants, schedule, unit_day,
                               users["variant"].map(variants.index).to_numpy(), users["bought"].to_numpy(), START):
        record_plan(plan, db=path)
    return path


def write_report_world(path: Path, *, seed: int = 7) -> Path:
    """Write the test world to a DuckDB file at ``path`` and return the path."""
    rng = np.random.default_rng(seed)
    plan = [("pdp-shoes-hero", {"control": (4000, 0.04), "treatment": (4000, 0.08)}, "shoes", "sho-0001", 90.0),
            ("pdp-beauty-srm", {"control": (3000, 0.05), "treatment": (2500, 0.05)}, "beauty", "bea-0001", 30.0),
            ("hostile-names", {"control": (800, 0.05), "treatment": (800, 0.05)}, "home", "hom-0001", 50.0)]
    events, pre, offset = [], [], 0
    for eid, arms, _cat, product, price in plan:
        for variant, (n, cvr) in arms.items():
            e, p = _users(rng, eid, variant, n, cvr, product, price, offset)
            offset += n
            events.append(e)
            pre.append(p)
    ev = pd.concat(events, ignore_index=True).sort_values("ts_server", kind="stable").reset_index(drop=True)
    experiments = pd.DataFrame([
        _experiment("pdp-shoes-hero", "Shoes PDP: lifestyle hero image", "shoes", "sho-0001",
                    "A lifestyle hero image lifts purchases.", 8000),
        _experiment("pdp-beauty-srm", "Beauty PDP: ingredient tabs", "beauty", "bea-0001",
                    "Ingredient tabs answer questions before they stop a purchase.", 5000),
        _experiment("hostile-names", HOSTILE, f"home{SCRIPTS}", "hom-0001",
                    f'<img src=x onerror="alert(1)"> hypothesis{SCRIPTS}', 1600,
                    {"control": {"layout": "<i>gallery</i>", "cta_tone": SCRIPTS},
                     "treatment": {"layout": "</td><script>x()</script>", "palette": SCRIPTS}}, owner=f"kim{SCRIPTS}")])
    catalog = pd.DataFrame({"product_id": ["sho-0001", "bea-0001", "hom-0001"], "category": ["shoes", "beauty", "home"],
                            "name": ["Shoe", "Serum", "Lamp"], "price": [90.0, 30.0, 50.0], "stock": [500, 500, 500],
                            "review_flag": [False, False, False]})
    return _write(path, {"events": ev, "pre_period": pd.concat(pre, ignore_index=True),
                         "world_experiments": experiments, "catalog": catalog})


def run_sql(db: str | Path, sql: str) -> None:
    """Run one statement on the database file ``db`` and close it (a test changing a copy of the world)."""
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()
