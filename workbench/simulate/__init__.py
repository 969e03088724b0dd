"""The synthetic experiment world (seeded, deterministic) with its truth beside it."""

from __future__ import annotations

from ..lazy import lazy_exports


# Names are imported from their modules on first use (PEP 562), so importing one module of this
# package does not import all of them (see the README's Layout: heavy imports are lazy).
_EXPORTS = {
    "DEMO_EXPERIMENTS": "specs", "ExperimentSpec": "specs", "Funnel": "specs", "World": "world",
    "generate_world": "world",
}

__all__ = ["World", "generate_world", "DEMO_EXPERIMENTS", "ExperimentSpec", "Funnel"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
