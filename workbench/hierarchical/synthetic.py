"""A small world with known truth for the hierarchical models: many SKUs in categories, thin traffic.

True parameters are drawn from the same structure the model assumes (logit-normal rates and
lifts, SKUs within categories within a global level); traffic per arm is log-normal, so most SKUs
see a few hundred units and a few see thousands. Tests, the cold-start notebook and the
benchmark score estimates against ``truth``.

>>> w = simulate_sku_world(n_categories=3, skus_per_category=4, seed=7)
>>> w.data.n_skus, w.data.n_categories, len(w.truth)
(12, 3, 12)
>>> sorted(w.truth.columns)[:3]
['category', 'sku', 'true_control_rate']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from .data import SkuData, sku_data_from_frame

__all__ = ["SkuWorld", "simulate_sku_world"]


@dataclass(frozen=True)
class SkuWorld:
    """Observed counts (``frame`` / ``data``) and the truth that generated them."""

    frame: pd.DataFrame
    data: SkuData
    truth: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)


def simulate_sku_world(n_categories: int = 50, skus_per_category: int = 20, *, seed: int = 0,
                       base_rate: float = 0.04, tau_alpha: float = 0.35, sigma_alpha: float = 0.30,
                       mu_delta: float = 0.05, tau_delta: float = 0.08, sigma_delta: float = 0.06,
                       median_units: float = 600.0, units_log_sd: float = 1.0, min_units: int = 20) -> SkuWorld:
    """Simulate control/variant conversions per SKU with known true rates and lifts.

    Rates: ``alpha_cat ~ N(logit(base_rate), tau_alpha)``, ``alpha ~ N(alpha_cat, sigma_alpha)``;
    lifts (log-odds): ``delta_cat ~ N(mu_delta, tau_delta)``, ``delta ~ N(delta_cat, sigma_delta)``.
    Units per arm: log-normal with the given median and log-sd, at least ``min_units``.
    """
    rng = np.random.default_rng(seed)
    n_sku = n_categories * skus_per_category
    cat = np.repeat(np.arange(n_categories), skus_per_category)
    alpha_cat = logit(base_rate) + tau_alpha * rng.standard_normal(n_categories)
    delta_cat = mu_delta + tau_delta * rng.standard_normal(n_categories)
    alpha = alpha_cat[cat] + sigma_alpha * rng.standard_normal(n_sku)
    delta = delta_cat[cat] + sigma_delta * rng.standard_normal(n_sku)
    units = np.maximum(min_units, np.round(median_units * np.exp(units_log_sd * rng.standard_normal((n_sku, 2)))))
    p = np.stack([expit(alpha), expit(alpha + delta)], axis=1)
    conv = rng.binomial(units.astype(np.int64), p)
    skus = [f"sku-{j:04d}" for j in range(n_sku)]
    cats = [f"cat-{c:02d}" for c in range(n_categories)]
    frame = pd.DataFrame({
        "sku": np.repeat(skus, 2),
        "category": np.repeat([cats[c] for c in cat], 2),
        "variant": ["control", "variant"] * n_sku,
        "n": units.ravel(),
        "conversions": conv.ravel().astype(float),
    })
    truth = pd.DataFrame({
        "sku": skus, "category": [cats[c] for c in cat], "variant": "variant",
        "true_control_rate": p[:, 0], "true_variant_rate": p[:, 1],
        "true_lift_logodds": delta, "true_lift_abs": p[:, 1] - p[:, 0], "true_lift_rel": p[:, 1] / p[:, 0] - 1,
    })
    params = dict(n_categories=n_categories, skus_per_category=skus_per_category, seed=seed, base_rate=base_rate,
                  tau_alpha=tau_alpha, sigma_alpha=sigma_alpha, mu_delta=mu_delta, tau_delta=tau_delta,
                  sigma_delta=sigma_delta, median_units=median_units, units_log_sd=units_log_sd,
                  alpha_cat=alpha_cat, delta_cat=delta_cat)
    return SkuWorld(frame=frame, data=sku_data_from_frame(frame, control="control"), truth=truth, params=params)
