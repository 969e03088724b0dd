"""Aggregated results (the decision-layer format): one row per variant, optionally per segment — CSV or Parquet.

Columns:

============================  =========================================================
``variant``                   variant label; the row named ``control`` is the control,
                              otherwise the first row (the result says which)
``users``                     units in the variant (whole number > 0; ``units`` or ``n`` also accepted)
``conversions``               units that converted (0 ≤ conversions ≤ users)
``guardrail_<name>``          optional: units with a guardrail event (e.g. ``guardrail_error``)
``<metric>_sum``,             optional pair for a continuous metric (e.g. revenue):
``<metric>_sum_sq``           Σy and Σy² over the variant's users
``segment``                   optional: one row per variant × segment (device, channel...)
============================  =========================================================

Structural problems (missing file, empty, not UTF-8, wrong delimiter, missing required column)
raise :class:`~workbench.errors.InputError`. Logic problems (negative, NaN, conversions > users,
duplicate variant, non-integer counts, a single variant...) are *all* collected as Blocked
problems on the returned :class:`~workbench.experiment_data.ExperimentData`, each naming the file,
row (and line), column and value, so a health check can list every one of them.

>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "ab.csv"
>>> _ = f.write_text("variant,users,conversions,guardrail_error\\ncontrol,10000,1200,35\\ntreatment,10050,1320,33\\n")
>>> d = read_aggregated(f)
>>> d.variants, d.control_note, [m.name for m in d.metrics]
(('control', 'treatment'), "the row named 'control'", ['conversion_rate', 'guardrail_error'])
>>> d.stats("conversion_rate").mean.round(4).tolist()
[0.12, 0.1313]
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, Problem
from ..experiment_data import ExperimentData
from ..metrics import Metric, sq_col, sum_col
from ..ids import id_from_name
from .textfile import display_name, preview, read_table

__all__ = ["read_aggregated", "REQUIRED_COLUMNS", "USERS_ALIASES"]

REQUIRED_COLUMNS = ("variant", "users", "conversions")
_MISSING = {"", "nan", "na", "n/a", "null", "none"}


USERS_ALIASES = ("units", "n")
"""Other names accepted for the ``users`` column (the bandit and SKU tables say units or n)."""


def _parse(raw: str, *, integer: bool, max_count: int = 2 ** 53) -> tuple[float, str | None, str | None]:
    """Parse one cell: (value, problem code, problem message)."""
    text = raw.strip()
    if text.lower() in _MISSING:
        return math.nan, "missing_value", "missing value (empty or NaN)"
    try:
        value = float(text)
    except ValueError:
        return math.nan, "not_a_number", "not a number"
    if not math.isfinite(value):
        return math.nan, "not_finite", "must be a finite number"
    if integer and not value.is_integer():
        return value, "not_integer", "must be a whole number (a count)"
    if integer:
        digits = text.lstrip("+-").lstrip("0") or "0"          # int() refuses over 4,300 digits: leading zeros
        exact = (int(digits) * (-1 if text.startswith("-") else 1) if _INT.fullmatch(text) and len(digits) <= 30
                 else int(value))
        if abs(exact) > max_count:
            return math.nan, "count_too_large", (f"{exact:,} is above the largest count the workbench handles exactly "
                                                 f"({max_count:,}{' = 2^53' if max_count == 2 ** 53 else ''}; Settings.limits.max_count)")
    return value, None, None


_INT = re.compile(r"[-+]?\d+")


def _rename_aliases(header: list[str], name: str) -> tuple[list[str], list[Problem]]:
    """``units`` or ``n`` stand for ``users`` (one of them, not two)."""
    present = [a for a in ("users", *USERS_ALIASES) if a in header]
    if len(present) > 1:
        return header, [Problem("blocked", "duplicate_column", f"columns {' and '.join(map(repr, present))} both give "
                                "the number of users; keep one", file=name, column=present[1], line=1)]
    if present and present[0] != "users":
        header = ["users" if h == present[0] else h for h in header]
    return header, []


def read_aggregated(path: str | Path, *, control: str | None = None,
                    expected_weights: dict[str, float] | None = None, segment: str | None = None) -> ExperimentData:
    """Read and validate aggregated results (CSV or Parquet, recognised by content) into an :class:`ExperimentData`.

    ``users`` may be named ``units`` or ``n``. ``segment`` names the column that splits rows by
    segment (default a column called ``segment``); it becomes the data's dimension of that name.
    """
    from ..config import get_settings
    limits = get_settings().limits
    name = display_name(path)
    table = read_table(path, required=REQUIRED_COLUMNS)
    header, structural = _rename_aliases(table.header, name)
    seen = {h: i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    for c in missing:
        hint = (" — give the number of users (randomised units) of each variant; without it the rows cannot be "
                "read as per-variant totals (a unit-level table needs one row per user and a unit_id column)"
                if c == "users" else "")
        structural.append(Problem("blocked", "missing_column",
                                  f"required column {c!r} is missing (the header has: {', '.join(header)}){hint}",
                                  file=name, column=c, line=1))
    seg_col = segment.strip().lower() if segment else "segment"
    if segment and seg_col not in seen:
        structural.append(Problem("blocked", "missing_column", f"no column {seg_col!r} to segment by (the header "
                                  f"has: {', '.join(header)})", file=name, column=seg_col, line=1))
    sums = {h[: -len("_sum")] for h in header if h.endswith("_sum") and not h.endswith("_sum_sq")}
    sqs = {h[: -len("_sum_sq")] for h in header if h.endswith("_sum_sq")}
    for m in sorted(sums ^ sqs):
        have, need = (f"{m}_sum", f"{m}_sum_sq") if m in sums else (f"{m}_sum_sq", f"{m}_sum")
        structural.append(Problem("blocked", "unpaired_sum", f"column {have!r} needs its pair {need!r}",
                                  file=name, column=have, line=1))
    if structural:
        raise InputError(structural)

    guardrails = [h for h in header if h.startswith("guardrail_")]
    means = sorted(sums & sqs)
    has_segment = seg_col in seen
    used = set(REQUIRED_COLUMNS) | set(guardrails) | {f"{m}_sum" for m in means} | {f"{m}_sum_sq" for m in means}
    used |= {seg_col} if has_segment else set()
    problems: list[Problem] = list(table.problems) + [
        Problem("info", "unused_column", f"column {h!r} is not used", file=name, column=h, line=1)
        for h in header if h not in used and h]

    int_cols = ["users", "conversions", *guardrails]
    float_cols = [c for m in means for c in (f"{m}_sum", f"{m}_sum_sq")]
    records: list[dict[str, Any]] = []
    for r in table.rows:
        row_no, line = r.row, r.line
        cell = dict(zip(header, r.cells))
        rec: dict[str, Any] = {"row_no": row_no, "line_no": line, "variant": cell["variant"].strip()}
        if not rec["variant"]:
            problems.append(Problem("blocked", "missing_variant", "the variant label is empty",
                                    file=name, column="variant", row=row_no, line=line, value=cell["variant"]))
        if has_segment:
            rec["segment"] = cell[seg_col].strip() or "(blank)"
        for col in ("variant", *([seg_col] if has_segment else [])):
            if len(cell[col].strip()) > limits.max_label_chars:
                problems.append(Problem("blocked", "label_too_long", f"{col}: a label of {len(cell[col].strip()):,} "
                                        f"characters; at most {limits.max_label_chars:,} (Settings.limits."
                                        "max_label_chars)", file=name, column=col, row=row_no, line=line,
                                        value=preview(cell[col].strip())))
        for col in int_cols + float_cols:
            value, code, msg = _parse(cell[col], integer=col in int_cols, max_count=limits.max_count)
            rec[col] = value
            if code:
                problems.append(Problem("blocked", code, f"{col}: {msg}", file=name, column=col, row=row_no,
                                        line=line, value=preview(cell[col].strip())))
        problems.extend(_logic(rec, name, guardrails, means))
        records.append(rec)

    frame = pd.DataFrame.from_records(records, columns=["row_no", "line_no", "variant", *(["segment"] if has_segment else []),
                                                        *int_cols, *float_cols])
    problems.extend(_duplicates(frame, name, has_segment))
    labels = [v for v in dict.fromkeys(frame["variant"].tolist()) if v]
    if len(labels) < 2:
        problems.append(Problem("blocked", "single_arm",
                                f"at least 2 variants are needed (a control and a treatment); found {len(labels)}"
                                + (f": {preview(labels[0])!r}" if labels else ""), file=name, column="variant"))
    elif len(labels) > limits.max_variants:
        raise InputError([Problem("blocked", "too_many_variants", f"{len(labels):,} variants; an experiment has at most "
                                  f"{limits.max_variants} (Settings.limits.max_variants)", file=name, column="variant")])
    if has_segment:
        problems.extend(_segment_gaps(frame, name, labels))

    control_label, note = _choose_control(labels, control, name)
    variants = tuple([control_label] + [v for v in labels if v != control_label]) if control_label else tuple(labels)

    dim = seg_col if has_segment else None
    cube = pd.DataFrame({"variant": frame["variant"]})
    if dim:
        cube[dim] = frame["segment"]
    cube["n"] = frame["users"]
    for col in ["conversions", *guardrails]:
        cube[sum_col(col)] = frame[col]
        cube[sq_col(col)] = frame[col]
    for m in means:
        cube[sum_col(m)] = frame[f"{m}_sum"]
        cube[sq_col(m)] = frame[f"{m}_sum_sq"]

    metrics = [Metric("conversion_rate", "proportion", "conversions", role="primary",
                      label="Conversion rate (conversions / users)")]
    metrics += [Metric(g, "proportion", g, role="guardrail", higher_is_better=False,
                       label=f"{g.removeprefix('guardrail_').replace('_', ' ')} rate ({g} / users)") for g in guardrails]
    metrics += [Metric(m, "mean", m, role="secondary", label=f"{m.replace('_', ' ')} per user", unit="value")
                for m in means]
    return ExperimentData(
        experiment_id=id_from_name(Path(path).stem),
        variants=variants, cube=cube, metrics=tuple(metrics), dims=(dim,) if dim else (),
        control_note=note, expected_weights=expected_weights, problems=tuple(problems),
        source=name, meta={"kind": "ab", "format": "aggregated_parquet" if table.kind == "parquet" else "aggregated_csv"})


def _logic(rec: dict[str, Any], name: str, guardrails: list[str], means: list[str]) -> list[Problem]:
    out: list[Problem] = []
    row, line = rec["row_no"], rec["line_no"]
    users = rec["users"]

    def bad(code: str, col: str, msg: str) -> None:
        out.append(Problem("blocked", code, msg, file=name, column=col, row=row, line=line, value=_num(rec[col])))

    if not math.isnan(users):
        if users < 0:
            bad("negative", "users", "users must not be negative")
        elif users == 0:
            bad("zero_users", "users", "users must be greater than 0")
    for col in ["conversions", *guardrails]:
        v = rec[col]
        if math.isnan(v):
            continue
        if v < 0:
            bad("negative", col, f"{col} must not be negative")
        elif not math.isnan(users) and users >= 0 and v > users:
            code = "conversions_exceed_users" if col == "conversions" else "count_exceeds_users"
            bad(code, col, f"{col} ({_num(v)}) exceed users ({_num(users)}); "
                           + ("conversions count converted users, at most one per user" if col == "conversions"
                              else "guardrail columns count users with the event, at most one per user"))
    for m in means:
        s, ss = rec[f"{m}_sum"], rec[f"{m}_sum_sq"]
        if math.isnan(s) or math.isnan(ss):
            continue
        if ss < 0:
            bad("negative", f"{m}_sum_sq", f"{m}_sum_sq must not be negative (it is a sum of squares)")
        elif not math.isnan(users) and users > 0 and ss - s * s / users < -1e-9 * max(1.0, ss):
            bad("negative_variance", f"{m}_sum_sq",
                f"inconsistent sums: {m}_sum_sq ({_num(ss)}) is smaller than {m}_sum²/users ({_num(s * s / users)}),"
                " which would mean a negative variance")
    return out


def _num(v: float) -> float | int:
    return int(v) if isinstance(v, float) and math.isfinite(v) and v.is_integer() else v


def _duplicates(frame: pd.DataFrame, name: str, has_segment: bool) -> list[Problem]:
    out = []
    first: dict[tuple[str, ...], int] = {}
    for rec in frame.itertuples(index=False):
        label = getattr(rec, "variant")
        if not label:
            continue
        key = (getattr(rec, "segment"), label) if has_segment else (label,)
        if key in first:
            where = f" in segment {key[0]!r}" if has_segment else ""
            out.append(Problem("blocked", "duplicate_variant",
                               f"variant {label!r} appears more than once{where} (first at row {first[key]})",
                               file=name, column="variant", row=getattr(rec, "row_no"), line=getattr(rec, "line_no"),
                               value=label))
        else:
            first[key] = getattr(rec, "row_no")
    return out


def _segment_gaps(frame: pd.DataFrame, name: str, labels: list[str]) -> list[Problem]:
    have: dict[str, set[str]] = defaultdict(set)
    for seg, var in zip(frame["segment"], frame["variant"]):
        have[seg].add(var)
    return [Problem("warning", "segment_gap", f"segment {seg!r} has no row for variant(s) {', '.join(map(repr, gone))}",
                    file=name, column="segment", value=seg)
            for seg, vs in have.items() if (gone := [v for v in labels if v not in vs])]


def _choose_control(labels: list[str], control: str | None, name: str) -> tuple[str | None, str]:
    if control is not None:
        match = [v for v in labels if v.lower() == control.strip().lower()]
        if not match:
            raise InputError([Problem("blocked", "unknown_control",
                                      f"the control {control!r} is not a variant in the file (variants: "
                                      f"{', '.join(labels)})", file=name, column="variant", value=control)])
        return match[0], f"given as {control!r}"
    named = [v for v in labels if v.lower() == "control"]
    if named:
        return named[0], "the row named 'control'"
    if not labels:
        return None, ""
    return labels[0], f"no row is named 'control', so the first row ({labels[0]!r}) is the control"
