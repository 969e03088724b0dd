"""Pure, vectorised statistics over sufficient statistics (arms on the last axis, control first).

Modules: :mod:`.frequentist` (Welch / z / Fisher + Newcombe, one-sided and non-inferiority),
:mod:`.ratio` (delta method), :mod:`.cuped`, :mod:`.bayes` (Beta–Binomial and normal–normal),
:mod:`.sequential` (always-valid confidence sequences), :mod:`.multiplicity` (Holm, BH),
:mod:`.power` (sample size, MDE, duration), :mod:`.srm`, :mod:`.segments` and :mod:`.compare`
(one entry point for a metric of any kind). Each has NumPy ``*_core`` functions for batches and
validated wrappers that return result objects.
"""

from .bayes import BetaBinomialResult, NormalLiftResult, beta_binomial, normal_lift, prob_best_beta, prob_best_normal
from .compare import compare_arrays
from .frequentist import ComparisonTable, compare, non_inferiority
from .multiplicity import AdjustedPValues, adjust
from .power import MDEResult, SampleSize, mde, power_at, sample_size
from .ratio import compare_ratio
from .sequential import SequentialResult, confidence_sequence
from .srm import srm_test
from .sufficient import RatioStats, SufficientStats

__all__ = ["SufficientStats", "RatioStats", "SampleSize", "MDEResult", "sample_size", "mde", "power_at",
           "ComparisonTable", "compare", "non_inferiority", "compare_ratio", "compare_arrays", "BetaBinomialResult",
           "NormalLiftResult", "beta_binomial", "normal_lift", "prob_best_beta", "prob_best_normal",
           "SequentialResult", "confidence_sequence", "AdjustedPValues", "adjust", "srm_test"]
