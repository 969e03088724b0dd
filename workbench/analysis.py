"""Analyse an experiment: health first, then every metric's variants against the control.

:func:`analyze` is the one function every presenter and the decision engine read results from
(through :class:`~workbench.results.AnalysisResult`). It

1. runs the trust checks (:func:`workbench.health.check_health`); when the badge is **blocked**
   no comparison is computed — every metric is returned with empty ``comparisons`` and a note,
   because a number computed on untrustworthy data would be read anyway;
2. compares each variant with the control on every metric with the statistics core
   (:func:`workbench.stats.compare.compare_arrays`: Welch / z / Fisher / delta method, CUPED when a
   pre-period covariate is there, Beta–Binomial or normal–normal Bayesian summaries);
3. corrects p-values across the variants of each metric (Holm by default, ``correction="bh"``
   for Benjamini–Hochberg) and says which family was corrected;
4. optionally adds always-valid confidence sequences (per day when the data has a ``day``
   dimension) and segment breakdowns (exploratory);
5. for an A/A experiment (``meta["kind"] == "aa"``) turns a significant primary metric into a
   health warning;
6. adds a non-inferiority test beside the usual one for every metric with a margin (``margins``,
   :mod:`workbench.margins`) and the time effects (calendar events in the window, day-of-week
   balance, novelty/primacy trend of the primary lift: :mod:`workbench.time_effects`).

Options come as keyword arguments or an :class:`AnalysisOptions` (what a brief maps to).

>>> import pandas as pd
>>> from workbench.metrics import Metric
>>> cube = pd.DataFrame({"variant": ["control", "b"], "n": [10000, 10000],
...                      "purchased__sum": [1000, 1100], "purchased__sum_sq": [1000, 1100]})
>>> d = ExperimentData("e1", ("control", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased", role="primary"),))
>>> r = analyze(d)
>>> r.health.status, r.primary.comparisons[0].test, round(r.primary.comparisons[0].p_value, 4)
('healthy', 'z', 0.0211)
>>> round(r.primary.comparisons[0].prob_beat_control, 4)
0.9895
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .config import Settings, get_settings
from .display import fmt_pct
from .errors import InputError, Problem
from .experiment_data import ExperimentData
from .aa import aa_verdict
from .health import aa_issue, blocked_reason, check_health, with_issue
from .analysis_quantile import quantile_metric_result
from .metric_defs import covariate_text, metric_label
from .metrics import Metric
from .results import AnalysisResult, Comparison, MetricResult
from .stats._checks import check_ratio, check_sufficient
from .stats.bayes import prob_best_beta, prob_best_normal
from .stats.compare import compare_arrays
from .stats.frequentist import non_inferiority
from .stats.multiplicity import adjust_core
from .stats.sequential import SequentialResult, confidence_sequence_core
from .adjustment import with_adjustment
from .analysis_segments import analyze_segments, heterogeneity_note  # noqa: F401  (re-exported)
from .stats.sufficient import RatioStats, SufficientStats

__all__ = ["NonInferiority", "SequentialOptions", "AnalysisOptions", "analyze", "analyze_segments"]

_CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"}


@dataclass(frozen=True)
class NonInferiority:
    """"The variant is no worse than ``margin``" (relative by default: 0.02 = 2 %)."""

    margin: float
    relative: bool = True


@dataclass(frozen=True)
class SequentialOptions:
    """Always-valid monitoring, tuned to the planned units per arm (the power calculator's n_per_arm)."""

    planned_n_per_arm: float
    alpha: float | None = None
    dim: str = "day"


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything :func:`analyze` can be told; ``None`` means "the Settings default".

    ``alternatives`` and ``non_inferiority`` are per metric name (``non_inferiority`` replaces the
    metric's test by the one-sided one; ``margins`` adds it beside the usual test, as a brief does);
    ``calendar`` lists events to flag; ``priors`` gives a Beta prior
    per proportion metric (a category prior), ``prior`` the default Beta(1, 1); ``normal_priors``
    a (mean, sd) prior on the absolute lift of a mean or ratio metric.
    """

    alpha: float | None = None
    correction: str = "holm"
    cuped: bool = True
    bayes: bool = True
    credible_intervals: bool = True
    credible_level: float | None = None
    expected_weights: Mapping[str, float] | None = None
    srm_warning_p: float | None = None
    srm_blocked_p: float | None = None
    small_sample_units: int | None = None
    small_count: int | None = None
    primary: str | None = None
    guardrails: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    alternatives: Mapping[str, str] = field(default_factory=dict)
    non_inferiority: Mapping[str, NonInferiority] = field(default_factory=dict)
    margins: Mapping[str, NonInferiority] = field(default_factory=dict)   # NI test beside the usual one (a brief's)
    prior: tuple[float, float] = (1.0, 1.0)
    priors: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    normal_priors: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    sequential: SequentialOptions | None = None
    segments: tuple[str, ...] = ()
    aa: bool | None = None            # an A/A experiment (None: the data's meta["kind"] says)
    adjust: bool = True               # stratified multi-covariate adjustment beside the headline (workbench.adjustment)
    strata: tuple[str, ...] | None = None            # None: device, channel, user_type (those present)
    adjust_covariates: tuple[str, ...] | None = None  # None: every pre-period covariate in the data
    calendar: tuple[Any, ...] = ()    # events (workbench.lifecycle.calendar.CalendarEvent) to flag overlaps with
    time_effects: bool = True         # day-of-week balance and the novelty trend (needs a day dimension)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, source: str = "options") -> "AnalysisOptions":
        """Options from a plain mapping (YAML); unknown keys and bad values raise InputError."""
        problems: list[Problem] = []

        def err(key: str, msg: str, value: Any = None) -> None:
            problems.append(Problem("blocked", "bad_option", msg, file=source, column=key,
                                    value=value if isinstance(value, (str, int, float, bool)) or value is None else str(value)))

        known = {f.name for f in fields(cls)} | {"srm"}
        kw: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                err(key, f"unknown option {key!r}; known: {', '.join(sorted(known))}", key)
                continue
            try:
                if key == "srm":
                    if not isinstance(value, Mapping) or set(value) - {"warning_p", "blocked_p"}:
                        raise ValueError("srm takes warning_p and blocked_p")
                    if "warning_p" in value:
                        kw["srm_warning_p"] = float(value["warning_p"])
                    if "blocked_p" in value:
                        kw["srm_blocked_p"] = float(value["blocked_p"])
                elif key in ("alpha", "credible_level", "srm_warning_p", "srm_blocked_p"):
                    kw[key] = None if value is None else float(value)
                elif key in ("small_sample_units", "small_count"):
                    kw[key] = None if value is None else int(value)
                elif key in ("cuped", "bayes", "credible_intervals", "adjust"):
                    if not isinstance(value, bool):
                        raise ValueError("must be true or false")
                    kw[key] = value
                elif key == "correction":
                    if value not in _CORRECTION_NAMES:
                        raise ValueError(f"must be one of {', '.join(_CORRECTION_NAMES)}")
                    kw[key] = value
                elif key in ("guardrails", "metrics", "segments", "strata", "adjust_covariates"):
                    kw[key] = tuple(str(v) for v in ([value] if isinstance(value, str) else value))
                elif key == "primary":
                    kw[key] = None if value is None else str(value)
                elif key == "expected_weights":
                    kw[key] = {str(k): float(v) for k, v in dict(value).items()}
                elif key == "alternatives":
                    for name, alt in dict(value).items():
                        if alt not in ("two-sided", "greater", "less"):
                            raise ValueError(f"alternative for {name!r} must be two-sided, greater or less")
                    kw[key] = {str(k): str(v) for k, v in dict(value).items()}
                elif key in ("non_inferiority", "margins"):
                    ni: dict[str, NonInferiority] = {}
                    for name, spec in dict(value).items():
                        if isinstance(spec, Mapping):
                            ni[str(name)] = NonInferiority(float(spec["margin"]), bool(spec.get("relative", True)))
                        else:
                            ni[str(name)] = NonInferiority(float(spec))
                    kw[key] = ni
                elif key == "prior":
                    a, b = (float(v) for v in value)
                    kw[key] = (a, b)
                elif key in ("priors", "normal_priors"):
                    kw[key] = {str(k): tuple(float(x) for x in v) for k, v in dict(value).items()}
                elif key == "sequential":
                    if value is None:
                        kw[key] = None
                    elif isinstance(value, Mapping):
                        kw[key] = SequentialOptions(float(value["planned_n_per_arm"]),
                                                    None if value.get("alpha") is None else float(value["alpha"]),
                                                    str(value.get("dim", "day")))
                    else:
                        kw[key] = SequentialOptions(float(value))
            except (TypeError, ValueError, KeyError) as exc:
                err(key, f"option {key!r}: {exc}", value if not isinstance(value, (dict, list)) else str(value))
        if problems:
            raise InputError(problems)
        return cls(**kw)


def _apply_roles(data: ExperimentData, opts: AnalysisOptions) -> list[Metric]:
    names = [m.name for m in data.metrics]
    wanted = [*([opts.primary] if opts.primary else []), *(opts.guardrails or ()), *(opts.metrics or ()),
              *opts.alternatives, *opts.non_inferiority, *opts.margins]
    unknown = [n for n in dict.fromkeys(wanted) if n not in names]
    if unknown:
        raise InputError([Problem("blocked", "unknown_metric", f"unknown metric {n!r}; this experiment has: "
                                  f"{', '.join(names) or 'none'}", file=data.source or None, column=n)
                          for n in unknown])
    out = []
    for m in data.metrics:
        if opts.metrics is not None and m.name not in opts.metrics and m.name != opts.primary:
            continue
        if opts.primary:
            if m.name == opts.primary:
                m = m.with_role("primary")
            elif m.role == "primary":
                m = m.with_role("secondary")
        if opts.guardrails is not None and m.name in opts.guardrails:
            m = m.with_role("guardrail")
        out.append(m)
    return out


def _f(x: Any) -> float:
    return float(x)


def _validate_metric(m: Metric, stats: SufficientStats | RatioStats, variants: Sequence[str]) -> str | None:
    keep = np.nonzero(stats.n > 0)[0]
    sub = stats.take(keep)
    names = [variants[i] for i in keep]
    try:
        if isinstance(sub, RatioStats):
            check_ratio(sub, arms=names)
        else:
            check_sufficient(sub, arms=names, proportion=m.kind == "proportion")
    except InputError as exc:
        return str(exc)
    return None


def _hypothesis(alt: str, null: float, null_rel: float | None) -> str:
    lhs, value = ("relative lift", null_rel) if null_rel is not None else ("lift", null)
    op = {"two-sided": "=", "greater": "<=", "less": ">="}[alt]
    return f"H0: {lhs} {op} {value:g}"


def _sequential_for(data: ExperimentData, m: Metric, opts: AnalysisOptions, alpha: float, final: dict[str, Any],
                    compared: list[int]) -> tuple[SequentialResult, ...]:
    seq = opts.sequential
    assert seq is not None
    s_alpha = seq.alpha if seq.alpha is not None else alpha
    planned = 2.0 * seq.planned_n_per_arm
    if seq.dim in data.cube.columns:
        looks, st = data.stats_by(m, seq.dim, use_covariate=opts.cuped, cumulative=True)
        arr = compare_arrays(m.kind, st, higher_is_better=m.higher_is_better, alpha=alpha, cuped=opts.cuped,
                             bayes=False)
    else:
        looks = ["final"]
        arr = {k: np.asarray(v)[None, ...] if isinstance(v, np.ndarray) else v for k, v in final.items()}
    lift, se = np.asarray(arr["lift_abs"]), np.asarray(arr["se"])
    n_pair = np.asarray(arr["n_control"]) + np.asarray(arr["n_variant"])
    p_naive = np.asarray(arr["p_value"])
    with np.errstate(all="ignore"):
        lo, hi, p = confidence_sequence_core(lift, se, n_pair, planned_n=planned, alpha=s_alpha)
    out = []
    for i in compared:
        j = i - 1
        ok = np.isfinite(lift[:, j]) & np.isfinite(se[:, j]) & (n_pair[:, j] > 0)
        if not ok.any():
            continue
        out.append(SequentialResult(
            variant=data.variants[i], control=data.control, alpha=s_alpha, planned_n=planned,
            looks=tuple(lv for lv, k in zip(looks, ok) if k), n=tuple(n_pair[ok, j].tolist()),
            lift=tuple(lift[ok, j].tolist()), cs_lo=tuple(np.maximum.accumulate(lo[ok, j]).tolist()),
            cs_hi=tuple(np.minimum.accumulate(hi[ok, j]).tolist()),
            p_value=tuple(np.minimum.accumulate(p[ok, j]).tolist()), naive_p=tuple(p_naive[ok, j].tolist())))
    return tuple(out)


def _metric_result(data: ExperimentData, m: Metric, opts: AnalysisOptions, settings: Settings, alpha: float,
                   credible_level: float) -> tuple[MetricResult, tuple[SequentialResult, ...]]:
    base = dict(name=m.name, kind=m.kind, role=m.role, label=metric_label(m, data.cube),
                higher_is_better=m.higher_is_better, limit=m.limit, unit=m.unit)
    if m.kind == "quantile":
        return quantile_metric_result(data, m, opts, alpha, base), ()
    try:
        stats = data.stats(m, use_covariate=opts.cuped)
    except KeyError as exc:
        return MetricResult(comparisons=(), notes=(f"not analysed: the data has no column {exc}",), **base), ()
    problem = _validate_metric(m, stats, data.variants)
    if problem:
        return MetricResult(comparisons=(), notes=(f"not analysed: {problem}",), **base), ()
    if stats.n[0] <= 0:
        return MetricResult(comparisons=(), notes=("not analysed: the control has no units",), **base), ()
    alt = opts.alternatives.get(m.name, "two-sided")
    null, null_rel = 0.0, None
    ni = opts.non_inferiority.get(m.name)
    if ni is not None:
        hyp = non_inferiority(ni.margin, relative=ni.relative, higher_is_better=m.higher_is_better)
        alt, null, null_rel = str(hyp["alternative"]), float(hyp["null"]), hyp["null_rel"]  # type: ignore[arg-type]
    prior = opts.priors.get(m.name, opts.prior)
    arr = compare_arrays(m.kind, stats, higher_is_better=m.higher_is_better, alpha=alpha, alternative=alt, null=null,
                         null_rel=null_rel, small_count=opts.small_count or settings.small_count, cuped=opts.cuped,
                         bayes=opts.bayes, prior=prior, normal_prior=opts.normal_priors.get(m.name),
                         credible_level=credible_level, credible_intervals=opts.credible_intervals)
    compared = [i for i in range(1, len(data.variants)) if stats.n[i] > 0]
    notes: list[str] = []
    skipped = [data.variants[i] for i in range(1, len(data.variants)) if stats.n[i] <= 0]
    if skipped:
        notes.append(f"not compared (no units): {', '.join(skipped)}")
    p_raw = np.array([arr["p_value"][i - 1] for i in compared], dtype=np.float64)
    method = opts.correction if len(compared) > 1 else "none"
    p_adj = adjust_core(p_raw, method) if len(compared) else p_raw
    correction = (f"{_CORRECTION_NAMES[method]} correction across {len(compared)} variants vs control on {m.name}"
                  if method != "none" else "none (one comparison)")
    cuped_applied = "cuped_applied" in arr and bool(np.any(arr["cuped_applied"]))
    cov_text = covariate_text(m) if "cuped_applied" in arr else ""     # which covariate, in every view's words
    comparisons = []
    for k, i in enumerate(compared):
        j = i - 1
        extra: dict[str, Any] = {"se": _f(arr["se"][j]), "df": _f(arr["df"][j]), "statistic": _f(arr["statistic"][j]),
                                 "alternative": alt, "hypothesis": _hypothesis(alt, null, null_rel),
                                 "ci_level": 1 - alpha, "ci_sides": 2 if alt == "two-sided" else 1}
        if "cuped_applied" in arr:
            extra["cuped"] = {"applied": bool(arr["cuped_applied"][j]), "theta": _f(arr["cuped_theta"][j]),
                              "variance_reduction": _f(arr["variance_reduction"][j]), "covariate": m.covariate,
                              "covariate_text": cov_text, "covariate_lookback_days": m.covariate_lookback}
            extra["raw_control_value"] = _f(arr["raw_control_value"][j])
            extra["raw_variant_value"] = _f(arr["raw_variant_value"][j])
        if opts.bayes:
            extra["bayes"] = {"model": (f"beta-binomial, Beta({prior[0]:g}, {prior[1]:g}) prior" if m.kind == "proportion"
                                        else "normal-normal on the lift, " + ("flat prior" if m.name not in opts.normal_priors
                                                                              else "normal prior N({:g}, {:g}²)".format(
                                                                                  *opts.normal_priors[m.name]))),
                              "credible_level": credible_level}
            if "cred_lo" in arr:
                extra["bayes"]["lift_abs_interval"] = [_f(arr["cred_lo"][j]), _f(arr["cred_hi"][j])]
                extra["bayes"]["lift_rel_interval"] = [_f(arr["cred_rel_lo"][j]), _f(arr["cred_rel_hi"][j])]
        comparisons.append(Comparison(
            variant=data.variants[i], control=data.control, control_value=_f(arr["control_value"][j]),
            variant_value=_f(arr["variant_value"][j]), lift_abs=_f(arr["lift_abs"][j]),
            lift_abs_ci=(_f(arr["ci_lo"][j]), _f(arr["ci_hi"][j])), lift_rel=_f(arr["lift_rel"][j]),
            lift_rel_ci=(_f(arr["rel_ci_lo"][j]), _f(arr["rel_ci_hi"][j])), p_value=_f(arr["p_value"][j]),
            p_value_adjusted=_f(p_adj[k]), test=str(arr["test"][j]),
            prob_beat_control=_f(arr["prob_beat"][j]) if opts.bayes else None,
            expected_loss=_f(arr["expected_loss"][j]) if opts.bayes else None,
            n_control=_f(stats.n[0]), n_variant=_f(stats.n[i]), extra=extra))
    if ni is not None or m.name in opts.margins:
        from .margins import margin_tests
        comparisons = margin_tests(m, stats, arr, comparisons, compared, ni=ni, margin=opts.margins.get(m.name),
                                   hyp=(alt, null, null_rel), alpha=alpha, cuped=opts.cuped,
                                   small_count=opts.small_count or settings.small_count)
    fisher = [c.variant for c in comparisons if c.test == "fisher"]
    if fisher:
        notes.append(f"small counts (fewer than {opts.small_count or settings.small_count} successes or failures): "
                     f"Fisher's exact test and the Newcombe interval for {', '.join(fisher)}")
    if "cuped_applied" in arr:
        if cuped_applied:
            red = [c.extra["cuped"]["variance_reduction"] for c in comparisons if c.extra["cuped"]["applied"]]
            notes.append(f"CUPED on {cov_text or 'the pre-period covariate'}: variance of the lift reduced by "
                         f"{fmt_pct(float(np.mean(red)), 1)}; values shown are CUPED-adjusted")
        elif arr.get("cuped_reason"):
            notes.append(str(arr["cuped_reason"]))
    if any(not math.isfinite(c.lift_rel) for c in comparisons):
        notes.append("relative lift undefined where the control value is 0")
    if ni is not None:
        notes.append(f"non-inferiority test: {_hypothesis(alt, null, null_rel)} "
                     f"(margin {ni.margin:g}{' relative' if ni.relative else ''})")
    elif alt != "two-sided":
        notes.append(f"one-sided test: {_hypothesis(alt, null, null_rel)}")
    variance_reduction = None
    if cuped_applied:
        variance_reduction = float(np.mean([c.extra["cuped"]["variance_reduction"] for c in comparisons
                                            if c.extra["cuped"]["applied"]]))
    prob_best = None
    if opts.bayes and comparisons:
        arms = [0, *compared]
        with np.errstate(all="ignore"):
            if m.kind == "proportion":
                assert isinstance(stats, SufficientStats)
                a = prior[0] + stats.sum[arms]
                b = prior[1] + stats.n[arms] - stats.sum[arms]
                best = prob_best_beta(a, b, higher_is_better=m.higher_is_better)
            else:
                best = prob_best_normal(arr["arm_value"][arms], arr["arm_se"][arms], higher_is_better=m.higher_is_better)
        prob_best = {data.variants[i]: float(p) for i, p in zip(arms, best)}
    seq: tuple[SequentialResult, ...] = ()
    if opts.sequential is not None and comparisons:
        seq = _sequential_for(data, m, opts, alpha, arr, compared)
        by_variant = {s.variant: s for s in seq}
        comparisons = [replace(c, extra={**c.extra, "sequential": {
            "cs": [by_variant[c.variant].cs_lo[-1], by_variant[c.variant].cs_hi[-1]],
            "p_value": by_variant[c.variant].p_value[-1], "planned_n": by_variant[c.variant].planned_n,
            "looks": len(by_variant[c.variant].looks),
            "significant": by_variant[c.variant].p_value[-1] < by_variant[c.variant].alpha}})
                       if c.variant in by_variant else c for c in comparisons]
    return MetricResult(comparisons=tuple(comparisons), correction=correction, variance_reduction=variance_reduction,
                        notes=tuple(notes), prob_best=prob_best, **base), seq


def _data_version(data: ExperimentData) -> str:
    """The data layer's version when it set one, else a hash of the cube (same data, same version)."""
    if data.data_version:
        return str(data.data_version)
    digest = hashlib.sha256()
    digest.update(",".join(map(str, data.cube.columns)).encode())
    digest.update(pd.util.hash_pandas_object(data.cube, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:12]


def analyze(data: ExperimentData | str | Path, options: AnalysisOptions | None = None, *,
            settings: Settings | None = None, **overrides: Any) -> AnalysisResult:
    """Health, comparisons of every metric, multiplicity, Bayesian summaries (see module doc).

    ``data`` is an :class:`ExperimentData` or the path of a results file of any form the CLI reads
    (aggregated CSV/Parquet, unit-level table, single-experiment event log), read by
    :func:`workbench.sources.detect.read_results` exactly as ``workbench analyze FILE`` reads it.
    ``overrides`` are :class:`AnalysisOptions` fields, e.g. ``analyze(d, correction="bh",
    cuped=False, non_inferiority={"cvr": NonInferiority(0.02)})``.
    """
    if isinstance(data, (str, Path)):
        from .sources.detect import read_results
        data = read_results(data)
    elif not isinstance(data, ExperimentData):
        raise TypeError(f"analyze() takes an ExperimentData or the path of a results file (str or pathlib.Path), "
                        f"not {type(data).__name__}; read a file with workbench.sources.detect.read_results(path) "
                        "or load an experiment with workbench.sources.experiments.load_experiment(id)")
    settings = settings or get_settings()
    opts = replace(options or AnalysisOptions(), **overrides)
    alpha = opts.alpha if opts.alpha is not None else settings.alpha
    credible_level = opts.credible_level if opts.credible_level is not None else settings.credible_level
    if opts.correction not in _CORRECTION_NAMES:
        raise InputError([Problem("blocked", "bad_option", f"correction must be one of {', '.join(_CORRECTION_NAMES)}",
                                  column="correction", value=opts.correction)])
    for name, value in (("alpha", alpha), ("credible_level", credible_level)):
        if not 0 < value < 1:
            raise InputError([Problem("blocked", "bad_option", f"{name} must be strictly between 0 and 1",
                                      column=name, value=value)])
    metrics = _apply_roles(data, opts)
    health = check_health(data, settings=settings, expected_weights=opts.expected_weights,
                          srm_warning_p=opts.srm_warning_p, srm_blocked_p=opts.srm_blocked_p,
                          small_sample_units=opts.small_sample_units)
    notes: list[str] = []
    if data.control_note:
        notes.append(f"control: {data.control} ({data.control_note})")
    units: tuple[float, ...] = ()
    try:
        units = tuple(float(u) for u in data.units())
    except (KeyError, ValueError):
        pass
    is_aa_data = opts.aa if opts.aa is not None else data.meta.get("kind") == "aa"
    if health.status == "blocked":
        blocked_note = "not analysed: " + (blocked_reason(health) or "health is blocked").replace(
            "the health check is blocked", "health is blocked")
        results = tuple(MetricResult(name=m.name, kind=m.kind, role=m.role, comparisons=(), label=metric_label(m, data.cube),
                                     higher_is_better=m.higher_is_better, limit=m.limit, notes=(blocked_note,),
                                     unit=m.unit)
                        for m in metrics)
        notes.append("health is blocked: no comparisons were computed; fix the issues listed in health")
        return AnalysisResult(experiment_id=data.experiment_id, variants=tuple(data.variants),
                              control=data.control if data.variants else "", health=health, metrics=results,
                              alpha=alpha, units=units, notes=tuple(notes), source=data.source,
                              data_version=_data_version(data), as_of=data.as_of,
                              aa=aa_verdict(data, health, results, alpha=alpha) if is_aa_data else None)
    results_list = []
    sequential: dict[str, tuple[SequentialResult, ...]] = {}
    for m in metrics:
        res, seq = _metric_result(data, m, opts, settings, alpha, credible_level)
        if opts.adjust and res.comparisons:
            res = with_adjustment(data, m, res, alpha=alpha, strata=opts.strata, covariates=opts.adjust_covariates)
        results_list.append(res)
        if seq:
            sequential[m.name] = seq
    if opts.correction != "none":
        notes.append(f"multiplicity: {_CORRECTION_NAMES[opts.correction]} correction across the variants of each "
                     "metric (p_value_adjusted)")
    primary = next((r for r in results_list if r.role == "primary"), None)
    verdict = aa_verdict(data, health, results_list, alpha=alpha) if is_aa_data else None
    if verdict is not None and not verdict.healthy and primary is not None and primary.comparisons:
        # the badge warns only when the A/A verdict itself does; a single significant primary in a
        # healthy pipeline (about 1 run in 20) is what chance gives and must not contradict the verdict
        p_min = min(c.p_value_adjusted for c in primary.comparisons)
        issue = aa_issue(primary.name, p_min, alpha, source=data.source or None)
        if issue is not None:
            health = with_issue(health, issue)
    segments = tuple(analyze_segments(data, dim, opts, settings=settings) for dim in opts.segments)
    time = None
    if opts.time_effects or opts.calendar:
        from .time_effects import time_effects
        time = time_effects(data, [r for r in results_list if r.role == "primary"], opts, alpha=alpha)
    return AnalysisResult(experiment_id=data.experiment_id, variants=tuple(data.variants), control=data.control,
                          health=health, metrics=tuple(results_list), alpha=alpha, units=units, notes=tuple(notes),
                          segments=segments, sequential=sequential or None, source=data.source,
                          data_version=_data_version(data), as_of=data.as_of, aa=verdict, time_effects=time)
