"""Every section renders in-process from the database directly, with the same numbers as the notebook's report."""

from __future__ import annotations

import json

import pytest

from workbench.reports import SECTIONS, load_report
from workbench.reports.portfolio import write_index, write_status
from workbench.reports.render import external_resources
from workbench.reports.report import section_methods
from workbench.reports.runner import ReportOutcome, ReportRun


@pytest.mark.parametrize("eid", ["pdp-shoes-hero", "pdp-beauty-srm", "hostile-names"])
def test_direct_report_matches_the_notebook_report(built, eid):
    report = load_report(eid, db=built.db)
    mine = report.summary()
    theirs = json.loads((built.out / eid / "summary.json").read_text())
    for key in ("health", "primary", "guardrails", "units", "data_version", "roi", "sequential"):
        _close(json.loads(_dumps(mine[key])), theirs[key], key)
    assert mine["decision"]["action"] == theirs["decision"]["action"]
    assert mine["decision"]["reason"] == theirs["decision"]["reason"]
    html = "".join(str(getattr(report, m)()) for m in section_methods().values())
    assert external_resources(html) == []
    assert list(section_methods()) == list(SECTIONS)


def _close(a, b, where: str) -> None:
    """Equal up to float rounding (the engine may sum in a different order in another process)."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def _dumps(x):
    from workbench.display import dumps
    return dumps(x)


def test_a_policy_override_changes_the_decision_only(built):
    base = load_report("pdp-shoes-hero", db=built.db)
    other = load_report("pdp-shoes-hero", db=built.db, policy="bayesian-promotion")
    assert other.decision.policy == "bayesian-promotion" and base.decision.policy == "decision-layer"
    assert other.result.primary.comparisons == base.result.primary.comparisons


def test_blocked_experiment_sections_say_why(built):
    from workbench.health import nothing_to_show
    r = load_report("pdp-beauty-srm", db=built.db)
    assert r.blocked
    for section, what, first in ((r.primary_result, "primary result", True), (r.guardrails, "guardrail results", False),
                                 (r.cuped, "analysis", False), (r.segments, "analysis", False)):
        html = str(section())
        sentence = nothing_to_show(r.result.health, what, first=first)
        assert sentence is not None and ("sample ratio mismatch" in sentence) == first
        assert sentence in html.replace("&#x27;", "'")
        assert "wb-plot" not in html and "<table" not in html      # no empty frames
    srm_sentence = next(p.message for p in r.result.health.issues if p.code.startswith("srm"))
    body = "".join(str(getattr(r, m)()) for m in section_methods().values())
    assert body.count(srm_sentence) <= 1                               # the trust section explains it, once
    assert "SRM over time" in str(r.trust())
    assert "first fell below" in str(r.trust())
    # the health hold read no test: the decision section has no "Decided by" line (as the card and `decide`)
    assert r.decision.decided_by is None and "Decided by" not in str(r.decision_section())
    hero = load_report("pdp-shoes-hero", db=built.db)
    assert f"Decided by</th><td class='v'>{hero.decision.decided_by}" in str(hero.decision_section())


def test_portfolio_escapes_and_reports_failures(tmp_path):
    d = tmp_path / "exp-1"
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({
        "experiment_id": "exp-1", "name": "<script>bad()</script>", "kind": "ab",
        "health": {"status": "healthy"}, "decision": {"action": "launch", "reason": "<b>go</b>"},
        "primary": {"metric": "cvr", "comparisons": [{"variant": "<v>", "lift_rel": 0.1, "lift_rel_ci": [0.0, 0.2],
                                                       "p_value_adjusted": 0.01}]},
        "files": ["report.html", "summary.json"]}))
    run = ReportRun((ReportOutcome("exp-1", "failed", error="KeyError: '<x>'", cell=4, section="Trust"),
                     ReportOutcome("exp-2", "failed", error="boom")), str(tmp_path), "", 1.0, 1, None, "cache")
    write_status(tmp_path, run)
    html = write_index(tmp_path).read_text()
    assert "<script>bad()" not in html and "&lt;script&gt;bad()&lt;/script&gt;" in html
    assert "<b>go</b>" not in html and "&lt;v&gt;" in html
    assert "exp-1: failed in cell 4 (Trust): KeyError: &#x27;&lt;x&gt;&#x27;" in html
    assert "showing the previous report" in html and "no report yet" in html       # exp-2 never built
    assert "href='exp-1/report.html'" in html and "exp-1/report.pdf" not in html


def test_heterogeneity_is_one_sentence_per_variant(built):
    r = load_report("pdp-shoes-hero", db=built.db)
    html = str(r.segments())
    assert html.count("Cochran") == sum(len(m.heterogeneity) for res in r.segment_results.values() for m in res.metrics)
