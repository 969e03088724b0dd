"""`workbench simulate` over an existing world: refused without --force; with it, a fresh file swapped in at
once (registry kept, size of a fresh world); a failure or a kill half-way leaves the old file intact."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cli_runner import run_workbench
from workbench.errors import ConflictError
from workbench.lifecycle import Registry, seed_from_world
from workbench.simulate.writer import write_world

SCALE = 0.01


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def seed_of(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT seed FROM world_info").fetchone()[0]


def leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


@pytest.fixture
def world(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    write_world(db, seed=1, scale=SCALE)
    seed_from_world(Registry(db), by="kim")
    return db


def test_existing_world_is_refused_without_force_and_left_untouched(world):
    before = md5(world)
    with pytest.raises(ConflictError, match=r"w.duckdb already exists .*pass --force"):
        write_world(world, seed=7, scale=SCALE)
    r = run_workbench("simulate", "--out", str(world), "--seed", "7", "--scale", str(SCALE))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [f"error: {world} already exists (the dashboard and reports may be reading it); "
                                     "pass --force to replace its world with a fresh one (the registry and audit "
                                     "log are kept)"]
    assert md5(world) == before and leftovers(world) == []


def test_parquet_directory_is_refused_too(tmp_path):
    write_world(tmp_path / "pq", seed=1, scale=SCALE)
    with pytest.raises(ConflictError, match="pass --force"):
        write_world(tmp_path / "pq", seed=2, scale=SCALE)
    assert write_world(tmp_path / "pq", seed=2, scale=SCALE, force=True).replaced


def test_force_swaps_in_a_fresh_world_and_keeps_the_registry(world):
    reg = Registry(world)
    states = {r.experiment_id: r.state for r in reg.list()}
    audit_rows = len(reg.audit())
    r = run_workbench("simulate", "--out", str(world), "--seed", "7", "--scale", str(SCALE), "--force")
    assert r.returncode == 0, r.stderr
    assert "replaced the previous world (registry and audit log kept)" in " ".join(r.stdout.split())
    assert seed_of(world) == 7 and leftovers(world) == []
    reg = Registry(world)
    audit = reg.audit()
    assert len(audit) == audit_rows + 1 and audit_rows > 0 and reg.verify_audit().ok
    assert audit.iloc[-1]["action"] == "replace_world" and '"previous_seed":1' in audit.iloc[-1]["detail"].replace(" ", "")
    assert {r.experiment_id: r.state for r in reg.list()} == states and len(states) == 13
    with duckdb.connect(str(world), read_only=True) as con:      # constraints came along with the tables
        pks = {r[0] for r in con.execute("SELECT table_name FROM duckdb_constraints() "
                                         "WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
    assert {"experiments", "audit_log", "decisions"} <= pks


def test_replacing_again_and_again_keeps_the_size_of_a_fresh_world(world, tmp_path):
    fresh = tmp_path / "fresh.duckdb"
    write_world(fresh, seed=7, scale=SCALE)
    seed_from_world(Registry(fresh), by="kim")
    sizes = []
    for _ in range(3):
        write_world(world, seed=7, scale=SCALE, force=True)
        sizes.append(world.stat().st_size)
    # DuckDB's block layout varies by a block or two between runs; writing in place used to add a whole world.
    assert all(size <= fresh.stat().st_size * 1.15 for size in sizes), (sizes, fresh.stat().st_size)


def test_a_failure_half_way_leaves_the_old_world_intact(world, monkeypatch):
    from workbench.simulate import writer

    before = md5(world)
    real = writer.WorldBuilder.events

    def events_then_fail(self):
        for i, part in enumerate(real(self)):
            if i == 3:
                raise OSError("disk full")
            yield part

    monkeypatch.setattr(writer.WorldBuilder, "events", events_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_world(world, seed=7, scale=SCALE, force=True)
    assert md5(world) == before and seed_of(world) == 1 and leftovers(world) == []


KILLER = """
import os, signal, sys
from workbench.simulate.writer import write_world
seen = []
def progress(e):
    seen.append(e)
    if len(seen) == 4:
        print("killing", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
write_world(sys.argv[1], seed=7, scale=float(sys.argv[2]), force=True, progress=progress)
"""


def test_a_kill_half_way_leaves_the_old_world_intact_and_the_next_run_cleans_up(world):
    before = md5(world)
    r = subprocess.run([sys.executable, "-c", KILLER, str(world), str(SCALE)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=300)
    assert r.returncode == -signal.SIGKILL and "killing" in r.stdout, r.stderr
    assert md5(world) == before and seed_of(world) == 1
    assert [n for n in leftovers(world) if n.endswith(".tmp")]       # the killed run's half file, not the world
    write_world(world, seed=7, scale=SCALE, force=True)
    assert seed_of(world) == 7 and leftovers(world) == []


def test_demo_keeps_an_existing_world_and_replaces_it_only_with_fresh(monkeypatch):
    from rich.console import Console

    from workbench import demo
    from workbench.config import Paths

    calls = []

    def small(db, *, seed, force=False):
        calls.append(force)
        return write_world(db, seed=seed, scale=SCALE, force=force)

    monkeypatch.setattr(demo, "write_world", small)
    paths, console = Paths.default(), Console(record=True, width=200)
    demo._generate(paths, fresh=False, seed=1, console=console)
    seed_from_world(Registry(paths.db), by="demo")
    demo._generate(paths, fresh=False, seed=2, console=console)
    assert seed_of(paths.db) == 1 and "already in" in console.export_text()
    demo._generate(paths, fresh=True, seed=2, console=console)
    assert seed_of(paths.db) == 2 and len(Registry(paths.db).list()) == 13 and leftovers(paths.db) == []
    assert len(calls) == 2 and calls[-1] is True
