"""Accuracy of fastact against mpmath (SPEC section 5).

For every elementwise activation (forward and derivative, float32 and float64,
several parameter values for the parametric ones) at a few dozen inputs each --
ordinary values, both tails, kinks, huge inputs, and points within 0.05 of each
zero of the derivative -- and for softmax / log_softmax rows of lengths 1, 2, 3,
1000 and 65536, the result must be within the SPEC bounds of the true value:

    forward                      <= 2 ULP
    derivative                   <= 4 ULP, or abs <= 4 eps within 0.05 of a zero of f'
    softmax / log_softmax        <= 4 ULP per element

Both the compiled functions (``fa.NAME``, ``fa.NAME_derivative``, ``fa.softmax``,
``fa.log_softmax``) and the NumPy reference (``fastact.reference``) are checked.
The true values come from ``fastact._accuracy.mpref`` (mpmath, 50 digits), computed once
per module (``functools.lru_cache``); the measure is ``fastact._accuracy.ulp``.

Run:  python -m pytest tests/test_mpmath.py -q        (a few seconds)
"""

import functools

import numpy as np
import pytest

from fastact._accuracy import mpref
from fastact._accuracy import ulp

fa = pytest.importorskip("fastact")

try:
    from fastact import reference as faref
except ImportError:  # pragma: no cover - reported as skips, not errors
    faref = None

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
DTYPES = [pytest.param(F32, id="float32"), pytest.param(F64, id="float64")]


# ------------------------------------------------------------------ the cases

# (name, params).  Non-power-of-two scale parameters (swish beta, softplus beta)
# are left out on purpose: rounding beta*x in the output dtype alone costs
# cond * 0.5 ULP (cond ~ |beta x| in the tails), which no kernel that forms
# beta*x in the working precision can meet; powers of two keep beta*x exact.
CASES = [
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("leaky_relu", {"negative_slope": 3.0}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("elu", {"alpha": 2.5}),
    ("selu", {}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("sigmoid", {}),
    ("log_sigmoid", {}),
    ("tanh", {}),
    ("silu", {}),
    ("swish", {}),
    ("swish", {"beta": 0.5}),
    ("swish", {"beta": 2.0}),
    ("mish", {}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0}),
    ("softplus", {"beta": 0.5, "threshold": 10.0}),
    ("softplus", {"beta": 1.0, "threshold": 5.0}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
]


def _case_id(name, params):
    if not params:
        return name
    return name + "[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]"


CASE_PARAMS = [pytest.param(n, p, id=_case_id(n, p)) for n, p in CASES]

# Every case covers every function of the catalog.
assert {n for n, _ in CASES} == set(mpref.NAMES)


# ------------------------------------------------------------------ the inputs

ORDINARY = [
    -10.0, -7.3, -6.0, -4.0, -3.5, -2.5, -2.0, -1.7, -1.0, -0.75, -0.5, -0.3,
    -0.1, -1e-3, -1e-6, -1e-12, -1e-30, 0.0, 1e-30, 1e-12, 1e-6, 1e-3, 0.1,
    0.3, 0.5, 0.75, 1.0, 1.7, 2.0, 2.5, np.pi, 3.5, 4.0, 6.0, 7.3, 10.0,
]
HUGE = {
    F32: [-3.0e38, -1e20, -1e5, 1e5, 1e20, 3.0e38],
    F64: [-1.7e308, -1e300, -1e150, -1e20, -1e5, 1e5, 1e20, 1e150, 1e300, 1.7e308],
}
TINY = {F32: [-1e-45, 1e-45, -1e-38, 1e-38], F64: [-5e-324, 5e-324, -1e-310, 1e-310]}

# Tails named in the brief / SPEC, per function and dtype.  Where the result is
# subnormal the ULP floor (smallest subnormal) makes the check absolute.
TAILS = {
    "elu": {F32: [-20.0, -88.0, -104.0], F64: [-20.0, -50.0, -700.0, -745.0]},
    "selu": {F32: [-20.0, -88.0, -104.0], F64: [-20.0, -50.0, -700.0, -745.0]},
    "gelu": {
        # gelu(-8) ~ -4.98e-15 must not be 0; -13.5/-14 give subnormal results
        F32: [-5.0, -8.0, -9.0, -10.0, -12.0, -13.0, -13.5, -14.0],
        F64: [-8.0, -12.0, -20.0, -30.0, -35.0, -37.5, -38.5, -40.0],
    },
    "gelu[tanh]": {
        F32: [-5.0, -6.0, -8.0, -9.0, -10.0, -10.5],
        F64: [-8.0, -10.0, -15.0, -20.0, -21.5, -22.0],
    },
    "sigmoid": {
        # sigmoid'(20) ~ 2.06e-9 must not be 0
        F32: [-20.0, -50.0, -87.0, -90.0, -100.0, -103.0, 15.0, 17.0, 20.0, 30.0, 50.0],
        F64: [-20.0, -40.0, -100.0, -700.0, -708.0, -740.0, -745.0, 20.0, 37.0, 40.0, 700.0],
    },
    "log_sigmoid": {
        F32: [-100.0, -20.0, 17.0, 20.0, 50.0, 87.0, 100.0],
        F64: [-700.0, -40.0, -20.0, 20.0, 40.0, 100.0, 700.0, 740.0],
    },
    "tanh": {
        # tanh'(20) ~ 1.7e-17; f32 tanh'(50) is subnormal
        F32: [-20.0, 9.0, 10.0, 20.0, 40.0, 50.0],
        F64: [-20.0, 19.0, 20.0, 50.0, 300.0, 370.0],
    },
    "silu": {
        F32: [-20.0, -50.0, -87.0, -100.0, 20.0, 50.0],
        F64: [-20.0, -50.0, -100.0, -700.0, -745.0, 20.0, 50.0],
    },
    "mish": {
        F32: [-20.0, -50.0, -87.0, -100.0, 20.0, 50.0],
        F64: [-20.0, -50.0, -100.0, -700.0, -745.0, 20.0, 50.0],
    },
    "softplus": {
        F32: [-20.0, -50.0, -87.0, -100.0, -104.0, 15.0, 30.0],
        F64: [-20.0, -50.0, -100.0, -700.0, -745.0, 15.0, 30.0, 40.0],
    },
    "log_softmax": {},
}
TAILS["swish"] = TAILS["silu"]


def _kinks(name, params, dt):
    """Points on and next to the kinks / branch switches of ``name``."""
    pts = []

    def around(v):
        v = dt.type(v)
        pts.extend([v, np.nextafter(v, dt.type(np.inf)), np.nextafter(v, dt.type(-np.inf))])

    if name in ("hardsigmoid", "hardswish"):
        around(-3.0)
        around(3.0)
    if name == "softplus":
        # exactly at beta*x == threshold the log branch applies, above it x.
        # (beta is a power of two, so beta*x is exact and the switch is sharp.)
        t = params.get("threshold", 20.0) / params.get("beta", 1.0)
        around(t)
        pts.extend([t - 0.1, t + 0.1, t - 1.0, t + 1.0])
    if name == "relu" or name == "leaky_relu" or name in ("elu", "selu"):
        around(0.0)
    return pts


def _zero_points(zeros, dt):
    """Points within 0.05 of each derivative zero (and just outside)."""
    pts = []
    for z in zeros:
        z = float(z)
        for d in (0.0, 1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.03, 0.049, 0.06, 0.1):
            pts.extend([z - d, z + d])
        zd = dt.type(z)
        pts.extend([np.nextafter(zd, dt.type(np.inf)), np.nextafter(zd, dt.type(-np.inf))])
    return pts


def _tail_key(name, params):
    if name == "gelu" and params.get("approximate") == "tanh":
        return "gelu[tanh]"
    return name


def inputs(name, params, dt, kind):
    """The distinct inputs, as an array of dtype ``dt``, for one case."""
    pts = list(ORDINARY) + HUGE[dt] + TINY[dt]
    pts += TAILS.get(_tail_key(name, params), {}).get(dt, [])
    pts += _kinks(name, params, dt)
    if kind == "derivative":
        pts += _zero_points(mpref.derivative_zeros(name, **params), dt)
    with np.errstate(over="ignore"):
        x = np.array([float(p) for p in pts], dtype=dt)
    x = x[np.isfinite(x)]
    _, first = np.unique(x.view(np.int64 if dt == F64 else np.int32), return_index=True)
    return x[np.sort(first)]


@functools.lru_cache(maxsize=None)
def _exact_cached(name, items, dt_char, kind):
    params = dict(items)
    dt = np.dtype(dt_char)
    x = inputs(name, params, dt, kind)
    vals = np.array(mpref.evaluate(name, x, kind, **params), dtype=object)
    hi, _ = ulp.to_pair(vals)
    zeros = tuple(float(z) for z in mpref.derivative_zeros(name, **params))
    return x, vals, hi, zeros


def exact(name, params, dt, kind):
    """(x, exact mpf values, their float64 rounding, zeros of f') -- cached."""
    return _exact_cached(name, tuple(sorted(params.items())), dt.char, kind)


# ------------------------------------------------------------------ checking


def _format_failure(label, dt, verdict, x, got, hi):
    lines = [verdict.describe(x, got, hi, label)]
    bad = np.flatnonzero(~verdict.passed)
    order = bad[np.argsort(-np.nan_to_num(verdict.ulp[bad], posinf=np.inf))][:8]
    for i in order:
        extra = ""
        if np.isfinite(verdict.abs_eps[i]):
            extra = f", abs {verdict.abs_eps[i]:.3g} eps"
        lines.append(
            f"    x={float(x[i])!r}: expected {float(hi[i])!r}, got {float(got[i])!r}, "
            f"{verdict.ulp[i]:.4g} ULP{extra}"
        )
    return "\n".join(lines)


def assert_accurate(label, dt, kind, x, got, vals, hi, zeros=()):
    got = np.asarray(got)
    assert got.shape == x.shape, f"{label} [{dt}]: shape {got.shape} != {x.shape}"
    assert got.dtype == dt, f"{label} [{dt}]: result dtype {got.dtype}, expected {dt}"
    verdict = ulp.check(got, vals, kind=kind, x=x, zeros=zeros, dtype=dt,
                        scale=_scale(label, dt))
    if not verdict.ok:
        pytest.fail(_format_failure(label, dt, verdict, x, got, hi), pytrace=False)


# fastact.reference is the readable definition, not a float64 oracle: it rounds
# the arguments it computes (beta*x, tanh-gelu's inner polynomial, x - max) and
# sums plainly, as written, which costs up to ~|argument| * eps relative in the
# float64 tails (about 300 ULP at gelu_tanh(-20)) and tens of ULP where a
# derivative cancels near its zero. Its float64 results are held to 256 times
# the SPEC bounds (~1e-13 relative), which still catches any wrong formula or
# constant; its float32 results, and every kernel, are held to SPEC section 5.
REFERENCE_FLOAT64_SCALE = 256


def _scale(label, dt):
    return REFERENCE_FLOAT64_SCALE if label.startswith("reference.") and dt == F64 else 1


def _label(name, params, kind, where):
    base = _case_id(name, params)
    return f"{where}{base}{'' if kind == 'forward' else chr(39)}"  # gelu' for derivatives


# --------------------------------------------------------- compiled kernels
#
# The inputs of each case are split in two groups: those whose true result is
# a normal number (or zero), and those whose true result is subnormal in the
# output dtype ("-subnormal" tests).  In the subnormal range the ULP is floored
# at the smallest subnormal, so the rule becomes an absolute one (2 or 4
# subnormal steps); a failure there means precision lost to an intermediate
# underflow (e.g. x * exp(x) with exp(x) already subnormal).


def _split(x, hi, dt):
    sub = (hi != 0) & (np.abs(hi) < np.finfo(dt).tiny)
    return ~sub, sub


def _points(name, params, dt, kind, group):
    x, vals, hi, zeros = exact(name, params, dt, kind)
    normal, sub = _split(x, hi, dt)
    keep = normal if group == "normal" else sub
    return x[keep], vals[keep], hi[keep], zeros


def _subnormal_params(kinds=("forward", "derivative")):
    """(name, params, dtype, kind) whose inputs include subnormal results."""
    out = []
    for name, params in CASES:
        for dt in (F32, F64):
            for kind in kinds:
                x, _, hi, _ = exact(name, params, dt, kind)
                if np.any(_split(x, hi, dt)[1]):
                    out.append(
                        pytest.param(
                            name, params, dt, kind,
                            id=f"{_case_id(name, params)}-{kind}-{dt}",
                        )
                    )
    return out


SUBNORMAL_CASES = _subnormal_params()


def _kernel(name, kind):
    attr = name if kind == "forward" else f"{name}_derivative"
    fn = getattr(fa, attr, None)
    if fn is None:
        pytest.fail(f"fastact has no {attr}", pytrace=False)
    return fn


def _run_kernel(name, params, dt, kind, group):
    x, vals, hi, zeros = _points(name, params, dt, kind, group)
    with np.errstate(all="ignore"):
        got = _kernel(name, kind)(x.copy(), **params)
    assert_accurate(_label(name, params, kind, "fa."), dt, kind, x, got, vals, hi, zeros)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_forward_kernel(name, params, dt):
    _run_kernel(name, params, dt, "forward", "normal")


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_derivative_kernel(name, params, dt):
    _run_kernel(name, params, dt, "derivative", "normal")


@pytest.mark.parametrize("name,params,dt,kind", SUBNORMAL_CASES)
def test_kernel_subnormal(name, params, dt, kind):
    _run_kernel(name, params, dt, kind, "subnormal")


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.5, -3.0, 0.0, 1e-50, 2.0 ** -280, 2.0 ** -281,
                                   1e-100, 1e-300, 1e100, 2.0 ** 400, 2.0 ** 401, 1e300,
                                   -1.7e308])
def test_elu_derivative_float64_alpha_range(alpha):
    """float64 elu' (vm_c_exp) scales alpha by 2^600 below |alpha| = 2^-280 and
    by 2^-600 above 2^400: both sides of the bounds, down to where alpha e^x
    underflows (x = -1455 for alpha near DBL_MAX), through the subnormal
    results and past the clamps of x (-1500) and of the power of two (2^-2000),
    within 2 ULP (SPEC: 4)."""
    x = np.array([-1e-300, -1e-10, -0.3, -1.0, -5.5, -20.0, -100.0, -500.0, -700.0, -708.5,
                  -740.0, -745.0, -746.0, -800.0, -1000.0, -1022.9, -1023.5, -1100.0,
                  -1200.0, -1400.0, -1450.0, -1455.0, -1456.0, -1499.0, -1501.0, -3000.0,
                  -np.inf])
    got = fa.elu_derivative(x, alpha=alpha)
    exact = np.array([mpref.elu_derivative(v, alpha=alpha) for v in x], dtype=object)
    err = ulp.ulp_error(got, exact, F64)
    worst = int(np.argmax(err))
    assert err[worst] <= 2.0, f"alpha={alpha}: {err[worst]:.2f} ULP at x={x[worst]}"


@pytest.mark.parametrize("dt", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5, 1e-3, -1.0, -3e-5])
@pytest.mark.parametrize("threshold", [1e4, 1e300])
def test_softplus_threshold_beyond_exp_range(dt, beta, threshold):
    """A threshold above 700 keeps log1p(exp(beta x))/beta where beta*x is
    past exp's range: x + log1p(exp(-beta x))/beta = x for beta*x > 700 (the
    float64 forward once took the branch for beta*x < -700 there and gave
    exp(-beta x)/beta ~ 1e-305 for x = 701), and exp(beta x)/beta, subnormal
    or 0, below -700; within 2 ULP at either sign of beta."""
    z = np.array([-3000.0, -1000.0, -800.0, -746.0, -745.0, -709.0, -701.0, -699.0, -100.0,
                  -1.0, 0.0, 1.0, 100.0, 699.0, 701.0, 709.0, 745.0, 800.0, 1000.0, 3000.0])
    x = (z / beta).astype(dt)
    got = fa.softplus(x, beta=beta, threshold=threshold)
    exact = np.array([mpref.softplus(float(v), beta=beta, threshold=threshold) for v in x],
                     dtype=object)
    err = ulp.ulp_error(got, exact, dt)
    worst = int(np.argmax(err))
    assert err[worst] <= 2.0, f"{err[worst]:.3g} ULP at x={x[worst]}: {got[worst]}"


def test_elu_derivative_float64_signed_zero_alpha():
    """alpha = -0.0: alpha * exp(x) is -0.0 (exp > 0), deep tail included."""
    got = fa.elu_derivative(np.array([-1.0, -800.0, -np.inf]), alpha=-0.0)
    assert (got == 0).all() and np.signbit(got).all()


# ------------------------------------------------------------- the reference
#
# fastact.reference computes in float64 and returns float64 arrays whatever
# the input dtype.  Its float64 results (float64 inputs) are checked against the
# same bounds as the kernels; for float32 inputs its float64 result is cast to
# float32 and checked at the float32 bounds (what a caller comparing a float32
# kernel with the reference sees).
#
# Limitation: in the far float64 tails where the true result is a float64
# SUBNORMAL (gelu(-38.5), silu/mish(-745), gelu_tanh'(-21.5), ...) the
# reference's plain float64 formulas lose the result to intermediate underflow
# (e.g. 745 * exp(-745) with exp(-745) rounded to one subnormal step: ~300
# subnormal steps off), so the reference is not checked on float64 subnormal
# results; its float32 subnormal results (normal numbers in float64) are.


def _reference(name, kind):
    if faref is None:
        pytest.skip("fastact.reference is not importable")
    attr = name if kind == "forward" else f"{name}_derivative"
    fn = getattr(faref, attr, None)
    if fn is None:
        info = getattr(fa, "REGISTRY", {}).get(name)
        ref = getattr(info, "reference", None)
        fn = getattr(ref, kind, None)
    if fn is None:
        pytest.fail(f"fastact.reference has no {attr}", pytrace=False)
    return fn


def _ref_result(got, dt):
    got = np.asarray(got)
    assert got.dtype in (F64, dt), f"reference returned {got.dtype}"
    return got.astype(dt)


def _run_reference(name, params, dt, kind, group):
    x, vals, hi, zeros = _points(name, params, dt, kind, group)
    with np.errstate(all="ignore"):
        got = _ref_result(_reference(name, kind)(x.copy(), **params), dt)
    assert_accurate(_label(name, params, kind, "reference."), dt, kind, x, got, vals, hi, zeros)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_forward_reference(name, params, dt):
    _run_reference(name, params, dt, "forward", "normal")


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_derivative_reference(name, params, dt):
    _run_reference(name, params, dt, "derivative", "normal")


@pytest.mark.parametrize(
    "name,params,dt,kind", [p for p in SUBNORMAL_CASES if p.values[2] == F32]
)
def test_reference_subnormal(name, params, dt, kind):
    _run_reference(name, params, dt, kind, "subnormal")


# ------------------------------------------------------------------ softmax


def _rows(kind):
    """Row sets (2-D float64; cast to the dtype under test)."""
    rng = np.random.default_rng(20240613)
    if kind == "len1":
        return np.array([[3.7], [-1e30], [0.0]])
    if kind == "len2":
        # [0, -40]: log_softmax[0] = -log1p(e^-40) ~ -4.2e-18, must not be 0.
        return np.array([[1.25, -0.5], [0.0, -40.0], [-3.0, -3.0], [80.0, -20.0]])
    if kind == "len3":
        return np.array(
            [[0.1, 2.3, -1.7], [1000.0, 999.0, -1000.0], [-745.0, 0.0, 1.0], [5.0, 5.0, 5.0]]
        )
    if kind == "len1000":
        return rng.normal(0.0, 3.0, size=(2, 1000))
    if kind == "len65536":
        # wide spread: exp(x - max) spans ~1e-44 .. 1
        return rng.uniform(-80.0, 20.0, size=(1, 65536))
    raise KeyError(kind)


ROW_KINDS = ["len1", "len2", "len3", "len1000", "len65536"]
ROW_CASES = [pytest.param(k, 1.0, id=k) for k in ROW_KINDS] + [
    pytest.param("len3", 2.0, id="len3-T2"),
    pytest.param("len1000", 0.5, id="len1000-T0.5"),
]


@functools.lru_cache(maxsize=None)
def _row_exact_both(kind, temperature, dt_char):
    # the float64 rows keep all 53 bits (float32-valued rows would make every
    # x - max exact and hide the rounding of that difference)
    x = _rows(kind).astype(np.dtype(dt_char)).astype(np.float64)
    both = [mpref.rowwise(r, temperature) for r in x]
    sm = np.array([b[0] for b in both], dtype=object)
    lsm = np.array([b[1] for b in both], dtype=object)
    return x, {"softmax": ulp.to_pair(sm), "log_softmax": ulp.to_pair(lsm)}


def _row_exact(kind, temperature, fn, dt):
    x, pairs = _row_exact_both(kind, temperature, dt.char)
    return x, pairs[fn]


def _row_check(where, fn_name, call, kind, temperature, dt):
    x64, (hi, lo) = _row_exact(kind, temperature, fn_name, dt)
    x = x64.astype(dt)
    with np.errstate(all="ignore"):
        got = np.asarray(call(x.copy(), temperature=temperature))
    label = f"{where}{fn_name}({kind}, temperature={temperature})"
    assert got.shape == x.shape and got.dtype == dt, f"{label}: {got.shape} {got.dtype}"
    verdict = ulp.check(got, (hi, lo), kind="softmax", dtype=dt, scale=_scale(where, dt))
    if not verdict.ok:
        pytest.fail(
            _format_failure(label, dt, verdict, x.ravel(), got.ravel(), hi.ravel()),
            pytrace=False,
        )


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind,temperature", ROW_CASES)
@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
def test_rowwise_kernel(fn_name, kind, temperature, dt):
    call = getattr(fa, fn_name, None)
    if call is None:
        pytest.fail(f"fastact has no {fn_name}", pytrace=False)
    _row_check("fa.", fn_name, call, kind, temperature, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind,temperature", ROW_CASES)
@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
def test_rowwise_reference(fn_name, kind, temperature, dt):
    if faref is None:
        pytest.skip("fastact.reference is not importable")
    call = getattr(faref, fn_name, None)
    if call is None:
        pytest.fail(f"fastact.reference has no {fn_name}", pytrace=False)
    _row_check("reference.", fn_name, lambda x, **kw: _ref_result(call(x, **kw), dt),
               kind, temperature, dt)


# ------------------------------------------- the yardsticks themselves (fast)


def test_mpref_anchor_values():
    """The SPEC's anchors and the known zeros of the derivatives."""
    assert float(mpref.gelu(-8.0)) == pytest.approx(-4.9767684594174e-15, rel=1e-12)
    assert float(mpref.sigmoid_derivative(20.0)) == pytest.approx(2.0611536139418e-9, rel=1e-12)
    assert float(mpref.log_sigmoid(700.0)) == pytest.approx(-9.8596765437597708e-305, rel=1e-12)
    approx = {"gelu": -0.7518, "silu": -1.2785, "mish": -1.1924, "hardswish": -1.5}
    for name, z in approx.items():
        (root,) = mpref.derivative_zeros(name)
        assert float(root) == pytest.approx(z, abs=1e-4), name
        assert abs(mpref.derivative(name, root)) < 1e-40
    (rt,) = mpref.derivative_zeros("gelu", approximate="tanh")
    assert -0.76 < float(rt) < -0.74
    (rs,) = mpref.derivative_zeros("swish", beta=2.0)
    assert float(rs) == pytest.approx(-1.278464542761074 / 2, rel=1e-14)


def test_mpref_matches_numpy_on_ordinary_values():
    """mpref's formulas agree with plain float64 formulas where those are fine."""
    from math import erf, exp, log1p, sqrt, tanh

    for xv in (-2.5, -0.3, 0.7, 1.9):
        s = 1 / (1 + exp(-xv))
        checks = {
            ("sigmoid", "forward"): s,
            ("silu", "forward"): xv * s,
            ("gelu", "forward"): 0.5 * xv * (1 + erf(xv / sqrt(2))),
            ("mish", "forward"): xv * tanh(log1p(exp(xv))),
            ("softplus", "forward"): log1p(exp(xv)),
            ("tanh", "derivative"): 1 - tanh(xv) ** 2,
            ("elu", "forward"): xv if xv > 0 else exp(xv) - 1,
        }
        for (name, kind), want in checks.items():
            got = float(mpref.evaluate(name, [xv], kind)[0])
            assert got == pytest.approx(want, rel=1e-13, abs=1e-300), (name, kind, xv)
    # gelu tanh against its textbook formula
    xv = 0.8
    z = sqrt(2 / np.pi) * (xv + 0.044715 * xv**3)
    assert float(mpref.gelu(xv, approximate="tanh")) == pytest.approx(0.5 * xv * (1 + tanh(z)), rel=1e-14)


def test_ulp_measure_basics():
    f32 = np.float32
    one_up = np.nextafter(f32(1), f32(2))
    assert ulp.ulp_error(np.array([one_up]), np.array([1.0]))[0] == 1.0
    # the exact value fixes the binade: 1 - 2**-25 is in [0.5, 1)
    assert ulp.ulp_error(np.array([f32(1)]), np.array([1 - 2.0**-25]))[0] == 0.5
    e = ulp.ulp_error(
        np.array([np.nan, np.nan, np.inf, np.inf, 0.0, -0.0], f32),
        np.array([np.nan, 1.0, np.inf, -np.inf, -0.0, 1e-46]),
    )
    assert list(e[:4]) == [0.0, np.inf, 0.0, np.inf] and e[4] == 0 and e[5] < 0.1
    # a float32 result that is 0 where the truth is -4.98e-15 is ~1.2e7 ULP off
    assert ulp.ulp_error(np.array([0.0], f32), [mpref.gelu(-8.0)])[0] > 1e7
    # float64 results need more than float64 for the truth
    with pytest.raises(TypeError):
        ulp.ulp_error(np.array([1.0]), np.array([1.0]))
    v = mpref.gelu(-8.0)
    hi, lo = ulp.to_pair([v])
    assert ulp.ulp_error(hi, (hi, lo))[0] < 0.5
    one_off = ulp.ulp_error(np.nextafter(hi, 0), [v])[0]
    assert 0.5 <= one_off <= 1.5 and one_off == ulp.ulp_error(np.nextafter(hi, 0), (hi, lo))[0]
    # subnormal float64 truths are measured exactly (the floor is 2**-1074)
    from mpmath import mpf

    assert ulp.ulp_error(np.array([1e-323]), [mpf(5e-324) * mpf("2.4")])[0] == pytest.approx(0.4)
    # the near-zero rule
    a = ulp.abs_error_near_zero(
        np.array([1e-7, 1e-7], f32), np.array([0.0, 0.0]), np.array([-0.76, 0.0]), [-0.7518]
    )
    assert a[0] == pytest.approx(1e-7 / np.finfo(f32).eps) and a[1] == np.inf
