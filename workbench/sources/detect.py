"""Open any supported input file as ExperimentData, recognising its form by its columns.

- columns ``users`` and ``conversions`` → the aggregated CSV (:mod:`.aggregated`);
- columns ``event`` and ``user_key`` → an event log (:mod:`.events`), one ExperimentData per experiment;
- a ``variant`` column and per-unit values → a unit-level table (:mod:`.units`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq

from ..errors import InputError, Problem
from ..experiment_data import ExperimentData
from .textfile import check_csv_head, display_name

__all__ = ["input_form", "read_any"]


def _columns(path: Path) -> list[str]:
    if path.suffix.lower() in {".parquet", ".pq"}:
        if not path.exists():
            raise InputError([Problem("blocked", "missing_file", "file not found", file=display_name(path))])
        return [c.lower() for c in pq.read_schema(path).names]
    if path.suffix.lower() != ".csv":
        raise InputError([Problem("blocked", "unsupported_file",
                                  "expected a .csv or .parquet file", file=display_name(path))])
    check_csv_head(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [c.strip().lower() for c in next(csv.reader(fh))]


def input_form(path: str | Path) -> str:
    """"aggregated", "events" or "units", judged from the file's header."""
    cols = set(_columns(Path(path)))
    if {"event", "user_key"} <= cols:
        return "events"
    if {"users", "conversions"} <= cols or ("variant" in cols and "users" in cols):
        return "aggregated"
    if "variant" in cols:
        return "units"
    raise InputError([Problem(
        "blocked", "unknown_form",
        "cannot tell what this file is: an aggregated results CSV needs columns variant, users, conversions; "
        "an event log needs event, user_key, experiment_id, variant_id...; a unit-level table needs a variant "
        f"column (the header has: {', '.join(sorted(cols))})", file=display_name(path), line=1)])


def read_any(path: str | Path, *, experiment: str | None = None) -> dict[str, ExperimentData]:
    """Read a file of any supported form; returns ExperimentData by experiment id."""
    form = input_form(path)
    if form == "aggregated":
        from .aggregated import read_aggregated
        d = read_aggregated(path)
        return {d.experiment_id: d}
    if form == "units":
        from .units import read_units
        d = read_units(path)
        return {d.experiment_id: d}
    from .experiments import load_experiments
    return load_experiments([experiment] if experiment else None, source=str(path))
