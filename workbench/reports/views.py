"""Tidy frames the report draws, computed from workbench results and data by the package's own functions.

Nothing here is a new statistic: the SRM history runs :func:`workbench.stats.srm.srm_core` on the
cube's cumulative units by day, cohort lifts run :func:`workbench.stats.compare.compare_arrays` on
each day's cohort, and the other frames reshape what :func:`workbench.analysis.analyze` and the
decision engine returned. The plots (:mod:`workbench.reports.plots`) and the report sections
(:mod:`workbench.reports.report`) read these frames, so a number in a table and in a plot is the
same number.

>>> import pandas as pd
>>> from workbench.experiment_data import ExperimentData
>>> cube = pd.DataFrame({"variant": ["a", "b", "a", "b"], "day": ["d1", "d1", "d2", "d2"], "n": [100, 100, 100, 60]})
>>> d = ExperimentData("e", ("a", "b"), cube, dims=("day",))
>>> h = srm_history(d, {"a": 0.5, "b": 0.5})
>>> h[["day", "units", "p_value"]].round(4).to_dict("records")
[{'day': 'd1', 'units': 200.0, 'p_value': 1.0}, {'day': 'd2', 'units': 360.0, 'p_value': 0.035}]
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..display import fmt_change_ci
from ..experiment_data import ExperimentData
from ..metrics import Metric
from ..results import AnalysisResult, MetricResult
from ..stats.compare import compare_arrays
from ..stats.srm import srm_core

__all__ = ["srm_history", "cohort_lifts", "shrinkage_frame", "funnel_rates", "event_trends", "hour_profile", "comparisons_frame",
           "guardrail_frame", "cuped_frame", "segment_frame", "sku_frame", "allocation_frame", "arm_split"]


def arm_split(data: ExperimentData, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Units per variant with the observed and planned share."""
    units = data.units()
    total = float(units.sum())
    w = weights or data.expected_weights or {}
    wsum = sum(float(w.get(v, 0.0)) for v in data.variants) or 1.0
    return pd.DataFrame({"variant": list(data.variants), "units": units,
                         "observed_share": units / total if total else np.nan,
                         "planned_share": [float(w.get(v, np.nan)) / wsum for v in data.variants]})


def srm_history(data: ExperimentData, weights: Mapping[str, float] | None = None, *, dim: str = "day") -> pd.DataFrame:
    """Cumulative units per variant at the end of each ``dim`` level and the SRM chi-square p-value then.

    Columns: ``day, units, statistic, p_value`` and ``share_<variant>`` per variant. Empty when the
    data has no ``dim`` column or no planned weights.
    """
    w = dict(weights or data.expected_weights or {})
    if dim not in data.cube.columns or not w:
        return pd.DataFrame(columns=[dim, "units", "statistic", "p_value"])
    grouped = data.cube.groupby([dim, "variant"], observed=True)["n"].sum().unstack("variant")
    grouped = grouped.reindex(columns=list(data.variants), fill_value=0).fillna(0.0).sort_index()
    cumulative = grouped.cumsum().to_numpy(dtype=np.float64)
    weights_arr = np.array([float(w.get(v, 0.0)) for v in data.variants])
    stat, p, _, _ = srm_core(cumulative, weights_arr)
    totals = cumulative.sum(axis=1)
    out = pd.DataFrame({dim: list(grouped.index), "units": totals, "statistic": stat, "p_value": p})
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, v in enumerate(data.variants):
            out[f"share_{v}"] = cumulative[:, j] / totals
    return out


def _metric(data: ExperimentData, metric: str | Metric | None) -> Metric | None:
    if isinstance(metric, Metric):
        return metric
    if metric is None:
        return data.primary
    return data.metric(metric)


def cohort_lifts(data: ExperimentData, metric: str | Metric | None = None, *, dim: str = "day",
                 alpha: float = 0.05, cumulative: bool = False, cuped: bool = False, bayes: bool = False,
                 prior: tuple[float, float] = (1.0, 1.0), normal_prior: tuple[float, float] | None = None) -> pd.DataFrame:
    """Relative lift of each variant within each ``dim`` cohort (units first exposed that day), with its CI.

    A lift that shrinks from early to late cohorts is the signature of a novelty effect (tested by
    :mod:`workbench.time_effects`). With
    ``cumulative=True`` each row is the experiment as of the end of that day instead. ``bayes``
    adds ``prob_beat_control`` (with ``prior`` / ``normal_prior``, as the analysis uses them);
    ``cuped`` adjusts with the metric's pre-period covariate.
    """
    m = _metric(data, metric)
    cols = [dim, "variant", "n", "lift_rel", "lo", "hi", "lift_abs", "p_value"] + (["prob_beat_control"] if bayes else [])
    if m is None or dim not in data.cube.columns:
        return pd.DataFrame(columns=cols)
    try:
        levels, st = data.stats_by(m, dim, use_covariate=cuped, cumulative=cumulative)
    except KeyError:
        return pd.DataFrame(columns=cols)
    arr = compare_arrays(m.kind, st, higher_is_better=m.higher_is_better, alpha=alpha, cuped=cuped, bayes=bayes,
                         prior=prior, normal_prior=normal_prior, credible_intervals=False)
    rows = []
    for i, level in enumerate(levels):
        for j, v in enumerate(data.variants[1:]):
            row = {dim: level, "variant": v, "n": float(arr["n_control"][i, j] + arr["n_variant"][i, j]),
                   "lift_rel": float(arr["lift_rel"][i, j]), "lo": float(arr["rel_ci_lo"][i, j]),
                   "hi": float(arr["rel_ci_hi"][i, j]), "lift_abs": float(arr["lift_abs"][i, j]),
                   "p_value": float(arr["p_value"][i, j])}
            if bayes:
                row["prob_beat_control"] = float(arr["prob_beat"][i, j])
            rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def funnel_rates(data: ExperimentData) -> pd.DataFrame:
    """Units reaching each funnel step per variant: count, share of units, and step-to-step conversion."""
    f = data.funnel()
    steps = [("exposed", "units"), ("clicked", "units_clicked"), ("added to cart", "units_carted"),
             ("purchased", "units_purchased")]
    rows = []
    for v in data.variants:
        prev = None
        base = float(f.loc[v, "units"]) if "units" in f else float("nan")
        for label, col in steps:
            if col not in f:
                continue
            value = float(f.loc[v, col])
            rows.append({"variant": v, "step": label, "units": value,
                         "share_of_exposed": value / base if base else float("nan"),
                         "step_conversion": value / prev if prev else (1.0 if prev is None else float("nan"))})
            prev = value
    return pd.DataFrame(rows, columns=["variant", "step", "units", "share_of_exposed", "step_conversion"])


def event_trends(ts: pd.DataFrame) -> pd.DataFrame:
    """Event-time activity per variant and bucket with rates (from :func:`workbench.aggregate.timeseries`).

    Adds ``purchases_per_unit`` (purchases / active units in the bucket), ``ctr`` (clicks /
    impressions) and ``revenue_per_unit``. Units are distinct active units *in the bucket*.
    """
    if ts is None or ts.empty:
        return pd.DataFrame(columns=["ts", "variant", "units", "purchases_per_unit", "ctr", "revenue_per_unit"])
    out = ts.copy()
    out["ts"] = pd.to_datetime(out["ts"])
    with np.errstate(invalid="ignore", divide="ignore"):
        units = out["units"].astype("float64")
        out["purchases_per_unit"] = np.where(units > 0, out["purchases"] / units, np.nan)
        imp = out["impressions"].astype("float64")
        out["ctr"] = np.where(imp > 0, out["clicks"] / imp, np.nan)
        out["revenue_per_unit"] = np.where(units > 0, out["revenue"].astype("float64") / units, np.nan)
    return out.sort_values(["ts", "variant"]).reset_index(drop=True)


def hour_profile(hourly: pd.DataFrame) -> pd.DataFrame:
    """Average active units and purchases per unit by hour of day (0–23) and variant."""
    t = event_trends(hourly)
    if t.empty:
        return pd.DataFrame(columns=["hour", "variant", "units", "purchases_per_unit"])
    t["hour"] = t["ts"].dt.hour
    g = t.groupby(["hour", "variant"], observed=True).agg(units=("units", "mean"), purchases=("purchases", "sum"),
                                                         unit_sum=("units", "sum")).reset_index()
    g["purchases_per_unit"] = g["purchases"] / g["unit_sum"].where(g["unit_sum"] > 0)
    return g[["hour", "variant", "units", "purchases_per_unit"]]


def comparisons_frame(m: MetricResult | None) -> pd.DataFrame:
    """One row per variant vs control of one metric (the numbers the report's tables show)."""
    cols = ["variant", "control_value", "variant_value", "lift_abs", "lift_abs_lo", "lift_abs_hi", "lift_rel",
            "lift_rel_lo", "lift_rel_hi", "p_value", "p_value_adjusted", "test", "prob_beat_control",
            "expected_loss", "n_control", "n_variant"]
    if m is None or not m.comparisons:
        return pd.DataFrame(columns=cols)
    rows = []
    for c in m.comparisons:
        rows.append({"variant": c.variant, "control_value": c.control_value, "variant_value": c.variant_value,
                     "lift_abs": c.lift_abs, "lift_abs_lo": c.lift_abs_ci[0], "lift_abs_hi": c.lift_abs_ci[1],
                     "lift_rel": c.lift_rel, "lift_rel_lo": c.lift_rel_ci[0], "lift_rel_hi": c.lift_rel_ci[1],
                     "p_value": c.p_value, "p_value_adjusted": c.p_value_adjusted, "test": c.test,
                     "prob_beat_control": c.prob_beat_control, "expected_loss": c.expected_loss,
                     "n_control": c.n_control, "n_variant": c.n_variant})
    return pd.DataFrame(rows, columns=cols)


def guardrail_frame(result: AnalysisResult, facts: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Each guardrail × variant with its Δ, CI, p-value, limit and the decision engine's verdict.

    The verdict is read from the decision's facts (``breached_list``, ``severe_list``,
    ``worsened_list``), so the table says exactly what the decision used.
    """
    facts = facts or {}
    lists = {k: str(facts.get(k) or "") for k in ("breached_list", "severe_list", "worsened_list")}
    rows = []
    for g in result.guardrails():
        if not g.comparisons:
            rows.append({"metric": g.name, "variant": "—", "control_value": np.nan, "variant_value": np.nan,
                         "delta": np.nan, "lo": np.nan, "hi": np.nan, "p_value": np.nan, "p_value_adjusted": np.nan,
                         "limit": g.limit,
                         "verdict": (g.notes[0] if g.notes else "not analysed")})
            continue
        for c in g.comparisons:
            label = f"{g.name} ({c.variant})"
            if label in lists["breached_list"]:
                verdict = "limit crossed"
            elif label in lists["severe_list"]:
                verdict = "severely worse"
            elif label in lists["worsened_list"]:
                verdict = "worse"
            else:
                verdict = "ok"
            rows.append({"metric": g.name, "variant": c.variant, "control_value": c.control_value,
                         "variant_value": c.variant_value, "delta": c.lift_abs, "lo": c.lift_abs_ci[0],
                         "hi": c.lift_abs_ci[1], "p_value": c.p_value, "p_value_adjusted": c.p_value_adjusted,
                         "limit": g.limit, "verdict": verdict})
    return pd.DataFrame(rows, columns=["metric", "variant", "control_value", "variant_value", "delta", "lo", "hi",
                                       "p_value", "p_value_adjusted", "limit", "verdict"])


def cuped_frame(result: AnalysisResult, raw: AnalysisResult | None = None) -> pd.DataFrame:
    """Where CUPED was applied: θ, the variance reduction, and the CI width with and without it.

    ``raw`` is the same analysis with ``cuped=False``; the CI-width ratio is what the reduction
    buys in practice (a 30 % variance reduction narrows the interval by about 16 %).
    """
    raw_ci: dict[tuple[str, str], float] = {}
    if raw is not None:
        for m in raw.metrics:
            for c in m.comparisons:
                raw_ci[(m.name, c.variant)] = c.lift_abs_ci[1] - c.lift_abs_ci[0]
    rows = []
    for m in result.metrics:
        for c in m.comparisons:
            cu = c.extra.get("cuped") if isinstance(c.extra, dict) else None
            if not cu:
                continue
            width = c.lift_abs_ci[1] - c.lift_abs_ci[0]
            before = raw_ci.get((m.name, c.variant), float("nan"))
            rows.append({"metric": m.name, "role": m.role, "variant": c.variant,
                         "covariate": cu.get("covariate_text") or cu.get("covariate"),
                         "applied": bool(cu.get("applied")), "theta": cu.get("theta"),
                         "variance_reduction": cu.get("variance_reduction"), "ci_width_raw": before,
                         "ci_width_cuped": width,
                         "ci_narrower_by": 1 - width / before if before and math.isfinite(before) else float("nan")})
    return pd.DataFrame(rows, columns=["metric", "role", "variant", "covariate", "applied", "theta",
                                       "variance_reduction", "ci_width_raw", "ci_width_cuped", "ci_narrower_by"])


def segment_frame(segments: Any, metric: str | None = None) -> pd.DataFrame:
    """Per segment × variant lift with CI of one metric (default: the first) from a SegmentResult."""
    cols = ["segment", "variant", "n_control", "n_variant", "lift_rel", "lo", "hi", "lift_abs", "p_value",
            "p_value_adjusted"]
    if segments is None or not segments.metrics:
        return pd.DataFrame(columns=cols)
    m = next((x for x in segments.metrics if metric is None or x.metric == metric), None)
    if m is None:
        return pd.DataFrame(columns=cols)
    rows = [{"segment": str(r.segment), "variant": r.variant, "n_control": r.n_control, "n_variant": r.n_variant,
             "lift_rel": r.lift_rel, "lo": r.lift_rel_ci[0], "hi": r.lift_rel_ci[1], "lift_abs": r.lift_abs,
             "p_value": r.p_value, "p_value_adjusted": r.p_value_adjusted} for r in m.rows]
    return pd.DataFrame(rows, columns=cols)


def sku_frame(sku_data: ExperimentData, catalog: pd.DataFrame | None = None, metric: str | None = None) -> pd.DataFrame:
    """Per SKU (``product_id`` dimension): units, the metric per arm, raw lift, and its category's pooled values.

    The category columns pool every SKU of the category (sums add up), which is what a new or
    low-traffic SKU is compared with. Proportion and mean metrics only.
    """
    m = _metric(sku_data, metric)
    cols = ["product_id", "category", "n_control", "n_variant", "control_value", "variant_value", "lift_abs",
            "category_control_value", "category_variant_value", "category_lift_abs"]
    if m is None or "product_id" not in sku_data.cube.columns or m.kind == "ratio":
        return pd.DataFrame(columns=cols)
    levels, st = sku_data.stats_by(m, "product_id", use_covariate=False)
    mean = st.mean
    cat_of: dict[str, str] = {}
    if catalog is not None and not catalog.empty:
        cat_of = dict(zip(catalog["product_id"].astype(str), catalog["category"].astype(str)))
    df = pd.DataFrame({"product_id": [str(x) for x in levels], "n_control": st.n[:, 0], "n_variant": st.n[:, 1],
                       "control_value": mean[:, 0], "variant_value": mean[:, 1]})
    df["lift_abs"] = df["variant_value"] - df["control_value"]
    df["category"] = [cat_of.get(p, "unknown") for p in df["product_id"]]
    sums = pd.DataFrame({"category": df["category"], "n_c": st.n[:, 0], "n_t": st.n[:, 1],
                         "s_c": st.sum[:, 0], "s_t": st.sum[:, 1]}).groupby("category").sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        cat_c = sums["s_c"] / sums["n_c"]
        cat_t = sums["s_t"] / sums["n_t"]
    df["category_control_value"] = df["category"].map(cat_c)
    df["category_variant_value"] = df["category"].map(cat_t)
    df["category_lift_abs"] = df["category_variant_value"] - df["category_control_value"]
    return df.sort_values(["category", "product_id"]).reset_index(drop=True)[cols]


def shrinkage_frame(result: Any) -> pd.DataFrame:
    """Per SKU × variant: the raw (observed) relative lift next to the hierarchical model's shrunk one.

    ``result`` is a :class:`workbench.hierarchical.HierarchicalResult`; ``category_lift_rel`` is the
    category's pooled lift the SKU is shrunk toward.
    """
    cat = {c.category: c.lift_rel_mean for c in result.categories}
    rows = []
    for s in result.skus:
        c_rate, v_rate = s.observed_control_rate, s.observed_variant_rate
        raw = v_rate / c_rate - 1 if c_rate > 0 else float("nan")
        rows.append({"sku": s.sku, "category": s.category, "variant": s.variant, "units": s.n_control + s.n_variant,
                     "raw_lift_rel": raw, "lift_rel": s.lift_rel, "lo": s.lift_rel_ci[0], "hi": s.lift_rel_ci[1],
                     "interval": fmt_change_ci(*s.lift_rel_ci, "lift"),
                     "prob_beat_control": s.prob_beat_control, "category_lift_rel": cat.get(s.category, float("nan"))})
    return pd.DataFrame(rows, columns=["sku", "category", "variant", "units", "raw_lift_rel", "lift_rel", "lo", "hi",
                                       "interval", "prob_beat_control", "category_lift_rel"])


def allocation_frame(data: ExperimentData, planned: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per day × variant: the planned allocation weight and the realised share of new units.

    ``planned`` has ``day, variant, weight``: the weights in force each day, from the bandit's
    allocation log (:meth:`workbench.bandits.history.AllocationHistory.by_day`).
    """
    cols = ["day", "variant", "planned_weight", "realised_share", "units"]
    if "day" not in data.cube.columns:
        return pd.DataFrame(columns=cols)
    units = data.cube.groupby(["day", "variant"], observed=True)["n"].sum().unstack("variant")
    units = units.reindex(columns=list(data.variants), fill_value=0).fillna(0.0).sort_index()
    share = units.div(units.sum(axis=1).where(lambda s: s > 0), axis=0)
    out = (share.stack().rename("realised_share").reset_index()
           .merge(units.stack().rename("units").reset_index(), on=["day", "variant"]))
    out["day"] = pd.to_datetime(out["day"])
    if planned is not None and not planned.empty:
        p = planned[["day", "variant", "weight"]].copy()
        p["day"] = pd.to_datetime(p["day"])
        out = out.merge(p.rename(columns={"weight": "planned_weight"}), on=["day", "variant"], how="outer")
    else:
        out["planned_weight"] = np.nan
    out["variant"] = pd.Categorical(out["variant"], categories=list(data.variants), ordered=True)
    out = out.sort_values(["day", "variant"]).reset_index(drop=True)
    out["variant"] = out["variant"].astype(str)
    return out[cols]

