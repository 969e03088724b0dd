"""Stratified, multi-covariate regression adjustment of one metric, from the experiment's cube.

:func:`adjust_metric` builds the per-cell sums (strata × arms) of a metric and of every pre-period
covariate the cube carries, and runs :func:`workbench.stats.adjust.adjust_core` (Lin's fully
interacted regression; ratio metrics linearised by the delta method first). The result is reported
*beside* the headline comparison (plain, or single-covariate CUPED) with the variance reduction it
achieves; decisions keep reading the headline.

Conventions:

- **strata**: the cells of ``device × channel × user_type`` (those of the data's dimensions that are
  there; ``AnalysisOptions.strata`` chooses others). A cell with fewer than
  :data:`MIN_CELL_UNITS` units in some arm is pooled with the other sparse cells into one cell
  (and that pool, if still sparse, into the largest cell), so every stratum has units in every arm;
- **covariates**: every ``pre_*`` value the cube sums (``AnalysisOptions.adjust_covariates``
  chooses); a covariate whose cross-products are missing is left out and named in the note;
- **inference**: normal (z) intervals and two-sided p-values on the HC0 variance; the plain
  estimate beside it is the difference of raw means with ``s²/n`` per arm.

Cube columns it reads (names as in :mod:`workbench.metrics`): per cell ``n``, Σy, Σy², and for each
covariate x: Σx, Σx², Σy·x and Σx·x' for every other covariate x'; for a ratio metric also Σden,
Σden², Σnum·den and Σden·x. :func:`adjustment_products` lists the cross-products the aggregation
must add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .display import ResultMixin, fmt_pct
from .errors import InputError, Problem
from .metrics import Metric, sq_col, sum_col, xprod_col
from .stats.adjust import AdjustCells, adjust_core, linearise_ratio_cells

__all__ = ["STRATA_DIMS", "MIN_CELL_UNITS", "AdjustedEstimate", "Adjustment", "adjustment_products",
           "covariates_in", "adjust_metric", "adjustment_note", "with_adjustment"]

STRATA_DIMS: tuple[str, ...] = ("device", "channel", "user_type")
MIN_CELL_UNITS = 10
_POOLED = "(pooled sparse cells)"


def adjustment_products(metrics: Iterable[Metric], covariates: Sequence[str]) -> set[tuple[str, str]]:
    """Pairs (a, b) whose Σa·b the regression adjustment needs: every covariate pair, and each metric's
    numerator (and denominator) with each covariate.

    >>> sorted(adjustment_products([Metric("ctr", "ratio", "clicks", "impressions")], ["pre_a", "pre_b"]))[:3]
    [('clicks', 'pre_a'), ('clicks', 'pre_b'), ('impressions', 'pre_a')]
    """
    covs = sorted(set(covariates))
    pairs = {(a, b) for i, a in enumerate(covs) for b in covs[i + 1:]}
    for m in metrics:
        for v in (m.numerator, m.denominator):
            if v:
                pairs |= {tuple(sorted((v, c))) for c in covs}  # type: ignore[misc]
    return pairs


def covariates_in(columns: Iterable[str]) -> list[str]:
    """The pre-period covariates an aggregated table sums (``pre_*__sum``), sorted."""
    return sorted(c[: -len("__sum")] for c in columns if c.startswith("pre_") and c.endswith("__sum"))


@dataclass(frozen=True)
class AdjustedEstimate(ResultMixin):
    """One variant against the control: the plain and the adjusted lift, and the variance reduction."""

    variant: str
    control_value: float            # adjusted means (on the metric's scale)
    variant_value: float
    lift_abs: float
    lift_abs_ci: tuple[float, float]
    lift_rel: float
    lift_rel_ci: tuple[float, float]
    se: float
    p_value: float
    plain_lift_abs: float
    plain_lift_abs_ci: tuple[float, float]
    plain_se: float
    plain_p_value: float
    variance_reduction: float       # 1 − Var(adjusted lift) / Var(plain lift)
    cuped_variance_reduction: float | None = None   # the single-covariate CUPED of the headline, when applied


@dataclass(frozen=True)
class Adjustment(ResultMixin):
    """The stratified / regression-adjusted estimate of one metric (``estimates`` empty when not applied)."""

    metric: str
    strata: tuple[str, ...]
    covariates: tuple[str, ...]
    cells: int
    pooled_cells: int
    ci_level: float
    estimates: tuple[AdjustedEstimate, ...] = ()
    cuped_covariate: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def applied(self) -> bool:
        return bool(self.estimates)

    def method(self) -> str:
        """The estimator in one phrase, from what was used."""
        parts = []
        if self.strata:
            parts.append(f"{self.cells} strata ({' × '.join(self.strata)})")
        if self.covariates:
            parts.append(f"{len(self.covariates)} pre-period covariate{'s' if len(self.covariates) > 1 else ''} "
                         f"({', '.join(self.covariates)})")
        return "regression adjustment on " + " and ".join(parts) if parts else "no adjustment"


def _covariates_usable(cols: set[str], m: Metric, wanted: Sequence[str]) -> tuple[list[str], list[str]]:
    keep: list[str] = []
    dropped: list[str] = []
    for c in wanted:
        need = {sum_col(c), sq_col(c), xprod_col(m.numerator, c), *(xprod_col(k, c) for k in keep)}
        if m.denominator:
            need.add(xprod_col(m.denominator, c))
        (keep if need <= cols else dropped).append(c)
    return keep, dropped


def _pool(table: pd.DataFrame, strata: list[str], variants: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Cells × arms sums; cells with fewer than MIN_CELL_UNITS units in an arm are pooled (see module doc)."""
    if not strata:
        t = table.groupby("variant", observed=True).sum(numeric_only=True)
        return pd.concat({"all": t.reindex(list(variants), fill_value=0)}, names=["cell"]), 0
    g = table.groupby([*strata, "variant"], observed=True, dropna=False).sum(numeric_only=True)
    labels = [" / ".join(map(str, key[:-1])) for key in g.index]            # a few dozen cells: cheap
    g.index = pd.MultiIndex.from_arrays([labels, g.index.get_level_values("variant")], names=["cell", "variant"])
    g = g.groupby(level=["cell", "variant"]).sum()
    units = g["n"].unstack("variant").reindex(columns=list(variants), fill_value=0).fillna(0)
    live = units.loc[:, units.sum() > 0]                  # an arm with no units at all is not compared anyway
    sparse = units.index[(live < MIN_CELL_UNITS).any(axis=1)]
    if len(sparse):
        mapping = {c: _POOLED for c in sparse}
        pooled_units = live.loc[sparse].sum()
        if (pooled_units < MIN_CELL_UNITS).any() and len(units.index) > len(sparse):
            largest = units.drop(index=sparse).sum(axis=1).idxmax()
            mapping = {c: largest for c in sparse}
        g = g.rename(index=mapping, level="cell").groupby(level=["cell", "variant"]).sum()
    full = pd.MultiIndex.from_product([sorted(g.index.get_level_values("cell").unique()), list(variants)],
                                      names=["cell", "variant"])
    return g.reindex(full, fill_value=0), len(sparse)


def _cells(g: pd.DataFrame, m: Metric, covs: list[str], n_cells: int, k: int) -> AdjustCells:
    def col(name: str) -> np.ndarray:
        return g[name].to_numpy(dtype=np.float64).reshape(n_cells, k)

    p = len(covs)
    xs = np.stack([col(sum_col(c)) for c in covs], axis=-1) if p else np.zeros((n_cells, k, 0))
    xx = np.zeros((n_cells, k, p, p))
    for i, a in enumerate(covs):
        for j, b in enumerate(covs):
            xx[..., i, j] = col(sq_col(a)) if i == j else col(xprod_col(a, b))
    def with_x(v: str) -> np.ndarray:
        return np.stack([col(xprod_col(v, c)) for c in covs], axis=-1) if p else np.zeros((n_cells, k, 0))
    n = col("n")
    if m.kind == "ratio":
        assert m.denominator is not None
        return linearise_ratio_cells(n, col(sum_col(m.numerator)), col(sq_col(m.numerator)),
                                     col(sum_col(m.denominator)), col(sq_col(m.denominator)),
                                     col(xprod_col(m.numerator, m.denominator)), xs, xx, with_x(m.numerator),
                                     with_x(m.denominator))
    return AdjustCells(n, col(sum_col(m.numerator)), col(sq_col(m.numerator)), xs, xx, with_x(m.numerator))


def _z(lift: float, se: float, alpha: float) -> tuple[tuple[float, float], float]:
    q = float(special.ndtri(1 - alpha / 2))
    with np.errstate(all="ignore"):
        p = float(2 * special.ndtr(-abs(lift / se))) if se > 0 else float("nan")
    return (lift - q * se, lift + q * se), p


def adjust_metric(cube: pd.DataFrame, variants: Sequence[str], m: Metric, *, alpha: float = 0.05,
                  strata: Sequence[str] | None = None, covariates: Sequence[str] | None = None,
                  headline: Sequence[Any] = (), memo: dict[Any, Any] | None = None) -> Adjustment:
    """The adjusted estimate of ``m`` for every variant against ``variants[0]`` (see module doc).

    ``headline`` are the metric's :class:`~workbench.results.Comparison` objects; their CUPED variance
    reduction (single covariate) is carried beside the adjusted one. ``memo`` (the experiment's
    :attr:`~workbench.experiment_data.ExperimentData.memo`) keeps the cells × arms sums of every column for the
    experiment's other metrics: they are pooled the same way (by the units), so only the grouping is shared.
    """
    cols = set(cube.columns)
    unknown = [(d, "strata", "stratify by") for d in (strata or ()) if d not in cols] + \
        [(c, "adjust_covariates", "adjust for") for c in (covariates or ()) if sum_col(c) not in cols]
    if unknown:
        known = {"strata": [c for c in cube.columns if not pd.api.types.is_numeric_dtype(cube[c])
                            and c not in ("variant", "excluded", "experiment_id", "day", "last_ts")],
                 "adjust_covariates": covariates_in(cols)}
        raise InputError([Problem("blocked", "bad_option", f"{option}: the data has no {name!r} to {what}; it has: "
                                  f"{', '.join(map(str, known[option])) or 'none'}", column=option, value=name)
                          for name, option, what in unknown])
    dims = [d for d in (STRATA_DIMS if strata is None else strata) if d in cols]
    wanted = covariates_in(cols) if covariates is None else list(covariates)
    covs, dropped = _covariates_usable(cols, m, wanted)
    notes: list[str] = []
    if dropped:
        notes.append(f"left out {', '.join(dropped)}: the data has no cross-products with "
                     f"{m.numerator}{' or ' + m.denominator if m.denominator else ''} and the other covariates")
    base = dict(metric=m.name, strata=tuple(dims), ci_level=1 - alpha,
                cuped_covariate=m.covariate if any((c.extra.get("cuped") or {}).get("applied") for c in headline)
                else None)
    needed = {"n", sum_col(m.numerator), sq_col(m.numerator)}
    if m.denominator:
        needed |= {sum_col(m.denominator), sq_col(m.denominator), xprod_col(m.numerator, m.denominator)}
    if not needed <= cols or (not dims and not covs):
        why = "no strata and no pre-period covariates to adjust for" if needed <= cols else \
            f"the data has no column {sorted(needed - cols)[0]}"
        return Adjustment(covariates=(), cells=0, pooled_cells=0, notes=(*notes, f"not adjusted: {why}"), **base)
    keep_cols = sorted(needed | {sum_col(c) for c in covs} | {sq_col(c) for c in covs}
                       | {xprod_col(a, b) for i, a in enumerate(covs) for b in covs[i + 1:]}
                       | {xprod_col(v, c) for v in (m.numerator, m.denominator) if v for c in covs})
    memo = {} if memo is None else memo
    key = ("adjustment cells", tuple(dims), tuple(variants))
    if key not in memo:           # every sum column at once: the pooling is decided by the units, whatever the metric
        sums = [c for c in cube.columns if (c == "n" or "__" in c) and c not in dims]
        memo[key] = _pool(cube[[*dims, "variant", *sums]], dims, variants)
    g_all, pooled = memo[key]
    g = g_all[keep_cols]
    n_cells = len(g.index.get_level_values("cell").unique())
    k = len(variants)
    arr = adjust_core(_cells(g, m, covs, n_cells, k))
    if pooled:
        notes.append(f"{pooled} sparse cell{'s' if pooled > 1 else ''} (fewer than {MIN_CELL_UNITS} units in an arm) "
                     "pooled")
    by_variant = {c.variant: c for c in headline}
    estimates = []
    for j, v in enumerate(variants[1:]):
        if not (np.isfinite(arr.lift[j]) and np.isfinite(arr.se[j])):
            continue
        lift, se = float(arr.lift[j]), float(arr.se[j])
        ci, p = _z(lift, se, alpha)
        plain_lift = float(arr.plain_mean[j + 1] - arr.plain_mean[0])
        plain_ci, plain_p = _z(plain_lift, float(arr.plain_se[j]), alpha)
        m0, m1 = float(arr.mean[0]), float(arr.mean[j + 1])
        with np.errstate(all="ignore"):
            rel = m1 / m0 - 1 if m0 != 0 else float("nan")
            rel_se = float(np.sqrt(arr.var[j + 1] / m0 ** 2 + m1 ** 2 * arr.var[0] / m0 ** 4)) if m0 != 0 else float("nan")
        rel_ci, _ = _z(rel, rel_se, alpha)
        head = by_variant.get(v)
        cuped = (head.extra.get("cuped") or {}) if head is not None else {}
        estimates.append(AdjustedEstimate(
            variant=v, control_value=m0, variant_value=m1, lift_abs=lift, lift_abs_ci=ci, lift_rel=rel,
            lift_rel_ci=rel_ci, se=se, p_value=p, plain_lift_abs=plain_lift, plain_lift_abs_ci=plain_ci,
            plain_se=float(arr.plain_se[j]), plain_p_value=plain_p, variance_reduction=float(arr.variance_reduction[j]),
            cuped_variance_reduction=float(cuped["variance_reduction"]) if cuped.get("applied") else None))
    if not estimates:
        notes.append("not adjusted: the adjusted estimate is undefined (an arm without units, or a ratio whose "
                     "denominator sums to 0)")
    return Adjustment(covariates=tuple(covs), cells=n_cells, pooled_cells=pooled, estimates=tuple(estimates),
                      notes=tuple(notes), **base)


def adjustment_note(a: Adjustment) -> str | None:
    """The metric note about the adjustment: what was used and the variance reduction (None when not applied).

    >>> e = AdjustedEstimate("b", .1, .11, .01, (0, .02), .1, (0, .2), .005, .04, .01, (-.01, .03), .01, .3, .75)
    >>> adjustment_note(Adjustment("cvr", ("device",), ("pre_purchases",), 3, 0, 0.95, (e,)))
    'stratified multi-covariate estimate (3 strata, 1 covariate): variance of the lift reduced by 75.0% (shown beside the headline, which decisions use)'
    """
    if not a.applied:
        return None
    red = float(np.mean([e.variance_reduction for e in a.estimates]))
    change = f"reduced by {fmt_pct(red, 1)}" if red >= 0 else f"increased by {fmt_pct(-red, 1)}"
    k = len(a.covariates)
    return f"stratified multi-covariate estimate ({a.cells} strata, {k} covariate{'' if k == 1 else 's'}): variance of " \
           f"the lift {change} (shown beside the headline, which decisions use)"


def with_adjustment(data: Any, m: Metric, result: Any, *, alpha: float, strata: Sequence[str] | None = None,
                    covariates: Sequence[str] | None = None) -> Any:
    """``result`` (a MetricResult of ``data``) with its :class:`Adjustment` and the note about it."""
    from dataclasses import replace
    adj = adjust_metric(data.cube, data.variants, m, alpha=alpha, strata=strata, covariates=covariates,
                        headline=result.comparisons, memo=getattr(data, "memo", None))
    note = adjustment_note(adj)
    asked = strata is not None or covariates is not None
    extra = [note] if note else [n for n in adj.notes if n.startswith("not adjusted") and asked]
    return replace(result, adjustment=adj, notes=(*result.notes, *extra))
