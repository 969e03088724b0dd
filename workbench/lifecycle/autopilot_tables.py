"""The registry's autopilot tables: global switches (the promotion period), SKUs under review, and each
SKU's next scheduled experiment. A part of :class:`workbench.lifecycle.registry.Registry` (a mix-in: it uses
the registry's ``clock``, ``connect``, ``transaction`` and ``append_audit``), kept apart by what it does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from ..errors import InputError, NotFoundError, Problem
from ..ids import safe_id

__all__ = ["AutopilotTables", "need_text"]


def need_text(value: str | None, what: str) -> str:
    """``value`` stripped, or the one-line error saying who acts / why is missing (every change is audited)."""
    if value is None or not str(value).strip():
        raise InputError([Problem("blocked", f"missing_{what}", f"say {'who acts' if what == 'by' else 'why'} "
                                  f"(--{what}); every change is recorded in the audit log", column=what)])
    return str(value).strip()


class AutopilotTables:
    """Switches, review flags and the autopilot schedule (see the module docstring)."""

    clock: Any
    connect: Any
    transaction: Any
    append_audit: Any

    def set_switch(self, name: str, value: str, *, by: str, why: str) -> None:
        safe_id(name, "switch name")
        now = self.clock()
        with self.transaction() as con:
            old = con.execute("SELECT value FROM workbench_switches WHERE name = ?", [name]).fetchone()
            con.execute("INSERT OR REPLACE INTO workbench_switches VALUES (?, ?, ?, ?)",
                        [name, value, now, need_text(by, "by")])
            self.append_audit(con, actor=by, action="set_switch", why=why, at=now,
                              detail={"name": name, "from": None if old is None else old[0], "to": value})

    def switch(self, name: str, default: str = "off") -> str:
        with self.connect() as con:
            row = con.execute("SELECT value FROM workbench_switches WHERE name = ?", [name]).fetchone()
        return default if row is None else str(row[0])

    def promotion_period(self) -> bool:
        """True while the global promotion-period switch is on (automatic experiments pause)."""
        return self.switch("promotion_period") == "on"

    def flag_review(self, product_id: str, *, reason: str, by: str, why: str, note: str = "") -> None:
        """Mark a SKU for manual or legal review: the autopilot will not touch it."""
        if reason not in ("manual", "legal"):
            raise InputError([Problem("blocked", "bad_reason", "review reason must be 'manual' or 'legal'",
                                      column="reason", value=reason)])
        now = self.clock()
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO review_flags VALUES (?, ?, ?, ?, ?)",
                        [product_id, reason, note, need_text(by, "by"), now])
            self.append_audit(con, actor=by, action="flag_review", why=why, at=now,
                              detail={"product_id": product_id, "reason": reason})

    def unflag_review(self, product_id: str, *, by: str, why: str) -> None:
        now = self.clock()
        with self.transaction() as con:
            if not con.execute("SELECT 1 FROM review_flags WHERE product_id = ?", [product_id]).fetchone():
                raise NotFoundError(f"SKU {product_id!r} is not flagged for review")
            con.execute("DELETE FROM review_flags WHERE product_id = ?", [product_id])
            self.append_audit(con, actor=by, action="unflag_review", why=why, at=now, detail={"product_id": product_id})

    def review_flags(self) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute("SELECT * FROM review_flags ORDER BY product_id").df()

    def schedule_next(self, product_id: str, *, not_before: dt.datetime, category: str | None,
                      source_experiment_id: str | None, by: str, why: str,
                      con: duckdb.DuckDBPyConnection | None = None) -> None:
        """Plan the SKU's next experiment for no earlier than ``not_before`` (after a cooldown)."""
        def write(c: duckdb.DuckDBPyConnection) -> None:
            now = self.clock()
            c.execute("INSERT OR REPLACE INTO autopilot_schedule VALUES (?, ?, ?, ?, ?)",
                      [product_id, category, not_before, source_experiment_id, now])
            self.append_audit(c, actor=by, action="schedule", why=why, experiment_id=source_experiment_id, at=now,
                              detail={"product_id": product_id, "not_before": not_before})
        if con is not None:
            write(con)
        else:
            with self.transaction() as own:
                write(own)

    def clear_schedule(self, product_id: str, con: duckdb.DuckDBPyConnection) -> None:
        """Remove the SKU's schedule entry (inside the caller's transaction) once it is acted on."""
        con.execute("DELETE FROM autopilot_schedule WHERE product_id = ?", [product_id])

    def schedule(self) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute("SELECT * FROM autopilot_schedule ORDER BY not_before, product_id").df()
