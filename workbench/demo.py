"""The main job on the sample world: generate → analyse → report → serve.

``make demo`` runs :func:`run_demo`. Each step is a small function so the pipeline reads top to
bottom; every step prints where its outputs went.
"""

from __future__ import annotations

import time

from rich.console import Console

from .config import Paths
from .display import fmt_count, fmt_elapsed, fmt_pct, fmt_action
from .experiment_data import ExperimentData
from .metrics import fmt_metric_value
from .simulate.specs import DEMO_EXPERIMENTS
from .simulate.writer import write_world
from .stats.sufficient import RatioStats

__all__ = ["run_demo"]


def _generate(paths: Paths, *, fresh: bool, seed: int, console: Console) -> None:
    if paths.db.exists() and not fresh:
        console.print(f"[dim]sample world already in {paths.db} (use --fresh to regenerate)[/]")
        return
    t0 = time.perf_counter()
    with console.status(f"generating the sample world ({len(DEMO_EXPERIMENTS)} experiments)..."):
        s = write_world(paths.db, seed=seed, force=True)   # --fresh: swapped in at once, registry kept
    console.print(f"generated {fmt_count(s.events)} events in {fmt_elapsed(time.perf_counter() - t0)} → {paths.db}")


def _overview(datasets: dict[str, ExperimentData], console: Console) -> None:
    from rich.table import Table

    t = Table(title="Experiments in the sample world", title_justify="left")
    for col in ("experiment", "kind", "variants", "units", "primary metric", "control", "best variant", "bots",
                "flags"):
        t.add_column(col, justify="left" if col in {"experiment", "kind", "primary metric", "flags"} else "right")
    for eid, d in datasets.items():
        m = d.primary
        s = d.stats(m, use_covariate=False) if m else None
        values = (s.ratio if isinstance(s, RatioStats) else s.mean) if s is not None else None
        fmt = (lambda v: fmt_metric_value(m.name, m.kind, v, m.unit)) if m else fmt_pct
        best = int(values[1:].argmax()) + 1 if values is not None and len(values) > 1 else None
        flags = []
        if d.trust and d.trust.sticky_violators:
            flags.append(f"{fmt_count(d.trust.sticky_violators)} sticky violations")
        if d.trust and d.trust.unknown_variants:
            flags.append("unknown variant label")
        t.add_row(eid, str(d.meta.get("kind", "")), str(len(d.variants)), fmt_count(d.units().sum()),
                  m.name if m else "—", fmt(values[0]) if values is not None else "—",
                  f"{d.variants[best]} {fmt(values[best])}" if best else "—",
                  fmt_pct(d.trust.bot_exclusion_rate) if d.trust else "—", ", ".join(flags))
    console.print(t)


def _decisions(outcomes: dict, console: Console) -> None:
    from rich.table import Table

    t = Table(title="Decisions", title_justify="left")
    for col in ("experiment", "health", "decision", "why"):
        t.add_column(col, overflow="fold")
    colours = {"launch": "green", "promote": "green", "hold": "yellow", "stop": "cyan", "rollback": "red"}
    for eid, o in outcomes.items():
        colour = colours.get(o.decision.action, "white")
        t.add_row(eid, o.result.health.status, f"[{colour}]{fmt_action(o.decision.action)}[/]", o.decision.reason)
    console.print(t)


def run_demo(*, fresh: bool = False, seed: int = 20261121, serve: bool = True, console: Console | None = None) -> None:
    """Run the demo pipeline on the embedded default database."""
    from .lifecycle import Registry, seed_from_world
    from .pipeline import evaluate

    console = console or Console()
    paths = Paths.default()
    _generate(paths, fresh=fresh, seed=seed, console=console)
    registered = seed_from_world(Registry(paths.db), by="demo")
    if registered:
        console.print(f"registered {len(registered)} experiments (briefs, running) in the registry")
    t0 = time.perf_counter()
    with console.status("aggregating (one query), analysing and deciding every experiment..."):
        outcomes = evaluate(db=paths.db)
    console.print(f"analysed and decided {len(outcomes)} experiments in {fmt_elapsed(time.perf_counter() - t0)}")
    _overview({e: o.data for e, o in outcomes.items()}, console)
    _decisions(outcomes, console)
    from .reports import run_reports
    from .reports.console import ReportProgress, print_run
    run = run_reports(db=paths.db, out=paths.reports, workers=2, progress=ReportProgress(console))
    print_run(run, console)
    console.print(f"\noutputs: database {paths.db} (events, registry, decisions); reports {paths.reports}/<id>/ "
                  f"(report.html, report.pdf, memo.md, memo.html, summary.json) and {paths.reports / 'index.html'}")
    if serve:
        from .dashboard import serve as serve_dashboard
        serve_dashboard(db=paths.db, reports=paths.reports, local_operator=True, say=console.print)
