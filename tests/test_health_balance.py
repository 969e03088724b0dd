"""SRM within segments (Holm-corrected) and pre-period balance in the health badge, against scipy/statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats import multivariate as smv

from workbench.adjust_tables import balance_rows, segment_srm_rows, segment_srm_summary
from workbench.display import fmt_signed
from workbench.experiment_data import ExperimentData
from workbench.health import check_health
from workbench.metrics import Metric

CVR = Metric("cvr", "proportion", "purchased", role="primary")


def _segment_cube() -> pd.DataFrame:
    # app is tilted towards b, web towards control: the totals are balanced, the segments are not
    units = {("app", "control"): 2000, ("app", "b"): 2300, ("web", "control"): 2300, ("web", "b"): 2000,
             ("tv", "control"): 3, ("tv", "b"): 1}
    rows = [{"device": d, "variant": v, "n": float(n), "purchased__sum": n // 10, "purchased__sum_sq": n // 10}
            for (d, v), n in units.items()]
    return pd.DataFrame(rows)


def test_segment_srm_is_holm_corrected_and_warns_where_the_total_is_fine() -> None:
    d = ExperimentData("e", ("control", "b"), _segment_cube(), metrics=(CVR,), dims=("device",))
    h = check_health(d)
    assert h.srm is not None and h.srm.status == "healthy"
    tests = {t.level: t for t in h.segment_srm.tests}
    assert set(tests) == {"app", "web"} and h.segment_srm.untested == ("device = tv",)   # expected < 5 units
    raw = [sps.chisquare([2000, 2300]).pvalue, sps.chisquare([2300, 2000]).pvalue]
    np.testing.assert_allclose([tests["app"].p_value, tests["web"].p_value], raw, rtol=1e-10)
    np.testing.assert_allclose([tests["app"].p_value_adjusted, tests["web"].p_value_adjusted],
                               multipletests(raw, method="holm")[1], rtol=1e-10)
    seg = [p for p in h.issues if p.code == "segment_srm"]
    assert h.status == "warning" and len(seg) == 2
    assert "within device = app" in seg[0].message and "Holm-adjusted p < 0.001" in seg[0].message
    assert segment_srm_rows(h)[0]["units"] == "2,000 / 2,300"
    assert "2 below 0.001" in segment_srm_summary(h)


def test_no_segment_warning_when_segments_match_the_plan() -> None:
    cube = _segment_cube()
    cube.loc[cube.variant == "b", "n"] = cube.loc[cube.variant == "control", "n"].to_numpy()
    h = check_health(ExperimentData("e", ("control", "b"), cube, metrics=(CVR,), dims=("device",)))
    assert "segment_srm" not in {p.code for p in h.issues} and h.segment_srm.status == "healthy"


def _balance_data(shift: float, seed: int = 3) -> tuple[ExperimentData, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    xs = [rng.gamma(2, 1, (800, 2)), rng.gamma(2, 1, (800, 2)) + [shift, 0.0]]
    rows = []
    for v, x in zip(("control", "b"), xs):
        rows.append({"variant": v, "n": float(len(x)), "purchased__sum": 80.0, "purchased__sum_sq": 80.0,
                     "pre_a__sum": x[:, 0].sum(), "pre_a__sum_sq": (x[:, 0] ** 2).sum(),
                     "pre_b__sum": x[:, 1].sum(), "pre_b__sum_sq": (x[:, 1] ** 2).sum(),
                     "pre_a__x__pre_b": (x[:, 0] * x[:, 1]).sum()})
    return ExperimentData("e", ("control", "b"), pd.DataFrame(rows), metrics=(CVR,)), xs


def test_pre_period_imbalance_warns_with_its_numbers() -> None:
    d, xs = _balance_data(0.6)
    h = check_health(d)
    b = h.balance
    np.testing.assert_allclose(b.variants[0].p_value, smv.test_mvmean_2indep(xs[1], xs[0]).pvalue, rtol=1e-8)
    issue = next(p for p in h.issues if p.code == "imbalance")
    assert h.status == "warning" and issue.column == "pre_a"
    sd = (xs[1][:, 0].mean() - xs[0][:, 0].mean()) / np.sqrt((xs[1][:, 0].var(ddof=1) + xs[0][:, 0].var(ddof=1)) / 2)
    assert f"standardised difference {fmt_signed(sd, 3)} on pre_a" in issue.message and "before the experiment" in issue.message
    assert [r["covariate"] for r in balance_rows(h)] == ["pre_a", "pre_b"]


def test_balanced_covariates_are_noted_not_flagged() -> None:
    d, _ = _balance_data(0.0)
    h = check_health(d)
    assert h.status == "healthy" and h.balance.status == "healthy"
    note = next(p for p in h.issues if p.code == "balance")
    assert note.level == "info" and "show no imbalance" in note.message


def test_bandits_get_neither_check() -> None:
    d, _ = _balance_data(0.6)
    from dataclasses import replace
    h = check_health(replace(d, meta={"kind": "bandit"}))
    assert h.balance is None and h.segment_srm is None and "imbalance" not in {p.code for p in h.issues}
