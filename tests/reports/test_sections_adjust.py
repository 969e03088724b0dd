"""The report's trust section shows SRM by segment and pre-period balance; its CUPED section the adjusted estimates."""

from __future__ import annotations

from workbench.adjust_tables import adjustment_rows, segment_srm_rows
from workbench.display import escape
from workbench.reports import load_report


def test_trust_and_cuped_sections_show_the_new_checks(report_world):
    report = load_report("pdp-shoes-hero", db=report_world)
    trust, cuped = str(report.trust()), str(report.cuped())
    assert "Sample ratio by segment" in trust and "Pre-period balance" in trust
    for row in segment_srm_rows(report.result.health):
        assert escape(row["segment"]) in trust
    rows = [r for m in report.result.metrics for r in adjustment_rows(m)]
    assert rows and "Stratified multi-covariate adjustment" in cuped
    for r in rows:
        assert escape(r["CI"]) in cuped and escape(r["var. reduction"]) in cuped
