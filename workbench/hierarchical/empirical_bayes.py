"""Empirical-Bayes fast path: category Beta priors, conjugate updates, and the lift pooled on log-odds.

The same two-level structure as the PyMC model, with the hyperparameters *estimated* instead of
integrated over, so it runs in milliseconds (Thompson-sampling priors for cold start, a
cross-check of the full model, interactive use):

1. **Control rates.** A global Beta(a, b) is fitted to all SKUs' control arms by maximising the
   beta-binomial marginal likelihood; each category's Beta(a_c, b_c) maximises its own marginal
   likelihood plus a weak pull towards the global one (normal on the category's logit-mean and
   log-concentration, sd 1 and 1.5) — the global level above categories, which keeps categories
   with few SKUs or no conversions sensible. Each SKU's control rate then has the conjugate
   posterior Beta(a_c + conversions, b_c + units − conversions).
2. **Lifts, pooled on the log-odds scale.** Each lift's estimate is ``d_l ~ Normal(delta_l, v_l)``,
   with ``delta_l ~ Normal(delta_cat, sigma_delta)`` and ``delta_cat ~ Normal(mu_delta, tau_delta)``.
   ``d_l`` and ``v_l`` come from the working variates of a logistic model's scoring step: both arms'
   log-odds linearised at the SKU's control log-odds under its category's Beta prior (the variant's
   moved by the category's current lift), so that ``v_l`` never depends on the variant's
   conversions. (Each arm's own Jeffreys log-odds, whose variance falls as its conversions rise,
   weighted the lucky SKUs up: on a 90/10 canary with ~4 expected conversions a SKU the pooled
   lift came out +0.25 for a true +0.14.) The category lifts and the linearisation are iterated to
   their fixed point. The three hyperparameters maximise the
   closed-form marginal likelihood (each category's lifts are jointly normal with a
   compound-symmetric covariance) times the full model's hyperpriors; the posterior of every lift
   is then exact normal–normal algebra.

Summaries: control rate from its Beta posterior, variant rate = expit(logit(control) + lift) with
the lift from its normal posterior (independently — an approximation that ignores the small
correlation through the shared control arm), every mean, interval, probability and expected loss
by deterministic quadrature (:mod:`workbench.stats.beta_logit_lift`), not Monte Carlo draws: the
same numbers on every run, 0.3 s of CPU for 20,000 lifts instead of 3 s for 1,000 draws each.

>>> from workbench.hierarchical.synthetic import simulate_sku_world
>>> world = simulate_sku_world(n_categories=5, skus_per_category=10, seed=3)
>>> eb = fit_empirical_bayes(world.data, seed=1)
>>> eb.method, len(eb.skus), eb.categories[0].beta_a > 0
('empirical_bayes', 50, True)
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, logit

from ..config import get_settings
from ..errors import InputError, Problem
from ..experiment_data import ExperimentData
from .data import SkuData, sku_data_from_experiments, sku_data_from_frame
from ..stats.beta_logit_lift import LiftSummaries, beta_logit_lift_summaries
from .results import CategoryPrior, HierarchicalResult, build_sku_rows, interval_label, summarise_draws
from .spec import Priors

__all__ = ["beta_binomial_loglik", "fit_beta_binomial", "fit_category_betas", "fit_lift_pooling",
           "fit_empirical_bayes", "fit_independent", "category_beta_priors", "lift_estimates", "pool_lifts",
           "control_posterior", "control_logits"]

Array = NDArray[np.float64]


def _as_data(data: SkuData | pd.DataFrame | Sequence[ExperimentData]) -> SkuData:
    if isinstance(data, SkuData):
        return data
    if isinstance(data, pd.DataFrame):
        return sku_data_from_frame(data)
    return sku_data_from_experiments(list(data))


def beta_binomial_loglik(a: Array, b: Array, n: Array, y: Array, group: NDArray[np.int64], n_groups: int) -> Array:
    """Beta-binomial log marginal likelihood of each group (without the constant log C(n, y))."""
    ag, bg = a[group], b[group]
    terms = betaln(y + ag, n - y + bg) - betaln(ag, bg)
    return np.bincount(group, terms, minlength=n_groups)


def _moments_start(n: Array, y: Array, group: NDArray[np.int64], n_groups: int) -> tuple[Array, Array]:
    """Method-of-moments (logit-mean, log-concentration) per group, clipped to sane values."""
    cnt = np.maximum(np.bincount(group, minlength=n_groups), 1)
    p = (y + 0.5) / (n + 1.0)
    mean = np.bincount(group, p, minlength=n_groups) / cnt
    var = np.bincount(group, (p - mean[group]) ** 2, minlength=n_groups) / cnt
    noise = np.bincount(group, p * (1 - p) / n, minlength=n_groups) / cnt
    between = np.maximum(var - noise, 1e-6)
    kappa = np.clip(mean * (1 - mean) / between - 1, 1.0, 1e5)
    return logit(np.clip(mean, 1e-4, 1 - 1e-4)), np.log(kappa)


def fit_beta_binomial(n: Array, y: Array, group: NDArray[np.int64] | None = None, n_groups: int | None = None, *,
                      centre: tuple[Array, Array] | None = None, spread: tuple[float, float] = (1.0, 1.5)
                      ) -> tuple[Array, Array]:
    """Beta(a, b) per group maximising the beta-binomial marginal likelihood.

    With ``centre = (logit_mean, log_concentration)`` per group, a normal penalty with sds
    ``spread`` pulls each group towards it (maximum a posteriori under that hyperprior).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n = np.full(400, 200.0); y = rng.binomial(200, rng.beta(4, 60, 400)).astype(float)
    >>> a, b = fit_beta_binomial(n, y)
    >>> round(float(a[0] / (a[0] + b[0])), 2), bool(30 < a[0] + b[0] < 120)       # truth: 4/64 = 0.0625, 64
    (0.06, True)
    """
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    if group is None:
        group = np.zeros(n.size, dtype=np.int64)
        n_groups = 1
    assert n_groups is not None
    u0, k0 = _moments_start(n, y, group, n_groups)
    if centre is not None:
        u0, k0 = np.asarray(centre[0], float) * np.ones(n_groups), np.asarray(centre[1], float) * np.ones(n_groups)
    u, k = _newton_beta_binomial(n, y, group, n_groups, u0, k0, centre, spread)
    mu, kappa = expit(u), np.exp(k)
    return kappa * mu, kappa * (1 - mu)


#: bounds of (logit-mean, log-concentration) in :func:`fit_beta_binomial`
_U_BOUNDS, _K_BOUNDS = (-12.0, 12.0), (float(np.log(0.05)), float(np.log(1e6)))


def trigamma(x: Array) -> Array:
    """ψ'(x) for x > 0 to about 1e-10 relative: recurrence up to x >= 6, then the asymptotic series.

    Three times faster than ``scipy.special.polygamma(1, x)`` (which goes through ``zeta``); used
    for the Newton steps' Hessians, where it only sets the step, not the optimum.

    >>> from scipy.special import polygamma
    >>> x = np.array([0.3, 2.5, 40.0]); bool(np.allclose(trigamma(x), polygamma(1, x), rtol=1e-9))
    True
    """
    x = np.asarray(x, dtype=float)
    acc = np.zeros_like(x)
    for _ in range(6):
        small = x < 6.0
        if not small.any():
            break
        acc += np.where(small, 1.0 / (x * x), 0.0)
        x = np.where(small, x + 1.0, x)
    r = 1.0 / x
    r2 = r * r
    return acc + r + r2 * (0.5 + r * (1 / 6 + r2 * (-1 / 30 + r2 * (1 / 42 + r2 * (-1 / 30 + r2 * (5 / 66))))))


def _newton_beta_binomial(n: Array, y: Array, group: NDArray[np.int64], n_groups: int, u: Array, k: Array,
                          centre: tuple[Array, Array] | None, spread: tuple[float, float]) -> tuple[Array, Array]:
    """Maximise every group's (penalised) beta-binomial likelihood at once: Newton steps on 2 × 2 Hessians.

    The groups' objectives are separate given ``centre``, so each gets its own Newton step
    (analytic gradient and Hessian in the logit-mean ``u`` and log-concentration ``k``), halved
    until that group's objective does not decrease, and kept within the bounds. Where the Hessian
    is not negative definite a scaled gradient step is taken instead.
    """
    s_u, s_k = spread
    u, k = np.clip(u, *_U_BOUNDS).astype(float), np.clip(k, *_K_BOUNDS).astype(float)
    cnt_groups = np.arange(n_groups)

    def value(u: Array, k: Array) -> Array:
        mu, kappa = expit(u), np.exp(k)
        ll = beta_binomial_loglik(kappa * mu, kappa * (1 - mu), n, y, group, n_groups)
        if centre is not None:
            ll = ll - 0.5 * ((u - centre[0]) / s_u) ** 2 - 0.5 * ((k - centre[1]) / s_k) ** 2
        return ll

    f = value(u, k)
    for _ in range(100):
        mu, kappa = expit(u), np.exp(k)
        a, b = kappa * mu, kappa * (1 - mu)
        ag, bg = a[group], b[group]
        c1 = digamma(ag + bg) - digamma(n + ag + bg)
        c2 = trigamma(ag + bg) - trigamma(n + ag + bg)
        ga = np.bincount(group, digamma(y + ag) - digamma(ag) + c1, minlength=n_groups)
        gb = np.bincount(group, digamma(n - y + bg) - digamma(bg) + c1, minlength=n_groups)
        haa = np.bincount(group, trigamma(y + ag) - trigamma(ag) + c2, minlength=n_groups)
        hbb = np.bincount(group, trigamma(n - y + bg) - trigamma(bg) + c2, minlength=n_groups)
        hab = np.bincount(group, c2, minlength=n_groups)
        ks = kappa * mu * (1 - mu)
        # chain rule to (u, k): a = e^k·expit(u), b = e^k·(1 − expit(u))
        gu, gk = (ga - gb) * ks, ga * a + gb * b
        huu = ks * ks * (haa + hbb - 2 * hab) + (ga - gb) * ks * (1 - 2 * mu)
        hkk = a * a * haa + b * b * hbb + 2 * a * b * hab + ga * a + gb * b
        huk = ks * (a * haa - b * hbb + (b - a) * hab) + (ga - gb) * ks
        if centre is not None:
            gu, gk = gu - (u - centre[0]) / s_u**2, gk - (k - centre[1]) / s_k**2
            huu, hkk = huu - 1 / s_u**2, hkk - 1 / s_k**2
        det = huu * hkk - huk * huk
        newton = (huu < 0) & (det > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            du = np.where(newton, -(hkk * gu - huk * gk) / det, gu / (np.abs(huu) + 1.0))
            dk = np.where(newton, -(huu * gk - huk * gu) / det, gk / (np.abs(hkk) + 1.0))
        step = np.ones(n_groups)
        todo = cnt_groups
        new_u, new_k, new_f = u.copy(), k.copy(), f.copy()
        for _half in range(30):                       # halve each group's step until it does not go down
            cu = np.clip(u[todo] + step[todo] * du[todo], *_U_BOUNDS)
            ck = np.clip(k[todo] + step[todo] * dk[todo], *_K_BOUNDS)
            tu, tk = u.copy(), k.copy()
            tu[todo], tk[todo] = cu, ck
            fv = value(tu, tk)[todo]
            ok = fv >= f[todo] - 1e-12 * np.abs(f[todo])
            new_u[todo[ok]], new_k[todo[ok]], new_f[todo[ok]] = cu[ok], ck[ok], fv[ok]
            todo = todo[~ok]
            if todo.size == 0:
                break
            step[todo] *= 0.5
        moved = max(float(np.abs(new_u - u).max()), float(np.abs(new_k - k).max()))
        u, k, f = new_u, new_k, new_f
        if moved < 1e-9:
            break
    return u, k


def fit_category_betas(data: SkuData) -> tuple[Array, Array, float, float]:
    """Category Beta priors of the control rate (pulled towards the global fit), and the global one."""
    ga, gb = fit_beta_binomial(data.control_n, data.control_y)
    centre = (np.full(data.n_categories, logit(ga[0] / (ga[0] + gb[0]))), np.full(data.n_categories, np.log(ga[0] + gb[0])))
    a, b = fit_beta_binomial(data.control_n, data.control_y, data.sku_category, data.n_categories, centre=centre)
    return a, b, float(ga[0]), float(gb[0])


def control_posterior(sku: SkuData, a: Array, b: Array) -> tuple[Array, Array]:
    """Each lift's control rate posterior Beta(a0, b0) under its category's Beta(a, b) prior."""
    ls, lc = sku.lift_sku, sku.lift_category
    return a[lc] + sku.control_y[ls], b[lc] + sku.control_n[ls] - sku.control_y[ls]


def control_logits(sku: SkuData, a: Array, b: Array) -> Array:
    """Each lift's control log-odds under its category's Beta(a, b) prior (the posterior mean of logit(p))."""
    a0, b0 = control_posterior(sku, a, b)
    return digamma(a0) - digamma(b0)


def _cs_negloglik(theta: Array, d: Array, v: Array, cat: NDArray[np.int64], n_cat: int, priors: Priors) -> float:
    """Negative log marginal likelihood (+ hyperpriors) of the lift estimates, categories compound-symmetric."""
    mu, log_tau, log_sigma = theta
    tau2, sigma2 = np.exp(2 * log_tau), np.exp(2 * log_sigma)
    w = 1.0 / (sigma2 + v)                       # D^-1 diagonal
    sw = np.bincount(cat, w, minlength=n_cat)
    r = d - mu
    swr = np.bincount(cat, w * r, minlength=n_cat)
    quad = (w * r * r).sum() - (tau2 * swr**2 / (1 + tau2 * sw)).sum()
    logdet = np.log(sigma2 + v).sum() + np.log1p(tau2 * sw).sum()
    ll = -0.5 * (quad + logdet)
    # hyperpriors of the full model (half-normals on the scales, with the log-transform Jacobian)
    lp = (-0.5 * (mu / priors.mu_delta_sd) ** 2 - 0.5 * tau2 / priors.tau_delta_sd**2 + log_tau
          - 0.5 * sigma2 / priors.sigma_delta_sd**2 + log_sigma)
    return -(ll + lp)


def fit_lift_pooling(d: Array, v: Array, cat: NDArray[np.int64], n_cat: int, priors: Priors = Priors(),
                     hyper: tuple[float, float, float] | None = None) -> dict[str, Array | float]:
    """Hyperparameters (mu, tau, sigma) of the lift hierarchy and every lift's normal posterior; ``hyper``:
    (mu, tau, sigma) given instead of estimated (the true ones of a simulated world, for a diagnostic)."""
    if hyper is None:
        start = np.array([np.average(d, weights=1 / v), np.log(0.05), np.log(0.05)])
        res = minimize(_cs_negloglik, start, args=(d, v, cat, n_cat, priors), method="L-BFGS-B",
                       bounds=[(-5.0, 5.0), (np.log(1e-4), np.log(5.0)), (np.log(1e-4), np.log(5.0))])
        mu, tau2, sigma2 = res.x[0], np.exp(2 * res.x[1]), np.exp(2 * res.x[2])
    else:
        mu, tau2, sigma2 = float(hyper[0]), float(hyper[1]) ** 2, float(hyper[2]) ** 2
    w = 1.0 / (sigma2 + v)
    prec_cat = 1.0 / tau2 + np.bincount(cat, w, minlength=n_cat)
    mean_cat = (mu / tau2 + np.bincount(cat, w * d, minlength=n_cat)) / prec_cat
    var_cat = 1.0 / prec_cat
    shrink = (1 / sigma2) / (1 / sigma2 + 1 / v)                 # weight of the category mean
    mean = shrink * mean_cat[cat] + (1 - shrink) * d
    var = 1.0 / (1 / sigma2 + 1 / v) + shrink**2 * var_cat[cat]
    return {"mu": float(mu), "tau": float(np.sqrt(tau2)), "sigma": float(np.sqrt(sigma2)), "mean": mean, "var": var,
            "cat_mean": mean_cat, "cat_var": var_cat}


_NO_INFORMATION = 1e12
"""The variance given a lift with no units in an arm: it has no weight, and its posterior is its category's."""


def lift_estimates(sku: SkuData, control_logit: Array, category_lift: Array | None = None) -> tuple[Array, Array]:
    """Each lift's log-odds estimate and its variance: both arms' working variates (a logistic scoring step).

    For an arm with ``n`` units, ``y`` conversions and expansion rate ``p0 = expit(theta0)``, the working
    variate ``theta0 + (y − n·p0) / (n·p0·(1 − p0))`` estimates its log-odds with variance
    ``1 / (n·p0·(1 − p0))``. The control's ``theta0`` is ``control_logit`` per lift (:func:`control_logits`:
    the SKU's control log-odds under its category's Beta prior), the variant's is that plus its category's
    ``category_lift`` (default 0). No weight depends on the variant's conversions, so the lifts whose
    conversions came out high are not weighted up (see the module doc).

    >>> from workbench.hierarchical.data import sku_data_from_frame
    >>> f = pd.DataFrame({"sku": ["a", "a", "b", "b"], "category": "c", "variant": ["control", "b"] * 2,
    ...                   "n": [900.0, 100.0, 900.0, 100.0], "conversions": [45.0, 5.0, 45.0, 0.0]})
    >>> d, v = lift_estimates(sku_data_from_frame(f), control_logit=np.full(2, logit(0.05)))
    >>> [round(float(x), 3) + 0.0 for x in d], [round(float(x), 3) for x in v]   # the same weight for both SKUs
    ([0.0, -1.053], [0.234, 0.234])
    """
    ls, lc = sku.lift_sku, sku.lift_category
    lift0 = np.zeros(sku.n_lifts) if category_lift is None else np.asarray(category_lift, dtype=float)[lc]
    p_c, p_t = expit(control_logit), expit(control_logit + lift0)
    n_c, y_c, n_t, y_t = sku.control_n[ls], sku.control_y[ls], sku.lift_n, sku.lift_y
    info_c, info_t = n_c * p_c * (1 - p_c), n_t * p_t * (1 - p_t)
    seen = (info_c > 0) & (info_t > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = lift0 + (y_t - n_t * p_t) / info_t - (y_c - n_c * p_c) / info_c
        v = 1.0 / info_c + 1.0 / info_t
    return np.where(seen, d, lift0), np.where(seen, v, _NO_INFORMATION)


def pool_lifts(sku: SkuData, control_logit: Array, priors: Priors = Priors(), *,
               hyper: tuple[float, float, float] | None = None, iterations: int = 20) -> dict[str, Array | float]:
    """:func:`fit_lift_pooling` on :func:`lift_estimates`, re-linearised at the fitted category lifts until they
    settle (a change below 1e-6 on the log-odds scale: five or six fits at 600 and at 10,000 SKUs)."""
    lc, n_cat = sku.lift_category, sku.n_categories
    pool = fit_lift_pooling(*lift_estimates(sku, control_logit), lc, n_cat, priors, hyper)
    for _ in range(iterations):
        before = np.asarray(pool["cat_mean"])
        pool = fit_lift_pooling(*lift_estimates(sku, control_logit, before), lc, n_cat, priors, hyper)
        if float(np.max(np.abs(np.asarray(pool["cat_mean"]) - before), initial=0.0)) < 1e-6:
            break
    return pool


def category_beta_priors(data: SkuData | pd.DataFrame | Sequence[ExperimentData]) -> dict[str, tuple[float, float]]:
    """Beta(a, b) prior of a new arm's conversion rate per category (for Thompson sampling cold start).

    The key ``"*"`` holds the global prior, for a category not seen in the data.
    """
    sku = _as_data(data)
    a, b, ga, gb = fit_category_betas(sku)
    out = {c: (float(a[i]), float(b[i])) for i, c in enumerate(sku.categories)}
    out["*"] = (ga, gb)
    return out


def summary_columns(s: LiftSummaries) -> dict[str, Any]:
    """:class:`~workbench.stats.beta_logit_lift.LiftSummaries` as the columns :func:`.results.build_sku_rows` takes."""
    out: dict[str, Any] = {}
    for name in ("control_rate", "variant_rate", "lift_abs", "lift_rel", "lift_logodds"):
        out[name] = getattr(s, name)
        out[f"{name}_ci"] = [tuple(r) for r in getattr(s, f"{name}_ci").tolist()]
    out["prob_beat_control"], out["expected_loss"] = s.prob_beat_control, s.expected_loss
    out["expected_loss_control"] = s.expected_loss_control
    return out


def _prior_rows(names: Sequence[str], counts: Sequence[int], a: Array, b: Array, lift_mean: Array, lift_var: Array,
                level: float) -> list[CategoryPrior]:
    """A new SKU's rate ~ Beta(a, b) and lift ~ Normal(lift_mean, lift_var) per category, summarised in closed form."""
    s = beta_logit_lift_summaries(a, b, lift_mean, lift_var, level=level)
    return [CategoryPrior(category=c, n_skus=int(counts[i]), rate_mean=float(s.control_rate[i]),
                          rate_ci=(float(s.control_rate_ci[i, 0]), float(s.control_rate_ci[i, 1])),
                          beta_a=float(a[i]), beta_b=float(b[i]), lift_logodds_mean=float(s.lift_logodds[i]),
                          lift_logodds_ci=(float(s.lift_logodds_ci[i, 0]), float(s.lift_logodds_ci[i, 1])),
                          lift_rel_mean=float(s.lift_rel[i]),
                          lift_rel_ci=(float(s.lift_rel_ci[i, 0]), float(s.lift_rel_ci[i, 1])))
            for i, c in enumerate(names)]


def fit_empirical_bayes(data: SkuData | pd.DataFrame | Sequence[ExperimentData], *, draws: int | None = None,
                        seed: int | None = None, credible_level: float | None = None,
                        priors: Priors = Priors()) -> HierarchicalResult:
    """The fast path: same result object as :func:`.fit.fit_hierarchical`, in milliseconds.

    Deterministic: every summary is computed by quadrature
    (:func:`workbench.stats.beta_logit_lift.beta_logit_lift_summaries`); ``draws`` and ``seed`` are
    accepted for the signature shared with the other methods and otherwise unused.
    """
    t0 = time.perf_counter()
    settings = get_settings()
    level = settings.credible_level if credible_level is None else credible_level
    if draws is not None and int(draws) < 100:
        raise InputError([Problem("blocked", "bad_setting", "draws must be >= 100", column="draws", value=draws)])
    sku = _as_data(data)
    a, b, ga, gb = fit_category_betas(sku)
    a0, b0 = control_posterior(sku, a, b)
    # The lift's likelihood: both arms' log-odds linearised at the SKU's control log-odds under its category's
    # prior (the variant's moved by the category's lift), so no weight depends on the variant's conversions
    pool = pool_lifts(sku, control_logits(sku, a, b), priors)
    rows = build_sku_rows(sku, summary_columns(beta_logit_lift_summaries(a0, b0, pool["mean"], pool["var"],
                                                                         level=level)))

    counts = np.bincount(sku.sku_category, minlength=sku.n_categories)
    sigma, tau, mu = float(pool["sigma"]), float(pool["tau"]), float(pool["mu"])  # type: ignore[arg-type]
    categories = _prior_rows(sku.categories, counts, a, b, np.asarray(pool["cat_mean"]),
                             np.asarray(pool["cat_var"]) + sigma**2, level)
    new = _prior_rows(["(new category)"], [0], np.array([ga]), np.array([gb]), np.array([mu]),
                      np.array([tau**2 + sigma**2]), level)[0]
    hyper = {"global_beta_a": ga, "global_beta_b": gb, "mu_delta": mu, "tau_delta": tau, "sigma_delta": sigma}
    return HierarchicalResult(method="empirical_bayes", interval=interval_label(level), credible_level=level,
                              skus=rows, categories=tuple(categories), new_category=new, hyperparameters=hyper,
                              seconds=time.perf_counter() - t0,
                              _draws={"lift_mean": np.asarray(pool["mean"]), "lift_var": np.asarray(pool["var"])})


def fit_independent(data: SkuData | pd.DataFrame | Sequence[ExperimentData], *, draws: int | None = None,
                    seed: int | None = None, credible_level: float | None = None) -> HierarchicalResult:
    """No pooling: each arm on its own Beta(1 + conversions, 1 + units − conversions) posterior.

    The reference the hierarchical estimates are compared with (what a per-SKU A/B analysis does).
    """
    t0 = time.perf_counter()
    settings = get_settings()
    level = settings.credible_level if credible_level is None else credible_level
    n_draws = settings.hierarchical.eb_draws if draws is None else int(draws)
    sku = _as_data(data)
    rng = np.random.default_rng(settings.seed if seed is None else seed)
    ls = sku.lift_sku
    p0 = rng.beta(1 + sku.control_y[ls], 1 + sku.control_n[ls] - sku.control_y[ls], size=(n_draws, sku.n_lifts))
    p1 = rng.beta(1 + sku.lift_y, 1 + sku.lift_n - sku.lift_y, size=(n_draws, sku.n_lifts))
    rows = build_sku_rows(sku, summarise_draws(p0, p1, level=level))
    return HierarchicalResult(method="independent", interval=interval_label(level), credible_level=level,
                              skus=rows, categories=(), seconds=time.perf_counter() - t0,
                              _draws={"control_rate": p0, "variant_rate": p1, "lift_logodds": logit(p1) - logit(p0)})
