"""ROI projection: against scipy's t quantiles, Goodman's exact variance by simulation, coverage, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from workbench.errors import InputError
from workbench.reports.roi import daily_traffic, roi_core, roi_for_result, roi_projection


def test_known_traffic_gives_traffic_times_the_lift_interval():
    # no traffic uncertainty: the interval is T times the comparison's Welch interval (scipy's t quantile)
    p = roi_projection(0.8, 0.3, daily_units=2500.0, daily_units_se=0.0, horizon_days=30, df=412.0)
    q = stats.t.ppf(0.975, 412.0)
    assert p.per_day == pytest.approx(2000.0)
    assert p.per_day_ci == pytest.approx((2500 * (0.8 - q * 0.3), 2500 * (0.8 + q * 0.3)), rel=1e-12)
    assert p.horizon_total == pytest.approx(60000.0) and p.horizon_ci == pytest.approx(
        (30 * p.per_day_ci[0], 30 * p.per_day_ci[1]))
    assert p.prob_positive == pytest.approx(stats.norm.cdf(0.8 / 0.3), rel=1e-9)


def test_variance_of_the_product_matches_simulation():
    rng = np.random.default_rng(20261121)
    d, sd, t, stt = 0.5, 0.2, 1000.0, 150.0
    draws = rng.normal(d, sd, 400_000) * rng.normal(t, stt, 400_000)
    _, se, _, _ = roi_core(d, sd, t, stt)
    assert float(se) ** 2 == pytest.approx(draws.var(), rel=0.02)
    assert (t * t * sd * sd + d * d * stt * stt + sd * sd * stt * stt) == pytest.approx(float(se) ** 2)


def test_interval_covers_the_true_revenue_about_95_percent_of_the_time():
    # simulate many experiments with known truth: estimated Δ and daily traffic, each with its own se
    rng = np.random.default_rng(7)
    sims, true_d, true_t, sd, stt = 20_000, 0.6, 3000.0, 0.15, 120.0
    d_hat = rng.normal(true_d, sd, sims)
    t_hat = rng.normal(true_t, stt, sims)
    _, _, lo, hi = roi_core(d_hat, sd, t_hat, stt)
    coverage = np.mean((lo <= true_d * true_t) & (true_d * true_t <= hi))
    assert abs(coverage - 0.95) < 0.01


def test_cost_gives_net_return_and_roi():
    p = roi_projection(1.0, 0.1, daily_units=100.0, horizon_days=10, cost=500.0)
    assert p.net == pytest.approx(500.0) and p.roi == pytest.approx(1.0)
    assert p.net_ci[0] == pytest.approx(p.horizon_ci[0] - 500) and p.roi_ci[1] == pytest.approx((p.horizon_ci[1] - 500) / 500)


def test_path_is_cumulative():
    p = roi_projection(0.2, 0.05, daily_units=1000.0, horizon_days=5)
    path = p.path()
    assert path["day"].tolist() == [0, 1, 2, 3, 4, 5]
    assert path["cumulative"].iloc[-1] == pytest.approx(p.horizon_total)
    assert path["lo"].iloc[-1] == pytest.approx(p.horizon_ci[0])


def test_bad_input_names_the_parameter():
    with pytest.raises(InputError) as e:
        roi_projection(float("nan"), -1.0, daily_units=-5.0, horizon_days=0, level=1.5, cost=-3.0)
    cols = {p.column for p in e.value.problems}
    assert cols == {"delta", "se_delta", "daily_units", "horizon_days", "level", "cost"}


def test_daily_traffic_against_numpy():
    x = [120, 80, 100, 140, 95]
    mean, se, days = daily_traffic(x)
    assert (mean, days) == (107.0, 5) and se == pytest.approx(np.std(x, ddof=1) / math.sqrt(5))
    assert daily_traffic([]) == (0.0, 0.0, 0)


@settings(max_examples=60, deadline=None)
@given(d=st.floats(-10, 10), sd=st.floats(0, 5), t=st.floats(0, 1e5), stt=st.floats(0, 1e4),
       h=st.integers(1, 365))
def test_invariants(d, sd, t, stt, h):
    p = roi_projection(d, sd, daily_units=t, daily_units_se=stt, horizon_days=h)
    lo, hi = p.per_day_ci
    assert lo <= p.per_day <= hi
    assert hi - p.per_day == pytest.approx(p.per_day - lo, abs=1e-6 * max(1.0, abs(hi)))
    assert p.horizon_total == pytest.approx(h * p.per_day)
    wider = roi_projection(d, sd * 2 + 0.1, daily_units=t, daily_units_se=stt, horizon_days=h)
    assert wider.per_day_se >= p.per_day_se


def test_roi_for_result_reads_the_revenue_comparison_and_full_days(report_world):
    from workbench.pipeline import evaluate
    o = evaluate(["pdp-shoes-hero"], db=report_world)["pdp-shoes-hero"]
    (p,) = roi_for_result(o.result, o.data, horizon_days=30)
    c = next(m for m in o.result.metrics if m.name == "revenue_per_user").comparisons[0]
    assert p.delta_per_unit == c.lift_abs and p.delta_se == c.extra["se"]
    per_day = o.data.cube.groupby("day")["n"].sum().sort_index().to_numpy()[1:-1]
    assert p.daily_units == pytest.approx(per_day.mean()) and p.days_observed == len(per_day)
    # with the traffic taken as known, the interval is the report's revenue CI times the traffic
    known = roi_projection(p.delta_per_unit, p.delta_se, daily_units=p.daily_units, df=p.delta_df)
    assert known.per_day_ci == pytest.approx((c.lift_abs_ci[0] * p.daily_units, c.lift_abs_ci[1] * p.daily_units))
    blocked = evaluate(["pdp-beauty-srm"], db=report_world)["pdp-beauty-srm"]
    assert roi_for_result(blocked.result, blocked.data) == []
