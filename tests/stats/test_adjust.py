"""Stratified / multi-covariate regression adjustment against statsmodels OLS on unit-level data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from workbench.stats.adjust import AdjustCells, adjust_core, linearise_ratio_cells


def _units(seed: int, kind: str, n: int = 900, arms: int = 2, strata: int = 3, p: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = rng.choice(strata, size=n, p=np.linspace(1, 2, strata) / np.linspace(1, 2, strata).sum())
    a = rng.integers(0, arms, size=n)
    x = rng.gamma(2.0, 1.0 + s[:, None], size=(n, p))
    eta = 0.3 * s + x @ np.linspace(0.4, 0.1, p) + 0.2 * a + 0.1 * a * x[:, 0]
    if kind == "proportion":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(eta - 2)))).astype(float)
    else:
        y = eta + rng.normal(0, 1 + 0.3 * s, n)
    d = rng.poisson(3 + x[:, 0]) + 1.0
    df = pd.DataFrame({"s": s, "a": a, "y": y, "d": d})
    for j in range(p):
        df[f"x{j}"] = x[:, j]
    if kind == "ratio":
        df["y"] = rng.binomial(d.astype(int), 0.2 + 0.05 * a).astype(float)
    return df


def _cells(df: pd.DataFrame, ycol: str, xcols: list[str], arms: int, strata: int) -> AdjustCells:
    y = [[df.loc[(df.s == s) & (df.a == a), ycol].to_numpy() for a in range(arms)] for s in range(strata)]
    x = [[df.loc[(df.s == s) & (df.a == a), xcols].to_numpy() for a in range(arms)] for s in range(strata)]
    return AdjustCells.from_values(y, x)


def _lin_ols(df: pd.DataFrame, ycol: str, xcols: list[str], arms: int, strata: int):
    """Pooled OLS y ~ T × (centred stratum dummies + centred covariates), HC0."""
    cols = {"const": np.ones(len(df))}
    z = {}
    for s in range(1, strata):
        dummy = (df.s == s).astype(float)
        z[f"s{s}"] = dummy - dummy.mean()
    for c in xcols:
        z[c] = df[c] - df[c].mean()
    cols.update(z)
    for a in range(1, arms):
        t = (df.a == a).astype(float)
        cols[f"t{a}"] = t
        for k, v in z.items():
            cols[f"t{a}:{k}"] = t * v
    X = pd.DataFrame(cols)
    fit = sm.OLS(df[ycol], X).fit(cov_type="HC0")
    return [fit.params[f"t{a}"] for a in range(1, arms)], [fit.bse[f"t{a}"] for a in range(1, arms)]


def _within_cell_se(df: pd.DataFrame, ycol: str, xcols: list[str], arms: int, strata: int) -> list[float]:
    """HC0 variance of Σ w_s γ_s in each arm's OLS y ~ 0 + strata + (x − x̄[a,s]) — the variance the core reports."""
    w = np.array([(df.s == s).mean() for s in range(strata)])
    var = []
    for a in range(arms):
        g = df[df.a == a]
        X = pd.DataFrame({f"s{s}": (g.s == s).astype(float) for s in range(strata)})
        for c in xcols:
            X[c] = g[c] - g.groupby("s")[c].transform("mean")
        fit = sm.OLS(g[ycol], X).fit(cov_type="HC0")
        cov = fit.cov_params().to_numpy()[:strata, :strata]
        var.append(w @ cov @ w)
    return [float(np.sqrt(var[a] + var[0])) for a in range(1, arms)]


@pytest.mark.parametrize("kind,arms,p", [("mean", 2, 2), ("proportion", 3, 3), ("mean", 2, 0)])
def test_matches_statsmodels_lin_regression(kind: str, arms: int, p: int) -> None:
    df = _units(7 + arms + p, kind, arms=arms, p=max(p, 1))
    xcols = [f"x{j}" for j in range(p)]
    r = adjust_core(_cells(df, "y", xcols, arms, 3))
    params, lin_se = _lin_ols(df, "y", xcols, arms, 3)
    np.testing.assert_allclose(r.lift, params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.se, _within_cell_se(df, "y", xcols, arms, 3), rtol=1e-8)
    if p == 0:   # strata only: regressors constant within cells, so the HC0 sandwich is exactly ours
        np.testing.assert_allclose(r.se, lin_se, rtol=1e-8)
    else:        # Lin's HC0 adds the slopes' O(1/n) share; close at this size
        np.testing.assert_allclose(r.se, lin_se, rtol=3e-2)
    plain = [df.loc[df.a == a, "y"] for a in range(arms)]
    np.testing.assert_allclose(r.plain_se, [np.sqrt(plain[0].var() / len(plain[0]) + v.var() / len(v)) for v in plain[1:]])


def test_ratio_metric_is_linearised_then_adjusted() -> None:
    df = _units(3, "ratio", n=1200)
    xcols = ["x0", "x1"]
    arms, strata = 2, 3
    # unit-level linearisation at each arm's ratio, by hand
    lin = np.empty(len(df))
    for a in range(arms):
        g = df.a == a
        r_a = df.loc[g, "y"].sum() / df.loc[g, "d"].sum()
        lin[g.to_numpy()] = r_a + (df.loc[g, "y"] - r_a * df.loc[g, "d"]) / df.loc[g, "d"].mean()
    df["lin"] = lin
    sums = {k: np.zeros((strata, arms)) for k in ("n", "y", "yq", "d", "dq", "yd")}
    xs, xx = np.zeros((strata, arms, 2)), np.zeros((strata, arms, 2, 2))
    yx, dx = np.zeros((strata, arms, 2)), np.zeros((strata, arms, 2))
    for s in range(strata):
        for a in range(arms):
            g = df[(df.s == s) & (df.a == a)]
            X = g[xcols].to_numpy()
            sums["n"][s, a] = len(g)
            sums["y"][s, a], sums["yq"][s, a] = g.y.sum(), (g.y ** 2).sum()
            sums["d"][s, a], sums["dq"][s, a], sums["yd"][s, a] = g.d.sum(), (g.d ** 2).sum(), (g.y * g.d).sum()
            xs[s, a], xx[s, a], yx[s, a], dx[s, a] = X.sum(0), X.T @ X, X.T @ g.y, X.T @ g.d
    cells = linearise_ratio_cells(sums["n"], sums["y"], sums["yq"], sums["d"], sums["dq"], sums["yd"], xs, xx, yx, dx)
    r = adjust_core(cells)
    params, _ = _lin_ols(df, "lin", xcols, arms, strata)
    np.testing.assert_allclose(r.lift, params, atol=1e-8)
    np.testing.assert_allclose(r.se, _within_cell_se(df, "lin", xcols, arms, strata), rtol=1e-8)
    # the plain arm means of the linearisation are the arms' ratios
    np.testing.assert_allclose(r.plain_mean, [df.loc[df.a == a, "y"].sum() / df.loc[df.a == a, "d"].sum()
                                              for a in range(arms)], rtol=1e-12)


def test_vectorised_over_leading_axes_and_empty_arm_in_stratum() -> None:
    df = _units(5, "mean")
    one = _cells(df, "y", ["x0"], 2, 3)
    two = AdjustCells(*(np.stack([getattr(one, f), getattr(one, f)]) for f in one.__dataclass_fields__))
    r1, r2 = adjust_core(one), adjust_core(two)
    np.testing.assert_allclose(r2.lift[1], r1.lift)
    n = one.n.copy()
    n[0, 1] = 0.0
    zero = AdjustCells(n, *(np.where((n == 0)[(...,) + (None,) * (np.ndim(getattr(one, f)) - 2)], 0.0, getattr(one, f))
                            for f in ("y_sum", "y_sq", "x_sum", "xx_sum", "xy_sum")))
    assert np.isnan(adjust_core(zero).lift).all()


def test_bad_input_is_a_one_line_error() -> None:
    from workbench.errors import InputError
    one = _cells(_units(5, "mean"), "y", ["x0"], 2, 3)
    with pytest.raises(InputError, match="y_sum must have shape"):
        adjust_core(AdjustCells(one.n, one.y_sum[:2], one.y_sq, one.x_sum, one.xx_sum, one.xy_sum))
    n = one.n.copy()
    n[1, 1] = -3
    with pytest.raises(InputError, match="must not be negative"):
        adjust_core(AdjustCells(n, one.y_sum, one.y_sq, one.x_sum, one.xx_sum, one.xy_sum))
