"""Register the simulated world's experiments: one brief each, created and started.

``workbench demo`` writes the synthetic world into the database, including ``world_experiments``
(one row per experiment: variants, weights, allocation, start and end, hypothesis, metrics,
guardrails, per-variant meta tags, owner). :func:`seed_from_world` turns each row into a brief
and registers it as running since its start time, so the registry, the decision engine, the memo
and the autopilot see the same experiments as the analyses. It is idempotent: experiments already
in the registry are left as they are.

The policy follows the kind: a model ``canary`` uses ``model-promotion``, a ``bandit`` uses
``bayesian-promotion``, everything else ``decision-layer``. The minimum sample size per arm is the
planned number of units times the smallest weight.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd

from ..errors import InputError, Problem
from .brief import parse_brief
from .registry import ExperimentRecord, Registry
from .signals import as_ibis, has_table

__all__ = ["seed_from_world", "brief_from_world_row", "POLICY_BY_KIND"]

POLICY_BY_KIND = {"canary": "model-promotion", "bandit": "bayesian-promotion"}


def _list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, str):
        return json.loads(x) if x.startswith("[") else [x]
    return list(x)


def brief_from_world_row(row: dict[str, Any]) -> dict[str, Any]:
    """The brief (as a mapping) for one ``world_experiments`` row."""
    variants = [str(v) for v in _list(row["variants"])]
    weights = [float(w) for w in _list(row.get("weights"))] or None
    meta_raw = row.get("variant_meta") or "{}"
    meta = json.loads(meta_raw) if isinstance(meta_raw, str) else dict(meta_raw)
    start, end = pd.Timestamp(row["start_ts"]), pd.Timestamp(row["end_ts"])
    days = max(1, math.ceil((end - start).total_seconds() / 86400))
    planned = row.get("planned_units")
    min_n = None
    if planned is not None and not pd.isna(planned) and weights:
        min_n = max(1, int(float(planned) * min(weights) / sum(weights)))
    category = row.get("category")
    product = row.get("product_id")
    kind = str(row.get("kind") or "ab")
    return {
        "id": str(row["experiment_id"]), "name": str(row.get("name") or row["experiment_id"]),
        "hypothesis": str(row.get("hypothesis") or ""), "owner": str(row.get("owner") or "unknown"),
        "primary_metric": str(row.get("primary_metric") or "cvr"),
        "secondary_metrics": [str(m) for m in _list(row.get("secondary_metrics"))],
        "guardrails": [str(g) for g in _list(row.get("guardrails"))],
        "targeting": {"categories": [str(category)] if category and not pd.isna(category) else [],
                      "product_ids": [str(product)] if product and not pd.isna(product) else []},
        "variants": [{"id": v, "meta": meta.get(v, {})} for v in variants],
        "allocation": {"mode": "bandit" if str(row.get("allocation")) == "bandit" else "fixed", "weights": weights},
        "min_sample_size": min_n, "baseline_rate": None if min_n else 0.03, "mde": None if min_n else 0.1,
        "max_duration_days": min(days, 365), "policy": POLICY_BY_KIND.get(kind, "decision-layer"),
        "kind": kind if kind in ("ab", "aa", "canary", "bandit", "multi") else "ab",
    }


def seed_from_world(reg: Registry, con: Any | None = None, *, by: str = "demo",
                    why: str = "registered from the simulated world") -> list[ExperimentRecord]:
    """Create and start a registry experiment for every ``world_experiments`` row not yet registered."""
    def read(c: Any) -> pd.DataFrame:
        backend = as_ibis(c)
        if not has_table(backend, "world_experiments"):
            raise InputError([Problem("blocked", "missing_table", "no world_experiments table: run "
                                      "`workbench simulate` (or `workbench demo`) first", column="world_experiments")])
        return backend.table("world_experiments").execute()

    if con is None:
        with reg.connect() as own:
            df = read(own)
    else:
        df = read(con)
    out = []
    for i, row in enumerate(df.to_dict("records"), start=1):
        if reg.exists(str(row["experiment_id"])):
            continue
        brief = parse_brief(brief_from_world_row(row), source=f"world_experiments row {i}")
        start = pd.Timestamp(row["start_ts"]).to_pydatetime()
        if start.tzinfo is not None:
            start = start.astimezone(dt.UTC).replace(tzinfo=None)
        with reg.transaction() as c:
            reg.create(brief, by=by, why=why, con=c)
            reg.transition(brief.id, "start", by=by, why=why, effective_at=start, con=c)
        out.append(reg.get(brief.id))
    return out
