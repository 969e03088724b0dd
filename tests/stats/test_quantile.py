"""Quantile metrics: point values against numpy, intervals by simulation and against a cluster bootstrap,
the Ibis aggregation against pandas (DuckDB); on PySpark in tests/spark/test_quantile_spark.py.

The simulated world: users with a random effect u ~ N(0, τ²) on the log scale and 1 + Poisson(e^{a + b·u})
page views each (heavy users are slower: views and values are correlated), values e^{μ + u + ε}; the
treatment multiplies every value by ``LIFT``, so the true difference of any quantile is
``(LIFT − 1) · q_p`` with ``q_p`` the quantile of the page-weighted distribution, solved from
``F(q) = E[N · Φ((ln q − μ − u)/σ)] / E[N]`` by Gauss–Hermite quadrature and root finding.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

from workbench.errors import InputError
from workbench.quantiles import quantile_sufficient_stats, unit_indicator_aggs
from workbench.stats.frequentist import diff_test
from workbench.stats.quantile import (ArmHistogram, QuantileInputError, QuantileStats, bin_keys, compare_quantile,
                                      quantile_compare_core, quantile_core)

MU, SIGMA, TAU, A, B, LIFT = 0.5, 0.5, 0.4, 1.0, 1.0, 1.05
PROBS = (0.5, 0.75, 0.9, 0.95, 0.99)


def true_quantile(p: float) -> float:
    x, w = np.polynomial.hermite_e.hermegauss(80)
    u = TAU * x
    wn = w * (1 + np.exp(A + B * u))
    wn = wn / wn.sum()
    return optimize.brentq(lambda q: float(np.sum(wn * special.ndtr((np.log(q) - MU - u) / SIGMA))) - p,
                           1e-6, 1e6, xtol=1e-14)


def simulate_arm(rng: np.random.Generator, users: int, lift: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    u = rng.normal(0, TAU, users)
    views = 1 + rng.poisson(np.exp(A + B * u))
    uid = np.repeat(np.arange(users), views)
    return lift * np.exp(MU + u[uid] + rng.normal(0, SIGMA, uid.size)), uid


# --- point values ---------------------------------------------------------------------------------------


def _datasets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"lognormal": rng.lognormal(0.5, 0.8, 20_000),
            "signed": rng.normal(0.0, 50.0, 5_000),                       # negative values: mirrored bins
            "zeros_and_ties": np.r_[np.zeros(300), rng.integers(1, 40, 3_000).astype(float)],
            "heavy_tail": rng.pareto(1.2, 8_000) * 30.0,
            "tiny": np.array([4.2])}


@pytest.mark.parametrize("resolution", [1e-3, 2e-2])
def test_point_values_equal_numpy_to_the_resolution(resolution: float) -> None:
    for name, v in _datasets().items():
        h = ArmHistogram.from_values(v, resolution=resolution)
        got = h.quantile(PROBS)
        want = np.quantile(v, PROBS)
        xs = np.sort(v)
        k = np.floor((len(v) - 1) * np.asarray(PROBS)).astype(int)
        bound = resolution * np.maximum(np.abs(xs[k]), np.abs(xs[np.minimum(k + 1, len(v) - 1)])) + 2e-9
        assert np.all(np.abs(got - want) <= bound), (name, got - want, bound)
        # exact where every bin holds one distinct value; and with resolution=None always
        exact = ArmHistogram.from_values(v, resolution=None).quantile(PROBS)
        np.testing.assert_allclose(exact, want, rtol=1e-12, atol=1e-12, err_msg=name)
    ties = _datasets()["zeros_and_ties"]
    np.testing.assert_allclose(ArmHistogram.from_values(ties, resolution=resolution).quantile(PROBS),
                               np.quantile(ties, PROBS), rtol=1e-12)


def test_bins_are_ordered_and_no_wider_than_the_resolution() -> None:
    rng = np.random.default_rng(3)
    v = np.sort(np.r_[rng.lognormal(0, 3, 5_000), -rng.lognormal(0, 3, 500), 0.0, 1e-12])
    keys = bin_keys(v, resolution=0.01, floor=1e-9)
    assert np.all(np.diff(keys) >= 0)
    h = ArmHistogram.from_values(v, resolution=0.01, floor=1e-9)
    assert h.total == len(v) and len(h.count) == len(np.unique(keys))
    big = np.abs(h.vmin) >= 1e-9
    assert np.all(np.abs(h.vmax - h.vmin)[big] <= 0.01 * np.maximum(np.abs(h.vmin), np.abs(h.vmax))[big] * (1 + 1e-12))
    # bins read in any order (rows out of an engine) give the same histogram
    perm = rng.permutation(len(h.count))
    again = ArmHistogram.from_bins(h.count[perm], h.vmin[perm], h.vmax[perm])
    np.testing.assert_array_equal(again.quantile(PROBS), h.quantile(PROBS))


# --- intervals ------------------------------------------------------------------------------------------


def coverage_run(seed: int, reps: int = 2_000, users: int = 200, probs: tuple[float, ...] = (0.5, 0.9)
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per replication and probability: covered by the clustered interval, by the iid one; the error."""
    rng = np.random.default_rng(seed)
    truth = np.array([(LIFT - 1) * true_quantile(p) for p in probs])
    covered, covered_iid, err = (np.empty((reps, len(probs))) for _ in range(3))
    p = np.asarray(probs)[:, None]
    for r in range(reps):
        (vc, uc), (vt, ut) = simulate_arm(rng, users), simulate_arm(rng, users, LIFT)
        s = QuantileStats.from_values([vc, vt], [uc, ut], probs)      # rows: probabilities, columns: arms
        d = quantile_compare_core(s)
        covered[r] = (d.ci_lo[:, 0] <= truth) & (truth <= d.ci_hi[:, 0])
        _, se_f, se2_q = quantile_core(s)
        se_iid = np.sqrt(np.sum(se2_q * p * (1 - p) / s.events / se_f ** 2, axis=1))  # same density, iid F̂
        err[r] = d.lift_abs[:, 0] - truth
        covered_iid[r] = np.abs(err[r]) <= 1.959964 * se_iid
    return covered, covered_iid, err


def test_intervals_cover_the_true_difference_with_clustered_page_views() -> None:
    """95 % intervals of p50 and p90 cover (LIFT − 1)·q in 94–96 % of 2 × 2,000 fixed-seed experiments
    (±1 % is about three binomial standard errors), each quantile within 93.5–96.5 %; the iid interval that
    ignores the clustering covers far less, and the estimate is unbiased."""
    covered, covered_iid, err = coverage_run(20261206)
    assert 0.94 <= covered.mean() <= 0.96, covered.mean(axis=0)
    assert np.all((covered.mean(axis=0) >= 0.935) & (covered.mean(axis=0) <= 0.965)), covered.mean(axis=0)
    assert np.all(covered_iid.mean(axis=0) < 0.90), covered_iid.mean(axis=0)
    assert np.all(np.abs(err.mean(axis=0)) < 0.1 * err.std(axis=0))


def _cluster_bootstrap_se(values: np.ndarray, units: np.ndarray, prob: float, draws: int,
                          rng: np.random.Generator) -> np.ndarray:
    """Users resampled with replacement (multinomial weights): the weighted inverse-CDF quantile per draw."""
    order = np.argsort(values)
    v, u = values[order], units[order]
    w = rng.multinomial(units.max() + 1, np.full(units.max() + 1, 1 / (units.max() + 1)), size=draws)[:, u]
    cum = np.cumsum(w, axis=1)
    idx = (cum < prob * cum[:, -1:]).sum(axis=1)
    return v[np.minimum(idx, len(v) - 1)]


@pytest.mark.parametrize("prob", [0.5, 0.9])
def test_standard_errors_agree_with_a_cluster_bootstrap(prob: float) -> None:
    rng = np.random.default_rng(99)
    (vc, uc), (vt, ut) = simulate_arm(rng, 400), simulate_arm(rng, 400, LIFT)
    s = QuantileStats.from_values([vc, vt], [uc, ut], prob)
    r = compare_quantile(s, arms=["control", "treatment"])
    qc = _cluster_bootstrap_se(vc, uc, prob, 2_000, rng)
    qt = _cluster_bootstrap_se(vt, ut, prob, 2_000, rng)
    boot_diff, boot_rel = qt - qc, qt / qc - 1
    assert r.se[0] == pytest.approx(np.std(boot_diff, ddof=1), rel=0.15)
    assert r.se_estimate[0] == pytest.approx(np.std(qc, ddof=1), rel=0.15)
    rel_se = (r.lift_rel_hi[0] - r.lift_rel_lo[0]) / (2 * 1.959964)
    assert rel_se == pytest.approx(np.std(boot_rel, ddof=1), rel=0.15)
    lo, hi = np.quantile(boot_diff - np.mean(boot_diff), [0.025, 0.975]) + r.lift_abs[0]
    assert abs(r.lift_abs_lo[0] - lo) < 0.25 * r.se[0] and abs(r.lift_abs_hi[0] - hi) < 0.25 * r.se[0]


def test_comparison_is_the_shared_z_test_and_one_story() -> None:
    rng = np.random.default_rng(5)
    arms = [simulate_arm(rng, 300, lift) for lift in (1.0, 1.2, 0.97)]
    s = QuantileStats.from_values([a[0] for a in arms], [a[1] for a in arms], 0.75)
    r = compare_quantile(s, arms=["control", "faster", "slower"])
    q, _, se2 = quantile_core(s)
    ref = diff_test(q[:1], se2[:1], q[1:], se2[1:])
    np.testing.assert_allclose(r.lift_abs, ref[0])
    np.testing.assert_allclose(r.p_value, ref[4])
    np.testing.assert_allclose(r.lift_rel, q[1:] / q[0] - 1)
    assert r.estimate == tuple(q.tolist()) and r.variants == ("faster", "slower")
    assert all(lo < e < hi for lo, e, hi in zip(r.estimate_lo, r.estimate, r.estimate_hi))
    for i in range(2):          # "significant" and "the interval excludes 0" are one fact
        assert (r.p_value[i] < 0.05) == (r.lift_abs_lo[i] > 0 or r.lift_abs_hi[i] < 0)
    assert r.p_value[0] < 0.05 and r.lift_abs_lo[0] > 0
    table = r.to_table()
    assert table.kind == "quantile" and table.lift_abs == r.lift_abs and set(r.to_frame()["prob"]) == {0.75}
    # batches: a leading axis of metrics gives the same numbers entry by entry
    s2 = QuantileStats.from_values([a[0] for a in arms], [a[1] for a in arms], 0.5)
    stacked = QuantileStats(*(np.stack([getattr(s, f), getattr(s2, f)]) for f in (
        "prob", "n", "events", "events_sq", "below", "below_sq", "below_events", "quantile", "quantile_lo",
        "quantile_hi")))
    batch = quantile_compare_core(stacked)
    np.testing.assert_allclose(batch.p_value[0], r.p_value)
    np.testing.assert_allclose(batch.lift_abs[1], compare_quantile(s2).lift_abs)


def test_bad_input_is_a_clear_value_error() -> None:
    rng = np.random.default_rng(1)
    (v, u) = simulate_arm(rng, 50)
    with pytest.raises(ValueError, match="prob must be strictly between 0 and 1"):
        QuantileStats.from_values([v, v], [u, u], 1.0)
    with pytest.raises(ValueError, match="arm 1 has no finite values"):
        QuantileStats.from_values([v, [np.nan]], [u, [1]], 0.5)
    with pytest.raises(ValueError, match="resolution"):
        QuantileStats.from_values([v, v], [u, u], 0.5, resolution=0.5)
    s = QuantileStats.from_values([v, v * 1.1], [u, u], 0.9)
    with pytest.raises(QuantileInputError, match=r"arm 1 \(treatment\) has no units") as e:
        compare_quantile(QuantileStats(*(np.array([getattr(s, f)[0], 0.0 if f == "n" else getattr(s, f)[1]])
                                         for f in ("prob", "n", "events", "events_sq", "below", "below_sq",
                                                   "below_events", "quantile", "quantile_lo", "quantile_hi"))),
                         arms=["control", "treatment"])
    assert isinstance(e.value, InputError) and e.value.problems[0].column == "n" and e.value.problems[0].row == 2
    one_user = QuantileStats.from_values([v, v[u == 0]], [u, u[u == 0]], 0.9)
    assert np.isnan(one_user.quantile_lo[1]) and np.isnan(quantile_compare_core(one_user).p_value[0])
    with pytest.raises(ValueError, match=r"arm 1 has a single unit with a value"):
        compare_quantile(one_user)
    with pytest.raises(ValueError, match="at least 2 arms"):
        compare_quantile(s.take([0]))
    with pytest.raises(ValueError, match="alpha"):
        compare_quantile(s, alpha=2)


# --- the engine -----------------------------------------------------------------------------------------


def _events(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for e, sign in (("e1", 1.0), ("e2", -1.0)):          # e2 has negative values too (refunds)
        for arm, lift in (("control", 1.0), ("b", 1.1), ("c", 0.9)):
            v, uid = simulate_arm(rng, 60, lift)
            v = np.where(rng.random(v.size) < 0.1, sign * v, v)
            frames.append(pd.DataFrame({"experiment": e, "arm": arm, "user": [f"{e}{arm}{i}" for i in uid], "lcp": v}))
    ev = pd.concat(frames, ignore_index=True)
    ev.loc[[3, 40], "lcp"] = np.nan                          # missing values are left out
    ev.loc[[5], "arm"] = None
    return ev


def _pandas_reference(ev: pd.DataFrame, probs: tuple[float, ...], resolution: float) -> pd.DataFrame:
    ev = ev.dropna(subset=["lcp", "arm", "user", "experiment"])
    rows = []
    for (e, arm), g in ev.groupby(["experiment", "arm"]):
        keyed = g.assign(key=bin_keys(g["lcp"].to_numpy(), resolution=resolution))
        bins = keyed.groupby("key")["lcp"].agg(["count", "min", "max"])
        hist = ArmHistogram(bins["count"], bins["min"], bins["max"])
        for p in probs:
            q = float(hist.quantile(p))
            per_user = g.groupby("user")["lcp"].agg(N="size", S=lambda x: int((x <= q).sum()))
            N, S = per_user["N"], per_user["S"]
            rows.append({"experiment": e, "arm": arm, "prob": p, "n": len(per_user), "events": N.sum(),
                         "events_sq": (N * N).sum(), "below": S.sum(), "below_sq": (S * S).sum(),
                         "below_events": (S * N).sum(), "quantile": q, "numpy": np.quantile(g["lcp"], p)})
    return pd.DataFrame(rows)


def test_ibis_on_duckdb_equals_pandas() -> None:
    ev = _events()
    con = ibis.duckdb.connect()
    con.con.register("events", ev)
    probs, resolution = (0.5, 0.9, 0.99), 0.005
    agg = quantile_sufficient_stats(con.table("events"), value="lcp", unit="user", arm="arm", by=["experiment"],
                                    probs=probs, resolution=resolution)
    ref = _pandas_reference(ev, probs, resolution)
    got = agg.rows.merge(ref, on=["experiment", "arm", "prob"], suffixes=("", "_ref"), validate="1:1")
    assert len(got) == len(ref) == 2 * 3 * 3
    for c in ("n", "events", "events_sq", "below", "below_sq", "below_events"):
        np.testing.assert_array_equal(got[c].to_numpy(), got[f"{c}_ref"].to_numpy(), err_msg=c)
    np.testing.assert_allclose(got["quantile"], got["quantile_ref"], rtol=1e-12)
    assert np.all(np.abs(got["quantile"] - got["numpy"]) <= resolution * np.abs(got["numpy"]) * 1.5)
    assert np.all((got["quantile_lo"] <= got["quantile"]) & (got["quantile"] <= got["quantile_hi"]))
    # the statistics of one experiment are those the NumPy path computes from the raw values
    e1 = ev[(ev.experiment == "e1")].dropna(subset=["lcp", "arm"])
    arms = ["control", "b", "c"]
    direct = QuantileStats.from_values([e1.lcp[e1.arm == a] for a in arms], [e1.user[e1.arm == a] for a in arms],
                                       0.9, resolution=resolution)
    s = agg.stats(0.9, arms=arms, where={"experiment": "e1"})
    for f in ("n", "events", "below", "below_events", "quantile", "quantile_lo", "quantile_hi"):
        np.testing.assert_allclose(getattr(s, f), getattr(direct, f), rtol=1e-12, err_msg=f)
    assert compare_quantile(s, arms=arms).variants == ("b", "c") and agg.bins < len(ev)


def test_indicator_sums_fold_into_one_per_unit_query() -> None:
    """The route for a catalogue of metrics: thresholds as a CASE over experiment × arm, the indicator counts as
    two more per-unit columns of an unfiltered per-unit query, the moments as their Σ, Σ², Σ·N."""
    ev = _events().dropna(subset=["arm"])
    ev["event"] = np.where(np.arange(len(ev)) % 4 == 0, "click", "view")       # only views carry the metric
    con = ibis.duckdb.connect()
    con.con.register("events", ev)
    t = con.table("events")
    views = t.filter(t.event == "view")
    agg = quantile_sufficient_stats(views, value="lcp", unit="user", arm="arm", by=["experiment"], probs=[0.9])
    rows = agg.rows.set_index(["experiment", "arm"])
    q = ibis.cases(*(((t.experiment == e) & (t.arm == a), float(r["quantile"])) for (e, a), r in rows.iterrows()))
    u = t.group_by(["experiment", "arm", "user"]).aggregate(**unit_indicator_aggs(t.lcp, [q], where=t.event == "view"))
    u = u.filter(u.n > 0)
    per_arm = u.group_by(["experiment", "arm"]).aggregate(
        n=u.count(), events=u.n.sum(), events_sq=(u.n * u.n).sum(), below=u.below_0.sum(),
        below_sq=(u.below_0 * u.below_0).sum(), below_events=(u.below_0 * u.n).sum()).to_pandas()
    got = per_arm.set_index(["experiment", "arm"]).loc[rows.index]
    for c in ("n", "events", "events_sq", "below", "below_sq", "below_events"):
        np.testing.assert_array_equal(got[c].to_numpy(), rows[c].to_numpy(), err_msg=c)


def test_ibis_bad_input() -> None:
    t = ibis.memtable(pd.DataFrame({"user": [1, 2], "arm": ["a", "b"], "lcp": [1.0, 2.0], "name": ["x", "y"]}))
    with pytest.raises(ValueError, match="prob must be strictly between 0 and 1"):
        quantile_sufficient_stats(t, value="lcp", unit="user", arm="arm", probs=[0.5, 1.5])
    with pytest.raises(ValueError, match="no column 'dwell'"):
        quantile_sufficient_stats(t, value="dwell", unit="user", arm="arm", probs=[0.5])
    with pytest.raises(ValueError, match="must be numeric"):
        quantile_sufficient_stats(t, value="name", unit="user", arm="arm", probs=[0.5])
    with pytest.raises(ValueError, match="no finite values"):
        quantile_sufficient_stats(t.filter(t.lcp > 5), value="lcp", unit="user", arm="arm", probs=[0.5])
    agg = quantile_sufficient_stats(t, value="lcp", unit="user", arm="arm", probs=[0.5])
    with pytest.raises(ValueError, match="arm 'z' has no values"):
        agg.stats(0.5, arms=["a", "z"])
