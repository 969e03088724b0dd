"""Score estimates against known truth: error by traffic, and interval coverage.

Used by the cold-start notebook, the tests and the benchmark, so they all measure the same way.

>>> from workbench.hierarchical import simulate_sku_world, fit_empirical_bayes, fit_independent
>>> w = simulate_sku_world(n_categories=4, skus_per_category=10, seed=2)
>>> table = compare_to_truth({"pooled": fit_empirical_bayes(w.data, seed=1),
...                          "independent": fit_independent(w.data, seed=1)}, w.truth)
>>> sorted(table.columns)[:4]
['coverage_control_rate', 'coverage_lift_logodds', 'coverage_variant_rate', 'method']
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .data import SkuData
from .results import HierarchicalResult

__all__ = ["merge_truth", "compare_to_truth", "oracle_lift_coverage"]

_KEYS = ["sku", "category", "variant"]


def merge_truth(result: HierarchicalResult, truth: pd.DataFrame, *, buckets: int = 3) -> pd.DataFrame:
    """Per-SKU estimates next to the truth, with a traffic bucket (1 = lowest traffic)."""
    df = result.to_frame().merge(truth, on=_KEYS, how="inner")
    units = df["n_control"] + df["n_variant"]
    df["traffic"] = pd.qcut(units.rank(method="first"), buckets, labels=[f"T{i + 1}" for i in range(buckets)])
    return df


def compare_to_truth(results: Mapping[str, HierarchicalResult], truth: pd.DataFrame, *,
                     buckets: int = 3) -> pd.DataFrame:
    """One row per method × traffic bucket (plus "all"): RMSE of the lift and rates, interval coverage."""
    rows = []
    for name, res in results.items():
        df = merge_truth(res, truth, buckets=buckets)
        groups = [("all", df)] + [(str(k), g) for k, g in df.groupby("traffic", observed=True)]
        for bucket, g in groups:
            row = {"method": name, "traffic": bucket, "skus": len(g),
                   "units_median": float((g.n_control + g.n_variant).median()),
                   "rmse_lift_logodds": float(np.sqrt(((g.lift_logodds - g.true_lift_logodds) ** 2).mean())),
                   "rmse_control_rate": float(np.sqrt(((g.control_rate - g.true_control_rate) ** 2).mean()))}
            for what in ("lift_logodds", "control_rate", "variant_rate"):
                t = g[f"true_{what}"]
                row[f"coverage_{what}"] = float(((g[f"{what}_lo"] <= t) & (t <= g[f"{what}_hi"])).mean())
            rows.append(row)
    return pd.DataFrame(rows)


def oracle_lift_coverage(data: SkuData, truth: pd.DataFrame, params: Mapping[str, object], *,
                         level: float = 0.94) -> float:
    """Coverage of the SKU lifts' intervals had the lift hyperparameters been known (a diagnostic).

    Each lift's log-odds estimate (as the empirical-Bayes path makes it, re-linearised at the category
    lifts) is pooled with the world's *true* ``mu_delta``, ``tau_delta`` and ``sigma_delta`` (``params``
    of :func:`.synthetic.simulate_sku_world`) by exact normal–normal algebra. Close to ``level`` in
    every world when the intervals' form and the simulator's truth agree; a fitted model's coverage
    below it is then the cost of estimating the hyperparameters from these data.
    """
    from scipy.stats import norm

    from .empirical_bayes import control_logits, fit_category_betas, pool_lifts

    a, b, _, _ = fit_category_betas(data)
    hyper = (float(params["mu_delta"]), float(params["tau_delta"]), float(params["sigma_delta"]))  # type: ignore[arg-type]
    pool = pool_lifts(data, control_logits(data, a, b), hyper=hyper)
    mean, sd = np.asarray(pool["mean"]), np.sqrt(np.asarray(pool["var"]))
    t = truth.set_index(["sku", "variant"]).loc[list(zip([data.skus[j] for j in data.lift_sku], data.lift_variant)),
                                                "true_lift_logodds"].to_numpy()
    return float((np.abs(mean - t) <= norm.ppf(0.5 + level / 2) * sd).mean())
