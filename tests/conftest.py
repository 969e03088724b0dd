"""Shared fixtures. Tests never touch the user's data/ or reports/: they work under tmp_path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent

# Property tests are deterministic by default (the same examples on every run and machine, no example
# database carried between runs), so CI cannot fail on a draw a developer never saw; a failure prints
# its reproduction blob. HYPOTHESIS_PROFILE=explore draws fresh random examples to hunt for new cases.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Run in parallel (`make test` passes `-n N`, pytest-xdist), tests are handed out in groups that each run
# in one worker process: by default a test file, so a module's fixtures are built once; the browser tests,
# the report tests and the Spark tests as one group each, so the session fixtures they share (the served
# dashboard, the built reports, the SparkSession) are built once too, not once per worker. The longest
# groups start first, so no worker is left with a long group at the end while the other idles.
_SHARED_GROUPS = {"tests/ui/": "ui", "tests/reports/": "reports", "tests/spark/": "spark"}
_LONGEST_FIRST = ("ui", "tests/test_one_story.py", "reports", "spark", "tests/notebooks/test_notebooks.py",
                  "tests/notebooks/test_bayes_notebooks.py", "tests/test_db_spill.py")


def test_group(nodeid: str) -> str:
    """The group of a test (its file, or a shared group), from its node id."""
    path = nodeid.split("::", 1)[0]
    return next((name for prefix, name in _SHARED_GROUPS.items() if path.startswith(prefix)), path)


test_group.__test__ = False                     # type: ignore[attr-defined]  (not a test itself)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return test_group(nodeid)

    config.option.loadscopereorder = False      # keep the order below, longest groups first
    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):      # a serial run keeps pytest's own order
        return
    rank = {group: i for i, group in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(test_group(item.nodeid), len(rank)))     # stable: same order in every worker


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the workbench's database and report paths at a temporary directory for every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("WORKBENCH_DB", str(home / "workbench.duckdb"))
    monkeypatch.setenv("WORKBENCH_REPORTS", str(home / "reports"))
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    from workbench.config import get_settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory):
    """A small sample world (about 35k events) written once per test session to DuckDB and Parquet."""
    from workbench.simulate.writer import write_world

    root = tmp_path_factory.mktemp("world")
    db = root / "world.duckdb"
    write_world(db, seed=11, scale=0.02)
    write_world(root / "parquet", seed=11, scale=0.02)
    return {"db": db, "parquet": root / "parquet", "root": root}


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's Chromium driven by Playwright, one per session (Playwright's sync API runs once per process):
    skipped when ``/usr/bin/chromium`` is missing, except in CI (``WORKBENCH_REQUIRE_BROWSER=1``)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        message = f"{chromium} is missing (Debian package chromium; .ci/run installs it)"
        if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def spark():
    """The one local SparkSession of the whole test run (``local[2]``, the workbench's own settings),
    shared by tests/spark and every other `spark`-marked test."""
    pytest.importorskip("pyspark", reason="pyspark is the `spark` extra (make test installs it)")
    from workbench import engine
    from workbench.config import Settings

    session = engine.spark_session(Settings().engine.spark.master)
    yield session
    session.stop()
    engine._SPARK.clear()
