"""Two trust checks for the health badge: SRM within segments, and pre-period covariate balance.

- **SRM per segment**: the sample-ratio test (:func:`workbench.stats.srm.srm_core`) within every
  level of ``device``, ``channel`` and ``user_type`` (those the data has). A mismatch confined to one
  segment (the app drops a redirect, one channel's traffic is filtered) can hide in a healthy total.
  The p-values are **Holm-corrected across every segment test** (all dimensions and levels together);
  a corrected p below the experiment's SRM warning threshold is a Warning (never Blocked: the overall
  SRM test decides blocking). A level whose expected units are below 5 in some arm is not tested
  (the chi-square approximation would not hold). Not applied to bandits.
- **Pre-period balance**: standardised differences of every pre-period covariate and Hotelling's T²
  joint test of each variant against the control (:func:`workbench.stats.balance.balance_core`),
  Holm-corrected across the variants. A corrected p below ``Settings.health.balance_warning_p``
  (0.001) is a Warning; otherwise the result is noted (info) with the largest standardised
  difference. Not applied to bandits: their arms take different shares of the traffic at different
  times, so a drifting arrival mix alone would make the arms differ.

Every sentence is built from the numbers it states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .display import ResultMixin, fmt_count, fmt_p_eq, fmt_pct, fmt_signed
from .errors import Problem
from .experiment_data import ExperimentData
from .metrics import sq_col, sum_col, xprod_col
from .results import HealthStatus
from .stats.balance import balance_core
from .stats.multiplicity import adjust_core
from .stats.srm import srm_core

__all__ = ["SEGMENT_DIMS", "MIN_EXPECTED", "SegmentSRM", "SegmentSRMResult", "CovariateBalance", "BalanceResult",
           "segment_srm", "covariate_balance"]

SEGMENT_DIMS: tuple[str, ...] = ("device", "channel", "user_type")
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class SegmentSRM(ResultMixin):
    """The SRM test within one segment level."""

    dim: str
    level: str
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    statistic: float
    p_value: float
    p_value_adjusted: float


@dataclass(frozen=True)
class SegmentSRMResult(ResultMixin):
    """Every segment SRM test, corrected together (``correction`` names the family)."""

    dims: tuple[str, ...]
    tests: tuple[SegmentSRM, ...]
    correction: str
    threshold: float
    untested: tuple[str, ...] = ()
    status: HealthStatus = "healthy"

    def flagged(self) -> list[SegmentSRM]:
        return [t for t in self.tests if t.p_value_adjusted < self.threshold]


@dataclass(frozen=True)
class CovariateBalance(ResultMixin):
    """One variant against the control on the pre-period covariates."""

    variant: str
    control_mean: tuple[float, ...]
    variant_mean: tuple[float, ...]
    std_diff: tuple[float, ...]
    t2: float
    f: float
    df1: float
    df2: float
    p_value: float
    p_value_adjusted: float


@dataclass(frozen=True)
class BalanceResult(ResultMixin):
    """Pre-period balance of every variant against the control."""

    covariates: tuple[str, ...]
    variants: tuple[CovariateBalance, ...]
    correction: str
    threshold: float
    status: HealthStatus = "healthy"

    def largest(self) -> tuple[str, str, float] | None:
        """(variant, covariate, standardised difference) with the largest |difference|."""
        best = None
        for v in self.variants:
            for c, d in zip(self.covariates, v.std_diff):
                if np.isfinite(d) and (best is None or abs(d) > abs(best[2])):
                    best = (v.variant, c, float(d))
        return best


def _shares(x: np.ndarray) -> str:
    return " / ".join(fmt_pct(v, 1) for v in x / x.sum())


def segment_srm(data: ExperimentData, weights: Mapping[str, float] | None, threshold: float, *,
                dims: Sequence[str] = SEGMENT_DIMS) -> tuple[SegmentSRMResult | None, list[Problem]]:
    """SRM within each segment level, Holm-corrected across all of them (see module doc)."""
    present = [d for d in dims if d in data.cube.columns]
    variants = list(data.variants)
    if not present or len(variants) < 2 or "n" not in data.cube.columns:
        return None, []
    w = np.array([weights.get(v, 0.0) for v in variants]) if weights else np.ones(len(variants))
    if not np.any(w > 0):
        return None, []
    rows: list[tuple[str, str, np.ndarray]] = []
    untested: list[str] = []
    for dim in present:
        table = (data.cube.groupby([dim, "variant"], observed=True)["n"].sum().unstack("variant")
                 .reindex(columns=variants, fill_value=0).fillna(0.0))
        for level, obs in table.iterrows():
            obs_a = obs.to_numpy(dtype=np.float64)
            expected = obs_a.sum() * w / w.sum()
            if obs_a.sum() <= 0 or np.any(expected[w > 0] < MIN_EXPECTED):
                untested.append(f"{dim} = {level}")
                continue
            rows.append((dim, str(level), obs_a))
    if not rows:
        return SegmentSRMResult(tuple(present), (), "none (no segment large enough to test)", threshold,
                                tuple(untested)), []
    obs = np.stack([r[2] for r in rows])
    stat, p, _, expected = srm_core(obs, w)
    p_adj = adjust_core(p, "holm") if len(rows) > 1 else p
    tests = tuple(SegmentSRM(d, lv, tuple(o.tolist()), tuple(e.tolist()), float(s), float(pv), float(pa))
                  for (d, lv, o), e, s, pv, pa in zip(rows, expected, stat, p, p_adj))
    correction = f"Holm across {len(tests)} segment tests ({', '.join(present)})" if len(tests) > 1 else \
        "none (one segment test)"
    result = SegmentSRMResult(tuple(present), tests, correction, threshold, tuple(untested))
    problems = []
    for t in result.flagged():
        o = np.asarray(t.observed)
        problems.append(Problem(
            "warning", "segment_srm",
            f"sample ratio mismatch within {t.dim} = {t.level}: {_shares(o)} of {fmt_count(o.sum())} units observed vs "
            f"{_shares(np.asarray(t.expected))} planned ({fmt_p_eq(t.p_value_adjusted, 'Holm-adjusted p')} over "
            f"{len(tests)} segment tests, below {threshold:g}); assignment or logging may be broken for this segment",
            file=data.source or None, column=t.dim, value=t.level))
    if problems:
        result = SegmentSRMResult(result.dims, result.tests, result.correction, threshold, result.untested, "warning")
    return result, problems


def _covariate_sums(data: ExperimentData) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    cols = set(data.cube.columns)
    covs = sorted(c[:-5] for c in cols if c.startswith("pre_") and c.endswith("__sum"))
    covs = [c for c in covs if sq_col(c) in cols]
    usable: list[str] = []
    for c in covs:                      # keep covariates whose cross-products with the kept ones exist
        if all(xprod_col(c, k) in cols for k in usable):
            usable.append(c)
    if not usable:
        return None
    t = data.arm_table()
    n = t["n"].to_numpy(dtype=np.float64)
    xs = np.stack([t[sum_col(c)].to_numpy(dtype=np.float64) for c in usable], axis=-1)
    xx = np.empty((len(n), len(usable), len(usable)))
    for i, a in enumerate(usable):
        for j, b in enumerate(usable):
            xx[:, i, j] = t[sq_col(a) if i == j else xprod_col(a, b)].to_numpy(dtype=np.float64)
    return usable, n, xs, xx


def covariate_balance(data: ExperimentData, threshold: float) -> tuple[BalanceResult | None, list[Problem]]:
    """Standardised differences and Hotelling's T² of each variant vs the control (see module doc)."""
    sums = _covariate_sums(data) if len(data.variants) >= 2 and "n" in data.cube.columns else None
    if sums is None:
        return None, []
    covs, n, xs, xx = sums
    arms = [0] + [i for i in range(1, len(n)) if n[i] > 1]
    if n[0] <= 1 or len(arms) < 2:
        return None, []
    b = balance_core(n[arms], xs[arms], xx[arms])
    finite = np.isfinite(b.p_value)
    p_adj = b.p_value.copy()
    if finite.sum() > 1:
        p_adj[finite] = adjust_core(b.p_value[finite], "holm")
    variants = tuple(CovariateBalance(
        data.variants[i], tuple(b.mean[0].tolist()), tuple(b.mean[k + 1].tolist()), tuple(b.std_diff[k].tolist()),
        float(b.t2[k]), float(b.f[k]), float(b.df1[k]), float(b.df2[k]), float(b.p_value[k]), float(p_adj[k]))
        for k, i in enumerate(arms[1:]))
    correction = f"Holm across {len(variants)} variants" if finite.sum() > 1 else "none (one comparison)"
    flagged = [v for v in variants if np.isfinite(v.p_value_adjusted) and v.p_value_adjusted < threshold]
    result = BalanceResult(tuple(covs), variants, correction, threshold, "warning" if flagged else "healthy")
    src = data.source or None
    largest = result.largest()
    if flagged:
        out = []
        for v in flagged:
            k = int(np.nanargmax(np.abs(np.nan_to_num(v.std_diff))))
            out.append(Problem(
                "warning", "imbalance",
                f"pre-period covariates differ between {data.control} and {v.variant} before the experiment "
                f"(Hotelling's T² {fmt_p_eq(v.p_value_adjusted, 'p' if len(variants) == 1 else 'Holm-adjusted p')}, "
                f"below {threshold:g}; largest standardised difference {fmt_signed(v.std_diff[k], 3)} on {covs[k]}); "
                "assignment may not be random or the covariate join is broken",
                file=src, column=covs[k], value=float(v.p_value_adjusted)))
        return result, out
    if largest is None:
        return result, []
    p_min = min((v.p_value_adjusted for v in variants if np.isfinite(v.p_value_adjusted)), default=float("nan"))
    if not np.isfinite(p_min):
        return result, []
    return result, [Problem(
        "info", "balance",
        f"pre-period covariates ({', '.join(covs)}) show no imbalance between arms: largest standardised difference "
        f"{fmt_signed(largest[2], 3)} ({largest[1]}, {largest[0]}); Hotelling's T² "
        f"{fmt_p_eq(p_min, 'smallest Holm-adjusted p' if len(variants) > 1 else 'p')}", file=src, value=p_min)]
