"""float64 backward in the deep tails: g * f'(x) where f'(x) underflows.

sigmoid'(800) = e^-800 is 0 in double, but 2^900 * e^-800 ~ 1e-77 is not:
NAME_backward must give the product within SPEC section 5 (<= 4 ULP of the
exact g * f'(x)) for every finite g and x, also where f'(x) itself is
subnormal or 0, and so must the gated backward's grad_gate = g * value *
f'(gate) (swiglu, geglu, glu).  The exact values come from mpmath (mpref,
50 digits): mpf(g) * mpf(value) * f'(x).

Checked: every activation whose derivative underflows (elu, selu, gelu both
forms, sigmoid, log_sigmoid, tanh, silu, swish, mish, softplus; parameters
that move the tail), x deep in the tail, at its start and just outside it,
and up to where g * f'(x) is 0 for every double g; g (and value) from
2^-1074 to 2^1023 with both signs; arrays long enough for the vector body,
the scalar tail and several blocks of the loop, with the tail elements at
every position; every SIMD level bitwise equal; NaN / inf / zero semantics.

Run:  python -m pytest tests/test_backward_tails.py -q        (a few seconds)
"""

import functools

import mpmath as mp
import numpy as np
import pytest

try:
    from fastact._accuracy import mpref, ulp
except ImportError:  # before the yardsticks moved into the package
    import mpref
    import ulp

import fastact as fa
from fastact import _dispatch
from bits import far_from
from levels import FMA_ULPS, bitwise_twin

F64 = np.float64

# (id, mpref name, params, backward, x points).  The points straddle where
# the kernels switch to the tail form (f'(x) ~ e^-700) and run out to where
# g * f'(x) underflows to 0 for every g (f'(x) < 2^-2100).
CASES = [
    ("elu", "elu", {}, [-650, -699.9, -700.1, -720, -745.2, -800, -1200, -1455, -1500, -1e5]),
    ("elu_a2.5", "elu", {"alpha": 2.5}, [-700.5, -701.5, -760, -1400]),
    ("elu_a1e-300", "elu", {"alpha": 1e-300}, [-0.5, -9.0, -10.5, -30, -700, -800]),
    ("elu_a1e300", "elu", {"alpha": 1e300}, [-1300, -1390, -1395, -1500, -2100]),
    ("selu", "selu", {}, [-699.9, -700.1, -745.5, -800, -1100, -1455]),
    ("gelu", "gelu", {}, [-36.0, -37.4, -37.6, -38.5, -40.0, -45.0, -54.0, -56.0, -79.0, -1e3]),
    ("gelu_tanh", "gelu", {"approximate": "tanh"},
     [-20.5, -21.05, -21.15, -21.9, -23.0, -25.0, -26.0, -27.0, -27.5, -39.0, -1e3]),
    ("sigmoid", "sigmoid", {}, [699.9, 700.1, 745.2, 800.0, 875.0, 1200.0, 1454.0, 1500.0,
                                -700.1, -800.0, -1400.0]),
    ("log_sigmoid", "log_sigmoid", {}, [699.9, 700.1, 745.2, 875.0, 1454.0, 1500.0]),
    ("tanh", "tanh", {}, [-349.9, -350.1, -372.6, -422.0, -600.0, -727.0, -760.0, 500.0]),
    ("silu", "silu", {}, [-699.9, -700.1, -720.0, -745.5, -800.0, -1460.0, -1500.0]),
    ("swish", "swish", {}, [-700.1, -720.0, -1400.0]),
    ("swish_b2.5", "swish", {"beta": 2.5}, [-279.9, -280.1, -300.0, -580.0]),
    ("swish_b-0.75", "swish", {"beta": -0.75}, [933.0, 934.0, 1000.0, 1900.0]),
    ("mish", "mish", {}, [-699.9, -700.1, -720.0, -745.5, -800.0, -1460.0, -1500.0]),
    ("softplus", "softplus", {}, [-699.9, -700.1, -745.5, -875.0, -1454.0, -1500.0]),
    ("softplus_b3", "softplus", {"beta": 3.0}, [-233.3, -233.4, -250.0, -480.0]),
    ("softplus_b-2_t-800", "softplus", {"beta": -2.0, "threshold": -800.0},
     [349.9, 350.1, 399.9, 400.0, 400.1, 700.0]),
]

# g from 2^-1074 to 2^1023, both signs.
G_EXPONENTS = [-1074, -1000, -600, -100, 0, 100, 400, 700, 900, 1000, 1023]


def _backward(name, params):
    fn = getattr(fa, f"{name}_backward")
    return lambda g, x: fn(g, x, **params)


@functools.lru_cache(maxsize=None)
def _exact_derivative(name, x, items):
    return mpref.derivative(name, x, **dict(items))


def _grid(xs):
    """(g, x) pairs: every x point (and 1 ULP-ish neighbours) with every g."""
    xs = np.array(xs, dtype=F64)
    xs = np.concatenate([xs, xs * (1 + 2.0**-40), xs * (1 - 3e-7)])
    g = np.ldexp(np.array([1.0, 1.6180339887498949, 1.9999999999999998]),
                 0)[None, :] * np.ldexp(1.0, np.array(G_EXPONENTS))[:, None]
    g = np.concatenate([g.ravel(), -g.ravel()])
    gg, xx = np.meshgrid(g, xs)
    return gg.ravel().copy(), xx.ravel().copy()


def _exact(name, params, g, x, v=None):
    items = tuple(sorted(params.items()))
    out = np.empty(g.shape, dtype=object)
    with mp.workdps(60):
        for i in range(g.size):
            e = mp.mpf(float(g[i])) * _exact_derivative(name, float(x[i]), items)
            out[i] = e if v is None else e * mp.mpf(float(v[i]))
    return out


def _check(got, exact, label, g, x):
    err = ulp.ulp_error(got, exact, F64)
    bad = np.flatnonzero(~(err <= 4))
    if bad.size:
        lines = [f"  g={g[i]!r} x={x[i]!r}: got {got[i]!r}, exact {mp.nstr(exact[i], 17)}, "
                 f"{err[i]:.3g} ULP" for i in bad[np.argsort(-err[bad])][:8]]
        pytest.fail(f"{label}: {bad.size} of {err.size} beyond 4 ULP\n" + "\n".join(lines))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_backward_tail_accuracy(case):
    _, name, params, xs = case
    g, x = _grid(xs)
    got = _backward(name, params)(g, x)
    _check(got, _exact(name, params, g, x), f"{name}_backward{params}", g, x)


def test_backward_tail_examples():
    # The examples of the bug: f'(x) is 0 in double, the product is not.
    assert fa.sigmoid_backward(2.0**900, -800.0) == pytest.approx(
        float(mp.mpf(2) ** 900 * mp.exp(-800)), rel=1e-15)
    for name, x in [("elu", -720.0), ("silu", -720.0), ("softplus", -720.0),
                    ("log_sigmoid", 875.0), ("tanh", -422.0)]:
        exact = float(mp.mpf(2) ** 1000 * mpref.derivative(name, x))
        assert exact != 0.0
        assert getattr(fa, f"{name}_backward")(2.0**1000, x) == pytest.approx(exact, rel=1e-15)
    assert fa.gelu_backward(2.0**1000, -38.5) == pytest.approx(
        float(mp.mpf(2) ** 1000 * mpref.derivative("gelu", -38.5)), rel=1e-15)
    assert fa.gelu_backward(2.0**1000, -21.9, approximate="tanh") == pytest.approx(
        float(mp.mpf(2) ** 1000 * mpref.derivative("gelu", -21.9, approximate="tanh")),
        rel=1e-15)


# ------------------------------------------------------------------ gated

def _gated_cases():
    # (id, gated backward -> grad_gate, mpref name, params, gate points)
    def swiglu(g, gate, up):
        return fa.swiglu_backward(g, gate, up)[0]

    def geglu(approximate):
        return lambda g, gate, up: fa.geglu_backward(g, gate, up, approximate=approximate)[0]

    def glu(g, gate, up):
        x = np.stack([up, gate], axis=-1)          # glu halves the last axis
        return fa.glu_backward(g[:, None], x)[:, 1]

    return [
        ("swiglu", swiglu, "silu", {}, [-699.9, -700.1, -800.0, -1500.0, -2500.0]),
        ("geglu", geglu("none"), "gelu", {}, [-37.4, -37.6, -45.0, -62.0, -79.0]),
        ("geglu_tanh", geglu("tanh"), "gelu", {"approximate": "tanh"},
         [-21.05, -21.15, -25.0, -30.0, -33.0]),
        ("glu", glu, "sigmoid", {}, [699.9, -700.1, -800.0, 1500.0, 2100.0]),
    ]


GATED = _gated_cases()


@pytest.mark.parametrize("case", GATED, ids=[c[0] for c in GATED])
def test_gated_backward_tail_accuracy(case):
    _, fn, name, params, gates = case
    rng = np.random.default_rng(7)
    gates = np.array(gates, dtype=F64)
    gate = np.repeat(gates, 60)
    # g and value each from 2^-1074 to 2^1023, random signs: their product
    # spans 2^-2148 .. 2^2046.
    e = rng.integers(-1074, 1024, size=(2, gate.size))
    m = rng.uniform(1.0, 2.0, size=(2, gate.size)) * rng.choice([-1.0, 1.0], size=(2, gate.size))
    g, up = np.ldexp(m, e)
    got = fn(g, gate, up)
    _check(got, _exact(name, params, g, gate, up), f"{case[0]} grad_gate", g, gate)


# ------------------------------------------------------------------ layout and levels

# Lengths that cover the vector bodies and scalar tails of every width and
# the loops' blocks (512 elements).
LENGTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 67, 511, 512, 513, 1025]


@pytest.mark.parametrize("name, params, xt", [
    ("sigmoid", {}, 800.0), ("silu", {}, -745.5), ("gelu", {}, -40.0),
    ("gelu", {"approximate": "tanh"}, -24.0), ("softplus", {"beta": 3.0}, -250.0),
])
def test_backward_tail_position_independent(name, params, xt):
    fn = _backward(name, params)
    gt = -(2.0**950)
    want = fn(np.array([gt]), np.array([xt]))[0]
    assert want != 0.0
    rng = np.random.default_rng(3)
    for n in LENGTHS:
        x = rng.normal(size=n) * 3
        g = rng.normal(size=n)
        plain = fn(g, x)
        positions = range(n) if n <= 67 else [0, 1, n // 2, n - 2, n - 1, 511 % n]
        for p in positions:
            xx, gg = x.copy(), g.copy()
            xx[p], gg[p] = xt, gt
            got = fn(gg, xx)
            assert got[p] == want, (n, p)
            others = np.arange(n) != p
            # the other elements are untouched by the block's tail path
            np.testing.assert_array_equal(got[others], plain[others])
    # unaligned and in place (out= one of the inputs)
    x = np.full(70, xt)
    g = np.full(70, gt)
    assert (fn(g[1:], x[1:]) == want).all()
    xi = x.copy()
    fa_out = getattr(fa, f"{name}_backward")(g, xi, out=xi, **params)
    assert fa_out is xi and (xi == want).all()


def test_backward_tails_across_levels():
    """Every level within FMA_ULPS of baseline, and bitwise its twin's."""
    levels = _dispatch.available_levels()
    if len(levels) < 2:
        pytest.skip("only one SIMD level built")
    arrays = []
    for _, name, params, xs in CASES:
        g, x = _grid(xs)
        arrays.append((_backward(name, params), g, x))
    gated = [(case[1], case[4]) for case in GATED]
    previous = _dispatch.selected_level
    results = {}
    try:
        for level in levels:
            _dispatch.install(level)
            out = [fn(g, x) for fn, g, x in arrays]
            for fn, gates in gated:
                gate = np.repeat(np.array(gates, dtype=F64), 40)
                r = np.random.default_rng(11)
                g = np.ldexp(r.uniform(-2, 2, gate.size), r.integers(-1074, 1024, gate.size))
                up = np.ldexp(r.uniform(-2, 2, gate.size), r.integers(-1074, 1024, gate.size))
                out.append(fn(g, gate, up))
            results[level] = out
    finally:
        _dispatch.install(previous)
    for level in levels[1:]:
        for got, base in zip(results[level], results["baseline"]):
            far = far_from(got, base, FMA_ULPS)
            assert not far.any(), (level, got[far][:4], base[far][:4])
        twin = bitwise_twin(level)
        if twin:
            for got, want in zip(results[level], results[twin]):
                np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64),
                                              err_msg=f"{level} vs {twin}")


# ------------------------------------------------------------------ special values

@pytest.mark.parametrize("name, params, xt", [
    ("sigmoid", {}, 800.0), ("silu", {}, -800.0), ("mish", {}, -800.0), ("elu", {}, -800.0),
    ("gelu", {}, -40.0), ("gelu", {"approximate": "tanh"}, -26.0), ("tanh", {}, -422.0),
    ("softplus", {}, -800.0), ("swish", {"beta": 2.0}, -400.0), ("log_sigmoid", {}, 800.0),
])
def test_backward_tail_special_values(name, params, xt):
    fn = _backward(name, params)
    sign = float(np.sign(mpref.derivative(name, xt, **params)))
    inf, nan = np.inf, np.nan
    g = np.array([nan, 1.0, 0.0, -0.0, 2.0**1000, -(2.0**1000), 1.0, 1.0, 2.0**-1074, inf, -inf])
    x = np.array([xt, nan, xt, xt, xt, xt, 2 * xt, 1e300 * xt, xt, xt, xt])
    r = fn(g, x)
    assert np.isnan(r[0]) and np.isnan(r[1])                       # NaN in, NaN out
    # g = +-0: a zero with the sign of g * f'
    assert r[2] == 0 and np.signbit(r[2]) == (sign < 0)
    assert r[3] == 0 and np.signbit(r[3]) == (sign > 0)
    # large g: the sign of g * f', not 0
    assert r[4] != 0 and np.sign(r[4]) == sign and np.sign(r[5]) == -sign
    assert r[6] == 0 and r[7] == 0 and r[8] == 0                   # underflow to 0
    # g = +-inf: as before this change (inf * f'(x) computed in double)
    d = getattr(fa, f"{name}_derivative")(np.array([xt]), **params)[0]
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(r[9:], np.array([inf, -inf]) * d)
    # x = +-inf (f' exactly 0 in the limit): a zero for finite g, NaN for inf g
    lim = np.copysign(np.inf, xt)
    r = fn(np.array([2.0**1000, 1.0, inf]), np.array([lim, lim, lim]))
    assert r[0] == 0 and r[1] == 0 and np.isnan(r[2])
