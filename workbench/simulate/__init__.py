"""The synthetic experiment world (seeded, deterministic) with its truth beside it."""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported from their modules on first use (PEP 562), so importing one module of this
# package does not import all of them (see the README's Layout: heavy imports are lazy).
_EXPORTS = {
    "DEMO_EXPERIMENTS": "specs", "ExperimentSpec": "specs", "Funnel": "specs", "World": "world",
    "generate_world": "world",
}

__all__ = ["World", "generate_world", "DEMO_EXPERIMENTS", "ExperimentSpec", "Funnel"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
