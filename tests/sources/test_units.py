"""Unit-level tables: metrics, covariates and segments found from the columns; bad rows located."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import InputError
from workbench.sources.units import read_units


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2, 10, n)
    return pd.DataFrame({
        "user_key": [f"{i:016x}" for i in range(n)],
        "variant": np.where(np.arange(n) % 2, "treatment", "control"),
        "device": rng.choice(["app", "web"], n),
        "purchased": rng.integers(0, 2, n),
        "revenue": pre * 0.5 + rng.normal(0, 3, n),
        "pre_revenue": pre,
    })


def test_reads_and_matches_pandas():
    df = table()
    df.to_csv("u.csv", index=False)
    d = read_units("u.csv")
    assert d.variants == ("control", "treatment") and d.dims == ("device",)
    s = d.stats("revenue")
    g = df.groupby("variant")
    np.testing.assert_allclose(s.mean, g["revenue"].mean().loc[["control", "treatment"]])
    np.testing.assert_allclose(s.var, g["revenue"].var().loc[["control", "treatment"]])
    np.testing.assert_allclose(s.xy_cov, [np.cov(x["pre_revenue"], x["revenue"])[0, 1] for _, x in g])
    assert d.metric("purchased").kind == "proportion"
    assert d.primary.name == "purchased"


def test_parquet_equals_csv():
    df = table()
    df.to_csv("u.csv", index=False)
    df.to_parquet("u.parquet")
    a, b = read_units("u.csv"), read_units("u.parquet")
    np.testing.assert_allclose(a.stats("revenue").sum, b.stats("revenue").sum)


def test_missing_values_are_located():
    df = table(10)
    df.loc[3, "revenue"] = np.nan
    df.to_csv("u.csv", index=False)
    d = read_units("u.csv")
    assert [str(p) for p in d.problems] == [
        "u.csv: row 4 (line 5), column revenue: revenue: missing value (empty or NaN) (1 row like this)"]


def test_duplicate_unit():
    df = table(10)
    df.loc[7, "user_key"] = df.loc[2, "user_key"]
    df.to_parquet("u.parquet")
    d = read_units("u.parquet")
    assert [str(p) for p in d.problems] == [
        "u.parquet: row 3, column user_key, value '0000000000000002': unit '0000000000000002' appears in more than "
        "one row (rows 3, 8); 1 units like this"]


def test_missing_variant_column_and_single_arm():
    table(10).drop(columns="variant").to_csv("u.csv", index=False)
    with pytest.raises(InputError, match="required column 'variant' is missing"):
        read_units("u.csv")
    df = table(10)
    df["variant"] = "control"
    df.to_csv("u.csv", index=False)
    assert "at least 2 variants are needed; found 1" in str(read_units("u.csv").problems[0])


def test_several_experiments_are_refused():
    df = table(10)
    df["experiment_id"] = ["a", "b"] * 5
    df.to_csv("u.csv", index=False)
    with pytest.raises(InputError, match=r"the table holds 2 experiments \(a, b\); give one experiment per file"):
        read_units("u.csv")


@pytest.mark.parametrize("content, message", [
    (b"", "u.csv: the file is empty"),
    (b"variant;revenue\ncontrol;1\n",
     "u.csv: line 1: the file looks separated by ';' (semicolon); the workbench reads comma-separated files — re-export it "
     "with ',' as the delimiter"),
    ("variant,revenue\ncontr\u00f4le,1\n".encode("latin-1"),
     "u.csv: line 2: the file is not UTF-8 text (byte 0xf4 at offset 21); save it as UTF-8 (CSV UTF-8 in Excel)"),
    (b"variant,revenue\n", "u.csv: the file has a header but no data rows"),
])
def test_unreadable_files(content, message):
    Path("u.csv").write_bytes(content)
    with pytest.raises(InputError) as err:
        read_units("u.csv")
    assert str(err.value) == message
