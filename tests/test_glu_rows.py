"""glu's row path against its general path.

glu, glu_derivative and glu_backward run the gated loops straight on x's
halves when x (and grad_output and out) are C-contiguous buffers of one dtype
(ext/_gated.pxi, _glu_rows: the elements before the axis index rows, each row
is [value half | gate half]).  Every other call takes the general path, which
makes views of the halves and lets the driver copy strided ones.  Checked
here: both paths give the same bits for every shape and axis, at every SIMD
level and thread count, with row pieces that cross thread spans; out= that is
x itself works in place; out= or grad_output that partly overlap, or a
grad_output of another dtype, fall back to the general path and are right.
"""

import numpy as np
import pytest

from levels import LEVELS, simd_level

fa = pytest.importorskip("fastact")

SHAPES_AXES = [((2,), 0), ((32,), -1), ((1, 32), -1), ((3, 10), 1), ((10, 3), 0),
               ((4, 6, 8), 0), ((4, 6, 8), 1), ((4, 6, 8), 2), ((2, 1, 2, 6), -1),
               ((0, 4), 1), ((6, 0), 0), ((5, 3000), 1)]


@pytest.fixture(params=LEVELS)
def level(request):
    with simd_level(request.param):
        yield request.param


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 8).astype(dtype)
    if x.size > 4:
        flat = x.reshape(-1)
        flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    return x


def _strided(a):
    """The same values in memory glu's row path does not take (every other element)."""
    wide = np.empty(a.shape[:-1] + (2 * a.shape[-1],) if a.ndim else (), a.dtype)
    view = wide[..., ::2] if a.ndim else wide
    view[...] = a
    return view


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_row_path_matches_general_path(level, shape, axis, dtype):
    x = _data(shape, dtype)
    y = fa.glu(x, axis=axis)
    g = _data(y.shape, dtype, seed=1)
    results = (y, fa.glu_derivative(x, axis=axis), fa.glu_backward(g, x, axis=axis))
    xs, gs = _strided(x), _strided(g)
    assert not xs.flags.c_contiguous or xs.size == 0
    general = (fa.glu(xs, axis=axis), fa.glu_derivative(xs, axis=axis),
               fa.glu_backward(gs, xs, axis=axis))
    for got, want in zip(results, general):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    # and against the definition, value first, gate second
    a, b = np.split(x.astype(np.float64), 2, axis=axis)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(y, a * fa.sigmoid(b), rtol=4e-7 if dtype == np.float32
                                   else 1e-15, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_path_threads(dtype):
    """Rows of 777 elements against spans of 8192: pieces cross both."""
    x = _data((300, 2 * 777), dtype)
    g = _data((300, 777), dtype, seed=1)
    runs = []
    for threads in (1, 2):
        with fa.num_threads(threads):
            runs.append((fa.glu(x), fa.glu_derivative(x), fa.glu_backward(g, x)))
    general = (fa.glu(_strided(x)), fa.glu_derivative(_strided(x)),
               fa.glu_backward(_strided(g), _strided(x)))
    for one, two, want in zip(*runs, general):
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(one, want)


@pytest.mark.parametrize("mode", ["derivative", "backward"])
def test_out_is_x(mode):
    x = _data((3, 40), np.float32)
    g = _data((3, 20), np.float32, seed=1)
    want = fa.glu_derivative(x) if mode == "derivative" else fa.glu_backward(g, x)
    inplace = x.copy()
    got = (fa.glu_derivative(inplace, out=inplace) if mode == "derivative"
           else fa.glu_backward(g, inplace, out=inplace))
    assert got is inplace
    np.testing.assert_array_equal(inplace, want)


def test_partial_overlaps_fall_back():
    x = _data((2, 40), np.float64)
    g = _data((2, 20), np.float64, seed=1)
    want = fa.glu_backward(g, x)
    # out shares memory with grad_output, shifted by one element
    buffer = np.zeros(2 * 40 + 1)
    out = buffer[1:].reshape(2, 40)
    g_in = buffer[:40].reshape(2, 20)
    g_in[...] = g
    np.testing.assert_array_equal(fa.glu_backward(g_in, x, out=out), want)
    # out is x shifted by one element
    buffer = np.zeros(2 * 40 + 1)
    x_in = buffer[:80].reshape(2, 40)
    x_in[...] = x
    out = buffer[1:].reshape(2, 40)
    np.testing.assert_array_equal(fa.glu_backward(g, x_in, out=out), want)
    # glu's forward into the value half of x itself
    x_in = x.copy()
    out = x_in.reshape(-1)[:40].reshape(2, 20)
    want = fa.glu(x)
    np.testing.assert_array_equal(fa.glu(x_in, out=out), want)


def test_other_dtypes_fall_back():
    x = _data((2, 40), np.float32)
    g = _data((2, 20), np.float64, seed=1)
    got = fa.glu_backward(g, x)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, fa.glu_backward(g, x.astype(np.float64)))
    xi = np.arange(-20, 20).reshape(2, 20)
    np.testing.assert_array_equal(fa.glu(xi), fa.glu(xi.astype(np.float64)))
    with pytest.raises(ValueError, match="grad_output must have glu's result shape"):
        fa.glu_backward(np.ones((2, 21)), x)
    with pytest.raises(ValueError, match="out"):
        fa.glu(x, out=np.empty((2, 21), np.float32))
    with pytest.raises(TypeError, match="out"):
        fa.glu(x, out=np.empty((2, 20), np.float64))
