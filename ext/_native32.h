/* fastact native float32 kernels for the FMA levels (AVX2+FMA, AVX-512).
 *
 * Why: the float32 loops otherwise compute in double and round once (see
 * _formulas.pxd), which is accurate but runs 8 lanes per AVX-512 register;
 * these compute in float, 16 lanes, and stay inside SPEC section 5 by
 * keeping the few quantities whose rounding the result would feel as exact
 * float pairs (hi + lo), with the fused multiply-add doing the error-free
 * steps: a*b - fl(a*b) is fma(a, b, -fl(a*b)), and a remainder c - q*d is
 * fma(-q, d, c).  Without an fma none of that is exact, so baseline (SSE2)
 * keeps the double path: FA_NATIVE32 is 0 there and the kernel template
 * (ext/_kernels.pyx.tp, NATIVE32) never calls these.
 *
 * Error bookkeeping: u = 2^-24.  A rounding to float has a relative error of
 * at most u; one of u relative is up to 1 ULP of the result (at the bottom
 * of a binade), so every rounded factor or addend that reaches the result
 * can cost up to 1 ULP, and only the last rounding is 0.5 ULP.  The
 * functions below round once at the end of an exact-pair computation, or
 * say what else they round; the measured maxima (all 2^32 inputs, against
 * the float64 kernels) are in the README.
 *
 * Like the rest of the kernels: branch-free (every choice is a select over
 * values computed on all lanes), no table, no libm call, no -ffast-math
 * (the build has -ffp-contract=off, so nothing fuses but FA_FMA), so gcc
 * vectorizes the loops and a vector body and its scalar tail give the same
 * bits.  Every constant is a float literal: a double would drag the
 * arithmetic into double.
 *
 * Derivatives come as a scaled pair, f'(x) = (h + l) s: the derivative loop
 * rounds h + l once (s is a power of two that keeps h in float's normal
 * range), and the backward loop forms g (h s) + g (l s) with one rounding.
 * Where h s would be subnormal the backward loop takes the full double path
 * instead (NAME_bwd32_bad in _formulas.pxd covers |x| > 80).
 */
#ifndef FASTACT_NATIVE32_H
#define FASTACT_NATIVE32_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#ifdef __FMA__
#define FA_NATIVE32 1
#else
#define FA_NATIVE32 0
#endif

#define FA_N32 static inline __attribute__((always_inline))
#define FA_FMA(a, b, c) __builtin_fmaf((a), (b), (c))


FA_N32 uint32_t fa_n32_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
FA_N32 float fa_n32_from_bits(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* exp(a) = s (1 + m) 2^-off for a caller-clamped a, k = round(a/ln2) with
 * -126 <= k - off <= 127 (s = 2^(k - off), normal).  r = a - k ln2 in two
 * steps (k * 0x1.62e4p-1 is exact for |k| < 2^8), |r| <= 0.347; m = r + r^2
 * P(r), P minimax of degree 4 (tools/fit_polynomials.py): 0.06 u relative to
 * 1 + m; the roundings of r and m add up to ~0.5 u.  1 + m is never rounded
 * on its own: callers fold s m into an fma. */
typedef struct { float s, m, k; } fa_n32_exp_t;
#define FA_N32_SHIFT 0x1.8p23f

/* exp(r) - 1 = r + r^2 P(r) on |r| <= 0.347 */
FA_N32 float fa_n32_expm1_poly(float r) {
    float p = 0x1.6a24p-10f;
    p = FA_FMA(p, r, 0x1.123ap-7f);
    p = FA_FMA(p, r, 0x1.5558f2p-5f);
    p = FA_FMA(p, r, 0x1.555492p-3f);
    p = FA_FMA(p, r, 0x1.fffffcp-2f);
    return FA_FMA(r * r, p, r);
}

FA_N32 fa_n32_exp_t fa_n32_exp(float a, uint32_t off) {
    float kb = FA_FMA(a, 0x1.715476p+0f, FA_N32_SHIFT);   /* k in the low bits */
    float k = kb - FA_N32_SHIFT;
    float r = FA_FMA(-k, 0x1.62e4p-1f, a);
    r = FA_FMA(-k, 0x1.7f7d1cp-20f, r);
    fa_n32_exp_t e;
    e.m = fa_n32_expm1_poly(r);
    e.s = fa_n32_from_bits((fa_n32_bits(kb) + 127u - off) << 23);
    e.k = k;
    return e;
}

/* fa_n32_exp(a + lo) for a low part |lo| <= 2^-20 |a| (folded into r: exp's
 * argument is then never rounded as a whole) */
FA_N32 fa_n32_exp_t fa_n32_exp_lo(float a, float lo, uint32_t off) {
    float kb = FA_FMA(a, 0x1.715476p+0f, FA_N32_SHIFT);
    float k = kb - FA_N32_SHIFT;
    float r = FA_FMA(-k, 0x1.62e4p-1f, a);
    r = FA_FMA(-k, 0x1.7f7d1cp-20f, r) + lo;
    fa_n32_exp_t e;
    e.m = fa_n32_expm1_poly(r);
    e.s = fa_n32_from_bits((fa_n32_bits(kb) + 127u - off) << 23);
    e.k = k;
    return e;
}

/* fa_n32_exp with its rounding errors carried: exp(a) = s (1 + m + ml)
 * 2^-off, ml the rounding error of r (r1 - r is exact for |r| > 2^-11, and
 * below that r's error is < 2^-36 anyway) and that of m (r - m is exact by
 * Sterbenz: m/r in [0.84, 1.19]); what is left is the polynomial's error
 * and the roundings inside P and r*r, ~0.15 u relative. */
typedef struct { float s, m, ml; } fa_n32_exp2_t;

FA_N32 fa_n32_exp2_t fa_n32_exp2(float a, uint32_t off) {
    float kb = FA_FMA(a, 0x1.715476p+0f, FA_N32_SHIFT);
    float k = kb - FA_N32_SHIFT;
    float r1 = FA_FMA(-k, 0x1.62e4p-1f, a);
    float r = FA_FMA(-k, 0x1.7f7d1cp-20f, r1);
    float rl = FA_FMA(-k, 0x1.7f7d1cp-20f, r1 - r);
    float p = 0x1.6a24p-10f;
    p = FA_FMA(p, r, 0x1.123ap-7f);
    p = FA_FMA(p, r, 0x1.5558f2p-5f);
    p = FA_FMA(p, r, 0x1.555492p-3f);
    p = FA_FMA(p, r, 0x1.fffffcp-2f);
    float rr = r * r;
    fa_n32_exp2_t e;
    e.m = FA_FMA(rr, p, r);
    float ml = FA_FMA(rr, p, r - e.m);
    e.ml = FA_FMA(rl, e.m, rl + ml);          /* exp(r + rl) - 1 = m + rl (1 + m) */
    e.s = fa_n32_from_bits((fa_n32_bits(kb) + 127u - off) << 23);
    return e;
}

/* The sigmoid family.  t = sigma(-a) = 1/(1 + e^a) for a >= 0 (|x|, or 2|x|
 * for tanh) as c q (1 + r): with e^a taken as 2^-64 e^a (a normal float for
 * 0 <= a <= 110, so no case split for large a), D = 2^-64 + 2^-64 e^a is
 * the exact pair Dh + Dl (s >= 2^-64: Fast2Sum; A - Dh is exact by
 * Sterbenz), q = 1/Dh and r = 1 - q D, so 1/D = q (1 + r) to ~u^2, and
 * c = 2^-64, or 0 where t < 2^-150 (a > 110: t rounds to 0 in every
 * caller, and a zero scale keeps the products that would underflow from
 * being formed).  a is clamped to [2^-40, 110]: below 2^-40, sigma rounds
 * the same, and r*r in exp would be subnormal.
 *
 * Subnormal intermediates: a subnormal operand or result costs a microcode
 * assist of ~150 cycles per vector, even in a lane that a select discards.
 * So every quantity below is kept normal wherever the result is: 1 - t uses
 * tn = c qn with qn = 0 for q < 2^-20 (t < 2^-84, and 1 - t rounds to 1),
 * products of small values are formed unscaled and scaled once at the end,
 * and a zero scale stands in for a result that underflows to 0. */
typedef struct { float q, r, c; } fa_n32_sig_t;
#define FA_N32_C 0x1p-64f

/* a >= 0 (or NaN) clamped to [2^-40, 110] as integers on the bits (NaN
 * becomes 110: callers restore it with fa_n32_nan_or): float selects there
 * let gcc carry the ranges into every later compare, and it spread them
 * into mask arithmetic that doubled the loops */
FA_N32 float fa_n32_clamp_bits(float a, uint32_t lo, uint32_t hi) {
    uint32_t b = fa_n32_bits(a);
    b = b > hi ? hi : b;
    return fa_n32_from_bits(b < lo ? lo : b);
}
FA_N32 float fa_n32_nan_or(float x, float r) { return x != x ? x : r; }
/* v, or 0 where |x| < 2^-30 (a correction x v of relative size < 2^-30
 * cannot change x's product there, and would be subnormal for tiny x) */
FA_N32 float fa_n32_tiny_or(float x, float v) {
    uint32_t big = (fa_n32_bits(x) & 0x7fffffffu) >= 0x30800000u;
    return fa_n32_from_bits(fa_n32_bits(v) & (0u - big));
}
/* a where the mask m is all ones, b where it is 0, on the bits: float
 * selects feeding products let gcc split the products by the condition
 * and form both (an underflowing one costs an assist even when discarded) */
FA_N32 float fa_n32_sel(uint32_t m, float a, float b) {
    return fa_n32_from_bits((fa_n32_bits(a) & m) | (fa_n32_bits(b) & ~m));
}
/* 2^-64 where cond, else 0, from the bits: a select between the two float
 * constants let gcc split the products by it into separate paths */
FA_N32 float fa_n32_mask_c(int cond) { return fa_n32_from_bits((0u - (uint32_t) cond) & 0x1f800000u); }

FA_N32 fa_n32_sig_t fa_n32_sig_neg(float a) {
    float ac = fa_n32_clamp_bits(a, 0x2b800000u, 0x42dc0000u);   /* 2^-40, 110 */
    fa_n32_exp_t e = fa_n32_exp(ac, 64u);
    float A = e.s + FA_N32_C;
    float Al = (e.s - A) + FA_N32_C;
    float Dh = FA_FMA(e.s, e.m, A);
    float Dl = FA_FMA(e.s, e.m, A - Dh) + Al;
    fa_n32_sig_t t;
    t.q = 1.0f / Dh;
    t.r = FA_FMA(-t.q, Dl, FA_FMA(-t.q, Dh, 1.0f));
    t.c = fa_n32_mask_c(fa_n32_bits(ac) < 0x42dc0000u);
    return t;
}

/* 1 - t = w + wl exactly (t = c q (1 + r) <= 1/2: Fast2Sum), with t's part
 * below 2^-84 dropped (it cannot change 1 - t) */
typedef struct { float w, wl; } fa_n32_one_minus_t;
FA_N32 fa_n32_one_minus_t fa_n32_one_minus(fa_n32_sig_t t) {
    float tn = t.q * fa_n32_mask_c(fa_n32_bits(t.q) > 0x35800000u);    /* q > 2^-20 */
    fa_n32_one_minus_t o;
    o.w = 1.0f - tn;
    o.wl = FA_FMA(-tn, t.r, (1.0f - o.w) - tn);
    return o;
}

/* A derivative (or a forward the gated loops scale) as f = p c (wh + wl):
 * p a float that is normal wherever f is above ~2^-100, c a power of two
 * (or 0), wh + wl a pair of size ~1.  The derivative loop rounds
 * p (wh + wl) once and scales by c last (exact, or one rounding into the
 * subnormals); the backward forms g (p c) as an exact product pair and
 * multiplies it by wh + wl with one rounding (its low part is subnormal, an
 * assist, only where g f' itself is below ~2^-100). */
typedef struct { float p, c, wh, wl; } fa_n32_pw_t;

FA_N32 float fa_n32_pw_value(fa_n32_pw_t f) { return FA_FMA(f.p, f.wh, f.p * f.wl) * f.c; }

/* 1/4 where |g| > 2^100, else 1 (and its inverse): g p c can overflow
 * where g p c (wh + wl) does not (wh < 1), so such g are scaled by 1/4 (exact)
 * and the result by 4 (exact, or the overflow that is the answer); built
 * from the bits, not a select between constants (gcc would split the
 * products by it) */
FA_N32 float fa_n32_down(float g) {
    uint32_t big = (fa_n32_bits(g) & 0x7fffffffu) > 0x71800000u;
    return fa_n32_from_bits(0x3f800000u - ((0u - big) & 0x01000000u));
}
FA_N32 float fa_n32_up(float d) { return fa_n32_from_bits(0x7f000000u - fa_n32_bits(d)); }

/* The low part added to h w by the last fma: where h is +-0 (g = +-0) it
 * is +0 whatever the signs, which would give +0 for -0 * f'; h w itself
 * there, so the sum has the sign of the product g f', as in IEEE. */
FA_N32 float fa_n32_low_signed(float h, float w, float low) {
    return h == 0.0f ? h * w : low;
}

FA_N32 float fa_n32_pw_times(float g, fa_n32_pw_t f) {
    float d = fa_n32_down(g);
    float gs = g * d;
    float pc = f.p * f.c;
    float ph = gs * pc;
    float pl = FA_FMA(gs, pc, -ph);
    return FA_FMA(ph, f.wh, fa_n32_low_signed(ph, f.wh, FA_FMA(ph, f.wl, pl * f.wh)))
           * fa_n32_up(d);
}

/* g v f, g v = ph + pl exactly (the caller keeps g v finite; below float's
 * normal range its low part is off by at most 2^-150) */
FA_N32 float fa_n32_pw_times2(float g, float v, fa_n32_pw_t f) {
    float ph = g * v;
    float pl = FA_FMA(g, v, -ph);
    float d = fa_n32_down(ph);
    ph = ph * d;
    pl = pl * d;
    float pc = f.p * f.c;
    float qh = ph * pc;
    float ql = FA_FMA(ph, pc, -qh) + pl * pc;
    return FA_FMA(qh, f.wh, fa_n32_low_signed(qh, f.wh, FA_FMA(qh, f.wl, ql * f.wh)))
           * fa_n32_up(d);
}

/* sigma(x): x <= 0, t = sigma(-|x|) rounded once, then scaled (exact, or one
 * rounding into the subnormals); x > 0, 1 - t (t <= 1/2: one more rounding
 * of at most 2^-26).  Measured 0.93 ULP. */
FA_N32 float fa_n32_sigmoid(float x) {
    float a = fabsf(x);
    fa_n32_sig_t t = fa_n32_sig_neg(a);
    /* t's scale, 0 where t is below 2^-150 (x < -110) or 1 - t is 1
     * (x >= 80): the product would underflow there; the limit and the scale
     * as integer arithmetic on the sign bit (from float selects gcc made
     * one product per limit, and formed the underflowing one too) */
    uint32_t neg = fa_n32_bits(x) >> 31;
    uint32_t lim = 0x42a00000u + ((0u - neg) & (0x42dc0000u - 0x42a00000u));   /* 80 | 110 */
    float c = fa_n32_mask_c(fa_n32_bits(a) < lim);
    float v = FA_FMA(t.r, t.q, t.q) * c;
    return fa_n32_nan_or(x, neg ? v : 1.0f - v);
}

/* sigma(x) as p c (wh + wl): x <= 0, q c (1 + r); x > 0, 1 - t */
FA_N32 fa_n32_pw_t fa_n32_sigmoid_fpw(float x) {
    fa_n32_sig_t t = fa_n32_sig_neg(fabsf(x));
    fa_n32_one_minus_t o = fa_n32_one_minus(t);
    uint32_t pos = 0u - (uint32_t) (x > 0.0f);
    fa_n32_pw_t f;
    f.p = fa_n32_nan_or(x, fa_n32_sel(pos, 1.0f, t.q));
    f.c = fa_n32_sel(pos, 1.0f, t.c);
    f.wh = fa_n32_sel(pos, o.w, 1.0f);
    f.wl = fa_n32_sel(pos, o.wl, t.r);
    return f;
}

/* sigma'(z) = t (1 - t) = c q (1 + r)(1 - t), t = sigma(-|z|):
 * (1 + r)(w + wl) = w + (wl + r w) to ~u^2. */
FA_N32 fa_n32_pw_t fa_n32_dsig(float z) {
    fa_n32_sig_t t = fa_n32_sig_neg(fabsf(z));
    fa_n32_one_minus_t o = fa_n32_one_minus(t);
    fa_n32_pw_t f;
    f.p = fa_n32_nan_or(z, t.q);
    f.c = t.c;
    f.wh = o.w;
    f.wl = FA_FMA(t.r, o.w, o.wl);
    return f;
}

/* tanh(x) = sign(x) (1 - 2t), t = sigma(-2|x|) <= 0.22 for |x| >= 0.625
 * (1 - 2t as the pair w + wl of 1 - 2t's Fast2Sum, rounded once); below,
 * x + x w P(w), w = x^2, P of degree 5 (~0.07 ULP), with w floored at
 * 2^-80 (x w P is then far below x's ULP, and stays normal).  Measured
 * 1.05 ULP. */
FA_N32 float fa_n32_tanh(float x) {
    float a = fabsf(x);
    fa_n32_sig_t t = fa_n32_sig_neg(2.0f * a);
    float tn = t.q * fa_n32_mask_c(fa_n32_bits(t.q) > 0x35800000u);    /* q > 2^-20 */
    float big = 1.0f - 2.0f * tn;
    big = big + FA_FMA(-2.0f * tn, t.r, (1.0f - big) - 2.0f * tn);
    float w = a * a;
    w = w > 0x1p-80f ? w : 0x1p-80f;
    float p = 0x1.2c83cp-9f;
    p = FA_FMA(p, w, -0x1.116a16p-7f);
    p = FA_FMA(p, w, 0x1.64a976p-6f);
    p = FA_FMA(p, w, -0x1.ba08c4p-5f);
    p = FA_FMA(p, w, 0x1.1110eap-3f);
    p = FA_FMA(p, w, -0x1.555556p-2f);
    float small = FA_FMA(a, w * p, a);
    return fa_n32_nan_or(x, copysignf(a < 0.625f ? small : big, x));
}

/* tanh'(x) = 4 sigma'(2x) */
FA_N32 fa_n32_pw_t fa_n32_tanh_dpw(float x) {
    fa_n32_pw_t f = fa_n32_dsig(2.0f * x);
    f.c = 4.0f * f.c;
    return f;
}

/* silu(x) = x sigma(x): x <= 0, x t with t's pair folded into one fma, then
 * scaled (x is clamped at -110, where silu rounds to -0.0: silu(-inf) =
 * -0.0); x > 0, x (1 - t) with 1 - t as an exact pair; x > 20, x itself
 * (the product would make inf * 0 at +inf).  Measured 1.08 ULP. */
FA_N32 float fa_n32_silu(float x) {
    fa_n32_sig_t t = fa_n32_sig_neg(fabsf(x));
    fa_n32_one_minus_t o = fa_n32_one_minus(t);
    float xm = x < -110.0f ? -110.0f : x;
    uint32_t neg_sign = fa_n32_bits(x) >> 31;
    float cn = fa_n32_from_bits(fa_n32_bits(t.c) & (0u - neg_sign));   /* 0 for x >= 0 */
    float neg = copysignf(FA_FMA(xm, t.q, xm * (t.r * t.q)) * cn, x);   /* silu(-0) = -0 */
    float pos = FA_FMA(x, o.w, x * fa_n32_tiny_or(x, o.wl));
    return fa_n32_nan_or(x, x > 20.0f ? x : (neg_sign ? neg : pos));
}

/* silu'(x) = sigma(x) (1 + x sigma(-x)).  t = sigma(-|x|) = c q (1 + r),
 * y = x (1 - t) as an exact pair (x t <= x/2: Fast2Sum): x <= 0,
 * t (1 + y) = c q (1 + r)(1 + y); x > 0, 1 + t (y - 1).  B + y (B = +-1) is
 * an exact pair too (Fast2Sum: |y| < 1, or B + y exact).  Measured 1.2 ULP;
 * 0.012 eps within 0.05 of the zero (-1.2785). */
FA_N32 fa_n32_pw_t fa_n32_silu_dpw(float x) {
    fa_n32_sig_t t = fa_n32_sig_neg(fabsf(x));
    fa_n32_one_minus_t o = fa_n32_one_minus(t);
    float xc = x < -110.0f ? -110.0f : (x > 110.0f ? 110.0f : x);
    float yh = xc * o.w;
    float yl = FA_FMA(xc, o.w, -yh) + xc * fa_n32_tiny_or(x, o.wl);
    int pos = x > 0.0f;
    float b = pos ? -1.0f : 1.0f;
    float oh = b + yh;
    float ol = ((b - oh) + yh) + yl;
    /* x > 0: 1 + tn (oh + ol) (1 + r) as w + wl, 1 - w exact (Sterbenz) */
    float tn = t.q * fa_n32_mask_c(fa_n32_bits(t.q) > 0x35800000u);    /* q > 2^-20 */
    float w = FA_FMA(tn, oh, 1.0f);
    float wl = FA_FMA(tn, oh, 1.0f - w) + tn * FA_FMA(t.r, oh, ol);
    uint32_t m = 0u - (uint32_t) pos;
    fa_n32_pw_t f;
    f.p = fa_n32_nan_or(x, fa_n32_sel(m, 1.0f, t.q));
    f.c = fa_n32_sel(m, 1.0f, t.c);
    f.wh = fa_n32_sel(m, w, oh);
    f.wl = fa_n32_sel(m, wl, FA_FMA(t.r, oh, ol));
    return f;
}

FA_N32 float fa_n32_sigmoid_derivative(float x) { return fa_n32_pw_value(fa_n32_dsig(x)); }
FA_N32 float fa_n32_sigmoid_backward(float g, float x) { return fa_n32_pw_times(g, fa_n32_dsig(x)); }
FA_N32 float fa_n32_tanh_derivative(float x) { return fa_n32_pw_value(fa_n32_tanh_dpw(x)); }
FA_N32 float fa_n32_tanh_backward(float g, float x) { return fa_n32_pw_times(g, fa_n32_tanh_dpw(x)); }
FA_N32 float fa_n32_log_sigmoid_derivative(float x) { return fa_n32_pw_value(fa_n32_sigmoid_fpw(-x)); }
FA_N32 float fa_n32_log_sigmoid_backward(float g, float x) {
    return fa_n32_pw_times(g, fa_n32_sigmoid_fpw(-x));
}
FA_N32 float fa_n32_silu_derivative(float x) { return fa_n32_pw_value(fa_n32_silu_dpw(x)); }
FA_N32 float fa_n32_silu_backward(float g, float x) { return fa_n32_pw_times(g, fa_n32_silu_dpw(x)); }

/* softplus'(x) at beta = 1: sigma(x), or 1 where x > the threshold, tf the
 * largest float <= the double threshold (so x > tf is x > threshold). */
FA_N32 float fa_n32_threshold(double t) {
    float f = (float) t;
    float below = f > 0.0f ? fa_n32_from_bits(fa_n32_bits(f) - 1u)
                           : (f < 0.0f ? fa_n32_from_bits(fa_n32_bits(f) + 1u) : -0x1p-149f);
    return (double) f > t ? below : f;
}
FA_N32 float fa_n32_softplus_derivative(float x, float tf) {
    float s = fa_n32_sigmoid(x);
    return x > tf ? 1.0f : s;
}
FA_N32 float fa_n32_softplus_backward(float g, float x, float tf) {
    return x > tf ? g : fa_n32_pw_times(g, fa_n32_sigmoid_fpw(x));
}
FA_N32 int fa_n32_softplus_bad(float x, float tf) { return x >= -60.0f ? 0 : 1; }

/* softplus (beta = 1) natively in float: sp(x, tf) = x if x > tf else
   max(x, 0) + L, L = log1p(e), e = exp(-|x|).  log_sigmoid(x) = -sp(-x, 20).

   tf: the caller's threshold as a float compared as x > tf (round the double
   threshold down to float: for a float x, x > T <=> x > RD(T)).  It is capped
   at 20 (a NaN tf too): for x > 17, L = e^-x < ulp(x)/2, so x + L rounds to x
   and both branches agree; the cap keeps inf out of the body's pair sum.

   e = s (1 + m) (f_exp_core, s = 2^k, k = round(-|x|/ln2)), then two cases:
   near, k >= -1 (|x| <= 1.04, e > 2^-1.5):
     1 + e = 2 (1 + f), f = (e - 1)/2 = m s/2 + (s - 1)/2 in [-0.3232, 0],
     sp(x) = x/2 + ln2 + lc, lc = log cosh(x/2) = (f + |x|/2) + (log1p(f) - f);
     f + |x|/2 is exact (Sterbenz: |x|/2 <= 2|f| for |x| <= 1.04), and
     ln2_hi + x/2 is an exact fast_two_sum (|x/2| <= 0.52 < ln2), so the
     cancellation of x/2 against log1p(f) never rounds;
   far, k <= -2 (e <= 2^-1.5): f = e = s + s m in (0, 0.3536],
     sp(x) = max(x, 0) + f + (log1p(f) - f), fast_two_sum(max(x,0), f) exact.
   f = fma(m, M, A) rounds once; its rounding error d = fma(m, M, A - f) is
   exact (M = s or s/2 is a power of two, A - f is exact by Sterbenz), and
   log1p(f + d) = log1p(f) + d/(1 + f) ~ log1p(f) + d (1 - f).
   log1p(f) - f = f^2 (-1/2 + f P(f)), P degree 7 fitted (fit_sp.py) for the
   error relative to the result: 0.105 * 2^-24.
   The big pieces are exact pairs: near, S + r = ln2_hi + x/2 and then
   T + r2 = S + lc_hi (fast_two_sum: S >= 0.17 >= lc; without it the rounding
   of lc ~ 0.13 cost 0.25 ULP where sp ~ 0.30); far, T = S = max(x,0) + f.
   The rest (w = log1p(f + d) - f + ln2_lo, r, r2) is <= 0.2 of the result,
   so its roundings add <= ~0.1 ULP; the final T + small rounds once.
   M and A come from one select (h): separate selects on `near` let gcc
   thread them into two whole paths (two polynomials, blended).  Error budget: exp core
   (<= 0.56 * 2^-24 relative to e; passes ~1:1 only in the far tail where
   L ~ e), polynomial 0.1, the few low roundings ~0.2, final 0.5.
   Deep tail (|x| > 40): exp is taken as 2^110 e and the result scaled by
   2^-110 at the end (see the body); the second rounding, into the
   subnormals, adds < 0.5 + 2^-20 subnormal ULP. */
FA_N32 float fa_n32_softplus(float y, float tf) {
  float t = tf < 20.0f ? tf : 20.0f;
  /* |y| clamped to [2^-30, 118] on the bits (integer max/min; a NaN y -> 118,
     y itself is returned at the end).  Below 2^-30 nothing but y/2 matters:
     log cosh(y/2) ~ y^2/8 < 2^-63 and ln2 + y/2 rounds to ln2_hi (ln2 sits
     0.03 ulp from it), and y/2 enters through yc = +-ac, so sp(y) =
     sp(+-2^-30) exactly; the clamp keeps f, f^2, r, r^2 and the pair terms
     normal (an unclamped y = 2^-70 made r^2, f^2 subnormal).  Above 118 the
     result is 0 (y < 0; e^-118 = 2^-170.2) or y (y > tf), and the deep
     path's final product 2^-170 flushes to 0 without a microcode assist
     (this CPU assists products in [2^-160, 2^-126), not below). */
  uint32_t ab = fa_n32_bits(y) & 0x7FFFFFFFu;
  ab = ab > 0x30800000u ? ab : 0x30800000u;            /* 2^-30 */
  ab = ab < 0x42EC0000u ? ab : 0x42EC0000u;            /* 118 */
  float ac = fa_n32_from_bits(ab), a = -ac;
  float yc = copysignf(ac, y);
  /* deep (|y| > 40, e < 2^-57.7): e is taken as 2^110 e, so that f, its
     rounding error d (~ f 2^-25) and the result stay normal down to
     |y| = 118 (f >= 2^-60.2); log1p(e) = e there (e/2 < 2^-58 relative), so
     the polynomial is fed fp = 0 (it would be garbage for the scaled f) and
     the result is scaled by 2^-110 at the end: one rounding, the only
     subnormal operation being that final product where the result itself is
     subnormal (|y| > 87.3).  Integer masks: selects between constants on a
     float compare let gcc split the consumer into two computed paths, one of
     them with the subnormal product. */
  uint32_t dm = (uint32_t)((int32_t)(0x42200000u - ab) >> 31);   /* ~0 iff |y| > 40 */
  fa_n32_exp_t e = fa_n32_exp(a, dm & 0xFFFFFF92u);         /* off = -110 */
  int near = e.k >= -1.0f;
  float s = e.s;
  float h = near ? 0.5f : 1.0f;
  float M = s * h;                          /* near: s/2, far: s */
  float A = FA_FMA(s, h, h - 1.0f);            /* near: (s - 1)/2, far: s */
  float f = FA_FMA(e.m, M, A);
  float d = FA_FMA(e.m, M, A - f);
  float fp = fa_n32_from_bits(fa_n32_bits(f) & ~dm);         /* f, or 0 where deep */
  d = FA_FMA(-d, fp, d);
  float p = -0x1.c7bd04p-4f;
  p = FA_FMA(p, fp, 0x1.1ca826p-3f);
  p = FA_FMA(p, fp, -0x1.019de4p-3f);
  p = FA_FMA(p, fp, 0x1.1f396cp-3f);
  p = FA_FMA(p, fp, -0x1.550a4ep-3f);
  p = FA_FMA(p, fp, 0x1.99c892p-3f);
  p = FA_FMA(p, fp, -0x1.00012p-2f);
  p = FA_FMA(p, fp, 0x1.55552p-2f);
  p = FA_FMA(p, fp, -0.5f);
  float lo = near ? -0x1.05c61p-29f : 0.0f;   /* ln2 - ln2_hi */
  float w = FA_FMA(fp * fp, p, d + lo);        /* log1p(f + d) - f (+ ln2 lo) */
  float yp = y > 0.0f ? y : 0.0f;
  float P1 = near ? 0x1.62e43p-1f : yp;     /* ln2 hi */
  float P2 = near ? 0.5f * yc : f;
  float g = near ? f + 0.5f * ac : 0.0f;    /* exact */
  float S = P1 + P2;
  float r = (P1 - S) + P2;
  float T = S + g;                          /* S >= g: ln2 - 0.52 > log cosh(0.52) */
  float r2 = (S - T) + g;
  float res = T + ((w + r) + r2);
  res = res * fa_n32_from_bits(0x3F800000u - (dm & 0x37000000u));   /* 2^-110 where deep */
  return y <= t ? res : y;                  /* NaN y -> y */
}

/* (+ 0: -0 where softplus(-x) underflows to +0; fastact's double kernel
 * and PyTorch give +0 there) */
FA_N32 float fa_n32_log_sigmoid(float x) { return -fa_n32_softplus(-x, 20.0f) + 0.0f; }

/* mish, its derivative and backward, with clamps and scalings chosen so that no intermediate is subnormal for any
   input whose result is normal :
   - |x| is clamped from below at 2^-30 inside the exp (mish(x) = x q(x) with
     q(+-2^-30) = q(x) to 2^-31 relative there; mish'(x) = mish'(+-2^-30) to
     2^-30 relative): no r^2, f^2, Nl, ... below 2^-60;
   - and from above at 118 (mish, mish'; 200 for the backward): beyond, the
     result is x (mish, x > 20), 1 (mish', x > 12), or below 2^-160 and
     flushed to 0 without a microcode assist (this CPU assists products in
     [2^-160, 2^-126), not below);
   - deep (|x| > 40) instead of x < -86: e^-|x| is taken as 2^110 e^-|x|
     (mish, mish') or as 1 + m with 2^k carried apart (backward);
   - clamps and masks are integer ops on the bits: a float select against a
     constant lets gcc specialise the code downstream for the clamped lanes
     and blend two paths (+15 instructions in mish), or split a product
     into two computed paths, one of them subnormal; in the backward, a
     select on a g-derived condition stops gcc 12 from vectorizing a loop
     with a loop-invariant g.

   mish(x) = x tanh(softplus(x)) = x Nm/Dn, written in u = exp(-|x|) <= 1 so
   that nothing overflows or cancels:
     x <= 0 (u = e^x):   Nm = u^2 + 2u,  Dn = Nm + 2      (tanh(sp) = n/(n+2), n = e(e+2))
     x >  0 (u = e^-x):  Nm = 1 + 2u,    Dn = Nm + 2u^2   (the same times u^2)
   Nm and Dn are carried as exact-ish pairs (below the result's ulp by ~2^-20):
   u = uh + ul exactly (ul = the rounding error of fma(m, s, s), s a power of
   two); Nm_h = fma(uh, A, B) and its rounding error fma(uh, A, B - Nm_h) is
   exact (x <= 0: B - Nm_h = 2u - Nm_h by Sterbenz, u <= 1; x > 0:
   1 - Nm_h, Nm_h in [1, 3]); for x <= 0 ul enters through dNm/du; for x > 0
   it is left out of Nm and kappa alike (there |d ln q / d ln u| <= 0.41, so
   that costs <= 0.3 ULP, and carrying it consistently would take 5 more
   instructions for ~1.2 -> 0.9 ULP on (0, 1)).  Dn = Nm + kappa is an exact
   fast_two_sum (max/min order) plus the low parts; kappa = 2u^2 (x > 0) is
   rounded, but it enters tanh(sp) scaled by 1 - q <= 0.4.
   Then q = Nm/Dn as q0 = Nm_h R (R = 1/Dh) with the exact remainder
   Nm_h - q0 Dh and the low parts (refinement: q0 + rem R), and x q is rounded
   once by an fma.  Error: final rounding 0.5 ULP + exp core (relative error of
   u <= 0.56 * 2^-24, and |d ln q / d ln u| <= 1) + ~2^-20.
   The quotient is carried as 2^110 q (R = 2^110/Dh: the division is as cheap
   as 1/Dh), so the low product |x| (rem R) stays normal down to x = 2^-149
   (it was subnormal for |x| < 2^-100 with results still normal); the
   result x q 2^110 is scaled by 2^-110 at the end (exact unless the result
   is subnormal).
   Deep tail (x < -40): mish(x) = x u (1 + O(u)) with u < 2^-57.7, so q is
   taken as u itself, scaled: (uh, ul) = 2^110 (e^x as a pair), which is
   >= 2^-60.2 down to x = -118; the regular path still runs on these scaled
   values (garbage but normal: Nh <= 2^105, no overflow) and is dropped by
   one select.  The final scaling by 2^-110 is the second rounding where the
   result is subnormal (< 0.5 subnormal ULP + 2^-20).  x > 20 (mish(x)
   rounds to x beyond x ~ 9), +inf and NaN return x. */
FA_N32 float fa_n32_mish(float x) {
  /* clamps on the bits (integer min/max: a float select against a constant
     lets gcc specialise everything downstream for the clamped lanes and
     blend two paths): |x| <= 118 for the factor |x| (NaN -> 118, x is
     returned at the end; x > 20 too), and >= 2^-30 for the exp */
  uint32_t xb = fa_n32_bits(x);
  uint32_t sg = xb & 0x80000000u;
  uint32_t ab = xb & 0x7FFFFFFFu;
  ab = ab < 0x42EC0000u ? ab : 0x42EC0000u;            /* 118 */
  float ar = fa_n32_from_bits(ab);                                /* |x| clamped */
  ab = ab > 0x30800000u ? ab : 0x30800000u;            /* 2^-30 */
  float a = fa_n32_from_bits(ab | 0x80000000u);
  uint32_t dm = (uint32_t)((int32_t)(0x42200000u - ab) >> 31);   /* ~0 iff |x| > 40 */
  fa_n32_exp_t e = fa_n32_exp(a, dm & 0xFFFFFF92u);         /* off = -110 */
  float s = e.s;
  float uh = FA_FMA(e.m, s, s);
  float ul = FA_FMA(e.m, s, s - uh);
  int pos = x > 0.0f;
  float u2 = uh + uh;
  float A = pos ? 2.0f : uh;
  float B = pos ? 1.0f : u2;
  float Nh = FA_FMA(uh, A, B);
  float Nl = FA_FMA(uh, A, B - Nh);
  float G = pos ? 0.0f : u2 + 2.0f;         /* dNm/du (x > 0: ul left out of Nm and kappa alike) */
  Nl = FA_FMA(ul, G, Nl);
  float kap = pos ? u2 * uh : 2.0f;
  float big = Nh > kap ? Nh : kap, small = Nh > kap ? kap : Nh;
  float Dh = big + small;
  float Dl = ((big - Dh) + small) + Nl;
  float R = 0x1p110f / Dh;                  /* 2^110 / Dh */
  float q0s = Nh * R;                       /* 2^110 q0 */
  float q0 = Nh * (R * 0x1p-110f);          /* = q0s 2^-110 exactly, >= 2^-58 */
  float rem = FA_FMA(-q0, Dh, Nh);             /* exact: q0 is faithful */
  rem = rem + FA_FMA(-q0, Dl, Nl);
  /* q is replaced by u only for x < -40 (for x > 40, returned as x, the
     regular path keeps x q normal); a float select of two variables: the
     integer form (and/or on a mask) cost ~10% here */
  int dneg = x < -40.0f;
  float qh = dneg ? uh : q0s;
  float ql = dneg ? ul : rem * R;
  /* |x| q (>= 0, +0 for x = +-0), the sign put back by the scale factor:
     off the critical path, unlike a copysign of the result */
  float res = FA_FMA(ar, qh, ar * ql) * fa_n32_from_bits(sg | 0x08800000u);   /* +-2^-110 */
  return x <= 20.0f ? res : x;
}

/* f_exp_core0 with the low part: exp(xc) = s (1 + m + ml) 2^off, where ml
   carries the rounding error of r (r1 - r is exact for |r| > 2^-11, and
   below that r's error is < 2^-36 anyway) and that of m (r - m is exact by
   Sterbenz: m/r in [0.84, 1.19]); what is left is the polynomial's error and
   the roundings inside P and r*r, ~0.15 * 2^-24 relative.
   kb's bits carry k (kb = 1.5 2^23 + k): s = 2^(k - off) is built by the
   caller (the backward wants s = 1 in its deep tail). */
typedef struct { float m, ml; uint32_t kb; } fa_n32_mexp2_t;
FA_N32 fa_n32_mexp2_t fa_n32_mexp2(float xc) {
  float kb = FA_FMA(xc, 0x1.715476p+0f, FA_N32_SHIFT);
  float k = kb - FA_N32_SHIFT;
  float r1 = FA_FMA(-k, 0x1.62e4p-1f, xc);     /* exact for |k| < 512 */
  float r = FA_FMA(-k, 0x1.7f7d1cp-20f, r1);
  float rl = FA_FMA(-k, 0x1.7f7d1cp-20f, r1 - r);
  float p = 0x1.6a24p-10f;
  p = FA_FMA(p, r, 0x1.123ap-7f);
  p = FA_FMA(p, r, 0x1.5558f2p-5f);
  p = FA_FMA(p, r, 0x1.555492p-3f);
  p = FA_FMA(p, r, 0x1.fffffcp-2f);
  float rr = r * r;
  fa_n32_mexp2_t e;
  e.m = FA_FMA(rr, p, r);
  float ml = FA_FMA(rr, p, r - e.m);
  e.ml = FA_FMA(rl, e.m, rl + ml);             /* exp(r + rl) - 1 = m + rl (1 + m) */
  e.kb = fa_n32_bits(kb);
  return e;
}
/* mish'(x) = tanh(sp) + x sigma(x) sech^2(sp) = Num/Dn^2, in u = exp(-|x|):
     x <= 0 (u = e^x):  Num = u B, B = A0 + A1 u + 4u^2 + u^3,  Dn = 2 + 2u + u^2
     x >  0 (u = e^-x): Num = B,   B = 1 + 4u + A1 u^2 + A0 u^3, Dn = 1 + 2u + 2u^2
   A0 = 4 + 4x, A1 = A0 + 2 (both exact for x <= -0.5).
   B = Y + u C', Y = y0 + y1 u, C' = W + c2 u^2, W = w0 + w1 u, coefficients
   selected by sign: x <= 0: Y = A0 + 2u, W = A0 + 4u, c2 = 1;
   x > 0: Y = 1 + 4u, W = A1 u, c2 = A0.
   Near the zero x0 = -1.1924 (B -> 0): A0 + 4u and A0 + 2u are exact (sums of
   multiples of 2^-23 below 1), C' ~ 0.54 rounds at 2^-25, so |error of B| ~
   u 2^-25 and |error of mish'| ~ 2^-31 (0.4 ULP at x0 +- 0.05, mish' ~ 0.013).
   Y's rounding error Yl = fma(u, y1, y0 - Y) is exact (y0 - Y by Sterbenz or as
   a multiple of 2^-23 below 2) and goes into Num's low part; B itself rounds
   once (relative 2^-24) and Num = mul B is an exact product.
   There mish' is very sensitive to u at fixed x (|d ln mish'/d ln u| = 4.6 at
   x0 +- 0.05), hence fa_n32_mexp2 (relative error ~0.15 * 2^-24) and u = uh + ul
   with ul carried into Num and Dn (x <= 0; for x > 0 the sensitivity is
   <= 0.55 and ul is left out of both, consistently).
   Dn = t + c u^2, t = 2u + (2 or 1): t's rounding error is exact (2 - t, 1 - t
   exact), Dh = fma(c u, u, t) and t - Dh exact (Sterbenz), so Dn = Dh + Dl.
   1/Dn = R (1 + rho), R = 1/Dh, rho = 1 - R Dh - R Dl; Num R as an exact
   product; the result Num R^2 (1 + 2 rho) rounds once (the final fma).
   Error: 0.5 (final) + B's rounding (<= 2^-24 relative) + exp.
   Deep tail (x < -40, u < 2^-57.7): mish' = u (1 + x) (1 + O(u)); the
   polynomials and Dn are fed u = 0 (B = A0, Dn = 2 exactly, ul kept out of
   Dn) and only the factor `mul` = u carries e^x, as us = 2^110 e^x (mish')
   or as s (1 + m) with s = 1 and 2^k applied at the end (backward): the
   same code then gives u (1 + x) with its low part, all normal.
   mish_dcore: everything up to Num R^2 (1 + 2 rho) = Ph R + R (Ph 2 rho + Pl);
   s is the caller's power of two for the factor u. */
typedef struct { float Ph, Pl, R, rho; } fa_n32_mish_dcore_t;
FA_N32 fa_n32_mish_dcore_t fa_n32_mish_dcore(float x, float a, uint32_t dm, fa_n32_mexp2_t e, float s) {
  float us = FA_FMA(e.m, s, s);
  float ul = FA_FMA(e.m, s, s - us);
  ul = FA_FMA(s, e.ml, ul);
  float u = fa_n32_from_bits(fa_n32_bits(us) & ~dm);         /* 0 where deep */
  /* one select (Pp = 1 for x > 0, else 0), the coefficients by exact
     products with Pp and Np = 1 - Pp: several selects on the same condition
     let gcc thread them into two whole paths, computed both and blended */
  float Pp = x > 0.0f ? 1.0f : 0.0f, Np = 1.0f - Pp;
  float xm = x > 0.0f ? -a : a;             /* x clamped as a is */
  float A0 = FA_FMA(4.0f, xm, 4.0f);
  float A1 = A0 + 2.0f;
  float y0 = FA_FMA(Np, A0, Pp);               /* 1 | A0 */
  float y1 = FA_FMA(Pp, 2.0f, 2.0f);           /* 4 | 2 */
  float w0 = Np * A0;                       /* 0 | A0 */
  float w1 = FA_FMA(Pp, A1, 4.0f * Np);        /* A1 | 4 */
  float c2 = FA_FMA(Pp, A0, Np);               /* A0 | 1 */
  float W = FA_FMA(u, w1, w0);
  float C = FA_FMA(c2 * u, u, W);
  float Y = FA_FMA(u, y1, y0);
  float Yl = FA_FMA(u, y1, y0 - Y);
  float B = FA_FMA(u, C, Y);
  float mul = FA_FMA(Np, us, Pp);              /* 1 | u (scaled where deep) */
  float ulm = Np * ul;                      /* 0 | ul */
  float Nh = mul * B;
  float Nl = FA_FMA(mul, B, -Nh);
  Nl = FA_FMA(mul, Yl, Nl);
  Nl = FA_FMA(ulm, FA_FMA(u, FA_FMA(8.0f, u, A1), B), Nl);   /* ul d(uB)/du */
  float cT = 2.0f - Pp;                     /* 1 | 2 */
  float cu = FA_FMA(Pp, u, u);                 /* 2u | u */
  float t = FA_FMA(u, 2.0f, cT);
  float tl = FA_FMA(u, 2.0f, cT - t);
  float Dh = FA_FMA(cu, u, t);
  float Dl = FA_FMA(cu, u, t - Dh) + tl;
  Dl = FA_FMA(fa_n32_from_bits(fa_n32_bits(ulm) & ~dm), FA_FMA(2.0f, u, 2.0f), Dl);   /* ul dDn/du, not where deep */
  fa_n32_mish_dcore_t c;
  c.R = 1.0f / Dh;
  c.rho = FA_FMA(-c.R, Dl, FA_FMA(-c.R, Dh, 1.0f));
  c.Ph = Nh * c.R;
  c.Pl = FA_FMA(Nh, c.R, -c.Ph);
  c.Pl = FA_FMA(Nl, c.R, c.Pl);
  return c;
}
FA_N32 float fa_n32_mish_derivative(float x) {
  /* |x| clamped on the bits to [2^-30, 118] (integer min/max, see f_mish);
     x > 40 is deep too (u = 0 there gives mish' = 1 exactly, and the final
     select takes 1 for x > 12 anyway); a NaN x is put back at the end */
  uint32_t xb = fa_n32_bits(x);
  uint32_t ab = xb & 0x7FFFFFFFu;
  ab = ab < 0x42EC0000u ? ab : 0x42EC0000u;            /* 118 */
  ab = ab > 0x30800000u ? ab : 0x30800000u;            /* 2^-30 */
  float a = fa_n32_from_bits(ab | 0x80000000u);
  uint32_t dm = (uint32_t)((int32_t)(0x42200000u - ab) >> 31);   /* ~0 iff |x| > 40 */
  fa_n32_mexp2_t e = fa_n32_mexp2(a);
  float s = fa_n32_from_bits((e.kb + 127u + (dm & 110u)) << 23);   /* 2^k, 2^(k + 110) where deep */
  fa_n32_mish_dcore_t c = fa_n32_mish_dcore(x, a, dm, e, s);
  float res = FA_FMA(c.Ph, c.R, c.R * FA_FMA(c.Ph, c.rho + c.rho, c.Pl));
  res = res * fa_n32_from_bits(0x3F800000u - (dm & 0x37000000u));   /* 2^-110 where deep */
  res = x > 12.0f ? 1.0f : res;
  /* (+ 0: where the deep tail underflows to -0, fastact's double mish' and
     PyTorch give +0) */
  return x == x ? res + 0.0f : x;
}

/* Backward g mish'(x), rounded once from the pair D = Qh + Ql (Qh = Ph R,
   Ql its exact residual plus R (Ph 2 rho + Pl)).
   g = gm 2^Eg with |gm| in [1, 2) (normal g: the exponent field of 1.0 put
   on g's bits; Eg = its exponent) or in [0, 1) (zero and subnormal g:
   1.f - 1 = 0.f exactly, Eg = -126); inf and NaN: gm = g.  Then
   T = fma(gm, Qh, gm Ql) is normal with a normal low product for any finite
   g: |T| in [2^-53, 2.2] outside the deep tail (mish' >= 2^-52.4 for
   x >= -40, and >= 2^-28 at the float x next to its zero; subnormal g:
   |gm| >= 2^-23).  g D = T 2^E, E = Eg outside the deep tail.
   Deep tail (x < -40): mish' = u (1 + x) (1 + O(u)), u = e^x = 2^k (1 + m);
   u is carried as s (1 + m) and E = Eg + k (k down to -289: x is clamped at
   -200, where |g mish'| < 2^-152.9 even for g = FLT_MAX).  With E2 =
   max(E, -126) and E1 = E - E2 (<= 0, nonzero only in the deep tail), s is
   2^E1 there (E1 clamped at -60: T >= 27 2^-60 keeps every low part normal;
   where the clamp acts, E < -186, the result is below 2^-177 and the final
   product, T 2^-60 2^-126 < 2^-176, flushes it to 0 without an assist).
   The product by 2^E2 is the one rounding, gradual underflow and overflow
   (to +-inf) included; it is the only subnormal operation, where the
   result itself is subnormal (or in [2^-160, 2^-150), rounding to 0).
   x > 40 (clamped at 200) runs the deep code with u = 0: D = 1 exactly;
   for x in (12, 40] D = 1 + O(x e^-2x) rounds to 1 anyway: no override.
   g = +-0, +-inf, NaN: the low product is replaced by -0 (fma(gm, Qh, -0)
   = gm Qh exactly), so the result is +-0 with the sign of g D, +-inf, NaN,
   as g * mish'(x) rounded; a NaN x gives NaN.
   Error: that of the pair D (mish' before its final rounding: B's rounding
   and the exp, <= ~1.8 ULP) + 0.5 ULP (T) + |gm Ql| 2^-24 (~2^-24 ULP). */
FA_N32 float fa_n32_mish_backward(float g, float x) {
  /* |x| clamped on the bits to [2^-30, 200] (see f_mish_d); deep: |x| > 40,
     the exponent k joins E only for x < -40 (x > 40 gives D = 1 exactly) */
  uint32_t xb = fa_n32_bits(x);
  uint32_t ab = xb & 0x7FFFFFFFu;
  ab = ab < 0x43480000u ? ab : 0x43480000u;            /* 200 */
  ab = ab > 0x30800000u ? ab : 0x30800000u;            /* 2^-30 */
  float a = fa_n32_from_bits(ab | 0x80000000u);
  uint32_t dm = (uint32_t)((int32_t)(0x42200000u - ab) >> 31);   /* ~0 iff |x| > 40 */
  uint32_t dn = dm & (uint32_t)((int32_t)xb >> 31);    /* ~0 iff x < -40 */
  fa_n32_mexp2_t e = fa_n32_mexp2(a);
  uint32_t gb = fa_n32_bits(g);
  uint32_t ge = (gb >> 23) & 0xFFu;
  /* E + 127 = Eg + 127 (+ k where x < -40); E2 = max(E, -126) is the last
     product's, E1 = E - E2 goes into s where deep, clamped to [-60, 0]:
     T is then >= 27 2^E1 >= 2^-55 with normal low parts (below E = -186
     the clamp leaves T 2^-60 2^-126 < 2^-176, which flushes to 0 as the
     exact result < 2^-177 does, without an assist) */
  int32_t Eb = (int32_t)(ge > 1u ? ge : 1u) + (int32_t)(dn & (e.kb - 0x4B400000u));
  int32_t E2b = Eb > 1 ? Eb : 1;
  int32_t E1b = Eb + 126;
  E1b = E1b < 127 ? E1b : 127;
  E1b = E1b > 67 ? E1b : 67;
  uint32_t sb = (e.kb + 127u) << 23;                   /* 2^k */
  float s = fa_n32_from_bits((sb & ~dm) | (((uint32_t)E1b << 23) & dm));   /* 2^k, or 2^E1 where deep */
  fa_n32_mish_dcore_t c = fa_n32_mish_dcore(x, a, dm, e, s);
  /* (masks by integer arithmetic: selects on g-derived conditions stop
     gcc 12 from vectorizing a loop whose g is loop-invariant) */
  uint32_t gz = (uint32_t)((int32_t)(ge - 1u) >> 31);      /* ~0 iff g zero or subnormal */
  uint32_t gi = (uint32_t)((int32_t)(254u - ge) >> 31);    /* ~0 iff g inf or NaN */
  uint32_t g0 = (uint32_t)((int32_t)((gb & 0x7FFFFFFFu) - 1u) >> 31);   /* ~0 iff g = +-0 */
  float gmag = fa_n32_from_bits((gb & 0x007FFFFFu) | 0x3F800000u) - fa_n32_from_bits(gz & 0x3F800000u);   /* 1.f, or 0.f */
  float gm = fa_n32_from_bits(((fa_n32_bits(gmag) | (gb & 0x80000000u)) & ~gi) | (gb & gi));
  /* g = +-0, +-inf, NaN: the low product is replaced by -0, so that
     fma(g, Qh, -0) = g Qh exactly: +-0 with the sign of g D, +-inf (not
     inf - inf), NaN */
  uint32_t gsp = g0 | gi;
  /* (no override to 1 for x > 12: the pair is 1 + O(x e^-2x) there, and
     exactly 1 for x > 40, so g D rounds to g by itself) */
  float Qh = c.Ph * c.R;
  float Ql = FA_FMA(c.Ph, c.R, -Qh) + c.R * FA_FMA(c.Ph, c.rho + c.rho, c.Pl);
  float L = fa_n32_from_bits((fa_n32_bits(gm * Ql) & ~gsp) | (gsp & 0x80000000u));
  float res = FA_FMA(gm, Qh, L) * fa_n32_from_bits((uint32_t)E2b << 23);
  return x == x ? res : x;                  /* NaN x (the clamp made it finite) */
}

/* c expm1(x) for x <= 0 (elu's alpha, selu's scale * alpha), c = ch (1 +
 * rho), rho = cl/ch the relative low part of c's float pair: expm1(x) =
 * (s - 1) + s (m + ml) with s - 1 exact (k >= -24, as x >= -20: below, c e^x
 * < 2^-28 c, and -c rounds the same) and exp's rounding errors carried
 * (fa_n32_exp2); c (s - 1) as an exact product, the fma c s m + c (s - 1)
 * with its exact residual (P - h by Sterbenz), and the small terms added
 * last: one rounding.  x = -0.0 gives c * -0.0.  Above 0 the argument is 0
 * (the caller selects x there: a masked exp of a large positive argument ran
 * 40x slower).  Measured 0.79 ULP (alpha = 1), 0.97 (selu). */
FA_N32 float fa_n32_c_expm1(float x, float ch, float rho) {
    float a = x < -20.0f ? -20.0f : (x > 0.0f ? 0.0f : x);
    fa_n32_exp2_t e = fa_n32_exp2(a, 0u);
    float sm1 = e.s - 1.0f;
    float P = ch * sm1;
    float Pl = FA_FMA(ch, sm1, -P);
    float cs = ch * e.s;
    float h = FA_FMA(cs, e.m, P);
    float hl = FA_FMA(cs, e.m, P - h);
    float l = Pl + FA_FMA(cs, e.ml, FA_FMA(ch * rho, FA_FMA(e.s, e.m, sm1), hl));
    return x == 0.0f ? ch * x : h + l;
}

/* c exp(x) for x <= 0 as p c' (wh + wl) (elu' and selu' below 0), for
 * 2^-20 <= |c| <= 2^20: p = ch s, s = 2^k, taken as 2^(k + 96) below -40
 * (c' = 2^-96), so p and p wl stay normal wherever c e^x can be above
 * 2^-150 (x >= -118); 1 + m + ml + rho (1 + m) as wh + wl, 1 + m by
 * Fast2Sum. */
FA_N32 fa_n32_pw_t fa_n32_c_exp_pw(float x, float ch, float rho) {
    float a = x < -118.0f ? -118.0f : (x > 0.0f ? 0.0f : x);
    int deep = a < -40.0f;
    fa_n32_exp2_t e = fa_n32_exp2(a, deep ? 0xFFFFFFA0u : 0u);
    fa_n32_pw_t f;
    f.p = ch * e.s;
    f.c = deep ? 0x1p-96f : 1.0f;
    f.wh = 1.0f + e.m;
    f.wl = ((1.0f - f.wh) + e.m) + FA_FMA(rho, f.wh, e.ml);
    return f;
}

/* elu with alpha = ch (1 + rho), 2^-20 <= |alpha| <= 2^20 (the kernel loop
 * checks alpha once); elu'(0) = alpha. */
FA_N32 float fa_n32_elu(float x, float ch, float rho) {
    float neg = fa_n32_c_expm1(x, ch, rho);
    return x > 0.0f ? x : neg;
}
FA_N32 float fa_n32_elu_derivative(float x, float ch, float rho) {
    float neg = fa_n32_pw_value(fa_n32_c_exp_pw(x, ch, rho));
    return x > 0.0f ? 1.0f : neg;
}
FA_N32 float fa_n32_elu_backward(float g, float x, float ch, float rho) {
    float neg = fa_n32_pw_times(g, fa_n32_c_exp_pw(x, ch, rho));
    return x > 0.0f ? g : neg;
}
FA_N32 int fa_n32_elu_bad(float x, float ch, float rho) { return x >= -60.0f ? 0 : 1; }

/* selu: scale x above 0 (scale as a float pair, one rounding), scale alpha
 * expm1(x) below. */
#define FA_N32_SELU_SCALE_HI 0x1.0cfabep+0f
#define FA_N32_SELU_SCALE_LO -0x1.2adddap-25f
#define FA_N32_SELU_SA_HI 0x1.c212ccp+0f
#define FA_N32_SELU_SA_RHO 0x1.c74dbep-27f      /* SA_LO / SA_HI */
FA_N32 float fa_n32_selu(float x) {
    float neg = fa_n32_c_expm1(x, FA_N32_SELU_SA_HI, FA_N32_SELU_SA_RHO);
    float pos = FA_FMA(x, FA_N32_SELU_SCALE_HI, x * FA_N32_SELU_SCALE_LO);
    pos = pos == pos ? pos : x * FA_N32_SELU_SCALE_HI;   /* x = inf: inf - inf */
    return x > 0.0f ? pos : neg;
}
FA_N32 float fa_n32_selu_derivative(float x) {
    float neg = fa_n32_pw_value(fa_n32_c_exp_pw(x, FA_N32_SELU_SA_HI, FA_N32_SELU_SA_RHO));
    return x > 0.0f ? FA_N32_SELU_SCALE_HI : neg;
}
FA_N32 float fa_n32_selu_backward(float g, float x) {
    float neg = fa_n32_pw_times(g, fa_n32_c_exp_pw(x, FA_N32_SELU_SA_HI, FA_N32_SELU_SA_RHO));
    float pos = FA_FMA(g, FA_N32_SELU_SCALE_HI, g * FA_N32_SELU_SCALE_LO);
    /* (g = -0: the fma's addend is +0, the sum +0; scale g is -0) */
    return x > 0.0f ? (g == 0.0f ? g : pos) : neg;
}
FA_N32 int fa_n32_selu_bad(float x) { return x >= -60.0f ? 0 : 1; }

/* gelu(x) = x Phi(x) (approximate='none'); tools/fit_native32.py
 * reproduces the polynomials.  Measured 1.24 ULP.
 * Two paths, both computed, selected by |x| <= 0.65:
 * - small: Phi(x) = 1/2 + x E(h), h = -x^2/2, E a degree-4 polynomial, flat
 * (0.37..0.40) and rounded once (<= 2^-26 abs; |x E| / Phi <= 0.94 here);
 * Phi as a pair (Fh, Fl), 0.5 - Fh exact (Fh in [1/4, 3/4]), y = x (Fh + Fl)
 * rounded once.  Measured <= 0.95 ULP.
 * - Mills: a = |x| (clamped to 14.6: gelu(-14.6) < 2^-150 / 4),
 * a Phi(-a) = a t G(t) e^{-a^2/2},  t = 1/(1 + a),
 * G = R(a)(1 + a)/sqrt(2 pi) (R the Mills ratio), flat in [0.42, 0.52], so the
 * rounding of its variable and of its inner Horner steps is damped; a t, G and
 * their product are carried as pairs, the rounding of 1/(1 + a) is corrected
 * by its exact residual, e^{-a^2/2} comes from the exact pair -a^2/2 = h + hl
 * and 1 + m is never rounded: a Phi(-a) 2^96 = W + acc, W exact, the small
 * terms summed into acc (one rounding at |acc| <= 0.42 W), then W + acc (one
 * rounding).  x < 0: y = -a Phi(-a); x > 0: y = x - a Phi(-a), where
 * a Phi(-a) <= 0.35 y damps its error.
 * The 2^96 keeps every intermediate normal for all a <= 14.6 (a subnormal
 * result costs a microcode assist of ~150 cycles per vector on this CPU);
 * subnormal results are rounded by an FMA on a normal grid (see yneg). */
#define FA_N32_GELU_AS 0.65f
#define FA_N32_GELU_AMAX 14.6f
FA_N32 float fa_n32_gelu_erf(float x) {
  float a = fabsf(x);
  /* clamp as an integer min on the bits (a float select lets gcc specialise
     everything downstream for the constant); NaN -> 14.6 here, carried to the
     result by x in ypos */
  uint32_t ab = fa_n32_bits(a);
  uint32_t abc = ab < 0x41699999u ? ab : 0x41699999u;
  /* and from below at 2^-30 (only the small path uses |x| < 0.65, through h,
     where 2^-30 instead of |x| changes E by 2^-62 relative): keeps h, hl and the
     Mills pairs normal for tiny x (no microcode assists) */
  float ac = fa_n32_from_bits(abc > 0x30800000u ? abc : 0x30800000u);
  /* -ac^2/2 = h + hl exactly */
  float hx = -0.5f * ac;
  float h = hx * ac;
  float hl = FA_FMA(hx, ac, -h);
  /* exp(h + hl) = s (1 + r1 + rl + r^2 P(r)) 2^-96, r1 = h - k ln2_hi exact,
     rl = hl - k ln2_lo tiny: the reduced argument is never rounded where it
     matters (r = r1 + rl only feeds r^2 P); P's error 0.06 * 2^-24 */
  float kb = FA_FMA(h, 0x1.715476p+0f, FA_N32_SHIFT);
  float k = kb - FA_N32_SHIFT;
  float r1 = FA_FMA(-k, 0x1.62e4p-1f, h);
  float rl = FA_FMA(-k, 0x1.7f7d1cp-20f, hl);
  float r = r1 + rl;
  float p = 0x1.6a24p-10f;
  p = FA_FMA(p, r, 0x1.123ap-7f);
  p = FA_FMA(p, r, 0x1.5558f2p-5f);
  p = FA_FMA(p, r, 0x1.555492p-3f);
  p = FA_FMA(p, r, 0x1.fffffcp-2f);
  float r2 = r * r;
  float s = fa_n32_from_bits((fa_n32_bits(kb) + 127u + 96u) << 23);   /* 2^(k + 96) */
  /* t = RN(1/(1 + a)), 1 + a = dh + dl exact, 1/(1 + a) = t (1 + eps) exactly
     enough (eps from the exact residual of the division) */
  float dh = 1.0f + ac;
  float dl = (1.0f - dh) + ac;
  float t = 1.0f / dh;
  float eps = FA_FMA(-t, dl, FA_FMA(-t, dh, 1.0f));
  float v = t - 0x1.5a110ep-2f;
  float q = -0x1.676e98p+4f;
  q = FA_FMA(q, v, 0x1.00648p+2f);
  q = FA_FMA(q, v, 0x1.0b5d7ep+3f);
  q = FA_FMA(q, v, -0x1.3a4420p+2f);
  q = FA_FMA(q, v, 0x1.959396p-1f);
  q = FA_FMA(q, v, 0x1.e24c62p-1f);
  q = FA_FMA(q, v, -0x1.1c1e9ap+0f);
  q = FA_FMA(q, v, 0x1.f63f32p-2f);
  q = FA_FMA(q, v, 0x1.71d2a6p-3f);
  q = FA_FMA(q, v, -0x1.c60e08p-2f);
  q = FA_FMA(q, v, 0x1.6a4d1ep-3f);
  float Gh = FA_FMA(q, v, 0x1.02a0d2p-1f);
  float Gl = FA_FMA(q, v, 0x1.02a0d2p-1f - Gh);     /* G0 - Gh exact (Sterbenz) */
  /* G was evaluated at t, not 1/(1 + a): a t (1 + eps) G(t (1 + eps)) =
     a t G(t) (1 + K eps), K = 1 + t G'/G in [0.994, 1.133] taken as 1.063
     (<= 0.07 |eps| <= 0.15 * 2^-24); a t (1 + K eps) = Ph + Pl */
  float Ph = ac * t;
  float Pl = FA_FMA(ac, t, -Ph);
  Pl = FA_FMA(Ph, eps * 1.063f, Pl);
  float Zh = Ph * Gh;
  float Zl = FA_FMA(Ph, Gh, -Zh);
  float low = FA_FMA(Ph, Gl, FA_FMA(Pl, Gh, Zl));
  /* a Phi(-a) 2^96 = (W + L)(1 + m), W = Zh s exact, L = low s (L m taken
     as L r) */
  float W = Zh * s;
  float L = low * s;
  float acc = FA_FMA(L, r, L);
  acc = FA_FMA(W * r2, p, acc);
  acc = FA_FMA(W, rl, acc);
  acc = FA_FMA(W, r1, acc);
  float T = W + acc;
  /* -T 2^-96 without a subnormal FP result: where it is below 2^-126, round it
     on the subnormal grid as -T 2^-96 - 2^-126 (normal, spacing 2^-149) and take
     the 2^-126 off the bits (T is already rounded to 24 bits: <= 0.25 ULP extra
     there); below 2^-150 this gives -0 */
  uint32_t sub = (uint32_t)((int32_t)(fa_n32_bits(T) - 0x30800000u) >> 31);   /* ~0 iff 0 <= T < 2^-30 */
  /* (a select between constants here is split by gcc into two FMAs, one with the
     subnormal product; the mask arithmetic keeps it a single FMA) */
  float z = FA_FMA(T, -0x1p-96f, fa_n32_from_bits(sub & 0x80800000u));
  float yneg = fa_n32_from_bits(fa_n32_bits(z) - (sub & 0x00800000u));
  float ypos = FA_FMA(T, -0x1p-96f, x);             /* x, not a: NaN keeps its sign */
  /* small |x|: Phi(x) = 1/2 + x E(h), E(w + TC), rounded once */
  float w = h - -0x1.c5a99p-4f;
  float qe = 0x1.ba837ap-10f;
  qe = FA_FMA(qe, w, 0x1.1dc48cp-7f);
  qe = FA_FMA(qe, w, 0x1.2e0a0cp-5f);
  qe = FA_FMA(qe, w, 0x1.fde23cp-4f);
  float Eh = FA_FMA(qe, w, 0x1.89ec4ap-2f);
  float Fh = FA_FMA(x, Eh, 0.5f);
  /* Fl ~ 0.4 x; for |x| < 2^-40 it is dropped (x Fl ~ 0.4 x^2 is far below half
     an ULP of x/2 there, and would be subnormal for |x| in [2^-80, 2^-63]) */
  float Fl = FA_FMA(ab < 0x2b800000u ? 0.0f : x, Eh, 0.5f - Fh);
  /* |x| < 2^-125: 0.5 x is a tie on the subnormal grid; the exact x^2 E > 0
     breaks it upwards: xb = x + |x - 2 RN(x/2)| makes 0.5 xb exact */
  float xb = x + fabsf(FA_FMA(-2.0f, 0.5f * x, x));
  /* copysign: gelu(-0) = -0 and gelu(-2^-149) = -0, as the sign of x Phi(x) */
  float ysmall = copysignf(FA_FMA(xb, Fh, x * Fl), x);
  return a <= FA_N32_GELU_AS ? ysmall : (x < 0.0f ? yneg : ypos);
}

/* gelu'(x) = Phi(x) + x phi(x) (approximate='none').  Measured 2.28 ULP
 * outside the zero's window, 0.021 eps inside it.
 * With a = |x|, R the Mills ratio and Z0 = 0.75179... the zero of R(a) - a:
 * x < 0: gelu'(x) = -(a - Z0) V(a) phi(a),   x > 0: gelu'(x) = 1 + (a - Z0) V(a) phi(a),
 * V(a) = (a - R(a))/(a - Z0) smooth and flat (5/3 at 0 down to 1), fitted (as
 * V/sqrt(2 pi), degree 12) in t = 1/(1 + a) over a in [0, 14.6] and evaluated as
 * a pair; the variable's rounding (t: <= 2 * 2^-24 relative) is damped by
 * |t V'/V| <= 0.27.
 * a - Z0 = (a - Z0H) - Z0L, Z0H of 12 bits: a - Z0H is exact for a >= 0.376, so
 * the zero factor keeps its relative accuracy right up to the zero, and
 * (a - Z0) V is rounded once.
 * phi(a) as in fa_n32_gelu_erf: exp of the exact pair -a^2/2, 1 + m never rounded,
 * scaled by 2^96 so that no intermediate is subnormal; a result of x < 0 below
 * 2^-126 is rounded on a normal grid (see yneg); for x > 0, 1 + D rounds once
 * (|D| <= 1/2, D's own rounding <= 1/8 ULP of the result). */
typedef struct { float D, Dl; } fa_n32_gelu_d_t;
FA_N32 fa_n32_gelu_d_t fa_n32_gelu_erf_dcore(float x) {
  uint32_t ab = fa_n32_bits(x) & 0x7fffffffu;
  uint32_t abc = ab < 0x41699999u ? ab : 0x41699999u;       /* min(a, 14.6) as in fa_n32_gelu_erf */
  /* max(., 2^-30): gelu'(x) rounds to 1/2 for |x| <= 2^-30 either way, and h, hl stay
     normal (no microcode assists for tiny x) */
  float ac = fa_n32_from_bits(abc > 0x30800000u ? abc : 0x30800000u);
  float hx = -0.5f * ac;
  float h = hx * ac;
  float hl = FA_FMA(hx, ac, -h);
  float kb = FA_FMA(h, 0x1.715476p+0f, FA_N32_SHIFT);
  float k = kb - FA_N32_SHIFT;
  float r1 = FA_FMA(-k, 0x1.62e4p-1f, h);
  float rl = FA_FMA(-k, 0x1.7f7d1cp-20f, hl);
  float r = r1 + rl;
  float p = 0x1.6a24p-10f;
  p = FA_FMA(p, r, 0x1.123ap-7f);
  p = FA_FMA(p, r, 0x1.5558f2p-5f);
  p = FA_FMA(p, r, 0x1.555492p-3f);
  p = FA_FMA(p, r, 0x1.fffffcp-2f);
  float s = fa_n32_from_bits((fa_n32_bits(kb) + 127u + 96u) << 23);   /* 2^(k + 96): e^{h + hl} = s (1 + r1 + rl + r^2 P) 2^-96 */
  /* t from the unclamped |x| (a NaN keeps its sign through -x): NaN propagates
     through V; |x| > 14.6 gives t < 1/15.6, a mild extrapolation of V that only
     scales a result far below 2^-150 (or 1 + that) */
  float t = 1.0f / (1.0f + fa_n32_from_bits(x < 0.0f ? ab : fa_n32_bits(x)));
  float v = t - 0x1.10656ap-1f;
  float q = 0x1.754cd2p-2f;
  q = FA_FMA(q, v, -0x1.bb103ep-4f);
  q = FA_FMA(q, v, -0x1.2f2186p-2f);
  q = FA_FMA(q, v, 0x1.a28444p-3f);
  q = FA_FMA(q, v, -0x1.4e9634p-5f);
  q = FA_FMA(q, v, -0x1.4adab4p-6f);
  q = FA_FMA(q, v, 0x1.0f3720p-4f);
  q = FA_FMA(q, v, -0x1.7bb3a8p-4f);
  q = FA_FMA(q, v, 0x1.2f6c6cp-4f);
  q = FA_FMA(q, v, -0x1.5d50c2p-8f);
  q = FA_FMA(q, v, -0x1.c734b6p-4f);
  q = FA_FMA(q, v, 0x1.132f20p-2f);
  float Vh = FA_FMA(q, v, 0x1.1fd1p-1f);
  float Vl = FA_FMA(q, v, 0x1.1fd1p-1f - Vh);
  float dA = ac - 0x1.80ep-1f;
  float P = FA_FMA(dA, Vh, FA_FMA(dA, Vl, -0x1.5a32fep-14f * Vh));  /* (a - Z0) V/sqrt(2 pi) */
  float Y = P * s;
  float acc = FA_FMA(Y, r1, FA_FMA(Y, rl, (Y * (r * r)) * p));
  fa_n32_gelu_d_t d;
  d.D = Y + acc;                                   /* (a - Z0) V phi(a) 2^96 */
  d.Dl = (Y - d.D) + acc;                          /* |acc| < |Y|: Fast2Sum */
  return d;
}

FA_N32 float fa_n32_gelu_erf_derivative(float x) {
  float D = fa_n32_gelu_erf_dcore(x).D;
  /* -D 2^-96 without a subnormal intermediate (a subnormal result costs a
     ~150-cycle microcode assist per vector): where it is below 2^-126, round it on
     the subnormal grid as -D 2^-96 - 2^-126 (normal, spacing 2^-149) and remove
     the 2^-126 from the bits; results below 2^-150 come out as -0 */
  /* ~0 iff 0 <= D < 2^-30 (D < 0, for a < Z0, is large; >> 1 keeps the sign test unsigned) */
  uint32_t sub = (uint32_t)((int32_t)((fa_n32_bits(D) >> 1) - (0x30800000u >> 1)) >> 31);
  /* (a select between constants here is split by gcc into two FMAs, one with the
     subnormal product; the mask arithmetic keeps it a single FMA) */
  float z = FA_FMA(D, -0x1p-96f, fa_n32_from_bits(sub & 0x80800000u));
  float yneg = fa_n32_from_bits(fa_n32_bits(z) - (sub & 0x00800000u));
  float ypos = FA_FMA(D, 0x1p-96f, 1.0f);
  return x < 0.0f ? yneg : ypos;
}

/* g * gelu'(x), fused, native float32, for any float g and x.
   gelu'(x) = F 2^k, F an exact-ish float pair (Fh + Fl), k the exp reduction's exponent:
     x < 0: F = -(a - Z0) V(a) phi(a) 2^-k      (a = |x|, as in k_gelu_d.h)
     x > 0: F = 2^-k + (a - Z0) V(a) phi(a) 2^-k  (= 2^-k gelu'(x), 1 + D moved to F's scale)
   and g = gn 2^(eg - 127), gn = g 2^(127 - eg) in [1, 4) (a power of two off the bits).
   gn F is rounded once (Mr = fma(gn, Fh, gn Fl)); Mr 2^(eg - 127 + k) is then applied as
   T = Mr 2^E1 (exact, normal) and T 2^E2 (one rounding only where the result is subnormal,
   done on a normal grid, see below), so nothing in between under- or overflows for any
   finite g (|g| up to FLT_MAX, down to the subnormals) and x down to -19.75, below which
   g gelu'(x) < FLT_MAX 2^-278 rounds to 0 for every finite g.
   Error: F's own error (V fit 2^-28.4, t's two roundings damped by |t V'/V| <= 0.27, P's
   single rounding, for a < 0.376 the rounding of a - Z0H, exp ~0.1 u: measured <= 2.13 u
   relative) plus Mr's rounding (0.5 ULP; measured: y is within 0.500 ULP of g F 2^k for
   normal results, 0.75 for subnormal ones, rounded twice); the final scaling is exact for
   normal results.  Measured max 2.55 ULP (random g, x), 2.40 over all 2^32 x for 12
   fixed g; 0.022 eps |g| near gelu''s zero.
   Specials as float32(g * (double) gelu'(x)) of fastact: inf g times a nonzero gelu'
   -> +-inf, times fastact's double zero (x <= -38.67477, where its exp underflows) -> NaN;
   NaN in g or x -> NaN; the sign of a zero result is sign(g) sign(gelu'(x)). */
#define FA_N32_GB_AMAXN 0x419e0000u   /* 19.75: for x < -19.75, |g gelu'(x)| < 2^128 2^-278.4 < 2^-150 */
#define FA_N32_GB_AMAXP 0x40e00000u   /* 7: for x >= 7, gelu'(x) - 1 < 2^-33, g gelu'(x) rounds to g */
#define FA_N32_GB_XUF  -0x1.3565ecp+5f /* -38.674767: fastact's double gelu'(x) is -0 below this */
typedef struct { float h, l; int32_t k; } fa_n32_gelu_bw_t;   /* gelu'(x) = (h + l) 2^k */
FA_N32 fa_n32_gelu_bw_t fa_n32_gelu_erf_bw_pair(float x) {
  uint32_t xb = fa_n32_bits(x);
  uint32_t ab = xb & 0x7fffffffu;
  /* the sign bit, not x < 0: -0 (gelu'(-0) = 1/2 either way) and a NaN with the sign
     bit set take the x < 0 branch, consistent with the sign flip of P below */
  int neg = (int32_t)xb < 0;
  /* a clamped (integer min on the bits: a float select with a constant arm lets gcc
     specialise everything downstream), and from below at 2^-30 (gelu' is 1/2 to
     2^-31 relative there, and h, hl, r^2 stay normal) */
  uint32_t lim = neg ? FA_N32_GB_AMAXN : FA_N32_GB_AMAXP;
  uint32_t abc = ab < lim ? ab : lim;
  float ac = fa_n32_from_bits(abc > 0x30800000u ? abc : 0x30800000u);
  /* e^{-a^2/2} = 2^k (1 + r1 + rl + r^2 P(r)), -a^2/2 = h + hl exactly; k >= -283:
     k ln2_hi is exact (15 x 9 bits), r1 exact, rl tiny */
  float hx = -0.5f * ac;
  float h = hx * ac;
  float hl = FA_FMA(hx, ac, -h);
  float kb = FA_FMA(h, 0x1.715476p+0f, FA_N32_SHIFT);
  float k = kb - FA_N32_SHIFT;
  float r1 = FA_FMA(-k, 0x1.62e4p-1f, h);
  float rl = FA_FMA(-k, 0x1.7f7d1cp-20f, hl);
  float r = r1 + rl;
  float p = 0x1.6a24p-10f;
  p = FA_FMA(p, r, 0x1.123ap-7f);
  p = FA_FMA(p, r, 0x1.5558f2p-5f);
  p = FA_FMA(p, r, 0x1.555492p-3f);
  p = FA_FMA(p, r, 0x1.fffffcp-2f);
  /* V/sqrt(2 pi), degree 13 in t = 1/(1 + |x|) over a in [0, 19.75] (tools/fit_native.py, 2^-28.4);
     |x| unclamped so that a NaN reaches the result (its sign through P's sign flip);
     beyond the clamps V is extrapolated, which only scales a result that rounds to
     +-0 (or to g) */
  float t = 1.0f / (1.0f + fa_n32_from_bits(ab));
  float v = t - 0x1.0c476ap-1f;
  float q = -0x1.0253fap-1f;
  q = FA_FMA(q, v, 0x1.7bc47cp-2f);
  q = FA_FMA(q, v, 0x1.ae938ap-3f);
  q = FA_FMA(q, v, -0x1.24e7cep-2f);
  q = FA_FMA(q, v, 0x1.100402p-3f);
  q = FA_FMA(q, v, -0x1.d1f83cp-5f);
  q = FA_FMA(q, v, -0x1.4326f8p-8f);
  q = FA_FMA(q, v, 0x1.13f95cp-4f);
  q = FA_FMA(q, v, -0x1.8bf274p-4f);
  q = FA_FMA(q, v, 0x1.3eeccap-4f);
  q = FA_FMA(q, v, -0x1.fc317p-8f);
  q = FA_FMA(q, v, -0x1.c68f24p-4f);
  q = FA_FMA(q, v, 0x1.150352p-2f);
  float Vh = FA_FMA(q, v, 0x1.1eb4dp-1f);
  float Vl = FA_FMA(q, v, 0x1.1eb4dp-1f - Vh);          /* V0 - Vh exact (Sterbenz) */
  /* (a - Z0) V, a - Z0H exact for a >= 0.376, rounded once; sign flipped for x < 0 */
  float dA = ac - 0x1.80ep-1f;
  float P = FA_FMA(dA, Vh, FA_FMA(dA, Vl, -0x1.5a32fep-14f * Vh));
  P = fa_n32_from_bits(fa_n32_bits(P) ^ (xb & 0x80000000u));
  /* D = P (1 + m) = Dh + Dl: the correction c = P m (|c| <= 0.42 |P|) rounded once,
     then Fast2Sum */
  float c = FA_FMA(P, r1, P * FA_FMA(r * r, p, rl));
  float Dh = P + c;
  float Dl = (P - Dh) + c;
  /* F = o + D: o = 2^-k for x > 0 (k >= -36 there; |D| <= o/2, Fast2Sum, o - Fh exact),
     -0 for x < 0 (then Fh = Dh, Fl = Dl) */
  float o = fa_n32_from_bits(neg ? 0x80000000u : (0x4B400000u + 127u - fa_n32_bits(kb)) << 23);
  float Fh = o + Dh;
  float Fl = ((o - Fh) + Dh) + Dl;
  fa_n32_gelu_bw_t F; F.h = Fh; F.l = Fl; F.k = (int32_t)(fa_n32_bits(kb) - 0x4B400000u);
  return F;
}
/* g F 2^k rounded once (see the top) */
FA_N32 float fa_n32_gelu_erf_backward(float g, float x) {
  fa_n32_gelu_bw_t F = fa_n32_gelu_erf_bw_pair(x);
  float Fh = F.h, Fl = F.l;
  /* gn = g 2^(127 - ec), ec = min(eg, 253): [1, 2) (or [2, 4) at eg = 254, (0, 1) for
     subnormal g, exact); inf and NaN pass through 2^-126 */
  uint32_t gb = fa_n32_bits(g);
  uint32_t ge = gb & 0x7f800000u;
  uint32_t gec = ge < 0x7e800000u ? ge : 0x7e800000u;              /* ec << 23, ec = min(eg, 253) */
  float gn = g * fa_n32_from_bits(0x7f000000u - gec);                         /* g 2^(127 - ec) */
  /* one rounding of gn F: gn Fl's own rounding is u of u.  Fl's factor is gn clamped
     to [-4, 4], which changes nothing for finite g (|gn| < 4) and keeps an infinite g
     from giving inf * 0 or inf - inf (Fh is never 0: inf g gives +-inf) */
  float gl = gn < 4.0f ? gn : 4.0f;
  gl = gl > -4.0f ? gl : -4.0f;
  float Mr = FA_FMA(gn, Fh, gl * Fl);
  /* y = Mr 2^E, E = ec - 127 + k in [-410, 126]; |Mr| in [2^-28, 2^38.2] for normal g
     (2^-28: the float nearest Z0; 2^38.2: x > 0, F ~ 2^-k <= 2^36, where E >= -163);
     subnormal g has E <= -127.  E <= -80: T = Mr 2^(E + 80), exact and normal
     (E clamped at -190: the result is then below 2^-184), y = T 2^-80; E > -80:
     T = Mr, y = T 2^E (exact, or overflow as RN would).  Eb = E + 207 in [17, 333],
     handled as Eb << 23 (unsigned: < 2^32) */
  int32_t Eb = (int32_t)(gec >> 23) + F.k + 80;
  uint32_t Es = (uint32_t)(Eb > 17 ? Eb : 17) << 23;
  uint32_t E1s = Es < (127u << 23) ? Es : (127u << 23);             /* 2^min(E + 80, 0) */
  uint32_t E2s = (Es > (127u << 23) ? Es : (127u << 23)) - (80u << 23);   /* 2^max(E, -80) */
  float T = Mr * fa_n32_from_bits(E1s);
  /* a result below 2^-126 (|T| < 2^-46, only in the E <= -80 branch) is rounded on the
     subnormal grid as T 2^-80 +- 2^-126 (normal, spacing 2^-149), and the 2^-126 taken
     off the bits: no subnormal intermediate (a microcode assist of ~150 cycles per
     vector); below 2^-150 this gives +-0.  The sign is sign(g) sign(Fh) (Fh is never 0),
     not T's: T's is wrong for g = +-0 when Fl and Fh differ in sign */
  uint32_t sub = (fa_n32_bits(T) & 0x7fffffffu) < 0x28800000u ? 0xffffffffu : 0u;
  float C = fa_n32_from_bits(sub & (((gb ^ fa_n32_bits(Fh)) & 0x80000000u) | 0x00800000u));
  float z = FA_FMA(T, fa_n32_from_bits(E2s), C);
  float y = fa_n32_from_bits(fa_n32_bits(z) - (sub & 0x00800000u));
  /* fastact's double gelu'(x) is -0 here: g (-0) (and inf (-0) = NaN) */
  return x < FA_N32_GB_XUF ? g * -0.0f : y;
}

/* The backward takes every finite g and x (NaN and inf x included); the
 * loop's flag pass only sends non-finite g to the double path. */
FA_N32 int fa_n32_gelu_erf_bad(float x) { (void) x; return 0; }

/* GEGLU (gelu gate) float32, native: for any gate and finite g, value (|g|, |value| up to
   FLT_MAX, down to the subnormals; g * value may overflow float):
     fa_n32_geglu_fwd(gate, value)          = gelu(gate) value            rounded once
     fa_n32_geglu_grad_value(g, gate)       = g gelu(gate)                rounded once (= fwd(gate, g))
     fa_n32_geglu_grad_gate(g, gate, value) = g value gelu'(gate)         rounded once
     f_geglu_bwd(g, gate, value)       both gradients from one evaluation of the pairs.
   One evaluation (fa_n32_gg_pairs) gives, with a = |gate| and k the exp reduction's exponent,
     Phi(gate) = (ph + pl) 2^k,   gelu'(gate) = (dh + dl) 2^k   (float pairs, exact-ish),
   and every result is a product u v (h + l) 2^k (u v = gate value for gelu(gate) value =
   gate value Phi(gate)), rounded once by fa_n32_gg_finish3: u and v are brought to [1, 4) by
   powers of two off their bits, their product is an exact pair, the triple product is
   rounded once, and 2^(eu + ev + k) is applied in two exact steps, the subnormal results
   rounded on a normal grid (no subnormal intermediate where the result is normal, no
   overflow where it is finite).
   Pairs (the ideas of fa_n32_gelu_erf, its derivative and backward):
   - gelu': x < 0, -(a - Z0) V(a) phi(a); x > 0, 1 + (a - Z0) V(a) phi(a) (the 1 as 2^-k at
     the pair's scale); V fitted (degree 13, 2^-28.3) on a in [0, 23.9]: g value gelu'(x)
     needs a down to 23.82 for |g value| up to 2^256.
   - Phi: |x| <= 0.65, 1/2 + x E(-x^2/2) (E of ../k_gelu.h); else Phi(-a) = t G(t) e^{-a^2/2}
     (t = 1/(1 + a) with the exact residual of the division folded in through
     K = 1 + t G'/G ~ 1.063; G degree 11, 2^-26.3, on [0.65, 23.9]) and Phi(a) = 1 - Phi(-a).
   a is clamped to 23.9 for x < 0 (g value gelu'(x) < 2^256 2^-406, value gelu(x) < 2^-150
   below) and to 7 for x > 0 (Phi(-7), gelu'(7) - 1 < 2^-33: rounding to the product of the
   other factors).
   Measured (AVX-512 = AVX2 bits): fwd <= 1.37 ULP, grad_value <= 1.44 ULP, grad_gate
   <= 2.47 ULP (0.021 eps |g value| near gelu''s zero).
   Specials: NaN gate -> NaN; gate = +inf: gelu = inf, gelu' = 1; -inf: 0 with the sign of
   -(value) (g value) as fastact's double kernels (gelu(-inf) = -0, gelu'(-inf) = -0).
   g and value must be finite (the caller sends non-finite ones to the double path, as it
   does today); g value overflowing float is fine. */
#define FA_N32_GG_AMAXN 23.9f
#define FA_N32_GG_AMAXP 7.0f
typedef struct { float ph, pl, dh, dl; int32_t k; } fa_n32_gg_pairs_t;
FA_N32 fa_n32_gg_pairs_t fa_n32_gg_pairs(float x) {
  uint32_t xb = fa_n32_bits(x);
  uint32_t sgn = xb & 0x80000000u;
  /* the sign bit (not x < 0): -0 and -NaN take the x < 0 forms (both give 1/2 at -0) */
  int neg = (int32_t)xb < 0;
  /* a clamped as an integer min on the bits (a float min with a constant lets gcc
     specialise everything downstream for the constant), and from below at 2^-30 (every
     product of the exp part stays normal; Phi and gelu' move by < 2^-31 relative; gate
     itself, not a, is the factor of gelu(gate)).  A NaN becomes the clamp here: it reaches
     gelu(gate) v through the factor gate, and g v gelu'(gate) through a final select. */
  uint32_t ab = xb & 0x7fffffffu;
  uint32_t lim = neg ? 0x41bf3333u : 0x40e00000u;      /* 23.9, 7 */
  uint32_t abc = ab < lim ? ab : lim;
  float ac = fa_n32_from_bits(abc > 0x30800000u ? abc : 0x30800000u);
  /* e^{-a^2/2} = 2^k (1 + r1 + w), -a^2/2 = h + hl exact, r1 exact, w = rl + r^2 P(r)
     (k ln2_hi exact for |k| < 512: k >= -413 here) */
  float hx = -0.5f * ac;
  float h = hx * ac;
  float hl = FA_FMA(hx, ac, -h);
  float kb = FA_FMA(h, 0x1.715476p+0f, FA_N32_SHIFT);
  float k = kb - FA_N32_SHIFT;
  float r1 = FA_FMA(-k, 0x1.62e4p-1f, h);
  float rl = FA_FMA(-k, 0x1.7f7d1cp-20f, hl);
  float r = r1 + rl;
  float p = 0x1.6a24p-10f;
  p = FA_FMA(p, r, 0x1.123ap-7f);
  p = FA_FMA(p, r, 0x1.5558f2p-5f);
  p = FA_FMA(p, r, 0x1.555492p-3f);
  p = FA_FMA(p, r, 0x1.fffffcp-2f);
  float w = FA_FMA(r * r, p, rl);
  /* the 1 of x > 0 at the pairs' scale: 2^-k (k >= -36 there); -0 for x < 0 */
  float o = fa_n32_from_bits(neg ? 0x80000000u : (0x4B400000u + 127u - fa_n32_bits(kb)) << 23);
  /* t = RN(1/(1 + a)), 1/(1 + a) = t (1 + eps), 1 + a = dh + dl exact */
  float dh = 1.0f + ac;
  float dl = (1.0f - dh) + ac;
  float t = 1.0f / dh;
  float eps = FA_FMA(-t, dl, FA_FMA(-t, dh, 1.0f));
  fa_n32_gg_pairs_t F;
  /* gelu': V/sqrt(2 pi) at t (t's error, <= 2 u, damped by |t V'/V| <= 0.27) */
  float v = t - 0x1.0a5016p-1f;
  float q = -0x1.040a62p-1f;
  q = FA_FMA(q, v, 0x1.967f3p-2f);
  q = FA_FMA(q, v, 0x1.8e6b4ep-3f);
  q = FA_FMA(q, v, -0x1.2e1ffcp-2f);
  q = FA_FMA(q, v, 0x1.26013p-3f);
  q = FA_FMA(q, v, -0x1.f8623ep-5f);
  q = FA_FMA(q, v, -0x1.933554p-9f);
  q = FA_FMA(q, v, 0x1.146382p-4f);
  q = FA_FMA(q, v, -0x1.925046p-4f);
  q = FA_FMA(q, v, 0x1.4696d4p-4f);
  q = FA_FMA(q, v, -0x1.25c224p-7f);
  q = FA_FMA(q, v, -0x1.c62a3p-4f);
  q = FA_FMA(q, v, 0x1.15e2a8p-2f);
  float Vh = FA_FMA(q, v, 0x1.1e2c7p-1f);
  float Vl = FA_FMA(q, v, 0x1.1e2c7p-1f - Vh);
  float dA = ac - 0x1.80ep-1f;                   /* exact for a >= 0.376 */
  float P = FA_FMA(dA, Vh, FA_FMA(dA, Vl, -0x1.5a32fep-14f * Vh));
  P = fa_n32_from_bits(fa_n32_bits(P) ^ sgn);
  float c = FA_FMA(P, r1, P * w);
  float Dh = P + c;
  float Dl = (P - Dh) + c;                       /* |c| <= 0.42 |P|: Fast2Sum */
  F.dh = o + Dh;                                 /* x > 0: |D| <= o/2, Fast2Sum */
  F.dl = ((o - F.dh) + Dh) + Dl;
  /* Phi, |x| > 0.65: Q = t (1 + K eps) G(t) (1 + r1 + w), with the sign of -x (so that
     x > 0 gives o - Q = 2^-k Phi(a), x < 0 gives Q = 2^-k Phi(-a)) */
  float u = t - 0x1.4dce12p-2f;
  float qg = -0x1.b58034p+4f;
  qg = FA_FMA(qg, u, 0x1.fac398p+2f);
  qg = FA_FMA(qg, u, 0x1.12db5cp+3f);
  qg = FA_FMA(qg, u, -0x1.7bcde6p+2f);
  qg = FA_FMA(qg, u, 0x1.3f05bp+0f);
  qg = FA_FMA(qg, u, 0x1.ba0e2p-1f);
  qg = FA_FMA(qg, u, -0x1.2c4904p+0f);
  qg = FA_FMA(qg, u, 0x1.1e0e9ep-1f);
  qg = FA_FMA(qg, u, 0x1.3e5944p-3f);
  qg = FA_FMA(qg, u, -0x1.cc3e82p-2f);
  qg = FA_FMA(qg, u, 0x1.803382p-3f);
  float Gh = FA_FMA(qg, u, 0x1.0182ccp-1f);
  float Gl = FA_FMA(qg, u, 0x1.0182ccp-1f - Gh);
  float ts = fa_n32_from_bits(fa_n32_bits(t) ^ sgn ^ 0x80000000u);
  float Zh = ts * Gh;
  float Zl = FA_FMA(ts, Gh, -Zh);
  float low = FA_FMA(ts * (eps * 1.063f), Gh, FA_FMA(ts, Gl, Zl));
  float c2 = FA_FMA(Zh, r1, FA_FMA(Zh, w, FA_FMA(low, r, low)));  /* (Zh + low)(1 + m) - Zh */
  float Qh = Zh + c2;
  float Ql = (Zh - Qh) + c2;
  float Mh = o + Qh;                             /* x > 0: Q <= 0.26 o */
  float Ml = ((o - Mh) + Qh) + Ql;
  /* Phi, |x| <= 0.65 (k = 0 there): 1/2 + x E(h), E flat and rounded once (2^-26 abs);
     x as +-ac (|x| clamped at 2^-30 keeps x E normal; the change is < 2^-31 of Phi) */
  float xc = fa_n32_from_bits(fa_n32_bits(ac) | sgn);
  float we = h - -0x1.c5a99p-4f;
  float qe = 0x1.ba837ap-10f;
  qe = FA_FMA(qe, we, 0x1.1dc48cp-7f);
  qe = FA_FMA(qe, we, 0x1.2e0a0cp-5f);
  qe = FA_FMA(qe, we, 0x1.fde23cp-4f);
  float Eh = FA_FMA(qe, we, 0x1.89ec4ap-2f);
  float Fsh = FA_FMA(xc, Eh, 0.5f);
  float Fsl = FA_FMA(xc, Eh, 0.5f - Fsh);           /* 0.5 - Fsh exact */
  int small = ac <= 0.65f;
  F.ph = small ? Fsh : Mh;
  F.pl = small ? Fsl : Ml;
  F.k = (int32_t)(fa_n32_bits(kb) - 0x4B400000u);
  return F;
}
/* RN(u v (h + l) 2^k) for finite v, u finite or +inf (infu: u may be +inf), h != 0 (zs: the
   sign of a zero result).  un = u 2^(127 - eu) in [1, 4) (eu = min(exponent field, 253);
   (0, 1) for subnormal u), same for v; un vn = Ph + Pl exactly; the triple product is
   rounded once (its low terms are u^2 of it).  |Mr| <= 2^40.2 (x > 0: h ~ 2^-k <= 2^36),
   and |Mr| >= 2^-50 unless u v = 0 or both are subnormal (then E <= -254).
   E = eu + ev - 254 + k in [-667, 252], clamped at -192 (below, |Mr| 2^E < 2^-151.8 rounds
   to 0); E = E1 + E2, E2 = clamp(E, -72, 126), E1 = E - E2 in [-120, 126]: T = Mr 2^E1 is
   exact and normal wherever the result is not 0 (and for normal u, v in every regime of
   the probes), y = T 2^E2; where |T| < 2^-54 (only for E2 = -72: elsewhere
   |T| >= |Mr| >= 2^-50) the result is below 2^-126 and is rounded on the subnormal grid as
   T 2^-72 +- 2^-126 (normal, spacing 2^-149), the 2^-126 then taken off the bits: no
   subnormal intermediate (a ~150-cycle microcode assist per vector on this CPU). */
FA_N32 float fa_n32_gg_finish3(float u, float vv, float Fh, float Fl, int32_t k, uint32_t zs, int infu) {
  uint32_t eu = fa_n32_bits(u) & 0x7f800000u, ev = fa_n32_bits(vv) & 0x7f800000u;
  eu = eu < 0x7e800000u ? eu : 0x7e800000u;
  ev = ev < 0x7e800000u ? ev : 0x7e800000u;
  float un = u * fa_n32_from_bits(0x7f000000u - eu);
  float vn = vv * fa_n32_from_bits(0x7f000000u - ev);
  /* u = +inf: un = inf; the low terms take un clamped to 4 (equal for finite u), so that
     inf never meets 0 or -inf there */
  float uc = un;
  if (infu) uc = fa_n32_from_bits((uint32_t)((int32_t)fa_n32_bits(un) < 0x40800000 ? (int32_t)fa_n32_bits(un) : 0x40800000));
  float Ph = un * vn;
  float Pc = uc * vn;
  float Pl = FA_FMA(uc, vn, -Pc);
  float Mr = FA_FMA(Ph, Fh, FA_FMA(Pc, Fl, Pl * Fh));
  int32_t Eb = (int32_t)((eu + ev) >> 23) + k - 254 + 199;   /* E + 199 (eu + ev < 2^32) */
  uint32_t Es = (uint32_t)(Eb > 7 ? Eb : 7) << 23;          /* E >= -192; <= 451 << 23 < 2^32 */
  uint32_t F2 = Es > (127u << 23) ? Es : (127u << 23);
  F2 = (F2 < (325u << 23) ? F2 : (325u << 23)) - (72u << 23); /* 2^E2, E2 = clamp(E, -72, 126) */
  uint32_t F1 = Es - F2 + (55u << 23);                       /* 2^E1, E1 = E - E2 >= -120 */
  float T = Mr * fa_n32_from_bits(F1);
  uint32_t sub = (fa_n32_bits(T) & 0x7fffffffu) < 0x24800000u ? 0xffffffffu : 0u;   /* |T| < 2^-54 */
  float C = fa_n32_from_bits(sub & (zs | 0x00800000u));
  float z = FA_FMA(T, fa_n32_from_bits(F2), C);
  return fa_n32_from_bits(fa_n32_bits(z) - (sub & 0x00800000u));
}
/* gelu(gate) value = gate value Phi(gate): -inf is taken as -FLT_MAX (gelu(-inf) = -0) */
FA_N32 float fa_n32_gg_fwd_from(fa_n32_gg_pairs_t F, float gate, float value) {
  uint32_t xb = fa_n32_bits(gate);
  float xg = fa_n32_from_bits(xb - (xb == 0xff800000u ? 1u : 0u));
  return fa_n32_gg_finish3(xg, value, F.ph, F.pl, F.k, (fa_n32_bits(gate) ^ fa_n32_bits(value)) & 0x80000000u, 1);
}
FA_N32 float fa_n32_gg_grad_gate_from(fa_n32_gg_pairs_t F, float gate, float g, float value) {
  float y = fa_n32_gg_finish3(g, value, F.dh, F.dl, F.k, (fa_n32_bits(g) ^ fa_n32_bits(value) ^ fa_n32_bits(F.dh)) & 0x80000000u, 0);
  return gate != gate ? gate : y;               /* NaN gate (clamped away in the pairs) */
}
FA_N32 float fa_n32_geglu_fwd(float gate, float value) { return fa_n32_gg_fwd_from(fa_n32_gg_pairs(gate), gate, value); }
FA_N32 float fa_n32_geglu_grad_value(float g, float gate) { return fa_n32_gg_fwd_from(fa_n32_gg_pairs(gate), gate, g); }
FA_N32 float fa_n32_geglu_grad_gate(float g, float gate, float value) { return fa_n32_gg_grad_gate_from(fa_n32_gg_pairs(gate), gate, g, value); }

/* The GLU family's names for GEGLU (the template's gated loops) */
FA_N32 float fa_n32_gelu_erf_gated_forward(float gate, float value) {
    return fa_n32_geglu_fwd(gate, value);
}
FA_N32 float fa_n32_gelu_erf_gated_grad_gate(float g, float gate, float value) {
    return fa_n32_geglu_grad_gate(g, gate, value);
}
FA_N32 float fa_n32_gelu_erf_gated_grad_value(float g, float gate) {
    return fa_n32_geglu_grad_value(g, gate);
}
/* g and value finite, |gate| <= 64 (and not NaN): past that the double
 * path (gelu(gate) is gate or 0 there; it rounds g gate once). */
FA_N32 int fa_n32_gelu_erf_gated_bad(float g, float gate, float value) {
    return (fabsf(g) <= 0x1.fffffep127f) & (fabsf(value) <= 0x1.fffffep127f)
           & (fabsf(gate) <= 64.0f) ? 0 : 1;
}


/* The float32 softmax rows (temperature 1; ext/_rowwise_loops.pxi).
 * exp(x - max) rounded once: x - max as an exact pair (TwoSum), its low part
 * folded into exp's reduced argument (an error of x - max would be
 * multiplied by |x - max|); below -86, exp is taken as 2^64 e and scaled
 * last (one rounding into the subnormals); below -120 (x = -inf included)
 * it is 0. */
FA_N32 float fa_n32_row_exp(float x, float max) {
    float th = x - max;
    float bb = th - x;
    float tl = (x - (th - bb)) + (-max - bb);
    tl = th >= -120.0f ? tl : 0.0f;           /* clamped (or -inf): exp is 0 anyway,
                                               and tl may be huge there */
    float a = th < -120.0f ? -120.0f : th;
    int deep = a < -86.0f;
    fa_n32_exp_t e = fa_n32_exp_lo(a, tl, deep ? 0xFFFFFFC0u : 0u);
    return FA_FMA(e.s, e.m, e.s) * (deep ? 0x1p-64f : 1.0f);
}

/* e / S as e (ih + il), 1/S a float pair: one rounding */
FA_N32 float fa_n32_times_pair(float e, float ih, float il) { return FA_FMA(e, ih, e * il); }

/* softmax backward y (g - dot), dot = dh + dl: g - dh is exact where it
 * cancels (Sterbenz), and the product rounds once */
FA_N32 float fa_n32_softmax_backward(float g, float y, float dh, float dl) {
    return FA_FMA(y, g - dh, -(y * dl));
}

/* log_softmax backward g - exp(y) S, S = sh + sl, y <= 80 (the caller
 * checks the row): q = exp(y) sh rounded once (exp taken as 2^64 e^y below
 * -86, so that q keeps its bits), then g - q c with the small sl term first
 * (its rounding is u of u |q|; the first rounding, of g, is inside SPEC's
 * absolute floor where the difference cancels). */
FA_N32 float fa_n32_log_softmax_backward(float g, float y, float sh, float sl) {
    float a = y < -120.0f ? -120.0f : y;
    int deep = a < -86.0f;
    fa_n32_exp_t e = fa_n32_exp(a, deep ? 0xFFFFFFC0u : 0u);
    float c = deep ? 0x1p-64f : 1.0f;
    float P = e.s * sh;
    float q = FA_FMA(P, e.m, P);
    float ql = FA_FMA(e.s, e.m, e.s) * sl;
    return FA_FMA(-q, c, FA_FMA(-ql, c, g));
}

/* 1 for a factor g of a backward's g f'(x) that the loop sends to the
 * double path: not finite, or below 2^-40 but not 0 (with f' >= ~2^-86
 * inside the windows below, g times f''s scaled part then stays normal;
 * below, g f' can be subnormal while a factor of the pair underflows to 0) */
FA_N32 int fa_n32_factor_bad(float g) {
    float a = fabsf(g);
    return (a <= 0x1.fffffep127f) & ((a >= 0x1p-40f) | (a == 0.0f)) ? 0 : 1;
}

/* 1 outside the backward's window, and for NaN: there the loop takes the
 * full double path.  Inside, f' >= ~2^-90, so that g f' and its exact
 * product's low part stay normal for |g| >= ~2^-12 (a subnormal one is
 * right, but costs an assist). */
FA_N32 int fa_n32_sigmoid_bad(float x) { return fabsf(x) <= 60.0f ? 0 : 1; }
FA_N32 int fa_n32_log_sigmoid_bad(float x) { return fabsf(x) <= 60.0f ? 0 : 1; }
FA_N32 int fa_n32_tanh_bad(float x) { return fabsf(x) <= 30.0f ? 0 : 1; }
FA_N32 int fa_n32_silu_bad(float x) { return fabsf(x) <= 60.0f ? 0 : 1; }
/* The GLU family's float32 loops: f(gate) * value, g * value * f'(gate)
 * and g * f(gate), each rounded once (derivative mode: g = 1), f(gate) as
 * m p c (wh + wl): sigma's fpw with m = 1, silu's with m = gate. */
#define FA_N32_GATED(name, m)                                                  \
    FA_N32 float fa_n32_##name##_gated_forward(float gate, float value) {      \
        return fa_n32_pw_times2(value, m, fa_n32_sigmoid_fpw(gate));           \
    }                                                                          \
    FA_N32 float fa_n32_##name##_gated_grad_gate(float g, float gate, float value) { \
        return fa_n32_pw_times2(g, value, fa_n32_##name##_dpw(gate));          \
    }                                                                          \
    FA_N32 float fa_n32_##name##_gated_grad_value(float g, float gate) {       \
        return fa_n32_pw_times2(g, m, fa_n32_sigmoid_fpw(gate));               \
    }

FA_N32 fa_n32_pw_t fa_n32_sigmoid_dpw(float x) { return fa_n32_dsig(x); }
FA_N32_GATED(sigmoid, 1.0f)
FA_N32_GATED(silu, gate)

/* 1 where an element of the gated loops needs the double path: the gate
 * outside the window, or a product of two of g, value and the multiplier m
 * (sigma's 1, silu's gate) that is not finite in float (g = 1 in the
 * forward and the derivative) */
FA_N32 int fa_n32_gated_products_bad(float g, float value, float m) {
    return fa_n32_factor_bad(g * value) | fa_n32_factor_bad(g * m) | fa_n32_factor_bad(value * m);
}
FA_N32 int fa_n32_sigmoid_gated_bad(float g, float gate, float value) {
    return fa_n32_sigmoid_bad(gate) | fa_n32_gated_products_bad(g, value, 1.0f);
}
FA_N32 int fa_n32_silu_gated_bad(float g, float gate, float value) {
    return fa_n32_silu_bad(gate) | fa_n32_gated_products_bad(g, value, gate);
}

/* Below -60 mish'(x) ~ (1 + x) e^x is under 2^-80, where fastact's double
 * mish' gives +0 as it underflows and this one its sign: the double path
 * there (and for NaN) keeps the signs of the zeros g * mish'(x) gives. */
FA_N32 int fa_n32_mish_bad(float x) { return x >= -60.0f ? 0 : 1; }

#endif
