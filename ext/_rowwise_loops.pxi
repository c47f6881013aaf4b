# Row-wise loops: softmax, log_softmax and their backward passes, ONE row each.
#
# Included by _kernels.pyx.tp (after ``from _kernel_table cimport *``). The
# driver loops over rows and threads; a row is never split, so every result is
# the same whatever the thread count. The eight public functions at the bottom
# have the row_loop / row_backward_loop signatures of _kernel_table.pxd; each
# casts its untyped pointers and calls ONE algorithm, written once for both
# dtypes through the fused type ``_rw_real``. float32 is widened to double on
# load and rounded once on store, so it gets the float64 algorithm (~0.5 ULP).
#
# In-place use: the output may be the SAME buffer as an input (softmax(x,
# out=x); grad_x may be grad or y). Every pass reads element i before it writes
# element i and never reads an input again after writing it, so that works.
#
# Accuracy (SPEC section 5, <= 4 ULP per element on rows up to 65536) needs more
# than "subtract the max, exp, sum, divide" in float64:
#
# * t = (x - max) / T is not exact, and exp(t) turns an absolute error in t
#   into the same relative error in the result, i.e. |t|/2 ULP: ~350 ULP at
#   t = -700. So t is carried as a double-double hi + lo: TwoSum gives the exact
#   error of x - max, fma(-q, T, z) the exact remainder of the division, and
#   exp(hi + lo) = exp(hi) * (1 + lo) to first order (lo is ~1e-16 * |hi|).
# * A 65536-term sum accumulates up to sqrt(n)..n rounding errors; every sum
#   and dot product is compensated (TwoSum into a running error term, and for
#   products the fma error too): relative error ~1 eps whatever n.
# * log_softmax = t - log(S) with S = 1 + S', S' = sum of exp(t) over all but
#   ONE max element. The max element's result is -log(S), tiny when S' is tiny;
#   log(1 + S') rounds 1 + S' first and loses it, so log(S) = log1p(S'), and S'
#   is kept as a double-double (log1p(hi) + lo / (1 + hi)).
# * softmax divides by the double-double sum with one correction step (exact
#   remainder by fma), so the rounding of the sum adds no error (worst case
#   ~2.2 ULP instead of ~2.9).
# * softmax_backward: g - sum(g*y) cancels where g is close to the dot product;
#   the dot product is a double-double and g - hi is exact there (Sterbenz),
#   so only the final roundings remain.
#
# Special rows, found in the max pass (no per-element data-dependent branches
# elsewhere, only selects that drop an error term that would be inf - inf):
#   NaN anywhere, or any +inf -> NaN row (PyTorch: inf - inf); all -inf -> NaN
#   row, or zeros with zero_masked_rows (softmax only; log_softmax gives NaN).
#   A -inf element gives softmax 0 and log_softmax -inf.
#   If max - min overflows (finite values of both signs near DBL_MAX; float64
#   only), x and max are halved first and t doubled at the end, so t is -inf
#   only when (x - max) / T really is below -DBL_MAX.
#
# Build note: TwoSum is destroyed by value-changing optimisation; never compile
# this with -ffast-math / -fassociative-math / -funsafe-math-optimizations.
# -fno-math-errno -fno-trapping-math are fine; -ffp-contract=fast is harmless
# here (it only fuses e + e*lo and y*d into more accurate fmas).

from libc.math cimport exp, log1p, fma, isfinite, INFINITY, NAN

ctypedef fused _rw_real:
    float
    double

cdef extern from "float.h":
    const double DBL_MAX


cdef struct _rw_dd:
    # an unevaluated sum hi + lo with |lo| <= ulp(hi) / 2 (roughly)
    double hi
    double lo


cdef struct _rw_acc:
    # compensated accumulator: the sum is s + c, c collects the exact error of
    # every addition into s (Ogita-Rump-Oishi Sum2 / Dot2)
    double s
    double c


cdef struct _rw_shift:
    # what t = (x - max) / T needs, fixed for one row
    double scaled_max     # max * scale
    double scale          # 1, or 0.5 when max - min overflows
    double unscale        # 1 / scale
    double temperature


cdef inline _rw_dd _rw_two_sum(double a, double b) noexcept nogil:
    """a + b = hi + lo exactly (Knuth's TwoSum, no condition on |a|, |b|)."""
    cdef _rw_dd r
    cdef double bb
    r.hi = a + b
    bb = r.hi - a
    r.lo = (a - (r.hi - bb)) + (b - bb)
    return r


cdef inline void _rw_acc_add(_rw_acc* acc, double v) noexcept nogil:
    cdef _rw_dd t = _rw_two_sum(acc.s, v)
    acc.s = t.hi
    acc.c += t.lo


cdef inline void _rw_acc_add_product(_rw_acc* acc, double a, double b) noexcept nogil:
    cdef double p = a * b
    _rw_acc_add(acc, p)
    acc.c += fma(a, b, -p)          # exact error of the product


cdef inline _rw_dd _rw_acc_result(const _rw_acc* acc) noexcept nogil:
    """The sum as a normalised double-double. If it is inf or NaN the error
    term is meaningless (inf - inf); the plain IEEE sum is returned then."""
    cdef _rw_dd r
    if not isfinite(acc.s):
        r.hi = acc.s
        r.lo = 0.0
        return r
    r.hi = acc.s + acc.c
    r.lo = acc.c - (r.hi - acc.s)
    return r


cdef inline double _rw_div_dd(double a, _rw_dd b) noexcept nogil:
    """a / (b.hi + b.lo) rounded once (b finite, > 0): one Newton correction
    with the exact remainder fma(-q, b.hi, a)."""
    cdef double q = a / b.hi
    return q + (fma(-q, b.hi, a) - q * b.lo) / b.hi


cdef inline _rw_dd _rw_scaled_diff(double x, const _rw_shift* p) noexcept nogil:
    """t = (x - max) / T as a double-double."""
    cdef _rw_dd z = _rw_two_sum(x * p.scale, -p.scaled_max)
    cdef double q = z.hi / p.temperature
    cdef double lo = (fma(-q, p.temperature, z.hi) + z.lo) / p.temperature
    cdef _rw_dd t
    t.hi = q * p.unscale
    t.lo = lo * p.unscale
    if t.hi == -INFINITY:
        t.lo = 0.0          # exp(t) = 0 exactly; the error terms are NaN/inf here
    return t


cdef inline double _rw_exp_dd(_rw_dd t) noexcept nogil:
    """exp(hi + lo) = exp(hi) * (1 + lo) + O(lo^2)."""
    cdef double e = exp(t.hi)
    return e + e * t.lo


cdef inline double _rw_sub_dd(_rw_dd t, _rw_dd u) noexcept nogil:
    """(t.hi + t.lo) - (u.hi + u.lo) rounded once (u finite, u.hi >= 0, t.hi <= 0)."""
    cdef _rw_dd d = _rw_two_sum(t.hi, -u.hi)
    if t.hi == -INFINITY:
        return t.hi
    return d.hi + ((d.lo + t.lo) - u.lo)


cdef inline Py_ssize_t _rw_scan(const _rw_real* x, Py_ssize_t n,
                                _rw_shift* p, double temperature) noexcept nogil:
    """The max pass. Returns the index of the first max element, or -1 for a
    NaN row (NaN or +inf present), -2 for a fully masked row (all -inf).
    Fills p for the other passes."""
    cdef double m = x[0]
    cdef double lowest = INFINITY          # smallest finite element
    cdef double v
    cdef Py_ssize_t i, imax = 0
    cdef bint nan_seen = False
    for i in range(n):
        v = x[i]
        if v > m:
            m = v
            imax = i
        if v != v:
            nan_seen = True
        if -INFINITY < v < lowest:
            lowest = v
    if nan_seen or m == INFINITY:
        return -1
    if m == -INFINITY:
        return -2
    p.scale = 1.0
    if m - lowest > DBL_MAX:                # x - max would overflow
        p.scale = 0.5
    p.unscale = 1.0 / p.scale
    p.scaled_max = m * p.scale
    p.temperature = temperature
    return imax


cdef inline void _rw_fill(_rw_real* y, Py_ssize_t n, double value) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[i] = <_rw_real> value


cdef inline void _rw_sum_exp(const _rw_real* x, Py_ssize_t start, Py_ssize_t stop,
                             const _rw_shift* p, _rw_acc* acc) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        _rw_acc_add(acc, _rw_exp_dd(_rw_scaled_diff(x[i], p)))


cdef inline void _rw_softmax(const _rw_real* x, _rw_real* y, Py_ssize_t n,
                             double temperature, bint zero_masked_rows) noexcept nogil:
    cdef _rw_shift p
    cdef _rw_acc acc
    cdef _rw_dd total
    cdef double e
    cdef Py_ssize_t i, imax
    if n <= 0:
        return
    imax = _rw_scan(x, n, &p, temperature)
    if imax < 0:
        _rw_fill(y, n, 0.0 if (imax == -2 and zero_masked_rows) else NAN)
        return
    # exp(t) stored in y (exact in float64; float32 rounds it once here and
    # once more below: <= 1 ULP) while summing.
    acc.s = 0.0
    acc.c = 0.0
    for i in range(n):
        e = _rw_exp_dd(_rw_scaled_diff(x[i], &p))
        y[i] = <_rw_real> e
        _rw_acc_add(&acc, e)
    total = _rw_acc_result(&acc)        # >= 1 (the max term is exactly 1)
    for i in range(n):
        y[i] = <_rw_real> _rw_div_dd(y[i], total)


cdef inline void _rw_log_softmax(const _rw_real* x, _rw_real* y, Py_ssize_t n,
                                 double temperature) noexcept nogil:
    cdef _rw_shift p
    cdef _rw_acc acc
    cdef _rw_dd rest, log_sum
    cdef Py_ssize_t i, imax
    if n <= 0:
        return
    imax = _rw_scan(x, n, &p, temperature)
    if imax < 0:
        _rw_fill(y, n, NAN)     # PyTorch: all -inf -> -inf - (-inf) = NaN
        return
    # S' = sum of exp(t) over every element but x[imax] (whose exp(t) is 1)
    acc.s = 0.0
    acc.c = 0.0
    _rw_sum_exp(x, 0, imax, &p, &acc)
    _rw_sum_exp(x, imax + 1, n, &p, &acc)
    rest = _rw_acc_result(&acc)
    # log(1 + S') with S' = hi + lo: log1p(hi) + lo / (1 + hi)
    log_sum.hi = log1p(rest.hi)
    log_sum.lo = rest.lo / (1.0 + rest.hi)
    for i in range(n):
        y[i] = <_rw_real> _rw_sub_dd(_rw_scaled_diff(x[i], &p), log_sum)


cdef inline void _rw_softmax_backward(const _rw_real* g, const _rw_real* y, _rw_real* gx,
                                      Py_ssize_t n, double temperature) noexcept nogil:
    # gx = y * (g - sum(g * y)) / T
    cdef _rw_acc acc
    cdef _rw_dd dot
    cdef double d
    cdef Py_ssize_t i
    acc.s = 0.0
    acc.c = 0.0
    for i in range(n):
        _rw_acc_add_product(&acc, g[i], y[i])
    dot = _rw_acc_result(&acc)
    for i in range(n):
        d = (<double> g[i] - dot.hi) - dot.lo
        gx[i] = <_rw_real> ((<double> y[i] * d) / temperature)


cdef inline void _rw_log_softmax_backward(const _rw_real* g, const _rw_real* y,
                                          _rw_real* gx, Py_ssize_t n,
                                          double temperature) noexcept nogil:
    # gx = (g - exp(y) * sum(g)) / T
    cdef _rw_acc acc
    cdef _rw_dd total
    cdef double e, prod, err
    cdef Py_ssize_t i
    acc.s = 0.0
    acc.c = 0.0
    for i in range(n):
        _rw_acc_add(&acc, g[i])
    total = _rw_acc_result(&acc)
    for i in range(n):
        e = exp(<double> y[i])
        prod = e * total.hi
        err = fma(e, total.hi, -prod) + e * total.lo    # exact error of prod, + lo part
        if not isfinite(err):
            err = 0.0       # prod is inf/NaN: plain IEEE semantics
        gx[i] = <_rw_real> (((<double> g[i] - prod) - err) / temperature)


# ---- the eight row loops of the KernelTable --------------------------------

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
