"""Experiment Workbench: plan, check, analyse, decide and report online A/B experiments and bandits.

The pipeline is source -> validate -> aggregate -> analyse -> decide -> present (see DESIGN.md).
Analysis functions are pure NumPy over sufficient statistics (:mod:`workbench.stats`).
"""

from .errors import InputError, Problem, WorkbenchError
from .experiment_data import ExperimentData, TrustFacts
from .metrics import CATALOG, Metric
from .stats.sufficient import RatioStats, SufficientStats

__version__ = "0.1.0"
__all__ = ["ExperimentData", "TrustFacts", "Metric", "CATALOG", "SufficientStats", "RatioStats",
           "Problem", "InputError", "WorkbenchError", "__version__"]
