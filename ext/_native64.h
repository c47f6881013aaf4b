/* fastact native float64 kernels for the FMA levels (AVX2+FMA, AVX-512):
 * sigmoid, tanh, silu and their derivatives, the double counterparts of
 * ext/_native32.h (same structure, read that header's comment first).
 *
 * Why: the float64 kernels of _formulas.pxd carry double-double arithmetic
 * through exp, 1 + e and the quotient; these keep in exact pairs only the
 * few quantities whose rounding the result would feel, with the fused
 * multiply-add doing the error-free steps (a*b - fl(a*b) = fma(a, b, -fl(a*b)),
 * a remainder c - q*d = fma(-q, d, c)), and round once at the end.
 *
 * Error bookkeeping: u = 2^-53.  A rounding to double has a relative error
 * of at most u, which is up to 1 ULP of the result at the bottom of a
 * binade: every rounded factor or addend that reaches the result can cost
 * up to 1 ULP, the last rounding 0.5 ULP.  The exp core's polynomial is
 * good to 2^-63.8 relative (tools/fit_native.py), so what is left of exp's error is
 * the rounding of r (<= 2^-55 absolute, i.e. relative to e^r) and of m
 * (<= 2^-55 relative to 1 + m): ~0.5 u.  The functions below say where
 * that reaches the result and what else they round.
 *
 * Like the rest of the kernels: branch-free (every choice is a select over
 * values computed on all lanes), no table, no libm call, no -ffast-math
 * (the build has -ffp-contract=off, so nothing fuses but FA_FMA64), so gcc
 * vectorizes the loops and a vector body and its scalar tail give the same
 * bits; 64-bit integer add and shift on the bit patterns only (AVX2 has
 * them; no int64 <-> double conversion).
 *
 * Derivatives come scaled by a power of two s: f'(x) = (h + l) s, rounded
 * once (sigmoid', tanh': one double h, rounded already).  The backward loops multiply g by the derivative, as
 * the other float64 backward loops do (ext/_kernels.pyx.tp).
 *
 * Special values as the fastact float64 kernels give them (bit for bit:
 * +-inf, +-0, subnormals, +-DBL_MAX, the deep tails); NaN in -> NaN out
 * with x's payload, its sign bit positive (tanh: x's), made independent of
 * the operand order gcc picks, so that vector body and scalar tail agree.
 *
 * Deep tails without a case split: exp(a) is taken as 2^-128 e^a (a
 * clamped to 760: e^760 = 2^1096.5, so 2^-128 e^a stays finite and its
 * reciprocal normal), c = 2^-128; sigma(-a) = c / (c + 2^-128 e^a) = c T,
 * T normal for every a, and c T rounds once (into the subnormals below
 * x = -708).  sigma(-760) = 2^-1096.5 and 760 sigma(-760) ~ 2^-1087 are
 * below half the smallest subnormal, so the clamp changes no result.
 */
#ifndef FASTACT_NATIVE64_H
#define FASTACT_NATIVE64_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#ifdef __FMA__
#define FA_NATIVE64 1
#else
#define FA_NATIVE64 0
#endif

#define FA_N64 static inline __attribute__((always_inline))
#define FA_FMA64(a, b, c) __builtin_fma((a), (b), (c))

typedef struct { double h, l, s; } fa_n64_pair_t;

/* (fit64.py: tools/fit_native.py reproduces the polynomial) */

FA_N64 uint64_t fa_n64_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
FA_N64 double fa_n64_from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

#define FA_N64_SHIFT 0x1.8p52
#define FA_N64_INV_LN2 0x1.71547652b82fep+0
/* ln2 = HI + LO: HI has 32 significant bits, so k HI is exact for |k| < 2^21
 * (and a - k HI is exact, being a multiple of ulp(a) or 2^-53 below 0.36) */
#define FA_N64_LN2_HI 0x1.62e42fee00000p-1
#define FA_N64_LN2_LO 0x1.a39ef35793c76p-33
/* ln2 = HI53 + LO53 (+ 2^-110): with the fma, a - k HI53 is exact too (a
 * multiple of 2^-54 below 0.5, or of ulp(a) >= 2^-53, under 0.35 in
 * magnitude), and the rest -k LO53 (|k| 2^-55.3) can be carried on its own */
#define FA_N64_LN2_HI53 0x1.62e42fefa39efp-1
#define FA_N64_LN2_LO53 0x1.abc9e3b39803fp-56
#define FA_N64_OFF 128u
#define FA_N64_C 0x1p-128
#define FA_N64_CINV 0x1p128
#define FA_N64_CLAMP 760.0

/* exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2: P of degree 10, near-minimax
 * fitted with its coefficients rounded one at a time (tools/fit_native.py):
 * 2^-63.8 relative to exp(r) (degree 9 would give 2^-57.4 and save one fma,
 * ~2 % of the time).  Evaluated in Estrin's form, r2 = r^2 shared with the
 * caller's m = r + r2 P: the loops are partly latency-bound (Horner's ten
 * dependent fmas, one multiplication fewer, measured 8-10 % slower). */
#define FA_N64_P10 0x1.1e5e1e0ff8e53p-29
#define FA_N64_P9 0x1.af66c96cebbb1p-26
#define FA_N64_P8 0x1.27e59264524a8p-22
#define FA_N64_P7 0x1.71ddf37fddadbp-19
#define FA_N64_P6 0x1.a01a0150369f4p-16
#define FA_N64_P5 0x1.a01a01b1e7733p-13
#define FA_N64_P4 0x1.6c16c16c275b9p-10
#define FA_N64_P3 0x1.111111110f161p-7
#define FA_N64_P2 0x1.5555555555530p-5
#define FA_N64_P1 0x1.555555555555ap-3
#define FA_N64_P0 0x1p-1

FA_N64 double fa_n64_exp_poly(double r, double r2) {
    double r4 = r2 * r2;
    double p01 = FA_FMA64(FA_N64_P1, r, FA_N64_P0), p23 = FA_FMA64(FA_N64_P3, r, FA_N64_P2);
    double p45 = FA_FMA64(FA_N64_P5, r, FA_N64_P4), p67 = FA_FMA64(FA_N64_P7, r, FA_N64_P6);
    double p89 = FA_FMA64(FA_N64_P9, r, FA_N64_P8);
    double q03 = FA_FMA64(p23, r2, p01), q47 = FA_FMA64(p67, r2, p45);
    double q810 = FA_FMA64(FA_N64_P10, r2, p89);
    return FA_FMA64(FA_FMA64(q810, r4, q47), r4, q03);
}

/* exp(a) = s (1 + m) 2^off for a caller-clamped a, k = round(a/ln2) with
 * -1022 <= k - off <= 1023 (s = 2^(k - off), normal).  r = a - k ln2 in two
 * steps (the first exact), |r| <= 0.3466; m = r + r^2 P(r).  The roundings
 * of r and m add up to ~0.5 u relative to 1 + m.  1 + m is never rounded on
 * its own: callers fold s m into an fma. */
typedef struct { double s, m, k; } fa_n64_exp_t;

FA_N64 fa_n64_exp_t fa_n64_exp(double a, uint64_t off) {
    double kb = FA_FMA64(a, FA_N64_INV_LN2, FA_N64_SHIFT);   /* k in the low bits */
    double k = kb - FA_N64_SHIFT;
    double r = FA_FMA64(-k, FA_N64_LN2_HI, a);
    r = FA_FMA64(-k, FA_N64_LN2_LO, r);
    double r2 = r * r;
    double p = fa_n64_exp_poly(r, r2);
    fa_n64_exp_t e;
    e.m = FA_FMA64(r2, p, r);
    e.s = fa_n64_from_bits((fa_n64_bits(kb) + (1023u - off)) << 52);
    e.k = k;
    return e;
}

/* t = sigma(-a) = 1/(1 + e^a) for a >= 0 as c (q + q r), c = 2^-128: with
 * e^a taken as 2^-128 e^a (normal for 0 <= a <= 760), D = c + 2^-128 e^a is
 * the exact pair Dh + Dl (s >= c: Fast2Sum; A - Dh is exact by Sterbenz,
 * Dh/A in [0.7, 1.42]), q = 1/Dh and r = 1 - q D, so 1/D = q (1 + r) to
 * ~u^2.  The only error left in T = q + q r is exp's, damped by
 * e^a/(1 + e^a) <= 1: <= ~0.5 u.  NaN passes the clamp; a = inf gives
 * t = sigma(-760), which rounds to 0. */
typedef struct { double q, r; } fa_n64_sig_t;

/* |x| clamped to 760; NaN passes */
FA_N64 double fa_n64_absclamp(double x) {
    double a = fabs(x);
    return a > FA_N64_CLAMP ? FA_N64_CLAMP : a;
}

/* ac = fa_n64_absclamp(x) (callers reuse it) */
FA_N64 fa_n64_sig_t fa_n64_sig_neg(double ac) {
    fa_n64_exp_t e = fa_n64_exp(ac, FA_N64_OFF);
    double A = e.s + FA_N64_C;
    double Al = (e.s - A) + FA_N64_C;
    double Dh = FA_FMA64(e.s, e.m, A);
    double Dl = FA_FMA64(e.s, e.m, A - Dh) + Al;
    fa_n64_sig_t t;
    t.q = 1.0 / Dh;
    t.r = FA_FMA64(-t.q, Dl, FA_FMA64(-t.q, Dh, 1.0));
    return t;
}

/* sigma(x): x <= 0, t = sigma(-|x|) rounded once (then scaled by c: exact,
 * or one rounding into the subnormals); x > 0, 1 - t (t <= 1/2: one more
 * rounding, of at most 2^-55).  Measured 0.97 ULP. */
FA_N64 double fa_n64_sigmoid(double x) {
    fa_n64_sig_t t = fa_n64_sig_neg(fa_n64_absclamp(x));
    double neg = FA_FMA64(t.r, t.q, t.q) * FA_N64_C;
    return x > 0.0 ? 1.0 - neg : neg;
}

/* sigma(z) (1 - sigma(z)) = t (1 - t), t = sigma(-|z|) = c T, T = q (1 + r):
 * with ct = c q (exact, or t so small that 1 - t = 1 anyway) and 1 - ct =
 * w + wl (Fast2Sum, ct <= 1/2), 1 - t = w + wl - ct r and t (1 - t) / c =
 * q w + q (wl - ct r + r w) (+ ~u^2): fa_n64_dsig rounds that sum once
 * (the small term's own roundings are ~u^2 of the result), and the
 * derivative is that times c, one rounding.  Exp's error reaches it damped
 * by |1 - e|/(1 + e) <= 1.  Measured 0.94 ULP (tanh' 0.95). */
FA_N64 double fa_n64_dsig(double z) {
    fa_n64_sig_t t = fa_n64_sig_neg(fa_n64_absclamp(z));
    double ct = t.q * FA_N64_C;
    double w = 1.0 - ct;
    double wl = (1.0 - w) - ct;
    double corr = FA_FMA64(t.r, w, FA_FMA64(-ct, t.r, wl));
    return FA_FMA64(t.q, w, t.q * corr);
}

/* tanh(x) = sign(x) (-em)/(2 + em), em = expm1(-2|x|) in (-1, 0] (|x|
 * clamped to 20: tanh rounds to 1 from 19.1 on).  No case split near 0:
 * em = (s - 1) + s (m + ml), s = 2^k, k >= -58; s - 1 = sm1 + sl
 * (Fast2Sum: sl = 0 for k >= -53, else sm1 = -1 and sl = s; rounding s - 1
 * there cost 0.5 ULP next to 1, 1.41 ULP in all), 0 for k = 0 (|x| <
 * 0.173, where em = m + ml has no cancellation at all); E = fma(s, m, sm1)
 * with its residual exact ((sm1 - E) + sl: sm1 - E exact by Sterbenz, or 0
 * - E; adding sl = s, when not 0, to that multiple of 2^-53 below 2^-51 is
 * exact too), so em = E + El.  For |x| >= 0.173 the quotient amplifies the
 * relative error of e^-2|x| by up to 2e/(1 - e^2) ~ 2.9, so exp's errors
 * are carried: r = z - k HI53 is exact (fma), the rest of the reduction is
 * rl = -k LO53 (|rl| <= 2^-49.4, carried: rl^2 is below 2^-98), and m's
 * rounding ml is exact (r - m by Sterbenz): exp(r + rl) - 1 = m + ml +
 * rl (1 + m).  What is left is the rounding of r^2 and of P, ~0.35 u
 * relative to m for k = 0, less than 0.1 u relative to e for k < 0.
 * Measured 0.74 ULP.
 * 2 + em = Dh + Dl exactly (Fast2Sum), R = -1/Dh, Q = E R, and the quotient
 * refined by its remainder: Q + (E + El + Q Dh + Q Dl) R, one rounding. */
FA_N64 double fa_n64_tanh(double x) {
    double a = fabs(x);
    a = a > 20.0 ? 20.0 : a;                  /* NaN passes */
    double z = -2.0 * a;
    double kb = FA_FMA64(z, FA_N64_INV_LN2, FA_N64_SHIFT);
    double k = kb - FA_N64_SHIFT;
    double r = FA_FMA64(-k, FA_N64_LN2_HI53, z);     /* exact */
    double rl = k * -FA_N64_LN2_LO53;
    double rr = r * r;
    double p = fa_n64_exp_poly(r, rr);
    double m = FA_FMA64(rr, p, r);
    double ml = FA_FMA64(rr, p, r - m);
    ml = FA_FMA64(rl, m, rl + ml);
    double s = fa_n64_from_bits((fa_n64_bits(kb) + 1023u) << 52);
    double sm1 = s - 1.0;
    double sl = (-1.0 - sm1) + s;             /* s - 1 = sm1 + sl (Fast2Sum) */
    double E = FA_FMA64(s, m, sm1);
    double El = FA_FMA64(s, ml, FA_FMA64(s, m, (sm1 - E) + sl));
    double Dh = 2.0 + E;
    double Dl = ((2.0 - Dh) + E) + El;
    double R = -1.0 / Dh;
    double Q = E * R;
    double rho = FA_FMA64(Q, Dl, FA_FMA64(Q, Dh, E) + El);
    return copysign(FA_FMA64(rho, R, Q), x);
}

/* silu(x) = x sigma(x): sign bit set, -|x| t with t's pair folded into one
 * fma (the sign goes into the scale -c); clear, x (1 - t) with 1 - t =
 * s1 + sl an exact pair, x s1 + x sl rounded once (silu(+-0) = +-0).  Where
 * a product with x would make inf * 0, |x| is sig_neg's clamped ac:
 * silu(-inf) = -760 sigma(-760) = -0.0; at x > 760, s1 = 1 and x + 760 sl =
 * x.  The select is on the sign bit, so that a NaN meets only NaNs of one
 * sign: with the sign bit set, neg is made of ac's NaN (positive) alone;
 * without, x, s1 and ac are all positive NaNs.  The NaN's sign then does
 * not depend on the operand order gcc picks, and the vector body and the
 * scalar tail give the same bits.  Measured 1.06 ULP. */
FA_N64 double fa_n64_silu(double x) {
    double ac = fa_n64_absclamp(x);
    fa_n64_sig_t t = fa_n64_sig_neg(ac);
    double tl0 = t.r * t.q;
    double neg = FA_FMA64(ac, t.q, ac * tl0) * -FA_N64_C;
    double th = t.q * FA_N64_C;
    double s1 = 1.0 - th;
    double sl = FA_FMA64(-t.r, th, (1.0 - s1) - th);   /* - th r = - c q r */
    double pos = FA_FMA64(x, s1, ac * sl);
    return (int64_t) fa_n64_bits(x) < 0 ? neg : pos;
}

/* silu'(x) = sigma(x) (1 + x sigma(-x)).  With t = sigma(-|x|) = c T and
 * y = x (1 - t) as an exact pair (x t <= x/2: Fast2Sum): x <= 0,
 * t (1 + y); x > 0, 1 + t (y - 1).  Both as c (T (B + y) + C) with B = 1,
 * C = 0 or B = -1, C = 2^128; B + y is an exact pair too (Fast2Sum: |y| < 1,
 * or B + y exact), and so is the rounding of T (B + y) + C (C - h is exact:
 * h is within a factor 2 of C = 2^128, or C = 0).  At x = +-0 either form
 * is exact, so with sb = copysign(1, x) (one bit operation), B = -sb and
 * C = (1 + sb) 2^127 (one fma), no compare; x clamped to +-760 as sb ac
 * (exact; a NaN x stays sig_neg's positive NaN, as in silu).  Near the
 * zero x0 = -1.27846 the cancellation in 1 + y is exact, so the absolute
 * error there is ~u x0 t^2 (exp's error in t, through y): 0.011 eps
 * measured within 0.05 of x0, 1.46 ULP outside. */
FA_N64 fa_n64_pair_t fa_n64_silu_dpair(double x) {
    double ac = fa_n64_absclamp(x);
    fa_n64_sig_t t = fa_n64_sig_neg(ac);
    double sb = copysign(1.0, x);
    double xc = ac * sb;
    double tl0 = t.r * t.q;
    double th = t.q * FA_N64_C, tl = tl0 * FA_N64_C;
    double ph = xc * th;
    double pl = FA_FMA64(xc, tl, FA_FMA64(xc, th, -ph));
    double yh = xc - ph;
    double yl = ((xc - yh) - ph) - pl;
    double oh = yh - sb;                      /* B + y */
    double ol = (yh - (sb + oh)) + yl;
    double c = FA_FMA64(sb, 0x1p127, 0x1p127);
    fa_n64_pair_t d;
    d.h = FA_FMA64(t.q, oh, c);
    d.l = FA_FMA64(t.q, ol, FA_FMA64(tl0, oh, FA_FMA64(t.q, oh, c - d.h)));
    d.s = FA_N64_C;
    return d;
}

FA_N64 double fa_n64_pair_value(fa_n64_pair_t d) { return (d.h + d.l) * d.s; }

FA_N64 double fa_n64_sigmoid_derivative(double x) { return fa_n64_dsig(x) * FA_N64_C; }
/* tanh'(x) = 4 sigma'(2x) */
FA_N64 double fa_n64_tanh_derivative(double x) { return fa_n64_dsig(2.0 * x) * (4.0 * FA_N64_C); }
FA_N64 double fa_n64_silu_derivative(double x) { return fa_n64_pair_value(fa_n64_silu_dpair(x)); }

/* sigma(-x) = log_sigmoid'(x) as a pair: x >= 0, t = c (q + q r); x < 0,
 * 1 - t as the exact pair (1 - th) + residual (th = c q, th r its low
 * part).  softplus'(x) at beta = 1 is sigma(x) below the threshold, 1 above. */
FA_N64 fa_n64_pair_t fa_n64_sigmoid_neg_pair(double x) {
    fa_n64_sig_t t = fa_n64_sig_neg(fa_n64_absclamp(x));
    double tl = t.r * t.q;
    double th = t.q * FA_N64_C;
    double s1 = 1.0 - th;
    int pos = x >= 0.0;
    fa_n64_pair_t d;
    d.h = pos ? t.q : s1;
    d.l = pos ? tl : FA_FMA64(-t.r, th, (1.0 - s1) - th);
    d.s = pos ? FA_N64_C : 1.0;
    return d;
}
FA_N64 double fa_n64_log_sigmoid_derivative(double x) {
    return fa_n64_pair_value(fa_n64_sigmoid_neg_pair(x));
}
FA_N64 double fa_n64_softplus_derivative(double x, double threshold) {
    double s = fa_n64_sigmoid(x);
    return x > threshold ? 1.0 : s;
}

#endif
