"""The analysis on the data layer's synthetic world: every experiment kind, CUPED as predicted, the CLI on the DB."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.analysis import analyze
from workbench.cli import main
from workbench.simulate.writer import write_world
from workbench.sources.experiments import load_experiments
from workbench.stats.sufficient import RatioStats


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = tmp_path_factory.mktemp("world") / "world.duckdb"
    write_world(db, seed=20261121, scale=0.05)
    return db, load_experiments(db=db)


def test_every_experiment_of_the_world_is_analysed(world):
    _, datasets = world
    kinds = set()
    for eid, data in datasets.items():
        r = analyze(data)
        kinds.add(data.meta.get("kind"))
        assert r.health.status in ("healthy", "warning", "blocked")
        if r.health.status != "blocked":
            assert r.primary is not None and r.primary.comparisons, eid
            for m in r.metrics:
                for c in m.comparisons:
                    assert 0 <= c.p_value <= c.p_value_adjusted <= 1 or np.isnan(c.p_value)
        if data.meta.get("kind") == "bandit":
            assert r.health.srm is None
        if data.trust is not None:
            assert r.health.bot_exclusion_rate == pytest.approx(data.trust.bot_exclusion_rate)
    assert {"ab", "aa", "multi", "canary", "bandit"} <= kinds


def _pooled_within_corr(s) -> float:
    """Pooled within-arm correlation of the metric (or its ratio linearisation) with the covariate."""
    n = s.n
    if isinstance(s, RatioStats):
        r, d = s.num_sum / s.den_sum, s.den_sum / n
        vy = ((s.num_sum_sq - s.num_sum ** 2 / n) - 2 * r * (s.num_den_sum - s.num_sum * s.den_sum / n)
              + r * r * (s.den_sum_sq - s.den_sum ** 2 / n)) / d ** 2
        cxy = ((s.num_x_sum - s.num_sum * s.x_sum / n) - r * (s.den_x_sum - s.den_sum * s.x_sum / n)) / d
    else:
        vy = s.sum_sq - s.sum ** 2 / n
        cxy = s.xy_sum - s.sum * s.x_sum / n
    vx = s.x_sum_sq - s.x_sum ** 2 / n
    return float(cxy.sum() / np.sqrt(vx.sum() * vy.sum()))


def test_cuped_reduction_is_what_the_pre_period_correlation_predicts(world):
    _, datasets = world
    checked = 0
    for data in datasets.values():
        if data.meta.get("kind") not in ("ab", "aa"):
            continue          # unequal arms (canary, bandit, multi): the lift's variance weights arms unequally
        r = analyze(data, metrics=tuple(m.name for m in data.metrics if m.covariate), bayes=False)
        for m in r.metrics:
            if m.variance_reduction is None:
                continue
            rho = _pooled_within_corr(data.stats(m.name))
            # the world's covariates are only weakly correlated (rho² < 1 %): the tolerance is the sampling noise
            # of per-arm correlations at these sizes; test_cuped.py checks rho = 0.6 with known truth
            assert m.variance_reduction == pytest.approx(rho ** 2, abs=0.1 * rho ** 2 + 3e-4), (data.experiment_id, m.name)
            checked += 1
    assert checked >= 10


def test_analyze_and_check_read_the_database(world, capsys):
    db, datasets = world
    eid = "pdp-shoes-hero"
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--experiment", eid, "--db", str(db), "--json"])
    d = json.loads(capsys.readouterr().out)
    assert info.value.code in (0, None)
    assert d["experiment_id"] == eid and d["health"]["status"] in ("healthy", "warning")
    assert d["metrics"][0]["role"] == "primary" and d["metrics"][0]["comparisons"]
    with pytest.raises(SystemExit) as info:
        main(["check", "--experiment", "no-such-experiment", "--db", str(db)])
    assert info.value.code == 2 and "unknown experiment 'no-such-experiment'" in capsys.readouterr().err


def test_an_experiment_id_in_place_of_a_file_is_read_from_the_database(world, capsys, tmp_path, monkeypatch):
    """`workbench analyze pdp-shoes-hero`, as `decide` and `report` take an id: the same result as --experiment;
    a name that is neither a file nor an experiment says both, with exit 2."""
    db, _ = world
    monkeypatch.chdir(tmp_path)           # no file of that name here
    outs = []
    for args in (["analyze", "pdp-shoes-hero"], ["analyze", "--experiment", "pdp-shoes-hero"]):
        with pytest.raises(SystemExit) as info:
            main([*args, "--db", str(db), "--json"])
        assert info.value.code in (0, None)
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0]["experiment_id"] == "pdp-shoes-hero" and outs[0]["metrics"] == outs[1]["metrics"]
    with pytest.raises(SystemExit) as info:
        main(["check", "pdp-shoes-hero", "--db", str(db), "--json"])
    assert info.value.code in (0, None) and json.loads(capsys.readouterr().out)["experiment_id"] == "pdp-shoes-hero"
    with pytest.raises(SystemExit) as info:
        main(["summarize", "pdp-shoes-hero", "--db", str(db), "--json"])
    assert info.value.code in (0, None) and json.loads(capsys.readouterr().out)["experiment_id"] == "pdp-shoes-hero"
    for command in ("analyze", "check", "summarize"):
        with pytest.raises(SystemExit) as info:
            main([command, "no-such-thing", "--db", str(db)])
        err = capsys.readouterr().err
        assert info.value.code == 2 and "no-such-thing: no such file, and unknown experiment 'no-such-thing'" in err
        assert "pdp-shoes-hero" in err and "Traceback" not in err
    (tmp_path / "no-such-thing").write_text("variant,users,conversions\ncontrol,100,10\ntreatment,100,12\n")
    with pytest.raises(SystemExit) as info:      # a file of that name is read as the file
        main(["analyze", "no-such-thing", "--json"])
    assert info.value.code in (0, None) and json.loads(capsys.readouterr().out)["metrics"]


def test_lifecycle_brief_sets_roles_and_tunes_the_sequence(world, capsys, tmp_path):
    db, _ = world
    brief = tmp_path / "brief.yaml"
    brief.write_text("id: pdp-shoes-hero\nowner: kim\nprimary_metric: ctr\nguardrails: ['lcp <= 3.5s']\n"
                     "variants:\n  - {id: control}\n  - {id: treatment}\nmin_sample_size: 3000\n")
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--experiment", "pdp-shoes-hero", "--db", str(db), "--brief", str(brief), "--json"])
    d = json.loads(capsys.readouterr().out)
    roles = {m["name"]: m["role"] for m in d["metrics"]}
    assert info.value.code in (0, None) and roles["ctr"] == "primary" and roles["cvr"] != "primary"
    assert roles["lcp"] == "guardrail"
    seq = d["sequential"]["ctr"][0]
    assert seq["planned_n"] == 6000 and len(seq["looks"]) > 1      # one look per day of the experiment
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nowner: kim\nprimary_metric: nope\nvariants: [{id: a}]\nmin_sample_size: 10\n")
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--experiment", "pdp-shoes-hero", "--db", str(db), "--brief", str(bad)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "bad.yaml" in err and "Traceback" not in err
