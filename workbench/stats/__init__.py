"""Pure, vectorised statistics over sufficient statistics (arms on the last axis, control first)."""

from .power import MDEResult, SampleSize, mde, power_at, sample_size
from .sufficient import RatioStats, SufficientStats

__all__ = ["SufficientStats", "RatioStats", "SampleSize", "MDEResult", "sample_size", "mde", "power_at"]
