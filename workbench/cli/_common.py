"""Shared CLI helpers: consoles, JSON output, tables."""

from __future__ import annotations

import sys
from typing import Any, Iterable, Sequence

import typer
from rich.console import Console
from rich.table import Table

from ..display import dumps

# Piped output (logs, CI, `make demo | tee`) gets wide tables instead of Rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

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


def print_json(obj: Any) -> None:
    """Write JSON to stdout without Rich's wrapping or colour (safe to pipe into jq)."""
    typer.echo(dumps(obj, indent=2))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> Table:
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    return t
