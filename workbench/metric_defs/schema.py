"""Metric definitions as data: the YAML format, its validation, and what it compiles to.

A definitions file has two mappings. ``values`` are per-unit values, each an event filter and an
aggregation over one unit's events; ``metrics`` combine them (see the package docstring for the
whole format). Every problem is one :class:`~workbench.errors.Problem` naming the file and the key
(``metrics.revenue_capped.cap``) and the value; all problems are reported at once.

>>> defs = parse_definitions({"metrics": {"sku_buys_7d": {"kind": "mean", "value": {
...     "event": "purchase", "where": "product_id == experiment.product_id", "agg": "count"},
...     "window": {"start": "0d", "end": "7d"}}}}, source="team.yaml", columns=None)
>>> m = defs.metrics["sku_buys_7d"]
>>> m.kind, m.numerator, m.window
('mean', 'sku_buys_7d_value', (0.0, 7.0))
>>> v = defs.values["sku_buys_7d_value"]
>>> v.events, v.agg, v.window
(('purchase',), 'count', (0.0, 7.0))
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from ..errors import InputError, Problem

__all__ = ["ValueDef", "Cap", "Definitions", "parse_definitions", "AGGREGATIONS", "KINDS", "expression_columns"]

AGGREGATIONS = ("count", "sum", "any", "distinct", "mean", "max", "min")
KINDS = ("proportion", "mean", "ratio", "quantile")
UNITS = ("rate", "count", "currency", "seconds", "value")
ROLES = ("primary", "secondary", "guardrail")
_VALUE_KEYS = {"description", "event", "where", "agg", "expr", "window", "cap"}
_METRIC_KEYS = {"kind", "value", "numerator", "denominator", "covariate", "role", "direction", "limit", "label",
                "unit", "window", "cap", "quantile", "description"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_DURATION = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*(d|h|m|days?|hours?|minutes?)?\s*$")
_LIMIT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(%|s|ms)?\s*$")
# Names an expression may use besides the event log's columns: the experiment's own attributes.
EXPERIMENT_ATTRS = ("product_id",)


@dataclass(frozen=True)
class Cap:
    """Winsorise a per-unit value: at a fixed ``value``, or at the ``percentile`` of the pooled arms
    (all included units of the experiment, computed in the engine)."""

    value: float | None = None
    percentile: float | None = None
    ignore_zeros: bool = False          # the percentile of the units with a non-zero value (most units buy nothing)

    def describe(self) -> str:
        if self.percentile is not None:
            return (f"capped at the {_ordinal(self.percentile * 100)} percentile of the pooled arms"
                    + ("' non-zero values" if self.ignore_zeros else ""))
        return "capped at a fixed value"


def _ordinal(x: float) -> str:
    n = f"{x:g}"
    if not n.isdigit():
        return n
    k = int(n)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class ValueDef:
    """One per-unit value: the unit's events matching ``events`` (any of these types; empty = all)
    and ``where``, optionally only within ``window`` days of the unit's first exposure, aggregated
    by ``agg`` over ``expr`` (count needs none), then capped. Units without matching events get 0.

    A ``quantile`` metric's value is per *event*, not per unit: ``expr`` over the matching events.
    """

    name: str
    agg: str = "count"
    events: tuple[str, ...] = ()
    where: str | None = None
    expr: str | None = None
    window: tuple[float, float] | None = None
    cap: Cap | None = None
    description: str = ""

    def columns(self) -> set[str]:
        """Event-log columns this value reads."""
        cols = {"event"} if self.events else set()
        for text in (self.where, self.expr):
            if text:
                cols |= expression_columns(text)
        return cols - {f"experiment.{a}" for a in EXPERIMENT_ATTRS}

    def uses_experiment(self) -> set[str]:
        """Experiment attributes (``experiment.product_id``) this value compares with."""
        found: set[str] = set()
        for text in (self.where, self.expr):
            if text:
                found |= {c.split(".", 1)[1] for c in expression_columns(text) if c.startswith("experiment.")}
        return found

    def key(self) -> tuple:
        """What the value computes, without its name (two names for one computation share a column)."""
        return (self.agg, self.events, self.where, self.expr, self.window, self.cap)


@dataclass(frozen=True)
class Definitions:
    """Validated values and metrics (metrics as :class:`workbench.metrics.Metric`)."""

    values: dict[str, ValueDef] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)      # metric name -> file it came from
    wanted: frozenset[str] = frozenset()    # built-in metrics asked for by name (a brief's guardrail lcp_p90)
    covariates: dict[str, Any] = field(default_factory=dict)   # ``covariate: same``: .pre_period.CovariateDef by column

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


# --- expressions ---------------------------------------------------------------------------------
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
            ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.List, ast.Tuple)


def parse_expression(text: str) -> ast.Expression:
    """Parse a filter or value expression: columns, numbers, strings, true/false, ``+ - * /``,
    comparisons (``== != < <= > >= in``), ``and or not`` and ``experiment.product_id``; nothing else."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"not a valid expression: {text!r}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"{type(node).__name__.lower()} is not allowed in an expression: {text!r}")
        if isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "experiment" and node.attr in EXPERIMENT_ATTRS):
                raise ValueError(f"only experiment.{' / experiment.'.join(EXPERIMENT_ATTRS)} can be used with a dot")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
            raise ValueError(f"constant {node.value!r} is not allowed")
    return tree


def expression_columns(text: str) -> set[str]:
    """Column names (and ``experiment.<attr>``) an expression reads."""
    tree = parse_expression(text)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            out.add(f"experiment.{node.attr}")
        elif isinstance(node, ast.Name) and node.id not in ("experiment", "true", "false", "True", "False"):
            out.add(node.id)
    return out


# --- small parsers -------------------------------------------------------------------------------
def _days(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a duration such as 0d, 7d, 12h or a number of days")
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError("a duration such as 0d, 7d, 12h or a number of days")
    x, unit = float(m.group(1)), (m.group(2) or "d")[0]
    return x / 24 if unit == "h" else x / 1440 if unit == "m" else x


def _limit(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _LIMIT.match(str(value))
    if not m:
        raise ValueError("a number or a string like '0.5%' or '3.5s'")
    x = float(m.group(1))
    return x / 100 if m.group(2) == "%" else x / 1000 if m.group(2) == "ms" else x


def _fraction(value: Any, what: str) -> float:
    if isinstance(value, str) and re.fullmatch(r"\s*p\d+(\.\d+)?\s*", value):
        value = float(value.strip()[1:]) / 100
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number strictly between 0 and 1 (or p50, p90, p99)")
    if not 0 < float(value) < 1:
        raise ValueError(f"{what} must be strictly between 0 and 1 (0.9 for p90)")
    return float(value)


class _Collector:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, key: str, msg: str, value: Any = None) -> None:
        shown = value if isinstance(value, (str, int, float, bool)) or value is None else str(value)[:80]
        self.problems.append(Problem("blocked", "bad_metric_definition", msg, file=self.source, column=key, value=shown))


# --- values and metrics --------------------------------------------------------------------------
def _parse_value(c: _Collector, key: str, name: str, spec: Any, columns: set[str] | None,
                 events: Sequence[str] | None, *, per_event: bool = False) -> ValueDef | None:
    if not isinstance(spec, Mapping):
        c.add(key, "a value is a mapping with event, where, agg and expr", spec)
        return None
    ok = True
    for k in spec:
        if k not in _VALUE_KEYS:
            c.add(f"{key}.{k}", f"unknown key; known: {', '.join(sorted(_VALUE_KEYS))}", str(k))
            ok = False
    agg = str(spec.get("agg", "count" if not spec.get("expr") else "sum"))
    if per_event:
        agg = "event"
    elif agg not in AGGREGATIONS:
        c.add(f"{key}.agg", f"unknown aggregation; one of {', '.join(AGGREGATIONS)}", agg)
        ok = False
    ev = spec.get("event")
    evs = tuple(str(e) for e in ([ev] if isinstance(ev, str) else (ev or ())))
    for e in evs:
        if events is not None and e not in events:
            c.add(f"{key}.event", f"unknown event type; one of {', '.join(events)}", e)
            ok = False
    expr = spec.get("expr")
    where = spec.get("where")
    if agg in ("sum", "distinct", "mean", "max", "min", "event") and not expr:
        c.add(f"{key}.expr", f"aggregation {agg!r} needs an expr (a column or an expression of columns)"
              if agg != "event" else "a quantile metric's value needs an expr (the per-event value)")
        ok = False
    if agg in ("count", "any") and expr:
        c.add(f"{key}.expr", f"aggregation {agg!r} counts events; put conditions in where", str(expr))
        ok = False
    for k, text in (("where", where), ("expr", expr)):
        if text is None:
            continue
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, (str, int, float)):
            c.add(f"{key}.{k}", "an expression is text", text)
            ok = False
            continue
        try:
            cols = expression_columns(str(text))
        except ValueError as exc:
            c.add(f"{key}.{k}", str(exc), str(text))
            ok = False
            continue
        unknown = sorted(x for x in cols if not x.startswith("experiment.") and columns is not None and x not in columns)
        for x in unknown:
            c.add(f"{key}.{k}", f"unknown column {x!r}; the event log has {', '.join(sorted(columns or ()))}", x)
            ok = False
    window = _parse_window(c, f"{key}.window", spec.get("window"))
    cap = _parse_cap(c, f"{key}.cap", spec.get("cap"))
    if not ok or window is False or cap is False:
        return None
    return ValueDef(name=name, agg=agg, events=evs, where=None if where is None else str(where),
                    expr=None if expr is None else str(expr), window=window or None, cap=cap or None,
                    description=str(spec.get("description", "")))


def _parse_window(c: _Collector, key: str, spec: Any) -> tuple[float, float] | None | bool:
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or set(spec) - {"start", "end"} or "end" not in spec:
        c.add(key, "a window is {start: 0d, end: 7d} (days after each unit's first exposure)", spec)
        return False
    try:
        start, end = _days(spec.get("start", 0)), _days(spec["end"])
    except ValueError as exc:
        c.add(key, str(exc), spec)
        return False
    if end < start:
        c.add(f"{key}.end", f"the window ends before it starts (start {start:g} days)", spec["end"])
        return False
    if end == start:
        c.add(f"{key}.end", "the window is empty (end equals start)", spec["end"])
        return False
    return (start, end)


def _parse_cap(c: _Collector, key: str, spec: Any) -> Cap | None | bool:
    if spec is None:
        return None
    try:
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            return Cap(value=float(spec))
        if isinstance(spec, str) and spec.strip().startswith("p"):
            return Cap(percentile=_fraction(spec, "the cap percentile"))
        if isinstance(spec, Mapping) and len(spec) == 1 and "value" in spec:
            v = spec["value"]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError("a fixed cap is a number")
            return Cap(value=float(v))
        if isinstance(spec, Mapping) and "percentile" in spec and set(spec) <= {"percentile", "ignore_zeros"}:
            if not isinstance(spec.get("ignore_zeros", False), bool):
                raise ValueError("ignore_zeros is true or false")
            return Cap(percentile=_fraction(spec["percentile"], "the cap percentile"),
                       ignore_zeros=bool(spec.get("ignore_zeros", False)))
    except ValueError as exc:
        c.add(key, str(exc), spec if not isinstance(spec, Mapping) else str(dict(spec)))
        return False
    c.add(key, "a cap is a number, {value: 500}, {percentile: 0.99, ignore_zeros: true} or p99", spec)
    return False


def _ref(c: _Collector, key: str, spec: Any, metric: str, role: str, values: dict[str, ValueDef],
         columns: set[str] | None, events: Sequence[str] | None, *, per_event: bool = False) -> ValueDef | str | None:
    """A metric's value: the name of a value or an inline definition."""
    if isinstance(spec, str):
        if spec in values:
            return spec
        c.add(key, f"unknown value {spec!r}; define it under values: or write it inline", spec)
        return None
    return _parse_value(c, key, f"{metric}_{role}", spec, columns, events, per_event=per_event)


def _parse_metric(c: _Collector, name: str, spec: Any, values: dict[str, ValueDef], columns: set[str] | None,
                  events: Sequence[str] | None, covariates: set[str] | None, new_values: dict[str, ValueDef],
                  covs_out: dict[str, Any]):
    from ..metrics import Metric
    key = f"metrics.{name}"
    if not isinstance(spec, Mapping):
        c.add(key, "a metric is a mapping with kind and value (or numerator and denominator)", spec)
        return None
    before = len(c.problems)
    for k in spec:
        if k not in _METRIC_KEYS:
            c.add(f"{key}.{k}", f"unknown key; known: {', '.join(sorted(_METRIC_KEYS))}", str(k))
    kind = spec.get("kind")
    if kind not in KINDS:
        c.add(f"{key}.kind", f"kind must be one of {', '.join(KINDS)}", kind)
        return None
    if "value" in spec and "numerator" in spec:
        c.add(f"{key}.value", "give value or numerator, not both", str(spec["value"]))
    num_spec = spec.get("numerator", spec.get("value"))
    if num_spec is None:
        c.add(f"{key}.{'numerator' if kind == 'ratio' else 'value'}", f"a {kind} metric needs a "
              f"{'numerator' if kind == 'ratio' else 'value'}")
        return None
    den_spec = spec.get("denominator")
    if kind == "ratio" and den_spec is None:
        c.add(f"{key}.denominator", "a ratio metric needs a denominator (the per-unit value it divides by)")
    if kind != "ratio" and den_spec is not None:
        c.add(f"{key}.denominator", f"a {kind} metric has no denominator; use kind: ratio", str(den_spec))
    q = None
    if kind == "quantile":
        if "quantile" not in spec:
            c.add(f"{key}.quantile", "a quantile metric needs quantile (0.9 for p90)")
        else:
            try:
                q = _fraction(spec["quantile"], "quantile")
            except ValueError as exc:
                c.add(f"{key}.quantile", str(exc), spec["quantile"])
    elif "quantile" in spec:
        c.add(f"{key}.quantile", f"only a quantile metric takes quantile (this one is {kind})", spec["quantile"])
    window = _parse_window(c, f"{key}.window", spec.get("window"))
    cap = _parse_cap(c, f"{key}.cap", spec.get("cap"))
    if cap and kind == "proportion":
        c.add(f"{key}.cap", "a proportion is 0 or 1 per unit and cannot be capped", str(spec["cap"]))
    if cap and kind == "quantile":
        c.add(f"{key}.cap", "a quantile is not moved by outliers; capping it changes nothing", str(spec["cap"]))
    num = _ref(c, f"{key}.{'numerator' if 'numerator' in spec else 'value'}", num_spec, name, "value", values,
               columns, events, per_event=kind == "quantile")
    den = _ref(c, f"{key}.denominator", den_spec, name, "denominator", values, columns,
               events) if den_spec is not None else None
    from .pre_period import parse_covariate, same_covariate
    cov = spec.get("covariate")
    lookback = parse_covariate(c, f"{key}.covariate", cov, kind, covariates)
    if kind == "quantile" and isinstance(num, str):
        c.add(f"{key}.value", "a quantile metric's value is per event: write it inline, e.g. "
              "{event: impression, expr: lcp_ms / 1000.0}", num)
    if kind == "proportion" and num is not None:
        base = values.get(num) if isinstance(num, str) else num
        if base is not None and base.agg != "any":
            c.add(f"{key}.value", "a proportion needs a 0/1 value per unit (agg: any)", base.name)
    direction = spec.get("direction", "higher")
    if direction not in ("higher", "lower"):
        c.add(f"{key}.direction", "direction is higher (higher is better) or lower", direction)
    role = spec.get("role", "secondary")
    if role not in ROLES:
        c.add(f"{key}.role", f"role is one of {', '.join(ROLES)}", role)
    unit = spec.get("unit", "")
    if unit and unit not in UNITS:
        c.add(f"{key}.unit", f"unit is one of {', '.join(UNITS)}", unit)
    try:
        limit = _limit(spec.get("limit"))
    except ValueError as exc:
        c.add(f"{key}.limit", str(exc), spec.get("limit"))
        limit = None
    if len(c.problems) > before or num is None or (den_spec is not None and den is None):
        return None

    def materialise(ref: ValueDef | str, slot: str, with_cap: bool) -> str:
        base = ref if isinstance(ref, ValueDef) else values[ref]
        changed = replace(base, name=f"{name}_{slot}", window=window or base.window,
                          cap=(cap or base.cap) if with_cap else base.cap)
        same = next((n for n, v in {**values, **new_values}.items() if v.key() == changed.key()), None)
        if same is not None:
            return same                     # one computation, one column, whatever it is called
        new_values[changed.name] = changed
        return changed.name

    numerator = materialise(num, "value", True)
    denominator = materialise(den, "denominator", False) if den is not None else None
    if lookback is not None:
        cov = same_covariate(c, key, name, lookback, {**values, **new_values}, numerator, denominator, covs_out)
    return Metric(name, kind, numerator, denominator, covariate=cov, role=role,
                  higher_is_better=direction != "lower", limit=limit, label=str(spec.get("label", "")),
                  unit=unit, window=window or None, cap=cap or None, quantile=q,
                  description=str(spec.get("description", "")), covariate_lookback=lookback)


def parse_definitions(data: Any, *, source: str, columns: set[str] | None, events: Sequence[str] | None = None,
                      covariates: set[str] | None = None, known_values: Mapping[str, ValueDef] | None = None,
                      taken: Mapping[str, str] | None = None) -> Definitions:
    """Validate a loaded YAML mapping (``values:`` and ``metrics:``) into :class:`Definitions`.

    ``columns``/``events``: the event log's columns and event types (None: not checked);
    ``known_values``: values defined before (the built-ins) that metrics may name; ``taken``:
    metric names already defined, with the file that defined them (a name used twice is an error).
    """
    c = _Collector(source)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        c.add("(top level)", "a definitions file is a mapping with values: and metrics:", str(data)[:80])
        raise InputError(c.problems)
    for k in data:
        if k not in ("values", "metrics"):
            c.add(str(k), "unknown section; a definitions file has values: and metrics:", str(k))
    values: dict[str, ValueDef] = dict(known_values or {})
    own_values: dict[str, ValueDef] = {}
    raw_values = data.get("values") or {}
    raw_metrics = data.get("metrics") or {}
    for section, raw in (("values", raw_values), ("metrics", raw_metrics)):
        if not isinstance(raw, Mapping):
            c.add(section, f"{section} is a mapping of name: definition", str(raw)[:80])
    if c.problems:
        raise InputError(c.problems)
    for name, spec in raw_values.items():
        key = f"values.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            c.add(key, "a name is lower-case letters, digits and _, starting with a letter", str(name))
            continue
        if name in values:
            c.add(key, "this value name is already defined (built-in values: see `workbench metrics list`)", name)
            continue
        v = _parse_value(c, key, name, spec, columns, events)
        if v is not None:
            values[name] = own_values[name] = v
    metrics: dict[str, Any] = {}
    sources: dict[str, str] = {}
    own_covariates: dict[str, Any] = {}
    for name, spec in raw_metrics.items():
        key = f"metrics.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            c.add(key, "a name is lower-case letters, digits and _, starting with a letter", str(name))
            continue
        if taken and name in taken:
            c.add(key, f"metric name used twice: already defined in {taken[name]}", name)
            continue
        m = _parse_metric(c, name, spec, values, columns, events, covariates, own_values, own_covariates)
        if m is not None:
            metrics[name] = m
            sources[name] = source
    clash = sorted(set(own_values) & set(known_values or {}))
    for name in clash:
        c.add(f"metrics.{name.rsplit('_', 1)[0]}", f"the derived value name {name!r} is already a value", name)
    if c.problems:
        raise InputError(c.problems)
    return Definitions(values=own_values, metrics=metrics, sources=sources, covariates=own_covariates)
