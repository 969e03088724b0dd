"""SKU data and truth from the workbench database (the event log and the sample world's tables).

One experiment can run on many SKUs at once (the sample world's ``pdp-longtail-coldstart``: trust
badges on 60 low-traffic products in five categories): :func:`load_sku_experiment` aggregates its
event log by ``product_id`` and takes each product's category from the ``catalog`` table.
:func:`load_sku_truth` reads the world's ``truth`` table in the shape the evaluation expects.

A product that never reached one of the arms has no estimate to shrink: it is left out and named
in ``SkuData.meta["dropped"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..db import connect
from ..errors import InputError, NotFoundError, Problem
from ..experiment_data import ExperimentData
from .data import SkuData, sku_data_from_frame

__all__ = ["sku_frame_from_breakdown", "load_sku_experiment", "load_sku_truth", "catalog_categories"]


def catalog_categories(db: str | Path | None = None) -> dict[str, str]:
    """product_id -> category from the database's ``catalog`` table."""
    with connect(db, read_only=True) as con:
        if "catalog" not in con.list_tables():
            raise NotFoundError("the database has no catalog table (product_id, category)")
        cat = con.table("catalog").select("product_id", "category").to_pandas()
    return dict(zip(cat["product_id"].astype(str), cat["category"].astype(str)))


def sku_frame_from_breakdown(data: ExperimentData, categories: dict[str, str], *, metric: str = "cvr"
                             ) -> tuple[pd.DataFrame, list[str]]:
    """Tidy SKU × variant counts from an experiment aggregated by ``product_id``; also the SKUs dropped."""
    if "product_id" not in data.dims:
        raise InputError([Problem("blocked", "no_product_breakdown", f"experiment {data.experiment_id!r} was not "
                                  "aggregated by product_id", column="product_id")])
    m = data.metric(metric)
    if m.kind != "proportion":
        raise InputError([Problem("blocked", "not_a_proportion", f"metric {metric!r} is a {m.kind}; need a "
                                  "proportion", column=metric)])
    levels, s = data.stats_by(m, "product_id", use_covariate=False)
    rows, dropped = [], []
    for i, sku in enumerate(levels):
        if np.any(s.n[i] <= 0) or str(sku) not in categories:
            dropped.append(str(sku))
            continue
        for k, v in enumerate(data.variants):
            rows.append({"sku": str(sku), "category": categories[str(sku)], "variant": v, "n": float(s.n[i, k]),
                         "conversions": float(s.sum[i, k])})
    return pd.DataFrame(rows), dropped


def load_sku_experiment(experiment_id: str, *, db: str | Path | None = None, metric: str = "cvr") -> SkuData:
    """:class:`SkuData` of a many-SKU experiment in the database (aggregated by product)."""
    from ..sources.experiments import load_experiments

    data = load_experiments([experiment_id], db=db, dims=("product_id",))[experiment_id]
    frame, dropped = sku_frame_from_breakdown(data, catalog_categories(db), metric=metric)
    if frame.empty:
        raise InputError([Problem("blocked", "no_skus", f"experiment {experiment_id!r} has no product with units in "
                                  "every arm")])
    sku = sku_data_from_frame(frame, control=data.control, file=experiment_id)
    return SkuData(**{**sku.__dict__, "meta": {"experiment_id": experiment_id, "dropped": dropped}})


def load_sku_truth(experiment_id: str, *, db: str | Path | None = None) -> pd.DataFrame:
    """True rates and lifts per SKU (columns as :func:`.synthetic.simulate_sku_world`'s ``truth``)."""
    with connect(db, read_only=True) as con:
        if "truth" not in con.list_tables():
            raise NotFoundError("the database has no truth table (only the sample world has one)")
        t = con.table("truth")
        rows = t.filter((t.experiment_id == experiment_id) & t.product_id.notnull()).to_pandas()
    if rows.empty:
        raise NotFoundError(f"no per-SKU truth for experiment {experiment_id!r}")
    cats = catalog_categories(db)
    cvr = rows[rows["metric"] == "cvr"].pivot_table(index="product_id", columns="variant", values="value")
    lift = rows[rows["metric"] == "lift_logodds"].set_index("product_id")["value"]
    variants = list(cvr.columns)
    control = "control" if "control" in variants else variants[0]
    out = []
    for v in [c for c in variants if c != control]:
        out.append(pd.DataFrame({
            "sku": cvr.index.astype(str), "category": [cats.get(str(p), "") for p in cvr.index], "variant": v,
            "true_control_rate": cvr[control].to_numpy(), "true_variant_rate": cvr[v].to_numpy(),
            "true_lift_logodds": lift.reindex(cvr.index).to_numpy(),
            "true_lift_abs": (cvr[v] - cvr[control]).to_numpy(), "true_lift_rel": (cvr[v] / cvr[control] - 1).to_numpy(),
        }))
    return pd.concat(out, ignore_index=True)
