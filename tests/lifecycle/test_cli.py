"""The lifecycle commands: exit codes, audit with --by/--why, decide --apply, memo, autopilot, retention."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from cli_runner import invoke, run_workbench

from workbench.display import escape
from workbench.lifecycle.registry import Registry

from .builders import brief_dict, comp, guardrail, result


@pytest.fixture
def brief_file(tmp_path):
    f = tmp_path / "brief.yaml"
    f.write_text(yaml.safe_dump(brief_dict(id="cli-1")), encoding="utf-8")
    return f


@pytest.fixture
def saved_result(tmp_path):
    res = result([comp(p=0.001, prob=0.999)], guardrails=[guardrail("error_rate", 0.002, 0.0021, p=0.6)],
                 experiment_id="cli-1")
    f = tmp_path / "result.json"
    f.write_text(json.dumps(res.to_dict()), encoding="utf-8")
    return f


def test_lifecycle_commands_write_the_audit_log(capsys, brief_file):
    assert invoke(capsys, None, "experiments", "create", str(brief_file), "--by", "kim")[0] == 0
    code, out, _ = invoke(capsys, None, "experiments", "start", "cli-1", "--by", "kim", "--why", "approved")
    assert code == 0 and "cli-1: running" in out
    code, _, err = invoke(capsys, None, "experiments", "resume", "cli-1", "--by", "kim", "--why", "x")
    assert code == 2 and "cannot resume an experiment that is running" in err and "Traceback" not in err
    invoke(capsys, None, "experiments", "pause", "cli-1", "--by", "lee", "--why", "odd numbers")
    code, out, _ = invoke(capsys, None, "experiments", "show", "cli-1", "--json")
    shown = json.loads(out)
    assert shown["experiment"]["state"] == "hold" and shown["allowed_actions"] == ["resume", "stop", "rollback"]
    assert [(a["actor"], a["action"], a["why"]) for a in shown["audit"]] == [
        ("kim", "create", "new experiment from brief.yaml"), ("kim", "start", "approved"), ("lee", "pause", "odd numbers")]
    code, out, _ = invoke(capsys, None, "experiments", "list", "--state", "hold", "--json")
    assert [r["experiment_id"] for r in json.loads(out)] == ["cli-1"]
    code, out, _ = invoke(capsys, None, "experiments", "audit", "--verify")
    assert code == 0 and "chain intact" in out


def test_why_is_required_for_changes(capsys, brief_file):
    invoke(capsys, None, "experiments", "create", str(brief_file))
    code, _, err = invoke(capsys, None, "experiments", "start", "cli-1")
    assert code == 2 and "--why" in err


def test_bad_brief_is_reported_per_field(capsys, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(brief_dict(id="../x", primary_metric="nope")), encoding="utf-8")
    code, _, err = invoke(capsys, None, "experiments", "create", str(f))
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 2 and all(str(f) in line for line in lines)
    assert any("column id, value '../x'" in line for line in lines)


def test_check_flags_variant_policy_problems(capsys, tmp_path):
    f = tmp_path / "b.yaml"
    d = brief_dict(id="chk")
    d["variants"][1]["text"] = "기적의 크림, 100% 효과"
    f.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    code, out, _ = invoke(capsys, None, "experiments", "check", str(f), "--json")
    report = json.loads(out)["variant_checks"]
    assert code == 1 and report["status"] == "blocked"
    assert {p["code"] for p in report["problems"]} == {"banned_word", "exaggerated_claim"}
    invoke(capsys, None, "experiments", "create", str(f))
    code, _, err = invoke(capsys, None, "experiments", "start", "chk", "--why", "go")
    assert code == 2 and "banned word" in err
    assert Registry().get("chk").state == "draft"


def test_decide_records_applies_and_writes_the_memo(capsys, brief_file, saved_result, tmp_path):
    invoke(capsys, None, "experiments", "create", str(brief_file), "--start", "--by", "kim")
    memo = tmp_path / "memo.html"
    code, out, _ = invoke(capsys, None, "decide", "cli-1", "--result", str(saved_result), "--apply", "--memo", str(memo),
                       "--by", "kim", "--json")
    d = json.loads(out)
    assert code == 0 and d["action"] == "launch" and d["winner"] == "b"
    assert d["applied"].startswith("rollout started")
    reg = Registry()
    assert reg.get("cli-1").state == "promoting"
    assert reg.weights("cli-1") == pytest.approx({"control": 0.75, "b": 0.25})
    assert reg.decisions("cli-1").iloc[0]["reasons"] == d["reasons"]
    html = memo.read_text(encoding="utf-8")
    assert "LAUNCH" in html
    # the risks of acting are the memo's (and the report's), word for word, in the JSON and the printed decision
    assert d["risks"] and all(escape(r) in html for r in d["risks"])
    code, out, _ = invoke(capsys, None, "decide", "cli-1", "--result", str(saved_result), "--no-record")
    assert code == 0 and [ln.strip().removeprefix("risk: ") for ln in out.splitlines()
                          if ln.strip().startswith("risk: ")] == d["risks"]


def test_promote_advance_and_rollback_commands(capsys, brief_file, saved_result, tmp_path):
    invoke(capsys, None, "experiments", "create", str(brief_file), "--start")
    invoke(capsys, None, "decide", "cli-1", "--result", str(saved_result))
    code, out, _ = invoke(capsys, None, "experiments", "promote", "cli-1", "--why", "launch", "--dwell-hours", "6")
    assert code == 0 and "promoting" in out and "b: 25% (6 h)" in out
    ts = pd.date_range(Registry().get("cli-1").updated_at, periods=90, freq="1min")
    frame = pd.DataFrame({"ts": ts, "variant": "b", "units": 60, "purchases": 1})    # 1.7 % vs a 12 % baseline
    csv = tmp_path / "ts.csv"
    frame.to_csv(csv, index=False)
    code, out, _ = invoke(capsys, None, "experiments", "advance", "cli-1", "--timeseries", str(csv), "--why", "check",
                       "--json")
    r = json.loads(out)
    assert code == 0 and r["outcome"] == "rolled_back" and r["monitor"]["status"] == "rollback"
    assert Registry().get("cli-1").state == "rolled_back"
    code, _, err = invoke(capsys, None, "experiments", "rollback", "cli-1", "--why", "again")
    assert code == 2 and "cannot roll back" in err


def test_memo_from_a_saved_result_escapes_hostile_names(capsys, tmp_path):
    hostile = '<script>alert(1)</script>"'
    res = result([comp(hostile, p=0.3)], experiment_id="h1", data_version=hostile)
    f = tmp_path / "r.json"
    f.write_text(json.dumps(res.to_dict()), encoding="utf-8")
    code, out, _ = invoke(capsys, None, "memo", str(f), "-o", str(tmp_path / "m.html"))
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert code == 0 and out.startswith("HOLD")
    assert "<script>" not in html and "&lt;script&gt;" in html
    code, _, err = invoke(capsys, None, "memo", str(f), "-o", str(tmp_path / "m.pdf"))
    assert code == 2 and ".md or .html" in err
    code, _, err = invoke(capsys, None, "memo", "-o", str(tmp_path / "m.md"))
    assert code == 2 and "either a FILE or --experiment" in err
    code, _, err = invoke(capsys, None, "memo", str(tmp_path / "missing.json"), "-o", str(tmp_path / "m.md"))
    assert code == 2 and "missing.json" in err
    code, _, err = invoke(capsys, None, "memo", "no-such-experiment", "-o", str(tmp_path / "m.md"))
    assert code == 2 and "no-such-experiment: no such file, and no experiment 'no-such-experiment'" in err


def test_autopilot_dry_run_and_switches(capsys):
    from workbench.config import Paths
    from workbench.simulate.world import WORLD_END
    from workbench.simulate.writer import write_world
    write_world(Paths.default().db, seed=3, scale=0.02)
    code, out, _ = invoke(capsys, None, "autopilot", "--dry-run", "--as-of", WORLD_END.isoformat())
    assert code == 0 and "DRY RUN" in out and "SKUs not eligible" in out
    assert Registry().list() == []
    invoke(capsys, None, "promotion-period", "on", "--by", "ops", "--why", "sale")
    code, out, _ = invoke(capsys, None, "autopilot", "--dry-run", "--as-of", WORLD_END.isoformat(), "--json")
    plan = json.loads(out)
    assert plan["promotion_period"] and not [s for s in plan["steps"] if s["action"] == "create_and_start"]
    code, _, _ = invoke(capsys, None, "review", "flag", "sho-0001", "--reason", "legal", "--why", "claims")
    code, out, _ = invoke(capsys, None, "review", "list", "--json")
    assert [r["product_id"] for r in json.loads(out)] == ["sho-0001"]
    code, out, _ = invoke(capsys, None, "retention", "purge", "--days", "3", "--dry-run", "--why", "check", "--json")
    purge = json.loads(out)
    assert code == 0 and purge["deleted"] > 0 and purge["dry_run"] and purge["unhashed_user_keys"] == 0


def test_policies_and_learning_commands(capsys):
    code, out, _ = invoke(capsys, None, "policies", "list", "--json")
    assert code == 0 and "decision-layer" in json.loads(out)
    code, out, _ = invoke(capsys, None, "policies", "show", "model-promotion", "--json")
    assert [r["id"] for r in json.loads(out)["rules"]][0] == "error-rate"
    code, out, _ = invoke(capsys, None, "learning", "--json")
    assert code == 0 and json.loads(out) == []


def test_cli_subprocess_exit_code_and_no_traceback(tmp_path):
    r = run_workbench("experiments", "show", "no-such")
    assert r.returncode == 2 and "no experiment 'no-such'" in r.stderr and "Traceback" not in r.stderr
