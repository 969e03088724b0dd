"""A refresh keeps an experiment's analysis only when nothing it was computed from changed: a registry
change reuses it, an events-calendar change (an input besides the data) analyses every experiment again."""

from __future__ import annotations

from workbench.dashboard.service import DashboardService
from workbench.lifecycle.calendar import CalendarEvent, add_event


def test_a_calendar_change_is_not_served_from_the_previous_analysis(world_db, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_CALENDAR", raising=False)          # the calendar beside the database
    svc = DashboardService(world_db, reports=tmp_path / "reports")
    svc.keep_snapshot = False
    first = svc.refresh(warm=False)
    eid = "pdp-shoes-hero"
    assert not first.outcomes[eid].result.time_effects or not first.outcomes[eid].result.time_effects.calendar

    svc._reg().transition(eid, "pause", by="kim", why="test")       # the registry alone: analysis kept
    second = svc.refresh(warm=False)
    assert svc.refresh_count == 2
    assert all(second.outcomes[e].result is first.outcomes[e].result for e in first.outcomes)

    window = first.outcomes[eid].data.as_of.date()
    add_event(CalendarEvent(name="cdn-outage", kind="outage", start=window, end=window), world_db.parent / "calendar.yaml")
    third = svc.refresh(warm=False)
    assert svc.refresh_count == 3 and third.inputs != second.inputs
    assert all(third.outcomes[e].result is not second.outcomes[e].result for e in second.outcomes)
    overlaps = third.outcomes[eid].result.time_effects.calendar
    assert [c.name for c in overlaps] == ["cdn-outage"]
