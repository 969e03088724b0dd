"""One scheduled cycle (``workbench schedule --once``): refresh, re-decide, watch rollouts, alert, log.

An external scheduler (cron, a systemd timer, Airflow, a Kubernetes CronJob) runs a cycle every
few minutes; :func:`run_cycle` does, in order:

0. **Monitor** — every rollout in progress is watched on the event data
   (:func:`workbench.lifecycle.watch.watch_rollout`): a confirmed conversion drop rolls it back,
   an elapsed dwell moves it to the next stage (25 → 50 → 100 %). It runs first, so a rollback
   never waits for report notebooks.
1. **Reports** — :func:`workbench.reports.runner.run_reports` for every experiment: only reports
   whose data, registry rows, parameters, notebook or code changed are rebuilt (the others are
   skipped), and the decisions of rebuilt reports are recorded.
2. **Decisions** — every experiment whose data fingerprint (:func:`workbench.reports.keys.source_fingerprints`)
   or settings changed since the last cycle is re-evaluated by the pipeline
   (:func:`workbench.pipeline.evaluate`, or read from its fresh report's ``summary.json``), and its decision is
   recorded when it differs from the last one recorded; unchanged experiments are skipped.
3. **Alerts** — SRM, guardrails breached or worse, rollbacks and failing reports are sent to the
   configured webhooks and e-mail, once per finding (:mod:`workbench.ops.alerts`).

Each cycle writes a JSON run log (``cycle-<started, to the microsecond>-<pid>.json`` and ``last.json`` in the log
directory: ``schedule.log_dir``, default ``cycles/`` beside the database) with when it started and
finished, what was refreshed, skipped (and why), failed (and why), the actions taken and the
alerts sent. Its exit code is 1 when anything failed. One cycle at a time: a second one started
while the first still runs is refused (a file lock in the log directory) and exits 2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..config import Paths, Settings, get_settings
from ..display import ResultMixin, dumps, fmt_share
from ..errors import ConflictError, WorkbenchError

__all__ = ["CycleLog", "run_cycle", "log_dir_for", "LOCK_NAME"]

LOCK_NAME = ".cycle.lock"
STATE_FILE = "cycle_state.json"


@dataclass(frozen=True)
class CycleLog(ResultMixin):
    """The machine-readable record of one cycle (what ``cycle-*.json`` holds)."""

    cycle_id: str
    status: str                              # ok | failed | refused
    started_at: str
    finished_at: str
    seconds: float
    db: str
    reports_dir: str
    refreshed: tuple[dict[str, Any], ...] = ()
    skipped: tuple[dict[str, Any], ...] = ()
    failed: tuple[dict[str, Any], ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    findings: tuple[dict[str, Any], ...] = ()
    alerts: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    log_file: str = ""

    @property
    def exit_code(self) -> int:
        return 2 if self.status == "refused" else 1 if self.failed else 0


@dataclass
class _Run:
    refreshed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)
    watched: set[str] = field(default_factory=set)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def fail(self, step: str, experiment_id: str | None, reason: str) -> None:
        self.failed.append({"step": step, "experiment_id": experiment_id, "reason": reason})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def log_dir_for(db: Path, settings: Settings | None = None) -> Path:
    """Where cycle logs, the cycle lock and the alert state live."""
    s = settings or get_settings()
    if s.schedule.log_dir:
        p = Path(s.schedule.log_dir)
        return p if p.is_absolute() else Paths.default().home / p
    return db.parent / "cycles"


# --- steps ----------------------------------------------------------------------------------------------
def _reports(run: _Run, db: Path, out: Path, s: Settings, pdf: bool | None, kernel: str | None) -> None:
    from ..reports.runner import run_reports
    from .alerts import Finding
    try:
        rr = run_reports(None, db=db, out=out, workers=s.schedule.workers, record=True, settings=s, pdf=pdf,
                         **({"kernel": kernel} if kernel else {}))
    except WorkbenchError as exc:
        run.fail("reports", None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    run.notes += [f"reports: {n}" for n in rr.notes]
    for o in rr.outcomes:
        run.watched.add(f"report_failed:{o.experiment_id}")
        if o.status in ("built", "skipped"):
            # a fresh report's summary is the experiment's story for this data: the decisions step reads it
            try:
                run.summaries[o.experiment_id] = json.loads((Path(o.directory) / "summary.json").read_text("utf-8"))
            except (OSError, ValueError):
                pass
        if o.status == "built":
            run.refreshed.append({"step": "reports", "experiment_id": o.experiment_id, "seconds": round(o.seconds, 2),
                                  "decision": o.decision})
        elif o.status == "skipped":
            run.skipped.append({"step": "reports", "experiment_id": o.experiment_id,
                                "why": "unchanged: data, registry rows, parameters, notebook and code"})
        else:
            run.fail("reports", o.experiment_id, o.describe())
            run.findings.append(Finding("report_failed", o.experiment_id, o.error or o.describe(),
                                        f"Report failed: {o.experiment_id}", o.describe(), "warning",
                                        {"failed_notebook": o.failed_notebook}))


def _decision_keys(db: Path, s: Settings) -> dict[str, str]:
    from .. import __version__
    from ..reports.keys import NOT_IN_REPORTS, source_fingerprints
    fps = source_fingerprints(db)
    settings_text = json.dumps({k: v for k, v in asdict(s).items() if k not in NOT_IN_REPORTS}, sort_keys=True,
                               default=str)
    code = hashlib.sha256(f"{__version__}|{settings_text}".encode()).hexdigest()
    return {e: hashlib.sha256(f"{fp}|{code}".encode()).hexdigest()[:32] for e, fp in fps.items()}


def _changed(last: Any, d: Any) -> bool:
    """Whether decision ``d`` differs from the last recorded one (a row of ``Registry.decisions``)."""
    if last is None:
        return True

    def text(x: Any) -> str | None:
        return None if x is None or x != x or x == "" else str(x)      # None, NaN and "" are all "no value"

    # not the data version: the report's and the pipeline's loads of the same data hash it differently, and a
    # reason quotes the numbers, so new data that changes anything shown changes the reason
    return tuple(text(last[k]) for k in ("action", "winner", "reason")) != \
        tuple(text(x) for x in (d.action, d.winner, d.reason))


def _decisions(run: _Run, db: Path, s: Settings, state: dict[str, Any], clock: Callable[[], dt.datetime] | None,
               by: str) -> None:
    from ..lifecycle.registry import Registry
    from ..pipeline import evaluate, has_registry
    from ..tracking import summary_of
    from .alerts import findings_of
    try:
        keys = _decision_keys(db, s)
    except WorkbenchError as exc:
        run.fail("decisions", None, str(exc))
        return
    seen = state.setdefault("decisions", {})
    changed = [e for e in keys if seen.get(e) != keys[e]]
    for e in keys:
        if e not in changed:
            run.skipped.append({"step": "decisions", "experiment_id": e,
                                "why": "data, registry rows and settings unchanged since the last cycle"})
    todo = [e for e in changed if e not in run.summaries]
    reg = Registry(db, clock=clock) if has_registry(db) else None
    if todo:
        try:
            outcomes = evaluate(todo, db=db, registry=reg)
        except WorkbenchError as exc:
            run.fail("decisions", None, str(exc).splitlines()[0])
            outcomes = {}
        for e, o in outcomes.items():
            run.summaries[e] = summary_of(o.result, o.decision, record=o.record, brief=o.brief)
            if reg is not None and o.record is not None and s.schedule.record_decisions:
                recorded = reg.decisions(e)
                last = recorded.iloc[-1] if len(recorded) else None
                if _changed(last, o.decision):
                    reg.record_decision(o.decision, by=by, why=f"scheduled cycle: {o.decision.reason}")
                    run.actions.append({"experiment_id": e, "action": "decision_recorded",
                                        "decision": o.decision.action, "reason": o.decision.reason})
    for e in changed:
        summary = run.summaries.get(e)
        if summary is None:
            continue
        seen[e] = keys[e]
        story = summary.get("story") or {}
        run.refreshed.append({"step": "decisions", "experiment_id": e, "decision": story.get("action"),
                              "health": story.get("health")})
        run.watched |= {f"srm:{e}", f"guardrail:{e}"}
        run.findings += findings_of(summary)


def _monitor(run: _Run, db: Path, clock: Callable[[], dt.datetime] | None, by: str, s: Settings) -> None:
    from ..lifecycle.registry import Registry
    from ..lifecycle.watch import watch_rollout
    from ..pipeline import has_registry
    if not has_registry(db):
        run.skipped.append({"step": "monitor", "experiment_id": None, "why": "no registry in the database"})
        return
    reg = Registry(db, clock=clock)
    promoting = reg.list("promoting")
    if not promoting:
        run.skipped.append({"step": "monitor", "experiment_id": None, "why": "no rollout in progress"})
    for rec in promoting:
        try:
            step, series = watch_rollout(reg, rec.experiment_id, db=db, by=by, why="scheduled rollout monitor")
        except WorkbenchError as exc:
            run.fail("monitor", rec.experiment_id, str(exc).splitlines()[0])
            continue
        run.actions.append({"experiment_id": rec.experiment_id, "action": step.outcome, "reason": step.reason,
                            "share": step.share, "baseline_rate": series.baseline_rate,
                            "baseline_scope": series.baseline_scope, "measure": series.measure,
                            "monitor": step.monitor.to_dict() if step.monitor is not None else None})
    _rollback_findings(run, reg, s.alerts.rollback_lookback_hours)


def _rollback_findings(run: _Run, reg: Any, lookback_hours: float) -> None:
    """A finding for each experiment's latest rollback within the lookback (taken by a cycle or by hand)."""
    from .alerts import Finding
    since = reg.clock() - dt.timedelta(hours=lookback_hours)
    with reg.connect() as con:
        rows = con.execute("SELECT experiment_id, seq, event_at, share, detail FROM rollout_steps WHERE event = "
                           "'rolled_back' AND event_at >= ? ORDER BY seq", [since]).fetchall()
    latest = {r[0]: r for r in rows}
    for eid, seq, at, _share, detail in latest.values():
        why = (json.loads(detail or "{}") or {}).get("why", "")
        run.watched.add(f"rollback:{eid}")
        run.findings.append(Finding("rollback", eid, str(seq), f"Rolled back: {eid}",
                                    f"All traffic is back on the control ({fmt_share(1.0)}). {why}", "critical",
                                    {"at": at.isoformat() if at else None, "step_seq": int(seq)}))


# --- the cycle ----------------------------------------------------------------------------------------------
def run_cycle(*, db: str | Path | None = None, out: str | Path | None = None, log_dir: str | Path | None = None,
              reports: bool | None = None, decisions: bool | None = None, clock: Callable[[], dt.datetime] | None = None,
              by: str = "workbench schedule", wait: float = 0.0, settings: Settings | None = None,
              pdf: bool | None = None, kernel: str | None = None) -> CycleLog:
    """Run one cycle (see the module doc); ``reports=False`` / ``decisions=False`` skip those steps (logged
    as skipped: a monitor-only cycle every few minutes beside a full one every hour, say); ``pdf`` as for ``workbench report``; ``clock`` is the registry's clock (tests); ``wait``
    how long to wait for a running cycle."""
    from filelock import FileLock, Timeout

    from .alerts import dispatch

    s = settings or get_settings()
    paths = Paths.default()
    if db is not None and "://" in str(db):
        raise WorkbenchError(f"{db}: scheduled cycles need the workbench DuckDB file (the registry lives there)")
    db_path = Path(db).resolve() if db is not None else paths.db
    out_dir = Path(out).resolve() if out is not None else paths.reports
    ldir = Path(log_dir).resolve() if log_dir is not None else log_dir_for(db_path, s)
    ldir.mkdir(parents=True, exist_ok=True)
    started = _now()
    # to the microsecond: two cycles of one process within a second (a test, a quick re-run) keep two logs
    cycle_id = f"{started:%Y%m%dT%H%M%S%f}-{os.getpid()}"
    t0 = time.perf_counter()
    lock = FileLock(str(ldir / LOCK_NAME))
    info = ldir / (LOCK_NAME + ".pid")
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        holder = info.read_text().strip() if info.exists() else "unknown"
        reason = f"another cycle is running ({holder}); this one is refused"
        _write(ldir, CycleLog(cycle_id, "refused", started.isoformat(), _now().isoformat(),
                              round(time.perf_counter() - t0, 3), str(db_path), str(out_dir),
                              failed=({"step": "lock", "experiment_id": None, "reason": reason},)), s)
        raise ConflictError(f"{ldir}: {reason}") from None
    try:
        info.write_text(f"cycle {cycle_id}, pid {os.getpid()}\n")
        state = _load(ldir / STATE_FILE)
        run = _Run()
        if not db_path.exists():
            run.fail("database", None, f"{db_path}: database not found")
        else:
            try:                    # first: a rollback must not wait for the reports
                _monitor(run, db_path, clock, by, s)
            except WorkbenchError as exc:
                run.fail("monitor", None, str(exc).splitlines()[0])
            if reports if reports is not None else s.schedule.reports:
                _reports(run, db_path, out_dir, s, pdf, kernel)
            else:
                run.skipped.append({"step": "reports", "experiment_id": None,
                                    "why": "report refresh turned off (--no-reports or schedule.reports: false)"})
            if decisions if decisions is not None else s.schedule.decisions:
                _decisions(run, db_path, s, state, clock, by)
            else:
                run.skipped.append({"step": "decisions", "experiment_id": None,
                                    "why": "decisions turned off (--no-decisions or schedule.decisions: false)"})
        due, deliveries = dispatch(run.findings, ldir, s.alerts, watched=run.watched,
                                   context={"cycle_id": cycle_id, "reports": str(out_dir)})
        for d in deliveries:
            if d.status == "failed":
                run.fail("alerts", d.key.split(":", 1)[1], f"{d.target}: {d.error}")
        from ..files import write_text_atomic
        write_text_atomic(ldir / STATE_FILE, dumps(state, indent=2, sort_keys=True) + "\n")
        log = CycleLog(cycle_id, "failed" if run.failed else "ok", started.isoformat(), _now().isoformat(),
                       round(time.perf_counter() - t0, 3), str(db_path), str(out_dir), tuple(run.refreshed),
                       tuple(run.skipped), tuple(run.failed), tuple(run.actions),
                       tuple({**f.to_dict(), "key": f.key, "due": f in due} for f in run.findings),
                       tuple(d.to_dict() for d in deliveries), tuple(run.notes))
        return _write(ldir, log, s)
    finally:
        info.unlink(missing_ok=True)
        lock.release()


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(ldir: Path, log: CycleLog, s: Settings) -> CycleLog:
    from dataclasses import replace

    from ..files import write_text_atomic
    path = ldir / f"cycle-{log.cycle_id}.json"
    log = replace(log, log_file=str(path))
    text = dumps({**log.to_dict(), "exit_code": log.exit_code}, indent=2) + "\n"
    write_text_atomic(path, text)
    write_text_atomic(ldir / "last.json", text)
    logs = sorted(ldir.glob("cycle-*.json"))
    for old in logs[:max(0, len(logs) - max(1, s.schedule.keep_logs))]:
        old.unlink(missing_ok=True)
    return log
