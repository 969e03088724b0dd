"""The benchmarks' shared helpers: the 'same regret' check must be able to fail, and timing is by medians."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _bench import equivalent, load_note, timed  # noqa: E402


def test_equivalence_check_can_fail_and_pass():
    rng = np.random.default_rng(20)
    ours = rng.normal(82.0, 20.0, 200)
    same = rng.normal(82.0, 20.0, 200)
    worse = rng.normal(100.0, 20.0, 200)
    few = rng.normal(82.0, 20.0, 3)
    assert equivalent(ours, same, 0.15)[3] == "same"
    lo, hi, _, verdict = equivalent(ours, worse, 0.15)
    assert verdict == "DIFFERENT" and lo > 0
    assert equivalent(ours, few, 0.15)[3] == "inconclusive"   # three replications prove nothing
    # the interval is the Welch interval of the difference (each side's own spread)
    lo, hi, bound, _ = equivalent([1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0], 0.5)
    assert (lo + hi) / 2 == 1.5 and bound == 1.0


def test_timed_takes_the_median_and_load_note_names_the_cores():
    calls = iter([0.0, 0.0, 0.0])
    t = timed(lambda: next(calls), 3)
    assert len(t.runs) == 3 and t.wall == sorted(t.runs)[1] and t.result == 0.0
    assert "cores" in load_note() and "load" in load_note()
