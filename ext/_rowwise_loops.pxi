# Row-wise loops: softmax, log_softmax, their backward passes and their
# Jacobians, ONE row each.
#
# Included by _kernels.pyx.tp (after ``from _kernel_table cimport *``). The
# driver loops over rows and threads; a row is never split, so every result is
# the same whatever the thread count. The twelve public functions at the bottom
# have the row_loop / row_backward_loop / row_jacobian_loop signatures of
# _kernel_table.pxd; each
# casts its untyped pointers and calls ONE algorithm, written once for both
# dtypes through the fused type ``_rw_real`` (with compile-time branches
# ``if _rw_real is float`` where float32 takes a cheaper path).
#
# Vectorization. Every per-element pass is a branch-free loop that gcc
# vectorizes at SSE2, AVX2 and AVX-512: no libm call (exp and log1p come
# from _vmath, exact products from _dd's dd_two_prod), only selects. Reductions (the max pass, every sum) run over a FIXED number of
# independent lanes: element i of the row always goes to lane i % LANES, the
# lanes are combined at the end in lane order. The order of every floating
# operation therefore depends only on the row index, never on the SIMD width,
# the thread count or where the row sits in memory (no alignment peeling
# changes it: the lanes are explicit in the C code, and the build has no
# -ffast-math / -ffp-contract), so results are bitwise identical at any thread
# count and position.  The exp polynomials fuse through mla at the FMA levels
# (_dd.pxd): AVX2 and AVX-512 agree bit for bit, baseline to within SPEC.
#
# In-place use: the output may be the SAME buffer as an input (softmax(x,
# out=x); grad_x may be grad or y). Every pass reads element i before it writes
# element i and never reads an input again after writing it, so that works.
#
# float32 rows at temperature 1 on the FMA levels compute natively in float
# (_native32.h): exp(x - max) with x - max as an exact pair, rounded once,
# summed in double lanes; softmax y = e (1/S) with 1/S a float pair, the
# backward rows from plain double sums (products of floats are exact in
# double) and one fused operation per element.  Results <= ~2 ULP (SPEC:
# 4).  Otherwise (baseline, a temperature) they are computed in double with a
# cheap path: t = (x - max) / T in
# double (x - max is exact or within 2^-53 relative), a short-polynomial exp
# (relative error ~5e-11, far below float32's 2^-24), plain double lane sums
# for the forward (relative error <= n/LANES * 2^-53) and compensated sums for
# the backward dot products (cancellation in g - sum(g*y)). Results ~1 ULP.
#
# float64 keeps the accuracy tricks (SPEC section 5, <= 4 ULP per element on
# rows up to 65536):
#
# * t = (x - max) / T is carried as a double-double hi + lo: TwoSum gives the
#   exact error of x - max and, when T != 1, dd_two_prod the exact remainder of
#   the division.  exp(hi + lo) is _rw_exp64: vm_exp_2s's (1 + lo) exp(hi),
#   a plain double exp (~0.5 ULP; lo^2/2 < 2^-88 is dropped), 18-25 %
#   faster than the double-double one: softmax's y_i keeps only exp's rounded value
#   anyway, and S's relative error stays ~1 eps, so an element ends within
#   ~2 ULP (measured 1.55); log_softmax's log(S) gets an absolute error of
#   ~1 eps * S'/S, next to t <= 0 of the same sign (measured 1 ULP, 0.5
#   with the double-double exp).
# * every sum and dot product is compensated per lane (TwoSum into a running
#   error term, and for products the exact product error too), and the lanes
#   are combined by TwoSum: relative error ~1 eps whatever n.
# * log_softmax = t - log(S) with S = c + S', c = the number of elements equal
#   to the max (each exp(0) = 1 exactly) and S' the sum of the other exp(t).
#   log S = log1p((c - 1) + S') with vm_log1p_dd, so a tiny S' is not lost.
# * softmax multiplies by 1/S as a double-double (exact product error by
#   dd_two_prod), rounding once.
# * softmax_backward: g - sum(g*y) cancels where g is close to the dot product;
#   the dot product is a double-double and g - hi is exact there (Sterbenz),
#   so only the final roundings remain.
#
# Special rows, found from the max pass (a max, a min and a NaN count per lane,
# accumulated branch-free and decided after the pass):
#   NaN anywhere, or any +inf -> NaN row (PyTorch: inf - inf); all -inf -> NaN
#   row, or zeros with zero_masked_rows (softmax only; log_softmax gives NaN).
#   A -inf element gives softmax 0 and log_softmax -inf.
#   If max - min overflows (finite values of both signs near DBL_MAX; float64
#   only), x and max are halved first and t doubled at the end, so t is -inf
#   only when (x - max) / T really is below -DBL_MAX.
#
# Build note: TwoSum is destroyed by value-changing optimisation; never compile
# this with -ffast-math / -fassociative-math / -funsafe-math-optimizations or
# -ffp-contract=fast (the build uses -ffp-contract=off and fuses only the
# polynomial steps written as mla).

from libc.math cimport INFINITY, NAN, fabs
from libc.stdint cimport uint64_t
from _dd cimport dd_t, dd_make, dd_two_prod, dd_two_sum, dd_fast_two_sum, mla
from _vmath cimport (vm_exp_dd, vm_expm1, vm_exp_2s, vm_log1p_dd, vm_exp_f32g, vm_exp_m7,
                     vm_expm1_f32g, _vm_pow2, FA_VM_SHIFT, FA_VM_INV_LN2, FA_VM_LN2_HI,
                     FA_VM_LN2_LO, fa_vm_bits)
from _native32 cimport (FA_NATIVE32, fa_n32_row_exp, fa_n32_times_pair,
                        fa_n32_softmax_backward, fa_n32_log_softmax_backward)

ctypedef fused _rw_real:
    float
    double

cdef extern from "float.h":
    const double DBL_MAX


cdef enum:
    # (the block loops step by these as literals: keep them in step)
    _RW_LANES = 16          # lanes of the exp passes
    _RW_SUM_LANES = 32      # lanes of the (cheap) backward sums
    # lanes of the max pass.  Not 16: gcc unrolls a loop of up to 16
    # iterations completely (its max-completely-peel-times) when the body is
    # small, and the max pass's 16 unrolled lanes then ran scalar, 10x slower
    # than the rolled 32-lane loop it vectorizes (about 0.6 of float32
    # softmax's 1.5 ns per element).  The max and the NaN count do not
    # depend on the order, so the lane count is free.
    _RW_SCAN_LANES = 32
    # float32 softmax rows up to this long keep their exp values in a stack
    # buffer (16 KiB), not in the output: storing them into output lines not
    # yet in the cache, inside the exp loop, made rows of 1024 1.6x slower
    # once the arrays outgrew the caches (3.1 against 1.9 ns per element at 16
    # Mi elements, and 2 threads gained nothing). float64 rows measured
    # slower with such a buffer, so they keep exp in the output.
    _RW_SCRATCH32 = 4096
    # columns per block of the Jacobians (two stack arrays of this many)
    _RW_JAC_BLOCK = 256


cdef struct _rw_shift:
    # what t = (x - max) / T needs, fixed for one row
    double max            # the row's max
    double scaled_max     # max * scale
    double scale          # 1, or 0.5 when max - min overflows
    double unscale        # 1 / scale
    double temperature
    double inv_temperature


# ---- scalar helpers (inlined; vectorize inside the loops) -------------------

cdef inline double _rw_exp_f(double t) noexcept nogil:
    """exp(t) for t <= 0 (or NaN), relative error ~5e-11 (vm_exp_f32g's
    polynomial): enough for float32 results. 0 below -150 (exp(-150) is far
    below float32's smallest subnormal and below 2^-53 of any softmax sum)."""
    cdef double tc = -160.0 if t < -160.0 else t
    cdef double kd = mla(tc, FA_VM_INV_LN2, FA_VM_SHIFT) - FA_VM_SHIFT
    cdef double r = mla(-kd, FA_VM_LN2_LO, tc - kd * FA_VM_LN2_HI)
    cdef double e = (1.0 + vm_exp_m7(r)) * _vm_pow2(kd)
    return 0.0 if t < -150.0 else e


cdef inline dd_t _rw_t64(double x, const _rw_shift* p, bint unit) noexcept nogil:
    """t = (x - max) / T as a double-double (unit: T == 1, known per row)."""
    cdef dd_t z = dd_two_sum(x * p.scale, -p.scaled_max)
    cdef double q, lo
    cdef dd_t pr
    if unit:
        q = z.hi
        lo = z.lo
    else:
        q = z.hi / p.temperature
        pr = dd_two_prod(q, p.temperature)       # exact: z.hi - q*T = remainder
        lo = (((z.hi - pr.hi) - pr.lo) + z.lo) * p.inv_temperature
    cdef double th = q * p.unscale
    cdef double tl = lo * p.unscale
    # x = -inf: exp(t) = 0 exactly; the error terms are NaN/inf there
    return dd_make(th, 0.0 if th == -INFINITY else tl)


cdef inline dd_t _rw_lanes_total(const double* s, const double* c, int lanes) noexcept nogil:
    """Combine compensated lanes (s[j] + c[j]) in lane order into a normalised
    double-double. If the sum is inf or NaN the error terms are meaningless
    (inf - inf): the plain IEEE sum is returned then."""
    cdef double hi = s[0]
    cdef double lo = c[0]
    cdef dd_t u
    cdef int j
    for j in range(1, lanes):
        u = dd_two_sum(hi, s[j])
        hi = u.hi
        lo = lo + (u.lo + c[j])
    if not (hi - hi == 0.0):
        return dd_make(hi, 0.0)
    return dd_fast_two_sum(hi, lo)


# ---- the max pass ------------------------------------------------------------

cdef inline int _rw_scan(const _rw_real* x, Py_ssize_t n,
                         _rw_shift* p, double temperature) noexcept nogil:
    """The max pass: a max, a smallest finite element and a NaN count per
    lane, branch-free. Returns 0, or -1 for a NaN row (NaN or +inf present),
    -2 for a fully masked row (all -inf). Fills p for the other passes."""
    cdef _rw_real mx[_RW_SCAN_LANES]
    cdef _rw_real mn[_RW_SCAN_LANES]
    cdef _rw_real nn[_RW_SCAN_LANES]
    cdef _rw_real v, w
    cdef Py_ssize_t b, i, nb = n - n % _RW_SCAN_LANES
    cdef int j
    for j in range(_RW_SCAN_LANES):
        mx[j] = -INFINITY
        mn[j] = INFINITY
        nn[j] = 0
    for b in range(0, nb, 32):
        for j in range(_RW_SCAN_LANES):
            v = x[b + j]
            mx[j] = v if v > mx[j] else mx[j]
            nn[j] = nn[j] + (0 if v == v else 1)
            if _rw_real is double:
                w = v if v > -INFINITY else INFINITY
                mn[j] = w if w < mn[j] else mn[j]
    for i in range(nb, n):
        j = <int> (i - nb)
        v = x[i]
        mx[j] = v if v > mx[j] else mx[j]
        nn[j] = nn[j] + (0 if v == v else 1)
        if _rw_real is double:
            w = v if v > -INFINITY else INFINITY
            mn[j] = w if w < mn[j] else mn[j]
    cdef double m = mx[0]
    cdef double lowest = mn[0]
    cdef double nans = nn[0]
    for j in range(1, _RW_SCAN_LANES):
        m = mx[j] if mx[j] > m else m
        lowest = mn[j] if mn[j] < lowest else lowest
        nans = nans + nn[j]
    if nans != 0 or m == INFINITY:
        return -1
    if m == -INFINITY:
        return -2
    p.max = m
    p.scale = 1.0
    if _rw_real is double:
        if m - lowest > DBL_MAX:                # x - max would overflow
            p.scale = 0.5
    p.unscale = 1.0 / p.scale
    p.scaled_max = m * p.scale
    p.temperature = temperature
    p.inv_temperature = 1.0 / temperature
    return 0


cdef inline void _rw_fill(_rw_real* y, Py_ssize_t n, double value) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[i] = <_rw_real> value


# ---- softmax -------------------------------------------------------------------

cdef inline void _rw_softmax_f32(const float* x, float* y, Py_ssize_t n,
                                 const _rw_shift* p) noexcept nogil:
    # exp(t) stored in ex (rounded to float: the stack buffer, or y for rows
    # longer than it) while summing the double values; then ex * (1/S) into
    # y: <= 1 ULP.  The buffer starts on a 64-byte boundary, and the last
    # pass stores from one on (its head apart), so that no 64-byte store
    # straddles two cache lines (1.92 -> 1.77 ns per element at 16 Mi).
    cdef double s[_RW_LANES]
    cdef double s32[_RW_SUM_LANES]
    cdef float scratch[_RW_SCRATCH32 + 16]
    cdef float* ex = y
    cdef Py_ssize_t head = min(elements_to_cache_line(y, 4), n)
    cdef double m = p.max
    cdef double it = p.inv_temperature
    cdef double e, total, inv
    cdef float mf = <float> m
    cdef float ef, ih, il
    cdef Py_ssize_t b, i, nb = n - n % _RW_LANES
    cdef int j
    if n <= _RW_SCRATCH32:
        ex = &scratch[0] + elements_to_cache_line(&scratch[0], 4)
    for j in range(_RW_LANES):
        s[j] = 0.0
    if FA_NATIVE32 and it == 1.0:
        # exp natively in float (_native32.h), summed in double; y = e (1/S)
        # with 1/S as a float pair, one rounding: <= ~2 ULP.  32 lanes: gcc
        # unrolls a 16-lane loop of floats into doubles completely and then
        # leaves it scalar.
        nb = n - n % _RW_SUM_LANES
        for j in range(_RW_SUM_LANES):
            s32[j] = 0.0
        for b in range(0, nb, 32):
            for j in range(_RW_SUM_LANES):
                ef = fa_n32_row_exp(x[b + j], mf)
                ex[b + j] = ef
                s32[j] = s32[j] + <double> ef
        for i in range(nb, n):
            j = <int> (i - nb)
            ef = fa_n32_row_exp(x[i], mf)
            ex[i] = ef
            s32[j] = s32[j] + <double> ef
        total = s32[0]
        for j in range(1, _RW_SUM_LANES):
            total = total + s32[j]
        inv = 1.0 / total
        ih = <float> inv
        il = <float> (inv - <double> ih)
        for i in range(head):
            y[i] = fa_n32_times_pair(ex[i], ih, il)
        for i in range(head, n):
            y[i] = fa_n32_times_pair(ex[i], ih, il)
        return
    for b in range(0, nb, 16):
        for j in range(_RW_LANES):
            e = _rw_exp_f((<double> x[b + j] - m) * it)
            ex[b + j] = <float> e
            s[j] = s[j] + e
    for i in range(nb, n):
        j = <int> (i - nb)
        e = _rw_exp_f((<double> x[i] - m) * it)
        ex[i] = <float> e
        s[j] = s[j] + e
    total = s[0]
    for j in range(1, _RW_LANES):
        total = total + s[j]
    inv = 1.0 / total                   # total >= 1 (the max term is 1)
    for i in range(head):
        y[i] = <float> (<double> ex[i] * inv)
    for i in range(head, n):
        y[i] = <float> (<double> ex[i] * inv)


cdef inline double _rw_exp64(dd_t t) noexcept nogil:
    # exp(t.hi + t.lo) as vm_exp_2s's (1 + lo) exp(hi): |lo| <= ulp(746)/2 =
    # 2^-44 where exp(t) is not 0; far below -746 the low part of an inexact
    # x - max can be huge (x = -1e300, max = 1e284: 1e283), and vm_exp_2s
    # drops it there.
    return vm_exp_2s(t.hi, t.lo, 0.0)


cdef inline void _rw_softmax_f64_pass(const double* x, double* y, Py_ssize_t n,
                                      const _rw_shift* p, double* s, double* c,
                                      bint unit) noexcept nogil:
    cdef dd_t t, u
    cdef double e
    cdef Py_ssize_t b, i, nb = n - n % _RW_LANES
    cdef int j
    for b in range(0, nb, 16):
        for j in range(_RW_LANES):
            t = _rw_t64(x[b + j], p, unit)
            e = _rw_exp64(t)
            y[b + j] = e
            u = dd_two_sum(s[j], e)
            s[j] = u.hi
            c[j] = c[j] + u.lo
    for i in range(nb, n):
        j = <int> (i - nb)
        t = _rw_t64(x[i], p, unit)
        e = _rw_exp64(t)
        y[i] = e
        u = dd_two_sum(s[j], e)
        s[j] = u.hi
        c[j] = c[j] + u.lo


cdef inline void _rw_softmax_f64(const double* x, double* y, Py_ssize_t n,
                                 const _rw_shift* p) noexcept nogil:
    cdef double s[_RW_LANES]
    cdef double c[_RW_LANES]
    cdef dd_t total, pr, q
    cdef double inv_hi, inv_lo, r
    cdef Py_ssize_t i
    cdef int j
    for j in range(_RW_LANES):
        s[j] = 0.0
        c[j] = 0.0
    if p.temperature == 1.0 and p.scale == 1.0:
        _rw_softmax_f64_pass(x, y, n, p, s, c, True)
    else:
        _rw_softmax_f64_pass(x, y, n, p, s, c, False)
    total = _rw_lanes_total(s, c, _RW_LANES)     # >= 1 (the max term is 1)
    # 1 / total as a double-double: inv_hi + the exact residual's quotient
    inv_hi = 1.0 / total.hi
    pr = dd_two_prod(inv_hi, total.hi)
    r = ((1.0 - pr.hi) - pr.lo) - inv_hi * total.lo
    inv_lo = r * inv_hi
    for i in range(n):
        q = dd_two_prod(y[i], inv_hi)
        y[i] = q.hi + (q.lo + y[i] * inv_lo)


cdef inline void _rw_softmax(const _rw_real* x, _rw_real* y, Py_ssize_t n,
                             double temperature, bint zero_masked_rows) noexcept nogil:
    cdef _rw_shift p
    cdef int kind
    if n <= 0:
        return
    kind = _rw_scan(x, n, &p, temperature)
    if kind < 0:
        _rw_fill(y, n, 0.0 if (kind == -2 and zero_masked_rows) else NAN)
        return
    if _rw_real is float:
        _rw_softmax_f32(x, y, n, &p)
    else:
        _rw_softmax_f64(x, y, n, &p)


# ---- log_softmax ---------------------------------------------------------------

cdef inline void _rw_log_softmax_f32(const float* x, float* y, Py_ssize_t n,
                                     const _rw_shift* p) noexcept nogil:
    cdef double s[_RW_LANES]
    cdef double k[_RW_LANES]
    cdef double s32[_RW_SUM_LANES]
    cdef double k32[_RW_SUM_LANES]
    cdef double m = p.max
    cdef double it = p.inv_temperature
    cdef double t, e, rest, count, log_sum
    cdef float mf = <float> m
    cdef float xv
    cdef Py_ssize_t b, i, nb = n - n % _RW_LANES
    cdef int j
    for j in range(_RW_LANES):
        s[j] = 0.0
        k[j] = 0.0
    # S' = sum of exp(t) over the elements below the max, k = how many equal it
    if FA_NATIVE32 and it == 1.0:
        # exp natively in float (_native32.h), summed in double (32 lanes:
        # see _rw_softmax_f32)
        nb = n - n % _RW_SUM_LANES
        for j in range(_RW_SUM_LANES):
            s32[j] = 0.0
            k32[j] = 0.0
        for b in range(0, nb, 32):
            for j in range(_RW_SUM_LANES):
                xv = x[b + j]
                e = fa_n32_row_exp(xv, mf)
                s32[j] = s32[j] + (0.0 if xv == mf else e)
                k32[j] = k32[j] + (1.0 if xv == mf else 0.0)
        for i in range(nb, n):
            j = <int> (i - nb)
            xv = x[i]
            e = fa_n32_row_exp(xv, mf)
            s32[j] = s32[j] + (0.0 if xv == mf else e)
            k32[j] = k32[j] + (1.0 if xv == mf else 0.0)
        for j in range(_RW_LANES):
            s[j] = s32[j] + s32[j + 16]
            k[j] = k32[j] + k32[j + 16]
    else:
        for b in range(0, nb, 16):
            for j in range(_RW_LANES):
                t = (<double> x[b + j] - m) * it
                e = _rw_exp_f(t)
                s[j] = s[j] + (0.0 if t == 0.0 else e)
                k[j] = k[j] + (1.0 if t == 0.0 else 0.0)
        for i in range(nb, n):
            j = <int> (i - nb)
            t = (<double> x[i] - m) * it
            e = _rw_exp_f(t)
            s[j] = s[j] + (0.0 if t == 0.0 else e)
            k[j] = k[j] + (1.0 if t == 0.0 else 0.0)
    rest = s[0]
    count = k[0]
    for j in range(1, _RW_LANES):
        rest = rest + s[j]
        count = count + k[j]
    log_sum = vm_log1p_dd((count - 1.0) + rest).hi
    for i in range(n):
        y[i] = <float> ((<double> x[i] - m) * it - log_sum)


cdef inline void _rw_log_softmax_f64_sum(const double* x, Py_ssize_t n,
                                         const _rw_shift* p, double* s, double* c,
                                         double* k, bint unit) noexcept nogil:
    cdef dd_t t, u
    cdef double e
    cdef Py_ssize_t b, i, nb = n - n % _RW_LANES
    cdef int j
    for b in range(0, nb, 16):
        for j in range(_RW_LANES):
            t = _rw_t64(x[b + j], p, unit)
            e = _rw_exp64(t)
            e = 0.0 if t.hi == 0.0 else e
            k[j] = k[j] + (1.0 if t.hi == 0.0 else 0.0)
            u = dd_two_sum(s[j], e)
            s[j] = u.hi
            c[j] = c[j] + u.lo
    for i in range(nb, n):
        j = <int> (i - nb)
        t = _rw_t64(x[i], p, unit)
        e = _rw_exp64(t)
        e = 0.0 if t.hi == 0.0 else e
        k[j] = k[j] + (1.0 if t.hi == 0.0 else 0.0)
        u = dd_two_sum(s[j], e)
        s[j] = u.hi
        c[j] = c[j] + u.lo


cdef inline void _rw_log_softmax_f64_out(const double* x, double* y, Py_ssize_t n,
                                         const _rw_shift* p, dd_t log_sum,
                                         bint unit) noexcept nogil:
    # y = (t.hi + t.lo) - (log_sum.hi + log_sum.lo) rounded once; t <= 0,
    # log_sum >= 0 (no cancellation); t = -inf gives -inf.
    cdef dd_t t, d
    cdef double r
    cdef Py_ssize_t i
    for i in range(n):
        t = _rw_t64(x[i], p, unit)
        d = dd_two_sum(t.hi, -log_sum.hi)
        r = d.hi + ((d.lo + t.lo) - log_sum.lo)
        y[i] = t.hi if t.hi == -INFINITY else r


cdef inline void _rw_log_softmax_f64(const double* x, double* y, Py_ssize_t n,
                                     const _rw_shift* p) noexcept nogil:
    cdef double s[_RW_LANES]
    cdef double c[_RW_LANES]
    cdef double k[_RW_LANES]
    cdef dd_t rest, l
    cdef double count
    cdef int j
    cdef bint unit = p.temperature == 1.0 and p.scale == 1.0
    for j in range(_RW_LANES):
        s[j] = 0.0
        c[j] = 0.0
        k[j] = 0.0
    if unit:
        _rw_log_softmax_f64_sum(x, n, p, s, c, k, True)
    else:
        _rw_log_softmax_f64_sum(x, n, p, s, c, k, False)
    count = k[0]
    for j in range(1, _RW_LANES):
        count = count + k[j]
    l = _rw_lanes_total(s, c, _RW_LANES)
    # S' + (count - 1): count - 1 is a small exact integer
    rest = dd_two_sum(count - 1.0, l.hi)
    rest = dd_fast_two_sum(rest.hi, rest.lo + l.lo)
    # log(1 + S') with S' = hi + lo: log1p(hi) + lo / (1 + hi)
    l = vm_log1p_dd(rest.hi)
    l = dd_fast_two_sum(l.hi, l.lo + rest.lo / (1.0 + rest.hi))
    if unit:
        _rw_log_softmax_f64_out(x, y, n, p, l, True)
    else:
        _rw_log_softmax_f64_out(x, y, n, p, l, False)


cdef inline void _rw_log_softmax(const _rw_real* x, _rw_real* y, Py_ssize_t n,
                                 double temperature) noexcept nogil:
    cdef _rw_shift p
    if n <= 0:
        return
    if _rw_scan(x, n, &p, temperature) < 0:
        _rw_fill(y, n, NAN)     # PyTorch: all -inf -> -inf - (-inf) = NaN
        return
    if _rw_real is float:
        _rw_log_softmax_f32(x, y, n, &p)
    else:
        _rw_log_softmax_f64(x, y, n, &p)


# ---- backward ------------------------------------------------------------------

cdef inline dd_t _rw_dot(const _rw_real* g, const _rw_real* y, Py_ssize_t n,
                         bint products) noexcept nogil:
    """sum(g * y) (products) or sum(g), compensated per lane, as a
    double-double (the plain IEEE sum if it is inf or NaN). float32
    products are exact in double."""
    cdef double s[_RW_SUM_LANES]
    cdef double c[_RW_SUM_LANES]
    cdef dd_t pr, u
    cdef double v, vl
    cdef Py_ssize_t b, i, nb = n - n % _RW_SUM_LANES
    cdef int j
    for j in range(_RW_SUM_LANES):
        s[j] = 0.0
        c[j] = 0.0
    for b in range(0, nb, 32):
        for j in range(_RW_SUM_LANES):
            if not products:
                v = g[b + j]
                vl = 0.0
            elif _rw_real is float:
                v = <double> g[b + j] * <double> y[b + j]
                vl = 0.0
            else:
                pr = dd_two_prod(g[b + j], y[b + j])
                v = pr.hi
                vl = pr.lo
            u = dd_two_sum(s[j], v)
            s[j] = u.hi
            c[j] = c[j] + (u.lo + vl)
    for i in range(nb, n):
        j = <int> (i - nb)
        if not products:
            v = g[i]
            vl = 0.0
        elif _rw_real is float:
            v = <double> g[i] * <double> y[i]
            vl = 0.0
        else:
            pr = dd_two_prod(g[i], y[i])
            v = pr.hi
            vl = pr.lo
        u = dd_two_sum(s[j], v)
        s[j] = u.hi
        c[j] = c[j] + (u.lo + vl)
    return _rw_lanes_total(s, c, _RW_SUM_LANES)


cdef inline void _rw_softmax_backward_out(const _rw_real* g, const _rw_real* y,
                                          _rw_real* gx, Py_ssize_t n, dd_t dot,
                                          double temperature, bint unit) noexcept nogil:
    cdef double d, r
    cdef double it = 1.0 / temperature
    cdef Py_ssize_t i
    for i in range(n):
        d = (<double> g[i] - dot.hi) - dot.lo
        r = <double> y[i] * d
        if not unit:
            if _rw_real is float:
                r = r * it
            else:
                r = r / temperature
        gx[i] = <_rw_real> r


cdef inline double _rw_dot_f32(const float* g, const float* y, Py_ssize_t n) noexcept nogil:
    """sum(g * y) in plain double lanes: the products are exact in double,
    and the sum's relative error, n / 32 * 2^-53, is far below float32's."""
    cdef double s[_RW_SUM_LANES]
    cdef Py_ssize_t b, i, nb = n - n % _RW_SUM_LANES
    cdef int j
    cdef double total
    for j in range(_RW_SUM_LANES):
        s[j] = 0.0
    for b in range(0, nb, 32):
        for j in range(_RW_SUM_LANES):
            s[j] = s[j] + <double> g[b + j] * <double> y[b + j]
    for i in range(nb, n):
        j = <int> (i - nb)
        s[j] = s[j] + <double> g[i] * <double> y[i]
    total = s[0]
    for j in range(1, _RW_SUM_LANES):
        total = total + s[j]
    return total


cdef inline double _rw_sum_max_f32(const float* g, const float* y, Py_ssize_t n,
                                   double* y_max) noexcept nogil:
    """sum(g) in plain double lanes, and max(y) (log_softmax's check)."""
    cdef double s[_RW_SUM_LANES]
    cdef float ym[_RW_SUM_LANES]
    cdef float v
    cdef Py_ssize_t b, i, nb = n - n % _RW_SUM_LANES
    cdef int j
    cdef double total
    cdef float top
    for j in range(_RW_SUM_LANES):
        s[j] = 0.0
        ym[j] = -INFINITY
    for b in range(0, nb, 32):
        for j in range(_RW_SUM_LANES):
            s[j] = s[j] + <double> g[b + j]
            v = y[b + j]
            ym[j] = v if v > ym[j] else ym[j]
    for i in range(nb, n):
        j = <int> (i - nb)
        s[j] = s[j] + <double> g[i]
        v = y[i]
        ym[j] = v if v > ym[j] else ym[j]
    total = s[0]
    top = ym[0]
    for j in range(1, _RW_SUM_LANES):
        total = total + s[j]
        top = ym[j] if ym[j] > top else top
    y_max[0] = top
    return total


cdef inline bint _rw_backward_f32(const float* g, const float* y, float* gx, Py_ssize_t n,
                                  bint log) noexcept nogil:
    """The float32 backward rows natively in float at temperature 1
    (_native32.h): False, and nothing written, where the row needs the double
    path (a sum outside float's range, log_softmax's y above 80)."""
    cdef double y_max = 0.0
    cdef double total = _rw_sum_max_f32(g, y, n, &y_max) if log else _rw_dot_f32(g, y, n)
    cdef float th, tl
    cdef Py_ssize_t i
    if not (fabs(total) <= 1e38) or y_max > 80.0:
        return False
    th = <float> total
    tl = <float> (total - <double> th)
    if log:
        for i in range(n):
            gx[i] = fa_n32_log_softmax_backward(g[i], y[i], th, tl)
    else:
        for i in range(n):
            gx[i] = fa_n32_softmax_backward(g[i], y[i], th, tl)
    return True


cdef inline void _rw_softmax_backward(const _rw_real* g, const _rw_real* y, _rw_real* gx,
                                      Py_ssize_t n, double temperature) noexcept nogil:
    # gx = y * (g - sum(g * y)) / T
    cdef dd_t dot
    if n <= 0:
        return
    if _rw_real is float:
        if FA_NATIVE32 and temperature == 1.0 and _rw_backward_f32(g, y, gx, n, False):
            return
    dot = _rw_dot(g, y, n, True)
    if temperature == 1.0:
        _rw_softmax_backward_out(g, y, gx, n, dot, temperature, True)
    else:
        _rw_softmax_backward_out(g, y, gx, n, dot, temperature, False)


cdef inline void _rw_log_softmax_backward_out(const _rw_real* g, const _rw_real* y,
                                              _rw_real* gx, Py_ssize_t n, dd_t total,
                                              double temperature, bint unit) noexcept nogil:
    cdef double e, el, err, r
    cdef double it = 1.0 / temperature
    cdef dd_t pr, ed
    cdef Py_ssize_t i
    for i in range(n):
        if _rw_real is float:
            # exp's own error (~5e-11 relative) dwarfs the product's rounding
            # and the sum's low part: with the exact product float64 takes,
            # the results differed only where g - exp(y)*sum(g) cancels by
            # 1e3 or more, with errors of the same size, at 1.6x the time
            r = <double> g[i] - _rw_exp_f(<double> y[i]) * total.hi
        else:
            # exp(y) as hi + lo: g - exp(y)*sum(g) cancels where g is close
            # to the product, so the rounding of exp(y) must not be kept
            ed = vm_exp_dd(y[i], 0.0)
            e = ed.hi
            el = ed.lo
            pr = dd_two_prod(e, total.hi)
            # exact error of the product, + the low parts of exp(y) and the sum
            err = pr.lo + (e * total.lo + el * total.hi)
            err = err if err - err == 0.0 else 0.0  # prod inf/NaN: plain IEEE
            r = (<double> g[i] - pr.hi) - err
        if not unit:
            if _rw_real is float:
                r = r * it
            else:
                r = r / temperature
        gx[i] = <_rw_real> r


cdef inline void _rw_log_softmax_backward(const _rw_real* g, const _rw_real* y,
                                          _rw_real* gx, Py_ssize_t n,
                                          double temperature) noexcept nogil:
    # gx = (g - exp(y) * sum(g)) / T
    cdef dd_t total
    if n <= 0:
        return
    if _rw_real is float:
        if FA_NATIVE32 and temperature == 1.0 and _rw_backward_f32(g, y, gx, n, True):
            return
    total = _rw_dot(g, y, n, False)
    if temperature == 1.0:
        _rw_log_softmax_backward_out(g, y, gx, n, total, temperature, True)
    else:
        _rw_log_softmax_backward_out(g, y, gx, n, total, temperature, False)


# ---- Jacobians --------------------------------------------------------------
# One row's n x n Jacobian from the forward's output y, each element computed
# in double and rounded once.  The columns go in blocks of _RW_JAC_BLOCK: a
# block's per-column values (y_j / T, or exp) are computed once, on the
# stack, and every line of the block copies or scales them.

cdef inline void _rw_softmax_jacobian(const _rw_real* y, _rw_real* jac, Py_ssize_t n,
                                      double temperature) noexcept nogil:
    # -y_i (y_j / T) off the diagonal, y_i (1 - y_i) / T on it: y(1 - y)
    # rather than y - y*y, exact where y is close to 1.
    cdef double scaled[_RW_JAC_BLOCK]
    cdef double diagonal[_RW_JAC_BLOCK]
    cdef Py_ssize_t b, i, j, w
    cdef double yi, yj
    cdef _rw_real* line
    for b in range(0, n, 256):
        w = min(<Py_ssize_t> _RW_JAC_BLOCK, n - b)
        for j in range(w):
            yj = y[b + j]
            scaled[j] = yj / temperature
            diagonal[j] = yj * (1.0 - yj) / temperature
        for i in range(n):
            yi = y[i]
            line = jac + i * n + b
            for j in range(w):
                line[j] = <_rw_real> -(yi * scaled[j])
            if b <= i < b + w:
                line[i - b] = <_rw_real> diagonal[i - b]


cdef inline void _rw_log_softmax_jacobian(const _rw_real* y, _rw_real* jac, Py_ssize_t n,
                                          double temperature) noexcept nogil:
    # -exp(y_j) / T off the diagonal, -expm1(y_i) / T on it (exact near y = 0);
    # every line of a block is the same row of rounded values but for its
    # diagonal element.  float32 blocks whose y all lie in [-708, 709] take
    # exp and expm1 at float32 grade (~5e-11 relative there); outside, their
    # clamps would be wrong (a temperature of 1e-300 brings exp(-800) / T
    # back into float32's range), and the block takes the double ones.
    cdef _rw_real column[_RW_JAC_BLOCK]
    cdef double diagonal[_RW_JAC_BLOCK]
    cdef Py_ssize_t b, i, j, w
    cdef double yj
    cdef uint64_t outside
    cdef _rw_real* line
    for b in range(0, n, 256):
        w = min(<Py_ssize_t> _RW_JAC_BLOCK, n - b)
        outside = 1
        if _rw_real is float:
            outside = 0
            for j in range(w):
                # (-708 <= y <= 709 as one compare: a chained one branches, unvectorized)
                outside = outside | fa_vm_bits(0.0 if fabs(y[b + j] - 0.5) <= 708.5 else 1.0)
        if outside == 0:
            for j in range(w):
                yj = y[b + j]
                column[j] = <_rw_real> (-vm_exp_f32g(yj) / temperature)
                diagonal[j] = -vm_expm1_f32g(yj) / temperature
        else:
            for j in range(w):
                yj = y[b + j]
                column[j] = <_rw_real> (-vm_exp_dd(yj, 0.0).hi / temperature)
                diagonal[j] = -vm_expm1(yj) / temperature
        for i in range(n):
            line = jac + i * n + b
            for j in range(w):
                line[j] = column[j]
            if b <= i < b + w:
                line[i - b] = <_rw_real> diagonal[i - b]


# ---- the twelve row loops of the KernelTable -------------------------------

cdef void softmax_row_f32(const char* x, char* y, Py_ssize_t n, double temperature,
                          bint zero_masked_rows) noexcept nogil:
    _rw_softmax(<const float*> x, <float*> y, n, temperature, zero_masked_rows)


cdef void softmax_row_f64(const char* x, char* y, Py_ssize_t n, double temperature,
                          bint zero_masked_rows) noexcept nogil:
    _rw_softmax(<const double*> x, <double*> y, n, temperature, zero_masked_rows)


cdef void log_softmax_row_f32(const char* x, char* y, Py_ssize_t n, double temperature,
                              bint zero_masked_rows) noexcept nogil:
    _rw_log_softmax(<const float*> x, <float*> y, n, temperature)


cdef void log_softmax_row_f64(const char* x, char* y, Py_ssize_t n, double temperature,
                              bint zero_masked_rows) noexcept nogil:
    _rw_log_softmax(<const double*> x, <double*> y, n, temperature)


cdef void softmax_backward_row_f32(const char* grad, const char* y, char* grad_x,
                                   Py_ssize_t n, double temperature) noexcept nogil:
    _rw_softmax_backward(<const float*> grad, <const float*> y, <float*> grad_x,
                         n, temperature)


cdef void softmax_backward_row_f64(const char* grad, const char* y, char* grad_x,
                                   Py_ssize_t n, double temperature) noexcept nogil:
    _rw_softmax_backward(<const double*> grad, <const double*> y, <double*> grad_x,
                         n, temperature)


cdef void log_softmax_backward_row_f32(const char* grad, const char* y, char* grad_x,
                                       Py_ssize_t n, double temperature) noexcept nogil:
    _rw_log_softmax_backward(<const float*> grad, <const float*> y, <float*> grad_x,
                             n, temperature)


cdef void log_softmax_backward_row_f64(const char* grad, const char* y, char* grad_x,
                                       Py_ssize_t n, double temperature) noexcept nogil:
    _rw_log_softmax_backward(<const double*> grad, <const double*> y, <double*> grad_x,
                             n, temperature)


cdef void softmax_jacobian_row_f32(const char* y, char* jacobian, Py_ssize_t n,
                                   double temperature) noexcept nogil:
    _rw_softmax_jacobian(<const float*> y, <float*> jacobian, n, temperature)


cdef void softmax_jacobian_row_f64(const char* y, char* jacobian, Py_ssize_t n,
                                   double temperature) noexcept nogil:
    _rw_softmax_jacobian(<const double*> y, <double*> jacobian, n, temperature)


cdef void log_softmax_jacobian_row_f32(const char* y, char* jacobian, Py_ssize_t n,
                                       double temperature) noexcept nogil:
    _rw_log_softmax_jacobian(<const float*> y, <float*> jacobian, n, temperature)


cdef void log_softmax_jacobian_row_f64(const char* y, char* jacobian, Py_ssize_t n,
                                       double temperature) noexcept nogil:
    _rw_log_softmax_jacobian(<const double*> y, <double*> jacobian, n, temperature)
