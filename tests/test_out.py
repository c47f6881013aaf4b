"""The `out=` argument of every entry point (SPEC section 4).

For every case of ``cases.CASES`` (but the row-wise Jacobians, whose result
has a shape of its own: test_jacobian.py), in float32 and float64:

* a preallocated ``out`` of the result's shape and dtype is written and
  returned (the very object; two-output cases take and return a pair);
* in-place calls (``out`` is one of the inputs: elementwise forward and
  derivative on x, backward on grad_output and on x, softmax on x, the row-wise
  backward on grad_output and on y, swiglu/geglu on gate or up, the gated
  backward on any pair of its inputs, glu_backward on x, ...) give the
  out-of-place result bit for bit;
* ``out`` partially overlapping an input (shifted views of one buffer, in both
  directions, and a strided ``out`` interleaved with a contiguous input or the
  reverse) gives the out-of-place result bit for bit;
* non-contiguous ``out`` (transposed, strided, negative strides) works;
* a wrong shape (ValueError), wrong dtype (TypeError), read-only array
  (ValueError), or something that is not an ndarray (TypeError) is refused with
  a message naming the problem, and ``out`` is left untouched, bit for bit
  (for a pair: neither array is written, also when only the second is bad).

Run:  python -m pytest tests/test_out.py -q
"""
import itertools

import numpy as np
import pytest

from bits import assert_same_bits
from cases import CASES

OUT_CASES = [case for case in CASES if not case.is_jacobian]
OUT_IDS = [case.id for case in OUT_CASES]
DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]

# Result shape used throughout (glu's input doubles the last axis). Two axes,
# so softmax has several rows and prelu several channels.
SHAPE = (5, 7)
SENTINEL = 1234.5678


def as_tuple(result, case):
    if case.n_outputs == 2:
        assert isinstance(result, tuple) and len(result) == 2
        return result
    return (result,)


def setup(case, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = case.arrays(SHAPE, dtype, rng)
    expected = as_tuple(case.call(*[a.copy() for a in arrays]), case)
    return arrays, expected


def result_shape(case, arrays):
    """The shape of the (each) result: x's for glu's backward/derivative."""
    if case.name == "glu":
        return case.input_shape(SHAPE) if case.mode != "forward" else SHAPE
    return SHAPE


def sentinel_out(shape, dtype):
    return np.full(shape, SENTINEL, dtype=dtype)


def check_returned(result, out, case):
    if case.n_outputs == 2:
        assert isinstance(result, tuple) and len(result) == 2
        assert result[0] is out[0]
        assert result[1] is out[1]
    else:
        assert result is out


def pack(outs, case):
    return tuple(outs) if case.n_outputs == 2 else outs[0]


# ---------------------------------------------------------------- written and returned


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", OUT_CASES, ids=OUT_IDS)
def test_out_is_written_and_returned(case, dtype):
    arrays, expected = setup(case, dtype)
    shape = result_shape(case, arrays)
    outs = [sentinel_out(shape, dtype) for _ in range(case.n_outputs)]
    result = case.call(*arrays, out=pack(outs, case))
    check_returned(result, pack(outs, case), case)
    for got, want in zip(outs, expected):
        assert_same_bits(got, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", OUT_CASES, ids=OUT_IDS)
def test_inputs_are_not_modified(case, dtype):
    arrays, _ = setup(case, dtype)
    before = [a.copy() for a in arrays]
    shape = result_shape(case, arrays)
    outs = [np.empty(shape, dtype) for _ in range(case.n_outputs)]
    case.call(*arrays, out=pack(outs, case))
    case.call(*arrays)
    for a, b in zip(arrays, before):
        assert_same_bits(a, b)


# ---------------------------------------------------------------- in place


def inplace_choices(case, arrays, shape, dtype):
    """Indices of the inputs that can serve as out (the result's shape and dtype)."""
    usable = [i for i, a in enumerate(arrays) if a.shape == tuple(shape) and a.dtype == dtype]
    if case.n_outputs == 2:
        return list(itertools.permutations(usable, 2))
    return [(i,) for i in usable]


def _inplace_params():
    params = []
    for case in OUT_CASES:
        for dtype, dtype_id in zip(DTYPES, DTYPE_IDS):
            arrays = case.arrays(SHAPE, dtype, np.random.default_rng(0))
            for choice in inplace_choices(case, arrays, result_shape(case, arrays), dtype):
                params.append(pytest.param(case, dtype, choice,
                                           id=f"{case.id}-{dtype_id}-out=args{list(choice)}"))
    return params


INPLACE = _inplace_params()


def test_every_case_has_an_inplace_form():
    """Every case except glu's forward (half of x's size) can write over an input."""
    covered = {p.values[0].id for p in INPLACE}
    missing = [case.id for case in OUT_CASES
               if case.id not in covered and not (case.name == "glu" and case.mode == "forward")]
    assert not missing


@pytest.mark.parametrize("case, dtype, choice", INPLACE)
def test_inplace_equals_out_of_place(case, dtype, choice):
    arrays, expected = setup(case, dtype)
    arrays = [a.copy() for a in arrays]
    outs = [arrays[i] for i in choice]
    result = case.call(*arrays, out=pack(outs, case))
    check_returned(result, pack(outs, case), case)
    for got, want in zip(outs, expected):
        assert_same_bits(got, want)


@pytest.mark.parametrize("case, dtype, choice", INPLACE)
def test_inplace_on_transposed_view(case, dtype, choice):
    """In place on a non-contiguous input (every array given as a transposed view)."""
    arrays, expected = setup(case, dtype)
    views = [np.asfortranarray(a).T.T if a.ndim == 2 else a.copy() for a in arrays]
    for v in views:
        if v.ndim == 2:
            assert not v.flags.c_contiguous
    outs = [views[i] for i in choice]
    result = case.call(*views, out=pack(outs, case))
    check_returned(result, pack(outs, case), case)
    for got, want in zip(outs, expected):
        assert_same_bits(got, want)


# ---------------------------------------------------------------- partial overlap


def view_into(buf, start, shape, step=1):
    size = int(np.prod(shape))
    flat = buf[start:start + size * step:step]
    assert flat.size == size
    v = flat.reshape(shape)
    assert np.shares_memory(v, buf)
    return v


def _overlap_params():
    params = []
    for case in OUT_CASES:
        arrays = case.arrays(SHAPE, np.float64, np.random.default_rng(0))
        for i in range(len(arrays)):
            for slot in range(case.n_outputs):
                params.append(pytest.param(case, i, slot, id=f"{case.id}-arg{i}-out{slot}"))
    return params


OVERLAP = _overlap_params()

# (input start, out start, input step, out step) within one buffer
LAYOUTS = {
    "out_after_input_by_1": (0, 1, 1, 1),
    "out_before_input_by_1": (1, 0, 1, 1),
    "out_after_input_by_3": (0, 3, 1, 1),
    "out_before_input_by_5": (5, 0, 1, 1),
    "strided_out_over_input": ("mid", 0, 1, 2),
    "strided_input_under_out": (0, "mid", 2, 1),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case, index, slot", OVERLAP)
def test_partially_overlapping_out(case, index, slot, dtype):
    """out shares part of its memory with input `index` (not element for element),
    in every layout of LAYOUTS."""
    arrays, expected = setup(case, dtype)
    shape = result_shape(case, arrays)
    a = arrays[index]
    for layout, (in_start, out_start, in_step, out_step) in LAYOUTS.items():
        big = max(a.size, int(np.prod(shape)))
        if in_start == "mid":
            in_start = big // 3
        if out_start == "mid":
            out_start = big // 3
        length = 2 * big * 2 + 16
        buf = np.random.default_rng(1).standard_normal(length).astype(dtype)
        x = view_into(buf, in_start, a.shape, in_step)
        o = view_into(buf, out_start, shape, out_step)
        x[...] = a
        assert np.shares_memory(x, o)
        args = list(arrays)
        args[index] = x
        outs = [np.full(shape, SENTINEL, dtype) for _ in range(case.n_outputs)]
        outs[slot] = o
        try:
            result = case.call(*args, out=pack(outs, case))
            check_returned(result, pack(outs, case), case)
            for got, want in zip(outs, expected):
                assert_same_bits(got, want)
        except AssertionError as e:
            raise AssertionError(f"layout {layout}: {e}") from None


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", [c for c in OUT_CASES if c.n_outputs == 2],
                         ids=[c.id for c in OUT_CASES if c.n_outputs == 2])
def test_pair_outputs_overlapping_each_other_and_inputs(case, dtype):
    """out=(o0, o1) where o0 and o1 are shifted views of the buffer holding gate."""
    arrays, expected = setup(case, dtype)
    gate_index = len(arrays) - 2
    n = int(np.prod(SHAPE))
    buf = np.zeros(n + 2, dtype)
    gate = view_into(buf, 1, SHAPE)
    gate[...] = arrays[gate_index]
    args = list(arrays)
    args[gate_index] = gate
    o0 = view_into(buf, 0, SHAPE)
    o1 = np.full(SHAPE, SENTINEL, dtype)
    result = case.call(*args, out=(o0, o1))
    check_returned(result, (o0, o1), case)
    assert_same_bits(o0, expected[0])
    assert_same_bits(o1, expected[1])


# ---------------------------------------------------------------- non-contiguous out


def noncontiguous(kind, shape, dtype):
    if kind == "transposed":
        o = np.full(shape[::-1], SENTINEL, dtype).T
    elif kind == "strided":
        o = np.full(shape[:-1] + (3 * shape[-1],), SENTINEL, dtype)[..., ::3]
    elif kind == "negative":
        o = np.full(shape, SENTINEL, dtype)[::-1, ::-1]
    elif kind == "fortran":
        o = np.asfortranarray(np.full(shape, SENTINEL, dtype))
    assert not o.flags.c_contiguous
    return o


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", OUT_CASES, ids=OUT_IDS)
def test_noncontiguous_out(case, dtype):
    arrays, expected = setup(case, dtype)
    shape = result_shape(case, arrays)
    for kind in ["transposed", "strided", "negative", "fortran"]:
        outs = [noncontiguous(kind, shape, dtype) for _ in range(case.n_outputs)]
        try:
            result = case.call(*arrays, out=pack(outs, case))
            check_returned(result, pack(outs, case), case)
            for got, want in zip(outs, expected):
                assert_same_bits(got, want)
        except AssertionError as e:
            raise AssertionError(f"out {kind}: {e}") from None


# ---------------------------------------------------------------- refused, untouched


def bad_out(problem, shape, dtype):
    """An out with one problem, and the exception and message it must raise."""
    other = np.float64 if dtype == np.float32 else np.float32
    name = np.dtype(dtype).name
    if problem == "shape_wider":
        return np.full(shape[:-1] + (shape[-1] + 1,), SENTINEL, dtype), ValueError, "shape"
    if problem == "shape_transposed":
        return np.full(shape[::-1], SENTINEL, dtype), ValueError, "shape"
    if problem == "shape_flat":
        return np.full(int(np.prod(shape)), SENTINEL, dtype), ValueError, "shape"
    if problem == "shape_broadcastable":
        return np.full((1,) + tuple(shape[1:]), SENTINEL, dtype), ValueError, "shape"
    if problem == "shape_extra_axis":
        return np.full((1,) + tuple(shape), SENTINEL, dtype), ValueError, "shape"
    if problem == "dtype_other_float":
        return np.full(shape, SENTINEL, other), TypeError, f"dtype.*{name}|{name}.*dtype"
    if problem == "dtype_int":
        return np.full(shape, 7, np.int64), TypeError, f"dtype.*{name}|{name}.*dtype"
    if problem == "dtype_byteswapped":
        return np.full(shape, SENTINEL, np.dtype(dtype).newbyteorder(">")), TypeError, "dtype"
    if problem == "read_only":
        o = np.full(shape, SENTINEL, dtype)
        o.flags.writeable = False
        return o, ValueError, "read-only|writ"
    if problem == "list":
        return np.full(shape, SENTINEL, dtype).tolist(), TypeError, "ndarray"
    if problem == "memoryview":
        return memoryview(np.full(shape, SENTINEL, dtype)), TypeError, "ndarray"
    if problem == "none_tuple":
        return (None,), TypeError, "ndarray|tuple"
    raise AssertionError(problem)


PROBLEMS = ["shape_wider", "shape_transposed", "shape_flat", "shape_broadcastable",
            "shape_extra_axis", "dtype_other_float", "dtype_int", "dtype_byteswapped",
            "read_only", "list", "memoryview"]


def snapshot(o):
    if isinstance(o, np.ndarray):
        return np.array(o, copy=True)
    if isinstance(o, memoryview):
        return bytes(o)
    return repr(o)


def assert_untouched(o, before):
    if isinstance(o, np.ndarray):
        assert o.tobytes() == before.tobytes(), "out was written although the call failed"
    elif isinstance(o, memoryview):
        assert bytes(o) == before, "out was written although the call failed"
    else:
        assert repr(o) == before


def _check_refused(case, arrays, problem, shape, dtype):
    if case.n_outputs == 2:
        # the bad array second: the good first one must not be written either
        good = np.full(shape, SENTINEL, dtype)
        bad, error, message = bad_out(problem, shape, dtype)
        before = [snapshot(good), snapshot(bad)]
        with pytest.raises(error, match=message):
            case.call(*arrays, out=(good, bad))
        assert_untouched(good, before[0])
        assert_untouched(bad, before[1])
        # and first
        good = np.full(shape, SENTINEL, dtype)
        bad, error, message = bad_out(problem, shape, dtype)
        before = [snapshot(bad), snapshot(good)]
        with pytest.raises(error, match=message):
            case.call(*arrays, out=(bad, good))
        assert_untouched(bad, before[0])
        assert_untouched(good, before[1])
    else:
        bad, error, message = bad_out(problem, shape, dtype)
        before = snapshot(bad)
        with pytest.raises(error, match=message):
            case.call(*arrays, out=bad)
        assert_untouched(bad, before)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", OUT_CASES, ids=OUT_IDS)
def test_bad_out_is_refused_and_untouched(case, dtype):
    """Every problem of PROBLEMS: the right exception and message, out untouched."""
    arrays, _ = setup(case, dtype)
    shape = result_shape(case, arrays)
    failures = []
    for problem in PROBLEMS:
        try:
            _check_refused(case, arrays, problem, shape, dtype)
        except (AssertionError, pytest.fail.Exception, Exception) as e:  # collect all
            failures.append(f"{problem}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", [c for c in OUT_CASES if c.n_outputs == 2],
                         ids=[c.id for c in OUT_CASES if c.n_outputs == 2])
def test_pair_out_must_be_a_pair(case, dtype):
    arrays, _ = setup(case, dtype)
    a = np.full(SHAPE, SENTINEL, dtype)
    b = np.full(SHAPE, SENTINEL, dtype)
    c = np.full(SHAPE, SENTINEL, dtype)
    for out in (a, [a, b], (a,), (a, b, c)):
        with pytest.raises(TypeError, match="tuple|two|pair"):
            case.call(*arrays, out=out)
    for o in (a, b, c):
        assert (o == SENTINEL).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", [c for c in OUT_CASES if c.n_outputs == 1],
                         ids=[c.id for c in OUT_CASES if c.n_outputs == 1])
def test_single_out_refuses_a_tuple(case, dtype):
    arrays, _ = setup(case, dtype)
    shape = result_shape(case, arrays)
    a = np.full(shape, SENTINEL, dtype)
    with pytest.raises(TypeError, match="ndarray"):
        case.call(*arrays, out=(a,))
    assert (a == SENTINEL).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", [c for c in OUT_CASES if c.mode == "backward"],
                         ids=[c.id for c in OUT_CASES if c.mode == "backward"])
def test_good_out_untouched_when_inputs_are_bad(case, dtype):
    """A valid out is not written when another argument is refused (mismatched shapes)."""
    arrays, _ = setup(case, dtype)
    shape = result_shape(case, arrays)
    g = arrays[0]
    bad_g = np.ones(g.shape[:-1] + (g.shape[-1] + 1,), dtype)
    outs = [np.full(shape, SENTINEL, dtype) for _ in range(case.n_outputs)]
    with pytest.raises(ValueError):
        case.call(bad_g, *arrays[1:], out=pack(outs, case))
    for o in outs:
        assert (o == SENTINEL).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", OUT_CASES, ids=OUT_IDS)
def test_out_of_empty_and_0d(case, dtype):
    """out works for empty results, and for 0-d results (returned as the array out)."""
    rng = np.random.default_rng(3)
    empty_shape = (0, 4)
    arrays = case.arrays(empty_shape, dtype, rng)
    shape = case.input_shape(empty_shape) if (case.name == "glu" and case.mode != "forward") \
        else empty_shape
    outs = [np.empty(shape, dtype) for _ in range(case.n_outputs)]
    result = case.call(*arrays, out=pack(outs, case))
    check_returned(result, pack(outs, case), case)
    if case.name == "glu":
        return  # glu needs at least one dimension
    # Case.arrays gives NumPy scalars for shape (); make them 0-d arrays
    arrays = [np.asarray(a) for a in case.arrays((), dtype, rng)]
    expected = as_tuple(case.call(*arrays), case)
    outs = [np.full((), SENTINEL, dtype) for _ in range(case.n_outputs)]
    result = case.call(*arrays, out=pack(outs, case))
    check_returned(result, pack(outs, case), case)
    for got, want in zip(outs, expected):
        assert_same_bits(got, want)


# ---------------------------------------------------------------- large, threaded

LARGE = ["gelu.forward", "silu.backward", "leaky_relu.derivative", "prelu.backward",
         "softmax.forward", "log_softmax.backward", "glu.backward", "swiglu.backward",
         "geglu.forward"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", [c for c in OUT_CASES if c.id in LARGE],
                         ids=[c.id for c in OUT_CASES if c.id in LARGE])
def test_large_inplace_and_overlap_with_threads(case, dtype):
    """In place and shifted-overlap on arrays split over 2 threads (64 rows of 2048)."""
    import fastact as fa

    shape = (64, 2048)
    arrays = case.arrays(shape, dtype, np.random.default_rng(6))
    with fa.num_threads(1):
        expected = as_tuple(case.call(*arrays), case)
    out_shape = expected[0].shape
    with fa.num_threads(2):
        usable = [i for i, a in enumerate(arrays) if a.shape == out_shape]
        # in place on each usable input (pairs for two outputs)
        choices = (list(itertools.permutations(usable, 2)) if case.n_outputs == 2
                   else [(i,) for i in usable])
        for choice in choices:
            args = [a.copy() for a in arrays]
            case.call(*args, out=pack([args[i] for i in choice], case))
            for i, want in zip(choice, expected):
                assert_same_bits(args[i], want)
        # out shifted by one element against each input
        for index, a in enumerate(arrays):
            size = max(a.size, int(np.prod(out_shape)))
            buf = np.zeros(size + 1, dtype)
            x = view_into(buf, 1, a.shape)
            x[...] = a
            o = view_into(buf, 0, out_shape)
            args = list(arrays)
            args[index] = x
            outs = [o] + [np.empty(out_shape, dtype) for _ in range(case.n_outputs - 1)]
            case.call(*args, out=pack(outs, case))
            for got, want in zip(outs, expected):
                assert_same_bits(got, want)


@pytest.mark.parametrize("n", [4095, 4096, 4097, 9000])
def test_softmax_float32_rows_around_the_stack_buffer(n):
    """float32 softmax keeps a row's exp values in a stack buffer up to 4096
    elements and in the output beyond: in place and out of place agree bit
    for bit on both sides, and both are within SPEC of the reference."""
    import fastact as fa
    from bits import ulp_distance
    from fastact import reference

    x = (np.random.default_rng(n).standard_normal((3, n)) * 6).astype(np.float32)
    x[1, ::7] = -np.inf
    expected = fa.softmax(x, temperature=0.7)
    inplace = x.copy()
    fa.softmax(inplace, temperature=0.7, out=inplace)
    assert_same_bits(inplace, expected)
    exact = reference.softmax(x.astype(np.float64), temperature=0.7).astype(np.float32)
    assert ulp_distance(expected, exact).max() <= 4
