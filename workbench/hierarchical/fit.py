"""Fit the hierarchical model and summarise it: the main entry point of this package.

>>> from workbench.hierarchical.synthetic import simulate_sku_world
>>> world = simulate_sku_world(n_categories=3, skus_per_category=4, seed=2)
>>> res = fit_hierarchical(world.frame, draws=100, tune=100, chains=2, seed=1)
>>> res.method, res.interval, len(res.skus), len(res.categories)
('hierarchical', '94% equal-tailed credible interval', 12, 3)
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from ..config import HierarchicalSettings, get_settings
from ..experiment_data import ExperimentData
from .data import SkuData, sku_data_from_experiments, sku_data_from_frame
from .blocks import in_blocks
from .diagnostics import diagnose, small_rhat
from .spec import Priors, resolve_parameterisation
from .results import (Diagnostics, HierarchicalResult, build_sku_rows, category_prior_row, interval_label,
                      summarise_draws)
from .sampling import PosteriorSample, sample_growing, sample_posterior

__all__ = ["fit_hierarchical", "as_sku_data", "choose_target_accept", "sample_to_targets", "targets_met",
           "pool_samples"]


def as_sku_data(data: SkuData | pd.DataFrame | Sequence[ExperimentData], *, control: str | None = None) -> SkuData:
    """Accept a tidy frame, a list of per-SKU experiments or ready :class:`SkuData`."""
    if isinstance(data, SkuData):
        return data
    if isinstance(data, pd.DataFrame):
        return sku_data_from_frame(data, control=control)
    return sku_data_from_experiments(list(data))


def _summaries(alpha: np.ndarray, delta: np.ndarray, lift_sku: np.ndarray, level: float,
               block: int = 1024) -> dict[str, Any]:
    """:func:`summarise_draws` of every lift, from logit-scale draws, a block of lifts at a time.

    Each block's control and variant rates are made (on all cores: the gathers and ``expit`` of
    4 × 1,000 draws × 20,000 lifts took seconds on one), summarised and dropped, so memory holds
    the draws of ``block`` lifts' rates rather than two more copies of the whole trace (at 5,000
    SKUs × 12,000 draws each copy is 0.5 GB).
    """
    parts: list[dict[str, Any]] = []
    for start in range(0, delta.shape[1], block):
        stop = min(start + block, delta.shape[1])
        p0 = np.empty((delta.shape[0], stop - start))
        p1 = np.empty_like(p0)

        def rates(s: slice, start: int = start, p0: np.ndarray = p0, p1: np.ndarray = p1) -> None:
            cols = slice(start + s.start, start + s.stop)
            eta0 = alpha[:, lift_sku[cols]]
            expit(eta0, out=p0[:, s])
            expit(eta0 + delta[:, cols], out=p1[:, s])

        in_blocks(rates, stop - start, size=128)
        parts.append(summarise_draws(p0, p1, level=level, lift_logodds=delta[:, start:stop]))
        del p0, p1
    return {k: (np.concatenate([p[k] for p in parts]) if isinstance(parts[0][k], np.ndarray)
                else [v for p in parts for v in p[k]]) for k in parts[0]}


def choose_target_accept(sku: SkuData, choice: str, resolved: str, hs: HierarchicalSettings) -> float:
    """NUTS's target acceptance for these data: higher where the posterior's curvature varies most.

    With fewer than ``hs.few_categories`` categories the category-level SDs (``tau_alpha``,
    ``tau_delta``) are weakly identified and reach towards 0, where every category effect's scale
    shrinks with them: a smaller step size avoids divergences there (the 18-SKU, 3-category sample
    CSV had 3–42 divergences in 4 × 3,000 draws at 0.8, none at 0.9; measured in
    ``tests/hierarchical/test_sampling_by_data.py``). "noncentred" chosen by "auto" for thin SKUs
    gets the same. Otherwise ``hs.target_accept``.
    """
    if sku.n_categories < hs.few_categories or (choice == "auto" and resolved == "noncentred"):
        return hs.target_accept_thin
    return hs.target_accept


def targets_met(diag: Diagnostics, hs: HierarchicalSettings) -> bool:
    """Every parameter's r_hat <= ``hs.max_rhat`` and every SKU lift's bulk ESS >= ``hs.min_ess_bulk``."""
    return bool(diag.max_rhat_all <= hs.max_rhat and diag.min_ess_bulk_lifts >= hs.min_ess_bulk)


def sample_to_targets(sku: SkuData, hs: HierarchicalSettings, seed: int, *, chains: int,
                      **kwargs: Any) -> tuple[PosteriorSample, Diagnostics]:
    """Draws chosen by the diagnostics rather than fixed, until :func:`targets_met` or the cap.

    With the compiled density (the default sampler) the same ``chains`` chains keep sampling
    (:func:`.sampling.sample_growing`): diagnosed on every parameter after ``hs.draws_batch`` draws
    each, then every ``hs.draws_step`` more, up to ``hs.draws`` per chain. At catalogue scale the
    largest of 20,000 r_hats is what asks for more (each is fine on its own; their maximum
    fluctuates around 1.01 at 1,000 draws: ``sigma_delta`` at 1.011 in the 10,000-SKU seed-4
    world), and 250 more draws on tuned chains cost about a sixth of a fresh batch. (A step of 125
    would rarely pass sooner: r_hat − 1 falls about as 1/draws, 1.011 at 1,000 -> 1.010 at 1,125,
    while a check costs 7–8 s CPU at 10,000 SKUs, as much as ~100 draws of the 4 chains; so a check first asks the hyperparameters' r_hat, a few parameters, and diagnoses the 20,000 cells only when those pass.) Other samplers get batches of ``chains`` new chains (own seed, own tuning) of
    ``hs.draws_batch`` draws, pooled, up to ``chains × hs.draws`` draws in all. When the cap is
    reached first the diagnostics' warnings say what is short.
    """
    from .compiled_density import COMPILED_PARAMETERISATIONS

    per_batch = min(hs.draws_batch, hs.draws)
    if kwargs.get("sampler") == "nutpie" and kwargs.get("parameterisation") in COMPILED_PARAMETERISATIONS:
        last: list[Diagnostics] = []

        def check(sample: PosteriorSample) -> bool:
            if sample.n_draws < hs.draws and small_rhat(sample) > hs.max_rhat:
                return False         # a hyperparameter asks for more draws: the check of 20,000 cells can wait
            last[:] = [diagnose(sample, hs)]
            return targets_met(last[0], hs)

        sample = sample_growing(sku, check, first=per_batch, step=hs.draws_step, cap=hs.draws, chains=chains,
                                seed=seed, **{k: v for k, v in kwargs.items()
                                              if k in ("parameterisation", "tune", "target_accept", "priors")})
        if not last or last[0].draws != sample.n_draws:
            last[:] = [diagnose(sample, hs)]
        return sample, last[0]
    batches = max(1, (hs.draws + per_batch - 1) // per_batch)
    sample = sample_posterior(sku, draws=per_batch, seed=seed, chains=chains, **kwargs)
    diag = diagnose(sample, hs)
    for k in range(1, batches):
        if targets_met(diag, hs):
            break
        more = sample_posterior(sku, draws=per_batch, seed=seed + 7919 * k, chains=chains, **kwargs)
        sample = pool_samples(sample, more)
        del more
        diag = diagnose(sample, hs)
    return sample, diag


def pool_samples(a: PosteriorSample, b: PosteriorSample) -> PosteriorSample:
    """Two samples of the same model and draws per chain as one with the chains of both.

    Each variable's draws leave ``a`` and ``b`` as they are joined (one variable's copy at a time
    in memory, not a second copy of the whole trace).
    """
    return PosteriorSample(draws={k: np.concatenate([a.draws.pop(k), b.draws.pop(k)]) for k in list(a.draws)},
                           diverging=np.concatenate([a.diverging, b.diverging]), sampler=a.sampler,
                           parameterisation=a.parameterisation, chains=a.chains + b.chains, n_draws=a.n_draws,
                           tune=a.tune, compile_seconds=a.compile_seconds + b.compile_seconds,
                           sample_seconds=a.sample_seconds + b.sample_seconds,
                           extra={k: (a.extra[k] * a.chains + b.extra[k] * b.chains) / (a.chains + b.chains)
                                  for k in a.extra})


def fit_hierarchical(data: SkuData | pd.DataFrame | Sequence[ExperimentData], *, sampler: str | None = None,
                     parameterisation: str | None = None, chains: int | None = None, draws: int | None = None,
                     tune: int | None = None, cores: int | None = None, target_accept: float | None = None,
                     seed: int | None = None, credible_level: float | None = None,
                     priors: Priors = Priors(), control: str | None = None) -> HierarchicalResult:
    """Fit the PyMC model (see :mod:`workbench.hierarchical.model`) and summarise every SKU and category.

    Defaults come from ``Settings.hierarchical`` and ``Settings.credible_level`` ("auto"
    parameterisation; ``target_accept`` by :func:`choose_target_accept`; without ``draws``, as many
    as the diagnostics ask for, :func:`sample_to_targets`). The result's
    ``warnings`` repeat the diagnostics' warnings (r_hat, ESS, divergences).
    """
    t0 = time.perf_counter()
    settings = get_settings()
    hs = settings.hierarchical
    level = credible_level if credible_level is not None else settings.credible_level
    sku = as_sku_data(data, control=control)
    seed = settings.seed if seed is None else seed
    choice = parameterisation or hs.parameterisation
    sampler = sampler or hs.sampler
    resolved = resolve_parameterisation(choice, sku.control_n, sku.control_y, compiled=sampler == "nutpie")
    if target_accept is None:
        target_accept = choose_target_accept(sku, choice, resolved, hs)
    chains = chains or hs.chains
    kwargs = dict(sampler=sampler, parameterisation=resolved, chains=chains, tune=hs.tune if tune is None else tune,
                  cores=cores or hs.cores, target_accept=target_accept, priors=priors)
    if draws is not None:
        sample = sample_posterior(sku, draws=draws, seed=seed, **kwargs)  # type: ignore[arg-type]
        diag = diagnose(sample, hs)
    else:
        sample, diag = sample_to_targets(sku, hs, seed, **kwargs)
    d = sample.draws
    n_draws = d["alpha"].shape[0] * d["alpha"].shape[1]
    alpha = d["alpha"].reshape(n_draws, -1)
    delta = d["delta"].reshape(n_draws, -1)
    rows = build_sku_rows(sku, _summaries(alpha, delta, sku.lift_sku, level))

    # Prior for a brand-new SKU of each category: draw its rate and lift from the category level.
    rng = np.random.default_rng(seed)
    a_cat = d["alpha_cat"].reshape(n_draws, -1)
    d_cat = d["delta_cat"].reshape(n_draws, -1)
    s_a = d["sigma_alpha"].reshape(n_draws, 1)
    s_d = d["sigma_delta"].reshape(n_draws, 1)
    a_new = a_cat + s_a * rng.standard_normal(a_cat.shape)
    l_new = d_cat + s_d * rng.standard_normal(d_cat.shape)
    r0, r1 = expit(a_new), expit(a_new + l_new)
    counts = np.bincount(sku.sku_category, minlength=sku.n_categories)
    categories = tuple(category_prior_row(c, int(counts[i]), r0[:, i], l_new[:, i], r1[:, i] / r0[:, i] - 1, level)
                       for i, c in enumerate(sku.categories))
    # ...and of a category never seen before: one more level up.
    mu_a, tau_a = d["mu_alpha"].reshape(-1), d["tau_alpha"].reshape(-1)
    mu_d, tau_d = d["mu_delta"].reshape(-1), d["tau_delta"].reshape(-1)
    a_nc = mu_a + np.hypot(tau_a, s_a[:, 0]) * rng.standard_normal(n_draws)
    l_nc = mu_d + np.hypot(tau_d, s_d[:, 0]) * rng.standard_normal(n_draws)
    new_category = category_prior_row("(new category)", 0, expit(a_nc), l_nc,
                                      expit(a_nc + l_nc) / expit(a_nc) - 1, level)
    hyper = {k: float(d[k].mean()) for k in ("mu_alpha", "tau_alpha", "sigma_alpha", "mu_delta", "tau_delta",
                                            "sigma_delta")}
    return HierarchicalResult(method="hierarchical", interval=interval_label(level), credible_level=level,
                              skus=rows, categories=categories, new_category=new_category, diagnostics=diag,
                              hyperparameters=hyper, warnings=diag.warnings, seconds=time.perf_counter() - t0,
                              _draws={"lift_logodds": delta})
