"""Open any supported input file as ExperimentData, recognising its format by its content and its
form by its columns — the one entry every command that reads results goes through.

- Parquet is recognised by its magic bytes (``PAR1``), whatever the file is called; anything else
  must be UTF-8, comma-separated text (:mod:`.textfile`);
- columns ``event`` and ``user_key`` → an event log (:mod:`.events`), one ExperimentData per experiment;
- ``users`` (or ``units``/``n``), or ``conversions`` without a unit id column → aggregated results
  (:mod:`.aggregated`); a missing ``users`` column is then named, never read as one user per row;
- a ``variant`` column and per-unit values → a unit-level table (:mod:`.units`).

:func:`read_results` returns one experiment's data (``analyze``, ``check``, ``memo``, ``decide``,
``allocate``, :func:`workbench.analysis.analyze` on a path); :func:`read_any` every experiment of a
file (``summarize``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import InputError, Problem, WorkbenchError
from ..experiment_data import ExperimentData
from .aggregated import USERS_ALIASES
from .textfile import check_csv_head, display_name, file_format, lift_csv_field_limit

__all__ = ["input_form", "read_any", "read_results", "require_usable"]

_ID_COLUMNS = ("unit_id", "user_key")


def _columns(path: Path) -> list[str]:
    name = display_name(path)
    if file_format(path) == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            return [c.strip().lower() for c in pq.read_schema(path).names]
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError([Problem("blocked", "unreadable", f"not a readable Parquet file: "
                                      f"{str(exc).splitlines()[0]}", file=name)]) from None
    check_csv_head(path)
    lift_csv_field_limit()
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        try:
            return [c.strip().lower() for c in next(csv.reader(fh))]
        except csv.Error as exc:
            raise InputError([Problem("blocked", "bad_csv", f"not valid CSV: {exc}", file=name, line=1)]) from None


def input_form(path: str | Path) -> str:
    """"aggregated", "events" or "units", judged from the file's header."""
    cols = set(_columns(Path(path)))
    if {"event", "user_key"} <= cols:
        return "events"
    per_unit = bool(cols & set(_ID_COLUMNS))      # a unit id column: one row per unit, whatever else it has
    has_users = "users" in cols or (any(c in cols for c in USERS_ALIASES) and not per_unit)
    if "variant" in cols and (has_users or ("conversions" in cols and not per_unit)):
        return "aggregated"
    if {"users", "conversions"} <= cols:
        return "aggregated"
    if "variant" in cols:
        return "units"
    shown = ", ".join(sorted(cols))
    raise InputError([Problem(
        "blocked", "unknown_form",
        "cannot tell what this file is: aggregated results need columns variant, users, conversions; "
        "an event log needs event, user_key, experiment_id, variant_id...; a unit-level table needs a variant "
        f"column (the header has: {shown[:200] + '…' if len(shown) > 200 else shown})",
        file=display_name(path), line=1)])


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


def read_results(path: str | Path, *, experiment: str | None = None, control: str | None = None,
                 expected_weights: dict[str, float] | None = None, segment: str | None = None) -> ExperimentData:
    """One experiment's data from a results file of any form (aggregated CSV/Parquet, unit-level table,
    event log; ``experiment`` picks one of an event log's experiments). Problems in the rows are on
    ``data.problems`` (the health check lists them); an unreadable file raises :class:`InputError`."""
    form = input_form(path)
    if form == "aggregated":
        from .aggregated import read_aggregated
        return read_aggregated(path, control=control, expected_weights=expected_weights, segment=segment)
    datasets = read_any(path, experiment=experiment)
    if len(datasets) != 1:
        raise WorkbenchError(f"{display_name(path)} holds {len(datasets)} experiments; choose one with --experiment: "
                             + ", ".join(sorted(datasets)))
    return next(iter(datasets.values()))


def require_usable(data: ExperimentData) -> ExperimentData:
    """``data`` when none of its problems is blocking, else :class:`InputError` with those problems."""
    blocked = [p for p in data.problems if p.level == "blocked"]
    if blocked:
        raise InputError(blocked)
    return data
