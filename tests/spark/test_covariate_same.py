"""``covariate: same`` on Spark: the pre-period events of the lake (``pre_events/``) give the same covariate
sums as on DuckDB — the covariate is part of the one Ibis query, with no backend-specific SQL."""

from __future__ import annotations

import numpy as np


def _cube(engine, lake, metrics):
    from workbench.aggregate import aggregate_cube
    from workbench.engine import open_events
    from workbench.sources.events import open_event_log

    with open_events(engine=engine, events=lake) as (con, root):
        log = open_event_log(con, "events", lake=root)
        assert log.pre_events is not None
        cube = aggregate_cube(log, metrics=metrics, dims=())
    return cube.sort_values(["experiment_id", "variant", "excluded"]).reset_index(drop=True)


def test_same_definition_covariate_is_identical_on_spark_and_duckdb(spark, lake):
    from workbench.metric_defs import catalog, definitions_from_mapping, use

    d = definitions_from_mapping({"metrics": {
        "rev_same": {"kind": "mean", "value": "revenue", "cap": {"percentile": 0.99}, "covariate": "same"},
        "ctr_same": {"kind": "ratio", "numerator": "clicks", "denominator": "impressions",
                     "covariate": {"lookback_days": 7}}}}, source="team.yaml")
    with use(d):
        ms = [catalog()["rev_same"], catalog()["ctr_same"]]
        duck, spk = _cube("duckdb", lake, ms), _cube(spark, lake, ms)
    cols = [c for c in duck.columns if c.startswith(("rev_same_pre", "ctr_same_pre"))]
    assert len(cols) >= 6 and list(duck.columns) == list(spk.columns) and len(duck) == len(spk)
    assert (duck["rev_same_pre__sum"] > 0).any() and (duck["ctr_same_pre__sum_sq"] > 0).any()
    assert duck[["experiment_id", "variant", "excluded"]].equals(spk[["experiment_id", "variant", "excluded"]])
    np.testing.assert_allclose(spk[cols].to_numpy(float), duck[cols].to_numpy(float), rtol=1e-9, atol=1e-9)
