"""Derivatives and backward passes of fastact, checked against the forwards.

* Every elementwise derivative (all parameter variants of cases.VARIANTS, prelu
  and rrelu included) against central finite differences of fastact's own
  forward in float64, at points more than 1e-3 from every kink.
* NAME_backward(g, x) == g * NAME_derivative(x) bitwise for the elementwise
  functions (float64), and for float32 equal to float32(float64(g) *
  float64(derivative)) or within 1 ULP of it (the kernel rounds the double
  product once, from the unrounded double derivative).
* softmax_backward / log_softmax_backward == g @ Jacobian along several axes
  and temperatures, and each Jacobian against finite differences of the forward.
* glu, swiglu, geglu: derivative and backward against finite differences of
  the forward with respect to each input.
"""
import numpy as np
import pytest

import fastact as fa
from cases import CASES
from levels import LEVELS, simd_level

H_REL = 1e-6  # step: 1e-6 * max(1, |x|)
RTOL = 1e-6
ATOL = 1e-8  # FD rounding noise is ~ eps * |f| / h ~ 1e-10 at |x| <= 12

ELEMENTWISE = [c for c in CASES if c.info.kind in ("elementwise", "parametric") and c.mode == "derivative"]


def _kinks(case):
    p = case.params
    if case.name in ("relu", "leaky_relu", "prelu", "rrelu", "elu", "selu"):
        return [0.0]
    if case.name in ("hardsigmoid", "hardswish"):
        return [-3.0, 3.0]
    if case.name == "softplus":
        return [float(p.get("threshold", 20.0)) / float(p.get("beta", 1.0))]
    return []


def _points(case, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([
        rng.uniform(-12, 12, n),
        rng.standard_normal(n // 3),
        np.linspace(-25, 25, 501),
        np.array([-3.0011, -2.9989, 2.9989, 3.0011, -1e-2, 1e-2, 0.5, -0.5]),
    ])
    for k in _kinks(case):
        x = x[np.abs(x - k) > 1e-3]
    return x


def _central_difference(f, x):
    h = H_REL * np.maximum(1.0, np.abs(x))
    xp, xm = x + h, x - h
    return (f(xp) - f(xm)) / (xp - xm)


def _extra(case, x):
    """Extra positional arrays after x (prelu's weight, one per element here)."""
    if case.name == "prelu":
        rng = np.random.default_rng(7)
        return (rng.uniform(-0.5, 0.5, 1),)  # one weight for every element
    return ()


@pytest.mark.parametrize("case", ELEMENTWISE, ids=lambda c: c.id.replace(".derivative", ""))
def test_elementwise_derivative_vs_finite_differences(case):
    x = _points(case)
    extra = _extra(case, x)
    forward = fa.REGISTRY[case.name].forward
    derivative = fa.REGISTRY[case.name].derivative

    def f(v):
        return np.asarray(forward(v, *extra, **case.params), dtype=np.float64)

    fd = _central_difference(f, x)
    d = np.asarray(derivative(x, *extra, **case.params))
    assert d.dtype == np.float64 and d.shape == x.shape
    bad = ~(np.abs(d - fd) <= RTOL * np.abs(fd) + ATOL)
    if bad.any():
        i = np.flatnonzero(bad)[np.argmax(np.abs(d - fd)[bad])]
        pytest.fail(f"{case.id}: {bad.sum()}/{x.size} points off; worst x={x[i]!r}: "
                    f"derivative {d[i]!r}, finite difference {fd[i]!r}")


def _special_inputs(dtype, seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([
        rng.standard_normal(1111) * 3,  # 1331 = 11**3 elements in all
        rng.uniform(-40, 40, 200),
        [0.0, -0.0, 3.0, -3.0, 1e-30, -1e-30, 50.0, -50.0, 100.0, -100.0, 1e4, -1e4,
         np.inf, -np.inf, np.nan, 20.0, 20.000001, 2.5, 2.5000001, -0.3],
    ]).astype(dtype)
    g = np.concatenate([rng.standard_normal(x.size - 4) * 2, [0.0, -0.0, 1e-38, -7.5]]).astype(dtype)
    return x, g


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    both_nan = np.isnan(a) & np.isnan(b)
    uint = np.uint32 if a.dtype == np.float32 else np.uint64
    return both_nan | (a.view(uint) == b.view(uint))


BACKWARD = [c for c in CASES if c.info.kind in ("elementwise", "parametric") and c.mode == "backward"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", BACKWARD, ids=lambda c: c.id.replace(".backward", ""))
def test_backward_is_grad_times_derivative(case, dtype):
    x, g = _special_inputs(dtype, 3)
    extra = ()
    if case.name == "prelu":
        x, g = x.reshape(11, 11, 11)[:, :, :], g.reshape(11, 11, 11)  # 1331 elements
        extra = (np.random.default_rng(5).uniform(-0.5, 0.5, 11).astype(dtype),)
    info = fa.REGISTRY[case.name]
    d = np.asarray(info.derivative(x, *extra, **case.params))
    gx = np.asarray(info.backward(g, x, *extra, **case.params))
    assert gx.dtype == np.dtype(dtype) and gx.shape == x.shape
    with np.errstate(all="ignore"):
        expected = (g.astype(np.float64) * d.astype(np.float64)).astype(dtype)
    same = _bits_equal(gx, expected)
    if dtype == np.float64:
        # Bitwise g * derivative, except where the derivative is tiny or
        # subnormal (or underflows to 0): there the backward forms g * f'(x)
        # without rounding f'(x) first (tests/test_backward_tails.py checks
        # it against mpmath), so the two may differ by |g| times f's own
        # rounding error in the subnormal range (half of 2^-1074).
        with np.errstate(all="ignore"):
            diff = np.abs(gx - expected)
            bound = 2 * np.abs(g) * 2.0**-1074 + 2 * np.spacing(np.abs(expected))
        ok = same | ((np.abs(d) < 2.0**-960) & (diff <= bound))
    else:
        # float32 backward multiplies g by the full double derivative, while
        # the float32 derivative is rounded to float32 (to a few bits where it
        # is subnormal) and may come from a float32-grade formula (SPEC: <= 4
        # ULP): they agree within |g| times that error plus one rounding.
        with np.errstate(all="ignore"):
            diff = np.abs(gx.astype(np.float64) - expected.astype(np.float64))
            one_ulp = np.spacing(np.abs(expected)).astype(np.float64)
            d_error = 4 * np.abs(g.astype(np.float64)) * np.spacing(np.abs(d)).astype(np.float64)
        ok = same | (diff <= one_ulp + d_error)
    if not ok.all():
        i = np.flatnonzero(~ok.ravel())[0]
        pytest.fail(f"{case.id} {np.dtype(dtype).name}: {(~ok).sum()} elements; first at "
                    f"x={x.ravel()[i]!r}, g={g.ravel()[i]!r}: backward {gx.ravel()[i]!r}, "
                    f"g*derivative {expected.ravel()[i]!r} (derivative {d.ravel()[i]!r})")


# --------------------------------------------------------------------------
# Row-wise
# --------------------------------------------------------------------------

ROW_SHAPES = [((5, 8), 1), ((5, 8), 0), ((5, 8), -1), ((3, 4, 6), 1), ((3, 4, 6), 0),
              ((3, 4, 6), -1), ((7,), 0), ((1, 1), -1)]
TEMPERATURES = [1.0, 0.7, 2.5]


def _vjp(g, jac, axis):
    """gx_j = sum_i g_i J[..., i, j], with J's non-axis dims in g's order."""
    gm = np.moveaxis(g, axis, -1)
    gx = np.einsum("...i,...ij->...j", gm, jac)
    return np.moveaxis(gx, -1, axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("t", TEMPERATURES, ids=lambda t: f"T={t}")
@pytest.mark.parametrize("shape, axis", ROW_SHAPES, ids=[f"{s}-axis{a}" for s, a in ROW_SHAPES])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_rowwise_backward_is_vjp_of_jacobian(name, shape, axis, t, dtype):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = getattr(fa, name)(x, axis, temperature=t)
    gx = getattr(fa, name + "_backward")(g, y, axis, temperature=t)
    assert gx.dtype == np.dtype(dtype) and gx.shape == x.shape
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    jac = getattr(fa, name + "_jacobian")(y64, axis, temperature=t)
    n = shape[axis]
    other = tuple(s for k, s in enumerate(shape) if k != axis % len(shape))
    assert jac.shape == other + (n, n)
    expected = _vjp(g64, jac, axis)
    eps = np.finfo(dtype).eps
    # abs bound: a few eps of the terms summed (|g| * |J| row sums), /T included in J
    scale = _vjp(np.abs(g64), np.abs(jac), axis) + np.abs(g64) / t
    ok = np.abs(gx - expected) <= 4 * np.spacing(np.abs(expected).astype(dtype)) + 8 * eps * scale
    assert ok.all(), (f"{name} axis={axis} T={t}: worst backward {gx.ravel()[np.argmin(ok)]!r} "
                      f"vs g@J {expected.ravel()[np.argmin(ok)]!r}")


@pytest.mark.parametrize("t", TEMPERATURES, ids=lambda t: f"T={t}")
@pytest.mark.parametrize("shape, axis", ROW_SHAPES[:6], ids=[f"{s}-axis{a}" for s, a in ROW_SHAPES[:6]])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_rowwise_jacobian_vs_finite_differences(name, shape, axis, t):
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape) * 3
    y = getattr(fa, name)(x, axis, temperature=t)
    jac = getattr(fa, name + "_jacobian")(y, axis, temperature=t)
    xm = np.moveaxis(x, axis, -1)
    n = xm.shape[-1]
    for j in range(n):  # column j: d y_i / d x_j
        h = H_REL * np.maximum(1.0, np.abs(xm[..., j]))
        xp, xn = xm.copy(), xm.copy()
        xp[..., j] += h
        xn[..., j] -= h
        step = xp[..., j] - xn[..., j]
        yp = np.moveaxis(getattr(fa, name)(np.moveaxis(xp, -1, axis), axis, temperature=t), axis, -1)
        yn = np.moveaxis(getattr(fa, name)(np.moveaxis(xn, -1, axis), axis, temperature=t), axis, -1)
        fd = (yp - yn) / step[..., None]
        np.testing.assert_allclose(jac[..., :, j], fd, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name}_jacobian column {j}, axis={axis}, T={t}")


# --------------------------------------------------------------------------
# Gated
# --------------------------------------------------------------------------


def _fd_close(got, fd, label):
    got = np.asarray(got)
    bad = ~(np.abs(got - fd) <= RTOL * np.abs(fd) + ATOL)
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        pytest.fail(f"{label}: {bad.sum()}/{bad.size} off; first: got {got.ravel()[i]!r}, "
                    f"finite difference {fd.ravel()[i]!r}")


@pytest.mark.parametrize("shape, axis", [((6, 40), -1), ((6, 40), 0), ((4, 6, 10), 1), ((500,), 0)],
                         ids=["2d-axis-1", "2d-axis0", "3d-axis1", "1d"])
def test_glu_derivative_and_backward_vs_finite_differences(shape, axis):
    rng = np.random.default_rng(21)
    x = rng.standard_normal(shape) * 4
    half = shape[axis] // 2
    a_idx = [slice(None)] * len(shape)
    a_idx[axis] = slice(0, half)
    b_idx = list(a_idx)
    b_idx[axis] = slice(half, None)
    a_idx, b_idx = tuple(a_idx), tuple(b_idx)

    def f(v):
        return fa.glu(v, axis)

    fds = []
    for idx in (a_idx, b_idx):  # y_k depends only on a_k, b_k: perturb a half at once
        h = H_REL * np.maximum(1.0, np.abs(x[idx]))
        xp, xn = x.copy(), x.copy()
        xp[idx] += h
        xn[idx] -= h
        fds.append((f(xp) - f(xn)) / (xp[idx] - xn[idx]))
    fd = np.concatenate(fds, axis=axis)
    d = fa.glu_derivative(x, axis)
    assert d.shape == x.shape
    _fd_close(d, fd, f"glu_derivative axis={axis}")
    g = rng.standard_normal(f(x).shape)
    gx = fa.glu_backward(g, x, axis)
    assert gx.shape == x.shape
    _fd_close(gx, np.concatenate([g, g], axis=axis) * fd, f"glu_backward axis={axis}")


@pytest.mark.parametrize("name, params", [("swiglu", {}), ("geglu", {}), ("geglu", {"approximate": "tanh"})],
                         ids=["swiglu", "geglu", "geglu-tanh"])
def test_gated_pair_derivative_and_backward_vs_finite_differences(name, params):
    rng = np.random.default_rng(22)
    gate = np.concatenate([rng.uniform(-10, 10, 1500), rng.standard_normal(500)]).reshape(40, 50)
    up = rng.standard_normal(gate.shape) * 3
    fwd = getattr(fa, name)

    def f(gt, u):
        return fwd(gt, u, **params)

    h_g = H_REL * np.maximum(1.0, np.abs(gate))
    fd_gate = (f(gate + h_g, up) - f(gate - h_g, up)) / ((gate + h_g) - (gate - h_g))
    h_u = H_REL * np.maximum(1.0, np.abs(up))
    fd_up = (f(gate, up + h_u) - f(gate, up - h_u)) / ((up + h_u) - (up - h_u))
    d_gate, d_up = getattr(fa, name + "_derivative")(gate, up, **params)
    _fd_close(d_gate, fd_gate, f"{name}_derivative d_gate {params}")
    _fd_close(d_up, fd_up, f"{name}_derivative d_up {params}")
    g = rng.standard_normal(gate.shape)
    gg, gu = getattr(fa, name + "_backward")(g, gate, up, **params)
    _fd_close(gg, g * fd_gate, f"{name}_backward grad_gate {params}")
    _fd_close(gu, g * fd_up, f"{name}_backward grad_up {params}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, params", [("glu", {}), ("swiglu", {}), ("geglu", {}),
                                          ("geglu", {"approximate": "tanh"})],
                         ids=["glu", "swiglu", "geglu", "geglu-tanh"])
def test_gated_derivative_is_backward_with_ones(name, params, dtype):
    """The gated derivatives run loops of their own (no grad_output array):
    bitwise the backward with a grad_output of ones, at every SIMD level,
    tails, special values and block boundaries (3000 elements) included."""
    rng = np.random.default_rng(4)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -800.0, -745.5, -40.0, -20.01,
               -1.2784645, 700.5, 1e30, -3e38]
    gate = np.concatenate([rng.standard_normal(3000) * 6, special]).astype(dtype)
    up = np.concatenate([rng.standard_normal(3000) * 1e3, np.roll(special, 3)]).astype(dtype)
    ones = np.ones_like(gate)
    for level in LEVELS:
        with simd_level(level), np.errstate(all="ignore"):
            if name == "glu":
                x = np.concatenate([up, gate])
                got = (fa.glu_derivative(x),)
                want = (fa.glu_backward(ones, x),)
            else:
                got = getattr(fa, name + "_derivative")(gate, up, **params)
                want = getattr(fa, name + "_backward")(ones, gate, up, **params)
        for a, b in zip(got, want):
            assert a.tobytes() == b.tobytes(), f"{name}{params} {np.dtype(dtype)} {level}"
