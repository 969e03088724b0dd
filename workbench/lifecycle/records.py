"""The registry's tables and the records it returns: the schema, one experiment's row, an audit-chain check,
a purge's outcome, and the hash that chains the audit log (see :mod:`workbench.lifecycle.registry`)."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
from dataclasses import dataclass

from ..display import ResultMixin
from .retention import TablePurge

__all__ = ["SCHEMA", "ExperimentRecord", "AuditCheck", "PurgeResult", "utcnow", "default_actor", "audit_hash"]

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS experiments (
        experiment_id VARCHAR PRIMARY KEY, name VARCHAR, state VARCHAR NOT NULL, policy VARCHAR,
        owner VARCHAR, category VARCHAR, product_id VARCHAR, origin VARCHAR, kind VARCHAR,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, started_at TIMESTAMP,
        ended_at TIMESTAMP, version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS experiment_briefs (
        experiment_id VARCHAR NOT NULL, revision INTEGER NOT NULL, brief_yaml VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL, PRIMARY KEY (experiment_id, revision))""",
    """CREATE TABLE IF NOT EXISTS experiment_weights (
        snapshot BIGINT NOT NULL, experiment_id VARCHAR NOT NULL, effective_at TIMESTAMP NOT NULL, mode VARCHAR NOT NULL,
        variant_id VARCHAR NOT NULL, weight DOUBLE NOT NULL, reason VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS decisions (
        decision_id BIGINT PRIMARY KEY, experiment_id VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL,
        policy VARCHAR NOT NULL, action VARCHAR NOT NULL, winner VARCHAR, reason VARCHAR NOT NULL,
        reasons VARCHAR NOT NULL, facts VARCHAR NOT NULL, data_version VARCHAR, decided_by VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rollout_steps (
        seq BIGINT PRIMARY KEY, experiment_id VARCHAR NOT NULL, step INTEGER NOT NULL, variant_id VARCHAR,
        share DOUBLE NOT NULL, event VARCHAR NOT NULL, event_at TIMESTAMP NOT NULL, dwell_hours DOUBLE,
        detail VARCHAR, recorded_by VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS learning_patterns (
        experiment_id VARCHAR NOT NULL, category VARCHAR NOT NULL, variant_id VARCHAR NOT NULL,
        outcome VARCHAR NOT NULL, tag VARCHAR NOT NULL, value VARCHAR NOT NULL, lift_rel DOUBLE,
        recorded_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS review_flags (
        product_id VARCHAR PRIMARY KEY, reason VARCHAR NOT NULL, note VARCHAR,
        flagged_by VARCHAR NOT NULL, flagged_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS autopilot_schedule (
        product_id VARCHAR PRIMARY KEY, category VARCHAR, not_before TIMESTAMP NOT NULL,
        source_experiment_id VARCHAR, created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS workbench_switches (
        name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL, updated_by VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        seq BIGINT PRIMARY KEY, logged_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
        experiment_id VARCHAR, why VARCHAR NOT NULL, detail VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL,
        hash VARCHAR NOT NULL)""",
)

_EXP_COLS = ("experiment_id", "name", "state", "policy", "owner", "category", "product_id", "origin", "kind",
             "created_at", "updated_at", "started_at", "ended_at", "version")
_GENESIS = "0" * 64


def utcnow() -> dt.datetime:
    """Current UTC time as a naive datetime (how the registry stores timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def default_actor() -> str:
    """Who is acting when ``--by`` is not given: the login name."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class ExperimentRecord(ResultMixin):
    """One row of ``experiments``."""

    experiment_id: str
    name: str
    state: str
    policy: str
    owner: str
    category: str | None
    product_id: str | None
    origin: str
    kind: str
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    version: int


@dataclass(frozen=True)
class AuditCheck(ResultMixin):
    """Result of re-computing the audit log's hash chain."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    message: str = ""


@dataclass(frozen=True)
class PurgeResult(ResultMixin):
    """What a retention purge removed (``table``/``deleted``/``remaining``: the event log; ``tables``:
    every table with user rows, the event log first), and whether unhashed identifiers were seen."""

    table: str
    cutoff: dt.datetime
    deleted: int
    remaining: int
    unhashed_user_keys: int
    dry_run: bool
    notes: tuple[str, ...] = ()
    tables: tuple[TablePurge, ...] = ()


def audit_hash(seq: int, at: dt.datetime, actor: str, action: str, experiment_id: str | None, why: str,
                detail: str, prev: str) -> str:
    at_text = at.isoformat(timespec="microseconds") if isinstance(at, dt.datetime) else str(at)
    payload = json.dumps([int(seq), at_text, actor, action, experiment_id, why, detail, prev],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
