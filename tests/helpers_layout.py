"""Helpers shared by test_reference_layouts.py and test_properties.py.

* ``LAYOUTS`` / ``make_layout``: the same VALUES as a contiguous array, laid out
  in memory differently (strided view, transposed, negative strides, data at
  an odd byte offset), so the expected values do not depend on the layout.
* ``tolerance`` / ``assert_matches``: the SPEC section 5 comparison of a fastact
  result against ``fastact.reference`` (computed in float64): ULP of the
  output dtype, OR'ed with an absolute floor of a few eps (scaled by the size
  of the terms the formula combines), plus, for float64 only, the documented
  slack where the float64 reference itself is only approximately accurate.
"""
import numpy as np


EPS_FLOOR = 4.0  # SPEC 5: "abs <= 4 eps" near zeros of the derivative

# --------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------

SENTINEL = 1.0e30  # fills the gaps of strided views: reading one shows up


def _contiguous(a):
    return np.array(a, order="C", copy=True)  # (ascontiguousarray makes 0-d 1-d)


def _strided_last(a):
    """Every other element along the last axis of a bigger buffer."""
    big = np.full(a.shape[:-1] + (2 * a.shape[-1],), SENTINEL, dtype=a.dtype)
    view = big[..., ::2]
    view[...] = a
    return view


def _strided_first(a):
    """Every other element along the first axis of a bigger buffer."""
    big = np.full((2 * a.shape[0],) + a.shape[1:], SENTINEL, dtype=a.dtype)
    view = big[::2]
    view[...] = a
    return view


def _transposed(a):
    """Same values, Fortran order (a transpose of a C-contiguous buffer)."""
    t = np.ascontiguousarray(a.T).T
    assert t.ndim < 2 or not t.flags.c_contiguous or t.size <= 1
    return t


def _negative(a):
    """Same values, negative strides on every axis."""
    rev = (slice(None, None, -1),) * a.ndim
    return a[rev].copy()[rev]


def _unaligned(a):
    """Same values in a buffer starting at an odd byte offset (not aligned)."""
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


LAYOUTS = {
    "contiguous": _contiguous,
    "strided": _strided_last,
    "strided_outer": _strided_first,
    "transposed": _transposed,
    "negative": _negative,
    "unaligned": _unaligned,
}


def layout_applies(layout, ndim):
    """Whether a layout differs from plain contiguity for arrays of ndim."""
    if layout in ("contiguous", "unaligned"):
        return True
    if layout in ("strided", "negative"):
        return ndim >= 1
    return ndim >= 2  # strided_outer, transposed


def make_layout(a, layout):
    """An ndarray with the values of ``a`` in the given memory layout."""
    a = np.asarray(a)
    if not layout_applies(layout, a.ndim):
        return _contiguous(a)  # e.g. a 1-d prelu weight next to a 3-d x
    out = LAYOUTS[layout](a)
    assert out.shape == a.shape and out.dtype == a.dtype
    np.testing.assert_array_equal(out, a)
    return out


# --------------------------------------------------------------------------
# Tolerances
# --------------------------------------------------------------------------


def ulp_of(exact, dtype):
    """Spacing of ``dtype`` at |exact| (float64 values), floored at the smallest subnormal."""
    fi = np.finfo(dtype)
    a = np.abs(np.asarray(exact, dtype=np.float64))
    finite = np.isfinite(a) & (a != 0)
    _, e = np.frexp(np.where(finite, a, 1.0))
    u = np.ldexp(1.0, (e - (fi.nmant + 1)).astype(np.int64))
    return np.where(finite, np.maximum(u, float(fi.smallest_subnormal)), float(fi.smallest_subnormal))


def scaled_product(*factors):
    """|f1| * |f2| * ... in float64, rounded once at the end: no intermediate
    overflow or underflow (a tolerance such as 4 eps * |grad_output| * |up| with
    grad_output = 5e-324 and up = -1e300 is 4.4e-39, not the 0 that
    (4 eps * 5e-324) * 1e300 gives, nor the inf of 4 eps * (1e300 * 1e300) * 1e-300).

    Mantissas (frexp, in [0.5, 1)) are multiplied, exponents added, and ldexp
    rounds the result (to a subnormal, 0 or inf only if the exact product is
    there). 0 * inf and NaN factors give NaN, as the plain product does.
    """
    mant, expo = np.float64(1.0), np.int64(0)
    with np.errstate(all="ignore"):
        for f in factors:
            m, e = np.frexp(np.abs(np.asarray(f, dtype=np.float64)))
            mant = mant * m
            expo = expo + e.astype(np.int64)
        # ldexp takes a C int exponent; clip far beyond the float64 range (the
        # mantissa product is >= 2**-len(factors), so the result is still 0 / inf)
        return np.ldexp(mant, np.clip(expo, -5000, 5000).astype(np.int32))


def _limit(case):
    if case.info.kind == "rowwise":
        return 4.0  # SPEC 5: softmax / log_softmax elements, and their derivatives
    return 2.0 if case.mode == "forward" else 4.0


def _gelu_tanh_two_z(x):
    return 2 * 0.7978845608028654 * (x + 0.044715 * (x * x * x))


# Zeros of the derivative (in the activation's own argument u), for the SPEC 5
# rule "within 0.05 of a zero of the derivative: abs <= 4 eps".
_SILU_DERIVATIVE_ZERO = -1.278464542761074
DERIVATIVE_ZEROS = {
    "gelu": {"none": [-0.7517915246935645], "tanh": [-0.7524614220710163]},
    "silu": [_SILU_DERIVATIVE_ZERO],
    "mish": [-1.1924312145154956],
    "hardswish": [-1.5],
}
NEAR_ZERO_RADIUS = 0.05


def derivative_zeros(name, params):
    """x positions of the zeros of the derivative of elementwise ``name``."""
    if name in ("gelu", "geglu"):
        return DERIVATIVE_ZEROS["gelu"][params.get("approximate", "none")]
    if name in ("silu", "swiglu"):
        return DERIVATIVE_ZEROS["silu"]
    if name == "swish":
        return [_SILU_DERIVATIVE_ZERO / float(params.get("beta", 1.0))]
    return DERIVATIVE_ZEROS.get(name, [])


def _near_zeros(x, zeros):
    mask = np.zeros(np.shape(x), dtype=bool)
    for z in zeros:
        mask |= np.abs(x - z) <= NEAR_ZERO_RADIUS
    return mask


REF64_ULP = 2.0  # fastact.reference's own float64 error, ~2 ULP (its docstring)
# exact gelu's reference takes Phi from math.erfc, i.e. libm's erfc: in older glibc not
# correctly rounded (up to 3.2 ULP measured on glibc 2.36 over 15 000 samples,
# 2.6 ULP of Phi), which REF64_ULP alone does not cover. E.g. geglu(-1.7402112820687337,
# -0.0457797475595255): kernel 0.96 ULP, reference 4.04 ULP from mpmath.
REF64_ERFC_ULP = 2.0
REF64_CANCEL = 4.0  # float64 floor, in eps times the magnitude of the cancelling terms


def _sigmoid(u):
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + e), e / (1 + e))


def _derivative_terms(name, p, x):
    """Sum of |terms| of the formula of f'(x) (elementwise ``name``), or None.

    Where f' is a sum of terms of opposite signs, f'(x) computed in float64 (by
    the reference as well as by the kernel) has an absolute error of a few eps
    times this sum, also outside SPEC's 0.05 radius around the zero of f'.
    """
    with np.errstate(all="ignore"):
        if name in ("gelu", "geglu"):
            if p.get("approximate", "none") == "tanh":
                two_z = _gelu_tanh_two_z(x)
                two_dz = 2 * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x)
                s = _sigmoid(two_z)
                return s + np.abs(x * two_dz * s * _sigmoid(-two_z))
            phi = np.exp(-x * x / 2) * 0.3989422804014327
            return _normal_cdf(x) + np.abs(x) * phi
        if name in ("silu", "swiglu", "swish"):
            u = x * float(p.get("beta", 1.0))
            return _sigmoid(u) * (1 + np.abs(u) * _sigmoid(-u))
        if name == "mish":
            sp = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
            return np.tanh(sp) + np.abs(x) * _sigmoid(x) / np.cosh(sp) ** 2
        if name == "hardswish":
            return np.abs(x) / 3 + 0.5
    return None


def _normal_cdf(x):
    """Phi(x) (only a magnitude is needed here)."""
    from math import erfc
    return np.vectorize(erfc, otypes=[float])(-np.asarray(x, dtype=np.float64) / np.sqrt(2)) / 2


def tolerance(case, arrays64, dtype):
    """(limit_ulp, slack_ulp[k], abs_floor[k]) for each output k.

    An element passes if its ULP error (against the float64 reference) is at
    most limit_ulp + slack_ulp, or its absolute error at most abs_floor.

    ``arrays64``: the case's positional arrays in float64 (contiguous); for the
    row-wise cases the row axis must be the last one.
    ``limit_ulp``: the SPEC section 5 bound (2 forward, 4 derivative/backward,
    4 row-wise).
    ``abs_floor`` (both dtypes) is nonzero only where cancellation is inherent,
    so that a value that underflows in a tail is still caught: within 0.05 of a
    zero of f', 4 eps (SPEC 5), times |grad_output| for a backward and |up| for
    the gated d_gate; for the row-wise backward, 4 eps times the terms whose
    difference is taken (y * (|g| + sum|g*y|) / T for softmax,
    (|g| + exp(y) * sum|g|) / T for log_softmax: the rounding error of a sum is
    proportional to the sum of the magnitudes of its terms); for the Jacobian
    diagonal (y - y*y, 1 - exp(y)), 4 eps / T within 0.05 of its zero.

    FLOAT64 ONLY, the reference is not an exact value, so its own error is
    added (never for float32, where it is ~2**29 times below the output's ULP):
    * slack REF64_ULP = 2 ULP everywhere (the reference's documented accuracy;
      e.g. gelu(-3.2755): kernel 1.2 ULP, reference 1.8 ULP from mpmath);
    * where an argument is computed and then exponentiated (fastact.reference
      docstring), |u| ULP per rounding of u: swish with beta != 1 (u = beta*x,
      one rounding), gelu tanh (u = 2z = 2 sqrt(2/pi)(x + 0.044715 x^3), four
      roundings: 4|2z|; e.g. gelu_tanh(-4.177): kernel 0.13 ULP, reference 16.9),
      softmax ((x - max)/T: |z|, or 2|z| when T != 1 adds a division), and
      log_softmax's max element -log1p(sum exp(z_j)) (max |z_j| of its row);
    * exact gelu / geglu: REF64_ERFC_ULP more for libm's erfc inside Phi;
    * where f' is a sum of terms of opposite signs (gelu', silu', swish', mish',
      hardswish'), an absolute floor of REF64_CANCEL eps times the sum of the
      terms' magnitudes (e.g. gelu'(-0.8296) = -0.031 from 0.20 - 0.23:
      reference 13 ULP, kernel 11 ULP off mpmath).
    """
    limit = _limit(case)
    kind, mode, p = case.info.kind, case.mode, case.params
    is64 = np.dtype(dtype) == np.float64
    eps = float(np.finfo(dtype).eps)
    ref_ulp = REF64_ULP if is64 else 0.0
    with np.errstate(all="ignore"):
        if kind == "rowwise":
            t = float(p.get("temperature", 1.0))
            if mode == "forward":
                (x,) = arrays64
                slack = ref_ulp
                xr = x.reshape(1) if x.ndim == 0 else x
                if is64 and xr.size:
                    m = np.max(xr, axis=-1, keepdims=True)
                    z = np.abs((xr - m) / t)
                    z = np.where(np.isfinite(z), z, 0.0) * (1 if t == 1 else 2)
                    if case.name == "log_softmax":
                        # only the max element, -log1p(sum exp(z)), is that small:
                        # its error is the worst of the exp(z_j)'s
                        z = np.where(xr == m, np.max(z, axis=-1, keepdims=True), 0.0)
                    slack = ref_ulp + z.reshape(x.shape)
                return limit, [slack], [0.0]
            if mode == "derivative":
                # Jacobian diagonal: softmax y - y*y = y (1 - y), log_softmax 1 - exp(y).
                # SPEC 5 near-zero rule where it is within 0.05 of 0 (1 - y or -y
                # <= 0.05); float64: the reference's own cancellation, REF64_CANCEL
                # eps times the terms (y + y*y, or 1 + exp(y)).
                (y,) = arrays64
                yr = y.reshape(1) if y.ndim == 0 else y
                n = yr.shape[-1]
                if case.name == "softmax":
                    near, terms = np.abs(1 - yr) <= NEAR_ZERO_RADIUS, np.abs(yr) + yr * yr
                else:
                    near, terms = np.abs(yr) <= NEAR_ZERO_RADIUS, 1 + np.exp(yr)
                diag = EPS_FLOOR * eps * near
                if is64:
                    diag = np.maximum(diag, REF64_CANCEL * eps * terms)
                return limit, [ref_ulp], [np.eye(n) * (diag[..., :, None] / t)]
            g, y = arrays64
            gr = g.reshape(1) if g.ndim == 0 else g
            yr = y.reshape(1) if y.ndim == 0 else y
            if case.name == "softmax":
                s = np.sum(np.abs(gr * yr), axis=-1, keepdims=True)
                scale = np.abs(yr) * (np.abs(gr) + s)
            else:
                s = np.sum(np.abs(gr), axis=-1, keepdims=True)
                scale = np.abs(gr) + np.exp(yr) * s
            return limit, [ref_ulp], [EPS_FLOOR * eps * (scale / t).reshape(g.shape)]

        # elementwise, parametric, gated
        if mode == "backward":
            g, rest = arrays64[0], arrays64[1:]
            gscale = np.abs(g)
        else:
            rest = arrays64
            gscale = 1.0
        x = rest[0]
        slack = ref_ulp
        if is64 and case.name == "swish" and float(p.get("beta", 1.0)) != 1.0:
            slack = ref_ulp + np.abs(float(p["beta"]) * x)
        elif is64 and case.name in ("gelu", "geglu") and p.get("approximate") == "tanh":
            slack = ref_ulp + 4 * np.abs(_gelu_tanh_two_z(x))
        elif is64 and case.name in ("gelu", "geglu"):
            slack = ref_ulp + REF64_ERFC_ULP
        if isinstance(slack, np.ndarray):
            slack = np.where(np.isfinite(slack), slack, ref_ulp)
        if case.name == "glu":
            return limit, [slack], [0.0]  # products only: no cancellation
        floor = 0.0
        if mode != "forward":
            floor = EPS_FLOOR * eps * _near_zeros(x, derivative_zeros(case.name, p))
            if is64:
                terms = _derivative_terms(case.name, p, x)
                if terms is not None:
                    terms = np.where(np.isfinite(terms), terms, 0.0)
                    floor = np.maximum(floor, REF64_CANCEL * eps * terms)
        if case.name in ("swiglu", "geglu"):
            if mode == "forward":
                return limit, [slack], [0.0]
            return limit, [slack, slack], [scaled_product(floor, gscale, rest[1]), 0.0]
        return limit, [slack], [scaled_product(floor, gscale)]


def compare(got, expected64, dtype, limit, slack, abs_floor):
    """Boolean mask of the elements of ``got`` that pass, and the ULP errors.

    NaN passes only against NaN, an infinity only against the same infinity.
    """
    got = np.asarray(got)
    c = got.astype(np.float64)
    e = np.asarray(expected64, dtype=np.float64)
    if np.dtype(dtype) == np.float32:
        # an expected value beyond float32's range rounds to inf (SPEC 5)
        with np.errstate(over="ignore"):
            e = np.where(np.isfinite(e) & ~np.isfinite(e.astype(np.float32)),
                         e.astype(np.float32).astype(np.float64), e)
    with np.errstate(all="ignore"):
        diff = np.abs(c - e)
        ulps = diff / ulp_of(e, dtype)
        finite = np.isfinite(c) & np.isfinite(e)
        ok_finite = finite & ((ulps <= limit + slack) | (diff <= abs_floor))
        ok_nan = np.isnan(c) & np.isnan(e)
        ok_inf = np.isinf(c) & np.isinf(e) & (np.sign(c) == np.sign(e))
    ulps = np.where(finite, ulps, np.where(ok_nan | ok_inf, 0.0, np.inf))
    return ok_finite | ok_nan | ok_inf, ulps


def assert_matches(label, got, expected64, dtype, limit, slack, abs_floor, inputs=()):
    """Assert every element passes ``compare``; the message names the worst one."""
    ok, ulps = compare(got, expected64, dtype, limit, slack, abs_floor)
    if ok.all():
        return
    bad = np.flatnonzero(~ok.ravel())
    i = bad[np.argmax(ulps.ravel()[bad])]
    idx = np.unravel_index(i, np.shape(got)) if np.ndim(got) else ()
    args = ", ".join(
        f"{np.asarray(a).ravel()[i] if np.size(a) == np.size(got) else '...'!r}" for a in inputs
    )
    exp = np.asarray(expected64, dtype=np.float64).ravel()[i]
    raise AssertionError(
        f"{label}: {bad.size}/{ok.size} elements off; worst at index {idx} "
        f"(inputs there: {args}): expected {exp!r} "
        f"(as {np.dtype(dtype).name}: {np.asarray(exp).astype(dtype)!r}), "
        f"got {np.asarray(got).ravel()[i]!r}, {ulps.ravel()[i]:.4g} ULP "
        f"(limit {limit:g} ULP + slack, or abs floor)"
    )


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)
