"""Input of the hierarchical models: conversions per SKU × variant, with each SKU's category.

The models read sufficient statistics only: units (``n``) and conversions per SKU and variant,
and the category each SKU belongs to. :func:`sku_data_from_frame` validates a tidy table with
columns ``sku, category, variant, n, conversions`` (``units`` is accepted for ``n``) and names the
row, column and value of every problem; :func:`sku_data_from_experiments` adapts the data layer's
per-SKU experiments (``ExperimentData.meta`` carries ``category`` and ``product_id``).

Each SKU has one control arm and one or more variant arms. A *lift* is one (SKU, non-control
variant) pair: the models pool lifts on the log-odds scale across the SKUs of a category.

>>> import pandas as pd
>>> df = pd.DataFrame({"sku": ["a", "a", "b", "b"], "category": ["shoes"] * 4,
...                    "variant": ["control", "new"] * 2, "n": [100, 100, 50, 40],
...                    "conversions": [5, 8, 1, 2]})
>>> d = sku_data_from_frame(df)
>>> d.skus, d.categories, d.control_n.tolist(), d.lift_y.tolist()
(('a', 'b'), ('shoes',), [100.0, 50.0], [8.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..config import get_settings
from ..errors import InputError, Problem
from ..experiment_data import ExperimentData

__all__ = ["SkuData", "sku_data_from_frame", "sku_data_from_experiments", "read_sku_file", "REQUIRED_COLUMNS"]

REQUIRED_COLUMNS = ("sku", "category", "variant", "n", "conversions")


@dataclass(frozen=True)
class SkuData:
    """Validated conversions per SKU (control arm) and per lift (SKU × non-control variant).

    Arrays are float64 counts; ``sku_category[j]`` indexes ``categories``; ``lift_sku[l]`` indexes
    ``skus``. ``source`` names where the data came from, for messages.
    """

    skus: tuple[str, ...]
    categories: tuple[str, ...]
    sku_category: NDArray[np.int64]
    control: tuple[str, ...]
    control_n: NDArray[np.float64]
    control_y: NDArray[np.float64]
    lift_sku: NDArray[np.int64]
    lift_variant: tuple[str, ...]
    lift_n: NDArray[np.float64]
    lift_y: NDArray[np.float64]
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_skus(self) -> int:
        return len(self.skus)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def n_lifts(self) -> int:
        return len(self.lift_variant)

    @property
    def lift_category(self) -> NDArray[np.int64]:
        return self.sku_category[self.lift_sku]

    def pooled_control_logit(self) -> float:
        """Log-odds of the pooled control rate (centre of the weakly informative global prior)."""
        y = self.control_y.sum() + 0.5
        n = self.control_n.sum() + 1.0
        return float(np.log(y / (n - y)))

    def to_frame(self) -> pd.DataFrame:
        """Back to the tidy table (control rows first, then variant rows)."""
        ctrl = pd.DataFrame({"sku": self.skus, "category": [self.categories[c] for c in self.sku_category],
                             "variant": self.control, "n": self.control_n, "conversions": self.control_y})
        lifts = pd.DataFrame({"sku": [self.skus[j] for j in self.lift_sku],
                              "category": [self.categories[c] for c in self.lift_category],
                              "variant": self.lift_variant, "n": self.lift_n, "conversions": self.lift_y})
        return pd.concat([ctrl, lifts], ignore_index=True)


def _blocked(code: str, message: str, **where: Any) -> Problem:
    return Problem("blocked", code, message, **where)


def sku_data_from_frame(frame: pd.DataFrame, *, control: str | Mapping[str, str] | None = None,
                        file: str | None = None) -> SkuData:
    """Validate a tidy ``sku, category, variant, n, conversions`` table into :class:`SkuData`.

    ``control`` names the control variant (one name for all SKUs, or a mapping SKU -> name); by
    default a variant called ``"control"`` when every SKU has one, otherwise the first row of
    each SKU. Every problem found is reported at once
    (row numbers are 1-based data rows): missing columns, no categories, a SKU with zero units,
    conversions above units, negative or non-integer counts, a SKU in two categories, duplicate
    rows, a SKU without a variant arm.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError([_blocked("bad_input", "expected a table (pandas DataFrame) of SKU × variant counts",
                                   file=file)])
    df = frame.copy()
    if "n" not in df.columns and "units" in df.columns:
        df = df.rename(columns={"units": "n"})
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    problems: list[Problem] = []
    if missing:
        if missing == ["category"]:
            msg = "no categories: the hierarchical model needs each SKU's category (column 'category')"
        else:
            msg = (f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; expected columns "
                   f"{', '.join(REQUIRED_COLUMNS)} (the table has: {', '.join(map(str, df.columns))[:200]})")
        raise InputError([_blocked("missing_column", msg, file=file, column=missing[0])])
    if df.empty:
        raise InputError([_blocked("empty", "no rows: nothing to fit", file=file)])
    df = df.reset_index(drop=True)
    rows = np.arange(1, len(df) + 1)

    cat = df["category"]
    cat_missing = cat.isna() | (cat.astype(str).str.strip() == "")
    if cat_missing.all():
        raise InputError([_blocked("no_categories", "no categories: every row's category is empty; the hierarchical "
                                   "model needs each SKU's category", file=file, column="category")])
    for r in rows[cat_missing.to_numpy()]:
        problems.append(_blocked("missing_category", "category is empty", file=file, row=int(r), column="category"))
    for col in ("sku", "variant"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        for r in rows[bad.to_numpy()]:
            problems.append(_blocked(f"missing_{col}", f"{col} is empty", file=file, row=int(r), column=col))

    counts: dict[str, np.ndarray] = {}
    for col in ("n", "conversions"):
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
        for i in np.flatnonzero(~np.isfinite(num)):
            problems.append(_blocked("not_a_number", f"{col} must be a whole number", file=file, row=int(rows[i]),
                                     column=col, value=raw.iloc[i]))
        finite = np.isfinite(num)
        for i in np.flatnonzero(finite & (num < 0)):
            problems.append(_blocked("negative", f"{col} must be >= 0", file=file, row=int(rows[i]), column=col,
                                     value=num[i]))
        for i in np.flatnonzero(finite & (num >= 0) & (num != np.round(num))):
            problems.append(_blocked("not_integer", f"{col} must be a whole number", file=file, row=int(rows[i]),
                                     column=col, value=num[i]))
        counts[col] = num
    max_count = get_settings().limits.max_count
    for col in ("n", "conversions"):
        num = counts[col]
        for i in np.flatnonzero(np.isfinite(num) & (num > max_count)):
            problems.append(_blocked("count_too_large", f"{col}: {num[i]:,.0f} is above the largest count the workbench "
                                     f"handles exactly ({max_count:,} = 2^53; Settings.limits.max_count)", file=file,
                                     row=int(rows[i]), column=col, value=df[col].iloc[i]))
            num[i] = np.nan
    n, y = counts["n"], counts["conversions"]
    ok = np.isfinite(n) & np.isfinite(y)
    for i in np.flatnonzero(ok & (n == 0)):
        problems.append(_blocked("zero_units", f"SKU {df['sku'].iloc[i]!r} variant {df['variant'].iloc[i]!r} has zero "
                                 "units; drop the row or wait for traffic", file=file, row=int(rows[i]), column="n",
                                 value=0))
    for i in np.flatnonzero(ok & (y > n)):
        problems.append(_blocked("conversions_above_units", f"conversions ({y[i]:g}) exceed units ({n[i]:g})",
                                 file=file, row=int(rows[i]), column="conversions", value=y[i]))
    if problems:
        raise InputError(problems)

    df["sku"] = df["sku"].astype(str)
    df["variant"] = df["variant"].astype(str)
    df["category"] = df["category"].astype(str)
    df["_row"] = rows
    df["n"] = n
    df["conversions"] = y

    dup = df.duplicated(["sku", "variant"], keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(_blocked("duplicate_row", f"SKU {df['sku'].iloc[i]!r} variant {df['variant'].iloc[i]!r} "
                                 "appears more than once", file=file, row=int(rows[i]), column="variant",
                                 value=df["variant"].iloc[i]))
    cats_per_sku = df.groupby("sku", sort=False)["category"].nunique()
    for sku in cats_per_sku.index[cats_per_sku.to_numpy() > 1]:
        first = df.loc[df["sku"] == sku]
        names = sorted(first["category"].unique())
        problems.append(_blocked("sku_in_two_categories", f"SKU {sku!r} is listed in categories {names}",
                                 file=file, row=int(first["_row"].iloc[-1]), column="category"))
    if problems:
        raise InputError(problems)

    sku_order = list(dict.fromkeys(df["sku"]))
    groups = {sku: g for sku, g in df.groupby("sku", sort=False)}
    if control is None:
        control_names = ({sku: "control" for sku in sku_order}
                         if all((g["variant"] == "control").any() for g in groups.values())
                         else {sku: str(groups[sku]["variant"].iloc[0]) for sku in sku_order})
    elif isinstance(control, str):
        control_names = {sku: control for sku in sku_order}
    else:
        control_names = {sku: str(control.get(sku, "")) for sku in sku_order}
    for sku in sku_order:
        g = groups[sku]
        if not (g["variant"] == control_names[sku]).any():
            problems.append(_blocked("no_control", f"SKU {sku!r} has no control variant {control_names[sku]!r}",
                                     file=file, row=int(g["_row"].iloc[0]), column="variant"))
        elif len(g) < 2:
            problems.append(_blocked("no_variant", f"SKU {sku!r} has only its control arm; a lift needs a variant",
                                     file=file, row=int(g["_row"].iloc[0]), column="variant"))
    if problems:
        raise InputError(problems)

    categories = tuple(dict.fromkeys(groups[s]["category"].iloc[0] for s in sku_order))
    cat_index = {c: i for i, c in enumerate(categories)}
    sku_index = {s: j for j, s in enumerate(sku_order)}
    is_ctrl = df["variant"].to_numpy() == df["sku"].map(control_names).to_numpy()
    ctrl = df[is_ctrl].set_index("sku").loc[sku_order]
    lifts = df[~is_ctrl]
    return SkuData(
        skus=tuple(sku_order),
        categories=categories,
        sku_category=np.array([cat_index[groups[s]["category"].iloc[0]] for s in sku_order], dtype=np.int64),
        control=tuple(control_names[s] for s in sku_order),
        control_n=ctrl["n"].to_numpy(dtype="float64"),
        control_y=ctrl["conversions"].to_numpy(dtype="float64"),
        lift_sku=lifts["sku"].map(sku_index).to_numpy(dtype=np.int64),
        lift_variant=tuple(lifts["variant"]),
        lift_n=lifts["n"].to_numpy(dtype="float64"),
        lift_y=lifts["conversions"].to_numpy(dtype="float64"),
        source=file or "",
    )


def read_sku_file(path: str | Path, *, control: str | Mapping[str, str] | None = None) -> SkuData:
    """Read and validate a SKU table file (CSV or Parquet, recognised by content) into :class:`SkuData`.

    The file goes through the same reader as results files (:func:`workbench.sources.textfile.read_table`:
    missing, empty, binary, not UTF-8, wrong delimiter, over-long fields); labels longer than
    ``Settings.limits.max_label_chars`` and counts above ``Settings.limits.max_count`` are refused.
    Row numbers in messages are data rows (the header is not counted).
    """
    from ..sources.textfile import preview, read_table
    name = str(path)
    table = read_table(path, required=REQUIRED_COLUMNS)
    header = ["n" if h == "units" and "n" not in table.header else h for h in table.header]
    frame = pd.DataFrame([r.cells for r in table.rows], columns=header, dtype=object)
    limit = get_settings().limits.max_label_chars
    long = [Problem("blocked", "label_too_long", f"{col}: a label of {len(v):,} characters; at most {limit:,} "
                    "(Settings.limits.max_label_chars)", file=name, column=col, row=r.row, line=r.line, value=preview(v))
            for r in table.rows for col, v in zip(header, r.cells) if col in ("sku", "category", "variant")
            and len(v) > limit]
    if long or table.problems:
        raise InputError([*table.problems, *long])
    for col in ("n", "conversions"):
        if col in frame.columns:
            frame[col] = frame[col].map(lambda v: np.nan if str(v).strip() == "" else str(v).strip())
    for col in ("sku", "category", "variant"):
        if col in frame.columns:
            frame[col] = frame[col].map(lambda v: None if str(v).strip() == "" else str(v).strip())
    return sku_data_from_frame(frame, control=control, file=name)


def sku_data_from_experiments(experiments: Sequence[ExperimentData], *, metric: str = "cvr") -> SkuData:
    """Adapt per-SKU experiments of the data layer into :class:`SkuData`.

    Each experiment is one SKU: ``meta["product_id"]`` names the SKU and ``meta["category"]`` its
    category; the proportion ``metric`` (default the primary ``cvr``: units ``n`` and
    ``purchased__sum``) gives units and conversions per variant, control first.
    """
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    if not experiments:
        raise InputError([_blocked("empty", "no experiments given")])
    for d in experiments:
        where = dict(file=d.source or d.experiment_id)
        sku = d.meta.get("product_id")
        category = d.meta.get("category")
        if not sku:
            problems.append(_blocked("missing_product_id", f"experiment {d.experiment_id!r} has no product_id in its "
                                     "meta; the hierarchical model needs one SKU per experiment", column="product_id",
                                     **where))
        if not category:
            problems.append(_blocked("missing_category", f"experiment {d.experiment_id!r} has no category in its meta; "
                                     "the hierarchical model needs each SKU's category", column="category", **where))
        try:
            m = d.metric(metric)
        except InputError as err:
            problems.extend(err.problems)
            continue
        if m.kind != "proportion":
            problems.append(_blocked("not_a_proportion", f"metric {metric!r} is a {m.kind}; the hierarchical model "
                                     "needs a proportion (conversions per unit)", column=metric, **where))
            continue
        if not sku or not category:
            continue
        s = d.stats(m, use_covariate=False)
        for variant, n, y in zip(d.variants, s.n.tolist(), s.sum.tolist()):
            rows.append({"sku": str(sku), "category": str(category), "variant": variant, "n": n,
                         "conversions": y, "experiment_id": d.experiment_id})
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(rows)
    controls = {str(d.meta["product_id"]): d.control for d in experiments}
    data = sku_data_from_frame(frame.drop(columns="experiment_id"), control=controls, file="experiments")
    ids = {str(d.meta["product_id"]): d.experiment_id for d in experiments}
    return SkuData(**{**data.__dict__, "source": "experiments", "meta": {"experiment_ids": ids}})
