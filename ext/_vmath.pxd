# cython: language_level=3, cdivision=True
#
# fastact vector math: branch-free, table-free double-precision exp, expm1,
# log1p, tanh and the normal Mills ratio, written so that gcc vectorizes a
# loop that calls them at every x86 level (SSE2, AVX2, AVX-512) without
# -ffast-math.  Only +, -, *, /, compares/selects and 64-bit integer add,
# and, or and logical shifts on the bit patterns are used (all of which SSE2
# has as packed instructions); no libm call, no table, no rint/floor
# (rounding to an integer is the (x + 1.5*2^52) - 1.5*2^52 trick), no int64
# <-> double conversion (SSE2 has none), no arithmetic 64-bit shift.  The
# Horner steps and the Cody-Waite reductions are mla/fa_mla (_dd.pxd): fused
# at AVX2 and AVX-512, a*b + c at baseline, so those two levels give the same
# bits and baseline may differ from them by a few ULP.  Nothing else fuses
# (the build keeps -ffp-contract=off and no -ffast-math); the fma inside
# dd_two_prod is an exact transformation and gives the same bits as its
# portable Dekker form.
#
# Interfaces (all `cdef inline ... noexcept nogil`):
#
#   double vm_c_exp(double ch, double cl, double a)
#                                                 (ch + cl) exp(a), a <= 0, ~1 ULP
#   double vm_exp_2s(double a, double lo, double s)
#                                                 exp(a) (1 + lo) 2^s, the same
#   dd_t   vm_exp_dd(double xh, double xl)         exp(xh + xl) as hi + lo
#   dd_t   vm_exp_dd_2s(double xh, double xl, double s)
#                                                 exp(xh + xl) 2^s, the same
#   double vm_expm1(double x)                     expm1(x), full range
#   dd_t   vm_expm1_dd(double x)                  expm1(x) as hi + lo
#   dd_t   vm_log1p_dd(double x)                  log1p(x) as hi + lo
#   dd_t   vm_log1p01_dd(double e)                the same for 0 <= e <= 1
#   double vm_tanh(double x)                      tanh(x), full range
#   double vm_mills(double a)                     Phi(-a)/phi(a), 0 <= a <= 20
#   double vm_mills_r32(double a)                 the same at float32 grade
#
# A dd_t result has hi = the double nearest to hi + lo (so hi alone is the
# rounded function value) and lo = the remainder; hi + lo carries the
# function with a relative error of about 2^-57 or better, so a caller that
# folds lo into its own arithmetic gets one final rounding instead of two.
# In the subnormal range of exp's result, lo is meaningless (it underflows):
# callers that need a correctly rounded subnormal product (fastact's
# formulas) pre-scale the argument (see _exp_dd_scaled in _formulas.pxd).
#
# Measured accuracy against mpmath (40 digits) on ~60 000-90 000 points per
# function (uniform over the whole domain, dense near 0 and log-uniform
# tiny arguments, the overflow/underflow thresholds; /tmp/vm_test/acc.py):
#
#   vm_exp_dd     hi + lo relative error 4.0e-18 (2^-57.8)
#   vm_expm1      0.55 ULP (worst just above |x| = ln2/2, where 2^k - 1
#                 and exp(r) - 1 partly cancel); dd relative 1.3e-17 (2^-56.1)
#   vm_log1p_dd   hi 0.53 ULP; dd relative 7.1e-18 (2^-57.0)
#   vm_log1p01_dd hi 0.52 ULP; dd relative 4.7e-18 (2^-57.6) (on [0, 1])
#   vm_tanh       0.506 ULP
#   vm_mills      ~2.2 ULP as G/(1+a) in double; vm_mills_g (G itself) is
#                 what the formulas use, folded into a double-double division
#   Everything vectorizes at SSE2, AVX2 and AVX-512, with bitwise identical
#   results before mla (now: AVX2 = AVX-512) (checked on 0.5 M arguments per kernel, NaN payloads aside).
#
# Special values: NaN -> NaN everywhere; exp(-inf) = 0, exp(inf) = inf,
# exp(x > 709.78) = inf, exp(x < -745.14) = 0 (subnormal results in between
# are right: 2^k is applied in two steps, each a normal power of two, so the
# product is rounded only once); expm1(-0.0) = -0.0, expm1(-inf) = -1;
# log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(inf) = inf, log1p(-0.0) =
# -0.0; tanh(+-inf) = +-1, tanh(-0.0) = -0.0.

from libc.stdint cimport uint64_t
from libc.math cimport fabs, copysign, INFINITY, NAN

from _dd cimport (dd_t, dd_make, dd_two_prod, dd_fast_two_sum, dd_two_sum,
                  dd_div_to_d, mla)


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* Bit casts: memcpy is the portable form and compiles to nothing (a
       register move; in a vectorized loop, to nothing at all). */
    static inline uint64_t fa_vm_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
    static inline double fa_vm_from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

    static const double FA_VM_SHIFT = 0x1.8p52;              /* 1.5 * 2^52 */
    static const double FA_VM_INV_LN2 = 0x1.71547652b82fep+0;
    /* ln2 split: HI has 32 significant bits, so k*HI is exact for |k| < 2^21 */
    static const double FA_VM_LN2_HI = 0x1.62e42fee00000p-1;
    static const double FA_VM_LN2_LO = 0x1.a39ef35793c76p-33;
    static const double FA_VM_C_BIG = 0x1p400;      /* vm_c_exp's ranges of c */
    static const double FA_VM_C_SMALL = 0x1p-280;
    /* exp(r) = 1 + r + r^2 * P(r), |r| <= 0.35: mpmath chebyfit of
       (exp(r) - 1 - r)/r^2, degree 10, max abs error 1.9e-19 on r^2 P. */
    static const double FA_VM_EXP_P0 = 0x1.0000000000000p-1;
    static const double FA_VM_EXP_P1 = 0x1.5555555555557p-3;
    static const double FA_VM_EXP_P2 = 0x1.5555555555556p-5;
    static const double FA_VM_EXP_P3 = 0x1.111111110ff8bp-7;
    static const double FA_VM_EXP_P4 = 0x1.6c16c16c16214p-10;
    static const double FA_VM_EXP_P5 = 0x1.a01a01ac9de9ep-13;
    static const double FA_VM_EXP_P6 = 0x1.a01a01a74077ap-16;
    static const double FA_VM_EXP_P7 = 0x1.71ddfff6573d6p-19;
    static const double FA_VM_EXP_P8 = 0x1.27e4da1e12fb1p-22;
    static const double FA_VM_EXP_P9 = 0x1.af5282aacdb2ep-26;
    static const double FA_VM_EXP_P10 = 0x1.1f75a3caadff5p-29;
    /* Q(w) of vm_log1p01_dd, highest degree first (tools/fit_polynomials.py) */
    static const double FA_VM_LOG1P01[8] = {
        0x1.169c38cc826bep-4, 0x1.0e8c55b42945fp-4, 0x1.3b29d0452d426p-4,
        0x1.745cac43cc003p-4, 0x1.c71c72df580fcp-4, 0x1.24924923de6edp-3,
        0x1.9999999999f17p-3, 0x1.5555555555555p-2,
    };
    static const uint64_t FA_VM_SQRT_HALF_BITS = 0x3fe6a09e667f3bcdULL;
    static const uint64_t FA_VM_LOG_OFFSET = 0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL;
    static const uint64_t FA_VM_MANT_MASK = 0x000fffffffffffffULL;
    static const uint64_t FA_VM_TWO52_BITS = 0x4330000000000000ULL;
    /* Mills ratio R(a) = Phi(-a)/phi(a) = sqrt(pi/2) erfcx(a/sqrt2) on
       0 <= a <= 20: G(s) = R(a)*(1 + a) (flat: 1.05..1.25, so Horner does
       not cancel) as a polynomial in s = (5 - 1.5a)/(5 + a) in [-1, 1]
       (t = 5/(5+a) mapped onto [-1, 1]; 1.5 and 5 are exact): mpmath
       chebyfit, degree 23, max abs error 2.7e-19 (relative 2.6e-19). */
    static const double FA_VM_MILLS[24] = {
        0x1.349d85c453d21p+0, 0x1.a1a13da149189p-3, 0x1.acec48dd97ca7p-6,
        -0x1.cc1375fd2dd8ep-5, -0x1.04f4404f7a372p-4, -0x1.4969299b2ea42p-5,
        -0x1.19275d05bbf9bp-6, -0x1.3693ae2b79035p-8, -0x1.1f34a9c1d9ca9p-11,
        0x1.3bac3844305ffp-13, 0x1.1f62d22c9d9c7p-14, 0x1.ec63e37aff34bp-21,
        -0x1.4ef253b8d05eap-18, -0x1.24b883883631fp-21, 0x1.90c47889e28abp-22,
        0x1.fbfae45624675p-25, -0x1.1624c0db8eaecp-25, -0x1.4cdbd5cfa5137p-28,
        0x1.b5e2c8b6d9475p-29, 0x1.3454a4e3c45c5p-32, -0x1.51f1ebe405661p-32,
        -0x1.0c3dc839d3ef8p-39, 0x1.63a3f61f7b82fp-36, -0x1.6f1b068830030p-40,
    };
    /* The same G(s) at float32 grade: mpmath chebyfit, degree 14, max
       relative error 3.7e-12 (3.5e-12 as evaluated by double Horner). */
    static const double FA_VM_MILLS32[15] = {
        0x1.349d85c453d21p+0, 0x1.a1a13da2a5a41p-3, 0x1.acec48d7dfb17p-6,
        -0x1.cc1376c8fa85fp-5, -0x1.04f44019f5cdap-4, -0x1.496920f555dd5p-5,
        -0x1.1927661c743bdp-6, -0x1.3694fb09a4c2ap-8, -0x1.1f2f30f025b5ep-11,
        0x1.3c13ba47ce7c2p-13, 0x1.1ef5b7c011f72p-14, 0x1.609b767c6ad5dp-21,
        -0x1.45b45c1275e6fp-18, -0x1.82d4300316f6fp-22, 0x1.26d7d45b99cebp-22,
    };
    """
    uint64_t fa_vm_bits(double x) nogil
    double fa_vm_from_bits(uint64_t u) nogil
    const double FA_VM_SHIFT
    const double FA_VM_INV_LN2
    const double FA_VM_LN2_HI
    const double FA_VM_LN2_LO
    const double FA_VM_C_BIG
    const double FA_VM_C_SMALL
    const double FA_VM_EXP_P0
    const double FA_VM_EXP_P1
    const double FA_VM_EXP_P2
    const double FA_VM_EXP_P3
    const double FA_VM_EXP_P4
    const double FA_VM_EXP_P5
    const double FA_VM_EXP_P6
    const double FA_VM_EXP_P7
    const double FA_VM_EXP_P8
    const double FA_VM_EXP_P9
    const double FA_VM_EXP_P10
    const double FA_VM_LOG1P01[8]
    const uint64_t FA_VM_SQRT_HALF_BITS
    const uint64_t FA_VM_LOG_OFFSET
    const uint64_t FA_VM_MANT_MASK
    const uint64_t FA_VM_TWO52_BITS
    const double FA_VM_MILLS[24]
    const double FA_VM_MILLS32[15]



# ---------------------------------------------------------------------------
# float32-grade helpers (for the NAME_forward32/NAME_derivative32 flavours of
# _formulas.pxd).  Two kinds:
#
# * vmf_*: computed natively in float (16 lanes at AVX-512), written in C so
#   that every constant and intermediate is a float (a Cython literal would be
#   a double and drag the arithmetic into double).  Only +, -, *, /,
#   compares/selects, fa_mlaf (fused at the FMA levels) and 32-bit integer
#   add/shift on bit patterns.
#   vmf_exp: Cody-Waite (ln2 split 15 + 24 bits, k*HI exact for |k| < 2^9),
#   exp(r) = 1 + (r + r^2 P(r)), P the degree-5 Taylor polynomial (truncation
#   < 0.1 float ULP on |r| <= ln2/2), 2^k in two normal steps (subnormal
#   results rounded once).  Measured max error ~0.8 float ULP.
#   vmf_exp_s(x, sh): exp(x) * 2^sh (sh integer-valued, 0 <= sh <= 64),
#   so that a caller can keep a subnormal exp normal and scale last.
#   vmf_c_exp(x, ch, cl): (ch + cl) exp(x), x <= 0, rounded once (elu' and
#   selu'); ~1 float ULP, 1.5 at baseline.
# * vm_exp_f32g: exp in double at float32 grade (5.2e-11 relative): plain
#   Cody-Waite, a degree-7 near-minimax polynomial and one 2^k (argument clamped
#   to [-708, 709]), no double-double pieces.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>
    #define FA_VMF_INLINE static inline __attribute__((always_inline))
    FA_VMF_INLINE uint32_t fa_vmf_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
    FA_VMF_INLINE float fa_vmf_from_bits(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
    /* 2^k for an integer-valued float k in [-126, 127] */
    FA_VMF_INLINE float fa_vmf_pow2(float k) {
        return fa_vmf_from_bits((fa_vmf_bits(k + 0x1.8p23f) + 127u) << 23);
    }
    /* exp(x) * 2^sh as hi + lo (lo: the rounding error of 1 + m, scaled;
       meaningless where the result is subnormal).  x clamped to [-120, 89]:
       exp(-120) * 2^32 is still far below float32's range after 2^-32. */
    typedef struct { float h; float l; } fa_vmf2_t;
    FA_VMF_INLINE fa_vmf2_t fa_vmf_exp2_s(float x, float sh) {
        float xc = x < -120.0f ? -120.0f : x;            /* NaN falls through */
        xc = xc > 89.0f ? 89.0f : xc;
        float k = fa_mlaf(xc, 0x1.715476p+0f, 0x1.8p23f) - 0x1.8p23f;
        float r = fa_mlaf(-k, 0x1.7f7d1cp-20f, fa_mlaf(-k, 0x1.62e4p-1f, xc));
        float p = 0x1.a01a02p-13f;                        /* 1/5040 */
        p = fa_mlaf(p, r, 0x1.6c16c2p-10f);               /* 1/720 */
        p = fa_mlaf(p, r, 0x1.111112p-7f);                /* 1/120 */
        p = fa_mlaf(p, r, 0x1.555556p-5f);                /* 1/24 */
        p = fa_mlaf(p, r, 0x1.555556p-3f);                /* 1/6 */
        p = fa_mlaf(p, r, 0.5f);
        float m = fa_mlaf(r * r, p, r);
        float h = 1.0f + m;
        float l = (1.0f - h) + m;                         /* exact (|m| < 1) */
        float k1 = (k * 0.5f + 0x1.8p23f) - 0x1.8p23f;
        float s1 = fa_vmf_pow2(k1), s2 = fa_vmf_pow2((k - k1) + sh);
        fa_vmf2_t e = { (h * s1) * s2, (l * s1) * s2 };
        return e;
    }
    FA_VMF_INLINE float fa_vmf_exp_s(float x, float sh) { return fa_vmf_exp2_s(x, sh).h; }
    FA_VMF_INLINE float fa_vmf_exp(float x) { return fa_vmf_exp2_s(x, 0.0f).h; }
    /* c exp(x) for x <= 0 (elu' and selu' below zero), c = ch + cl a float
       pair (cl: ch's rounding error), |c| <= 2^20: exp's hi + lo pair times
       c, rounded once.  Below x = -80, where c exp(x) can be subnormal, exp
       is scaled by 2^32 and the product scaled back last, so that a
       subnormal result is rounded once too (above -80 a subnormal product
       is the fma's one rounding); below exp2_s's clamp (-120) c exp(x) <
       2^-152 rounds to 0 (x = -inf included).  The result has c's sign
       (exp > 0), so zeros get it too, as c * 0 in double (c = -0.0: -0.0).
       A c below float32's range loses its own bits, but then c exp(x) is
       below 2^-126 too and within 1 ULP. */
    FA_VMF_INLINE float fa_vmf_c_exp(float x, float ch, float cl) {
        int deep = x < -80.0f;
        fa_vmf2_t e = fa_vmf_exp2_s(x, deep ? 32.0f : 0.0f);
        float p = fa_mlaf(ch, e.h, fa_mlaf(ch, e.l, cl * e.h)) * (deep ? 0x1p-32f : 1.0f);
        return copysignf(p, ch);
    }

    /* sigma(x) natively in float.  e = exp(-|x|) = eh + el, d = 1 + eh
       rounded, c = (1 + e) - d (Fast2Sum plus el); the quotient num/d is
       corrected to num/(d + c) + [x < 0] el/(d + c) to first order, with
       1/d taken as 1.5 - d/2 (to 12%: the corrections are < 2^-24
       relative). */
    FA_VMF_INLINE float fa_vmf_sigmoid(float x) {
        fa_vmf2_t e = fa_vmf_exp2_s(-fabsf(x), 0.0f);
        float d = 1.0f + e.h;
        float c = ((1.0f - d) + e.h) + e.l;
        float q = (x < 0.0f ? e.h : 1.0f) / d;
        return fa_mlaf(fa_mlaf(-q, c, x < 0.0f ? e.l : 0.0f), fa_mlaf(-0.5f, d, 1.5f), q);
    }
    /* e/(1+e)^2 for e = exp(a) = eh + el, a <= 0 */
    FA_VMF_INLINE float fa_vmf_dsig_e(fa_vmf2_t e) {
        float d = 1.0f + e.h;
        float c = ((1.0f - d) + e.h) + e.l;
        float s = e.h / (d * d);
        float g = fa_mlaf(-0.5f, d, 1.5f);                /* ~1/d, to 12% */
        return fa_mlaf(g, fa_mlaf(e.l, g, -(2.0f * s) * c), s);
    }
    FA_VMF_INLINE float fa_vmf_sigmoid_deriv(float x) {
        return fa_vmf_dsig_e(fa_vmf_exp2_s(-fabsf(x), 0.0f));
    }
    /* tanh: |x| < 0.625: x + x w P(w), w = x^2 (mpmath chebyfit, degree 5,
       float coefficients, ~0.07 ULP); else 1 - 2 e/(1+e), e = exp(-2|x|)
       (<= 0.29, so 1 - 2q does not cancel).  Sign restored last. */
    FA_VMF_INLINE float fa_vmf_tanh(float x) {
        float a = fabsf(x);
        float w = a * a;
        float p = 0x1.2c83cp-9f;
        p = fa_mlaf(p, w, -0x1.116a16p-7f);
        p = fa_mlaf(p, w, 0x1.64a976p-6f);
        p = fa_mlaf(p, w, -0x1.ba08c4p-5f);
        p = fa_mlaf(p, w, 0x1.1110eap-3f);
        p = fa_mlaf(p, w, -0x1.555556p-2f);
        float small = fa_mlaf(a, w * p, a);
        float e = fa_vmf_exp(-2.0f * a);
        float d = 1.0f + e;
        float c = (1.0f - d) + e;
        float q = e / d;
        q = fa_mlaf(-q, c * fa_mlaf(-0.5f, d, 1.5f), q);
        float big = fa_mlaf(-2.0f, q, 1.0f);
        return copysignf(a < 0.625f ? small : big, x);
    }
    FA_VMF_INLINE float fa_vmf_tanh_deriv(float x) {
        return 4.0f * fa_vmf_dsig_e(fa_vmf_exp2_s(-2.0f * fabsf(x), 0.0f));
    }

    /* min(max(x + 3, 0), 6) / 6 natively in float, correctly rounded:
       x + 3 = sh + sl exactly (Fast2Sum, |x| < 3 where it is used);
       q = sh / 6 (IEEE: rounded once, ties to even) and its exact
       remainder sh - 6q (an fma) plus sl give R = (x + 3) - 6q; the result
       is q + R * fl(1/6), each step rounded.  Where (x + 3) / 6 is a tie,
       R / 6 is half the float spacing there, a power of two, and R * fl(1/6) =
       R / 6 (1 + 2^-25) rounds to it exactly, so q + R * fl(1/6) is the tie
       itself and goes to even as in the double formula; checked bit for bit
       against the double formula rounded to float32 over all float32
       inputs.  Without fma (baseline) the double formula itself.  NaN:
       neither compare holds, and the arithmetic carries it. */
    FA_VMF_INLINE float fa_vmf_hardsigmoid(float x) {
    #ifdef __FMA__
        float sh = 3.0f + x;
        float sl = x - (sh - 3.0f);
        float q = sh / 6.0f;
        float r = __builtin_fmaf(-q, 6.0f, sh) + sl;
        float mid = q + r * 0x1.555556p-3f;
    #else
        float mid = (float) (((double) x + 3.0) * (1.0 / 6.0));
    #endif
        return x <= -3.0f ? 0.0f : (x >= 3.0f ? 1.0f : mid);
    }

    static const double FA_VM32_LN2 = 0x1.62e42fefa39efp-1;
    /* x (clamped to [-708, 709]) = k ln2 + r, |r| <= ln2/2, and s = 2^k. */
    typedef struct { double r; double s; } fa_vm_red_t;
    FA_VMF_INLINE fa_vm_red_t fa_vm_reduce_f32g(double x) {
        double xc = x < -708.0 ? -708.0 : x;
        xc = xc > 709.0 ? 709.0 : xc;
        double k = fa_mla(xc, 0x1.71547652b82fep+0, 0x1.8p52) - 0x1.8p52;
        uint64_t b; double t = k + 0x1.8p52; memcpy(&b, &t, 8);
        b = (b + 1023u) << 52;
        fa_vm_red_t red;
        red.r = fa_mla(-k, FA_VM32_LN2, xc);
        memcpy(&red.s, &b, 8);
        return red;
    }
    /* exp(r) - 1 = r + r^2 P(r) on |r| <= ln2/2, P near-minimax
       (tools/fit_polynomials.py) of the lowest degree that keeps the
       error far below float32's 2^-24: degree 7 for exp (5.2e-11
       relative to exp(r)), degree 8 for expm1 (5.2e-12 relative to
       expm1(r), which is small near r = 0).  A Taylor polynomial one
       degree higher is 4-6x less accurate at the ends of the range. */
    FA_VMF_INLINE double fa_vm_exp_m7(double r) {
        double p = 0x1.9f0880b34e3b0p-13;
        p = fa_mla(p, r, 0x1.6d8d2b7d0bedcp-10);
        p = fa_mla(p, r, 0x1.111270f4ef51bp-7);
        p = fa_mla(p, r, 0x1.55548d9d7134ap-5);
        p = fa_mla(p, r, 0x1.55555442ec491p-3);
        p = fa_mla(p, r, 0x1.0000003a34996p-1);
        return fa_mla(r * r, p, r);
    }
    FA_VMF_INLINE double fa_vm_expm1_m8(double r) {
        double p = 0x1.a003a1a04f940p-16;
        p = fa_mla(p, r, 0x1.a16f862990b04p-13);
        p = fa_mla(p, r, 0x1.6c1766e469fd8p-10);
        p = fa_mla(p, r, 0x1.1110b20eb04bep-7);
        p = fa_mla(p, r, 0x1.555554f358c6cp-5);
        p = fa_mla(p, r, 0x1.5555557359637p-3);
        p = fa_mla(p, r, 0x1.00000000171f4p-1);
        return fa_mla(r * r, p, r);
    }
    FA_VMF_INLINE double fa_vm_exp_f32g(double x) {
        fa_vm_red_t red = fa_vm_reduce_f32g(x);
        return (1.0 + fa_vm_exp_m7(red.r)) * red.s;
    }
    /* expm1(x) = 2^k expm1(r) + (2^k - 1): 2^k - 1 is exact for |k| <= 53
       and never cancels against 2^k expm1(r) (|expm1(r)| < 0.42), so the
       result keeps expm1(r)'s relative error.  x = +-0 returns x
       (r + r^2 p would turn -0.0 into +0.0). */
    FA_VMF_INLINE double fa_vm_expm1_f32g(double x) {
        fa_vm_red_t red = fa_vm_reduce_f32g(x);
        double e = fa_mla(red.s, fa_vm_expm1_m8(red.r), red.s - 1.0);
        return x == 0.0 ? x : e;
    }
    /* log1p(e) for 0 <= e <= 1 (e = exp(-|z|) in softplus and log_sigmoid):
       log(1 + e) = E ln2 + 2 atanh(f/(2 + f)) with f = e, E = 0, or, above
       sqrt 2 - 1, f = (e - 1)/2, E = 1; then |s| = |f/(2 + f)| <= 0.172 and
       2 s (1 + w Q(w)), w = s^2, with Q near-minimax of degree 3
       (tools/fit_polynomials.py; the atanh series 1/3 + w/5 + ... needs
       degree 5 for the same error) is within 4.8e-12 relative.  e itself
       is never rounded into 1 + e, so tiny e keep their relative
       accuracy. */
    FA_VMF_INLINE double fa_vm_log1p01_f32g(double e) {
        int upper = e > 0x1.a827999fcef32p-2;
        double f = upper ? 0.5 * (e - 1.0) : e;
        double s = f / (2.0 + f);
        double w = s * s;
        double q = 0x1.e2f386730a8c8p-4;
        q = fa_mla(q, w, 0x1.2438ece3a3bcbp-3);
        q = fa_mla(q, w, 0x1.999a7a2b48f7bp-3);
        q = fa_mla(q, w, 0x1.555554fdd9bd3p-2);
        double l = fa_mla(2.0 * s, w * q, 2.0 * s);
        return upper ? FA_VM32_LN2 + l : l;
    }
    """
    float vmf_exp "fa_vmf_exp"(float x) nogil
    float vmf_exp_s "fa_vmf_exp_s"(float x, float sh) nogil
    float vmf_c_exp "fa_vmf_c_exp"(float x, float ch, float cl) nogil
    float vmf_sigmoid "fa_vmf_sigmoid"(float x) nogil
    float vmf_sigmoid_deriv "fa_vmf_sigmoid_deriv"(float x) nogil
    float vmf_dsig_e "fa_vmf_dsig_e"(float e) nogil
    float vmf_tanh "fa_vmf_tanh"(float x) nogil
    float vmf_tanh_deriv "fa_vmf_tanh_deriv"(float x) nogil
    float vmf_hardsigmoid "fa_vmf_hardsigmoid"(float x) nogil
    double vm_exp_m7 "fa_vm_exp_m7"(double r) nogil
    double vm_exp_f32g "fa_vm_exp_f32g"(double x) nogil
    double vm_expm1_f32g "fa_vm_expm1_f32g"(double x) nogil
    double vm_log1p01_f32g "fa_vm_log1p01_f32g"(double e) nogil


ctypedef struct vm_exp_core_t:
    # exp(xh + xl) = (hi + lo) * s1 * s2, hi + lo in [0.7, 1.42], s1, s2
    # normal powers of two; k = log2(s1*s2) = kd, and k1 = log2(s1);
    # mh + ml = exp(r) - 1 = hi + lo - 1 (kept apart: no cancellation).
    double hi
    double lo
    double mh
    double ml
    double s1
    double s2
    double kd
    double k1d


cdef inline double _vm_pow2(double kd) noexcept nogil:
    # 2^k for an integer-valued double k in [-1022, 1023]: (k + 1.5*2^52)
    # holds k in its low mantissa bits (k + 2^51, and 2^51 = 0 mod 2^12);
    # adding the bias and shifting by 52 leaves exactly the exponent field.
    return fa_vm_from_bits((fa_vm_bits(kd + FA_VM_SHIFT) + <uint64_t> 1023) << 52)


cdef inline double _vm_exp_q(double r) noexcept nogil:
    # Q(r) = (P(r) - P0)/r, P(r) = (exp(r) - 1 - r)/r^2 (FA_VM_EXP_P*),
    # |r| <= 0.35; callers add P0 = 1/2 their own way.
    cdef double q = FA_VM_EXP_P10
    q = mla(q, r, FA_VM_EXP_P9)
    q = mla(q, r, FA_VM_EXP_P8)
    q = mla(q, r, FA_VM_EXP_P7)
    q = mla(q, r, FA_VM_EXP_P6)
    q = mla(q, r, FA_VM_EXP_P5)
    q = mla(q, r, FA_VM_EXP_P4)
    q = mla(q, r, FA_VM_EXP_P3)
    q = mla(q, r, FA_VM_EXP_P2)
    return mla(q, r, FA_VM_EXP_P1)


cdef inline vm_exp_core_t _vm_exp_core(double xh, double xl) noexcept nogil:
    # Cody-Waite: k = round(xh/ln2), r = (xh - k*LN2_HI) - k*LN2_LO + xl,
    # the first difference exact (Sterbenz; k*LN2_HI exact), r carried as
    # rh + rl.  exp(r) = 1 + r + r^2 P(r) summed as a double-double.
    # Caller: xh in [-746, 710] or NaN, |xl| <= ulp(xh).
    cdef vm_exp_core_t c
    cdef double kd = mla(xh, FA_VM_INV_LN2, FA_VM_SHIFT) - FA_VM_SHIFT
    cdef double rh = xh - kd * FA_VM_LN2_HI
    cdef dd_t r = dd_two_sum(rh, mla(-kd, FA_VM_LN2_LO, xl))
    cdef double x1 = r.hi
    cdef double q = _vm_exp_q(x1)
    # exp(r) - 1 = r + r^2/2 + r^3 Q(r) + rl*(1 + r) (P0 = 1/2 exactly):
    # r + r^2/2 as a double-double (two_prod is exact, halving too), the
    # rest (< r^3/5) in double, so M = exp(r) - 1 carries ~2^-58 relative.
    cdef dd_t sq = dd_two_prod(x1, x1)
    cdef dd_t t1 = dd_fast_two_sum(x1, 0.5 * sq.hi)
    cdef double small = 0.5 * sq.lo + mla(x1 * sq.hi, q, r.lo * (1.0 + x1))
    cdef dd_t m = dd_fast_two_sum(t1.hi, t1.lo + small)
    # then 1 + M exactly (|M| < 1/2).
    cdef dd_t s = dd_fast_two_sum(1.0, m.hi)
    cdef dd_t e = dd_fast_two_sum(s.hi, s.lo + m.lo)
    c.hi = e.hi
    c.lo = e.lo
    c.mh = m.hi
    c.ml = m.lo
    # 2^k = 2^k1 * 2^k2, k1 = round(k/2): both normal for k in [-1076, 1024],
    # so scaling by s1 is exact and only the second product rounds (once,
    # also when the result is subnormal).
    c.kd = kd
    c.k1d = (kd * 0.5 + FA_VM_SHIFT) - FA_VM_SHIFT
    c.s1 = _vm_pow2(c.k1d)
    c.s2 = _vm_pow2(kd - c.k1d)
    return c


cdef inline double _vm_exp_clamp(double x) noexcept nogil:
    # NaN-preserving clamp to [-746, 710]: exp is 0 / inf beyond it.
    cdef double y = -746.0 if x < -746.0 else x
    return 710.0 if y > 710.0 else y


cdef inline double _vm_c_exp_core(double ch, double cl, double a, double sh) noexcept nogil:
    # (ch + cl) exp(a) 2^sh: vm_c_exp's steps once c is in range.
    cdef double ac = -1500.0 if a < -1500.0 else a
    ac = 0.0 if ac > 0.0 else ac
    cdef double kd = mla(ac, FA_VM_INV_LN2, FA_VM_SHIFT) - FA_VM_SHIFT
    cdef double r = mla(-kd, FA_VM_LN2_LO, ac - kd * FA_VM_LN2_HI)
    cdef double m = mla(r * r, mla(_vm_exp_q(r), r, FA_VM_EXP_P0), r)
    cdef dd_t e = dd_fast_two_sum(1.0, m)
    cdef double q = mla(ch, e.hi, ch * e.lo + cl * e.hi)
    cdef double kt = kd + sh
    kt = -2000.0 if kt < -2000.0 else kt
    cdef double k1d = (kt * 0.5 + FA_VM_SHIFT) - FA_VM_SHIFT
    return (q * _vm_pow2(k1d)) * _vm_pow2(kt - k1d)


cdef inline double vm_c_exp(double c_hi, double c_lo, double a) noexcept nogil:
    # (c_hi + c_lo) exp(a) for a <= 0 (larger a are taken as 0; NaN -> NaN),
    # any finite c_hi, |c_lo| <= 2^-40 |c_hi| (a correction, folded in to
    # first order): c_lo is a constant's low part (elu', selu'; vm_exp_2s
    # takes an argument's low part, exp(hi + lo) = exp(hi)(1 + lo) within
    # lo^2/2).  For callers whose
    # result passes exp's error on undamped at most, with nothing after it
    # that cancels, so a plain double exp does (~3x cheaper than
    # vm_exp_dd's double-double core).  Cody-Waite (k LN2_HI exact for
    # |k| < 2^21), exp(r) = 1 + r + r^2 P(r) with the core's polynomial
    # (P0 + r Q(r), in double), 1 + m as h + l (l exact), c (h + l) rounded
    # once, then 2^k in two normal steps, so a subnormal result is rounded
    # once more (~1 ULP in all).  c exp(a) is representable for a down to -1455 when c
    # is huge: c is scaled by 2^-600 (|c| > 2^400) or 2^600 (|c| < 2^-280)
    # and the shift folded into k; a is clamped at -1500, where c exp(a) <
    # 2^-1075 for every c, and k at -2000, where c's scaled (1 + m) 2^k is
    # < 2^-1500, which keeps both steps of 2^k normal.  Only sh and down
    # depend on c, and only through arithmetic: clamps of a that did (one
    # bound per range of c) were merged by gcc into the caller's select (elu'
    # with a run-time alpha), and x > 0 ran 3x slower.
    cdef double ca = fabs(c_hi)
    cdef double sh = 600.0 if ca > FA_VM_C_BIG else 0.0
    sh = -600.0 if ca < FA_VM_C_SMALL else sh
    cdef double down = _vm_pow2(-sh)
    # exp > 0: the result has c's sign, zeros too (c = -0.0 gives -0.0, as
    # c * exp(a) does; the sum of the products' signed zeros would not).
    return copysign(_vm_c_exp_core(c_hi * down, c_lo * down, a, sh), c_hi)


cdef inline double vm_exp_2s(double a, double lo, double s) noexcept nogil:
    # exp(a) (1 + lo) 2^s for a <= 0 (larger a taken as 0; NaN -> NaN),
    # |lo| <= 2^-40 where a > -746, s integer-valued in [0, 64] (a caller's
    # scaling that keeps a subnormal exp normal): vm_c_exp's steps for
    # c = 2^s, c_lo = 2^s lo, without its ranges of c (compares, selects and
    # multiplications that cost 5 % of float64 sigmoid' and silu, 15 % of
    # softplus').  lo is dropped below -746 (exp's 0, or the scaled range's
    # subnormals): a caller's split of an infinite or far argument may leave
    # it inf, NaN or huge there (softmax's x - max for x = -1e300).
    return _vm_c_exp_core(1.0, lo if a > -746.0 else 0.0, a, s)


cdef inline dd_t vm_exp_dd(double xh, double xl) noexcept nogil:
    # exp(xh + xl) as hi + lo (|xl| <= ulp(xh); xl is ignored where xh is
    # out of [-746, 710], so an inf/NaN low part of a split infinity does
    # not leak in).
    cdef double h = _vm_exp_clamp(xh)
    cdef double l = xl if h == xh else 0.0
    cdef vm_exp_core_t c = _vm_exp_core(h, l)
    return dd_make((c.hi * c.s1) * c.s2, (c.lo * c.s1) * c.s2)


cdef inline dd_t vm_exp_dd_2s(double xh, double xl, double s) noexcept nogil:
    # exp(xh + xl) 2^s as hi + lo for xh in [-800, 710] or NaN, |xl| <=
    # ulp(xh), s integer-valued in [0, 64] (a caller's scaling that keeps a
    # subnormal exp normal): 2^s is folded into the exponent, exactly, where
    # shifting the argument by s*ln2 in double-double cost 2 compares, 4
    # selects and 5 additions.  kd + s >= -1154, so both steps of 2^(k+s)
    # stay normal.
    cdef vm_exp_core_t c = _vm_exp_core(xh, xl)
    cdef double kt = c.kd + s
    cdef double k1d = (kt * 0.5 + FA_VM_SHIFT) - FA_VM_SHIFT
    cdef double s1 = _vm_pow2(k1d)
    cdef double s2 = _vm_pow2(kt - k1d)
    return dd_make((c.hi * s1) * s2, (c.lo * s1) * s2)


cdef inline dd_t vm_expm1_dd(double x) noexcept nogil:
    # expm1(x) = 2^k * ((1 - 2^-k) + M), M = exp(r) - 1 as a double-double
    # from the core: 1 - 2^-k is formed exactly (two-sum; 2^-k is exact
    # even when subnormal), the sums are two-sums and the scaling
    # is exact, so the error is the core's (~2^-58 relative to e^x) and for
    # k = 0 (|x| < 0.35) the result is M itself, with no cancellation.
    # Below -60 expm1 is -1 in double (clamped); |x| < 2^-60 returns x
    # (keeps -0.0).
    cdef double xc = -60.0 if x < -60.0 else (710.0 if x > 710.0 else x)
    cdef vm_exp_core_t c = _vm_exp_core(xc, 0.0)
    # 2^-k in two normal steps (k1 <= 512), exact even when subnormal.
    cdef double t = _vm_pow2(-c.k1d) * _vm_pow2(c.k1d - c.kd)
    cdef dd_t w = dd_two_sum(1.0, -t)
    cdef dd_t h = dd_two_sum(w.hi, c.mh)
    h = dd_two_sum(h.hi, h.lo + (c.ml + w.lo))
    cdef double hi = (h.hi * c.s1) * c.s2
    cdef double lo = (h.lo * c.s1) * c.s2
    # (selects on the comparison itself, never a stored bint: see _dd.pxd)
    return dd_make(x if fabs(x) < 8.673617379884035e-19 else hi,      # 2^-60
                   0.0 if fabs(x) < 8.673617379884035e-19 else lo)


cdef inline double vm_expm1(double x) noexcept nogil:
    return vm_expm1_dd(x).hi


cdef inline dd_t vm_log1p_dd(double x) noexcept nogil:
    # u = 1 + x exactly as uh + ul; uh = 2^E * m with m in [sqrt(1/2),
    # sqrt 2) from the bits (no int->double conversion: E is read back as
    # a double through the 2^52 trick); log m = 2 atanh(f/(2+f)), f = m - 1
    # (exact; x itself for small x), with s = f/(2+f) as a double-double (exact residual) and the
    # atanh series in s^2 (|s| <= 0.1716, 11 terms, truncation < 2^-60);
    # log u = E ln2 + log m + ul/uh.
    cdef dd_t u = dd_two_sum(1.0, x)
    cdef uint64_t b = fa_vm_bits(u.hi) + FA_VM_LOG_OFFSET
    cdef double m = fa_vm_from_bits((b & FA_VM_MANT_MASK) + FA_VM_SQRT_HALF_BITS)
    cdef double ed = (fa_vm_from_bits((b >> 52) | FA_VM_TWO52_BITS)
                      - 4503599627370496.0) - 1023.0
    # -0.25 < x < 0.375: f = x itself (exact, and |s| <= 0.16), E = 0 and
    # no correction term, so tiny x keep full relative accuracy.
    cdef double xs = x - 0.0625                  # small: |xs| < 0.3125
    cdef double f = x if fabs(xs) < 0.3125 else m - 1.0
    ed = 0.0 if fabs(xs) < 0.3125 else ed
    cdef double corr = 0.0 if fabs(xs) < 0.3125 else u.lo / u.hi
    cdef dd_t d = dd_fast_two_sum(2.0, f)
    cdef double sh = f / d.hi
    cdef dd_t pr = dd_two_prod(sh, d.hi)
    cdef double sl = (((f - pr.hi) - pr.lo) - sh * d.lo) / d.hi
    cdef double w = sh * sh
    cdef double q = 1.0 / 23.0
    q = mla(q, w, 1.0 / 21.0)
    q = mla(q, w, 1.0 / 19.0)
    q = mla(q, w, 1.0 / 17.0)
    q = mla(q, w, 1.0 / 15.0)
    q = mla(q, w, 1.0 / 13.0)
    q = mla(q, w, 1.0 / 11.0)
    q = mla(q, w, 1.0 / 9.0)
    q = mla(q, w, 1.0 / 7.0)
    q = mla(q, w, 1.0 / 5.0)
    q = mla(q, w, 1.0 / 3.0)
    # log m = 2 sh + (2 sl + 2 sh w q); E*LN2_HI exact (|E| <= 1024).
    cdef dd_t hi = dd_two_sum(ed * FA_VM_LN2_HI, 2.0 * sh)
    cdef double lo = hi.lo + ((ed * FA_VM_LN2_LO + (2.0 * sl + (2.0 * sh) * (w * q)))
                              + corr)
    cdef dd_t r = dd_fast_two_sum(hi.hi, lo)
    # Special values; |x| < 2^-60: log1p(x) = x (keeps -0.0 and subnormals).
    cdef double rh = -INFINITY if x == -1.0 else (NAN if x < -1.0 else r.hi)
    cdef double rl = 0.0 if x <= -1.0 else r.lo
    rh = x if fabs(x) < 8.673617379884035e-19 else rh
    rl = 0.0 if fabs(x) < 8.673617379884035e-19 else rl
    rh = x if x == INFINITY else rh
    rl = 0.0 if x == INFINITY else rl
    rh = x if x != x else rh
    return dd_make(rh, rl)


cdef inline dd_t vm_log1p01_dd(double e) noexcept nogil:
    # log1p(e) as hi + lo for 0 <= e <= 1 or NaN (e = exp(-|z|) in
    # softplus and log_sigmoid), at half vm_log1p_dd's cost: no exponent to
    # extract and one division.  1 + e = 2^E (1 + f) with f = e, E = 0, or,
    # above 1/2, f = (e - 1)/2, E = 1 (exact: Sterbenz); log(1 + f) =
    # 2 atanh(s), s = f/(2 + f) carried as sh + sl (the residual of sh * d
    # from an exact product), |s| <= 0.2, and 2 atanh(s) = 2s (1 + w Q(w)),
    # w = s^2, Q near-minimax of degree 7 (tools/fit_polynomials.py; 7e-19
    # relative).  Below 2^-60 log1p(e) = e (keeps subnormals exact).
    cdef double f = 0.5 * (e - 1.0) if e > 0.5 else e
    cdef dd_t d = dd_fast_two_sum(2.0, f)
    cdef double inv = 1.0 / d.hi
    cdef double sh = f * inv
    cdef dd_t pr = dd_two_prod(sh, d.hi)
    cdef double sl = (((f - pr.hi) - pr.lo) - sh * d.lo) * inv
    cdef double w = sh * sh
    cdef double q = FA_VM_LOG1P01[0]
    q = mla(q, w, FA_VM_LOG1P01[1])
    q = mla(q, w, FA_VM_LOG1P01[2])
    q = mla(q, w, FA_VM_LOG1P01[3])
    q = mla(q, w, FA_VM_LOG1P01[4])
    q = mla(q, w, FA_VM_LOG1P01[5])
    q = mla(q, w, FA_VM_LOG1P01[6])
    q = mla(q, w, FA_VM_LOG1P01[7])
    # 2 atanh(sh + sl) = 2 sh + 2 sl (1 + 3 wQ) + 2 sh wQ to first order in sl
    cdef double wq = w * q
    cdef dd_t h = dd_two_sum(FA_VM_LN2_HI if e > 0.5 else 0.0, 2.0 * sh)
    cdef double lo = h.lo + ((mla(2.0 * sl, 3.0 * wq, 2.0 * sl) + (2.0 * sh) * wq)
                             + (FA_VM_LN2_LO if e > 0.5 else 0.0))
    cdef dd_t r = dd_fast_two_sum(h.hi, lo)
    return dd_make(e if e < 8.673617379884035e-19 else r.hi,      # 2^-60
                   0.0 if e < 8.673617379884035e-19 else r.lo)


cdef inline double vm_tanh(double x) noexcept nogil:
    # tanh|x| = -em/(2 + em), em = expm1(-2|x|) in double-double (no
    # cancellation near 0); |x| clamped to 20 (tanh = 1 in double beyond);
    # the sign restored last (keeps -0.0, +-inf -> +-1).
    cdef double a = fabs(x)
    a = 20.0 if a > 20.0 else a
    cdef dd_t em = vm_expm1_dd(-2.0 * a)
    cdef dd_t d = dd_fast_two_sum(2.0, em.hi)
    d.lo = d.lo + em.lo
    cdef double t = dd_div_to_d(dd_make(-em.hi, -em.lo), d)
    return copysign(t, x)


cdef inline double vm_mills_g(double a) noexcept nogil:
    # G(a) = R(a) * (1 + a), R the Mills ratio Phi(-a)/phi(a), for
    # 0 <= a <= 20 (callers clamp); Horner in s = (5 - 1.5a)/(5 + a).
    # Callers divide by 1 + a themselves (or fold it into their own
    # arithmetic, e.g. as a double-double division).
    cdef double s = (5.0 - 1.5 * a) / (5.0 + a)
    cdef double p = FA_VM_MILLS[23]
    p = mla(p, s, FA_VM_MILLS[22])
    p = mla(p, s, FA_VM_MILLS[21])
    p = mla(p, s, FA_VM_MILLS[20])
    p = mla(p, s, FA_VM_MILLS[19])
    p = mla(p, s, FA_VM_MILLS[18])
    p = mla(p, s, FA_VM_MILLS[17])
    p = mla(p, s, FA_VM_MILLS[16])
    p = mla(p, s, FA_VM_MILLS[15])
    p = mla(p, s, FA_VM_MILLS[14])
    p = mla(p, s, FA_VM_MILLS[13])
    p = mla(p, s, FA_VM_MILLS[12])
    p = mla(p, s, FA_VM_MILLS[11])
    p = mla(p, s, FA_VM_MILLS[10])
    p = mla(p, s, FA_VM_MILLS[9])
    p = mla(p, s, FA_VM_MILLS[8])
    p = mla(p, s, FA_VM_MILLS[7])
    p = mla(p, s, FA_VM_MILLS[6])
    p = mla(p, s, FA_VM_MILLS[5])
    p = mla(p, s, FA_VM_MILLS[4])
    p = mla(p, s, FA_VM_MILLS[3])
    p = mla(p, s, FA_VM_MILLS[2])
    p = mla(p, s, FA_VM_MILLS[1])
    return mla(p, s, FA_VM_MILLS[0])


cdef inline double vm_mills_r32(double a) noexcept nogil:
    # R(a) itself at float32 grade (~4e-12 relative), 0 <= a <= 20, with ONE
    # division: 1/((5 + a)(1 + a)) gives both s and 1/(1 + a) (each a few
    # double roundings off, harmless at this grade).
    cdef double inv = 1.0 / ((5.0 + a) * (1.0 + a))
    cdef double s = ((5.0 - 1.5 * a) * (1.0 + a)) * inv
    cdef double p = FA_VM_MILLS32[14]
    p = mla(p, s, FA_VM_MILLS32[13])
    p = mla(p, s, FA_VM_MILLS32[12])
    p = mla(p, s, FA_VM_MILLS32[11])
    p = mla(p, s, FA_VM_MILLS32[10])
    p = mla(p, s, FA_VM_MILLS32[9])
    p = mla(p, s, FA_VM_MILLS32[8])
    p = mla(p, s, FA_VM_MILLS32[7])
    p = mla(p, s, FA_VM_MILLS32[6])
    p = mla(p, s, FA_VM_MILLS32[5])
    p = mla(p, s, FA_VM_MILLS32[4])
    p = mla(p, s, FA_VM_MILLS32[3])
    p = mla(p, s, FA_VM_MILLS32[2])
    p = mla(p, s, FA_VM_MILLS32[1])
    p = mla(p, s, FA_VM_MILLS32[0])
    return p * ((5.0 + a) * inv)


cdef inline double vm_mills(double a) noexcept nogil:
    # R(a) = Phi(-a)/phi(a) for 0 <= a <= 20.
    return vm_mills_g(a) / (1.0 + a)
