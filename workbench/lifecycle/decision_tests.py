"""Which test decides: fixed-horizon or always-valid significance, non-inferiority margins, time effects.

These facts extend :data:`workbench.lifecycle.facts.FACTS`:

* **sequential decisions** — when the brief says ``sequential: true`` (or the policy's params do),
  ``primary_significant`` / ``primary_harmful`` / ``primary_p`` come from the always-valid confidence
  sequence (the running-minimum always-valid p-value of the best variant, Bonferroni-multiplied by
  the number of variants compared with the control), so a policy that looks every day keeps its
  false-launch rate at most alpha (:mod:`workbench.stats.peeking` shows it). Otherwise they come from
  the fixed-horizon test as before. Both versions are facts of their own
  (``primary_significant_fixed``, ``primary_significant_sequential``), so a policy may ask for either,
  and ``decided_by`` names the test that decided, for the reasons, the memo and the report. Asked for
  but not computed (a saved result without a sequence), nothing is significant and ``decided_by``
  says why.
* **non-inferiority** — for every comparison with a margin (``extra["non_inferiority"]``,
  :mod:`workbench.margins`) the variant is *non-inferior* when the one-sided test rejects "worse by
  the margin or more"; with a sequential decision, when the always-valid interval also stays within
  the margin. ``non_inferior_failed`` counts the non-primary comparisons with a margin that are not
  shown non-inferior (0 when no margin is declared), ``primary_non_inferior`` is the best variant's.
* **time effects** — calendar events that overlap the window (``calendar_overlap``) and those that
  hold decisions (``calendar_hold``), a day-of-week imbalance, and a novelty/primacy trend of the
  primary lift (:mod:`workbench.time_effects`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..display import fmt_pct
from ..metrics import fmt_metric_delta, fmt_metric_delta_ci

__all__ = ["TEST_FACTS", "decision_test_facts", "time_facts", "comparison_test_label"]

TEST_FACTS: dict[str, str] = {
    "sequential": "decisions use the always-valid confidence sequence (the brief's sequential: true, or the "
                  "policy's param sequential)",
    "decided_by": "the test whose p-value decides primary_significant (fixed-horizon test or always-valid sequence)",
    "primary_p_fixed": "fixed-horizon adjusted p-value of the best variant",
    "primary_significant_fixed": "fixed-horizon adjusted p < alpha and the lift in the good direction",
    "primary_p_sequential": "always-valid p-value of the best variant (running minimum, x variants compared)",
    "primary_significant_sequential": "always-valid p < alpha (the interval excludes 0) and the lift in the good "
                                      "direction",
    "primary_cs_abs": "always-valid confidence sequence of the best variant's absolute lift (text, metric notation)",
    "sequential_looks": "looks (days) the confidence sequence has taken",
    "primary_non_inferior": "the best variant is shown non-inferior on the primary metric (None: no margin)",
    "non_inferiority_checked": "comparisons with a non-inferiority margin (all metrics)",
    "non_inferior_failed": "non-primary comparisons with a margin not shown non-inferior (0 when none is declared)",
    "non_inferior_failed_list": "which comparisons are not shown non-inferior, with their margins",
    "non_inferior_list": "which comparisons are shown non-inferior",
    "guardrails_non_inferior": "every guardrail with a margin is shown non-inferior (None: no margin declared)",
    "calendar_overlap": "calendar events (promotions, holidays, outages, price campaigns) overlapping the window",
    "calendar_hold": "overlapping calendar events that hold decisions",
    "calendar_list": "the overlapping calendar events, one sentence each",
    "calendar_hold_list": "the overlapping calendar events that hold decisions, one sentence each",
    "dow_imbalance": "the arms' traffic differs by day of week (chi-square p below the SRM warning threshold)",
    "dow_p": "day-of-week balance chi-square p-value",
    "novelty_detected": "the primary lift trends with days since first exposure (novelty or primacy)",
    "novelty_direction": "novelty (fading lift), primacy (growing lift) or none",
    "novelty_summary": "early-vs-late lift and the trend test, for the detected variant(s)",
}

_TEST_NAMES = {"z": "z-test", "welch": "Welch t-test", "fisher": "Fisher's exact test", "cuped-z": "CUPED z-test",
               "cuped-welch": "CUPED Welch t-test", "delta": "delta-method z-test", "cuped-delta": "CUPED delta-method test"}


def comparison_test_label(test: str) -> str:
    """A comparison's ``test`` in words: ``"z"`` → ``"z-test"``.

    >>> comparison_test_label("cuped-welch"), comparison_test_label("bootstrap")
    ('CUPED Welch t-test', 'bootstrap')
    """
    return _TEST_NAMES.get(test, test)


def _margin_text(m: Any, ni: Mapping[str, Any]) -> str:
    """``0.50 pp`` or ``5.00% relative``: a margin in the metric's notation."""
    margin = float(ni.get("margin") or 0.0)
    if ni.get("relative"):
        return f"{fmt_pct(margin)} relative"
    return fmt_metric_delta(m.name, m.kind, margin, m.unit).lstrip("+")


def _seq(c: Any) -> Mapping[str, Any] | None:
    s = (c.extra or {}).get("sequential") if c is not None else None
    return s if isinstance(s, Mapping) and s.get("p_value") is not None else None


def sequential_p(c: Any, k: int) -> float | None:
    """The always-valid p of a comparison, Bonferroni over the metric's ``k`` comparisons (None if not computed)."""
    seq = _seq(c)
    return None if seq is None else min(1.0, float(seq["p_value"]) * max(1, k))


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _non_inferior(c: Any, sequential: bool) -> bool | None:
    ni = (c.extra or {}).get("non_inferiority")
    if not isinstance(ni, Mapping):
        return None
    ok = bool(ni.get("non_inferior"))
    seq = _seq(c)
    if sequential:
        margin = _num(ni.get("margin_abs"))
        if seq is None or margin is None:
            return False
        lo, hi = (float(x) for x in seq["cs"])
        # higher is better: H1 is "greater", so the interval's low end must stay above -margin (mirror otherwise)
        ok = ok and (lo > -margin if ni.get("direction", "greater") == "greater" else hi < margin)
    return ok


def decision_test_facts(result: Any, m: Any, best: Any, *, alpha: float, sequential: bool,
                        f: dict[str, Any]) -> None:
    """Fill the fixed / sequential / non-inferiority facts of the primary metric and every margin (in ``f``)."""
    f["sequential"] = bool(sequential)
    if m is not None and best is not None:
        gain = m.gain(best)
        p_fixed = _num(best.p_value_adjusted)
        sig_fixed = p_fixed is not None and p_fixed < alpha
        f.update(primary_p_fixed=p_fixed, primary_significant_fixed=bool(sig_fixed and gain > 0))
        seq = _seq(best)
        k = max(1, len(m.comparisons))
        test = comparison_test_label(best.test)
        if seq is not None:
            p_seq = sequential_p(best, k)
            seq_alpha = float(seq.get("alpha", alpha) or alpha)
            f.update(primary_p_sequential=p_seq, primary_significant_sequential=bool(p_seq < seq_alpha and gain > 0),
                     primary_cs_abs=fmt_metric_delta_ci(m.name, m.kind, *seq["cs"], m.unit),
                     sequential_looks=int(seq.get("looks") or 0))
        if sequential:
            if seq is not None:
                sig = f["primary_p_sequential"] < float(seq.get("alpha", alpha) or alpha)
                f.update(primary_p=f["primary_p_sequential"], primary_significant=bool(sig and gain > 0),
                         primary_harmful=bool(sig and gain < 0),
                         decided_by=f"always-valid confidence sequence ({f['sequential_looks']} look(s))")
            else:
                f.update(primary_p=None, primary_significant=False, primary_harmful=False,
                         decided_by="always-valid confidence sequence, not computed for this analysis (nothing "
                                    "counts as significant)")
        else:
            f["decided_by"] = f"fixed-horizon {test}"
    # non-inferiority margins, every metric
    ok_list, failed_list = [], []
    guard_ok: list[bool] = []
    for mm in result.metrics:
        for c in mm.comparisons:
            ni = (c.extra or {}).get("non_inferiority")
            if not isinstance(ni, Mapping):
                continue
            verdict = _non_inferior(c, sequential)
            label = f"{mm.name} ({c.variant}, margin {_margin_text(mm, ni)})"
            if mm.role == "primary":
                if best is not None and c.variant == best.variant:
                    f["primary_non_inferior"] = verdict
                continue
            (ok_list if verdict else failed_list).append(label)
            if mm.role == "guardrail":
                guard_ok.append(bool(verdict))
    f["non_inferiority_checked"] = len(ok_list) + len(failed_list) + (f.get("primary_non_inferior") is not None)
    f.update(non_inferior_failed=len(failed_list), non_inferior_failed_list="; ".join(failed_list) or "none",
             non_inferior_list="; ".join(ok_list) or "none",
             guardrails_non_inferior=all(guard_ok) if guard_ok else None)


def time_facts(result: Any, f: dict[str, Any]) -> None:
    """Calendar, day-of-week and novelty facts from ``result.time_effects`` (0 / None when not computed)."""
    te = getattr(result, "time_effects", None)
    f.update(calendar_overlap=0, calendar_hold=0, calendar_list="none", calendar_hold_list="none", novelty_detected=False,
             novelty_direction="none", novelty_summary="none", dow_imbalance=False)
    if te is None:
        f["novelty_detected"] = None
        return
    cal = te.calendar if hasattr(te, "calendar") else ()
    f.update(calendar_overlap=len(cal), calendar_hold=sum(1 for c in cal if c.hold),
             calendar_list="; ".join(c.sentence() for c in cal) or "none",
             calendar_hold_list="; ".join(c.sentence() for c in cal if c.hold) or "none")
    if te.dow is not None:
        f.update(dow_imbalance=bool(te.dow.imbalanced), dow_p=_num(te.dow.p_value))
    found = te.novelty
    if found:
        f.update(novelty_detected=True, novelty_direction=found[0].direction,
                 novelty_summary="; ".join(t.sentence() for t in found))
