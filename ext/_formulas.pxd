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
#   would multiply that error by |x|.  _exp_dd_scaled returns exp(a)*2^64 in
#   that range and the formula multiplies by 2^-64 last, so the result is
#   rounded into the subnormal range exactly once.
# * Branch-free: every choice is a C ternary select (Cython's `a if c else b`)
#   over values computed on all lanes, so gcc can if-convert and vectorize once
#   the libm calls are replaced.  Both sides of a select are evaluated, so both
#   must be harmless (no trap matters: the build uses -fno-trapping-math).
# * libm (exp, expm1, log1p, erfc, tanh) is used through one tiny wrapper
#   each (_exp, _expm1, ...), so a later change can swap in vectorizable
#   polynomials in one place.
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

from libc.math cimport exp, expm1, log1p, erfc, tanh, fabs, copysign, fma

from _dd cimport (dd_t, dd_make, dd_two_prod, dd_fast_two_sum, dd_two_sum,
                  dd_mul_d, dd_mul_dd, dd_add_d, dd_mul_const)


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
    static const double FA_LN2X64_HI = 0x1.62e42fefa39efp+5;  /* 64*ln(2) */
    static const double FA_LN2X64_LO = 0x1.abc9e3b39803fp-50;
    static const double FA_TWO_M64 = 0x1p-64;
    static const double FA_SELU_SCALE_HI = 0x1.0cfabd6a91132p+0;
    static const double FA_SELU_SCALE_LO = 0x1.6fc7d272f2695p-55;
    static const double FA_SELU_SA_HI = 0x1.c212cc640f031p+0;  /* scale*alpha */
    static const double FA_SELU_SA_LO = 0x1.05161b045a1fep-56;
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
    const double FA_LN2X64_HI
    const double FA_LN2X64_LO
    const double FA_TWO_M64
    const double FA_SELU_SCALE_HI
    const double FA_SELU_SCALE_LO
    const double FA_SELU_SA_HI
    const double FA_SELU_SA_LO


# ---------------------------------------------------------------------------
# libm, one wrapper per function: the single place to swap in polynomials.

cdef inline double _exp(double x) noexcept nogil:
    return exp(x)

cdef inline double _expm1(double x) noexcept nogil:
    return expm1(x)

cdef inline double _log1p(double x) noexcept nogil:
    return log1p(x)

cdef inline double _erfc(double x) noexcept nogil:
    return erfc(x)

cdef inline double _tanh(double x) noexcept nogil:
    return tanh(x)


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
    # The factor that undoes _exp_dd_scaled's scaling for argument a.
    return FA_TWO_M64 if a < -700.0 else 1.0

cdef inline double _exp_dd_scaled(double hi, double lo) noexcept nogil:
    # exp(hi + lo) * (2^64 if hi < -700 else 1), for hi <= ~700 and
    # |lo| <= ulp(hi).  Below -700 the argument is shifted by 64*ln2 (itself in
    # double-double, the shift is exact by fast-two-sum) so the exp stays
    # normal.  Below -800 the result is 0 whatever lo is, and lo (possibly
    # inf/NaN from the caller's split of an infinite hi) is dropped.
    cdef bint deep = hi < -800.0
    cdef bint tail = hi < -700.0
    cdef double h = -800.0 if deep else hi
    cdef double l = 0.0 if deep else lo
    cdef double c = FA_LN2X64_HI if tail else 0.0
    cdef double cl = FA_LN2X64_LO if tail else 0.0
    cdef double s = h + c
    cdef double t = c - (s - h)
    cdef double e = _exp(s)
    return e + e * ((l + t) + cl)


# ---------------------------------------------------------------------------
# Sigmoid family on a double-double argument z = zh + zl.
# e = exp(-|z|) <= 1, sigma(z) = (z < 0 ? e : 1) / (1 + e),
# sigma(-z) = (z < 0 ? 1 : e) / (1 + e).

cdef inline double _x_sigmoid_dd(double x, double zh, double zl) noexcept nogil:
    # x * sigmoid(zh + zl): silu, swish, tanh-gelu (0.5x(1+tanh u) = x*sigma(2u)).
    cdef bint neg = zh < 0.0
    cdef double a = -fabs(zh)
    cdef double e_s = _exp_dd_scaled(a, zl if neg else -zl)
    cdef double sc = _tail_scale(a)
    cdef double e = e_s * sc
    cdef double num = e_s if neg else 1.0
    cdef double r = (x * num) / (1.0 + e) * (sc if neg else 1.0)
    # sigma == 0 exactly only for an infinite or huge z: x*0 would be NaN for
    # x = +-inf, the limit is a zero with x's sign.
    return copysign(0.0, x) if num == 0.0 else r

cdef inline double _sigmoid_1p_dd(double zh, double zl, double m) noexcept nogil:
    # sigma(z) * (1 + m*sigma(-z)): the derivative of x*sigma(z(x)) with
    # m = x*z'(x) (silu: m = x, swish: m = beta*x, tanh-gelu: m = x*2u').
    # Factoring sigma(z) out keeps the product e-linear, so the subnormal
    # scaling applies.  Caller guarantees m finite (clamps x).
    cdef bint neg = zh < 0.0
    cdef double a = -fabs(zh)
    cdef double e_s = _exp_dd_scaled(a, zl if neg else -zl)
    cdef double sc = _tail_scale(a)
    cdef double e = e_s * sc
    cdef double d = 1.0 + e
    cdef double sp = (e_s if neg else 1.0) / d
    cdef double sn = (1.0 if neg else e) / d
    return sp * (1.0 + m * sn) * (sc if neg else 1.0)

cdef inline double _sigmoid(double x) noexcept nogil:
    cdef double e = _exp(-fabs(x))
    return (e if x < 0.0 else 1.0) / (1.0 + e)


# ---------------------------------------------------------------------------
# exp(-x^2/2) for the normal density: x^2 in double-double, because exp
# amplifies the rounding of x^2/2 (~x^2/2 * 2^-53) by x^2/2.

cdef inline double _gauss_scaled(double x) noexcept nogil:
    # exp(-x^2/2) * (2^64 if x^2/2 > 700 else 1); undo with _gauss_scale(x).
    cdef dd_t sq = dd_two_prod(x, x)
    return _exp_dd_scaled(-0.5 * sq.hi, -0.5 * sq.lo)

cdef inline double _gauss_scale(double x) noexcept nogil:
    return _tail_scale(-0.5 * (x * x))


cdef inline double _mills_series(double x) noexcept nogil:
    # S(w) = sum_k (-1)^k (2k-1)!! w^k, w = 1/x^2: for x <= -20,
    # Phi(x) = phi(x)/|x| * S.  The first omitted term (k = 11) is < 4e-19.
    cdef double w = 1.0 / (x * x)
    cdef double s = 654729075.0
    s = -34459425.0 + w * s
    s = 2027025.0 + w * s
    s = -135135.0 + w * s
    s = 10395.0 + w * s
    s = -945.0 + w * s
    s = 105.0 + w * s
    s = -15.0 + w * s
    s = 3.0 + w * s
    s = -1.0 + w * s
    return 1.0 + w * s


cdef inline double _gelu_phi_cdf(double x) noexcept nogil:
    # Phi(x) = erfc(-x/sqrt2)/2 for x >= -20 with the argument in
    # double-double: erfc(zh + zl) = erfc(zh) - zl * 2/sqrt(pi) * exp(-zh^2),
    # and exp(-zh^2) = exp(-x^2/2) to the accuracy a first-order term needs.
    cdef dd_t z = dd_mul_d(dd_make(FA_INV_SQRT2_HI, FA_INV_SQRT2_LO), -x)
    cdef double g = _gauss_scaled(x) * _gauss_scale(x)
    return 0.5 * (_erfc(z.hi) - z.lo * FA_TWO_OVER_SQRT_PI * g)


# ---------------------------------------------------------------------------
# tanh-gelu's argument 2u = 2*sqrt(2/pi)*x*(1 + 0.044715 x^2) and
# m = x * d(2u)/dx = 2*sqrt(2/pi)*x*(1 + 3*0.044715 x^2), in double-double.
# |x| <= 25 (callers clamp): beyond it sigma(2u) is 0 or 1 in double.

cdef inline dd_t _gelu_tanh_2u(double x) noexcept nogil:
    cdef dd_t cx2 = dd_mul_dd(dd_make(FA_GELU_C_HI, FA_GELU_C_LO), dd_two_prod(x, x))
    cdef dd_t u = dd_mul_d(dd_add_d(cx2, 1.0), x)
    u = dd_mul_dd(u, dd_make(FA_SQRT_2_OVER_PI_HI, FA_SQRT_2_OVER_PI_LO))
    return dd_make(2.0 * u.hi, 2.0 * u.lo)

cdef inline double _gelu_tanh_m(double x) noexcept nogil:
    cdef dd_t cx2 = dd_mul_dd(dd_make(FA_GELU_C_HI, FA_GELU_C_LO), dd_two_prod(x, x))
    cdef dd_t v = dd_mul_d(dd_add_d(dd_mul_d(cx2, 3.0), 1.0), x)
    v = dd_mul_dd(v, dd_make(FA_SQRT_2_OVER_PI_HI, FA_SQRT_2_OVER_PI_LO))
    return 2.0 * v.hi


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

cdef inline double leaky_relu_derivative(double x, double negative_slope) noexcept nogil:
    return _nan_or(x, 1.0 if x > 0.0 else negative_slope)


# elu

cdef inline double _alpha_exp(double alpha, double x) noexcept nogil:
    # alpha*exp(x) for x <= 0, rounded once even when subnormal.
    cdef double a = _clamp_hi(x, 0.0)
    return alpha * _exp_dd_scaled(a, 0.0) * _tail_scale(a)

cdef inline double elu_forward(double x, double alpha) noexcept nogil:
    return x if x > 0.0 else alpha * _expm1(x)

cdef inline double elu_derivative(double x, double alpha) noexcept nogil:
    # x <= 0 branch at 0 gives alpha, as torch.
    return 1.0 if x > 0.0 else _alpha_exp(alpha, x)


# selu

cdef inline double selu_forward(double x) noexcept nogil:
    cdef double pos = dd_mul_const(FA_SELU_SCALE_HI, FA_SELU_SCALE_LO, x)
    cdef double neg = dd_mul_const(FA_SELU_SA_HI, FA_SELU_SA_LO, _expm1(x))
    return pos if x > 0.0 else neg

cdef inline double selu_derivative(double x) noexcept nogil:
    cdef double a = _clamp_hi(x, 0.0)
    cdef double neg = dd_mul_const(FA_SELU_SA_HI, FA_SELU_SA_LO,
                                   _exp_dd_scaled(a, 0.0)) * _tail_scale(a)
    return FA_SELU_SCALE_HI if x > 0.0 else neg


# gelu (exact): x * Phi(x)

cdef inline double gelu_erf_forward(double x) noexcept nogil:
    # x < -20: gelu = -phi(x) * S(1/x^2) (asymptotic series of the Mills
    # ratio), which never multiplies a subnormal by x.  Clamped to +-40:
    # beyond it gelu is x (Phi = 1) or -0.0 in double.
    cdef double xc = _clamp(x, -40.0, 40.0)
    cdef double tail = -(_gauss_scaled(xc)
                         * dd_mul_const(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO,
                                        _mills_series(xc))) * _gauss_scale(xc)
    return tail if xc < -20.0 else x * _gelu_phi_cdf(xc)

cdef inline double gelu_erf_derivative(double x) noexcept nogil:
    # Phi(x) + x*phi(x); for x < -20, phi(x) * (x - S/x).
    cdef double xc = _clamp(x, -40.0, 40.0)
    cdef double g_s = _gauss_scaled(xc)
    cdef double sc = _gauss_scale(xc)
    cdef double phi_s = dd_mul_const(FA_INV_SQRT_2PI_HI, FA_INV_SQRT_2PI_LO, g_s)
    cdef double tail = phi_s * (xc - _mills_series(xc) / xc) * sc
    cdef double mid = _gelu_phi_cdf(xc) + xc * (phi_s * sc)
    return tail if xc < -20.0 else mid


# gelu (tanh approximation): 0.5x(1 + tanh u) = x * sigmoid(2u)

cdef inline double gelu_tanh_forward(double x) noexcept nogil:
    cdef dd_t z = _gelu_tanh_2u(_clamp(x, -25.0, 25.0))
    return _x_sigmoid_dd(x, z.hi, z.lo)

cdef inline double gelu_tanh_derivative(double x) noexcept nogil:
    cdef double xc = _clamp(x, -25.0, 25.0)
    cdef dd_t z = _gelu_tanh_2u(xc)
    return _sigmoid_1p_dd(z.hi, z.lo, _gelu_tanh_m(xc))


# sigmoid

cdef inline double sigmoid_forward(double x) noexcept nogil:
    return _sigmoid(x)

cdef inline double sigmoid_derivative(double x) noexcept nogil:
    # sigma(x)*sigma(-x) = e/(1+e)^2 from the input: y(1-y) would cancel to 0.
    cdef double e = _exp(-fabs(x))
    cdef double d = 1.0 + e
    return e / (d * d)


# log_sigmoid

cdef inline double log_sigmoid_forward(double x) noexcept nogil:
    # NaN: the select gives 0 but log1p(exp(NaN)) carries it.
    return (x if x < 0.0 else 0.0) - _log1p(_exp(-fabs(x)))

cdef inline double log_sigmoid_derivative(double x) noexcept nogil:
    return _sigmoid(-x)


# tanh

cdef inline double tanh_forward(double x) noexcept nogil:
    return _tanh(x)

cdef inline double tanh_derivative(double x) noexcept nogil:
    # 4e/(1+e)^2, e = exp(-2|x|): 1 - tanh^2 would cancel for |x| > ~19.
    cdef double a = -2.0 * fabs(x)
    cdef double e_s = _exp_dd_scaled(a, 0.0)
    cdef double sc = _tail_scale(a)
    cdef double d = 1.0 + e_s * sc
    return (4.0 * e_s) / (d * d) * sc


# silu

cdef inline double silu_forward(double x) noexcept nogil:
    return _x_sigmoid_dd(x, x, 0.0)

cdef inline double silu_derivative(double x) noexcept nogil:
    cdef double xc = _clamp(x, -800.0, 800.0)
    return _sigmoid_1p_dd(xc, 0.0, xc)


# swish: x * sigmoid(beta*x), beta*x carried with its rounding error

cdef inline double swish_forward(double x, double beta) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    return _x_sigmoid_dd(x, z.hi, z.lo)

cdef inline double swish_derivative(double x, double beta) noexcept nogil:
    # d/dx x*sigma(bx) = sigma(z)(1 + z*sigma(-z)), z = bx: silu'(z).
    cdef dd_t z = dd_two_prod(beta, x)
    cdef double zh = _clamp(z.hi, -800.0, 800.0)
    return _sigmoid_1p_dd(zh, z.lo, zh)


# mish: x * tanh(softplus(x))
# With e = exp(x), q = e + e^2/2: tanh(softplus(x)) = q/(1+q) and
# sech^2(softplus(x)) = (2q+1)/(1+q)^2.  x is clamped to 40 (e^80 is far
# from overflow and tanh(softplus) is 1 - 2e^-80 = 1 in double).

cdef inline double mish_forward(double x) noexcept nogil:
    cdef double xc = _clamp_hi(x, 40.0)
    cdef double e_s = _exp_dd_scaled(xc, 0.0)
    cdef double sc = _tail_scale(xc)
    cdef double q_s = fma(0.5 * (e_s * sc), e_s, e_s)
    cdef dd_t s = dd_two_sum(1.0, q_s * sc)         # 1 + q, exactly
    cdef double r = 1.0 / s.hi
    r = r - r * (s.lo * r)                           # 1/(1+q)
    cdef double t_s = q_s / s.hi
    t_s = t_s - t_s * (s.lo / s.hi)                  # q/(1+q), e-linear
    # x < 0: q/(1+q) (small, no cancellation); x > 0: 1 - 1/(1+q).
    cdef double t = t_s if xc <= 0.0 else 1.0 - r
    return _clamp_lo(x, -800.0) * t * sc

cdef inline double mish_derivative(double x) noexcept nogil:
    # tanh(sp) + x * sech^2(sp) * sigmoid(x)
    cdef double xc = _clamp(x, -800.0, 40.0)
    cdef double e_s = _exp_dd_scaled(xc, 0.0)
    cdef double sc = _tail_scale(xc)
    cdef double e = e_s * sc
    cdef double q_s = fma(0.5 * e, e_s, e_s)
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
    return (t + xc * (sig_s * sech2)) * sc


# softplus: PyTorch's log1p(exp(beta*x))/beta, x where beta*x > threshold

cdef inline double softplus_forward(double x, double beta, double threshold) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    cdef bint neg = z.hi < 0.0
    cdef double a = -fabs(z.hi)
    cdef double e_s = _exp_dd_scaled(a, z.lo if neg else -z.lo)
    cdef double sc = _tail_scale(a)
    cdef double lp = _log1p(e_s * sc)
    # (max(z,0) + log1p(exp(-|z|)))/beta.
    # (bx + lp)/b = x + lp/b: x is exact, so no rounding of b*x is involved.
    cdef double body = x + lp / beta if z.hi > 0.0 else lp / beta
    # Subnormal range: log1p(e) = e, scaled; rounded once at the end.
    cdef double deep = e_s / beta * sc
    cdef double r = deep if a < -700.0 else body
    return x if z.hi > threshold else r

cdef inline double softplus_derivative(double x, double beta, double threshold) noexcept nogil:
    cdef dd_t z = dd_two_prod(beta, x)
    cdef bint neg = z.hi < 0.0
    cdef double a = -fabs(z.hi)
    cdef double e = _exp_dd_scaled(a, z.lo if neg else -z.lo) * _tail_scale(a)
    cdef double s = (e if neg else 1.0) / (1.0 + e)
    return 1.0 if z.hi > threshold else s


# hardsigmoid: min(max(x+3, 0), 6)/6

cdef inline double hardsigmoid_forward(double x) noexcept nogil:
    # x + 3 is exact near -3 (Sterbenz), so the result near 0 keeps full
    # relative accuracy; x/6 + 0.5 would not.
    return _clamp_hi(_clamp_lo(x + 3.0, 0.0), 6.0) / 6.0

cdef inline double hardsigmoid_derivative(double x) noexcept nogil:
    return _nan_or(x, 1.0 / 6.0 if (x > -3.0 and x < 3.0) else 0.0)


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
