"""Where the event work runs: the embedded DuckDB (default), Apache Spark, or any Ibis backend.

The choice comes from ``--engine`` / ``WORKBENCH_ENGINE`` / ``engine:`` in ``workbench.yaml`` (first
found wins) and the events from ``--events`` / ``WORKBENCH_EVENTS`` / ``engine.events``:

- ``duckdb`` without a lake: the ``events`` table of the workbench database (today's behaviour);
- ``duckdb`` with a lake: an in-memory DuckDB reading the Parquet lake (streamed, spilling to this
  process's temp folder);
- ``spark``: a SparkSession — ``engine.spark.master`` ``local[N]`` starts one in this process (settings
  from ``engine.spark.conf``), ``sc://host:port`` connects to Spark Connect, and :func:`use_spark`
  hands over an existing session from Python; it reads the lake;
- ``sc://host:port``: Spark Connect directly; any other ``scheme://`` is an Ibis URL.

Only the event work moves: the registry, audit log, decisions and reports stay in the embedded
DuckDB file (:func:`workbench.db.registry_path`). The Spark session is kept for the life of the
process (a second load reuses it; nothing here stops it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from .config import get_settings
from .errors import WorkbenchError

__all__ = ["EngineChoice", "resolve_engine", "open_events", "use_spark", "spark_session", "engine_errors",
           "engine_message"]

_SPARK: dict[str, Any] = {}          # "session": the SparkSession in use (ours or handed over)


@dataclass(frozen=True)
class EngineChoice:
    """The resolved engine (``duckdb``, ``spark``, ``sc://...`` or an Ibis URL) and lake (None = the database)."""

    engine: str
    events: str | None

    @property
    def is_spark(self) -> bool:
        return self.engine == "spark" or self.engine.startswith("sc://")


def resolve_engine(engine: str | None = None, events: str | Path | None = None) -> EngineChoice:
    """The engine and lake in force: the arguments, else the environment, else ``workbench.yaml``."""
    s = get_settings().engine
    name = (engine or os.environ.get("WORKBENCH_ENGINE") or s.backend or "duckdb").strip()
    lake = events or os.environ.get("WORKBENCH_EVENTS") or s.events or None
    if name.lower() in ("duckdb", "spark", "pyspark"):
        name = "spark" if name.lower() in ("spark", "pyspark") else "duckdb"
    elif "://" not in name:
        raise WorkbenchError(f"unknown engine {name!r}: use duckdb, spark, sc://host:port or an Ibis URL "
                             "(scheme://...)")
    return EngineChoice(name, str(lake) if lake else None)


def use_spark(session: Any) -> None:
    """Run the event work of this process on an existing ``SparkSession`` (``--engine spark``)."""
    _SPARK["session"] = session


def engine_errors() -> tuple[type[BaseException], ...]:
    """Exception types by which the engines report a problem with their input."""
    import duckdb
    out: list[type[BaseException]] = [duckdb.Error]
    if "pyspark" in sys.modules:
        from pyspark.errors import PySparkException
        out.append(PySparkException)
        with contextlib.suppress(ImportError):
            from py4j.protocol import Py4JJavaError
            out.append(Py4JJavaError)
    return tuple(out)


def engine_message(exc: BaseException) -> str:
    """The first meaningful line of an engine's error (Spark's carry a JVM stack trace after it). DuckDB's
    out-of-memory error is not about the input: it is raised as the one line naming the memory setting."""
    import duckdb
    if isinstance(exc, duckdb.OutOfMemoryException):
        from .db import memory_error
        raise memory_error(exc) from None
    text = str(exc).strip()
    if hasattr(exc, "java_exception"):          # Py4JJavaError: the Java exception's own message
        text = str(getattr(exc, "java_exception", "")) or text
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return line[:300]


def _check_reachable(url: str, timeout: float) -> None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or 15002
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise WorkbenchError(f"{url}: cannot reach the Spark Connect server ({why}, waited up to {timeout:g} s); "
                             "check the URL and that the server runs, or use --engine spark for a local session") from None


# Settings a Spark Connect client cannot change (the server's own): sent only to a session we start.
SERVER_STATIC = frozenset({"spark.driver.memory", "spark.ui.enabled", "spark.ui.showConsoleProgress",
                           "spark.sql.warehouse.dir"})


def spark_session(master: str | None = None) -> Any:
    """The process's SparkSession: the one handed over by :func:`use_spark`, else one made from the settings
    (``local[N]``, or Spark Connect for ``sc://``). Made once, kept until the process exits."""
    s = get_settings().engine.spark
    master = master or s.master
    have = _SPARK.get("session")
    if have is not None and _SPARK.get("master") in (None, master):
        return have
    if master.startswith("sc://"):
        _check_reachable(master, s.connect_timeout_s)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WorkbenchError("--engine spark needs pyspark: pip install 'experiment-workbench[spark]'") from None
    builder = SparkSession.builder.appName(s.app_name)
    for key, value in s.conf.items():
        if master.startswith("sc://") and key in SERVER_STATIC:
            continue                                  # static settings of a server we do not start
        builder = builder.config(key, value)
    try:
        if master.startswith("sc://"):
            try:
                import grpc  # noqa: F401
            except ImportError:
                raise WorkbenchError("Spark Connect needs grpcio and grpcio-status: pip install 'pyspark[connect]'"
                                     ) from None
            session = builder.remote(master).getOrCreate()
        else:
            session = builder.master(master).getOrCreate()
    except WorkbenchError:
        raise
    except Exception as exc:      # noqa: BLE001 — Java missing, a port in use...: one line, not a JVM trace
        hint = "" if os.environ.get("JAVA_HOME") or _which("java") else " (no `java` found: install Java 17)"
        raise WorkbenchError(f"cannot start Spark ({master}): {engine_message(exc)}{hint}") from None
    _SPARK.update(session=session, master=master)
    return session


def _which(cmd: str) -> str | None:
    import shutil
    return shutil.which(cmd)


@contextlib.contextmanager
def open_events(db: str | Path | None = None, *, engine: Any = None, events: str | Path | None = None
                ) -> Iterator[tuple[Any, str | None]]:
    """An Ibis backend holding the events, and the lake folder it reads (None: the ``events`` table of ``db``).

    ``engine`` is a name or URL (see :func:`resolve_engine`), an Ibis backend or a ``SparkSession``. With a lake,
    its tables are registered as views (``events``, ``pre_period``, ``world_experiments``...).
    """
    from .db import connect
    from .sources.lake import register_lake

    if engine is not None and not isinstance(engine, str):
        con, owned = _backend_of(engine), False
        choice = resolve_engine(None, events)
    else:
        choice = resolve_engine(engine, events)
        con, owned = None, True
    if con is None and choice.engine == "duckdb" and choice.events is None:
        with connect(db, read_only=True) as con:
            yield con, None
        return
    if con is None and choice.is_spark:
        if choice.events is None:
            raise WorkbenchError("--engine spark reads a Parquet lake: give --events DIR (or WORKBENCH_EVENTS); "
                                 "`workbench simulate --format parquet --out DIR` writes the sample world as one")
        import ibis
        master = choice.engine if choice.engine.startswith("sc://") else None
        con, owned = ibis.pyspark.connect(spark_session(master)), False     # never stop the shared session
    if con is None:
        with connect(":memory:" if choice.engine == "duckdb" else choice.engine) as con:
            if choice.events is not None:
                _register(con, choice.events, register_lake)
            yield con, choice.events
        return
    try:
        if choice.events is not None:
            _register(con, choice.events, register_lake)
        yield con, choice.events
    finally:
        if owned:
            con.disconnect()


def _register(con: Any, lake: str, register: Any) -> None:
    from .errors import InputError, Problem
    from .sources.events import _KIND_OK, REQUIRED
    from .sources.lake import check_lake
    # Folders, day gaps and every file's footer first (no data read): one line instead of an engine's stack trace.
    check_lake(lake, None, REQUIRED, _KIND_OK)
    try:
        register(con, lake)
    except engine_errors() as exc:
        raise InputError([Problem("blocked", "unreadable", f"cannot read the lake: {engine_message(exc)}",
                                  file=lake)]) from None


def _backend_of(engine: Any) -> Any:
    import ibis
    if hasattr(engine, "list_tables") and hasattr(engine, "table"):
        return engine                                       # an Ibis backend
    if type(engine).__name__ == "SparkSession":
        use_spark(engine)
        return ibis.pyspark.connect(engine)
    raise WorkbenchError(f"engine must be a name, an Ibis backend or a SparkSession, not {type(engine).__name__}")
