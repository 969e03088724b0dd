"""Fixtures of the report tests: a tiny world with known outcomes, and one report run shared by the session.

The session run builds three reports with two workers (real papermill, nbconvert and Chromium when
installed); tests that change things work on copies so they never disturb it.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from .world import write_report_world

IDS = ("pdp-shoes-hero", "pdp-beauty-srm", "hostile-names")
CLI = "import sys; from workbench.cli import main; sys.argv[0] = 'workbench'; main()"
"""``python -c CLI args...`` runs the ``workbench`` command in a child process."""


def decision_counts(db: Path) -> dict[str, int]:
    """How many decisions the registry holds for each of the reports' experiments."""
    from workbench.lifecycle import Registry
    return {e: len(Registry(db).decisions(e)) for e in IDS}


def summary_times(out: Path) -> dict[str, int]:
    """When each report's summary.json was last written (ns): a later call differs for the reports rebuilt since."""
    return {e: (out / e / "summary.json").stat().st_mtime_ns for e in IDS}


def ctrl_c_as_in_a_terminal() -> None:
    """In a child before it starts (``preexec_fn``): SIGINT back to its default (pytest-xdist's workers ignore it,
    and an ignored signal stays ignored across exec, so Python would not turn Ctrl-C into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def report_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.lifecycle import Registry, seed_from_world
    db = write_report_world(tmp_path_factory.mktemp("report-world") / "world.duckdb")
    seed_from_world(Registry(db), by="tests")
    return db


@pytest.fixture(scope="session")
def built(report_world: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The three reports, built once for the session."""
    from workbench.reports import run_reports
    out = tmp_path_factory.mktemp("reports")
    events: list[tuple[str, dict]] = []
    run = run_reports(list(IDS), db=report_world, out=out, workers=2, progress=lambda e, i: events.append((e, i)))
    return SimpleNamespace(run=run, out=out, db=report_world, events=events)


@pytest.fixture()
def copy_of(built: SimpleNamespace, tmp_path: Path) -> SimpleNamespace:
    """A private copy of the session's database and reports directory, for tests that change them."""
    db = tmp_path / "world.duckdb"
    shutil.copy(built.db, db)
    out = tmp_path / "reports"
    shutil.copytree(built.out, out, ignore=shutil.ignore_patterns(".report.lock*"))
    return SimpleNamespace(db=db, out=out)


@pytest.fixture()
def db(report_world: Path, tmp_path: Path) -> Path:
    """A copy of the report world that a test may change."""
    p = tmp_path / "w.duckdb"
    shutil.copy(report_world, p)
    return p
