"""A registered brief's own metrics reach every view: ``pipeline.evaluate`` (decide, report, dashboard)
aggregates what the brief defines or names, as ``analyze --brief`` does."""

from __future__ import annotations

import shutil

import yaml

from workbench.lifecycle import Registry, seed_from_world
from workbench.pipeline import evaluate

OWN = """
metrics:
  sku_buyers_7d:
    kind: proportion
    value: {event: purchase, where: product_id == experiment.product_id, agg: any}
    window: {start: 0d, end: 7d}
"""


def test_evaluate_computes_the_metrics_a_registered_brief_defines_and_names(small_world, tmp_path):
    scratch, db = tmp_path / "scratch.duckdb", tmp_path / "w.duckdb"
    shutil.copy(small_world["db"], scratch)
    shutil.copy(small_world["db"], db)
    eid = "pdp-shoes-hero"
    seed_from_world(Registry(scratch), by="tests")
    brief = Registry(scratch).brief(eid)             # the world's brief, then the same with its own metrics
    data = brief.model_dump(mode="json", exclude_none=True)
    data["secondary_metrics"] = [*data.get("secondary_metrics", []), "sku_buyers_7d", "lcp_p90"]
    reg = Registry(db)
    reg.create(type(brief).from_yaml(yaml.safe_dump(data) + OWN, source="brief.yaml"), by="test", why="own metrics")
    reg.transition(eid, "start", by="test", why="own metrics")
    before = evaluate([eid], db=scratch)[eid].result
    assert "sku_buyers_7d" not in {m.name for m in before.metrics}
    after = evaluate([eid], db=db)[eid].result
    names = {m.name: m for m in after.metrics}
    assert {"sku_buyers_7d", "lcp_p90"} <= set(names), sorted(names)
    own = names["sku_buyers_7d"]
    assert own.comparisons and 0 <= own.comparisons[0].control_value <= 1
