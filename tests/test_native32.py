"""float32 relu, leaky_relu, prelu/rrelu slopes, hardsigmoid, elu', selu', natively in float.

Their float32 loops compute in float (ext/_formulas.pxd: relu_forward32,
relu_derivative32, slope_forward32, slope_derivative32), not in double and
rounded, because each result is a select or one product of two float32
values: double holds that product exactly, so rounding it once to float32 is
the same as float's own correctly rounded product. Checked here, at every
SIMD level, on a grid of special values (NaN, +-inf, +-0, subnormals, the
extremes, values whose product overflows or underflows in float32): the
float32 result is the float64 kernel's result rounded to float32, bit for bit
(signed zeros included; a NaN need only be a NaN, see test_simd_levels).

elu' and selu' below zero (alpha exp(x), scale alpha exp(x)) are native
float too, but not exact: exp's hi + lo pair times the constant as a float
pair, rounded once (vmf_c_exp), within 1.06 / 0.96 ULP over all float32
inputs at AVX-512 and 1.5 at baseline (no fma); here within 2 ULP of the
float64 kernel on a grid of inputs and alphas, signed zeros as in float64.
elu' with |alpha| > 2^20 keeps the double flavour.

leaky_relu's negative_slope is a double: its float loops multiply by it as
a pair of floats, fma(v, s_hi, v * s_lo), for 2^-100 <= |slope| <= 2^100
(other slopes, and baseline, which has no fma: the double loops).  That is
the float64 result rounded, bit for bit on the grid here, down to results of
2^-100 (below, v * s_lo underflows: within 1 ULP).

hardsigmoid's result is not exact in float32: its float loops divide x + 3
(an exact float pair) by 6 with the remainder (vmf_hardsigmoid) and g by 6,
each rounded once, and give the float64 kernel's bits rounded as well; an
exhaustive sweep of all float32 inputs found no difference, and the grid here
adds the values where (x + 3)/6 is a tie or within a few ULP of one.
"""
import itertools

import numpy as np
import pytest

import fastact as fa
from bits import bits
from levels import LEVELS, simd_level

F32 = np.float32
TINY = float(np.finfo(F32).smallest_subnormal)
FLT_MAX = float(np.finfo(F32).max)

SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, TINY, -TINY, 1e-39, -1e-39,
           1.1754944e-38, -1.1754944e-38, 1e-30, -1e-30, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0,
           1.0000001, -0.99999994, 1e20, -1e20, 3e38, -3e38, FLT_MAX, -FLT_MAX]
SLOPES = [0.0, -0.0, 0.01, 0.25, -0.3, 1.0, 7.5, TINY, 1e-30, -1e-38, 1e30, FLT_MAX, -2.0]


def _pairs(first, second):
    """All pairs of the two value lists, as two float32 arrays (a length
    with a vector body and a scalar tail at every width)."""
    a, b = zip(*itertools.product(first, second))
    return np.array(a, dtype=F32), np.array(b, dtype=F32)


def _assert_rounded_double(got, expected64, what):
    expected = expected64.astype(F32)
    both_nan = np.isnan(got) & np.isnan(expected)
    differ = (bits(got) != bits(expected)) & ~both_nan
    assert not differ.any(), (
        f"{what}: {differ.sum()} elements differ from the float64 result rounded; first: "
        f"got {got[differ][0]!r}, expected {expected[differ][0]!r}")


@pytest.mark.parametrize("level", LEVELS)
def test_relu_float32_is_float64_rounded(level):
    g, x = _pairs(SPECIAL, SPECIAL)
    with simd_level(level), np.errstate(all="ignore"):
        for name, args in (("relu", (x,)), ("relu_derivative", (x,)),
                           ("relu_backward", (g, x))):
            got = getattr(fa, name)(*args)
            expected = getattr(fa, name)(*(a.astype(np.float64) for a in args))
            _assert_rounded_double(got, expected, f"{name} at {level}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("channels_last", [True, False], ids=["channels-last", "inner"])
def test_prelu_float32_is_float64_rounded(level, channels_last):
    """Channels-last x runs the slope loops on rows of the weight; channels on
    a middle axis run the leaky_relu loops with each channel's slope."""
    weight = np.array(SLOPES, dtype=F32)
    values = np.array(SPECIAL, dtype=F32)
    if channels_last:
        x = np.broadcast_to(values[:, None], (len(values), len(weight))).copy()
        axis = 1
    else:
        x = np.broadcast_to(values[:, None, None], (len(values), len(weight), 3)).copy()
        axis = 1
    g = np.roll(x, 1, axis=0)
    with simd_level(level), np.errstate(all="ignore"):
        for name, args in (("prelu", (x,)), ("prelu_derivative", (x,)),
                           ("prelu_backward", (g, x))):
            got = getattr(fa, name)(*args, weight, axis=axis)
            expected = getattr(fa, name)(*(a.astype(np.float64) for a in args),
                                         weight.astype(np.float64), axis=axis)
            _assert_rounded_double(got, expected, f"{name} at {level}")


@pytest.mark.parametrize("level", LEVELS)
def test_rrelu_training_float32_is_float64_rounded(level):
    """rrelu in training runs the slope loops on its drawn slopes; drawing
    with the same seed in float32 and float64 gives different slopes, so the
    float64 side is prelu's channels-last path with the float32 draws."""
    x = np.array(SPECIAL * 40, dtype=F32)
    g = np.roll(x, 3)
    with simd_level(level), np.errstate(all="ignore"):
        derivative = fa.rrelu_derivative(x, training=True, generator=np.random.default_rng(5))
        slopes = np.where(x > 0, np.nan, derivative)   # the drawn slope where it is used
        for name, args in (("rrelu", (x,)), ("rrelu_derivative", (x,)),
                           ("rrelu_backward", (g, x))):
            got = getattr(fa, name)(*args, training=True,
                                    generator=np.random.default_rng(5))
            expected = _slope_formula64(name, args, slopes)
            _assert_rounded_double(got, expected, f"{name} at {level}")


def _slope_formula64(name, args, slopes):
    """leaky_relu's formulas in float64 with per-element slopes: the float64
    kernels, one element at a time."""
    out = np.empty(args[-1].shape, dtype=np.float64)
    kernel = {"rrelu": fa.leaky_relu, "rrelu_derivative": fa.leaky_relu_derivative,
              "rrelu_backward": fa.leaky_relu_backward}[name]
    for i, slope in enumerate(slopes):
        one = tuple(np.array([a[i]], dtype=np.float64) for a in args)
        s = 0.0 if np.isnan(slope) else float(slope)
        out[i] = kernel(*one, negative_slope=s)[0]
    return out


def _hardsigmoid_grid():
    """SPECIAL, values near +-3 and 0, and x where (x + 3)/6 is a float32 tie
    or one float32 ULP of x away.  The ties: x = 3k 2^-24 for odd k, x < 1
    ((x + 3)/6 = 1/2 + k 2^-25, halfway between two floats of [1/2, 1))."""
    ties = [3 * k * 2.0 ** -24 for k in (1, 3, 5, 7, 12345, 1398101, 2796203, 5592405)]
    assert all(float(F32(t)) == t and (t + 3) / 6 != float(F32((t + 3) / 6)) for t in ties)
    near = [np.nextafter(F32(v), F32(d), dtype=F32)
            for v in ties + [3.0, -3.0, 0.0, 1e-7, -1e-7] for d in (-np.inf, np.inf)]
    rng = np.random.default_rng(11)
    return np.concatenate([np.array(SPECIAL + ties + near, dtype=F32),
                           rng.uniform(-3, 3, 5000).astype(F32),
                           (rng.standard_normal(1000) * 1e-6).astype(F32)])


@pytest.mark.parametrize("level", LEVELS)
def test_hardsigmoid_float32_is_float64_rounded(level):
    x = _hardsigmoid_grid()
    g = np.concatenate([np.array(SPECIAL, dtype=F32), np.roll(x, 7)[len(SPECIAL):]])
    with simd_level(level), np.errstate(all="ignore"):
        for name, args in (("hardsigmoid", (x,)), ("hardsigmoid_derivative", (x,)),
                           ("hardsigmoid_backward", (g, x)),
                           ("hardsigmoid_backward", (x, np.zeros_like(x)))):
            got = getattr(fa, name)(*args)
            expected = getattr(fa, name)(*(a.astype(np.float64) for a in args))
            _assert_rounded_double(got, expected, f"{name} at {level}")


def _ulps32(got, expected64):
    """|got - expected| in float32 ULPs of the expected value (floored at the
    smallest subnormal); 0 where got is the expected value rounded (an
    overflow to inf included) or both are NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = expected64.astype(F32)
        spacing = np.maximum(np.spacing(np.abs(rounded)).astype(np.float64), TINY)
        err = np.abs(got.astype(np.float64) - expected64) / spacing
    same = (got == rounded) | (np.isnan(got) & np.isnan(expected64))   # incl. equal infinities
    return np.where(same, 0.0, err)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.5, -1.3, 1e-30, 3e-39, 1e-45, 0.0, -0.0,
                                   1e5, 2.0 ** 20, 2.0 ** 20 * 1.0001, 1e30, 1e300, 1e308])
def test_elu_selu_derivative_float32_native(level, alpha):
    """Within 2 ULP, through the deep range where exp is scaled (below -80)
    and its clamp (-120), for alphas on both sides of the native range's
    bound 2^20; zeros carry alpha's sign (alpha * 0 in float64).  Huge alphas
    reach far below float32's range (1e308 * e^-800 = 3.7e-40)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([np.array(SPECIAL + [-80.0, -80.00001, -87.3, -103.9, -110.0, -120.0,
                                            -150.0, -700.0, -708.5, -750.0, -800.0, -1e-7,
                                            -1e-30], dtype=F32),
                        rng.uniform(-125, 0, 20000).astype(F32),
                        -np.exp(rng.uniform(-90, 5, 5000)).astype(F32)])
    with simd_level(level), np.errstate(all="ignore"):
        cases = [("elu_derivative", fa.elu_derivative(x, alpha=alpha),
                  fa.elu_derivative(x.astype(np.float64), alpha=alpha))]
        if alpha == 1.0:
            cases.append(("selu_derivative", fa.selu_derivative(x),
                          fa.selu_derivative(x.astype(np.float64))))
    for name, got, expected in cases:
        err = _ulps32(got, expected)
        worst = int(np.argmax(err))
        assert err[worst] <= 2.0, (f"{name} alpha={alpha} at {level}: {err[worst]:.2f} ULP "
                                   f"at x={x[worst]!r}")
        zero = expected == 0
        assert (np.signbit(got[zero]) == np.signbit(expected[zero])).all(), name
        assert (np.isnan(got) == np.isnan(expected)).all(), name


LEAKY_SLOPES = [0.01, 0.2, 1 / 3, -0.7, 3.0, 0.0, -0.0, 1e-30, 2.0 ** -100, 2.0 ** -101, 1e-300,
                2.0 ** 100, 2.0 ** 101, 1e30, 1e300]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("slope", LEAKY_SLOPES)
def test_leaky_relu_float32_slope_pair(level, slope):
    """Bits of the float64 kernel rounded wherever that is >= 2^-100, within
    1 ULP below; NaN, infinities (overflow included) and signed zeros as in
    float64, on both sides of the pair's slope range."""
    rng = np.random.default_rng(17)
    x = np.concatenate([np.array(SPECIAL, dtype=F32),
                        (rng.standard_normal(20000) * 10).astype(F32),
                        (rng.standard_normal(20000) * np.exp(rng.uniform(-100, 80, 20000))).astype(F32)])
    g = np.roll(x, 7)
    with simd_level(level), np.errstate(all="ignore"):
        for name, args in (("leaky_relu", (x,)), ("leaky_relu_backward", (g, x))):
            got = getattr(fa, name)(*args, negative_slope=slope)
            expected = getattr(fa, name)(*(a.astype(np.float64) for a in args),
                                         negative_slope=slope)
            rounded = expected.astype(F32)
            err = _ulps32(got, expected)
            assert err.max() <= 1.0, f"{name} slope={slope} at {level}: {err.max():.2f} ULP"
            exact = ~np.isfinite(rounded) | (rounded == 0) | (np.abs(rounded) >= 2.0 ** -100)
            _assert_rounded_double(got[exact], expected[exact], f"{name} slope={slope} at {level}")
