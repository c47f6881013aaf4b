"""softmax_jacobian and log_softmax_jacobian: their values and their `out=`.

Values, at every SIMD level, float32 and float64, against the exact Jacobian of
the given y (mpmath, 60 digits): -y_i y_j / T and y_i (1 - y_i) / T for
softmax, -exp(y_j) / T and -expm1(y_i) / T for log_softmax: float32 within
0.51 ULP (each element is computed in double and rounded once), float64 within
1.5 (y_j / T, or exp, is rounded first; 1.37 measured). Rows of 300 cross the kernels' column blocks of 256; special
values (y = 0, 1, tiny, NaN, -inf, +inf) are in the rows.

out=: their result has shape (..., n, n) (y's dimensions other than axis,
then the row length twice), not an input's, so tests/test_out.py, which builds
out from the inputs' shape, leaves them out. Here, for both functions, float32
and float64, several axes and a temperature:

* out of the result's shape and dtype is written with the bits of the call
  without out, and returned (the very object), also when it is transposed,
  strided or reversed;
* out sharing memory with y (y a view into out's buffer, at its start or
  shifted either way) still gives those bits;
* a wrong shape (ValueError naming the shape), a wrong dtype or byte order
  (TypeError naming the dtype), a read-only array (ValueError), or something
  that is not an ndarray (TypeError) is refused, and out is left untouched;
  so it is when y, axis or temperature is bad;
* empty rows, no rows and a 0-d y work with out as without.

Run:  python -m pytest tests/test_jacobian.py -q
"""
import numpy as np
import pytest

import fastact as fa
from bits import assert_same_bits
from fastact._accuracy.ulp import to_pair, ulp_error
from levels import LEVELS, simd_level

FUNCTIONS = ["softmax_jacobian", "log_softmax_jacobian"]
DTYPES = [np.float32, np.float64]
SENTINEL = 1234.5678


def _y(name, shape, dtype, axis, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    forward = fa.softmax if name == "softmax_jacobian" else fa.log_softmax
    return forward(x.astype(dtype), axis=axis)




# ---------------------------------------------------------------- values

def _exact(name, y, temperature):
    """The exact (hi, lo) Jacobian of one row y (float64 values)."""
    import mpmath

    with mpmath.workdps(60):
        v = [mpmath.mpf(float(t)) for t in y]
        T = mpmath.mpf(temperature)
        n = len(v)
        if name == "softmax_jacobian":
            jac = [[(v[i] * (1 - v[i]) if i == j else -v[i] * v[j]) / T for j in range(n)]
                   for i in range(n)]
        else:
            jac = [[-(mpmath.expm1(v[i]) if i == j else mpmath.exp(v[j])) / T
                    for j in range(n)] for i in range(n)]
        return to_pair(np.array(jac, dtype=object))


def _value_rows(name, dtype, n, seed):
    """Two rows of n: the forward's output of N(0, 3) logits, and the same
    with special values in the first places."""
    rng = np.random.default_rng(seed)
    rows = _y(name, (2, n), dtype, -1, seed)
    if name == "softmax_jacobian":
        specials = [0.0, 1.0, 0.5, 1e-30, np.finfo(dtype).tiny, 1 - np.finfo(dtype).eps]
    else:
        specials = [0.0, -1e-30, -np.finfo(dtype).tiny, -1.0, -30.0, -800.0]
    rows[1, :len(specials)] = np.array(specials, dtype)
    return rows[rng.permutation(2)]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("n, temperature", [(7, 1.0), (40, 0.3), (300, 1.0)])
def test_values_within_ulps_of_exact(name, dtype, n, temperature, level):
    rows = _value_rows(name, dtype, n, seed=n)
    with simd_level(level):
        got = getattr(fa, name)(rows, temperature=temperature)
    for r in range(rows.shape[0]):
        err = ulp_error(got[r], _exact(name, rows[r], temperature), dtype)
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err.max() <= (0.51 if dtype == np.float32 else 1.5), (f"{name} {np.dtype(dtype).name} n={n} T={temperature} "
                                  f"at {level}: {err.max():.2f} ULP at {worst}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_non_finite_y(name, dtype):
    """NaN, +-inf in y (and a log_softmax output's -inf, a masked element) give
    the formulas' IEEE values: NaN, +-inf, and the limits 0 and 1/T of exp
    and expm1 at -inf."""
    function = getattr(fa, name)
    y = np.array([np.nan, -np.inf, np.inf, 0.25, 0.0], dtype)
    t = 2.0
    y64 = y.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "softmax_jacobian":
            expected = -(y64[:, None] * (y64 / t)[None, :])
            np.fill_diagonal(expected, y64 * (1 - y64) / t)
        else:
            expected = np.broadcast_to(-np.exp(y64) / t, (5, 5)).copy()
            np.fill_diagonal(expected, -np.expm1(y64) / t)
    got = function(y, temperature=t)
    np.testing.assert_allclose(got, expected.astype(dtype), rtol=4 * np.finfo(dtype).eps)
    signed = ~np.isnan(expected)  # (a NaN's sign is unspecified)
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(expected[signed]))


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("temperature", [1e-300, 1e-30, 1.0, 1e30, 1e300])
def test_log_softmax_float32_far_y_and_extreme_temperatures(temperature, level):
    """float32 y far out (below -708, above 709: outside the float32-grade exp's
    range) with temperatures that bring exp(y) / T back into float32's range:
    the double formula rounded once, as everywhere else."""
    y = np.array([-800.0, -745.5, -720.0, -708.5, -100.0, -1e-30, 0.0, 50.0, 700.0,
                  709.5, 710.0, 750.0, -3e38], np.float32)
    y = np.concatenate([y, np.linspace(-5, 0, 300).astype(np.float32)])
    y64 = y.astype(np.float64)
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(-np.exp(y64) / temperature, (y.size, y.size)).copy()
        np.fill_diagonal(expected, -np.expm1(y64) / temperature)
        expected32 = expected.astype(np.float32)
    with simd_level(level):
        got = fa.log_softmax_jacobian(y, temperature=temperature)
    finite = np.isfinite(expected32) & (expected32 != 0)
    np.testing.assert_array_equal(got[~finite], expected32[~finite])
    np.testing.assert_allclose(got[finite], expected32[finite], rtol=2 ** -23)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape, axis", [((7,), -1), ((3, 5), -1), ((3, 5), 0),
                                         ((2, 4, 3), 1), ((2, 4, 3), -3)])
@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided", "reversed"])
def test_out_is_written_and_returned(name, dtype, shape, axis, temperature, layout):
    function = getattr(fa, name)
    y = _y(name, shape, dtype, axis)
    expected = function(y, axis=axis, temperature=temperature)
    if layout == "contiguous":
        out = np.full(expected.shape, SENTINEL, dtype)
    elif layout == "transposed":
        out = np.full(expected.shape[::-1], SENTINEL, dtype).T
    elif layout == "strided":
        out = np.full(expected.shape[:-1] + (2 * expected.shape[-1],), SENTINEL, dtype)[..., ::2]
    else:
        out = np.full(expected.shape, SENTINEL, dtype)[::-1, ..., ::-1]
    got = function(y, axis=axis, temperature=temperature, out=out)
    assert got is out
    assert_same_bits(out, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shift", [0, 1, 7, -1, -7])
def test_out_sharing_memory_with_y(name, dtype, shift):
    """y lives inside out's buffer (at the start, or shifted either way)."""
    function = getattr(fa, name)
    y0 = _y(name, (3, 6), dtype, -1)
    expected = function(y0)
    size = expected.size
    buf = np.zeros(size + y0.size + 16, dtype)
    start_out, start_y = (8, 8 + shift) if shift >= 0 else (8 - shift, 8)
    out = buf[start_out:start_out + size].reshape(expected.shape)
    y = buf[start_y:start_y + y0.size].reshape(y0.shape)
    y[...] = y0
    got = function(y, out=out)
    assert got is out
    assert_same_bits(out, expected)


def _bad_outs(shape, dtype):
    other = np.float64 if dtype == np.float32 else np.float32
    read_only = np.full(shape, SENTINEL, dtype)
    read_only.flags.writeable = False
    return [
        ("shape of y", np.full(shape[:-1], SENTINEL, dtype), ValueError, "shape"),
        ("last axis too long", np.full(shape[:-1] + (shape[-1] + 1,), SENTINEL, dtype),
         ValueError, "shape"),
        ("an extra axis", np.full((1,) + shape, SENTINEL, dtype), ValueError, "shape"),
        ("dtype", np.full(shape, SENTINEL, other), TypeError, "dtype"),
        ("byte order", np.full(shape, SENTINEL, np.dtype(dtype).newbyteorder(">")),
         TypeError, "dtype"),
        ("int dtype", np.zeros(shape, np.int32), TypeError, "dtype"),
        ("read-only", read_only, ValueError, "read-only"),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_bad_out_is_refused_and_untouched(name, dtype):
    function = getattr(fa, name)
    y = _y(name, (3, 5), dtype, -1)
    shape = function(y).shape
    for label, out, error, pattern in _bad_outs(shape, dtype):
        before = out.copy()
        with pytest.raises(error, match=pattern):
            function(y, out=out)
        assert_same_bits(out, before, f"{label}: out written by a failing call")
    for value in ([[0.0] * 5] * 5, 1.0, np.float64(0.0), "out", (np.empty(shape, dtype),)):
        with pytest.raises(TypeError, match="ndarray"):
            function(y, out=value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_good_out_untouched_when_the_call_is_bad(name, dtype):
    function = getattr(fa, name)
    y = _y(name, (3, 5), dtype, -1)
    out = np.full(function(y).shape, SENTINEL, dtype)
    before = out.copy()
    bad_calls = [
        (lambda: function(y, temperature=0.0, out=out), ValueError, "temperature"),
        (lambda: function(y, axis=2, out=out), ValueError, "axis"),
        (lambda: function(y.astype(np.complex128), out=out), TypeError, "float"),
        (lambda: function(y, axis=1.5, out=out), TypeError, "axis"),
    ]
    for call, error, pattern in bad_calls:
        with pytest.raises(error, match=pattern):
            call()
        assert_same_bits(out, before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape, axis", [((0,), -1), ((4, 0), -1), ((0, 3), -1),
                                         ((0, 3), 0), ((), -1)])
def test_out_of_empty_and_0d(name, dtype, shape, axis):
    function = getattr(fa, name)
    y = np.asarray(fa.softmax(np.zeros(shape, dtype), axis=axis))
    expected = function(y, axis=axis)
    out = np.full(expected.shape, SENTINEL, dtype)
    got = function(y, axis=axis, out=out)
    assert got is out
    assert_same_bits(out, expected)
