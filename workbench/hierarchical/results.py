"""Result objects of the hierarchical models, and the one summariser that fills them from draws.

Every method (full PyMC model, empirical-Bayes fast path, independent per-SKU Beta posteriors)
produces posterior draws of each SKU's control rate and variant rate; :func:`summarise_draws` turns
them into the same :class:`SkuLift` rows, so numbers from different methods mean the same thing.

Credible intervals are **equal-tailed** (quantiles ``(1 − level)/2`` and ``(1 + level)/2``) at the
probability given by ``Settings.credible_level`` (94 % by default); every result states both.
``expected_loss`` is the expected conversion-rate shortfall if the variant is shipped,
``E[max(p_control − p_variant, 0)]``; ``expected_loss_control`` the same for keeping the control.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p0 = rng.beta(50, 950, size=(4000, 1)); p1 = rng.beta(70, 930, size=(4000, 1))
>>> rows = summarise_draws(p0, p1, level=0.94)
>>> round(float(rows["prob_beat_control"][0]), 2), rows["control_rate_ci"][0][0] < 0.05 < rows["control_rate_ci"][0][1]
(0.97, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..display import ResultMixin, escape, fmt_pct
from .blocks import in_blocks
from .data import SkuData

__all__ = ["SkuLift", "CategoryPrior", "Diagnostics", "HierarchicalResult", "summarise_draws", "interval_label",
           "beta_from_moments", "build_sku_rows"]


def interval_label(level: float) -> str:
    """How intervals are described everywhere, e.g. ``"94% equal-tailed credible interval"``."""
    return f"{level * 100:g}% equal-tailed credible interval"


_SUMMARIES = ("control_rate", "variant_rate", "lift_abs", "lift_rel", "lift_logodds")


def _summarise_rows(p0: NDArray[np.float64], p1: NDArray[np.float64], level: float,
                    lift_lo: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Rows (lifts) of draws -> columns: the mean, lower and upper bound of each summary, P(beat), losses."""
    from .row_quantiles import row_quantiles      # numba: imported when first summarising

    lift_abs = p1 - p0
    if lift_lo is None:
        with np.errstate(divide="ignore"):
            lift_lo = np.log(p1) - np.log1p(-p1) - np.log(p0) + np.log1p(-p0)
    series = (p0, p1, lift_abs, p1 / p0 - 1, lift_lo)
    out = np.empty((p0.shape[0], 3 * len(series) + 3))
    for i, d in enumerate(series):
        out[:, 3 * i] = d.mean(axis=1)
        out[:, 3 * i + 1:3 * i + 3] = row_quantiles(d, (1 - level) / 2, (1 + level) / 2)    # np.quantile's
    out[:, -3] = (lift_abs > 0).mean(axis=1) + 0.5 * (lift_abs == 0).mean(axis=1)
    out[:, -2] = np.maximum(-lift_abs, 0).mean(axis=1)
    out[:, -1] = np.maximum(lift_abs, 0).mean(axis=1)
    return out


def summarise_draws(p_control: NDArray[np.float64], p_variant: NDArray[np.float64], *,
                    level: float, lift_logodds: NDArray[np.float64] | None = None) -> dict[str, Any]:
    """Posterior summaries per lift from draws shaped (draws, lifts) of both arms' rates.

    ``lift_logodds``: the same draws' log-odds lifts when the caller has them (the model's own
    parameter; else computed from the rates). Computed a block of lifts at a time on all cores
    (:mod:`.blocks`).
    """
    table = np.empty((p_control.shape[1], 3 * len(_SUMMARIES) + 3))

    def run(s: slice) -> None:
        lo = None if lift_logodds is None else np.ascontiguousarray(lift_logodds[:, s].T)
        table[s] = _summarise_rows(np.ascontiguousarray(p_control[:, s].T), np.ascontiguousarray(p_variant[:, s].T),
                                   level, lo)

    in_blocks(run, table.shape[0], size=32)
    out: dict[str, Any] = {}
    for i, name in enumerate(_SUMMARIES):
        out[name] = table[:, 3 * i]
        out[f"{name}_ci"] = list(zip(table[:, 3 * i + 1].tolist(), table[:, 3 * i + 2].tolist()))
    out["prob_beat_control"], out["expected_loss"], out["expected_loss_control"] = table[:, -3:].T
    return out


def beta_from_moments(mean: NDArray[np.float64] | float, var: NDArray[np.float64] | float) -> tuple[Any, Any]:
    """Beta(a, b) with the given mean and variance (method of moments)."""
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    kappa = mean * (1 - mean) / np.maximum(var, 1e-300) - 1
    return mean * kappa, (1 - mean) * kappa


@dataclass(frozen=True)
class SkuLift(ResultMixin):
    """One SKU's variant against its control, shrunk towards its category (rates are conversion rates)."""

    sku: str
    category: str
    variant: str
    control: str
    n_control: float
    conversions_control: float
    n_variant: float
    conversions_variant: float
    control_rate: float
    control_rate_ci: tuple[float, float]
    variant_rate: float
    variant_rate_ci: tuple[float, float]
    lift_abs: float
    lift_abs_ci: tuple[float, float]
    lift_rel: float
    lift_rel_ci: tuple[float, float]
    lift_logodds: float
    lift_logodds_ci: tuple[float, float]
    prob_beat_control: float
    expected_loss: float
    expected_loss_control: float

    @property
    def observed_control_rate(self) -> float:
        return self.conversions_control / self.n_control

    @property
    def observed_variant_rate(self) -> float:
        return self.conversions_variant / self.n_variant


@dataclass(frozen=True)
class CategoryPrior(ResultMixin):
    """What the model expects for a brand-new SKU of this category (before it has any traffic).

    ``rate_*``: its control conversion rate; ``beta_a``/``beta_b``: the Beta distribution with the
    same mean and variance (a ready-made Thompson-sampling prior); ``lift_*``: its lift.
    """

    category: str
    n_skus: int
    rate_mean: float
    rate_ci: tuple[float, float]
    beta_a: float
    beta_b: float
    lift_logodds_mean: float
    lift_logodds_ci: tuple[float, float]
    lift_rel_mean: float
    lift_rel_ci: tuple[float, float]


@dataclass(frozen=True)
class Diagnostics(ResultMixin):
    """Sampler diagnostics (ArviZ rank-normalised split r_hat, bulk and tail ESS; divergences).

    ``*_lifts`` are over the SKU lifts (what decisions read); ``*_all`` over every parameter.
    """

    sampler: str
    parameterisation: str
    chains: int
    draws: int
    tune: int
    max_rhat_lifts: float
    min_ess_bulk_lifts: float
    min_ess_tail_lifts: float
    max_rhat_all: float
    min_ess_bulk_all: float
    divergences: int
    compile_seconds: float
    sample_seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.warnings

    @property
    def ess_bulk_per_second(self) -> float:
        return self.min_ess_bulk_lifts / self.sample_seconds if self.sample_seconds > 0 else float("nan")


@dataclass(frozen=True)
class HierarchicalResult(ResultMixin):
    """Per-SKU shrunken estimates, per-category priors for new SKUs, and how they were obtained.

    ``method`` is ``"hierarchical"`` (PyMC), ``"empirical_bayes"`` or ``"independent"``;
    ``interval`` states the credible interval's kind and probability. ``warnings`` is non-empty
    when diagnostics are bad: do not act on the numbers before reading them.
    """

    method: str
    interval: str
    credible_level: float
    skus: tuple[SkuLift, ...]
    categories: tuple[CategoryPrior, ...]
    new_category: CategoryPrior | None = None
    diagnostics: Diagnostics | None = None
    hyperparameters: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    _draws: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.warnings

    def to_frame(self) -> pd.DataFrame:
        """One row per SKU lift, intervals split into ``*_lo``/``*_hi`` columns."""
        rows = []
        for s in self.skus:
            d = s.to_dict()
            row: dict[str, Any] = {}
            for k, v in d.items():
                if isinstance(v, list):
                    row[f"{k[:-3]}_lo"], row[f"{k[:-3]}_hi"] = v
                else:
                    row[k] = v
            rows.append(row)
        return pd.DataFrame(rows)

    def categories_frame(self) -> pd.DataFrame:
        """One row per category: the prior a brand-new SKU of the category starts from."""
        rows = [c.to_dict() for c in self.categories]
        for r in rows:
            for k in ("rate_ci", "lift_logodds_ci", "lift_rel_ci"):
                r[f"{k[:-3]}_lo"], r[f"{k[:-3]}_hi"] = r.pop(k)
        return pd.DataFrame(rows)

    def sku(self, sku: str, variant: str | None = None) -> SkuLift:
        for s in self.skus:
            if s.sku == sku and (variant is None or s.variant == variant):
                return s
        raise KeyError(sku)

    def category_prior(self, category: str) -> CategoryPrior:
        for c in self.categories:
            if c.category == category:
                return c
        if self.new_category is not None:
            return self.new_category
        raise KeyError(category)

    def _repr_html_(self) -> str:
        head = f"<strong>{escape(self.method)} estimates</strong> ({escape(self.interval)})"
        warn = "".join(f"<p style='color:#b00'>⚠ {escape(w)}</p>" for w in self.warnings)
        diag = self.diagnostics.to_frame().to_html(index=False, border=0) if self.diagnostics else ""
        table = self.to_frame().head(20).to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}")
        more = f"<p>… {len(self.skus) - 20} more rows (.to_frame())</p>" if len(self.skus) > 20 else ""
        return f"<div class='workbench-result'>{head}{warn}{diag}{table}{more}</div>"

    def summary_line(self) -> str:
        """One line for a CLI or a log; "likely better" uses ``Settings.bandit.decision_prob``."""
        from ..config import get_settings

        threshold = get_settings().bandit.decision_prob
        n_win = sum(s.prob_beat_control >= threshold for s in self.skus)
        return (f"{self.method}: {len(self.skus)} SKU lifts in {len(self.categories)} categories; "
                f"{n_win} with P(variant > control) >= {threshold:.0%}; intervals: {self.interval}"
                + ("" if self.ok else f"; WARNING: {'; '.join(self.warnings)}"))


def build_sku_rows(data: SkuData, summary: dict[str, Any]) -> tuple[SkuLift, ...]:
    """Label the summaries of :func:`summarise_draws` with each lift's SKU, category and counts.

    Column by column (each turned into a Python list once), so 10,000 rows take milliseconds.
    """
    j = data.lift_sku
    cats = [data.categories[int(c)] for c in data.sku_category]
    columns: dict[str, list[Any]] = {
        "sku": [data.skus[i] for i in j], "category": [cats[i] for i in j], "variant": list(data.lift_variant),
        "control": [data.control[i] for i in j], "n_control": data.control_n[j].astype(float).tolist(),
        "conversions_control": data.control_y[j].astype(float).tolist(),
        "n_variant": np.asarray(data.lift_n, dtype=float).tolist(),
        "conversions_variant": np.asarray(data.lift_y, dtype=float).tolist()}
    for k, v in summary.items():
        columns[k] = [tuple(x) for x in v] if isinstance(v, list) else np.asarray(v, dtype=float).tolist()
    names = list(columns)
    return tuple(SkuLift(**dict(zip(names, row))) for row in zip(*columns.values()))


def category_prior_row(category: str, n_skus: int, rate: NDArray[np.float64], lift_lo: NDArray[np.float64],
                       lift_rel: NDArray[np.float64], level: float) -> CategoryPrior:
    """A :class:`CategoryPrior` from draws of a new SKU's rate and lift."""
    a, b = beta_from_moments(rate.mean(), rate.var())
    q = [(1 - level) / 2, (1 + level) / 2]
    return CategoryPrior(category=category, n_skus=n_skus, rate_mean=float(rate.mean()),
                         rate_ci=tuple(np.quantile(rate, q).tolist()), beta_a=float(a), beta_b=float(b),
                         lift_logodds_mean=float(lift_lo.mean()), lift_logodds_ci=tuple(np.quantile(lift_lo, q).tolist()),
                         lift_rel_mean=float(lift_rel.mean()), lift_rel_ci=tuple(np.quantile(lift_rel, q).tolist()))


def format_prior(c: CategoryPrior) -> str:
    """One readable line, e.g. for a CLI or a memo."""
    return (f"{c.category}: new-SKU rate {fmt_pct(c.rate_mean)} [{fmt_pct(c.rate_ci[0])}, {fmt_pct(c.rate_ci[1])}] "
            f"~ Beta({c.beta_a:.1f}, {c.beta_b:.1f}); lift {fmt_pct(c.lift_rel_mean, signed=True)}")
