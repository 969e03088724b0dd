"""Log an experiment's analysis and decision as an MLflow run (``--mlflow``, or :func:`log_to_mlflow`).

Everything the run holds is read from the experiment's **summary** — the mapping a report writes
to ``summary.json`` (:meth:`workbench.reports.report.ExperimentReport.summary`), or the same
mapping built by :func:`summary_of` from an analysis and its decision for ``analyze``/``decide``.
Its ``story`` (:mod:`workbench.story`) gives health, decision and the primary metric's
comparisons; ``guardrails`` the guardrail rows the report and the decision engine show. Nothing is
recomputed here, so the numbers in MLflow are the numbers of the report, the memo and the CLI.

* **parameters**: experiment, brief, policy, data version, data as-of, engine, kind, control,
  primary metric;
* **metrics** (full precision): units per variant, the SRM p-value, per variant of the primary
  metric ``primary.<variant>.lift_rel`` (and ``lift_rel_ci_low/high``, ``lift_abs``, its interval,
  ``p_value``, ``p_value_adjusted``, ``prob_beat_control``, ``expected_loss``), per guardrail
  ``guardrail.<metric>.<variant>.delta`` (``ci_low``, ``ci_high``, ``p_value``, ``breached``,
  ``worse``) and the decision engine's counts ``guardrails.worsened|severe|breached``;
* **tags**: ``workbench.decision``, ``workbench.health``, ``workbench.winner``, ``workbench.rule``…
  and the decision's reason as the run's description;
* **artifacts**: ``report.html``, ``memo.html``/``memo.md`` and ``summary.json`` when given.

For an ML-model promotion (a canary) the brief's variants name the model in their ``meta``
(``model``, ``model_version``): the run is named after the model and candidate version and
tagged ``model.name``, ``model.version`` and ``model.control_version``; when that version is in
the tracking server's model registry, the decision is also written on the model version as tags
(``workbench.decision``, ``workbench.run_id``...), so it sits next to the model.

MLflow is optional (``pip install 'experiment-workbench[mlflow]'``, ``mlflow-skinny`` suffices)
and imported only when a run is logged. A tracking URI that is a plain directory is a local
file store (MLflow keeps that backend in maintenance mode; the workbench opts in for it).

>>> s = {"experiment_id": "e1", "kind": "ab", "story": {"experiment_id": "e1", "control": "a",
...      "variants": ["a", "b"], "units": {"a": 100.0, "b": 90.0}, "health": "healthy", "srm_p": 0.5,
...      "action": "launch", "reason": "b wins", "winner": "b", "policy": "decision-layer", "rule": "launch",
...      "best_variant": "b", "data_version": "v1", "data_as_of": "2026-11-19T23:00:00",
...      "primary": {"metric": "cvr", "comparisons": [{"variant": "b", "lift_rel": 0.1,
...                  "lift_rel_ci": [0.02, 0.18], "p_value": 0.01}]}}}
>>> rec = tracking_record(s)
>>> rec.metrics["primary.b.lift_rel"], rec.metrics["primary.b.lift_rel_ci_high"], rec.tags["workbench.decision"]
(0.1, 0.18, 'launch')
>>> rec.params["policy"], rec.params["data_version"], rec.run_name
('decision-layer', 'v1', 'e1: launch')
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .display import ResultMixin, dumps, to_jsonable
from .errors import WorkbenchError

__all__ = ["TrackingRecord", "LoggedRun", "tracking_record", "summary_of", "log_to_mlflow", "log_report",
           "resolve_uri", "model_of"]

_COMPARISON_METRICS = (("lift_rel", "lift_rel"), ("lift_abs", "lift_abs"), ("p_value", "p_value"),
                       ("p_value_adjusted", "p_value_adjusted"), ("prob_beat_control", "prob_beat_control"),
                       ("expected_loss", "expected_loss"), ("control_value", "control_value"),
                       ("variant_value", "variant_value"))
_FACT_COUNTS = ("guardrails_worsened", "guardrails_severe", "guardrails_breached")
MODEL_KEYS = ("model", "model_name")
VERSION_KEYS = ("model_version", "version")


@dataclass(frozen=True)
class TrackingRecord(ResultMixin):
    """What one MLflow run holds (before it is logged): name, parameters, metrics, tags."""

    experiment_id: str
    run_name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    model: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRun(ResultMixin):
    """A run written to MLflow (or found there already, ``reused``)."""

    experiment_id: str
    run_id: str
    mlflow_experiment_id: str
    tracking_uri: str
    artifacts: tuple[str, ...] = ()
    model_version_tagged: bool = False
    reused: bool = False


def _key(*parts: Any) -> str:
    """An MLflow metric/param key: letters, digits, ``_ - . /`` and spaces; anything else becomes ``_``."""
    return ".".join(re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(p)) for p in parts)


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)) and math.isfinite(float(x)):
        return float(x)
    return None


def model_of(brief: Any, *, candidate: str | None) -> dict[str, str]:
    """The model named by the brief's variants (``meta: {model, model_version}``), or ``{}``.

    ``candidate`` is the variant being decided on (the winner, else the best variant); its version
    is ``version``, the control's ``control_version``.
    """
    if brief is None:
        return {}
    variants = brief.get("variants") if isinstance(brief, Mapping) else [v.model_dump() for v in brief.variants]
    metas = {str(v["id"]): dict(v.get("meta") or {}) for v in variants or []}
    if not metas:
        return {}
    control = next(iter(metas))
    chosen = candidate if candidate in metas else next((v for v in metas if v != control), control)
    meta = metas[chosen]
    name = next((meta[k] for k in MODEL_KEYS if meta.get(k)), None) or \
        next((m[k] for m in metas.values() for k in MODEL_KEYS if m.get(k)), None)
    if not name:
        return {}
    out = {"name": str(name), "variant": chosen}
    version = next((meta[k] for k in VERSION_KEYS if meta.get(k)), None)
    if version:
        out["version"] = str(version)
    cv = next((metas[control][k] for k in VERSION_KEYS if metas[control].get(k)), None)
    if cv and chosen != control:
        out["control_version"] = str(cv)
    return out


def tracking_record(summary: Mapping[str, Any], *, brief: Any = None, engine: str | None = None,
                    brief_source: str | None = None) -> TrackingRecord:
    """The run's name, parameters, metrics and tags, read from a summary (see the module doc)."""
    story = summary.get("story") or {}
    eid = str(story.get("experiment_id") or summary.get("experiment_id") or "")
    decision = summary.get("decision") or {}
    facts = decision.get("facts") or {}
    action = story.get("action")
    params = {
        "experiment_id": eid,
        "brief": brief_source or (f"registry:{eid}" if summary.get("state") is not None else "none"),
        "policy": story.get("policy") or decision.get("policy") or "none",
        "data_version": story.get("data_version") or summary.get("data_version") or "",
        "data_as_of": story.get("data_as_of") or summary.get("data_as_of") or "",
        "as_of": summary.get("as_of") or "latest",
        "engine": engine or summary.get("engine") or "duckdb",
        "kind": summary.get("kind") or "ab",
        "control": story.get("control") or "",
        "variants": ",".join(story.get("variants") or ()),
        "primary_metric": (story.get("primary") or {}).get("metric") or "",
    }
    metrics: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        v = _num(value)
        if v is not None:
            metrics[key] = v

    for v, n in (story.get("units") or {}).items():
        put(_key("units", v), n)
    put("srm_p", story.get("srm_p"))
    for c in (story.get("primary") or {}).get("comparisons") or ():
        v = c.get("variant")
        for src, name in _COMPARISON_METRICS:
            put(_key("primary", v, name), c.get(src))
        for src in ("lift_rel_ci", "lift_abs_ci"):
            ci = c.get(src) or (None, None)
            put(_key("primary", v, f"{src}_low"), ci[0])
            put(_key("primary", v, f"{src}_high"), ci[1])
    for g in summary.get("guardrails") or ():
        if g.get("variant") in (None, "—"):
            continue
        base = ("guardrail", g.get("metric"), g.get("variant"))
        put(_key(*base, "delta"), g.get("delta"))
        put(_key(*base, "ci_low"), g.get("lo"))
        put(_key(*base, "ci_high"), g.get("hi"))
        put(_key(*base, "p_value"), g.get("p_value"))
        put(_key(*base, "variant_value"), g.get("variant_value"))
        verdict = str(g.get("verdict") or "")
        put(_key(*base, "breached"), verdict == "limit crossed")
        put(_key(*base, "worse"), verdict in ("limit crossed", "severely worse", "worse"))
    for k in _FACT_COUNTS:
        put(k.replace("_", ".", 1), facts.get(k))
    tags = {"workbench.experiment_id": eid, "workbench.health": str(story.get("health") or ""),
            "workbench.decision": str(action or "none"), "workbench.kind": params["kind"]}
    for k, src in (("workbench.winner", story.get("winner")), ("workbench.rule", story.get("rule")),
                   ("workbench.best_variant", story.get("best_variant")), ("workbench.state", summary.get("state")),
                   ("workbench.report_key", summary.get("report_key")), ("workbench.name", summary.get("name"))):
        if src:
            tags[k] = str(src)
    if story.get("reason"):
        tags["mlflow.note.content"] = str(story["reason"])
    model = model_of(brief, candidate=story.get("winner") or story.get("best_variant"))
    run_name = f"{eid}: {action or 'analysis'}"
    if model:
        tags["model.name"] = model["name"]
        tags["model.variant"] = model["variant"]
        for k in ("version", "control_version"):
            if k in model:
                tags[f"model.{k}"] = model[k]
        run_name = f"{model['name']}" + (f" v{model['version']}" if "version" in model else "") + \
            f": {action or 'analysis'} ({eid})"
    return TrackingRecord(eid, run_name, {k: str(v) for k, v in params.items()}, metrics, tags, model)


def summary_of(result: Any, decision: Any = None, *, record: Any = None, brief: Any = None,
               allocation: Mapping[str, float] | None = None, as_of: Any = None) -> dict[str, Any]:
    """The summary mapping of an analysis (and decision) outside a report: the story, the guardrail
    rows (:func:`workbench.reports.views.guardrail_frame`, as in ``summary.json``) and the decision."""
    from .reports.views import guardrail_frame
    from .story import ExperimentStory
    story = ExperimentStory.from_parts(result, decision, allocation=allocation)
    facts = dict(getattr(decision, "facts", {}) or {})
    out = {"schema": 1, "experiment_id": result.experiment_id,
           "name": (brief.name if brief is not None and getattr(brief, "name", "") else None),
           "kind": getattr(brief, "kind", None) or ("aa" if getattr(result, "aa", None) is not None else "ab"),
           "state": getattr(record, "state", None), "as_of": as_of, "data_as_of": story.data_as_of,
           "data_version": result.data_version, "story": story.to_dict(),
           "guardrails": guardrail_frame(result, facts).to_dict("records")}
    if decision is not None:
        out["decision"] = {"action": decision.action, "reason": decision.reason, "reasons": list(decision.reasons),
                           "winner": decision.winner, "policy": decision.policy, "rule": decision.rule, "facts": facts}
    return to_jsonable(out)


# --- MLflow -----------------------------------------------------------------------------------------
def resolve_uri(uri: str | None) -> str:
    """The tracking URI: ``uri``, else ``tracking.mlflow_uri``, else ``$MLFLOW_TRACKING_URI``, else
    ``<WORKBENCH_HOME>/mlruns``; a plain path becomes a ``file:`` URI."""
    from .config import Paths, get_settings
    text = (uri or "").strip() or get_settings().tracking.mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not text:
        text = str(Paths.default().home / "mlruns")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) and not re.match(r"^[A-Za-z]:[\\/]", text):
        return text
    return Path(text).expanduser().resolve().as_uri()


@contextlib.contextmanager
def _client(uri: str) -> Iterator[Any]:
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise WorkbenchError("logging to MLflow needs the mlflow extra: pip install 'experiment-workbench[mlflow]' "
                             "(mlflow-skinny is enough)") from None
    # a directory is MLflow's file store, which MLflow keeps in maintenance mode behind this switch
    opt_in = uri.startswith("file:") and "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    if opt_in:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield MlflowClient(tracking_uri=uri, registry_uri=uri)
    except MlflowException as exc:
        first = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()
        raise WorkbenchError(f"MLflow ({uri}): {first[0] if first else type(exc).__name__}") from None
    except OSError as exc:
        raise WorkbenchError(f"MLflow ({uri}): {exc.strerror or exc}") from None
    finally:
        if opt_in:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def _experiment(client: Any, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None and exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id if exp is not None else client.create_experiment(name)


def _tag_model_version(client: Any, rec: TrackingRecord, run_id: str) -> bool:
    """Write the decision on the registered model version the brief names, when the registry has it."""
    if "version" not in rec.model:
        return False
    try:
        client.get_model_version(rec.model["name"], rec.model["version"])
    except Exception:  # noqa: BLE001 - not registered (or no registry): the run's tags name it anyway
        return False
    for k, v in (("workbench.decision", rec.tags.get("workbench.decision", "")),
                 ("workbench.experiment_id", rec.experiment_id), ("workbench.run_id", run_id),
                 ("workbench.health", rec.tags.get("workbench.health", "")),
                 ("workbench.reason", rec.tags.get("mlflow.note.content", ""))):
        client.set_model_version_tag(rec.model["name"], rec.model["version"], k, v[:5000])
    return True


def log_to_mlflow(summary: Mapping[str, Any] | str | Path, *, uri: str | None = None, brief: Any = None,
                  artifacts: Sequence[str | Path] = (), engine: str | None = None, brief_source: str | None = None,
                  experiment_name: str | None = None, skip_logged: bool = False) -> LoggedRun:
    """Log one experiment's summary as an MLflow run and return where it went.

    ``summary`` is a summary mapping (:func:`summary_of`), a report's ``summary.json`` or its report
    directory (then the report's HTML, memo and summary are the artifacts). ``brief`` (an
    :class:`~workbench.lifecycle.brief.ExperimentBrief` or its dict) names the model of a canary.
    ``skip_logged``: when a run with the same report key is already there, return it instead.
    """
    from .config import get_settings
    files = [Path(a) for a in artifacts]
    if not isinstance(summary, Mapping):
        path = Path(summary)
        sj = path / "summary.json" if path.is_dir() else path
        try:
            summary = json.loads(sj.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorkbenchError(f"{sj}: cannot read the report summary ({exc})") from None
        if not files:
            files = [sj.parent / f for f in ("report.html", "memo.html", "memo.md", "summary.json")
                     if (sj.parent / f).exists()]
    rec = tracking_record(summary, brief=brief, engine=engine, brief_source=brief_source)
    resolved = resolve_uri(uri)
    name = (experiment_name or get_settings().tracking.experiment_name).replace("{experiment_id}", rec.experiment_id)
    with _client(resolved) as client:
        exp_id = _experiment(client, name)
        key = rec.tags.get("workbench.report_key")
        if skip_logged and key:
            found = client.search_runs([exp_id], filter_string=f"tags.`workbench.report_key` = '{key}'",
                                       max_results=1)
            if found:
                return LoggedRun(rec.experiment_id, found[0].info.run_id, exp_id, resolved, reused=True)
        run = client.create_run(exp_id, run_name=rec.run_name, tags=rec.tags)
        run_id = run.info.run_id
        status = "FAILED"
        try:
            from mlflow.entities import Metric, Param
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in sorted(rec.metrics.items())],
                             params=[Param(k, v[:6000]) for k, v in rec.params.items()])
            logged = []
            with tempfile.TemporaryDirectory(prefix="workbench-mlflow-") as tmp:
                if not any(f.name == "summary.json" for f in files):
                    p = Path(tmp) / "summary.json"
                    p.write_text(dumps(summary, indent=2) + "\n", encoding="utf-8")
                    files.append(p)
                for f in files:
                    if f.exists():
                        client.log_artifact(run_id, str(f))
                        logged.append(f.name)
            tagged = _tag_model_version(client, rec, run_id)
            status = "FINISHED"
        finally:
            client.set_terminated(run_id, status=status)
    return LoggedRun(rec.experiment_id, run_id, exp_id, resolved, tuple(logged), tagged)


def log_report(report_dir: str | Path, *, uri: str | None = None, db: str | Path | None = None,
               skip_logged: bool = True) -> LoggedRun:
    """Log a built report (``reports/<id>/``) with the brief from the registry, when there is one."""
    summary = json.loads((Path(report_dir) / "summary.json").read_text(encoding="utf-8"))
    brief = None
    if summary.get("state") is not None:
        from .lifecycle.registry import Registry
        from .pipeline import has_registry
        if has_registry(db):
            reg = Registry(db)
            if reg.exists(summary["experiment_id"]):
                brief = reg.brief(summary["experiment_id"])
    return log_to_mlflow(report_dir, uri=uri, brief=brief, skip_logged=skip_logged,
                         engine=(summary.get("parameters") or {}).get("engine"))
