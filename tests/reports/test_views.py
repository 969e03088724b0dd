"""Report frames agree with the analysis they present and with independent references (scipy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.analysis import analyze
from workbench.experiment_data import ExperimentData
from workbench.metrics import Metric
from workbench.reports import views


@pytest.fixture(scope="module")
def outcomes(report_world):
    from workbench.pipeline import evaluate
    return evaluate(db=report_world)


def test_srm_history_ends_at_the_health_checks_srm(outcomes):
    for eid in ("pdp-shoes-hero", "pdp-beauty-srm"):
        o = outcomes[eid]
        srm = o.result.health.srm
        h = views.srm_history(o.data, dict(zip(srm.variants, srm.weights)))
        assert h["p_value"].iloc[-1] == pytest.approx(srm.p_value, rel=1e-9)
        assert h["units"].is_monotonic_increasing and h["units"].iloc[-1] == sum(srm.observed)
        # an independent reference for one intermediate day
        mid = len(h) // 2
        obs = [h[f"share_{v}"].iloc[mid] * h["units"].iloc[mid] for v in o.data.variants]
        assert h["p_value"].iloc[mid] == pytest.approx(stats.chisquare(obs).pvalue, rel=1e-6)
    assert outcomes["pdp-beauty-srm"].result.health.srm.p_value < 1e-5


def test_cumulative_cohort_lift_ends_at_the_uncorrected_analysis(outcomes):
    o = outcomes["pdp-shoes-hero"]
    raw = analyze(o.data, cuped=False, bayes=False).primary.comparisons[0]
    c = views.cohort_lifts(o.data, cumulative=True)
    assert c["lift_rel"].iloc[-1] == pytest.approx(raw.lift_rel) and c["lo"].iloc[-1] == pytest.approx(raw.lift_rel_ci[0])
    daily = views.cohort_lifts(o.data)
    assert daily["n"].sum() == pytest.approx(float(o.data.units().sum()))


def test_funnel_rates_from_the_cube(outcomes):
    o = outcomes["pdp-shoes-hero"]
    f = views.funnel_rates(o.data)
    raw = o.data.funnel()
    got = f[(f.variant == "treatment") & (f.step == "purchased")].iloc[0]
    assert got["share_of_exposed"] == pytest.approx(raw.loc["treatment", "units_purchased"] / raw.loc["treatment", "units"])
    assert (f[f.step == "exposed"]["share_of_exposed"] == 1).all()


def test_guardrail_verdicts_come_from_the_decision_facts(outcomes):
    o = outcomes["pdp-shoes-hero"]
    g = views.guardrail_frame(o.result, {"breached_list": "lcp (treatment) 3.9 s > limit 3.5 s",
                                         "worsened_list": "error_rate (treatment) +0.2 pp"})
    verdict = dict(zip(g["metric"], g["verdict"]))
    assert verdict == {"lcp": "limit crossed", "error_rate": "worse"}
    assert set(views.guardrail_frame(o.result, o.decision.facts)["verdict"]) == {"ok"}


def test_cuped_frame_compares_interval_widths(outcomes):
    o = outcomes["pdp-shoes-hero"]
    raw = analyze(o.data, cuped=False, bayes=False)
    f = views.cuped_frame(o.result, raw)
    row = f[f.metric == "revenue_per_user"].iloc[0]
    assert row["applied"] and 0 <= row["variance_reduction"] < 1
    # a variance reduction r narrows the interval by about 1 - sqrt(1 - r)
    assert row["ci_narrower_by"] == pytest.approx(1 - np.sqrt(1 - row["variance_reduction"]), abs=0.02)


def test_sku_frame_pools_categories():
    cube = pd.DataFrame({"variant": ["c", "t"] * 3, "product_id": ["a", "a", "b", "b", "z", "z"],
                         "n": [100, 100, 50, 50, 10, 10], "purchased__sum": [10, 20, 5, 5, 1, 0],
                         "purchased__sum_sq": [10, 20, 5, 5, 1, 0]})
    d = ExperimentData("e", ("c", "t"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),),
                       dims=("product_id",))
    cat = pd.DataFrame({"product_id": ["a", "b", "z"], "category": ["x", "x", "y"]})
    f = views.sku_frame(d, cat).set_index("product_id")
    assert f.loc["a", "lift_abs"] == pytest.approx(0.1)
    assert f.loc["b", "category_control_value"] == pytest.approx(15 / 150)
    assert f.loc["b", "category_variant_value"] == pytest.approx(25 / 150)
    assert f.loc["z", "category"] == "y"


def test_allocation_frame_shares_add_up():
    cube = pd.DataFrame({"variant": ["a", "b", "a", "b"], "day": ["2026-01-01", "2026-01-01", "2026-01-02", "2026-01-02"],
                         "n": [30, 70, 50, 50]})
    d = ExperimentData("e", ("a", "b"), cube, dims=("day",))
    planned = pd.DataFrame({"day": ["2026-01-01", "2026-01-01"], "variant": ["a", "b"], "weight": [0.3, 0.7]})
    f = views.allocation_frame(d, planned)
    assert f.groupby("day")["realised_share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert f["planned_weight"].notna().sum() == 2


def test_the_reports_second_passes_match_full_analyses(outcomes):
    """The CUPED comparison and the sequential view skip what they do not read (SECOND_PASS, primary metric
    only): their intervals and confidence sequences are exactly those of the full analyses."""
    from workbench.analysis import SequentialOptions
    from workbench.lifecycle.inputs import analysis_options
    from workbench.reports.report import SECOND_PASS

    o = outcomes["pdp-shoes-hero"]
    opts = analysis_options(o.brief, o.data)
    primary = o.result.primary.name
    seq = SequentialOptions(2000.0)
    full = analyze(o.data, **{**opts, "bayes": False, "sequential": seq}).sequential[primary]
    fast = analyze(o.data, **{**opts, **SECOND_PASS, "metrics": (primary,), "sequential": seq}).sequential[primary]
    assert len(fast) >= 1 and len(fast[0].looks) > 1 and fast == full
    raw_full = analyze(o.data, **{**opts, "cuped": False, "bayes": False})
    raw_fast = analyze(o.data, **{**opts, **SECOND_PASS, "cuped": False})
    cis = [[(c.variant, c.lift_abs_ci) for c in m.comparisons] for m in raw_fast.metrics]
    assert cis == [[(c.variant, c.lift_abs_ci) for c in m.comparisons] for m in raw_full.metrics]
    assert sum(len(c) for c in cis) >= 3
    # read as an A/A test, the full analysis adds the A/A verdict (which the second passes skip), and the same intervals
    as_aa = analyze(o.data, **{**opts, "cuped": False, "bayes": False, "aa": True})
    assert as_aa.aa is not None and raw_fast.aa is None
    assert cis == [[(c.variant, c.lift_abs_ci) for c in m.comparisons] for m in as_aa.metrics]
