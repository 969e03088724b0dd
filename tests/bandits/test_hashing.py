"""Sticky assignment reproduces GrowthBook's public SDK test cases exactly, scalar and vectorised."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.bandits.hashing import (assign, bucket_ranges, choose_variation, equal_weights, fnv1a32, gb_hash,
                                       hash_keys, in_namespace)
from workbench.errors import InputError

CASES = json.loads((Path(__file__).parent / "data" / "growthbook_cases.json").read_text(encoding="utf-8"))


def test_fnv1a32_matches_published_reference_values():
    # Landon Curt Noll's FNV-1a 32-bit test vectors (ASCII strings: bytes == UTF-16 units).
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


@pytest.mark.parametrize("seed,value,version,expected", CASES["hash"])
def test_growthbook_hash_cases(seed, value, version, expected):
    assert gb_hash(seed, value, version) == expected
    if expected is None:
        with pytest.raises(InputError, match="hash version"):
            hash_keys([value], seed=seed, version=version)
    else:
        # The vectorised kernel gives the very same float.
        assert hash_keys([value], seed=seed, version=version)[0] == expected


@pytest.mark.parametrize("name,args,expected", CASES["getBucketRange"], ids=[c[0] for c in CASES["getBucketRange"]])
def test_growthbook_bucket_range_cases(name, args, expected):
    n, coverage, weights = args
    got = bucket_ranges(n, coverage, weights)
    np.testing.assert_allclose(np.array(got, dtype=float).reshape(-1, 2), np.array(expected, dtype=float), atol=1e-12)


@pytest.mark.parametrize("name,n,ranges,expected", CASES["chooseVariation"], ids=[c[0] for c in CASES["chooseVariation"]])
def test_growthbook_choose_variation_cases(name, n, ranges, expected):
    assert choose_variation(n, ranges) == expected


@pytest.mark.parametrize("version", [1, 2])
def test_kernel_range_lookup_equals_choose_variation(version):
    # The kernel's range lookup agrees with GrowthBook's chooseVariation on every range set of the
    # cases (gaps from reduced coverage, zero-width ranges) for many keys.
    keys = [f"key-{i}" for i in range(3000)]
    for _, _, ranges, _ in CASES["chooseVariation"]:
        rs = [tuple(r) for r in ranges]
        a = assign(keys, seed="ranges", ranges=rs, hash_version=version)
        assert a.variation.tolist() == [choose_variation(b, rs) for b in a.bucket]


@pytest.mark.parametrize("name,user,namespace,expected", CASES["inNamespace"])
def test_growthbook_namespace_cases(name, user, namespace, expected):
    assert in_namespace(user, tuple(namespace)) is expected


@pytest.mark.parametrize("n,expected", CASES["getEqualWeights"])
def test_growthbook_equal_weights(n, expected):
    np.testing.assert_allclose(equal_weights(n), expected, atol=1e-8)


@pytest.mark.parametrize("name,version,seed,key,ranges,bucket,variation", CASES["experimentBuckets"],
                         ids=[c[0] for c in CASES["experimentBuckets"]])
def test_growthbook_experiment_assignments(name, version, seed, key, ranges, bucket, variation):
    a = assign([key], seed=seed, ranges=[tuple(r) for r in ranges], hash_version=version)
    assert a.bucket[0] == bucket
    assert a.variation[0] == variation


def test_weights_path_equals_ranges_path():
    keys = [f"u{i}" for i in range(1000)]
    by_weights = assign(keys, seed="exp", weights=[0.3334, 0.3333, 0.3333])
    by_ranges = assign(keys, seed="exp", ranges=bucket_ranges(3, 1.0, [0.3334, 0.3333, 0.3333]))
    np.testing.assert_array_equal(by_weights.variation, by_ranges.variation)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20),
       seed=st.text(max_size=10), version=st.sampled_from([1, 2]))
def test_vectorised_kernel_equals_scalar_reference_for_any_unicode(keys, seed, version):
    # Any Unicode text, including astral-plane characters (UTF-16 surrogate pairs) and NULs.
    try:
        [k.encode("utf-8") for k in keys]
    except UnicodeEncodeError:  # lone surrogates cannot be stored in Arrow strings
        return
    got = hash_keys(keys, seed=seed, version=version)
    assert got.tolist() == [gb_hash(seed, k, version) for k in keys]


def test_accepts_arrow_pandas_numpy_and_integer_keys():
    expected = [gb_hash("s", str(i), 2) for i in range(5)]
    assert hash_keys(list(range(5)), seed="s").tolist() == expected
    assert hash_keys(np.arange(5), seed="s").tolist() == expected
    assert hash_keys(pd.Series([str(i) for i in range(5)]), seed="s").tolist() == expected
    assert hash_keys(pa.chunked_array([["0", "1"], ["2", "3", "4"]]), seed="s").tolist() == expected
    sliced = pa.array([str(i) for i in range(10)]).slice(3, 2)
    assert hash_keys(sliced, seed="s").tolist() == [gb_hash("s", "3", 2), gb_hash("s", "4", 2)]


def test_missing_and_empty_keys_are_not_assigned():
    a = assign(["x", None, "", "y"], seed="s", n_variations=2)
    assert a.variation[1] == -1 and a.variation[2] == -1
    assert np.isnan(a.bucket[1]) and np.isnan(a.bucket[2])
    assert a.variation[0] in (0, 1) and a.variation[3] in (0, 1)


def test_raising_coverage_never_moves_an_assigned_user():
    keys = [f"user-{i}" for i in range(20000)]
    low = assign(keys, seed="exp", weights=[0.5, 0.5], coverage=0.3)
    high = assign(keys, seed="exp", weights=[0.5, 0.5], coverage=0.9)
    kept = low.variation >= 0
    assert kept.sum() > 0.25 * len(keys)
    np.testing.assert_array_equal(low.variation[kept], high.variation[kept])
    assert (high.variation >= 0).mean() == pytest.approx(0.9, abs=0.01)


def test_split_follows_weights():
    keys = pa.array([f"k{i}" for i in range(200_000)])
    counts = assign(keys, seed="split", weights=[0.2, 0.3, 0.5]).counts()
    shares = np.array([counts[0], counts[1], counts[2]]) / 200_000
    np.testing.assert_allclose(shares, [0.2, 0.3, 0.5], atol=0.005)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(InputError, match="weights must be finite"):
        assign(["a"], seed="s", weights=[0.5, float("nan")])
    with pytest.raises(InputError, match="give weights"):
        assign(["a"], seed="s")
    with pytest.raises(InputError, match="strings or integers"):
        assign([1.5, 2.5], seed="s", n_variations=2)
