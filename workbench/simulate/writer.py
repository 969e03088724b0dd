"""Write the synthetic world to a DuckDB file or a directory of Parquet files, safely.

- A new DuckDB file is built under a temporary name and renamed into place when complete, so an
  interrupted run never leaves a half-written database.
- An existing DuckDB file (which may also hold the registry) has its world tables replaced inside
  one transaction: either all of them change or none does.
- Parquet tables are written to temporary files and renamed one by one.
- The simulated bandit's allocation decisions go to the ``allocation_log`` and ``bandit_plans``
  tables (files); in an existing database only the world's experiments' rows are replaced.

Events are streamed one experiment at a time, so memory stays bounded at any scale.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..display import ResultMixin
from ..errors import Problem, WorkbenchError
from .specs import DEMO_EXPERIMENTS, ExperimentSpec
from .world import LOG_TABLES, TABLES, WorldBuilder

__all__ = ["write_world", "WriteSummary"]


@dataclass(frozen=True)
class WriteSummary(ResultMixin):
    path: str
    format: str
    seed: int
    scale: float
    events: int
    experiments: int
    seconds: float


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def write_world(out: str | Path, *, seed: int = 20261121, scale: float = 1.0,
                progress: Callable[[str], None] | None = None,
                experiments: tuple[ExperimentSpec, ...] = DEMO_EXPERIMENTS) -> WriteSummary:
    """Generate the world (``experiments``: all demo specs by default) and write it to ``out``
    (``*.duckdb`` file, or a directory for Parquet)."""
    out = Path(out)
    t0 = time.perf_counter()
    builder = WorldBuilder(seed, scale, experiments=experiments)
    say = progress or (lambda _msg: None)
    if out.suffix in {".duckdb", ".db"}:
        n = _write_duckdb(out, builder, say)
        fmt = "duckdb"
    elif out.suffix == "":
        n = _write_parquet(out, builder, say)
        fmt = "parquet"
    else:
        raise WorkbenchError(str(Problem("blocked", "bad_output",
                                         "expected a .duckdb file or a directory (for Parquet files)", file=str(out))))
    return WriteSummary(str(out), fmt, seed, scale, n, len(builder.specs), time.perf_counter() - t0)


def _write_duckdb(out: Path, builder: WorldBuilder, say: Callable[[str], None]) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = not out.exists()
    target = out.with_name(f".{out.name}.{os.getpid()}.tmp") if fresh else out
    if fresh and target.exists():
        target.unlink()
    try:
        con = duckdb.connect(str(target))
    except duckdb.IOException as exc:
        raise WorkbenchError(f"{out}: cannot open the database for writing ({exc}); is another process using it?") from None
    n = 0
    try:
        con.execute("BEGIN TRANSACTION")
        for t in TABLES:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        first = True
        for part in builder.events():
            arrow = _arrow(part)
            if first:
                con.execute("CREATE TABLE events AS SELECT * FROM arrow")
                first = False
            else:
                con.execute("INSERT INTO events SELECT * FROM arrow")
            n += len(part)
            say(str(part["experiment_id"].iat[0]))
        side = builder.side_tables()
        for name, df in side.items():
            if name in LOG_TABLES:
                continue
            arrow = _arrow(df)      # noqa: F841 — DuckDB reads this local by name in the query below
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow")
        from ..bandits.log import replace_logged     # the world's bandit decisions; other decisions stay
        replace_logged(con, {t: side[t] for t in LOG_TABLES}, [s.experiment_id for s in builder.specs])
        con.execute("CREATE OR REPLACE TABLE world_info AS SELECT ? AS seed, ? AS scale, now() AS generated_at",
                    [builder.seed, builder.scale])
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        con.close()
        if fresh:
            for leftover in (target, Path(f"{target}.wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()
    if fresh:
        os.replace(target, out)
    return n


def _write_parquet(out: Path, builder: WorldBuilder, say: Callable[[str], None]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".events.{os.getpid()}.tmp"
    writer = None
    n = 0
    try:
        for part in builder.events():
            table = _arrow(part)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
            n += len(part)
            say(str(part["experiment_id"].iat[0]))
        writer.close()
        os.replace(tmp, out / "events.parquet")
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    for name, df in builder.side_tables().items():
        t = out / f".{name}.tmp"
        pq.write_table(_arrow(df), t)
        os.replace(t, out / f"{name}.parquet")
    (out / "world_info.json").write_text(json.dumps({"seed": builder.seed, "scale": builder.scale}))
    return n
