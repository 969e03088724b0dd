"""Faults injected into the synthetic world, so the trust checks have something real to find: sticky-assignment
violations, a misspelt variant label, bots (headless, sub-second dwell, IP bursts), stock-outs and price shocks.

A mix-in of the world's generator (:class:`workbench.simulate.world._Generator`): each method draws from the
generator's one seeded NumPy stream, in the order the generator calls them, so a seed gives the same bytes.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from .specs import WORLD_DAYS, ExperimentSpec
from .traffic import EVENTS, HEADLESS_UA, HUMAN_UA, _hex_keys


class Faults:
    """Fault injection for :class:`workbench.simulate.world._Generator` (uses its ``rng``, ``catalog``, ``seed``,
    ``t0``, ``t_end``, ``next_unit``, ``daily_overrides`` and ``_products``)."""

    rng: np.random.Generator
    catalog: pd.DataFrame
    seed: int
    t0: int
    t_end: int
    next_unit: int
    daily_overrides: dict[str, dict[str, Any]]
    _products: Callable[..., np.ndarray]

    def _sticky(self, events: pd.DataFrame, spec: ExperimentSpec, share: float) -> pd.DataFrame:
        """A share of units later see another variant (cookie reset, cache): sticky violations."""
        users = events["user_key"].unique()
        bad = set(self.rng.choice(users, int(len(users) * share), replace=False))
        later = events["user_key"].isin(bad) & (events["event"] != "impression") | (
            events["user_key"].isin(bad) & events["session_id"].str.endswith("-1"))
        others = {v: [w for w in spec.variants if w != v][0] for v in spec.variants}
        events.loc[later, "variant_id"] = events.loc[later, "variant_id"].map(others)
        return events

    def _unknown(self, spec: ExperimentSpec, cfg: dict[str, Any]) -> pd.DataFrame:
        """Units a misconfigured client tagged with a misspelt variant label."""
        n = cfg["units"]
        ids = np.arange(self.next_unit, self.next_unit + n)
        self.next_unit += n
        keys = _hex_keys(ids, self.seed)
        ts = self.t0 + self.rng.integers(0, WORLD_DAYS * 86400, n)
        prod = self._products(spec, None, n)
        return pd.DataFrame({
            "ts_server": pd.to_datetime(ts, unit="s"), "user_key": keys, "session_id": np.char.add(keys, "-0"),
            "product_id": prod, "experiment_id": spec.experiment_id, "variant_id": cfg["label"], "event": "impression",
            "device": "mobile", "channel": "organic", "user_type": "new",
            "price": np.vectorize(dict(zip(self.catalog["product_id"], self.catalog["price"])).get)(prod).astype(float),
            "quantity": np.zeros(n, np.int32), "user_agent": HUMAN_UA["mobile"],
            "dwell_ms": np.full(n, 15000.0), "ip_hash": _hex_keys(ids, self.seed + 1, prefix="ip"),
            "lcp_ms": np.full(n, 2300.0), "http_status": np.full(n, 200, np.int16), "returned": False})

    def _bots(self, spec: ExperimentSpec, n: int, salt_index: int, product: str | None) -> pd.DataFrame:
        """Bots: a third headless, a third sub-second dwell, a third in IP bursts."""
        rng = self.rng
        if n == 0:
            return pd.DataFrame()
        ids = np.arange(self.next_unit, self.next_unit + n)
        self.next_unit += n
        kind = np.arange(n) % 3                      # 0 headless, 1 short dwell, 2 ip burst
        per_unit = np.where(kind == 2, 30, rng.integers(3, 16, n))
        ui = np.repeat(np.arange(n), per_unit)
        m = len(ui)
        t_start = self.t0 + spec.start_day * 86400        # bots visit while the experiment runs, like users
        span = (WORLD_DAYS - spec.start_day) * 86400 - 7200
        start = t_start + rng.integers(0, span, n)
        burst_t = t_start + int(rng.integers(0, span))
        pos = np.arange(m) - np.repeat(np.cumsum(per_unit) - per_unit, per_unit)
        ts = np.where(kind[ui] == 2, burst_t + rng.integers(0, 240, m), start[ui] + pos * rng.integers(2, 30, m))
        code = np.where(rng.random(m) < 0.8, 0, 1)
        keys = _hex_keys(ids, self.seed)
        farm = _hex_keys(np.array([9_000_000 + salt_index]), self.seed + 1, prefix="ip")[0]
        ips = np.where(kind == 2, farm, _hex_keys(ids, self.seed + 1, prefix="ip"))
        prod = self._products(spec, product, n)
        arm = rng.choice(len(spec.variants), n, p=np.asarray(spec.weights) / np.sum(spec.weights))
        dwell = np.where(kind[ui] == 1, rng.integers(80, 900, m), np.round(np.exp(rng.normal(np.log(9000), 0.5, m))))
        prices = np.vectorize(dict(zip(self.catalog["product_id"], self.catalog["price"])).get)(prod).astype(float)
        return pd.DataFrame({
            "ts_server": pd.to_datetime(np.minimum(ts, self.t_end - 1), unit="s"), "user_key": keys[ui],
            "session_id": np.char.add(keys[ui], "-0"), "product_id": prod[ui], "experiment_id": spec.experiment_id,
            "variant_id": np.asarray(spec.variants, dtype=object)[arm][ui],
            "event": np.asarray(EVENTS, dtype=object)[code], "device": "desktop", "channel": "direct",
            "user_type": "new", "price": prices[ui], "quantity": np.zeros(m, np.int32),
            "user_agent": np.where(kind[ui] == 0, HEADLESS_UA, HUMAN_UA["desktop"]),
            "dwell_ms": np.where(code == 0, dwell, np.nan).astype(float), "ip_hash": ips[ui],
            "lcp_ms": np.where(code == 0, 2300.0, np.nan), "http_status": np.full(m, 200, np.int16),
            "returned": False})

    def _catalog_faults(self, spec: ExperimentSpec, product: str | None) -> None:
        if product is None:
            return
        if "stockout_day" in spec.faults:
            self.daily_overrides[product] = {"stockout_day": spec.faults["stockout_day"]}
        if "price_shock" in spec.faults:
            self.daily_overrides[product] = {"price_day": spec.faults["price_shock"]["day"],
                                             "factor": spec.faults["price_shock"]["factor"]}
