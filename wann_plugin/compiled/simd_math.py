"""Branch-free SIMD versions of the transcendental functions the activations need.

sin(y), cos(y), exp(t) and tanh(x) on :mod:`~wann_plugin.compiled.lanes`: fdlibm's sin and
cos kernels after a three-part Cody-Waite reduction by pi/2; exp and expm1 as
``2**k (1 + p(r))`` with ``2**k`` built from its bits; tanh as ``m / (m + 2)``,
``m = expm1(2|x|)``, with one correction of the quotient. Measured against numpy on dense
grids and special values (``tests/test_compiled.py``): sin, cos, exp and the gaussian within
1 ulp, tanh within 2 ulp, the sigmoid within 2**-53 absolute (its ``+ 1`` cancels, in numpy
too); the last bit differs from numpy for about 1 input in 7 (numpy's own SIMD tanh and exp
differ from libm about as often). sin and cos use this path for ``|y| <= 2**40``; larger
arguments go to libm lane by lane. ``inf`` and ``nan`` give what numpy gives.
"""

from __future__ import annotations

import numba
import numpy as np

from wann_plugin.compiled.lanes import (
    LANES,
    vadd,
    vand,
    vany,
    vashr,
    vbits,
    vdiv,
    vfloat,
    vfma,
    vget,
    vgt,
    viadd,
    visub,
    vlt,
    vmul,
    vneg,
    vnonzero,
    vor,
    vsel,
    vset,
    vshl,
    vsub,
    vxor,
)

__all__ = ["SINCOS_FAST_LIMIT", "vabs", "vexp", "vsincos", "vtanh"]

_SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + _SHIFT - _SHIFT rounds x to an integer
_SHIFT_BITS = 0x4338000000000000
_ABS_MASK = 0x7FFFFFFFFFFFFFFF
_SIGN_MASK = -0x8000000000000000
# pi/2 in three parts (53 + 53 + 53 bits): q * _PIO2_1 is exact, y - q * _PIO2_1 too
_TWO_OVER_PI = 0.63661977236758138243
_PIO2_1 = float.fromhex("0x1.921fb54442d18p+0")
_PIO2_2 = float.fromhex("0x1.1a62633145c07p-54")
_PIO2_3 = -float.fromhex("0x1.f1976b7ed8fbcp-110")
#: sin and cos of ``pi * x`` use the polynomials for ``|pi * x| <= SINCOS_FAST_LIMIT``, libm
#: beyond (one ulp of ``pi * x`` is then 2**-12 and grows; the reduction stays exact well
#: past 2**40)
SINCOS_FAST_LIMIT = 2.0**40
# fdlibm's __kernel_sin / __kernel_cos on [-pi/4, pi/4]
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
# exp: k = round(t / ln 2), r = t - k ln 2 in two parts (k * _LN2_HI exact for |k| < 2**11)
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# expm1(r) = r + r^2 (1/2! + r/3! + ... + r^11/13!) on |r| <= ln(2)/2 (truncation < 1e-17)
_E2, _E3, _E4, _E5 = 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120
_E6, _E7, _E8, _E9 = 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880
_E10, _E11, _E12, _E13 = 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800


@numba.njit(error_model="numpy")
def _sincos_libm(y, odd, res):
    for j in range(LANES):
        v = vget(y, j)
        if abs(v) > SINCOS_FAST_LIMIT:
            res = vset(res, j, np.cos(v) if odd else np.sin(v))
    return res


@numba.njit(error_model="numpy")
def vsincos(y, odd):
    """sin(y) (odd=0) or cos(y) (odd=1) of the doubles y."""
    kd = vfma(y, _TWO_OVER_PI, _SHIFT)
    n = viadd(vbits(kd), odd)  # quadrant in the low bits; cos(y) = sin(y + pi/2)
    q = vsub(kd, _SHIFT)
    r = vfma(q, -_PIO2_1, y)  # exact
    r = vfma(q, -_PIO2_2, r)  # rounded once, relative to r: accurate near zeros too
    r = vfma(q, -_PIO2_3, r)
    z = vmul(r, r)
    w = vmul(z, z)
    ps = vadd(vfma(z, vfma(z, _S4, _S3), _S2), vmul(vmul(z, w), vfma(z, _S6, _S5)))
    s = vadd(r, vmul(vmul(z, r), vfma(z, ps, _S1)))
    pc = vadd(vmul(z, vfma(z, vfma(z, _C3, _C2), _C1)),
               vmul(vmul(w, w), vfma(z, vfma(z, _C6, _C5), _C4)))
    hz = vmul(z, 0.5)
    wc = vsub(1.0, hz)
    c = vadd(wc, vadd(vsub(vsub(1.0, wc), hz), vmul(z, pc)))
    res = vsel(vnonzero(vand(n, 1)), c, s)
    res = vfloat(vxor(vbits(res), vshl(vand(n, 2), 62)))
    y_abs = vfloat(vand(vbits(y), _ABS_MASK))
    if vany(vgt(y_abs, SINCOS_FAST_LIMIT)):
        res = _sincos_libm(y, odd, res)
    return res


@numba.njit(error_model="numpy")
def vexpm1_poly(r):
    """expm1(r), Estrin's scheme (short dependency chains)."""
    r2 = vmul(r, r)
    r4 = vmul(r2, r2)
    q0 = vfma(r2, vfma(r, _E5, _E4), vfma(r, _E3, _E2))
    q1 = vfma(r2, vfma(r, _E9, _E8), vfma(r, _E7, _E6))
    q2 = vfma(r2, vfma(r, _E13, _E12), vfma(r, _E11, _E10))
    p = vfma(vmul(r4, r4), q2, vfma(r4, q1, q0))
    return vfma(r2, p, r)


@numba.njit(error_model="numpy")
def vexp(t):
    """exp(t): 0 below -745, inf above 709.8, nan for nan."""
    t = vsel(vlt(t, -1000.0), -1000.0, t)
    t = vsel(vgt(t, 1000.0), 1000.0, t)
    kd = vfma(t, _LOG2E, _SHIFT)
    k = visub(vbits(kd), _SHIFT_BITS)
    kf = vsub(kd, _SHIFT)
    r = vfma(kf, -_LN2_LO, vfma(kf, -_LN2_HI, t))
    e = vadd(vexpm1_poly(r), 1.0)
    # 2**k as two normal factors so that subnormal results round once
    k1 = vashr(k, 1)
    s1 = vfloat(vshl(viadd(k1, 1023), 52))
    s2 = vfloat(vshl(viadd(visub(k, k1), 1023), 52))
    return vmul(vmul(e, s1), s2)


@numba.njit(error_model="numpy")
def vtanh(x):
    """tanh(x) = sign(x) * m / (m + 2), m = expm1(2|x|), with the quotient corrected once."""
    bx = vbits(x)
    t = vmul(vfloat(vand(bx, _ABS_MASK)), 2.0)
    t = vsel(vgt(t, 40.0), 40.0, t)  # tanh(20) rounds to 1
    kd = vfma(t, _LOG2E, _SHIFT)
    k = visub(vbits(kd), _SHIFT_BITS)
    kf = vsub(kd, _SHIFT)
    r = vfma(kf, -_LN2_LO, vfma(kf, -_LN2_HI, t))
    s = vfloat(vshl(viadd(k, 1023), 52))
    m = vfma(s, vexpm1_poly(r), vsub(s, 1.0))  # s - 1 is exact
    den = vadd(m, 2.0)
    big = vgt(m, 2.0)
    den_lo = vsub(vsel(big, 2.0, m), vsub(den, vsel(big, m, 2.0)))  # m + 2 - den, exact
    inv = vdiv(1.0, den)
    q = vmul(m, inv)
    q = vfma(vsub(vfma(vneg(q), den, m), vmul(q, den_lo)), inv, q)
    return vfloat(vor(vbits(q), vand(bx, _SIGN_MASK)))



@numba.njit(error_model="numpy")
def vabs(x):
    """``abs(x)`` (clears the sign bit: -0 -> 0, nan stays nan)."""
    return vfloat(vand(vbits(x), _ABS_MASK))
