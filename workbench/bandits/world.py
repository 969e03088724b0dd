"""True arm rates of an experiment in the sample world, for simulations on the world's own truth.

>>> import tempfile, pathlib
>>> from workbench.simulate.writer import write_world
>>> db = pathlib.Path(tempfile.mkdtemp()) / "w.duckdb"
>>> _ = write_world(db, seed=3, scale=0.01)
>>> rates = true_rates("pdp-home-bandit", db=db)
>>> list(rates), rates["minimal"] > rates["control"]
(['control', 'cozy', 'minimal'], True)
"""

from __future__ import annotations

from pathlib import Path

from ..db import connect
from ..errors import NotFoundError

__all__ = ["true_rates"]


def true_rates(experiment_id: str, *, db: str | Path | None = None, metric: str = "cvr") -> dict[str, float]:
    """Design-truth rate of each variant (whole population, no segment), in the experiment's variant order."""
    with connect(db, read_only=True) as con:
        tables = con.list_tables()
        if "truth" not in tables or "world_experiments" not in tables:
            raise NotFoundError("the database has no truth table (only the sample world has one)")
        t = con.table("truth")
        rows = t.filter((t.experiment_id == experiment_id) & (t.metric == metric) & t.segment.isnull()
                        & t.product_id.isnull()).to_pandas()
        w = con.table("world_experiments")
        variants = w.filter(w.experiment_id == experiment_id).select("variants").to_pandas()
    if rows.empty or variants.empty:
        raise NotFoundError(f"no {metric} truth for experiment {experiment_id!r}")
    rate = dict(zip(rows["variant"], rows["value"].astype(float)))
    return {str(v): rate[v] for v in list(variants["variants"].iloc[0]) if v in rate}
