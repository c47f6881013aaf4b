# cython: language_level=3, cdivision=True
#
# fastact point formulas: every activation's forward value and derivative at
# one point, written once.  Every loop of the library (float64, float32,
# forward, derivative, fused backward, gated variants) calls these, so the SIMD
# body and the scalar tail of a loop compute the same bits by construction.
#
# Design
# ------
# * Everything is computed in double.  The float32 loops convert, call these
#   and round once to float32, so a result that is within ~2 ULP in double is
#   correctly rounded or within 1 float32 ULP; float32 accuracy comes for free.
#   (Exceptions, native float with the same bits or within SPEC: relu,
#   leaky_relu and the prelu/rrelu slopes, hardsigmoid, sigmoid/tanh, and
#   elu'/selu', see the float32 flavours.)  At the FMA levels (AVX2,
#   AVX-512) the exp-based activations' float32 loops and a few float64 ones
#   call the native kernels of _native32.h / _native64.h instead (the
#   kernel template's FMA32 and FMA64 say which); these formulas stay their
#   baseline, their fallback outside the native windows, and the reference
#   the native ones are held to.
# * Stable forms.  Exponentials are only ever taken of -|z| (never overflow,
#   and 1 + e never cancels); the second sigmoid of a derivative is computed
#   directly (sigma(-x) = e/(1+e)), never as 1 - sigma(x); tanh' is 4e/(1+e)^2,
#   not 1 - tanh^2; ELU/SELU use expm1.  Such forms keep the relative error
#   small in the tails where the naive form cancels to 0 (sigmoid'(20),
#   gelu(-8)).
# * Arguments that an exp/erfc amplifies (x/sqrt2, x^2/2, beta*x, tanh-gelu's
#   u) are carried in double-double (_dd.pxd) and their low part is folded in
#   to first order: exp(h + l) = exp(h) * (1 + l).
# * Subnormal tails.  Where a result is "something * exp(a)" and exp(a) is
#   subnormal (a < -700), exp(a) itself has an absolute error of half the
#   smallest subnormal, and multiplying it by x (silu(-740) = -740*e^-740)
#   would multiply that error by |x|.  _exp_dd_scaled and _exp_scaled
#   return exp(a)*2^64 in that range and the formula multiplies by 2^-64
#   last, so the result is rounded into the subnormal range exactly once.
# * Branch-free: every choice is a C ternary select (Cython's `a if c else b`)
#   over values computed on all lanes, so gcc can if-convert and vectorize once
#   the libm calls are replaced.  Both sides of a select are evaluated, so both
#   must be harmless (no trap matters: the build uses -fno-trapping-math).
# * No libm: exp, expm1, log1p, tanh and the normal distribution's tail (a
#   Mills-ratio polynomial instead of erfc) come from _vmath.pxd, branch-free
#   polynomials that gcc vectorizes at every ISA level.  Their Horner steps
#   are mla (_dd.pxd): fused at AVX2/AVX-512, so those two levels compute the
#   same bits and baseline may differ by a few ULP.  gcc may mask mla
#   work written inside a select's arm, and masked-off lanes can then run
#   slowly (elu_forward was 3x slower for x > 0 until its expm1 moved before
#   the select): time both signs when adding one.
# * float32 flavours: every NAME_forward/NAME_derivative has a NAME_forward32 /
#   NAME_derivative32 beside it for the float32 loops.  They compute in double
#   too, but without the double-double corrections and subnormal pre-scaling
#   (double has 29 spare bits over float32, and float32's range ends at
#   e^-103), so they are several times cheaper; the result, rounded once to
#   float32, is within ~0.5-1 float32 ULP.
#
# Special values (SPEC section 4)
# -------------------------------
# * NaN in -> NaN out, forward and derivative, including the piecewise
#   functions: every comparison used to pick a constant is arranged so that
#   NaN falls through to an arithmetic path, or _nan_or() restores it.
# * -0.0 as PyTorch: relu, leaky_relu, elu, selu, gelu, silu, mish, hardswish
#   map -0.0 to -0.0.
# * +-inf give the mathematical limit.  inf * 0 never reaches the output:
#   inputs are clamped (NaN-preserving, see _clamp_lo/_clamp_hi) to a range
#   beyond which the result is already constant in double, or a select
#   returns the signed zero.
#
# Parameters are assumed validated by the Python layer: finite, softplus
# beta != 0, elu alpha / leaky slope / swish beta finite.
#
# Accuracy, measured against mpmath in double: see the report of the issue
# that introduced this file; targets are SPEC section 5 (forward <= 2 ULP,
# derivative <= 4 ULP, abs <= 4 eps near a zero of the derivative).

from libc.math cimport fabs, fabsf, copysignf, copysign, frexp, nextafter, INFINITY
from libc.stdint cimport uint64_t

from _vmath cimport (vm_c_exp, vm_exp_2s, vm_exp_dd_2s, vm_expm1, vm_expm1_dd,
                     vm_log1p01_dd, vm_tanh, vm_mills_g, vm_mills_r32, vm_exp_f32g, vm_expm1_f32g,
                     vm_log1p01_f32g, vmf_c_exp, vmf_sigmoid,
                     vmf_sigmoid_deriv, vmf_tanh, vmf_tanh_deriv, vmf_hardsigmoid, fa_vm_bits,
                     fa_vm_from_bits, FA_VM_LN2_HI, FA_VM_LN2_LO, FA_VM_TWO52_BITS)

from _dd cimport (dd_t, dd_make, dd_two_prod, dd_fast_two_sum, dd_two_sum,
                  dd_mul_d, dd_mul_dd, dd_add_d, dd_mul_const, dd_div_to_d, mla, mlaf,
                  FUSED_MLA)


cdef extern from *:
    """
    /* fastact formula constants: hi + lo pairs are the exact value split
       into two doubles (computed with mpmath at 60 digits). */
    static const double FA_SQRT_2_OVER_PI_HI = 0x1.9884533d43651p-1;
    static const double FA_SQRT_2_OVER_PI_LO = -0x1.cbc0d30ebfd15p-55;
    static const double FA_GELU_C_HI = 0x1.6e4e26d4801f7p-5;   /* 0.044715 */
    static const double FA_GELU_C_LO = 0x1.441355475a31ap-59;
    static const double FA_INV_SQRT2_HI = 0x1.6a09e667f3bcdp-1;
    static const double FA_INV_SQRT2_LO = -0x1.bdd3413b26456p-55;
    static const double FA_INV_SQRT_2PI_HI = 0x1.9884533d43651p-2;
    static const double FA_INV_SQRT_2PI_LO = -0x1.cbc0d30ebfd15p-56;
    static const double FA_TWO_OVER_SQRT_PI = 0x1.20dd750429b6dp+0;
    static const double FA_SQRT_2_OVER_PI = 0x1.9884533d43651p-1;
    static inline __attribute__((always_inline))
    double fa_poly_zero(double t, const double* c, int n) {
        double p = c[n - 1];
        #pragma GCC unroll 32
        for (int i = n - 2; i >= 0; i--)
            p = fa_mla(p, t, c[i]);
        return t * p;
    }
    static const double FA_TWO_M64 = 0x1p-64;
    static const double FA_TWO_P64 = 0x1p64;
    static const double FA_TWO_M1000 = 0x1p-1000;
    static const uint64_t FA_SIGN_MANT_MASK = 0x800fffffffffffffULL;
    static const uint64_t FA_ONE_BITS = 0x3ff0000000000000ULL;
    static const uint64_t FA_EXP_FIELD = 0x7ffULL;
    static const double FA_SELU_SCALE_HI = 0x1.0cfabd6a91132p+0;
    static const double FA_SELU_SCALE_LO = 0x1.6fc7d272f2695p-55;
    static const double FA_SELU_SA_HI = 0x1.c212cc640f031p+0;  /* scale*alpha */
    static const double FA_SELU_SA_LO = 0x1.05161b045a1fep-56;

    /* Derivatives near their zero x0 (SPEC 5: 4 ULP just outside the
       +-0.05 window, where the plain formula cancels two ~0.25 terms):
       f'(x) = t * P(t), t = (x - Z0_HI) - Z0_LO, P = DP[0] + DP[1] t + ...
       (P has no zero on the interval, so Horner in double is good to ~1
       ULP relative).  Fitted with mpmath (60 digits): x0 by findroot, P by
       mpmath.chebyfit of f'(x0 + t)/t on the t interval below, coefficients
       rounded to double; "maxrel" is the measured max relative error of
       the rounded polynomial against f'(x0 + t)/t on 801 points (exact
       evaluation, so Horner's own rounding comes on top). */
    /* gelu_erf: x0=-0.75179152469356445746 t in [-1.05, 0.5] deg 22 maxrel 6.45e-17 (0.58 ulp) */
    static const double FA_GELU_ERF_Z0_HI = -0x1.80ead197f00b4p-1;
    static const double FA_GELU_ERF_Z0_LO = 0x1.13e74c58cada8p-56;
    static const double FA_GELU_ERF_DP[23] = {
        0x1.b9d98fa5a3215p-2, 0x1.8d9a941de3ac5p-2, -0x1.2a2ef9bb865aep-6,
        -0x1.d2fa4c17c7e84p-4, -0x1.e4088244f9013p-7, 0x1.3e346def4204cp-6,
        0x1.297b9d6ffa809p-8, -0x1.258a6d85630bap-9, -0x1.8680f74e5388ap-11,
        0x1.86c863b68ff37p-13, 0x1.6961091dd5db6p-14, -0x1.784acb1f8f562p-17,
        -0x1.03fec58379243p-17, 0x1.d0c3db4309c76p-22, 0x1.322a1335a1b3cp-21,
        -0x1.ba4b8d0ba2083p-30, -0x1.309d4cefd14acp-25, -0x1.7dc19108b0dcdp-30,
        0x1.071c4f3e3d856p-29, 0x1.3e9f73924436dp-33, -0x1.be00a2213171bp-34,
        -0x1.7904e5318f99cp-36, -0x1.fbbfbf1ca705dp-41,
    };
    /* gelu_tanh: x0=-0.75246142207101625849 t in [-0.55, 0.45] deg 16 maxrel 6.61e-17 (0.59 ulp) */
    static const double FA_GELU_TANH_Z0_HI = -0x1.81429f9e97e4dp-1;
    static const double FA_GELU_TANH_Z0_LO = 0x1.4f523ed77dbdcp-55;
    static const double FA_GELU_TANH_DP[17] = {
        0x1.b8bacd2c96b91p-2, 0x1.8cd1a2b2fff33p-2, -0x1.029615edb0254p-6,
        -0x1.d2b77346470f5p-4, -0x1.104a83ede00dcp-6, 0x1.427996dc125b8p-6,
        0x1.58c9ed833694fp-8, -0x1.3d8d63f14c655p-9, -0x1.e63f336e429adp-11,
        0x1.14bf6cd02e94ep-12, 0x1.0494f878afd34p-13, -0x1.25311cb4d17f9p-15,
        -0x1.0bdbe59d480c4p-16, 0x1.8b0eb9448b50dp-18, 0x1.4b432a03f98bfp-19,
        -0x1.db85df44226cbp-21, -0x1.d66329a55926ep-22,
    };
    /* silu: x0=-1.2784645427610737951 t in [-0.5, 0.5] deg 17 maxrel 3.22e-17 (0.29 ulp) */
    static const double FA_SILU_Z0_HI = -0x1.474973c84120bp+0;
    static const double FA_SILU_Z0_LO = -0x1.f8d74bc9ac154p-54;
    static const double FA_SILU_DP[18] = {
        0x1.be1410460527fp-3, 0x1.2c563458cc0adp-3, 0x1.353eb573ca456p-6,
        -0x1.f2d0e32bc2991p-7, -0x1.b0f82c498fbc0p-8, 0x1.098e92b8ec7bdp-13,
        0x1.a2a7caf0d0ca2p-11, 0x1.8574d13778517p-13, -0x1.57238da38b672p-15,
        -0x1.f2d897cf30991p-16, -0x1.8af42c1681c2cp-19, 0x1.3ae11d56cd221p-19,
        0x1.cdb461931a5b2p-21, -0x1.065a31ae2f420p-25, -0x1.8e6542a4ec40dp-24,
        -0x1.42502b8cb93f7p-26, 0x1.4c1e004b6c058p-28, 0x1.6eae10d675b64p-29,
    };
    /* mish: x0=-1.1924312145154952121 t in [-0.5, 0.5] deg 18 maxrel 7.48e-17 (0.67 ulp) */
    static const double FA_MISH_Z0_HI = -0x1.31432c0d12d84p+0;
    static const double FA_MISH_Z0_LO = -0x1.bf319154da210p-55;
    static const double FA_MISH_DP[19] = {
        0x1.115acb42500bbp-2, 0x1.a34a251d8ad7bp-3, 0x1.574f121a868dbp-5,
        -0x1.4c222fe64d57ep-6, -0x1.03369d4ac9134p-6, -0x1.b87ddfb50984ep-9,
        0x1.1e5e184a1fc65p-10, 0x1.0379917e370fcp-10, 0x1.0a7954e071cbfp-12,
        -0x1.5fff96b4b6774p-15, -0x1.d453aaa65ef4cp-15, -0x1.223c92858a8d3p-16,
        0x1.fa159d7cbdab4p-21, 0x1.8690166132907p-19, 0x1.1fcf48436b68ap-20,
        0x1.890a9acaba195p-26, -0x1.331e4759ee2d0p-23, -0x1.ce71e376c2bf3p-25,
        -0x1.d38f62337aa41p-30,
    };
    """
    const double FA_SQRT_2_OVER_PI_HI
    const double FA_SQRT_2_OVER_PI_LO
    const double FA_GELU_C_HI
    const double FA_GELU_C_LO
    const double FA_INV_SQRT2_HI
    const double FA_INV_SQRT2_LO
    const double FA_INV_SQRT_2PI_HI
    const double FA_INV_SQRT_2PI_LO
    const double FA_TWO_OVER_SQRT_PI
    const double FA_SQRT_2_OVER_PI
    double fa_poly_zero(double t, const double* c, int n) nogil
    const double FA_TWO_M64
    const double FA_TWO_P64
    const double FA_TWO_M1000
    const uint64_t FA_SIGN_MANT_MASK
    const uint64_t FA_ONE_BITS
    const uint64_t FA_EXP_FIELD
    const double FA_SELU_SCALE_HI
    const double FA_SELU_SCALE_LO
    const double FA_SELU_SA_HI
    const double FA_SELU_SA_LO
    const double FA_GELU_ERF_Z0_HI
    const double FA_GELU_ERF_Z0_LO
    const double FA_GELU_ERF_DP[23]
    const double FA_GELU_TANH_Z0_HI
    const double FA_GELU_TANH_Z0_LO
    const double FA_GELU_TANH_DP[17]
    const double FA_SILU_Z0_HI
    const double FA_SILU_Z0_LO
    const double FA_SILU_DP[18]
    const double FA_MISH_Z0_HI
    const double FA_MISH_Z0_LO
    const double FA_MISH_DP[19]


# ---------------------------------------------------------------------------
# The elementary functions, one wrapper each (all from _vmath.pxd).

cdef inline double _expm1(double x) noexcept nogil:
    return vm_expm1(x)

cdef inline double _tanh(double x) noexcept nogil:
    return vm_tanh(x)


# ---------------------------------------------------------------------------
# Selects.  A comparison with NaN is false, so each is written so that the
# "else" side (x itself) is the one a NaN takes.

cdef inline double _nan_or(double x, double v) noexcept nogil:
    # For piecewise-constant results (relu', hardsigmoid'...): v, or NaN for NaN.
    return v if x == x else x

cdef inline double _clamp_lo(double x, double lo) noexcept nogil:
    return lo if x < lo else x

cdef inline double _clamp_hi(double x, double hi) noexcept nogil:
    return hi if x > hi else x

cdef inline double _clamp(double x, double lo, double hi) noexcept nogil:
    return _clamp_hi(_clamp_lo(x, lo), hi)


# ---------------------------------------------------------------------------
# exp(hi + lo), pre-scaled by 2^64 in the subnormal range.

cdef inline double _tail_scale(double a) noexcept nogil:
    # The factor that undoes _exp_dd_scaled's and _exp_scaled's scaling for
    # argument a.
    return FA_TWO_M64 if a < -700.0 else 1.0

cdef inline dd_t _exp_dd_scaled(double hi, double lo) noexcept nogil:
    # exp(hi + lo) * (2^64 if hi < -700 else 1) as an unevaluated sum
    # r.hi + r.lo (relative error ~2^-57, vm_exp_dd_2s), for hi <= ~700 and
    # |lo| <= ulp(hi).  Keeping the correction separate lets a caller fold
    # it in after its own arithmetic, so the result is not rounded twice.
    # Below -800 the result is 0 whatever lo is, and lo (possibly inf/NaN
    # from the caller's split of an infinite hi) is dropped; so it is above
    # 710, where exp overflows.
    cdef double h = -800.0 if hi < -800.0 else hi
    h = 710.0 if h > 710.0 else h
    cdef double l = lo if h == hi else 0.0
    return vm_exp_dd_2s(h, l, 64.0 if hi < -700.0 else 0.0)

cdef inline double _exp_scaled(double hi, double lo) noexcept nogil:
    # The same, rounded to one double, for hi <= 0: a plain double exp
    # (vm_exp_2s, lo folded in as 1 + lo; ~0.5 ULP, as the double-double one
    # rounded was, at ~2/3 of its cost).
    return vm_exp_2s(hi, lo, 64.0 if hi < -700.0 else 0.0)


# ---------------------------------------------------------------------------
# Sigmoid family on a double-double argument z = zh + zl.
# e = exp(-|z|) <= 1, sigma(z) = (z < 0 ? e : 1) / (1 + e),
# sigma(-z) = (z < 0 ? 1 : e) / (1 + e).

cdef inline dd_t _one_plus(dd_t e_s, double sc) noexcept nogil:
    # 1 + e exactly as a double-double, e = (e_s.hi + e_s.lo) * sc <= 1.
    cdef dd_t d = dd_fast_two_sum(1.0, e_s.hi * sc)
    d.lo = d.lo + e_s.lo * sc
    return d

cdef inline double _x_sigmoid_e(double x, bint neg, dd_t e_s, double sc) noexcept nogil:
    # x * sigma(z) from e = exp(-|z|) = (e_s.hi + e_s.lo) * sc, neg: z < 0.
    # x*num and 1+e are formed exactly (double-double) and divided once, so
    # the only error left besides the final rounding is exp's own, which
    # x*sigma(z) passes on damped (relative sensitivity 1/(1+e) for z < 0,
    # e/(1+e) for z > 0).
    cdef dd_t num = e_s if neg else dd_make(1.0, 0.0)
    cdef dd_t xn = dd_two_prod(x, num.hi)
    # x = +-inf: the exact product's low part is inf - inf; drop it.
    xn.lo = (xn.lo + x * num.lo) if xn.hi - xn.hi == 0.0 else 0.0
    cdef dd_t d = _one_plus(e_s, sc)
    # (x = +-inf: the quotient is the limit, which dd_div_to_d keeps; NaN
    # stays NaN.)
    cdef double r = dd_div_to_d(xn, d) * (sc if neg else 1.0)
    # sigma == 0 exactly only for an infinite or huge z: x*0 would be NaN for
    # x = +-inf, the limit is a zero with x's sign.  sigma > 0, so the result
    # has x's sign: copysign also restores -0.0, which the exact-product
    # correction (-0 + +0) would turn into +0.
    return copysign(0.0, x) if num.hi == 0.0 else copysign(r, x)

cdef inline double _x_sigmoid(double x, double zh, double zl) noexcept nogil:
    # x * sigmoid(zh + zl): sigmoid, silu, swish, tanh-gelu (0.5x(1+tanh u) =
    # x*sigma(2u)), with the plain double exp (~0.5 ULP): within ~1.5 ULP
    # (1.53 measured), a quarter faster than with the double-double exp.
    cdef double a = -fabs(zh)
    cdef bint neg = zh < 0.0
    return _x_sigmoid_e(x, neg, dd_make(_exp_scaled(a, zl if neg else -zl), 0.0), _tail_scale(a))

cdef inline double _x_sigmoid_dd(double x, double zh, double zl) noexcept nogil:
    # The same with exp in double-double, within ~0.5 ULP: the float64 gated
    # loops multiply it by value (and g), which may double its error in ULP.
    cdef double a = -fabs(zh)
    cdef bint neg = zh < 0.0
    return _x_sigmoid_e(x, neg, _exp_dd_scaled(a, zl if neg else -zl), _tail_scale(a))

cdef inline double _sigmoid_1p_dd(double zh, double zl, double m, double ml) noexcept nogil:
    # sigma(z) * (1 + m*sigma(-z)): the derivative of x*sigma(z(x)) with
    # m = mh + ml = x*z'(x) (silu: m = x, swish: m = beta*x, tanh-gelu:
    # m = x*2u').  Factoring sigma(z) out keeps the product e-linear, so the
    # subnormal scaling applies.  Caller guarantees m finite (clamps x).
    # For z < 0 (where m < 0 too) the bracket is written as
    # (1 + m) - m*sigma(z): 1 + m is exact or nearly so and the two terms no
    # longer cancel (1 + m*sigma(-z) cancels by a factor ~3 on both sides of
    # the derivative's zero); near the zero itself callers use a polynomial.
    cdef bint neg = zh < 0.0
    cdef double a = -fabs(zh)
    # (exp as the double-double one rounded: silu' amplifies exp's error,
    # and the plain one left the FMA levels 5 ULP from baseline in swiglu')
    cdef dd_t e_dd = _exp_dd_scaled(a, zl if neg else -zl)
    cdef double e_s = e_dd.hi + e_dd.lo
    cdef double sc = _tail_scale(a)
    cdef double e = e_s * sc
    cdef double d = 1.0 + e
    cdef double sp = (e_s if neg else 1.0) / d
    cdef double sn = (1.0 if neg else e) / d
    cdef double br = (((1.0 + m) + ml) - m * (e / d)) if neg else (1.0 + m * sn)
    return sp * br * (sc if neg else 1.0)

cdef inline double _poly_zero(double t, const double* c, int n) noexcept nogil:
    # t * (c[0] + c[1] t + ... + c[n-1] t^(n-1)), Horner (a derivative near
    # its zero, see the FA_*_DP constants).
    # (The loop is in C with `#pragma GCC unroll`: it must be unrolled
    # completely, or the kernel loop around it does not vectorize.)
    return fa_poly_zero(t, c, n)

cdef inline double _silu_deriv_dd(double zh, double zl) noexcept nogil:
    # silu'(z), z = zh + zl, zh already clamped to +-800 (zl = 0 then).
    cdef double t = ((zh - FA_SILU_Z0_HI) - FA_SILU_Z0_LO) + zl
    cdef double pz = _poly_zero(t, FA_SILU_DP, 18)
    cdef double r = _sigmoid_1p_dd(zh, zl, zh, zl)
    return pz if fabs(t) < 0.5 else r

cdef inline double _sigmoid(double x) noexcept nogil:
    # 1 * sigma(x).  1 + e is exact and the division double-double because
    # rounding 1 + e and the quotient in double as well as exp added up to
    # ~2.4 ULP (a float64 sample of 1e6 inputs found them); with them exact,
    # exp's ~0.5 ULP and the final rounding remain.
    return _x_sigmoid(1.0, x, 0.0)


# ---------------------------------------------------------------------------
# exp(-x^2/2) for the normal density: x^2 in double-double, because exp
# amplifies the rounding of x^2/2 (~x^2/2 * 2^-53) by x^2/2.

cdef inline double _gauss_scaled(double x) noexcept nogil:
    # exp(-x^2/2) * (2^64 if x^2/2 > 700 else 1); undo with _gauss_scale(x).
    cdef dd_t sq = dd_two_prod(x, x)
    return _exp_scaled(-0.5 * sq.hi, -0.5 * sq.lo)

cdef inline double _gauss_scale(double x) noexcept nogil:
    return _tail_scale(-0.5 * (x * x))


cdef inline double _mills_series(double x) noexcept nogil:
    # S(w) = sum_k (-1)^k (2k-1)!! w^k, w = 1/x^2: for x <= -20,
    # Phi(x) = phi(x)/|x| * S.  The first omitted term (k = 11) is < 4e-19.
    cdef double w = 1.0 / (x * x)
    cdef double s = 654729075.0
    s = mla(w, s, -34459425.0)
    s = mla(w, s, 2027025.0)
    s = mla(w, s, -135135.0)
    s = mla(w, s, 10395.0)
    s = mla(w, s, -945.0)
    s = mla(w, s, 105.0)
    s = mla(w, s, -15.0)
    s = mla(w, s, 3.0)
    s = mla(w, s, -1.0)
    return mla(w, s, 1.0)


cdef inline dd_t _gelu_phi_cdf2(double x) noexcept nogil:
    # 2*Phi(x) = erfc(-x/sqrt2) for -20 <= x <= 40 as a double-double, from
    # the Mills ratio R(a) = Phi(-a)/phi(a), a = |x|:
    # T = 2 phi(a) R(a) = sqrt(2/pi) * exp(-x^2/2) * G(a) / (1 + a), G the
    # flat polynomial of _vmath.vm_mills_g; numerator in double-double and
    # one double-double division, so T is rounded about once.
    # 2*Phi(x) = T for x <= 0, 2 - T for x > 0 (T <= 1: no cancellation).
    cdef double a = fabs(x)
    a = 20.0 if a > 20.0 else a
    cdef dd_t sq = dd_two_prod(x, x)
    cdef dd_t g = _exp_dd_scaled(-0.5 * sq.hi, -0.5 * sq.lo)
    cdef double sc = _gauss_scale(x)
    g = dd_make(g.hi * sc, g.lo * sc)
    cdef dd_t n = dd_mul_d(dd_mul_dd(g, dd_make(FA_SQRT_2_OVER_PI_HI, FA_SQRT_2_OVER_PI_LO)),
                           vm_mills_g(a))
    cdef dd_t d = dd_fast_two_sum(1.0, a)
    cdef double q = n.hi / d.hi
    cdef dd_t qd = dd_two_prod(q, d.hi)
    cdef double ql = ((((n.hi - qd.hi) - qd.lo) + n.lo) - q * d.lo) / d.hi
    cdef dd_t c = dd_two_sum(2.0, -q)
    cdef dd_t pos = dd_fast_two_sum(c.hi, c.lo - ql)
    return pos if x > 0.0 else dd_fast_two_sum(q, ql)


cdef inline double _gelu_phi_cdf(double x) noexcept nogil:
    cdef dd_t p = _gelu_phi_cdf2(x)
    return 0.5 * (p.hi + p.lo)


# ---------------------------------------------------------------------------
# tanh-gelu's argument 2u = 2*sqrt(2/pi)*x*(1 + 0.044715 x^2) and
# m = x * d(2u)/dx = 2*sqrt(2/pi)*x*(1 + 3*0.044715 x^2), in double-double.
# |x| <= 25 (callers clamp): beyond it sigma(2u) is 0 or 1 in double.

cdef inline dd_t _gelu_tanh_2u(double x) noexcept nogil:
    cdef dd_t cx2 = dd_mul_dd(dd_make(FA_GELU_C_HI, FA_GELU_C_LO), dd_two_prod(x, x))
    cdef dd_t u = dd_mul_d(dd_add_d(cx2, 1.0), x)
    u = dd_mul_dd(u, dd_make(FA_SQRT_2_OVER_PI_HI, FA_SQRT_2_OVER_PI_LO))
    return dd_make(2.0 * u.hi, 2.0 * u.lo)

cdef inline dd_t _gelu_tanh_m(double x) noexcept nogil:
    cdef dd_t cx2 = dd_mul_dd(dd_make(FA_GELU_C_HI, FA_GELU_C_LO), dd_two_prod(x, x))
    cdef dd_t v = dd_mul_d(dd_add_d(dd_mul_d(cx2, 3.0), 1.0), x)
    v = dd_mul_dd(v, dd_make(FA_SQRT_2_OVER_PI_HI, FA_SQRT_2_OVER_PI_LO))
    return dd_make(2.0 * v.hi, 2.0 * v.lo)


# ===========================================================================
# relu

cdef inline double relu_forward(double x) noexcept nogil:
    # torch.clamp_min(x, 0): -0.0 and NaN pass through unchanged.
    return 0.0 if x < 0.0 else x

cdef inline double relu_derivative(double x) noexcept nogil:
    return _nan_or(x, 1.0 if x > 0.0 else 0.0)


# leaky_relu

cdef inline double leaky_relu_forward(double x, double negative_slope) noexcept nogil:
    # slope 0 at x = -inf: the limit -0.0, not -inf*0.
    cdef double n = x * negative_slope if negative_slope != 0.0 else _nan_or(x, -0.0)
    return x if x > 0.0 else n

cdef inline double leaky_relu_forward_nonzero(double x, double negative_slope) noexcept nogil:
    # leaky_relu_forward for a slope known not to be 0 (the same bits): only
    # a zero slope needs the -inf * 0 select, which doubled prelu's time.
    return x if x > 0.0 else x * negative_slope

cdef inline double leaky_relu_derivative(double x, double negative_slope) noexcept nogil:
    return _nan_or(x, 1.0 if x > 0.0 else negative_slope)


# elu

cdef inline double _const_times_dd(double c_hi, double c_lo, dd_t v) noexcept nogil:
    # (c_hi + c_lo) * (v.hi + v.lo), rounded about once; plain product where
    # v.hi is 0 or not finite (keeps -0.0, no inf - inf).
    cdef dd_t p = dd_two_prod(c_hi, v.hi)
    cdef double r = p.hi + (p.lo + (c_hi * v.lo + c_lo * v.hi))
    r = p.hi if (v.hi == 0.0) else r
    r = p.hi if (r == 0.0) else r        # a zero keeps the product's sign (alpha = 0)
    return p.hi if p.hi - p.hi != 0.0 else r

cdef inline double elu_forward(double x, double alpha) noexcept nogil:
    # alpha * expm1(x) with expm1 as a double-double: one rounding. Computed
    # for every x, then selected: written inside the select's arm, its fused
    # multiply-adds were masked at AVX2/AVX-512 and x > 0 ran 3x slower.
    cdef double neg = _const_times_dd(alpha, 0.0, vm_expm1_dd(x))
    return x if x > 0.0 else neg

cdef inline double elu_derivative(double x, double alpha) noexcept nogil:
    # x <= 0 branch at 0 gives alpha, as torch.  alpha exp(x) (vm_c_exp: a
    # plain exp, ~1 ULP, any finite alpha), computed for every x, then
    # selected, as elu_forward: inside the select's arm, gcc gave the x > 0
    # lanes vm_c_exp's clamp values, the exp underflowed there, and x > 0
    # ran 3x slower.
    cdef double neg = vm_c_exp(alpha, 0.0, x)
    return 1.0 if x > 0.0 else neg


# selu

cdef inline double selu_forward(double x) noexcept nogil:
    cdef double pos = dd_mul_const(FA_SELU_SCALE_HI, FA_SELU_SCALE_LO, x)
    cdef double neg = _const_times_dd(FA_SELU_SA_HI, FA_SELU_SA_LO, vm_expm1_dd(x))
    return pos if x > 0.0 else neg

cdef inline double selu_derivative(double x) noexcept nogil:
    # scale * alpha * exp(x) for x <= 0 (vm_c_exp: a plain exp, ~1 ULP),
    # computed for every x, then selected (see elu_derivative).
    cdef double neg = vm_c_exp(FA_SELU_SA_HI, FA_SELU_SA_LO, x)
    return FA_SELU_SCALE_HI if x > 0.0 else neg


# gelu (exact): x * Phi(x)

cdef inline bint gelu_erf_mid_in(double x) noexcept nogil:
    # x where gelu_erf_forward_mid is the forward (NaN: not).
    return x >= -20.0

cdef inline double gelu_erf_forward_mid(double x) noexcept nogil:
    # gelu for x >= -20 (the same bits as gelu_erf_forward there; its float64
    # loop runs blocks of such x through this alone, 24 % faster): x * erfc/2
    # with the product formed exactly and rounded once.  (x > 40 returns x
    # itself: the exact product's low part would be inf - inf at x = inf.)
    cdef double xc = _clamp(x, -40.0, 40.0)
    cdef dd_t p = _gelu_phi_cdf2(xc)
    cdef dd_t xp = dd_two_prod(xc, p.hi)
    cdef double mid = 0.5 * (xp.hi + (xp.lo + xc * p.lo))
    return x if x > 40.0 else copysign(mid, x)

cdef inline double gelu_erf_forward(double x) noexcept nogil:
    # x < -20: gelu = -phi(x) * S(1/x^2) (asymptotic series of the Mills
    # ratio), which never multiplies a subnormal by x.  Clamped to +-40:
    # beyond it gelu is x (Phi = 1) or -0.0 in double.  (gcc computes
    # exp(-x^2/2) once for both branches.)
    cdef double xc = _clamp(x, -40.0, 40.0)
    cdef dd_t sq = dd_two_prod(xc, xc)
    cdef dd_t g = _exp_dd_scaled(-0.5 * sq.hi, -0.5 * sq.lo)
    cdef double m = dd_mul_const(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO,
                                 _mills_series(xc))
    cdef dd_t gm = dd_two_prod(g.hi, m)
    cdef double tail = -(gm.hi + (gm.lo + g.lo * m)) * _gauss_scale(xc)
    cdef double mid = gelu_erf_forward_mid(x)
    return tail if xc < -20.0 else mid

cdef inline double gelu_erf_derivative_mid(double x) noexcept nogil:
    # gelu' for x >= -20 (the same bits as gelu_erf_derivative there; its
    # float64 loops run blocks of such x through this alone, without the
    # tail's series and divisions): with a = |x| and G = R(a)(1 + a) (R the
    # Mills ratio), Phi(x) + x phi(x) = D for x <= 0 and 1 - D for x > 0,
    # where D = phi(x) (G - a - a^2)/(1 + a): G - a(1 + a) cancels only at
    # the derivative's zero (the polynomial below takes over there); the
    # quotient is one double-double division.
    cdef double xc = _clamp(x, -40.0, 40.0)
    cdef double phi_s = dd_mul_const(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO,
                                     _gauss_scaled(xc))
    cdef double a = fabs(xc)
    a = 20.0 if a > 20.0 else a
    cdef dd_t a2 = dd_two_prod(a, a)
    cdef dd_t aa = dd_two_sum(a, a2.hi)
    cdef dd_t num = dd_two_sum(vm_mills_g(a), -aa.hi)
    num.lo = num.lo - (aa.lo + a2.lo)
    cdef double dq = dd_div_to_d(num, dd_fast_two_sum(1.0, a))
    cdef double dphi = (phi_s * _gauss_scale(xc)) * dq
    cdef double mid = (1.0 - dphi) if xc > 0.0 else dphi
    cdef double t = (xc - FA_GELU_ERF_Z0_HI) - FA_GELU_ERF_Z0_LO
    cdef double pz = _poly_zero(t, FA_GELU_ERF_DP, 23)
    return pz if fabs(t) < 0.45 else mid

cdef inline double gelu_erf_derivative(double x) noexcept nogil:
    # Phi(x) + x phi(x); for x < -20, phi(x) * (x - S/x).  (phi is written
    # as in gelu_erf_derivative_mid, so that gcc may compute it once.)
    cdef double xc = _clamp(x, -40.0, 40.0)
    cdef double phi_s = dd_mul_const(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO,
                                     _gauss_scaled(xc))
    cdef double tail = phi_s * (xc - _mills_series(xc) / xc) * _gauss_scale(xc)
    return tail if xc < -20.0 else gelu_erf_derivative_mid(x)


# gelu (tanh approximation): 0.5x(1 + tanh u) = x * sigmoid(2u)

cdef inline double gelu_tanh_forward(double x) noexcept nogil:
    cdef dd_t z = _gelu_tanh_2u(_clamp(x, -25.0, 25.0))
    return _x_sigmoid(x, z.hi, z.lo)

cdef inline double gelu_tanh_forward_dd(double x) noexcept nogil:
    # (the float64 gated loops', see _x_sigmoid_dd)
    cdef dd_t z = _gelu_tanh_2u(_clamp(x, -25.0, 25.0))
    return _x_sigmoid_dd(x, z.hi, z.lo)

cdef inline double gelu_tanh_derivative(double x) noexcept nogil:
    cdef double xc = _clamp(x, -25.0, 25.0)
    cdef dd_t z = _gelu_tanh_2u(xc)
    cdef dd_t m = _gelu_tanh_m(xc)
    cdef double t = (xc - FA_GELU_TANH_Z0_HI) - FA_GELU_TANH_Z0_LO
    cdef double pz = _poly_zero(t, FA_GELU_TANH_DP, 17)
    cdef double r = _sigmoid_1p_dd(z.hi, z.lo, m.hi, m.lo)
    return pz if fabs(t + 0.05) < 0.5 else r    # -0.55 < t < 0.45


# sigmoid

cdef inline double sigmoid_forward(double x) noexcept nogil:
    return _sigmoid(x)

cdef inline double sigmoid_forward_dd(double x) noexcept nogil:
    return _x_sigmoid_dd(1.0, x, 0.0)

cdef inline double _e_over_1pe_sq_e(double c, dd_t e_s, double sc) noexcept nogil:
    # c e/(1+e)^2, e = (e_s.hi + e_s.lo) * sc, c a power of two (folded in
    # before the scaling back, so that a subnormal result is rounded once),
    # with 1 + e and its square in double-double and one division: rounding
    # 1+e, its square and the quotient in double added up to ~3.9 ULP (a
    # float64 sample of 1e6 inputs found 3.89), no room for backward's
    # product with g.
    cdef dd_t d = _one_plus(e_s, sc)
    return dd_div_to_d(dd_make(c * e_s.hi, c * e_s.lo), dd_mul_dd(d, d)) * sc

cdef inline double _e_over_1pe_sq(double c, double a) noexcept nogil:
    # c e/(1+e)^2, e = exp(a), a <= 0, with the plain double exp: the
    # result's relative sensitivity to e is (1-e)/(1+e) <= 1 (within ~1.5
    # ULP, 1.35 measured).
    return _e_over_1pe_sq_e(c, dd_make(_exp_scaled(a, 0.0), 0.0), _tail_scale(a))

cdef inline double sigmoid_derivative(double x) noexcept nogil:
    # sigma(x)*sigma(-x) = e/(1+e)^2 from the input: y(1-y) would cancel to 0.
    return _e_over_1pe_sq(1.0, -fabs(x))

cdef inline double sigmoid_derivative_dd(double x) noexcept nogil:
    # The same with exp in double-double (~0.5 ULP), for glu's gradient,
    # a product of three.
    cdef double a = -fabs(x)
    return _e_over_1pe_sq_e(1.0, _exp_dd_scaled(a, 0.0), _tail_scale(a))


# log_sigmoid

cdef inline double log_sigmoid_forward(double x) noexcept nogil:
    # NaN: the select gives 0 but log1p(exp(NaN)) carries it.  exp is the
    # plain double one (vm_exp_2s): log1p damps its error (by e/((1+e) log1p(e))
    # <= 1) and min(x, 0) - log1p(e) never cancels.
    return (x if x < 0.0 else 0.0) - vm_log1p01_dd(vm_exp_2s(-fabs(x), 0.0, 0.0)).hi

cdef inline double log_sigmoid_derivative(double x) noexcept nogil:
    return _sigmoid(-x)


# tanh

cdef inline double tanh_forward(double x) noexcept nogil:
    return _tanh(x)

cdef inline double tanh_derivative(double x) noexcept nogil:
    # 4e/(1+e)^2, e = exp(-2|x|): 1 - tanh^2 would cancel for |x| > ~19.
    return _e_over_1pe_sq(4.0, -2.0 * fabs(x))


# silu

cdef inline double silu_forward(double x) noexcept nogil:
    return _x_sigmoid(x, x, 0.0)

cdef inline double silu_forward_dd(double x) noexcept nogil:
    return _x_sigmoid_dd(x, x, 0.0)

cdef inline double silu_derivative(double x) noexcept nogil:
    cdef double xc = _clamp(x, -800.0, 800.0)
    return _silu_deriv_dd(xc, 0.0)


# swish: x * sigmoid(beta*x), beta*x carried with its rounding error

# beta == 0 is x/2 with derivative 1/2, selected outright: beta*x would be
# 0*inf = NaN at x = +-inf.

cdef inline double swish_forward(double x, double beta) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    return 0.5 * x if beta == 0.0 else _x_sigmoid(x, z.hi, z.lo)

cdef inline double _swish_z(double z, double x) noexcept nogil:
    # z = beta*x, except where that is NaN for a non-NaN x: beta == 0 at
    # x = +-inf (0*inf), where the limit is silu'(0) = 1/2, i.e. z = 0.
    # (A select on the product, not on `beta == 0.0`: a select on the
    # loop-invariant beta kept gcc from vectorizing the swish derivative and
    # backward loops, "no vectype for stmt", making them 5-10x slower.)
    return z if z == z else _nan_or(x, 0.0)

cdef inline double swish_derivative(double x, double beta) noexcept nogil:
    # d/dx x*sigma(bx) = sigma(z)(1 + z*sigma(-z)), z = bx: silu'(z).
    # beta == 0: z = +-0 (or 0 at x = +-inf, see _swish_z), silu'(0) = 1/2
    # exactly; NaN x gives NaN.
    cdef dd_t z = dd_two_prod(beta, x)
    cdef double zh = _clamp(_swish_z(z.hi, x), -800.0, 800.0)
    return _silu_deriv_dd(zh, z.lo if zh == z.hi else 0.0)


# mish: x * tanh(softplus(x))
# With e = exp(x), q = e + e^2/2: tanh(softplus(x)) = q/(1+q) and
# sech^2(softplus(x)) = (2q+1)/(1+q)^2.  x is clamped to 40 (e^80 is far
# from overflow and tanh(softplus) is 1 - 2e^-80 = 1 in double).

cdef inline double mish_forward(double x) noexcept nogil:
    # x*q/(1+q) with q = e + e^2/2, e = exp(x), all in double-double and
    # divided once.
    cdef double xc = _clamp_hi(x, 40.0)
    cdef dd_t e_s = _exp_dd_scaled(xc, 0.0)
    cdef double sc = _tail_scale(xc)
    cdef dd_t h = dd_two_prod(0.5 * (e_s.hi * sc), e_s.hi)   # e^2/2, scaled
    cdef dd_t q_s = dd_two_sum(e_s.hi, h.hi)
    q_s.lo = q_s.lo + (h.lo + e_s.lo * (1.0 + e_s.hi * sc))
    cdef dd_t d = dd_two_sum(1.0, q_s.hi * sc)
    d.lo = d.lo + q_s.lo * sc
    cdef double xm = _clamp_lo(xc, -800.0)
    cdef dd_t n = dd_two_prod(xm, q_s.hi)
    n.lo = n.lo + xm * q_s.lo
    cdef double r = dd_div_to_d(n, d) * sc
    # tanh(softplus) > 0: the sign is x's (keeps -0.0, and -inf -> -0.0).
    return x if x > 40.0 else copysign(r, x)

cdef inline double _mish_deriv_neg(dd_t e_s, double sc, double x) noexcept nogil:
    # mish'(x) for x <= 0 over the common denominator (1+q)^2 (1+e):
    # e*B/den with B = (1+x) + e(5/2 + 2x) + e^2(5/2 + x) + 5e^3/4 + e^4/4 and
    # den = 1 + e(3 + e(4 + e(3 + e(5/4 + e/4)))), e = exp(x) = e_s*sc.
    # tanh(sp) + x*(...) would cancel by a factor ~2-5 all along x < 0; here
    # B's terms only cancel at the zero x0 (covered by the polynomial), but
    # the ~16 roundings of a double Horner still add up to 4.5 ULP (a float64
    # sample of 1e6 inputs found them near x = -0.17 and -0.57), so the sums
    # run in double-double (and exp's result stays one).
    cdef dd_t e = dd_make(e_s.hi * sc, e_s.lo * sc)
    cdef dd_t b = dd_add_d(dd_mul_d(e, 0.25), 1.25)
    b = dd_add_d(dd_add_d(dd_mul_dd(e, b), 2.5), x)
    b = dd_add_d(dd_add_d(dd_mul_dd(e, b), 2.5), 2.0 * x)
    b = dd_add_d(dd_add_d(dd_mul_dd(e, b), 1.0), x)
    cdef dd_t den = dd_add_d(dd_mul_d(e, 0.25), 1.25)
    den = dd_add_d(dd_mul_dd(e, den), 3.0)
    den = dd_add_d(dd_mul_dd(e, den), 4.0)
    den = dd_add_d(dd_mul_dd(e, den), 3.0)
    den = dd_add_d(dd_mul_dd(e, den), 1.0)
    return dd_div_to_d(dd_mul_dd(b, e_s), den) * sc


cdef inline double mish_derivative(double x) noexcept nogil:
    # tanh(sp) + x * sech^2(sp) * sigmoid(x)
    cdef double xc = _clamp(x, -800.0, 40.0)
    cdef dd_t e_dd = _exp_dd_scaled(xc, 0.0)
    cdef double e_s = e_dd.hi + e_dd.lo
    cdef double sc = _tail_scale(xc)
    cdef double e = e_s * sc
    # q = e + e^2/2 (scaled), the product split exactly and rounded once.
    cdef dd_t hq = dd_two_prod(0.5 * e, e_s)
    cdef dd_t qq = dd_two_sum(e_s, hq.hi)
    cdef double q_s = qq.hi + (qq.lo + hq.lo)
    cdef double q = q_s * sc
    cdef dd_t s = dd_two_sum(1.0, q)
    cdef double r = 1.0 / s.hi
    r = r - r * (s.lo * r)
    cdef double t_s = q_s / s.hi
    t_s = t_s - t_s * (s.lo / s.hi)
    cdef double t_unscaled_pos = (1.0 - r) / sc      # sc == 1 when x > 0
    cdef double t = t_s if xc <= 0.0 else t_unscaled_pos
    cdef double sig_s = e_s / (1.0 + e)
    cdef double sech2 = (2.0 * q + 1.0) * (r * r)
    cdef double pos = (t + xc * (sig_s * sech2)) * sc
    cdef double neg = _mish_deriv_neg(e_dd, sc, xc) + 0.0   # + 0.0: -inf -> +0.0
    cdef double tz = (xc - FA_MISH_Z0_HI) - FA_MISH_Z0_LO
    cdef double pz = _poly_zero(tz, FA_MISH_DP, 19)
    return pz if fabs(tz) < 0.5 else (pos if xc > 0.0 else neg)


# softplus: PyTorch's log1p(exp(beta*x))/beta, x where beta*x > threshold

cdef inline double softplus_forward(double x, double beta, double threshold) noexcept nogil:
    # (max(z, 0) + log1p(e)) / beta, z = beta*x as a double-double and
    # e = exp(-|z|) the plain double exp with z's low part folded in: log1p
    # damps exp's error (by e/((1+e) log1p(e)) <= 1), as in log_sigmoid, and
    # for z > 0 the result is x + log1p(e)/beta with x exact, so beta*x is
    # never rounded into it.
    cdef dd_t z = dd_two_prod(beta, x)
    cdef double a = -fabs(z.hi)
    cdef double e_s = _exp_scaled(a, z.lo if z.hi < 0.0 else -z.lo)
    cdef double sc = _tail_scale(a)
    cdef double lpb = dd_div_to_d(vm_log1p01_dd(e_s * sc), dd_make(beta, 0.0))
    cdef double body = x + lpb if z.hi > 0.0 else lpb
    # z < -700: log1p(e) = e, which may be subnormal; divided by beta while
    # it is still scaled, so a quotient in the normal range keeps its bits.
    # (Only for z < 0: above 700 the result is x + e/beta when the
    # threshold is higher still.)
    cdef double deep = e_s / beta * sc
    cdef double r = deep if z.hi < -700.0 else body
    return x if z.hi > threshold else r

cdef inline bint softplus_forward64s_ok(double beta, double threshold) noexcept nogil:
    return beta == 1.0

cdef inline double softplus_forward64s(double x, double beta, double threshold) noexcept nogil:
    # beta = 1: log1p(exp(x)) = -log_sigmoid(-x), without the split of beta*x
    # and the divisions by beta (~1.5x faster); + 0.0: softplus(-inf) = +0.0.
    return x if x > threshold else -log_sigmoid_forward(-x) + 0.0

cdef inline double softplus_derivative(double x, double beta, double threshold) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    cdef bint neg = z.hi < 0.0
    cdef double a = -fabs(z.hi)
    cdef double e = _exp_scaled(a, z.lo if neg else -z.lo) * _tail_scale(a)
    cdef double s = (e if neg else 1.0) / (1.0 + e)
    return 1.0 if z.hi > threshold else s


# hardsigmoid: min(max(x+3, 0), 6)/6

cdef inline double hardsigmoid_forward(double x) noexcept nogil:
    # x + 3 is exact near -3 (Sterbenz), so the result near 0 keeps full
    # relative accuracy; x/6 + 0.5 would not.
    return _clamp_hi(_clamp_lo(x + 3.0, 0.0), 6.0) / 6.0

cdef inline double hardsigmoid_derivative(double x) noexcept nogil:
    return _nan_or(x, 1.0 / 6.0 if fabs(x) < 3.0 else 0.0)


# hardswish: x * min(max(x+3, 0), 6)/6

cdef inline double hardswish_forward(double x) noexcept nogil:
    # x >= 3 returns x itself (x*6/6 would overflow near DBL_MAX);
    # x <= -3 returns -0.0 as x*0/6 does, also for -inf.  NaN takes the
    # arithmetic path.
    cdef double mid = x * (x + 3.0) / 6.0
    return x if x >= 3.0 else (-0.0 if x <= -3.0 else mid)

cdef inline double hardswish_derivative(double x) noexcept nogil:
    # (2x + 3)/6 = x/3 + 1/2; 2x + 3 is exact near the zero at -1.5.
    cdef double mid = (2.0 * x + 3.0) / 6.0
    return 0.0 if x <= -3.0 else (1.0 if x >= 3.0 else mid)


# ===========================================================================
# float64 backward in the deep tails: g * f'(x) where f'(x) is subnormal or 0
# in double but the exact product is not (sigmoid'(800) = e^-800 underflows,
# 2^900 * e^-800 ~ 1e-77 does not).  There every affected derivative is
# f'(x) = p(x) * exp(bh + bl) to a relative error far below 2^-53 (the
# neglected terms are O(exp(b) * poly(x)) < 2^-900), so
#     g * v * f'(x) = (m_g m_v m_p) * exp(b + (e_g + e_v + e_p) ln2)
# with g = m_g 2^e_g etc. (m in [1, 2)): the power of two goes into exp's
# argument, exactly in double-double, and only exp's result and one product
# are rounded (into the subnormal range once, by the 2^64 pre-scaling of
# _exp_dd_scaled).  v is the gated backward's value (1 for the plain one).
# NAME_tail_c(x, params) < NAME_tail_t(params) selects the tail: where it is
# false f'(x) >= ~e^-700 is a normal double and g * f'(x) is accurate as it
# is.  NAME_tail_t is loop-invariant (computed once per call).  Callers use
# the tail only for finite g (and value); p is finite and x is clamped so
# that every intermediate stays finite (the result is 0 far before).  The
# piecewise-linear kernels (f' is 0, 1 or a normal constant) have none: the
# template's NO_TAIL.

ctypedef struct fa_tail_t:
    # f'(x) = p * exp(bh + bl) in the tail (p's own rounding error, if any,
    # is folded into bl as log(1 + pl/p) = pl/p).
    double p
    double bh
    double bl

cdef inline fa_tail_t _tail_make(double p, double bh, double bl) noexcept nogil:
    cdef fa_tail_t t
    t.p = p
    t.bh = bh
    t.bl = bl
    return t

cdef inline dd_t _split_pow2(double v) noexcept nogil:
    # (m, e) with v = m * 2^e exactly, |m| in [1, 2), e an integer-valued
    # double; for finite v (subnormals pre-scaled by 2^64); v = +-0 gives
    # m = v (a zero with v's sign).  Bit operations only (vectorizes at SSE2).
    cdef double vs = v * FA_TWO_P64 if fabs(v) < FA_TWO_M1000 else v
    cdef uint64_t b = fa_vm_bits(vs)
    cdef double m = fa_vm_from_bits((b & FA_SIGN_MANT_MASK) | FA_ONE_BITS)
    cdef double e = (fa_vm_from_bits((b >> 52) & FA_EXP_FIELD | FA_VM_TWO52_BITS)
                     - 4503599627370496.0) - 1023.0
    e = e - 64.0 if fabs(v) < FA_TWO_M1000 else e
    return dd_make(v if v == 0.0 else m, e)

cdef inline double _tail_backward(double g, double v, fa_tail_t t) noexcept nogil:
    # g * v * t.p * exp(t.bh + t.bl) for finite g, v, t.p; |t.bh| <= ~5000.
    cdef dd_t sg = _split_pow2(g)
    cdef dd_t sv = _split_pow2(v)
    cdef dd_t sp = _split_pow2(t.p)
    cdef dd_t m = dd_mul_d(dd_two_prod(sg.hi, sv.hi), sp.hi)   # |m| in [1, 8) or 0
    cdef double k = (sg.lo + sv.lo) + sp.lo                    # |k| < 2^13: exact
    # b + k ln2 in double-double (k * LN2_HI is exact: LN2_HI has 32 bits).
    cdef dd_t s = dd_two_sum(t.bh, k * FA_VM_LN2_HI)
    cdef dd_t a = dd_fast_two_sum(s.hi, s.lo + (t.bl + k * FA_VM_LN2_LO))
    cdef dd_t es = _exp_dd_scaled(a.hi, a.lo)
    cdef double sc = _tail_scale(a.hi)
    cdef dd_t pr = dd_two_prod(m.hi, es.hi)
    cdef double r = pr.hi + (pr.lo + (m.hi * es.lo + m.lo * es.hi))
    # An overflow (exp(a) = inf, or the product beyond DBL_MAX) stays +-inf;
    # the sign is g v p's also for a zero (the double-double sums above
    # turn -0 into +0).
    r = pr.hi if pr.hi - pr.hi != 0.0 else r
    return copysign(r * sc, (sg.hi * sv.hi) * sp.hi)

cdef inline double _tail_p_fold(dd_t p, double bl) noexcept nogil:
    # bl + log(1 + p.lo/p.hi) to first order (p.hi != 0).
    return bl + p.lo / p.hi


# elu: alpha * e^x.  The tail starts where alpha * e^x < ~e^-700 (with
# |alpha| = f 2^e, f in [0.5, 1) (frexp is exact): x < -700 - (e - 1) ln2)
# or x < -700 (elu_derivative's own exp is 0 below -800, whatever alpha);
# never beyond 0 (the x > 0 side is f' = 1), never for alpha = 0 (f' = 0).

cdef inline double elu_tail_t(double alpha) noexcept nogil:
    cdef int e
    frexp(alpha, &e)
    cdef double t = -700.0 - (e - 1) * 0.6931471805599453
    t = -700.0 if t < -700.0 else t
    t = 0.0 if t > 0.0 else t
    return -INFINITY if alpha == 0.0 else t

cdef inline double elu_tail_c(double x, double alpha) noexcept nogil:
    return x

cdef inline fa_tail_t elu_tail(double x, double alpha) noexcept nogil:
    return _tail_make(alpha, _clamp_lo(x, -3000.0), 0.0)


# selu: scale * alpha * e^x (the constant's low part folded into bl).

cdef inline double selu_tail_t() noexcept nogil:
    return -700.0

cdef inline double selu_tail_c(double x) noexcept nogil:
    return x

cdef inline fa_tail_t selu_tail(double x) noexcept nogil:
    return _tail_make(FA_SELU_SA_HI, _clamp_lo(x, -3000.0), FA_SELU_SA_LO / FA_SELU_SA_HI)


# gelu (exact): f'(x) = phi(x) (R(a) - a), a = -x, R(a) = S(1/a^2)/a the
# Mills ratio's asymptotic series (as gelu_erf_derivative for x < -20):
# p = -(a - S/a)/sqrt(2 pi) in double-double, b = -x^2/2 (exact).

cdef inline double gelu_erf_tail_t() noexcept nogil:
    return -37.5

cdef inline double gelu_erf_tail_c(double x) noexcept nogil:
    return x

cdef inline fa_tail_t gelu_erf_tail(double x) noexcept nogil:
    cdef double xc = _clamp_lo(x, -80.0)
    cdef double a = -xc
    cdef dd_t q = dd_two_sum(a, -(_mills_series(xc) / a))
    cdef dd_t p = dd_mul_dd(q, dd_make(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO))
    cdef dd_t sq = dd_two_prod(xc, xc)
    return _tail_make(-p.hi, -0.5 * sq.hi, _tail_p_fold(p, -0.5 * sq.lo))


# gelu (tanh): f'(x) = sigma(2u)(1 + m sigma(-2u)) = (1 + m) e^(2u), 2u < -700.

cdef inline double gelu_tanh_tail_t() noexcept nogil:
    return -21.1      # 2u(-21.1) = -704

cdef inline double gelu_tanh_tail_c(double x) noexcept nogil:
    return x

cdef inline fa_tail_t gelu_tanh_tail(double x) noexcept nogil:
    cdef double xc = _clamp_lo(x, -40.0)
    cdef dd_t z = _gelu_tanh_2u(xc)
    cdef dd_t p = dd_add_d(_gelu_tanh_m(xc), 1.0)
    return _tail_make(p.hi, z.hi, _tail_p_fold(p, z.lo))


# sigmoid: e^-|x|; log_sigmoid: sigma(-x) = e^-x (x > 0); tanh: 4 e^-2|x|.

cdef inline double sigmoid_tail_t() noexcept nogil:
    return -700.0

cdef inline double sigmoid_tail_c(double x) noexcept nogil:
    return -fabs(x)

cdef inline fa_tail_t sigmoid_tail(double x) noexcept nogil:
    return _tail_make(1.0, _clamp_lo(-fabs(x), -3000.0), 0.0)

cdef inline double log_sigmoid_tail_t() noexcept nogil:
    return -700.0

cdef inline double log_sigmoid_tail_c(double x) noexcept nogil:
    return -x

cdef inline fa_tail_t log_sigmoid_tail(double x) noexcept nogil:
    return _tail_make(1.0, _clamp_lo(-x, -3000.0), 0.0)

cdef inline double tanh_tail_t() noexcept nogil:
    return -350.0

cdef inline double tanh_tail_c(double x) noexcept nogil:
    return -fabs(x)

cdef inline fa_tail_t tanh_tail(double x) noexcept nogil:
    return _tail_make(4.0, _clamp_lo(-2.0 * fabs(x), -3000.0), 0.0)


# silu, mish: (1 + x) e^x; swish: (1 + z) e^z, z = beta x in double-double.

cdef inline fa_tail_t _one_plus_z_exp_z(double zh, double zl) noexcept nogil:
    cdef double zc = _clamp_lo(zh, -3000.0)
    cdef double l = zl if zc == zh else 0.0
    cdef dd_t p = dd_two_sum(1.0, zc)
    p.lo = p.lo + l
    return _tail_make(p.hi, zc, _tail_p_fold(p, l))

cdef inline double silu_tail_t() noexcept nogil:
    return -700.0

cdef inline double silu_tail_c(double x) noexcept nogil:
    return x

cdef inline fa_tail_t silu_tail(double x) noexcept nogil:
    return _one_plus_z_exp_z(x, 0.0)

cdef inline double swish_tail_t(double beta) noexcept nogil:
    return -700.0

cdef inline double swish_tail_c(double x, double beta) noexcept nogil:
    return beta * x          # beta = 0: 0 or NaN, never the tail

cdef inline fa_tail_t swish_tail(double x, double beta) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    return _one_plus_z_exp_z(z.hi, z.lo)

cdef inline double mish_tail_t() noexcept nogil:
    return -700.0

cdef inline double mish_tail_c(double x) noexcept nogil:
    return x

cdef inline fa_tail_t mish_tail(double x) noexcept nogil:
    return _one_plus_z_exp_z(x, 0.0)


# softplus: sigma(z) = e^z, z = beta x < -700 (and not beyond threshold,
# where f' = 1).

cdef inline double softplus_tail_t(double beta, double threshold) noexcept nogil:
    # z < -700 and not z > threshold: z < min(-700, the double above threshold)
    cdef double t = nextafter(threshold, INFINITY)
    return -700.0 if t > -700.0 else t

cdef inline double softplus_tail_c(double x, double beta, double threshold) noexcept nogil:
    return beta * x

cdef inline fa_tail_t softplus_tail(double x, double beta, double threshold) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    cdef double zc = _clamp_lo(z.hi, -3000.0)
    return _tail_make(1.0, zc, z.lo if zc == z.hi else 0.0)


# The gated family's f(gate) * value (and grad_value = g * f(gate)) meets the
# same underflow in f itself: glu's sigmoid(gate) below -700, swiglu's and
# geglu's gate * s(gate) in their tails, and for |gate| < 2^-1000, where
# f(gate) = gate/2 is subnormal or 0 (gate = 5e-324: 0 by the tie) while
# value can be up to 2^1024.  There f = p exp(b) as for the derivatives:
# sigmoid: e^x; silu: x e^x; gelu: x phi(x) R(-x) = -S phi(x) (S the
# Mills series, R = S/a); tanh-gelu: x e^(2u); tiny x: x e^-ln2.
# NAME_ftail_c(x) < NAME_ftail_t() selects (never for a NaN or infinite x:
# x + 0*x is NaN there and the compare false).

cdef inline double _deep_or_tiny(double x, double deep) noexcept nogil:
    # < 0 where x < deep (x finite) or |x| < 2^-1000: one value and one
    # compare, so that the flag loops vectorize (a second compare or a select
    # on |x| kept them scalar); an infinite x gives +inf, a NaN NaN.
    return _clamp_hi(fabs(x) - FA_TWO_M1000, (x + 0.0 * x) - deep)

cdef inline fa_tail_t _half_x_or(double x, fa_tail_t deep) noexcept nogil:
    # x e^-ln2 for |x| < 2^-1000, else the deep tail's form
    cdef fa_tail_t half = _tail_make(x, -FA_VM_LN2_HI, -FA_VM_LN2_LO)
    return half if fabs(x) < FA_TWO_M1000 else deep

cdef inline double sigmoid_ftail_t() noexcept nogil:
    return -700.0

cdef inline double sigmoid_ftail_c(double x) noexcept nogil:
    return x + 0.0 * x

cdef inline fa_tail_t sigmoid_ftail(double x) noexcept nogil:
    return _tail_make(1.0, _clamp_lo(x, -3000.0), 0.0)

cdef inline double silu_ftail_t() noexcept nogil:
    return 0.0

cdef inline double silu_ftail_c(double x) noexcept nogil:
    return _deep_or_tiny(x, -700.0)

cdef inline fa_tail_t silu_ftail(double x) noexcept nogil:
    return _half_x_or(x, _tail_make(x, _clamp_lo(x, -3000.0), 0.0))

cdef inline double gelu_erf_ftail_t() noexcept nogil:
    return 0.0

cdef inline double gelu_erf_ftail_c(double x) noexcept nogil:
    return _deep_or_tiny(x, -37.5)

cdef inline fa_tail_t gelu_erf_ftail(double x) noexcept nogil:
    cdef double xc = _clamp(x, -80.0, -1.0)
    cdef dd_t p = dd_mul_d(dd_make(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO), -_mills_series(xc))
    cdef dd_t sq = dd_two_prod(xc, xc)
    return _half_x_or(x, _tail_make(p.hi, -0.5 * sq.hi, _tail_p_fold(p, -0.5 * sq.lo)))

cdef inline double gelu_tanh_ftail_t() noexcept nogil:
    return 0.0

cdef inline double gelu_tanh_ftail_c(double x) noexcept nogil:
    return _deep_or_tiny(x, -21.1)      # 2u(-21.1) = -704

cdef inline fa_tail_t gelu_tanh_ftail(double x) noexcept nogil:
    cdef double xc = _clamp(x, -40.0, -1.0)
    cdef dd_t z = _gelu_tanh_2u(xc)
    return _half_x_or(x, _tail_make(_clamp_lo(x, -40.0), z.hi, z.lo))



# ===========================================================================
# float32 flavours: the float32 loops call NAME_forward32/NAME_derivative32
# (leaky_relu has none, SAME32, and native float loops for most slopes,
# further down; relu's are native float, and so are sigmoid's, tanh's,
# hardsigmoid's and the elu/selu derivatives).
# Same formulas and special values as above, in double, without the
# double-double corrections, the subnormal pre-scaling and the polynomials
# around the derivatives' zeros (double's 29 extra bits cover all of them
# once the result is rounded to float32; float32's range ends near e^-103).

cdef inline double _sig32(double z) noexcept nogil:
    cdef double e = vm_exp_f32g(-fabs(z))
    return (e if z < 0.0 else 1.0) / (1.0 + e)

cdef inline double _sig_one_plus32(double z, double m) noexcept nogil:
    # sigma(z) (1 + m sigma(-z)), the shape of silu' (m = z) and of
    # tanh-gelu' (m = 2u'x); one division for both sigmoids.
    cdef double e = vm_exp_f32g(-fabs(z))
    cdef double r = 1.0 / (1.0 + e)
    cdef double sp = (e if z < 0.0 else 1.0) * r
    cdef double sn = (1.0 if z < 0.0 else e) * r
    return sp * (1.0 + m * sn)

cdef inline double _silu_deriv32(double z) noexcept nogil:
    # silu'(z), z already clamped to +-800.
    return _sig_one_plus32(z, z)

cdef inline double elu_forward32(double x, double alpha) noexcept nogil:
    return x if x > 0.0 else alpha * vm_expm1_f32g(x)

cdef inline double elu_derivative32(double x, double alpha) noexcept nogil:
    # In double: the float32 derivative's flavour for |alpha| > 2^20, where
    # the exp of an alpha exp(x) above 2^-150 can be far below float32's
    # range, and below vm_exp_f32g's clamp too (-708: alpha = 1e300 gave
    # 3.3e-8 at x = -800, not 0): vm_c_exp takes any alpha (computed for
    # every x, then selected: see elu_derivative).
    cdef double neg = vm_c_exp(alpha, 0.0, x)
    return 1.0 if x > 0.0 else neg

cdef inline bint elu_derivative32n_ok(double alpha) noexcept nogil:
    return fabs(alpha) <= 1048576.0

cdef inline double elu_derivative32n(double x, double alpha) noexcept nogil:
    # alpha exp(x) natively in float for |alpha| <= 2^20 (vmf_c_exp: alpha
    # as a float pair, one rounding); the kernel loop checks alpha once.
    cdef float ah = <float> alpha
    cdef float al = <float> (alpha - <double> ah)
    return 1.0 if x > 0.0 else vmf_c_exp(<float> x, ah, al)

cdef inline double selu_forward32(double x) noexcept nogil:
    return FA_SELU_SCALE_HI * x if x > 0.0 else FA_SELU_SA_HI * vm_expm1_f32g(x)

cdef inline double selu_derivative32(double x) noexcept nogil:
    # scale * alpha * exp(x) natively in float (see vmf_c_exp).
    cdef float sah = <float> FA_SELU_SA_HI
    cdef float sal = <float> (FA_SELU_SA_HI - <double> sah)
    return FA_SELU_SCALE_HI if x > 0.0 else vmf_c_exp(<float> x, sah, sal)

cdef inline double gelu_erf_forward32(double x) noexcept nogil:
    # x Phi(x), 2 Phi(x) = T or 2 - T, T = sqrt(2/pi) e^(-x^2/2) R(|x|);
    # |x| clamped to 20 (gelu(-20) ~ -6e-88 is -0.0 in float32).
    cdef double xc = _clamp(x, -20.0, 20.0)
    cdef double a = fabs(xc)
    cdef double t = (FA_SQRT_2_OVER_PI * vm_exp_f32g(-0.5 * (xc * xc))) * vm_mills_r32(a)
    cdef double p2 = (2.0 - t) if xc > 0.0 else t
    return x if x > 20.0 else copysign(0.5 * xc * p2, x)

cdef inline double gelu_erf_derivative32(double x) noexcept nogil:
    # D or 1 - D, D = phi(x) (R(a) - a) (see gelu_erf_derivative).
    cdef double xc = _clamp(x, -20.0, 20.0)
    cdef double a = fabs(xc)
    cdef double d = (FA_INV_SQRT_2PI_HI * vm_exp_f32g(-0.5 * (xc * xc))) * (vm_mills_r32(a) - a)
    return (1.0 - d) if xc > 0.0 else d

cdef inline double gelu_tanh_forward32(double x) noexcept nogil:
    # x sigma(2u); beyond +-25 sigma(2u) is 0 or 1 in double.
    cdef double xc = _clamp(x, -25.0, 25.0)
    cdef double z = (2.0 * FA_SQRT_2_OVER_PI_HI) * (xc + FA_GELU_C_HI * (xc * xc * xc))
    return x if x > 25.0 else xc * _sig32(z)

cdef inline double gelu_tanh_derivative32(double x) noexcept nogil:
    cdef double xc = _clamp(x, -25.0, 25.0)
    cdef double z = (2.0 * FA_SQRT_2_OVER_PI_HI) * (xc + FA_GELU_C_HI * (xc * xc * xc))
    cdef double m = xc * ((2.0 * FA_SQRT_2_OVER_PI_HI) * (1.0 + (3.0 * FA_GELU_C_HI) * (xc * xc)))
    return _sig_one_plus32(z, m)

cdef inline double sigmoid_forward32(double x) noexcept nogil:
    return vmf_sigmoid(<float> x)

cdef inline double sigmoid_derivative32(double x) noexcept nogil:
    return vmf_sigmoid_deriv(<float> x)

cdef inline double log_sigmoid_forward32(double x) noexcept nogil:
    # NaN: the select gives 0 but log1p(exp(NaN)) carries it.
    return (x if x < 0.0 else 0.0) - vm_log1p01_f32g(vm_exp_f32g(-fabs(x)))

cdef inline double log_sigmoid_derivative32(double x) noexcept nogil:
    return vmf_sigmoid(-(<float> x))

cdef inline double tanh_forward32(double x) noexcept nogil:
    return vmf_tanh(<float> x)

cdef inline double tanh_derivative32(double x) noexcept nogil:
    return vmf_tanh_deriv(<float> x)

cdef inline double _silu32(double x) noexcept nogil:
    # -inf: -800 * 0 = -0.0, not NaN.
    return _clamp_lo(x, -800.0) * _sig32(x)

cdef inline double silu_forward32(double x) noexcept nogil:
    # (in double: x * sigma(x) natively in float, even with the
    # corrections of vmf_sigmoid, was 2.5 ULP off near x = -10)
    return _silu32(x)

cdef inline double silu_derivative32(double x) noexcept nogil:
    return _silu_deriv32(_clamp(x, -800.0, 800.0))

cdef inline double swish_forward32(double x, double beta) noexcept nogil:
    # beta*x < -745: sigma is 0 in double (vm_exp_f32g stops at e^-708, so
    # test the argument, not s == 0); x*0 would be NaN at x = +-inf.
    cdef double z = beta * x
    cdef double s = _sig32(z)
    cdef double r = copysign(0.0, x) if z < -745.0 else x * s
    return 0.5 * x if beta == 0.0 else r

cdef inline double swish_derivative32(double x, double beta) noexcept nogil:
    return _silu_deriv32(_clamp(_swish_z(beta * x, x), -800.0, 800.0))

cdef inline double mish_forward32(double x) noexcept nogil:
    # x q/(1 + q), q = e + e^2/2, e = exp(x).
    cdef double xc = _clamp_hi(x, 40.0)
    cdef double e = vm_exp_f32g(xc)
    cdef double q = e + 0.5 * (e * e)
    cdef double r = _clamp_lo(xc, -800.0) * q / (1.0 + q)
    return x if x > 40.0 else copysign(r, x)

cdef inline double mish_derivative32(double x) noexcept nogil:
    # tanh(sp) + x sech^2(sp) sigma(x).
    cdef double xc = _clamp(x, -800.0, 40.0)
    cdef double e = vm_exp_f32g(xc)
    cdef double q = e + 0.5 * (e * e)
    cdef double r = 1.0 / (1.0 + q)
    cdef double sig = e / (1.0 + e)
    return (q * r + xc * (sig * ((2.0 * q + 1.0) * (r * r)))) + 0.0

cdef inline double softplus_forward32(double x, double beta, double threshold) noexcept nogil:
    cdef double z = beta * x
    cdef double lpb = vm_log1p01_f32g(vm_exp_f32g(-fabs(z))) * (1.0 / beta)
    cdef double body = x + lpb if z > 0.0 else lpb
    return x if z > threshold else body

cdef inline double softplus_derivative32(double x, double beta, double threshold) noexcept nogil:
    cdef double z = beta * x
    return 1.0 if z > threshold else _sig32(z)

# float32 hardsigmoid natively in float (vmf_hardsigmoid: x + 3 as an
# exact float pair, / 6 with its remainder): the bits of the double formula
# rounded to float32, without the float <-> double conversions.  Its
# backward is g / 6 in float (hardsigmoid_backward32; g * fl(1/6) would
# round twice).
# float32 hardswish: * (1/6) instead of / 6 (a division costs more than the
# memory traffic); in double that leaves the result a few double ULPs off
# before its rounding to float32 (~2^-28 float32 ULP).

cdef inline float hardsigmoid_forward32(float x) noexcept nogil:
    return vmf_hardsigmoid(x)

cdef inline float hardsigmoid_derivative32(float x) noexcept nogil:
    cdef float sixth = 1.0 / 6.0
    cdef float zero = 0.0
    cdef float three = 3.0
    return (sixth if -three < x < three else zero) if x == x else x

cdef inline float hardsigmoid_backward32(float g, float x) noexcept nogil:
    # g / 6 (IEEE: rounded once, the double formula's bits: g/6 is never a
    # tie) for |x| < 3, else g * 0, or NaN for a NaN x.
    cdef float six = 6.0
    cdef float three = 3.0
    cdef float zero = 0.0
    cdef float outside = g * (zero if x == x else x)
    return g / six if fabsf(x) < three else outside

cdef inline double hardswish_forward32(double x) noexcept nogil:
    cdef double mid = x * (x + 3.0) * (1.0 / 6.0)
    return x if x >= 3.0 else (-0.0 if x <= -3.0 else mid)

cdef inline double hardswish_derivative32(double x) noexcept nogil:
    cdef double mid = (2.0 * x + 3.0) * (1.0 / 6.0)
    return 0.0 if x <= -3.0 else (1.0 if x >= 3.0 else mid)


# float32 relu and the slopes of prelu/rrelu, natively in float: each result
# is a select or one product of two float32 values, which double holds
# exactly, so the double formulas rounded once to float32 give these same
# bits; the float loops then skip the float <-> double conversions (relu's
# float32 backward took twice as long with them).

cdef inline float relu_forward32(float x) noexcept nogil:
    cdef float zero = 0.0
    return zero if x < zero else x

cdef inline float relu_derivative32(float x) noexcept nogil:
    cdef float zero = 0.0
    cdef float one = 1.0
    return (one if x > zero else zero) if x == x else x

cdef inline float slope_forward32(float x, float slope) noexcept nogil:
    # as leaky_relu_forward: slope 0 at x = -inf gives -0.0, not -inf*0
    cdef float zero = 0.0
    cdef float negative_zero = -0.0
    cdef float n = x * slope if slope != zero else (negative_zero if x == x else x)
    return x if x > zero else n

cdef inline float slope_forward_nonzero32(float x, float slope) noexcept nogil:
    # slope_forward32 for a slope known not to be 0 (see leaky_relu_forward_nonzero)
    cdef float zero = 0.0
    return x if x > zero else x * slope

cdef inline float slope_derivative32(float x, float slope) noexcept nogil:
    cdef float zero = 0.0
    cdef float one = 1.0
    return (one if x > zero else slope) if x == x else x

# float32 leaky_relu natively in float too, though its negative_slope is a
# double: v * slope as fma(v, s_hi, v * s_lo) with slope ~ s_hi + s_lo (two
# floats, 48 bits), rounded once at the FMA levels from within ~2^-46 of the
# exact product, as the double product (rounded to double, then to float32)
# is; the two can differ at a near-tie.  (Baseline, without fma, keeps the
# double loops.)  Results below ~2^-100: v * s_lo underflows and
# its rounding adds up to 2^-150, half a float32 ULP at 2^-126, so they are
# within 1 ULP (scaling such v up and the result back cost 70 % of the
# loop's time).  2^-100 <= |slope| <= 2^100 or slope = 0 (a tinier
# slope's s_hi is subnormal, a huger one overflows), checked once per call
# (_ok); other slopes take the double loops.

cdef inline bint _slope_pair_ok(double slope) noexcept nogil:
    # (Chained selects: see dd_two_prod.)  Baseline, without fma, keeps the
    # double loops: the pair's two roundings there reach 1.04 ULP.
    cdef double a = fabs(slope)
    cdef bint ok = a <= 1.2676506002282294e+30              # 2^100
    ok = ok if a >= 7.888609052210118e-31 else False        # 2^-100
    ok = True if a == 0.0 else ok
    return ok if FUSED_MLA else False

cdef inline float _times_slope_pair(float v, double slope) noexcept nogil:
    # The plain product where the pair adds nothing or goes wrong: an exact
    # slope (s_lo = 0), v = +-0 (the sum of two signed zeros loses the
    # product's sign), and an infinite or NaN v * s_lo (v = +-inf or NaN, or
    # an overflow so large that the plain product overflows too).
    cdef float s_hi = <float> slope
    cdef float s_lo = <float> (slope - <double> s_hi)
    cdef float zero = 0.0
    cdef float plain = v * s_hi
    cdef float lo = v * s_lo
    cdef float p = mlaf(v, s_hi, lo)
    p = plain if lo - lo != zero else p
    p = plain if v == zero else p
    # a result that rounds to zero keeps the product's sign (fma's exact sum
    # does; copysign makes it plain)
    return plain if s_lo == zero else copysignf(p, plain)

cdef inline bint leaky_relu_forward32n_ok(double negative_slope) noexcept nogil:
    return _slope_pair_ok(negative_slope)

cdef inline float leaky_relu_forward32n(float x, double negative_slope) noexcept nogil:
    # as leaky_relu_forward: slope 0 at x = -inf gives -0.0, not -inf*0
    cdef float zero = 0.0
    cdef float negative_zero = -0.0
    cdef float n = (_times_slope_pair(x, negative_slope) if negative_slope != 0.0
                    else (negative_zero if x == x else x))
    return x if x > zero else n

cdef inline bint leaky_relu_backward32n_ok(double negative_slope) noexcept nogil:
    return _slope_pair_ok(negative_slope)

cdef inline float leaky_relu_backward32n(float g, float x, double negative_slope) noexcept nogil:
    # g * leaky_relu'(x): g, or g * slope (an infinite g times slope 0: NaN,
    # as in double), NaN for a NaN x.
    cdef float zero = 0.0
    return (g if x > zero else _times_slope_pair(g, negative_slope)) if x == x else x


# ===========================================================================
# float32 backward flavours: the float32 backward loop computes
# g * NAME_bwd32(x) where NAME_bwd32_bad(x) is 0 and g is finite, and
# g * NAME_derivative(x) (the full one) elsewhere.
#
# NAME_bwd32 is f'(x) in double without the double-double corrections (mostly
# the NAME_derivative32 flavour; never a native-float one): relative error
# ~1e-10 as long as exp's argument stays above -708 (vm_exp_f32g's clamp), so
# g * f'(x), |g| <= FLT_MAX, is within ~0.5 float32 ULP even where f'(x) is far
# below float32's range (tanh'(50) * 1e30).  NAME_bwd32_bad(x) is 1 outside
# the window where that holds (and for NaN/inf x, whose special values the
# full derivative already gets right), else 0; the windows are wide: beyond
# them |f'| < 1e-85, so g * f' rounds to 0 in float32 for any finite g anyway.
# Each test is a compare on one value giving 0 or 1 (a select between other
# constants does not vectorize at SSE2): gcc vectorizes the ORs of them.
# Tests of |x| compare in float (exact: x is a float32 value): at SSE2 a
# double compare of fabs(x) feeding the int OR does not vectorize.
#
# Near the zeros of silu', swish', mish', gelu' and tanh-gelu' the cheap
# formulas cancel, and with vm_exp_f32g's (or vm_mills_r32's) error that is
# not enough where |g| is huge (mish_backward(1.4e19, -1.1924312) was 600 ULP
# off, tanh-gelu 21, gelu 890; the float32 rounding of f' alone hides it).
# There NAME_bwd32 takes the first 6 coefficients of the zero's polynomial
# (FA_*_DP; truncation < 1e-15 relative) within |t| < 2^-12 of the zero;
# NAME_bwd32_far is the formula alone, the same bits outside that window, and
# NAME_bwd32_near(x) is 1 inside it: the loop skips the polynomial in blocks
# without such an element (it cost ~40%).  Outside the window the formula's
# cancellation error is below ~0.03 ULP (gelu: ~0.15, from vm_mills_r32).

cdef inline bint _bw32_far(double t) noexcept nogil:
    # |t| >= 2^-12, decided in float: the flag loop then vectorizes at SSE2
    # (a double compare feeding an int OR-reduction does not), and the
    # selects use the very same test, so flags and selects always agree.
    return <float> fabs(t) >= <float> 0.000244140625

cdef inline double _bw32_poly_or(double far, double t, const double* dp) noexcept nogil:
    # far, or the zero's polynomial (6 terms) within the window |t| < 2^-12
    # (evaluated unconditionally: loads of dp in one arm of the select keep
    # gcc from if-converting the loop at SSE2)
    cdef double near = _poly_zero(t, dp, 6)
    return far if _bw32_far(t) else near

cdef inline int _bw32_near(double t) noexcept nogil:
    return 0 if _bw32_far(t) else 1

cdef inline double sigmoid_bwd32(double x) noexcept nogil:
    cdef double e = vm_exp_f32g(-fabs(x))
    cdef double d = 1.0 + e
    return e / (d * d)

cdef inline int sigmoid_bwd32_bad(double x) noexcept nogil:
    return 0 if <float> fabs(x) <= <float> 700.0 else 1

cdef inline double log_sigmoid_bwd32(double x) noexcept nogil:
    return _sig32(-x)

cdef inline int log_sigmoid_bwd32_bad(double x) noexcept nogil:
    return 0 if <float> fabs(x) <= <float> 700.0 else 1

cdef inline double tanh_bwd32(double x) noexcept nogil:
    cdef double e = vm_exp_f32g(-2.0 * fabs(x))
    cdef double d = 1.0 + e
    return (4.0 * e) / (d * d)

cdef inline int tanh_bwd32_bad(double x) noexcept nogil:
    return 0 if <float> fabs(x) <= <float> 350.0 else 1

cdef inline double elu_bwd32(double x, double alpha) noexcept nogil:
    return 1.0 if x > 0.0 else alpha * vm_exp_f32g(_clamp_hi(x, 0.0))

cdef inline int elu_bwd32_bad(double x, double alpha) noexcept nogil:
    return 0 if x >= -700.0 else 1

cdef inline double selu_bwd32(double x) noexcept nogil:
    # (in double: selu_derivative32, native float, stops at float32's range)
    return FA_SELU_SCALE_HI if x > 0.0 else FA_SELU_SA_HI * vm_exp_f32g(_clamp_hi(x, 0.0))

cdef inline int selu_bwd32_bad(double x) noexcept nogil:
    return 0 if x >= -700.0 else 1

cdef inline double gelu_erf_bwd32_far(double x) noexcept nogil:
    # (x > 20 is clamped to 20, where f' is 1 in double, as the full one)
    return gelu_erf_derivative32(x)

cdef inline double gelu_erf_bwd32(double x) noexcept nogil:
    return _bw32_poly_or(gelu_erf_bwd32_far(x),
                         (x - FA_GELU_ERF_Z0_HI) - FA_GELU_ERF_Z0_LO, FA_GELU_ERF_DP)

cdef inline int gelu_erf_bwd32_near(double x) noexcept nogil:
    return _bw32_near((x - FA_GELU_ERF_Z0_HI) - FA_GELU_ERF_Z0_LO)

cdef inline int gelu_erf_bwd32_bad(double x) noexcept nogil:
    return 0 if x >= -20.0 else 1

cdef inline double gelu_tanh_bwd32_far(double x) noexcept nogil:
    return gelu_tanh_derivative32(x)

cdef inline double gelu_tanh_bwd32(double x) noexcept nogil:
    return _bw32_poly_or(gelu_tanh_bwd32_far(x),
                         (x - FA_GELU_TANH_Z0_HI) - FA_GELU_TANH_Z0_LO, FA_GELU_TANH_DP)

cdef inline int gelu_tanh_bwd32_near(double x) noexcept nogil:
    return _bw32_near((x - FA_GELU_TANH_Z0_HI) - FA_GELU_TANH_Z0_LO)

cdef inline int gelu_tanh_bwd32_bad(double x) noexcept nogil:
    # x >= -20: exp's argument 2u >= -603
    return 0 if x >= -20.0 else 1

cdef inline double _silu_deriv_bw32(double z) noexcept nogil:
    # silu'(z), z clamped to +-800
    return _bw32_poly_or(_silu_deriv32(z), (z - FA_SILU_Z0_HI) - FA_SILU_Z0_LO, FA_SILU_DP)

cdef inline int _silu_near_bw32(double z) noexcept nogil:
    return _bw32_near((z - FA_SILU_Z0_HI) - FA_SILU_Z0_LO)

cdef inline double silu_bwd32_far(double x) noexcept nogil:
    return _silu_deriv32(_clamp(x, -800.0, 800.0))

cdef inline double silu_bwd32(double x) noexcept nogil:
    return _silu_deriv_bw32(_clamp(x, -800.0, 800.0))

cdef inline int silu_bwd32_near(double x) noexcept nogil:
    return _silu_near_bw32(x)

cdef inline int silu_bwd32_bad(double x) noexcept nogil:
    return 0 if <float> fabs(x) <= <float> 700.0 else 1

cdef inline double swish_bwd32_far(double x, double beta) noexcept nogil:
    return _silu_deriv32(_clamp(_swish_z(beta * x, x), -800.0, 800.0))

cdef inline double swish_bwd32(double x, double beta) noexcept nogil:
    return _silu_deriv_bw32(_clamp(_swish_z(beta * x, x), -800.0, 800.0))

cdef inline int swish_bwd32_near(double x, double beta) noexcept nogil:
    return _silu_near_bw32(beta * x)

cdef inline int swish_bwd32_bad(double x, double beta) noexcept nogil:
    # Also within 2^-20 of silu''s zero: there the rounding of beta*x
    # (|z| 2^-53) is a large part of t (the full derivative carries beta*x
    # in double-double).
    cdef double z = beta * x
    cdef double t = (z - FA_SILU_Z0_HI) - FA_SILU_Z0_LO
    # One compare on min(|t| 2^20, 701 - |z|) (>= 1 iff both are fine; NaN
    # and inf z fail it): two compares, however combined, kept the flag loop
    # from vectorizing at SSE2.
    cdef double a = fabs(t) * 1048576.0
    cdef double b = 701.0 - fabs(z)
    return 0 if (a if a < b else b) >= 1.0 else 1

cdef inline double mish_bwd32_far(double x) noexcept nogil:
    return mish_derivative32(x)

cdef inline double mish_bwd32(double x) noexcept nogil:
    return _bw32_poly_or(mish_bwd32_far(x), (x - FA_MISH_Z0_HI) - FA_MISH_Z0_LO, FA_MISH_DP)

cdef inline int mish_bwd32_near(double x) noexcept nogil:
    return _bw32_near((x - FA_MISH_Z0_HI) - FA_MISH_Z0_LO)

cdef inline int mish_bwd32_bad(double x) noexcept nogil:
    return 0 if x >= -700.0 else 1

cdef inline double softplus_bwd32(double x, double beta, double threshold) noexcept nogil:
    return softplus_derivative32(x, beta, threshold)

cdef inline int softplus_bwd32_bad(double x, double beta, double threshold) noexcept nogil:
    return 0 if fabs(beta * x) <= 700.0 else 1
