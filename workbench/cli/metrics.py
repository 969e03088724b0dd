"""CLI: ``workbench metrics list|show`` — the metric definitions in use (built-in and a team's own).

``list`` prints every metric: name, kind, role, direction, limit, window, cap, CUPED covariate and where it is
defined (the built-in catalogue, ``metrics.yaml`` in the working directory or ``$WORKBENCH_METRICS``,
or ``--metrics FILE``); ``show NAME`` prints one definition with its per-unit values spelled out.
``--metrics FILE`` validates a file first: a bad definition is one line naming the file and the key,
exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ._common import JSON_OPTION, console, print_json, table

__all__ = ["register"]

_METRICS_HELP = "Metric definitions YAML to load besides the built-ins (and the project's metrics.yaml)."


def _load(metrics: Optional[Path]) -> None:
    from ..metric_defs import activate, load_definitions
    if metrics is not None:
        activate(load_definitions(metrics))


def _rows() -> list[dict[str, str]]:
    from ..metric_defs import catalog, covariate_text, metric_source, treatment_text
    from ..display import fmt_num
    from ..metrics import fmt_metric_value
    out = []
    for name, m in sorted(catalog().items()):
        out.append({"name": name, "kind": m.kind + (" p" + fmt_num(m.quantile * 100) if m.kind == "quantile" else ""),
                    "role": m.role, "better": "higher" if m.higher_is_better else "lower",
                    "limit": fmt_metric_value(m.name, m.kind, m.limit, m.unit) if m.limit is not None else "",
                    "window / cap": treatment_text(m), "CUPED covariate": covariate_text(m), "label": m.label,
                    "defined in": metric_source(name)})
    return out


def list_command(metrics: Optional[Path] = typer.Option(None, "--metrics", help=_METRICS_HELP),
                 json_: bool = JSON_OPTION) -> None:
    """Every metric in use: the built-in catalogue and the definitions of the project."""
    _load(metrics)
    rows = _rows()
    if json_:
        print_json(rows)
        return
    cols = list(rows[0]) if rows else []
    console.print(table("Metrics", cols, [tuple(escape(r[c]) for c in cols) for r in rows]))


def show_command(name: str = typer.Argument(..., help="Metric name (see `workbench metrics list`)."),
                 metrics: Optional[Path] = typer.Option(None, "--metrics", help=_METRICS_HELP),
                 json_: bool = JSON_OPTION) -> None:
    """One metric's definition: kind, direction, limit, window, cap and its per-unit values."""
    import yaml

    from ..errors import NotFoundError
    from ..metric_defs import catalog, describe_metric
    _load(metrics)
    known = catalog()
    if name not in known:
        raise NotFoundError(f"unknown metric {name!r}; known: {', '.join(sorted(known))}")
    d = describe_metric(known[name])
    if json_:
        print_json(d)
        return
    console.print(escape(yaml.safe_dump(d, sort_keys=False, allow_unicode=True).rstrip()), soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``workbench metrics list|show``."""
    sub = typer.Typer(help="Metric definitions: the built-in catalogue and a team's own (metrics.yaml).",
                      no_args_is_help=True)
    sub.command("list", help="List every metric in use (built-in and defined).")(list_command)
    sub.command("show", help="Show one metric's definition.")(show_command)
    app.add_typer(sub, name="metrics")
