"""The hierarchical model's log density and gradient as compiled code cached on disk.

nutpie samples from any log density it can call through a C function pointer. Compiling the PyMC
model for it (PyTensor graph -> numba -> C callback) costs 6–10 s in every new process, because
the C callback wrapping the graph cannot be cached. This module holds the same log density,
written out with its gradient in numba and compiled *once*: ``numba.cfunc(..., cache=True)``
stores the machine code on disk, so a new process loads it in a fraction of a second. All data
travel in one float64 array passed as nutpie's ``user_data`` pointer, so nothing data-dependent
is baked into the compiled code.

It is the posterior of :func:`workbench.hierarchical.model.build_model` with
``parameterisation="mixed"`` or ``"noncentred"`` (``"adaptive"``: the non-centred model's), in
coordinates that let NUTS move the within-category lift SD ``sigma_delta`` freely (PyMC's own
coordinates mix it slowly: with a thin lift per SKU its posterior reaches down to 0, and each
SKU's standardised lift ``z`` is tied to it, so with 1,000 SKUs r_hat stayed at 1.01–1.05 after
6,000 draws):

- ``sigma_delta`` is sampled as a signed ``s`` with ``s ~ Normal(0, sigma_delta_sd)`` and
  ``sigma_delta = |s|`` (the same half-normal prior): no log-scale tail towards 0.
- each lift's standardised deviation is ``z = m(θ) + v(θ)·w`` and NUTS samples ``w``, where
  ``m`` and ``v²`` are the mean and variance of ``z`` given everything else under a normal
  approximation of the lift's own data (its empirical log-odds and their variance): ``w`` is
  then nearly independent of ``sigma_delta``. Thin lifts get ``m ≈ 0, v ≈ 1`` (non-centred);
  lifts whose data pin them get coordinates centred on their data. The change of coordinates is
  exact — the log density includes its log Jacobian ``Σ log v`` — only the approximation's
  quality varies, and with it how well the sampler mixes, not what it samples.

**"adaptive"** (the default) applies the same partial centring to every level: a SKU's baseline
``alpha = alpha_cat + sigma_alpha·z`` with ``z = m + v·w`` centred on its control arm's empirical
logit in proportion to that arm's information, a category's baseline and lift on the
precision-weighted mean of its members' (:func:`level_information`). A SKU with 20 units is then
non-centred and one with 3,000 centred, in the same model (Papaspiliopoulos, Roberts & Sköld 2007,
"A general framework for the parametrization of hierarchical models": the weight
``sigma²·iv/(1 + sigma²·iv)`` is their optimal one for a normal likelihood). Its posterior is the
"noncentred" model's (checked against PyMC's in the tests). "mixed"/"noncentred" keep PyMC's
coordinates for the baselines and category lifts.

Measured on the 50 × 20 benchmark world (``benchmarks/hierarchical.py``), 4 chains: at 1,500 draws
per chain the smallest ESS of ``sigma_delta`` rose from 120–170 to 570–870 (3 seeds); with the default
3,000 draws, max r_hat over every parameter was 1.002–1.009 over 15 seeds (it was 1.01–1.05 before).

Speed: the gradient is evaluated at every leapfrog step (~200,000 times in a 10,000-SKU fit), so
its loops are written for SIMD code: ``exp``/``log``/``log1p`` from :mod:`.vecmath` instead of
libm calls, ``error_model="numpy"`` (no zero-check branch on divisions), and each level's work
split into a gather of its centres, the arithmetic on contiguous arrays, then a scatter of the
centres' gradients; the forward pass keeps what the backward pass re-uses. One call at 10,000 SKUs
(21,006 parameters): 0.33 → 0.17 ms on this machine (``benchmarks/hierarchical_gradient.py``), the
same density to rounding.

The test suite checks log density and gradient against PyMC's at random points
(``tests/hierarchical/test_compiled_density.py``). Parameter layout on the unconstrained scale::

    mu_alpha, log tau_alpha, log sigma_alpha, mu_delta, log tau_delta, s (signed sigma_delta),
    alpha_cat[C] (or z_alpha_cat), alpha[S] (or z_alpha), z_delta_cat[C], w[L]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import types
from numpy.typing import NDArray

from .data import SkuData
from .spec import TRACE_VARS, Priors
from .vecmath import FASTMATH as _FASTMATH
from .vecmath import log_positive, softplus_sigmoid

__all__ = ["pack_data", "logp_and_grad", "expand", "n_params", "CompiledDensityModel", "compiled_model",
           "initial_point", "COMPILED_PARAMETERISATIONS", "lift_data_approximation", "empirical_logit"]

COMPILED_PARAMETERISATIONS = ("mixed", "noncentred", "adaptive")

_HEADER = 12


def pack_data(data: SkuData, priors: Priors = Priors(), parameterisation: str = "mixed") -> NDArray[np.float64]:
    """All inputs in one float64 array: sizes, prior scales, the parameterisation, counts and indexes.

    Besides the counts it carries, for every level, the data approximation the coordinates are
    centred on (:func:`level_information`): zeros for "mixed"/"noncentred" (PyMC's coordinates).
    """
    parts = [data.control_n, data.control_y, data.sku_category.astype(np.float64), data.lift_n, data.lift_y,
             data.lift_sku.astype(np.float64), data.lift_category.astype(np.float64)]
    yhat, inv_var = lift_data_approximation(data)
    levels = level_information(data, adaptive=parameterisation == "adaptive")
    body = np.concatenate(parts + [yhat, inv_var] + list(levels))
    head = np.array([_HEADER + body.size, data.n_categories, data.n_skus, data.n_lifts,
                     data.pooled_control_logit(), priors.mu_alpha_sd, priors.tau_alpha_sd, priors.sigma_alpha_sd,
                     priors.mu_delta_sd, priors.tau_delta_sd, priors.sigma_delta_sd,
                     1.0 if parameterisation == "mixed" else 0.0])
    return np.ascontiguousarray(np.concatenate([head, body]))


def _between_sd(est: NDArray[np.float64], var: NDArray[np.float64], floor: float) -> float:
    """Method-of-moments SD of the true values behind noisy estimates (at least ``floor``)."""
    w = 1.0 / var
    centre = float((w * est).sum() / w.sum())
    excess = float(((est - centre) ** 2 - var).mean())
    return max(float(np.sqrt(max(excess, 0.0))), floor)


def _category_information(est: NDArray[np.float64], var: NDArray[np.float64], between: float,
                          group: NDArray[np.int64], n_groups: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Precision-weighted category means of ``est`` and their precision, members spread by ``between``."""
    w = 1.0 / (between**2 + var)
    prec = np.bincount(group, w, minlength=n_groups)
    mean = np.bincount(group, w * est, minlength=n_groups) / np.maximum(prec, 1e-300)
    return mean, prec


def level_information(data: SkuData, *, adaptive: bool = True) -> tuple[NDArray[np.float64], ...]:
    """What the data say about each baseline and category effect, on the logit scale: (estimate, precision).

    Returns, in order, for the category baselines, the SKU baselines and the category lifts: their
    estimates then their precisions (six arrays). The SKU baseline's is its control arm's empirical
    logit with precision ``1/(1/(y + ½) + 1/(n − y + ½))`` (about n·p·(1 − p)); a category's is the
    precision-weighted mean of its members' estimates, each member's variance increased by a
    method-of-moments estimate of the spread between members. They only choose the coordinates
    (how far each parameter is centred on its data), never the posterior. ``adaptive=False``: zero
    precision everywhere (fully non-centred coordinates).
    """
    C, S = data.n_categories, data.n_skus
    if not adaptive:
        return (np.zeros(C), np.zeros(C), np.zeros(S), np.zeros(S), np.zeros(C), np.zeros(C))
    y0, n0 = data.control_y, data.control_n
    e0 = empirical_logit(y0, n0)
    iv0 = 1.0 / (1.0 / (y0 + 0.5) + 1.0 / (n0 - y0 + 0.5))
    sa = _between_sd(e0, 1.0 / iv0, 0.05)
    a_mean, a_prec = _category_information(e0, 1.0 / iv0, sa, data.sku_category, C)
    yl, vl = lift_data_approximation(data)
    d = yl - e0[data.lift_sku]
    vd = 1.0 / vl + 1.0 / iv0[data.lift_sku]
    sd = _between_sd(d, vd, 0.02)
    d_mean, d_prec = _category_information(d, vd, sd, data.lift_category, C)
    return a_mean, a_prec, e0, iv0, d_mean, d_prec


def empirical_logit(y: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """log((y + 0.5) / (n − y + 0.5)): an arm's empirical log-odds, finite at 0 and n conversions."""
    return np.log((y + 0.5) / (n - y + 0.5))


def lift_data_approximation(data: SkuData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each variant arm's empirical log-odds and the inverse of their sampling variance (+0.5 counts)."""
    y, n = data.lift_y, data.lift_n
    return empirical_logit(y, n), 1.0 / (1.0 / (y + 0.5) + 1.0 / (n - y + 0.5))


def n_params(data: SkuData) -> int:
    return 6 + 2 * data.n_categories + data.n_skus + data.n_lifts


@numba.njit(cache=True, inline="always")
def _unpack(blob: NDArray[np.float64]) -> tuple:  # type: ignore[type-arg]
    """The data views of :func:`pack_data`'s array, in its order."""
    C, S, L = int(blob[1]), int(blob[2]), int(blob[3])
    o = _HEADER
    n0 = blob[o:o + S]; o += S
    y0 = blob[o:o + S]; o += S
    sku_cat = blob[o:o + S]; o += S
    n1 = blob[o:o + L]; o += L
    y1 = blob[o:o + L]; o += L
    lift_sku = blob[o:o + L]; o += L
    lift_cat = blob[o:o + L]; o += L
    yhat = blob[o:o + L]; o += L
    inv_var = blob[o:o + L]; o += L
    lev = blob[o:o + 4 * C + 2 * S]
    return C, S, L, blob[11] > 0.5, n0, y0, sku_cat, n1, y1, lift_sku, lift_cat, yhat, inv_var, lev


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _lift_z(sd: float, iv: float, res: float, w: float) -> tuple[float, float, float, float]:
    """A standardised deviation z = a·res + v·w (module docstring), with a, v and 1/(1 + sd²·iv)."""
    prec = 1.0 + sd * sd * iv
    inv_prec = 1.0 / prec
    v = np.sqrt(inv_prec)
    a = sd * iv * inv_prec
    return a * res + v * w, a, v, inv_prec


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _level(centre: NDArray[np.float64], group: NDArray[np.float64], s: float, data: NDArray[np.float64],
           iv: NDArray[np.float64], w: NDArray[np.float64], out: NDArray[np.float64], keep: NDArray[np.float64]
           ) -> float:
    """out[i] = centre[group[i]] + s·z_i in partially centred coordinates; returns their log density terms.

    ``keep`` (5, n) receives z, a, v, 1/(1 + s²·iv) and res of every entry for :func:`_level_back`.
    """
    for i in range(w.size):                  # gather first: the loop below then compiles to SIMD code
        out[i] = centre[int(group[i])]
    lp = 0.0
    for i in range(w.size):
        m = out[i]
        res = data[i] - m
        z, a, v, inv_prec = _lift_z(s, iv[i], res, w[i])
        out[i] = m + s * z
        keep[0, i], keep[1, i], keep[2, i], keep[3, i], keep[4, i] = z, a, v, inv_prec, res
        lp -= 0.5 * z * z + 0.5 * log_positive(1.0 + s * s * iv[i])     # with the log Jacobian
    return lp


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _level_back(group: NDArray[np.float64], s: float, iv: NDArray[np.float64], w: NDArray[np.float64],
                g: NDArray[np.float64], g_centre: NDArray[np.float64], keep: NDArray[np.float64]) -> float:
    """Back-propagates :func:`_level`: g (d/d out) becomes d/dw in place; adds d/d centre; returns d/ds.

    Chain rule through x = m + s·z, z = a·res + v·w (res = data − m), with the terms
    −z²/2 − log(1 + s²·iv)/2 that the coordinate adds; z, a, v, 1/(1 + s²·iv) and res from ``keep``.
    """
    n = w.size
    gm = np.empty(n)
    g_s = 0.0
    for i in range(n):                       # SIMD arithmetic, then scatter
        z, a, v, inv_prec, res = keep[0, i], keep[1, i], keep[2, i], keep[3, i], keep[4, i]
        ivi = iv[i]
        g_z = -z + s * g[i]
        g_s += z * g[i] - s * ivi * inv_prec + g_z * (res * (1.0 - s * s * ivi) * ivi * inv_prec * inv_prec
                                                       - w[i] * s * ivi * v * inv_prec)
        gm[i] = g[i] - a * g_z
        g[i] = v * g_z
    for i in range(n):
        g_centre[int(group[i])] += gm[i]
    return g_s


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _lift_terms(sd: float, base: NDArray[np.float64], yhat: NDArray[np.float64], inv_var: NDArray[np.float64],
                n1: NDArray[np.float64], y1: NDArray[np.float64], w: NDArray[np.float64], g_w: NDArray[np.float64],
                q: NDArray[np.float64]) -> tuple[float, float]:
    """The lifts' log density terms (binomial likelihood, z's prior, log Jacobian) and their gradient.

    Lift l has eta = base[l] + sd·z, z = a·res + v·w[l] with res = yhat[l] − base[l]
    (:func:`_lift_z`). Writes d/dw into ``g_w`` and d/d(base) into ``q``; returns the log density
    and d/d(sd). No gathers, scatters or branches: the loop compiles to SIMD code.
    """
    lp = 0.0
    g_sd = 0.0
    for l in range(base.size):
        b = base[l]
        iv = inv_var[l]
        res = yhat[l] - b
        wl = w[l]
        prec = 1.0 + sd * sd * iv
        z, a, v, inv_prec = _lift_z(sd, iv, res, wl)
        eta = b + sd * z
        sp, sg = softplus_sigmoid(eta)
        lp += -0.5 * z * z + y1[l] * eta - n1[l] * sp - 0.5 * log_positive(prec)
        r = y1[l] - n1[l] * sg                      # d loglik / d eta
        g_z = -z + sd * r
        q[l] = r - a * g_z                          # d / d(alpha, m) through eta and res
        g_w[l] = v * g_z
        g_sd += z * r - sd * iv * inv_prec + g_z * (res * (1.0 - sd * sd * iv) * iv * inv_prec * inv_prec
                                                     - wl * sd * iv * v * inv_prec)
    return lp, g_sd


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _state(x: NDArray[np.float64], blob: NDArray[np.float64]) -> tuple:  # type: ignore[type-arg]
    """Hyperparameters, baselines (category and SKU), category lifts, and their coordinates' log density."""
    C, S, L, centred, n0, y0, sku_cat, n1, y1, lift_sku, lift_cat, yhat, inv_var, lev = _unpack(blob)
    mu_a, ta, sa, mu_d, td, sd = x[0], np.exp(x[1]), np.exp(x[2]), x[3], np.exp(x[4]), x[5]
    zero_group = np.zeros(C)
    a_cat = np.empty(C)
    alpha = np.empty(S)
    d_cat = np.empty(C)
    keep_acat = np.empty((5, C))            # what each level's back-propagation re-uses (_level)
    keep_alpha = np.empty((5, S))
    keep_dcat = np.empty((5, C))
    lp = 0.0
    if centred:
        a_cat[:] = x[6:6 + C]
        alpha[:] = x[6 + C:6 + C + S]
    else:
        lp += _level(np.array([mu_a]), zero_group, ta, lev[:C], lev[C:2 * C], x[6:6 + C], a_cat, keep_acat)
        lp += _level(a_cat, sku_cat, sa, lev[2 * C:2 * C + S], lev[2 * C + S:2 * C + 2 * S], x[6 + C:6 + C + S],
                     alpha, keep_alpha)
    lp += _level(np.array([mu_d]), zero_group, td, lev[2 * C + 2 * S:3 * C + 2 * S], lev[3 * C + 2 * S:],
                 x[6 + C + S:6 + 2 * C + S], d_cat, keep_dcat)
    return mu_a, ta, sa, mu_d, td, sd, a_cat, alpha, d_cat, lp, keep_acat, keep_alpha, keep_dcat


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def logp_and_grad(x: NDArray[np.float64], blob: NDArray[np.float64], grad: NDArray[np.float64]) -> float:
    """Log density (up to a constant) at ``x``; writes the gradient into ``grad``."""
    C, S, L, centred, n0, y0, sku_cat, n1, y1, lift_sku, lift_cat, yhat, inv_var, lev = _unpack(blob)
    m0, s_ma, s_ta, s_sa, s_md, s_td, s_sd = blob[4], blob[5], blob[6], blob[7], blob[8], blob[9], blob[10]
    mu_a, ta, sa, mu_d, td, sd, a_cat, alpha, d_cat, lp, keep_acat, keep_alpha, keep_dcat = _state(x, blob)
    u_ta, u_sa, u_td = x[1], x[2], x[4]
    xa = x[6 + C:6 + C + S]                  # alpha (centred) or its coordinates
    zl = x[6 + 2 * C + S:6 + 2 * C + S + L]
    g_acat = grad[6:6 + C]
    g_alpha = grad[6 + C:6 + C + S]
    g_dcat = grad[6 + C + S:6 + 2 * C + S]
    g_zl = grad[6 + 2 * C + S:6 + 2 * C + S + L]

    lp += (-0.5 * ((mu_a - m0) / s_ma) ** 2 - 0.5 * (ta / s_ta) ** 2 + u_ta - 0.5 * (sa / s_sa) ** 2 + u_sa
           - 0.5 * (mu_d / s_md) ** 2 - 0.5 * (td / s_td) ** 2 + u_td - 0.5 * (sd / s_sd) ** 2)
    g_mu_a = -(mu_a - m0) / s_ma ** 2
    g_u_ta = -(ta / s_ta) ** 2 + 1.0
    g_u_sa = -(sa / s_sa) ** 2 + 1.0
    g_mu_d = -mu_d / s_md ** 2
    g_u_td = -(td / s_td) ** 2 + 1.0
    g_sd = -sd / s_sd ** 2

    # Likelihood: control arms, then variant arms. g_alpha collects d(log density)/d(alpha).
    for j in range(S):
        sp, sg = softplus_sigmoid(alpha[j])
        lp += y0[j] * alpha[j] - n0[j] * sp
        g_alpha[j] = y0[j] - n0[j] * sg
    # Lifts: delta = m + sd*z with m = delta_cat[c] and z = a*res + v*w (module docstring), so
    # every gradient that reaches z also flows on through a (via sd) and res (via alpha, m).
    # Three passes so that the middle one, all the arithmetic, compiles to SIMD code: gather each
    # lift's alpha[j] + m, the lifts' terms on contiguous arrays, then scatter d/d(alpha, m).
    base = np.empty(L)
    q_lift = np.empty(L)
    for l in range(L):
        base[l] = alpha[int(lift_sku[l])] + d_cat[int(lift_cat[l])]
    lp_l, g_sd_l = _lift_terms(sd, base, yhat, inv_var, n1, y1, zl, g_zl, q_lift)
    lp += lp_l
    g_sd += g_sd_l
    for c in range(C):
        g_dcat[c] = 0.0
    for l in range(L):
        g_alpha[int(lift_sku[l])] += q_lift[l]
        g_dcat[int(lift_cat[l])] += q_lift[l]
    zero_group = np.zeros(C)
    g_centre = np.zeros(1)
    g_u_td += td * _level_back(zero_group, td, lev[3 * C + 2 * S:], x[6 + C + S:6 + 2 * C + S], g_dcat, g_centre,
                               keep_dcat)
    g_mu_d += g_centre[0]

    if centred:
        # a_cat ~ Normal(mu_a, ta), alpha ~ Normal(a_cat[c], sa).
        inv_ta2 = 1.0 / (ta * ta)
        q = 0.0
        for c in range(C):
            r = a_cat[c] - mu_a
            q += r * r
            g_acat[c] = -r * inv_ta2
            g_mu_a += r * inv_ta2
        lp += -0.5 * q * inv_ta2 - C * u_ta
        g_u_ta += q * inv_ta2 - C
        inv_sa2 = 1.0 / (sa * sa)
        q = 0.0
        for j in range(S):
            c = int(sku_cat[j])
            r = alpha[j] - a_cat[c]
            q += r * r
            g_alpha[j] += -r * inv_sa2
            g_acat[c] += r * inv_sa2
        lp += -0.5 * q * inv_sa2 - S * u_sa
        g_u_sa += q * inv_sa2 - S
    else:
        # Chain rule through alpha = a_cat[c] + sa*z and a_cat = mu_a + ta*z_cat (partially centred z's).
        for c in range(C):
            g_acat[c] = 0.0
        g_u_sa += sa * _level_back(sku_cat, sa, lev[2 * C + S:2 * C + 2 * S], xa, g_alpha, g_acat, keep_alpha)
        g_centre[0] = 0.0
        g_u_ta += ta * _level_back(zero_group, ta, lev[C:2 * C], x[6:6 + C], g_acat, g_centre, keep_acat)
        g_mu_a += g_centre[0]

    grad[0], grad[1], grad[2], grad[3], grad[4], grad[5] = g_mu_a, g_u_ta, g_u_sa, g_mu_d, g_u_td, g_sd
    return lp


@numba.njit(cache=True)
def expand(x: NDArray[np.float64], blob: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """Trace values in the order of ``TRACE_VARS``: alpha, delta, alpha_cat, delta_cat, then scalars."""
    C, S, L, centred, _, _, sku_cat, _, _, lift_sku, lift_cat, yhat, inv_var, lev = _unpack(blob)
    mu_a, ta, sa, mu_d, td, sd, a_cat, alpha, d_cat = _state(x, blob)[:9]
    zl = x[6 + 2 * C + S:6 + 2 * C + S + L]
    out[:S] = alpha
    k = S
    for l in range(L):
        m = d_cat[int(lift_cat[l])]
        z = _lift_z(sd, inv_var[l], yhat[l] - alpha[int(lift_sku[l])] - m, zl[l])[0]
        out[k] = m + sd * z
        k += 1
    for c in range(C):
        out[k] = a_cat[c]
        k += 1
    for c in range(C):
        out[k] = d_cat[c]
        k += 1
    out[k], out[k + 1], out[k + 2], out[k + 3], out[k + 4], out[k + 5] = mu_a, ta, sa, mu_d, td, abs(sd)


@numba.njit(cache=True, fastmath={"reassoc", "nsz", "contract"}, error_model="numpy")
def _all_finite(g: NDArray[np.float64]) -> bool:
    """Whether every entry is finite: inf·0 and NaN·0 are NaN, so one SIMD sum answers."""
    acc = 0.0
    for i in range(g.size):
        acc += g[i] * 0.0
    return acc == 0.0


_LOGP_SIG = types.int64(types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                        types.CPointer(types.double), types.voidptr)
_EXPAND_SIG = types.int64(types.uint64, types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                          types.voidptr)


@numba.cfunc(_LOGP_SIG, cache=True)
def _c_logp(dim, x_, grad_, logp_, user_data_):  # type: ignore[no-untyped-def]
    head = numba.carray(user_data_, (1,), np.float64)
    blob = numba.carray(user_data_, (int(head[0]),), np.float64)
    x = numba.carray(x_, (dim,))
    grad = numba.carray(grad_, (dim,))
    out = numba.carray(logp_, (1,))
    value = logp_and_grad(x, blob, grad)
    out[0] = value
    if not _all_finite(grad):
        return 3
    if not np.isfinite(value):
        return 4
    return 0


@numba.cfunc(_EXPAND_SIG, cache=True)
def _c_expand(dim, n_expanded, x_, out_, user_data_):  # type: ignore[no-untyped-def]
    head = numba.carray(user_data_, (1,), np.float64)
    blob = numba.carray(user_data_, (int(head[0]),), np.float64)
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (n_expanded,))
    expand(x, blob, out)
    return 0


def initial_point(data: SkuData, seed: int | np.integer | None, parameterisation: str = "mixed") -> NDArray[np.float64]:
    """A jittered starting point: empirical logits shrunk towards the pooled rate, small scales."""
    rng = np.random.default_rng(None if seed is None else int(seed) % 2**63)
    m0 = data.pooled_control_logit()
    head = np.array([m0, np.log(0.3), np.log(0.3), 0.0, np.log(0.05), 0.05]) + rng.uniform(-0.5, 0.5, 6)
    head[5] = rng.uniform(0.02, 0.1)
    z = rng.uniform(-1, 1, data.n_categories + data.n_lifts)
    if parameterisation != "mixed":    # partially centred coordinates start near the data by construction
        return np.concatenate([head, rng.uniform(-1, 1, data.n_categories + data.n_skus), z])
    emp = empirical_logit(data.control_y, data.control_n)
    alpha = 0.5 * (emp + m0) + 0.1 * rng.uniform(-1, 1, data.n_skus)
    a_cat = np.array([alpha[data.sku_category == c].mean() for c in range(data.n_categories)])
    return np.concatenate([head, a_cat, alpha, z])


@dataclass(frozen=True)
class CompiledDensityModel:
    """What :func:`compiled_model` returns: a nutpie model plus the data blob it points into."""

    model: Any
    blob: NDArray[np.float64]


def compiled_model(data: SkuData, priors: Priors = Priors(), parameterisation: str = "mixed") -> CompiledDensityModel:
    """A nutpie model that samples the "mixed" or "noncentred" model through the cached C callbacks."""
    from nutpie.compile_pymc import CompiledPyMCModel

    if parameterisation not in COMPILED_PARAMETERISATIONS:
        raise ValueError(f"no compiled density for {parameterisation!r}")
    blob = pack_data(data, priors, parameterisation)
    blob.flags.writeable = False
    C, S, L = data.n_categories, data.n_skus, data.n_lifts
    shapes = [(S,), (L,), (C,), (C,), (), (), (), (), (), ()]
    names = list(TRACE_VARS)
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes)
    slices = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
    model = CompiledPyMCModel(
        _n_dim=n_params(data), dims={}, _coords={}, _shapes=dict(zip(names, shapes)),
        compiled_logp_func=_c_logp, compiled_expand_func=_c_expand,
        initial_point_func=lambda seed: initial_point(data, seed, parameterisation),
        shared_data={}, shared_var_keys={}, user_data=blob, n_expanded=int(offsets[-1]),
        shape_info=(names, slices, [np.asarray(s, dtype=np.int64) for s in shapes]),
        logp_func=None, expand_func=None,
    )
    return CompiledDensityModel(model=model, blob=blob)
