"""Every entry point against fastact.reference, for every dtype, shape and memory layout.

For each case of ``cases.CASES`` x {float32, float64} x shapes {0-d, empty,
1, 7, 1000, (3, 5, 17)} x layouts {contiguous, strided view, strided along the
outer axis, transposed (Fortran order), negative strides, unaligned (odd byte
offset)}, the positional arrays are built once contiguously and then copied
into the layout with the SAME VALUES, so the expected result is the same for
every layout: ``fastact.reference`` on the float64 version of the inputs.

Checked: the result's shape and dtype (the input dtype), its values within the
SPEC section 5 tolerance (see helpers_layout.tolerance), that the inputs are
not modified and that the gaps of a strided view are neither read into the
result nor written.  Layouts that do not apply to a shape (0-d has no strides
or transpose, 1-d has no transpose) are left out of the parametrization.
"""
import zlib

import numpy as np
import pytest

from cases import CASES
from helpers_layout import (
    SENTINEL,
    as_tuple,
    assert_matches,
    layout_applies,
    make_layout,
    tolerance,
)

DTYPES = (np.float32, np.float64)
SHAPES = {
    "0d": (),
    "empty": (0,),
    "empty3d": (2, 0, 3),
    "n1": (1,),
    "n7": (7,),
    "n1000": (1000,),
    "3x5x17": (3, 5, 17),
}
LAYOUT_NAMES = ("contiguous", "strided", "strided_outer", "transposed", "negative", "unaligned")


def _params():
    out = []
    for case in CASES:
        for dtype in DTYPES:
            for shape_id, shape in SHAPES.items():
                if case.name == "glu" and shape == ():
                    # glu has no 0-d form: x needs an even axis, so cases.py makes
                    # a (2,) x whose result is (1,) -- the n1 case -- but a 0-d
                    # grad_output for glu_backward, which is rightly refused.
                    continue
                ndim = len(case.input_shape(shape))
                for layout in LAYOUT_NAMES:
                    if not layout_applies(layout, ndim):
                        continue
                    out.append(pytest.param(
                        case, dtype, shape, layout,
                        id=f"{case.id}-{np.dtype(dtype).name}-{shape_id}-{layout}",
                    ))
    return out


def _seed(*parts):
    return zlib.crc32("|".join(map(str, parts)).encode())


def _gaps(view, layout):
    """The elements of a strided view's buffer that are not in the view."""
    if view.base is None:  # a 1-d prelu weight is kept contiguous next to a 3-d x
        return None
    if layout == "strided":
        return view.base[..., 1::2]
    if layout == "strided_outer":
        return view.base[1::2]
    return None


@pytest.mark.parametrize("case, dtype, shape, layout", _params())
def test_matches_reference(case, dtype, shape, layout):
    rng = np.random.default_rng(_seed(case.id, np.dtype(dtype).name, shape))
    arrays = case.arrays(shape, dtype, rng)
    laid = [make_layout(a, layout) for a in arrays]
    originals = [a.copy() for a in arrays]

    got = as_tuple(case.call(*laid))
    arrays64 = [a.astype(np.float64) for a in arrays]
    expected = as_tuple(case.reference(*arrays64))

    assert len(got) == len(expected) == case.n_outputs
    for a, orig in zip(laid, originals):
        np.testing.assert_array_equal(a, orig, err_msg="an input was modified")
        gaps = _gaps(a, layout) if a.ndim >= 1 else None
        if gaps is not None:
            assert np.all(gaps == SENTINEL), "the gaps of a strided input were written"

    limit, slacks, floors = tolerance(case, arrays64, dtype)
    label = f"{case.id} {np.dtype(dtype).name} shape={shape} layout={layout}"
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.shape(g) == e.shape, f"{label} output {k}: shape {np.shape(g)} != {e.shape}"
        assert np.asarray(g).dtype == np.dtype(dtype), f"{label} output {k}: dtype {np.asarray(g).dtype}"
        inputs = arrays64 if case.info.kind != "rowwise" or case.mode != "derivative" else ()
        assert_matches(f"{label} output {k}", g, e, dtype, limit, slacks[k], floors[k], inputs)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -2])
@pytest.mark.parametrize("layout", ["contiguous", "strided", "transposed", "negative", "unaligned"])
def test_rowwise_other_axes(name, axis, dtype, layout):
    """softmax / log_softmax (forward and backward) along a non-last axis, in every layout."""
    from fastact import reference
    import fastact as fa

    rng = np.random.default_rng(_seed(name, axis, np.dtype(dtype).name))
    x = (rng.standard_normal((4, 9, 6)) * 3).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    x64 = x.astype(np.float64)
    label = f"{name} axis={axis} {np.dtype(dtype).name} layout={layout}"
    for t in (1.0, 0.7):
        y = getattr(fa, name)(make_layout(x, layout), axis, temperature=t)
        ey = getattr(reference, name)(x64, axis, temperature=t)
        assert y.shape == x.shape and y.dtype == x.dtype
        # float64: the reference's own error (helpers_layout.tolerance): 2 ULP, and
        # for softmax |z| ULP per rounding of z = (x - max) / T
        slack = 0.0
        if dtype == np.float64:
            slack = 2.0
            z = np.abs((x64 - x64.max(axis, keepdims=True)) / t) * (1 if t == 1 else 2)
            if name == "log_softmax":  # only the max element is affected (log1p of tiny)
                z = np.where(z == 0, z.max(axis, keepdims=True), 0.0)
            slack = slack + z
        assert_matches(f"{label} T={t} forward", y, ey, dtype, 4.0, slack, 0.0, (x64,))

        y = np.asarray(y)
        y64 = y.astype(np.float64)
        gx = getattr(fa, name + "_backward")(make_layout(g, layout), make_layout(y, layout), axis,
                                             temperature=t)
        egx = getattr(reference, name + "_backward")(g.astype(np.float64), y64, axis, temperature=t)
        g64 = g.astype(np.float64)
        # absolute floor: eps times the terms of the cancelling difference (helpers_layout.tolerance)
        if name == "softmax":
            scale = y64 * (np.abs(g64) + np.sum(np.abs(g64 * y64), axis, keepdims=True))
        else:
            scale = np.abs(g64) + np.exp(y64) * np.sum(np.abs(g64), axis, keepdims=True)
        floor = 4 * np.finfo(dtype).eps * scale / t
        assert gx.shape == x.shape and gx.dtype == x.dtype
        assert_matches(f"{label} T={t} backward", gx, egx, dtype, 4.0,
                       2.0 if dtype == np.float64 else 0.0, floor, (g64, y64))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("zero", [None, 0.0, -0.0], ids=["no-zero", "zero", "negative-zero"])
def test_prelu_forward_with_and_without_a_zero_weight(zero, dtype):
    # channels-last prelu takes loops without the -inf * 0 select when no
    # weight is 0 (checked per call): each column, bitwise, as leaky_relu
    # with that channel's slope, at every level, -inf / NaN / -0.0 included
    import fastact as fa
    from levels import LEVELS, simd_level

    rng = np.random.default_rng(8)
    x = rng.standard_normal((300, 64)).astype(dtype)
    x[:8, :] = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, -1e-45, -3e38, 1.0])[:, None]
    w = rng.uniform(-2.0, 2.0, 64).astype(dtype)
    if zero is not None:
        w[[0, 17, 63]] = zero
    for level in LEVELS:
        with simd_level(level), np.errstate(all="ignore"):
            got = fa.prelu(x, w, axis=1)
            for c in range(64):
                want = fa.leaky_relu(np.ascontiguousarray(x[:, c]), negative_slope=float(w[c]))
                np.testing.assert_array_equal(np.ascontiguousarray(got[:, c]).view(np.uint8),
                                              want.view(np.uint8))
    if zero is not None:
        assert got[0, 0] == 0.0 and np.signbit(got[0, 0])     # -inf * 0 -> -0.0


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape, axis", [
    ((0, 64), 1), ((0, 0), 1), ((1, 64), 1), ((2, 64), 1), ((5, 2047), 1), ((5, 2048), 1),
    ((4097, 3), 1), ((70001, 64), -1), ((3, 5, 7), 2), ((4, 3, 5), 1),
])
def test_prelu_channel_blocks(shape, axis, dtype):
    # channels-last prelu runs several rows per call against a repeated weight
    # (the last call shorter): every row, the last one included, matches
    import fastact as fa
    from fastact import reference

    rng = np.random.default_rng(_seed("prelu", shape))
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(0.0, 1.0, shape[axis]).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    for got, want in [
        (fa.prelu(x, w, axis=axis), reference.prelu(x, w, axis=axis)),
        (fa.prelu_derivative(x, w, axis=axis), reference.prelu_derivative(x, w, axis=axis)),
        (fa.prelu_backward(g, x, w, axis=axis), reference.prelu_backward(g, x, w, axis=axis)),
    ]:
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_array_equal(got, want.astype(dtype))
