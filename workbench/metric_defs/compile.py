"""Compile value definitions to Ibis: per-unit aggregations, windows and caps (any Ibis backend).

Nothing here is backend-specific: conditions are ``ifelse`` sums, the first exposure is a window
``min`` over the unit's events, a percentile cap is a windowed ``quantile`` over the experiment's
included units, and ``experiment.product_id`` is a ``CASE`` over the experiments' attributes.

>>> import ibis
>>> t = ibis.table({"event": "string", "price": "float64", "quantity": "int64"}, name="events")
>>> v = ValueDef("revenue", agg="sum", events=("purchase",), expr="price * quantity")
>>> str(unit_aggregate(t, v).type())
'float64'
"""

from __future__ import annotations

import ast
from typing import Any, Mapping

import ibis
import ibis.expr.types as ir

from .schema import ValueDef, parse_expression

__all__ = ["compile_expression", "condition", "unit_aggregate", "event_value", "FIRST_EXPOSURE", "needs_exposure",
           "cap_column", "apply_caps", "fill_values"]

FIRST_EXPOSURE = "first_exposure_ts"
_CMP = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__", ast.Gt: "__gt__",
        ast.GtE: "__ge__"}
_ARITH = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__"}


def compile_expression(text: str, t: ir.Table, *, boolean: bool = False,
                       experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None) -> ir.Value:
    """An Ibis expression over the events ``t`` from a definition's ``where``/``expr`` text.

    ``experiment.<attr>`` reads ``experiment_attrs[attr][experiment_id]`` (missing: null, so a
    comparison with it is never true). A bare column in a condition is read as a boolean.
    """
    attrs = experiment_attrs or {}

    def attr(name: str) -> ir.Value:
        by_exp = {k: v for k, v in (attrs.get(name) or {}).items() if v is not None}
        if not by_exp:
            return ibis.null().cast("string")
        return ibis.cases(*[(t.experiment_id == k, ibis.literal(str(v))) for k, v in sorted(by_exp.items())],
                          else_=ibis.null().cast("string"))

    def go(node: ast.AST, want_bool: bool) -> Any:
        if isinstance(node, ast.Expression):
            return go(node.body, want_bool)
        if isinstance(node, ast.Name):
            if node.id in ("true", "True", "false", "False"):
                return ibis.literal(node.id in ("true", "True"))
            col = t[node.id]
            return col.cast("boolean") if want_bool and not col.type().is_boolean() else col
        if isinstance(node, ast.Attribute):
            return attr(node.attr)
        if isinstance(node, ast.Constant):
            return ibis.literal(node.value)
        if isinstance(node, ast.BoolOp):
            parts = [go(v, True) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp):
            inner = go(node.operand, isinstance(node.op, ast.Not))
            return ~inner if isinstance(node.op, ast.Not) else (-inner if isinstance(node.op, ast.USub) else inner)
        if isinstance(node, ast.BinOp):
            return getattr(go(node.left, False), _ARITH[type(node.op)])(go(node.right, False))
        if isinstance(node, ast.Compare):
            left, out = go(node.left, False), None
            for op, comp in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    items = [c.value for c in getattr(comp, "elts", [])]  # type: ignore[attr-defined]
                    res = left.isin(items)
                    res = ~res if isinstance(op, ast.NotIn) else res
                    right = None
                else:
                    right = go(comp, False)
                    res = getattr(left, _CMP[type(op)])(right)
                out = res if out is None else out & res
                left = right
            return out
        raise ValueError(f"cannot compile {type(node).__name__}")   # parse_expression refused it already

    return go(parse_expression(text), boolean)


def needs_exposure(values: Mapping[str, ValueDef]) -> bool:
    return any(v.window is not None for v in values.values())


def condition(t: ir.Table, v: ValueDef, experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None
              ) -> ir.BooleanValue | None:
    """Which events count towards ``v``: event type, ``where`` and the window (None: every event)."""
    parts: list[ir.BooleanValue] = []
    if v.events:
        parts.append(t.event == v.events[0] if len(v.events) == 1 else t.event.isin(list(v.events)))
    if v.where:
        parts.append(compile_expression(v.where, t, boolean=True, experiment_attrs=experiment_attrs))
    if v.window is not None:
        first = t[FIRST_EXPOSURE]
        start, end = (ibis.interval(seconds=int(round(d * 86400))) for d in v.window)
        parts.append((t.ts_server >= first + start) & (t.ts_server < first + end))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out & p
    return out


def unit_aggregate(t: ir.Table, v: ValueDef, experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None
                   ) -> ir.Value:
    """The per-unit aggregation of ``v`` (grouped by the caller), before its cap."""
    cond = condition(t, v, experiment_attrs)
    if v.agg == "count":
        return t.count() if cond is None else cond.ifelse(1, 0).sum()
    if v.agg == "any":
        return ibis.literal(1) if cond is None else cond.ifelse(1, 0).max()
    expr = compile_expression(str(v.expr), t, experiment_attrs=experiment_attrs)
    if v.agg == "sum":
        return expr.sum() if cond is None else cond.ifelse(expr, 0).sum()
    picked = expr if cond is None else cond.ifelse(expr, ibis.null())
    if v.agg == "distinct":
        return picked.nunique()
    return getattr(picked, v.agg)()           # mean, max, min


def event_value(t: ir.Table, v: ValueDef, experiment_attrs: Mapping[str, Mapping[str, Any]] | None = None
                ) -> tuple[ir.Value, ir.BooleanValue | None]:
    """A quantile metric's per-event value and the events it is read on."""
    return compile_expression(str(v.expr), t, experiment_attrs=experiment_attrs), condition(t, v, experiment_attrs)


def cap_column(value: str) -> str:
    """The cube column holding the cap a value was winsorised at (constant per experiment; not a sum)."""
    return f"{value}_capped_at"


def fill_values(u: ir.Table, names: list[str]) -> dict[str, ir.Value]:
    """Units without a matching event get 0 (mean/max/min/sum over no events are null)."""
    return {n: u[n].fill_null(0) for n in names if n in u.columns}


def apply_caps(u: ir.Table, values: Mapping[str, ValueDef]) -> ir.Table:
    """Winsorise capped values: at a fixed number, or at a percentile of the experiment's included
    units (both arms pooled, excluded units left out), computed in the engine as a window quantile.
    Each capped value's cap goes into :func:`cap_column` so the views can say where it was capped."""
    capped = {n: v for n, v in values.items() if v.cap is not None and n in u.columns}
    if not capped:
        return u
    caps: dict[str, ir.Value] = {}
    for n, v in capped.items():
        assert v.cap is not None
        if v.cap.value is not None:
            caps[cap_column(n)] = ibis.literal(float(v.cap.value))
        else:
            keep = (u.excluded == "") & (u[n] != 0) if v.cap.ignore_zeros else (u.excluded == "")
            included = keep.ifelse(u[n].cast("float64"), ibis.null())
            caps[cap_column(n)] = included.quantile(float(v.cap.percentile)).over(group_by=[u.experiment_id])
    u = u.mutate(**caps)
    return u.mutate(**{n: ibis.least(u[n].cast("float64"), u[cap_column(n)]) for n in capped})
