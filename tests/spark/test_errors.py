"""Error paths on both engines: a missing partition folder, a file with a missing column or a wrong type, a bad
row, an unreachable Spark Connect URL — one clear line naming the source and column (and file and row where they
can be told), exit 2, nothing written."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.cli_runner import invoke

from .conftest import EXPERIMENTS

ENGINES = ("duckdb", "spark")


@pytest.fixture
def broken(lake: Path, tmp_path: Path):
    """A copy of the lake to damage, and the part file of its middle day."""
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    days = sorted((copy / "events").iterdir())
    return copy, days[len(days) // 2] / "part-00000.parquet"


def _run(capsys, lake: Path, engine: str, tmp_path: Path) -> tuple[int, str, str]:
    db = tmp_path / "workbench.duckdb"
    code, out, err = invoke(capsys, None, "analyze", "-e", EXPERIMENTS[0], "--db", str(db), "--events", str(lake),
                            "--engine", engine)
    assert not db.exists()                           # nothing written
    assert out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, out, lines[0]


def _engine(request, name: str) -> None:
    if name == "spark":
        request.getfixturevalue("spark")


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_partition_folder(engine, request, broken, capsys, tmp_path):
    _engine(request, engine)
    lake, part = broken
    shutil.rmtree(part.parent)
    code, _, line = _run(capsys, lake, engine, tmp_path)
    assert code == 2
    assert part.parent.name in line and "missing" in line


@pytest.mark.parametrize("engine", ENGINES)
def test_file_without_a_required_column(engine, request, broken, capsys, tmp_path):
    _engine(request, engine)
    lake, part = broken
    pq.write_table(pq.read_table(part).drop(["price"]), part)
    code, _, line = _run(capsys, lake, engine, tmp_path)
    assert code == 2
    assert f"{part.parent.name}/{part.name}" in line and "'price'" in line and "missing" in line


@pytest.mark.parametrize("engine", ENGINES)
def test_file_with_a_wrong_type(engine, request, broken, capsys, tmp_path):
    _engine(request, engine)
    lake, part = broken
    t = pq.read_table(part)
    i = t.schema.get_field_index("quantity")
    pq.write_table(t.set_column(i, "quantity", pc.cast(t["quantity"], pa.string())), part)
    code, _, line = _run(capsys, lake, engine, tmp_path)
    assert code == 2
    assert f"{part.parent.name}/{part.name}" in line and "'quantity'" in line and "string" in line


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_row_is_named_by_file_column_and_row(engine, request, broken, capsys, tmp_path):
    _engine(request, engine)
    lake, part = broken
    t = pq.read_table(part)
    row = t.num_rows // 2
    prices = t["price"].to_pylist()
    prices[row] = -5.0
    pq.write_table(t.set_column(t.schema.get_field_index("price"), "price", pa.array(prices, t["price"].type)), part,
                   coerce_timestamps="us")
    code, _, line = _run(capsys, lake, engine, tmp_path)
    assert code == 2
    assert f"{part.parent.name}/{part.name}" in line and "price" in line and f"row {row + 1}" in line


def test_unreachable_spark_connect_fails_fast(lake, capsys, tmp_path):
    with socket_closed_port() as port:
        t0 = time.monotonic()
        code, _, line = _run(capsys, lake, f"sc://127.0.0.1:{port}", tmp_path)
    assert code == 2 and time.monotonic() - t0 < 10
    assert f"sc://127.0.0.1:{port}" in line and "cannot reach" in line


class socket_closed_port:
    """A loopback port with nothing listening (bound, then released)."""

    def __enter__(self) -> int:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        return None
