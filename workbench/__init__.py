"""Experiment Workbench: plan, check, analyse, decide and report online A/B experiments and bandits.

The pipeline is source -> validate -> aggregate -> analyse -> decide -> present (see DESIGN.md).
Analysis functions are pure NumPy over sufficient statistics (:mod:`workbench.stats`).

The names below are imported on first use (PEP 562), so ``import workbench`` (and the CLI's
``--help``) does not pull in pandas or SciPy.
"""

from __future__ import annotations

from .lazy import lazy_exports

__version__ = "0.1.0"

_LAZY = {
    "ExperimentData": "experiment_data", "TrustFacts": "experiment_data",
    "Metric": "metrics", "CATALOG": "metrics",
    "SufficientStats": "stats.sufficient", "RatioStats": "stats.sufficient",
    "Problem": "errors", "InputError": "errors", "WorkbenchError": "errors",
}
__all__ = [*_LAZY, "__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
