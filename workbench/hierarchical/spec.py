"""What every implementation of the hierarchical model shares: priors, parameterisations, traced names.

Kept free of PyMC so the compiled log density (:mod:`.compiled_density`) and the empirical-Bayes
fast path load without importing PyMC.

>>> Priors().sigma_delta_sd, PARAMETERISATIONS
(0.25, ('centred', 'noncentred', 'mixed'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Priors", "Parameterisation", "PARAMETERISATIONS", "TRACE_VARS"]

Parameterisation = Literal["centred", "noncentred", "mixed"]
PARAMETERISATIONS: tuple[str, ...] = ("centred", "noncentred", "mixed")
TRACE_VARS: tuple[str, ...] = ("alpha", "delta", "alpha_cat", "delta_cat", "mu_alpha", "tau_alpha", "sigma_alpha",
                               "mu_delta", "tau_delta", "sigma_delta")


@dataclass(frozen=True)
class Priors:
    """Scales of the weakly informative priors (logit scale); see :mod:`.model`."""

    mu_alpha_sd: float = 1.5
    tau_alpha_sd: float = 1.0
    sigma_alpha_sd: float = 1.0
    mu_delta_sd: float = 0.5
    tau_delta_sd: float = 0.25
    sigma_delta_sd: float = 0.25
