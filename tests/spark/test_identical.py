"""Identical numbers on DuckDB and Spark from the same Parquet lake: the sufficient-statistics cube, every
analysis (``analyze -e ID --json``), every decision and every summary. Counts must match exactly, floats to
1e-9 relative."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.cli_runner import invoke

from .conftest import EXPERIMENTS

REL = 1e-9


def same(a: Any, b: Any, where: str = "") -> list[str]:
    """Differences between two JSON-like values: exact except floats (relative 1e-9)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{where}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if math.isnan(a) and math.isnan(b) or a == b:
                return []
            if abs(a - b) <= REL * max(abs(a), abs(b)):
                return []
        return [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _jsonable(obj: Any) -> Any:
    from workbench.display import dumps
    return json.loads(dumps(obj))


@pytest.fixture(scope="module")
def outcomes(spark, lake, tmp_path_factory):
    from workbench.pipeline import evaluate
    db = tmp_path_factory.mktemp("nodb") / "workbench.duckdb"     # no registry: default policy
    duck = evaluate(db=db, engine="duckdb", events=lake)
    spk = evaluate(db=db, engine=spark, events=lake)
    assert not db.exists()                                       # reading never creates the database
    return duck, spk


def test_cube_analysis_decision_and_summary_are_identical(outcomes):
    from workbench.summary import summarize

    duck, spk = outcomes
    assert sorted(duck) == sorted(spk) == sorted(EXPERIMENTS)
    for e in EXPERIMENTS:
        a, b = duck[e].data.cube, spk[e].data.cube
        assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
        assert a["n"].sum() > 100
        assert same(_jsonable(a.to_dict(orient="records")), _jsonable(b.to_dict(orient="records")), e) == []
        assert duck[e].data.trust == spk[e].data.trust
        assert same(_jsonable(duck[e].result), _jsonable(spk[e].result), e) == []
        assert same(_jsonable(duck[e].decision), _jsonable(spk[e].decision), e) == []
        assert same(_jsonable(summarize(duck[e].data)), _jsonable(summarize(spk[e].data)), e) == []


def test_analyze_json_is_identical_on_both_engines(spark, lake, capsys, tmp_path):
    db = str(tmp_path / "workbench.duckdb")
    e = EXPERIMENTS[0]
    code_d, out_d, err_d = invoke(capsys, None, "analyze", "-e", e, "--json", "--db", db, "--events", str(lake))
    code_s, out_s, err_s = invoke(capsys, None, "analyze", "-e", e, "--json", "--db", db, "--events", str(lake),
                                  "--engine", "spark")
    assert code_d == code_s == 0, (err_d, err_s)
    a, b = json.loads(out_d), json.loads(out_s)
    assert a["experiment_id"] == e and a["metrics"]
    assert same(a, b, e) == []
