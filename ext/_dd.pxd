# cython: language_level=3, cdivision=True
#
# Double-double ("dd") helpers for fastact's point formulas (_formulas.pxd).
#
# Why: a few activations amplify the rounding error of their argument.  erfc(z)
# and exp(-z) in the negative tails of gelu, silu and friends turn a relative
# error r in z into a relative error of about |z|*r (exp) or 2*z^2*r (erfc), so
# x/sqrt(2), x^2/2, beta*x and tanh-gelu's u = sqrt(2/pi)*x*(1+0.044715x^2) are
# carried as an unevaluated sum hi + lo with |lo| <= ulp(hi)/2.  The callers then
# fold lo back in to first order (exp(h+l) = exp(h)*(1+l)).
#
# The error-free transformations below are exact only because the build uses
# -ffp-contract=off (no silent fusing of a*b+c) and no -ffast-math (no
# reassociation).  two_prod computes the exact product error with the hardware
# fma instruction when the build targets FMA (__FMA__, e.g. -mfma) and with
# Dekker's product on a Veltkamp split otherwise.  Both are exact where the
# error is representable, and two_prod returns lo = 0 (on every ISA) outside
# the range where both are guaranteed exact, so every ISA level computes the
# same bits.  No libm call: everything vectorizes at SSE2 as well.
#
# mla(a, b, c) is a*b + c for polynomials and argument reductions, the one
# place where fastact asks for fusing: a single rounding (and one instruction
# instead of two) at the FMA levels (AVX2, AVX-512), two roundings at
# baseline.  So the AVX2 and AVX-512 builds compute the same bits as each
# other, and baseline may differ from them by a few ULP (3 measured, in
# float64 backward products; tests/test_simd_levels.py checks both).
# Nothing error-free goes through mla.

from libc.math cimport fabs

cdef extern from *:
    """
    /* Every `cdef inline` point function and helper must be inlined into the
       kernel loops, or gcc cannot vectorize them ("dr in a call"); the
       double-double and polynomial helpers exceed gcc's default inline
       budget, so Cython's inline keyword is made always_inline from here on
       (this block is emitted before the point functions' declarations). */
    #if defined(__GNUC__)
    #undef CYTHON_INLINE
    #define CYTHON_INLINE inline __attribute__((always_inline))
    #endif
    /* a*b - p exactly, for p = fl(a*b) with |p| in [2^-960, DBL_MAX] and,
       without an fma, 2^-1021 <= |a|, |b| < 2^995 (dd_two_prod guards the
       range). */
    static inline double fa_dd_prod_err(double a, double b, double p) {
    #ifdef __FMA__
        return __builtin_fma(a, b, -p);
    #else
        const double C = 134217729.0;            /* 2^27 + 1 */
        double ca = C * a, cb = C * b;
        double ah = ca - (ca - a), al = a - ah;
        double bh = cb - (cb - b), bl = b - bh;
        return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    #endif
    }
    /* a*b + c for polynomial evaluation (Horner steps): one fused rounding
       where the level has FMA (the AVX2 and AVX-512 builds), two roundings
       at baseline.  Never used for the error-free transformations. */
    static inline double fa_mla(double a, double b, double c) {
    #ifdef __FMA__
        return __builtin_fma(a, b, c);
    #else
        return a * b + c;
    #endif
    }
    static inline float fa_mlaf(float a, float b, float c) {
    #ifdef __FMA__
        return __builtin_fmaf(a, b, c);
    #else
        return a * b + c;
    #endif
    }
    /* 1 where mla/mlaf fuse (the AVX2 and AVX-512 builds) */
    #ifdef __FMA__
    static const int FA_FUSED_MLA = 1;
    #else
    static const int FA_FUSED_MLA = 0;
    #endif
    static const double FA_DD_P_MIN = 0x1p-960;
    static const double FA_DD_P_MAX = 0x1.fffffffffffffp+1023;
    static const double FA_DD_AB_MIN = 0x1p-1021;
    static const double FA_DD_AB_MAX = 0x1p995;
    """
    double fa_dd_prod_err(double a, double b, double p) nogil
    double mla "fa_mla"(double a, double b, double c) nogil
    float mlaf "fa_mlaf"(float a, float b, float c) nogil
    const int FUSED_MLA "FA_FUSED_MLA"
    const double FA_DD_P_MIN
    const double FA_DD_P_MAX
    const double FA_DD_AB_MIN
    const double FA_DD_AB_MAX

ctypedef struct dd_t:
    double hi
    double lo


cdef inline dd_t dd_make(double hi, double lo) noexcept nogil:
    cdef dd_t r
    r.hi = hi
    r.lo = lo
    return r


cdef inline dd_t dd_two_prod(double a, double b) noexcept nogil:
    # a*b == hi + lo exactly when 2^-960 <= |a*b| <= DBL_MAX, and at
    # baseline also 2^-1021 <= |a|, |b| < 2^995 (the Veltkamp split cannot
    # overflow and no partial product underflows); elsewhere (including
    # inf/NaN) lo = 0.  With an fma the bounds on a and b are not needed:
    # a*b - p is a multiple of ulp(a) ulp(b) >= 2^-1064 there, so the fma
    # gives it exactly, and checking them cost 9-19 % of float64 sigmoid,
    # gelu and mish.
    cdef double p = a * b
    cdef double ap = fabs(a)
    cdef double bp = fabs(b)
    cdef double pp = fabs(p)
    # (Chained selects, not `and`: a bint built from `and` keeps gcc from
    # vectorizing at SSE2, "relevant stmt not supported: _ ? 1 : 0".)
    cdef double e = fa_dd_prod_err(a, b, p)
    e = e if pp >= FA_DD_P_MIN else 0.0
    e = e if pp <= FA_DD_P_MAX else 0.0
    if not FUSED_MLA:
        e = e if ap >= FA_DD_AB_MIN else 0.0
        e = e if ap < FA_DD_AB_MAX else 0.0
        e = e if bp >= FA_DD_AB_MIN else 0.0
        e = e if bp < FA_DD_AB_MAX else 0.0
    return dd_make(p, e)


cdef inline dd_t dd_fast_two_sum(double a, double b) noexcept nogil:
    # Exact when exponent(a) >= exponent(b) (e.g. |a| >= |b|); 3 flops.
    cdef double s = a + b
    return dd_make(s, b - (s - a))


cdef inline dd_t dd_two_sum(double a, double b) noexcept nogil:
    # Exact for any ordering of |a|, |b| (Knuth); 6 flops.
    cdef double s = a + b
    cdef double bb = s - a
    return dd_make(s, (a - (s - bb)) + (b - bb))


cdef inline dd_t dd_mul_d(dd_t a, double b) noexcept nogil:
    cdef dd_t p = dd_two_prod(a.hi, b)
    return dd_fast_two_sum(p.hi, p.lo + a.lo * b)


cdef inline dd_t dd_mul_dd(dd_t a, dd_t b) noexcept nogil:
    # The lo*lo term is below 2^-100 relative and is dropped.
    cdef dd_t p = dd_two_prod(a.hi, b.hi)
    return dd_fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi))


cdef inline dd_t dd_add_d(dd_t a, double b) noexcept nogil:
    cdef dd_t s = dd_two_sum(a.hi, b)
    return dd_fast_two_sum(s.hi, s.lo + a.lo)


cdef inline double dd_mul_const(double c_hi, double c_lo, double v) noexcept nogil:
    # (c_hi + c_lo) * v rounded nearly once: used for irrational constants
    # (SELU's scale, 1/sqrt(2*pi)) so that the constant's own rounding does
    # not add half an ULP to the result.  c_hi*v is split exactly
    # (two_prod), the small terms are added, then the sum rounded: the same
    # operations on every ISA (no fused multiply-add).  v == 0 and v == +-inf
    # fall back to the plain product: it keeps -0.0 and avoids inf - inf.
    cdef dd_t p = dd_two_prod(c_hi, v)
    cdef double r = p.hi + (p.lo + c_lo * v)
    r = p.hi if v == 0.0 else r
    return p.hi if p.hi - p.hi != 0.0 else r


cdef inline double dd_div_to_d(dd_t a, dd_t b) noexcept nogil:
    # (a.hi + a.lo) / (b.hi + b.lo) rounded nearly once: the quotient's exact
    # residual a.hi - q*b.hi (two_prod; the first difference is exact by
    # Sterbenz, and so is the residual) plus the low parts give a
    # first-order correction.
    cdef double q = a.hi / b.hi
    cdef dd_t qb = dd_two_prod(q, b.hi)
    cdef double r = (((a.hi - qb.hi) - qb.lo) + a.lo) - q * b.lo
    # q = +-inf (e.g. softplus with a subnormal beta): r is inf - inf; keep q.
    return q + r / b.hi if q - q == 0.0 else q
