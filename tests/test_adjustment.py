"""The adjusted estimate end to end: unit table → cube → analyze → JSON, against statsmodels OLS on the units."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from cli_runner import invoke

from workbench.adjust_tables import adjustment_rows
from workbench.analysis import analyze
from workbench.experiment_data import ExperimentData
from workbench.metrics import Metric, sq_col, sum_col, xprod_col

COVS = ["pre_purchased", "pre_revenue"]


def _units(seed: int = 5, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    device = rng.choice(["app", "web", "tablet"], n, p=[0.5, 0.35, 0.15])
    channel = rng.choice(["ads", "organic"], n)
    variant = rng.choice(["control", "treatment"], n)
    t = (variant == "treatment").astype(float)
    pre_p = rng.poisson(1 + (device == "app"), n).astype(float)
    pre_r = rng.gamma(2, 10, n) * (1 + (channel == "ads"))
    revenue = 0.5 * pre_r + 3 * pre_p + rng.gamma(2, 5, n) + 2 * t
    purchased = (rng.uniform(size=n) < 0.1 + 0.05 * np.minimum(pre_p, 4) + 0.02 * t).astype(float)
    impressions = rng.poisson(5 + pre_p, n) + 1.0
    clicks = rng.binomial(impressions.astype(int), 0.2 + 0.03 * t).astype(float)
    return pd.DataFrame({"variant": variant, "device": device, "channel": channel, "purchased": purchased,
                         "revenue": revenue, "pre_purchased": pre_p, "pre_revenue": pre_r,
                         "clicks": clicks, "impressions": impressions})


def _lin(df: pd.DataFrame, y: np.ndarray) -> tuple[float, float]:
    """OLS y ~ T × (centred device×channel dummies + centred covariates), HC0: the treatment coefficient and SE."""
    cell = df.device + "/" + df.channel
    z = pd.get_dummies(cell, drop_first=True, dtype=float)
    z = pd.concat([z, df[COVS]], axis=1)
    z = z - z.mean()
    t = (df.variant == "treatment").astype(float)
    X = pd.concat([pd.Series(1.0, index=df.index, name="const"), t.rename("t"), z,
                   z.mul(t, axis=0).add_prefix("t:")], axis=1)
    fit = sm.OLS(y, X).fit(cov_type="HC0")
    return float(fit.params["t"]), float(fit.bse["t"])


def test_unit_table_json_matches_statsmodels(capsys, tmp_path) -> None:
    df = _units()
    path = tmp_path / "units.csv"
    df.drop(columns=["clicks", "impressions"]).to_csv(path, index=False)
    code, out, _ = invoke(capsys, None, "analyze", str(path), "--json")
    assert code == 0
    res = json.loads(out)
    by_name = {m["name"]: m for m in res["metrics"]}
    for name in ("purchased", "revenue"):
        adj = by_name[name]["adjustment"]
        assert adj["strata"] == ["device", "channel"] and adj["covariates"] == COVS and adj["cells"] == 6
        est = adj["estimates"][0]
        lift, se = _lin(df, df[name])
        assert est["lift_abs"] == pytest.approx(lift, abs=1e-8)
        assert est["se"] == pytest.approx(se, rel=2e-2)          # Lin's HC0 adds the slopes' O(1/n) share
        plain = [df.loc[df.variant == v, name] for v in ("control", "treatment")]
        assert est["plain_lift_abs"] == pytest.approx(plain[1].mean() - plain[0].mean(), abs=1e-12)
        assert est["variance_reduction"] > {"purchased": 0.01, "revenue": 0.5}[name]
    assert any("stratified multi-covariate estimate (6 strata, 2 covariates)" in n for n in by_name["revenue"]["notes"])
    code, text, _ = invoke(capsys, None, "analyze", str(path))
    assert "Adjusted estimates" in text and "stratified + covariates" in text


def _cube(df: pd.DataFrame) -> pd.DataFrame:
    values = ["clicks", "impressions", *COVS]
    d = df.copy()
    aggs: dict[str, pd.Series] = {}
    for v in values:
        d[sq_col(v)] = d[v] ** 2
    for a, b in combinations(values, 2):
        d[xprod_col(a, b)] = d[a] * d[b]
    d["n"] = 1.0
    cols = ["n", *values, *[sq_col(v) for v in values], *[xprod_col(a, b) for a, b in combinations(values, 2)]]
    cube = d.groupby(["variant", "device", "channel"], as_index=False)[cols].sum()
    return cube.rename(columns={v: sum_col(v) for v in values})


def test_ratio_metric_is_linearised_then_adjusted_through_analyze() -> None:
    df = _units(seed=8)
    ctr = Metric("ctr", "ratio", "clicks", "impressions", role="primary")
    data = ExperimentData("e", ("control", "treatment"), _cube(df), metrics=(ctr,), dims=("device", "channel"))
    r = analyze(data)
    est = r.primary.adjustment.estimates[0]
    lin = np.empty(len(df))
    for v in ("control", "treatment"):
        g = (df.variant == v).to_numpy()
        ratio = df.clicks[g].sum() / df.impressions[g].sum()
        lin[g] = ratio + (df.clicks[g] - ratio * df.impressions[g]) / df.impressions[g].mean()
    lift, se = _lin(df, lin)
    assert est.lift_abs == pytest.approx(lift, abs=1e-8) and est.se == pytest.approx(se, rel=2e-2)
    # the plain row is the headline's delta-method lift of the ratio
    assert est.plain_lift_abs == pytest.approx(r.primary.comparisons[0].lift_abs, abs=1e-12)
    rows = adjustment_rows(r.primary)
    assert [row["estimate"] for row in rows] == ["plain", "stratified + covariates"]


def test_sparse_cells_are_pooled_and_no_adjustment_without_strata_or_covariates() -> None:
    df = _units(seed=9)
    df.loc[df.index[:12], "device"] = "console"            # a cell with a handful of units
    m = Metric("clicks", "mean", "clicks", role="primary")
    data = ExperimentData("e", ("control", "treatment"), _cube(df), metrics=(m,), dims=("device", "channel"))
    a = analyze(data).primary.adjustment
    assert a.applied and a.pooled_cells >= 1 and any("pooled" in n for n in a.notes)
    bare = _cube(df).groupby("variant", as_index=False).sum(numeric_only=True)
    bare = bare[[c for c in bare.columns if not c.startswith("pre_") and "pre_" not in c]]
    r = analyze(ExperimentData("e", ("control", "treatment"), bare, metrics=(m,)))
    assert not r.primary.adjustment.applied
    assert r.primary.adjustment.notes == ("not adjusted: no strata and no pre-period covariates to adjust for",)
    assert analyze(data, adjust=False).primary.adjustment is None


def test_unknown_strata_or_covariate_is_a_clear_error() -> None:
    from workbench.errors import InputError
    df = _units(seed=9)
    m = Metric("clicks", "mean", "clicks", role="primary")
    data = ExperimentData("e", ("control", "treatment"), _cube(df), metrics=(m,), dims=("device", "channel"))
    with pytest.raises(InputError, match="strata: the data has no 'country' to stratify by; it has: device, channel"):
        analyze(data, strata=("country",))
    with pytest.raises(InputError, match="no 'pre_x' to adjust for"):
        analyze(data, adjust_covariates=("pre_x",))
    a = analyze(data, strata=("device",), adjust_covariates=("pre_revenue",)).primary.adjustment
    assert a.strata == ("device",) and a.covariates == ("pre_revenue",) and a.cells == 3


def test_every_metric_shares_the_experiments_cells_and_gets_the_same_estimate():
    """The cells × arms sums are grouped once per experiment (``ExperimentData.memo``): each metric's adjusted
    estimate from the shared grouping equals the one from a grouping of its own, the arms' sums are handed out as copies, and neither a
    pickle nor a ``replace`` carries the memo."""
    import pickle
    from dataclasses import replace

    from analysis_world import make_data
    from workbench.adjustment import adjust_metric

    data = make_data(("control", "b", "c"), 3000, seed=3)
    assert data.memo == {}
    applied = 0
    for m in data.metrics:
        shared = adjust_metric(data.cube, data.variants, m, memo=data.memo)
        applied += shared.applied
        alone = adjust_metric(data.cube, data.variants, m)
        assert shared.cells == alone.cells and shared.pooled_cells == alone.pooled_cells
        assert len(shared.estimates) == len(alone.estimates) == 2
        for a, b in zip(shared.estimates, alone.estimates):
            assert a.lift_abs == pytest.approx(b.lift_abs, rel=1e-12, abs=1e-15)
            assert a.se == pytest.approx(b.se, rel=1e-12)
    assert applied == len(data.metrics) and len([k for k in data.memo if k[0] == "adjustment cells"]) == 1
    arms = data.arm_table()
    arms.loc[:, "n"] = -1.0                       # a caller changing its copy changes nothing shared
    assert (data.arm_table()["n"] > 0).all()
    assert "arms" in data.memo
    assert pickle.loads(pickle.dumps(data)).memo == {} and replace(data, control_note="x").memo == {}
