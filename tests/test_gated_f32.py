"""float32 GLU family: the cheap path and the full path.

The float32 gated loops of glu, swiglu and geglu (ext/_kernels.pyx.tp,
GATED32) compute f(gate) with the double NAME_forward32 flavour and f'(gate)
with the cheap NAME_bwd32, in blocks whose gates are all inside NAME_bwd32's
window (and, for the gradients, whose g and up are finite); an element outside
that takes the full double-double point functions, as every element did
before.  Checked here, in the style of test_backward_f32.py:

* SPEC 5 against fastact's float64 results (exact to far below a float32 ULP)
  with g and up up to FLT_MAX, so that g * up * f'(gate) reaches 1e77 * f'
  (within 0.05 of a zero of f', SPEC 5's absolute bound, 4 eps |g up|);
* that an element's bits depend on that element alone: flagged elements at
  every position of arrays of many lengths (vector body, scalar tail, block
  boundaries) leave the others' bits unchanged, and each element has the bits
  it has alone (the arrays are made of inputs whose cheap and full results
  differ in the last bit, so a wrong choice of path shows);
* that flagged elements keep the full path's bits: float32(f(gate) * up),
  float32 of the old grad_gate rule and float32(g * f(gate)), all in double.
"""

import functools

import numpy as np
import pytest

from fastact._accuracy import mpref, ulp
from levels import LEVELS, simd_level

fa = pytest.importorskip("fastact")

F32, F64 = np.float32, np.float64
FLT_MAX = float(np.finfo(F32).max)
DBL_MIN = float(np.finfo(F64).tiny)

# (label, f and f' in float64, forward, backward) for each member of the family
CASES = {
    "glu": (fa.sigmoid, fa.sigmoid_derivative,
            lambda gate, up: fa.glu(np.concatenate([up, gate])),
            lambda g, gate, up: tuple(np.split(fa.glu_backward(g, np.concatenate([up, gate])),
                                               2)[::-1])),
    "swiglu": (fa.silu, fa.silu_derivative, fa.swiglu, fa.swiglu_backward),
    "geglu": (fa.gelu, fa.gelu_derivative, fa.geglu, fa.geglu_backward),
    "geglu[tanh]": (lambda x: fa.gelu(x, approximate="tanh"),
                    lambda x: fa.gelu_derivative(x, approximate="tanh"),
                    lambda gate, up: fa.geglu(gate, up, approximate="tanh"),
                    lambda g, gate, up: fa.geglu_backward(g, gate, up, approximate="tanh")),
}
LABELS = list(CASES)
# the zeros of each member's f' (SPEC 5's window)
ZEROS = {"glu": (), "swiglu": mpref.derivative_zeros("silu"),
         "geglu": mpref.derivative_zeros("gelu"),
         "geglu[tanh]": mpref.derivative_zeros("gelu", approximate="tanh")}


@pytest.fixture(params=LEVELS)
def level(request):
    """Every test runs at every SIMD level this CPU supports."""
    with simd_level(request.param):
        yield request.param

# Gates across each window and its edges (sigmoid and silu: |x| <= 700; the
# gelus: x >= -20), near the zeros of silu' and the gelus', and the special values.
GATES = [-1e30, -800.0, -700.5, -699.5, -400.0, -90.0, -25.0, -20.01, -19.99, -13.0, -5.0,
         -2.0, -1.2784645, -0.7517916, -0.3, -1e-6, -1e-40, -0.0, 0.0, 1e-40, 1e-6, 0.3, 1.0,
         3.0, 10.0, 19.99, 20.01, 90.0, 699.5, 700.5, 800.0, 1e30, FLT_MAX, -FLT_MAX]
SPECIAL = [np.inf, -np.inf, np.nan]
MAGNITUDES = [1.0, -1.0, 3e-38, 1.4e-45, 1e20, -1e30, FLT_MAX, -FLT_MAX]


def _forward(label, gate, up):
    with np.errstate(all="ignore"):
        return CASES[label][2](gate, up)


def _backward(label, g, gate, up):
    with np.errstate(all="ignore"):
        return CASES[label][3](g, gate, up)


def _full_forward(label, gate, up):
    """The full path's float32 forward: float32(f(gate) * up) in double."""
    with np.errstate(all="ignore"):
        return (CASES[label][0](gate.astype(F64)) * up.astype(F64)).astype(F32)


def _full_backward(label, g, gate, up):
    """The full path's float32 gradients, by the rule of the float32 loop."""
    f, df = CASES[label][:2]
    g, gate, up = g.astype(F64), gate.astype(F64), up.astype(F64)
    with np.errstate(all="ignore"):
        d = df(gate)
        dv = up * d
        grad_gate = np.where(dv == 0.0, g * dv,
                             np.where(np.abs(dv) < DBL_MIN, (g * up) * d, g * dv))
        return grad_gate.astype(F32), (g * f(gate)).astype(F32)


def _grid():
    gate, up, g = np.meshgrid(np.array(GATES, F64), MAGNITUDES, MAGNITUDES, indexing="ij")
    return gate.ravel().astype(F32), up.ravel().astype(F32), g.ravel().astype(F32)


@pytest.mark.parametrize("label", LABELS)
def test_gated_f32_huge_operands(label, level):
    """<= SPEC 5 against the float64 results, g and up up to FLT_MAX."""
    gate, up, g = _grid()
    got = _forward(label, gate, up)
    exact = _forward(label, gate.astype(F64), up.astype(F64))
    err = ulp.ulp_error(got, exact, F32)
    assert err.max() <= ulp.LIMITS["forward"], (
        f"{label} forward: {err.max():.3g} ULP at gate={gate[err.argmax()]}, "
        f"up={up[err.argmax()]}")
    got = _backward(label, g, gate, up)
    exact = _backward(label, g.astype(F64), gate.astype(F64), up.astype(F64))
    # grad_gate within 0.05 of a zero of f': SPEC 5's absolute bound, 4 eps
    # |g up| (the native float32 kernels of the FMA levels are not relatively
    # accurate where f' cancels to 0)
    near = ulp.near_zero_mask(gate.astype(F64), ZEROS[label])
    scale = np.abs(g.astype(F64) * up.astype(F64))
    for k, name in enumerate(("grad_gate", "grad_up")):
        err = ulp.ulp_error(got[k], exact[k], F32)
        if k == 0:
            with np.errstate(all="ignore"):
                abs_ok = ulp.abs_error(got[k], exact[k], F32) <= (
                    ulp.NEAR_ZERO_ABS_EPS * np.finfo(F32).eps * scale)
            err = np.where(near & abs_ok, 0.0, err)
        i = err.argmax()
        assert err[i] <= ulp.LIMITS["backward"], (
            f"{label} {name}: {err[i]:.3g} ULP at (g, gate, up) = ({g[i]}, {gate[i]}, {up[i]})")


# (g, gate, up) of elements that take the full path: a gate outside the
# window, NaN/inf anywhere, products that overflow only in float32.
FLAGGED = [(1.0, -800.0, 2.0), (-3.0, 1e30, 1e30), (np.inf, 1.0, 2.0), (1.0, 0.5, -np.inf),
           (np.nan, 0.5, 1.0), (1.0, np.nan, 1.0), (2.0, np.inf, 3.0), (-2.0, -np.inf, 0.0),
           (FLT_MAX, -700.5, FLT_MAX), (np.inf, -1e30, 0.0), (-0.0, np.inf, -1.0),
           (0.0, -FLT_MAX, np.inf)]


@pytest.mark.parametrize("label", LABELS)
def test_gated_f32_flagged_keep_full_path(label, level):
    g, gate, up = (np.array(v, F32) for v in zip(*FLAGGED))
    assert _forward(label, gate, up).tobytes() == _full_forward(label, gate, up).tobytes()
    got = _backward(label, g, gate, up)
    full = _full_backward(label, g, gate, up)
    for k in range(2):
        assert got[k].tobytes() == full[k].tobytes(), (label, k, got[k], full[k])


@pytest.mark.parametrize("label", LABELS)
def test_gated_f32_zeros_keep_the_sign_of_the_product(label, level):
    """A +-0 grad_output or up gives the zeros of IEEE's products (the full
    path's), not +0 whatever the signs."""
    gates = np.array([-30, -5, -1.5, -1, -0.3, -0.0, 0.0, 0.3, 1, 5, 30], F32)
    for g0, up0 in [(0.0, 1.0), (-0.0, 1.0), (-0.0, -2.0), (3.0, -0.0), (-3.0, 0.0), (-0.0, -0.0)]:
        g, up = np.full(gates.shape, g0, F32), np.full(gates.shape, up0, F32)
        assert _forward(label, gates, up).tobytes() == _full_forward(label, gates, up).tobytes()
        got, full = _backward(label, g, gates, up), _full_backward(label, g, gates, up)
        for k in range(2):
            assert got[k].tobytes() == full[k].tobytes(), (label, g0, up0, k, got[k], full[k])


LENGTHS = [1, 7, 16, 17, 1023, 1024, 1025, 2048, 2049, 3000]


@functools.lru_cache(maxsize=None)
def _sensitive(label):
    """(g, gate, up) whose cheap and full results round to different floats
    (~1 in 10^4 inputs): placed all over the arrays below, so that an element
    given the wrong path changes bits."""
    rng = np.random.default_rng(3)
    n = 400_000
    gate = (rng.standard_normal(n) * 4).astype(F32)
    up = (rng.standard_normal(n) * 10.0 ** rng.uniform(-20, 20, n)).astype(F32)
    g = (rng.standard_normal(n) * 10.0 ** rng.uniform(-20, 20, n)).astype(F32)
    cheap = (_forward(label, gate, up),) + _backward(label, g, gate, up)
    full = (_full_forward(label, gate, up),) + _full_backward(label, g, gate, up)
    differ = np.zeros(n, bool)
    for a, b in zip(cheap, full):
        differ |= a != b
    assert differ.sum() > 50
    return g[differ], gate[differ], up[differ]


def _mixed(n, rng, label, flag_at):
    pool = _sensitive(label)
    pick = rng.integers(0, pool[0].size, n)
    g, gate, up = (a[pick].copy() for a in pool)
    for k, i in enumerate(flag_at):
        g[i], gate[i], up[i] = FLAGGED[k % len(FLAGGED)]
    return g, gate, up


@pytest.mark.parametrize("label", LABELS)
def test_gated_f32_element_independent(label, level):
    """Flagged elements at many positions: every element keeps the bits it has
    without them (or alone, for short arrays), flagged ones the full path's."""
    rng = np.random.default_rng(11)
    for n in LENGTHS:
        spots = sorted({0, 15, 16, n // 2, 1023, 1024, n - 17, n - 1} & set(range(n)))
        for flag_at in ([], spots, spots[:1], spots[-1:]):
            g, gate, up = _mixed(n, rng, label, flag_at)
            mask = np.zeros(n, bool)
            mask[flag_at] = True
            clean = [a.copy() for a in (g, gate, up)]
            for a in clean:
                a[mask] = 0.5
            results = [(_forward(label, gate, up),) + _backward(label, g, gate, up),
                       (_forward(label, *clean[1:]),) + _backward(label, *clean)]
            full = (_full_forward(label, gate, up),) + _full_backward(label, g, gate, up)
            for got, without, flagged in zip(*results, full):
                assert got[~mask].tobytes() == without[~mask].tobytes(), (label, n, flag_at)
                assert got[mask].tobytes() == flagged[mask].tobytes(), (label, n, flag_at)
            if n <= 17:
                each = [(_forward(label, gate[i:i + 1], up[i:i + 1]),)
                        + _backward(label, g[i:i + 1], gate[i:i + 1], up[i:i + 1])
                        for i in range(n)]
                alone = [np.concatenate([t[j] for t in each]) for j in range(3)]
                for got, one in zip(results[0], alone):
                    assert got.tobytes() == one.tobytes(), (label, n, flag_at)


@pytest.mark.parametrize("label", ["swiglu", "geglu"])
def test_gated_f32_in_place(label, level):
    """out= aliasing the inputs: every block reads its inputs before writing."""
    rng = np.random.default_rng(5)
    g, gate, up = _mixed(3000, rng, label, [5, 2000])
    want = _backward(label, g, gate, up)
    a, b = gate.copy(), up.copy()
    with np.errstate(all="ignore"):
        CASES[label][3](g, a, b, out=(a, b))
    assert a.tobytes() == want[0].tobytes() and b.tobytes() == want[1].tobytes()
    a = gate.copy()
    with np.errstate(all="ignore"):
        CASES[label][2](a, up, out=a)
    assert a.tobytes() == _forward(label, gate, up).tobytes()
