"""The pipeline for a portfolio of experiments: load → analyse → decide, in one place.

Every view that shows an experiment's decision — ``workbench demo``, ``workbench report``, the
dashboard — calls :func:`evaluate` so a number or a decision never differs between views. The event
log is aggregated once for all requested experiments (one query); each experiment is then analysed
as its brief says (primary metric, guardrails, SRM thresholds, expected split) and decided by its
policy with its market signals (stock, price) and the global promotion-period switch.

Experiments that are not in the registry are analysed with the defaults and decided by the default
policy; their ``record`` and ``brief`` are ``None``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .analysis import analyze
from .experiment_data import ExperimentData
from .lifecycle.brief import ExperimentBrief
from .lifecycle.inputs import analysis_options, calendar_options
from .lifecycle.policies import Decision, decide
from .lifecycle.registry import ExperimentRecord, Registry
from .lifecycle.signals import decision_context
from .results import AnalysisResult

__all__ = ["ExperimentOutcome", "evaluate", "has_registry"]


@dataclass(frozen=True)
class ExperimentOutcome:
    """One experiment's data, analysis and decision, with its registry record and brief when known."""

    data: ExperimentData
    result: AnalysisResult
    decision: Decision
    record: ExperimentRecord | None = None
    brief: ExperimentBrief | None = None

    @property
    def experiment_id(self) -> str:
        return self.data.experiment_id

    @property
    def category(self) -> str | None:
        """The brief's category, else the one in the data's metadata."""
        return (self.brief.category if self.brief is not None else None) or self.data.meta.get("category")

    @property
    def product_id(self) -> str | None:
        """The brief's SKU, else the one in the data's metadata."""
        return (self.brief.product_id if self.brief is not None else None) or self.data.meta.get("product_id")

    def __panel__(self) -> Any:
        """``pn.panel(outcome)`` in a notebook: the dashboard's views of this experiment
        (:class:`workbench.dashboard.inline.ExperimentView`)."""
        from .dashboard.inline import ExperimentView
        return ExperimentView(self).__panel__()


def evaluate(experiment_ids: Sequence[str] | None = None, *, db: str | Path | None = None,
             as_of: dt.datetime | None = None, registry: Registry | None = None,
             policy: str | None = None, engine: Any = None, events: str | Path | None = None,
             reuse: Mapping[str, ExperimentOutcome] | None = None,
             progress: Callable[[int, int, ExperimentOutcome], None] | None = None,
             validate: bool = True) -> dict[str, ExperimentOutcome]:
    """Analyse and decide every requested experiment (all in the database when ``None``).

    ``policy`` decides every experiment by that policy instead of its brief's (or the default).
    ``engine``/``events``: where the event work runs (see :mod:`workbench.engine`); the registry stays in
    the embedded database.

    ``reuse``: outcomes of an earlier call made with the same code, settings and events calendar (the
    dashboard's previous snapshot). An experiment whose data (``data_version``, metrics, variants,
    metadata) and brief are unchanged keeps its analysis; its decision is made again (it depends on
    the clock and the registry). ``progress(done, total, outcome)`` is called after each experiment.
    ``validate=False`` skips the event log's row checks (:func:`~workbench.sources.events.validate_event_log`),
    for a caller that has checked these very events already (``workbench report``: once per events content).
    """
    if registry is None and has_registry(db):
        from .db import registry_path
        registry = Registry(registry_path(db))
    reg = registry
    # Briefs first (their own metric definitions decide what is aggregated), then the events: the
    # registry's connection is closed in between, because within one process DuckDB refuses a
    # read-only connection to a file that has a read-write one open.
    known = _registered(reg, experiment_ids) if reg is not None else {}
    own = {eid: brief.metric_definitions(source=f"brief of {eid}") for eid, (_, brief) in known.items()}
    from .sources.experiments import load_experiments   # the engine stack: not imported by report workers

    datasets = load_experiments(experiment_ids, db=db, as_of=as_of, engine=engine, events=events, definitions=own,
                                validate=validate)
    outcomes: dict[str, ExperimentOutcome] = {}
    calendar = calendar_options(db)
    total = len(datasets)

    def analysed(data: ExperimentData, brief: ExperimentBrief | None) -> AnalysisResult:
        old = (reuse or {}).get(data.experiment_id)
        if old is not None and _same_input(old, data, brief):
            return old.result
        return analyze(data, **{**calendar, **analysis_options(brief, data)})

    if reg is None:
        for i, (eid, data) in enumerate(datasets.items(), 1):
            result = analysed(data, None)
            outcomes[eid] = ExperimentOutcome(data, result, decide(result, policy=policy))
            if progress is not None:
                progress(i, total, outcomes[eid])
        return outcomes
    with reg.session():
        for i, (eid, data) in enumerate(datasets.items(), 1):
            record, brief = known.get(eid, (None, None))
            result = analysed(data, brief)
            context = decision_context(reg, eid, now=as_of, data_as_of=result.as_of,
                                       data_version=result.data_version) if record else None
            outcomes[eid] = ExperimentOutcome(data, result, decide(result, brief=brief, policy=policy, context=context),
                                              record, brief)
            if progress is not None:
                progress(i, total, outcomes[eid])
    return outcomes


def _same_input(old: ExperimentOutcome, data: ExperimentData, brief: ExperimentBrief | None) -> bool:
    """Whether ``old`` was analysed from the same data and brief, so its analysis still holds."""
    o = old.data

    def same(a: Any, b: Any) -> bool:          # NaN in metadata (no category) equals NaN here
        return bool(a == b) or repr(a) == repr(b)
    return (bool(data.data_version) and o.data_version == data.data_version and o.metrics == data.metrics
            and o.variants == data.variants and o.dims == data.dims and same(o.meta, data.meta)
            and same(o.expected_weights, data.expected_weights) and same(old.brief, brief))


def _registered(reg: Registry, experiment_ids: Sequence[str] | None) -> dict[str, tuple[Any, ExperimentBrief]]:
    """Record and brief of every registered experiment asked for (all when ``None``)."""
    wanted = None if experiment_ids is None else set(experiment_ids)
    with reg.session():
        return {r.experiment_id: (r, reg.brief(r.experiment_id)) for r in reg.list()
                if wanted is None or r.experiment_id in wanted}


def has_registry(db: str | Path | None) -> bool:
    """Whether the embedded database holds a registry (read-only, waiting while another process writes).

    The registry is always in the embedded DuckDB file (:func:`workbench.db.registry_path`), whichever
    engine reads the events: an Ibis URL of another engine means the default database.
    """
    from .db import connect, registry_path
    path = registry_path(db)
    if not path.exists():
        return False
    with connect(path, read_only=True) as con:
        return "experiments" in con.list_tables()
