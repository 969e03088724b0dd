"""The clock, the reasons and the A/A verdict: every view says what the facts say, once.

* days running and the autopilot's window end at the data's as-of (or --as-of), not today;
* no printed reason is contradicted by the decision's facts, and each finding is stated once;
* an A/A experiment gets one pipeline-health verdict (never a launch) that memo and CLI share.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest
from scipy import stats as sps

from statsmodels.stats.multitest import multipletests

from workbench.aa import AA_RULE, verdict_from_p_values
from workbench.asof import days_between
from workbench.errors import Problem
from workbench.lifecycle.memo import build_memo
from workbench.lifecycle.policies import decide, false_claims
from workbench.results import AnalysisResult, Comparison, HealthReport, MetricResult, SRMResult

FAR_FUTURE = dt.datetime(2030, 1, 1)


@pytest.fixture(scope="module")
def seeded(small_world, tmp_path_factory):
    """A copy of the small world with its registry seeded by a clock years after the data."""
    from workbench.lifecycle import Registry, seed_from_world
    db = tmp_path_factory.mktemp("facts") / "world.duckdb"
    shutil.copy(small_world["db"], db)
    seed_from_world(Registry(db), by="tests")
    return db


@pytest.fixture(scope="module")
def outcomes(seeded):
    from workbench.lifecycle import Registry
    from workbench.pipeline import evaluate
    return evaluate(db=seeded, registry=Registry(seeded, clock=lambda: FAR_FUTURE))


def test_days_running_counts_to_the_data_not_to_today(outcomes):
    checked = 0
    for o in outcomes.values():
        if o.record is None or o.record.started_at is None:
            continue
        days = o.decision.facts["days_running"]
        assert o.result.as_of == o.data.as_of is not None
        exact = days_between(o.record.started_at, o.data.as_of, ended_at=o.record.ended_at)
        assert days == round(exact, 1) and abs(days - exact) <= 0.05 + 1e-9      # to a tenth, as the views show it
        assert days < (FAR_FUTURE - o.record.started_at).days - 365
        maxd = o.decision.facts["max_duration_days"]
        assert o.decision.facts["max_duration_reached"] == (maxd is not None and days >= maxd)
        checked += 1
    assert checked >= 5
    # the world's experiments end with the data, seconds before midnight: they have run their maximum duration
    assert sum(o.decision.facts["max_duration_reached"] for o in outcomes.values()) >= 5


def test_as_of_replays_an_earlier_day(seeded, outcomes):
    from workbench.lifecycle import Registry
    from workbench.pipeline import evaluate
    eid = "pdp-shoes-hero"
    start = outcomes[eid].record.started_at
    at = start + dt.timedelta(days=5)
    early = evaluate([eid], db=seeded, as_of=at, registry=Registry(seeded, clock=lambda: FAR_FUTURE))[eid]
    assert early.result.as_of == at
    assert early.decision.facts["days_running"] == pytest.approx(5.0)


def test_autopilot_looks_back_from_the_latest_event(seeded):
    import duckdb

    from workbench.lifecycle import Registry
    from workbench.lifecycle.autopilot import plan_autopilot
    latest = duckdb.connect(str(seeded), read_only=True).execute("select max(ts_server) from events").fetchone()[0]
    plan = plan_autopilot(Registry(seeded, clock=lambda: FAR_FUTURE))
    assert plan.now == latest
    assert not any(n.startswith("no events") for n in plan.notes)
    assert sum(c.sessions for c in plan.candidates) > 0


def test_every_printed_reason_agrees_with_the_facts(outcomes):
    for o in outcomes.values():
        d = o.decision
        for reason in d.reasons:
            assert false_claims(reason, d.facts) == [], (o.experiment_id, reason)
        assert len(set(d.reasons)) == len(d.reasons)


def _cmp(variant, cv, vv, p, *, lo=None, hi=None):
    lift = vv - cv
    return Comparison(variant, "control", cv, vv, lift, (lo if lo is not None else lift - 0.01, hi if hi is not None
                                                         else lift + 0.01), lift / cv, (lift / cv - 0.05, lift / cv + 0.05),
                      p, p, "welch", prob_beat_control=0.99, n_control=20000, n_variant=20000)


def _srm(p=0.5, status="healthy"):
    return SRMResult(("control", "treatment"), (20000.0, 20000.0), (20000.0, 20000.0), (0.5, 0.5), 0.1, p, status)


def test_a_severely_worsened_guardrail_never_reads_as_no_guardrail_worsened():
    """The pdp-home-lcp case: significant primary, LCP two seconds worse past its limit."""
    primary = MetricResult("cvr", "proportion", "primary", (_cmp("treatment", 0.0416, 0.0464, 0.013),))
    lcp = MetricResult("lcp", "mean", "guardrail", (_cmp("treatment", 2.40, 4.48, 1e-9),), higher_is_better=False,
                       limit=3.5)
    r = AnalysisResult("lcp-case", ("control", "treatment"), "control", HealthReport("healthy", srm=_srm()),
                       (primary, lcp), units=(20000.0, 20000.0))
    d = decide(r, policy="decision-layer")
    assert d.action == "rollback" and d.facts["guardrails_worsened"] > 0
    assert not any("no guardrail worsened" in x for x in d.reasons)
    assert all(false_claims(x, d.facts) == [] for x in d.reasons)
    assert " ".join(d.reasons).count("s worse") == 1             # the worsening is one finding, stated once
    assert any("limit is crossed" in x for x in d.reasons[1:])   # the limit is another, still listed
    md = build_memo(r, d).to_markdown()
    assert "no guardrail worsened" not in md


def test_the_srm_finding_is_stated_once():
    msg = "sample ratio mismatch: 51.1% / 48.9% of units observed vs 50.0% / 50.0% planned"
    health = HealthReport("blocked", (Problem("blocked", "srm_severe", msg),), srm=_srm(1e-7, "blocked"))
    primary = MetricResult("cvr", "proportion", "primary", ())
    r = AnalysisResult("srm-case", ("control", "treatment"), "control", health, (primary,), units=(25074.0, 23988.0))
    d = decide(r, policy="decision-layer")
    assert d.rule == "health-blocked" and len(d.reasons) == 1
    assert "srm-warning" in [c.rule for c in d.checks if c.held]       # it held, it is just not repeated
    md = build_memo(r, d).to_markdown()
    assert md.count(msg) == 1
    assert md.lower().count("sample ratio mismatch") == 2               # the decision names it, the evidence explains it


def test_aa_verdict_ks_matches_scipy_and_flags_a_broken_pipeline():
    rng = np.random.default_rng(3)
    daily = rng.uniform(size=60)
    good = verdict_from_p_values("aa", srm_p=0.3, srm_ok=True, p_values=[0.2, 0.6, 0.9, 0.4], daily_p_values=daily)
    ks = sps.kstest(daily, "uniform")
    assert good.ks_p == pytest.approx(ks.pvalue) and good.ks_statistic == pytest.approx(ks.statistic)
    assert good.share_p == pytest.approx(sps.binomtest(0, 4, 0.05, alternative="greater").pvalue)
    assert good.healthy and good.verdict == "the pipeline is healthy"
    skewed = verdict_from_p_values("aa", srm_p=0.3, srm_ok=True, p_values=[0.2, 0.6],
                                   daily_p_values=rng.uniform(size=60) ** 4)
    assert not skewed.healthy and "not uniform" in skewed.sentence
    many = verdict_from_p_values("aa", srm_p=0.3, srm_ok=True, p_values=[0.001] * 6 + [0.5] * 4)
    assert not many.healthy and "more than chance allows" in many.sentence
    one_extreme = verdict_from_p_values("aa", srm_p=0.3, srm_ok=True, p_values=[1e-12, 0.4, 0.7])
    assert one_extreme.share_p > 0.01            # the share test alone cannot see a single extreme difference
    assert one_extreme.min_p_adjusted == pytest.approx(multipletests([1e-12, 0.4, 0.7], method="bonferroni")[1].min())
    assert not one_extreme.healthy and "differs between identical arms" in one_extreme.sentence
    assert good.min_p_adjusted == pytest.approx(multipletests([0.2, 0.6, 0.9, 0.4], method="bonferroni")[1].min())
    srm = verdict_from_p_values("aa", srm_p=1e-6, srm_ok=False, p_values=[0.5])
    assert not srm.healthy and "sample ratio mismatch" in srm.sentence


def test_the_aa_experiment_is_decided_on_pipeline_health_only(outcomes):
    o = outcomes["aa-pipeline-check"]
    v = o.result.aa
    assert v is not None
    d = o.decision
    assert d.rule == AA_RULE and d.winner is None and d.action in ("keep_testing", "hold")
    assert d.action == ("keep_testing" if v.healthy else "hold")
    assert d.reason.startswith(v.sentence) and d.reasons == (d.reason,)
    assert "more units" not in d.reason and "Launch" not in d.reason
    memo = build_memo(o.result, d, brief=o.brief, record=o.record).to_markdown()
    assert memo.count(v.sentence) == 1 and f"A/A verdict: {v.verdict}" in memo
    assert all(memo.count(f) == 1 for f in v.findings)
    for other in outcomes.values():
        if other.experiment_id != "aa-pipeline-check":
            assert other.result.aa is None and other.decision.rule != AA_RULE


def test_cli_decide_prints_each_reason_once_and_the_aa_verdict(seeded, outcomes, capsys):
    from tests.cli_runner import invoke
    for eid in ("aa-pipeline-check", "pdp-beauty-srm", "pdp-home-lcp"):
        code, out, err = invoke(capsys, None, "decide", eid, "--no-record", "--db", str(seeded))
        assert code == 0, err
        lines = [ln.strip().removeprefix("also: ") for ln in out.splitlines()[1:] if ln.strip()]
        assert lines and len(lines) == len(set(lines))
        if eid == "aa-pipeline-check":
            assert "A/A: the pipeline is" in out and "LAUNCH" not in out


def test_an_aa_experiment_cannot_be_rolled_out_or_given_a_winner(reg):
    from tests.lifecycle.builders import brief_dict
    from workbench.aa import is_aa
    from workbench.errors import ConflictError
    from workbench.lifecycle.brief import parse_brief
    from workbench.lifecycle.learning import stop_and_conclude
    from workbench.lifecycle.rollout import plan_rollout, start_rollout
    same = {"layout": "classic", "cta_tone": "neutral"}
    brief = parse_brief(brief_dict(id="aa-1", kind="aa", variants=[{"id": "control", "meta": same},
                                                                   {"id": "copy", "meta": same}]))
    assert is_aa(brief=brief)
    assert is_aa(brief=parse_brief(brief_dict(id="aa-2", variants=[{"id": "control", "meta": same},
                                                                  {"id": "copy", "meta": same}])))
    assert not is_aa(brief=parse_brief(brief_dict(id="ab-1")))
    reg.create(brief, by="kim", why="t")
    reg.transition("aa-1", "start", by="kim", why="go")
    with pytest.raises(ConflictError, match="A/A experiment"):
        start_rollout(reg, plan_rollout("aa-1", "copy", control="control", baseline_rate=0.05), by="kim", why="x")
    with pytest.raises(ConflictError, match="A/A experiment"):
        stop_and_conclude(reg, "aa-1", winner="copy", by="kim", why="x")
    assert reg.get("aa-1").state == "running"
    stop_and_conclude(reg, "aa-1", winner=None, by="kim", why="done")     # stopping without a winner is fine
    assert reg.get("aa-1").state == "completed"


def test_a_saved_result_keeps_its_as_of_and_aa_verdict(outcomes):
    import json

    from workbench.display import dumps
    from workbench.lifecycle.inputs import result_from_dict
    r = outcomes["aa-pipeline-check"].result
    back = result_from_dict(json.loads(dumps(r.to_dict())))
    assert back.as_of == r.as_of and back.aa == r.aa
    assert decide(back, policy="decision-layer").reason == decide(r, policy="decision-layer").reason


def test_no_memo_repeats_a_line_or_the_decision(outcomes):
    for o in outcomes.values():
        md = build_memo(o.result, o.decision, brief=o.brief, record=o.record).to_markdown()
        bullets = [ln for ln in md.splitlines() if ln.startswith("- ")]
        assert len(bullets) == len(set(bullets)), o.experiment_id
        other = md.split("**Other rules that also held", 1)[-1] if "Other rules" in md else ""
        assert all(line.removeprefix("- ") not in md.split("## Summary")[0] for line in other.splitlines()
                   if line.startswith("- ")), o.experiment_id
