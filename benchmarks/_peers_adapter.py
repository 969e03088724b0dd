"""Runs inside the peers' environment (numpy < 2; see benchmarks/_bench.py): JSON in on stdin, JSON out.

    python _peers_adapter.py agreement   # GrowthBook gbstats and spotify-confidence on the agreement inputs
    python _peers_adapter.py gbstats     # gbstats as its users run it, one comparison at a time, timed
    python _peers_adapter.py mabwiser    # MABWiser replications of the bandit simulation, timed one by one

This file imports nothing from the workbench (its numpy 2 cannot load here).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def _versions() -> dict[str, str]:
    from importlib.metadata import version
    out = {"numpy": np.__version__}
    for pkg in ("gbstats", "spotify-confidence", "mabwiser", "pandas", "scipy"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - reported as missing
            out[pkg] = "not installed"
    return out


def _gb_stat(kind: str, n: float, s: float, ss: float):
    from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
    if kind == "proportion":
        return ProportionStatistic(n=int(n), sum=float(s))
    return SampleMeanStatistic(n=int(n), sum=float(s), sum_squares=float(ss))


def gbstats_pair(kind: str, c: tuple, t: tuple, difference_type: str, inverse: bool = False) -> dict:
    """One variant vs control with gbstats' defaults except the difference type (relative is the default)."""
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
    from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
    a, b = _gb_stat(kind, *c), _gb_stat(kind, *t)
    f = TwoSidedTTest(a, b, FrequentistConfig(difference_type=difference_type)).compute_result()
    y = EffectBayesianABTest(a, b, EffectBayesianConfig(difference_type=difference_type, inverse=inverse)).compute_result()
    for r in (f, y):        # gbstats answers an input it cannot handle with zeros and a message: a refusal
        if getattr(r, "error_message", None):
            raise ValueError(r.error_message)
    return {"lift": f.expected, "ci_lo": f.ci[0], "ci_hi": f.ci[1], "p_value": f.p_value,
            "prob_beat": y.chance_to_win, "expected_loss": y.risk[1], "expected_loss_control": y.risk[0]}


def spotify_pair(kind: str, c: tuple, t: tuple) -> dict:
    """spotify-confidence's Z-test (proportions) or Student's/Welch t-test (means), absolute and relative."""
    import pandas as pd
    from spotify_confidence import StudentsTTest, ZTest
    df = pd.DataFrame({"variant": ["control", "treatment"], "n": [c[0], t[0]], "s": [c[1], t[1]],
                       "ss": [c[2], t[2]]})
    cls = ZTest if kind == "proportion" else StudentsTTest
    test = cls(df, numerator_column="s", numerator_sum_squares_column="ss", denominator_column="n",
               categorical_group_columns="variant")
    out = {}
    for absolute, key in ((True, ""), (False, "rel_")):
        d = test.difference(level_1="control", level_2="treatment", absolute=absolute)
        row = d.iloc[0]
        out[key + "lift"] = float(row["difference"])
        out[key + "ci_lo"] = float(row["ci_lower"])
        out[key + "ci_hi"] = float(row["ci_upper"])
        out["p_value"] = float(row["p-value"])
    return out


def agreement(payload: list[dict]) -> dict:
    rows, errors = [], {}
    for case in payload:
        kind = case["kind"]
        arms = list(zip(case["n"], case["sum"], case["sum_sq"]))
        for v in range(1, len(arms)):
            row = {"id": case["id"], "variant": v}
            for name, fn in (("gbstats_rel", lambda: gbstats_pair(kind, arms[0], arms[v], "relative",
                                                                  not case.get("higher_is_better", True))),
                             ("gbstats_abs", lambda: gbstats_pair(kind, arms[0], arms[v], "absolute",
                                                                  not case.get("higher_is_better", True))),
                             ("spotify", lambda: spotify_pair(kind, arms[0], arms[v]))):
                try:
                    row[name] = fn()
                except Exception as e:  # noqa: BLE001 - a peer that refuses an input is reported, not fatal
                    errors.setdefault(name, f"{type(e).__name__}: {e}"[:200])
                    row[name] = None
            rows.append(row)
    return {"versions": _versions(), "rows": rows, "errors": errors}


def gbstats_loop(payload: dict) -> dict:
    """gbstats used as GrowthBook's runner uses it: per comparison, statistic objects, a frequentist
    TwoSidedTTest and an EffectBayesianABTest, ``compute_result()`` each. Median of ``repeats`` timed runs."""
    kind, n, s, ss = payload["kind"], payload["n"], payload["sum"], payload["sum_sq"]
    dtype = payload.get("difference_type", "absolute")

    def run() -> list[dict]:
        return [gbstats_pair(kind, (n[i][0], s[i][0], ss[i][0]), (n[i][1], s[i][1], ss[i][1]), dtype)
                for i in range(len(n))]

    run_times, cpu_times, out = [], [], []
    for _ in range(payload.get("repeats", 3)):
        t0, c0 = time.perf_counter(), time.process_time()
        out = run()
        run_times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return {"versions": _versions(), "seconds": statistics.median(run_times), "cpu": statistics.median(cpu_times),
            "runs": run_times, "results": out}


def mabwiser(payload: dict) -> dict:
    """MABWiser's textbook Thompson sampling or UCB1, learning after every user (``predict`` then
    ``partial_fit``), one replication at a time; each replication's seconds and final regret."""
    from mabwiser.mab import MAB, LearningPolicy
    p = np.asarray(payload["rates"])
    rounds, policy = payload["rounds"], payload["policy"]
    arms = list(range(p.size))
    seconds, cpu, regrets = [], [], []
    for r in range(payload["reps"]):
        t0, c0 = time.perf_counter(), time.process_time()
        rng = np.random.default_rng(1000 + r)
        lp = LearningPolicy.ThompsonSampling() if policy == "thompson" else LearningPolicy.UCB1(alpha=1.0)
        mab = MAB(arms=arms, learning_policy=lp, seed=r)
        rewards = (rng.random(p.size) < p).astype(int)
        mab.fit(decisions=arms, rewards=rewards)
        regret = float(np.sum(p.max() - p))
        for _ in range(rounds - p.size):
            arm = mab.predict()
            reward = int(rng.random() < p[arm])
            mab.partial_fit(decisions=[arm], rewards=[reward])
            regret += p.max() - p[arm]
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        regrets.append(regret)
    return {"versions": _versions(), "seconds": seconds, "cpu": cpu, "regret": regrets}


def main() -> None:
    task = sys.argv[1]
    payload = json.load(sys.stdin)
    out = {"agreement": agreement, "gbstats": gbstats_loop, "mabwiser": mabwiser}[task](payload)
    json.dump(out, sys.stdout, default=lambda x: None if isinstance(x, float) and math.isnan(x) else float(x))


if __name__ == "__main__":
    main()
