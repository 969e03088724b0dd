"""The events calendar: YAML beside the database, edited from the CLI, flagged by analyses, held on by policies."""

from __future__ import annotations

import json
import os

import pytest

from cli_runner import invoke
from workbench.errors import InputError
from workbench.lifecycle.calendar import calendar_path, load_calendar


def test_calendar_add_list_remove_from_the_cli(capsys):
    path = calendar_path()
    assert path.parent == __import__("pathlib").Path(os.environ["WORKBENCH_DB"]).parent
    code, out, err = invoke(capsys, None, "calendar", "add", "cdn", "--kind", "outage", "--start", "2026-11-10")
    assert code == 0, err
    code, out, err = invoke(capsys, None, "calendar", "add", "bf", "--kind", "promotion", "--start", "2026-11-27",
                            "--end", "2026-11-30", "--category", "shoes", "--note", "-20 %")
    assert code == 0, err
    code, out, err = invoke(capsys, None, "calendar", "list", "--json")
    listed = json.loads(out)["events"]
    assert [(e["name"], e["holds"]) for e in listed] == [("cdn", True), ("bf", False)]
    assert [e.name for e in load_calendar(path)] == ["cdn", "bf"]
    code, out, err = invoke(capsys, None, "calendar", "add", "cdn", "--start", "2026-12-01")
    assert code == 2 and "already has an event of this name" in err
    code, out, err = invoke(capsys, None, "calendar", "remove", "cdn")
    assert code == 0 and [e.name for e in load_calendar(path)] == ["bf"]
    code, out, err = invoke(capsys, None, "calendar", "remove", "nope")
    assert code == 2 and "no calendar event called 'nope'" in err


def test_bad_dates_and_a_bad_file_are_clear_errors(capsys, tmp_path):
    code, out, err = invoke(capsys, None, "calendar", "add", "x", "--start", "2026-13-01")
    assert code == 2 and "column --start" in err and "'2026-13-01'" in err and "Traceback" not in err
    code, out, err = invoke(capsys, None, "calendar", "add", "x", "--start", "2026-11-05", "--end", "2026-11-01")
    assert code == 2 and "end (2026-11-01) is before start (2026-11-05)" in err
    bad = tmp_path / "cal.yaml"
    bad.write_text("events:\n  - {name: a, kind: sale, start: 2026-11-01, end: 2026-11-02}\n  - {name: b}\n")
    with pytest.raises(InputError) as exc:
        load_calendar(bad)
    text = str(exc.value)
    assert str(bad) in text and "events[0].kind" in text and "'sale'" in text and "events[1].start" in text
    code, out, err = invoke(capsys, None, "calendar", "list", "--file", str(bad))
    assert code == 2 and "events[0].kind" in err
    assert not (tmp_path / "cal.yaml.tmp").exists()


def test_analyze_flags_an_event_in_the_window(small_world, capsys, monkeypatch):
    cal = small_world["root"] / "calendar-test.yaml"
    monkeypatch.setenv("WORKBENCH_CALENDAR", str(cal))
    code, out, err = invoke(capsys, None, "calendar", "add", "outage", "--kind", "outage", "--start", "2026-11-10")
    assert code == 0, err
    code, out, err = invoke(capsys, None, "analyze", "-e", "pdp-shoes-hero", "--db", str(small_world["db"]), "--json")
    assert code == 0, err
    te = json.loads(out)["time_effects"]
    assert te["window_start"] <= "2026-11-10" <= te["window_end"]
    assert [c["name"] for c in te["calendar"]] == ["outage"] and te["calendar"][0]["hold"] is True
    assert te["dow"]["p_value"] >= 0 and te["trends"][0]["early_days"] >= 1


def test_analyze_prints_the_time_effects(capsys):
    from workbench.analysis import analyze
    from workbench.cli.analysis import _show_time_effects
    from workbench.lifecycle.calendar import CalendarEvent

    from .test_decision_tests import _data
    r = analyze(_data(days=7), cuped=False,
                calendar=(CalendarEvent(name="cdn", kind="outage", start="2026-11-03", end="2026-11-03"),))
    _show_time_effects(r)
    out = " ".join(capsys.readouterr().out.split())
    assert "time: outage 'cdn' (2026-11-03) overlaps 1 day(s) of the experiment; decisions hold while it does" in out
    assert "time: the lift of b on cvr shows no trend with days since first exposure: first 1 day(s)" in out
