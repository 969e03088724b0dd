"""Simulate fixed A/B splits against Thompson sampling and UCB1 on known conversion rates.

Each replication plays ``rounds`` users one at a time: the policy picks an arm, the user converts
with that arm's true rate, and the policy learns (every ``batch`` users, like a serving system that
refreshes its weights; ``batch=1`` is the textbook per-user update). Policies follow the same
rules as the allocation plans (:mod:`.policies`): an exploration floor (each arm is picked at
random with probability ``floor``) and a warm-up (equal split until every arm has ``min_units``).
Replications run in parallel in compiled code, each with its own seeded random stream.

Recorded at checkpoints, per replication: cumulative regret (sum of best rate minus chosen
arm's rate), conversions, traffic per arm, and the posterior probability that each arm is best
(normal approximation of the Beta posteriors) — from which the *time to a correct decision* is
the first checkpoint where the truly best arm has P(best) >= ``decision_prob``.

>>> sim = simulate_policies([0.04, 0.05], rounds=20_000, reps=20, seed=1)
>>> s = sim.summary().set_index("policy")
>>> bool(s.loc["thompson", "regret"] < s.loc["ab", "regret"])
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..config import get_settings
from ..display import ResultMixin
from ..errors import InputError, Problem

__all__ = ["SIM_POLICIES", "SimulationResult", "simulate_policies"]

SIM_POLICIES: dict[str, int] = {"ab": 0, "thompson": 1, "ucb": 2}


# --- a small, fast random number generator per replication ----------------------------------
# xoshiro256** (Blackman & Vigna 2018) seeded by splitmix64; normals by Marsaglia & Tsang's ziggurat
# (2000); gammas by Marsaglia & Tsang (2000); Beta(a, b) = X / (X + Y). State lives in a uint64[4] array.

_U53 = 1.0 / 9007199254740992.0


@numba.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True)
def _seed_state(seed: int) -> NDArray:
    state = np.zeros(4, dtype=np.uint64)
    z = np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15)
    for i in range(4):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        x = z
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        state[i] = x ^ (x >> np.uint64(31))
    return state


@numba.njit(cache=True, inline="always")
def _next(st: NDArray) -> np.uint64:
    result = _rotl(st[1] * np.uint64(5), 7) * np.uint64(9)
    t = st[1] << np.uint64(17)
    st[2] ^= st[0]
    st[3] ^= st[1]
    st[1] ^= st[2]
    st[0] ^= st[3]
    st[2] ^= t
    st[3] = _rotl(st[3], 45)
    return result


@numba.njit(cache=True, inline="always")
def _uniform(st: NDArray) -> float:
    return (_next(st) >> np.uint64(11)) * _U53


def _ziggurat_tables() -> tuple[NDArray, NDArray, NDArray]:
    """Marsaglia & Tsang's (2000) 128-layer ziggurat for the standard normal."""
    kn = np.zeros(128)
    wn = np.zeros(128)
    fn = np.zeros(128)
    dn = tn = 3.442619855899
    vn = 9.91256303526217e-3
    m1 = 2147483648.0
    q = vn / np.exp(-0.5 * dn * dn)
    kn[0], kn[1] = (dn / q) * m1, 0.0
    wn[0], wn[127] = q / m1, dn / m1
    fn[0], fn[127] = 1.0, np.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = np.sqrt(-2.0 * np.log(vn / dn + np.exp(-0.5 * dn * dn)))
        kn[i + 1] = (dn / tn) * m1
        tn = dn
        fn[i] = np.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_ZKN, _ZWN, _ZFN = _ziggurat_tables()
_ZR = 3.442619855899


@numba.njit(cache=True)
def _normal(st: NDArray) -> float:
    """Standard normal by the ziggurat; layer and abscissa come from separate bits of one 64-bit draw."""
    while True:
        bits = _next(st)
        iz = int(bits & np.uint64(127))
        hz = np.int64(np.int32(np.uint32(bits >> np.uint64(32))))
        if abs(hz) < _ZKN[iz]:
            return hz * _ZWN[iz]
        x = hz * _ZWN[iz]
        if iz == 0:                                   # the tail beyond r
            while True:
                xt = -np.log(_uniform(st)) / _ZR
                yt = -np.log(_uniform(st))
                if yt + yt >= xt * xt:
                    break
            return _ZR + xt if hz > 0 else -_ZR - xt
        if _ZFN[iz] + _uniform(st) * (_ZFN[iz - 1] - _ZFN[iz]) < np.exp(-0.5 * x * x):
            return x


@numba.njit(cache=True)
def _gamma(st: NDArray, shape: float) -> float:
    boost = 1.0
    if shape < 1.0:                      # Gamma(a) = Gamma(a + 1) · U^(1/a)
        boost = _uniform(st) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = _normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(st)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2 or np.log(u) < 0.5 * x2 + d * (1.0 - v + np.log(v)):
            return d * v * boost


@numba.njit(cache=True, inline="always")
def _beta(st: NDArray, a: float, b: float) -> float:
    x = _gamma(st, a)
    y = _gamma(st, b)
    return x / (x + y)


@numba.njit(cache=True)
def _choose(code: int, k: int, s: NDArray, f: NDArray, n: NDArray, prior_a: float, prior_b: float,
            cum_w: NDArray, floor: float, min_units: float, st: NDArray) -> int:
    if code == 0:
        u = _uniform(st)
        for i in range(k):
            if u < cum_w[i]:
                return i
        return k - 1
    warm = False
    for i in range(k):
        if n[i] < min_units:
            warm = True
    if warm or (floor > 0.0 and _uniform(st) < k * floor):
        return min(int(_uniform(st) * k), k - 1)
    best = 0
    if code == 1:
        top = -1.0
        for i in range(k):
            x = _beta(st, prior_a + s[i], prior_b + f[i])
            if x > top:
                top = x
                best = i
        return best
    total = 0.0
    for i in range(k):
        total += n[i]
    log_total = np.log(max(total, 1.0))
    top = -np.inf
    for i in range(k):
        if n[i] == 0:
            return i
        idx = s[i] / n[i] + np.sqrt(2.0 * log_total / n[i])
        if idx > top:
            top = idx
            best = i
    return best


@numba.njit(cache=True, inline="always")
def _observe(arm: int, success: bool, s: NDArray, f: NDArray, n: NDArray, ps: NDArray, pf: NDArray,
             since: int, batch: int) -> int:
    """Count one outcome in the pending batch; every ``batch`` outcomes the posterior counts move."""
    if success:
        ps[arm] += 1
    else:
        pf[arm] += 1
    since += 1
    if since == batch:
        since = 0
        for i in range(s.shape[0]):
            s[i] += ps[i]
            f[i] += pf[i]
            n[i] += ps[i] + pf[i]
            ps[i] = 0.0
            pf[i] = 0.0
    return since


@numba.njit(cache=True, parallel=True)
def _simulate(p: NDArray, code: int, rounds: int, reps: int, batch: int, floor: float, min_units: float,
              prior_a: float, prior_b: float, ab_weights: NDArray, checkpoints: NDArray, decision_draws: int,
              seed: int, regret: NDArray, reward: NDArray, pulls: NDArray, p_best: NDArray) -> None:
    k = p.shape[0]
    n_cp = checkpoints.shape[0]
    best_arm = 0
    for i in range(k):
        if p[i] > p[best_arm]:
            best_arm = i
    cum_w = np.cumsum(ab_weights / ab_weights.sum())
    for r in numba.prange(reps):
        st = _seed_state(seed * 1000003 + r)
        s = np.zeros(k)          # successes the policy has learnt from
        f = np.zeros(k)
        n = np.zeros(k)
        ps = np.zeros(k)         # pending (not yet learnt) outcomes
        pf = np.zeros(k)
        chosen = np.zeros(k)
        reg = 0.0
        conv = 0.0
        ci = 0
        since = 0
        for t in range(rounds):
            arm = _choose(code, k, s, f, n, prior_a, prior_b, cum_w, floor, min_units, st)
            chosen[arm] += 1
            reg += p[best_arm] - p[arm]
            success = _uniform(st) < p[arm]
            conv += success
            since = _observe(arm, success, s, f, n, ps, pf, since, batch)
            if ci < n_cp and t + 1 == checkpoints[ci]:
                regret[r, ci] = reg
                reward[r, ci] = conv
                for i in range(k):
                    pulls[r, ci, i] = chosen[i]
                # P(each arm is best) from everything observed so far (normal approximation).
                wins = np.zeros(k)
                for _ in range(decision_draws):
                    top = -np.inf
                    win = 0
                    for i in range(k):
                        a = prior_a + s[i] + ps[i]
                        b = prior_b + f[i] + pf[i]
                        m = a / (a + b)
                        x = m + np.sqrt(m * (1 - m) / (a + b + 1)) * _normal(st)
                        if x > top:
                            top = x
                            win = i
                    wins[win] += 1
                for i in range(k):
                    p_best[r, ci, i] = wins[i] / decision_draws
                ci += 1


@dataclass(frozen=True)
class SimulationResult(ResultMixin):
    """Per policy × replication × checkpoint: cumulative regret, conversions, traffic and P(best)."""

    true_rates: tuple[float, ...]
    variants: tuple[str, ...]
    policies: tuple[str, ...]
    rounds: int
    reps: int
    batch: int
    floor: float
    min_units: float
    decision_prob: float
    checkpoints: NDArray[np.int64] = field(repr=False)
    regret: NDArray[np.float64] = field(repr=False)        # (policy, rep, checkpoint)
    reward: NDArray[np.float64] = field(repr=False)
    pulls: NDArray[np.float64] = field(repr=False)         # (policy, rep, checkpoint, arm)
    p_best: NDArray[np.float64] = field(repr=False)        # (policy, rep, checkpoint, arm)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.true_rates))

    def decision_rounds(self) -> NDArray[np.float64]:
        """(policy, rep): first checkpoint round where the best arm has P(best) >= decision_prob (NaN if never)."""
        hit = self.p_best[..., self.best_arm] >= self.decision_prob
        first = np.where(hit.any(axis=2), hit.argmax(axis=2), -1)
        return np.where(first >= 0, self.checkpoints[np.maximum(first, 0)], np.nan).astype(float)

    def wrong_decisions(self) -> NDArray[np.float64]:
        """(policy,) share of replications where another arm reached decision_prob first."""
        others = np.delete(self.p_best, self.best_arm, axis=3).max(axis=3) >= self.decision_prob
        first_wrong = np.where(others.any(axis=2), others.argmax(axis=2), np.iinfo(np.int64).max)
        right = self.p_best[..., self.best_arm] >= self.decision_prob
        first_right = np.where(right.any(axis=2), right.argmax(axis=2), np.iinfo(np.int64).max)
        return ((first_wrong < first_right) & (first_wrong < np.iinfo(np.int64).max)).mean(axis=1)

    def setup_sentence(self) -> str:
        """What a decision means and how the policies ran, in words (from this result's own settings).

        >>> r = SimulationResult((0.1, 0.2), ("a", "b"), ("thompson",), 1000, 2, 100, 0.05, 100, 0.95,
        ...                      np.zeros(1, np.int64), *(np.zeros((1, 1, 1)),) * 2, *(np.zeros((1, 1, 1, 2)),) * 2)
        >>> r.setup_sentence()
        'A decision = P(best) ≥ 95% for the truly best arm; exploration floor 5%, warm-up 100 units per arm; the bandits update their weights after every 100 users.'
        """
        from ..display import fmt_pct
        every = "after every user" if self.batch == 1 else f"after every {self.batch:,} users"
        return (f"A decision = P(best) ≥ {fmt_pct(self.decision_prob, 0)} for the truly best arm; exploration floor "
                f"{fmt_pct(self.floor, 0)}, warm-up {self.min_units:g} unit{'s' if self.min_units != 1 else ''} per "
                f"arm; the bandits update their weights {every}.")

    def summary(self) -> pd.DataFrame:
        """One row per policy: final regret (mean ± standard error), conversion rate, traffic to the
        best arm, time to a correct decision (median over replications) and how often it is reached."""
        rows = []
        dec = self.decision_rounds()
        wrong = self.wrong_decisions()
        for i, pol in enumerate(self.policies):
            final = self.regret[i, :, -1]
            d = dec[i]
            rows.append({
                "policy": pol, "regret": float(final.mean()), "regret_se": float(final.std(ddof=1) / np.sqrt(self.reps))
                if self.reps > 1 else float("nan"),
                "conversion_rate": float(self.reward[i, :, -1].mean() / self.checkpoints[-1]),
                "best_arm_share": float(self.pulls[i, :, -1, self.best_arm].mean() / self.checkpoints[-1]),
                "decided_share": float(np.isfinite(d).mean()),
                "median_rounds_to_decision": float(np.nanmedian(d)) if np.isfinite(d).any() else float("nan"),
                "wrong_decision_share": float(wrong[i]),
                "seconds": self.seconds.get(pol, float("nan")),
            })
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Tidy curves: policy × checkpoint with mean regret (and 10–90 % band), cumulative traffic
        share per arm, and mean P(best) of the truly best arm."""
        rows = []
        for i, pol in enumerate(self.policies):
            reg = self.regret[i]
            lo, hi = np.quantile(reg, [0.1, 0.9], axis=0)
            share = self.pulls[i].mean(axis=0) / self.checkpoints[:, None]
            pb = self.p_best[i, :, :, self.best_arm].mean(axis=0)
            for c, rnd in enumerate(self.checkpoints):
                row = {"policy": pol, "round": int(rnd), "regret": float(reg[:, c].mean()), "regret_lo": float(lo[c]),
                       "regret_hi": float(hi[c]), "p_best_true": float(pb[c])}
                row.update({f"share_{v}": float(share[c, k]) for k, v in enumerate(self.variants)})
                rows.append(row)
        return pd.DataFrame(rows)

    def traffic(self) -> pd.DataFrame:
        """Long table of the share of traffic each arm received between checkpoints (for charts)."""
        rows = []
        for i, pol in enumerate(self.policies):
            cum = self.pulls[i].mean(axis=0)
            window = np.diff(np.vstack([np.zeros(len(self.variants)), cum]), axis=0)
            width = np.diff(np.concatenate([[0], self.checkpoints]))
            for c, rnd in enumerate(self.checkpoints):
                for k, v in enumerate(self.variants):
                    rows.append({"policy": pol, "round": int(rnd), "variant": v,
                                 "share": float(window[c, k] / width[c])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, object]:
        return {"true_rates": list(self.true_rates), "variants": list(self.variants), "rounds": self.rounds,
                "reps": self.reps, "batch": self.batch, "floor": self.floor, "min_units": self.min_units,
                "decision_prob": self.decision_prob, "summary": self.summary().to_dict(orient="records")}


def simulate_policies(true_rates: Sequence[float], *, policies: Sequence[str] = ("ab", "thompson", "ucb"),
                      rounds: int = 100_000, reps: int = 200, batch: int = 1, floor: float | None = None,
                      min_units: float | None = None, prior: tuple[float, float] = (1.0, 1.0),
                      ab_weights: Sequence[float] | None = None, checkpoints: int = 100,
                      decision_prob: float | None = None, decision_draws: int = 200, seed: int | None = None,
                      variants: Sequence[str] | None = None) -> SimulationResult:
    """Simulate each policy on the same true rates (see the module docstring)."""
    settings = get_settings()
    floor = settings.bandit.min_exploration_share if floor is None else float(floor)
    min_units = settings.bandit.min_units_per_arm if min_units is None else float(min_units)
    decision_prob = settings.bandit.decision_prob if decision_prob is None else float(decision_prob)
    seed = settings.seed if seed is None else int(seed)
    p = np.asarray(true_rates, dtype=np.float64)
    k = p.size
    problems = []
    if k < 2 or not np.all((p >= 0) & (p <= 1)):
        problems.append(Problem("blocked", "bad_rates", "need at least two true rates, each in [0, 1]",
                                column="rates", value=list(true_rates)))
    unknown = [x for x in policies if x not in SIM_POLICIES]
    if unknown:
        problems.append(Problem("blocked", "bad_policy", f"unknown policy; choose from {', '.join(SIM_POLICIES)}",
                                column="policies", value=unknown[0]))
    if rounds < 1 or reps < 1 or batch < 1 or checkpoints < 1:
        problems.append(Problem("blocked", "bad_setting", "rounds, reps, batch and checkpoints must be >= 1"))
    if not 0 <= floor * k <= 1:
        problems.append(Problem("blocked", "bad_floor", f"exploration floor × {k} arms must be <= 1", column="floor",
                                value=floor))
    w = np.asarray(ab_weights if ab_weights is not None else np.full(k, 1.0 / k), dtype=np.float64)
    if w.size != k or np.any(w < 0) or w.sum() <= 0:
        problems.append(Problem("blocked", "bad_weights", "A/B weights need one non-negative weight per arm",
                                column="ab_weights"))
    if problems:
        raise InputError(problems)
    cps = np.unique(np.linspace(rounds / checkpoints, rounds, checkpoints).round().astype(np.int64))
    cps = cps[cps >= 1]
    n_pol = len(policies)
    regret = np.zeros((n_pol, reps, cps.size))
    reward = np.zeros((n_pol, reps, cps.size))
    pulls = np.zeros((n_pol, reps, cps.size, k))
    pbest = np.zeros((n_pol, reps, cps.size, k))
    seconds = {}
    for i, pol in enumerate(policies):
        t0 = time.perf_counter()
        _simulate(p, SIM_POLICIES[pol], int(rounds), int(reps), int(batch), floor, min_units, float(prior[0]),
                  float(prior[1]), w, cps, int(decision_draws), seed + 7919 * i, regret[i], reward[i], pulls[i],
                  pbest[i])
        seconds[pol] = time.perf_counter() - t0
    names = tuple(variants) if variants is not None else tuple(f"arm{i}" for i in range(k))
    return SimulationResult(true_rates=tuple(p.tolist()), variants=names, policies=tuple(policies), rounds=int(rounds),
                            reps=int(reps), batch=int(batch), floor=floor, min_units=min_units,
                            decision_prob=decision_prob, checkpoints=cps, regret=regret, reward=reward, pulls=pulls,
                            p_best=pbest, seconds=seconds)
