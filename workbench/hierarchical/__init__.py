"""Hierarchical Bayesian models for many thin SKUs in categories (cold start), and the fast path.

- :func:`fit_hierarchical`: the PyMC model (logit scale, SKUs in categories under a global level,
  lift pooled on log-odds), sampled with NUTS; per-SKU shrunken rates and lifts, per-category
  priors for a brand-new SKU, ArviZ diagnostics with warnings.
- :func:`fit_empirical_bayes`: category Beta priors + conjugate updates + normal–normal lift
  pooling, in milliseconds; :func:`category_beta_priors` feeds Thompson sampling's cold start.
- :func:`fit_independent`: no pooling, the baseline.

Input: a tidy frame ``sku, category, variant, n, conversions`` or per-SKU ``ExperimentData``.
"""

from __future__ import annotations

from ..lazy import lazy_exports


# Names are imported from their modules on first use (PEP 562), so importing one module of this
# package does not import all of them (see the README's Layout: heavy imports are lazy).
_EXPORTS = {
    "SkuData": "data", "sku_data_from_experiments": "data", "sku_data_from_frame": "data",
    "compare_to_truth": "evaluation", "merge_truth": "evaluation", "category_beta_priors": "empirical_bayes",
    "fit_empirical_bayes": "empirical_bayes", "fit_independent": "empirical_bayes", "fit_hierarchical": "fit",
    "CategoryPrior": "results", "Diagnostics": "results", "HierarchicalResult": "results", "SkuLift": "results",
    "PARAMETERISATIONS": "spec", "Priors": "spec", "SkuWorld": "synthetic", "simulate_sku_world": "synthetic",
}

__all__ = ["SkuData", "sku_data_from_frame", "sku_data_from_experiments", "fit_hierarchical", "fit_empirical_bayes",
           "fit_independent", "category_beta_priors", "HierarchicalResult", "SkuLift", "CategoryPrior", "Diagnostics",
           "Priors", "PARAMETERISATIONS", "SkuWorld", "simulate_sku_world", "compare_to_truth", "merge_truth"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
