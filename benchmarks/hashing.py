"""Benchmark: GrowthBook-compatible hash assignment throughput (target >= 5 million keys per second).

Measures the vectorised kernel on 10 million keys held as an Arrow string array (how keys arrive
from Parquet, DuckDB or pandas 3 string columns), the same starting from a Python list of str
(conversion included), and the baseline: the per-key pure-Python reference implementation, on a
subset. All in the same run, every side timed the same way (median of ``--repeats`` runs); the
kernel's results are checked against the reference.

    .venv/bin/python benchmarks/hashing.py [--keys 10000000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pyarrow as pa

from _bench import load_note, timed

from workbench.bandits.hashing import assign, bucket_ranges, choose_variation, gb_hash


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=10_000_000)
    ap.add_argument("--baseline-keys", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs on every side (median)")
    args = ap.parse_args()
    keys_list = [f"user-{i:012d}" for i in range(args.keys)]
    keys = pa.array(keys_list, type=pa.large_string())
    weights = [0.2, 0.3, 0.5]
    assign(keys[:1000], seed="exp-42", weights=weights)                        # compile / load the cache
    print(f"hash assignment, {args.keys:,} keys, 3 variants, hash v2; every time is the median of "
          f"{args.repeats} runs ({load_note()})")
    t = timed(lambda: assign(keys, seed="exp-42", weights=weights, hash_version=2), args.repeats)
    result, rate = t.result, args.keys / t.wall
    list_rate = args.keys / timed(lambda: assign(keys_list, seed="exp-42", weights=weights, hash_version=2),
                                  args.repeats).wall
    t1 = timed(lambda: assign(keys, seed="exp-42", weights=weights, hash_version=1), args.repeats)
    v1, v1_rate = t1.result, args.keys / t1.wall

    n = args.baseline_keys
    ranges = bucket_ranges(3, 1.0, weights)
    tb = timed(lambda: [choose_variation(gb_hash("exp-42", k, 2), ranges) for k in keys_list[:n]], args.repeats)
    ref, base_rate = tb.result, n / tb.wall
    assert result.variation[:n].tolist() == ref, "kernel disagrees with the reference"
    assert v1.bucket[123] == gb_hash("exp-42", keys_list[123], 1)
    print(f"  kernel, Arrow strings (v2): {rate / 1e6:8.1f} M keys/s   (target >= 5 M/s: "
          f"{'PASS' if rate >= 5e6 else 'FAIL'})")
    print(f"  kernel, Arrow strings (v1): {v1_rate / 1e6:8.1f} M keys/s")
    print(f"  from a Python list of str : {list_rate / 1e6:8.1f} M keys/s (includes building the Arrow array)")
    print(f"  baseline, pure Python     : {base_rate / 1e6:8.3f} M keys/s on {n:,} keys")
    print(f"  ratio kernel / baseline   : {rate / base_rate:8.0f}x")
    shares = np.bincount(result.variation, minlength=3) / args.keys
    print(f"  shares {np.round(shares, 4).tolist()} for weights {weights}  [{load_note()}]")


if __name__ == "__main__":
    main()
