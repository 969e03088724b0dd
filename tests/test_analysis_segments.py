"""Segment breakdowns: per-segment results, Cochran's Q, correction across segments, Simpson's paradox."""

from __future__ import annotations

import gc
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests as _multipletests

from analysis_world import make_data
from workbench.analysis import analyze, analyze_segments
from workbench.errors import InputError
from workbench.experiment_data import ExperimentData
from workbench.metrics import Metric
from workbench.stats.compare import compare_arrays


def multipletests(p, method):
    with mock.patch.object(gc, "collect", lambda *a: 0):
        return _multipletests(p, method=method)


def test_per_segment_results_heterogeneity_and_correction():
    d = make_data(("control", "b", "c"), 6000, metric_names=("cvr", "revenue_per_user"), dims=("device",), seed=1,
                  device_effect={"b": {"app": 1.35, "web": 0.85}, "c": {"app": 1.0, "web": 1.0}})
    seg = analyze_segments(d, "device", cuped=False)
    assert seg.dim == "device" and "Exploratory" in seg.note
    cvr = seg.metrics[0]
    assert cvr.levels == ("app", "web") and len(cvr.rows) == 4
    m = d.metric("cvr")
    for row in cvr.rows:
        ref = compare_arrays("proportion", d.stats(m, where={"device": row.segment}, use_covariate=False), bayes=False)
        j = d.variants.index(row.variant) - 1
        assert row.p_value == pytest.approx(float(ref["p_value"][j]), rel=1e-12)
        assert row.lift_abs == pytest.approx(float(ref["lift_abs"][j]), rel=1e-12)
    flat = [r.p_value for r in cvr.rows]
    np.testing.assert_allclose([r.p_value_adjusted for r in cvr.rows], multipletests(flat, "holm")[1], rtol=1e-12)
    assert cvr.correction == "Holm correction across 2 device segments × 2 variant(s) on cvr (4 tests)"
    # Cochran's Q matches statsmodels' meta-analysis for every variant
    for v in ("b", "c"):
        rows = [r for r in cvr.rows if r.variant == v]
        lifts = np.array([r.lift_abs for r in rows])
        se = np.array([(r.lift_abs_ci[1] - r.lift_abs_ci[0]) / (2 * 1.959963984540054) for r in rows])
        ref = combine_effects(lifts, se ** 2)
        assert cvr.heterogeneity[v]["q"] == pytest.approx(ref.q, rel=1e-9)
        assert cvr.heterogeneity[v]["i2"] == pytest.approx(ref.i2, rel=1e-9)
    assert cvr.heterogeneity["b"]["p_value"] < 0.05 < cvr.heterogeneity["c"]["p_value"]
    assert any("differs across device segments" in n for n in cvr.notes)
    assert not any(cvr.simpson.values())
    bh = analyze_segments(d, "device", cuped=False, correction="bh").metrics[0]
    np.testing.assert_allclose([r.p_value_adjusted for r in bh.rows], multipletests(flat, "fdr_bh")[1], rtol=1e-12)
    assert set(seg.to_frame()["device"]) == {"app", "web"}


def test_simpsons_paradox_is_flagged():
    # the treatment wins in both segments but gets most of its units from the low-converting one
    cube = pd.DataFrame({"variant": ["control", "control", "b", "b"], "segment": ["loyal", "new", "loyal", "new"],
                         "n": [8000, 2000, 2000, 8000], "purchased__sum": [2400, 100, 640, 480]})
    cube["purchased__sum_sq"] = cube["purchased__sum"]
    d = ExperimentData("s", ("control", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),),
                       dims=("segment",))
    r = analyze(d, segments=("segment",))
    assert r.primary.comparisons[0].lift_abs < 0
    seg = r.segments[0].metrics[0]
    assert all(row.lift_abs > 0 for row in seg.rows) and seg.simpson == {"b": True}
    assert any(n.startswith("Simpson's paradox") for n in seg.notes) and r.segments[0].warnings()


def test_segments_with_an_empty_arm_and_bad_dimension():
    cube = pd.DataFrame({"variant": ["control", "control", "b", "b"], "segment": ["x", "y", "x", "y"],
                         "n": [3000, 500, 3000, 0], "purchased__sum": [300, 50, 330, 0]})
    cube["purchased__sum_sq"] = cube["purchased__sum"]
    d = ExperimentData("s", ("control", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),),
                       dims=("segment",))
    seg = analyze_segments(d, "segment").metrics[0]
    y = next(r for r in seg.rows if r.segment == "y")
    assert np.isnan(y.p_value) and np.isnan(y.p_value_adjusted)
    assert any("with an arm that has no units (not compared): y" in n for n in seg.notes)
    with pytest.raises(InputError, match="the data has no column 'country'"):
        analyze_segments(d, "country")
