"""The decision memo: content for each decision, automatic risks, next actions, and escaping of hostile names."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import mistune
import pytest

from workbench.errors import InputError, Problem
from workbench.lifecycle.memo import build_memo, md_escape, write_memo
from workbench.lifecycle.policies import DecisionContext

from .builders import T0, comp, guardrail, make_brief, result

NOW = dt.datetime(2026, 3, 20, 8, 0)
GUARDS = (guardrail("error_rate", 0.002, 0.0021, p=0.6), guardrail("lcp", 2.4, 2.41, p=0.7, limit=3.5))


def memo_for(res, **kw):
    brief = kw.pop("brief", make_brief())
    return build_memo(res, brief=brief, now=NOW, **kw)


def md_lines(memo) -> list[str]:
    return memo.to_markdown().splitlines()


def test_launch_memo_has_every_section_and_the_evidence():
    m = memo_for(result([comp(p=0.001, prob=0.998)], guardrails=GUARDS, srm_p=0.42), period=(T0, NOW))
    md = m.to_markdown()
    lines = md.splitlines()
    assert lines[0] == "# Decision memo: Bolder CTA (exp-1)"
    assert lines[2].startswith("**Decision: LAUNCH** — Launch b:")
    assert [l for l in lines if l.startswith("## ")] == ["## Summary", "## Evidence", "## Risks and limitations",
                                                         "## Next actions"]
    for text in ("2026-03-01 09:00 to 2026-03-20 08:00", "control (control) 50%, b 50%", "lcp <= 3.5",
                 "error\\_rate <= 0.005", "**Data version:** v1", "SRM p = 0.420", "+20.00%", "99.8%",
                 "[10.00%, 30.00%]", "0.001", "Roll out b in stages 25% → 50% → 100%", "30-minute window",
                 "Health: HEALTHY"):
        assert text.replace("[", "\\[").replace("]", "\\]") in md or text in md, text
    assert "| error\\_rate | b | 0.20% | 0.21% | +0.01 pp | 0.600 | 0.50% | fine |" in md


def test_hold_memo_says_why_first():
    m = memo_for(result([comp(p=0.001)], guardrails=GUARDS, srm_p=0.0002))
    lines = md_lines(m)
    assert lines[2].startswith("**Decision: HOLD** — Hold: sample ratio mismatch")
    assert "Find the cause of the sample ratio mismatch" in m.to_markdown()
    assert "Other rules that also held" in m.to_markdown()         # the launch it would otherwise have been
    html = m.to_html()
    assert html.index("HOLD") < html.index("Summary")


def test_not_significant_hold_lists_samples_still_needed():
    m = memo_for(result([comp(variant_value=0.103, p=0.3)], guardrails=GUARDS, units=(10000.0, 10000.0)),
                 brief=make_brief(mde=0.05))
    md = m.to_markdown()
    need = m.decision.facts["units_needed"]
    assert need > 0 and f"about {need:,} more units are needed" in md
    assert "Below the planned sample" not in md                   # 10,000 = the brief's minimum
    assert "The planned sample is reached: re-decide daily (stop at 14 days at most)." in md


def test_not_significant_at_the_maximum_duration_says_stop_not_keep_running():
    """At its maximum duration a flat experiment is not told to keep running for more units: the decision is
    Stop (the banner no longer says "needs N more units"), and the memo says to stop and keep the control, and
    what detecting so small a lift would take."""
    res = result([comp(variant_value=0.103, p=0.3)], guardrails=GUARDS, units=(10000.0, 10000.0))
    ctx = DecisionContext(now=T0 + dt.timedelta(days=14), started_at=T0)
    m = build_memo(res, brief=make_brief(mde=0.05), context=ctx, now=NOW)
    f = m.decision.facts
    assert (m.decision.action, m.decision.rule, m.decision.winner, f["max_duration_reached"]) == \
        ("stop", "max-duration", None, True)
    assert "maximum duration (14 days) is reached" in m.decision.reason and "more units" not in m.decision.reason
    earlier = build_memo(res, brief=make_brief(mde=0.05), context=DecisionContext(now=T0 + dt.timedelta(days=7),
                                                                                   started_at=T0), now=NOW)
    assert (earlier.decision.action, earlier.decision.rule) == ("hold", "not-significant")
    steps = m.items("Next actions")
    assert steps[2] == "No variant won: control stays and no tags go to the learning store."
    assert steps[0] == ("The maximum duration (14 days) is reached without a significant difference: stop the "
                        "experiment and keep control (`workbench experiments stop exp-1`).")
    assert steps[1].startswith(f"Detecting a difference this small would need about {f['units_needed']:,} more units")
    assert not any("Keep the experiment running" in s for s in steps)
    assert steps[1].endswith("a more sensitive metric (CUPED) rather than extending this one.")   # a Welch t-test here
    cuped = result([comp(variant_value=0.103, p=0.3, test="cuped-welch")], guardrails=GUARDS, units=(10000.0, 10000.0))
    steps = build_memo(cuped, brief=make_brief(mde=0.05), context=ctx, now=NOW).items("Next actions")
    assert steps[1].endswith("or a more sensitive metric rather than extending this one.")     # CUPED is used already


def test_rollback_memo_gives_rollback_steps():
    severe = guardrail("error_rate", 0.001, 0.0045, p=0.001, limit=None)
    m = memo_for(result([comp(p=0.001)], guardrails=[severe]))
    md = m.to_markdown()
    assert md_lines(m)[2].startswith("**Decision: ROLLBACK**")
    assert "Send all traffic back to control now" in md and "root cause" in md
    assert "severely worse" in md


@pytest.mark.parametrize("ctx, rule, words", [
    (DecisionContext(stock_drop=0.7), "stock-drop", "stock is back"),
    (DecisionContext(price_change=0.3), "price-change", "price is stable"),
])
def test_operational_hold_next_actions(ctx, rule, words):
    m = memo_for(result([comp(p=0.001)], guardrails=GUARDS), context=ctx)
    assert m.decision.rule == rule and words in m.to_markdown()


def test_bayesian_keep_testing_and_stop_memos():
    brief = make_brief(policy="bayesian-promotion")
    keep = memo_for(result([comp(p=0.2, prob=0.9)], units=(12000.0, 12000.0)), brief=brief)
    assert md_lines(keep)[2].startswith("**Decision: KEEP TESTING**")
    assert "maximum duration (14 days)" in keep.to_markdown()
    ctx = DecisionContext(now=T0 + dt.timedelta(days=20), started_at=T0)
    stop = memo_for(result([comp(p=0.2, prob=0.8)], units=(5000.0, 5000.0)), brief=brief, context=ctx)
    assert md_lines(stop)[2].startswith("**Decision: STOP**")
    assert "workbench experiments stop exp-1 --winner b" in stop.to_markdown()
    promote = memo_for(result([comp(p=0.01, prob=0.99)], units=(12000.0, 12000.0)), brief=brief)
    assert md_lines(promote)[2].startswith("**Decision: PROMOTE**") and "in stages" in promote.to_markdown()


def test_blocked_memo():
    issue = Problem("blocked", "over", "conversions > users", file="ab.csv", column="conversions", row=2, value=120)
    m = memo_for(result([comp(p=0.001)], health="blocked", issues=[issue]))
    md = m.to_markdown()
    assert md_lines(m)[2].startswith("**Decision: HOLD** — Hold: the health check is Blocked")
    assert "blocked: ab.csv: row 2, column conversions, value 120: conversions \\> users" not in md
    assert "conversions > users" in md and "Fix the data problems" in md


def test_risks_are_filled_in_automatically():
    res = result([comp("b", p=0.01), comp("c", variant_value=0.11, p=0.2)], units=(60.0, 55.0, 58.0),
                 source="experiment_aggregated.csv", primary_name="cvr")
    m = build_memo(res, brief=make_brief(variants=[{"id": "control"}, {"id": "b"}, {"id": "c"}],
                                         guardrails=["lcp <= 3.5s"]),
                   context=DecisionContext(looks=3), now=NOW)
    risks = m.to_markdown().split("## Risks and limitations")[1].split("## Next actions")[0]
    for words in ("Aggregated input", "Small sample", "Below the planned sample", "Multiple looks: decided on 3 "
                  "successive versions of its data", "Multiple comparisons: 2 variants", "not measured: lcp",
                  "No Bayesian summary", "No guardrail metrics were analysed"):
        assert words in risks, words


HOSTILE = '<script>alert("x")</script> & "quotes" \'single\' ../../etc/passwd | *bold* [x](http://evil)'


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_names_are_escaped_everywhere():
    res = result([comp(HOSTILE, p=0.001, control="ctl\"><img src=x onerror=alert(1)>")],
                 variants=("ctl\"><img src=x onerror=alert(1)>", HOSTILE), experiment_id="../../evil<id>",
                 data_version=HOSTILE, source=HOSTILE, notes=(HOSTILE,))
    brief = make_brief(name=HOSTILE, hypothesis=HOSTILE, owner=HOSTILE)
    m = build_memo(res, brief=brief, now=NOW)
    html = m.to_html()
    parsed = _Collector()
    parsed.feed(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "a" not in parsed.tags
    assert not any(k.startswith("on") for k, _ in parsed.attrs)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&quot;quotes&quot;" in html
    assert HOSTILE in "".join(parsed.text)                           # shown as text, intact
    md = m.to_markdown()
    assert "<script>" not in md and "<img" not in md and "[x](http://evil)" not in md
    assert "\\[x\\](http://evil)" in md
    assert "&lt;script>" in md and "\\|" in md and "\\*bold\\*" in md
    rendered = _Collector()                      # what a Markdown viewer would show (mistune, via nbconvert)
    rendered.feed(mistune.html(md))
    assert "script" not in rendered.tags and "img" not in rendered.tags and "a" not in rendered.tags
    assert HOSTILE in "".join(rendered.text).replace("\n", "")
    assert m.experiment_id == "../../evil<id>"                        # ids are data; paths are the caller's


def test_html_is_self_contained():
    html = memo_for(result([comp(p=0.001)], guardrails=GUARDS)).to_html()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html and "url(" not in html


def test_write_memo_by_suffix_and_atomically(tmp_path):
    m = memo_for(result([comp(p=0.001)], guardrails=GUARDS))
    md = write_memo(m, tmp_path / "out" / "memo.md")
    html = write_memo(m, tmp_path / "out" / "memo.html")
    assert md.read_text(encoding="utf-8") == m.to_markdown()
    assert html.read_text(encoding="utf-8") == m.to_html()
    with pytest.raises(InputError, match=r"\.md or \.html"):
        write_memo(m, tmp_path / "memo.pdf")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["memo.html", "memo.md"]   # no temp files left


def test_same_inputs_same_bytes():
    res = result([comp(p=0.2)], guardrails=GUARDS)
    assert memo_for(res).to_html() == memo_for(res).to_html()


def test_md_escape_neutralises_markdown():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("line1\nline2") == "line1 line2"
    assert md_escape(None) == ""


def test_commands_in_next_actions_render_as_code():
    m = memo_for(result([comp(p=0.001)], guardrails=GUARDS))
    assert "`workbench experiments promote exp-1`" in m.to_markdown()
    assert "<code>workbench experiments promote exp-1</code>" in mistune.html(m.to_markdown())
    assert "<code>workbench experiments promote exp-1</code>" in m.to_html()


def test_promoting_despite_a_worsened_guardrail_is_named_as_a_risk():
    # ADR-008's canary policy promotes on conversion alone while errors stay under 1 %; the memo must still warn.
    worse = (guardrail("error_rate", 0.001, 0.003, p=1e-6, limit=0.005),)
    m = memo_for(result([comp(p=0.001)], guardrails=worse), policy="model-promotion")
    assert m.decision.action == "promote"
    risks = m.to_markdown().split("## Risks and limitations")[1].split("## Next actions")[0]
    assert "A guardrail worsened, though within its limit" in risks and "error\\_rate" in risks
    calm = memo_for(result([comp(p=0.001)], guardrails=GUARDS), policy="model-promotion")
    assert "A guardrail worsened" not in calm.to_markdown()
