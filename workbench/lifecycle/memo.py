"""The one-page decision memo, in Markdown and self-contained HTML.

The memo puts the decision and its one-line reason at the top (a Hold says why first), then:

* **Summary** — experiment, period, variants and split, primary metric, guardrails, data version;
* **Evidence** — health with the SRM p-value and every issue; the primary metric's lift, confidence
  interval, p-value and chance to beat control per variant; each guardrail's Δ and verdict;
* **Risks and limitations** — filled in automatically (aggregated input, small sample, multiple
  looks, multiple comparisons, unmeasured guardrails, exact tests...);
* **Next actions** — per decision: the rollout plan and its monitoring, the samples still needed,
  or the rollback steps.

The memo is built once as plain-text blocks (:class:`DecisionMemo`) and rendered twice, so both
formats say the same thing. Every string that came from a user (names, ids, variant labels, reasons)
is escaped when rendered: HTML-escaped in the HTML, and HTML- plus Markdown-escaped in the Markdown,
so a name such as ``<script>`` shows as text everywhere. The HTML has no external resources.

>>> from workbench.results import AnalysisResult, Comparison, HealthReport, MetricResult
>>> c = Comparison("b", "control", 0.10, 0.12, 0.02, (0.01, 0.03), 0.2, (0.1, 0.3), 0.001, 0.001, "welch",
...                prob_beat_control=0.999)
>>> r = AnalysisResult("exp-1", ("control", "b"), "control", HealthReport("healthy"),
...                    (MetricResult("cvr", "proportion", "primary", (c,)),), units=(5000.0, 5000.0))
>>> memo = build_memo(r)
>>> memo.decision.action
'launch'
>>> print(memo.to_markdown().splitlines()[2])
**Decision: LAUNCH** — Launch b: cvr +20.00% vs control (CI \\[10.00%, 30.00%\\], p = 0.001 by the fixed-horizon Welch t-test) and no guardrail worsened
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import get_settings
from ..adjust_tables import ADJUST_COLUMNS, adjustment_caption, adjustment_rows, balance_summary, segment_srm_summary
from ..display import ResultMixin, escape, fmt_ci, fmt_count, fmt_lift, fmt_num, fmt_p, fmt_p_eq, fmt_pct, fmt_prob, fmt_share, fmt_action
from ..errors import InputError, Problem
from ..files import write_text_atomic
from ..metrics import fmt_metric_delta, fmt_metric_value
from ..results import AnalysisResult, MetricResult
from .brief import ExperimentBrief
from .policies import ACTION_TONE, BAYES_EVIDENCE, Decision, DecisionContext, decide

__all__ = ["DecisionMemo", "Block", "build_memo", "write_memo", "md_escape", "risks", "ACTING"]

ACTING = frozenset({"launch", "promote"})
"""Decisions that change what customers see: ``workbench decide`` and the dashboard's decision card list the
memo's risks beside them, before anyone acts."""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")          # only these open raw HTML in CommonMark
_ENTITY = re.compile(r"&(?=#?\w+;)")                  # only these read as character references


def md_escape(text: Any) -> str:
    """Text safe to drop into Markdown: raw HTML and Markdown syntax neutralised, plain ``<=`` kept readable.

    >>> print(md_escape('<script>alert("x")</script> | *bold* [link](x), lcp <= 3.5 & 5xx >= 0'))
    &lt;script>alert("x")&lt;/script> \\| \\*bold\\* \\[link\\](x), lcp <= 3.5 & 5xx >= 0
    """
    s = "" if text is None else str(text)
    s = _HTML_START.sub("&lt;", _ENTITY.sub("&amp;", s))
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return s.replace("\n", " ").replace("\r", " ")


def _inline(text: Any, esc: Any, code: Any) -> str:
    """``esc`` the text; spans between backticks become ``code(span)`` (unbalanced backticks: all text)."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:
        return esc(text)
    return "".join(code(p) if i % 2 else esc(p) for i, p in enumerate(parts))


def _md_inline(text: Any) -> str:
    """Like :func:`md_escape`, but text between backticks stays a code span (commands in next actions)."""
    return _inline(text, md_escape, lambda p: f"`{p}`")


def _html_inline(text: Any) -> str:
    """HTML-escaped text whose backtick spans become ``<code>``."""
    return _inline(text, escape, lambda p: f"<code>{escape(p)}</code>")


@dataclass(frozen=True)
class Block:
    """One piece of a memo section: a paragraph, a bullet list, a table or key-value pairs."""

    kind: str                         # "p" | "ul" | "table" | "kv"
    items: tuple[Any, ...] = ()       # p: (text,), ul: texts, kv: (key, value) pairs, table: rows
    header: tuple[str, ...] = ()      # table column names
    strong: bool = False


@dataclass(frozen=True)
class DecisionMemo(ResultMixin):
    """The memo's content as plain text; :meth:`to_markdown` and :meth:`to_html` render it."""

    experiment_id: str
    title: str
    decision: Decision
    sections: tuple[tuple[str, tuple[Block, ...]], ...]
    generated_at: dt.datetime
    badge: str = ""

    def to_frame(self):  # type: ignore[override]
        import pandas as pd
        return pd.DataFrame([{"section": name, "blocks": len(blocks)} for name, blocks in self.sections])

    def items(self, section: str) -> list[str]:
        """The lines of one section (its list items), as the report and ``workbench decide`` show them."""
        return [str(i) for name, blocks in self.sections if name == section for b in blocks for i in b.items]

    # --- Markdown ---------------------------------------------------------------------------------
    def to_markdown(self) -> str:
        d = self.decision
        out = [f"# Decision memo: {md_escape(self.title)}", "",
               f"**Decision: {fmt_action(d.action).upper()}** — {md_escape(d.reason)}", ""]
        for name, blocks in self.sections:
            out += [f"## {md_escape(name)}", ""]
            for b in blocks:
                out += _md_block(b) + [""]
        out.append(f"_Generated {self.generated_at:%Y-%m-%d %H:%M} UTC by the Experiment Workbench "
                   f"({md_escape(_provenance(d))})._")
        return "\n".join(out) + "\n"

    # --- HTML -------------------------------------------------------------------------------------
    def to_html(self) -> str:
        d = self.decision
        cls = ACTION_TONE.get(d.action, "hold")
        body = [f"<h1>Decision memo: {escape(self.title)}</h1>",
                f"<div class='decision {cls}'><span class='action'>{escape(fmt_action(d.action).upper())}</span>"
                f"<span class='reason'>{escape(d.reason)}</span></div>"]
        for name, blocks in self.sections:
            body.append(f"<section><h2>{escape(name)}</h2>")
            body += [_html_block(b) for b in blocks]
            body.append("</section>")
        body.append(f"<footer>Generated {escape(f'{self.generated_at:%Y-%m-%d %H:%M}')} UTC by the Experiment "
                    f"Workbench ({escape(_provenance(d))}).</footer>")
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>Decision memo: {escape(self.title)}</title><style>{_CSS}</style></head>"
                f"<body><main>{''.join(body)}</main></body></html>\n")


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans KR',sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:860px;margin:24px auto;background:#fff;padding:28px 36px;border:1px solid #d0d7de;border-radius:8px}
h1{font-size:1.45rem;margin:0 0 14px}h2{font-size:1.1rem;margin:22px 0 8px;border-bottom:1px solid #d8dee4;padding-bottom:4px}
.decision{display:flex;gap:14px;align-items:center;padding:12px 16px;border-radius:6px;border:1px solid}
.decision .action{font-weight:700;font-size:1.1rem;white-space:nowrap}
.go{background:#dafbe1;border-color:#4ac26b}.stop{background:#ffebe9;border-color:#ff8182}
.hold{background:#fff8c5;border-color:#d4a72c}.wait{background:#ddf4ff;border-color:#54aeff}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:6px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f6f8fa}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
dt{font-weight:600}dd{margin:0}ul{margin:4px 0;padding-left:22px}code{background:#f6f8fa;padding:1px 4px;border-radius:4px;font-size:.85em}footer{margin-top:22px;color:#656d76;font-size:.8rem}
@media print{body{background:#fff}main{border:0;margin:0;max-width:none}}
""".strip()


def _md_block(b: Block) -> list[str]:
    if b.kind == "p":
        text = _md_inline(b.items[0])
        text = "\\" + text if text.startswith((">", "#")) else text   # not a quote or heading
        return [f"**{text}**" if b.strong else text]
    if b.kind == "ul":
        return [f"- {_md_inline(x)}" for x in b.items]
    if b.kind == "kv":
        return [f"- **{md_escape(k)}:** {md_escape(v)}" for k, v in b.items]
    rows = ["| " + " | ".join(md_escape(h) for h in b.header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(b.header) - 1)) + "|"]
    rows += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in b.items]
    return rows


def _html_block(b: Block) -> str:
    if b.kind == "p":
        text = _html_inline(b.items[0])
        return f"<p><strong>{text}</strong></p>" if b.strong else f"<p>{text}</p>"
    if b.kind == "ul":
        return "<ul>" + "".join(f"<li>{_html_inline(x)}</li>" for x in b.items) + "</ul>"
    if b.kind == "kv":
        return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in b.items) + "</dl>"
    head = "".join(f"<th>{escape(h)}</th>" for h in b.header)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in b.items)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


# --- content ---------------------------------------------------------------------------------------
def _value(m: MetricResult, v: float | None) -> str:
    return fmt_metric_value(m.name, m.kind, v, m.unit)


def _delta(m: MetricResult, v: float) -> str:
    return fmt_metric_delta(m.name, m.kind, v, m.unit)


def _period(record: Any, result: AnalysisResult, period: tuple[Any, Any] | None) -> str:
    if period is not None:
        start, end = period
    elif record is not None:
        start, end = record.started_at, record.ended_at
    else:
        start = end = None
    fmt = lambda x: "—" if x is None else (x.strftime("%Y-%m-%d %H:%M") if isinstance(x, dt.datetime) else str(x))  # noqa: E731
    if start is None and end is None:
        return "not recorded (aggregated input)" if _aggregated(result) else "not recorded"
    if end is None:
        return f"{fmt(start)} to {fmt(result.as_of)} (data as of; still running)" if result.as_of is not None \
            else f"{fmt(start)} to now (running)"
    return f"{fmt(start)} to {fmt(end)}"


def _aggregated(result: AnalysisResult) -> bool:
    src = (result.source or "").lower()
    return "aggregat" in src or src.endswith(".csv") or any("aggregat" in n.lower() for n in result.notes)


def _summary(result: AnalysisResult, brief: ExperimentBrief | None, record: Any,
             period: tuple[Any, Any] | None) -> tuple[Block, ...]:
    m = result.primary
    split = brief.expected_split if brief and brief.expected_split else None
    if split is None and result.health.srm is not None:
        split = list(result.health.srm.weights)
    variants = ", ".join(f"{v}{' (control)' if v == result.control else ''}"
                         + (f" {fmt_share(split[i])}" if split and i < len(split) else "")
                         for i, v in enumerate(result.variants))
    guards = ([g.describe() for g in brief.guardrails] if brief and brief.guardrails else
              [f"{g.name}" + (f" {'<=' if not g.higher_is_better else '>='} {g.limit:g}" if g.limit is not None else "")
               for g in result.guardrails()])
    name = brief.name if brief and brief.name else (record.name if record is not None else result.experiment_id)
    pairs = [("Experiment", f"{name} ({result.experiment_id})"),
             ("Period", _period(record, result, period)),
             ("Variants", variants),
             ("Units", ", ".join(f"{v} {fmt_num(u)}" for v, u in zip(result.variants, result.units)) or "—"),
             ("Primary metric", (m.label or m.name) if m else "none"),
             ("Guardrails", ", ".join(guards) or "none"),
             ("Data version", result.data_version or "not given"),
             ("Source", result.source or "—")]
    if brief and brief.hypothesis:
        pairs.insert(1, ("Hypothesis", brief.hypothesis))
    if brief:
        pairs.append(("Owner", brief.owner))
    return (Block("kv", tuple(pairs)),)


def _evidence(result: AnalysisResult, decision: Decision) -> tuple[Block, ...]:
    h = result.health
    blocks: list[Block] = []
    srm = h.srm
    srm_text = (f"SRM {fmt_p_eq(srm.p_value)} (observed {', '.join(fmt_count(x) for x in srm.observed)} vs expected "
                f"{', '.join(fmt_count(x) for x in srm.expected)})" if srm is not None else "SRM not checked")
    blocks.append(Block("p", (f"Health: {h.status.upper()} — {srm_text}",), strong=True))
    issues = [f"{p.level}: {p}" for p in h.issues if p.level != "info"]
    if h.bot_exclusion_rate is not None:
        issues.append(f"bots excluded: {fmt_pct(h.bot_exclusion_rate)} of units")
    if issues:
        blocks.append(Block("ul", tuple(issues)))
    checks = tuple(line for line in (segment_srm_summary(h), balance_summary(h)) if line)
    if checks:
        blocks.append(Block("ul", checks))
    if result.aa is not None:      # the checks themselves are in the decision line, stated once
        blocks.append(Block("p", (f"A/A verdict: {result.aa.verdict} (the three checks are in the decision above)",),
                            strong=True))
    m = result.primary
    if m is not None:
        blocks.append(Block("p", (f"Primary: {m.label or m.name}" + (f" (multiplicity: {m.correction})"
                                                                     if m.correction else ""),), strong=True))
        rows = []
        for c in m.comparisons:
            rows.append((c.variant, _value(m, c.control_value), _value(m, c.variant_value), _delta(m, c.lift_abs),
                         fmt_lift(c.lift_rel), fmt_ci(*c.lift_rel_ci, pct=True), fmt_p(c.p_value_adjusted),
                         fmt_prob(c.prob_beat_control), c.test))
        blocks.append(Block("table", tuple(rows), ("variant", f"{result.control}", "variant value", "lift", "relative lift",
                                                   f"{fmt_share(get_settings().ci_level)} CI (relative)", "p (adjusted)",
                                                   "chance to beat control", "test")))
        adjusted = adjustment_rows(m)
        if adjusted:
            blocks.append(Block("p", (f"Adjusted estimates of {m.name}, beside the headline above (which decides): "
                                      + adjustment_caption(m),)))
            blocks.append(Block("table", tuple(tuple(r[c] for c in ADJUST_COLUMNS[1:]) for r in adjusted),
                                tuple(ADJUST_COLUMNS[1:])))
        if decision.facts.get("decided_by"):         # how the primary metric is tested, whatever decided
            blocks.append(Block("p", (f"Significance test: {decision.facts['decided_by']}" +
                                      (f" — always-valid CI (Δ) {decision.facts['primary_cs_abs']}"
                                       if decision.facts.get("sequential") and decision.facts.get("primary_cs_abs")
                                       else ""),)))
    margins = _margin_rows(result)
    if margins:
        blocks.append(Block("p", ("Non-inferiority margins",), strong=True))
        blocks.append(Block("table", margins, ("metric", "variant", "margin", "Δ", "one-sided bound", "p (one-sided)",
                                               "verdict")))
    from ..story import time_sentences
    times = time_sentences(result)
    if times:
        blocks.append(Block("p", ("Time effects",), strong=True))
        blocks.append(Block("ul", times))
    guards = result.guardrails()
    if guards:
        blocks.append(Block("p", ("Guardrails",), strong=True))
        worsened = str(decision.facts.get("worsened_list") or "")
        severe = str(decision.facts.get("severe_list") or "")
        breached = str(decision.facts.get("breached_list") or "")
        rows = []
        for g in guards:
            for c in g.comparisons:
                key = f"{g.name} ({c.variant})"
                verdict = ("severely worse" if key in severe else "worse" if key in worsened else "fine")
                if key in breached:
                    verdict += ", limit crossed"
                rows.append((g.label or g.name, c.variant, _value(g, c.control_value), _value(g, c.variant_value),
                             _delta(g, c.lift_abs), fmt_p(c.p_value_adjusted),
                             "—" if g.limit is None else _value(g, g.limit), verdict))
        blocks.append(Block("table", tuple(rows), ("guardrail", "variant", "control", "variant value", "Δ", "p (adjusted)",
                                                   "limit", "verdict")))
    secondary = [mm for mm in result.metrics if mm.role == "secondary"]
    if secondary:
        rows = [(mm.label or mm.name, c.variant, fmt_lift(c.lift_rel), fmt_ci(*c.lift_rel_ci, pct=True),
                 fmt_p(c.p_value_adjusted)) for mm in secondary for c in mm.comparisons]
        blocks.append(Block("p", ("Secondary metrics (supporting evidence, not decision criteria)",), strong=True))
        blocks.append(Block("table", tuple(rows), ("metric", "variant", "relative lift", "CI", "p (adjusted)")))
    if len(decision.reasons) > 1:
        blocks.append(Block("p", ("Other rules that also held (lower in the policy's order)",), strong=True))
        blocks.append(Block("ul", decision.reasons[1:]))
    if result.notes:
        blocks.append(Block("p", ("Analysis notes",), strong=True))
        blocks.append(Block("ul", tuple(result.notes)))
    return tuple(blocks)


def _margin_rows(result: AnalysisResult) -> tuple[tuple[str, ...], ...]:
    """One row per comparison with a non-inferiority margin (workbench.margins), in the metric's notation."""
    rows = []
    for m in result.metrics:
        for c in m.comparisons:
            ni = c.extra.get("non_inferiority")
            if not isinstance(ni, dict):
                continue
            rel = bool(ni.get("relative"))
            margin = fmt_pct(ni.get("margin")) + " relative" if rel else _delta(m, float(ni.get("margin") or 0.0))
            bound = fmt_lift(ni.get("bound")) if rel else _delta(m, float(ni.get("bound")))
            rows.append((m.label or m.name, c.variant, margin, _delta(m, c.lift_abs), bound, fmt_p(ni.get("p_value")),
                         "non-inferior" if ni.get("non_inferior") else "not shown non-inferior"))
    return tuple(rows)


def risks(result: AnalysisResult, decision: Decision, brief: ExperimentBrief | None = None) -> tuple[str, ...]:
    """The memo's "Risks and limitations", computed from the analysis, the decision (its ``looks`` fact) and the
    brief; the report, ``workbench decide`` and the dashboard show these sentences."""
    s = get_settings()
    looks = int(decision.facts.get("looks") or 1)
    out: list[str] = []
    if _aggregated(result):
        out.append("Aggregated input: counts per variant only, so bots, sticky assignment and segments could not be "
                   "checked, and a unit counted in several events may inflate the counts.")
    units = list(result.units)
    if units and min(units) < s.small_sample_units:
        out.append(f"Small sample: the smallest arm has {fmt_num(min(units))} units (below {s.small_sample_units}); "
                   "estimates are unstable.")
    if decision.facts.get("min_sample_size") and not decision.facts.get("min_sample_reached"):
        out.append(f"Below the planned sample: {decision.facts['sample_progress']}; an early result overstates effects.")
    if decision.facts.get("sequential"):
        pass        # decided on the always-valid confidence sequence: looking again does not inflate false positives
    elif decision.decided_by == BAYES_EVIDENCE:
        out.append("Decided on the chance to beat control: a posterior probability under the analysis's prior, not an "
                   "error rate; acting at the first of repeated looks that crosses the threshold does not bound false "
                   "positives" + (f" (decided on {looks} successive versions of its data)." if looks > 1 else "."))
    elif looks > 1:
        out.append(f"Multiple looks: decided on {looks} successive versions of its data (this one included); repeated "
                   "fixed-horizon tests inflate false positives unless a sequential method is used.")
    elif result.sequential is None:
        out.append("Fixed-horizon test: p-values assume one look at the planned sample; peeking early inflates "
                   "false positives.")
    m = result.primary
    if m is not None and len(m.comparisons) > 1:
        out.append(f"Multiple comparisons: {len(m.comparisons)} variants against the control "
                   f"({m.correction or 'no correction named'}).")
    if m is not None and any(c.test.startswith("fisher") for c in m.comparisons):
        out.append("Small counts: Fisher's exact test was used for some comparisons.")
    if m is not None and all(c.prob_beat_control is None for c in m.comparisons):
        out.append("No Bayesian summary (chance to beat control) was computed for this analysis.")
    if brief:
        measured = {g.name for g in result.guardrails()}
        missing = [g.metric for g in brief.guardrails if g.metric not in measured]
        if missing:
            out.append(f"Guardrails in the brief but not measured: {', '.join(missing)}.")
    if decision.action in ("launch", "promote") and (decision.facts.get("guardrails_worsened") or 0) > 0:
        out.append(f"A guardrail worsened, though within its limit and this policy's rules: "
                   f"{decision.facts.get('worsened_list')}; watch it closely during the rollout.")
    if not result.guardrails():
        out.append("No guardrail metrics were analysed: harm to performance or quality would go unnoticed.")
    if decision.facts.get("novelty_detected"):
        out.append(f"Time trend: {decision.facts.get('novelty_summary')}; the average lift over the window is not "
                   "the lasting one.")
    if decision.facts.get("calendar_overlap"):
        out.append(f"Calendar: {decision.facts.get('calendar_list')}; the window is not a typical period.")
    if result.health.status == "warning":
        out.append("Health warnings (see Evidence) may bias the result.")
    return tuple(out) or ("None found automatically; the usual caveats of online experiments apply.",)


def _too_small(result: AnalysisResult, f: dict[str, Any]) -> tuple[Any, str, str]:
    """The units a not-significant difference would still need, their basis, and what to try instead (CUPED is
    only news when the deciding comparison, the ``best_variant`` fact's, did not use it already)."""
    best = result.primary.best() if result.primary is not None else None
    cuped = best is not None and best.test.startswith("cuped")
    sensitive = "a more sensitive metric" + ("" if cuped else " (CUPED)")
    return f.get("units_needed"), f"({f.get('units_needed_basis')})", sensitive


def _ended_without_a_difference(result: AnalysisResult, f: dict[str, Any]) -> tuple[str, str]:
    """The next actions when the maximum duration is reached without a significant difference (a hold or a stop)."""
    need, basis, sensitive = _too_small(result, f)
    return (f"The maximum duration ({f.get('max_duration_days')} days) is reached without a significant "
            f"difference: stop the experiment and keep {result.control} (`workbench experiments stop "
            f"{result.experiment_id}`).",
            (f"Detecting a difference this small would need about {fmt_num(need)} more units {basis}; "
             if need else "") + f"test a bolder variant or {sensitive} rather than extending this one.")


def _next_actions(result: AnalysisResult, decision: Decision, brief: ExperimentBrief | None) -> tuple[str, ...]:
    cfg = get_settings().lifecycle.rollout
    f = decision.facts
    eid = result.experiment_id
    guards = ", ".join(g.describe() for g in brief.guardrails) if brief and brief.guardrails else \
        ", ".join(g.name for g in result.guardrails()) or "the guardrails"
    a = decision.action
    if result.aa is not None:
        if result.aa.healthy:
            return ("Keep the A/A experiment running as a standing check of assignment, logging and analysis.",
                    "There is nothing to launch: both arms are the same by design.")
        return ("Find what breaks the pipeline: assignment, logging per variant, bot filtering, the analysis.",
                "Treat other experiments on this pipeline with suspicion until the A/A check is healthy again.",
                "There is nothing to launch: both arms are the same by design.")
    if a in ("launch", "promote"):
        stages = " → ".join(fmt_share(s) for s in cfg.stages)
        return (f"Roll out {decision.winner} in stages {stages}, dwelling {cfg.dwell_hours:g} h per stage "
                f"({cfg.min_dwell_hours:g}–{cfg.max_dwell_hours:g} h allowed): `workbench experiments promote {eid}`.",
                f"After each step watch conversion over a sliding {cfg.window_minutes:g}-minute window; the monitor rolls "
                f"back automatically if it falls {fmt_share(cfg.max_drop)} or more below the pre-promotion baseline "
                f"({_value(result.primary, f.get('variant_value')) if result.primary else '—'}).",
                f"Keep alerting on the guardrails during the rollout: {guards}.",
                "When 100 % is reached the winner's tags go to the learning store and the SKU's next experiment is "
                "scheduled after the cooldown.")
    if a == "rollback":
        return (f"Send all traffic back to {result.control} now: `workbench experiments rollback {eid} --why ...`.",
                f"Find the root cause of: {f.get('severe_list') if f.get('guardrails_severe') else decision.reason}.",
                "Check error logs, page performance and the change itself; fix, then test again as a new experiment.",
                "Tell the owner and the on-call engineer; note the incident in the experiment's audit log.")
    if a == "hold":
        rule = decision.rule
        if rule == "health-blocked":
            return ("Fix the data problems listed under Evidence (file, column, row, value), then re-run the analysis.",
                    "Do not act on the lifts above until the health check passes.")
        if rule == "srm-warning":
            return ("Find the cause of the sample ratio mismatch: assignment code, redirects, caching, bot filtering "
                    "and logging per variant.",
                    "Fix it and restart the experiment; results from a mismatched split are not trustworthy.")
        if rule in ("significant-worsened-guardrail", "winner-worsens-guardrail", "guardrail-limit"):
            return (f"Investigate the guardrail regression ({f.get('worsened_list') if rule != 'guardrail-limit' else f.get('breached_list')}).",
                    "Fix the variant (performance, errors, returns) and test again; do not roll out meanwhile.")
        if rule == "stock-drop":
            return ("Wait until stock is back to a normal level, then resume: `workbench experiments resume "
                    f"{eid}`.", "Exclude the stock-out days when reading the results.")
        if rule == "price-change":
            return ("Wait until the price is stable again, then resume or restart the experiment.",)
        if rule == "promotion-period":
            return ("The experiment resumes automatically when the promotion-period switch is turned off.",)
        if rule == "significant-before-planned-sample":
            return (f"Keep the experiment running to its planned sample ({f.get('sample_progress')}); the fixed-horizon "
                    "p-value is valid there, not before.",
                    "Re-decide then. To decide earlier without inflating false positives, set `sequential: true` in "
                    "the brief (an always-valid confidence sequence).")
        if rule == "primary-harmful":
            return ("Stop the variant; it is worse than the control.", "Record what was learnt and design a new variant.")
        if f.get("max_duration_reached"):          # running longer is not the plan: say so, not "keep running"
            return _ended_without_a_difference(result, f)
        need, basis, sensitive = _too_small(result, f)
        more = (f"Keep the experiment running: about {fmt_num(need)} more units are needed {basis}." if need else
                "Keep the experiment running until the planned sample size is reached.")
        when = ("The planned sample is reached: re-decide daily" if f.get("min_sample_size") and f.get("min_sample_reached")
                else "Re-decide when the planned sample is reached")
        return (more, when + (f" (stop at {brief.max_duration_days} days at most)." if brief else "."),
                f"If the effect stays this small, consider a bolder variant or {sensitive}.")
    if a == "keep_testing":
        return ("Keep collecting data and re-decide daily (`workbench decide` or the scheduled report).",
                f"The experiment stops at its maximum duration ({brief.max_duration_days} days)." if brief else
                "Stop at the planned maximum duration.")
    if a == "stop" and decision.winner:
        return (f"Stop the experiment and keep {decision.winner}: `workbench experiments stop {eid} --winner "
                f"{decision.winner}`.",
                "The winner's tags go to the learning store and the SKU's next experiment is scheduled after the "
                "cooldown.")
    if a == "stop":
        ended = _ended_without_a_difference(result, f) if f.get("max_duration_reached") and \
            not f.get("primary_significant") else (f"Stop the experiment and keep {result.control}: "
                                                   f"`workbench experiments stop {eid}`.",)
        return (*ended, f"No variant won: {result.control} stays and no tags go to the learning store.")
    return ("Review the evidence with the owner.",)


def build_memo(result: AnalysisResult, decision: Decision | None = None, *, brief: ExperimentBrief | None = None,
               record: Any = None, context: DecisionContext | None = None, period: tuple[Any, Any] | None = None,
               policy: str | None = None, now: dt.datetime | None = None) -> DecisionMemo:
    """Assemble the memo (deciding first with the brief's or default policy when no decision is given).

    The looks the risks count are the decision's ``looks`` fact (from the registry, through ``context``), so
    the report, ``workbench decide``, ``workbench memo`` and the dashboard say the same."""
    if decision is None:
        decision = decide(result, brief=brief, policy=policy, context=context)
    title_name = brief.name if brief and brief.name else (record.name if record is not None else "")
    title = f"{title_name} ({result.experiment_id})" if title_name and title_name != result.experiment_id \
        else result.experiment_id
    sections = (("Summary", _summary(result, brief, record, period)),
                ("Evidence", _evidence(result, decision)),
                ("Risks and limitations", (Block("ul", risks(result, decision, brief)),)),
                ("Next actions", (Block("ul", _next_actions(result, decision, brief)),)))
    gen = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return DecisionMemo(result.experiment_id, title, decision, sections, gen, result.health.status)


def _provenance(d: Decision) -> str:
    """The footer's "policy …, rule …, decided by …" (what decided: ``Decision.decided_by``, when a test or the
    posterior did)."""
    return f"policy {d.policy}, rule {d.rule}" + (f", decided by {d.decided_by}" if d.decided_by else "")


def write_memo(memo: DecisionMemo, path: str | Path, *, fmt: str | None = None) -> Path:
    """Write Markdown (``.md``) or HTML (``.html``/``.htm``) atomically; the format follows the suffix."""
    p = Path(path)
    kind = (fmt or p.suffix.lstrip(".")).lower()
    if kind in ("md", "markdown"):
        return write_text_atomic(p, memo.to_markdown())
    if kind in ("html", "htm"):
        return write_text_atomic(p, memo.to_html())
    raise InputError([Problem("blocked", "bad_format", "the memo is written as .md or .html", file=str(p),
                              value=p.suffix or "(no suffix)")])
