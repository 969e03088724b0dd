"""analyze(): the result contract, health gating, multiplicity, CUPED, options, sequential, A/A."""

from __future__ import annotations

import gc
import json
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests as _multipletests
from statsmodels.stats import proportion as smp

from analysis_world import make_data
from workbench.analysis import AnalysisOptions, NonInferiority, SequentialOptions, analyze
from workbench.display import dumps
from workbench.errors import InputError
from workbench.experiment_data import ExperimentData
from workbench.metrics import CATALOG, Metric
from workbench.sources import read_aggregated
from workbench.stats.frequentist import compare, non_inferiority
from workbench.stats.sufficient import SufficientStats

CSV = ("variant,users,conversions,guardrail_error,revenue_sum,revenue_sum_sq\n"
       "control,10000,1200,35,52000.5,900000\ntreatment,10050,1320,33,56000,1000000\n")


def multipletests(p, method):
    with mock.patch.object(gc, "collect", lambda *a: 0):
        return _multipletests(p, method=method)


@pytest.fixture
def ab(tmp_path):
    f = tmp_path / "ab.csv"
    f.write_text(CSV)
    return read_aggregated(f)


def test_aggregated_csv_matches_references_and_json_contract(ab):
    r = analyze(ab)
    assert r.health.status == "healthy"
    primary = r.primary
    assert (primary.name, primary.kind, primary.role) == ("conversion_rate", "proportion", "primary")
    c = primary.comparisons[0]
    ref = smp.test_proportions_2indep(1320, 10050, 1200, 10000, method="wald")
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert c.lift_abs_ci == pytest.approx(smp.confint_proportions_2indep(1320, 10050, 1200, 10000, method="wald"), rel=1e-9)
    assert c.test == "z" and c.p_value_adjusted == c.p_value and 0.5 < c.prob_beat_control < 1
    guard = next(m for m in r.metrics if m.role == "guardrail")
    assert guard.higher_is_better is False and guard.comparisons[0].prob_beat_control > 0.5  # fewer errors
    rev = next(m for m in r.metrics if m.name == "revenue")
    assert rev.kind == "mean" and rev.comparisons[0].test == "welch"
    d = json.loads(dumps(r))
    assert d["health"]["status"] == "healthy" and isinstance(d["health"]["srm"]["p_value"], float)
    comp = d["metrics"][0]["comparisons"][0]
    for key in ("variant", "control", "control_value", "variant_value", "lift_abs", "lift_abs_ci", "lift_rel",
                "lift_rel_ci", "p_value", "p_value_adjusted", "test", "prob_beat_control", "expected_loss"):
        assert key in comp
    assert len(comp["lift_abs_ci"]) == 2 and comp["lift_abs"] == c.lift_abs   # full precision
    assert {m["role"] for m in d["metrics"]} == {"primary", "guardrail", "secondary"}


def test_blocked_health_computes_no_comparisons(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("variant,users,conversions\ncontrol,1000,120\ntreatment,900,950\n")
    r = analyze(read_aggregated(f))
    assert r.health.status == "blocked"
    assert all(m.comparisons == () for m in r.metrics)
    assert "not analysed: health is blocked" in r.metrics[0].notes[0]
    assert any("no comparisons were computed" in n for n in r.notes)
    severe = make_data(n_per_arm=[4000, 4800], metric_names=("cvr",), dims=())
    assert analyze(severe).health.status == "blocked" and analyze(severe).metrics[0].comparisons == ()


def test_multi_arm_holm_and_bh_match_statsmodels():
    d = make_data(("control", "b", "c", "d"), 3000, metric_names=("cvr", "revenue_per_user"), dims=(),
                  cvr={"b": 0.115, "c": 0.1, "d": 0.125}, seed=3)
    r = analyze(d, cuped=False)
    for m in r.metrics:
        p = [c.p_value for c in m.comparisons]
        np.testing.assert_allclose([c.p_value_adjusted for c in m.comparisons], multipletests(p, "holm")[1])
        assert m.correction == f"Holm correction across 3 variants vs control on {m.name}"
    bh = analyze(d, cuped=False, correction="bh").primary
    np.testing.assert_allclose([c.p_value_adjusted for c in bh.comparisons],
                               multipletests([c.p_value for c in bh.comparisons], "fdr_bh")[1])
    assert bh.correction.startswith("Benjamini–Hochberg")
    # P(best) over all arms sums to one and agrees with the pairwise chance when there are two arms
    for m in r.metrics:
        assert set(m.prob_best) == set(d.variants) and sum(m.prob_best.values()) == pytest.approx(1.0)
    two = analyze(make_data(n_per_arm=3000, metric_names=("cvr", "revenue_per_user"), dims=(), seed=4), cuped=False)
    for m in two.metrics:
        assert m.prob_best["treatment"] == pytest.approx(m.comparisons[0].prob_beat_control, abs=1e-6)
    # every comparison matches the stand-alone core on the same stats
    stats = d.stats("cvr", use_covariate=False)
    ref = compare(stats, kind="proportion", arms=d.variants)
    assert [c.p_value for c in r.primary.comparisons] == pytest.approx(list(ref.p_value), rel=1e-12)


def test_cuped_applied_reported_and_optional():
    d = make_data(n_per_arm=6000, metric_names=("cvr", "ctr", "revenue_per_user", "lcp"), dims=(), seed=5)
    r = analyze(d)
    tests = {m.name: m.comparisons[0].test for m in r.metrics}
    assert tests == {"cvr": "cuped-z", "ctr": "cuped-delta", "revenue_per_user": "cuped-welch", "lcp": "delta"}
    for m in r.metrics[:3]:
        assert m.variance_reduction is not None and m.variance_reduction > 0
        cup = m.comparisons[0].extra["cuped"]
        assert cup["applied"] and cup["covariate"] == CATALOG[m.name].covariate and cup["theta"] != 0
        assert any(n.startswith("CUPED on") for n in m.notes)
    plain = analyze(d, cuped=False)
    assert {m.comparisons[0].test for m in plain.metrics} == {"z", "delta", "welch"}
    # the CUPED interval is narrower than the plain one by about the reported reduction
    cu, pl = r.metrics[2].comparisons[0], plain.metrics[2].comparisons[0]
    ratio = (cu.lift_abs_ci[1] - cu.lift_abs_ci[0]) ** 2 / (pl.lift_abs_ci[1] - pl.lift_abs_ci[0]) ** 2
    assert ratio == pytest.approx(1 - r.metrics[2].variance_reduction, abs=0.01)


def test_non_inferiority_and_one_sided_options():
    d = make_data(n_per_arm=8000, metric_names=("cvr",), dims=(), seed=6)
    r = analyze(d, cuped=False, non_inferiority={"cvr": NonInferiority(0.05)})
    c = r.primary.comparisons[0]
    ref = compare(d.stats("cvr", use_covariate=False), kind="proportion", **non_inferiority(0.05))
    assert c.p_value == pytest.approx(ref.p_value[0], rel=1e-12)
    assert c.extra["alternative"] == "greater" and c.extra["hypothesis"] == "H0: relative lift <= -0.05"
    assert c.lift_abs_ci[1] == float("inf")
    assert any(n.startswith("non-inferiority test") for n in r.primary.notes)
    one = analyze(d, cuped=False, alternatives={"cvr": "less"}).primary.comparisons[0]
    assert one.extra["alternative"] == "less" and one.lift_abs_ci[0] == float("-inf")


def test_sequential_confidence_sequence_over_days():
    d = make_data(n_per_arm=5000, metric_names=("cvr",), dims=("day",), days=10, seed=7)
    r = analyze(d, cuped=False, sequential=SequentialOptions(planned_n_per_arm=5000))
    seq = r.sequential["cvr"][0]
    assert len(seq.looks) == 10 and seq.n[-1] == 10000
    c = r.primary.comparisons[0]
    assert c.extra["sequential"]["cs"] == [seq.cs_lo[-1], seq.cs_hi[-1]]
    assert c.extra["sequential"]["cs"][0] <= c.lift_abs_ci[0] and c.extra["sequential"]["cs"][1] >= c.lift_abs_ci[1]
    assert seq.naive_p[-1] == pytest.approx(c.p_value)
    single = analyze(make_data(n_per_arm=2000, metric_names=("cvr",), dims=()), cuped=False,
                     sequential=SequentialOptions(2000))
    assert single.sequential["cvr"][0].looks == ("final",)


def test_aa_experiment_flags_a_significant_primary():
    quiet = make_data(n_per_arm=5000, metric_names=("cvr",), dims=(), meta={"kind": "aa"}, seed=8)
    assert analyze(quiet, cuped=False).health.status == "healthy"
    loud = make_data(n_per_arm=20000, metric_names=("cvr",), dims=(), meta={"kind": "aa"},
                     cvr={"treatment": 0.115}, seed=8)
    r = analyze(loud, cuped=False)
    assert r.health.status == "warning" and r.health.issues[-1].code == "aa_significant"
    assert r.primary.comparisons                     # a warning does not stop the analysis


def test_roles_options_and_bad_options():
    d = make_data(n_per_arm=2000, metric_names=("cvr", "ctr", "error_rate"), dims=(), seed=9)
    r = analyze(d, primary="ctr", guardrails=("cvr",), metrics=("ctr", "cvr"))
    assert [(m.name, m.role) for m in r.metrics] == [("cvr", "guardrail"), ("ctr", "primary")]
    with pytest.raises(InputError, match="unknown metric 'nope'; this experiment has: cvr, ctr, error_rate"):
        analyze(d, primary="nope")
    with pytest.raises(InputError, match="correction must be one of"):
        analyze(d, correction="bonferroni")
    with pytest.raises(InputError, match="alpha must be strictly between 0 and 1"):
        analyze(d, alpha=1.5)
    opts = AnalysisOptions.from_mapping({"alpha": 0.1, "srm": {"warning_p": 0.01}, "correction": "bh",
                                         "non_inferiority": {"cvr": {"margin": 0.02}, "ctr": 0.01},
                                         "sequential": {"planned_n_per_arm": 1000}, "prior": [2, 20]})
    assert opts.alpha == 0.1 and opts.srm_warning_p == 0.01 and opts.non_inferiority["ctr"] == NonInferiority(0.01)
    with pytest.raises(InputError) as info:
        AnalysisOptions.from_mapping({"alpah": 0.1, "correction": "x", "cuped": "yes"}, source="brief.yaml")
    msgs = [str(p) for p in info.value.problems]
    assert len(msgs) == 3 and msgs[0].startswith("brief.yaml: column alpah") and "unknown option 'alpah'" in msgs[0]


def test_zero_weight_arm_without_units_is_skipped():
    cube = pd.DataFrame({"variant": ["control", "off", "b"], "n": [5000, 0, 5000],
                         "purchased__sum": [500, 0, 540], "purchased__sum_sq": [500, 0, 540]})
    d = ExperimentData("z", ("control", "off", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),),
                       expected_weights={"control": 0.5, "off": 0.0, "b": 0.5})
    r = analyze(d)
    assert r.health.status == "healthy"
    assert [c.variant for c in r.primary.comparisons] == ["b"] and "not compared (no units): off" in r.primary.notes
    assert r.primary.correction == "none (one comparison)"


def test_invalid_metric_sums_give_a_note_not_a_crash():
    cube = pd.DataFrame({"variant": ["control", "b"], "n": [100, 100], "purchased__sum": [10, 12],
                         "purchased__sum_sq": [10, 12], "revenue__sum": [500.0, 520.0], "revenue__sum_sq": [100.0, 9000.0]})
    d = ExperimentData("x", ("control", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),
                                                              Metric("rev", "mean", "revenue")))
    r = analyze(d)
    rev = r.metrics[1]
    assert rev.comparisons == () and "negative variance" in rev.notes[0] and "control" in rev.notes[0]
    assert r.primary.comparisons


def test_same_input_same_bytes():
    d = make_data(n_per_arm=3000, metric_names=("cvr", "revenue_per_user"), dims=("device",), seed=10)
    assert dumps(analyze(d, segments=("device",))) == dumps(analyze(d, segments=("device",)))
