"""Decisions use what is computed: sequential significance, non-inferiority margins, calendar holds."""

from __future__ import annotations

import pandas as pd
import pytest
from statsmodels.stats import proportion as sm_proportion

from workbench.analysis import NonInferiority, SequentialOptions, analyze
from workbench.errors import InputError
from workbench.experiment_data import ExperimentData
from workbench.lifecycle.brief import parse_brief
from workbench.lifecycle.calendar import CalendarEvent
from workbench.lifecycle.inputs import analysis_options
from workbench.lifecycle.policies import decide
from workbench.metrics import Metric

from .builders import brief_dict

METRICS = (Metric("cvr", "proportion", "purchased", role="primary"),
           Metric("return_rate", "proportion", "returned", role="guardrail", higher_is_better=False))


def _data(bounce_t: int = 2000, purchased_t: int = 1130, days: int = 1) -> ExperimentData:
    rows = []
    for d in range(days):
        day = pd.Timestamp("2026-11-02") + pd.Timedelta(days=d)
        for v, n, p, b in (("control", 10000, 1000, 2000), ("b", 10000, purchased_t, bounce_t)):
            rows.append({"variant": v, "day": day.date(), "n": n / days, "purchased__sum": p / days,
                         "purchased__sum_sq": p / days, "returned__sum": b / days, "returned__sum_sq": b / days})
    return ExperimentData("e1", ("control", "b"), pd.DataFrame(rows), metrics=METRICS, dims=("day",))


def test_brief_margins_and_sequential_parse_and_refuse_bad_values():
    b = parse_brief(brief_dict(sequential=True, non_inferiority={"return_rate": "0.5pp", "cvr": "2%", "lcp": 0.2}))
    assert b.sequential and b.non_inferiority["return_rate"].margin == pytest.approx(0.005)
    assert not b.non_inferiority["return_rate"].relative and b.non_inferiority["cvr"].relative
    assert parse_brief(b.to_dict()) == b
    with pytest.raises(InputError) as err:
        parse_brief(brief_dict(non_inferiority={"return_rate": "half a point", "nope": 0.1, "cvr": -1}))
    text = str(err.value)
    assert "non_inferiority.return_rate" in text and "'0.5pp'" in text
    assert "non_inferiority.cvr" in text
    with pytest.raises(InputError, match="unknown metric 'nope'"):
        parse_brief(brief_dict(non_inferiority={"nope": 0.1}))


def test_margin_test_beside_the_usual_one_matches_statsmodels():
    r = analyze(_data(bounce_t=2040), cuped=False, margins={"return_rate": NonInferiority(0.005, relative=False)})
    c = r.metrics[1].comparisons[0]
    assert c.extra["alternative"] == "two-sided"                 # the usual test is unchanged
    ni = c.extra["non_inferiority"]
    ref = sm_proportion.test_proportions_2indep(2040, 10000, 2000, 10000, value=0.005, method="wald", compare="diff",
                                  alternative="smaller")
    assert ni["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert ni["non_inferior"] is bool(ref.pvalue < 0.05) and ni["margin_abs"] == pytest.approx(0.005)
    assert ni["bound"] > c.lift_abs                               # the one-sided upper bound of a lower-is-better metric


def test_a_guardrail_not_shown_within_its_margin_holds_a_significant_launch():
    brief = parse_brief(brief_dict(guardrails=[], non_inferiority={"return_rate": "0.5pp"}))
    ok = analyze(_data(bounce_t=1700), cuped=False, margins={"return_rate": NonInferiority(0.005, False)})
    d = decide(ok, brief=brief, policy="decision-layer")
    assert d.action == "launch" and d.facts["guardrails_non_inferior"] is True
    assert "by the fixed-horizon z-test" in d.reason
    worse = analyze(_data(bounce_t=2005), cuped=False, margins={"return_rate": NonInferiority(0.005, False)})
    d = decide(worse, brief=brief, policy="decision-layer")
    assert d.action == "hold" and d.rule == "not-non-inferior"
    assert d.facts["non_inferior_failed"] == 1 and "return_rate (b, margin 0.50 pp)" in d.reason


def test_brief_maps_margins_and_the_sequence_into_the_analysis():
    data = _data(days=7)
    brief = parse_brief(brief_dict(guardrails=[], sequential=True, min_sample_size=8000,
                                   non_inferiority={"cvr": "1%", "lcp": 0.2}))
    opts = analysis_options(brief, data)
    assert opts["sequential"] == SequentialOptions(8000.0) and set(opts["margins"]) == {"cvr"}   # what the data has


def test_a_sequential_brief_decides_on_the_always_valid_p_value():
    data = _data(purchased_t=1110, days=7)
    r = analyze(data, cuped=False, sequential=SequentialOptions(10000))
    best = r.primary.comparisons[0]
    assert best.p_value < 0.05 < best.extra["sequential"]["p_value"]
    fixed = decide(r, brief=parse_brief(brief_dict(guardrails=[])), policy="decision-layer")
    seq = decide(r, brief=parse_brief(brief_dict(guardrails=[], sequential=True)), policy="decision-layer")
    assert fixed.action == "launch" and seq.action == "hold"
    assert seq.facts["primary_p"] == pytest.approx(best.extra["sequential"]["p_value"])
    assert seq.facts["primary_significant_fixed"] is True and seq.facts["primary_significant"] is False
    assert "always-valid confidence sequence (7 look(s))" in seq.facts["decided_by"]
    # asked for but not computed: nothing is significant, and the fact says why
    plain = analyze(data, cuped=False)
    d = decide(plain, brief=parse_brief(brief_dict(guardrails=[], sequential=True)), policy="decision-layer")
    assert d.action == "hold" and "not computed" in d.facts["decided_by"]


def test_calendar_events_are_flagged_and_hold_events_hold():
    data = _data(days=7)
    promo = CalendarEvent(name="promo", kind="promotion", start="2026-11-07", end="2026-11-20")
    outage = CalendarEvent(name="cdn", kind="outage", start="2026-11-03", end="2026-11-03")
    elsewhere = CalendarEvent(name="shoes-week", kind="promotion", start="2026-11-02", end="2026-11-09",
                              categories=["shoes"])
    later = CalendarEvent(name="xmas", kind="holiday", start="2026-12-24", end="2026-12-26")
    r = analyze(data, cuped=False, calendar=(promo, outage, elsewhere, later))
    te = r.time_effects
    assert (te.window_start, te.window_end) == ("2026-11-02", "2026-11-08")
    assert [(c.name, c.overlap_days, c.hold) for c in te.calendar] == [("promo", 2, False), ("cdn", 1, True)]
    d = decide(r, policy="decision-layer")
    assert d.action == "hold" and d.rule == "calendar-hold" and "outage 'cdn' (2026-11-03)" in d.reason
    assert d.facts["calendar_overlap"] == 2 and d.facts["calendar_hold"] == 1
    d = decide(analyze(data, cuped=False, calendar=(promo,)), policy="decision-layer")
    assert d.action == "launch" and d.facts["calendar_overlap"] == 1


def test_non_inferiority_launch_policy():
    brief = parse_brief(brief_dict(guardrails=[], non_inferiority={"cvr": "10%", "return_rate": "0.5pp"}))
    same = analyze(_data(purchased_t=1000, bounce_t=1700), cuped=False,
                   margins={"cvr": NonInferiority(0.10, True), "return_rate": NonInferiority(0.005, False)})
    # the usual test cannot tell the arms apart; the margin test can say "not worse by 10 %"
    assert same.primary.comparisons[0].p_value > 0.05
    d = decide(same, brief=brief, policy="non-inferiority-launch")
    assert d.action == "launch" and d.facts["primary_non_inferior"] is True, d.reason
    worse = analyze(_data(purchased_t=1000, bounce_t=2005), cuped=False,
                    margins={"cvr": NonInferiority(0.10, True), "return_rate": NonInferiority(0.005, False)})
    d = decide(worse, brief=brief, policy="non-inferiority-launch")
    assert d.action == "hold" and d.rule == "not-non-inferior" and "not shown non-inferior" in d.reason
    d = decide(analyze(_data(), cuped=False), brief=parse_brief(brief_dict(guardrails=[])), policy="non-inferiority-launch")
    assert d.action == "hold" and d.rule == "no-margin"


def test_time_effects_and_margins_survive_a_saved_result():
    from workbench.lifecycle.inputs import result_from_dict
    outage = CalendarEvent(name="cdn", kind="outage", start="2026-11-03", end="2026-11-03")
    r = analyze(_data(days=7), cuped=False, calendar=(outage,), margins={"return_rate": NonInferiority(0.005, False)})
    back = result_from_dict(r.to_dict())
    ni = [res.metrics[1].comparisons[0].extra["non_inferiority"] for res in (back, r)]
    assert back.time_effects == r.time_effects and ni[0] == ni[1]
    assert decide(back, policy="decision-layer").reasons == decide(r, policy="decision-layer").reasons


def test_a_sequential_decision_needs_the_always_valid_interval_within_the_margin():
    r = analyze(_data(bounce_t=1950, days=7), cuped=False, sequential=SequentialOptions(10000),
                margins={"return_rate": NonInferiority(0.005, False)})
    c = r.metrics[1].comparisons[0]
    ni, seq = c.extra["non_inferiority"], c.extra["sequential"]
    assert ni["non_inferior"] and ni["bound"] < 0.005 < seq["cs"][1]      # fixed bound inside, always-valid outside
    fixed = decide(r, brief=parse_brief(brief_dict(guardrails=[])), policy="decision-layer")
    seq_d = decide(r, brief=parse_brief(brief_dict(guardrails=[], sequential=True)), policy="decision-layer")
    assert fixed.facts["non_inferior_failed"] == 0 and seq_d.facts["non_inferior_failed"] == 1


def test_memo_and_story_say_which_test_decided_and_the_margins():
    from workbench.lifecycle.memo import build_memo
    from workbench.story import ExperimentStory
    brief = parse_brief(brief_dict(guardrails=[], sequential=True, non_inferiority={"return_rate": "0.5pp"}))
    outage = CalendarEvent(name="cdn", kind="outage", start="2026-11-03", end="2026-11-03")
    r = analyze(_data(bounce_t=1700, days=7), cuped=False, sequential=SequentialOptions(10000), calendar=(outage,),
                margins={"return_rate": NonInferiority(0.005, False)})
    d = decide(r, brief=brief, policy="decision-layer")
    md = build_memo(r, d, brief=brief).to_markdown()
    assert "Significance test: always-valid confidence sequence (7 look(s))" in md
    assert d.rule == "calendar-hold" and d.decided_by is None and "decided by" not in md   # the calendar decided
    assert "**Non-inferiority margins**" in md and "| b | +0.50 pp | -3.00 pp |" in md and "| non-inferior |" in md
    assert "Significance test: always-valid confidence sequence (7 look(s)) — always-valid CI (Δ) \\[" in md and " pp" in md
    assert "outage 'cdn' (2026-11-03) overlaps 1 day(s)" in md
    assert "repeated fixed-horizon tests" not in md          # a sequential decision is not a peeking risk
    story = ExperimentStory.from_parts(r, d)
    assert story.decided_by == d.decided_by and story.time_effects == r.time_effects.sentences()


def test_day_of_week_imbalance_and_partial_weeks_are_flagged():
    rows = []
    for d in range(10):
        day = pd.Timestamp("2026-11-02") + pd.Timedelta(days=d)          # a Monday, 10 days: not whole weeks
        weekend = day.weekday() >= 5
        for v, n in (("control", 600 if weekend else 500), ("b", 400 if weekend else 540)):   # totals match: no SRM
            rows.append({"variant": v, "day": day.date(), "n": n, "purchased__sum": n // 10,
                         "purchased__sum_sq": n // 10, "returned__sum": n // 5, "returned__sum_sq": n // 5})
    data = ExperimentData("e1", ("control", "b"), pd.DataFrame(rows), metrics=METRICS, dims=("day",))
    r = analyze(data, cuped=False)
    dow = r.time_effects.dow
    assert dow.imbalanced and dow.p_value < 1e-6 and not dow.whole_weeks
    assert dow.days_by_weekday == {"Mon": 2, "Tue": 2, "Wed": 2, "Thu": 1, "Fri": 1, "Sat": 1, "Sun": 1}
    assert decide(r, policy="decision-layer").facts["dow_imbalance"] is True
    assert "differs by day of week" in r.time_effects.sentences()[0] and "bandit" not in r.time_effects.sentences()[0]
    # a bandit's split moves from day to day by design: the same imbalance is said to be expected of it
    bandit = analyze(ExperimentData("e1", ("control", "b"), pd.DataFrame(rows), metrics=METRICS, dims=("day",),
                                    meta={"allocation": "bandit"}), cuped=False).time_effects
    assert bandit.dow.imbalanced and bandit.dow.adaptive and "expected of a bandit" in bandit.sentences()[0]
    balanced = analyze(_data(days=14), cuped=False).time_effects.dow
    assert not balanced.imbalanced and balanced.whole_weeks and balanced.sentence() == ""


def test_a_sequential_decision_flags_a_worse_guardrail_by_its_always_valid_p():
    # return rate 20.0 % → 21.3 %: a fixed-horizon p under 0.05 but not the always-valid one; the change
    # (1.3 pp) is under this brief's threshold, so only the p can call it "worsened"
    r = analyze(_data(bounce_t=2130, days=7), cuped=False, sequential=SequentialOptions(10000))
    c = r.metrics[1].comparisons[0]
    assert c.p_value_adjusted < 0.05 < c.extra["sequential"]["p_value"]
    guard = [{"metric": "return_rate", "worsened_abs": 0.02}]
    fixed = decide(r, brief=parse_brief(brief_dict(guardrails=guard)), policy="decision-layer")
    seq = decide(r, brief=parse_brief(brief_dict(guardrails=guard, sequential=True)), policy="decision-layer")
    assert fixed.facts["guardrails_worsened"] == 1 and "adjusted p" in fixed.facts["worsened_list"]
    assert seq.facts["guardrails_worsened"] == 0 and seq.facts["worsened_list"] == "none"
    # a clear worsening is flagged by the always-valid p too, and the list says which p it was
    bad = analyze(_data(bounce_t=2400, days=7), cuped=False, sequential=SequentialOptions(10000))
    assert bad.metrics[1].comparisons[0].extra["sequential"]["p_value"] < 0.05
    seq = decide(bad, brief=parse_brief(brief_dict(guardrails=guard, sequential=True)), policy="decision-layer")
    assert seq.facts["guardrails_worsened"] == 1 and "always-valid p" in seq.facts["worsened_list"]
