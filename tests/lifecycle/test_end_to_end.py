"""The whole path with real parts: aggregated CSV or the simulated event log → analyze → decide → memo/registry."""

from __future__ import annotations

import json

import pytest
from cli_runner import invoke

from workbench.lifecycle.inputs import analyze_experiment, analyze_file
from workbench.lifecycle.policies import decide
from workbench.lifecycle.registry import Registry
from workbench.lifecycle.seed import seed_from_world
from workbench.lifecycle.signals import decision_context
from workbench.simulate.world import WORLD_END
from workbench.simulate.writer import write_world

CSV = {
    "launch": "control,10000,1200,35\ntreatment,10050,1320,33\n",
    "srm": "control,10000,1200,35\ntreatment,9500,1320,33\n",
    "severe": "control,10000,1200,35\ntreatment,10050,1320,80\n",
    "flat": "control,10000,1200,35\ntreatment,10000,1210,36\n",
}


@pytest.mark.parametrize("name, action, rule", [
    ("launch", "launch", "significant-launch"),
    ("srm", "hold", "srm-warning"),
    ("severe", "rollback", "significant-severe-guardrail"),
    ("flat", "hold", "not-significant"),
])
def test_aggregated_csv_to_memo(capsys, tmp_path, name, action, rule):
    """The decision-layer acceptance criteria, from an aggregated CSV to the memo on disk."""
    f = tmp_path / f"{name}.csv"
    f.write_text("variant,users,conversions,guardrail_error\n" + CSV[name], encoding="utf-8")
    d = decide(analyze_file(f), policy="decision-layer")
    assert (d.action, d.rule) == (action, rule)
    code, out, _ = invoke(capsys, None, "memo", str(f), "-o", str(tmp_path / "memo.md"))
    md = (tmp_path / "memo.md").read_text(encoding="utf-8")
    assert code == 0 and out.startswith(action.upper())
    assert md.splitlines()[2].startswith(f"**Decision: {action.upper()}**")
    assert ("SRM p = " in md or "SRM p < 0.001" in md) and "Aggregated input" in md
    if name == "srm":
        assert "sample ratio mismatch" in md.splitlines()[2]
    if name == "flat":
        assert "more units are needed" in md


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("e2e") / "wb.duckdb"
    write_world(path, seed=11, scale=0.05)
    reg = Registry(path, clock=lambda: WORLD_END)
    seed_from_world(reg)
    return reg


@pytest.mark.parametrize("eid, rule", [
    ("pdp-home-lcp", "guardrail-limit"),            # LCP 4.3 s against a 3.5 s limit
    ("pdp-electronics-price", "price-change"),      # +40 % price on day 7
    ("pdp-shoes-stockout", "stock-drop"),           # out of stock from day 9
])
def test_world_faults_lead_to_holds(world, eid, rule):
    brief = world.brief(eid)
    res = analyze_experiment(eid, brief=brief, db=world.path)
    d = decide(res, brief=brief, context=decision_context(world, eid))
    assert (d.action, d.rule) == ("hold", rule), d.reason


def test_decide_from_the_event_log_applies_and_records(capsys, world, tmp_path):
    code, out, _ = invoke(capsys, None, "decide", "pdp-home-lcp", "--db", str(world.path), "--as-of", WORLD_END.isoformat(),
                       "--apply", "--by", "oncall", "--json", "--memo", str(tmp_path / "lcp.html"))
    d = json.loads(out)
    assert code == 0 and (d["action"], d["rule"], d["applied"]) == ("hold", "guardrail-limit", "paused")
    reg = Registry(world.path)
    assert reg.get("pdp-home-lcp").state == "hold"
    audit = reg.audit("pdp-home-lcp")
    assert audit["action"].tolist()[-2:] == ["decide", "pause"] and set(audit["actor"].tolist()[-2:]) == {"oncall"}
    html = (tmp_path / "lcp.html").read_text(encoding="utf-8")
    assert "HOLD" in html and "lcp" in html and "limit crossed" in html
