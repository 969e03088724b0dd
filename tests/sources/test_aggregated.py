"""Aggregated CSV: good input, and every kind of bad input with its exact message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.sources import read_aggregated

GOOD = "variant,users,conversions,guardrail_error,revenue_sum,revenue_sum_sq\n" \
       "control,10000,1200,35,52000.5,900000\ntreatment,10050,1320,33,56000,1000000\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Messages name the file as the user gave it; tests give a relative name."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str | bytes, name: str = "ab.csv") -> Path:
    (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return Path(name)


def messages(data) -> list[str]:
    return [str(p) for p in data.problems if p.level == "blocked"]


def test_good_file_reads_every_metric(tmp_path):
    d = read_aggregated(write(tmp_path, GOOD))
    assert d.variants == ("control", "treatment")
    assert [m.name for m in d.metrics] == ["conversion_rate", "guardrail_error", "revenue"]
    assert [m.role for m in d.metrics] == ["primary", "guardrail", "secondary"]
    assert not messages(d)
    s = d.stats("revenue")
    np.testing.assert_allclose(s.mean, [5.20005, 56000 / 10050])
    assert d.metric("guardrail_error").higher_is_better is False


def test_control_is_first_row_when_none_is_named(tmp_path):
    d = read_aggregated(write(tmp_path, "variant,users,conversions\nB,100,10\nA,100,12\n"))
    assert d.variants == ("B", "A")
    assert d.control_note == "no row is named 'control', so the first row ('B') is the control"


def test_control_named_with_other_case_and_order(tmp_path):
    d = read_aggregated(write(tmp_path, "variant,users,conversions\n treatment ,100,10\nControl,100,12\n"))
    assert d.variants == ("Control", "treatment")


def test_three_variants_and_segments(tmp_path):
    text = "variant,segment,users,conversions\n" + "\n".join(
        f"{v},{s},100,{10 + i}" for i, (v, s) in enumerate((v, s) for s in ["app", "web"] for v in ["control", "b", "c"]))
    d = read_aggregated(write(tmp_path, text + "\n"))
    assert d.variants == ("control", "b", "c") and d.dims == ("segment",)
    assert d.units().tolist() == [200, 200, 200]
    levels, s = d.stats_by("conversion_rate", "segment")
    assert levels == ["app", "web"] and s.sum.tolist() == [[10, 11, 12], [13, 14, 15]]


@pytest.mark.parametrize("text, expected", [
    ("variant,users,conversions\ncontrol,-5,0\ntreatment,100,10\n",
     "ab.csv: row 1 (line 2), column users, value -5: users must not be negative"),
    ("variant,users,conversions\ncontrol,0,0\ntreatment,100,10\n",
     "ab.csv: row 1 (line 2), column users, value 0: users must be greater than 0"),
    ("variant,users,conversions\ncontrol,100,-1\ntreatment,100,10\n",
     "ab.csv: row 1 (line 2), column conversions, value -1: conversions must not be negative"),
    ("variant,users,conversions\ncontrol,100,10\ntreatment,100,NaN\n",
     "ab.csv: row 2 (line 3), column conversions, value 'NaN': conversions: missing value (empty or NaN)"),
    ("variant,users,conversions\ncontrol,100,10\ntreatment,100,\n",
     "ab.csv: row 2 (line 3), column conversions, value '': conversions: missing value (empty or NaN)"),
    ("variant,users,conversions\ncontrol,1000,1200\ntreatment,1000,10\n",
     "ab.csv: row 1 (line 2), column conversions, value 1200: conversions (1200) exceed users (1000); "
     "conversions count converted users, at most one per user"),
    ("variant,users,conversions\ncontrol,100.5,10\ntreatment,100,10\n",
     "ab.csv: row 1 (line 2), column users, value '100.5': users: must be a whole number (a count)"),
    ("variant,users,conversions\ncontrol,lots,10\ntreatment,100,10\n",
     "ab.csv: row 1 (line 2), column users, value 'lots': users: not a number"),
    ("variant,users,conversions\ncontrol,100,10\ntreatment,100,10\ncontrol,100,11\n",
     "ab.csv: row 3 (line 4), column variant, value 'control': variant 'control' appears more than once "
     "(first at row 1)"),
    ("variant,users,conversions\ncontrol,100,10\n",
     "ab.csv: column variant: at least 2 variants are needed (a control and a treatment); found 1: 'control'"),
    ("variant,users,conversions\ncontrol,100,10\n,100,10\n",
     "ab.csv: row 2 (line 3), column variant, value '': the variant label is empty"),
    ("variant,users,conversions\ncontrol,100,10,7\ntreatment,100,10\n",
     "ab.csv: row 1 (line 2): expected 3 comma-separated fields, found 4"),
    ("variant,users,conversions,guardrail_error\ncontrol,100,10,101\ntreatment,100,10,1\n",
     "ab.csv: row 1 (line 2), column guardrail_error, value 101: guardrail_error (101) exceed users (100); "
     "guardrail columns count users with the event, at most one per user"),
    ("variant,users,conversions,revenue_sum,revenue_sum_sq\ncontrol,100,10,500,100\ntreatment,100,10,5,5\n",
     "ab.csv: row 1 (line 2), column revenue_sum_sq, value 100: inconsistent sums: revenue_sum_sq (100) is "
     "smaller than revenue_sum²/users (2500), which would mean a negative variance"),
])
def test_logic_problems_are_blocked_and_located(tmp_path, text, expected):
    d = read_aggregated(write(tmp_path, text))
    assert expected in messages(d)


def test_duplicate_variant_per_segment_is_fine_across_segments(tmp_path):
    text = "variant,segment,users,conversions\ncontrol,app,10,1\nb,app,10,1\ncontrol,web,10,1\nb,web,10,1\nb,web,10,2\n"
    d = read_aggregated(write(tmp_path, text))
    assert messages(d) == ["ab.csv: row 5 (line 6), column variant, value 'b': variant 'b' appears more than once "
                           "in segment 'web' (first at row 4)"]


def test_all_problems_are_reported_not_only_the_first(tmp_path):
    d = read_aggregated(write(tmp_path, "variant,users,conversions\ncontrol,-1,5\ntreatment,10,20\n"))
    assert len(messages(d)) == 2


@pytest.mark.parametrize("content, expected", [
    (b"", "ab.csv: the file is empty"),
    (b"   \n\n", "ab.csv: the file is empty"),
    (b"variant,users,conversions\n", "ab.csv: the file has a header but no data rows"),
    ("variant,users,conversions\ncontr\u00f4le,100,10\n".encode("latin-1"),
     "ab.csv: line 2: the file is not UTF-8 text (byte 0xf4 at offset 31); save it as UTF-8 (CSV UTF-8 in Excel)"),
    (b"variant;users;conversions\ncontrol;100;10\n",
     "ab.csv: line 1: the file looks separated by ';' (semicolon); the workbench reads comma-separated files "
     "\u2014 re-export it with ',' as the delimiter"),
    (b"variant\tusers\tconversions\ncontrol\t100\t10\n",
     "ab.csv: line 1: the file looks separated by '\\t' (tab); the workbench reads comma-separated files "
     "\u2014 re-export it with ',' as the delimiter"),
    (b"variant,users\ncontrol,100\ntreatment,100\n",
     "ab.csv: line 1, column conversions: required column 'conversions' is missing (the header has: variant, users)"),
    (b"variant,users,conversions,revenue_sum\ncontrol,1,1,1\nb,1,1,1\n",
     "ab.csv: line 1, column revenue_sum: column 'revenue_sum' needs its pair 'revenue_sum_sq'"),
])
def test_structural_problems_raise(tmp_path, monkeypatch, content, expected):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, content)
    with pytest.raises(InputError) as err:
        read_aggregated("ab.csv")
    assert str(err.value) == expected


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^nope.csv: file not found$"):
        read_aggregated("nope.csv")


def test_bom_is_accepted(tmp_path):
    d = read_aggregated(write(tmp_path, "\ufeff" + GOOD))
    assert d.variants == ("control", "treatment")


def test_unknown_explicit_control(tmp_path):
    with pytest.raises(InputError, match="the control 'x' is not a variant in the file"):
        read_aggregated(write(tmp_path, GOOD), control="x")
