"""Generate the synthetic e-commerce world: catalog, users, events, faults, and the truth.

Everything is drawn from one seeded NumPy generator, so the same seed gives the same bytes.
Units (users) are generated per experiment with device, channel, new-vs-returning and a latent
engagement ``z``; ``z`` drives both pre-period behaviour (the CUPED covariates, and the pre-period
events of :mod:`.pre_events`) and purchase propensity, so CUPED has real correlation to exploit. Each unit's funnel outcome is drawn from its
arm's true funnel and expanded into the four tracked events (impression → click_detail →
add_to_cart → purchase) with timestamps, sessions, prices and page-performance fields. Bots
(headless user agents, sub-second dwell, IP bursts) are added on top, while the experiment runs.
A bandit follows a daily allocation schedule, and each day's decision is logged in the
``allocation_log`` / ``bandit_plans`` tables (:func:`workbench.bandits.world.schedule_plans`).

The truth (``truth`` table) is the design expectation: the conversion rate a very large sample of
the experiment's population would show, computed by quadrature over the engagement and device
distributions, so tests can check estimates and interval coverage against it.

>>> w = generate_world(seed=7, scale=0.02)
>>> sorted(w.tables)
['allocation_log', 'bandit_plans', 'catalog', 'catalog_daily', 'events', 'pre_events', 'pre_period', 'truth', 'world_allocations', 'world_experiments']
>>> w.tables["events"]["event"].value_counts().index[0]
'impression'
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss

from .faults import Faults
from .specs import CATEGORIES, DEMO_EXPERIMENTS, WORLD_DAYS, ExperimentSpec, Funnel
from .traffic import EVENTS, HUMAN_UA, _hex_keys

__all__ = ["World", "WorldBuilder", "TABLES", "LOG_TABLES", "generate_world", "WORLD_END", "DEVICES", "CHANNELS"]

WORLD_END = dt.datetime(2026, 11, 20)          # as-of time of the demo world (fixed: same bytes every run)
DEVICES = {"mobile": 0.60, "desktop": 0.30, "tablet": 0.10}
DEVICE_BUY = {"mobile": 0.85, "desktop": 1.30, "tablet": 0.95}   # purchase-stage multipliers
CHANNELS = {"organic": 0.35, "paid_search": 0.25, "social": 0.15, "email": 0.10, "direct": 0.15}
NEW_SHARE = 0.40
ENGAGEMENT_SD = 0.5                              # sd of log purchase propensity across users
SKUS_PER_CATEGORY = 40
RETURN_RATE = 0.05
EXTRA_PURCHASES, EXTRA_QUANTITY = 0.05, 0.25    # Poisson means: repeat purchases, extra items
BOT_SHARE = 0.02
PLANNED_SHARE = 0.97      # an experiment's plan (its brief's minimum sample) is 97 % of the units it gets: arms split
# at random and some units never reach the analysis, so a world that sent exactly its plan would leave most of its
# smaller arms a few units short of it, and every report would warn "below the planned sample" at 99.7 %

_DEV_NORM = sum(DEVICES[d] * DEVICE_BUY[d] for d in DEVICES)
_GH_X, _GH_W = hermegauss(60)
_GH_W = _GH_W / _GH_W.sum()


@dataclass
class World:
    """The generated tables (pandas DataFrames) and the parameters that made them."""

    tables: dict[str, pd.DataFrame]
    seed: int
    scale: float
    end: dt.datetime

    @property
    def n_events(self) -> int:
        return len(self.tables["events"])


def _engagement_mult(z: np.ndarray) -> np.ndarray:
    return np.exp(ENGAGEMENT_SD * z - ENGAGEMENT_SD**2 / 2)


def _cvr_given_device(f: Funnel, device: str, factor: float = 1.0) -> float:
    """Design truth within one device: E_z[click × cart × min(buy × device × engagement × factor, 0.99)]."""
    p_buy = np.minimum(f.buy * DEVICE_BUY[device] / _DEV_NORM * factor * _engagement_mult(_GH_X), 0.99)
    return f.click * f.cart * float((_GH_W * p_buy).sum())


def _expected_cvr(f: Funnel, device_factor: dict[str, float] | None = None, extra: float = 1.0) -> float:
    """Design truth over the device mix (Gauss–Hermite quadrature over engagement)."""
    return sum(share * _cvr_given_device(f, dev, (device_factor or {}).get(dev, 1.0) * extra)
               for dev, share in DEVICES.items())


def _catalog(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for cat, (median_price, *_rest) in CATEGORIES.items():
        for i in range(SKUS_PER_CATEGORY):
            price = float(np.round(median_price * np.exp(rng.normal(0, 0.35)), 0) - 0.01)
            rows.append({"product_id": f"{cat[:3]}-{i:04d}", "category": cat, "name": f"{cat.title()} item {i:02d}",
                         "price": max(price, 4.99), "stock": int(rng.integers(60, 600)),
                         "popularity": float(np.exp(rng.normal(0, 1.0))),
                         "review_flag": bool(rng.random() < 0.05)})
    return pd.DataFrame(rows)


def generate_world(seed: int = 20261121, scale: float = 1.0, *, end: dt.datetime = WORLD_END,
                   experiments: tuple[ExperimentSpec, ...] = DEMO_EXPERIMENTS) -> World:
    """Generate the demo world in memory. ``scale`` multiplies every experiment's traffic (1.0 ≈ 1.7 M events)."""
    builder = WorldBuilder(seed, scale, end=end, experiments=experiments)
    events = pd.concat(list(builder.events()), ignore_index=True)
    tables = {"events": events.sort_values(["ts_server", "user_key"], kind="stable").reset_index(drop=True),
              **builder.side_tables()}
    return World(tables=tables, seed=seed, scale=scale, end=end)


class WorldBuilder:
    """Streams the world one experiment at a time (bounded memory), then gives the small tables.

    >>> b = WorldBuilder(seed=1, scale=0.01)
    >>> n = sum(len(part) for part in b.events())
    >>> sorted(b.side_tables()) == sorted(TABLES[1:] + LOG_TABLES)
    True
    """

    def __init__(self, seed: int = 20261121, scale: float = 1.0, *, end: dt.datetime = WORLD_END,
                 experiments: tuple[ExperimentSpec, ...] = DEMO_EXPERIMENTS) -> None:
        if not scale > 0:
            raise ValueError("scale must be positive")
        self.seed, self.scale, self.end, self.specs = seed, scale, end, experiments
        self.rng = np.random.default_rng(seed)
        self.catalog = _catalog(self.rng)
        self._gen = _Generator(self.rng, self.catalog, end - dt.timedelta(days=WORLD_DAYS), end, seed)
        self._done = False

    def events(self):
        """Yield one DataFrame of events per experiment (bots and faults included)."""
        for i, spec in enumerate(self.specs):
            yield self._gen.add_experiment(spec, max(int(spec.users * self.scale), 40), salt_index=i)
        self._done = True

    def side_tables(self) -> dict[str, pd.DataFrame]:
        if not self._done:
            raise RuntimeError("consume events() first")
        return {**self._gen.finish(), "catalog": self.catalog.drop(columns=["popularity"])}


# Every table of the world, events first.
TABLES = ("events", "pre_period", "pre_events", "world_experiments", "truth", "world_allocations", "catalog_daily", "catalog")
# The bandit's logged decisions (workbench.bandits.log): shared with decisions logged later, so a
# writer replaces only the world's experiments' rows in them.
LOG_TABLES = ("allocation_log", "bandit_plans")


class _Generator(Faults):
    """Accumulates per-experiment units and events, then assembles the tables."""

    def __init__(self, rng: np.random.Generator, catalog: pd.DataFrame, start: dt.datetime, end: dt.datetime,
                 seed: int) -> None:
        self.rng, self.catalog, self.start, self.end, self.seed = rng, catalog, start, end, seed
        self.t0 = int(start.replace(tzinfo=dt.timezone.utc).timestamp())
        self.t_end = int(end.replace(tzinfo=dt.timezone.utc).timestamp())
        self.pre_parts: list[pd.DataFrame] = []
        self.pre_event_parts: list[pd.DataFrame] = []
        self.experiments: list[dict[str, Any]] = []
        self.truth: list[dict[str, Any]] = []
        self.allocations: list[dict[str, Any]] = []
        self.bandit_plans: list[Any] = []
        self.daily_overrides: dict[str, dict[str, Any]] = {}
        self.next_unit = 0

    # ------------------------------------------------------------------ experiments
    def add_experiment(self, spec: ExperimentSpec, n: int, salt_index: int) -> pd.DataFrame:
        rng = self.rng
        days = WORLD_DAYS - spec.start_day
        faults = spec.faults
        product = self._product_for(spec)

        day = rng.integers(0, days, n)
        arm, schedule = self._assign(spec, day, days)
        device = rng.choice(list(DEVICES), n, p=list(DEVICES.values()))
        channel = rng.choice(list(CHANNELS), n, p=list(CHANNELS.values()))
        new = rng.random(n) < NEW_SHARE
        z = rng.standard_normal(n)
        z_sess = 0.7 * z + np.sqrt(1 - 0.49) * rng.standard_normal(n)

        if "longtail" in faults:
            products, p_click, p_cart, p_buy, truth_rows = self._longtail(spec, arm, n)
        else:
            products = self._products(spec, product, n)
            funnels = spec.funnels
            p_click = np.array([f.click for f in funnels])[arm]
            p_cart = np.array([f.cart for f in funnels])[arm]
            mult = np.vectorize(DEVICE_BUY.get)(device) / _DEV_NORM * _engagement_mult(z)
            seg = faults.get("segment_effect", {}).get("device")
            if seg:
                treated = arm > 0
                mult = np.where(treated, mult * np.vectorize(seg.get)(device), mult)
            nov = faults.get("novelty")
            if nov:
                boost = 1 + nov["initial_lift"] * np.exp(-day / nov["decay_days"])
                mult = np.where(arm > 0, mult * boost, mult)
            p_buy = np.minimum(np.array([f.buy for f in funnels])[arm] * mult, 0.99)
            truth_rows = self._truth_rows(spec, days)

        price_by_product = dict(zip(self.catalog["product_id"], self.catalog["price"]))
        unit_price = np.vectorize(price_by_product.get)(products).astype(float)
        shock = faults.get("price_shock")
        if shock:
            after = day >= shock["day"] - spec.start_day
            p_buy = np.where(after, p_buy * shock["factor"] ** -1.5, p_buy)
            unit_price = np.where(after, np.round(unit_price * shock["factor"], 2), unit_price)

        clicked = rng.random(n) < p_click
        carted = clicked & (rng.random(n) < p_cart)
        purchased = carted & (rng.random(n) < p_buy)

        keep = np.ones(n, bool)
        for label, share in faults.get("srm_drop", {}).items():
            a = spec.variants.index(label)
            keep &= ~((arm == a) & (rng.random(n) < share))

        ids = np.arange(self.next_unit, self.next_unit + n)
        self.next_unit += n
        units = pd.DataFrame({
            "uid": ids, "arm": arm, "day": day + spec.start_day, "device": device, "channel": channel,
            "user_type": np.where(new, "new", "returning"), "z": z, "z_sess": z_sess, "product_id": products,
            "price": unit_price, "clicked": clicked, "carted": carted, "purchased": purchased,
        })[keep].reset_index(drop=True)

        events = self._events(spec, units)
        if faults.get("sticky_violation"):
            events = self._sticky(events, spec, faults["sticky_violation"])
        if faults.get("unknown_variant"):
            events = pd.concat([events, self._unknown(spec, faults["unknown_variant"])], ignore_index=True)
        events = pd.concat([events, self._bots(spec, int(n * BOT_SHARE), salt_index, product)], ignore_index=True)
        pre = self._pre_period(units)
        self.pre_parts.append(pre)
        self.pre_event_parts.append(self._pre_events(units, pre, events, salt_index))
        self.truth.extend(truth_rows)
        self.allocations.extend({"experiment_id": spec.experiment_id, "day": (self.start + dt.timedelta(days=int(d)))
                                 .date(), "variant": v, "weight": float(w)}
                                for d, row in schedule.items() for v, w in zip(spec.variants, row))
        if spec.allocation == "bandit":             # the bandit's decisions go to its allocation log
            from ..bandits.world import schedule_plans
            self.bandit_plans.extend(schedule_plans(
                spec.experiment_id, spec.variants, schedule, units["day"].to_numpy(), units["arm"].to_numpy(),
                units["purchased"].to_numpy(), self.start, seed=self.seed))
        self.experiments.append({
            "experiment_id": spec.experiment_id, "name": spec.name, "kind": spec.kind, "category": spec.category,
            "product_id": product, "variants": list(spec.variants), "weights": [float(w) for w in spec.weights],
            "allocation": spec.allocation, "start_ts": self.start + dt.timedelta(days=spec.start_day),
            "end_ts": self.end, "hypothesis": spec.hypothesis, "primary_metric": spec.primary_metric,
            "secondary_metrics": list(spec.secondary_metrics), "guardrails": list(spec.guardrails),
            "variant_meta": json.dumps(spec.variant_meta, sort_keys=True), "owner": spec.owner,
            "faults": sorted(faults), "planned_units": int(n * PLANNED_SHARE),
        })
        self._catalog_faults(spec, product)
        return events.sort_values(["ts_server", "user_key"], kind="stable").reset_index(drop=True)

    def _product_for(self, spec: ExperimentSpec) -> str | None:
        if spec.product != "auto" or spec.category is None:
            return None
        cat = self.catalog[self.catalog["category"] == spec.category]
        taken = {e["product_id"] for e in self.experiments}
        for pid in cat.sort_values("popularity", ascending=False)["product_id"]:
            if pid not in taken:
                return pid
        return None

    def _products(self, spec: ExperimentSpec, product: str | None, n: int) -> np.ndarray:
        if product is not None:
            return np.full(n, product, dtype=object)
        pool = self.catalog if spec.category is None else self.catalog[self.catalog["category"] == spec.category]
        w = pool["popularity"].to_numpy()
        return self.rng.choice(pool["product_id"].to_numpy(), n, p=w / w.sum())

    def _assign(self, spec: ExperimentSpec, day: np.ndarray, days: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Arm per unit; a bandit follows its recorded daily allocation schedule."""
        k = len(spec.variants)
        if spec.faults.get("allocation_schedule"):
            tilt = np.linspace(0.0, 0.25, k)            # arms later in the list were winning
            schedule = {}
            for d in range(days):
                w = np.exp(max(d - 1, 0) * tilt)
                w = w / w.sum()
                w = np.maximum(w, 0.05)
                schedule[d + spec.start_day] = w / w.sum()
            u = self.rng.random(len(day))
            cum = np.stack([np.cumsum(schedule[d + spec.start_day]) for d in range(days)])[day]
            return (u[:, None] > cum).sum(axis=1).clip(0, k - 1), schedule
        w = np.asarray(spec.weights, float)
        return self.rng.choice(k, len(day), p=w / w.sum()), {d + spec.start_day: w for d in range(days)}

    def _truth_rows(self, spec: ExperimentSpec, days: int) -> list[dict[str, Any]]:
        rows = []
        seg = spec.faults.get("segment_effect", {}).get("device")
        nov = spec.faults.get("novelty")
        pool = self.catalog if spec.category is None else self.catalog[self.catalog["category"] == spec.category]
        price = float(np.average(pool["price"], weights=pool["popularity"]))
        for a, (v, f) in enumerate(zip(spec.variants, spec.funnels)):
            extra = 1.0
            if nov and a > 0:
                extra = float(np.mean(1 + nov["initial_lift"] * np.exp(-np.arange(days) / nov["decay_days"])))
            cvr = _expected_cvr(f, seg if a > 0 else None, extra)
            base = {"experiment_id": spec.experiment_id, "variant": v, "product_id": None, "segment": None}
            rows.append({**base, "metric": "cvr", "value": cvr})
            rows.append({**base, "metric": "click_rate", "value": f.click})
            rows.append({**base, "metric": "atc_rate", "value": f.click * f.cart})
            if spec.product is None:
                rows.append({**base, "metric": "revenue_per_user",
                             "value": cvr * (1 + EXTRA_PURCHASES) * (1 + EXTRA_QUANTITY) * price})
            if nov and a > 0:
                rows.append({**base, "metric": "cvr_long_run", "value": _expected_cvr(f)})
            if seg:
                for dev in DEVICES:
                    rows.append({**base, "segment": f"device={dev}", "metric": "cvr",
                                 "value": _cvr_given_device(f, dev, seg.get(dev, 1.0) if a > 0 else 1.0)})
        return rows

    def _longtail(self, spec: ExperimentSpec, arm: np.ndarray, n: int):
        """Many low-traffic SKUs: lift on the log-odds scale varies by category and SKU."""
        cfg = spec.faults["longtail"]
        rng = self.rng
        per_cat = cfg["skus"] // len(CATEGORIES)
        taken = {e["product_id"] for e in self.experiments}
        skus, cats = [], []
        for cat in CATEGORIES:
            in_cat = self.catalog["category"] == cat
            pool = self.catalog[in_cat & ~self.catalog["product_id"].isin(taken)]
            if len(pool) < per_cat:            # a large portfolio took them all: share the category's SKUs
                pool = self.catalog[in_cat]
            chosen = pool.sort_values("popularity")["product_id"].head(per_cat).tolist()
            skus += chosen
            cats += [cat] * len(chosen)
        traffic = np.exp(rng.normal(0, 0.9, len(skus)))
        sku_idx = rng.choice(len(skus), n, p=traffic / traffic.sum())
        base_cvr, lift, click, cart = [], [], [], []
        for s, cat in zip(skus, cats):
            _, c, a, b = CATEGORIES[cat]
            base_cvr.append(c * a * min(b * np.exp(rng.normal(0, 0.3)), 0.95))
            lift.append(cfg["category_lift"][cat] + rng.normal(0, cfg["sku_lift_sd"]))
            click.append(c)
            cart.append(a)
        base_cvr, lift, click, cart = map(np.asarray, (base_cvr, lift, click, cart))
        logit = np.log(base_cvr / (1 - base_cvr))
        treat_cvr = 1 / (1 + np.exp(-(logit + lift)))
        cvr = np.stack([base_cvr, treat_cvr], axis=1)          # sku x arm
        p_click, p_cart = click[sku_idx], cart[sku_idx]
        p_buy = np.minimum(cvr[sku_idx, arm] / (p_click * p_cart), 0.99)
        truth = []
        for j, (s, cat) in enumerate(zip(skus, cats)):
            for a, v in enumerate(spec.variants):
                truth.append({"experiment_id": spec.experiment_id, "variant": v, "product_id": s, "segment": None,
                              "metric": "cvr", "value": float(cvr[j, a])})
            truth.append({"experiment_id": spec.experiment_id, "variant": "treatment", "product_id": s,
                          "segment": None, "metric": "lift_logodds", "value": float(lift[j])})
        return np.asarray(skus, dtype=object)[sku_idx], p_click, p_cart, p_buy, truth

    # ------------------------------------------------------------------ events
    def _events(self, spec: ExperimentSpec, u: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        n = len(u)
        faults = spec.faults
        sessions = 1 + rng.poisson(0.25 * np.exp(u["z_sess"].to_numpy() - 0.5))
        imps = sessions + rng.poisson(0.25 * sessions)
        clicks = u["clicked"].to_numpy() * (1 + rng.poisson(0.3, n))
        carts = u["carted"].to_numpy().astype(int)
        purchases = u["purchased"].to_numpy() * (1 + rng.poisson(EXTRA_PURCHASES, n))

        hour = rng.choice(24, n, p=_DIURNAL)
        first = self.t0 + u["day"].to_numpy() * 86400 + hour * 3600 + rng.integers(0, 3600, n)
        gap = rng.exponential(1.2 * 86400, n)
        t_click = first + rng.integers(20, 600, n)
        t_cart = t_click + rng.integers(20, 400, n)
        t_buy = t_cart + rng.integers(60, 900, n)

        stock_day = faults.get("stockout_day")
        if stock_day is not None:
            blocked = t_buy >= self.t0 + stock_day * 86400
            purchases = np.where(blocked, 0, purchases)

        # impressions: session s of a unit starts at first + s * gap
        ui = np.repeat(np.arange(n), imps)
        pos = np.arange(len(ui)) - np.repeat(np.cumsum(imps) - imps, imps)
        sess = pos % np.repeat(sessions, imps)
        t_imp = first[ui] + (sess * gap[ui]).astype(np.int64) + np.where(pos == 0, 0, rng.integers(1, 900, len(ui)))
        parts = [(ui, sess, t_imp, 0)]
        for counts, t, code in ((clicks, t_click, 1), (carts, t_cart, 2), (purchases, t_buy, 3)):
            idx = np.repeat(np.arange(n), counts)
            extra = np.arange(len(idx)) - np.repeat(np.cumsum(counts) - counts, counts)
            parts.append((idx, np.zeros(len(idx), np.int64), t[idx] + extra * 37, code))
        unit_idx = np.concatenate([p[0] for p in parts])
        sess_idx = np.concatenate([p[1] for p in parts])
        ts = np.concatenate([p[2] for p in parts])
        code = np.concatenate([np.full(len(p[0]), p[3], np.int8) for p in parts])
        ok = ts < self.t_end
        unit_idx, sess_idx, ts, code = unit_idx[ok], sess_idx[ok], ts[ok], code[ok]
        m = len(unit_idx)

        arm = u["arm"].to_numpy()[unit_idx]
        device = u["device"].to_numpy()[unit_idx]
        is_imp = code == 0
        lcp_cfg = faults.get("lcp_ms", {})
        lcp_median = np.array([lcp_cfg.get(v, 2300.0) for v in spec.variants])[arm]
        err_cfg = faults.get("error_rate", {})
        err = np.array([err_cfg.get(v, 0.001) for v in spec.variants])[arm]
        qty = np.where(code >= 2, 1 + rng.poisson(EXTRA_QUANTITY, m), 0)
        ts_price = u["price"].to_numpy()[unit_idx]
        keys = _hex_keys(u["uid"].to_numpy(), self.seed)
        ips = _hex_keys(self.rng.integers(0, 400_000, n), self.seed + 1, prefix="ip")
        return pd.DataFrame({
            "ts_server": pd.to_datetime(ts, unit="s"),
            "user_key": keys[unit_idx],
            "session_id": np.char.add(np.char.add(keys[unit_idx], "-"), sess_idx.astype(str)),
            "product_id": u["product_id"].to_numpy()[unit_idx],
            "experiment_id": spec.experiment_id,
            "variant_id": np.asarray(spec.variants, dtype=object)[arm],
            "event": np.asarray(EVENTS, dtype=object)[code],
            "device": device,
            "channel": u["channel"].to_numpy()[unit_idx],
            "user_type": u["user_type"].to_numpy()[unit_idx],
            "price": ts_price,
            "quantity": qty.astype(np.int32),
            "user_agent": np.vectorize(HUMAN_UA.get)(device),
            "dwell_ms": np.where(is_imp, np.round(np.exp(rng.normal(np.log(22000), 0.8, m))), np.nan),
            "ip_hash": ips[unit_idx],
            "lcp_ms": np.where(is_imp, np.round(lcp_median * np.exp(rng.normal(0, 0.3, m))), np.nan),
            "http_status": np.where(is_imp & (rng.random(m) < err), 503, 200).astype(np.int16),
            "returned": np.where(code == 3, rng.random(m) < RETURN_RATE, False),
        })

    def _pre_period(self, u: pd.DataFrame) -> pd.DataFrame:
        """28 days before the experiment: returning users' sessions, purchases and revenue."""
        rng = self.rng
        n = len(u)
        returning = (u["user_type"] == "returning").to_numpy()
        sessions = rng.poisson(3.0 * np.exp(u["z_sess"].to_numpy() - 0.5)) * returning
        purchases = rng.poisson(0.8 * _engagement_mult(u["z"].to_numpy()) ** 1.5) * returning
        revenue = np.round(purchases * u["price"].to_numpy() * np.exp(rng.normal(0, 0.3, n)), 2)
        return pd.DataFrame({"user_key": _hex_keys(u["uid"].to_numpy(), self.seed), "pre_sessions": sessions,
                             "pre_purchases": purchases, "pre_revenue": revenue})

    def _pre_events(self, u: pd.DataFrame, pre: pd.DataFrame, events: pd.DataFrame, index: int) -> pd.DataFrame:
        """Returning units' events before their first exposure (:mod:`.pre_events`; its own generator)."""
        from .pre_events import pre_events
        first = events.groupby("user_key")["ts_server"].min()
        keys = pre["user_key"].to_numpy()
        seen = first.reindex(keys)
        ts = (seen.fillna(pd.Timestamp(self.start)).to_numpy().astype("datetime64[s]").astype(np.int64))
        return pre_events(u, pre, first_ts=ts, seed=self.seed, index=index, return_rate=RETURN_RATE)

    # ------------------------------------------------------------------ assembly
    def finish(self) -> dict[str, pd.DataFrame]:
        from ..bandits.log import log_frames
        pre = pd.concat(self.pre_parts, ignore_index=True).drop_duplicates("user_key")
        return {
            "pre_period": pre,
            "pre_events": pd.concat(self.pre_event_parts, ignore_index=True),
            "world_experiments": pd.DataFrame(self.experiments),
            "truth": pd.DataFrame(self.truth),
            "world_allocations": pd.DataFrame(self.allocations),
            "catalog_daily": self._daily(),
            **log_frames(self.bandit_plans),
        }

    def _daily(self) -> pd.DataFrame:
        """Stock and price per product per day, 28 days before the experiments through the as-of day."""
        rng = self.rng
        cat = self.catalog
        days = np.arange(-28, WORLD_DAYS + 1)
        rows = []
        for pid, price, stock in zip(cat["product_id"], cat["price"], cat["stock"]):
            sales = rng.poisson(max(stock / 40, 1), len(days))
            level = stock - np.cumsum(sales)
            level = np.where(level < stock * 0.2, level + stock, level)   # restocked
            level = np.maximum(level, 5)
            prices = np.full(len(days), price)
            o = self.daily_overrides.get(pid)
            if o and "stockout_day" in o:
                level = np.where(days >= o["stockout_day"], 0, level)
            if o and "price_day" in o:
                prices = np.where(days >= o["price_day"], np.round(price * o["factor"], 2), prices)
            for d, lv, pr in zip(days, level, prices):
                rows.append((pid, (self.start + dt.timedelta(days=int(d))).date(), int(lv), float(pr)))
        return pd.DataFrame(rows, columns=["product_id", "day", "stock", "price"])


# share of traffic by hour of day (UTC): quiet nights, evening peak
_DIURNAL = np.array([2, 1.5, 1, 1, 1, 1.5, 2.5, 3.5, 4.5, 5, 5, 5.5, 6, 5.5, 5, 5, 5.5, 6, 7, 8, 8, 7, 5, 3.5])
_DIURNAL = _DIURNAL / _DIURNAL.sum()
