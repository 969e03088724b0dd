"""The numbers each view shows come from the pipeline, unchanged, and agree with independent references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from workbench.dashboard.data import (best_comparison, chance_over_time, decision_log, filter_portfolio, forest_frame,
                                      funnel_frame, portfolio_frame, portfolio_rows, posterior_curves, report_links,
                                      rollout_progress, segment_result, trend_frame, variant_tiles)
from workbench.stats.bayes import beta_binomial
from workbench.summary import summarize

HEALTHY = "pdp-shoes-hero"


def test_portfolio_rows_carry_the_pipeline_numbers(shared_service):
    snap = shared_service.snapshot
    rows = portfolio_rows(snap.outcomes, snap.registry)
    assert [r.experiment_id for r in rows] == list(snap.outcomes) and len(rows) == 13
    total = sum(sum(o.result.units) for o in snap.outcomes.values())
    for r in rows:
        o = snap.outcomes[r.experiment_id]
        assert r.decision == o.decision.action and r.decision_reason == o.decision.reason
        assert r.health == o.result.health.status
        assert r.state == snap.registry.records[r.experiment_id].state == "running"
        assert r.traffic_share == pytest.approx(sum(o.result.units) / total)
        assert r.days_running == pytest.approx(o.decision.facts["days_running"])
        c = best_comparison(o)
        if c is None:
            assert r.lift_rel is None and r.prob_beat_control is None
        else:
            assert c.variant == o.decision.facts["best_variant"] or len(o.result.primary.comparisons) == 1
            assert r.lift_rel == c.lift_rel and (r.lift_rel_lo, r.lift_rel_hi) == tuple(c.lift_rel_ci)
            assert r.prob_beat_control == c.prob_beat_control
        assert {b.kind for b in r.badges} >= {"health", "guardrail"}
    assert sum(r.traffic_share for r in rows) == pytest.approx(1.0)


def test_filters_combine(shared_service):
    snap = shared_service.snapshot
    frame = portfolio_frame(portfolio_rows(snap.outcomes, snap.registry))
    assert len(filter_portfolio(frame)) == 13
    beauty = filter_portfolio(frame, categories=["beauty"])
    assert set(beauty["experiment_id"]) == {"pdp-beauty-srm", "pdp-beauty-novelty"}
    assert list(filter_portfolio(frame, categories=["beauty"], text="SRM")["experiment_id"]) == ["pdp-beauty-srm"]
    assert set(filter_portfolio(frame, text="shoes")["experiment_id"]) == {"pdp-shoes-hero", "pdp-shoes-stockout"}
    held = filter_portfolio(frame, decisions=["hold"], health=["healthy"])
    assert (held["decision"] == "hold").all() and (held["health"] == "healthy").all()
    assert filter_portfolio(frame, states=["archived"]).empty


def test_tiles_match_the_summary_and_the_cube(shared_service):
    o = shared_service.snapshot.outcomes[HEALTHY]
    tiles = variant_tiles(o, {"control": 0.5, "treatment": 0.5})
    rows = {r["variant"]: r for r in summarize(o.data).rows}
    arms = o.data.arm_table()
    for t in tiles:
        assert t.units == arms.loc[t.variant, "n"] == rows[t.variant]["units"]
        assert t.impressions == arms.loc[t.variant, "impressions__sum"]
        assert t.cvr == pytest.approx(arms.loc[t.variant, "purchased__sum"] / arms.loc[t.variant, "n"])
        assert t.ctr == pytest.approx(arms.loc[t.variant, "clicks__sum"] / arms.loc[t.variant, "impressions__sum"])
        assert t.revenue == pytest.approx(arms.loc[t.variant, "revenue__sum"])
        assert t.weight == 0.5
    assert [t.is_control for t in tiles] == [True, False]


def test_funnel_shares_fall_step_by_step(shared_service):
    o = shared_service.snapshot.outcomes[HEALTHY]
    f = funnel_frame(o)
    assert list(f["step"].unique()) == ["viewed", "clicked", "carted", "purchased"]
    for _, g in f.groupby("variant"):
        assert g["share"].iloc[0] == 1.0
        assert (np.diff(g["share"].to_numpy()) <= 0).all()
    arms = o.data.arm_table()
    purchased = f[(f["step"] == "purchased") & (f["variant"] == "control")]["units"].iloc[0]
    assert purchased == arms.loc["control", "purchased__sum"]


def test_trend_frame_divides_purchases_by_active_users_and_drops_time_zones():
    ts = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01 01:00", "2026-01-01 00:00", "2026-01-01 00:00"], utc=True),
                       "variant": ["a", "b", "a"], "units": [10, 0, 4], "impressions": [1, 1, 1],
                       "clicks": [0, 0, 0], "carts": [0, 0, 0], "purchases": [2, 0, 1], "revenue": [0.0, 0.0, 0.0]})
    out = trend_frame(ts)
    assert list(out.columns) == ["ts", "variant", "units", "purchases", "cvr"]
    assert out["ts"].dt.tz is None and out["ts"].is_monotonic_increasing
    assert out["cvr"].iloc[0] == 0.25 and math.isnan(out["cvr"].iloc[1]) and out["cvr"].iloc[2] == 0.2
    assert trend_frame(ts, ["b"])["variant"].tolist() == ["b"]
    assert trend_frame(pd.DataFrame()).empty


def test_posterior_densities_are_the_beta_posteriors_behind_p_beat(shared_service):
    o = shared_service.snapshot.outcomes[HEALTHY]
    curves = posterior_curves(o)
    assert curves.kind == "rate" and curves.metric == "cvr"
    st = o.data.stats("cvr", use_covariate=False)
    ref = beta_binomial(st.n, st.sum, arms=list(o.data.variants))
    dens = {v: g for v, g in curves.frame.groupby("variant")}
    for i, v in enumerate(o.data.variants):
        x, y = dens[v]["x"].to_numpy(), dens[v]["density"].to_numpy()
        assert integrate.trapezoid(y, x) == pytest.approx(1.0, abs=2e-3)
        assert integrate.trapezoid(x * y, x) == pytest.approx(ref.posterior_mean[i], rel=1e-3)
    # P(treatment > control) by integrating the drawn densities agrees with the analysis' number
    a, b = 1 + st.sum, 1 + st.n - st.sum
    p = integrate.quad(lambda x: stats.beta.pdf(x, a[1], b[1]) * stats.beta.cdf(x, a[0], b[0]), 0, 1, limit=200)[0]
    c = o.result.primary.comparisons[0]
    assert p == pytest.approx(c.prob_beat_control, abs=1e-6)
    assert curves.prob_beat_control == {"treatment": c.prob_beat_control}


def test_posterior_of_a_mean_metric_is_the_normal_lift(shared_service):
    o = shared_service.snapshot.outcomes["reco-model-v2"]      # primary: revenue per user (a mean)
    curves = posterior_curves(o)
    assert curves.kind == "lift" and "flat prior" in curves.model
    c = o.result.primary.comparisons[0]
    g = curves.frame[curves.frame["variant"] == c.variant]
    x, y = g["x"].to_numpy(), g["density"].to_numpy()
    assert integrate.trapezoid(x * y, x) == pytest.approx(c.lift_abs, abs=1e-6 + 1e-3 * abs(c.lift_abs))
    assert float(x[np.argmax(y)]) == pytest.approx(c.lift_abs, abs=2 * (x[1] - x[0]))
    # P(lift > 0) under the drawn normal = the analysis' chance to beat control
    sd = math.sqrt(integrate.trapezoid((x - c.lift_abs) ** 2 * y, x))
    assert stats.norm.sf(0, c.lift_abs, sd) == pytest.approx(c.prob_beat_control, abs=2e-3)


def test_chance_over_time_ends_at_the_analysis_number(shared_service):
    o = shared_service.snapshot.outcomes[HEALTHY]
    ch = chance_over_time(o)
    days = o.data.levels("day")
    assert len(ch) == len(days) and ch["day"].is_monotonic_increasing
    assert (np.diff(ch["units"].to_numpy()) >= 0).all()            # cumulative
    assert ch["prob_beat_control"].between(0, 1).all()
    assert ch["prob_beat_control"].iloc[-1] == pytest.approx(o.result.primary.comparisons[0].prob_beat_control,
                                                             abs=1e-9)


def test_forest_rows_are_the_comparisons_then_the_segments(shared_service):
    o = shared_service.snapshot.outcomes["pdp-electronics-cta"]     # three arms
    seg = segment_result(o, "device")
    f = forest_frame(o, seg)
    n_metric = sum(len(m.comparisons) for m in o.result.metrics)
    metric_rows, seg_rows = f[~f["group"].str.startswith("segment")], f[f["group"].str.startswith("segment")]
    assert len(metric_rows) == n_metric
    assert list(metric_rows["group"].drop_duplicates()) == ["primary", "secondary", "guardrail"]
    primary_seg = next(m for m in seg.metrics if m.metric == o.result.primary.name)
    assert len(seg_rows) == len(primary_seg.rows)
    for m in o.result.metrics:
        for c in m.comparisons:
            row = metric_rows[(metric_rows["metric"] == m.name) & (metric_rows["variant"] == c.variant)].iloc[0]
            if math.isfinite(c.lift_rel):
                assert row["lift_rel"] == pytest.approx(c.lift_rel)
            else:                                       # undefined when the control is 0: not drawn
                assert math.isnan(row["lift_rel"]) and row["better"] is None
            assert row["significant"] == (c.p_value_adjusted < o.result.alpha)
            if m.role == "guardrail" and math.isfinite(c.lift_rel):
                assert row["better"] == (c.lift_rel < 0)                  # lower is better for guardrails
    assert seg_rows["label"].str.startswith("device=").all()


def test_decision_log_starts_with_the_current_decision(service):
    o = service.snapshot.outcomes[HEALTHY]
    log = decision_log(o, service.snapshot.registry)
    assert len(log) == 1 and log.iloc[0]["action"] == o.decision.action and log.iloc[0]["source"].startswith("now")
    service._reg().record_decision(o.decision, by="kim")
    service.refresh_registry(background=False)
    log = decision_log(o, service.snapshot.registry)
    assert len(log) == 2 and log.iloc[1]["source"] == "recorded by kim" and log.iloc[1]["reason"] == o.decision.reason


def test_rollout_progress_follows_the_registry(service):
    from workbench.lifecycle.rollout import plan_rollout, rollout_status, start_rollout
    reg = service._reg()
    none = rollout_progress(rollout_status(reg, HEALTHY))
    assert not none.active and none.stages == () and none.summary == "no staged rollout"
    start_rollout(reg, plan_rollout(HEALTHY, "treatment", control="control", baseline_rate=0.05), by="ops", why="test")
    p = rollout_progress(rollout_status(reg, HEALTHY))
    assert p.active and p.stages == (0.25, 0.5, 1.0) and p.stage == 1 and p.share == 0.25
    assert "stage 1 of 3: 25% of traffic on treatment" in p.summary
    assert list(p.steps["event"]) == ["started"]


def test_report_links_say_which_files_exist(tmp_path):
    (tmp_path / "exp-1").mkdir()
    (tmp_path / "exp-1" / "memo.html").write_text("<p>memo</p>")
    links = {link.key: link for link in report_links(tmp_path, "exp-1")}
    assert links["memo"].exists and links["memo"].url == "/reports/exp-1/memo.html"
    assert not links["report"].exists and not links["pdf"].exists


def test_registered_experiments_without_events_are_listed(service):
    from workbench.lifecycle.brief import ExperimentBrief
    reg = service._reg()
    reg.create(ExperimentBrief(id="new-draft", owner="kim", variants=[{"id": "control"}, {"id": "b"}],
                               min_sample_size=1000, targeting={"categories": ["shoes"]}), by="kim", why="planned")
    service.refresh_registry(background=False)
    rows = {r.experiment_id: r for r in portfolio_rows(service.snapshot.outcomes, service.snapshot.registry)}
    assert set(rows) == set(service.snapshot.outcomes) | {"new-draft"}
    draft = rows["new-draft"]
    assert (draft.state, draft.decision, draft.health, draft.category) == ("draft", "no data", "no data", "shoes")
    assert draft.lift_rel is None and draft.traffic_share is None


def test_report_links_follow_the_runners_folder_for_unsafe_ids(tmp_path):
    from workbench.reports.keys import report_dirname

    eid = "../pdp x"
    folder = tmp_path / report_dirname(eid)          # where the report runner writes it
    folder.mkdir()
    (folder / "memo.html").write_text("<h1>memo</h1>", encoding="utf-8")
    links = {link.key: link for link in report_links(tmp_path, eid)}
    assert links["memo"].exists and links["memo"].url == f"/reports/{report_dirname(eid)}/memo.html"
    assert ".." not in links["report"].url
