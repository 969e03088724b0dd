"""Quantile sufficient statistics on PySpark equal DuckDB's (the same Ibis expression on both engines)."""

from __future__ import annotations

import ibis
import pandas as pd

from stats.test_quantile import _events
from workbench.quantiles import quantile_sufficient_stats


def test_ibis_on_pyspark_equals_duckdb(spark) -> None:
    ev = _events().iloc[:400].dropna(subset=["arm"])
    spark.createDataFrame(ev).createOrReplaceTempView("quantile_events")
    con = ibis.pyspark.connect(spark)
    kw = dict(value="lcp", unit="user", arm="arm", by=["experiment"], probs=[0.5, 0.9])
    got = quantile_sufficient_stats(con.table("quantile_events"), **kw).rows
    want = quantile_sufficient_stats(ibis.memtable(ev), **kw).rows
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)
