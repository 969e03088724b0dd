"""Spark tests: PySpark in local mode for real (no mocks), one SparkSession for the whole test run.

Marked ``spark`` (select them with ``-m spark``). A small sample world — three experiments — is written once
as a hive-partitioned Parquet lake and read by both engines.
"""

from __future__ import annotations

import pytest

EXPERIMENTS = ("pdp-shoes-hero", "pdp-electronics-cta", "pdp-beauty-srm")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/spark/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory):
    """The small world as a lake (``simulate --format parquet`` layout), written once."""
    from workbench.simulate.specs import DEMO_EXPERIMENTS
    from workbench.simulate.writer import write_world

    root = tmp_path_factory.mktemp("lake") / "lake"
    specs = tuple(s for s in DEMO_EXPERIMENTS if s.experiment_id in EXPERIMENTS)
    write_world(root, seed=5, scale=0.04, experiments=specs, layout="lake")
    return root
