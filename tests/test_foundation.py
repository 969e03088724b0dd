"""The shared contracts: problems, settings, sufficient statistics, the cube."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.config import Settings, get_settings
from workbench.display import dumps
from workbench.errors import InputError, Problem
from workbench.experiment_data import ExperimentData
from workbench.metrics import CATALOG, Metric
from workbench.stats.sufficient import RatioStats, SufficientStats


def test_problem_message_names_file_row_column_value():
    p = Problem("blocked", "negative", "must be >= 0", file="a.csv", column="users", row=3, value=-1)
    assert str(p) == "a.csv: row 3, column users, value -1: must be >= 0"


def test_settings_overrides_reject_unknown_keys(tmp_path, monkeypatch):
    cfg = tmp_path / "wb.yaml"
    cfg.write_text("srm:\n  warning_pp: 0.01\n")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    get_settings.cache_clear()
    with pytest.raises(InputError, match=r"unknown setting 'srm.warning_pp'"):
        get_settings()
    cfg.write_text("srm:\n  warning_p: 0.01\n")
    get_settings.cache_clear()
    assert get_settings().srm.warning_p == 0.01
    assert Settings().srm.warning_p == 0.001


def test_sufficient_stats_match_numpy():
    rng = np.random.default_rng(1)
    y = [rng.normal(10, 3, 500), rng.normal(11, 4, 700)]
    x = [a * 0.5 + rng.normal(0, 1, len(a)) for a in y]
    s = SufficientStats.from_values(y, x)
    np.testing.assert_allclose(s.mean, [a.mean() for a in y])
    np.testing.assert_allclose(s.var, [a.var(ddof=1) for a in y])
    np.testing.assert_allclose(s.x_var, [a.var(ddof=1) for a in x])
    np.testing.assert_allclose(s.xy_cov, [np.cov(a, b)[0, 1] for a, b in zip(x, y)])
    both = s + s
    assert both.n.tolist() == [1000, 1400]


def test_ratio_stats_from_values():
    r = RatioStats.from_values([[1, 2, 0], [3, 0]], [[5, 5, 2], [4, 1]])
    assert r.ratio.tolist() == [3 / 12, 3 / 5]
    assert r.num_den_sum.tolist() == [15, 12]


def test_json_is_full_precision_and_nan_free():
    text = dumps({"a": 0.1 + 0.2, "b": float("nan"), "c": np.float64(1 / 3)})
    assert json.loads(text) == {"a": 0.30000000000000004, "b": None, "c": 1 / 3}


def test_cube_cumulative_by_day():
    cube = pd.DataFrame({"variant": ["c", "t", "c", "t"], "day": [1, 1, 2, 2], "n": [10, 10, 5, 5],
                         "purchased__sum": [1, 2, 1, 1], "purchased__sum_sq": [1, 2, 1, 1]})
    d = ExperimentData("e", ("c", "t"), cube, metrics=(CATALOG["cvr"],), dims=("day",))
    days, s = d.stats_by("cvr", "day", cumulative=True, use_covariate=False)
    assert days == [1, 2]
    assert s.n.tolist() == [[10, 10], [15, 15]]
    assert s.sum.tolist() == [[1, 2], [2, 3]]


def test_ratio_metric_needs_denominator():
    with pytest.raises(ValueError, match="needs a denominator"):
        Metric("x", "ratio", "clicks")
