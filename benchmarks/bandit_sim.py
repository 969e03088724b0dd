"""Benchmark: bandit simulation, 3 arms × 100,000 rounds × 200 replications, Thompson and UCB1, against MABWiser.

Targets (issue 4): both policies together in under 5 s here, and at least 50× faster than the
same simulation with MABWiser, with the same regret.

Both sides run the textbook algorithms: Beta(1, 1) Thompson sampling and UCB1 (mean + sqrt(2 ln N / n)),
learning after every user, no exploration floor, no warm-up. MABWiser is used as its users use it, a
``predict`` then ``partial_fit`` per user, in the peers' environment (benchmarks/_bench.py).

- **Timing, the same rule on both sides:** ours is the median of ``--repeats`` runs of all 200
  replications; MABWiser's is ``--reps`` × the median of its per-replication times over ``--mab-reps``
  replications of the full 100,000 rounds. A MABWiser replication takes seconds to tens of seconds
  here, so 200 of them (×2 policies) would take hours: the output says how many ran and that the rest is
  extrapolated linearly (replications are independent and equally long).
- **Same regret, a check that can fail:** ours (``--check-ours`` = 2,000 replications, cheap) against
  MABWiser (``--check-reps`` replications), both of ``--check-rounds`` rounds: the 95 % Welch interval of the
  difference in mean regret. *Same* when the interval lies within ±``--margin`` (15 %) of our mean regret
  (an equivalence test); *DIFFERENT* when it excludes 0; *inconclusive* otherwise (more replications
  needed). The interval uses each side's own spread. Thompson's regret varies a lot between replications
  (sd ≈ half its mean at 10,000 rounds): 160 MABWiser replications left it inconclusive ([−4.2, +0.1]
  against a ±4.1 margin), 640 settle it ([−1.5, +1.0]: same), so the default is 640 (about 20 CPU-minutes
  of MABWiser here, most of the run).

    .venv/bin/python benchmarks/bandit_sim.py [--reps 200] [--rounds 100000] [--mab-reps 3] [--check-reps 640]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from _bench import equivalent, load_note, run_in_peers, timed
from workbench.bandits.simulate import simulate_policies

RATES = [0.04, 0.05, 0.045]
POLICIES = ("thompson", "ucb")


def ours(rounds: int, reps: int, repeats: int):
    simulate_policies(RATES, policies=list(POLICIES), rounds=1000, reps=2, floor=0.0, min_units=0, seed=1)  # compile
    runs = []

    def once():
        sim = simulate_policies(RATES, policies=list(POLICIES), rounds=rounds, reps=reps, floor=0.0, min_units=0,
                                seed=20261121, checkpoints=100)
        runs.append(sim.seconds)
        return sim

    t = timed(once, repeats)
    per_policy = {p: statistics.median(r[p] for r in runs) for p in POLICIES}
    return t, per_policy, t.result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of ours (median)")
    ap.add_argument("--mab-reps", type=int, default=3, help="MABWiser replications of the full rounds, timed")
    ap.add_argument("--check-rounds", type=int, default=10_000, help="rounds of the regret check")
    ap.add_argument("--check-reps", type=int, default=640, help="MABWiser replications for the regret check")
    ap.add_argument("--check-ours", type=int, default=2000, help="our replications for the regret check")
    ap.add_argument("--margin", type=float, default=0.15, help="equivalence margin, share of our mean regret")
    args = ap.parse_args()
    print(f"bandit simulation: {len(RATES)} arms {RATES}, {args.rounds:,} rounds x {args.reps} replications "
          f"({load_note()})")
    t, secs, sim = ours(args.rounds, args.reps, args.repeats)
    print(f"  workbench, Thompson + UCB: {t} — runs {', '.join(f'{x:.2f}' for x in t.runs)} s")
    for i, pol in enumerate(POLICIES):
        r = sim.regret[i, :, -1]
        print(f"  workbench {pol:8s}: {secs[pol]:6.2f} s (median)   final regret {r.mean():8.1f} ± "
              f"{r.std(ddof=1) / np.sqrt(r.size):.1f} (se)")
    print(f"  workbench Thompson + UCB: {t.wall:.2f} s  (target < 5 s: {'PASS' if t.wall < 5 else 'FAIL'})  [{load_note()}]")
    # ours for the regret check: many replications (they are cheap), so the interval of the difference is
    # set by MABWiser's replications and not by the luck of our seed
    check_sim = simulate_policies(RATES, policies=list(POLICIES), rounds=args.check_rounds, reps=args.check_ours,
                                  floor=0.0, min_units=0, seed=20261122, checkpoints=1)
    check_regret = {p: check_sim.regret[i, :, -1] for i, p in enumerate(POLICIES)}
    mab_total, mab_cpu, verdicts = 0.0, 0.0, []
    for i, pol in enumerate(POLICIES):
        timing = run_in_peers("mabwiser", {"rates": RATES, "rounds": args.rounds, "policy": pol, "reps": args.mab_reps})
        check = run_in_peers("mabwiser", {"rates": RATES, "rounds": args.check_rounds, "policy": pol,
                                          "reps": args.check_reps})
        if timing is None or check is None:
            print("  MABWiser could not run in the peers' environment (see above): ratio and regret check skipped")
            return
        per_rep = statistics.median(timing["seconds"])
        extrapolated = per_rep * args.reps
        mab_total += extrapolated
        mab_cpu += statistics.median(timing["cpu"]) * args.reps
        print(f"  MABWiser {timing['versions']['mabwiser']} {pol:8s}: {per_rep:6.2f} s per replication (median of "
              f"{args.mab_reps} run; {args.reps - args.mab_reps} of {args.reps} extrapolated) -> {extrapolated:8.1f} s;  "
              f"ratio {extrapolated / secs[pol]:7.0f}x")
        ours_r, theirs = check_regret[pol], np.asarray(check["regret"])
        lo, hi, bound, verdict = equivalent(ours_r, theirs, args.margin)
        verdicts.append(verdict)
        print(f"    regret at {args.check_rounds:,} rounds: MABWiser {theirs.mean():.1f} ({theirs.size} reps) vs ours "
              f"{ours_r.mean():.1f} ({ours_r.size} reps); 95 % interval of the difference [{lo:+.1f}, {hi:+.1f}], "
              f"margin ±{bound:.1f}: {verdict}")
    ratio = mab_total / t.wall
    print(f"  speed-up, Thompson + UCB: {ratio:.0f}x  (target >= 50x: {'PASS' if ratio >= 50 else 'FAIL'}); "
          f"same regret: {'PASS' if verdicts and all(v == 'same' for v in verdicts) else 'FAIL'} ({', '.join(verdicts)})")
    print(f"  in CPU time (less sensitive to the load): MABWiser {mab_cpu:.0f} s vs ours {t.cpu:.2f} s = {mab_cpu / t.cpu:.0f}x")
    print(f"  [{load_note()}]")


if __name__ == "__main__":
    main()
