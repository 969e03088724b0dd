"""Report keys: has anything a report depends on changed since it was written?

A report depends on its experiment's events (up to the as-of time) and which of their IPs burst in the whole
log (another experiment's events can make them burst: :mod:`workbench.bursts`), the experiment's rows in the
registry and world tables (brief, state, allocation), the database's shared tables (catalog,
pre-period covariates, switches, the learning store...), the run's parameters, the notebook and
the workbench code and settings. :func:`source_fingerprints` hashes the data part in one read-only
pass — on DuckDB an order-independent content hash, ``count(*)`` and ``sum(hash(row))`` per table
(per experiment where the table has an ``experiment_id`` column), which takes well under a second
on the demo world's 1.8 M events and notices edits in place, not only appends. The ``decisions``
and ``audit_log`` tables are left out: report runs write to them. :func:`report_key` mixes in the
rest.

>>> report_key("fp", {"as_of": None}, "code") == report_key("fp", {"as_of": None}, "code")
True
>>> report_key("fp", {"as_of": None}, "code") == report_key("fp", {"as_of": "2026-11-19"}, "code")
False
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..config import Settings, get_settings
from ..db import quote_ident
from ..errors import InputError, Problem

__all__ = ["parse_as_of", "source_fingerprints", "scan_sources", "SourceScan", "with_aa", "report_key", "code_version", "report_dirname", "EXCLUDED_TABLES",
           "SHARED_EVEN_WITH_ID", "read_only_duckdb"]

EXCLUDED_TABLES = frozenset({"decisions", "audit_log"})
"""Tables report runs write to (or that only log): never part of a key."""
NOT_IN_REPORTS = frozenset({"tracking", "schedule", "alerts"})
"""Settings sections that do not change what a report shows (adding a webhook must not rebuild every report)."""
SHARED_EVEN_WITH_ID = frozenset({"learning_patterns", "autopilot_schedule"})
"""Tables with an experiment column that every report reads across experiments (the learning store)."""


def parse_as_of(value: str | dt.datetime | None) -> dt.datetime | None:
    """``None``, a datetime, or ISO text (``2026-11-19`` or ``2026-11-19T12:00``) → naive UTC datetime."""
    if value is None or value == "":
        return None
    import pandas as pd
    if isinstance(value, dt.datetime):
        ts = pd.Timestamp(value)
    else:
        try:
            ts = pd.Timestamp(str(value))
        except (ValueError, TypeError):
            raise InputError([Problem("blocked", "bad_as_of", "as-of must be an ISO date or time such as "
                                      "2026-11-19 or 2026-11-19T12:00", column="as_of", value=str(value))]) from None
        if ts is pd.NaT:
            raise InputError([Problem("blocked", "bad_as_of", "as-of is not a date", column="as_of", value=str(value))])
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def report_dirname(experiment_id: str) -> str:
    """The directory name of an experiment's report: the id itself when it is safe, else a slug + hash.

    >>> report_dirname("pdp-shoes-hero"), report_dirname("../x y"), report_dirname("0..0")
    ('pdp-shoes-hero', 'x-y-b37c7286', '0-0-04f4c3cd')
    """
    from ..ids import is_safe_id

    if is_safe_id(experiment_id):
        return experiment_id
    # Anything but letters, digits, "_", "-" and single dots becomes "-" (so "0..0" cannot survive as "..").
    slug = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "-", experiment_id).strip("-._")[:60].rstrip("-._") or "experiment"
    return f"{slug}-{hashlib.sha1(experiment_id.encode()).hexdigest()[:8]}"


_q = quote_ident


def source_fingerprints(db: str | Path | None, experiment_ids: Sequence[str] | None = None, *,
                        as_of: dt.datetime | None = None) -> dict[str, str]:
    """A fingerprint of every input table per experiment (all experiments with events when ``None``).

    A DuckDB file (the default engine, no lake) is read with DuckDB alone — no Ibis import, so an
    unchanged re-run stays fast; other engines and lakes go through :func:`workbench.engine.open_events`.
    """
    return scan_sources(db, experiment_ids, as_of=as_of).fingerprints


@dataclass(frozen=True)
class SourceScan:
    """What the report runner's check reads in its one pass (:func:`scan_sources`)."""

    fingerprints: dict[str, str]
    """Per requested experiment, as :func:`source_fingerprints`."""
    aa: dict[str, str] = field(default_factory=dict)
    """The A/A experiments' fingerprints (every report shows their checks), by id."""
    events_parts: dict[str, str] | None = None
    """Content hash of the whole ``events`` table per experiment (:func:`workbench.reports.validated.events_parts`);
    None when the database is not a DuckDB file."""


def scan_sources(db: str | Path | None, experiment_ids: Sequence[str] | None = None, *,
                 as_of: dt.datetime | None = None) -> SourceScan:
    """The fingerprints of ``experiment_ids``, of the A/A experiments and of the events table's parts, in one pass."""
    from ..engine import open_events, resolve_engine

    choice = resolve_engine()
    if choice.engine == "duckdb" and choice.events is None and not (db is not None and ("://" in str(db)
                                                                                      or str(db) == ":memory:")):
        with read_only_duckdb(db) as raw:
            return _duckdb_scan(raw, db, experiment_ids, as_of)
    with open_events(db) as (con, lake):          # the engine and lake in force (WORKBENCH_ENGINE/_EVENTS)
        if getattr(con, "name", "") != "duckdb" or lake is not None:
            if "events" not in con.list_tables():
                _no_events(db)
            return SourceScan(_ibis_fingerprints(con, experiment_ids, as_of))
        return SourceScan(_duckdb_fingerprints(con.con, db, experiment_ids, as_of))


def with_aa(fingerprint: str, aa: Mapping[str, str]) -> str:
    """A report's data fingerprint with the A/A experiments' mixed in (unchanged when there is none): every
    report's Trust section shows the A/A checks, so new A/A data makes every report stale.

    >>> with_aa("fp", {}) == "fp", with_aa("fp", {"aa": "x"}) == with_aa("fp", {"aa": "y"})
    (True, False)
    """
    if not aa:
        return fingerprint
    return hashlib.sha256(json.dumps([fingerprint, sorted(aa.items())]).encode()).hexdigest()


def _duckdb_scan(raw: Any, db: str | Path | None, experiment_ids: Sequence[str] | None,
                 as_of: dt.datetime | None) -> SourceScan:
    from .validated import events_parts

    everything = _duckdb_fingerprints(raw, db, None, as_of, parts := {})
    ids = list(experiment_ids) if experiment_ids is not None else sorted(everything)
    missing = [e for e in ids if e not in everything]
    if missing:
        from ..errors import NotFoundError
        raise NotFoundError(f"unknown experiment {missing[0]!r} (no events); known: {', '.join(sorted(everything))}")
    aa: dict[str, str] = {}
    if raw.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'world_experiments' "
                   "AND table_schema = current_schema() AND column_name IN ('experiment_id', 'kind')"
                   ).fetchone()[0] == 2:
        kinds = raw.execute("SELECT DISTINCT CAST(experiment_id AS VARCHAR) FROM world_experiments WHERE kind = 'aa'")
        aa = {str(e): everything[str(e)] for (e,) in kinds.fetchall() if str(e) in everything}
    return SourceScan({e: everything[e] for e in ids}, aa, parts if as_of is None else events_parts(raw))


def _no_events(db: str | Path | None) -> None:
    from ..errors import NotFoundError
    raise NotFoundError(f"{db or 'the database'}: no events table — run `workbench simulate` or load events")


@contextmanager
def read_only_duckdb(db: str | Path | None) -> Iterator[Any]:
    """A read-only DuckDB connection with the workbench's engine settings, retried while a writer holds the file."""
    import duckdb

    from ..db import database_path, open_while_locked, process_temp_dir
    from ..errors import NotFoundError

    path = database_path(db)
    if not path.exists():
        raise NotFoundError(f"{path}: database not found — run `workbench simulate` (or `make demo`) first, "
                            "or point WORKBENCH_DB / --db at your database")
    con = open_while_locked(lambda: duckdb.connect(str(path), read_only=True), path)
    try:
        eng = get_settings().engine
        # the spill folder before the limit, as db.connect does (duckdb/duckdb#25959)
        con.execute(f"SET temp_directory = '{eng.temp_directory or process_temp_dir()}'")
        if eng.memory_limit:
            con.execute(f"SET memory_limit = '{eng.memory_limit}'")
        if eng.threads:
            con.execute(f"SET threads = {int(eng.threads)}")
        yield con
    finally:
        con.close()


def _duckdb_fingerprints(raw: Any, db: str | Path | None, experiment_ids: Sequence[str] | None,
                         as_of: dt.datetime | None, events_parts: dict[str, str] | None = None) -> dict[str, str]:
    """Order-independent content hashes per table and experiment, on a raw DuckDB connection (``events_parts``
    receives the events table's rows and hash per experiment, as :func:`workbench.reports.validated.events_parts`)."""
    from ..errors import NotFoundError

    columns: dict[str, set[str]] = {}
    for t, c in raw.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_catalog = current_database() AND table_schema = current_schema()").fetchall():
        columns.setdefault(str(t), set()).add(str(c).lower())
    tables = sorted(set(columns) - EXCLUDED_TABLES)
    if "events" not in tables:
        _no_events(db)
    per: dict[str, list[Any]] = {}
    shared: list[Any] = []
    for t in tables:
        cols = columns[t]
        if "experiment_id" in cols and t not in SHARED_EVEN_WITH_ID:
            where = " WHERE ts_server <= ?" if t == "events" and as_of is not None and "ts_server" in cols else ""
            params = [as_of] if where else []
            rows = raw.execute(f"SELECT CAST(experiment_id AS VARCHAR), count(*), CAST(sum(hash(x)) AS VARCHAR) "
                               f"FROM {_q(t)} x{where} GROUP BY 1", params).fetchall()
            for eid, n, h in rows:
                per.setdefault(str(eid), []).append([t, int(n), h])
            if t == "events" and events_parts is not None and not where:
                from .validated import parts_of
                events_parts.update(parts_of(rows))
        else:
            n, h = raw.execute(f"SELECT count(*), CAST(sum(hash(x)) AS VARCHAR) FROM {_q(t)} x").fetchone()
            shared.append([t, int(n), h])
    if "ip_hash" in columns["events"]:
        _add_bursts(per, raw.execute, as_of)
    event_ids = {str(r[0]) for r in raw.execute("SELECT DISTINCT CAST(experiment_id AS VARCHAR) FROM events "
                                                "WHERE experiment_id IS NOT NULL").fetchall()}
    ids = list(experiment_ids) if experiment_ids is not None else sorted(event_ids)
    missing = [e for e in ids if e not in event_ids]
    if missing:
        raise NotFoundError(f"unknown experiment {missing[0]!r} (no events); known: {', '.join(sorted(event_ids))}")
    shared_text = json.dumps(shared, sort_keys=True)
    return {e: hashlib.sha256(json.dumps([sorted(per.get(e, [])), shared_text]).encode()).hexdigest() for e in ids}


def _add_bursts(per: dict[str, list[Any]], execute: Any, as_of: dt.datetime | None) -> None:
    """Each experiment's bursting IPs into its part of the key: an IP bursts by its events in the whole log
    (:mod:`workbench.bursts`), so new events of *another* experiment can exclude units of this one."""
    from ..bursts import bursts_by_experiment_sql

    sql = bursts_by_experiment_sql(get_settings().bots.ip_burst_events_per_minute, as_of is not None)
    for eid, ips in execute(sql, [as_of] if as_of is not None else []).fetchall():
        per.setdefault(str(eid), []).append(["ip_bursts", len(ips), json.dumps(ips)])


def _ibis_fingerprints(con: Any, experiment_ids: Sequence[str] | None, as_of: dt.datetime | None) -> dict[str, str]:
    """Other Ibis backends: events count, first and last timestamp per experiment (appends, not edits), and its
    bursting IPs."""
    from ..errors import NotFoundError
    t = con.table("events")
    if as_of is not None:
        t = t.filter(t.ts_server <= as_of)
    df = t.group_by("experiment_id").aggregate(n=t.count(), first=t.ts_server.min(), last=t.ts_server.max()).execute()
    known: dict[str, list[Any]] = {str(r.experiment_id): [int(r.n), str(r.first), str(r.last)] for r in df.itertuples()}
    if "ip_hash" in t.columns:
        from ..bursts import bursts_by_experiment
        bursts = bursts_by_experiment(t, get_settings().bots.ip_burst_events_per_minute).execute()
        for eid, ips in bursts.groupby("experiment_id")["ip_hash"]:
            known.setdefault(str(eid), []).append(sorted(map(str, ips)))
    ids = list(experiment_ids) if experiment_ids is not None else sorted(known)
    missing = [e for e in ids if e not in known]
    if missing:
        raise NotFoundError(f"unknown experiment {missing[0]!r} (no events); known: {', '.join(sorted(known))}")
    return {e: hashlib.sha256(json.dumps(known[e]).encode()).hexdigest() for e in ids}


def _package_digest() -> str:
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in {".py", ".yaml", ".yml", ".j2", ".json"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=8)
def _cached_package_digest(_marker: float) -> str:
    return _package_digest()


def code_version(notebook: str | Path, settings: Settings | None = None) -> str:
    """Digest of the report notebook, the workbench package's source and the settings in force."""
    from .. import __version__ as version
    s = settings or get_settings()
    nb = Path(notebook).read_bytes()
    root = Path(__file__).resolve().parent.parent
    newest = max((p.stat().st_mtime for p in root.rglob("*.py")), default=0.0)
    h = hashlib.sha256()
    for part in (version, hashlib.sha256(nb).hexdigest(), _cached_package_digest(newest),
                 json.dumps({k: v for k, v in asdict(s).items() if k not in NOT_IN_REPORTS}, sort_keys=True,
                            default=str)):
        h.update(str(part).encode())
    return h.hexdigest()


def report_key(fingerprint: str, params: Mapping[str, Any], code: str) -> str:
    """The key a report is stored under: data fingerprint + parameters + code version."""
    text = json.dumps({"data": fingerprint, "params": dict(params), "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
