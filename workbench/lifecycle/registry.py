"""The experiment registry: experiments, briefs, state, allocation, decisions and an audit log in DuckDB.

Everything lives in the embedded database (``Paths.default().db``) next to the event data, in these
tables (all created on first use):

=====================  ======================================================================
``experiments``        one row per experiment: state, policy, owner, category, SKU, timestamps
``experiment_briefs``  every revision of the brief (YAML text)
``experiment_weights`` allocation history: weights per variant from a point in time on
``decisions``          every decision the policy engine made, with its action and all reasons
``rollout_steps``      staged-promotion steps and monitor verdicts (append-only)
``learning_patterns``  winners' meta tags by category (the learning store)
``review_flags``       SKUs the autopilot must leave alone (manual or legal review)
``autopilot_schedule`` the next experiment per SKU, not before a winner's cooldown has passed
``workbench_switches`` global switches such as the promotion period
``audit_log``          append-only: who did what, why and when, hash-chained so edits show
=====================  ======================================================================

Writes are transactional: each change and its audit row are committed together, or not at all
(a crash or an exception in the middle leaves the previous state). State changes are guarded by a
version number, so of two concurrent writers one wins and the other gets a clear
:class:`~workbench.errors.ConflictError`. Another *process* holding the database file is waited
for up to ``lifecycle.lock_timeout_s`` seconds. The registry never stores raw user identifiers:
it stores experiment, variant and SKU ids and the names of the people who act.

>>> import tempfile, pathlib
>>> from workbench.lifecycle.brief import ExperimentBrief
>>> reg = Registry(pathlib.Path(tempfile.mkdtemp()) / "wb.duckdb")
>>> brief = ExperimentBrief(id="exp-1", owner="kim", variants=[{"id": "control"}, {"id": "b"}],
...                         min_sample_size=1000)
>>> reg.create(brief, by="kim", why="first test").state
'draft'
>>> reg.transition("exp-1", "start", by="kim", why="brief approved").state
'running'
>>> [r["action"] for r in reg.audit("exp-1").to_dict("records")]
['create', 'start']
>>> reg.verify_audit().ok
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import duckdb
import pandas as pd

from ..config import Paths, get_settings
from ..display import dumps
from ..errors import ConflictError, InputError, NotFoundError, Problem, WorkbenchError
from ..ids import safe_id
from .brief import ExperimentBrief
from .autopilot_tables import AutopilotTables, need_text as _need_text
from .records import (_EXP_COLS, _GENESIS, SCHEMA, AuditCheck, ExperimentRecord, PurgeResult, audit_hash,
                      default_actor, utcnow)
from .retention import purge_user_tables
from .states import next_state

__all__ = ["Registry", "ExperimentRecord", "AuditCheck", "PurgeResult", "default_actor", "utcnow", "SCHEMA"]

def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.IOException) and ("lock" in text or "conflicting" in text)


class Registry(AutopilotTables):
    """The experiment registry in one DuckDB file (see the module docstring).

    ``clock`` returns the current naive-UTC time (tests pass a fixed clock). Connections are
    short-lived: each call opens the file, does its work in one transaction and closes it, so
    other processes (the dashboard, a scheduled report) can use the database in between; use
    :meth:`session` to keep one connection for a batch of calls.
    """

    def __init__(self, path: str | Path | None = None, *, clock: Callable[[], dt.datetime] | None = None,
                 lock_timeout: float | None = None) -> None:
        self.path = Path(path) if path is not None else Paths.default().db
        self.clock = clock or utcnow
        self.lock_timeout = get_settings().lifecycle.lock_timeout_s if lock_timeout is None else lock_timeout
        self._schema_ready = False
        self._local = threading.local()   # the open connection of this thread (inside a call or session)

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    # --- connections and transactions ----------------------------------------------------------
    def _open(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise WorkbenchError(f"{self.path}: cannot open the database: {exc}") from None
                if time.monotonic() >= deadline:
                    holder = re.search(r"PID (\d+)", str(exc))
                    who = f" (process {holder.group(1)})" if holder else ""
                    raise ConflictError(f"{self.path}: the database is in use by another process{who}; "
                                        f"waited {self.lock_timeout:g} s — retry when it has finished") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextlib.contextmanager
    def connect(self, *, create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open connection with the registry schema in place.

        Outside a :meth:`session` the connection is opened for this call and closed after it, so
        other processes can use the file in between; inside a session (or a nested call) the
        session's connection is reused. Reading never creates the database: while the file does
        not exist (and ``create`` is false) reads see an empty registry in memory, so a read-only
        command that fails (``workbench decide nosuch``) leaves nothing behind.
        """
        local = self._local
        if getattr(local, "con", None) is not None:
            if create and getattr(local, "empty", False):
                raise WorkbenchError(f"{self.path}: a write inside a read of a registry that does not exist yet")
            yield local.con
            return
        empty = not create and not self.path.exists()
        con = duckdb.connect(":memory:") if empty else self._open()
        local.con, local.in_tx, local.empty = con, False, empty
        try:
            if empty or not self._schema_ready:
                self._ensure_schema(con, remember=not empty)
            yield con
        finally:
            local.con, local.empty = None, False
            con.close()

    @contextlib.contextmanager
    def session(self) -> Iterator["Registry"]:
        """Keep one connection open for a batch of calls (faster; holds the file lock meanwhile)."""
        with self.connect(create=True):
            yield self

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection, *, remember: bool = True) -> None:
        con.execute("BEGIN TRANSACTION")
        try:
            for ddl in SCHEMA:
                con.execute(ddl)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._schema_ready = self._schema_ready or remember

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed if the block finishes, rolled back if it raises (or the process dies).

        A transaction opened inside another one joins it: everything commits or rolls back together.
        """
        with self.connect(create=True) as con:
            local = self._local
            if local.in_tx:
                yield con
                return
            con.execute("BEGIN TRANSACTION")
            local.in_tx = True
            try:
                yield con
            except BaseException as exc:
                local.in_tx = False
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # DuckDB already aborted the transaction
                if isinstance(exc, duckdb.TransactionException):
                    raise ConflictError("another writer changed the registry at the same time; nothing was "
                                        f"changed — retry ({str(exc).splitlines()[0]})") from None
                raise
            local.in_tx = False
            try:
                con.execute("COMMIT")
            except duckdb.TransactionException as exc:
                raise ConflictError("another writer changed the registry at the same time; nothing was changed — "
                                    f"retry ({str(exc).splitlines()[0]})") from None

    # --- audit log ------------------------------------------------------------------------------
    def append_audit(self, con: duckdb.DuckDBPyConnection, *, actor: str, action: str, why: str,
                     experiment_id: str | None = None, detail: dict[str, Any] | None = None,
                     at: dt.datetime | None = None) -> int:
        """Append one audit row inside the caller's transaction; returns its sequence number."""
        actor = _need_text(actor, "by")
        why = _need_text(why, "why")
        last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq = 1 if last is None else int(last[0]) + 1
        prev = _GENESIS if last is None else str(last[1])
        at = at or self.clock()
        detail_json = dumps(detail or {}, sort_keys=True)
        digest = audit_hash(seq, at, actor, action, experiment_id, why, detail_json, prev)
        try:
            con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [seq, at, actor, action, experiment_id, why, detail_json, prev, digest])
        except duckdb.ConstraintException:
            raise ConflictError("another writer appended to the audit log at the same time; retry") from None
        return seq

    def audit(self, experiment_id: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """The audit log (oldest first), optionally for one experiment."""
        sql = "SELECT seq, logged_at, actor, action, experiment_id, why, detail FROM audit_log"
        params: list[Any] = []
        if experiment_id is not None:
            sql += " WHERE experiment_id = ?"
            params.append(experiment_id)
        sql += " ORDER BY seq"
        with self.connect() as con:
            df = con.execute(sql, params).df()
        return df.tail(limit).reset_index(drop=True) if limit else df

    def verify_audit(self) -> AuditCheck:
        """Recompute the hash chain; any edited, deleted or reordered row breaks it."""
        with self.connect() as con:
            rows = con.execute("SELECT seq, logged_at, actor, action, experiment_id, why, detail, prev_hash, hash "
                               "FROM audit_log ORDER BY seq").fetchall()
        prev = _GENESIS
        for i, (seq, at, actor, action, exp, why, detail, prev_hash, digest) in enumerate(rows, start=1):
            if seq != i or prev_hash != prev or digest != audit_hash(seq, at, actor, action, exp, why, detail, prev):
                return AuditCheck(False, len(rows), int(seq), f"audit row {seq} does not match the hash chain")
            prev = digest
        return AuditCheck(True, len(rows), None, f"{len(rows)} audit rows, chain intact")

    # --- experiments ----------------------------------------------------------------------------
    def create(self, brief: ExperimentBrief, *, by: str, why: str, brief_yaml: str | None = None,
               con: duckdb.DuckDBPyConnection | None = None) -> ExperimentRecord:
        """Register a new experiment in ``draft`` with its brief and planned allocation.

        Pass ``con`` to make the creation part of a larger transaction (create and start at once).
        """
        from .policies import get_policy
        safe_id(brief.id)         # the one id rule (workbench.ids), also for briefs built in code
        get_policy(brief.policy)  # refuse an unknown policy now, not at decision time
        if con is not None:
            return self._create(con, brief, by=by, why=why, brief_yaml=brief_yaml)
        with self.transaction() as own:
            self._create(own, brief, by=by, why=why, brief_yaml=brief_yaml)
        return self.get(brief.id)

    def _create(self, con: duckdb.DuckDBPyConnection, brief: ExperimentBrief, *, by: str, why: str,
                brief_yaml: str | None) -> ExperimentRecord:
        now = self.clock()
        if con.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", [brief.id]).fetchone():
            raise ConflictError(f"experiment {brief.id!r} already exists; choose another id")
        con.execute(f"INSERT INTO experiments ({', '.join(_EXP_COLS)}) VALUES ({', '.join('?' * len(_EXP_COLS))})",
                    [brief.id, brief.name or brief.id, "draft", brief.policy, brief.owner, brief.category,
                     brief.product_id, brief.origin, brief.kind, now, now, None, None, 1])
        con.execute("INSERT INTO experiment_briefs VALUES (?, 1, ?, ?, ?)",
                    [brief.id, brief_yaml or brief.to_yaml(), now, _need_text(by, "by")])
        self.write_weights(con, brief.id, now, brief.allocation.mode, brief.variant_ids,
                           list(brief.allocation.weights or []), "planned in the brief")
        self.append_audit(con, actor=by, action="create", why=why, experiment_id=brief.id, at=now,
                          detail={"state": "draft", "policy": brief.policy, "variants": brief.variant_ids})
        return self._get(con, brief.id)

    def update_brief(self, brief: ExperimentBrief, *, by: str, why: str) -> ExperimentRecord:
        """Replace the brief of a ``draft`` experiment (a running experiment's brief is frozen)."""
        from .policies import get_policy
        get_policy(brief.policy)
        now = self.clock()
        with self.transaction() as con:
            rec = self._get(con, brief.id)
            if rec.state != "draft":
                raise ConflictError(f"the brief of {brief.id!r} is frozen once it leaves draft (it is {rec.state})")
            rev = con.execute("SELECT max(revision) FROM experiment_briefs WHERE experiment_id = ?",
                              [brief.id]).fetchone()[0]
            con.execute("INSERT INTO experiment_briefs VALUES (?, ?, ?, ?, ?)",
                        [brief.id, int(rev) + 1, brief.to_yaml(), now, _need_text(by, "by")])
            self._update(con, rec, now=now, name=brief.name or brief.id, policy=brief.policy, owner=brief.owner,
                         category=brief.category, product_id=brief.product_id, origin=brief.origin, kind=brief.kind)
            self.write_weights(con, brief.id, now, brief.allocation.mode, brief.variant_ids,
                                 list(brief.allocation.weights or []), "brief revised")
            self.append_audit(con, actor=by, action="update_brief", why=why, experiment_id=brief.id, at=now,
                              detail={"revision": int(rev) + 1})
        return self.get(brief.id)

    def transition(self, experiment_id: str, action: str, *, by: str, why: str,
                   detail: dict[str, Any] | None = None, final: bool = False, effective_at: dt.datetime | None = None,
                   con: duckdb.DuckDBPyConnection | None = None) -> ExperimentRecord:
        """Apply a state-machine ``action``; illegal actions raise :class:`ConflictError`.

        ``final`` marks the last ``advance`` of a rollout, which ends in ``promoted``.
        ``effective_at`` back-dates the start or end time (when registering an experiment that
        already ran); the audit row still records when the change was made. Pass ``con`` to make
        the transition part of a larger transaction.
        """
        kw = dict(by=by, why=why, detail=detail, final=final, effective_at=effective_at)
        if con is None:
            with self.transaction() as own:
                self._transition(own, experiment_id, action, **kw)  # type: ignore[arg-type]
            return self.get(experiment_id)
        return self._transition(con, experiment_id, action, **kw)  # type: ignore[arg-type]

    def _transition(self, con: duckdb.DuckDBPyConnection, experiment_id: str, action: str, *, by: str, why: str,
                    detail: dict[str, Any] | None, final: bool, effective_at: dt.datetime | None) -> ExperimentRecord:
        _need_text(by, "by")
        _need_text(why, "why")
        rec = self._get(con, experiment_id)
        new = next_state(rec.state, action)
        if action == "advance" and final:
            new = "promoted"
        now = self.clock()
        changes: dict[str, Any] = {"state": new}
        if action == "start" and rec.started_at is None:
            changes["started_at"] = effective_at or now
        if new in ("completed", "rolled_back", "promoted") and rec.ended_at is None:
            changes["ended_at"] = effective_at or now
        updated = self._update(con, rec, now=now, **changes)
        extra = {"effective_at": effective_at} if effective_at is not None else {}
        self.append_audit(con, actor=by, action=action, why=why, experiment_id=experiment_id, at=now,
                          detail={"from": rec.state, "to": new, **extra, **(detail or {})})
        return updated

    def _update(self, con: duckdb.DuckDBPyConnection, rec: ExperimentRecord, *, now: dt.datetime,
                **changes: Any) -> ExperimentRecord:
        cols = ", ".join(f"{k} = ?" for k in changes)
        n = con.execute(f"UPDATE experiments SET {cols}, updated_at = ?, version = version + 1 "
                        "WHERE experiment_id = ? AND version = ?",
                        [*changes.values(), now, rec.experiment_id, rec.version]).fetchone()
        if not n or int(n[0]) != 1:
            raise ConflictError(f"experiment {rec.experiment_id!r} was changed by another writer; "
                                "look at it again and retry")
        return self._get(con, rec.experiment_id)

    def _get(self, con: duckdb.DuckDBPyConnection, experiment_id: str) -> ExperimentRecord:
        safe_id(experiment_id)    # a malformed id (../../etc) is refused as such, not looked up
        row = con.execute(f"SELECT {', '.join(_EXP_COLS)} FROM experiments WHERE experiment_id = ?",
                          [experiment_id]).fetchone()
        if row is None:
            known = [r[0] for r in con.execute("SELECT experiment_id FROM experiments ORDER BY 1 LIMIT 8").fetchall()]
            hint = f"; known: {', '.join(known)}" + ("..." if len(known) == 8 else "") if known else "; the registry is empty"
            raise NotFoundError(f"no experiment {experiment_id!r} in the registry{hint}")
        return ExperimentRecord(*row)

    def get(self, experiment_id: str) -> ExperimentRecord:
        """The experiment's current row; :class:`NotFoundError` names the known ids otherwise."""
        with self.connect() as con:
            return self._get(con, experiment_id)

    def exists(self, experiment_id: str) -> bool:
        with self.connect() as con:
            return con.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", [experiment_id]).fetchone() is not None

    def list(self, state: str | Sequence[str] | None = None) -> list[ExperimentRecord]:
        """Experiments, oldest first, optionally only those in ``state`` (one or several)."""
        sql = f"SELECT {', '.join(_EXP_COLS)} FROM experiments"
        params: list[Any] = []
        if state is not None:
            states = [state] if isinstance(state, str) else list(state)
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            params = states
        with self.connect() as con:
            rows = con.execute(sql + " ORDER BY created_at, experiment_id", params).fetchall()
        return [ExperimentRecord(*r) for r in rows]

    def frame(self, state: str | Sequence[str] | None = None) -> pd.DataFrame:
        return pd.DataFrame([r.to_dict() for r in self.list(state)], columns=list(_EXP_COLS))

    def brief(self, experiment_id: str, revision: int | None = None) -> ExperimentBrief:
        """The experiment's brief (latest revision unless one is named)."""
        with self.connect() as con:
            self._get(con, experiment_id)
            sql = "SELECT brief_yaml, revision FROM experiment_briefs WHERE experiment_id = ?"
            params: list[Any] = [experiment_id]
            if revision is not None:
                sql += " AND revision = ?"
                params.append(revision)
            row = con.execute(sql + " ORDER BY revision DESC LIMIT 1", params).fetchone()
        if row is None:
            raise NotFoundError(f"experiment {experiment_id!r} has no brief revision {revision}")
        return ExperimentBrief.from_yaml(row[0], source=f"registry:{experiment_id}@{row[1]}")

    # --- allocation -----------------------------------------------------------------------------
    def write_weights(self, con: duckdb.DuckDBPyConnection, experiment_id: str, at: dt.datetime, mode: str,
                      variants: Sequence[str], weights: Sequence[float], reason: str) -> None:
        """Insert one allocation snapshot inside the caller's transaction."""
        last = con.execute("SELECT max(snapshot) FROM experiment_weights").fetchone()[0]
        snap = 1 if last is None else int(last) + 1
        for v, w in zip(variants, weights, strict=True):
            con.execute("INSERT INTO experiment_weights VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [snap, experiment_id, at, mode, v, float(w), reason])

    def set_weights(self, experiment_id: str, weights: dict[str, float], *, by: str, why: str,
                    mode: str = "fixed") -> None:
        """Record new allocation weights (they must cover the brief's variants and add up to 1)."""
        brief = self.brief(experiment_id)
        missing = [v for v in brief.variant_ids if v not in weights]
        extra = [v for v in weights if v not in brief.variant_ids]
        total = sum(weights.values())
        problems = []
        if missing or extra:
            problems.append(Problem("blocked", "bad_weights", f"weights must name exactly the variants "
                                    f"{', '.join(brief.variant_ids)}", column="weights", value=", ".join(weights)))
        if any(w < 0 for w in weights.values()) or abs(total - 1) > 1e-6:
            problems.append(Problem("blocked", "bad_weights", "weights must be >= 0 and add up to 1",
                                    column="weights", value=round(total, 9)))
        if problems:
            raise InputError(problems)
        now = self.clock()
        with self.transaction() as con:
            self._get(con, experiment_id)
            self.write_weights(con, experiment_id, now, mode, brief.variant_ids,
                                 [weights[v] for v in brief.variant_ids], why)
            self.append_audit(con, actor=by, action="set_weights", why=why, experiment_id=experiment_id, at=now,
                              detail={"mode": mode, "weights": weights})

    def weights(self, experiment_id: str) -> dict[str, float]:
        """The current allocation weights per variant."""
        with self.connect() as con:
            rows = con.execute("SELECT variant_id, weight FROM experiment_weights WHERE experiment_id = ? AND "
                               "snapshot = (SELECT max(snapshot) FROM experiment_weights WHERE experiment_id = ?)",
                               [experiment_id, experiment_id]).fetchall()
        return {v: float(w) for v, w in rows}

    # --- decisions ------------------------------------------------------------------------------
    def record_decision(self, decision: Any, *, by: str, why: str | None = None,
                        con: duckdb.DuckDBPyConnection | None = None) -> int:
        """Store a :class:`~workbench.lifecycle.policies.Decision` with every reason; returns its id."""
        def write(c: duckdb.DuckDBPyConnection) -> int:
            self._get(c, decision.experiment_id)
            last = c.execute("SELECT max(decision_id) FROM decisions").fetchone()[0]
            did = 1 if last is None else int(last) + 1
            now = self.clock()
            c.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      [did, decision.experiment_id, now, decision.policy, decision.action, decision.winner,
                       decision.reason, dumps(list(decision.reasons)), dumps(decision.facts, sort_keys=True),
                       decision.data_version, _need_text(by, "by")])
            self.append_audit(c, actor=by, action="decide", why=why or decision.reason,
                              experiment_id=decision.experiment_id, at=now,
                              detail={"decision_id": did, "policy": decision.policy, "action": decision.action,
                                      "winner": decision.winner})
            return did
        if con is not None:
            return write(con)
        with self.transaction() as own:
            return write(own)

    def looks(self, experiment_id: str, data_version: str | None = None) -> int:
        """How many versions of its data the experiment has been decided on, counting ``data_version``: the
        distinct data versions of its recorded decisions other than this one, plus one. Deciding again on
        the same data is not another look; a decision without a data version counts on its own.
        """
        with self.connect() as con:
            row = con.execute("SELECT count(DISTINCT coalesce(nullif(data_version, ''), 'id:' || decision_id)) "
                              "FROM decisions WHERE experiment_id = ? AND coalesce(data_version, '') <> ?",
                              [experiment_id, data_version or ""]).fetchone()
        return int(row[0] if row else 0) + 1

    def decisions(self, experiment_id: str | None = None) -> pd.DataFrame:
        """Recorded decisions (oldest first); ``reasons`` and ``facts`` decoded from JSON."""
        sql = "SELECT * FROM decisions"
        params: list[Any] = []
        if experiment_id is not None:
            sql += " WHERE experiment_id = ?"
            params.append(experiment_id)
        with self.connect() as con:
            df = con.execute(sql + " ORDER BY decision_id", params).df()
        for col in ("reasons", "facts"):
            df[col] = [json.loads(x) for x in df[col]]
        return df

    # --- retention ------------------------------------------------------------------------------
    def purge_events(self, *, retention_days: int | None = None, by: str, why: str, dry_run: bool = False,
                     table: str = "events", ts_column: str = "ts_server") -> PurgeResult:
        """Delete user rows older than the retention period from every table holding them (the event
        log, ``pre_period`` and any other table with a ``user_key``; see :mod:`.retention`), in one
        transaction, and audit it.

        Also counts ``user_key`` values that do not look hashed (hex of 16+ characters), which
        would mean raw identifiers reached the database.
        """
        days = get_settings().lifecycle.retention_days if retention_days is None else int(retention_days)
        if days < 1:
            raise InputError([Problem("blocked", "bad_retention", "the retention period must be at least 1 day",
                                      column="retention_days", value=days)])
        safe_id(table, "table name"), safe_id(ts_column, "column name")
        now = self.clock()
        cutoff = now - dt.timedelta(days=days)
        with self.transaction() as con:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if table not in tables:
                return PurgeResult(table, cutoff, 0, 0, 0, dry_run, (f"no table {table!r}: nothing to purge",))
            cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                              [table]).fetchall()}
            if ts_column not in cols:
                raise InputError([Problem("blocked", "missing_column", f"table {table} has no timestamp column",
                                          column=ts_column)])
            purged, unhashed, notes = purge_user_tables(con, cutoff=cutoff, events=table, ts_column=ts_column,
                                                        dry_run=dry_run)
            main = purged[0]
            if not dry_run:
                self.append_audit(con, actor=by, action="purge_events", why=why, at=now,
                                  detail={"table": table, "cutoff": cutoff, "deleted": main.deleted,
                                          "retention_days": days,
                                          "tables": {p.table: p.deleted for p in purged}})
        return PurgeResult(table, cutoff, main.deleted, main.remaining, unhashed, dry_run, tuple(notes), tuple(purged))
