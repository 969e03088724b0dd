"""Benchmark: 100,000 variant-vs-control comparisons, vectorised vs a per-comparison scipy/statsmodels loop.

Random sufficient statistics (fixed seed) for 100,000 proportion comparisons (z-test / Fisher +
Newcombe for small counts, absolute and delta-method relative intervals, Beta–Binomial chance
to beat control and expected loss by quadrature) and 100,000 mean comparisons (Welch test and
interval, relative interval, normal–normal chance to beat control and expected loss), each
computed in one vectorised call of ``workbench.stats.compare.compare_arrays``.

**The baseline** is GrowthBook's stats engine ``gbstats`` 0.8 used as GrowthBook uses it: per comparison,
``ProportionStatistic`` / ``SampleMeanStatistic`` objects, a frequentist ``TwoSidedTTest`` and an
``EffectBayesianABTest``, each ``compute_result()`` (absolute differences, so its numbers compare with
ours). It needs numpy < 2 and runs in the peers' environment (benchmarks/_bench.py); it runs on a random
subset (``--gb``) and its time is extrapolated to ``--n``. Its largest differences from ours are printed:
for means the conventions are the same (Welch t, flat-prior normal posterior); for proportions gbstats
uses a t reference and a normal approximation of the posterior where we use z and the exact
Beta–Binomial (docs/agreement.md has the full comparison).

The exactness reference is a Python loop calling scipy/statsmodels on the same inputs, one comparison at a
time: statsmodels ``test_proportions_2indep`` / ``confint_proportions_2indep`` (and
``scipy.stats.fisher_exact`` + Newcombe for small counts), ``scipy.stats.ttest_ind_from_stats``
and ``scipy.integrate.quad`` over ``scipy.stats.beta`` densities for the Bayesian quantities.
Its quadrature runs at 1e-14 tolerance, so it is slow (~40 ms a comparison) and not a fair speed baseline;
it runs on a random subset and its ratio is printed for reference only. Every time on both sides is
the median of ``--repeats`` runs (benchmarks/_bench.py). Targets: >= 100x faster than gbstats,
identical to the scipy/statsmodels reference to 1e-9, < 1 s vectorised.

Run: ``.venv/bin/python benchmarks/stats_vectorised.py [--n 100000] [--gb 2000] [--loop 300]``
"""

from __future__ import annotations

import argparse
import gc
import math
from unittest import mock

import numpy as np
from scipy import integrate, stats
from statsmodels.stats import proportion as smp

from _bench import load_note, run_in_peers, timed

from workbench.stats.compare import compare_arrays
from workbench.stats.sufficient import SufficientStats


def random_proportions(rng: np.random.Generator, n: int) -> SufficientStats:
    users = rng.integers(200, 200_000, (n, 2)).astype(float)
    rate = rng.uniform(0.005, 0.4, (n, 1)) * rng.uniform(0.9, 1.1, (n, 2))
    conv = rng.binomial(users.astype(np.int64), rate).astype(float)
    return SufficientStats.from_counts(users, conv)


def random_means(rng: np.random.Generator, n: int) -> SufficientStats:
    users = rng.integers(50, 100_000, (n, 2)).astype(float)
    mean = rng.uniform(1, 100, (n, 1)) * rng.uniform(0.9, 1.1, (n, 2))
    sd = mean * rng.uniform(0.3, 3.0, (n, 2))
    total = mean * users
    return SufficientStats(n=users, sum=total, sum_sq=(sd * sd * (users - 1) + total * total / users))


FIELDS = ("p_value", "ci_lo", "ci_hi", "rel_ci_lo", "rel_ci_hi", "prob_beat", "expected_loss")


def loop_proportion(n_c: float, s_c: float, n_t: float, s_t: float) -> dict[str, float]:
    """One comparison with scipy/statsmodels only (no workbench code)."""
    p_c, p_t = s_c / n_c, s_t / n_t
    z = stats.norm.ppf(0.975)
    small = min(s_c, n_c - s_c) < 5 or min(s_t, n_t - s_t) < 5
    if small:
        p = stats.fisher_exact([[s_t, n_t - s_t], [s_c, n_c - s_c]]).pvalue
        lo, hi = smp.confint_proportions_2indep(s_t, n_t, s_c, n_c, method="newcomb")
    else:
        p = smp.test_proportions_2indep(s_t, n_t, s_c, n_c, method="wald").pvalue
        lo, hi = smp.confint_proportions_2indep(s_t, n_t, s_c, n_c, method="wald")
    rel = p_t / p_c - 1
    se_rel = math.sqrt(p_t * (1 - p_t) / n_t / p_c ** 2 + p_t ** 2 * p_c * (1 - p_c) / n_c / p_c ** 4)
    c, t = stats.beta(1 + s_c, 1 + n_c - s_c), stats.beta(1 + s_t, 1 + n_t - s_t)
    c_plus = stats.beta(2 + s_c, 1 + n_c - s_c)
    m_c = (1 + s_c) / (2 + n_c)
    lo_t, hi_t = t.ppf(1e-15), t.isf(1e-15)
    kw = dict(epsabs=1e-14, epsrel=1e-12, limit=200, points=[t.mean()])
    prob = integrate.quad(lambda x: t.pdf(x) * c.cdf(x), lo_t, hi_t, **kw)[0]
    loss = integrate.quad(lambda x: t.pdf(x) * (m_c * c_plus.sf(x) - x * c.sf(x)), lo_t, hi_t, **kw)[0]
    return {"p_value": p, "ci_lo": lo, "ci_hi": hi, "rel_ci_lo": rel - z * se_rel, "rel_ci_hi": rel + z * se_rel,
            "prob_beat": prob, "expected_loss": loss}


def loop_mean(n_c: float, m_c: float, v_c: float, n_t: float, m_t: float, v_t: float) -> dict[str, float]:
    r = stats.ttest_ind_from_stats(m_t, math.sqrt(v_t), n_t, m_c, math.sqrt(v_c), n_c, equal_var=False)
    se = math.sqrt(v_c / n_c + v_t / n_t)
    df = (v_c / n_c + v_t / n_t) ** 2 / ((v_c / n_c) ** 2 / (n_c - 1) + (v_t / n_t) ** 2 / (n_t - 1))
    crit = stats.t.ppf(0.975, df)
    diff = m_t - m_c
    rel = m_t / m_c - 1
    se_rel = math.sqrt(v_t / n_t / m_c ** 2 + m_t ** 2 * v_c / n_c / m_c ** 4)
    post = stats.norm(diff, se)
    loss = se * stats.norm.pdf(diff / se) - diff * stats.norm.cdf(-diff / se)
    return {"p_value": r.pvalue, "ci_lo": diff - crit * se, "ci_hi": diff + crit * se,
            "rel_ci_lo": rel - crit * se_rel, "rel_ci_hi": rel + crit * se_rel, "prob_beat": post.sf(0.0),
            "expected_loss": loss}


def gbstats_baseline(kind: str, st: SufficientStats, idx: np.ndarray, repeats: int) -> dict | None:
    """gbstats on the comparisons ``idx``, timed in the peers' environment (median of ``repeats``)."""
    payload = {"kind": kind, "repeats": repeats, "difference_type": "absolute",
               "n": st.n[idx].tolist(), "sum": st.sum[idx].tolist(), "sum_sq": st.sum_sq[idx].tolist()}
    return run_in_peers("gbstats", payload)


def _gb_diffs(kind: str, got: dict, vec: dict, idx: np.ndarray) -> dict[str, float]:
    out = {}
    for ours, theirs in (("lift_abs", "lift"), ("ci_lo", "ci_lo"), ("ci_hi", "ci_hi"), ("p_value", "p_value"),
                         ("prob_beat", "prob_beat"), ("expected_loss", "expected_loss")):
        mine = np.asarray(vec[ours][idx, 0], dtype=float)
        peer = np.array([r[theirs] if r[theirs] is not None else np.nan for r in got["results"]], dtype=float)
        out[f"{kind}.{ours}"] = float(np.nanmax(np.abs(mine - peer)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000, help="comparisons of each kind")
    ap.add_argument("--gb", type=int, default=2000, help="comparisons of each kind run through gbstats")
    ap.add_argument("--loop", type=int, default=300, help="comparisons of each kind run through the scipy loop")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs on every side (median)")
    ap.add_argument("--seed", type=int, default=20261121)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    props, means = random_proportions(rng, args.n), random_means(rng, args.n)
    print(f"stats_vectorised: {args.n:,} proportion + {args.n:,} mean variant-vs-control comparisons "
          f"(frequentist + Bayesian), seed {args.seed}; every time is the median of {args.repeats} runs ({load_note()})")

    kw = dict(credible_intervals=False, cuped=False)
    tp = timed(lambda: compare_arrays("proportion", props, **kw), args.repeats)
    tm = timed(lambda: compare_arrays("mean", means, **kw), args.repeats)
    vec_p, vec_m = tp.result, tm.result
    n_small = int(np.sum(vec_p["test"] == "fisher"))
    total = tp.wall + tm.wall

    gb_idx = rng.choice(args.n, size=min(args.gb, args.n), replace=False)
    gb_p = gbstats_baseline("proportion", props, gb_idx, args.repeats)
    gb_m = gbstats_baseline("mean", means, gb_idx, args.repeats)

    subset = rng.choice(args.n, size=min(args.loop, args.n), replace=False)
    diffs: dict[str, float] = {}

    def loop_props() -> None:
        for i in subset:
            ref = loop_proportion(props.n[i, 0], props.sum[i, 0], props.n[i, 1], props.sum[i, 1])
            for f in FIELDS:
                diffs[f"proportion.{f}"] = max(diffs.get(f"proportion.{f}", 0.0), abs(ref[f] - float(vec_p[f][i, 0])))

    def loop_means() -> None:
        mu, var = means.mean, means.var
        for i in subset:
            ref = loop_mean(means.n[i, 0], mu[i, 0], var[i, 0], means.n[i, 1], mu[i, 1], var[i, 1])
            for f in FIELDS:
                diffs[f"mean.{f}"] = max(diffs.get(f"mean.{f}", 0.0), abs(ref[f] - float(vec_m[f][i, 0])))

    with mock.patch.object(gc, "collect", lambda *a: 0):
        loop_p = timed(loop_props, args.repeats).wall / len(subset) * args.n
        loop_m = timed(loop_means, args.repeats).wall / len(subset) * args.n

    worst = max(diffs.values())
    print(f"  proportions ({n_small} small-count -> Fisher/Newcombe): vectorised {tp.wall:.3f} s (cpu {tp.cpu:.3f} s)")
    print(f"  means: vectorised {tm.wall:.3f} s (cpu {tm.cpu:.3f} s)")
    print(f"  total vectorised {total:.3f} s wall, {tp.cpu + tm.cpu:.3f} s cpu (target < 1 s)")
    ok = total < 1.0 and worst <= 1e-9
    if gb_p is None or gb_m is None:
        print("  gbstats baseline: NOT RUN (the peers' environment could not be made; see above)")
        ok = False
    else:
        g_p = gb_p["seconds"] / len(gb_idx) * args.n
        g_m = gb_m["seconds"] / len(gb_idx) * args.n
        c_p = gb_p["cpu"] / len(gb_idx) * args.n
        c_m = gb_m["cpu"] / len(gb_idx) * args.n
        print(f"  gbstats {gb_p['versions']['gbstats']} (TwoSidedTTest + EffectBayesianABTest per comparison, "
              f"{len(gb_idx):,} of each kind run, extrapolated to {args.n:,}): proportions {g_p:.1f} s, means {g_m:.1f} s "
              f"| ratio {g_p / tp.wall:,.0f}x and {g_m / tm.wall:,.0f}x | overall {(g_p + g_m) / total:,.0f}x (target >= 100x)")
        print(f"    in CPU time (less sensitive to the load): gbstats {c_p + c_m:.1f} s vs ours {tp.cpu + tm.cpu:.3f} s "
              f"= {(c_p + c_m) / (tp.cpu + tm.cpu):,.0f}x")
        ok = ok and (g_p + g_m) / total >= 100
        gd = {**_gb_diffs("proportion", gb_p, vec_p, gb_idx), **_gb_diffs("mean", gb_m, vec_m, gb_idx)}
        print("  largest differences from gbstats (means: same conventions; proportions: gbstats uses t and a normal "
              "posterior, we use z and the exact Beta-Binomial):")
        for k, v in sorted(gd.items()):
            print(f"    {k:28s} {v:.2e}")
    print(f"  scipy/statsmodels loop (quadrature at 1e-14; exactness reference, {len(subset):,} of each kind, "
          f"extrapolated): {loop_p + loop_m:.1f} s | ratio {(loop_p + loop_m) / total:,.0f}x (for reference)")
    print(f"  max abs difference vs scipy/statsmodels over {len(subset):,}+{len(subset):,} comparisons: {worst:.2e} "
          f"(target <= 1e-9)")
    for k, v in sorted(diffs.items()):
        print(f"    {k:28s} {v:.2e}")
    print(("  targets met" if ok else "  TARGETS NOT MET") + f"  [{load_note()}]")


if __name__ == "__main__":
    main()
