"""Shared fixtures of the metric-definition tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from workbench import metric_defs
from workbench.metric_defs import definitions_from_mapping, use


@pytest.fixture()
def defs(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The test module's ``DEFS`` mapping in force during the test, and no definitions left active after it."""
    d = definitions_from_mapping(request.module.DEFS, source="team.yaml")
    with use(d):
        yield d
    assert not metric_defs._ACTIVE
