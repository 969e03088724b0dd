"""Defined metrics computed in the engine agree with pandas (windows, caps) and numpy (quantiles)
on the same events of the small sample world."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench import metric_defs
from workbench.aggregate import aggregate_cube, unit_expr
from workbench.aggregate_quantiles import aggregate_quantiles
from workbench.db import connect
from workbench.metric_defs import catalog
from workbench.sources.events import open_event_log

DEFS = {
    "values": {"sku_buys": {"event": "purchase", "where": "product_id == experiment.product_id", "agg": "count"}},
    "metrics": {
        "sku_buys_2d": {"kind": "mean", "value": "sku_buys", "window": {"start": "0d", "end": "20m"}},
        "revenue_p90cap": {"kind": "mean", "value": "revenue", "cap": {"percentile": 0.9}, "unit": "currency"},
        "revenue_p75nz": {"kind": "mean", "value": "revenue", "cap": {"percentile": 0.75, "ignore_zeros": True}},
        "revenue_cap50_1d": {"kind": "mean", "value": "revenue", "cap": 50, "window": {"start": "10m", "end": "1d"}},
        "big_clicks_per_view_1d": {"kind": "ratio", "numerator": {"event": "click_detail", "where": "price >= 50"},
                                   "denominator": "impressions", "window": {"start": 0, "end": "15m"}},
    },
}


@pytest.fixture(scope="module")
def world(small_world):
    con = duckdb.connect(str(small_world["db"]), read_only=True)
    events = con.execute("select * from events").df()
    skus = dict(con.execute("select experiment_id, product_id from world_experiments").fetchall())
    con.close()
    return events, skus


def _units(small_world, skus, names):
    with connect(small_world["db"], read_only=True) as con:
        u = unit_expr(open_event_log(con, "events"), values=names,
                      experiment_attrs={"product_id": skus}).execute()
    return u.set_index(["experiment_id", "user_key"]).sort_index()


def _reference(events: pd.DataFrame, skus: dict[str, str], units: pd.DataFrame) -> pd.DataFrame:
    e = events.copy()
    e["first"] = e.groupby(["experiment_id", "user_key"])["ts_server"].transform("min")
    age_days = (e["ts_server"] - e["first"]).dt.total_seconds() / 86400
    keys = ["experiment_id", "user_key"]
    e["sku"] = e["experiment_id"].map(skus)
    rev = np.where(e["event"] == "purchase", e["price"] * e["quantity"], 0.0)
    out = pd.DataFrame(index=units.index)

    def per_unit(mask, vals=None):
        v = mask.astype(float) if vals is None else np.where(mask, vals, 0.0)
        return pd.Series(v, index=e.index).groupby([e[k] for k in keys]).sum().reindex(out.index, fill_value=0.0)

    out["sku_buys_2d"] = per_unit((e["event"] == "purchase") & (e["product_id"] == e["sku"]) & (age_days < 20 / 1440))
    out["revenue"] = per_unit(e["event"] == "purchase", rev)
    out["rev_1d"] = per_unit((e["event"] == "purchase") & (age_days >= 10 / 1440) & (age_days < 1), rev)
    out["big_clicks_1d"] = per_unit((e["event"] == "click_detail") & (e["price"] >= 50) & (age_days < 15 / 1440))
    out["imps_1d"] = per_unit((e["event"] == "impression") & (age_days < 15 / 1440))
    inc = units["excluded"] == ""
    p90 = out["revenue"][inc].groupby(level="experiment_id").quantile(0.9)       # numpy's linear method
    out["revenue_p90cap"] = np.minimum(out["revenue"], out.index.get_level_values(0).map(p90).to_numpy())
    nz = out["revenue"][inc & (out["revenue"] != 0)].groupby(level="experiment_id").quantile(0.75)
    out["revenue_p75nz"] = np.minimum(out["revenue"], out.index.get_level_values(0).map(nz).to_numpy())
    out["revenue_cap50_1d"] = np.minimum(out["rev_1d"], 50.0)
    out["p90"] = out.index.get_level_values(0).map(p90).to_numpy()
    return out


def test_windowed_and_capped_values_match_pandas(small_world, world, defs):
    events, skus = world
    ms = catalog()
    names = {v for n in DEFS["metrics"] for v in ms[n].values()}
    units = _units(small_world, skus, names)
    ref = _reference(events, skus, units)
    m = {n: ms[n] for n in DEFS["metrics"]}
    pairs = {m["sku_buys_2d"].numerator: "sku_buys_2d", m["revenue_p90cap"].numerator: "revenue_p90cap",
             m["revenue_cap50_1d"].numerator: "revenue_cap50_1d", m["revenue_p75nz"].numerator: "revenue_p75nz",
             m["big_clicks_per_view_1d"].numerator: "big_clicks_1d", m["big_clicks_per_view_1d"].denominator: "imps_1d"}
    for col, ref_col in pairs.items():
        np.testing.assert_allclose(units[col].to_numpy(float), ref[ref_col].to_numpy(float), rtol=1e-9, atol=1e-9,
                                   err_msg=f"{col} vs {ref_col}")
    assert ref["sku_buys_2d"].sum() > 0 and (ref["revenue_p90cap"] < ref["revenue"]).sum() > 10
    assert 0 < (ref["revenue_p75nz"] < ref["revenue"]).sum() < (ref["revenue_p90cap"] < ref["revenue"]).sum()
    for windowed, full in (("rev_1d", "revenue"), ("sku_buys_2d", "revenue")):   # each window drops some
        assert 0 < (ref[windowed] > 0).sum() < (ref[full] > 0).sum(), windowed
    # the cube's sums and the cap it records are the same numbers, per experiment × arm
    with connect(small_world["db"], read_only=True) as con:
        cube = aggregate_cube(open_event_log(con, "events"), metrics=list(m.values()), dims=(),
                              experiment_attrs={"product_id": skus})
    col = m["revenue_p90cap"].numerator
    ref = ref.join(units[["variant", "excluded"]])
    grouped = ref.groupby(["experiment_id", "variant", "excluded"])[["revenue_p90cap", "sku_buys_2d", "p90"]]
    want = grouped.agg({"revenue_p90cap": "sum", "sku_buys_2d": "sum", "p90": "max"}).reset_index()
    got = cube.merge(want, on=["experiment_id", "variant", "excluded"], validate="one_to_one")
    assert len(got) == len(cube) == len(want)
    np.testing.assert_allclose(got[f"{col}__sum"], got["revenue_p90cap"], rtol=1e-9)
    np.testing.assert_allclose(got[f"{col}_capped_at"], got["p90"], rtol=1e-12)
    np.testing.assert_allclose(got[f"{m['sku_buys_2d'].numerator}__sum"], got["sku_buys_2d"])


def test_quantile_points_match_numpy_to_the_histogram_resolution(small_world, world):
    events, skus = world
    ms = [catalog()[n] for n in ("lcp_p90", "dwell_p50", "order_value_p95")]
    units = _units(small_world, skus, set())
    with connect(small_world["db"], read_only=True) as con:
        q = aggregate_quantiles(open_event_log(con, "events"), ms, experiment_attrs={"product_id": skus})
    inc = units[units["excluded"] == ""][["variant"]].reset_index()
    e = events.merge(inc, on=["experiment_id", "user_key"])
    checks = {"lcp_p90": (e["event"] == "impression", e["lcp_ms"] / 1000.0, 0.9),
              "dwell_p50": (e["event"] == "impression", e["dwell_ms"] / 1000.0, 0.5),
              "order_value_p95": (e["event"] == "purchase", e["price"] * e["quantity"], 0.95)}
    assert set(q["metric"]) == set(checks)
    for name, (mask, value, prob) in checks.items():
        sub = e[mask].assign(v=value[mask])
        want = sub.groupby(["experiment_id", "variant"])["v"].quantile(prob)     # numpy's linear method
        got = q[q["metric"] == name].set_index(["experiment_id", "variant"])
        assert set(got.index) == set(want.index)
        w = want.reindex(got.index)
        assert np.all(np.abs(got["quantile"] - w) <= 1e-3 * np.abs(w) + 1e-12), name
        n_users = sub.groupby(["experiment_id", "variant"])["user_key"].nunique().reindex(got.index)
        assert (got["n"] == n_users).all() and (got["events"] == sub.groupby(["experiment_id", "variant"]).size()
                                                 .reindex(got.index)).all()


def test_cli_analyses_defined_metrics_and_a_brief_guardrail_on_p90_lcp(small_world, tmp_path, capsys):
    """``analyze --metrics FILE --brief BRIEF``: the team's metrics, the brief's own metric as primary and
    ``lcp_p90 <= 3.5s`` as a guardrail, each with its window or cap in its label."""
    import json

    import yaml

    from tests.cli_runner import invoke
    from workbench.metrics import fmt_metric_value
    team = tmp_path / "team.yaml"
    team.write_text(yaml.safe_dump(DEFS))
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump({
        "id": "pdp-shoes-hero", "owner": "kim", "primary_metric": "sku_buyers_20m",
        "secondary_metrics": ["revenue_p90cap"], "guardrails": ["lcp_p90 <= 3.5s", "error_rate"],
        "variants": [{"id": "control"}, {"id": "treatment"}], "min_sample_size": 1000,
        "metrics": {"sku_buyers_20m": {"kind": "proportion", "window": {"start": 0, "end": "20m"},
                                       "value": {"event": "purchase", "agg": "any",
                                                 "where": "product_id == experiment.product_id"}}}}))
    try:
        code, out, err = invoke(capsys, None, "analyze", "--experiment", "pdp-shoes-hero", "--db",
                                str(small_world["db"]), "--metrics", str(team), "--brief", str(brief), "--json")
    finally:
        metric_defs._ACTIVE.clear()
    assert code == 0, err
    by = {m["name"]: m for m in json.loads(out)["metrics"]}
    assert by["sku_buyers_20m"]["role"] == "primary" and by["lcp_p90"]["role"] == "guardrail"
    assert by["lcp_p90"]["limit"] == 3.5 and by["lcp_p90"]["comparisons"][0]["test"] == "quantile-delta"
    c = by["lcp_p90"]["comparisons"][0]
    assert c["lift_abs_ci"][0] <= c["lift_abs"] <= c["lift_abs_ci"][1]
    assert by["sku_buyers_20m"]["label"].endswith("(events 0–20 minutes after first exposure)")
    assert by["sku_buyers_20m"]["comparisons"][0]["control_value"] > 0
    assert "sku_buys_2d" in by                  # the team's file: analysed too
    # the cap the engine computed for this experiment, written by the display layer, in the label
    import re
    m = re.fullmatch(r"revenue_p75nz \(capped at the 75th percentile of the pooled arms' non-zero values "
                     r"\(([0-9,.]+)\)\)", by["revenue_p75nz"]["label"])
    assert m and float(m.group(1).replace(",", "")) > 0, by["revenue_p75nz"]["label"]
