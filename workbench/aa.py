"""A/A experiments: both arms identical by design, so the outcome is whether the *pipeline* is healthy.

An A/A experiment (brief or registry ``kind: aa``, the data's ``meta["kind"] == "aa"``, or a brief
whose arms are all the same) is never launched: there is nothing to launch. What it tells is
whether assignment, logging and analysis behave: :func:`aa_verdict` runs three checks and gives one
:class:`AAVerdict` that the decision, the memo, the report, ``workbench decide`` and the dashboard
all show:

* **split** — the sample-ratio test of the health check is not flagged;
* **false positives** — of all metric comparisons, the share significant at ``alpha`` is compatible
  with ``alpha`` (one-sided binomial test, p >= ``threshold``);
* **uniformity** — each day's own comparisons give p-values that look uniform on [0, 1]
  (Kolmogorov-Smirnov test against U(0, 1), p >= ``threshold``; needs 10 or more).

>>> import numpy as np
>>> v = verdict_from_p_values("aa", srm_p=0.4, srm_ok=True, p_values=[0.3, 0.7, 0.02, 0.9],
...                           daily_p_values=np.linspace(0.01, 0.99, 40), alpha=0.05)
>>> v.healthy, v.significant, v.tests
(True, 1, 4)
>>> print(v.sentence)
A/A: the pipeline is healthy — split as planned (SRM p = 0.400); 1 of 4 metric comparisons significant at 0.050 (25.00%; 5.00% expected): binomial p = 0.185, not below the 0.010 flag; daily p-values look uniform (KS test p = 1.000 over 40 daily comparisons)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from .display import ResultMixin, fmt_num, fmt_p, fmt_p_eq, fmt_pct
from .stats.uniformity import binomial_sf, ks_uniform   # scipy.stats' tests without its ~0.5 s import

__all__ = ["AAVerdict", "aa_verdict", "verdict_from_p_values", "is_aa", "AA_RULE", "AA_REFUSAL"]

AA_RULE = "aa-pipeline-check"
AA_REFUSAL = ("this is an A/A experiment: both arms are the same by design, so there is no winner to force and "
              "nothing to roll out; it only tells whether the pipeline is healthy")
MIN_DAILY = 10


@dataclass(frozen=True)
class AAVerdict(ResultMixin):
    """The one A/A outcome: is the pipeline healthy, with each check's numbers and sentence."""

    experiment_id: str
    healthy: bool
    alpha: float
    threshold: float
    srm_p: float | None
    srm_ok: bool
    tests: int
    significant: int
    share_p: float | None              # one-sided binomial test of the significant count against alpha
    daily_tests: int
    ks_statistic: float | None
    ks_p: float | None                 # KS test of the daily p-values against U(0, 1); None with too few
    findings: tuple[str, ...] = ()     # one sentence per check, in the order split, false positives, uniformity
    min_p_adjusted: float | None = None   # smallest comparison p, Bonferroni over the comparisons (one extreme metric)

    @property
    def share_significant(self) -> float | None:
        return self.significant / self.tests if self.tests else None

    @property
    def verdict(self) -> str:
        return "the pipeline is healthy" if self.healthy else "the pipeline is not healthy"

    @property
    def sentence(self) -> str:
        return f"A/A: {self.verdict} — " + "; ".join(self.findings)


def is_aa(*, brief: Any = None, record: Any = None, meta: Any = None) -> bool:
    """An A/A experiment: the brief or registry says ``kind: aa``, the data's metadata does, or every arm of the
    brief is the same (same description, tags, text and images)."""
    for src in (brief, record):
        if src is not None and getattr(src, "kind", None) == "aa":
            return True
    if meta is not None and meta.get("kind") == "aa":
        return True
    variants = list(getattr(brief, "variants", None) or [])
    if len(variants) >= 2:
        keys = {(v.description, tuple(sorted(v.meta.items())), v.text, tuple(map(str, v.images)), tuple(map(str, v.colors)))
                for v in variants}
        return len(keys) == 1 and any(k for k in next(iter(keys)))
    return False


def verdict_from_p_values(experiment_id: str, *, srm_p: float | None, srm_ok: bool, p_values: Iterable[float],
                          daily_p_values: Sequence[float] | np.ndarray = (), alpha: float = 0.05,
                          threshold: float = 0.01, blocked: str | None = None) -> AAVerdict:
    """The verdict from the SRM test, the metric comparisons' p-values and the daily p-values."""
    p = np.asarray([x for x in p_values if x is not None and math.isfinite(x)], dtype=np.float64)
    daily = np.asarray(daily_p_values, dtype=np.float64)
    daily = daily[np.isfinite(daily)]
    findings: list[str] = []
    srm_text = f"SRM {fmt_p_eq(srm_p)}" if srm_p is not None else "no SRM test"
    findings.append("split not tested (no SRM test)" if srm_p is None and srm_ok
                    else f"split as planned ({srm_text})" if srm_ok else f"sample ratio mismatch ({srm_text})")
    if blocked:
        findings.append(blocked)
    k = int(np.sum(p < alpha))
    share_p = binomial_sf(k, p.size, alpha) if p.size else None
    share_ok = share_p is None or share_p >= threshold
    # The share test cannot reject with few comparisons (1 of 1 significant has binomial p = alpha), so an
    # extreme single difference is caught by the family-wise test: the smallest p, Bonferroni-adjusted.
    min_adj = float(min(1.0, p.min() * p.size)) if p.size else None
    extreme_ok = min_adj is None or min_adj >= threshold
    if p.size:
        # the share alone reads as alarming with few comparisons (2 of 4 is 50 %): say what is expected, and that
        # the binomial p-value, not the share, is what the check compares with its threshold
        findings.append(f"{k} of {p.size} metric comparisons significant at {fmt_p(alpha)} ({fmt_pct(k / p.size)}; "
                        f"{fmt_pct(alpha)} expected): binomial {fmt_p_eq(share_p)}, "
                        + (f"not below the {fmt_p(threshold)} flag" if share_ok
                           else f"below the {fmt_p(threshold)} flag: more than chance allows"))
        if not extreme_ok:
            findings.append(f"a metric differs between identical arms (smallest p, Bonferroni-adjusted over "
                            f"{fmt_num(p.size)} comparisons: {fmt_p(min_adj)}): more than chance allows")
    else:
        findings.append("no metric comparisons to count")
    ks_stat = ks_p = None
    if daily.size >= MIN_DAILY:
        ks_stat, ks_p = ks_uniform(daily)
        findings.append(("daily p-values look uniform" if ks_p >= threshold else "daily p-values are not uniform")
                        + f" (KS test {fmt_p_eq(ks_p)} over {fmt_num(daily.size)} daily comparisons)")
    else:
        findings.append(f"too few daily comparisons for the uniformity test ({fmt_num(daily.size)}, needs {MIN_DAILY})")
    healthy = bool(srm_ok and not blocked and share_ok and extreme_ok and (ks_p is None or ks_p >= threshold))
    return AAVerdict(experiment_id, healthy, float(alpha), float(threshold), srm_p, bool(srm_ok), int(p.size), k,
                     share_p, int(daily.size), ks_stat, ks_p, tuple(findings), min_adj)


def aa_verdict(data: Any, health: Any, metrics: Sequence[Any], *, alpha: float, threshold: float = 0.01) -> AAVerdict:
    """Run the three A/A checks on an experiment's data, health report and metric results."""
    from .health import daily_aa_p_values
    srm = health.srm
    srm_issue = any(p.code.startswith("srm") and p.level != "info" for p in health.issues)
    srm_ok = not srm_issue and (srm is None or srm.status == "healthy")
    other_blocked = [p.message for p in health.issues if p.level == "blocked" and not p.code.startswith("srm")]
    p_values = [c.p_value for m in metrics for c in m.comparisons]
    daily: list[float] = []
    # Daily p-values of the primary metric only: metrics measured on the same units on the same day
    # are correlated, and pooling them makes the uniformity test reject a healthy pipeline too often.
    primary = next((m for m in metrics if m.role == "primary"), metrics[0] if metrics else None)
    if primary is not None and "day" in getattr(data, "cube", {}) and health.status != "blocked":
        try:
            daily.extend(float(x) for x in daily_aa_p_values(data, primary.name))
        except Exception:           # noqa: BLE001 — a metric that cannot be split by day adds no p-values
            pass
    blocked = ("the health check is blocked: " + "; ".join(other_blocked)) if other_blocked else None
    return verdict_from_p_values(data.experiment_id, srm_p=None if srm is None else float(srm.p_value),
                                 srm_ok=srm_ok, p_values=p_values, daily_p_values=daily, alpha=alpha,
                                 threshold=threshold, blocked=blocked)
