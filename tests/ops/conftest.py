"""Fixtures of the operations tests: a registered copy of the small sample world per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def seeded_world(small_world, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's small world with its experiments registered (running), written once."""
    from workbench.lifecycle import Registry, seed_from_world
    db = tmp_path_factory.mktemp("ops-world") / "world.duckdb"
    shutil.copy(small_world["db"], db)
    seed_from_world(Registry(db), by="tests")
    return db


@pytest.fixture
def world_copy(seeded_world: Path, tmp_path: Path) -> Path:
    """A private copy of the registered small world, for tests that change it."""
    db = tmp_path / "data" / "world.duckdb"
    db.parent.mkdir()
    shutil.copy(seeded_world, db)
    return db
