"""A small simulated unit-level world (shared by the analysis tests), aggregated into an ExperimentData cube.

Independent of the data layer on purpose: the analysis tests build exactly the cube they need.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from workbench.experiment_data import ExperimentData, TrustFacts
from workbench.metrics import CATALOG, Metric, sq_col, sum_col, xprod_col


def simulate_units(variants: Sequence[str], n_per_arm: int | Sequence[int], *, seed: int = 0,
                   cvr: Mapping[str, float] | None = None, ctr_mult: Mapping[str, float] | None = None,
                   days: int = 7, devices: Sequence[str] = ("app", "web"),
                   device_effect: Mapping[str, Mapping[str, float]] | None = None,
                   device_mix: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per unit: variant, device, day, and per-unit values for the catalog metrics."""
    rng = np.random.default_rng(seed)
    sizes = [n_per_arm] * len(variants) if isinstance(n_per_arm, int) else list(n_per_arm)
    frames = []
    for v, n in zip(variants, sizes):
        pre_purchases = rng.poisson(0.6, n).astype(float)
        pre_sessions = rng.poisson(3.0, n).astype(float) + 1
        pre_revenue = pre_purchases * rng.gamma(2.0, 20.0, n)
        mix = (device_mix or {}).get(v, 0.5)
        device = np.where(rng.uniform(size=n) < mix, devices[0], devices[1])
        base = (cvr or {}).get(v, 0.10)
        effect = np.array([(device_effect or {}).get(v, {}).get(d, 1.0) for d in device])
        p = np.clip(base * effect * (0.6 + 0.5 * np.minimum(pre_purchases, 3)), 0, 0.95)
        purchased = (rng.uniform(size=n) < p).astype(float)
        impressions = 1 + rng.poisson(4.0, n).astype(float)
        click_p = np.clip(0.08 * (ctr_mult or {}).get(v, 1.0) * (0.7 + 0.1 * pre_sessions), 0, 0.95)
        clicks = rng.binomial(impressions.astype(int), click_p).astype(float)
        purchases = purchased * (1 + rng.poisson(0.3, n))
        revenue = purchases * rng.gamma(2.0, 25.0, n) + 0.3 * pre_revenue * purchased
        sessions = 1 + rng.poisson(1.5, n).astype(float)
        errors = rng.binomial(impressions.astype(int), 0.002).astype(float)
        lcp_s = impressions * rng.gamma(9.0, 0.25, n)
        returns = rng.binomial(purchases.astype(int), 0.05).astype(float)
        frames.append(pd.DataFrame({
            "variant": v, "device": device, "day": rng.integers(1, days + 1, n),
            "purchased": purchased, "clicked": (clicks > 0).astype(float), "carted": purchased,
            "impressions": impressions, "clicks": clicks, "purchases": purchases, "revenue": revenue,
            "sessions": sessions, "errors": errors, "lcp_s": lcp_s, "returns": returns,
            "pre_purchases": pre_purchases, "pre_sessions": pre_sessions, "pre_revenue": pre_revenue}))
    return pd.concat(frames, ignore_index=True)


def cube_from_units(units: pd.DataFrame, metrics: Sequence[Metric], dims: Sequence[str]) -> pd.DataFrame:
    values = sorted({v for m in metrics for v in m.values()})
    pairs = sorted({p for m in metrics for p in m.products()})
    u = units.copy()
    cols = {"n": 1.0}
    for v in values:
        cols[sum_col(v)] = u[v]
        cols[sq_col(v)] = u[v] * u[v]
    for a, b in pairs:
        cols[xprod_col(a, b)] = u[a] * u[b]
    agg = pd.DataFrame({"variant": u["variant"], **{d: u[d] for d in dims}, **cols})
    return agg.groupby(["variant", *dims], sort=False, observed=True).sum().reset_index()


def make_data(variants: Sequence[str] = ("control", "treatment"), n_per_arm: int | Sequence[int] = 4000, *,
              metric_names: Sequence[str] = ("cvr", "ctr", "revenue_per_user", "error_rate", "lcp"),
              dims: Sequence[str] = ("device", "day"), seed: int = 0, meta: Mapping | None = None,
              trust: TrustFacts | None = None, expected_weights: Mapping[str, float] | None = None,
              **world) -> ExperimentData:
    metrics = tuple(CATALOG[name] for name in metric_names)
    units = simulate_units(variants, n_per_arm, seed=seed, **world)
    cube = cube_from_units(units, metrics, dims)
    return ExperimentData("sim", tuple(variants), cube, metrics=metrics, dims=tuple(dims), source="simulated",
                          meta=dict(meta or {"kind": "ab"}), trust=trust, expected_weights=expected_weights)
