"""Report blocks for the stratified multi-covariate adjustment and the segment SRM / balance checks.

The rows come from :mod:`workbench.adjust_tables` (the CLI and the dashboard show the same strings);
each block is one heading, one table and the sentence that says what was used.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..adjust_tables import (adjustment_rows, result_caption, balance_rows, balance_summary, segment_srm_rows,
                             segment_srm_summary)
from ..display import fmt_share
from .html import Html, heading, note, table

__all__ = ["adjusted_html", "segment_srm_html", "balance_html"]


def adjusted_html(result: Any) -> Html:
    """Plain, single-covariate CUPED and stratified multi-covariate estimates of every metric, side by side."""
    rows = [row for m in result.metrics for row in adjustment_rows(m)]
    parts = [heading("Stratified multi-covariate adjustment")]
    if not rows:
        why = next((n for m in result.metrics if m.adjustment is not None for n in m.adjustment.notes
                    if n.startswith("not adjusted")), "no strata and no pre-period covariates to adjust for")
        return Html.join([*parts, note(f"Not applied: {why.removeprefix('not adjusted: ')}.")])
    frame = pd.DataFrame(rows).rename(columns={"CI": f"{fmt_share(1 - result.alpha)} CI"})
    parts.append(table(frame, caption=result_caption(result) + ". Shown beside the headline; decisions use the "
                       "headline (plain, or CUPED on one covariate)."))
    return Html.join(parts)


def segment_srm_html(health: Any) -> Html:
    """Every segment's SRM test with its Holm-adjusted p (empty when there are no segments)."""
    rows = segment_srm_rows(health)
    if not rows:
        return Html()
    flagged = health.segment_srm.flagged()
    return Html.join([heading("Sample ratio by segment"),
                      table(pd.DataFrame(rows), row_class=lambda r: "warn" if any(
                          f"{t.dim} = {t.level}" == r["segment"] for t in flagged) else "",
                          caption=segment_srm_summary(health) + ".")])


def balance_html(health: Any) -> Html:
    """Pre-period covariate means per arm, standardised differences and the joint test."""
    rows = balance_rows(health)
    if not rows:
        return Html()
    return Html.join([heading("Pre-period balance"),
                      table(pd.DataFrame(rows), caption=balance_summary(health) + ". Standardised difference: "
                            "(variant − control) / √((s²_variant + s²_control)/2); |d| > 0.1 is the usual flag.")])
