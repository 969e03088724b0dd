"""Benchmark: is a world whose 94 % lift intervals miss the 92–96 % band a misfit, or chance?

For each simulated world (``--skus`` SKUs, seeds ``--first``..``--last``, the simulator's defaults:
true ``sigma_delta`` 0.06) it samples the full model with fixed draws (4 chains × ``--draws``) and
prints one row:

- ``cover``: the share of true SKU lifts inside their 94 % intervals;
- ``sigma``: the posterior of ``sigma_delta`` (mean, SD, 94 % interval, whether it holds the
  truth 0.06, and ``z`` = (mean − 0.06) / SD);
- ``realised``: the SD of the world's true lifts around their true category lifts (what the
  simulator actually drew: a defect there would show as realised ≠ 0.06);
- ``oracle``: the coverage of normal–normal intervals with the world's *true* hyperparameters
  (:func:`.evaluation.oracle_lift_coverage`), and ``plug-in``: the same intervals with
  ``sigma_delta`` set to this fit's posterior mean. ``plug-in`` ≈ ``cover`` and ``oracle`` ≈ 0.94
  say the miss is the estimate of ``sigma_delta`` and nothing else;
- ``band``: the ``sigma_delta`` values whose plug-in coverage is 0.92 and 0.96 in this world.

The summary counts the worlds outside 92–96 %, the worlds whose ``sigma_delta`` interval holds the
truth (about 94 % if the model fits the simulator), and the share of worlds expected outside the
band by chance alone: P(estimate outside the band) with the estimate ~ Normal(0.06, posterior SD)
(Bernstein–von Mises), averaged over the worlds.

    nice -n 5 .venv/bin/python benchmarks/hierarchical_worlds.py --skus 1000 --first 1 --last 20
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from workbench.hierarchical import simulate_sku_world
from workbench.hierarchical.evaluation import oracle_lift_coverage
from workbench.hierarchical.sampling import sample_posterior

SKUS_PER_CATEGORY = 20
TRUE_SIGMA = 0.06
BAND = (0.92, 0.96)


def band_in_sigma(world) -> tuple[float, float]:
    """The sigma_delta values at which this world's plug-in coverage crosses 0.92 and 0.96."""
    def cover(s: float) -> float:
        return oracle_lift_coverage(world.data, world.truth, {**world.params, "sigma_delta": s})
    lo = brentq(lambda s: cover(s) - BAND[0], 0.005, 0.2, xtol=2e-4)
    hi = brentq(lambda s: cover(s) - BAND[1], 0.005, 0.3, xtol=2e-4)
    return lo, hi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, default=1000)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=20)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    print(f"{args.skus} SKUs, worlds {args.first}..{args.last}, 4 chains x {args.draws} draws; true sigma_delta "
          f"{TRUE_SIGMA}; load average {os.getloadavg()[0]:.1f} (shared machine)")
    print(f"{'world':>5} {'cpu s':>6} {'div':>3} {'cover':>6} {'sigma':>6} {'sd':>6} {'94% interval':>16} {'holds':>5} "
          f"{'z':>6} {'realised':>8} {'oracle':>6} {'plug-in':>7} {'band':>13}")
    rows = []
    for seed in range(args.first, args.last + 1):
        w = simulate_sku_world(n_categories=args.skus // SKUS_PER_CATEGORY, skus_per_category=SKUS_PER_CATEGORY,
                               seed=seed)
        c0 = time.process_time()
        s = sample_posterior(w.data, draws=args.draws, tune=300, chains=4, cores=2, parameterisation="adaptive",
                             seed=seed)
        cpu = time.process_time() - c0
        sd = s.draws["sigma_delta"].ravel()
        delta = s.draws["delta"].reshape(-1, s.draws["delta"].shape[-1])
        lo, hi = np.quantile(delta, [0.03, 0.97], axis=0)
        t = w.truth.true_lift_logodds.to_numpy()
        cover = float(((lo <= t) & (t <= hi)).mean())
        q = np.quantile(sd, [0.03, 0.97])
        realised = float(np.sqrt(((t - w.params["delta_cat"][w.data.lift_category]) ** 2).mean()))
        oracle = oracle_lift_coverage(w.data, w.truth, w.params)
        plug = oracle_lift_coverage(w.data, w.truth, {**w.params, "sigma_delta": float(sd.mean())})
        b = band_in_sigma(w)
        holds = bool(q[0] <= TRUE_SIGMA <= q[1])
        z = (sd.mean() - TRUE_SIGMA) / sd.std()
        rows.append((cover, holds, z, sd.std(), b))
        print(f"{seed:5d} {cpu:6.1f} {int(s.diverging.sum()):3d} {cover:6.3f} {sd.mean():6.4f} {sd.std():6.4f} "
              f"[{q[0]:.4f}, {q[1]:.4f}] {'yes' if holds else 'no':>5} {z:+6.2f} {realised:8.4f} {oracle:6.3f} "
              f"{plug:7.3f}  [{b[0]:.3f},{b[1]:.3f}]", flush=True)
    cover = np.array([r[0] for r in rows])
    z = np.array([r[2] for r in rows])
    outside = (cover < BAND[0]) | (cover > BAND[1])
    expected = np.mean([norm.cdf((b[0] - TRUE_SIGMA) / s) + norm.sf((b[1] - TRUE_SIGMA) / s)
                        for _, _, _, s, b in rows])
    z_sd = float(z.std(ddof=1)) if z.size > 1 else float("nan")
    print(f"worlds outside {BAND[0]:.2f}-{BAND[1]:.2f}: {int(outside.sum())} of {len(rows)}; sigma_delta's 94% interval "
          f"holds the truth in {sum(r[1] for r in rows)} of {len(rows)}; z mean {z.mean():+.2f} SD {z_sd:.2f}; "
          f"expected outside by chance {expected:.2f} of worlds (P(all of 5 inside) {(1 - expected) ** 5:.2f}); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
