"""The report runner checks event rows once per content; every report's key follows the A/A experiments."""

from __future__ import annotations

import duckdb
import pytest

import workbench.sources.events as events_mod
from workbench.errors import InputError
from workbench.reports import validated
from workbench.reports.keys import scan_sources, with_aa

from .world import run_sql


def _counted(monkeypatch) -> list[int]:
    """Rows each row check ran on (the real check runs)."""
    seen: list[int] = []
    real = events_mod.validate_event_log

    def spy(log):
        n = real(log)
        seen.append(n)
        return n
    monkeypatch.setattr(events_mod, "validate_event_log", spy)
    return seen


def test_rows_are_checked_once_then_only_the_experiment_whose_events_changed(db, tmp_path, monkeypatch):
    seen = _counted(monkeypatch)
    out = tmp_path / "reports"
    out.mkdir()
    con = duckdb.connect(str(db), read_only=True)
    per = dict(con.execute("SELECT experiment_id, count(*) FROM events GROUP BY 1").fetchall())
    con.close()
    parts = scan_sources(db).events_parts
    assert parts is not None and set(parts) == set(per)
    assert validated.check_events(db, parts, out, "code-1") is True
    assert seen == [sum(per.values())] and (out / validated.MARKER).exists()
    assert validated.check_events(db, scan_sources(db).events_parts, out, "code-1") is True
    assert seen == [sum(per.values())]                                   # unchanged: not checked again
    run_sql(db, "UPDATE events SET price = price + 1 WHERE experiment_id = 'pdp-beauty-srm' AND event = 'purchase'")
    validated.check_events(db, scan_sources(db).events_parts, out, "code-1")
    assert seen[1:] == [per["pdp-beauty-srm"]]                           # only the changed experiment's rows
    validated.check_events(db, scan_sources(db).events_parts, out, "code-2")
    assert seen[2:] == [sum(per.values())]                               # other code or settings: all again
    assert validated.check_events(db, None, out, "code-2") is False      # not a DuckDB file: the gathering checks


def test_a_bad_row_fails_with_the_full_checks_message_and_is_not_recorded(db, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    run_sql(db, "UPDATE events SET price = -3 WHERE experiment_id = 'hostile-names' AND event = 'purchase'")
    from workbench.db import connect
    from workbench.sources.events import open_event_log, validate_event_log
    with connect(db, read_only=True) as con, pytest.raises(InputError) as full:
        validate_event_log(open_event_log(con, "events"))
    with pytest.raises(InputError) as exc:
        validated.check_events(db, scan_sources(db).events_parts, out, "code")
    assert str(exc.value) == str(full.value) and "price must not be negative" in str(exc.value)
    assert not (out / validated.MARKER).exists()                         # nothing passed: checked again next time


def test_every_reports_key_follows_the_aa_experiments_events(db, tmp_path):
    run_sql(db, "UPDATE world_experiments SET kind = 'aa' WHERE experiment_id = 'hostile-names'")
    a = scan_sources(db, ["pdp-shoes-hero"])
    run_sql(db, "UPDATE events SET price = price + 1 WHERE experiment_id = 'hostile-names' AND event = 'purchase'")
    b = scan_sources(db, ["pdp-shoes-hero"])
    assert a.fingerprints == b.fingerprints and a.aa != b.aa             # shoes-hero's own data did not change,
                                                                         # but its report (which shows it) rebuilds
    assert with_aa(a.fingerprints["pdp-shoes-hero"], a.aa) != with_aa(b.fingerprints["pdp-shoes-hero"], b.aa)
