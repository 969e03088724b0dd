"""Fixtures of the operations tests: a two-experiment sample world (the ML canary and a PDP test),
registered, written once per session; each test works on its own copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

IDS = ("ml-ranker-canary", "pdp-shoes-hero")


@pytest.fixture(scope="session")
def seeded_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The canary and the shoes PDP test of the sample world (seed 11, 2 % traffic), registered as running."""
    from workbench.lifecycle import Registry, seed_from_world
    from workbench.simulate.specs import DEMO_EXPERIMENTS
    from workbench.simulate.writer import write_world
    db = tmp_path_factory.mktemp("ops-world") / "world.duckdb"
    write_world(db, seed=11, scale=0.02, experiments=tuple(s for s in DEMO_EXPERIMENTS if s.experiment_id in IDS))
    seed_from_world(Registry(db), by="tests")
    return db


@pytest.fixture
def world_copy(seeded_world: Path, tmp_path: Path) -> Path:
    """A private copy of the registered world, for tests that change it."""
    db = tmp_path / "data" / "world.duckdb"
    db.parent.mkdir()
    shutil.copy(seeded_world, db)
    return db


@pytest.fixture
def http_receiver():
    from .receivers import HttpReceiver
    r = HttpReceiver()
    yield r
    r.close()


@pytest.fixture
def smtp_receiver():
    pytest.importorskip("aiosmtpd")
    from .receivers import SmtpReceiver
    r = SmtpReceiver()
    yield r
    r.close()
