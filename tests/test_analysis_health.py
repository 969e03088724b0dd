"""Trust checks: every reason listed, the badge is the worst level, thresholds are configurable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from workbench.config import Settings
from workbench.errors import InputError, Problem
from workbench.experiment_data import ExperimentData, TrustFacts
from workbench.health import aa_uniformity, check_health, daily_aa_p_values, simulate_aa_p_values, usable
from workbench.metrics import Metric

CVR = Metric("cvr", "proportion", "purchased", role="primary")


def data(n, conv=None, variants=None, **kw) -> ExperimentData:
    variants = variants or tuple(["control", "b", "c", "d"][: len(n)])
    conv = conv or [int(x * 0.1) for x in n]
    cube = pd.DataFrame({"variant": list(variants), "n": n, "purchased__sum": conv, "purchased__sum_sq": conv})
    return ExperimentData("e", tuple(variants), cube, metrics=(CVR,), source="ab.csv", **kw)


def codes(h):
    return [(p.level, p.code) for p in h.issues]


def test_healthy():
    h = check_health(data([10000, 10040]))
    assert h.status == "healthy" and h.issues == () and h.srm.p_value == pytest.approx(
        sps.chisquare([10000, 10040]).pvalue)


def test_srm_warning_and_blocked_thresholds_and_overrides():
    warn = check_health(data([10000, 10500]))
    assert warn.status == "warning" and codes(warn) == [("warning", "srm")]
    assert "sample ratio mismatch" in warn.issues[0].message and "48.8% / 51.2% of units observed vs 50.0% / 50.0%" in warn.issues[0].message
    blocked = check_health(data([10000, 11000]))
    assert blocked.status == "blocked" and codes(blocked) == [("blocked", "srm_severe")]
    assert usable(blocked)                     # a severe SRM is a finding, not unusable input
    # the product-page preset warns at p < 0.01: overridable by argument, by the brief (meta) and by settings
    mild = data([10000, 10400])
    assert check_health(mild).status == "healthy"
    assert check_health(mild, srm_warning_p=0.01).status == "warning"
    assert check_health(data([10000, 10400], meta={"srm": {"warning_p": 0.01}})).status == "warning"
    s = Settings().with_overrides({"srm": {"warning_p": 0.01}})
    assert check_health(mild, settings=s).status == "warning"


def test_expected_weights_from_data_meta_and_argument():
    d = data([6000, 4000], expected_weights={"control": 0.6, "b": 0.4})
    assert check_health(d).status == "healthy"
    assert check_health(data([6000, 4000], meta={"expected_weights": {"control": 60, "b": 40}})).status == "healthy"
    assert check_health(data([6000, 4000])).status == "blocked"
    assert check_health(data([6000, 4000]), expected_weights={"control": 0.6, "b": 0.4}).status == "healthy"


def test_labels_missing_unknown_duplicate_and_empty_arms():
    h = check_health(data([5000, 5000], expected_weights={"control": 0.5, "treatment": 0.5}))
    assert ("blocked", "unknown_variant") in codes(h) and ("blocked", "missing_variant") in codes(h)
    assert not usable(h)
    assert any("'b' is not in the planned allocation" in p.message for p in h.issues)
    dup = check_health(data([5000, 5000, 5000], variants=("control", "b", "b")))
    assert ("blocked", "duplicate_variant") in codes(dup)
    single = check_health(data([5000]))
    assert codes(single) == [("blocked", "single_arm")]
    empty = check_health(data([5000, 0, 5000], expected_weights={"control": 1, "b": 0, "c": 1}))
    assert empty.status == "healthy" and ("info", "empty_arm") in codes(empty)
    assert empty.srm.p_value == pytest.approx(1.0)
    starved = check_health(data([5000, 0, 5000]))
    assert ("blocked", "empty_arm") in codes(starved)


def test_reader_problems_are_blocked_and_kept_in_order():
    p = Problem("blocked", "negative", "users must not be negative", file="ab.csv", column="users", row=2, value=-5)
    h = check_health(data([5000, 5000], problems=(p,)))
    assert h.status == "blocked" and h.issues[0] == p and not usable(h)


def test_small_samples_warn():
    h = check_health(data([80, 90]))
    assert h.status == "warning" and codes(h).count(("warning", "small_sample")) == 2
    assert check_health(data([80, 90]), small_sample_units=50).status == "healthy"


def test_trust_facts_become_issues():
    t = TrustFacts(units_total=12000, bot_units=3000, bot_reasons={"headless_ua": 2000, "ip_burst": 1000},
                   sticky_violators=40, unknown_variants={"treatmnt": 12})
    h = check_health(data([4500, 4500], trust=t))
    assert ("warning", "bots_excluded") in codes(h)          # 25 % > 20 %
    assert ("warning", "sticky_violation") in codes(h) and ("warning", "unknown_variant") in codes(h)
    assert h.bot_exclusion_rate == pytest.approx(0.25) and h.sticky_violators == 40
    assert "headless_ua: 2,000" in next(p.message for p in h.issues if p.code == "bots_excluded")
    calm = check_health(data([4500, 4500], trust=TrustFacts(units_total=9100, bot_units=100)))
    assert calm.status == "healthy" and codes(calm) == [("info", "bots_excluded")]


def test_bandit_skips_srm():
    h = check_health(data([9000, 1000], meta={"kind": "bandit"}))
    assert h.status == "healthy" and h.srm is None and ("info", "srm_not_applicable") in codes(h)


def test_aa_uniformity_on_simulated_and_broken_pipelines():
    good = aa_uniformity(simulate_aa_p_values(0.1, 5000, sims=2000, seed=3))
    assert good.status == "healthy" and 0.04 <= good.false_positive_rate <= 0.06
    # a pipeline that ignores the variance of the control (too-narrow intervals) is caught
    rng = np.random.default_rng(4)
    c = rng.binomial(5000, 0.1, 2000) / 5000
    t = rng.binomial(5000, 0.1, 2000) / 5000
    broken = 2 * sps.norm.sf(np.abs(t - c) / np.sqrt(t * (1 - t) / 5000))
    bad = aa_uniformity(broken)
    assert bad.status == "warning" and bad.false_positive_rate > 0.1
    with pytest.raises(InputError, match="at least 10"):
        aa_uniformity([0.5] * 3)
    assert simulate_aa_p_values(0.1, 1000, sims=50, seed=1).tobytes() == simulate_aa_p_values(
        0.1, 1000, sims=50, seed=1).tobytes()


def test_daily_aa_p_values():
    rng = np.random.default_rng(5)
    rows = []
    for day in range(1, 31):
        for v in ("control", "b"):
            conv = int(rng.binomial(2000, 0.1))
            rows.append({"variant": v, "day": day, "n": 2000, "purchased__sum": conv, "purchased__sum_sq": conv})
    d = ExperimentData("aa", ("control", "b"), pd.DataFrame(rows), metrics=(CVR,), dims=("day",), meta={"kind": "aa"})
    p = daily_aa_p_values(d)
    assert p.shape == (30,) and np.all((p >= 0) & (p <= 1))
    assert aa_uniformity(p).status == "healthy"
    with pytest.raises(InputError, match="no 'week' column"):
        daily_aa_p_values(d, dim="week")
