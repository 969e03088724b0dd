"""What every implementation of the hierarchical model shares: priors, parameterisations, traced names.

Kept free of PyMC so the compiled log density (:mod:`.compiled_density`) and the empirical-Bayes
fast path load without importing PyMC.

>>> Priors().sigma_delta_sd, CHOICES
(0.25, ('centred', 'noncentred', 'mixed', 'adaptive', 'auto'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Priors", "Parameterisation", "PARAMETERISATIONS", "CHOICES", "TRACE_VARS", "AUTO_CENTRE_INFORMATION",
           "resolve_parameterisation"]

Parameterisation = Literal["centred", "noncentred", "mixed"]
PARAMETERISATIONS: tuple[str, ...] = ("centred", "noncentred", "mixed")
#: "adaptive": every baseline and category effect partially centred on its own data (compiled density
#: only); "auto" = "adaptive" with the compiled sampler, else "mixed" or "noncentred" by the data.
CHOICES: tuple[str, ...] = PARAMETERISATIONS + ("adaptive", "auto")
#: median Fisher information n·p·(1 − p) of the control arms above which "auto" centres the baselines
AUTO_CENTRE_INFORMATION = 10.0
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


def resolve_parameterisation(choice: str, control_n: "object", control_y: "object", *, compiled: bool = False) -> str:
    """The parameterisation "auto" stands for, given the control arms' units and conversions.

    With the compiled density (``compiled=True``, the default sampler) "auto" is "adaptive": each
    SKU's baseline, each category's baseline and lift, and each SKU's lift sits in coordinates
    centred on its own data in proportion to how much the data say (partial non-centring,
    Papaspiliopoulos, Roberts & Sköld 2007), so one catalogue can hold SKUs with 20 units and SKUs
    with 3,000 without a funnel either way. The rule below is for the PyMC-graph samplers, which
    have only the whole-model forms.

    When a typical SKU's own data pin its baseline rate (median n·p·(1 − p) of the control arms at
    least :data:`AUTO_CENTRE_INFORMATION`, p the pooled rate), the baselines are centred and the
    lifts non-centred ("mixed"); with thinner data everything is non-centred ("noncentred"), which
    avoids the funnel a centred baseline has when its data are weak. Measured in
    ``benchmarks/hierarchical.py`` (all three forms on the benchmark world) and on the sample
    world's long-tail experiment (about 25 units per arm: "mixed" diverges, "noncentred" does not).

    >>> import numpy as np
    >>> resolve_parameterisation("auto", np.full(10, 600.0), np.full(10, 24.0))
    'mixed'
    >>> resolve_parameterisation("auto", np.full(10, 25.0), np.full(10, 2.0))
    'noncentred'
    """
    import numpy as np

    if choice != "auto":
        return choice
    if compiled:
        return "adaptive"
    n = np.asarray(control_n, dtype=float)
    y = np.asarray(control_y, dtype=float)
    p = (y.sum() + 0.5) / (n.sum() + 1.0)
    return "mixed" if float(np.median(n)) * p * (1 - p) >= AUTO_CENTRE_INFORMATION else "noncentred"
