"""float64 forward loops that run blocks of common inputs through a cheaper body.

gelu's float64 forward (and geglu's, whose gate it is) computes a far-tail
branch (x < -20) for every element and selects; its loop runs each block of
512 inputs without such an x through the forward without that branch
(`MID64` in ext/_kernels.pyx.tp, `gelu_erf_forward_mid` in _formulas.pxd),
which must give the same bits.  Checked at every SIMD level: an element's
result is the same whether or not its block holds a far-tail input, at every
position of arrays that cover the vector body, the scalar tail and several
blocks; the boundary -20 itself, NaN and the infinities in either kind of
block; and the value against the element computed alone.
"""
import numpy as np
import pytest

import fastact as fa
from levels import LEVELS, simd_level

LENGTHS = [1, 7, 8, 9, 17, 511, 512, 513, 1025, 1600]
FAR = -25.0          # takes the full forward's tail branch
EDGES = [-20.0, np.nextafter(-20.0, 0.0), np.nextafter(-20.0, -np.inf), -40.0, 40.0,
         np.nextafter(40.0, np.inf), 0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324]


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint64)


def _forwards():
    yield "gelu", lambda x, v: fa.gelu(x)
    yield "geglu", lambda x, v: fa.geglu(x, v)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name, fn", list(_forwards()))
def test_far_element_does_not_change_its_block(level, name, fn):
    rng = np.random.default_rng(11)
    with simd_level(level):
        for n in LENGTHS:
            x = rng.normal(size=n) * 4
            v = rng.normal(size=n)
            plain = fn(x, v)
            positions = [0, n // 2, n - 1, min(n - 1, 511), min(n - 1, 512)]
            for p in sorted(set(positions)):
                xx = x.copy()
                xx[p] = FAR
                got = fn(xx, v)
                others = np.arange(n) != p
                np.testing.assert_array_equal(_bits(got[others]), _bits(plain[others]))
                assert _bits(got[p:p + 1]) == _bits(fn(xx[p:p + 1], v[p:p + 1]))


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name, fn", list(_forwards()))
def test_edges_alone_and_in_blocks_of_either_kind(level, name, fn):
    rng = np.random.default_rng(12)
    edges = np.array(EDGES)
    with simd_level(level):
        alone = np.array([fn(np.array([e]), np.array([1.5]))[0] for e in edges])
        for far in (False, True):
            x = rng.normal(size=600) * 4
            if far:
                x[599] = FAR
            x[100:100 + edges.size] = edges
            v = np.full(600, 1.5)
            got = fn(x, v)[100:100 + edges.size]
            np.testing.assert_array_equal(_bits(got), _bits(alone))
    # gelu(-20) ~ -5.5e-88 (not 0), gelu(-40) ~ -1e-349 (-0.0), nan stays nan
    assert alone[0] < 0.0 and alone[3] == 0.0 and np.signbit(alone[3]) and np.isnan(alone[10])
    assert name != "gelu" or (alone[4] == 40.0 and alone[8] == np.inf and alone[9] == 0.0)
