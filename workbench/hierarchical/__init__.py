"""Hierarchical Bayesian models for many thin SKUs in categories (cold start), and the fast path.

- :func:`fit_hierarchical`: the PyMC model (logit scale, SKUs in categories under a global level,
  lift pooled on log-odds), sampled with NUTS; per-SKU shrunken rates and lifts, per-category
  priors for a brand-new SKU, ArviZ diagnostics with warnings.
- :func:`fit_empirical_bayes`: category Beta priors + conjugate updates + normal–normal lift
  pooling, in milliseconds; :func:`category_beta_priors` feeds Thompson sampling's cold start.
- :func:`fit_independent`: no pooling, the baseline.

Input: a tidy frame ``sku, category, variant, n, conversions`` or per-SKU ``ExperimentData``.
"""

from .data import SkuData, sku_data_from_experiments, sku_data_from_frame
from .evaluation import compare_to_truth, merge_truth
from .empirical_bayes import category_beta_priors, fit_empirical_bayes, fit_independent
from .fit import fit_hierarchical
from .results import CategoryPrior, Diagnostics, HierarchicalResult, SkuLift
from .spec import PARAMETERISATIONS, Priors
from .synthetic import SkuWorld, simulate_sku_world

__all__ = ["SkuData", "sku_data_from_frame", "sku_data_from_experiments", "fit_hierarchical", "fit_empirical_bayes",
           "fit_independent", "category_beta_priors", "HierarchicalResult", "SkuLift", "CategoryPrior", "Diagnostics",
           "Priors", "PARAMETERISATIONS", "SkuWorld", "simulate_sku_world", "compare_to_truth", "merge_truth"]
