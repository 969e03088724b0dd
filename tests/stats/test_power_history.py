"""Power from history: baseline, variance, CUPED variance and traffic from the data, against statsmodels."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower

from analysis_world import make_data
from workbench.errors import InputError
from workbench.lifecycle.brief import parse_brief
from workbench.planning import plan_from_data
from workbench.stats.cuped import cuped_means_core

from lifecycle.builders import brief_dict


@pytest.fixture(scope="module")
def data():
    return make_data(n_per_arm=6000, metric_names=("cvr", "revenue_per_user"), dims=("day",), seed=9)


def test_plan_from_data_matches_statsmodels_power(data):
    brief = parse_brief(brief_dict(primary_metric="revenue_per_user", mde=0.1, mde_type="relative",
                                   min_sample_size=5000, max_duration_days=21))
    plan = plan_from_data(data, brief=brief)
    st = data.stats("revenue_per_user")
    c = cuped_means_core(st)
    # measured on the control: raw mean, raw per-unit sd, CUPED-adjusted sd
    assert plan.baseline == pytest.approx(st.mean[0], rel=1e-12)
    assert plan.sd == pytest.approx(math.sqrt(st.var[0]), rel=1e-12)
    assert plan.sd_cuped == pytest.approx(math.sqrt(c.var[0]), rel=1e-12) and plan.sd_cuped < plan.sd
    assert plan.variance_reduction == pytest.approx(1 - c.var[0] / c.raw_var[0], rel=1e-12)
    delta = 0.1 * plan.baseline
    for sd, n in ((plan.sd, plan.n_per_arm), (plan.sd_cuped, plan.n_per_arm_cuped)):
        ref = NormalIndPower().solve_power(effect_size=delta / sd, alpha=0.05, power=0.8, ratio=1.0)
        assert n == math.ceil(ref - 1e-9)
    daily = data.units_per_day(full_days_only=True).mean()
    assert plan.daily_units == pytest.approx(daily) and plan.days == math.ceil(2 * plan.n_per_arm / daily)
    # the MDE within the brief's maximum duration: statsmodels' effect size for that many units
    n_arm = daily * 21 / 2
    eff = NormalIndPower().solve_power(nobs1=n_arm, alpha=0.05, power=0.8, ratio=1.0)
    assert plan.mde_at_max_abs == pytest.approx(eff * plan.sd, rel=1e-6)
    assert plan.mde_at_max_cuped_abs == pytest.approx(eff * plan.sd_cuped, rel=1e-6)
    assert "units per arm" in plan.summary() and plan.mde_source == "from the brief"


def test_plan_without_an_mde_gives_what_the_brief_can_detect(data):
    plan = plan_from_data(data, metric="cvr", brief=parse_brief(brief_dict(min_sample_size=4000)))
    assert plan.n_per_arm is None and plan.mde_at_min_sample_abs is not None
    # statsmodels counts the far tail too: its power at our MDE is 0.8 plus that tail's tiny mass
    power = NormalIndPower().power(effect_size=plan.mde_at_min_sample_abs / plan.sd, nobs1=4000, alpha=0.05)
    assert power == pytest.approx(0.8, abs=1e-4)
    with pytest.raises(InputError, match="nothing to plan"):
        plan_from_data(replace(data, cube=data.cube.drop(columns="day")), metric="cvr")


def test_cli_plan_from_an_experiment(small_world, capsys):
    from cli_runner import invoke
    code, out, err = invoke(capsys, None, "plan", "-e", "pdp-shoes-hero", "--db", str(small_world["db"]), "--mde", "0.2",
                            "--relative", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["metric"] == "cvr" and d["n_per_arm"] > 0 and np.isfinite(d["sd"]) and d["mde_source"] == "given"


def test_an_unknown_metric_is_a_clear_error(data):
    with pytest.raises(InputError, match="unknown metric 'nope'"):
        plan_from_data(data, metric="nope", mde=0.1)
