"""Autopilot: candidate rules, traffic budget, concurrency, cooldown and schedule, promotion period, learnt templates."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench.config import get_settings
from workbench.lifecycle.autopilot import plan_autopilot, run_autopilot
from workbench.lifecycle.learning import conclude, pattern_table, winning_tags
from workbench.lifecycle.registry import Registry

from .builders import make_brief

NOW = dt.datetime(2026, 3, 10, 12, 0)
SKUS = [  # product_id, category, stock, review_flag, sessions in the last 7 days
    ("fas-0001", "fashion", 100, False, 5000),
    ("sho-0001", "shoes", 80, False, 2000),
    ("sho-0002", "shoes", 50, False, 1500),
    ("ele-0002", "electronics", 70, True, 1200),
    ("hom-0001", "home", 20, False, 1000),
    ("sho-0003", "shoes", 30, False, 900),
    ("ele-0001", "electronics", 0, False, 800),
    ("bea-0001", "beauty", 40, False, 300),
]
TOTAL = 40_000   # all sessions, including pages outside the catalogue


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "wb.duckdb"
    rng = np.random.default_rng(5)
    rows = []
    for pid, _, _, _, n in SKUS:
        rows.append(pd.DataFrame({"product_id": pid, "session_id": [f"{pid}-{i}" for i in range(n)],
                                  "age_h": rng.uniform(1, 7 * 24 - 1, n),
                                  "event": np.where(rng.random(n) < 0.04, "purchase", "impression")}))
    filler = TOTAL - sum(s[-1] for s in SKUS)
    rows.append(pd.DataFrame({"product_id": "landing", "session_id": [f"x-{i}" for i in range(filler)],
                              "age_h": rng.uniform(1, 7 * 24 - 1, filler), "event": "impression"}))
    rows.append(pd.DataFrame({"product_id": "bea-0001", "session_id": [f"old-{i}" for i in range(5000)],
                              "age_h": 24 * 10.0, "event": "impression"}))    # outside the 7-day window
    ev = pd.concat(rows, ignore_index=True)
    ev["ts_server"] = NOW - pd.to_timedelta(ev["age_h"], unit="h")
    ev["user_key"] = [f"{i:032x}" for i in range(len(ev))]
    ev = ev.drop(columns="age_h")
    cat = pd.DataFrame(SKUS, columns=["product_id", "category", "stock", "review_flag", "sessions"]).drop(columns="sessions")
    with duckdb.connect(str(path)) as con:
        con.register("ev", ev)
        con.register("cat", cat)
        con.execute("CREATE TABLE events AS SELECT * FROM ev")
        con.execute("CREATE TABLE catalog AS SELECT * FROM cat")
    reg = Registry(path, clock=lambda: NOW)
    with reg.session():
        yield reg


def steps(plan, action=None):
    return [(s.action, s.product_id) for s in plan.steps if action is None or s.action == action]


def reasons(plan, pid):
    return next(c.reasons for c in plan.candidates if c.product_id == pid)


def test_dry_run_explains_and_changes_nothing(world):
    plan = plan_autopilot(world, now=NOW)
    assert plan.dry_run and not plan.executed
    assert steps(plan, "create_and_start") == [("create_and_start", "fas-0001"), ("create_and_start", "sho-0001"),
                                               ("create_and_start", "hom-0001")]
    assert steps(plan, "skip") == [("skip", "sho-0002"), ("skip", "sho-0003")]
    skip = next(s for s in plan.steps if s.product_id == "sho-0002")
    assert "only 2.5% of the 20% budget is left" in skip.reason
    assert plan.traffic_planned == pytest.approx((5000 + 2000 + 1000) / TOTAL)
    assert reasons(plan, "ele-0001") == ("out of stock",)
    assert reasons(plan, "ele-0002") == ("flagged for manual review in the catalogue",)
    assert reasons(plan, "bea-0001") == ("300 sessions in the last 7 days (needs 700)",)   # old sessions not counted
    text = plan.explain()
    assert text.startswith("Autopilot at 2026-03-10 12:00 UTC (DRY RUN") and "out of stock" in text
    assert world.list() == [] and world.audit().empty


def test_run_creates_and_starts_within_the_budget(world):
    plan = run_autopilot(world, now=NOW)
    assert plan.executed
    running = world.list("running")
    assert sorted(r.product_id for r in running) == ["fas-0001", "hom-0001", "sho-0001"]
    assert all(r.origin == "autopilot" and r.started_at == NOW for r in running)
    b = world.brief(running[0].experiment_id)
    assert b.policy == "bayesian-promotion" and b.min_sample_size_source == "power"
    assert len(b.variants) == 2 and b.variants[1].meta != b.variants[0].meta
    again = plan_autopilot(world, now=NOW)
    assert steps(again, "create_and_start") == []
    assert again.traffic_in_use == pytest.approx(0.20)
    assert reasons(again, "sho-0001")[0].startswith("already in experiment auto-sho-0001-20260310")


def test_max_concurrent(world, tmp_path, monkeypatch):
    cfg = tmp_path / "workbench.yaml"
    cfg.write_text("lifecycle:\n  autopilot:\n    max_concurrent: 1\n", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    get_settings.cache_clear()
    plan = plan_autopilot(world, now=NOW)
    assert steps(plan, "create_and_start") == [("create_and_start", "fas-0001")]
    assert any("at most 1 experiments may run at once" in s.reason for s in plan.steps)


def test_cooldown_and_schedule(world):
    for eid, pid, days_ago in (("old-1", "sho-0001", 3), ("old-2", "hom-0001", 8)):
        world.create(make_brief(id=eid, targeting={"categories": ["x"], "product_ids": [pid]}), by="t", why="t")
        world.transition(eid, "start", by="t", why="t", effective_at=NOW - dt.timedelta(days=30))
        world.transition(eid, "stop", by="t", why="t", effective_at=NOW - dt.timedelta(days=days_ago))
    world.schedule_next("sho-0002", not_before=NOW + dt.timedelta(days=2), category="shoes",
                        source_experiment_id="old-0", by="t", why="after cooldown")
    world.schedule_next("sho-0003", not_before=NOW - dt.timedelta(hours=1), category="shoes",
                        source_experiment_id="old-9", by="t", why="after cooldown")
    plan = plan_autopilot(world, now=NOW)
    assert reasons(plan, "sho-0001") == ("cooldown: old-1 ended 2026-03-07; eligible from 2026-03-14 12:00",)
    assert reasons(plan, "hom-0001") == ()
    assert reasons(plan, "sho-0002")[0].startswith("next experiment scheduled for 2026-03-12 12:00")
    created = steps(plan, "create_and_start")
    assert created[0] == ("create_and_start", "sho-0003")          # scheduled and due: first in line
    run_autopilot(world, now=NOW)
    assert "sho-0003" not in set(world.schedule()["product_id"])   # the schedule entry was used


def test_registry_review_flag_excludes(world):
    world.flag_review("fas-0001", reason="legal", by="legal", why="claims")
    plan = plan_autopilot(world, now=NOW)
    assert reasons(plan, "fas-0001") == ("flagged for legal review",)
    assert ("create_and_start", "fas-0001") not in steps(plan)


def test_promotion_period_pauses_and_resumes_automatic_experiments(world):
    run_autopilot(world, now=NOW)
    world.create(make_brief(id="manual-1", targeting={"product_ids": ["zzz"]}), by="kim", why="t")
    world.transition("manual-1", "start", by="kim", why="t")
    world.set_switch("promotion_period", "on", by="ops", why="black friday")
    on = run_autopilot(world, now=NOW)
    assert steps(on, "create_and_start") == [] and len(steps(on, "pause")) == 3
    assert {r.origin for r in world.list("hold")} == {"autopilot"}
    assert world.get("manual-1").state == "running"
    world.set_switch("promotion_period", "off", by="ops", why="sale over")
    off = run_autopilot(world, now=NOW)
    assert len(steps(off, "resume")) == 3
    assert len(world.list("running")) == 4


def test_templates_use_the_categorys_winning_tags(world):
    for i, tone in enumerate(("urgent", "urgent", "friendly")):
        eid = f"past-{i}"
        world.create(make_brief(id=eid, targeting={"categories": ["shoes"], "product_ids": [f"old-{i}"]},
                                variants=[{"id": "control", "meta": {"cta_tone": "neutral", "layout": "classic"}},
                                          {"id": "b", "meta": {"cta_tone": tone, "layout": "gallery"}}]),
                     by="t", why="t")
        conclude(world, eid, winner="b" if i < 2 else "control", lift_rel=0.05, by="t", why="done")
    table = pattern_table(world, "shoes")
    top = table[table["tag"] == "cta_tone"].iloc[0]
    assert (top["value"], top["wins"], top["trials"]) == ("urgent", 2, 2)
    assert winning_tags(world, "shoes") == {"cta_tone": "urgent", "layout": "gallery"}
    plan = plan_autopilot(world, now=NOW)
    step = next(s for s in plan.steps if s.product_id == "sho-0001")
    brief_text = step.brief_yaml
    assert "cta_tone: urgent" in brief_text and "layout: gallery" in brief_text
    assert "cta_tone=urgent won 2 of 2 in shoes" in step.reason
    assert sorted(world.schedule()["product_id"]) == ["old-0", "old-1", "old-2"]   # next tests after the cooldown
    nb = pd.Timestamp(world.schedule()["not_before"].iloc[0]).to_pydatetime()
    assert nb == NOW + dt.timedelta(days=7)


def test_missing_tables_are_named(tmp_path):
    reg = Registry(tmp_path / "empty.duckdb", clock=lambda: NOW)
    from workbench.errors import InputError
    with pytest.raises(InputError) as exc:
        plan_autopilot(reg, now=NOW)
    assert {p.column for p in exc.value.problems} == {"catalog", "events"}
