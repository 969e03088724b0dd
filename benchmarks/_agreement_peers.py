"""The peers that run in the workbench's own environment for benchmarks/agreement.py (scipy, statsmodels,
tea-tasting), scipy quadrature for the Bayesian quantities, and the table's rows (which call, which
inputs, which convention). gbstats and spotify-confidence run in benchmarks/_peers_adapter.py."""

from __future__ import annotations

import math
import warnings
from importlib.metadata import version

import numpy as np
from scipy import integrate, stats

ALL = ("README samples", "proportions", "means", "small counts", "three arms")
P, M = ("proportion",), ("mean",)
SAME = "same"


def _row(quantity, peer, call, inputs, convention, source, field, kinds, test=None):
    return {"quantity": quantity, "peer": peer, "call": call, "inputs": inputs, "convention": convention,
            "source": source, "field": field, "kinds": kinds, "test": test, "groups": ALL}


LARGE, SMALL = ("z",), ("fisher",)
PEER_ROWS = [
    # lift
    _row("lift", "statsmodels", "CompareMeans(DescrStatsW(x), DescrStatsW(y))", "means", SAME, "statsmodels", "lift", M),
    _row("lift", "tea-tasting", "Mean(col)", "means", SAME, "tea", "lift", M),
    _row("lift", "tea-tasting", "Proportion(col)", "proportions", SAME, "tea", "lift", P),
    _row("lift", "gbstats", "TwoSidedTTest(difference_type='absolute')", "all", SAME, "gbstats_abs", "lift", P + M),
    _row("lift", "spotify-confidence", "ZTest / StudentsTTest .difference(absolute=True)", "all", SAME, "spotify", "lift", P + M),
    _row("rel_lift", "gbstats", "TwoSidedTTest() (relative by default)", "all", SAME, "gbstats_rel", "lift", P + M),
    _row("rel_lift", "tea-tasting", "Mean / Proportion", "all", SAME, "tea", "rel_lift", P + M),
    _row("rel_lift", "spotify-confidence", ".difference(absolute=False)", "all", SAME, "spotify", "rel_lift", P + M),
]
for bound in ("lo", "hi"):
    q = f"ci_{bound}"
    PEER_ROWS += [
        _row(q, "statsmodels", "confint_proportions_2indep(method='wald')", "z-tested", SAME, "statsmodels", f"wald_{bound}", P, LARGE),
        _row(q, "statsmodels", "confint_proportions_2indep() (default: Newcombe)", "Fisher-tested", SAME, "statsmodels", f"newcomb_{bound}", P, SMALL),
        _row(q, "statsmodels", "confint_proportions_2indep() (default: Newcombe)", "z-tested",
             "Newcombe hybrid score (ours: Wald at large counts)", "statsmodels", f"newcomb_{bound}", P, LARGE),
        _row(q, "statsmodels", "CompareMeans.tconfint_diff(usevar='unequal')", "means", SAME, "statsmodels", f"welch_{bound}", M),
        _row(q, "tea-tasting", "Mean(col)", "means", SAME, "tea", bound, M),
        _row(q, "tea-tasting", "Proportion(col) (norm above 1,000 units)", "z-tested",
             "continuity-corrected normal interval", "tea", bound, P, LARGE),
        _row(q, "gbstats", "TwoSidedTTest(difference_type='absolute')", "means", SAME, "gbstats_abs", f"ci_{bound}", M),
        _row(q, "gbstats", "TwoSidedTTest(difference_type='absolute')", "z-tested",
             "t with Welch df on p(1−p) (ours: z)", "gbstats_abs", f"ci_{bound}", P, LARGE),
        _row(q, "spotify-confidence", "ZTest(...).difference(absolute=True)", "z-tested", SAME, "spotify", f"ci_{bound}", P, LARGE),
        _row(q, "spotify-confidence", "StudentsTTest(...).difference(absolute=True)", "means", SAME, "spotify", f"ci_{bound}", M),
    ]
    q = f"rel_ci_{bound}"
    PEER_ROWS += [
        _row(q, "gbstats", "TwoSidedTTest() (relative by default)", "means", SAME + " (delta method, t)", "gbstats_rel", f"ci_{bound}", M),
        _row(q, "gbstats", "TwoSidedTTest() (relative by default)", "z-tested",
             "delta method with t, Welch df (ours: z)", "gbstats_rel", f"ci_{bound}", P, LARGE),
        _row(q, "tea-tasting", "Mean(col)", "means", "delta method on log(ratio)", "tea", f"rel_{bound}", M),
        _row(q, "statsmodels", "confint_proportions_2indep(compare='ratio') (default: log)", "z-tested",
             "log of the risk ratio", "statsmodels", f"ratio_{bound}", P, LARGE),
        _row(q, "spotify-confidence", ".difference(absolute=False)", "z-tested + means",
             "absolute interval ÷ control mean (control's noise ignored)", "spotify", f"rel_ci_{bound}", P + M, LARGE + ("welch",)),
    ]
PEER_ROWS += [
    _row("p_value", "scipy", "ttest_ind_from_stats(equal_var=False)", "means", SAME, "scipy", "welch_p", M),
    _row("p_value", "scipy", "fisher_exact", "Fisher-tested", SAME, "scipy", "fisher_p", P, SMALL),
    _row("p_value", "scipy", "chi2_contingency() (default: Yates' correction)", "z-tested",
         "continuity correction, pooled variance", "scipy", "chi2_yates_p", P, LARGE),
    _row("p_value", "scipy", "chi2_contingency(correction=False)", "z-tested", "pooled variance (ours: unpooled)",
         "scipy", "chi2_p", P, LARGE),
    _row("p_value", "statsmodels", "test_proportions_2indep(method='wald')", "z-tested", SAME, "statsmodels", "wald_p", P, LARGE),
    _row("p_value", "statsmodels", "test_proportions_2indep() (default: Agresti–Caffo)", "z-tested",
         "Agresti–Caffo (adds one success and failure)", "statsmodels", "default_p", P, LARGE),
    _row("p_value", "statsmodels", "proportions_ztest", "z-tested", "pooled variance", "statsmodels", "ztest_p", P, LARGE),
    _row("p_value", "statsmodels", "CompareMeans.ttest_ind(usevar='unequal')", "means", SAME, "statsmodels", "welch_p", M),
    _row("p_value", "statsmodels", "CompareMeans.ttest_ind() (default: pooled)", "means", "pooled variance (Student)",
         "statsmodels", "pooled_p", M),
    _row("p_value", "tea-tasting", "Mean(col)", "means", SAME, "tea", "p", M),
    _row("p_value", "tea-tasting", "Proportion(col) (auto: Barnard below 1,000 units)", "Fisher-tested",
         "Barnard's exact test (ours: Fisher)", "tea", "p", P, SMALL),
    _row("p_value", "tea-tasting", "Proportion(col) (auto: normal above 1,000 units)", "z-tested",
         "continuity correction, pooled variance", "tea", "p", P, LARGE),
    _row("p_value", "tea-tasting", "Proportion(col, method='norm', correction=False, equal_var=False)", "z-tested",
         SAME, "tea", "p_ours", P, LARGE),
    _row("p_value", "gbstats", "TwoSidedTTest(difference_type='absolute')", "means", SAME, "gbstats_abs", "p_value", M),
    _row("p_value", "gbstats", "TwoSidedTTest(difference_type='absolute')", "z-tested", "t with Welch df (ours: z)",
         "gbstats_abs", "p_value", P, LARGE),
    _row("p_value", "gbstats", "TwoSidedTTest() (relative by default)", "all",
         "tests the relative lift (delta method): another statistic", "gbstats_rel", "p_value", P + M),
    _row("p_value", "spotify-confidence", "ZTest(...).difference()", "z-tested", SAME, "spotify", "p_value", P, LARGE),
    _row("p_value", "spotify-confidence", "StudentsTTest(...).difference()", "means", SAME, "spotify", "p_value", M),
    _row("prob_beat", "scipy", "integrate.quad over stats.beta posteriors", "proportions", SAME, "quad", "prob_beat", P),
    _row("prob_beat", "gbstats", "EffectBayesianABTest(difference_type='absolute')", "means", SAME, "gbstats_abs", "prob_beat", M),
    _row("prob_beat", "gbstats", "EffectBayesianABTest(difference_type='absolute')", "proportions",
         "normal approximation of the lift (ours: Beta–Binomial)", "gbstats_abs", "prob_beat", P),
    _row("prob_beat", "gbstats", "EffectBayesianABTest() (relative by default)", "all",
         "normal posterior of the relative lift", "gbstats_rel", "prob_beat", P + M),
    _row("expected_loss", "scipy", "integrate.quad over stats.beta posteriors", "proportions", SAME, "quad", "expected_loss", P),
    _row("expected_loss", "gbstats", "EffectBayesianABTest(difference_type='absolute').risk[1]", "means", SAME,
         "gbstats_abs", "expected_loss", M),
    _row("expected_loss", "gbstats", "EffectBayesianABTest(difference_type='absolute').risk[1]", "proportions",
         "normal approximation of the lift (ours: Beta–Binomial)", "gbstats_abs", "expected_loss", P),
    _row("prob_best", "scipy", "integrate.quad of f_k ∏ F_j over stats.beta", "three arms", SAME, "quad", "prob_best", P),
]


def _synth(n: int, mean: float, var: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-level data with exactly this count, mean and variance (for peers that take data, not sums)."""
    z = rng.standard_normal(int(n))
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + math.sqrt(var) * z


def local_peers(cases: list[dict]) -> tuple[dict, dict, dict]:
    """scipy, statsmodels and tea-tasting on every comparison: ``{source: {(id, variant): {field: value}}}``."""
    import tea_tasting.aggr as tta
    import tea_tasting.metrics as ttm
    from statsmodels.stats import proportion as smp
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    out: dict[str, dict] = {"scipy": {}, "statsmodels": {}, "tea": {}}
    errors: dict[str, str] = {}
    rng = np.random.default_rng(7)
    warnings.filterwarnings("ignore")

    def scipy_calls(kind, n, s, mean, var, v):
        if kind == "proportion":
            table = [[s[v], n[v] - s[v]], [s[0], n[0] - s[0]]]
            yield "fisher_p", lambda: stats.fisher_exact(table).pvalue
            yield "chi2_yates_p", lambda: stats.chi2_contingency(table).pvalue
            yield "chi2_p", lambda: stats.chi2_contingency(table, correction=False).pvalue
        else:
            yield "welch_p", lambda: stats.ttest_ind_from_stats(mean[v], math.sqrt(var[v]), n[v], mean[0],
                                                                math.sqrt(var[0]), n[0], equal_var=False).pvalue

    def statsmodels_calls(kind, n, s, mean, var, v):
        if kind == "proportion":
            yield "wald_p", lambda: smp.test_proportions_2indep(s[v], n[v], s[0], n[0], method="wald").pvalue
            yield "default_p", lambda: smp.test_proportions_2indep(s[v], n[v], s[0], n[0]).pvalue
            yield "ztest_p", lambda: smp.proportions_ztest([s[v], s[0]], [n[v], n[0]])[1]
            yield ("wald_lo", "wald_hi"), lambda: smp.confint_proportions_2indep(s[v], n[v], s[0], n[0], method="wald")
            yield ("newcomb_lo", "newcomb_hi"), lambda: smp.confint_proportions_2indep(s[v], n[v], s[0], n[0])
            yield ("ratio_lo", "ratio_hi"), lambda: tuple(x - 1 for x in smp.confint_proportions_2indep(
                s[v], n[v], s[0], n[0], compare="ratio"))
        else:
            cm = CompareMeans(DescrStatsW(_synth(n[v], mean[v], var[v], rng)), DescrStatsW(_synth(n[0], mean[0], var[0], rng)))
            yield "welch_p", lambda: cm.ttest_ind(usevar="unequal")[1]
            yield "pooled_p", lambda: cm.ttest_ind()[1]
            yield ("welch_lo", "welch_hi"), lambda: cm.tconfint_diff(usevar="unequal")
            yield "lift", lambda: cm.d1.mean - cm.d2.mean

    def tea_calls(kind, n, s, mean, var, v):
        if kind == "proportion":
            c_ag = tta.Aggregates(count_=int(n[0]), mean_={"x": mean[0]})
            t_ag = tta.Aggregates(count_=int(n[v]), mean_={"x": mean[v]})
            r = ttm.Proportion("x").analyze_aggregates(c_ag, t_ag)
            yield ("lift", "lo", "hi", "rel_lift", "p"), lambda: (r.effect_size, r.effect_size_ci_lower,
                                                                r.effect_size_ci_upper, r.rel_effect_size, r.pvalue)
            yield "p_ours", lambda: ttm.Proportion("x", method="norm", correction=False,
                                                    equal_var=False).analyze_aggregates(c_ag, t_ag).pvalue
        else:
            c_ag = tta.Aggregates(count_=int(n[0]), mean_={"x": mean[0]}, var_={"x": var[0]})
            t_ag = tta.Aggregates(count_=int(n[v]), mean_={"x": mean[v]}, var_={"x": var[v]})
            r = ttm.Mean("x").analyze_aggregates(c_ag, t_ag)
            yield ("lift", "lo", "hi", "rel_lift", "rel_lo", "rel_hi", "p"), lambda: (
                r.effect_size, r.effect_size_ci_lower, r.effect_size_ci_upper, r.rel_effect_size,
                r.rel_effect_size_ci_lower, r.rel_effect_size_ci_upper, r.pvalue)

    for case in cases:
        n, s, ss = (np.asarray(case[k], float) for k in ("n", "sum", "sum_sq"))
        mean = s / n
        var = (ss - s * s / n) / (n - 1)
        for v in range(1, n.size):
            for source, calls in (("scipy", scipy_calls), ("statsmodels", statsmodels_calls), ("tea", tea_calls)):
                got: dict = {}
                try:
                    for keys, fn in calls(case["kind"], n, s, mean, var, v):
                        try:
                            value = fn()
                        except Exception as e:  # noqa: BLE001 - a refusal is counted, not fatal
                            errors.setdefault(source, f"{case['id']}: {type(e).__name__}: {e}"[:160])
                            continue
                        if isinstance(keys, tuple):
                            got.update({k: float(x) for k, x in zip(keys, value)})
                        else:
                            got[keys] = float(value)
                except Exception as e:  # noqa: BLE001 - e.g. tea-tasting refusing an input outright
                    errors.setdefault(source, f"{case['id']}: {type(e).__name__}: {e}"[:160])
                out[source][(case["id"], v)] = got
    versions = {lib: (version(lib), "the workbench's .venv") for lib in ("scipy", "statsmodels", "tea-tasting")}
    return out, versions, errors


def _beta_pair_quad(a_c, b_c, a_t, b_t, higher_is_better):
    c, t = stats.beta(a_c, b_c), stats.beta(a_t, b_t)
    kw = dict(epsabs=1e-14, epsrel=1e-12, limit=400, points=[t.mean(), c.mean()])
    lo, hi = min(c.ppf(1e-15), t.ppf(1e-15)), max(c.isf(1e-15), t.isf(1e-15))
    p_gt = integrate.quad(lambda x: t.pdf(x) * c.cdf(x), lo, hi, **kw)[0]
    m_c, m_t = c.mean(), t.mean()
    c_plus, t_plus = stats.beta(a_c + 1, b_c), stats.beta(a_t + 1, b_t)
    loss_t = integrate.quad(lambda x: t.pdf(x) * (m_c * c_plus.sf(x) - x * c.sf(x)), lo, hi, **kw)[0]  # E[max(C−T,0)]
    loss_c = loss_t - (m_c - m_t)                                                                     # E[max(T−C,0)]
    return (p_gt, loss_t) if higher_is_better else (1 - p_gt, loss_c)


def _prob_best_quad(a, b, higher_is_better):
    dists = [stats.beta(x, y) for x, y in zip(a, b)]
    out = []
    for k, d in enumerate(dists):
        def f(x, k=k, d=d):
            p = d.pdf(x)
            for j, e in enumerate(dists):
                if j != k:
                    p *= e.cdf(x) if higher_is_better else e.sf(x)
            return p
        lo, hi = min(e.ppf(1e-15) for e in dists), max(e.isf(1e-15) for e in dists)
        out.append(integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=400,
                                  points=sorted(e.mean() for e in dists))[0])
    return out


def reference_bayes(cases: list[dict]) -> dict:
    """scipy quadrature over the Beta(1, 1)-Binomial posteriors: P(beat), expected loss, P(best)."""
    out: dict[tuple, dict] = {}
    for case in cases:
        if case["kind"] != "proportion":
            continue
        n, s = np.asarray(case["n"], float), np.asarray(case["sum"], float)
        a, b = 1 + s, 1 + n - s
        hib = case.get("higher_is_better", True)
        best = _prob_best_quad(a, b, hib) if n.size > 2 else None
        for v in range(1, n.size):
            p, loss = _beta_pair_quad(a[0], b[0], a[v], b[v], hib)
            out[(case["id"], v)] = {"prob_beat": p, "expected_loss": loss, "prob_best": best}
    return {"quad": out}
