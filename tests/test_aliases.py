"""Kernels that run another kernel's loops for some parameters (`ALIAS` in
ext/_kernels.pyx.tp): swish at beta = 1 is silu.

The loops hand the call over only where the two give the same bits, so
swish(beta=1) must equal silu bitwise for the forward, the derivative and the
backward, both dtypes, every SIMD level, special values included; and a beta
one ULP away from 1 must still take swish's own loops (within SPEC of silu,
not a silently shared result for another parameter).
"""
import numpy as np
import pytest

import fastact as fa
from levels import LEVELS, simd_level

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-45, -88.7, 88.7,
            -745.5, 745.5, -800.0, 800.0, 1e308, -1e308, -1.2785, 20.0, -20.0]


def _inputs(dtype, seed=5):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=3000) * 6, rng.uniform(-900, 900, 500), SPECIALS])
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    g = rng.normal(size=x.size).astype(dtype)
    g[:5] = [np.inf, -np.inf, np.nan, 0.0, 1e30]
    return x, g


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_swish_at_beta_one_is_silu_bitwise(level, dtype):
    x, g = _inputs(dtype)
    with simd_level(level):
        pairs = [
            (fa.swish(x, beta=1.0), fa.silu(x)),
            (fa.swish_derivative(x), fa.silu_derivative(x)),
            (fa.swish_backward(g, x, beta=1.0), fa.silu_backward(g, x)),
        ]
        out = np.empty_like(x)
        pairs.append((fa.swish(x, out=out), fa.silu(x)))
    for got, want in pairs:
        np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_swish_near_beta_one_takes_its_own_loops(dtype):
    """beta = 1 + 2^-52: against mpmath (within SPEC's 2 ULP), and, in
    float64, different from silu where beta * x moves sigma's tail."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    beta = np.nextafter(1.0, 2.0)
    x = np.linspace(-40.0, 40.0, 161).astype(dtype)
    got = fa.swish(x, beta=beta)
    b = mp.mpf(float(beta))
    exact = np.array([float(mp.mpf(float(v)) / (1 + mp.exp(-b * mp.mpf(float(v))))) for v in x])
    spacing = np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)
    assert (np.abs(got.astype(np.float64) - exact) <= 2 * spacing).all()
    if dtype == np.float64:
        assert (got != fa.silu(x))[x < -5].any()
