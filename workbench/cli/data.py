"""CLI commands of the data layer: simulate, summarize, demo, version."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import __version__
from ..config import Paths
from ..display import fmt_count, fmt_elapsed
from ..errors import InputError, Problem
from ._common import JSON_OPTION, console, engine_options, err_console, file_or_experiment, print_json, table

if TYPE_CHECKING:
    from ..summary import ExperimentSummary

DB_OPTION = typer.Option(None, "--db", help="DuckDB file (or Ibis URL) holding the events; default data/workbench.duckdb "
                                            "or $WORKBENCH_DB.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("demo", help="Set up the sample world and run the whole pipeline on it: generate events, "
                             "analyse every experiment, print a summary and where the outputs went.")(demo)
    app.command("simulate", help="Generate the synthetic e-commerce world (seeded, deterministic) with its true "
                                 "effects written beside the data.")(simulate)
    app.command("summarize", help="Per-variant units, funnel and rates of an input file or of an experiment in "
                                  "the database (descriptive only; see `analyze` for inference).")(engine_options(summarize_cmd))
    app.command("version", help="Print the workbench version.")(version)


def version() -> None:
    typer.echo(__version__)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True, disable=not sys.stderr.isatty())


def simulate(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="A .duckdb file, or a directory for Parquet files "
                                       "(events.parquet, pre_period.parquet, truth.parquet...). Default: the "
                                       "workbench database."),
    seed: int = typer.Option(20261121, "--seed", help="Random seed; the same seed gives the same data."),
    scale: float = typer.Option(1.0, "--scale", min=0.001, help="Traffic multiplier (1.0 ≈ 1.7 million events)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing world: a fresh file is written next to "
                               "it and swapped in at once (registry and audit log kept). Without it an existing "
                               "file is refused."),
    format_: Optional[str] = typer.Option(None, "--format", help="parquet: write a hive-partitioned Parquet lake to "
                                          "the --out folder (events/date=YYYY-MM-DD/*.parquet, pre_period/, "
                                          "catalog_daily/ ...), readable with --events on DuckDB or Spark."),
    experiments: Optional[int] = typer.Option(None, "--experiments", min=1, help="Number of experiments "
                                              "(default: the 13 demo experiments); more repeat the demo's with "
                                              "new ids and owners, e.g. 500 for a large portfolio (use a small "
                                              "--scale)."),
) -> None:
    from ..simulate.specs import DEMO_EXPERIMENTS, portfolio_specs
    from ..simulate.writer import write_world

    if format_ not in (None, "duckdb", "parquet"):
        raise InputError([Problem("blocked", "bad_option", "--format must be duckdb or parquet", column="format",
                                  value=format_)])
    if format_ == "parquet" and (out is None or out.suffix):
        raise InputError([Problem("blocked", "bad_option", "--format parquet writes a folder: give --out DIR",
                                  column="out", value=str(out) if out else None)])
    target = out or Paths.default().db
    specs = portfolio_specs(experiments) if experiments else DEMO_EXPERIMENTS
    with _progress() as bar:
        task = bar.add_task("generating experiments", total=len(specs))
        summary = write_world(target, seed=seed, scale=scale, force=force, experiments=specs,
                              progress=lambda _e: bar.advance(task), layout="lake" if format_ == "parquet" else "flat")
    console.print(f"wrote {fmt_count(summary.events)} events of {summary.experiments} experiments to {summary.path} "
                  f"({summary.format}, seed {seed}, {fmt_elapsed(summary.seconds)})"
                  + ("; replaced the previous world (registry and audit log kept)" if summary.replaced else ""))
    reports = Paths.default().reports
    if summary.replaced and out is None and reports.is_dir() and any(reports.iterdir()):
        err_console.print(f"note: the reports in {reports} were built from the previous world; `workbench report "
                          "--all` rebuilds them (the dashboard shows the new world at its next refresh)",
                          highlight=False, markup=False)


def _summary_table(s: ExperimentSummary):
    from ..tables import summary_caption, summary_rows
    headers, rows = summary_rows(s)
    return table(f"{s.experiment_id}" + (f" (as of {s.as_of})" if s.as_of else ""), headers, rows,
                 caption=summary_caption(s) + "\n[P] primary  [S] secondary  [G] guardrail")


def summarize_cmd(
    file: Optional[Path] = typer.Argument(None, help="Aggregated results CSV, unit-level table or event log "
                                          "(CSV/Parquet), or an experiment id in the database. Omit to read every "
                                          "experiment from the database."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help="Experiment id (in the database, "
                                             "or within an event-log file)."),
    db: Optional[str] = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    from ..sources.detect import read_any
    from ..sources.experiments import load_experiments
    from ..summary import summarize

    with file_or_experiment(file, experiment) as (file, experiment):
        if file is not None:
            datasets = read_any(file, experiment=experiment)
        else:
            datasets = load_experiments([experiment] if experiment else None, db=db)
    blocked = [p for d in datasets.values() for p in d.problems if p.level == "blocked"]
    if blocked:
        raise InputError(blocked)
    summaries = [summarize(d) for d in datasets.values()]
    if as_json:
        print_json([s.to_dict() for s in summaries] if len(summaries) != 1 else summaries[0].to_dict())
        return
    for s in summaries:
        console.print(_summary_table(s))


def demo(
    fresh: bool = typer.Option(False, "--fresh", help="Regenerate the sample world even if it exists."),
    seed: int = typer.Option(20261121, "--seed", help="Seed of the sample world."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="End by serving the dashboard."),
) -> None:
    from ..demo import run_demo

    run_demo(fresh=fresh, seed=seed, serve=serve, console=console)
