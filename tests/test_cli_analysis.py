"""workbench analyze / check / plan: JSON contract, exit codes, one-line problems on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import invoke, run_workbench

GOOD = ("variant,users,conversions,guardrail_error,revenue_sum,revenue_sum_sq\n"
        "control,10000,1200,35,52000.5,900000\ntreatment,10050,1320,33,56000,1000000\n")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    return invoke(capsys, None, *args)


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


def test_analyze_json_shape(capsys):
    code, out, err = cli(capsys, "analyze", write("ab.csv", GOOD), "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["health"]["status"] == "healthy" and 0 < d["health"]["srm"]["p_value"] <= 1
    assert d["health"]["issues"] == []
    names = [(m["name"], m["kind"], m["role"]) for m in d["metrics"]]
    assert names == [("conversion_rate", "proportion", "primary"), ("guardrail_error", "proportion", "guardrail"),
                     ("revenue", "mean", "secondary")]
    c = d["metrics"][0]["comparisons"][0]
    assert c["variant"] == "treatment" and c["control"] == "control"
    assert c["control_value"] == 0.12 and c["variant_value"] == 1320 / 10050          # full precision
    assert len(c["lift_abs_ci"]) == 2 and len(c["lift_rel_ci"]) == 2
    assert c["test"] == "z" and 0 <= c["p_value"] <= c["p_value_adjusted"] <= 1
    assert 0 <= c["prob_beat_control"] <= 1 and c["expected_loss"] >= 0


def test_analyze_tables_and_warning_exit_0(capsys):
    code, out, _ = cli(capsys, "analyze", write("ab.csv", "variant,users,conversions\ncontrol,10000,1000\nb,10500,1100\n"))
    assert code == 0 and "WARNING" in out and "sample ratio mismatch" in out
    assert "[primary]" in out and "p adj." in out


def test_blocked_logic_problems_exit_2_with_json_and_stderr(capsys):
    code, out, err = cli(capsys, "analyze", write("bad.csv", "variant,users,conversions\ncontrol,1000,120\nb,-5,abc\n"),
                         "--json")
    assert code == 2
    d = json.loads(out)
    assert d["health"]["status"] == "blocked" and d["metrics"][0]["comparisons"] == []
    issues = {(i["code"], i["column"], i["row"]) for i in d["health"]["issues"]}
    assert ("negative", "users", 2) in issues and ("not_a_number", "conversions", 2) in issues
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: bad.csv: row 2 (line 3)") for line in lines)


def test_structural_error_json_and_plain(capsys):
    code, out, err = cli(capsys, "analyze", "missing.csv", "--json")
    assert code == 2 and json.loads(out)["health"]["status"] == "blocked"
    assert json.loads(out)["health"]["issues"][0]["code"] == "missing_file" and "missing.csv" in err
    code, out, err = cli(capsys, "analyze", write("semi.csv", "variant;users;conversions\ncontrol;1;1\n"))
    assert code == 2 and out == "" and err.startswith("error: semi.csv") and "Traceback" not in err


def test_severe_srm_is_a_finding_exit_0(capsys):
    code, out, _ = cli(capsys, "analyze", write("srm.csv", "variant,users,conversions\ncontrol,10000,1000\nb,11500,1100\n"),
                       "--json")
    d = json.loads(out)
    assert code == 0 and d["health"]["status"] == "blocked" and d["health"]["issues"][0]["code"] == "srm_severe"
    assert d["metrics"][0]["comparisons"] == []


def test_brief_options(capsys):
    write("ab.csv", "variant,users,conversions,guardrail_error\nB,6000,700,30\nA,4000,400,20\n")
    write("brief.yaml", "primary: conversion_rate\ncontrol: A\nexpected_weights: {A: 0.4, B: 0.6}\n"
                        "srm: {warning_p: 0.01}\ncorrection: bh\nnon_inferiority: {guardrail_error: {margin: 0.002, "
                        "relative: false}}\nkind: ab\n")
    code, out, _ = cli(capsys, "analyze", "ab.csv", "--brief", "brief.yaml", "--json")
    d = json.loads(out)
    assert code == 0 and d["control"] == "A" and d["health"]["status"] == "healthy"
    guard = d["metrics"][1]["comparisons"][0]
    assert guard["extra"]["hypothesis"] == "H0: lift >= 0.002"
    write("typo.yaml", "primry: conversion_rate\n")
    code, _, err = cli(capsys, "analyze", "ab.csv", "--brief", "typo.yaml")
    assert code == 2 and "typo.yaml: column primry" in err and "unknown option 'primry'" in err
    code, _, err = cli(capsys, "analyze", "ab.csv", "--brief", write("list.yaml", "- a\n"))
    assert code == 2 and "expected a mapping" in err


def test_check_command(capsys):
    code, out, _ = cli(capsys, "check", write("ab.csv", GOOD), "--json")
    d = json.loads(out)
    assert code == 0 and d["health"]["status"] == "healthy" and d["units"] == [10000, 10050]
    code, out, err = cli(capsys, "check", write("dup.csv", "variant,users,conversions\nA,100,10\nA,100,12\n"), "--json")
    assert code == 2 and any(i["code"] == "duplicate_variant" for i in json.loads(out)["health"]["issues"])
    assert "appears more than once" in err
    code, out, _ = cli(capsys, "check", "ab.csv")
    assert code == 0 and "HEALTHY" in out


def test_plan_command(capsys):
    code, out, _ = cli(capsys, "plan", "--baseline", "0.1", "--mde", "0.05", "--relative", "--alpha", "0.05",
                       "--power", "0.8", "--json")
    d = json.loads(out)
    assert code == 0 and d["n_per_arm"] == 57760 and d["n_total"] == 115520
    code, out, _ = cli(capsys, "plan", "--baseline", "0.1", "--mde", "0.005", "--daily-units", "10000", "--arms", "3")
    assert code == 0 and "units per arm" in out and "days" in out
    code, out, _ = cli(capsys, "plan", "--baseline", "0.1", "--n-per-arm", "57760", "--json")
    assert code == 0 and json.loads(out)["mde_rel"] == pytest.approx(0.05, rel=1e-3)
    code, _, err = cli(capsys, "plan", "--baseline", "1.5", "--mde", "0.05")
    assert code == 2 and "baseline must be strictly between 0 and 1" in err
    code, _, err = cli(capsys, "plan", "--baseline", "0.1", "--mde", "0.05", "--split", "50,x")
    assert code == 2 and "split must be numbers" in err
    code, _, err = cli(capsys, "plan", "--baseline", "20", "--mde", "1", "--kind", "mean")
    assert code == 2 and "standard deviation" in err


def test_file_or_experiment_is_required(capsys):
    code, _, err = cli(capsys, "analyze")
    assert code == 2 and "give a FILE" in err


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    """End to end in a real process: stdout is pure JSON, problems go to stderr."""
    bad = tmp_path / "bad.csv"
    bad.write_text("variant,users,conversions\ncontrol,100,120\nb,100,10\n")
    r = run_workbench("analyze", str(bad), "--json")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert json.loads(r.stdout)["health"]["status"] == "blocked"
    assert "conversions (120) exceed users (100)" in r.stderr


@pytest.mark.parametrize("csv_text,code,expect", [
    ("variant,users,conversions\ncontrol,1000,100\nb,0,0\n", 2, "users must be greater than 0"),
    ("variant,users,conversions\ncontrol,1000,100\nb,1000,nan\n", 2, "missing value (empty or NaN)"),
    ("variant,users,conversions,revenue_sum,revenue_sum_sq\ncontrol,100,10,500,9000\nb,100,12,520,100\n", 2,
     "which would mean a negative variance"),
    ("variant,users,conversions\ncontrol,1000,100\n", 2, "at least 2 variants are needed"),
])
def test_bad_inputs_exit_2_with_the_reason(capsys, csv_text, code, expect):
    rc, out, err = cli(capsys, "analyze", write("bad.csv", csv_text), "--json")
    assert rc == code and expect in err and "Traceback" not in err
    assert json.loads(out)["health"]["status"] == "blocked"


def test_all_conversions_is_valid_and_uses_the_exact_test(capsys):
    rc, out, _ = cli(capsys, "analyze", write("all.csv", "variant,users,conversions\ncontrol,200,200\nb,210,210\n"), "--json")
    c = json.loads(out)["metrics"][0]["comparisons"][0]
    assert rc == 0 and c["test"] == "fisher" and c["p_value"] == 1.0 and c["lift_abs"] == 0.0
