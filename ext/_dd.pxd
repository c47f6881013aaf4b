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
# reassociation).  two_prod uses fma() for the exact product error: a hardware
# instruction on FMA targets and an exact (slower) libm routine elsewhere, so
# the result is bit-identical across ISAs.

from libc.math cimport fma

ctypedef struct dd_t:
    double hi
    double lo


cdef inline dd_t dd_make(double hi, double lo) noexcept nogil:
    cdef dd_t r
    r.hi = hi
    r.lo = lo
    return r


cdef inline dd_t dd_two_prod(double a, double b) noexcept nogil:
    # a*b == hi + lo exactly (barring over/underflow).
    cdef double p = a * b
    return dd_make(p, fma(a, b, -p))


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
    # (c_hi + c_lo) * v rounded once: used for irrational constants (SELU's
    # scale, 1/sqrt(2*pi)) so that the constant's own rounding does not add
    # half an ULP to the result.  v == 0 and v == +-inf fall back to the plain
    # product: it keeps -0.0 (fma would give +0.0 for a negative c_lo) and
    # avoids inf - inf.
    cdef double p = c_hi * v
    return p if (v == 0.0 or p - p != 0.0) else fma(c_hi, v, c_lo * v)


cdef inline double dd_div_to_d(dd_t a, dd_t b) noexcept nogil:
    # (a.hi + a.lo) / (b.hi + b.lo) rounded nearly once: the quotient's exact
    # residual (fma) plus the low parts give a first-order correction.
    cdef double q = a.hi / b.hi
    cdef double r = (fma(-q, b.hi, a.hi) + a.lo) - q * b.lo
    # q = +-inf (e.g. softplus with a subnormal beta): r is inf - inf; keep q.
    return q + r / b.hi if q - q == 0.0 else q
