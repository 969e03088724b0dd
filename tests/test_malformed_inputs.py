"""A corpus of malformed input files run through every command that reads one.

Every case is generated in tmp_path. Each must end the same way in every command: exit code 2,
exactly one ``error:`` line that names the file, no traceback, and no output file written (not even
a temporary one). A new reading command or a new kind of bad file is one more entry in a list below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
import yaml
from cli_runner import invoke, run_workbench

REPO = Path(__file__).resolve().parent.parent
OK = "variant,users,conversions\ncontrol,1000,100\nb,1000,120\n"


def _parquet(frame: pd.DataFrame) -> Callable[[Path], None]:
    return lambda p: frame.to_parquet(p, index=False)


def _text(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda p: p.write_bytes(text.encode(encoding))


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _truncated_parquet(p: Path) -> None:
    pd.DataFrame({"variant": ["control", "b"], "users": [10, 10], "conversions": [1, 2]}).to_parquet(p)
    p.write_bytes(p.read_bytes()[:60])


# name, file name, writer, a fragment the single error line must contain
RESULTS_CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("empty", "r.csv", _bytes(b""), "the file is empty"),
    ("blank lines", "r.csv", _bytes(b"\n \n\n"), "the file is empty"),
    ("binary garbage", "r.csv", _bytes(bytes(range(256)) * 8), "not UTF-8"),
    ("latin-1", "r.csv", _text("variant,users,conversions\ncontr\u00f4le,100,10\nb,100,12\n", "latin-1"),
     "not UTF-8"),
    ("semicolons", "r.csv", _text("variant;users;conversions\ncontrol;100;10\nb;100;12\n"), "';' (semicolon)"),
    ("tabs", "r.csv", _text("variant\tusers\tconversions\ncontrol\t100\t10\nb\t100\t12\n"), "(tab)"),
    ("header only", "r.csv", _text("variant,users,conversions\n"), "no data rows"),
    ("duplicated variant", "r.csv", _text(OK + "control,1000,90\n"), "variant 'control' appears more than once"),
    ("missing users column", "r.csv", _text("variant,conversions\ncontrol,120\nb,130\n"),
     "required column 'users' is missing"),
    ("users and units both", "r.csv", _text("variant,users,units,conversions\ncontrol,10,10,1\nb,10,10,2\n"),
     "both give the number of users"),
    ("duplicated column", "r.csv", _text("variant,users,users,conversions\ncontrol,10,10,1\nb,10,10,2\n"),
     "appears twice"),
    ("huge field", "r.csv", _text(OK + "c" * 140_000 + ",100,12\n"), "140,000 characters"),
    ("long label", "r.csv", _text(OK + "c" * 300 + ",100,12\n"), "at most 200"),
    ("10^20 users", "r.csv", _text("variant,users,conversions\ncontrol,100000000000000000000,10\nb,1000,12\n"),
     "2^53"),
    ("2^53 + 1 users", "r.csv", _text("variant,users,conversions\ncontrol,9007199254740993,10\nb,1000,12\n"),
     "2^53"),
    ("negative count", "r.csv", _text("variant,users,conversions\ncontrol,1000,-3\nb,1000,12\n"), "negative"),
    ("NaN", "r.csv", _text("variant,users,conversions\ncontrol,1000,NaN\nb,1000,12\n"), "missing value"),
    ("infinite", "r.csv", _text("variant,users,conversions\ncontrol,inf,1\nb,1000,12\n"), "finite"),
    ("not a number", "r.csv", _text("variant,users,conversions\ncontrol,many,1\nb,1000,12\n"), "not a number"),
    ("fractional count", "r.csv", _text("variant,users,conversions\ncontrol,1000.5,1\nb,1000,12\n"), "whole number"),
    ("conversions above users", "r.csv", _text("variant,users,conversions\ncontrol,10,11\nb,1000,12\n"),
     "exceed users"),
    ("zero users", "r.csv", _text("variant,users,conversions\ncontrol,0,0\nb,1000,12\n"), "greater than 0"),
    ("one variant", "r.csv", _text("variant,users,conversions\ncontrol,1000,10\n"), "at least 2 variants"),
    ("too many variants", "r.csv",
     _text("variant,users,conversions\n" + "".join(f"v{i},100,1\n" for i in range(60))), "at most 50"),
    ("ragged row", "r.csv", _text("variant,users,conversions\ncontrol,100,10,7\nb,100,12\nc,100,9\n"), "found 4"),
    ("garbage Parquet", "r.parquet", _bytes(b"this is not parquet at all" * 20), "not a Parquet file"),
    ("truncated Parquet", "r.parquet", _truncated_parquet, "not a readable Parquet file"),
    ("Parquet with wrong columns", "r.parquet", _parquet(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})),
     "cannot tell what this file is"),
    ("Parquet without users", "r.parquet", _parquet(pd.DataFrame({"variant": ["control", "b"],
                                                                  "conversions": [1, 2]})),
     "required column 'users' is missing"),
    ("Parquet with a negative count", "r.parquet",
     _parquet(pd.DataFrame({"variant": ["control", "b"], "users": [100, -100], "conversions": [1, 2]})), "negative"),
    ("Parquet with NaN", "r.parquet",
     _parquet(pd.DataFrame({"variant": ["control", "b"], "users": [100.0, float("nan")], "conversions": [1, 2]})),
     "missing value"),
    ("Parquet named .csv with 10^20 users", "r.csv",
     _parquet(pd.DataFrame({"variant": ["control", "b"], "users": [1e20, 100.0], "conversions": [1, 2]})), "2^53"),
]

SKU_HEADER = "sku,category,variant,n,conversions\n"
SKU_OK = SKU_HEADER + "a,shoes,control,100,5\na,shoes,b,100,6\nc,bags,control,50,2\nc,bags,b,40,3\n"
SKU_CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("empty", "s.csv", _bytes(b""), "the file is empty"),
    ("binary garbage", "s.csv", _bytes(bytes(range(256)) * 8), "not UTF-8"),
    ("latin-1", "s.csv", _text(SKU_HEADER + "caf\u00e9,shoes,control,100,5\n", "latin-1"), "not UTF-8"),
    ("semicolons", "s.csv", _text(SKU_OK.replace(",", ";")), "';' (semicolon)"),
    ("tabs", "s.csv", _text(SKU_OK.replace(",", "\t")), "(tab)"),
    ("header only", "s.csv", _text(SKU_HEADER), "no data rows"),
    ("missing n column", "s.csv", _text("sku,category,variant,conversions\na,shoes,control,5\na,shoes,b,6\n"),
     "missing column 'n'"),
    ("duplicated row", "s.csv", _text(SKU_OK + "a,shoes,b,100,6\n"), "appears more than once"),
    ("huge field", "s.csv", _text(SKU_OK + "x" * 140_000 + ",shoes,control,1,0\n"), "140,000 characters"),
    ("n = 10^18", "s.csv", _text(SKU_OK + "d,shoes,control,1000000000000000000,5\nd,shoes,b,10,1\n"), "2^53"),
    ("negative count", "s.csv", _text(SKU_OK + "d,shoes,control,10,-1\nd,shoes,b,10,1\n"), "must be >= 0"),
    ("NaN", "s.csv", _text(SKU_OK + "d,shoes,control,NaN,1\nd,shoes,b,10,1\n"), "whole number"),
    ("garbage Parquet", "s.parquet", _bytes(b"not parquet" * 30), "not a Parquet file"),
    ("Parquet with wrong columns", "s.parquet", _parquet(pd.DataFrame({"a": [1]})), "missing column"),
]


@pytest.fixture
def registered(tmp_path, capsys) -> str:
    """A registered experiment for ``decide ID --result FILE``."""
    import sys
    sys.path.insert(0, str(REPO / "tests"))
    from lifecycle.builders import brief_dict
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump(brief_dict(id="corpus-1")), encoding="utf-8")
    assert invoke(capsys, None, "experiments", "create", str(brief), "--by", "kim")[0] == 0
    return "corpus-1"


def _results_commands(f: Path, out: Path, experiment: str) -> dict[str, list[str]]:
    return {
        "analyze": ["analyze", str(f)],
        "analyze --json": ["analyze", str(f), "--json"],
        "check": ["check", str(f)],
        "memo": ["memo", str(f), "-o", str(out / "memo.html")],
        "summarize": ["summarize", str(f)],
        "allocate": ["allocate", str(f), "--no-log", "--out", str(out / "serving.json")],
        "decide --result": ["decide", experiment, "--result", str(f), "--no-record", "--memo", str(out / "memo.md")],
    }


def _assert_refused(args: list[str], code: int, out: str, err: str, f: Path, fragment: str, out_dir: Path) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert code == 2, (args, out, err)
    assert "Traceback" not in out + err, (args, err)
    assert len(errors) == 1, (args, err)
    assert str(f) in errors[0] and fragment in errors[0], (args, errors[0])
    assert len(errors[0]) < 600, (args, errors[0])               # a 140 KB field is not echoed back
    assert not out_dir.exists() or not any(out_dir.iterdir()), (args, list(out_dir.iterdir()))


@pytest.mark.parametrize("case", RESULTS_CASES, ids=[c[0] for c in RESULTS_CASES])
def test_every_results_command_refuses_malformed_input(case, tmp_path, capsys, monkeypatch, registered):
    _, filename, write, fragment = case
    f = tmp_path / filename
    write(f)
    out_dir = tmp_path / "out"
    for label, args in _results_commands(f, out_dir, registered).items():
        code, out, err = invoke(capsys, monkeypatch, *args)
        _assert_refused(args, code, out, err, f, fragment, out_dir)


@pytest.mark.parametrize("case", SKU_CASES, ids=[c[0] for c in SKU_CASES])
def test_every_sku_command_refuses_malformed_input(case, tmp_path, capsys, monkeypatch):
    _, filename, write, fragment = case
    f = tmp_path / filename
    write(f)
    good = tmp_path / "good.csv"
    good.write_text(OK)
    out_dir = tmp_path / "out"
    for args in (["cold-start", str(f), "--fast", "--out", str(out_dir / "est.csv")],
                 ["allocate", str(good), "--category-priors", str(f), "--category", "shoes", "--no-log",
                  "--out", str(out_dir / "serving.json")]):
        code, out, err = invoke(capsys, monkeypatch, *args)
        _assert_refused(args, code, out, err, f, fragment, out_dir)


def test_a_real_process_refuses_without_traceback(tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("variant,users,conversions\ncontrol,1000,100\n" + "c" * 140_000 + ",100,12\n")
    for args in (["analyze", str(f)], ["allocate", str(f), "--no-log"], ["cold-start", str(f), "--fast"]):
        r = run_workbench(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout, (args, r.stderr)
        assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1, (args, r.stderr)


def test_parquet_results_are_read_like_the_csv_whatever_the_name(tmp_path, capsys, monkeypatch):
    frame = pd.DataFrame({"variant": ["control", "b"], "users": [10000, 10050], "conversions": [1200, 1320]})
    csv_file = tmp_path / "ab.csv"
    frame.to_csv(csv_file, index=False)
    outputs = []
    for name in ("ab.parquet", "ab_parquet.csv"):
        frame.to_parquet(tmp_path / name, index=False)
    for name in ("ab.csv", "ab.parquet", "ab_parquet.csv"):
        code, out, err = invoke(capsys, monkeypatch, "analyze", str(tmp_path / name), "--json")
        assert code == 0, err
        res = json.loads(out)
        outputs.append([(c["variant"], c["lift_abs"], c["p_value"]) for c in res["metrics"][0]["comparisons"]])
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0][0][1] == pytest.approx(1320 / 10050 - 0.12)


def test_allocate_reads_the_readme_results_and_users_or_units(tmp_path, capsys, monkeypatch):
    sample = REPO / "data" / "samples" / "ab_results.csv"
    code, out, err = invoke(capsys, monkeypatch, "allocate", str(sample), "--no-log", "--json")
    assert code == 0, err
    plan = json.loads(out)
    raw = pd.read_csv(sample).groupby("variant", sort=False)[["users", "conversions"]].sum()
    assert [a["units"] for a in plan["arms"]] == raw["users"].tolist()
    assert [a["conversions"] for a in plan["arms"]] == raw["conversions"].tolist()
    code, out, err = invoke(capsys, monkeypatch, "allocate", str(sample), "--no-log", "--json", "--segment-by",
                            "segment")
    assert code == 0, err and len(json.loads(out)["segments"]) == 3
    for col in ("users", "units", "n"):
        f = tmp_path / f"{col}.csv"
        f.write_text(OK.replace("users", col))
        code, out, err = invoke(capsys, monkeypatch, "allocate", str(f), "--no-log", "--json", "--min-units", "0")
        assert code == 0, (col, err)
        assert [a["units"] for a in json.loads(out)["arms"]] == [1000, 1000]


def test_allocate_refuses_an_unsafe_experiment_id(tmp_path, capsys, monkeypatch):
    f = tmp_path / "r.csv"
    f.write_text(OK)
    for bad in ("../../etc", "a/b", "x" * 81, ".hidden"):
        code, _, err = invoke(capsys, monkeypatch, "allocate", str(f), "--experiment", bad)
        assert code == 2 and "not a valid experiment id" in err, (bad, err)


def test_the_readme_cold_start_sample_works(capsys, monkeypatch):
    code, out, err = invoke(capsys, monkeypatch, "cold-start", str(REPO / "data" / "samples" / "skus.csv"), "--fast",
                            "--json")
    assert code == 0, err
    res = json.loads(out)
    cats = {c["category"] for c in res["categories"]}
    assert len(cats) >= 3
    small = [s for s in res["skus"] if s["n_control"] + s["n_variant"] < 100]
    assert small, "the sample has cold-start SKUs with a handful of units"


def test_memo_of_valid_but_srm_blocked_data_says_blocked_first(tmp_path, capsys, monkeypatch):
    f = tmp_path / "srm.csv"
    f.write_text("variant,users,conversions\ncontrol,10000,1000\nb,12000,1300\n")
    memo = tmp_path / "memo.md"
    code, _, err = invoke(capsys, monkeypatch, "check", str(f), "--json")
    assert code == 0, err
    code, out, err = invoke(capsys, monkeypatch, "memo", str(f), "-o", str(memo))
    assert code == 0, err
    text = memo.read_text()
    first = next(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    assert "blocked" in (out.splitlines()[0] + first).lower(), (out, first)


FILE_LEVEL = {"empty", "binary garbage", "latin-1", "semicolons", "tabs", "header only", "garbage Parquet",
              "truncated Parquet"}
UNREADABLE = {"empty", "binary garbage", "latin-1", "garbage Parquet", "truncated Parquet"}


@pytest.mark.parametrize("case", [c for c in RESULTS_CASES if c[0] in FILE_LEVEL],
                         ids=[c[0] for c in RESULTS_CASES if c[0] in FILE_LEVEL])
def test_other_reading_commands_refuse_unreadable_files(case, tmp_path, capsys, monkeypatch, registered):
    """`experiments advance --timeseries` and `assign KEYS` read other tables, through the same file checks."""
    name, filename, write, fragment = case
    f = tmp_path / filename
    write(f)
    commands = [["experiments", "advance", registered, "--timeseries", str(f), "--why", "hourly"]]
    if name in UNREADABLE:
        commands.append(["assign", str(f), "--seed", "s"])
    for args in commands:
        code, out, err = invoke(capsys, monkeypatch, *args)
        errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert code == 2 and "Traceback" not in out + err, (args, err)
        assert len(errors) == 1 and str(f) in errors[0], (args, err)


def _brief_text(**over) -> str:
    import sys
    sys.path.insert(0, str(REPO / "tests"))
    from lifecycle.builders import brief_dict
    return yaml.safe_dump(brief_dict(**{"id": "brief-1", **over}), allow_unicode=True)


BRIEF_CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("binary garbage", _bytes(bytes(range(256)) * 8), "brief.yaml"),
    ("latin-1", lambda p: p.write_bytes(_brief_text(hypothesis="caf\u00e9").encode("latin-1")), "brief.yaml"),
    ("not YAML", _text("id: [unclosed\n"), "not valid YAML"),
    ("10,000 variants", lambda p: p.write_text(_brief_text(variants=[{"id": f"v{i}"} for i in range(10_000)])),
     "at most 50"),
    ("200 KB name", lambda p: p.write_text(_brief_text(name="x" * 200_000)), "at most 200"),
    ("unsafe id", lambda p: p.write_text(_brief_text(id="../../etc")), "not a valid experiment id"),
]


@pytest.mark.parametrize("case", BRIEF_CASES, ids=[c[0] for c in BRIEF_CASES])
def test_every_brief_command_refuses_malformed_briefs(case, tmp_path, capsys, monkeypatch):
    _, write, fragment = case
    f = tmp_path / "brief.yaml"
    write(f)
    good = tmp_path / "good.csv"
    good.write_text(OK)
    out_dir = tmp_path / "out"
    for args in (["experiments", "create", str(f), "--by", "kim"], ["experiments", "check", str(f)],
                 ["analyze", str(good), "--brief", str(f)],
                 ["memo", str(good), "-o", str(out_dir / "memo.md"), "--brief", str(f)]):
        code, out, err = invoke(capsys, monkeypatch, *args)
        errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert code == 2 and "Traceback" not in out + err, (args, err)
        assert len(errors) == 1 and str(f) in errors[0] and fragment in errors[0], (args, err)
        assert len(errors[0]) < 600 and not out_dir.exists(), (args, errors[0])
