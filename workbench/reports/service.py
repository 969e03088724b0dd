"""A warm report service: one process kept ready for ``workbench report``, so a run skips its start-up.

A report run in a new process pays, before its first report, for importing the analysis stack, for its
workers' warm-up and for starting Chromium — about a third of a one-report run (the demo's largest report:
4.0 s through the service, 6.6 s in a new process). ``workbench
report-service`` (:func:`serve`) pays them once: it keeps the imports, its report workers
(:mod:`workbench.reports.workers`) and its browser (:mod:`workbench.reports.pdf`), and runs each
``workbench report`` for its database and reports directory that a user hands it. The run itself is
:func:`workbench.reports.runner.run_reports`, the same function with the same lock, keys, files and
outcome; only the workers and the browser are the service's. The client
(:func:`run_with_service`) prints the same progress, table, notes and exit code, plus a note naming
the service.

* **Only where it is the same run.** The client sends its package folder, Python, working directory
  and ``WORKBENCH_*`` variables; the service runs the request only when all four are its own, and
  when neither the workbench code nor the settings changed since it started (it stops when they did).
  Otherwise — or with no service, or one that ended mid-run — the client runs the reports in its own
  process, as without a service (a report is replaced only when complete, so a repeated run is safe).
* **Only for this user.** The socket (in the temporary folder, named by the database and reports
  directory) is created readable by its owner only, and the service answers only peers with its own
  user id.
* **Warm when ready.** Before it says it is ready, it has imported the analysis stack, started its workers
  (they warm up beside it) and Chromium, and read the experiments' fingerprints and one experiment's inputs
  (the first queries' set-up), writing nothing.
* **Nothing held between runs.** The database is opened by each run and closed at its end, as by a run
  of its own; between runs another process may write to it.
* **Ctrl-C stops the run.** When the client goes away mid-run (Ctrl-C, a closed terminal), the service
  stops the run as Ctrl-C stops a run of its own: the reports being built finish, no further report
  starts, the decisions of the finished reports are recorded, and the index is not rewritten.
* **Ends cleanly.** After ``idle`` seconds without a run, on Ctrl-C or SIGTERM, it stops its workers and
  browser and removes its socket; both die with it even on ``kill -9``.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..display import dumps, fmt_elapsed, fmt_num
from ..errors import ConflictError, InputError, NotFoundError, Problem, WorkbenchError
from .runner import ReportOutcome, ReportRun, RunStopped, default_notebook, report_targets, run_reports

__all__ = ["serve", "run_with_service", "socket_path", "SERVICE_NOTE", "NOT_USED_NOTE"]

SERVICE_NOTE = "built by the warm report service (pid {pid}, ready since {since})"
NOT_USED_NOTE = "ran in this process, not in the warm report service: {why}"
RUN_OPTIONS = ("experiment_ids", "workers", "force", "db", "out", "as_of", "policy", "pdf", "record", "handoff",
               "notebook", "lock_timeout", "roi_horizon_days")
"""The :func:`run_reports` arguments a client may pass (everything but the progress callback)."""


def socket_path(db: str | Path | None, out: str | Path | None) -> Path:
    """The service's socket for these targets (this user's, in the temporary folder)."""
    db_path, out_dir = report_targets(db, out)
    key = hashlib.sha256(f"{db_path}\n{out_dir.resolve()}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"workbench-reports-{os.getuid()}-{key}.sock"


def _identity() -> dict[str, Any]:
    """What must be equal for the service to run a client's reports as the client would."""
    return {"package": str(Path(__file__).resolve().parents[1]), "python": sys.executable, "cwd": os.getcwd(),
            "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("WORKBENCH_")}}


def _code() -> str:
    """The workbench code and settings in force now (the report key's code part with the default notebook)."""
    from ..config import get_settings
    from .keys import code_version
    get_settings.cache_clear()
    return code_version(default_notebook(), get_settings())


def _send(conn: socket.socket, msg: Mapping[str, Any]) -> bool:
    try:
        conn.sendall((dumps(msg, indent=None) + "\n").encode("utf-8"))
        return True
    except OSError:          # the client went away (Ctrl-C): its run is stopped (see _watch)
        return False


def _lines(conn: socket.socket) -> Iterator[Any]:
    buf = b""
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            yield json.loads(line)


def _peer_uid(conn: socket.socket) -> int:
    """The connecting process's user id (Linux; elsewhere the socket's owner-only mode is the guard)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return os.getuid()
    creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


# --- the service ------------------------------------------------------------------------------------------
def serve(db: str | Path | None = None, out: str | Path | None = None, *, workers: int = 2, idle: float = 1800.0,
          say: Callable[[str], None] | None = None) -> None:
    """Serve ``workbench report`` runs for ``db`` and ``out`` until ``idle`` seconds pass without one (see the
    module doc). :class:`ConflictError` when a service already listens for them."""
    from .pdf import start_printer
    from .render import find_chromium
    from .workers import WorkerPool

    say = say or (lambda text: None)
    path = socket_path(db, out)
    if _listening(path):
        raise ConflictError(f"a report service is already running for these reports ({path})")
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(8)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pool, printer = WorkerPool(), None
    try:
        identity, code = _identity(), _code()
        since = time.strftime("%H:%M:%S")
        pool.prestart(workers)
        printer = start_printer(find_chromium())     # from this thread, which lives as long as the service
        db_path, out_dir = report_targets(db, out)
        _warm_up(db_path)
        say(f"report service: ready for {out_dir} (database {db_path}); `workbench report` runs here; stops "
            f"after {fmt_num(idle / 60)} min without a run, or Ctrl-C")
        listener.settimeout(idle)
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                say("report service: idle, stopped")
                return
            with conn:
                stop = _handle(conn, identity, code, pool, printer, since, say)
            pool.recycle(workers)
            if printer is not None and printer.proc is not None and printer.proc.poll() is not None:
                printer.close()                          # the browser died (killed?): the next run gets a new one
                printer = start_printer(find_chromium())
            if stop:
                say("report service: the workbench code or settings changed, stopped (start it again)")
                return
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()
        path.unlink(missing_ok=True)
        pool.close()
        if printer is not None:
            printer.close()


def _difference(client: Any, service: dict[str, Any]) -> str:
    """Why a client's run is not the service's to run (what differs between the two processes)."""
    client = client if isinstance(client, dict) else {}
    names = {"package": "workbench package", "python": "Python", "cwd": "working directory"}
    parts = [f"its {names[k]} is {service[k]}, this one's {client.get(k)}" for k in names if client.get(k) != service[k]]
    theirs, mine = service["env"], client.get("env") or {}
    changed = sorted(k for k in {*theirs, *mine} if theirs.get(k) != mine.get(k))
    if changed:
        parts.append(f"{', '.join(changed)} differ{'s' if len(changed) == 1 else ''}")
    return "; ".join(parts) or "a different request"


def _warm_up(db: str) -> None:
    """The first run's imports and first queries, paid before the service says it is ready: the experiments'
    fingerprints and one experiment's inputs, read and thrown away (nothing is written). Best effort: a
    database without events yet is read by the first run."""
    from .inputs import gather_inputs
    from .keys import scan_sources
    try:
        scan = scan_sources(db)
        first = next(iter(scan.fingerprints), None)
        if first is not None:
            gather_inputs([first], db=db, validate=False, lock_timeout=0)
    except Exception:  # noqa: BLE001 - the first run reads the database again and says what is wrong
        pass


def _handle(conn: socket.socket, identity: dict[str, Any], code: str, pool: Any, printer: Any, since: str,
            say: Callable[[str], None]) -> bool:
    """One client: its request, then its run's events and outcome. True when the service must stop."""
    conn.settimeout(30)
    try:
        if _peer_uid(conn) != os.getuid():
            return False
        req = next(_lines(conn), None)
    except (OSError, ValueError):
        return False
    if not isinstance(req, dict) or not isinstance(req.get("run"), dict):
        _send(conn, {"refused": "not a report request"})
        return False
    changed = req.get("identity") == identity and _code() != code
    why = _difference(req.get("identity"), identity) if req.get("identity") != identity else \
        "the workbench code or settings changed since the service started" if changed else ""
    if why:
        _send(conn, {"refused": why})
        say(f"report service: did not take a run: {why}")
        return changed
    conn.settimeout(60)           # a client that stops reading (suspended) is given up, not waited for
    kwargs = {k: v for k, v in req["run"].items() if k in RUN_OPTIONS}
    stop, over = threading.Event(), threading.Event()

    def progress(event: str, info: dict[str, Any]) -> None:
        if event != "done" and not stop.is_set() and not _send(conn, {"event": event, "info": info}):
            stop.set()

    watcher = threading.Thread(target=_watch, args=(conn, over, stop.set), daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    try:
        run = run_reports(**kwargs, progress=progress, pool=pool, printer=printer, stop=stop)
        reply: dict[str, Any] = {}
    except RunStopped as exc:
        say(f"report service: its client went away; {exc}")
        return False
    except WorkbenchError as exc:
        reply = {"error": {"type": type(exc).__name__, "message": str(exc),
                           "problems": [p.to_dict() for p in getattr(exc, "problems", ())]}}
    except Exception as exc:  # noqa: BLE001 - the client runs the reports itself and shows what happens there
        reply = {"crashed": f"{type(exc).__name__}: {exc}"}
    finally:
        over.set()                # the client closes once it has the answer: not a reason to stop anything
        watcher.join()
    if reply:
        _send(conn, reply)
        return False
    from dataclasses import replace
    run = replace(run, notes=(*run.notes, SERVICE_NOTE.format(pid=os.getpid(), since=since)))
    _send(conn, {"outcome": run.to_dict()})
    say(f"report service: {len(run.built)} built, {len(run.skipped)} skipped, {len(run.failed)} failed "
        f"in {fmt_elapsed(time.perf_counter() - t0)}")
    return False


def _watch(conn: socket.socket, over: threading.Event, gone: Callable[[], None]) -> None:
    """Call ``gone`` when the client closes its end before the run is ``over`` (the client sends nothing after
    its request; anything it did send is read and dropped)."""
    while not over.is_set():
        try:
            readable, _, _ = select.select([conn], [], [], 0.2)
            if not readable or conn.recv(4096):
                continue
        except (OSError, ValueError):      # a reset connection: gone as well
            pass
        if not over.is_set():
            gone()
        return


def _listening(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


# --- the client -------------------------------------------------------------------------------------------
def run_with_service(progress: Callable[[str, dict[str, Any]], None] | None = None, **run: Any) -> tuple[Any, str]:
    """Hand the run (``run_reports``' arguments) to the service listening for its targets: ``(run, "")`` with
    its :class:`~workbench.reports.runner.ReportRun`; ``(None, why)`` when it refused or ended before the run
    did, ``(None, "")`` when none listens — run the reports in this process then. A :class:`WorkbenchError` of
    the run (an unknown experiment, a lock held too long) is raised here as the run itself would raise it."""
    unknown = set(run) - set(RUN_OPTIONS)
    if unknown:
        raise TypeError(f"not a report run option: {', '.join(sorted(unknown))}")
    path = socket_path(run.get("db"), run.get("out"))
    if not path.exists():
        return None, ""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            conn.connect(str(path))
        except OSError:              # a socket left by a service that was killed
            return None, ""
        request = {**run, "notebook": str(run["notebook"]) if run.get("notebook") else None,
                   "out": str(run["out"]) if run.get("out") is not None else None,
                   "db": str(run["db"]) if run.get("db") is not None else None}
        if not _send(conn, {"identity": _identity(), "run": request}):
            return None, "it did not take the request"
        for msg in _lines(conn):
            if "event" in msg:
                if progress is not None:
                    progress(msg["event"], _event_info(msg["info"]))
            elif "outcome" in msg:
                result = _report_run(msg["outcome"])
                if progress is not None:
                    progress("done", {"run": result})
                return result, ""
            elif "error" in msg:
                raise _error(msg["error"])
            else:                    # refused, or its run crashed: this process runs the reports
                return None, str(msg.get("refused") or f"its run crashed ({msg.get('crashed')})")
    except OSError as exc:
        return None, f"it ended during the run ({exc})"
    finally:
        conn.close()
    return None, "it ended during the run"


def _outcome(d: Mapping[str, Any]) -> Any:
    names = {f.name for f in fields(ReportOutcome)}
    return ReportOutcome(**{**{k: v for k, v in d.items() if k in names}, "notes": tuple(d.get("notes") or ())})


def _report_run(d: Mapping[str, Any]) -> Any:
    names = {f.name for f in fields(ReportRun)}
    return ReportRun(**{**{k: v for k, v in d.items() if k in names},
                        "outcomes": tuple(_outcome(o) for o in d["outcomes"]), "notes": tuple(d.get("notes") or ())})


def _event_info(info: Mapping[str, Any]) -> dict[str, Any]:
    return {**info, "outcome": _outcome(info["outcome"])} if isinstance(info.get("outcome"), dict) else dict(info)


def _error(e: Mapping[str, Any]) -> WorkbenchError:
    if e.get("type") == "InputError":
        return InputError([Problem(**p) for p in e.get("problems") or []])
    cls = {"NotFoundError": NotFoundError, "ConflictError": ConflictError}.get(str(e.get("type")), WorkbenchError)
    return cls(str(e.get("message", "")))
