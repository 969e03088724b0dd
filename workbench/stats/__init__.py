"""Pure, vectorised statistics over sufficient statistics (arms on the last axis, control first)."""

from .sufficient import RatioStats, SufficientStats

__all__ = ["SufficientStats", "RatioStats"]
