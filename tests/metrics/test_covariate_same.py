"""``covariate: same``: a metric's CUPED covariate is its own definition over the pre-period events.

Checked against pandas on the same events of the small sample world (the covariate per unit, and the
CUPED-adjusted estimate), by a fixed-seed simulation with a known correlation (the variance reduction
is the ρ² the simulation implies), and for bad definitions and a world without pre-period events
(one located line, exit 2).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.cli_runner import invoke
from workbench import metric_defs
from workbench.aggregate import aggregate_cube, unit_expr
from workbench.db import connect
from workbench.errors import InputError
from workbench.metric_defs import catalog, covariate_text, definitions_from_mapping, use
from workbench.sources.events import open_event_log
from workbench.stats.cuped import cuped_means_core, cuped_ratio_core

DEFS = {"metrics": {
    "rev_same": {"kind": "mean", "value": "revenue", "covariate": "same", "unit": "currency"},
    "rev_cap_7d": {"kind": "mean", "value": "revenue", "cap": 150, "covariate": {"lookback_days": "7d"}},
    "views_same": {"kind": "mean", "value": "impressions", "covariate": {"lookback_days": 10}},
    "buyers_same": {"kind": "proportion", "value": "purchased", "covariate": "same"},
    "ctr_same": {"kind": "ratio", "numerator": "clicks", "denominator": "impressions", "covariate": "same"},
}}


@pytest.fixture(scope="module")
def frames(small_world):
    con = duckdb.connect(str(small_world["db"]), read_only=True)
    events = con.execute("select experiment_id, user_key, ts_server from events").df()
    pre = con.execute("select * from pre_events").df()
    con.close()
    return events, pre


def _reference(events: pd.DataFrame, pre: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Each unit's covariates from the pre-period events in [first exposure − lookback, first exposure)."""
    first = events.groupby(["experiment_id", "user_key"])["ts_server"].min().rename("first").reset_index()
    j = first.merge(pre, on="user_key")
    age = (j["first"] - j["ts_server"]).dt.total_seconds() / 86400           # days before first exposure
    rev = np.where(j["event"] == "purchase", j["price"] * j["quantity"], 0.0)
    keys = [j["experiment_id"], j["user_key"]]
    out = pd.DataFrame(index=units.index)

    def per_unit(mask, vals=None, how="sum"):
        v = mask.astype(float) if vals is None else np.where(mask, vals, 0.0)
        return pd.Series(v, index=j.index).groupby(keys).agg(how).reindex(out.index, fill_value=0.0)

    within = {d: (age > 0) & (age <= d) for d in (7, 10, 14)}
    out["rev_same"] = per_unit(within[14] & (j["event"] == "purchase"), rev)
    out["rev_cap_7d"] = np.minimum(per_unit(within[7] & (j["event"] == "purchase"), rev), 150.0)
    out["views_same"] = per_unit(within[10] & (j["event"] == "impression"))
    out["buyers_same"] = per_unit(within[14] & (j["event"] == "purchase"), how="max")
    num = per_unit(within[14] & (j["event"] == "click_detail"))
    den = per_unit(within[14] & (j["event"] == "impression"))
    inc = units["excluded"] == ""
    r = num[inc].groupby(level="experiment_id").sum() / den[inc].groupby(level="experiment_id").sum()
    out["ctr_same"] = num - out.index.get_level_values(0).map(r).to_numpy() * den
    return out


def test_covariate_and_cuped_estimate_match_pandas(small_world, frames, defs):
    events, pre = frames
    ms = {n: catalog()[n] for n in DEFS["metrics"]}
    with connect(small_world["db"], read_only=True) as con:
        log = open_event_log(con, "events")
        units = unit_expr(log, values={v for m in ms.values() for v in m.values()}).execute()
        cube = aggregate_cube(log, metrics=list(ms.values()), dims=())
    units = units.set_index(["experiment_id", "user_key"]).sort_index()
    ref = _reference(events, pre, units)
    for name, m in ms.items():
        np.testing.assert_allclose(units[m.covariate].to_numpy(float), ref[name].to_numpy(float), rtol=1e-9,
                                   atol=1e-9, err_msg=name)
        assert (ref[name] != 0).sum() > 100, name              # returning users have pre-period events
    # the CUPED-adjusted estimate from the cube's sums equals pandas' on the units, per experiment
    inc = units[units["excluded"] == ""]
    for exp in ("reco-model-v2", "pdp-shoes-hero"):
        rows = (cube[(cube["experiment_id"] == exp) & (cube["excluded"] == "")].groupby("variant", sort=True)
                .sum(numeric_only=True))
        u = inc.loc[exp].join(ref.loc[exp].add_suffix("_ref"))
        arms = [u[u["variant"] == v] for v in rows.index]
        for name in ("rev_same", "views_same", "buyers_same", "ctr_same"):
            m = ms[name]
            st = m.stats(rows)
            got = (cuped_ratio_core(st) if m.kind == "ratio" else cuped_means_core(st)).mean
            np.testing.assert_allclose(got, _pandas_cuped(arms, m, name), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{exp} {name}")


def _pandas_cuped(arms: list[pd.DataFrame], m, name: str) -> np.ndarray:
    """Ȳ_a − θ (X̄_a − X̄), θ from the within-arm moments pooled over arms; a ratio by its linearisation."""
    ys, xs, base = [], [], []
    for a in arms:
        x = a[f"{name}_ref"].to_numpy(float)
        y = a[m.numerator].to_numpy(float)
        if m.kind == "ratio":
            d = a[m.denominator].to_numpy(float)
            r = y.sum() / d.sum()
            ys.append((y - r * d) / d.mean())
            base.append(r)
        else:
            ys.append(y)
            base.append(y.mean())
        xs.append(x)
    sxy = sum(((x - x.mean()) * (y - y.mean())).sum() for x, y in zip(xs, ys))
    sxx = sum(((x - x.mean()) ** 2).sum() for x in xs)
    theta = sxy / sxx
    x_all = np.concatenate(xs).mean()
    return np.array([b - theta * (x.mean() - x_all) for b, x in zip(base, xs)])


def test_simulated_covariate_reduces_the_variance_by_rho_squared(tmp_path, defs):
    """Fixed seed, known truth: a unit's page views before and during the experiment are Poisson with one
    Gamma-distributed rate, so corr(X, Y)² is known; CUPED on ``covariate: same`` removes that share of
    the variance of the lift (and the pre-period aggregate-free world needs nothing else)."""
    rng = np.random.default_rng(20261206)
    n, k, scale, pre_days, exp_days = 6000, 2.0, 1.5, 14, 7
    lam = rng.gamma(k, scale, n)                                   # page views per week
    arm = rng.integers(0, 2, n)
    first = dt.datetime(2026, 11, 1) + pd.to_timedelta(rng.integers(0, 86400 * 3, n), unit="s")
    y = rng.poisson(lam * exp_days / 7 * np.where(arm == 1, 1.05, 1.0))
    x = rng.poisson(lam * pre_days / 7)
    keys = np.char.add("u", np.arange(n).astype(str))

    def rows(counts: np.ndarray, sign: int, days: int) -> pd.DataFrame:
        i = np.repeat(np.arange(n), counts)
        offset = pd.to_timedelta(rng.integers(60, days * 86400 - 60, len(i)), unit="s")
        ts = pd.DatetimeIndex(first[i]) + sign * offset
        return pd.DataFrame({"ts_server": ts, "user_key": keys[i], "session_id": np.char.add(keys[i], "-0"),
                             "product_id": "p1", "event": "impression", "device": "mobile", "channel": "organic",
                             "price": 10.0, "quantity": 0, "_i": i})

    during = rows(np.maximum(y, 0), 1, exp_days)
    head = pd.DataFrame({"ts_server": pd.DatetimeIndex(first), "user_key": keys, "session_id": np.char.add(keys, "-0"),
                         "product_id": "p1", "event": "add_to_cart", "device": "mobile", "channel": "organic",
                         "price": 10.0, "quantity": 1, "_i": np.arange(n)})      # the exposure itself
    ev = pd.concat([head, during], ignore_index=True)
    ev["experiment_id"], ev["variant_id"] = "sim", np.where(arm[ev["_i"]] == 1, "treatment", "control")
    pre = rows(x, -1, pre_days).drop(columns="_i")
    db = tmp_path / "sim.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("ev_df", ev.drop(columns="_i"))
        con.register("pre_df", pre)
        con.execute("create table events as select * from ev_df")
        con.execute("create table pre_events as select * from pre_df")
    m = catalog()["views_same"]                                    # impressions, 10-day lookback
    m14 = definitions_from_mapping({"metrics": {"views_14": {"kind": "mean", "value": "impressions",
                                                             "covariate": "same"}}}, source="sim.yaml")
    with use(m14), connect(db, read_only=True) as con:
        mm = catalog()["views_14"]
        cube = aggregate_cube(open_event_log(con, "events"), metrics=[m, mm], dims=())
    rows_ = cube[cube["excluded"] == ""].groupby("variant", sort=True).sum(numeric_only=True)
    mean_l, var_l = k * scale, k * scale ** 2                      # Gamma(k, scale) rate per week
    a, b = exp_days / 7, pre_days / 7

    def rho2(b_: float) -> float:                                  # corr² of Poisson(aλ) and Poisson(b_λ)
        return (a * b_ * var_l) ** 2 / ((a * mean_l + a * a * var_l) * (b_ * mean_l + b_ * b_ * var_l))

    for metric, want in ((mm, rho2(b)), (m, rho2(10 / 7))):
        got = cuped_means_core(metric.stats(rows_))
        assert bool(got.applied)
        assert abs(float(got.variance_reduction[0]) - want) < 0.03, (metric.name, got.variance_reduction, want)
    assert rho2(b) > rho2(10 / 7) > 0.3                            # a longer lookback: a better covariate
    assert covariate_text(mm) == "the same definition over the 14 days before each unit's first exposure"


@pytest.mark.parametrize("spec, key, words", [
    ({"kind": "quantile", "quantile": 0.9, "value": {"event": "impression", "expr": "lcp_ms"}, "covariate": "same"},
     "metrics.x.covariate", "quantile metric cannot have a CUPED covariate"),
    ({"kind": "mean", "value": "revenue", "covariate": {"lookback_days": 0}}, "metrics.x.covariate.lookback_days",
     "longer than 0 days"),
    ({"kind": "mean", "value": "revenue", "covariate": {"lookback_days": "-3d"}}, "metrics.x.covariate.lookback_days",
     "longer than 0 days"),
    ({"kind": "mean", "value": "revenue", "covariate": {"lookback": 14}}, "metrics.x.covariate", "lookback_days"),
    ({"kind": "mean", "value": "revenue", "covariate": "sames"}, "metrics.x.covariate", "unknown pre-period value"),
])
def test_bad_covariate_is_one_located_line(spec, key, words):
    with pytest.raises(InputError) as exc:
        definitions_from_mapping({"metrics": {"x": spec}}, source="team.yaml")
    assert len(exc.value.problems) == 1
    line = str(exc.value.problems[0])
    assert line.startswith(f"team.yaml: column {key}") and words in line, line


def test_no_pre_period_events_is_exit_2_naming_file_and_key(small_world, tmp_path, capsys):
    """An events file without pre_events.parquet beside it: `covariate: same` cannot be computed."""
    import shutil
    events = tmp_path / "events.parquet"
    shutil.copy(small_world["parquet"] / "events.parquet", events)
    team = tmp_path / "team.yaml"
    team.write_text(yaml.safe_dump({"metrics": {"rev_same": DEFS["metrics"]["rev_same"]}}))
    try:
        code, out, err = invoke(capsys, None, "analyze", str(events), "--experiment", "pdp-shoes-hero",
                                "--metrics", str(team), "--json")
    finally:
        metric_defs._ACTIVE.clear()
    assert code == 2 and "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{team}: column metrics.rev_same.covariate" in lines[0], err
    assert "needs pre-period events" in lines[0]
    # with pre_events.parquet beside it, the same command works and says which covariate it used
    shutil.copy(small_world["parquet"] / "pre_events.parquet", tmp_path / "pre_events.parquet")
    try:
        code, out, err = invoke(capsys, None, "analyze", str(events), "--experiment", "pdp-shoes-hero",
                                "--metrics", str(team), "--json")
    finally:
        metric_defs._ACTIVE.clear()
    assert code == 0, err
    import json
    m = {x["name"]: x for x in json.loads(out)["metrics"]}["rev_same"]
    cu = m["comparisons"][0]["extra"]["cuped"]
    assert cu["covariate"] == "rev_same_pre" and cu["applied"]
    text = "the same definition over the 14 days before each unit's first exposure"
    assert cu["covariate_text"] == text and any(n.startswith(f"CUPED on {text}:") for n in m["notes"])
