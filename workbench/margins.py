"""Non-inferiority margins declared in a brief: a one-sided test added beside the metric's usual one.

A brief can say that a metric must not get worse by more than a margin (``return_rate`` must not
rise by more than 0.5 percentage points, ``revenue_per_user`` must not fall by more than 2 %). The
analysis then keeps the metric's ordinary two-sided comparison (its lift, interval and p-value are
unchanged, so "worsened" still means what it meant) and adds the non-inferiority test to each
comparison's ``extra["non_inferiority"]``:

* ``hypothesis`` — H0: the variant is worse than control by at least the margin;
* ``p_value`` — the one-sided p-value of that H0 (the same z / Welch / delta-method machinery as the
  main test, :func:`workbench.stats.frequentist.non_inferiority`);
* ``bound`` — the one-sided (1 − α) confidence bound of the lift on the margin's scale;
* ``margin_abs`` — the margin in the metric's units (a relative margin times the control's value);
* ``non_inferior`` — ``p_value < alpha``; ``direction`` — ``greater`` (higher is better) or ``less``.

With a confidence sequence (``sequential: true``) the decision facts also check the always-valid
interval against ``margin_abs`` (:mod:`workbench.lifecycle.decision_tests`).

An options file's ``non_inferiority`` (the older form) *replaces* the metric's test by this one-sided
test; the same ``extra["non_inferiority"]`` is written then, so decisions read one place.

>>> arr = {"p_value": [0.01], "control_value": [0.08], "ci_lo": [-0.003], "ci_hi": [float("inf")]}
>>> e = margin_extra(arr, 0, margin=0.005, relative=False, higher_is_better=True, alpha=0.05, hypothesis="H0")
>>> e["non_inferior"], e["bound"], e["margin_abs"]
(True, -0.003, 0.005)
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Sequence

from .results import Comparison

__all__ = ["margin_extra", "with_margin_tests", "margin_tests", "margin_sentence"]


def margin_sentence(m: Any, c: Comparison) -> str | None:
    """One sentence on a comparison's non-inferiority test (None without a margin), in the metric's notation."""
    from .display import fmt_lift, fmt_p_eq, fmt_pct
    from .metrics import fmt_metric_delta
    ni = c.extra.get("non_inferiority")
    if not isinstance(ni, dict):
        return None
    rel = bool(ni.get("relative"))
    margin = f"{fmt_pct(ni.get('margin'))} relative" if rel else \
        fmt_metric_delta(m.name, m.kind, ni.get("margin"), m.unit).lstrip("+")
    bound = fmt_lift(ni.get("bound")) if rel else fmt_metric_delta(m.name, m.kind, ni.get("bound"), m.unit)
    side = "lower" if ni.get("direction", "greater") == "greater" else "upper"
    verdict = "non-inferior" if ni.get("non_inferior") else "not shown non-inferior"
    return (f"{m.name} ({c.variant}): {verdict} at margin {margin} (one-sided {side} bound {bound}, "
            f"{fmt_p_eq(ni.get('p_value'))})")


def margin_extra(arr: dict[str, Any], j: int, *, margin: float, relative: bool, higher_is_better: bool,
                 alpha: float, hypothesis: str) -> dict[str, Any]:
    """``extra["non_inferiority"]`` of comparison ``j`` from the one-sided test's arrays ``arr``."""
    p = float(arr["p_value"][j])
    control = float(arr["control_value"][j])
    bound_key = ("rel_ci_lo" if higher_is_better else "rel_ci_hi") if relative else \
        ("ci_lo" if higher_is_better else "ci_hi")
    margin_abs = abs(margin) * abs(control) if relative else abs(margin)
    return {"margin": abs(float(margin)), "relative": bool(relative),
            "margin_abs": margin_abs if math.isfinite(margin_abs) else None,
            "p_value": p, "bound": float(arr[bound_key][j]), "bound_scale": "relative" if relative else "absolute",
            "non_inferior": bool(p < alpha), "alpha": float(alpha), "hypothesis": hypothesis,
            "direction": "greater" if higher_is_better else "less"}


def with_margin_tests(comparisons: Sequence[Comparison], ni_arr: dict[str, Any], compared: Sequence[int], *,
                      margin: float, relative: bool, higher_is_better: bool, alpha: float,
                      hypothesis: str) -> list[Comparison]:
    """The comparisons with ``extra["non_inferiority"]`` filled from the one-sided test's arrays."""
    out = []
    for c, i in zip(comparisons, compared):
        ni = margin_extra(ni_arr, i - 1, margin=margin, relative=relative, higher_is_better=higher_is_better,
                          alpha=alpha, hypothesis=hypothesis)
        out.append(replace(c, extra={**c.extra, "non_inferiority": ni}))
    return out




def margin_tests(m: Any, stats: Any, arr: dict[str, Any], comparisons: Sequence[Comparison], compared: Sequence[int], *,
                 ni: Any, margin: Any, hyp: tuple[str, float, float | None], alpha: float, cuped: bool,
                 small_count: int) -> list[Comparison]:
    """``extra["non_inferiority"]`` for one metric's comparisons: from the main test when an options file's
    ``non_inferiority`` (``ni``) replaced it, else from a one-sided test beside it for a brief's ``margin``."""
    from .analysis import _hypothesis
    from .stats.compare import compare_arrays
    from .stats.frequentist import non_inferiority
    spec, ni_arr = ni, arr
    if spec is None and margin is not None and comparisons:
        spec = margin
        h = non_inferiority(margin.margin, relative=margin.relative, higher_is_better=m.higher_is_better)
        hyp = (str(h["alternative"]), float(h["null"]), h["null_rel"])  # type: ignore[arg-type]
        ni_arr = compare_arrays(m.kind, stats, higher_is_better=m.higher_is_better, alpha=alpha, alternative=hyp[0],
                                null=hyp[1], null_rel=hyp[2], small_count=small_count, cuped=cuped, bayes=False)
    if spec is None or not comparisons:
        return list(comparisons)
    return with_margin_tests(comparisons, ni_arr, compared, margin=spec.margin, relative=spec.relative,
                             higher_is_better=m.higher_is_better, alpha=alpha, hypothesis=_hypothesis(*hyp))
