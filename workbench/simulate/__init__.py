"""The synthetic experiment world (seeded, deterministic) with its truth beside it."""

from .specs import DEMO_EXPERIMENTS, ExperimentSpec, Funnel
from .world import World, generate_world

__all__ = ["World", "generate_world", "DEMO_EXPERIMENTS", "ExperimentSpec", "Funnel"]
