"""CLI commands of the statistics core: ``analyze``, ``check`` and ``plan``.

``analyze FILE`` reads any supported input (aggregated CSV, unit-level table, event log; an event
log holding several experiments needs ``--experiment``); ``analyze --experiment ID [--db DB]``
reads one experiment from the workbench database through the data layer.

Exit codes: 0 when the data could be analysed (healthy or warning — a severe SRM is a *finding*
and also exits 0 with ``health.status == "blocked"``); 2 when the input is unusable (a structural
error, or blocked schema/logic/label problems). With ``--json`` the JSON is printed to stdout even
then (``health.status`` "blocked" and every issue), and the problems go to stderr one per line.

``--brief BRIEF`` takes an experiment brief of the lifecycle (``workbench experiments create``
format: primary metric, guardrails, expected split, SRM thresholds, minimum sample size), or a
plain analysis-options YAML mapping for what a brief does not say (see :func:`options_from_brief`)::

    primary: conversion_rate            # metric names as in the data
    guardrails: [guardrail_error]
    control: control                    # which variant is the control
    expected_weights: {control: 0.5, treatment: 0.5}
    alpha: 0.05
    srm: {warning_p: 0.001, blocked_p: 0.00001}
    correction: holm                    # or bh
    cuped: true
    non_inferiority: {guardrail_error: {margin: 0.001, relative: false}}   # replaces the metric's test
    margins: {conversion_rate: {margin: 0.02}}   # a non-inferiority test beside the usual one (relative)
    alternatives: {conversion_rate: two-sided}
    sequential: {planned_n_per_arm: 57760}
    segments: [segment]
    kind: ab                            # "aa" turns on the A/A check
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from ..display import fmt_count, fmt_lift, fmt_p_eq, fmt_pp, fmt_share, fmt_signed
from ..errors import InputError, Problem, WorkbenchError
from ..results import AnalysisResult, HealthReport
from ._common import (JSON_OPTION, MLFLOW_OPTION, console, engine_options, err_console, file_or_experiment, log_mlflow,
                      print_json, table)

__all__ = ["register", "options_from_brief"]

_BRIEF_EXTRA = ("control", "kind")
_EXPERIMENT_HELP = "Experiment id: in the database, or within an event-log FILE that holds several."
_DB_HELP = "DuckDB file (or Ibis URL) with the event log; default data/workbench.duckdb or $WORKBENCH_DB."


_LIFECYCLE_KEYS = {"id", "owner", "variants", "primary_metric"}


def options_from_brief(path: Path) -> tuple[Any, dict[str, Any]]:
    """Analysis options (and reader settings ``control``/``kind``) from a ``--brief`` YAML file.

    The one place that knows brief formats. An experiment brief of the lifecycle
    (:mod:`workbench.lifecycle.brief`: ``id``, ``owner``, ``variants``, ``primary_metric``...) is
    validated there and mapped to options by :func:`workbench.lifecycle.inputs.analysis_options`
    once the data is read (``extra["brief"]``); its ``min_sample_size`` tunes the sequential
    confidence sequence. Any other mapping is a plain options file (the module docstring).
    """
    import yaml

    from ..analysis import AnalysisOptions, SequentialOptions
    from ..yamlio import load_yaml
    name = str(path)
    if not path.is_file():
        raise InputError([Problem("blocked", "missing_file", "the brief file does not exist" if not path.exists()
                                  else "the brief is a directory, expected a YAML file", file=name)])
    try:
        loaded = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {str(exc).splitlines()[0]}",
                                  file=name)]) from None
    if not isinstance(loaded, dict):
        raise InputError([Problem("blocked", "bad_yaml", "expected a mapping at the top level", file=name)])
    if len(_LIFECYCLE_KEYS & set(loaded)) >= 2:
        from ..lifecycle.brief import load_brief
        brief = load_brief(path)
        opts = AnalysisOptions(sequential=SequentialOptions(float(brief.min_sample_size))
                               if brief.min_sample_size else None)
        return opts, {"kind": brief.kind, "brief": brief, "metric_defs": brief.metric_definitions(source=name)}
    extra = {k: loaded.pop(k) for k in _BRIEF_EXTRA if k in loaded}
    if "kind" in extra and extra["kind"] not in ("ab", "aa", "canary", "bandit", "multi"):
        raise InputError([Problem("blocked", "bad_option", "kind must be one of ab, aa, canary, bandit, multi",
                                  file=name, column="kind", value=str(extra["kind"]))])
    return AnalysisOptions.from_mapping(loaded, source=name), extra


def _with_brief(opts: Any, extra: dict[str, Any], data: Any) -> Any:
    """Options after the data is read: a lifecycle brief maps onto what the data can compute."""
    if extra.get("brief") is None:
        return opts
    from ..lifecycle.inputs import analysis_options
    return replace(opts, **analysis_options(extra["brief"], data))


def _load(file: Optional[Path], experiment: Optional[str], db: Optional[str], control: Optional[str],
          extra: dict[str, Any], weights: Any) -> Any:
    """ExperimentData from an input file of any form (aggregated CSV, unit table, event log) or
    from an experiment id in the database; ``control``/``weights``/``kind`` override what was read."""
    control = control or extra.get("control")
    if file is None and experiment is None:
        raise WorkbenchError("give a FILE (aggregated CSV, unit-level table or event log) or --experiment ID")
    if file is not None:
        from ..sources.detect import read_results
        data = read_results(file, experiment=experiment, control=control,
                            expected_weights=dict(weights) if weights else None)
    else:
        from ..sources.experiments import load_experiment
        own = {experiment: extra["metric_defs"]} if extra.get("metric_defs") is not None else None
        data = load_experiment(experiment, db=db, definitions=own)          # with the brief's own metrics
    if control and control != data.control:
        if control not in data.variants:
            raise InputError([Problem("blocked", "unknown_control", f"the control {control!r} is not a variant of "
                                      f"this experiment ({', '.join(data.variants)})", file=data.source or None,
                                      column="variant", value=control)])
        data = replace(data, variants=(control, *[v for v in data.variants if v != control]),
                       control_note=f"given as {control!r}")
    if weights and data.expected_weights != dict(weights):
        data = replace(data, expected_weights=dict(weights))
    if extra.get("kind"):
        data = replace(data, meta={**data.meta, "kind": extra["kind"]})
    return data


def _blocked_result(err: InputError, file: Optional[Path], experiment: Optional[str]) -> AnalysisResult:
    ident = experiment or (file.stem if file is not None else "")
    return AnalysisResult(experiment_id=ident, variants=(), control="",
                          health=HealthReport(status="blocked", issues=tuple(err.problems)), metrics=(),
                          source=str(file) if file is not None else "")


def _print_problems(problems: Any) -> None:
    for p in problems:
        if p.level == "blocked":
            err_console.print(f"[bold red]error:[/] {p}", highlight=False, markup=True, soft_wrap=True)


def _badge(status: str) -> str:
    colour = {"healthy": "green", "warning": "yellow", "blocked": "red"}.get(status, "white")
    return f"[bold {colour}]{status.upper()}[/]"


def _show_health(h: HealthReport) -> None:
    console.print(f"Health: {_badge(h.status)}")
    if h.srm is not None:
        console.print(f"SRM: chi-square {fmt_p_eq(h.srm.p_value)} (observed "
                      f"{' / '.join(fmt_count(o) for o in h.srm.observed)}, expected "
                      f"{' / '.join(fmt_count(e) for e in h.srm.expected)})")
    from ..adjust_tables import balance_summary, segment_srm_summary
    for line in (segment_srm_summary(h), balance_summary(h)):
        if line:
            console.print(escape(line[0].upper() + line[1:]))
    if h.issues:
        console.print(table("Issues", ["level", "code", "where", "message"],
                            [(p.level, p.code, escape(p.location()), escape(p.message)) for p in h.issues]))


def _show_analysis(r: AnalysisResult) -> None:
    from ..tables import COMPARISON_COLUMNS, ci_header, comparison_row, metric_caption, metric_title
    variants = ", ".join(f"{v} (control)" if v == r.control else v for v in r.variants)
    console.print(f"Experiment [bold]{escape(r.experiment_id)}[/]: variants {escape(variants)}")
    _show_health(r.health)
    columns = [ci_header(r.alpha) if c == "CI" else c for c in COMPARISON_COLUMNS]
    for m in r.metrics:
        if not m.comparisons:
            console.print(escape(f"{m.label or m.name} [{m.role}]: {'; '.join(m.notes) or 'no comparisons'}"))
            continue
        caption = metric_caption(m)
        console.print(table(escape(metric_title(m)), columns,
                            [tuple(escape(v) for v in comparison_row(m, c).values()) for c in m.comparisons],
                            caption=escape(caption) if caption else None))
        from ..margins import margin_sentence
        for c in m.comparisons:
            sentence = margin_sentence(m, c)
            if sentence:
                console.print(escape(f"margin: {sentence}"))
    _show_adjusted(r)
    _show_segments(r)
    _show_time_effects(r)
    for note in r.notes:
        console.print(f"note: {escape(note)}")


def _show_adjusted(r: AnalysisResult) -> None:
    """Plain, single-covariate CUPED and stratified multi-covariate estimates side by side."""
    from ..adjust_tables import ADJUST_COLUMNS, adjustment_rows, result_caption
    from ..tables import ci_header
    rows = [row for m in r.metrics for row in adjustment_rows(m)]
    if not rows:
        return
    console.print(table("Adjusted estimates (beside the headline; decisions use the headline)",
                        [ci_header(r.alpha) if c == "CI" else c for c in ADJUST_COLUMNS],
                        [tuple(escape(v) for v in row.values()) for row in rows],
                        caption=escape(result_caption(r))))


def _show_time_effects(r: AnalysisResult) -> None:
    """Calendar events in the window, day-of-week imbalance and a novelty/primacy trend (one sentence each)."""
    te = r.time_effects
    if te is None:
        return
    for t in te.trends:
        if not t.detected:
            console.print(escape(f"time: {t.sentence()}"))
    for sentence in te.sentences():
        console.print(f"[bold yellow]time:[/] {escape(sentence)}")


def _show_segments(r: AnalysisResult) -> None:
    """Per-segment lifts of every metric (exploratory), Cochran's Q once per variant."""
    from ..tables import SEGMENT_COLUMNS, ci_header, segment_caption, segment_rows
    columns = [ci_header(r.alpha) if c == "CI" else c for c in SEGMENT_COLUMNS]
    for seg in r.segments:
        console.print(f"Segments by [bold]{escape(seg.dim)}[/] (exploratory: use segment results to form "
                      "hypotheses, not to decide)")
        for s in seg.metrics:
            console.print(table(escape(f"{s.metric} by {s.dim}"), columns,
                                [tuple(escape(v) for v in row.values()) for row in segment_rows(s)],
                                caption=escape(segment_caption(s, r.alpha))))


def analyze_command(
    file: Optional[Path] = typer.Argument(None, help="Aggregated results CSV, unit-level table or event log; or an "
                                          "experiment id in the database (as --experiment)."),
    brief: Optional[Path] = typer.Option(None, "--brief", help="Brief YAML: primary, guardrails, weights, thresholds."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help=_EXPERIMENT_HELP),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    control: Optional[str] = typer.Option(None, "--control", help="Name of the control variant."),
    correction: Optional[str] = typer.Option(None, "--correction", help="holm (default), bh or none."),
    segment: list[str] = typer.Option([], "--segment", help="Also break down by this column (exploratory)."),
    metrics: Optional[Path] = typer.Option(None, "--metrics", help="Metric definitions YAML (values: and metrics:) "
                                           "to analyse besides the built-ins; see `workbench metrics list`."),
    json_: bool = JSON_OPTION,
    mlflow: Optional[str] = MLFLOW_OPTION,
) -> None:
    """Health check, then every metric's variants against the control."""
    from ..analysis import AnalysisOptions, analyze
    from ..health import usable
    if metrics is not None:
        from ..metric_defs import activate, load_definitions
        activate(load_definitions(metrics))
    opts, extra = options_from_brief(brief) if brief is not None else (AnalysisOptions(), {})
    if correction is not None:
        checked = AnalysisOptions.from_mapping({"correction": correction}, source="--correction")
        opts = replace(opts, correction=checked.correction)
    if segment:
        opts = replace(opts, segments=tuple(opts.segments) + tuple(segment))
    try:
        with file_or_experiment(file, experiment) as (file, experiment):
            data = _load(file, experiment, db, control, extra, opts.expected_weights)
    except InputError as err:
        if not json_:
            raise
        print_json(_blocked_result(err, file, experiment))
        _print_problems(err.problems)
        raise typer.Exit(2)
    opts = _with_brief(opts, extra, data)
    if not opts.calendar:
        from ..lifecycle.inputs import calendar_options
        opts = replace(opts, **calendar_options(db if file is None else None))
    result = analyze(data, opts)
    if json_:
        print_json(result)
    else:
        _show_analysis(result)
    if not usable(result.health):
        # unusable input: health is reported (no comparisons were computed) and the exit code says so
        _print_problems(result.health.issues)
        raise typer.Exit(2)
    if mlflow is not None:
        from ..tracking import summary_of
        log_mlflow(summary_of(result, None, brief=extra.get("brief")), mlflow, brief=extra.get("brief"),
                   brief_source=str(brief) if brief is not None else None,
                   engine="duckdb" if file is None else "file")


def _health(data: Any, opts: Any) -> HealthReport:
    from ..health import check_health
    return check_health(data, expected_weights=opts.expected_weights, srm_warning_p=opts.srm_warning_p,
                        srm_blocked_p=opts.srm_blocked_p, small_sample_units=opts.small_sample_units)


def check_command(
    file: Optional[Path] = typer.Argument(None, help="Aggregated results CSV, unit-level table or event log; or an "
                                          "experiment id in the database (as --experiment)."),
    brief: Optional[Path] = typer.Option(None, "--brief", help="Brief YAML (weights, SRM thresholds)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help=_EXPERIMENT_HELP),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    control: Optional[str] = typer.Option(None, "--control", help="Name of the control variant."),
    json_: bool = JSON_OPTION,
) -> None:
    """Health only: schema and logic problems, SRM, labels, small samples, bots and stickiness."""
    from ..analysis import AnalysisOptions
    from ..health import usable
    opts, extra = options_from_brief(brief) if brief is not None else (AnalysisOptions(), {})
    try:
        with file_or_experiment(file, experiment) as (file, experiment):
            data = _load(file, experiment, db, control, extra, opts.expected_weights)
    except InputError as err:
        if not json_:
            raise
        blocked = _blocked_result(err, file, experiment)
        print_json({"experiment_id": blocked.experiment_id, "variants": [], "units": [], "health": blocked.health})
        _print_problems(err.problems)
        raise typer.Exit(2)
    health = _health(data, _with_brief(opts, extra, data))
    if json_:
        try:
            units = [float(u) for u in data.units()]
        except (KeyError, ValueError):
            units = []
        print_json({"experiment_id": data.experiment_id, "variants": list(data.variants), "units": units,
                    "health": health})
    else:
        console.print(f"Experiment [bold]{escape(data.experiment_id)}[/]: variants {escape(', '.join(data.variants))}")
        _show_health(health)
    if not usable(health):
        _print_problems(health.issues)
        raise typer.Exit(2)


def plan_command(
    baseline: Optional[float] = typer.Option(None, "--baseline", help="Control rate (proportion) or mean."),
    mde: Optional[float] = typer.Option(None, "--mde", help="Minimum detectable effect (absolute unless --relative)."),
    relative: bool = typer.Option(False, "--relative/--absolute", help="Read --mde as a relative lift (0.05 = +5%)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    power: float = typer.Option(0.8, "--power", help="Power (1 − beta)."),
    arms: int = typer.Option(2, "--arms", help="Number of arms including the control."),
    split: Optional[str] = typer.Option(None, "--split", help="Allocation weights, control first, e.g. 50,50."),
    kind: str = typer.Option("proportion", "--kind", help="proportion or mean."),
    sd: Optional[float] = typer.Option(None, "--sd", help="Per-unit standard deviation (means)."),
    one_sided: bool = typer.Option(False, "--one-sided", help="Plan a one-sided test."),
    daily_units: Optional[float] = typer.Option(None, "--daily-units", help="Units entering per day (all arms)."),
    n_per_arm: Optional[float] = typer.Option(None, "--n-per-arm", help="Instead of --mde: the MDE for this size."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help="Plan from this experiment's data: "
                                             "baseline, variance (and CUPED variance), daily traffic; the brief's MDE."),
    metric: Optional[str] = typer.Option(None, "--metric", help="With -e: the metric (default: the primary)."),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    json_: bool = JSON_OPTION,
) -> None:
    """Sample size per arm for an MDE (or the MDE for a sample size), and the expected duration."""
    if experiment is not None:
        _plan_from_history(experiment, metric, db, mde, relative, alpha, power, split, json_)
        return
    if baseline is None:
        raise InputError([Problem("blocked", "bad_parameter", "give --baseline (or -e ID to plan from an "
                                  "experiment's data)", column="baseline")])
    from ..stats.power import mde as mde_for, sample_size
    weights = None
    if split is not None:
        try:
            weights = [float(x) for x in split.replace(":", ",").split(",") if x.strip()]
        except ValueError:
            raise InputError([Problem("blocked", "bad_parameter", "split must be numbers separated by commas",
                                      column="split", value=split)]) from None
    if (mde is None) == (n_per_arm is None):
        raise InputError([Problem("blocked", "bad_parameter", "give exactly one of --mde and --n-per-arm",
                                  column="mde")])
    if mde is not None:
        r = sample_size(baseline, mde, relative=relative, alpha=alpha, power=power, arms=arms, split=weights,
                        kind=kind, sd=sd, two_sided=not one_sided, daily_units=daily_units)  # type: ignore[arg-type]
        if json_:
            print_json(r)
            return
        console.print(r.summary())
        console.print(table("Plan", ["arm", "units"], [("control" if i == 0 else f"variant {i}", fmt_count(n))
                                                      for i, n in enumerate(r.n_by_arm)],
                            caption=r.note or None))
        return
    m = mde_for(baseline, n_per_arm, alpha=alpha, power=power, arms=arms, split=weights, kind=kind, sd=sd,  # type: ignore[arg-type]
                two_sided=not one_sided)
    if json_:
        print_json(m)
        return
    console.print(f"With {fmt_count(n_per_arm)} units per arm the smallest detectable lift is "
                  f"{fmt_pp(m.mde_abs) if kind == 'proportion' else fmt_signed(m.mde_abs, 4)} absolute ({fmt_lift(m.mde_rel)} relative) at "
                  f"{fmt_share(power)} power, alpha {alpha:g}")


def _plan_from_history(experiment: str, metric: Optional[str], db: Optional[str], mde: Optional[float],
                       relative: bool, alpha: float, power: float, split: Optional[str], json_: bool) -> None:
    """``plan -e ID``: baseline, variance, CUPED variance and traffic measured on the data (workbench.planning)."""
    from ..planning import plan_from_data
    from ..sources.experiments import load_experiment
    data = load_experiment(experiment, db=db)
    brief = None
    from ..pipeline import has_registry
    if has_registry(db):
        from ..lifecycle.registry import Registry
        reg = Registry(db)
        if reg.exists(experiment):
            brief = reg.brief(experiment)
    weights = [float(x) for x in split.replace(":", ",").split(",") if x.strip()] if split else None
    plan = plan_from_data(data, metric=metric, brief=brief, mde=mde, relative=relative if mde is not None else None,
                          alpha=alpha, power=power, split=weights)
    if json_:
        print_json(plan)
        return
    console.print(escape(plan.summary()))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("analyze", help="Analyse an experiment: health check, then every metric's variants vs the control.")(engine_options(analyze_command))
    app.command("check", help="Health check only (schema, SRM, labels, small samples, bots, stickiness).")(engine_options(check_command))
    app.command("plan", help="Sample size per arm, MDE and duration for a planned experiment.")(engine_options(plan_command))
