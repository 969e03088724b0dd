"""Shared CLI helpers: consoles, JSON output, tables."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import typer
from rich.console import Console
from rich.table import Table

from ..display import dumps

# Piped output (logs, CI, `make demo | tee`) gets wide tables instead of Rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

WHOLE_PROCESS = False
"""True when ``workbench`` runs as its own process (the console script or ``python -m workbench``), not
when :func:`workbench.cli.main` is called from Python with arguments (tests, scripts)."""

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON (full-precision floats) instead of tables.")

MLFLOW_OPTION = typer.Option(None, "--mlflow", metavar="[URI]",
                             help="Also log the analysis as an MLflow run at URI (bare --mlflow, last or as --mlflow=: "
                                  "tracking.mlflow_uri, $MLFLOW_TRACKING_URI or ./mlruns).")
OPTIONAL_VALUE_OPTIONS = ("--mlflow",)
"""Options whose value may be left out (``--mlflow`` alone means the configured default)."""


def optional_values(argv: list[str]) -> list[str]:
    """Give a bare ``--mlflow`` (last, or before another option) an empty value: ``--mlflow=``."""
    out = []
    for i, a in enumerate(argv):
        if a in OPTIONAL_VALUE_OPTIONS and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            a = f"{a}="
        out.append(a)
    return out


def log_mlflow(summary: Any, uri: str, **kwargs: Any) -> None:
    """Log a summary to MLflow (``--mlflow``) and say where it went, on stderr (stdout may be JSON)."""
    from ..tracking import log_to_mlflow
    run = log_to_mlflow(summary, uri=uri, **kwargs)
    err_console.print(f"MLflow: run {run.run_id} in experiment {run.mlflow_experiment_id} at {run.tracking_uri}",
                      highlight=False, markup=False, soft_wrap=True)


@contextlib.contextmanager
def file_or_experiment(file: Optional[Path], experiment: Optional[str]
                       ) -> Iterator[tuple[Optional[Path], Optional[str]]]:
    """``workbench analyze pdp-42`` as ``decide`` and ``report`` take an id: a FILE argument that names no
    file and has neither a folder nor an extension is read as ``--experiment``. Yields ``(file, experiment)``;
    when that id is not an experiment either, the error says both (no such file, the known experiments).

    >>> with file_or_experiment(Path("pdp-42"), None) as (f, e): print(f, e)
    None pdp-42
    >>> with file_or_experiment(Path("results.csv"), None) as (f, e): print(f, e)
    results.csv None
    """
    from ..errors import NotFoundError
    as_id = (file is not None and experiment is None and not file.suffix and len(file.parts) == 1
             and not file.exists())
    if not as_id:
        yield file, experiment
        return
    try:
        yield None, str(file)
    except NotFoundError as exc:
        raise NotFoundError(f"{file}: no such file, and {exc}") from None


def print_json(obj: Any) -> None:
    """Write JSON to stdout without Rich's wrapping or colour (safe to pipe into jq)."""
    typer.echo(dumps(obj, indent=2))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
          align: str | None = None) -> Table:
    """A rich table: the first column left-aligned, the others right-aligned (numbers), unless ``align`` gives
    one letter per column (``l``/``r``), for tables of words."""
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, c in enumerate(columns):
        justify = {"l": "left", "r": "right"}[align[i]] if align else ("left" if i == 0 else "right")
        t.add_column(c, justify=justify)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    return t


ENGINE_HELP = ("Where the event work runs: duckdb (default, embedded), spark (local session, or engine.spark.master), "
               "sc://host:port (Spark Connect) or an Ibis URL; default $WORKBENCH_ENGINE or engine: in workbench.yaml.")
EVENTS_HELP = ("A hive-partitioned Parquet lake (events/date=YYYY-MM-DD/*.parquet, pre_period/...) to read instead of "
               "the database's events table; default $WORKBENCH_EVENTS or engine.events. The registry stays in --db.")


@contextlib.contextmanager
def engine_env(engine: Optional[str], events: Optional[str]) -> Iterator[None]:
    """``--engine``/``--events`` in force for one command: set as ``WORKBENCH_ENGINE``/``WORKBENCH_EVENTS`` (so report
    kernels started by the command see them too) and restored afterwards."""
    from ..engine import resolve_engine
    resolve_engine(engine, events)                     # an unknown engine is refused before any work
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_ENGINE", "WORKBENCH_EVENTS")}
    try:
        if engine:
            os.environ["WORKBENCH_ENGINE"] = engine
        if events:
            os.environ["WORKBENCH_EVENTS"] = str(Path(events).resolve()) if "://" not in events else events
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def engine_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command that reads events the ``--engine`` and ``--events`` options (one helper for every such command)."""
    sig = inspect.signature(fn)
    extra = [inspect.Parameter("engine", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                               default=typer.Option(None, "--engine", help=ENGINE_HELP)),
             inspect.Parameter("events", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                               default=typer.Option(None, "--events", help=EVENTS_HELP))]

    @functools.wraps(fn)
    def wrapper(*args: Any, engine: Optional[str] = None, events: Optional[str] = None, **kwargs: Any) -> Any:
        with engine_env(engine, events):
            return fn(*args, **kwargs)

    hints = typing.get_type_hints(fn)              # the command's string annotations, resolved in its own module
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation))
              for p in sig.parameters.values()]
    wrapper.__signature__ = sig.replace(parameters=[*params, *extra],      # type: ignore[attr-defined]
                                        return_annotation=hints.get("return", sig.return_annotation))
    wrapper.__annotations__ = {**hints, "engine": Optional[str], "events": Optional[str]}
    del wrapper.__wrapped__        # typer must read the new signature, not the wrapped function's
    return wrapper
