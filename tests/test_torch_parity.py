"""PyTorch parity of every public fastact function (see /work/notes/api.md).

What is checked, in float32 and float64:

* forward values at ordinary points against ``torch.nn.functional``;
* gradients: ``fa.NAME_backward(g, x)`` against torch autograd with
  ``y.backward(g)`` and ``fa.NAME_derivative(x)`` against autograd with
  ``g = ones`` (softmax/log_softmax backward take the forward OUTPUT; the gated
  functions return a tuple of gradients);
* kinks (SPEC section 4), special values (NaN, +-inf, -0.0), softmax rows with
  +-inf, huge finite inputs, and the two float32 accuracy wins over torch.

Where the SPEC and torch differ the SPEC wins; each such place says in a
comment what torch 2.13.0 (CPU) returns instead.  Summary of the differences:

* NaN in -> NaN out in every derivative and backward.  torch's autograd gives
  a number for NaN input in the piecewise functions: relu' -> 1,
  leaky_relu'/rrelu'/prelu' -> the slope, elu' -> 1 (alpha), selu' -> scale,
  hardsigmoid' -> 0, hardswish' -> 1.  With a NaN grad_output torch returns 0
  where f'(x) == 0 (relu, hardsigmoid, hardswish for x <= -3).
* Limits at +-inf where torch returns NaN: gelu(-inf) (and gelu(+inf) in
  float32), gelu'(+-inf), gelu_tanh(-inf) and its derivative at +-inf,
  silu/swish/mish(-inf) and their derivatives at +-inf, hardswish(-inf).
  gelu_tanh'(+-1e30) (float32) and (+-1e300) (float64) are NaN in torch
  because x**3 overflows; the limit 1 / 0 is expected.
* float32 gelu(-8) is -0.0 in torch (true -4.98e-15) and float32 sigmoid'(20)
  is 0 in torch (true 2.06e-9); fastact must return the true values.

Tolerances: torch's own error at ordinary points measured against mpmath /
float64 is <= ~4 eps relative plus ~6 eps absolute (gelu_tanh', swish'); fastact
promises <= 2 ULP forward and <= 4 ULP / 4 eps absolute for derivatives.  So the
comparisons use rtol = 8 eps and atol = 16 eps of the dtype (scaled by the size
of the values where that is larger than 1).
"""

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import fastact as fa  # noqa: E402

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
RRELU_EVAL_SLOPE = (1.0 / 8 + 1.0 / 3) / 2
INF = math.inf
NAN = math.nan


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def tolerance(dtype, scale=1.0):
    eps = float(np.finfo(dtype).eps)
    return {"rtol": 8 * eps, "atol": 16 * eps * max(1.0, scale)}


def as_tuple(v):
    return v if isinstance(v, tuple) else (v,)


def torch_forward_and_grads(torch_fn, inputs, grad_output):
    """Run torch_fn on copies of the numpy ``inputs``; return y and d(y.g)/d(input)."""
    ts = [torch.from_numpy(np.array(a, copy=True)).requires_grad_() for a in inputs]
    y = torch_fn(*ts)
    y.backward(torch.from_numpy(np.array(grad_output, copy=True)))
    return y.detach().numpy(), tuple(t.grad.numpy() for t in ts)


def assert_matches(actual, expected, dtype, what, scale=1.0):
    actual = np.asarray(actual)
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {np.dtype(dtype)}"
    assert actual.shape == np.shape(expected), f"{what}: shape {actual.shape} vs {np.shape(expected)}"
    np.testing.assert_allclose(actual, expected, err_msg=what, **tolerance(dtype, scale))


def compare_forward_and_grad_with_torch(
    fa_forward,
    fa_backward,
    fa_derivative,
    torch_fn,
    inputs,
    grad_output,
    dtype,
    scale=1.0,
    torch_dtype=None,
):
    """Compare fastact's forward, backward and derivative with torch autograd.

    ``inputs`` is a list of arrays (one for elementwise, gate+up for gated);
    ``fa_backward(g, *inputs)`` and ``fa_derivative(*inputs)`` return one array
    or a tuple with one gradient per input; ``fa_derivative`` may be None.
    ``torch_dtype`` computes torch's reference in another dtype (float64 for
    the row-wise float32 cases, see the softmax tests).
    """
    ref_inputs = [a.astype(torch_dtype or dtype) for a in inputs]
    ref_g = grad_output.astype(torch_dtype or dtype)
    y_t, grads_t = torch_forward_and_grads(torch_fn, ref_inputs, ref_g)

    assert_matches(fa_forward(*inputs), y_t, dtype, "forward", scale)

    got = as_tuple(fa_backward(grad_output, *inputs))
    assert len(got) == len(grads_t), f"backward returned {len(got)} arrays"
    for i, (a, e) in enumerate(zip(got, grads_t)):
        assert_matches(a, e, dtype, f"backward, grad of input {i}", scale)

    if fa_derivative is not None:
        _, ones_t = torch_forward_and_grads(torch_fn, ref_inputs, np.ones_like(ref_g))
        got = as_tuple(fa_derivative(*inputs))
        assert len(got) == len(ones_t), f"derivative returned {len(got)} arrays"
        for i, (a, e) in enumerate(zip(got, ones_t)):
            assert_matches(a, e, dtype, f"derivative w.r.t. input {i}", scale)


FIXED_POINTS = [0.0, 0.001, -0.001, 0.25, -0.25, 1.0, -1.0, math.pi / 2, -math.pi / 2,
                2.5, -2.5, 4.0, -4.0, 5.5, -5.5]


def ordinary_points(dtype, shape=(4, 29), lo=-6.0, hi=6.0, seed=1234):
    """Ordinary (non-tail) inputs, away from kinks apart from 0 and 2.5."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    fixed = [v for v in FIXED_POINTS if lo <= v <= hi][:n]
    x = np.concatenate([fixed, rng.uniform(lo, hi, n - len(fixed))])
    return x.reshape(shape).astype(dtype)


def grad_points(dtype, shape, seed=99):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(dtype)


# --------------------------------------------------------------------------
# the elementwise table
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Elementwise:
    id: str
    fwd: Callable  # fwd(x)
    deriv: Callable  # deriv(x)
    bwd: Callable  # bwd(g, x)
    torch_fn: Callable  # torch_fn(t)
    # mathematical limits (f(+inf), f(-inf), f'(+inf), f'(-inf)) per SPEC 4
    limits: tuple
    # where torch's value at +-inf differs from the limit (documentation only)
    torch_at_inf: str = ""
    kw: dict = field(default_factory=dict)


def ew(case_id, name, params, torch_fn, limits, torch_at_inf=""):
    # looked up at call time: a missing function fails its own tests only
    return Elementwise(
        case_id,
        lambda x: getattr(fa, name)(x, **params),
        lambda x: getattr(fa, name + "_derivative")(x, **params),
        lambda g, x: getattr(fa, name + "_backward")(g, x, **params),
        torch_fn,
        limits,
        torch_at_inf,
        dict(params),
    )


def prelu_case(case_id, w):
    # 1 weight: any shape; the special-value tests use 2-D inputs, axis=1.
    def weight(x):
        return np.asarray(w, dtype=x.dtype)

    return Elementwise(
        case_id,
        lambda x: fa.prelu(x, weight(x), axis=1),
        lambda x: fa.prelu_derivative(x, weight(x), axis=1),
        lambda g, x: fa.prelu_backward(g, x, weight(x), axis=1),
        lambda t: F.prelu(t, torch.tensor(w, dtype=t.dtype)),
        (INF, -INF * w[0], 1.0, w[0]),
    )


def _swish_torch(beta):
    # torch has no swish(beta): x * sigmoid(beta x) (= silu when beta == 1).
    return lambda t: t * torch.sigmoid(beta * t)


def _torch_hardsigmoid(t):
    # F.hardsigmoid's backward uses the float constant 1.0f/6.0f even for
    # float64: torch float64 hardsigmoid' = 0.1666666716337204 (relative error
    # 3e-8) where the SPEC (and the math) say 1/6.  hardtanh(x, -3, 3)/6 + 1/2
    # is the same function with the same kinks (hardtanh' = 0 at +-3, 1 on the
    # open interval) and an exact 1/6 gradient; see also
    # test_hardsigmoid_float64_derivative_is_one_sixth.
    return F.hardtanh(t, -3.0, 3.0) / 6 + 0.5


def build_cases():
    return [
        ew("relu", "relu", {}, F.relu, (INF, 0.0, 1.0, 0.0)),
        ew("leaky_relu-default", "leaky_relu", {}, F.leaky_relu, (INF, -INF, 1.0, 0.01)),
        ew("leaky_relu-0.2", "leaky_relu", {"negative_slope": 0.2},
           lambda t: F.leaky_relu(t, 0.2), (INF, -INF, 1.0, 0.2)),
        ew("leaky_relu-1.5", "leaky_relu", {"negative_slope": 1.5},
           lambda t: F.leaky_relu(t, 1.5), (INF, -INF, 1.0, 1.5)),
        prelu_case("prelu-0.25", [0.25]),
        ew("rrelu-eval", "rrelu", {}, lambda t: F.rrelu(t, training=False),
           (INF, -INF, 1.0, RRELU_EVAL_SLOPE)),
        ew("rrelu-eval-0.1-0.3", "rrelu", {"lower": 0.1, "upper": 0.3, "training": False},
           lambda t: F.rrelu(t, 0.1, 0.3, training=False), (INF, -INF, 1.0, 0.2)),
        ew("elu", "elu", {}, F.elu, (INF, -1.0, 1.0, 0.0)),
        ew("elu-alpha0.5", "elu", {"alpha": 0.5}, lambda t: F.elu(t, 0.5), (INF, -0.5, 1.0, 0.0)),
        ew("elu-alpha2", "elu", {"alpha": 2.0}, lambda t: F.elu(t, 2.0), (INF, -2.0, 1.0, 0.0)),
        ew("selu", "selu", {}, F.selu, (INF, -SELU_SCALE * SELU_ALPHA, SELU_SCALE, 0.0)),
        ew("gelu-none", "gelu", {}, F.gelu, (INF, 0.0, 1.0, 0.0),
           "gelu(-inf)=NaN, gelu'(+-inf)=NaN; float32 gelu(+inf)=NaN too"),
        ew("gelu-tanh", "gelu", {"approximate": "tanh"},
           lambda t: F.gelu(t, approximate="tanh"), (INF, 0.0, 1.0, 0.0),
           "gelu_tanh(-inf)=NaN, gelu_tanh'(+-inf)=NaN"),
        ew("sigmoid", "sigmoid", {}, torch.sigmoid, (1.0, 0.0, 0.0, 0.0)),
        ew("log_sigmoid", "log_sigmoid", {}, F.logsigmoid, (0.0, -INF, 0.0, 1.0)),
        ew("tanh", "tanh", {}, torch.tanh, (1.0, -1.0, 0.0, 0.0)),
        ew("silu", "silu", {}, F.silu, (INF, 0.0, 1.0, 0.0), "silu(-inf)=NaN, silu'(+-inf)=NaN"),
        ew("swish-beta1", "swish", {}, _swish_torch(1.0), (INF, 0.0, 1.0, 0.0),
           "x*sigmoid(bx) at -inf = NaN, its autograd at +-inf = NaN"),
        ew("swish-beta0.5", "swish", {"beta": 0.5}, _swish_torch(0.5), (INF, 0.0, 1.0, 0.0),
           "x*sigmoid(bx) at -inf = NaN, its autograd at +-inf = NaN"),
        ew("swish-beta2", "swish", {"beta": 2.0}, _swish_torch(2.0), (INF, 0.0, 1.0, 0.0),
           "x*sigmoid(bx) at -inf = NaN, its autograd at +-inf = NaN"),
        ew("mish", "mish", {}, F.mish, (INF, 0.0, 1.0, 0.0), "mish(-inf)=NaN, mish'(+-inf)=NaN"),
        ew("softplus", "softplus", {}, F.softplus, (INF, 0.0, 1.0, 0.0)),
        ew("softplus-b2-t5", "softplus", {"beta": 2.0, "threshold": 5.0},
           lambda t: F.softplus(t, 2.0, 5.0), (INF, 0.0, 1.0, 0.0)),
        ew("softplus-b0.5-t1", "softplus", {"beta": 0.5, "threshold": 1.0},
           lambda t: F.softplus(t, 0.5, 1.0), (INF, 0.0, 1.0, 0.0)),
        ew("hardsigmoid", "hardsigmoid", {}, _torch_hardsigmoid, (1.0, 0.0, 0.0, 0.0)),
        ew("hardswish", "hardswish", {}, F.hardswish, (INF, 0.0, 1.0, 0.0), "hardswish(-inf)=NaN"),
    ]


CASES = build_cases()
CASE_IDS = [c.id for c in CASES]


# --------------------------------------------------------------------------
# elementwise: values and gradients at ordinary points
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_elementwise_matches_torch(case, dtype):
    x = ordinary_points(dtype)
    g = grad_points(dtype, x.shape)
    compare_forward_and_grad_with_torch(case.fwd, case.bwd, case.deriv, case.torch_fn, [x], g, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_elementwise_matches_torch_strided(case, dtype):
    # a transposed, every-other-column view: exercises strides and the SIMD tail
    x = ordinary_points(dtype, shape=(9, 26), seed=5).T[::2]
    g = grad_points(dtype, (9, 26), seed=6).T[::2]
    compare_forward_and_grad_with_torch(case.fwd, case.bwd, case.deriv, case.torch_fn, [x], g, dtype)


PRELU_SETUPS = {
    # id: (weight, axis, torch function of (t, w))
    "single-weight": ([0.25], 1, lambda t, w: F.prelu(t, w)),
    "channel-weight": ([0.1, -0.2, 0.7], 1, lambda t, w: F.prelu(t, w)),
    # torch's prelu only knows dim 1: move the last axis there and back
    "channel-weight-last-axis": (
        [0.3, 0.05, -0.5, 1.2, 0.0],
        -1,
        lambda t, w: F.prelu(t.movedim(-1, 1), w).movedim(1, -1),
    ),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("setup", list(PRELU_SETUPS), ids=list(PRELU_SETUPS))
def test_prelu_matches_torch(setup, dtype):
    w_list, axis, torch_prelu = PRELU_SETUPS[setup]
    x = ordinary_points(dtype, shape=(2, 3, 4, 5))
    g = grad_points(dtype, x.shape)
    w = np.asarray(w_list, dtype=dtype)
    wt = torch.tensor(w_list, dtype=torch.from_numpy(x).dtype)
    compare_forward_and_grad_with_torch(
        lambda a: fa.prelu(a, w, axis=axis),
        lambda gg, a: fa.prelu_backward(gg, a, w, axis=axis),
        lambda a: fa.prelu_derivative(a, w, axis=axis),
        lambda t: torch_prelu(t, wt),
        [x],
        g,
        dtype,
    )


# --------------------------------------------------------------------------
# kinks (SPEC 4); torch agrees with the SPEC at every one of these
# --------------------------------------------------------------------------


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def _above(v, dtype):
    return float(np.nextafter(dtype(v), dtype(np.inf)))


def _below(v, dtype):
    return float(np.nextafter(dtype(v), dtype(-np.inf)))


# id -> (case id, function of dtype giving [(x, expected f'(x), expected f(x) or None)])
KINKS = {
    "relu-at-0": ("relu", lambda dt: [(0.0, 0.0, 0.0), (-0.0, 0.0, -0.0)]),
    "leaky_relu-at-0": ("leaky_relu-default", lambda dt: [(0.0, 0.01, 0.0), (-0.0, 0.01, -0.0)]),
    "leaky_relu-0.2-at-0": ("leaky_relu-0.2", lambda dt: [(0.0, 0.2, 0.0), (-0.0, 0.2, -0.0)]),
    "prelu-at-0": ("prelu-0.25", lambda dt: [(0.0, 0.25, 0.0), (-0.0, 0.25, -0.0)]),
    "rrelu-eval-at-0": ("rrelu-eval", lambda dt: [(0.0, RRELU_EVAL_SLOPE, 0.0)]),
    "elu-at-0": ("elu", lambda dt: [(0.0, 1.0, 0.0), (-0.0, 1.0, -0.0)]),
    "elu-alpha0.5-at-0": ("elu-alpha0.5", lambda dt: [(0.0, 0.5, 0.0), (-0.0, 0.5, -0.0)]),
    "elu-alpha2-at-0": ("elu-alpha2", lambda dt: [(0.0, 2.0, 0.0)]),
    "selu-at-0": ("selu", lambda dt: [(0.0, SELU_SCALE * SELU_ALPHA, 0.0)]),
    "hardsigmoid-at-pm3": (
        "hardsigmoid",
        lambda dt: [
            (-3.0, 0.0, 0.0),
            (3.0, 0.0, 1.0),
            (_above(-3.0, dt), 1 / 6, None),
            (_below(3.0, dt), 1 / 6, None),
            (0.0, 1 / 6, 0.5),
            (-4.0, 0.0, 0.0),
            (4.0, 0.0, 1.0),
        ],
    ),
    "hardswish-at-pm3": (
        "hardswish",
        lambda dt: [
            (-3.0, 0.0, 0.0),  # torch: 0 (forward -0.0)
            (3.0, 1.0, 3.0),
            (_above(-3.0, dt), _above(-3.0, dt) / 3 + 0.5, None),  # about -1/2
            (_below(3.0, dt), _below(3.0, dt) / 3 + 0.5, None),  # about 3/2
            (0.0, 0.5, 0.0),
            (-2.0, -1 / 6, None),
            (2.0, 7 / 6, None),
            (-4.0, 0.0, 0.0),
            (4.0, 1.0, 4.0),
        ],
    ),
    # softplus: log1p(exp(beta x))/beta when beta*x <= threshold, x above it
    "softplus-at-threshold": (
        "softplus",
        lambda dt: [
            (20.0, _sig(20.0), math.log1p(math.exp(20.0))),
            (_above(20.0, dt), 1.0, _above(20.0, dt)),
            (_below(20.0, dt), _sig(_below(20.0, dt)), None),
        ],
    ),
    "softplus-b0.5-t1-at-threshold": (
        "softplus-b0.5-t1",
        lambda dt: [
            (2.0, _sig(1.0), math.log1p(math.e) / 0.5),  # 2.6265..., not 2
            (_above(2.0, dt), 1.0, _above(2.0, dt)),
        ],
    ),
    "softplus-b2-t5-at-threshold": (
        "softplus-b2-t5",
        lambda dt: [
            (2.5, _sig(5.0), math.log1p(math.exp(5.0)) / 2),
            (_above(2.5, dt), 1.0, _above(2.5, dt)),
        ],
    ),
}
CASE_BY_ID = {c.id: c for c in CASES}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kink", list(KINKS), ids=list(KINKS))
def test_kinks(kink, dtype):
    case_id, points = KINKS[kink]
    case = CASE_BY_ID[case_id]
    pts = points(dtype)
    x = np.array([[p[0] for p in pts]], dtype=dtype)
    want_d = np.array([[p[1] for p in pts]], dtype=np.float64)
    tol = tolerance(dtype)

    d = case.deriv(x)
    assert d.dtype == dtype
    np.testing.assert_allclose(d, want_d, err_msg=f"{kink}: derivative", **tol)
    g = np.full_like(x, 3.0)
    np.testing.assert_allclose(case.bwd(g, x), 3.0 * want_d, err_msg=f"{kink}: backward", **tol)

    y = case.fwd(x)
    for i, p in enumerate(pts):
        if p[2] is not None:
            np.testing.assert_allclose(y[0, i], p[2], err_msg=f"{kink}: forward at {p[0]!r}", **tol)

    # torch agrees with the SPEC at all these kinks
    y_t, (d_t,) = torch_forward_and_grads(case.torch_fn, [x], np.ones_like(x))
    np.testing.assert_allclose(d, d_t, err_msg=f"{kink}: derivative vs torch", **tol)
    np.testing.assert_allclose(y, y_t, err_msg=f"{kink}: forward vs torch", **tol)


# --------------------------------------------------------------------------
# special values: NaN, +-inf, -0.0
# --------------------------------------------------------------------------

SPECIAL = [NAN, INF, -INF, -0.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_special_values(case, dtype):
    x = np.array([SPECIAL], dtype=dtype)
    y = case.fwd(x)[0]
    d = case.deriv(x)[0]
    gx = case.bwd(np.full_like(x, 2.0), x)[0]
    assert y.dtype == d.dtype == gx.dtype == dtype

    # NaN in -> NaN out everywhere (SPEC 4).  torch agrees for the forward; its
    # autograd does not for the piecewise functions: relu' -> 1, leaky_relu',
    # rrelu', prelu' -> the slope, elu' -> 1, selu' -> 1.0507, hardsigmoid' -> 0,
    # hardswish' -> 1 (torch 2.13.0).
    assert np.isnan(y[0]), f"forward(NaN) = {y[0]!r}"
    assert np.isnan(d[0]), f"derivative(NaN) = {d[0]!r}"
    assert np.isnan(gx[0]), f"backward(2, NaN) = {gx[0]!r}"

    # +-inf: the mathematical limit.  Where torch gives NaN instead it says so
    # in case.torch_at_inf (e.g. silu(-inf), mish(-inf), gelu'(inf)); there the
    # SPEC's limit is asserted.  Zeros are compared by value only (SPEC allows
    # gelu(-inf) = -0.0 or 0).
    f_pinf, f_ninf, d_pinf, d_ninf = case.limits
    tol = {"rtol": 4 * float(np.finfo(dtype).eps), "atol": 0.0}
    np.testing.assert_allclose(y[1:3], [f_pinf, f_ninf], err_msg="forward at +-inf " + case.torch_at_inf, **tol)
    np.testing.assert_allclose(d[1:3], [d_pinf, d_ninf], err_msg="derivative at +-inf " + case.torch_at_inf, **tol)
    np.testing.assert_allclose(gx[1:3], [2 * d_pinf, 2 * d_ninf], err_msg="backward at +-inf", **tol)

    # -0.0 and 0.0: value and sign as torch (torch's sign is the convention).
    y_t, (d_t,) = torch_forward_and_grads(case.torch_fn, [x[:, 3:]], np.ones_like(x[:, 3:]))
    np.testing.assert_array_equal(y[3:], y_t[0], err_msg="forward at -0.0, 0.0")
    np.testing.assert_array_equal(
        np.signbit(y[3:]), np.signbit(y_t[0]), err_msg=f"sign of forward at -0.0, 0.0: got {y[3:]!r}, torch {y_t[0]!r}"
    )
    np.testing.assert_allclose(d[3:], d_t[0], err_msg="derivative at -0.0, 0.0", **tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_huge_finite_inputs(case, dtype):
    """Finite inputs never give NaN; values as torch where torch is not NaN.

    torch: gelu_tanh'(+-1e30) in float32 and gelu_tanh'(+-1e300) in float64
    are NaN (x**3 overflows); there the limits 0 (at -big) and 1 (at +big)
    are asserted.
    """
    big = 1e30 if dtype is np.float32 else 1e300
    x = np.array([[-big, -1e10, 1e10, big]], dtype=dtype)
    y = case.fwd(x)
    d = case.deriv(x)
    assert not np.isnan(y).any(), f"forward at {x} = {y}"
    assert not np.isnan(d).any(), f"derivative at {x} = {d}"
    y_t, (d_t,) = torch_forward_and_grads(case.torch_fn, [x], np.ones_like(x))
    lim = np.array([[case.limits[3], case.limits[3], case.limits[2], case.limits[2]]])
    d_t = np.where(np.isnan(d_t), lim, d_t)  # torch NaN -> the limit
    np.testing.assert_allclose(y, y_t, **tolerance(dtype))
    np.testing.assert_allclose(d, d_t, **tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_backward_nan_grad_output(case, dtype):
    """NaN grad_output -> NaN, also where f'(x) == 0 (SPEC 4: NaN in, NaN out).

    torch returns 0 there instead: relu at x <= 0, hardsigmoid at |x| >= 3,
    hardswish at x <= -3 (threshold_backward / masked kernels, torch 2.13.0).
    """
    x = np.array([[-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 4.0]], dtype=dtype)
    g = np.full_like(x, np.nan)
    gx = case.bwd(g, x)
    assert np.isnan(gx).all(), f"backward(NaN, {x}) = {gx}"


def test_hardsigmoid_float64_derivative_is_one_sixth():
    # torch 2.13.0: F.hardsigmoid backward in float64 gives float32(1/6) =
    # 0.1666666716337204; the SPEC's 1/6 is asserted.
    x = np.array([-2.5, -1.0, 0.0, 0.7, 2.999], dtype=np.float64)
    np.testing.assert_allclose(fa.hardsigmoid_derivative(x), np.full(5, 1.0 / 6.0), rtol=4e-16, atol=0)
    np.testing.assert_allclose(
        fa.hardsigmoid_backward(np.full(5, 3.0), x), np.full(5, 0.5), rtol=4e-16, atol=0
    )


# --------------------------------------------------------------------------
# accuracy wins over torch in float32 (SPEC 5)
# --------------------------------------------------------------------------


def _ulp_error(got, exact, dtype):
    return abs(float(got) - exact) / float(np.spacing(dtype(abs(exact))))


def test_float32_gelu_tail_is_not_flushed():
    # torch float32: F.gelu(-8) = -0.0 (its erf polynomial); true -4.98e-15
    exact = 0.5 * -8.0 * math.erfc(8.0 / math.sqrt(2.0))
    got = fa.gelu(np.array([-8.0], dtype=np.float32))[0]
    assert got.dtype == np.float32
    assert got != 0, "float32 gelu(-8) flushed to 0 (torch does; the SPEC forbids it)"
    assert _ulp_error(got, exact, np.float32) <= 2, (float(got), exact)


@pytest.mark.parametrize("x", [20.0, -20.0])
def test_float32_sigmoid_derivative_tail_is_not_flushed(x):
    # torch float32: sigmoid'(20) = 0 (computed as y*(1-y)); true 2.06e-9
    exact = math.exp(-abs(x)) / (1.0 + math.exp(-abs(x))) ** 2
    xs = np.array([x], dtype=np.float32)
    for what, got in (
        ("derivative", fa.sigmoid_derivative(xs)[0]),
        ("backward", fa.sigmoid_backward(np.ones_like(xs), xs)[0]),
    ):
        assert got.dtype == np.float32
        assert got != 0, f"float32 sigmoid {what}({x}) flushed to 0"
        assert _ulp_error(got, exact, np.float32) <= 4, (what, float(got), exact)


# --------------------------------------------------------------------------
# softmax / log_softmax
# --------------------------------------------------------------------------
# fastact computes float32 rows in float64; torch float32 first rounds x/T to
# float32, so the float32 references here are torch computed in float64 from
# the same float32 input (then compared at float32 tolerance).

ROWWISE = {
    "softmax": (
        lambda *a, **k: fa.softmax(*a, **k),
        lambda *a, **k: fa.softmax_backward(*a, **k),
        torch.softmax,
    ),
    "log_softmax": (
        lambda *a, **k: fa.log_softmax(*a, **k),
        lambda *a, **k: fa.log_softmax_backward(*a, **k),
        torch.log_softmax,
    ),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0], ids=lambda t: f"T{t}")
@pytest.mark.parametrize("axis", [0, -1], ids=lambda a: f"axis{a}")
@pytest.mark.parametrize("name", list(ROWWISE))
def test_rowwise_matches_torch(name, axis, temperature, dtype):
    fwd, bwd, torch_fn = ROWWISE[name]
    x = ordinary_points(dtype, shape=(5, 7), lo=-3.0, hi=3.0)
    g = grad_points(dtype, x.shape)
    T = temperature
    # log_softmax values grow like max|x|/T; gradients scale like 1/T
    scale = (1.0 + 6.0 / T) if name == "log_softmax" else 1.0 / T
    compare_forward_and_grad_with_torch(
        lambda a: fwd(a, axis=axis, temperature=T),
        # backward takes the forward OUTPUT
        lambda gg, a: bwd(gg, fwd(a, axis=axis, temperature=T), axis=axis, temperature=T),
        None,
        lambda t: torch_fn(t / T, dim=axis),
        [x],
        g,
        dtype,
        scale=scale,
        torch_dtype=np.float64,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", list(ROWWISE))
def test_rowwise_masked_entries_match_torch(name, dtype):
    # some -inf entries (not whole rows): softmax 0 there, log_softmax -inf;
    # gradients finite, as torch autograd
    x = np.array([[-INF, 0.5, 1.0, -INF], [2.0, -INF, -1.0, 0.0]], dtype=dtype)
    g = np.array([[0.3, -0.7, 0.2, 1.0], [-0.4, 0.9, 0.1, -0.6]], dtype=dtype)
    fwd, bwd, torch_fn = ROWWISE[name]
    y = fwd(x, axis=-1, temperature=2.0)
    y_t, (gx_t,) = torch_forward_and_grads(lambda t: torch_fn(t / 2.0, dim=-1), [x.astype(np.float64)], g.astype(np.float64))
    np.testing.assert_allclose(y, y_t, **tolerance(dtype))
    gx = bwd(g, y, axis=-1, temperature=2.0)
    assert np.isfinite(gx).all(), gx
    np.testing.assert_allclose(gx, gx_t, **tolerance(dtype))


SPECIAL_ROWS = [
    [1.0, INF, 2.0],  # any +inf: NaN row (torch)
    [INF, INF, 0.0],
    [INF, -INF, 0.0],
    [-INF, -INF, -INF],  # fully masked: NaN row (torch), zeros with masked_rows='zero'
    [NAN, 1.0, 2.0],  # NaN in -> NaN row
    [-INF, 0.0, 1.0],  # partly masked: ordinary
    [1.0, 2.0, 3.0],
]
NAN_ROWS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("temperature", [1.0, 2.0], ids=lambda t: f"T{t}")
@pytest.mark.parametrize("axis", [0, -1], ids=lambda a: f"axis{a}")
def test_rowwise_special_rows(axis, temperature, dtype):
    rows = np.array(SPECIAL_ROWS, dtype=dtype)
    x = rows if axis == -1 else rows.T.copy()
    T = temperature

    def rows_of(a):
        return a if axis == -1 else a.T

    for name, (fwd, _, torch_fn) in ROWWISE.items():
        y = rows_of(fwd(x, axis=axis, temperature=T))
        y_t = rows_of(torch_fn(torch.from_numpy(x.astype(np.float64)) / T, dim=axis).numpy())
        assert np.isnan(y[NAN_ROWS]).all(), f"{name}: rows with +inf, all -inf or NaN must be NaN rows\n{y}"
        assert np.isnan(y_t[NAN_ROWS]).all()  # torch agrees
        np.testing.assert_allclose(y[5:], y_t[5:], err_msg=name, **tolerance(dtype))

    # opt-in: fully masked rows give zeros; everything else unchanged
    y = rows_of(fa.softmax(x, axis=axis, temperature=T, masked_rows="zero"))
    y_nan = rows_of(fa.softmax(x, axis=axis, temperature=T))
    np.testing.assert_array_equal(y[3], np.zeros(3))
    other = [0, 1, 2, 4, 5, 6]
    np.testing.assert_array_equal(y[other], y_nan[other])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("temperature", [1.0, 0.5], ids=lambda t: f"T{t}")
@pytest.mark.parametrize("axis", [0, -1], ids=lambda a: f"axis{a}")
def test_softmax_jacobian_matches_torch(axis, temperature, dtype):
    x = ordinary_points(dtype, shape=(4, 3), lo=-2.0, hi=2.0)
    T = temperature
    y = fa.softmax(x, axis=axis, temperature=T)
    jac = fa.softmax_jacobian(y, axis=axis, temperature=T)
    rows = x if axis == -1 else x.T  # the non-axis dims, then the axis
    n = rows.shape[-1]
    assert jac.shape == (rows.shape[0], n, n)
    assert jac.dtype == dtype
    for i, r in enumerate(rows):
        jt = torch.autograd.functional.jacobian(
            lambda t: torch.softmax(t / T, dim=0), torch.from_numpy(r.astype(np.float64).copy())
        ).numpy()
        np.testing.assert_allclose(jac[i], jt, err_msg=f"row {i}", **tolerance(dtype, 1.0 / T))


# --------------------------------------------------------------------------
# gated
# --------------------------------------------------------------------------

GLU_SHAPES = {"2d-axis-1": ((3, 8), -1), "2d-axis0": ((6, 5), 0), "3d-axis1": ((2, 4, 6), 1)}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("layout", list(GLU_SHAPES))
def test_glu_matches_torch(layout, dtype):
    shape, axis = GLU_SHAPES[layout]
    x = ordinary_points(dtype, shape=shape)
    g_shape = list(shape)
    g_shape[axis] //= 2
    g = grad_points(dtype, tuple(g_shape))
    compare_forward_and_grad_with_torch(
        lambda a: fa.glu(a, axis=axis),
        lambda gg, a: fa.glu_backward(gg, a, axis=axis),
        lambda a: fa.glu_derivative(a, axis=axis),
        lambda t: F.glu(t, dim=axis),
        [x],
        g,
        dtype,
    )


GATED = {
    "swiglu": ({}, lambda gate, up: F.silu(gate) * up),
    "geglu-none": ({}, lambda gate, up: F.gelu(gate) * up),
    "geglu-tanh": ({"approximate": "tanh"}, lambda gate, up: F.gelu(gate, approximate="tanh") * up),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("gated", list(GATED))
def test_gated_matches_torch(gated, dtype):
    params, torch_fn = GATED[gated]
    name = gated.split("-")[0]
    f, d, b = (getattr(fa, name + s) for s in ("", "_derivative", "_backward"))
    gate = ordinary_points(dtype, shape=(3, 17), seed=11)
    up = ordinary_points(dtype, shape=(3, 17), lo=-2.0, hi=2.0, seed=12)
    g = grad_points(dtype, gate.shape)
    compare_forward_and_grad_with_torch(
        lambda a, u: f(a, u, **params),
        lambda gg, a, u: b(gg, a, u, **params),  # -> (grad_gate, grad_up)
        lambda a, u: d(a, u, **params),  # -> (d_gate, d_up)
        torch_fn,
        [gate, up],
        g,
        dtype,
        scale=2.0,
    )
