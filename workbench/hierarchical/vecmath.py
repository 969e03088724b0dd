"""exp, log and log1p as plain arithmetic, so that numba's loops over them compile to SIMD code.

The hierarchical model's gradient (:mod:`.compiled_density`) evaluates ``log(1 + exp(x))`` and
``1/(1 + exp(−x))`` for every one of 30,000 arms at every leapfrog step. This numba has no SVML, so
``np.exp``/``np.log1p`` are scalar libm calls (together ~11 ns an arm, half of the gradient at
10,000 SKUs) and keep the loop from being vectorised. The functions below are the classic
algorithms written out — range reduction by powers of two (read and written through the bits of
the double) and the polynomials of fdlibm's ``e_log.c`` / a degree-13 Taylor series — so LLVM
vectorises the loops that inline them (AVX2/AVX-512: 4–8 arms at a time). They are accurate to
1–3 ulp over their domains (``tests/hierarchical/test_vecmath.py`` checks them against NumPy over
millions of points), so the log density is the same to rounding.

The callers must be compiled with ``error_model="numpy"``: numba's default ("python") guards every
division with a zero check that raises, and that branch alone keeps a loop scalar.

>>> import numpy as np
>>> bool(abs(softplus_sigmoid(-3.0)[0] - np.log1p(np.exp(-3.0))) < 1e-15)
True
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["FASTMATH", "exp_nonpositive", "log1p_unit", "log_positive", "softplus_sigmoid"]

# The same floating-point relaxations PyTensor's numba backend uses (no "nnan"/"ninf": the
# density's callbacks must still see non-finite values).
FASTMATH = {"arcp", "contract", "afn", "reassoc", "nsz"}

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01     # fdlibm's split of log(2): hi has trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_SQRT2M1 = 0.41421356237309503
_LG1 = 6.666666666666735130e-01          # fdlibm e_log.c: log(1+f) = f - hfsq + s*(hfsq + R(s²))
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52


@intrinsic
def _bits_to_double(typingctx, bits):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _double_to_bits(typingctx, value):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@numba.njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def exp_nonpositive(t: float) -> float:
    """exp(t) for t <= 0 (below −708, where exp underflows towards subnormals, exp(−708) ≈ 3e−308)."""
    t = max(t, -708.0)
    k = np.floor(t * _LOG2E + 0.5)
    r = (t - k * _LN2_HI) - k * _LN2_LO           # |r| <= log(2)/2: r^14/14! < 1e-17
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _bits_to_double((np.int64(k) + 1023) << 52)


@numba.njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def _log1p_reduced(f: float, dk: float) -> float:
    """dk·log(2) + log(1 + f) for f in [√2/2 − 1, √2 − 1] (fdlibm's ``__ieee754_log`` core)."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + dk * _LN2_LO)) - f)


@numba.njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def log1p_unit(e: float) -> float:
    """log(1 + e) for 0 <= e <= 1, accurate relative to the result also for tiny e."""
    big = e > _SQRT2M1
    return _log1p_reduced((e - 1.0) * 0.5 if big else e, 1.0 if big else 0.0)


@numba.njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def log_positive(x: float) -> float:
    """log(x) for a positive, normal, finite x."""
    bits = _double_to_bits(x)
    k = (bits >> 52) - 1023
    m = _bits_to_double((bits & _MANTISSA) | _ONE_BITS)     # x = 2^k · m, 1 <= m < 2
    big = m > 1.4142135623730951
    return _log1p_reduced(m * 0.5 - 1.0 if big else m - 1.0, float(k + 1) if big else float(k))


@numba.njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def softplus_sigmoid(x: float) -> tuple[float, float]:
    """log(1 + exp(x)) and 1 / (1 + exp(−x)), sharing one exponential, stable for any finite x."""
    e = exp_nonpositive(-abs(x))
    return max(x, 0.0) + log1p_unit(e), (1.0 if x >= 0 else e) / (1.0 + e)
