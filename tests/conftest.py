"""Shared fixtures. Tests never touch the user's data/ or reports/: they work under tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the workbench's database and report paths at a temporary directory for every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("WORKBENCH_DB", str(home / "workbench.duckdb"))
    monkeypatch.setenv("WORKBENCH_REPORTS", str(home / "reports"))
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    from workbench.config import get_settings
    get_settings.cache_clear()
