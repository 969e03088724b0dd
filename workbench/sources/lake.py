"""A Parquet lake as the event source: hive-partitioned events plus the small side tables.

Layout (what ``workbench simulate --format parquet --out DIR`` writes, and what ``--events DIR`` reads)::

    DIR/events/date=2026-11-01/part-00000.parquet     events of that day (``ts_server``'s date)
    DIR/events/date=2026-11-02/...
    DIR/pre_period/part-00000.parquet                 pre-period covariates per user_key (CUPED)
    DIR/pre_events/part-00000.parquet                 pre-period events (``covariate: same``), optional
    DIR/world_experiments/...                         experiment metadata (optional: else inferred)
    DIR/world_allocations/, catalog_daily/ (stock and price), catalog/, truth/ ...

Each table is a folder of Parquet files (or a single ``NAME.parquet``). The engine reads the events
folder with its own partition discovery (DuckDB ``hive_partitioning``, Spark's partition inference),
so a ``date`` column appears and a filter on it prunes whole folders.

Before an engine reads anything, :func:`check_lake` looks at the folders and at each file's Parquet
footer (no data is read): a missing events folder, a missing day inside the requested dates, a file
without a required column or with a column of the wrong type are refused in one line naming the file
and the column — the same line on every engine.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError, Problem

__all__ = ["LAKE_TABLES", "is_lake", "lake_tables", "partition_dates", "check_lake", "register_lake", "write_lake",
           "prune_dates"]

LAKE_TABLES = ("pre_period", "pre_events", "world_experiments", "world_allocations", "catalog_daily", "catalog", "truth")
PARTITION = "date"


def is_lake(path: str | Path) -> bool:
    """Whether ``path`` is a lake folder (it has an ``events/`` folder)."""
    return (Path(path) / "events").is_dir()


def _is_remote(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def lake_tables(root: str | Path) -> dict[str, str]:
    """The side tables present in the lake: name → folder (or file) to read."""
    out: dict[str, str] = {}
    base = Path(root)
    for name in LAKE_TABLES:
        if (base / name).is_dir():
            out[name] = str(base / name)
        elif (base / f"{name}.parquet").is_file():
            out[name] = str(base / f"{name}.parquet")
    return out


def partition_dates(root: str | Path) -> dict[dt.date, Path]:
    """The ``date=YYYY-MM-DD`` folders of the events, by date."""
    out: dict[dt.date, Path] = {}
    for p in sorted((Path(root) / "events").glob(f"{PARTITION}=*")):
        try:
            out[dt.date.fromisoformat(p.name.split("=", 1)[1])] = p
        except ValueError:
            raise InputError([Problem("blocked", "bad_partition", "a partition folder must be named "
                                      f"{PARTITION}=YYYY-MM-DD", file=str(p), value=p.name)]) from None
    return out


def _rel(root: Path, p: Path) -> str:
    return f"{root.name}/{p.relative_to(root)}"


def check_lake(root: str | Path, dates: tuple[dt.date | None, dt.date | None] | None = None,
               required: dict[str, str] | None = None, kind_ok: dict[str, Callable[[Any], bool]] | None = None) -> None:
    """Refuse a lake the engines would misread, before they read it (folders and Parquet footers only).

    ``dates`` (first, last; either may be None) names the days the work needs: each day in between must
    have its partition folder. ``required`` maps column → kind (see :mod:`.events`); every file of the
    needed partitions must have those columns, of that kind.
    """
    text = str(root)
    if _is_remote(text):
        return                                     # remote storage: the engine itself reports what it finds
    base = Path(text)
    if not base.is_dir():
        raise InputError([Problem("blocked", "missing_file", "the events lake folder does not exist", file=text)])
    if not (base / "events").is_dir():
        raise InputError([Problem("blocked", "missing_partition", "the lake has no events/ folder "
                                  f"(expected events/{PARTITION}=YYYY-MM-DD/*.parquet)", file=text)])
    parts = partition_dates(base)
    if not parts:
        raise InputError([Problem("blocked", "missing_partition", f"no {PARTITION}=YYYY-MM-DD folders in events/",
                                  file=str(base / "events"))])
    first, last = dates or (None, None)
    lo = max(first, min(parts)) if first else min(parts)
    hi = min(last, max(parts)) if last else max(parts)
    day = lo
    while day <= hi:
        if day not in parts:
            raise InputError([Problem("blocked", "missing_partition", f"partition folder {PARTITION}={day} is missing "
                                      f"(the data runs {min(parts)} to {max(parts)}; a missing day would silently "
                                      "drop its events)", file=str(base / "events" / f"{PARTITION}={day}"))])
        day += dt.timedelta(days=1)
    if required is None:
        return
    for d, folder in parts.items():
        if not lo <= d <= hi:
            continue
        files = sorted(folder.glob("*.parquet"))
        if not files:
            raise InputError([Problem("blocked", "missing_partition", "partition folder has no .parquet files",
                                      file=_rel(base, folder))])
        for f in files:
            _check_footer(base, f, required, kind_ok or {})


def _check_footer(base: Path, f: Path, required: dict[str, str], kind_ok: dict[str, Callable[[Any], bool]]) -> None:
    import ibis

    try:
        schema = pq.read_schema(f)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError([Problem("blocked", "unreadable", f"not a readable Parquet file ({str(exc).splitlines()[0]})",
                                  file=_rel(base, f))]) from None
    for col, kind in required.items():
        if col not in schema.names:
            raise InputError([Problem("blocked", "missing_column", f"required column {col!r} is missing from this "
                                      "file", file=_rel(base, f), column=col)])
        typ = ibis.dtype(schema.field(col).type)
        ok = kind_ok.get(kind)
        if ok is not None and not ok(typ) and not (kind == "string" and not typ.is_string()
                                                   and (typ.is_integer() or typ.is_numeric())):
            raise InputError([Problem("blocked", "wrong_type", f"column {col!r} should be {kind}, found {typ} in this "
                                      "file", file=_rel(base, f), column=col, value=str(typ))])


def register_lake(con: Any, root: str | Path) -> dict[str, Any]:
    """Register the lake's tables as views of the engine ``con`` (an Ibis backend): ``events`` and the side
    tables present. Returns name → Ibis table."""
    text = str(root)
    tables: dict[str, Any] = {}
    if con.name == "duckdb":
        glob = f"{text.rstrip('/')}/events/{PARTITION}=*/*.parquet"
        tables["events"] = con.read_parquet(glob, table_name="events", hive_partitioning=True)
    else:
        tables["events"] = con.read_parquet(f"{text.rstrip('/')}/events", table_name="events")
    for name, path in ({} if _is_remote(text) else lake_tables(text)).items():
        src = f"{path}/*.parquet" if con.name == "duckdb" and Path(path).is_dir() else path
        tables[name] = con.read_parquet(src, table_name=name)
    return tables


def prune_dates(starts: Iterable[dt.datetime | None], ends: Iterable[dt.datetime | None],
                as_of: dt.datetime | None = None) -> tuple[dt.date | None, dt.date | None]:
    """The days the experiments need: from the earliest start to the latest end (or ``as_of``); None = open."""
    starts, ends = list(starts), list(ends)
    first = min(s.date() for s in starts) if starts and all(s is not None for s in starts) else None
    last = max(e.date() for e in ends) if ends and all(e is not None for e in ends) else None
    if as_of is not None:
        last = min(last, as_of.date()) if last else as_of.date()
    return first, last


# ---------------------------------------------------------------------------------------------- writing
def write_lake(out: Path, parts: Iterable[Any], side: Callable[[], dict[str, Any]], say: Callable[[str], None]) -> int:
    """Write event frames (``parts``, pandas) partitioned by day, then the side tables, as a lake at ``out``.

    Everything is written under a temporary folder inside ``out`` and moved into place at the end: a run
    that fails leaves the previous lake as it was.
    """
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".lake.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    schema: pa.Schema | None = None
    writers: dict[Any, pq.ParquetWriter] = {}        # one file per day, one row group per slice: few files
    n = 0
    try:
        for df in parts:
            table = pa.Table.from_pandas(df, preserve_index=False)
            schema = schema or table.schema
            table = table.cast(schema)
            days = df["ts_server"].dt.date.to_numpy()
            for day in sorted(set(days)):
                if day not in writers:
                    folder = tmp / "events" / f"{PARTITION}={day.isoformat()}"
                    folder.mkdir(parents=True, exist_ok=True)
                    writers[day] = pq.ParquetWriter(folder / "part-00000.parquet", schema, compression="zstd",
                                                    coerce_timestamps="us", allow_truncated_timestamps=True)
                writers[day].write_table(table.filter(pa.array(days == day)))
            n += len(df)
            say(str(df["experiment_id"].iat[0]) if len(df) else "")
        for w in writers.values():
            w.close()
        writers.clear()
        for name, frame in side().items():
            (tmp / name).mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / name / "part-00000.parquet",
                           coerce_timestamps="us", allow_truncated_timestamps=True)
        for entry in sorted(tmp.iterdir()):
            target = out / entry.name
            if target.exists():
                old = out / f".{entry.name}.{os.getpid()}.old"
                os.replace(target, old)
                os.replace(entry, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(entry, target)
    finally:
        for w in writers.values():
            w.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return n
