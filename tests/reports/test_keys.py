"""Report keys change when (and only when) what a report reads changes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from workbench.errors import InputError, NotFoundError
from workbench.lifecycle import Registry
from workbench.lifecycle.brief import is_safe_id
from workbench.reports.keys import code_version, parse_as_of, report_dirname, report_key, source_fingerprints

from .world import run_sql


def test_stable_and_per_experiment(db):
    a = source_fingerprints(db)
    assert a == source_fingerprints(db) and set(a) == {"pdp-shoes-hero", "pdp-beauty-srm", "hostile-names"}
    run_sql(db, "UPDATE events SET price = price + 1 WHERE experiment_id = 'pdp-beauty-srm' AND event = 'purchase' "
             "AND user_key = (SELECT min(user_key) FROM events WHERE experiment_id = 'pdp-beauty-srm' "
             "AND event = 'purchase')")                        # an edit in place, same row count
    b = source_fingerprints(db)
    assert b["pdp-beauty-srm"] != a["pdp-beauty-srm"]
    assert b["pdp-shoes-hero"] == a["pdp-shoes-hero"] and b["hostile-names"] == a["hostile-names"]


def test_shared_tables_change_every_key_but_decisions_do_not(db):
    a = source_fingerprints(db)
    reg = Registry(db)
    from types import SimpleNamespace
    reg.record_decision(SimpleNamespace(experiment_id="pdp-shoes-hero", policy="p", action="hold", winner=None,
                                       reason="r", reasons=["r"], facts={}, data_version=None), by="t")
    assert source_fingerprints(db) == a                       # report runs record decisions: not an input
    reg.transition("pdp-shoes-hero", "pause", by="t", why="test")
    b = source_fingerprints(db)
    assert b["pdp-shoes-hero"] != a["pdp-shoes-hero"] and b["pdp-beauty-srm"] == a["pdp-beauty-srm"]
    run_sql(db, "UPDATE catalog SET stock = stock - 1 WHERE product_id = 'hom-0001'")
    c = source_fingerprints(db)
    assert all(c[e] != b[e] for e in c)


def test_an_ip_made_to_burst_by_another_experiment_changes_the_key(db):
    """130 events in one minute from one of pdp-shoes-hero's IPs, logged in pdp-beauty-srm: that IP now bursts
    (whole log), so pdp-shoes-hero's units from it are excluded and its report is stale; hostile-names is not."""
    a = source_fingerprints(db)
    run_sql(db, "INSERT INTO events SELECT e.* REPLACE ((SELECT max(ip_hash) FROM events WHERE experiment_id = "
             "'pdp-shoes-hero' AND ip_hash NOT IN (SELECT ip_hash FROM events WHERE experiment_id <> 'pdp-shoes-hero'))"
             " AS ip_hash, TIMESTAMP '2026-11-08 12:00:00' + to_milliseconds(r.k * 100) AS ts_server) "
             "FROM (SELECT * FROM events WHERE experiment_id = 'pdp-beauty-srm' LIMIT 1) e, range(130) r(k)")
    b = source_fingerprints(db)
    assert b["pdp-shoes-hero"] != a["pdp-shoes-hero"] and b["pdp-beauty-srm"] != a["pdp-beauty-srm"]
    assert b["hostile-names"] == a["hostile-names"]


def test_keys_of_a_lake_include_its_bursting_ips(tmp_path, monkeypatch):
    """On a Parquet lake (keys through Ibis: counts and times per experiment) the bursting IPs are in the key too."""
    import workbench.reports.keys as keys
    from workbench.config import get_settings
    from workbench.simulate.specs import DEMO_EXPERIMENTS
    from workbench.simulate.writer import write_world

    specs = tuple(s for s in DEMO_EXPERIMENTS if s.experiment_id in ("pdp-shoes-hero", "pdp-beauty-srm"))
    write_world(tmp_path / "lake", seed=5, scale=0.04, experiments=specs, layout="lake")
    monkeypatch.setenv("WORKBENCH_EVENTS", str(tmp_path / "lake"))
    a = source_fingerprints(None)
    assert set(a) == {"pdp-shoes-hero", "pdp-beauty-srm"} and source_fingerprints(None) == a
    never = get_settings().with_overrides({"bots": {"ip_burst_events_per_minute": 10 ** 9}})
    monkeypatch.setattr(keys, "get_settings", lambda: never)
    b = source_fingerprints(None)          # the same events, no IP bursting any more
    assert b["pdp-shoes-hero"] != a["pdp-shoes-hero"]       # its bot IP burst before (in the key)


def test_as_of_ignores_later_events(db):
    cut = dt.datetime(2026, 11, 10)
    a = source_fingerprints(db, as_of=cut)
    run_sql(db, "INSERT INTO events SELECT * REPLACE (ts_server + INTERVAL 1 DAY AS ts_server) FROM events "
             "WHERE experiment_id = 'pdp-shoes-hero' AND ts_server > TIMESTAMP '2026-11-12' LIMIT 3")
    assert source_fingerprints(db, as_of=cut) == a
    assert source_fingerprints(db)["pdp-shoes-hero"] != source_fingerprints(db, as_of=cut)["pdp-shoes-hero"]


def test_unknown_experiment_is_named(db):
    with pytest.raises(NotFoundError, match="unknown experiment 'nope'"):
        source_fingerprints(db, ["nope"])


def test_key_depends_on_every_part(tmp_path):
    base = report_key("data", {"as_of": None}, "code")
    assert base != report_key("data2", {"as_of": None}, "code")
    assert base != report_key("data", {"as_of": "x"}, "code")
    assert base != report_key("data", {"as_of": None}, "code2")
    nb = tmp_path / "n.ipynb"
    nb.write_text("{}")
    v1 = code_version(nb)
    nb.write_text("{ }")
    assert code_version(nb) != v1


def test_parse_as_of():
    assert parse_as_of("2026-11-19") == dt.datetime(2026, 11, 19)
    assert parse_as_of("2026-11-19T09:00+09:00") == dt.datetime(2026, 11, 19, 0, 0)
    assert parse_as_of(None) is None
    with pytest.raises(InputError) as e:
        parse_as_of("yesterday-ish")
    assert e.value.problems[0].column == "as_of"


@given(st.text(min_size=1, max_size=120))
@example("0..0")                      # found by hypothesis: a slug must not keep the ".." of the id
@example("../../etc/passwd")
def test_report_dirname_is_always_a_safe_directory_name(eid):
    name = report_dirname(eid)
    assert is_safe_id(name) and "/" not in name and name == report_dirname(eid)
    if is_safe_id(eid):
        assert name == eid
