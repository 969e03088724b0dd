"""Getting an :class:`~workbench.results.AnalysisResult` to decide on, from a file or the database.

* a ``.json`` file is a saved result (``workbench analyze --json``), read back by
  :func:`result_from_dict` without recomputing anything;
* any other file is results in any form the workbench reads (aggregated CSV or Parquet, unit-level
  table, event log), read by :func:`workbench.sources.detect.read_results` — the reader of
  ``analyze`` and ``check`` — and analysed by :func:`workbench.analysis.analyze`; input those
  commands refuse is refused here too (:func:`require_usable`);
* an experiment id alone is analysed from the event log in the database.

>>> from workbench.results import AnalysisResult, Comparison, HealthReport, MetricResult
>>> c = Comparison("b", "control", 0.1, 0.12, 0.02, (0.01, 0.03), 0.2, (0.1, 0.3), 0.01, 0.01, "welch")
>>> r = AnalysisResult("e", ("control", "b"), "control", HealthReport("healthy"),
...                    (MetricResult("cvr", "proportion", "primary", (c,)),))
>>> result_from_dict(r.to_dict()) == r
True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..asof import naive_utc
from ..errors import InputError, Problem
from ..results import AnalysisResult, Comparison, HealthReport, MetricResult, SRMResult

__all__ = ["result_from_dict", "load_result_json", "analysis_options", "calendar_options", "analyze_file", "analyze_experiment",
           "require_usable"]


def _tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (list, tuple)) else ()


def _f(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _comparison(d: dict[str, Any]) -> Comparison:
    return Comparison(
        variant=str(d["variant"]), control=str(d["control"]), control_value=_f(d["control_value"]),
        variant_value=_f(d["variant_value"]), lift_abs=_f(d["lift_abs"]),
        lift_abs_ci=tuple(_f(x) for x in d["lift_abs_ci"]),  # type: ignore[arg-type]
        lift_rel=_f(d["lift_rel"]), lift_rel_ci=tuple(_f(x) for x in d["lift_rel_ci"]),  # type: ignore[arg-type]
        p_value=_f(d["p_value"]), p_value_adjusted=_f(d.get("p_value_adjusted", d["p_value"])), test=str(d["test"]),
        prob_beat_control=d.get("prob_beat_control"), expected_loss=d.get("expected_loss"),
        n_control=d.get("n_control"), n_variant=d.get("n_variant"), extra=dict(d.get("extra") or {}))


def result_from_dict(d: dict[str, Any]) -> AnalysisResult:
    """Rebuild an :class:`AnalysisResult` from its ``to_dict()`` / ``--json`` form."""
    from ..errors import Problem as P
    h = d.get("health") or {}
    srm = h.get("srm")
    health = HealthReport(
        status=h.get("status", "healthy"),
        issues=tuple(P(**{k: p.get(k) for k in ("level", "code", "message", "file", "column", "row", "value")})
                     for p in h.get("issues") or ()),
        srm=None if not srm else SRMResult(variants=_tuple(srm["variants"]), observed=_tuple(srm["observed"]),
                                           expected=_tuple(srm["expected"]), weights=_tuple(srm["weights"]),
                                           statistic=_f(srm["statistic"]), p_value=_f(srm["p_value"]),
                                           status=srm["status"]),
        bot_exclusion_rate=h.get("bot_exclusion_rate"), sticky_violators=h.get("sticky_violators"))
    metrics = tuple(MetricResult(name=m["name"], kind=m["kind"], role=m["role"],
                                 comparisons=tuple(_comparison(c) for c in m["comparisons"]),
                                 label=m.get("label", ""), higher_is_better=m.get("higher_is_better", True),
                                 limit=m.get("limit"), correction=m.get("correction", ""),
                                 variance_reduction=m.get("variance_reduction"), notes=_tuple(m.get("notes")),
                                 unit=m.get("unit") or "")
                    for m in d.get("metrics") or ())
    return AnalysisResult(experiment_id=str(d["experiment_id"]), variants=_tuple(d["variants"]),
                          control=str(d["control"]), health=health, metrics=metrics, alpha=float(d.get("alpha", 0.05)),
                          units=tuple(float(u) for u in d.get("units") or ()), notes=_tuple(d.get("notes")),
                          segments=_tuple(d.get("segments")), sequential=d.get("sequential"),
                          source=d.get("source", ""), data_version=d.get("data_version", ""),
                          as_of=naive_utc(d.get("as_of")), aa=_aa(d.get("aa")), time_effects=_time(d.get("time_effects")))


def _time(d: Any) -> Any:
    from ..time_effects import TimeEffects
    return TimeEffects.from_dict(d)


def _aa(d: Any) -> Any:
    if not isinstance(d, dict):
        return None
    from ..aa import AAVerdict
    fields = AAVerdict.__dataclass_fields__
    return AAVerdict(**{k: (tuple(v) if k == "findings" else v) for k, v in d.items() if k in fields})


def load_result_json(path: str | Path) -> AnalysisResult:
    """Read a saved analysis result; problems name the file and the missing field."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem("blocked", "missing_file", "file not found", file=str(p))]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem("blocked", "bad_json", f"not valid JSON: {exc}", file=str(p))]) from None
    except OSError as exc:
        raise InputError([Problem("blocked", "unreadable_file", f"cannot read the file: {exc.strerror or exc}",
                                  file=str(p))]) from None
    if not isinstance(data, dict):
        raise InputError([Problem("blocked", "bad_result", "expected a JSON object (an analysis result)", file=str(p))])
    try:
        return result_from_dict(data)
    except KeyError as exc:
        raise InputError([Problem("blocked", "bad_result", "field missing from the analysis result", file=str(p),
                                  column=str(exc.args[0]))]) from None
    except (TypeError, ValueError) as exc:
        raise InputError([Problem("blocked", "bad_result", f"not an analysis result: {exc}", file=str(p))]) from None


def analysis_options(brief: Any, data: Any) -> dict[str, Any]:
    """:func:`~workbench.analysis.analyze` options that follow the brief, limited to what the data has.

    The primary metric, the guardrails and the secondary metrics the brief names (when the data
    can compute them), its SRM thresholds, its non-inferiority margins, the confidence sequence when
    it decides sequentially (tuned to ``min_sample_size``), and — for fixed allocations whose
    variants match the data's — the expected split for the SRM check. The events calendar is added by
    :func:`calendar_options`.
    """
    if brief is None:
        return {}
    have = {m.name for m in data.metrics}
    opts: dict[str, Any] = {}
    if brief.primary_metric in have:
        opts["primary"] = brief.primary_metric
    guards = tuple(g.metric for g in brief.guardrails if g.metric in have)
    if guards:
        opts["guardrails"] = guards
    if brief.srm.warning_p is not None:
        opts["srm_warning_p"] = brief.srm.warning_p
    if brief.srm.blocked_p is not None:
        opts["srm_blocked_p"] = brief.srm.blocked_p
    from ..aa import is_aa
    if is_aa(brief=brief, meta=getattr(data, "meta", None)):
        opts["aa"] = True
    if brief.expected_split and list(data.variants) == brief.variant_ids:
        opts["expected_weights"] = dict(zip(brief.variant_ids, brief.expected_split))
    from ..analysis import NonInferiority, SequentialOptions
    margins = {name: NonInferiority(m.margin, m.relative) for name, m in brief.non_inferiority.items() if name in have}
    if margins:
        opts["margins"] = margins
    if brief.sequential and brief.min_sample_size:
        opts["sequential"] = SequentialOptions(float(brief.min_sample_size))
    return opts


def calendar_options(db: str | Path | None = None) -> dict[str, Any]:
    """``{"calendar": events}`` from the events calendar beside the database (nothing when it is empty)."""
    from .calendar import calendar_path, load_calendar
    events = load_calendar(calendar_path(db))
    return {"calendar": events} if events else {}


def require_usable(result: AnalysisResult, source: str | None = None) -> AnalysisResult:
    """``result`` when its input was usable, else :class:`InputError` with the input's blocking problems.

    A result whose health is blocked by a *finding* (a severe SRM) is usable: its memo says Blocked
    first. A result blocked by the input itself (schema, logic, labels — what ``analyze`` and
    ``check`` exit 2 for) is not: nothing may be decided or written from it.
    """
    from ..health import FINDING_CODES, usable
    if usable(result.health):
        return result
    problems = [p for p in result.health.issues if p.level == "blocked" and p.code not in FINDING_CODES]
    raise InputError([p if p.file or not source else Problem(p.level, p.code, p.message, file=source, column=p.column,
                                                             row=p.row, value=p.value, line=p.line)
                      for p in problems])


def analyze_file(path: str | Path, *, brief: Any = None, **kwargs: Any) -> AnalysisResult:
    """A saved result (``.json``) or results of any form (:func:`workbench.sources.detect.read_results`:
    aggregated CSV/Parquet, unit-level table, event log), analysed as the brief says.

    Unusable input raises :class:`InputError` (see :func:`require_usable`), the same input that
    ``workbench analyze`` and ``workbench check`` exit 2 for.
    """
    p = Path(path)
    if p.suffix.lower() == ".json":
        return require_usable(load_result_json(p), str(p))
    from ..analysis import analyze
    from ..sources.detect import read_results
    data = read_results(p)
    return require_usable(analyze(data, **{**calendar_options(), **analysis_options(brief, data), **kwargs}), str(p))


def analyze_experiment(experiment_id: str, *, brief: Any = None, db: str | Path | None = None,
                       as_of: Any = None, **kwargs: Any) -> AnalysisResult:
    """Analyse one experiment from the event log in the workbench database, as the brief says."""
    from ..analysis import analyze
    from ..sources.experiments import load_experiment
    own = {experiment_id: brief.metric_definitions()} if hasattr(brief, "metric_definitions") else None
    data = load_experiment(experiment_id, db=db, as_of=as_of, definitions=own)     # with its brief's own metrics
    return analyze(data, **{**calendar_options(db), **analysis_options(brief, data), **kwargs})
