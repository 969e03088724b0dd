"""The sample world's bandit: true arm rates (for simulations on the world's own truth) and the
allocation decisions the world logs for it (:func:`schedule_plans`).

>>> import tempfile, pathlib
>>> from workbench.simulate.writer import write_world
>>> db = pathlib.Path(tempfile.mkdtemp()) / "w.duckdb"
>>> _ = write_world(db, seed=3, scale=0.01)
>>> rates = true_rates("pdp-home-bandit", db=db)
>>> list(rates), rates["minimal"] > rates["control"]
(['control', 'cozy', 'minimal'], True)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..db import connect
from ..errors import NotFoundError
from .plan import AllocationPlan

__all__ = ["true_rates", "schedule_plans"]


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


def schedule_plans(experiment_id: str, variants: "tuple[str, ...] | list[str]", schedule: "dict[int, Any]",
                   unit_day: "np.ndarray", unit_arm: "np.ndarray", converted: "np.ndarray", start: dt.datetime,
                   *, seed: int = 0) -> list[AllocationPlan]:
    """The simulated bandit's decisions, one per day of its allocation ``schedule`` (day index → weights).

    Each decision is made at the start of its day (``start`` + day, UTC) on the units the bandit had
    seen before it (``unit_day`` < day) and records the schedule's weights, with the posterior and
    P(best) of those counts, so the log holds the same weights the world assigned units with.
    """
    from ..display import fmt_count, fmt_prob
    from .plan import allocate

    plans: list[AllocationPlan] = []
    previous: dict[str, float] | None = None
    k = len(variants)
    for i, day in enumerate(sorted(schedule), start=1):
        seen = unit_day < day
        units = np.bincount(unit_arm[seen], minlength=k).astype(float)
        conversions = np.bincount(unit_arm[seen], weights=converted[seen].astype(float), minlength=k)
        counts = pd.DataFrame({"variant": list(variants), "units": units, "conversions": conversions})
        when = (start.replace(tzinfo=dt.timezone.utc) + dt.timedelta(days=int(day))).isoformat()
        weights = [float(w) for w in schedule[day]]
        plan = allocate(counts, experiment_id=experiment_id, policy="fixed", fixed_weights=weights,
                        previous=previous, seed=seed, now=when, min_units=0)
        arms = tuple(replace(a, reason=f"recorded weight; P(best) {fmt_prob(a.prob_best)} on "
                                       f"{fmt_count(a.units)} units so far") for a in plan.arms)
        reason = f"the simulated bandit's recorded allocation schedule, day {i} of the experiment ({when[:10]})"
        plans.append(replace(plan, policy="recorded", status="recorded", arms=arms, reasons=(reason,)))
        previous = plan.weights_by_variant()
    return plans
