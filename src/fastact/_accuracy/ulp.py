"""The SPEC section 5 accuracy measure: ULP error against a true value.

    ULP error = |computed - exact| / ulp(exact)

where ``ulp(exact)`` is the spacing of the *output* dtype at ``|exact|`` (the
exponent is taken from the exact value itself, not from its rounding, so a value
just below a power of two uses the finer spacing), floored at the dtype's
smallest subnormal.

How to pass the exact values
----------------------------
A float64 array cannot carry the true value of a float64 result, so ``exact``
may be any of:

* a pair ``(hi, lo)`` of float64 arrays (double-double: exact = hi + lo with
  ``|lo| <= ulp(hi)``), good to ~106 bits -- use ``to_pair`` to make one;
* a sequence / object array of ``mpmath.mpf`` values (as ``fastact._accuracy.mpref``
  returns).  They are converted to a pair, except that float64 outputs whose
  exact value is below 2**-1000 in magnitude are measured directly in mpmath
  (a pair cannot resolve fractions of a float64 subnormal);
* a plain float64 array (or Python floats): accepted only for float32 outputs
  (SPEC: float64 is an acceptable "exact" for float32 where it is itself within
  1 ULP).  For a float64 output, a plain array raises TypeError: if the values
  are really exact (relu, hardsigmoid, ...), say so by passing ``(a, 0 * a)``.

Special values (per element)
----------------------------
* computed and exact both NaN -> 0; exactly one NaN -> inf.
* An exact value whose magnitude rounds to infinity in the output dtype counts
  as that infinity (the correctly rounded result is inf).
* computed and exact the same infinity -> 0; any other case with an infinity
  -> inf.
* Signed zeros are not distinguished (-0.0 vs +0.0 is 0 error).
* A finite error too large for float64 (e.g. 1e-10 off where ulp is the
  smallest subnormal) is reported as inf as well.

The near-zero rule
------------------
SPEC: "within 0.05 of a zero of the derivative: abs <= 4 eps" (eps = the
output dtype's machine epsilon).  ``abs_error_near_zero`` gives the absolute
error in units of eps at inputs within ``radius`` of one of the given zeros and
+inf elsewhere, so that a point passes if ``ulp_error <= limit`` OR
``abs_error_near_zero <= 4``.  ``check`` applies the whole rule and returns a
``Verdict`` that names the worst element.
"""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "LIMITS",
    "NEAR_ZERO_RADIUS",
    "NEAR_ZERO_ABS_EPS",
    "to_pair",
    "ulp",
    "ulp_error",
    "abs_error",
    "near_zero_mask",
    "abs_error_near_zero",
    "check",
    "Verdict",
]

#: SPEC section 5 bounds in ULP, by kind.
LIMITS = {"forward": 2.0, "derivative": 4.0, "backward": 4.0, "softmax": 4.0}
NEAR_ZERO_RADIUS = 0.05
NEAR_ZERO_ABS_EPS = 4.0

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in _FLOATS:
        raise TypeError(f"output dtype must be float32 or float64, not {dt}")
    return dt


def _params(dt):
    fi = np.finfo(dt)
    p = fi.nmant + 1  # precision in bits (24, 53)
    emin = fi.minexp  # smallest normal is 2**emin (-126, -1022)
    sub_exp = emin - (p - 1)  # smallest subnormal is 2**sub_exp
    emax = fi.maxexp  # max finite < 2**emax (128, 1024)
    return p, sub_exp, emax


def _is_mpf(v):
    return type(v).__name__ in ("mpf", "constant") or hasattr(v, "_mpf_")


def _is_pair(exact):
    """A (hi, lo) tuple of float arrays -- not a 2-tuple of mpf values."""
    return (
        isinstance(exact, tuple)
        and len(exact) == 2
        and not any(_is_mpf(v) for v in exact)
    )


def to_pair(values):
    """mpf values (or anything mpmath accepts) -> (hi, lo) float64 arrays."""
    import mpmath

    vals = list(np.asarray(values, dtype=object).ravel())
    shape = np.shape(values) if not isinstance(values, np.ndarray) else values.shape
    hi = np.empty(len(vals))
    lo = np.empty(len(vals))
    with mpmath.mp.workprec(max(mpmath.mp.prec, 160)):
        for i, v in enumerate(vals):
            v = mpmath.mpf(v)
            h = float(v)
            hi[i] = h
            if mpmath.isnan(v) or mpmath.isinf(v) or not np.isfinite(h):
                lo[i] = 0.0
            else:
                lo[i] = float(v - h)
    return hi.reshape(shape), lo.reshape(shape)


def _normalize(exact, dt, computed_shape):
    """-> (hi, lo, mp_values_or_None) all broadcast to computed_shape."""
    mp_vals = None
    if _is_pair(exact):
        hi = np.asarray(exact[0], dtype=np.float64)
        lo = np.asarray(exact[1], dtype=np.float64)
    else:
        arr = np.asarray(exact, dtype=object) if not isinstance(exact, np.ndarray) else exact
        flat = arr.ravel() if arr.dtype == object else None
        if flat is not None and flat.size and any(_is_mpf(v) for v in flat):
            mp_vals = np.asarray(exact, dtype=object)
            hi, lo = to_pair(mp_vals)
        else:
            hi = np.asarray(exact, dtype=np.float64)
            if dt == np.float64:
                raise TypeError(
                    "a float64 array cannot carry the exact value of a float64 "
                    "result: pass (hi, lo), mpmath values, or (a, 0*a) if the "
                    "values are exactly representable"
                )
            lo = np.zeros_like(hi)
    hi = np.broadcast_to(hi, computed_shape)
    lo = np.broadcast_to(np.where(np.isfinite(hi), lo, 0.0), computed_shape)
    if mp_vals is not None:
        mp_vals = np.broadcast_to(mp_vals, computed_shape)
    return hi, lo, mp_vals


def _exact_exponent(hi, lo):
    """e such that 2**(e-1) <= |hi + lo| < 2**e (for finite nonzero hi)."""
    m, e = np.frexp(hi)
    # hi a power of two and lo pulling toward zero: exact is in the binade below.
    down = (np.abs(m) == 0.5) & (lo != 0) & (np.sign(lo) != np.sign(hi))
    return e - down.astype(e.dtype)


def ulp(exact, dtype):
    """Spacing of ``dtype`` at |exact| (floored at the smallest subnormal).

    ``exact``: (hi, lo) pair, mpf values, or float64 values (taken as exact).
    Values beyond the largest finite number get the spacing at the top binade.
    """
    dt = _dtype(dtype)
    if not _is_pair(exact):
        arr = np.asarray(exact, dtype=object)
        if arr.size and any(_is_mpf(v) for v in arr.ravel()):
            exact = to_pair(arr)
        else:
            a = np.asarray(exact, dtype=np.float64)
            exact = (a, np.zeros_like(a))
    hi, lo = (np.asarray(v, dtype=np.float64) for v in exact)
    return _ulp_pair(hi, lo, dt)


def _ulp_pair(hi, lo, dt):
    p, sub_exp, emax = _params(dt)
    finite = np.isfinite(hi) & (hi != 0)
    e = np.where(finite, _exact_exponent(np.where(finite, hi, 1.0), lo), sub_exp)
    e = np.minimum(e, emax)
    return np.ldexp(1.0, np.maximum(e - p, sub_exp).astype(np.int64))


def _rounds_to_inf(hi, lo, dt):
    """|hi + lo| >= max + ulp(max)/2, i.e. rounds to infinity in dtype."""
    p, _, emax = _params(dt)
    with np.errstate(over="ignore", invalid="ignore"):
        # 2**emax * (1 - 2**-(p+1)); inf for float64 (any finite hi is finite)
        threshold = np.ldexp(2.0 - 2.0 ** (-p), emax - 1)
        a = np.abs(hi)
        return np.isfinite(hi) & ((a > threshold) | ((a == threshold) & (lo * np.sign(hi) >= 0)))


def _special(c, hi, lo, dt):
    """(handled_mask, error_for_handled) for NaN/inf cases; exact hi may be adjusted."""
    ex_inf = np.isinf(hi) | _rounds_to_inf(hi, lo, dt)
    ex_sign = np.sign(hi)
    c_nan = np.isnan(c)
    e_nan = np.isnan(hi)
    c_inf = np.isinf(c)
    handled = c_nan | e_nan | c_inf | ex_inf
    err = np.full(c.shape, np.inf)
    err[c_nan & e_nan] = 0.0
    same_inf = c_inf & ex_inf & (np.sign(c) == ex_sign)
    err[same_inf] = 0.0
    return handled, err


def _prepare(computed, exact, dtype):
    """What both error measures start from: computed in float64, the output
    dtype, exact as (hi, lo) (and the mpf values, if given), the mask of the
    finite cases left to measure and the error array with the special cases
    (NaN/inf/zero rules) already filled in."""
    c_arr = np.asarray(computed)
    dt = _dtype(dtype if dtype is not None else c_arr.dtype)
    c = c_arr.astype(np.float64)
    hi, lo, mp_vals = _normalize(exact, dt, c.shape)
    handled, err = _special(c, hi, lo, dt)
    return c, dt, hi, lo, mp_vals, ~handled, err


def ulp_error(computed, exact, dtype=None):
    """Per-element ULP error of ``computed`` against ``exact`` (float64 array).

    ``dtype``: the output dtype whose ULP is the unit (default: computed's).
    ``exact``: see the module docstring ((hi, lo), mpf values, or float64 for
    float32 outputs).
    """
    c, dt, hi, lo, mp_vals, fin, err = _prepare(computed, exact, dtype)
    if np.any(fin):
        u = _ulp_pair(hi[fin], lo[fin], dt)
        with np.errstate(over="ignore", invalid="ignore"):
            d = (c[fin] - hi[fin]) - lo[fin]
            err[fin] = np.abs(d) / u
    if mp_vals is not None and dt == np.float64:
        tiny = fin & (np.abs(hi) < 2.0**-1000)
        if np.any(tiny):
            err[tiny] = _mp_ulp_error(c[tiny], mp_vals[tiny], dt)
    return err


def _mp_ulp_error(c, vals, dt):
    """Exact ULP error for finite values, computed in mpmath."""
    import mpmath

    p, sub_exp, _ = _params(dt)
    out = np.empty(len(c))
    with mpmath.mp.workprec(max(mpmath.mp.prec, 200)):
        for i, (ci, v) in enumerate(zip(c, vals)):
            v = mpmath.mpf(v)
            if v == 0:
                e = sub_exp
            else:
                _, ev = mpmath.frexp(v)  # |v| in [2**(ev-1), 2**ev)
                e = max(int(ev) - p, sub_exp)
            out[i] = float(abs(mpmath.mpf(float(ci)) - v) * mpmath.ldexp(1, -e))
    return out


def abs_error(computed, exact, dtype=None):
    """Per-element |computed - exact| in float64, with the same NaN/inf rules."""
    c, dt, hi, lo, _, fin, err = _prepare(computed, exact, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        err[fin] = np.abs((c[fin] - hi[fin]) - lo[fin])
    return err


def near_zero_mask(x, zeros, radius=NEAR_ZERO_RADIUS):
    """True where the input x lies within ``radius`` of one of ``zeros``."""
    x = np.asarray(x, dtype=np.float64)
    mask = np.zeros(x.shape, dtype=bool)
    for z in zeros:
        mask |= np.abs(x - float(z)) <= radius
    return mask


def abs_error_near_zero(computed, exact, x, zeros, dtype=None, radius=NEAR_ZERO_RADIUS):
    """|computed - exact| / eps(dtype) where x is within ``radius`` of a zero
    of the derivative (``zeros``: floats or mpf), +inf at the other points (the
    relaxation does not apply there).  SPEC bound: <= 4 (NEAR_ZERO_ABS_EPS).
    """
    c_arr = np.asarray(computed)
    dt = _dtype(dtype if dtype is not None else c_arr.dtype)
    err = abs_error(c_arr, exact, dt) / np.finfo(dt).eps
    return np.where(near_zero_mask(x, zeros, radius), err, np.inf)


@dataclass
class Verdict:
    """Outcome of ``check``: per-element errors and the worst element."""

    ok: bool
    ulp: np.ndarray  # per-element ULP error
    abs_eps: np.ndarray  # abs error / eps near derivative zeros, inf elsewhere
    passed: np.ndarray  # per-element verdict
    worst: int  # flat index of the worst element (largest ulp/limit among failures, or overall)
    limit: float
    dtype: np.dtype

    @property
    def max_ulp(self):
        return float(np.max(self.ulp)) if self.ulp.size else 0.0

    def describe(self, x, computed, exact_hi=None, label=""):
        """One line naming the worst element: input, expected, got, ULP error."""
        if not self.ulp.size:
            return f"{label}: no elements"
        i = self.worst
        xi = float(np.asarray(x).ravel()[i]) if x is not None else None
        ci = float(np.asarray(computed).ravel()[i])
        ei = None if exact_hi is None else float(np.asarray(exact_hi).ravel()[i])
        nbad = int(np.count_nonzero(~self.passed))
        s = (
            f"{label} [{self.dtype}]: {nbad}/{self.passed.size} elements over the "
            f"limit ({self.limit:g} ULP); worst at x={xi!r}: expected {ei!r}, got "
            f"{ci!r}, error {self.ulp.ravel()[i]:.4g} ULP"
        )
        if np.isfinite(self.abs_eps.ravel()[i]):
            s += f" (abs {self.abs_eps.ravel()[i]:.4g} eps near a zero of f')"
        return s


def check(computed, exact, kind="forward", x=None, zeros=(), dtype=None, scale=1):
    """Apply the SPEC section 5 rule for ``kind`` ('forward', 'derivative',
    'backward', 'softmax').  For derivatives/backward, points of ``x`` within
    0.05 of one of ``zeros`` also pass if their abs error is <= 4 eps.
    ``scale`` multiplies both bounds (for yardsticks held to a looser rule).
    """
    c_arr = np.asarray(computed)
    dt = _dtype(dtype if dtype is not None else c_arr.dtype)
    limit = LIMITS[kind] * scale
    abs_limit = NEAR_ZERO_ABS_EPS * scale
    u = ulp_error(c_arr, exact, dt).ravel()
    if kind in ("derivative", "backward") and x is not None and len(zeros):
        a = abs_error_near_zero(c_arr, exact, x, zeros, dt).ravel()
    else:
        a = np.full(u.shape, np.inf)
    passed = (u <= limit) | (a <= abs_limit)
    score = np.minimum(u / limit, a / abs_limit)
    if u.size:
        with np.errstate(invalid="ignore"):
            worst = int(np.argmax(np.where(np.isnan(score), np.inf, score)))
    else:
        worst = 0
    return Verdict(bool(np.all(passed)), u, a, passed, worst, limit, dt)
