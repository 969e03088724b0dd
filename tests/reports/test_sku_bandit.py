"""The sections only some experiments have: SKUs within their category (hierarchical) and bandit allocation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.reports import load_report, views

from .world import write_sku_bandit_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from workbench.lifecycle import Registry, seed_from_world
    db = write_sku_bandit_world(tmp_path_factory.mktemp("sku-bandit") / "world.duckdb")
    seed_from_world(Registry(db), by="tests")
    return db


def test_skus_are_shrunk_toward_their_category_with_the_hierarchical_fast_path(world):
    from workbench.hierarchical import fit_empirical_bayes
    from workbench.hierarchical.world import load_sku_experiment
    r = load_report("longtail", db=world)
    eb, dropped = r.hierarchical_result
    ref = fit_empirical_bayes(load_sku_experiment("longtail", db=world))     # the bayes area's own loader
    mine, theirs = views.shrinkage_frame(eb), views.shrinkage_frame(ref)
    pd.testing.assert_frame_equal(mine, theirs)
    assert set(mine["category"]) == {"shoes", "beauty"} and len(mine) == 16 - len(dropped)
    # shrinkage: a shrunk lift sits closer to its category's pooled lift than the raw lift does (most SKUs)
    ok = mine[np.isfinite(mine["raw_lift_rel"])]
    closer = (ok["lift_rel"] - ok["category_lift_rel"]).abs() <= (ok["raw_lift_rel"] - ok["category_lift_rel"]).abs()
    assert closer.mean() > 0.8
    html = str(r.hierarchical())
    assert "SKUs most likely to gain" in html and "equal-tailed" in html and "beauty" in html


def test_single_sku_experiment_says_the_view_does_not_apply(world):
    assert "runs on one SKU (hom-0002 in home)" in str(load_report("home-bandit", db=world).hierarchical())


def test_bandit_section_shows_planned_vs_realised_and_the_logged_decision(world):
    r = load_report("home-bandit", db=world)
    frame = views.allocation_frame(r.data, r.inputs.planned_allocation)
    last_day = frame[frame["day"] == frame["day"].max()].set_index("variant")
    assert last_day["planned_weight"].sum() == pytest.approx(1.0)
    assert last_day.loc["minimal", "realised_share"] == pytest.approx(last_day.loc["minimal", "planned_weight"], abs=0.08)
    html = str(r.bandit())
    assert "Allocation decisions logged by the bandit" in html and "P(best)" in html
    assert r.inputs.bandit_log is not None and set(r.inputs.bandit_log["variant"]) == {"control", "cozy", "minimal"}
    assert "SRM is not tested for a bandit" in str(r.trust())
    assert "Fixed allocation" in str(load_report("longtail", db=world).bandit())


def test_as_of_hides_the_later_decisions(world):
    import datetime as dt
    r = load_report("home-bandit", db=world, as_of="2026-11-12T12:00")
    h = r.inputs.allocation
    assert h.current_at == dt.datetime(2026, 11, 12) and h.n_decisions == 7          # one a day from 11-06
    assert (r.inputs.bandit_log["created_at"] <= dt.datetime(2026, 11, 12, 12)).all()
    planned = r.inputs.planned_allocation
    last = planned[planned["day"] == planned["day"].max()]
    assert dict(zip(last["variant"], last["weight"])) == h.current
    assert r.summary()["allocation"]["current"] == h.current
    early = load_report("home-bandit", db=world, as_of="2026-11-05T12:00")    # before the first decision
    assert early.inputs.allocation.empty and "No allocation decision is logged" in str(early.bandit())
