"""One story: the adjusted estimates and the segment SRM / balance lines read the same in the CLI, memo,
report and dashboard (each view renders the rows of workbench.adjust_tables)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_adjustment import _cube, _units
from test_health_balance import _segment_cube

from workbench.adjust_tables import adjustment_rows, segment_srm_summary
from workbench.analysis import analyze
from workbench.display import escape
from workbench.experiment_data import ExperimentData
from workbench.metrics import Metric


@pytest.fixture(scope="module")
def result():
    df = _units(seed=21)
    clicks = Metric("clicks", "mean", "clicks", covariate="pre_purchased", role="primary")
    return analyze(ExperimentData("e", ("control", "treatment"), _cube(df), metrics=(clicks,),
                                  dims=("device", "channel")))


def test_memo_report_and_dashboard_show_the_same_rows(result) -> None:
    from workbench.dashboard.detail import adjusted_html as dash_html
    from workbench.lifecycle.memo import build_memo
    from workbench.reports.sections_adjust import adjusted_html as report_html
    rows = adjustment_rows(result.primary)
    assert [r["estimate"] for r in rows] == ["plain", "CUPED (pre_purchased)", "stratified + covariates"]
    memo = build_memo(result).to_html()
    report = str(report_html(result))
    dash = dash_html(SimpleNamespace(result=result))
    for row in rows:
        for cell in (row["lift"], row["CI"], row["var. reduction"]):
            assert cell in memo and cell in report and cell in dash
    assert "Adjusted estimates of clicks" in memo


def test_segment_srm_line_and_badge_in_the_views() -> None:
    from workbench.dashboard.badges import health_badges
    from workbench.dashboard.detail import checks_html
    from workbench.lifecycle.memo import build_memo
    from workbench.reports.sections_adjust import segment_srm_html
    cvr = Metric("cvr", "proportion", "purchased", role="primary")
    r = analyze(ExperimentData("e", ("control", "b"), _segment_cube(), metrics=(cvr,), dims=("device",)))
    line = segment_srm_summary(r.health)
    assert "2 below 0.001" in line
    assert line in build_memo(r).to_markdown().replace("\\", "")
    assert "Sample ratio by segment" in str(segment_srm_html(r.health))
    assert escape(line) in checks_html(SimpleNamespace(result=r))
    badge = next(b for b in health_badges(r.health) if b.kind == "segment_srm")
    assert badge.level == "warning" and "within device = app" in badge.explanation
    health = next(b for b in health_badges(r.health) if b.kind == "health")
    assert "see the segment SRM badge" in health.explanation
