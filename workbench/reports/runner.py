"""``workbench report``: run the report notebook for many experiments — incremental, atomic, parallel, locked.

:func:`run_reports` is what ``workbench report`` (and ``make demo``) call:

1. **Lock.** One run at a time per reports directory (a file lock); a second run waits for the
   first (up to ``reports.lock_timeout_s``), then finds the reports fresh and skips them. Stale
   temporary directories of a crashed run are removed.
2. **Skip what is fresh.** Each experiment's key (:mod:`workbench.reports.keys`: its data and
   registry rows, the parameters, the notebook and the code) is compared with the key stored in
   its ``summary.json``; equal keys are skipped unless ``force``.
3. **Aggregate once.** The experiments to build are loaded, analysed and decided in one pipeline
   pass (:func:`workbench.reports.inputs.gather_inputs`) and each one's inputs are handed to its
   notebook as a file (``handoff="cache"``); ``handoff="direct"`` lets every notebook query the
   database itself (slower; kept for comparison — see ``benchmarks/reports.py``).
4. **Build in workers.** The run's worker processes (:mod:`workbench.reports.workers`) and its one
   headless Chromium (:mod:`workbench.reports.pdf`) start while step 3 runs; each worker thread of the
   run hands its reports to its own worker process, which builds them one after the other and prints
   through the shared browser. Each experiment (:func:`build_one`, in the worker): papermill executes
   the notebook, with its parameters cell, in the worker's own IPython shell — no Jupyter kernel
   (:mod:`workbench.reports.inprocess`) — into a temporary directory (written once, at the end:
   :mod:`workbench.reports.execute`), nbconvert exports that executed notebook as ``report.html``
   (code hidden, offline), the notebook itself wrote ``memo.md``, ``memo.html`` and
   ``summary.json``, Chromium prints ``report.pdf`` when it is available. Only a complete directory replaces
   ``reports/<id>/`` (an atomic exchange on Linux), so a failed run never touches the last good
   report; the failed notebook is kept in ``reports/.failed/<id>.ipynb``.
5. **Record and index.** Decisions of the rebuilt reports are recorded in the registry (one
   short transaction), ``reports/index.html`` lists every experiment (rewritten only when what it
   shows changed), and the run's outcome is returned (:class:`ReportRun`, exit code 1 when any
   experiment failed). A run that finds every report fresh imports neither Jupyter, Ibis nor the
   plotting stack, and starts no worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

from ..config import Paths, Settings, get_settings
from ..display import ResultMixin, dumps, fmt_action
from ..errors import InputError, NotFoundError, Problem
from ..files import publish_tree, write_text_atomic
from ._imports import skip_slow_optional_imports
from .atomic import LOCK_NAME, _recover, _RunLock, replace_dir  # noqa: F401  (re-exported)
from .workers import WorkerError, WorkerPool
from .keys import code_version, report_dirname, report_key, scan_sources, with_aa
from .validated import check_events

__all__ = ["ReportOutcome", "ReportRun", "RunStopped", "run_reports", "report_targets", "default_notebook", "REPORT_FILES", "build_one", "BuildJob"]

skip_slow_optional_imports()   # nbformat's jsonschema would compile rfc3987_syntax's grammars (seconds)

REPORT_FILES = ("report.ipynb", "report.html", "memo.md", "memo.html", "summary.json")
"""Files every report directory has (plus ``report.pdf`` when Chromium printed it)."""
KERNEL = "workbench"
Progress = Callable[[str, dict[str, Any]], None]


def default_notebook() -> Path:
    """The report notebook shipped inside the package (``workbench/reports/report-notebook/``)."""
    return Path(__file__).resolve().parent / "report-notebook" / "experiment_report.ipynb"


@dataclass(frozen=True)
class ReportOutcome(ResultMixin):
    """What happened to one experiment's report in a run."""

    experiment_id: str
    status: Literal["built", "skipped", "failed"]
    directory: str = ""
    seconds: float = 0.0
    key: str = ""
    pdf: bool = False
    decision: str = ""
    health: str = ""
    error: str = ""
    cell: int | None = None
    section: str = ""
    failed_notebook: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.status != "failed":
            return f"{self.experiment_id}: {self.status}" + (f" ({fmt_action(self.decision)})" if self.decision else "")
        where = f"cell {self.cell}" + (f" ({self.section})" if self.section else "") if self.cell is not None else \
            (self.section or "before the notebook ran")
        return f"{self.experiment_id}: failed in {where}: {self.error}"


@dataclass(frozen=True)
class ReportRun(ResultMixin):
    """The outcome of one ``workbench report`` run."""

    outcomes: tuple[ReportOutcome, ...]
    out: str
    index: str
    seconds: float
    workers: int
    chromium: str | None
    handoff: str
    notes: tuple[str, ...] = ()
    stages: Mapping[str, float] = field(default_factory=dict)
    """Where the run's wall time went, in seconds: ``check`` (lock, fingerprints, keys), ``start`` (workers
    and Chromium launched), ``gather`` (the pipeline pass, summed over batches), ``build`` (gathering and
    building, wall: for one report the gather then the notebook, HTML and PDF), ``finish`` (workers and
    Chromium stopped, decisions recorded, index refreshed). Each built report's ``summary.json``
    splits its own time (``timings``: waiting for the worker's warm-up, notebook, HTML, PDF)."""

    @property
    def built(self) -> list[ReportOutcome]:
        return [o for o in self.outcomes if o.status == "built"]

    @property
    def skipped(self) -> list[ReportOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    @property
    def failed(self) -> list[ReportOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_frame(self):  # type: ignore[override]
        import pandas as pd
        return pd.DataFrame([{"experiment": o.experiment_id, "status": o.status, "seconds": round(o.seconds, 1),
                              "decision": o.decision, "health": o.health, "pdf": o.pdf,
                              "error": o.describe() if o.status == "failed" else ""} for o in self.outcomes])


class RunStopped(Exception):
    """A run stopped before its end (``run_reports(stop=...)``; the report service's client went away): as after
    Ctrl-C in a run of its own, the reports being built finish, no other starts, the finished ones' decisions
    are recorded and the index is not updated."""


@dataclass(frozen=True)
class BuildJob:
    """Everything a worker needs to build one report (picklable)."""

    experiment_id: str
    key: str
    notebook: str
    out: str
    parameters: dict[str, Any]
    chromium: str | None
    kernel: str = KERNEL
    cell_timeout: float = 600.0
    pdf_timeout: float = 90.0
    meta: dict[str, Any] = field(default_factory=dict)
    sent: float = 0.0
    """When the run handed the job to its worker (``time.time()``; 0: built where it was made)."""


# --- one report ---------------------------------------------------------------------------------------
def build_one(job: BuildJob, printer: Any = None) -> ReportOutcome:
    """Execute, convert and print one report into a temporary directory, then swap it into place.

    Papermill executes the notebook in this process (:mod:`workbench.reports.inprocess`: a report
    worker process, :mod:`workbench.reports.workers`, or a script calling this). With ``printer``
    (:class:`workbench.reports.pdf.PdfPrinter`) the PDF is printed by the run's browser; otherwise (or
    when that browser fails) by a one-shot Chromium.
    """
    t0 = time.perf_counter()
    waited = max(0.0, time.time() - job.sent) if job.sent else 0.0    # the worker was still warming up
    import papermill as pm

    from .execute import error_text, failure_location, keep_failed
    from .inprocess import INPROCESS_ENGINE
    from .pdf import print_pdf
    from .render import PdfError, notebook_to_html

    out = Path(job.out)
    final = out / report_dirname(job.experiment_id)
    tmp = out / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    nb_out = tmp / "report.ipynb"
    params = {**job.parameters, "out_dir": str(tmp)}
    timings: dict[str, float] = {"worker": round(waited, 2),       # waiting for the worker's warm-up
                                 "imports": round(time.perf_counter() - t0, 2)}  # done by the worker's warm-up
    try:
        try:
            # no ``cwd``: the notebook gets absolute paths for everything it reads and writes
            executed = pm.execute_notebook(job.notebook, str(nb_out), parameters=params, kernel_name=job.kernel,
                                           engine_name=INPROCESS_ENGINE, progress_bar=False, log_output=False,
                                           execution_timeout=job.cell_timeout)
        except Exception as exc:  # noqa: BLE001 - a failing cell, a timeout: per experiment
            cell, section = failure_location(nb_out)
            kept = keep_failed(nb_out, out, final.name)
            return ReportOutcome(job.experiment_id, "failed", str(final), time.perf_counter() - t0, job.key,
                                 error=error_text(exc), cell=cell, section=section, failed_notebook=kept)
        timings["notebook"] = round(time.perf_counter() - t0 - timings["imports"], 2)
        summary_path = tmp / "summary.json"
        missing = [f for f in REPORT_FILES if f not in {"report.html"} and not (tmp / f).exists()]
        if missing:
            return ReportOutcome(job.experiment_id, "failed", str(final), time.perf_counter() - t0, job.key,
                                 error=f"the notebook did not write {', '.join(missing)} (is out_dir used?)")
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        title = f"{summary.get('name') or job.experiment_id} — experiment report"
        t1 = time.perf_counter()
        notebook_to_html(executed, tmp / "report.html", title=title)   # the notebook just written, not re-read
        timings["html"] = round(time.perf_counter() - t1, 2)
        notes: list[str] = []
        pdf = False
        if job.chromium:
            try:
                t2 = time.perf_counter()
                print_pdf(tmp / "report.html", tmp / "report.pdf", chromium=job.chromium, timeout=job.pdf_timeout,
                          printer=printer)
                timings["pdf"] = round(time.perf_counter() - t2, 2)
                pdf = True
            except PdfError as exc:
                notes.append(str(exc))
        else:
            notes.append("no PDF: Chromium was not found (set WORKBENCH_CHROMIUM or reports.chromium)")
        files = [f for f in (*REPORT_FILES, "report.pdf") if (tmp / f).exists()]
        summary.update(report_key=job.key, files=files, pdf=pdf, notes=notes, notebook=Path(job.notebook).name,
                       parameters={k: v for k, v in job.parameters.items() if k != "inputs_cache"},
                       built_seconds=round(time.perf_counter() - t0 + waited, 2), timings=timings, **job.meta)
        write_text_atomic(summary_path, dumps(summary, indent=2) + "\n")
        publish_tree(tmp)
        replace_dir(tmp, final)
        d = summary.get("decision") or {}
        return ReportOutcome(job.experiment_id, "built", str(final), time.perf_counter() - t0, job.key, pdf,
                             decision=str(d.get("action", "")), health=str((summary.get("health") or {}).get("status", "")),
                             notes=tuple(notes))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --- the run --------------------------------------------------------------------------------------------
def _existing_key(final: Path) -> str | None:
    s = final / "summary.json"
    if not s.exists() or not all((final / f).exists() for f in REPORT_FILES):
        return None
    try:
        return json.loads(s.read_text(encoding="utf-8")).get("report_key")
    except (OSError, ValueError):
        return None


def _emit(progress: Progress | None, event: str, **info: Any) -> None:
    if progress is not None:
        progress(event, info)


def report_targets(db: str | Path | None, out: str | Path | None) -> tuple[str, Path]:
    """The database (a resolved path or a URL) and reports directory a run with these options uses."""
    paths = Paths.default()
    out_dir = Path(out) if out is not None else paths.reports
    db_path = str(Path(db).resolve()) if db is not None and "://" not in str(db) else (str(db) if db else str(paths.db))
    return db_path, out_dir


def run_reports(experiment_ids: Sequence[str] | None = None, *, workers: int = 1, force: bool = False,
                db: str | Path | None = None, out: str | Path | None = None, as_of: Any = None,
                policy: str | None = None, pdf: bool | None = None, progress: Progress | None = None,
                record: bool = True, handoff: Literal["cache", "direct"] = "cache",
                notebook: str | Path | None = None, lock_timeout: float | None = None,
                roi_horizon_days: int | None = None, kernel: str = KERNEL,
                settings: Settings | None = None, pool: WorkerPool | None = None, printer: Any = None,
                stop: threading.Event | None = None) -> ReportRun:
    """Build the reports of ``experiment_ids`` (every experiment with events when ``None``); see the module doc.

    ``pdf``: ``None`` prints a PDF when Chromium is found, ``False`` never, ``True`` requires it.
    ``progress`` receives events (``"start"``, ``"skip"``, ``"gathered"``, ``"built"``, ``"failed"``,
    ``"done"``) with details, for a progress bar. With ``force`` every named report is built, so the
    workers start before the sources are scanned (their warm-up is the longest wait of a one-report run);
    otherwise they start once the scan found something to build (a run that only finds fresh reports
    starts no worker and imports neither Jupyter nor the plotting stack).

    ``pool`` and ``printer`` (:class:`~workbench.reports.pdf.PdfPrinter`, not launched or running): workers
    and a browser that outlive the run (the report service's, :mod:`workbench.reports.service`); the run
    uses them and leaves them running. ``stop``: once set, no further report starts (those in progress finish)
    and the run ends with :class:`RunStopped`; Ctrl-C stops a run the same way.
    """
    from .keys import parse_as_of
    from .pdf import start_printer
    from .render import find_chromium

    t0 = time.perf_counter()
    s = settings or get_settings()
    stop = stop if stop is not None else threading.Event()      # also set by Ctrl-C while gathering
    if workers < 1:
        raise InputError([Problem("blocked", "bad_option", "--workers must be at least 1", column="workers",
                                  value=workers)])
    if handoff not in ("cache", "direct"):
        raise InputError([Problem("blocked", "bad_option", "handoff must be 'cache' or 'direct'", column="handoff",
                                  value=handoff)])
    db_path, out_dir = report_targets(db, out)
    nb_path = Path(notebook) if notebook is not None else default_notebook()
    if not nb_path.exists():
        raise NotFoundError(f"{nb_path}: report notebook not found (pass --notebook)")
    at = parse_as_of(as_of)
    chromium = find_chromium(s) if pdf is not False else None
    if pdf is True and chromium is None:
        raise NotFoundError("no Chromium found to print PDFs: install chromium or set WORKBENCH_CHROMIUM "
                            "(or run without --pdf)")
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if pdf is not False and chromium is None:
        notes.append("PDF not written: Chromium was not found (set WORKBENCH_CHROMIUM or reports.chromium)")
    with _RunLock(out_dir, s.reports.lock_timeout_s if lock_timeout is None else lock_timeout):
        notes += _recover(out_dir)
        own_pool, own_printer = pool is None, printer is None      # the run stops only what it started
        pool = pool if pool is not None else WorkerPool()
        printer = printer if chromium is not None else None         # no PDFs: not even the service's browser
        if force and experiment_ids:
            pool.prestart(min(workers, len(experiment_ids)) - pool.started)
        try:      # the speculatively started workers stop if the scan fails (an unknown experiment)
            scan = scan_sources(db_path, experiment_ids, as_of=at)
            fingerprints = scan.fingerprints
            ids = list(fingerprints)
            params = {"as_of": at.isoformat() if at else None, "policy": policy,
                      "roi_horizon_days": roi_horizon_days or s.reports.roi_horizon_days, "kernel": kernel}
            code = code_version(nb_path, s)
            keys = {e: report_key(with_aa(fingerprints[e], scan.aa), params, code) for e in ids}   # they show the A/A checks
            stages: dict[str, float] = {"check": time.perf_counter() - t0}
            _emit(progress, "start", total=len(ids))
            outcomes: dict[str, ReportOutcome] = {}
            todo = []
            for e in ids:
                final = out_dir / report_dirname(e)
                # fresh = same key, and a PDF when one is wanted and can be printed (--no-pdf keeps an old one)
                if not force and _existing_key(final) == keys[e] and (chromium is None or (final / "report.pdf").exists()):
                    outcomes[e] = ReportOutcome(e, "skipped", str(final), key=keys[e], pdf=(final / "report.pdf").exists(),
                                                **_decision_of(final))
                    _emit(progress, "skip", experiment_id=e)
                else:
                    todo.append(e)
        except BaseException:
            if own_pool:
                pool.close()
            raise
        run_dir = out_dir / f".run-{uuid.uuid4().hex[:8]}"
        try:
            if todo:
                # the workers start and import the plotting stack while this process gathers the inputs;
                # the run's Chromium starts after the first batch (its start would take CPU from the gathering)
                t1 = time.perf_counter()
                pool.prestart(min(workers, len(todo)) - pool.started)
                if own_printer:
                    printer = start_printer(chromium, launch=False)     # launched once the first batch is gathered
                stages["start"] = time.perf_counter() - t1
                stages["gather"] = 0.0

                def batches() -> Iterator[list[BuildJob]]:
                    # gathered in growing batches, so the first reports build while the rest are gathered
                    checked = False
                    for batch in (_batches(todo, workers) if handoff == "cache" else [todo]):
                        if stop.is_set():
                            return
                        caches: dict[str, str] = {}
                        if handoff == "cache":
                            t2 = time.perf_counter()     # the first batch imports the analysis stack
                            from .inputs import gather_inputs, save_inputs
                            # the event rows are checked once, and only those not checked before
                            checked = checked or check_events(db_path, scan.events_parts, out_dir, code)
                            gathered = gather_inputs(batch, db=db_path, as_of=at, policy=policy,
                                                     roi_horizon_days=roi_horizon_days, validate=not checked)
                            for e, inp in gathered.items():
                                caches[e] = str(save_inputs(replace(inp, fingerprint=fingerprints[e]),
                                                            run_dir / f"{report_dirname(e)}.pkl"))
                            stages["gather"] += time.perf_counter() - t2
                            _emit(progress, "gathered", count=len(gathered))
                        if printer is not None:
                            printer.launch()       # once: beside the first notebooks, not during the gathering
                        yield [BuildJob(e, keys[e], str(nb_path.resolve()), str(out_dir.resolve()),
                                        {"experiment_id": e, "db": db_path, "as_of": at.isoformat() if at else None,
                                         "policy": policy, "inputs_cache": caches.get(e),
                                         "roi_horizon_days": roi_horizon_days},
                                        chromium, kernel, s.reports.cell_timeout_s, s.reports.pdf_timeout_s,
                                        {"handoff": handoff}) for e in batch]

                t3 = time.perf_counter()
                done: list[ReportOutcome] = []
                try:
                    _execute(batches(), workers, progress, pool, printer, stop, done)
                    if stop.is_set():
                        built = sum(o.status == "built" for o in done)
                        raise RunStopped(f"the run was stopped after {built} of {len(todo)} report(s)")
                except BaseException:
                    # stopped (Ctrl-C, RunStopped) or ended by an error (_execute started no queued report after
                    # it): the reports finished before it are in place and show decisions, so the registry gets them
                    if record:
                        try:
                            _record_decisions(db_path, [o for o in list(done) if o.status == "built"])
                        except Exception:  # noqa: BLE001 - what ended the run is the error to show, not this
                            pass
                    raise
                for o in done:
                    outcomes[o.experiment_id] = o
                stages["build"] = time.perf_counter() - t3
            t4 = time.perf_counter()
            if printer is not None and own_printer:
                printer.stop()        # Chromium quits while the decisions are recorded and the index is written
            if own_pool:
                pool.close()
            if record:
                notes += _record_decisions(db_path, [outcomes[e] for e in todo if outcomes[e].status == "built"])
            ordered = tuple(outcomes[e] for e in ids)
            run = ReportRun(ordered, str(out_dir), "", time.perf_counter() - t0, workers, chromium, handoff,
                            tuple(notes))
            from .portfolio import refresh_portfolio
            index = refresh_portfolio(out_dir, run, db=db_path)
        finally:
            if own_pool:
                pool.close()
            if printer is not None and own_printer:
                printer.close()
            shutil.rmtree(run_dir, ignore_errors=True)
        stages["finish"] = time.perf_counter() - t4
        run = replace(run, index=str(index), seconds=time.perf_counter() - t0,
                      stages={k: round(v, 2) for k, v in stages.items()})
    _emit(progress, "done", run=run)
    return run


def _decision_of(final: Path) -> dict[str, Any]:
    try:
        s = json.loads((final / "summary.json").read_text(encoding="utf-8"))
        return {"decision": str((s.get("decision") or {}).get("action", "")),
                "health": str((s.get("health") or {}).get("status", ""))}
    except (OSError, ValueError):
        return {}


def _batches(todo: list[str], workers: int) -> list[list[str]]:
    """The experiments in gathering batches: 2 per worker first, then each batch twice the last (a last
    batch less than 1.5 times the next size is not split).

    >>> [len(b) for b in _batches([str(i) for i in range(100)], 2)], [len(b) for b in _batches(list("abc"), 2)]
    ([4, 8, 16, 32, 40], [3])
    """
    out, i, n = [], 0, 2 * workers
    while i < len(todo):
        size = n if len(todo) - i > 1.5 * n else len(todo) - i
        out.append(todo[i:i + size])
        i, n = i + size, 2 * n
    return out


def _in_worker(job: BuildJob, pool: WorkerPool, printer: Any,
               stop: threading.Event | None = None) -> ReportOutcome | None:
    """Build ``job`` in this thread's worker process (see :mod:`workbench.reports.workers`); None when the run was
    stopped before it started."""
    t0 = time.perf_counter()
    if stop is not None and stop.is_set():
        return None               # not started: the run was stopped
    try:
        o = pool.build(replace(job, sent=time.time()), printer.spec() if printer is not None else None)
    except WorkerError as exc:
        final = Path(job.out) / report_dirname(job.experiment_id)
        return ReportOutcome(job.experiment_id, "failed", str(final), time.perf_counter() - t0, job.key,
                             error=str(exc)[:500])
    return ReportOutcome(**{**o, "notes": tuple(o.get("notes") or ())})


def _execute(batches: Iterable[list[BuildJob]], workers: int, progress: Progress | None, pool: WorkerPool,
             printer: Any, stop: threading.Event, results: list[ReportOutcome]) -> None:
    """Build the jobs of each batch as it comes (the next batch is gathered while the workers build); each
    outcome is appended to ``results`` as it comes (so that a run stopped midway knows what it finished)."""
    # Threads in this process, processes for the work: each thread hands its reports to its own worker
    # process (the notebook, HTML and PDF; one report too: workers die with this process and carry the run's
    # owner pid, so a killed run leaves none behind) and only waits for it. It works from any script (no
    # ``if __name__ == "__main__"`` guard needed).
    guard = threading.Condition()
    futures: dict[cf.Future, BuildJob] = {}
    settled, watched = [0], [0]   # jobs whose outcome (or "not started") is in ``results``; jobs with a callback

    def finished(fut: cf.Future) -> None:
        job = futures[fut]
        try:
            o = fut.result()
        except Exception as exc:  # noqa: BLE001 - a crashed build fails its experiment, not the run
            o = ReportOutcome(job.experiment_id, "failed", error=f"build crashed: {type(exc).__name__}: {exc}"[:500])
        with guard:
            if o is not None:
                results.append(o)
                _emit(progress, o.status, experiment_id=o.experiment_id, outcome=o)
            settled[0] += 1
            guard.notify_all()

    executor = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report")
    try:
        for jobs in batches:
            for job in jobs:
                fut = executor.submit(_in_worker, job, pool, printer, stop)
                futures[fut] = job
                if len(futures) <= workers:
                    with guard:
                        _emit(progress, "building", experiment_id=job.experiment_id)
                fut.add_done_callback(finished)
                watched[0] += 1
        executor.shutdown(wait=True)
    except BaseException:
        # Ctrl-C or an error: the queued reports are not started, those in progress finish, and the run knows
        # every report it finished. Waited for through the outcomes, not by joining the threads again: a join
        # that Ctrl-C interrupted may count a running thread as ended. A second Ctrl-C ends the wait.
        stop.set()
        with guard:
            guard.wait_for(lambda: settled[0] >= watched[0])
        executor.shutdown(wait=False)
        raise


def _record_decisions(db: str, built: list[ReportOutcome]) -> list[str]:
    """Record the decisions shown in freshly built reports in the registry (one short transaction)."""
    if not built or "://" in db:
        return []
    from ..pipeline import has_registry
    if not has_registry(db):
        return []
    from ..lifecycle.registry import Registry
    reg = Registry(db)
    rows = []
    for o in built:
        try:
            s = json.loads((Path(o.directory) / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        d = s.get("decision") or {}
        if not d.get("action") or s.get("state") is None:
            continue
        rows.append(SimpleNamespace(experiment_id=s["experiment_id"], policy=d.get("policy", ""), action=d["action"],
                                    winner=d.get("winner"), reason=d.get("reason", ""), reasons=d.get("reasons", []),
                                    facts=d.get("facts", {}), data_version=s.get("data_version")))
    if not rows:
        return []
    try:
        with reg.transaction() as con:
            for d in rows:
                reg.record_decision(d, by="workbench report", why=f"scheduled report: {d.reason}", con=con)
    except Exception as exc:  # noqa: BLE001 - the reports are written; say the registry could not take the decisions
        return [f"decisions not recorded in the registry: {exc}"]
    return [f"recorded {len(rows)} decision(s) in the registry"]
