"""Trust checks: one Healthy / Warning / Blocked badge with every reason listed.

Before any lift is believed, the experiment itself must be trustworthy. :func:`check_health` reads
an :class:`~workbench.experiment_data.ExperimentData` and collects *every* issue (never only the
first) as located :class:`~workbench.errors.Problem` objects:

- schema and logic problems found when the data was read (``data.problems``) — Blocked;
- variant labels: fewer than two arms, duplicates, labels not in the plan (``unknown_variant``),
  planned arms with no data (``missing_variant``), arms with no units (``empty_arm``) — Blocked
  (an arm planned at 0 % that has no units is only noted);
- sample-ratio mismatch (chi-square against the expected weights): Warning below
  ``Settings.srm.warning_p`` (0.001), Blocked below ``blocked_p`` (0.00001); overridable per
  experiment (arguments, or ``meta["srm"]`` from the brief). Not applied to bandits, whose
  allocation moves on purpose;
- sample-ratio mismatch within device, channel and user_type segments (Holm-corrected across the
  segment tests) and pre-period covariate imbalance between arms (standardised differences,
  Hotelling's T²) — Warning (:mod:`workbench.health_balance`);
- small samples (an arm with fewer than ``Settings.small_sample_units`` units) — Warning;
- what the data layer measured (:class:`~workbench.experiment_data.TrustFacts`): the bot
  exclusion rate (always reported; Warning above ``Settings.health.bot_rate_warning``), units
  seen in more than one variant (sticky-assignment violations, Warning above
  ``sticky_rate_warning``), events with unknown variant labels (Warning);
- A/A experiments (``meta["kind"] == "aa"``): a significant primary metric is a pipeline
  warning (added by :func:`workbench.analysis.analyze` through :func:`aa_issue`);
  :func:`aa_uniformity` checks that p-values over many simulated or daily A/A comparisons are
  uniform.

The badge is the worst level among the issues.

>>> import pandas as pd
>>> from workbench.metrics import Metric
>>> cube = pd.DataFrame({"variant": ["control", "b"], "n": [5000, 5600],
...                      "purchased__sum": [500, 560], "purchased__sum_sq": [500, 560]})
>>> d = ExperimentData("e", ("control", "b"), cube, metrics=(Metric("cvr", "proportion", "purchased"),))
>>> h = check_health(d)
>>> h.status, [p.code for p in h.issues]
('blocked', ['srm_severe'])
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .config import Settings, get_settings
from .display import ResultMixin, fmt_num, fmt_p_eq, fmt_pct
from .errors import Problem
from .experiment_data import ExperimentData
from .health_balance import covariate_balance, segment_srm
from .results import HealthReport, HealthStatus, SRMResult
from .stats._checks import bad, check_finite_array, check_probability
from .stats.srm import srm_core, srm_status

__all__ = ["blocked_reason", "nothing_to_show", "check_health", "expected_weights_of", "srm_thresholds_of", "status_of", "with_issue", "aa_issue",
           "AAUniformity", "aa_uniformity", "simulate_aa_p_values", "daily_aa_p_values", "usable"]

_ORDER = {"info": 0, "warning": 1, "blocked": 2}
_STATUS = {0: "healthy", 1: "warning", 2: "blocked"}
#: what each blocking issue is called in one short sentence (blocked_reason)
_SHORT = {"srm": "a sample ratio mismatch", "srm_severe": "a sample ratio mismatch", "single_arm": "fewer than two arms",
          "duplicate_variant": "a duplicated variant", "unknown_variant": "variant labels not in the plan",
          "missing_variant": "a planned variant without data", "empty_arm": "an arm without units"}
# Blocked issues that are findings about the experiment, not unusable input (the CLI exits 0 on them).
FINDING_CODES = frozenset({"srm", "srm_severe", "aa_significant"})


def status_of(issues: Sequence[Problem]) -> HealthStatus:
    """The badge: the worst level among the issues (info does not count)."""
    worst = max((_ORDER.get(p.level, 0) for p in issues), default=0)
    return _STATUS[worst]  # type: ignore[return-value]


def with_issue(report: HealthReport, issue: Problem) -> HealthReport:
    """A copy of ``report`` with one more issue and the badge recomputed."""
    issues = tuple(report.issues) + (issue,)
    return replace(report, issues=issues, status=status_of(issues))


def usable(report: HealthReport) -> bool:
    """False when a blocked issue comes from the input itself (schema, logic, labels), not from a finding."""
    return not any(p.level == "blocked" and p.code not in FINDING_CODES for p in report.issues)


def expected_weights_of(data: ExperimentData, override: Mapping[str, float] | None = None) -> dict[str, float] | None:
    """Planned allocation: the argument, else ``data.expected_weights``, else ``meta["expected_weights"]``."""
    for candidate in (override, data.expected_weights, data.meta.get("expected_weights")):
        if candidate:
            return {str(k): float(v) for k, v in dict(candidate).items()}
    return None


def srm_thresholds_of(data: ExperimentData, settings: Settings, warning_p: float | None = None,
                      blocked_p: float | None = None) -> tuple[float, float]:
    """SRM thresholds: arguments, else ``meta["srm"]`` (the experiment's brief), else Settings."""
    meta = data.meta.get("srm") or {}
    w = warning_p if warning_p is not None else meta.get("warning_p", settings.srm.warning_p)
    b = blocked_p if blocked_p is not None else meta.get("blocked_p", settings.srm.blocked_p)
    return check_probability("srm.warning_p", w), check_probability("srm.blocked_p", b)


def _src(data: ExperimentData) -> str | None:
    return data.source or None


def _label_issues(data: ExperimentData, weights: Mapping[str, float] | None, units: np.ndarray,
                  known_codes: set[str]) -> list[Problem]:
    out: list[Problem] = []
    src = _src(data)
    variants = list(data.variants)
    if len(set(variants)) < 2 and "single_arm" not in known_codes:
        out.append(Problem("blocked", "single_arm", f"at least 2 variants are needed (a control and a treatment); "
                           f"found {len(set(variants))}", file=src, column="variant"))
    seen: set[str] = set()
    for v in variants:
        if v in seen and "duplicate_variant" not in known_codes:
            out.append(Problem("blocked", "duplicate_variant", f"variant {v!r} is listed more than once",
                               file=src, column="variant", value=v))
        seen.add(v)
    if "variant" in data.cube:
        stray = sorted(set(map(str, data.cube["variant"].dropna().unique())) - set(map(str, variants)))
        for v in stray:
            out.append(Problem("blocked", "unknown_variant", f"rows for variant {v!r}, which is not one of this "
                               f"experiment's variants ({', '.join(variants)}); they would be ignored",
                               file=src, column="variant", value=v))
    if weights is not None:
        for v in variants:
            if v not in weights:
                out.append(Problem("blocked", "unknown_variant", f"variant {v!r} is not in the planned allocation "
                                   f"({', '.join(weights)}); check the label", file=src, column="variant", value=v))
        for v, w in weights.items():
            if v not in variants and w > 0:
                out.append(Problem("blocked", "missing_variant", f"planned variant {v!r} (weight {w:g}) has no data",
                                   file=src, column="variant", value=v))
    for v, n in zip(variants, units):
        if n == 0 and "zero_users" not in known_codes:
            planned_zero = weights is not None and weights.get(v, None) == 0
            if planned_zero:
                out.append(Problem("info", "empty_arm", f"variant {v!r} is planned at 0% and has no units; "
                                   "it is left out", file=src, column="variant", value=v))
            else:
                out.append(Problem("blocked", "empty_arm", f"variant {v!r} has no units", file=src, column="variant",
                                   value=v))
    return out


def _srm(data: ExperimentData, units: np.ndarray, weights: Mapping[str, float] | None, warning_p: float,
         blocked_p: float) -> tuple[SRMResult | None, list[Problem]]:
    variants = list(data.variants)
    if len(variants) < 2 or not np.all(np.isfinite(units)) or units.sum() <= 0 or np.any(units < 0):
        return None, []
    w = np.array([weights.get(v, 0.0) for v in variants]) if weights else np.ones(len(variants))
    if not np.any(w > 0):
        return None, []
    stat, p, _, expected = srm_core(units, w)
    p_f = float(p)
    status = srm_status(p_f, warning_p, blocked_p)
    result = SRMResult(variants=tuple(variants), observed=tuple(units.tolist()), expected=tuple(expected.tolist()),
                       weights=tuple((w / w.sum()).tolist()), statistic=float(stat), p_value=p_f, status=status)
    if status == "healthy":
        return result, []
    share_obs = " / ".join(fmt_pct(u / units.sum(), 1) for u in units)
    share_exp = " / ".join(fmt_pct(x, 1) for x in w / w.sum())
    impossible = [v for v, wi, u in zip(variants, w, units) if wi == 0 and u > 0]
    if impossible:
        msg = (f"sample ratio mismatch: variant(s) {', '.join(map(repr, impossible))} planned at 0% received units "
               f"({share_obs} observed vs {share_exp} planned)")
    else:
        msg = (f"sample ratio mismatch: {share_obs} of units observed vs {share_exp} planned "
               f"(chi-square {fmt_p_eq(p_f)}, {'blocked' if status == 'blocked' else 'warning'} below "
               f"{fmt_num(blocked_p if status == 'blocked' else warning_p)}); assignment or logging may be broken")
    code = "srm_severe" if status == "blocked" else "srm"
    return result, [Problem(status, code, msg, file=_src(data), column="users", value=p_f)]


def _trust_issues(data: ExperimentData, settings: Settings) -> tuple[list[Problem], float | None, int | None]:
    t = data.trust
    if t is None:
        return [], None, None
    out: list[Problem] = []
    src = _src(data)
    rate = t.bot_exclusion_rate
    if t.units_total:
        reasons = ", ".join(f"{k}: {fmt_num(v)}" for k, v in sorted(t.bot_reasons.items())) or "no rule breakdown"
        level = "warning" if rate > settings.health.bot_rate_warning else "info"
        out.append(Problem(level, "bots_excluded", f"{fmt_num(t.bot_units)} of {fmt_num(t.units_total)} units "
                           f"({fmt_pct(rate)}) were excluded as bots ({reasons})"
                           + (f"; above {fmt_pct(settings.health.bot_rate_warning, 0)}, check the filter and the "
                              "traffic source" if level == "warning" else ""), file=src, value=rate))
    if t.sticky_violators:
        share = t.sticky_violators / t.units_total if t.units_total else 1.0
        level = "warning" if share > settings.health.sticky_rate_warning else "info"
        out.append(Problem(level, "sticky_violation", f"{fmt_num(t.sticky_violators)} units ({fmt_pct(share, 3)}) "
                           "were seen in more than one variant and were excluded; assignment is not sticky",
                           file=src, value=t.sticky_violators))
    for label, count in sorted(t.unknown_variants.items()):
        out.append(Problem("warning", "unknown_variant", f"{fmt_num(count)} events carry the unknown variant label "
                           f"{label!r} and were excluded", file=src, column="variant", value=label))
    return out, rate, t.sticky_violators


def check_health(data: ExperimentData, *, settings: Settings | None = None,
                 expected_weights: Mapping[str, float] | None = None, srm_warning_p: float | None = None,
                 srm_blocked_p: float | None = None, small_sample_units: int | None = None) -> HealthReport:
    """Every trust check on one experiment; returns the badge and all issues (see module doc)."""
    settings = settings or get_settings()
    warning_p, blocked_p = srm_thresholds_of(data, settings, srm_warning_p, srm_blocked_p)
    weights = expected_weights_of(data, expected_weights)
    issues: list[Problem] = list(data.problems)
    known = {p.code for p in issues}
    try:
        units = data.units() if len(data.variants) else np.zeros(0)
    except (KeyError, ValueError):
        units = np.full(len(data.variants), np.nan)
    if any(p.level == "blocked" for p in data.problems):
        # The input itself is unusable (a count that is missing, too large, negative...): checks computed
        # from its numbers (empty arms, SRM, small samples) would only repeat that problem in other words.
        return HealthReport(status="blocked", issues=tuple(issues + list(_trust_issues(data, settings)[0])))
    issues += _label_issues(data, weights, units, known)
    srm_result: SRMResult | None = None
    seg_srm = None
    if data.meta.get("kind") == "bandit":
        issues.append(Problem("info", "srm_not_applicable", "allocation is adaptive (bandit); the SRM test does not "
                              "apply", file=_src(data)))
    elif not any(p.level == "blocked" and p.code in ("single_arm", "duplicate_variant") for p in issues):
        srm_result, srm_issues = _srm(data, units, weights, warning_p, blocked_p)
        issues += srm_issues
        seg_srm, seg_issues = segment_srm(data, weights, warning_p)
        issues += seg_issues
    balance = None
    if data.meta.get("kind") != "bandit":     # a bandit's arms take different shares of a drifting arrival mix
        balance, balance_issues = covariate_balance(data, settings.health.balance_warning_p)
        issues += balance_issues
    limit = settings.small_sample_units if small_sample_units is None else small_sample_units
    for v, n in zip(data.variants, units):
        if np.isfinite(n) and 0 < n < limit:
            issues.append(Problem("warning", "small_sample", f"variant {v!r} has only {fmt_num(n)} units (fewer than "
                                  f"{limit}); results are unstable", file=_src(data), column="users", value=float(n)))
    trust, rate, sticky = _trust_issues(data, settings)
    issues += trust
    return HealthReport(status=status_of(issues), issues=tuple(issues), srm=srm_result, bot_exclusion_rate=rate,
                        sticky_violators=sticky, segment_srm=seg_srm, balance=balance)


def aa_issue(metric: str, p_value: float, alpha: float, *, source: str | None = None) -> Problem | None:
    """Warning for an A/A experiment whose primary metric came out significant."""
    if not np.isfinite(p_value) or p_value >= alpha:
        return None
    return Problem("warning", "aa_significant", f"A/A experiment: the primary metric {metric!r} differs between "
                   f"identical arms ({fmt_p_eq(p_value)}, below {alpha:g}); check assignment, logging and the analysis "
                   "pipeline", file=source, column=metric, value=float(p_value))


@dataclass(frozen=True)
class AAUniformity(ResultMixin):
    """Are A/A p-values uniform? KS test against U(0, 1) and the false-positive rate at ``alpha``."""

    n: int
    alpha: float
    false_positive_rate: float
    binomial_p_value: float         # is the rejection count compatible with alpha?
    ks_statistic: float
    ks_p_value: float
    status: HealthStatus
    message: str


def aa_uniformity(p_values: ArrayLike, *, alpha: float = 0.05, threshold: float = 0.01) -> AAUniformity:
    """Check p-values of many A/A comparisons (simulated, or one per day) for uniformity.

    A pipeline that is correct gives uniform p-values under A/A, so about ``alpha`` of them are
    below ``alpha``. Warning when the KS test or the binomial test of the rejection count is
    below ``threshold``.

    >>> import numpy as np
    >>> aa_uniformity(np.random.default_rng(0).uniform(size=500)).status
    'healthy'
    >>> aa_uniformity(np.full(200, 0.01)).status
    'warning'
    """
    p = check_finite_array("p_values", p_values).ravel()
    if p.size < 10:
        raise bad("too_few", f"the uniformity check needs at least 10 A/A p-values; got {p.size}", column="p_values",
                  value=int(p.size))
    if np.any((p < 0) | (p > 1)):
        raise bad("bad_parameter", "p-values must lie in [0, 1]", column="p_values", value=float(p[(p < 0) | (p > 1)][0]))
    alpha = check_probability("alpha", alpha)
    rejections = int(np.sum(p < alpha))
    from scipy import stats as sps   # scipy.stats takes ~1 s to import: only when needed
    binom_p = float(sps.binomtest(rejections, p.size, alpha).pvalue)
    ks = sps.kstest(p, "uniform")
    ok = binom_p >= threshold and ks.pvalue >= threshold
    msg = (f"{rejections} of {p.size} A/A comparisons significant at {alpha:g} ({fmt_pct(rejections / p.size, 1)}; "
           f"binomial {fmt_p_eq(binom_p)}); KS test of uniformity {fmt_p_eq(float(ks.pvalue))}")
    return AAUniformity(int(p.size), alpha, rejections / p.size, binom_p, float(ks.statistic), float(ks.pvalue),
                        "healthy" if ok else "warning", msg if ok else msg + ": the pipeline is not calibrated")


def simulate_aa_p_values(baseline: float, n_per_arm: int, *, sims: int = 2000, seed: int | None = None) -> np.ndarray:
    """p-values of ``sims`` simulated A/A experiments on a proportion, through the same test the
    analysis uses (vectorised; seeded, so the same seed gives the same bytes)."""
    from .stats.frequentist import proportions_core
    check_probability("baseline", baseline)
    if n_per_arm < 2 or sims < 1:
        raise bad("bad_parameter", "n_per_arm must be >= 2 and sims >= 1", column="n_per_arm", value=n_per_arm)
    rng = np.random.default_rng(get_settings().seed if seed is None else seed)
    conv = rng.binomial(int(n_per_arm), baseline, (sims, 2)).astype(float)
    return proportions_core(np.full((sims, 2), float(n_per_arm)), conv).p_value[:, 0]


def daily_aa_p_values(data: ExperimentData, metric: str | None = None, *, dim: str = "day") -> np.ndarray:
    """p-values of each day's own (non-cumulative) comparisons of every variant with the control.

    For an A/A experiment these should look uniform (feed them to :func:`aa_uniformity`).
    """
    from .stats.compare import compare_arrays
    if dim not in data.cube:
        raise bad("missing_column", f"the data has no {dim!r} column to split by", column=dim)
    m = data.metric(metric) if metric else data.primary
    if m is None:
        raise bad("unknown_metric", "the experiment has no primary metric; name one", column="metric")
    _, stats = data.stats_by(m, dim, use_covariate=False)
    arrays: dict[str, Any] = compare_arrays(m.kind, stats, cuped=False, bayes=False)
    p = np.asarray(arrays["p_value"], dtype=np.float64)
    return p[np.isfinite(p)].ravel()


def blocked_reason(health: HealthReport) -> str | None:
    """One short clause naming why the health check is blocked (None when it is not), from its issues.

    >>> from workbench.errors import Problem
    >>> blocked_reason(HealthReport("blocked", (Problem("blocked", "srm_severe", "split is off"),)))
    'the health check is blocked by a sample ratio mismatch'
    """
    if health.status != "blocked":
        return None
    names = list(dict.fromkeys(_SHORT.get(p.code, p.message) for p in health.issues
                               if p.level == "blocked"))
    return "the health check is blocked by " + (" and ".join(names) if names else "problems in the data")


def nothing_to_show(health: HealthReport, what: str = "chart", *, first: bool = True) -> str | None:
    """The sentence shown instead of an empty chart or table of a blocked experiment (None when not blocked).

    ``first=False`` is the shorter form for the later sections of the same view, which do not name the
    cause again (it is stated once per view).
    """
    why = blocked_reason(health)
    if why is None:
        return None
    if not first:
        return f"No {what}: withheld while the health check is blocked (see above)."
    return f"No {what}: {why}, so no comparisons were computed; see the health check for the details."
