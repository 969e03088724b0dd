"""Metrics as data: definitions files, the built-in catalogue, and the metrics in use.

The built-in metrics are ``catalogue.yaml`` in this package; a team's own come from, in order,
``metrics.yaml`` in the working directory (or the file ``$WORKBENCH_METRICS`` names), ``--metrics
FILE`` on the command line, and ``metrics:`` in an experiment brief. All are one format and one
mechanism (:mod:`.schema` validates, :mod:`.compile` turns values into the one Ibis query)::

    values:                     # per-unit values: an event filter and an aggregation
      sku_purchases:
        event: purchase
        where: product_id == experiment.product_id
        agg: count
    metrics:
      sku_purchases_7d:
        kind: mean              # proportion | mean | ratio | quantile
        value: sku_purchases    # or numerator: / denominator: for a ratio; or an inline value
        window: {start: 0d, end: 7d}      # after each unit's first exposure
      revenue_capped:
        kind: mean
        value: revenue
        cap: {percentile: 0.99}           # or a fixed number; the pooled arms' percentile
        covariate: pre_revenue
        unit: currency
      lcp_p90:
        kind: quantile
        quantile: 0.9
        value: {event: impression, expr: lcp_ms / 1000.0}   # a per-event value
        direction: lower
        limit: 3.5s
        unit: seconds

>>> sorted(builtin_definitions().metrics)[:3]
['aov', 'atc_rate', 'click_rate']
>>> catalog()["lcp"].limit
3.5
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from ..errors import InputError, Problem
from ..yamlio import Loader
from .schema import AGGREGATIONS, KINDS, Cap, Definitions, ValueDef, parse_definitions

__all__ = ["ValueDef", "Cap", "Definitions", "AGGREGATIONS", "KINDS", "builtin_definitions", "load_definitions",
           "definitions_from_mapping", "project_definitions", "catalog", "values", "active", "use", "activate",
           "metric_source", "describe_metric", "requested", "wanting", "covariate_defs", "covariate_text"]

_ACTIVE: list[Definitions] = []


class _UniqueKeyLoader(Loader):
    """A YAML loader that refuses a key written twice in one mapping (YAML would keep the last), and an
    impossible date (:mod:`workbench.yamlio`)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a name, not a list or a mapping",
                                                    key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"name {key!r} used twice (lines {seen[key]} and "
                                                    f"{key_node.start_mark.line + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)       # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        first = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError([Problem("blocked", "bad_metric_definition", f"not valid YAML{where}: {first}",
                                  file=source)]) from None


def _schema() -> dict[str, Any]:
    from ..metrics import COVARIATES
    from ..sources.events import EVENT_TYPES, OPTIONAL, REQUIRED
    return {"columns": set(REQUIRED) | set(OPTIONAL), "events": EVENT_TYPES, "covariates": set(COVARIATES)}


@lru_cache(maxsize=1)
def builtin_definitions() -> Definitions:
    """The built-in catalogue (``catalogue.yaml``, shipped as package data)."""
    text = (resources.files("workbench.metric_defs") / "catalogue.yaml").read_text(encoding="utf-8")
    return parse_definitions(_read_yaml(text, "catalogue.yaml"), source="built-in catalogue", columns=None)


def _taken(exclude: Definitions | None = None) -> dict[str, str]:
    out = {n: "the built-in catalogue" for n in builtin_definitions().metrics}
    for d in [_project(), *_ACTIVE]:
        if d is not None and d is not exclude:
            out.update(d.sources)
    return out


def _known_values() -> dict[str, ValueDef]:
    out = dict(builtin_definitions().values)
    for d in [_project(), *_ACTIVE]:
        if d is not None:
            out.update(d.values)
    return out


def definitions_from_mapping(data: Any, *, source: str) -> Definitions:
    """Validate definitions given as a mapping (a brief's ``metrics:``, a test) against the event-log
    schema, the values already known and the metric names already taken."""
    taken = {n: where for n, where in _taken().items() if where != source}    # the same file, read again
    return parse_definitions(data, source=source, **_schema(), known_values=_known_values(), taken=taken)


def load_definitions(path: str | Path) -> Definitions:
    """Read and validate a definitions file; every problem names the file and the key."""
    p = Path(path)
    if not p.is_file():
        raise InputError([Problem("blocked", "missing_file", "the metrics file does not exist" if not p.exists()
                                  else "the metrics file is a directory, expected a YAML file", file=str(p))])
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem("blocked", "unreadable_file", f"cannot read the metrics file: {exc}",
                                  file=str(p))]) from None
    return definitions_from_mapping(_read_yaml(text, str(p)), source=str(p))


_PROJECT: dict[tuple[str, float], Definitions] = {}


def project_path() -> Path | None:
    """``$WORKBENCH_METRICS`` or ``metrics.yaml`` in the working directory, when there is one."""
    named = os.environ.get("WORKBENCH_METRICS")
    if named:
        return Path(named)
    here = Path.cwd() / "metrics.yaml"
    return here if here.is_file() else None


def _project() -> Definitions | None:
    path = project_path()
    if path is None:
        return None
    if not path.is_file():
        raise InputError([Problem("blocked", "missing_file", "WORKBENCH_METRICS names a file that does not exist",
                                  file=str(path))])
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _PROJECT:
        _PROJECT.clear()
        _PROJECT[key] = Definitions()        # guards the recursion while the file is validated
        try:
            _PROJECT[key] = load_definitions(path)
        except Exception:
            _PROJECT.clear()
            raise
    return _PROJECT[key]


def project_definitions() -> Definitions | None:
    """The project's ``metrics.yaml`` (validated; cached while the file is unchanged)."""
    return _project()


def active() -> list[Definitions]:
    """Definitions in use besides the built-ins: the project file's, then those activated."""
    project = _project()
    return ([project] if project is not None else []) + list(_ACTIVE)


def catalog() -> dict[str, Any]:
    """Every metric in use by name: the built-ins, the project's ``metrics.yaml``, ``--metrics`` files
    and a brief's ``metrics:`` (as :class:`workbench.metrics.Metric`)."""
    out = dict(builtin_definitions().metrics)
    for d in active():
        out.update(d.metrics)
    return out


def values() -> dict[str, ValueDef]:
    """Every per-unit value in use by name (built-in and defined)."""
    return _known_values()


def covariate_defs() -> dict[str, Any]:
    """``covariate: same`` covariates in use by column name (:class:`.pre_period.CovariateDef`)."""
    out: dict[str, Any] = {}
    for d in active():
        out.update(d.covariates)
    return out


def metric_source(name: str) -> str:
    """Where a metric is defined: ``the built-in catalogue`` or the file (brief) that defined it."""
    return _taken().get(name, "unknown")


def requested() -> set[str]:
    """Metrics aggregated beyond an experiment's declared ones: every defined metric in use and the
    built-ins asked for by name (a brief's ``lcp_p90`` guardrail)."""
    out: set[str] = set()
    for d in active():
        out |= set(d.metrics) | set(d.wanted)
    return out


def wanting(names: Any, defs: Definitions | None = None) -> Definitions:
    """``defs`` (or no definitions) that also ask for the metrics ``names``."""
    from dataclasses import replace
    base = defs if defs is not None else Definitions()
    return replace(base, wanted=frozenset(base.wanted) | {str(n) for n in names})


def activate(defs: Definitions) -> None:
    """Use ``defs`` for the rest of the process (the CLI's ``--metrics FILE``)."""
    if defs not in _ACTIVE:
        _ACTIVE.append(defs)


@contextlib.contextmanager
def use(defs: Definitions | None) -> Iterator[None]:
    """Use ``defs`` inside a ``with`` block (a brief's metrics while its experiment is analysed)."""
    if defs is None or defs in _ACTIVE:
        yield
        return
    _ACTIVE.append(defs)
    try:
        yield
    finally:
        _ACTIVE.remove(defs)


def describe_metric(m: Any, vals: Mapping[str, ValueDef] | None = None) -> dict[str, Any]:
    """A metric's definition as plain data (``workbench metrics show``), its values spelled out."""
    vals = vals if vals is not None else values()

    def value(name: str | None) -> Any:
        if name is None:
            return None
        v = vals.get(name)
        if v is None:
            return name
        d: dict[str, Any] = {"name": name, "agg": v.agg}
        if v.events:
            d["event"] = list(v.events)
        for k in ("where", "expr", "description"):
            if getattr(v, k):
                d[k] = getattr(v, k)
        if v.window:
            d["window_days"] = list(v.window)
        if v.cap:
            d["cap"] = ({"value": v.cap.value} if v.cap.value is not None else
                        {"percentile": v.cap.percentile, "ignore_zeros": v.cap.ignore_zeros})
        return d

    out: dict[str, Any] = {"name": m.name, "kind": m.kind, "label": m.label, "unit": m.unit, "role": m.role,
                           "direction": "higher" if m.higher_is_better else "lower", "limit": m.limit,
                           "source": metric_source(m.name)}
    if m.kind == "quantile":
        out["quantile"] = m.quantile
    out["numerator" if m.kind == "ratio" else "value"] = value(m.numerator)
    if m.denominator:
        out["denominator"] = value(m.denominator)
    if m.covariate:
        out["covariate"] = m.covariate
        out["covariate_text"] = covariate_text(m)
        if m.covariate_lookback is not None:
            out["covariate_lookback_days"] = m.covariate_lookback
    if m.description:
        out["description"] = m.description
    return out


def _window_text(lo: float, hi: float) -> str:
    """``0–7 days``, ``0–12 hours``, ``10–20 minutes`` (the unit of the window's end)."""
    from ..display import fmt_num
    scale, unit = (1440, "minutes") if hi < 1 / 24 else (24, "hours") if hi < 1 else (1, "days")
    return f"{fmt_num(lo * scale, 4)}–{fmt_num(hi * scale, 4)} {unit}"


def treatment_text(m: Any, cube: Any = None) -> str:
    """How a metric's values are windowed and capped, in words (empty when neither): every view shows
    it with the metric's label, with the cap the engine computed for this experiment.

    >>> from workbench.metrics import Metric
    >>> treatment_text(Metric("rev7", "mean", "revenue", window=(0.0, 7.0), cap=Cap(value=500.0), unit="currency"))
    'capped at 500.00 per unit; events 0–7 days after first exposure'
    """
    from ..metrics import fmt_metric_value
    parts = []
    if m.cap is not None:
        col = f"{m.numerator}_capped_at"
        at = m.cap.value
        if at is None and cube is not None and col in getattr(cube, "columns", ()) and len(cube):
            at = float(cube[col].max())
        shown = f" ({fmt_metric_value(m.name, m.kind, at, m.unit)})" if at is not None and m.cap.percentile else ""
        parts.append(f"{m.cap.describe()}{shown}" if m.cap.percentile is not None
                     else f"capped at {fmt_metric_value(m.name, m.kind, at, m.unit)} per unit")
    if m.window is not None:
        lo, hi = m.window
        parts.append(f"events {_window_text(lo, hi)} after first exposure")
    return "; ".join(parts)


def covariate_text(m: Any) -> str:
    """Which CUPED covariate a metric uses, in words (every view says it the same way; "" when none).

    >>> from workbench.metrics import Metric
    >>> covariate_text(Metric("rev", "mean", "revenue", covariate="rev_pre", covariate_lookback=14.0))
    "the same definition over the 14 days before each unit's first exposure"
    >>> covariate_text(Metric("rev", "mean", "revenue", covariate="pre_revenue"))
    'pre_revenue (revenue in the 28 days before the experiment)'
    """
    from ..display import fmt_covariate
    from ..metrics import COVARIATES
    if not m.covariate:
        return ""
    return fmt_covariate(m.covariate, lookback_days=m.covariate_lookback, ratio=m.kind == "ratio",
                         description=COVARIATES.get(m.covariate, ""))


def metric_label(m: Any, cube: Any = None) -> str:
    """The label every view prints: the metric's own, plus its window and cap when it has them."""
    extra = treatment_text(m, cube)
    return f"{m.label} ({extra})" if extra else m.label
