"""Conjugate Bayesian comparisons: Beta–Binomial for proportions, normal–normal on the lift for means.

**Proportions.** Each arm's rate has a Beta(a₀ + successes, b₀ + failures) posterior (Beta(1, 1)
unless a category prior is given). The chance to beat control ``P(p_t > p_c)``, the expected loss
of shipping the variant ``E[max(p_c − p_t, 0)]`` and the credible interval of the lift (absolute
``p_t − p_c`` and relative ``p_t / p_c − 1``) are computed by deterministic numerical integration,
never by sampling, so the same inputs always give the same digits::

    P(W < N) = ∫ f_N(x) F_W(x) dx

integrates over the posterior N with the *narrower integration window* (Clenshaw–Curtis nodes,
sinh-mapped to crowd the middle, on a window that holds all but ~1e-13 of its mass) while the wider one's CDF F_W is built on the
same nodes from its density by spectral (Chebyshev) integration anchored at one exact
incomplete-beta value. That costs one ``betainc`` per comparison instead of one per node, which is
what makes 100,000 comparisons take well under a second; accuracy is ~1e-10 against the exact
finite sum (Evan Miller's formula) and ``scipy.integrate.quad`` (see the tests and
``benchmarks/stats_vectorised.py``). Log-densities are normalised with :func:`lbeta`, which
avoids the ~1e-9 cancellation error of ``scipy.special.betaln`` for shapes in the 10⁵ range.
Expected losses
come from the same nodes through ``E[W·1(W>x)] = m_W (1 − F_{W⁺}(x))`` with
``I_x(a+1, b) = I_x(a, b) − x(1−x) f(x)/a``. Priors with a shape below 1 have unbounded
densities and are integrated less accurately (~1e-6).

**Means and ratio metrics.** The lift's likelihood is N(observed lift, se²) (the same estimate
and standard error as the frequentist comparison); with a flat prior the posterior is that
normal, with a proper prior N(μ₀, τ²) it is the precision-weighted normal. Chance to beat control
``Φ(μ/σ)``, expected loss ``σφ(μ/σ) − μΦ(−μ/σ)``.

The quadrature rules and windows live in :mod:`.quadrature`; P(best) in :mod:`.best` and the density grids
for charts in :mod:`.density` (re-exported here).

**Several arms.** :func:`prob_best` integrates ``f_k ∏_{j≠k} F_j`` panel by panel (panels split
at every arm's window so each CDF is resolved), for Beta or normal posteriors; Beta rows with a shape
below 1 are integrated in each arm's quantile space instead (``beta_quantile.prob_best_quantile``).
The suite checks P(best) and the expected losses of 3- and 4-arm experiments against Monte Carlo.

>>> r = beta_binomial([10000, 10000], [1000, 1100])
>>> round(r.prob_beat_control[0], 4), round(r.expected_loss[0], 7)
(0.9895, 1.56e-05)
>>> [round(x, 4) for x in r.prob_best]
[0.0105, 0.9895]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..display import ResultMixin
from ._checks import bad, check_counts, check_finite_array, check_probability
from .best import prob_best, prob_best_beta, prob_best_normal
from .beta_quantile import beta_pair_quantile, lift_cdf_pdf_quantile
from .density import beta_density_grid, normal_density_grid
from .quadrature import (_CHUNK, _log_beta_pdf, _nodes, _single_threaded_blas, beta_window, clenshaw_curtis, lbeta,
                         mapped_rule)

__all__ = ["clenshaw_curtis", "beta_window", "beta_pair_core", "beta_lift_quantiles", "normal_lift_core",
           "prob_best", "prob_best_beta", "prob_best_normal", "BetaBinomialResult", "NormalLiftResult",
           "beta_binomial", "normal_lift", "beta_density_grid", "normal_density_grid"]

Array = NDArray[np.float64]


def _pair_block(a_c: Array, b_c: Array, a_t: Array, b_t: Array) -> tuple[Array, Array, Array]:
    g, s_map_t, w_map = mapped_rule()
    # N is the arm with the narrower *window*, not the smaller sd: a skewed posterior with a small shape
    # (Beta(1, 61)) has a long tail window, on which the other arm's sharp peak (Beta(118, 351)) is not
    # resolved by the nodes and F_W came out ~1e-9 off; on the narrower window F_W is smooth.
    _, _, lo_c, hi_c = beta_window(a_c, b_c)
    _, _, lo_t, hi_t = beta_window(a_t, b_t)
    t_narrow = hi_t - lo_t <= hi_c - lo_c
    a_n, b_n = np.where(t_narrow, a_t, a_c), np.where(t_narrow, b_t, b_c)
    a_w, b_w = np.where(t_narrow, a_c, a_t), np.where(t_narrow, b_c, b_t)
    m_n, _, lo, hi = beta_window(a_n, b_n)
    m_w = a_w / (a_w + b_w)
    half = (hi - lo) / 2
    nodes = _nodes(lo, half, g)
    lx, l1x = np.log(nodes), np.log1p(-nodes)
    f_n = _log_beta_pdf(a_n[:, None], b_n[:, None], lbeta(a_n, b_n)[:, None], lx, l1x)
    f_w = _log_beta_pdf(a_w[:, None], b_w[:, None], lbeta(a_w, b_w)[:, None], lx, l1x)
    np.exp(f_n, out=f_n)
    np.exp(f_w, out=f_w)
    # F_W on the nodes: exact at the window's left end, spectral integration of f_W from there
    f_lo = special.betainc(a_w, b_w, lo)
    with _single_threaded_blas():
        cdf_w = f_w @ s_map_t                             # ∫_lo^x f_W / half
    cdf_w *= half[:, None]
    cdf_w += f_lo[:, None]
    np.putmask(cdf_w, cdf_w < 1e-150, 0.0)
    gw = f_n
    gw *= w_map                                           # quadrature weights (the half cancels below)
    mass = gw.sum(axis=1)
    t1 = gw * cdf_w
    p_w_lt_n = t1.sum(axis=1) / mass                                      # A = P(W < N)
    b_term = np.einsum("ij,ij->i", t1, nodes) / mass                       # ∫ x f_N F_W
    gw *= f_w
    nodes -= nodes * nodes                                                  # x (1 − x), in place
    c_term = np.einsum("ij,ij->i", gw, nodes) / mass                       # ∫ f_N x(1−x) f_W
    loss_w_over_n = m_w * (1.0 - p_w_lt_n + c_term / a_w) - (m_n - b_term)   # E[max(W − N, 0)]
    loss_w_over_n = np.maximum(loss_w_over_n, 0.0)
    loss_n_over_w = np.maximum(loss_w_over_n - (m_w - m_n), 0.0)           # E[max(N − W, 0)]
    p_t_gt_c = np.where(t_narrow, p_w_lt_n, 1.0 - p_w_lt_n)
    # loss of choosing T = E[max(C − T, 0)]; of keeping C = E[max(T − C, 0)]
    loss_choose_t = np.where(t_narrow, loss_w_over_n, loss_n_over_w)
    loss_keep_c = np.where(t_narrow, loss_n_over_w, loss_w_over_n)
    return np.clip(p_t_gt_c, 0.0, 1.0), loss_choose_t, loss_keep_c


def beta_pair_core(a_c: ArrayLike, b_c: ArrayLike, a_t: ArrayLike, b_t: ArrayLike) -> tuple[Array, Array, Array]:
    """For Beta posteriors of control and variant (any broadcastable shapes):

    ``(P(p_t > p_c), E[max(p_c − p_t, 0)], E[max(p_t − p_c, 0)])`` — the chance the variant is
    higher, the expected loss of choosing the variant, and the expected loss of keeping the
    control. Deterministic quadrature, vectorised in blocks.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a_c, b_c, a_t, b_t)))
    shape = arrays[0].shape
    flat = [v.reshape(-1) for v in arrays]
    size = flat[0].size
    out = [np.empty(size) for _ in range(3)]
    # A shape below 1 puts an infinite density at an end, which the window rule cannot resolve (it gave
    # P = 1.0 for a truth of 0.37): those rows are integrated in the variant's quantile space instead.
    small = np.minimum.reduce(flat) < 1.0
    if small.any():
        for o, r in zip(out, beta_pair_quantile(*(v[small] for v in flat))):
            o[small] = r
    rows = np.flatnonzero(~small)
    for start in range(0, rows.size, _CHUNK):
        sl = rows[start:start + _CHUNK] if small.any() else slice(start, start + _CHUNK)
        for o, r in zip(out, _pair_block(*(v[sl] for v in flat))):
            o[sl] = r
    return tuple(o.reshape(shape) for o in out)  # type: ignore[return-value]


# --- credible intervals of the lift -------------------------------------------------------------

def _lift_cdf_pdf_window(a_c: Array, b_c: Array, a_t: Array, b_t: Array, v: Array, relative: bool) -> tuple[Array, Array]:
    """CDF and density of D = p_t − p_c (or R = p_t/p_c − 1) at ``v`` (flat arrays).

    With N the narrower posterior and W the other, both are ``E_N[F_W(α + β N)]`` for some
    α, β > 0. Where ``α + βx`` leaves (0, 1) the CDF is exactly 0 or 1, so the quadrature runs
    only over the part of N's window that maps inside, and the rest is N's exact tail mass.
    """
    x, s_t, w = clenshaw_curtis()
    _, _, lo_c, hi_c = beta_window(a_c, b_c)
    _, _, lo_t, hi_t = beta_window(a_t, b_t)
    t_narrow = hi_t - lo_t <= hi_c - lo_c
    a_n, b_n = np.where(t_narrow, a_t, a_c), np.where(t_narrow, b_t, b_c)
    a_w, b_w = np.where(t_narrow, a_c, a_t), np.where(t_narrow, b_c, b_t)
    _, _, lo, hi = beta_window(a_n, b_n)
    if relative:
        alpha = np.zeros_like(v)
        beta = np.where(t_narrow, 1.0 / (1.0 + v), 1.0 + v)
    else:
        alpha = np.where(t_narrow, -v, v)
        beta = np.ones_like(v)
    x1 = np.clip(-alpha / beta, lo, hi)
    x2 = np.clip((1.0 - alpha) / beta, lo, hi)
    half = (x2 - x1) / 2
    nodes = _nodes(x1, half, x)
    y = alpha[:, None] + beta[:, None] * nodes
    yc = np.clip(y, 1e-300, 1.0 - 2.0 ** -53)
    f_n = np.exp(_log_beta_pdf(a_n[:, None], b_n[:, None], lbeta(a_n, b_n)[:, None],
                               np.log(nodes), np.log1p(-nodes)))
    f_w = np.exp(_log_beta_pdf(a_w[:, None], b_w[:, None], lbeta(a_w, b_w)[:, None],
                               np.log(yc), np.log1p(-yc)))
    # exact masses at the ends rescale both spectral integrals (see _pair_block)
    n_mass = special.betainc(a_n, b_n, x2) - special.betainc(a_n, b_n, x1)
    cc_n = (f_n @ w) * half
    f_n *= np.where(cc_n > 1e-3, n_mass / np.where(cc_n > 0, cc_n, 1.0), 1.0)[:, None]
    f_lo = special.betainc(a_w, b_w, np.clip(alpha + beta * x1, 0.0, 1.0))
    f_hi = special.betainc(a_w, b_w, np.clip(alpha + beta * x2, 0.0, 1.0))
    cum = f_w @ s_t
    width = beta * half
    total = cum[:, -1] * width
    scale = np.where(total > 1e-3, (f_hi - f_lo) / np.where(total > 0, total, 1.0), 1.0)
    cdf_w = f_lo[:, None] + (width * scale)[:, None] * cum
    f_w *= scale[:, None]
    np.clip(cdf_w, 0.0, 1.0, out=cdf_w)
    g = f_n * half[:, None]
    above = special.betaincc(a_n, b_n, x2)                 # N's mass where α + βN ≥ 1 (F_W = 1)
    gfun = (g * cdf_w) @ w + above                       # E_N[F_W(alpha + beta N)]
    dens = (g * f_w) @ w                                 # E_N[f_W(alpha + beta N)]
    dens_n = (g * nodes * f_w) @ w                       # E_N[N f_W(alpha + beta N)]
    cdf = np.clip(np.where(t_narrow, 1.0 - gfun, gfun), 0.0, 1.0)
    if relative:
        pdf = np.where(t_narrow, dens_n / (1.0 + v) ** 2, dens_n)
    else:
        pdf = dens
    return cdf, pdf


def _lift_cdf_pdf(a_c: Array, b_c: Array, a_t: Array, b_t: Array, v: Array, relative: bool) -> tuple[Array, Array]:
    """CDF and density of the lift at ``v``: the window rule, or T's quantile space for rows with a shape
    below 1 (an infinite density at an end, which the window rule cannot resolve)."""
    small = np.minimum.reduce([a_c, b_c, a_t, b_t]) < 1.0
    if not small.any():
        return _lift_cdf_pdf_window(a_c, b_c, a_t, b_t, v, relative)
    cdf, pdf = np.empty_like(v), np.empty_like(v)
    big = ~small
    if big.any():
        cdf[big], pdf[big] = _lift_cdf_pdf_window(a_c[big], b_c[big], a_t[big], b_t[big], v[big], relative)
    cdf[small], pdf[small] = lift_cdf_pdf_quantile(a_c[small], b_c[small], a_t[small], b_t[small], v[small], relative)
    return cdf, pdf


def beta_lift_quantiles(a_c: ArrayLike, b_c: ArrayLike, a_t: ArrayLike, b_t: ArrayLike, q: ArrayLike, *,
                        relative: bool = False, tol: float = 1e-12, max_iter: int = 80) -> Array:
    """Quantiles ``q`` of the lift ``p_t − p_c`` (or ``p_t / p_c − 1``) under Beta posteriors.

    Safeguarded Newton iterations on the exact CDF (quadrature above), started from the normal
    approximation, in ``log(p_t / p_c)`` for the relative lift (where the distribution is close
    to normal even for small counts); steps are limited to a few standard deviations and fall
    back to bisection inside the bracket. ``q`` broadcasts against the parameters (e.g.
    ``q=[0.03, 0.97]`` with a trailing axis of length 1 on the parameters).
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a_c, b_c, a_t, b_t, q)))
    shape = arrays[0].shape
    a_c, b_c, a_t, b_t, q = (v.reshape(-1) for v in arrays)
    m_c, sd_c, _, _ = beta_window(a_c, b_c)
    m_t, sd_t, _, _ = beta_window(a_t, b_t)
    z = special.ndtri(q)
    if relative:
        centre = np.log(m_t / m_c)
        spread = np.sqrt(sd_t ** 2 / m_t ** 2 + sd_c ** 2 / m_c ** 2)
        low, high = centre - 200 * spread, centre + 200 * spread
    else:
        centre = m_t - m_c
        spread = np.sqrt(sd_c ** 2 + sd_t ** 2)
        low, high = np.maximum(-1.0, centre - 200 * spread), np.minimum(1.0, centre + 200 * spread)
    u = np.clip(centre + z * spread, low, high)
    for _ in range(max_iter):
        v = np.expm1(u) if relative else u
        cdf, pdf = _lift_cdf_pdf(a_c, b_c, a_t, b_t, v, relative)
        if relative:
            pdf = pdf * (1.0 + v)                       # dF/du with v = e^u − 1
        g = cdf - q
        low = np.where(g < 0, np.maximum(low, u), low)
        high = np.where(g > 0, np.minimum(high, u), high)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.clip(g / pdf, -4 * spread, 4 * spread)
        new = u - step
        ok = np.isfinite(new) & (new > low) & (new < high)
        new = np.where(ok, new, (low + high) / 2)
        done = np.abs(new - u) <= tol * np.maximum(1.0, np.abs(u))
        u = new
        if np.all(done):
            break
    return (np.expm1(u) if relative else u).reshape(shape)


# --- normal–normal on the lift ------------------------------------------------------------------

def normal_lift_core(lift: ArrayLike, se: ArrayLike, *, prior_mean: ArrayLike = 0.0, prior_sd: ArrayLike = np.inf,
                     higher_is_better: bool = True, level: float = 0.94) -> tuple[Array, ...]:
    """Posterior of a lift with likelihood N(lift, se²) and prior N(prior_mean, prior_sd²).

    Returns ``(post_mean, post_sd, prob_better, expected_loss, lo, hi)`` where ``prob_better``
    and ``expected_loss`` (of shipping the variant) are in the metric's better direction.
    ``prior_sd=inf`` is the flat prior.
    """
    lift, se = np.asarray(lift, dtype=np.float64), np.asarray(se, dtype=np.float64)
    tau = np.asarray(prior_sd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(se > 0, 1.0 / (se * se), np.inf) + np.where(np.isinf(tau), 0.0, 1.0 / (tau * tau))
        mean = np.where(np.isinf(tau) | (se == 0), lift,
                        (lift / (se * se) + np.asarray(prior_mean) / (tau * tau)) / prec)
        sd = np.where(np.isinf(prec), 0.0, 1.0 / np.sqrt(prec))
        signed = mean if higher_is_better else -mean
        zval = np.where(sd > 0, signed / sd, np.where(signed > 0, np.inf, np.where(signed < 0, -np.inf, 0.0)))
    prob = np.where((sd == 0) & (signed == 0), 0.5, special.ndtr(zval))
    loss = np.where(sd > 0, sd * np.exp(-0.5 * zval * zval) / np.sqrt(2 * np.pi) - signed * special.ndtr(-zval),
                    np.maximum(-signed, 0.0))
    zq = -special.ndtri((1 - level) / 2)
    return mean, sd, prob, np.maximum(loss, 0.0), mean - zq * sd, mean + zq * sd


# --- friendly wrappers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BetaBinomialResult(ResultMixin):
    """Beta–Binomial comparison of every variant with the control (one experiment)."""

    variants: tuple[str, ...]
    control: str
    prior: tuple[float, float]
    level: float
    posterior_mean: tuple[float, ...]           # every arm, control first
    prob_best: tuple[float, ...]                # every arm, control first
    prob_beat_control: tuple[float, ...]        # per variant, in the better direction
    expected_loss: tuple[float, ...]            # per variant: E[loss] of shipping it
    lift_abs_ci: tuple[tuple[float, float], ...]
    lift_rel_ci: tuple[tuple[float, float], ...]
    higher_is_better: bool = True
    posterior_a: tuple[float, ...] = ()         # Beta(a, b) posterior of every arm, control first
    posterior_b: tuple[float, ...] = ()

    def plot(self) -> Any:
        """HoloViews overlay of every arm's Beta posterior of the rate (one curve per arm)."""
        from ..notebook import density_plot
        grid = beta_density_grid(self.posterior_a, self.posterior_b, (self.control, *self.variants))
        return density_plot(grid, title="Posterior of each arm's rate", xlabel="rate", unit="rate")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"variant": self.variants, "control": self.control,
                             "prob_beat_control": self.prob_beat_control, "expected_loss": self.expected_loss,
                             "lift_abs_lo": [c[0] for c in self.lift_abs_ci],
                             "lift_abs_hi": [c[1] for c in self.lift_abs_ci],
                             "lift_rel_lo": [c[0] for c in self.lift_rel_ci],
                             "lift_rel_hi": [c[1] for c in self.lift_rel_ci],
                             "prob_best": self.prob_best[1:]})


def beta_binomial(n: ArrayLike, successes: ArrayLike, *, prior: tuple[float, float] = (1.0, 1.0),
                  arms: Sequence[str] | None = None, higher_is_better: bool = True,
                  level: float = 0.94) -> BetaBinomialResult:
    """Beta–Binomial analysis of one experiment: counts per arm (control first).

    ``prior`` is Beta(a₀, b₀) for every arm (a category prior, say); ``level`` is the credible
    level of the equal-tailed lift intervals (Settings.credible_level is 0.94).
    """
    n_arr = check_finite_array("n", n, arms=arms, nonnegative=True)
    s_arr = check_finite_array("successes", successes, arms=arms, nonnegative=True)
    if n_arr.ndim != 1 or n_arr.shape != s_arr.shape:
        raise bad("bad_shape", "n and successes must be 1-D arrays of the same length (one entry per arm)",
                  column="n", value=str(n_arr.shape))
    if n_arr.size < 2:
        raise bad("single_arm", f"at least 2 arms are needed (a control and a variant); found {n_arr.size}",
                  column="n", value=int(n_arr.size))
    check_counts(n_arr, s_arr, arms=arms)
    zero = np.nonzero(n_arr == 0)[0]
    if zero.size:
        from ._checks import arm_label
        raise bad("zero_units", f"{arm_label((int(zero[0]),), arms)} has no units; every arm needs units",
                  column="n", row=int(zero[0]) + 1, value=0)
    a0, b0 = (float(v) for v in prior)
    if not (a0 > 0 and b0 > 0 and np.isfinite(a0) and np.isfinite(b0)):
        raise bad("bad_parameter", "the Beta prior needs two positive numbers (a0, b0)", column="prior",
                  value=str(prior))
    level = check_probability("level", level)
    names = tuple(arms) if arms is not None else tuple(f"arm{i}" for i in range(n_arr.size))
    a = a0 + s_arr
    b = b0 + n_arr - s_arr
    p_gt, loss_t, loss_c = beta_pair_core(a[0], b[0], a[1:], b[1:])
    prob = p_gt if higher_is_better else 1.0 - p_gt
    loss = loss_t if higher_is_better else loss_c
    q = np.array([(1 - level) / 2, (1 + level) / 2])
    abs_q = beta_lift_quantiles(a[0], b[0], a[1:, None], b[1:, None], q)
    rel_q = beta_lift_quantiles(a[0], b[0], a[1:, None], b[1:, None], q, relative=True)
    best = prob_best_beta(a, b, higher_is_better=higher_is_better)
    return BetaBinomialResult(
        variants=names[1:], control=names[0], prior=(a0, b0), level=level,
        posterior_mean=tuple((a / (a + b)).tolist()), prob_best=tuple(best.tolist()),
        prob_beat_control=tuple(prob.tolist()), expected_loss=tuple(loss.tolist()),
        lift_abs_ci=tuple((float(lo), float(hi)) for lo, hi in abs_q),
        lift_rel_ci=tuple((float(lo), float(hi)) for lo, hi in rel_q), higher_is_better=higher_is_better,
        posterior_a=tuple(a.tolist()), posterior_b=tuple(b.tolist()))


@dataclass(frozen=True)
class NormalLiftResult(ResultMixin):
    """Posterior of one lift under the normal–normal model."""

    post_mean: float
    post_sd: float
    prob_beat_control: float
    expected_loss: float
    ci: tuple[float, float]
    level: float
    prior_mean: float
    prior_sd: float | None

    def plot(self) -> Any:
        """HoloViews curve of the lift's normal posterior."""
        from ..notebook import density_plot
        grid = normal_density_grid([self.post_mean], [self.post_sd], ["posterior of the lift"])
        return density_plot(grid, title="Posterior of the lift", xlabel="lift", unit="value")


def normal_lift(lift: float, se: float, *, prior_mean: float = 0.0, prior_sd: float | None = None,
                higher_is_better: bool = True, level: float = 0.94) -> NormalLiftResult:
    """Normal–normal posterior of a lift (from a mean or ratio comparison) with an optional prior.

    >>> r = normal_lift(0.5, 0.25)
    >>> round(r.prob_beat_control, 4), round(r.expected_loss, 5)
    (0.9772, 0.00212)
    >>> round(normal_lift(0.5, 0.25, prior_sd=0.25).post_mean, 3)   # shrunk half-way to 0
    0.25
    """
    lift_f = float(check_finite_array("lift", lift))
    se_f = float(check_finite_array("se", se, nonnegative=True))
    level = check_probability("level", level)
    tau = np.inf
    if prior_sd is not None:
        tau = float(prior_sd)
        if not (tau > 0 and np.isfinite(tau)):
            raise bad("bad_parameter", "prior_sd must be a positive finite number (or None for a flat prior)",
                      column="prior_sd", value=prior_sd)
    m, sd, p, loss, lo, hi = normal_lift_core(lift_f, se_f, prior_mean=prior_mean, prior_sd=tau,
                                              higher_is_better=higher_is_better, level=level)
    return NormalLiftResult(float(m), float(sd), float(p), float(loss), (float(lo), float(hi)), level,
                            float(prior_mean), None if prior_sd is None else tau)
