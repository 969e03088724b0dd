"""The one results reader: format by content, form by columns, analyze(path), the id rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from workbench.analysis import analyze
from workbench.errors import InputError
from workbench.ids import id_from_name, is_safe_id, safe_id
from workbench.sources.detect import input_form, read_results
from workbench.sources.textfile import file_format

AB = "variant,users,conversions\ncontrol,10000,1200\ntreatment,10050,1320\n"


def test_analyze_takes_a_path_like_the_cli(tmp_path):
    f = tmp_path / "ab.csv"
    f.write_text(AB)
    from_str, from_path = analyze(str(f)), analyze(f)
    from_data = analyze(read_results(f))
    lifts = [r.metrics[0].comparisons[0].lift_abs for r in (from_str, from_path, from_data)]
    assert lifts[0] == lifts[1] == lifts[2] == pytest.approx(1320 / 10050 - 0.12)
    with pytest.raises(TypeError, match="ExperimentData or the path of a results file"):
        analyze(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="file not found"):
        analyze(tmp_path / "missing.csv")


def test_format_is_recognised_by_content(tmp_path):
    frame = pd.DataFrame({"variant": ["control", "treatment"], "users": [10000, 10050], "conversions": [1200, 1320]})
    frame.to_parquet(tmp_path / "really_parquet.csv")
    (tmp_path / "not.parquet").write_text(AB)
    assert file_format(tmp_path / "really_parquet.csv") == "parquet"
    d = read_results(tmp_path / "really_parquet.csv")
    assert d.units().tolist() == [10000, 10050] and d.meta["format"] == "aggregated_parquet"
    with pytest.raises(InputError, match="not a Parquet file"):
        read_results(tmp_path / "not.parquet")


@pytest.mark.parametrize("header, form", [
    ("variant,users,conversions", "aggregated"),
    ("variant,units,conversions", "aggregated"),
    ("variant,n,conversions", "aggregated"),
    ("variant,conversions", "aggregated"),              # refused by the reader with the missing column named
    ("unit_id,variant,conversions", "units"),           # one row per unit: a unit-level table
    ("variant,purchased,revenue", "units"),
])
def test_the_form_is_judged_from_the_header(tmp_path, header, form):
    f = tmp_path / "x.csv"
    f.write_text(header + "\n" + ",".join("1" for _ in header.split(",")) + "\n")
    assert input_form(f) == form


def test_a_conversions_file_without_users_is_not_one_user_per_row(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("variant,conversions\ncontrol,120\nb,130\n")
    with pytest.raises(InputError) as err:
        read_results(f)
    (p,) = err.value.problems
    assert p.code == "missing_column" and p.column == "users" and p.file == str(f)


def test_counts_above_2_53_are_refused_exactly(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("variant,users,conversions\ncontrol,9007199254740992,10\nb,9007199254740993,12\n")
    d = read_results(f)
    (p,) = [p for p in d.problems if p.level == "blocked"]
    assert p.row == 2 and p.column == "users" and p.value == "9007199254740993" and "2^53" in p.message


@pytest.mark.parametrize("bad", ["../../etc", "a/b", "", "-x", "a..b", "x" * 81, "é"])
def test_one_id_rule(bad):
    assert not is_safe_id(bad)
    with pytest.raises(InputError, match="not a valid experiment id"):
        safe_id(bad)
    assert is_safe_id(id_from_name(bad))


def test_the_registry_refuses_a_malformed_id(tmp_path):
    from workbench.lifecycle.registry import Registry
    reg = Registry(tmp_path / "wb.duckdb", lock_timeout=5)
    with pytest.raises(InputError, match="not a valid experiment id"):
        reg.get("../../etc")


def test_path_of_the_sample_files_exist():
    root = Path(__file__).resolve().parents[2] / "data" / "samples"
    assert read_results(root / "ab_results.csv").dims == ("segment",)


def test_a_unit_table_line_beyond_the_engine_limit_is_one_clear_line(tmp_path):
    f = tmp_path / "units.csv"
    f.write_text("unit_id,variant,purchased\nu1,control,1\nu2,b,0\nu3," + "x" * 3_000_000 + ",1\n")
    with pytest.raises(InputError) as err:
        read_results(f)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(f)) and "too long" in text and len(text) < 400
