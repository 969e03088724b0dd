"""The cube carries the covariate cross-products the balance check and the adjustment need (checked in SQL)."""

from __future__ import annotations

import duckdb
import pytest

from workbench.aggregate import aggregate_cube
from workbench.analysis import analyze
from workbench.db import connect
from workbench.sources.events import open_event_log
from workbench.sources.experiments import load_experiment

COVS = ("pre_purchases", "pre_revenue", "pre_sessions")


def test_cross_products_match_sql_over_the_units(small_world):
    with connect(small_world["db"], read_only=True) as con:
        cube = aggregate_cube(open_event_log(con, "events"))
    con = duckdb.connect(str(small_world["db"]), read_only=True)
    ref = con.execute("""
        with u as (select experiment_id, user_key,
                          sum(case when event = 'purchase' then price * quantity else 0 end) as revenue
                   from events group by 1, 2)
        select sum(coalesce(p.pre_purchases, 0) * coalesce(p.pre_revenue, 0)),
               sum(coalesce(p.pre_sessions, 0) * coalesce(p.pre_revenue, 0)),
               sum(u.revenue * coalesce(p.pre_sessions, 0))
        from u left join pre_period p using (user_key)""").fetchone()
    con.close()
    got = (cube["pre_purchases__x__pre_revenue"].sum(), cube["pre_revenue__x__pre_sessions"].sum(),
           cube["pre_sessions__x__revenue"].sum())
    assert got == pytest.approx(ref, rel=1e-9)


def test_event_log_experiment_gets_balance_and_adjustment(small_world):
    r = analyze(load_experiment("pdp-shoes-hero", db=small_world["db"]))
    assert r.health.balance.covariates == COVS and r.health.segment_srm.dims == ("device", "channel", "user_type")
    a = r.primary.adjustment
    assert a.applied and a.covariates == COVS and a.strata == ("device", "channel", "user_type")
