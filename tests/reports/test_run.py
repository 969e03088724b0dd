"""Papermill runs of the report notebook on a healthy launch and an SRM hold: summary.json, HTML, memo, PDF, index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workbench.display import escape
from workbench.reports import SECTIONS
from workbench.reports.render import external_resources, find_chromium
from workbench.reports.runner import REPORT_FILES

pytestmark = pytest.mark.notebook


def _summary(built, eid: str) -> dict:
    return json.loads((built.out / eid / "summary.json").read_text(encoding="utf-8"))


def _html(built, eid: str, name: str = "report.html") -> str:
    return (built.out / eid / name).read_text(encoding="utf-8")


def test_every_report_is_built_with_all_its_files(built):
    assert [o.status for o in built.run.outcomes] == ["built"] * 3, [o.describe() for o in built.run.outcomes]
    assert built.run.exit_code == 0
    for o in built.run.outcomes:
        d = Path(o.directory)
        assert all((d / f).stat().st_size > 0 for f in REPORT_FILES)
        assert _summary(built, d.name)["report_key"] == o.key
    assert not list(built.out.glob(".tmp-*")) and not list(built.out.glob(".run-*"))
    kinds = [e for e, _ in built.events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("built") == 3 and "gathered" in kinds


def test_healthy_launch_summary(built):
    s = _summary(built, "pdp-shoes-hero")
    assert s["health"]["status"] == "healthy"
    assert s["decision"]["action"] == "launch" and s["decision"]["winner"] == "treatment"
    assert s["state"] == "running" and s["sections"] == list(SECTIONS)
    (c,) = s["primary"]["comparisons"]
    assert c["variant"] == "treatment" and c["lift_rel"] > 0.5 and c["p_value_adjusted"] < 1e-6
    assert c["lift_rel_ci"][0] > 0
    assert all(g["verdict"] == "ok" for g in s["guardrails"])
    (roi,) = s["roi"]
    assert roi["variant"] == "treatment" and roi["per_day"] > 0 and roi["per_day_ci"][0] < roi["per_day"]
    assert s["sequential"] and s["sequential"][0]["significant"] is True


def test_srm_hold_summary(built):
    s = _summary(built, "pdp-beauty-srm")
    assert s["health"]["status"] == "blocked" and s["health"]["srm_p"] < 1e-5
    assert s["decision"]["action"] == "hold"
    assert "sample ratio mismatch" in s["decision"]["reason"]
    assert s["primary"]["comparisons"] == [] and s["roi"] == []
    assert s["units"] == {"control": 3000.0, "treatment": 2500.0}


@pytest.mark.parametrize("eid", ["pdp-shoes-hero", "pdp-beauty-srm"])
def test_html_has_sections_no_code_and_the_decision(built, eid):
    html = _html(built, eid)
    headings = re.findall(r"<h2[^>]*>(.*?)<a class=\"anchor-link\"", html)
    assert headings == list(SECTIONS)
    assert "report.overview()" not in html and "load_report(" not in html and "inputs_cache" not in html
    assert 'class="jp-InputArea-editor' not in html and 'class="jp-InputPrompt' not in html
    reason = _summary(built, eid)["decision"]["reason"]
    assert escape(reason) in html
    assert external_resources(html) == []                  # opens offline: no CDN script, style or image
    assert "Bokeh" in html and html.count('class="wb-plot"') >= 3
    memo = (built.out / eid / "memo.md").read_text(encoding="utf-8")
    assert "**Decision: " in memo and _summary(built, eid)["decision"]["action"].upper() in memo


def test_no_report_or_memo_shows_a_missing_value_as_nan_or_none(built):
    """A missing value reads "—" (or a sentence) in every view; "nan / nan" once stood for no category or SKU."""
    for eid in ("pdp-shoes-hero", "pdp-beauty-srm"):
        for name in ("report.html", "memo.html", "memo.md"):
            text = re.sub(r"<(script|style)\b.*?</\1>", "", _html(built, eid, name), flags=re.S)
            words = re.sub(r"<[^>]+>", " ", text)
            assert not re.findall(r"\b(?:nan|NaN|None|NaT)\b", words), (eid, name)


def test_pdf_is_printed_when_chromium_is_there(built):
    pdf = built.out / "pdp-shoes-hero" / "report.pdf"
    if find_chromium() is None:
        assert not pdf.exists()
        assert any("Chromium was not found" in n for n in built.run.notes)
        return
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000
    assert _summary(built, "pdp-shoes-hero")["pdf"] is True


def test_hostile_names_are_escaped_everywhere(built):
    raw = ['<script>alert("x")</script>', "<b>bold</b>", '<img src=x onerror="alert(1)">', "</td><script>x()"]
    pages = [_html(built, "hostile-names"), _html(built, "hostile-names", "memo.html"),
             (built.out / "index.html").read_text(encoding="utf-8")]
    for page in pages:
        for r in raw:
            assert r not in page
    report, memo, index = pages
    # nbconvert re-serialises text (an escaped quote may come back as a bare quote: harmless in text)
    norm = report.replace("&quot;", '"')
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;' in norm
    assert '&lt;img src=x onerror="alert(1)"&gt;' in norm and "&lt;/td&gt;&lt;script&gt;x()" in norm
    assert "&lt;script&gt;alert(" in memo and "&lt;script&gt;alert(" in index
    # every free-text field (category, owner, hypothesis, tags) carries SCRIPTS: never live HTML anywhere
    live = re.compile(r"<img[^>]*onerror|<svg[^>]*onload|<script>alert\(1\)|<a\s[^>]*href=[\"']?javascript:", re.I)
    for name, page in zip(("report.html", "memo.html", "index.html"), pages):
        assert live.findall(page) == [], name
    assert "&lt;img src=x onerror=alert(1)&gt;" in memo and "&lt;svg onload=alert(1)&gt;" in memo
    assert "&lt;svg onload=alert(1)&gt;" in report


def test_portfolio_lists_every_experiment_with_links(built):
    index = (built.out / "index.html").read_text(encoding="utf-8")
    for eid in ("pdp-shoes-hero", "pdp-beauty-srm", "hostile-names"):
        assert f"href='{eid}/report.html'" in index and f"href='{eid}/memo.html'" in index
    assert "wb-badge go'>launch" in index and "wb-badge stop'>blocked" in index
    assert external_resources(index) == []


def test_decisions_of_built_reports_are_recorded(built):
    from workbench.lifecycle import Registry
    d = Registry(built.db).decisions()
    got = dict(zip(d["experiment_id"], d["action"]))
    assert got == {"pdp-shoes-hero": "launch", "pdp-beauty-srm": "hold", "hostile-names": "hold"}
    assert set(d["decided_by"]) == {"workbench report"}


def test_the_run_and_each_report_say_where_their_time_went(built):
    stages = built.run.stages
    assert set(stages) == {"check", "start", "gather", "build", "finish"}
    assert all(v >= 0 for v in stages.values())
    # the builds wait for the gathering (the first batch is gathered before any report builds)
    assert stages["build"] >= stages["gather"] > 0
    assert stages["check"] + stages["start"] + stages["build"] + stages["finish"] <= built.run.seconds + 0.05
    for o in built.run.outcomes:
        s = _summary(built, Path(o.directory).name)
        timings = s["timings"]
        assert set(timings) == {"worker", "imports", "notebook", "html", "pdf"} - (set() if s["pdf"] else {"pdf"})
        assert timings["notebook"] > 0 and timings["html"] > 0
        assert sum(timings.values()) <= s["built_seconds"] + 0.05
