"""Append live traffic to a world's event log: impressions and purchases per minute at given rates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def append_traffic(db: Path, experiment_id: str, rates: dict[str, float], *, start: dt.datetime, minutes: int,
                   per_minute: dict[str, int], seed: int = 1) -> int:
    """Users who each see one product page (an impression) and buy with the variant's rate (a purchase
    a minute later), ``per_minute[variant]`` new users a minute from ``start``; returns events written."""
    rng = np.random.default_rng(seed)
    rows = []
    con = duckdb.connect(str(db))
    try:
        product = con.execute("SELECT any_value(product_id), any_value(price) FROM events WHERE experiment_id = ?",
                              [experiment_id]).fetchone()
        serial = 0
        for m in range(minutes):
            for variant, rate in rates.items():
                for _ in range(per_minute[variant]):
                    serial += 1
                    key = f"{seed:04x}{serial:012x}"
                    at = start + dt.timedelta(minutes=m, seconds=int(rng.integers(0, 50)))
                    base = {"user_key": key, "session_id": f"{key}-0", "product_id": product[0],
                            "experiment_id": experiment_id, "variant_id": variant, "device": "mobile",
                            "channel": "organic", "user_type": "new", "price": product[1],
                            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", "dwell_ms": 8000.0,
                            "ip_hash": f"ip{key}", "http_status": 200, "returned": False}
                    rows.append({**base, "ts_server": at, "event": "impression", "quantity": 0, "lcp_ms": 2100.0})
                    if rng.uniform() < rate:
                        rows.append({**base, "ts_server": at + dt.timedelta(seconds=5), "event": "purchase",
                                     "quantity": 1, "lcp_ms": np.nan})
        df = pd.DataFrame(rows)
        cols = [r[0] for r in con.execute("DESCRIBE events").fetchall()]
        con.register("incoming", df[cols])
        con.execute("INSERT INTO events SELECT * FROM incoming")
    finally:
        con.close()
    return len(rows)
