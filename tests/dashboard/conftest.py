"""Fixtures of the dashboard tests: sample worlds with their registry, and refreshed data services.

``seeded_world`` is the full small world (13 experiments) for what the portfolio shows;
``mini_world`` has three of them (a healthy A/B test, the bandit and a revenue-primary test) so
the tests that re-run the analysis stay fast.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from workbench.dashboard.auth import Identity
from workbench.dashboard.service import DashboardService
from workbench.lifecycle import Registry, seed_from_world

OPERATOR = Identity("ops", "operator", "password")
VIEWER = Identity("lee", "viewer", "password")
MINI = ("pdp-shoes-hero", "pdp-home-bandit", "reco-model-v2")


def write_mini_world(path: Path, experiments: tuple[str, ...] = MINI, *, seed: int = 5, scale: float = 0.02) -> Path:
    """A world with only some of the demo experiments, registered and running."""
    from workbench.simulate.specs import DEMO_EXPERIMENTS
    from workbench.simulate.writer import write_world
    write_world(path, seed=seed, scale=scale,
                experiments=tuple(s for s in DEMO_EXPERIMENTS if s.experiment_id in experiments))
    seed_from_world(Registry(path), by="demo")
    return path


@pytest.fixture(scope="session")
def seeded_world(small_world, tmp_path_factory) -> Path:
    """The small world (13 experiments) registered and running, written once per session."""
    db = tmp_path_factory.mktemp("dash-world") / "world.duckdb"
    shutil.copy(small_world["db"], db)
    seed_from_world(Registry(db), by="demo")
    return db


@pytest.fixture(scope="session")
def shared_service(seeded_world, tmp_path_factory) -> DashboardService:
    """A refreshed service on a private copy of the 13-experiment world, for tests that only read."""
    root = tmp_path_factory.mktemp("dash-shared")
    db = root / "world.duckdb"
    shutil.copy(seeded_world, db)
    svc = DashboardService(db, reports=root / "reports")
    svc.refresh(warm=False)
    return svc


@pytest.fixture(scope="session")
def mini_world(tmp_path_factory) -> Path:
    return write_mini_world(tmp_path_factory.mktemp("dash-mini") / "mini.duckdb")


@pytest.fixture(scope="session")
def mini_snapshot(mini_world, tmp_path_factory):
    """The mini world's analysed snapshot, computed once."""
    db = tmp_path_factory.mktemp("dash-mini-shared") / "mini.duckdb"
    shutil.copy(mini_world, db)
    svc = DashboardService(db)
    return svc.refresh(warm=False)


@pytest.fixture
def world_db(mini_world, tmp_path) -> Path:
    """A fresh copy of the mini world for a test that changes it."""
    db = tmp_path / "mini.duckdb"
    shutil.copy(mini_world, db)
    return db


@pytest.fixture
def service(world_db, tmp_path, mini_snapshot) -> DashboardService:
    """A service on a fresh copy; the analysis is the shared one (same data), the registry its own."""
    svc = DashboardService(world_db, reports=tmp_path / "reports")
    svc.publish(replace(mini_snapshot, registry=svc.registry_view(), key=svc.source_key()))
    svc.reanalyse_after_action = False     # keep tests fast; test_service checks the re-analysis itself
    return svc
