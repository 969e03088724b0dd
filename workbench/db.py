"""Connections to the analytical engine, through Ibis.

The embedded default is the DuckDB file ``data/workbench.duckdb`` (``WORKBENCH_DB`` overrides it).
Any Ibis URL works too (``duckdb://path``, ``postgres://...``, ``bigquery://...``): the
aggregation expressions are backend-neutral and only aggregates come back.

DuckDB lets one process write a file at a time. Short-lived connections plus a retry when the file
is busy let the dashboard, a scheduled ``workbench report --all`` and operator actions share it.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.duckdb"
>>> with connect(path) as con:
...     _ = con.raw_sql("create table t as select 1 as a")
>>> with connect(path, read_only=True) as con:
...     con.table("t").count().execute()
1
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar


from .config import Paths, get_settings, size_bytes
from .errors import NotFoundError, WorkbenchError

if TYPE_CHECKING:   # duckdb and ibis are imported where a connection is made: `workbench --help` stays fast
    import ibis

__all__ = ["connect", "database_path", "registry_path", "engine_limits", "memory_error", "execute_bounded",
           "auto_threads", "BUSY_TIMEOUT_S", "MEMORY_PER_THREAD", "open_while_locked"]

BUSY_TIMEOUT_S = 30.0
T = TypeVar("T")

MEMORY_PER_THREAD = 250 * 10 ** 6
"""Engine memory each DuckDB worker thread is given at least when ``engine.threads`` is 0 (auto).

Why: a hash aggregation or join holds per thread what it cannot spill — its own hash table, one pinned
block per radix partition it appends to, the arenas of its aggregate states — so the memory a query needs
before it can spill grows with the number of threads. Measured on the small world (35k events): 28 MB is
enough on one thread and fails on eight; on the demo world (1.8 M events) 200 MB is enough on one
thread and fails on two. A small limit on a many-core machine therefore gets fewer threads, not a failure."""


def _configure(con: ibis.BaseBackend) -> None:
    """Engine settings for a DuckDB connection: no progress bar, bounded memory, spills outside the repo."""
    import duckdb

    eng = get_settings().engine
    try:
        con.raw_sql("SET enable_progress_bar = false")
    except duckdb.Error:
        # Inside a Jupyter kernel DuckDB refuses to touch the progress-bar setting unless ipywidgets
        # is installed (it is not a dependency); the bar is off there anyway for non-interactive runs.
        pass
    # The spill folder first: DuckDB drops blocks it could not evict (no folder yet) from its eviction queue
    # for good (duckdb/duckdb#25959), so the folder must be there before the limit can force evictions.
    temp = eng.temp_directory or str(process_temp_dir())
    con.raw_sql(f"SET temp_directory = '{temp}'")
    if eng.memory_limit:
        con.raw_sql(f"SET memory_limit = '{eng.memory_limit}'")
    con.raw_sql(f"SET threads = {int(eng.threads) or auto_threads(eng.memory_limit)}")
    con.raw_sql(f"SET preserve_insertion_order = {'true' if eng.preserve_insertion_order else 'false'}")


@contextlib.contextmanager
def engine_limits() -> Iterator[None]:
    """Turn an aggregation that cannot fit into one line naming the setting to change (no DuckDB trace).

    DuckDB spills what it can to this process's temp folder; what still does not fit ends here.
    """
    import duckdb

    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise memory_error(exc) from None


def auto_threads(memory_limit: str, cores: int | None = None) -> int:
    """DuckDB threads for ``engine.threads: 0``: every core, but at most one per :data:`MEMORY_PER_THREAD` of
    ``memory_limit`` (at least one).

    >>> auto_threads("1GB", cores=64), auto_threads("100MB", cores=8), auto_threads("16GB", cores=8)
    (4, 1, 8)
    """
    cores = cores or os.cpu_count() or 1
    limit = size_bytes(memory_limit)
    return cores if limit is None else max(1, min(cores, limit // MEMORY_PER_THREAD))


def execute_bounded(expr: ibis.Expr) -> Any:
    """``expr.execute()``; when DuckDB runs out of memory on several threads, once more on one thread.

    A query's unspillable working memory grows with its threads (see :data:`MEMORY_PER_THREAD`), and how much
    of it is held at once depends on how the threads interleave, which is why the same aggregation could end
    in ``OutOfMemoryException`` on a busy machine and finish on an idle one. One thread needs the least;
    only when even that cannot fit does the error reach :func:`engine_limits` (one line naming the setting).
    The query only reads, so running it again is safe. What still does not fit is raised as the one line of
    :func:`memory_error` (a :class:`WorkbenchError`), so a caller of the Python API (``aggregate_cube``) gets the
    setting to change, not DuckDB's message. Other backends run it as it is.
    """
    import duckdb

    try:
        return expr.execute()
    except duckdb.OutOfMemoryException as exc:
        if _spill_full(exc):            # the disk, not the threads: one thread would fill it too
            raise memory_error(exc) from None
        con = expr.get_backend()
        threads = int(con.raw_sql("SELECT current_setting('threads')").fetchone()[0])
        if threads <= 1:
            raise memory_error(exc) from None
    con.raw_sql("SET threads = 1")
    try:
        return expr.execute()
    except duckdb.OutOfMemoryException as exc:
        raise memory_error(exc) from None
    finally:
        con.raw_sql(f"SET threads = {threads}")


def memory_error(exc: BaseException) -> WorkbenchError:
    """One line for DuckDB's out-of-memory error: the limit in force, where it spilled, the setting to change."""
    eng = get_settings().engine
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    first = lines[1] if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "out of memory")
    folder = eng.temp_directory or process_temp_dir()
    if _spill_full(exc):
        return WorkbenchError(f"the spill folder {folder} is full (DuckDB's max_temp_directory_size: by default the "
                              f"free disk space there; {first}); free disk space there, set engine.temp_directory "
                              "in workbench.yaml to a folder on a larger disk, or raise engine.memory_limit")
    return WorkbenchError(f"the query does not fit in engine.memory_limit = {eng.memory_limit} even when spilling "
                          f"to {folder} ({first}); raise engine.memory_limit in workbench.yaml")


def _spill_full(exc: BaseException) -> bool:
    """DuckDB's out-of-memory error when the spill folder, not the memory, is what ran out."""
    return "max_temp_directory_size" in str(exc)


def registry_path(db: str | Path | None = None) -> Path:
    """The embedded DuckDB file that holds the registry, audit log and decisions, whatever engine reads the
    events: ``db`` when it is a file path or a ``duckdb://`` URL, else the default database."""
    text = str(db) if db is not None else None
    if text and "://" in text:
        scheme, rest = text.split("://", 1)
        return Path(rest) if scheme == "duckdb" and rest and rest != ":memory:" else database_path(None)
    return database_path(db)


_TEMP_PREFIX = "workbench-duckdb-"
_process_temp: dict[int, Path] = {}


def process_temp_dir() -> Path:
    """This process's own DuckDB spill folder, removed when the process exits.

    Two processes spilling into one folder overwrite each other's temp files (DuckDB names them
    by its own counter), which crashed concurrent aggregations and report runs. Each process gets a
    folder named by its pid; folders left by processes that died (``kill -9``) are removed when the
    next one is made.
    """
    mine = _process_temp.get(os.getpid())   # keyed by pid: a forked child makes its own
    if mine is not None and mine.exists():
        return mine
    from .processes import remove_stale_dirs
    remove_stale_dirs(_TEMP_PREFIX)
    mine = _process_temp[os.getpid()] = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, mine, True)
    return mine


def quote_ident(name: str) -> str:
    """A SQL identifier in double quotes (embedded quotes doubled), for table and column names.

    >>> print(quote_ident('a"b'))
    "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


def open_while_locked(open_: Callable[[], T], path: Path, timeout: float = BUSY_TIMEOUT_S) -> T:
    """``open_()``, retried with backoff while another process holds ``path``'s lock (up to ``timeout`` s);
    any other failure, or a lock held past the timeout, is one line naming the file."""
    import duckdb

    deadline, delay = time.monotonic() + timeout, 0.05
    while True:
        try:
            return open_()
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise WorkbenchError(f"{path}: cannot open the database ({str(exc).splitlines()[0]})") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def database_path(db: str | Path | None = None) -> Path:
    """The DuckDB file to use: the argument, else ``WORKBENCH_DB``, else ``data/workbench.duckdb``."""
    return Path(db) if db is not None else Paths.default().db


@contextlib.contextmanager
def connect(db: str | Path | None = None, *, read_only: bool = False,
            timeout: float = BUSY_TIMEOUT_S) -> Iterator[ibis.BaseBackend]:
    """Open an Ibis connection for the duration of a ``with`` block.

    ``db`` is a DuckDB file path, ``":memory:"`` or an Ibis URL (``scheme://...``). Read-only opens of a missing
    file raise :class:`NotFoundError` with a hint; a busy file is retried until ``timeout``.
    """
    import ibis

    text = str(db) if db is not None else None
    if text and ("://" in text or text == ":memory:"):
        con = ibis.duckdb.connect() if text == ":memory:" else ibis.connect(text)
        if con.name == "duckdb":
            _configure(con)
        try:
            yield con
        finally:
            con.disconnect()
        return
    path = database_path(db)
    if read_only and not path.exists():
        raise NotFoundError(f"{path}: database not found — run `workbench simulate` (or `make demo`) first, "
                            "or point WORKBENCH_DB / --db at your database")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = open_while_locked(lambda: ibis.duckdb.connect(str(path), read_only=read_only), path, timeout)
    _configure(con)
    try:
        yield con
    finally:
        con.disconnect()
