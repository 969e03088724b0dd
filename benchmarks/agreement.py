"""Agreement table: the workbench's comparisons beside GrowthBook's gbstats, statsmodels, scipy, tea-tasting
and spotify-confidence on the same inputs, written to docs/agreement.md.

Inputs: the README samples (data/samples/ab_results.csv summed over segments: conversion, guardrail errors
(lower is better) and revenue per user; data/samples/skus.csv: every SKU's control vs treatment) and a
fixed-seed set of 200 random comparisons: 50 proportions, 50 means, 50 small counts, 50 three-arm
proportion tests. Every library is called as its users call it (its defaults), and where its default
convention differs from ours (continuity correction, pooled variance, relative-CI method, t vs z, a
normal approximation of the posterior) it is also called with ours where it offers it, so the table shows
both: the difference that is only numerical and the one that comes from the convention.

gbstats 0.8 and spotify-confidence need numpy < 2: they run in the peers' own environment
(benchmarks/_bench.py makes it under benchmarks/.cache on first use, which needs the package index).

    .venv/bin/python benchmarks/agreement.py [--seed 20261206] [--out docs/agreement.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _bench import load_note, run_in_peers
from _agreement_peers import PEER_ROWS, local_peers, reference_bayes
from workbench.stats.bayes import prob_best_beta
from workbench.stats.compare import compare_arrays
from workbench.stats.sufficient import SufficientStats

ROOT = Path(__file__).resolve().parent.parent
QUANTITIES = ("lift", "ci_lo", "ci_hi", "rel_lift", "rel_ci_lo", "rel_ci_hi", "p_value", "prob_beat",
              "expected_loss", "prob_best")


def readme_samples() -> list[dict]:
    ab = pd.read_csv(ROOT / "data/samples/ab_results.csv").groupby("variant", sort=False).sum(numeric_only=True)
    ab = ab.loc[["control", "treatment"]]
    cases = [
        {"id": "ab_results conversion", "group": "README samples", "kind": "proportion",
         "n": ab.users.tolist(), "sum": ab.conversions.tolist(), "sum_sq": ab.conversions.tolist()},
        {"id": "ab_results guardrail_error", "group": "README samples", "kind": "proportion",
         "higher_is_better": False,
         "n": ab.users.tolist(), "sum": ab.guardrail_error.tolist(), "sum_sq": ab.guardrail_error.tolist()},
        {"id": "ab_results revenue", "group": "README samples", "kind": "mean",
         "n": ab.users.tolist(), "sum": ab.revenue_sum.tolist(), "sum_sq": ab.revenue_sum_sq.tolist()}]
    skus = pd.read_csv(ROOT / "data/samples/skus.csv")
    for sku, g in skus.groupby("sku", sort=True):
        g = g.set_index("variant").loc[["control", "treatment"]]
        cases.append({"id": f"skus {sku}", "group": "README samples", "kind": "proportion", "n": g.n.tolist(),
                      "sum": g.conversions.tolist(), "sum_sq": g.conversions.tolist()})
    return cases


def random_cases(seed: int) -> list[dict]:
    """200 fixed-seed comparisons: 50 each of proportions, means, small counts and three-arm proportions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(50):
        n = rng.integers(500, 100_000, 2)
        p = rng.uniform(0.01, 0.4) * rng.uniform(0.92, 1.08, 2)
        s = rng.binomial(n, p)
        out.append({"id": f"proportion {i}", "group": "proportions", "kind": "proportion", "n": n.tolist(),
                    "sum": s.tolist(), "sum_sq": s.tolist()})
    for i in range(50):
        n = rng.integers(30, 50_000, 2)
        mean = rng.uniform(1, 100) * rng.uniform(0.9, 1.1, 2)
        sd = mean * rng.uniform(0.3, 3.0, 2)
        total = mean * n
        out.append({"id": f"mean {i}", "group": "means", "kind": "mean", "n": n.tolist(), "sum": total.tolist(),
                    "sum_sq": (sd * sd * (n - 1) + total * total / n).tolist()})
    for i in range(50):
        n = rng.integers(20, 400, 2)
        s = rng.binomial(n, rng.uniform(0.005, 0.05) * rng.uniform(0.5, 1.5, 2))
        s = np.maximum(s, 1) if i % 5 else s                           # one in five may have no conversion
        out.append({"id": f"small {i}", "group": "small counts", "kind": "proportion", "n": n.tolist(),
                    "sum": s.tolist(), "sum_sq": s.tolist()})
    for i in range(50):
        n = rng.integers(1000, 50_000, 3)
        s = rng.binomial(n, rng.uniform(0.02, 0.3) * rng.uniform(0.9, 1.1, 3))
        out.append({"id": f"three-arm {i}", "group": "three arms", "kind": "proportion", "n": n.tolist(),
                    "sum": s.tolist(), "sum_sq": s.tolist()})
    return out


def workbench_rows(cases: list[dict]) -> list[dict]:
    """The workbench's numbers: the same vectorised core that `analyze` runs (no CUPED: no covariates here)."""
    rows = []
    for case in cases:
        stats = SufficientStats(n=np.asarray(case["n"], float), sum=np.asarray(case["sum"], float),
                                sum_sq=np.asarray(case["sum_sq"], float))
        hib = case.get("higher_is_better", True)
        r = compare_arrays(case["kind"], stats, higher_is_better=hib, cuped=False, credible_intervals=False)
        best = None
        if case["kind"] == "proportion" and len(case["n"]) > 2:
            n, s = stats.n, stats.sum
            best = prob_best_beta(1 + s, 1 + n - s, higher_is_better=hib)
        for v in range(len(case["n"]) - 1):
            rows.append({"id": case["id"], "variant": v + 1, "group": case["group"], "kind": case["kind"],
                         "test": str(r["test"][v]), "lift": float(r["lift_abs"][v]), "ci_lo": float(r["ci_lo"][v]),
                         "ci_hi": float(r["ci_hi"][v]), "rel_lift": float(r["lift_rel"][v]),
                         "rel_ci_lo": float(r["rel_ci_lo"][v]), "rel_ci_hi": float(r["rel_ci_hi"][v]),
                         "p_value": float(r["p_value"][v]), "prob_beat": float(r["prob_beat"][v]),
                         "expected_loss": float(r["expected_loss"][v]),
                         "prob_best": None if best is None else best.tolist()})
    return rows


def _fmt(x: float) -> str:
    return "—" if x is None or not np.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


def compare(ours: list[dict], peers: dict[str, dict[tuple, dict]]) -> list[dict]:
    """Per (peer call, quantity): comparisons, largest |difference| and where, over the groups it applies to."""
    table = []
    for spec in PEER_ROWS:
        got = peers.get(spec["source"], {})
        diffs, n, refused = [], 0, 0
        for row in ours:
            if row["group"] not in spec["groups"] or row["kind"] not in spec["kinds"]:
                continue
            if spec.get("test") and row["test"] not in spec["test"]:
                continue
            peer = got.get((row["id"], row["variant"]))
            value = None if peer is None else peer.get(spec["field"])
            mine = row[spec["quantity"]]
            if spec["quantity"] == "prob_best":
                if mine is None or value is None or row["variant"] != 1:      # one P(best) vector per test
                    continue
                n += 1
                diffs.append((float(np.max(np.abs(np.asarray(mine) - np.asarray(value)))), row["id"]))
                continue
            if value is None or not np.isfinite(value):
                refused += 1
                continue
            n += 1
            diffs.append((abs(float(value) - mine), row["id"]))
        worst = max(diffs, default=(float("nan"), "—"))
        table.append({**spec, "n": n, "refused": refused, "max": worst[0], "where": worst[1]})
    return table


def write_markdown(table: list[dict], versions: dict[str, str], errors: dict[str, str], path: Path,
                   seed: int, n_cases: int, seconds: float) -> None:
    lines = ["# Agreement with peer libraries", "",
             "Written by `benchmarks/agreement.py` (do not edit by hand). The same inputs go through the workbench "
             "and through each peer; the table gives, for each quantity and peer call, the largest absolute "
             f"difference from the workbench over the comparisons it applies to. Inputs: the README samples and "
             f"{n_cases} random comparisons (seed {seed}): 50 proportions (500–100,000 units per arm), 50 means "
             "(30–50,000 units), 50 small counts (20–400 units, rates 0.5–5 %, some arms without a conversion) "
             "and 50 three-arm proportion tests (each variant against the control).", "",
             "**Ours** (DESIGN.md): proportions: unpooled Wald z-test and interval; Fisher's exact p-value and the "
             "Newcombe hybrid-score interval when an arm has fewer than 5 successes or failures; means: Welch's "
             "t-test with Welch–Satterthwaite degrees of freedom; relative lift: delta-method interval on the ratio "
             "with the absolute interval's critical value; Bayesian: Beta(1, 1)–Binomial by exact quadrature for "
             "proportions (P(beat), expected loss of shipping the variant, P(best)), normal posterior of the "
             "absolute lift (flat prior) for means. Levels: 95 % two-sided.", "",
             "**Inputs** column: *z-tested* are the proportion comparisons where we use the z-test (every arm "
             "has at least 5 successes and 5 failures), *Fisher-tested* the others; *proportions* and *all* "
             "include the README samples and the three-arm tests. A peer that answers an input with an error "
             "(or, like gbstats, with zeros and a message, e.g. for a control without conversions) is counted "
             "as *refused*. statsmodels' `CompareMeans` takes unit-level data: it gets synthetic data with exactly "
             "each arm's count, mean and variance. P(best) is compared as the largest difference over the arms.", "",
             "A **convention** cell that says *same* means the peer computes the same quantity by the same method: "
             "its difference is numerical. Otherwise the cell names the peer's convention, and the difference "
             "measures the convention, not an error.", ""]
    by_q: dict[str, list[dict]] = {}
    for r in table:
        by_q.setdefault(r["quantity"], []).append(r)
    titles = {"lift": "Lift (absolute)", "ci_lo": "CI lower bound (absolute lift)",
              "ci_hi": "CI upper bound (absolute lift)", "rel_lift": "Relative lift",
              "rel_ci_lo": "CI lower bound (relative lift)", "rel_ci_hi": "CI upper bound (relative lift)",
              "p_value": "p-value", "prob_beat": "P(beat control)", "expected_loss": "Expected loss (of shipping the variant)",
              "prob_best": "P(best), three arms"}
    for q in QUANTITIES:
        if q not in by_q:
            continue
        lines += [f"## {titles[q]}", "", "| peer | call | inputs | convention | compared | largest difference | at |",
                  "|---|---|---|---|---:|---:|---|"]
        for r in by_q[q]:
            compared = f"{r['n']}" + (f" ({r['refused']} refused)" if r["refused"] else "")
            lines.append(f"| {r['peer']} | `{r['call']}` | {r['inputs']} | {r['convention']} | {compared} | "
                         f"{_fmt(r['max'])} | {r['where'] if r['n'] else '—'} |")
        lines.append("")
    lines += ["## Libraries", "", "| library | version | environment |", "|---|---|---|"]
    for lib, (ver, env) in versions.items():
        lines.append(f"| {lib} | {ver} | {env} |")
    if errors:
        lines += ["", "Calls a peer refused (counted as *refused* above):", ""]
        lines += [f"- {k}: {v}" for k, v in errors.items()]
    lines += ["", f"Run time {seconds:.0f} s; {load_note()}.", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "agreement.md")
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"agreement: workbench vs gbstats, statsmodels, scipy, tea-tasting, spotify-confidence ({load_note()})")
    cases = readme_samples() + random_cases(args.seed)
    ours = workbench_rows(cases)
    peers, versions, errors = local_peers(cases)
    peers.update(reference_bayes(cases))
    remote = run_in_peers("agreement", cases)
    if remote is None:
        versions["gbstats"] = versions["spotify-confidence"] = ("not run", "the peers' environment could not be made")
    else:
        for name in ("gbstats_rel", "gbstats_abs", "spotify"):
            peers[name] = {(r["id"], r["variant"]): r[name] for r in remote["rows"] if r.get(name) is not None}
        env = f"benchmarks/.cache/peers-venv (numpy {remote['versions']['numpy']}, pandas {remote['versions']['pandas']})"
        versions["gbstats"] = (remote["versions"]["gbstats"], env)
        versions["spotify-confidence"] = (remote["versions"]["spotify-confidence"], env)
        errors.update(remote["errors"])
    table = compare(ours, peers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_markdown(table, versions, errors, args.out, args.seed, 200, time.perf_counter() - t0)
    for r in table:
        print(f"  {r['quantity']:13s} {r['peer']:18s} {r['call'][:48]:48s} n={r['n']:4d} max |diff| {_fmt(r['max'])}")
    print(f"wrote {args.out} ({time.perf_counter() - t0:.1f} s; {load_note()})")
    if remote is None:
        sys.exit(1)


if __name__ == "__main__":
    main()
