"""Posterior densities on one common grid, for charts of several posteriors side by side."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["beta_density_grid", "normal_density_grid"]


def _density_grid(dist: Any, params: tuple[NDArray[np.float64], ...], names: Sequence[str], points: int,
                  tail: float) -> pd.DataFrame:
    """Densities of ``dist(*params_i)`` on one grid from the lowest ``tail`` to the highest ``1 − tail`` quantile."""
    x = np.linspace(float(np.min(dist.ppf(tail, *params))), float(np.max(dist.ppf(1 - tail, *params))), points)
    return pd.concat([pd.DataFrame({"x": x, "name": n, "density": dist.pdf(x, *(p[i] for p in params))})
                      for i, n in enumerate(names)], ignore_index=True)


def beta_density_grid(a: ArrayLike, b: ArrayLike, names: Sequence[str], *, points: int = 240,
                      tail: float = 1e-4) -> pd.DataFrame:
    """Each Beta(a_i, b_i) density on one common grid spanning all of them (``x``, ``name``, ``density``),
    from the ``tail`` quantile of the lowest to the ``1 − tail`` quantile of the highest — for charts of
    posteriors side by side.

    >>> d = beta_density_grid([21, 31], [481, 471], ["a", "b"], points=50)
    >>> sorted(d.name.unique()), len(d), bool(d.density.max() > 0)
    (['a', 'b'], 100, True)
    """
    from scipy.stats import beta

    return _density_grid(beta, (np.asarray(a, dtype=float), np.asarray(b, dtype=float)), names, points, tail)


def normal_density_grid(mean: ArrayLike, sd: ArrayLike, names: Sequence[str], *, points: int = 240,
                        tail: float = 1e-4) -> pd.DataFrame:
    """Each Normal(mean_i, sd_i) density on one common grid spanning all of them, like
    :func:`beta_density_grid` (``x``, ``name``, ``density``).

    >>> d = normal_density_grid([0.01, 0.02], [0.005, 0.004], ["b", "c"], points=50)
    >>> sorted(d.name.unique()), len(d), bool(d.density.max() > 0)
    (['b', 'c'], 100, True)
    """
    from scipy.stats import norm

    return _density_grid(norm, (np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)), names, points, tail)
