"""Micro-benchmark: one log density + gradient of the hierarchical model, and one leapfrog step of nutpie.

The full-Bayes fit at catalogue scale is ~200,000 leapfrog steps (4 chains × (300 tuning + ~1,250
draws) × ~31 steps), each one gradient of the compiled density (``workbench/hierarchical/
compiled_density.py``) plus nutpie's own vector work on the 21,006 parameters. This prints, per
catalogue size, the best and median time of one ``logp_and_grad`` call (wall, single thread,
interleaved in rounds so a busy machine hits every size alike) and, with ``--steps``, one chain's
CPU time per leapfrog step (gradient + nutpie) over a short run.

Baseline in the same sitting: run it with another checkout first on the path, e.g.

    PYTHONPATH=<other checkout> nice -n 5 .venv/bin/python benchmarks/hierarchical_gradient.py --skus 1000,10000 --steps
    PYTHONPATH=.          nice -n 5 .venv/bin/python benchmarks/hierarchical_gradient.py --skus 1000,10000 --steps
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from workbench.hierarchical import simulate_sku_world
from workbench.hierarchical.compiled_density import compiled_model, initial_point, logp_and_grad, pack_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", default="1000,10000", help="comma-separated catalogue sizes (multiples of 20)")
    ap.add_argument("--rounds", type=int, default=30, help="rounds of 100 calls per size")
    ap.add_argument("--steps", action="store_true", help="also one nutpie chain's CPU per leapfrog step")
    args = ap.parse_args()
    print(f"load average at start {os.getloadavg()[0]:.1f} (2-core shared machine)")
    cases = {}
    for n in (int(s) for s in args.skus.split(",")):
        world = simulate_sku_world(n_categories=n // 20, skus_per_category=20, seed=1)
        blob = pack_data(world.data, parameterisation="adaptive")
        x = initial_point(world.data, 1, "adaptive")
        g = np.empty_like(x)
        logp_and_grad(x, blob, g)
        cases[n] = (world, x, blob, g, [])
    for _ in range(args.rounds):
        for n, (_, x, blob, g, times) in cases.items():
            t0 = time.perf_counter()
            for _ in range(100):
                logp_and_grad(x, blob, g)
            times.append((time.perf_counter() - t0) / 100)
    print(f"{'SKUs':>6} {'params':>7} {'grad best ms':>12} {'grad median ms':>14} {'step cpu ms':>11} {'load':>5}")
    for n, (world, x, _, _, times) in cases.items():
        step = float("nan")
        if args.steps:
            import nutpie
            import pyarrow as pa

            model = compiled_model(world.data, parameterisation="adaptive").model
            c0 = time.process_time()
            raw = nutpie.sample(model, draws=200, tune=100, chains=1, cores=1, seed=3, progress_bar=False,
                                return_raw_trace=True)
            cpu = time.process_time() - c0
            stats = pa.record_batch(raw.get_arrow_trace()[1][0])
            step = cpu / float(np.asarray(stats.column("n_steps")).sum())
        print(f"{n:6d} {x.size:7d} {min(times) * 1e3:12.3f} {float(np.median(times)) * 1e3:14.3f} {step * 1e3:11.3f} "
              f"{os.getloadavg()[0]:5.1f}")


if __name__ == "__main__":
    main()
