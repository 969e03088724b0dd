"""Fixtures of the lifecycle tests: a registry in a temporary file with a clock the test controls."""

from __future__ import annotations

from typing import Iterator

import pytest

from workbench.lifecycle.registry import Registry

from .builders import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(tmp_path, clock) -> Iterator[Registry]:
    """A registry in a temporary file, used within one session (one connection) for speed."""
    r = Registry(tmp_path / "wb.duckdb", clock=clock, lock_timeout=5)
    with r.session():
        yield r


@pytest.fixture
def loose_reg(tmp_path, clock) -> Registry:
    """A registry that opens and closes the file on every call (how separate processes share it)."""
    return Registry(tmp_path / "wb.duckdb", clock=clock, lock_timeout=5)
