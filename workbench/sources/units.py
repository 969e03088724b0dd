"""Unit-level tables: one row per randomisation unit (CSV or Parquet), aggregated through Ibis.

Columns:

- ``variant`` (required): the unit's variant; ``control`` is the control, else the first seen;
- ``unit_id`` or ``user_key`` (optional): the unit's id — a unit in two rows is a problem;
- ``experiment_id`` (optional): must hold a single value (split other experiments out);
- numeric columns: per-unit metric values. Columns holding only 0/1 are proportions, others means;
- ``pre_<name>`` numeric columns: the pre-period covariate of metric ``<name>`` (CUPED);
- text columns: segments (device, channel, new vs returning...).

>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "units.csv"
>>> _ = f.write_text("variant,device,purchased,revenue,pre_revenue\\ncontrol,app,1,20.0,10\\n"
...                  "control,web,0,0,5\\ntreatment,app,1,30,12\\ntreatment,web,1,25,0\\n")
>>> d = read_units(f)
>>> [(m.name, m.kind, m.covariate) for m in d.metrics]
[('purchased', 'proportion', None), ('revenue', 'mean', 'pre_revenue')]
>>> d.stats("revenue").mean.tolist(), d.dims
([10.0, 27.5], ('device',))
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from ..adjustment import adjustment_products
from ..errors import InputError, Problem
from ..experiment_data import ExperimentData
from ..ids import id_from_name, safe_id
from ..metrics import Metric, sq_col, sum_col, xprod_col
from .locate import example_rows
from .textfile import check_csv_head, display_name, engine_message, file_format

__all__ = ["read_units"]

_ID_COLUMNS = ("unit_id", "user_key")


def read_units(path: str | Path, *, control: str | None = None, primary: str | None = None) -> ExperimentData:
    """Read and aggregate a unit-level table; ``primary`` names the primary metric (default: the first)."""
    p = Path(path)
    name = display_name(path)
    con = ibis.duckdb.connect()
    try:
        try:
            if file_format(p) == "parquet":
                t, kind = con.read_parquet(str(p), file_row_number=True), "parquet"
            else:
                check_csv_head(p)
                t, kind = con.read_csv(str(p), header=True, auto_detect=True), "csv"
            t = t.rename({c.strip().lower(): c for c in t.columns if c != c.strip().lower()})
            return _read(t, kind, p, name, control, primary)
        except duckdb.Error as exc:
            raise InputError([Problem("blocked", "unreadable", f"cannot read the file: {engine_message(exc)}",
                                      file=name)]) from None
    finally:
        con.disconnect()


def _read(t: ir.Table, kind: str, path: Path, name: str, control: str | None, primary: str | None) -> ExperimentData:
    schema = t.schema()
    if "variant" not in schema:
        raise InputError([Problem("blocked", "missing_column",
                                  f"required column 'variant' is missing (the header has: {', '.join(t.columns)})",
                                  file=name, column="variant", line=1)])
    skip = {"variant", "experiment_id", "file_row_number", *_ID_COLUMNS}
    numeric = [c for c in t.columns if c not in skip and (schema[c].is_numeric() or schema[c].is_boolean())]
    segments = [c for c in t.columns if c not in skip and c not in numeric]
    covariates = {c for c in numeric if c.startswith("pre_") and c[4:] in numeric}
    values = [c for c in numeric if c not in covariates]
    if not values:
        raise InputError([Problem("blocked", "no_metrics", "no numeric metric columns besides pre-period covariates",
                                  file=name, line=1)])

    problems: list[Problem] = []
    rules = {f"missing:{c}": (lambda tt, c=c: tt[c].isnull(), c, f"{c}: missing value (empty or NaN)")
             for c in [*numeric, "variant"]}
    checks = {k: fn(t).ifelse(1, 0).sum() for k, (fn, _, _) in rules.items()}
    stats = t.aggregate(n=t.count(), **checks, **{f"bin:{c}": (~t[c].cast("float64").isin([0.0, 1.0])).ifelse(1, 0)
                                                   .sum() for c in values}).execute().iloc[0]
    for key, (fn, col, msg) in rules.items():
        bad = int(stats[key] or 0)
        for row, value in (example_rows(t, kind, path, fn, col) if bad else []):
            problems.append(Problem("blocked", "missing_value", f"{msg} ({bad:,} row{'s' if bad != 1 else ''} like this)",
                                    file=name, column=col, row=row, line=row + 1 if kind == "csv" and row else None,
                                    value=value))
    id_col = next((c for c in _ID_COLUMNS if c in schema), None)
    if id_col:
        dup = t.group_by(id_col).aggregate(k=t.count()).filter(lambda g: g.k > 1)
        n_dup = int(dup.count().execute())
        if n_dup:
            first = dup.limit(1).execute()[id_col].iat[0]
            rows = example_rows(t, kind, path, lambda tt: tt[id_col] == first, id_col, limit=2)
            problems.append(Problem("blocked", "duplicate_unit",
                                    f"unit {first!r} appears in more than one row (rows "
                                    f"{', '.join(str(r) for r, _ in rows)}); {n_dup:,} units like this",
                                    file=name, column=id_col, row=rows[0][0] if rows else None, value=first))
    experiment_id = id_from_name(path.stem)           # one id rule: a file name becomes a safe id
    if "experiment_id" in schema:
        ids = sorted(t.select(t.experiment_id.cast("string").name("e")).distinct().execute()["e"].dropna().tolist())
        if len(ids) > 1:
            raise InputError([Problem("blocked", "several_experiments",
                                      f"the table holds {len(ids)} experiments ({', '.join(map(str, ids[:5]))}); "
                                      "give one experiment per file", file=name, column="experiment_id")])
        if ids:
            try:
                experiment_id = safe_id(str(ids[0]), column="experiment_id")
            except InputError as err:
                raise InputError([replace(p, file=name) for p in err.problems]) from None

    metrics = []
    for c in values:
        cov = f"pre_{c}" if f"pre_{c}" in covariates else None
        is_binary = int(stats[f"bin:{c}"] or 0) == 0
        metrics.append(Metric(c, "proportion" if is_binary and not cov else "mean", c, covariate=cov,
                              unit="rate" if is_binary else "value"))
    lead = primary or metrics[0].name
    if lead not in {m.name for m in metrics}:
        raise InputError([Problem("blocked", "unknown_metric", f"primary metric {lead!r} is not a numeric column",
                                  file=name, column=lead)])
    metrics = [m.with_role("primary" if m.name == lead else "secondary") for m in metrics]

    tm = t.mutate(variant=t.variant.cast("string"), **{s: t[s].cast("string") for s in segments})
    aggs = {"n": tm.count()}
    for c in [*values, *sorted(covariates)]:
        col = tm[c].cast("float64")
        aggs[sum_col(c)] = col.sum()
        aggs[sq_col(c)] = (col * col).sum()
    for m in metrics:
        if m.covariate:
            aggs[xprod_col(m.numerator, m.covariate)] = (tm[m.numerator].cast("float64")
                                                         * tm[m.covariate].cast("float64")).sum()
    for a, b in sorted(adjustment_products(metrics, sorted(covariates))):   # balance check, multi-covariate adjustment
        aggs.setdefault(xprod_col(a, b), (tm[a].cast("float64") * tm[b].cast("float64")).sum())
    cube = tm.group_by(["variant", *segments]).aggregate(**aggs).execute()
    cube[list(aggs)] = cube[list(aggs)].fillna(0.0).astype("float64")
    labels = sorted(cube["variant"].dropna().unique().tolist(), key=str)
    if control is not None and control not in labels:
        raise InputError([Problem("blocked", "unknown_control", f"the control {control!r} is not a variant in the file "
                                  f"(variants: {', '.join(labels)})", file=name, column="variant", value=control)])
    ctrl = control or next((v for v in labels if v.lower() == "control"), labels[0] if labels else "")
    note = (f"given as {control!r}" if control else "the variant named 'control'" if ctrl.lower() == "control"
            else f"no variant is named 'control', so the first alphabetically ({ctrl!r}) is the control")
    if len(labels) < 2:
        problems.append(Problem("blocked", "single_arm", f"at least 2 variants are needed; found {len(labels)}",
                                file=name, column="variant"))
    variants = tuple([ctrl, *[v for v in labels if v != ctrl]])
    return ExperimentData(experiment_id=experiment_id, variants=variants, cube=cube.dropna(subset=["variant"]),
                          metrics=tuple(metrics), dims=tuple(segments), control_note=note, problems=tuple(problems),
                          source=name, meta={"kind": "ab", "format": "unit_table"})

