"""Write the synthetic world to a DuckDB file or a directory of Parquet files, safely.

- An existing world is never replaced by surprise: without ``force`` an existing DuckDB file (or a
  directory already holding ``events.parquet``) is refused with one line naming it and ``--force``
  — it may be the database the dashboard is serving and the reports were built from.
- A DuckDB file is always built fresh under a temporary name next to the target, then swapped in
  with one ``os.replace``: readers see the old file or the new one, never a mix, and a run that
  fails or is killed half-way leaves the old file intact (a temporary file left by a killed run is
  removed by the next one). Because the file is new, its size is that of a fresh world — writing
  over the old tables in place left the freed space inside the file, which only grew.
- The tables that are not part of the world (the registry, its audit log, decisions, the bandits'
  allocation log...) are copied from the old file into the new one, with their constraints, while
  the old file is held open read-only so that no write to them is lost in between; the audit log
  gets a ``replace_world`` entry (new and previous seed), which also tells a running dashboard to
  refresh.
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
from ..errors import ConflictError, Problem, WorkbenchError
from ..processes import pid_alive
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
    replaced: bool = False        # an existing world was replaced (``force``)


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def write_world(out: str | Path, *, seed: int = 20261121, scale: float = 1.0,
                progress: Callable[[str], None] | None = None,
                experiments: tuple[ExperimentSpec, ...] = DEMO_EXPERIMENTS, force: bool = False,
                layout: str = "flat") -> WriteSummary:
    """Generate the world (``experiments``: all demo specs by default) and write it to ``out``
    (``*.duckdb`` file, or a directory for Parquet: ``layout="flat"`` one file per table, ``"lake"`` the
    hive-partitioned lake of :mod:`workbench.sources.lake`). An existing world is replaced only with
    ``force`` (see the module docstring)."""
    out = Path(out)
    lake = layout == "lake"
    existing = out if out.suffix in {".duckdb", ".db"} else out / ("events" if lake else "events.parquet")
    if existing.exists() and not force:
        raise ConflictError(f"{out} already exists (the dashboard and reports may be reading it); pass --force to "
                            "replace its world with a fresh one (the registry and audit log are kept)")
    replacing = existing.exists()
    t0 = time.perf_counter()
    builder = WorldBuilder(seed, scale, experiments=experiments)
    say = progress or (lambda _msg: None)
    if out.suffix in {".duckdb", ".db"}:
        n = _write_duckdb(out, builder, say)
        fmt = "duckdb"
    elif out.suffix == "" and lake:
        from ..sources.lake import write_lake
        n = write_lake(out, builder.events(), builder.side_tables, say)
        fmt = "parquet lake"
    elif out.suffix == "":
        n = _write_parquet(out, builder, say)
        fmt = "parquet"
    else:
        raise WorkbenchError(str(Problem("blocked", "bad_output",
                                         "expected a .duckdb file or a directory (for Parquet files)", file=str(out))))
    return WriteSummary(str(out), fmt, seed, scale, n, len(builder.specs), time.perf_counter() - t0,
                        replaced=replacing)


WORLD_TABLES = (*TABLES, "world_info")
"""Tables a world writes; every other table of the file is kept when the world is replaced."""


def _temp_name(out: Path, pid: int) -> Path:
    return out.with_name(f".{out.name}.{pid}.tmp")


def _remove_stale_temps(out: Path) -> None:
    """Delete temporary files left by runs that were killed (their process is gone)."""
    for p in out.parent.glob(f".{out.name}.*.tmp*"):
        pid = p.name[len(out.name) + 2:].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            p.unlink(missing_ok=True)


def _kept_tables(old: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """``(name, CREATE statement)`` of the old file's tables that are not part of the world."""
    rows = old.execute("SELECT table_name, sql FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = 'main' ORDER BY table_name").fetchall()
    return [(name, sql) for name, sql in rows if name not in WORLD_TABLES]


def _open_old(out: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(out), read_only=True)
    except duckdb.Error as exc:
        raise WorkbenchError(f"{out}: cannot read the registry tables to keep them ({str(exc).splitlines()[0]}); "
                             "is another process writing to it?") from None


def _audit_replacement(con: duckdb.DuckDBPyConnection, old: duckdb.DuckDBPyConnection, out: Path,
                       builder: WorldBuilder, events: int) -> None:
    """Record in the (carried-over) audit log that the world was replaced, and which one it was."""
    from ..lifecycle.registry import Registry, default_actor

    tables = {r[0] for r in old.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    previous = old.execute("SELECT seed, scale FROM world_info").fetchone() if "world_info" in tables else None
    Registry(out).append_audit(con, actor=default_actor(), action="replace_world", why="workbench simulate --force",
                               detail={"seed": builder.seed, "scale": builder.scale, "events": events,
                                       "previous_seed": previous[0] if previous else None,
                                       "previous_scale": previous[1] if previous else None})


def _write_duckdb(out: Path, builder: WorldBuilder, say: Callable[[str], None]) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        _open_old(out).close()      # fail before a minute of work, not after
    _remove_stale_temps(out)
    target = _temp_name(out, os.getpid())
    leftovers = (target, Path(f"{target}.wal"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    old = None
    con = duckdb.connect(str(target))
    n = 0
    try:
        con.execute("BEGIN TRANSACTION")
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
        kept_names: list[str] = []
        if out.exists():
            # Held open (read-only) until the swap: a writer of the registry meanwhile gets a lock error
            # instead of writing into a file that is about to be replaced. The kept tables include the
            # allocation log, so they are copied before the world's own bandit decisions replace theirs.
            old = _open_old(out)
            for name, ddl in _kept_tables(old):
                kept = old.execute(f'SELECT * FROM "{name}"').fetch_arrow_table()  # noqa: F841 — read by name
                con.execute(ddl)
                con.execute(f'INSERT INTO "{name}" SELECT * FROM kept')
                kept_names.append(name)
        from ..bandits.log import replace_logged     # the world's bandit decisions; other decisions stay
        replace_logged(con, {t: side[t] for t in LOG_TABLES}, [s.experiment_id for s in builder.specs])
        con.execute("CREATE OR REPLACE TABLE world_info AS SELECT ? AS seed, ? AS scale, now() AS generated_at",
                    [builder.seed, builder.scale])
        if old is not None and "audit_log" in kept_names:
            _audit_replacement(con, old, out, builder, n)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        con.close()
        os.replace(target, out)
        Path(f"{out}.wal").unlink(missing_ok=True)   # a log of the old file must never be replayed on the new one
    except BaseException:
        try:
            con.close()
        except duckdb.Error:
            pass
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        raise
    finally:
        if old is not None:
            old.close()
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
