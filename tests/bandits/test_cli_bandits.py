"""CLI: assign, allocate, bandit-sim, bandit-log, cold-start — real subprocesses, exit 2 on user mistakes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_runner import invoke
from cli_runner import run_workbench as run

from workbench.bandits.hashing import gb_hash
from workbench.hierarchical.synthetic import simulate_sku_world


def test_assign_reproduces_growthbook_from_stdin_and_csv(tmp_path, capsys, monkeypatch):
    r = run("assign", "-", "--seed", "feature", "--variants", "a,b,c", "--hash-version", "1", stdin="123\n456\nfds\n")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(pd.io.common.StringIO(r.stdout))
    assert out.variant.tolist() == ["c", "a", "b"] and out.bucket.tolist() == [0.863, 0.178, 0.514]
    keys = tmp_path / "users.csv"
    pd.DataFrame({"user_key": [f"u{i}" for i in range(1000)], "x": 1}).to_csv(keys, index=False)
    _, out, _ = invoke(capsys, monkeypatch, "assign", str(keys), "--seed", "exp", "--weights", "0.2,0.8", "--json")
    summary = json.loads(out)
    assert sum(v["keys"] for v in summary["variants"]) == 1000
    _, out, _ = invoke(capsys, monkeypatch, "assign", str(keys), "--seed", "exp", "--variants", "a,b")
    first = pd.read_csv(pd.io.common.StringIO(out)).iloc[0]
    assert first.bucket == gb_hash("exp", "u0", 2)


def test_allocate_logs_and_writes_serving_json(tmp_path, capsys, monkeypatch):
    res = tmp_path / "results.csv"
    pd.DataFrame({"variant": ["control", "b"], "units": [1200, 1180], "conversions": [48, 71]}).to_csv(res, index=False)
    out = tmp_path / "plans" / "serving.json"
    r = run("allocate", str(res), "--experiment", "pdp-9", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "P(best)" in r.stdout
    serving = json.loads(out.read_text())
    assert serving["weights"]["b"] > 0.9 and serving["hash"]["seed"] == "pdp-9"
    _, out_text, _ = invoke(capsys, monkeypatch, "allocate", str(res), "--experiment", "pdp-9", "--json")
    plan = json.loads(out_text)
    assert plan["arms"][0]["previous_weight"] == pytest.approx(serving["weights"]["control"])
    code, out_text, _ = invoke(capsys, monkeypatch, "bandit-log", "pdp-9", "--last", "2")
    assert code == 0 and out_text.count("decision ") == 2


def test_allocate_with_a_category_prior(tmp_path, capsys, monkeypatch):
    world = simulate_sku_world(n_categories=3, skus_per_category=6, seed=1)
    skus = tmp_path / "skus.csv"
    world.frame.to_csv(skus, index=False)
    res = tmp_path / "new.csv"
    pd.DataFrame({"variant": ["control", "b"], "units": [10, 10], "conversions": [0, 1]}).to_csv(res, index=False)
    code, out, _ = invoke(capsys, monkeypatch, "allocate", str(res), "--category-priors", str(skus), "--category",
                            "cat-01", "--min-units", "0", "--json", "--no-log")
    plan = json.loads(out)
    assert plan["prior"].startswith("Beta(") and plan["arms"][0]["posterior_alpha"] > 1


def test_user_mistakes_exit_2_without_traceback(tmp_path, capsys, monkeypatch):
    res = tmp_path / "bad.csv"
    pd.DataFrame({"variant": ["a", "b"], "units": [10, 5], "conversions": [1, 9]}).to_csv(res, index=False)
    for args in (["allocate", str(tmp_path / "missing.csv")], ["allocate"],
                 ["bandit-sim", "--rates", "0.1"], ["assign", "-", "--seed", "s", "--hash-version", "3"],
                 ["bandit-log", "nothing-logged"], ["cold-start", str(res)]):
        code, out, err = invoke(capsys, monkeypatch, *args, stdin="a\n")
        assert code == 2, (args, out, err)
        assert "Traceback" not in err and "error:" in err
    r = run("allocate", str(res))            # and in a real process
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "row 2, column conversions" in r.stderr


def test_bandit_sim_and_cold_start(tmp_path, capsys, monkeypatch):
    code, out, _ = invoke(capsys, monkeypatch, "bandit-sim", "--rates", "0.04,0.06", "--rounds", "5000", "--reps",
                            "10", "--json")
    rows = {x["policy"]: x for x in json.loads(out)["summary"]}
    assert rows["thompson"]["regret"] < rows["ab"]["regret"]
    world = simulate_sku_world(n_categories=3, skus_per_category=6, seed=1)
    skus = tmp_path / "skus.csv"
    world.frame.to_csv(skus, index=False)
    out = tmp_path / "est.csv"
    code, text, err = invoke(capsys, monkeypatch, "cold-start", str(skus), "--fast", "--out", str(out))
    assert code == 0, err
    assert "Prior for a brand-new SKU" in text and len(pd.read_csv(out)) == 18
    code, text, _ = invoke(capsys, monkeypatch, "cold-start", str(skus), "--draws", "200", "--json")
    res = json.loads(text)
    assert res["method"] == "hierarchical" and res["diagnostics"]["chains"] == 4


def test_help_explains_each_command(capsys, monkeypatch):
    for cmd in ("assign", "allocate", "bandit-sim", "bandit-log", "cold-start"):
        code, out, _ = invoke(capsys, monkeypatch, cmd, "--help")
        assert code == 0 and "Usage" in out


@pytest.mark.parametrize("batch, words", [("1", "after every user."), ("250", "after every 250 users.")])
def test_bandit_sim_says_how_often_the_bandits_update(capsys, monkeypatch, batch, words):
    code, out, _ = invoke(capsys, monkeypatch, "bandit-sim", "--rates", "0.04,0.06", "--rounds", "2000", "--reps", "4",
                          "--batch", batch, "--min-units", "50")
    text = " ".join(out.split())                         # the caption wraps at the terminal width
    assert code == 0 and words in text and "warm-up 50 units per arm" in text and "update every" not in text
