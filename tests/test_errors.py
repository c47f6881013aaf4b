"""Bad inputs and bad parameters for every public function (SPEC sections 3-4).

* dtypes: complex, object, strings, float16 in any array argument (and a
  float16 ``out``) raise TypeError naming the accepted dtypes; bool and
  integer arrays, Python scalars and lists are accepted and computed in
  float64 (a Python scalar gives a NumPy float64 scalar, a 0-d array a 0-d
  array); big-endian float64 (and float32) input gives the native result.
* parameters: non-finite negative_slope / alpha / beta / threshold / lower /
  upper, softplus beta == 0, temperature <= 0 / NaN / inf, lower > upper, a
  bad ``approximate`` or ``masked_rows``, an axis out of range (softmax and
  friends, glu, prelu), an odd glu axis, a prelu weight of the wrong length
  or 2-D, mismatched shapes in a backward: ValueError naming the parameter.
* weird objects (None, ragged lists, ...) raise TypeError/ValueError; a
  sweep of all of them runs in a subprocess to prove the interpreter survives.

Run:  python -m pytest tests/test_errors.py -q
"""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastact as fa
from cases import CASES

CASE_IDS = [case.id for case in CASES]
SHAPE = (3, 4)


def _uint(dtype):
    return np.uint32 if np.dtype(dtype).itemsize == 4 else np.uint64


def assert_same_bits(got, expected):
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    a = np.ascontiguousarray(got).view(_uint(got.dtype))
    b = np.ascontiguousarray(expected).view(_uint(expected.dtype))
    assert np.array_equal(a, b), f"got {got!r}, expected {expected!r}"


def results(case, value):
    return value if case.n_outputs == 2 or isinstance(value, tuple) else (value,)


def arrays_for(case, dtype=np.float64, shape=SHAPE, seed=0):
    # cases.Case.arrays gives NumPy scalars, not 0-d arrays, for shape ()
    # (0-d array * float is a scalar); make them arrays here.
    return [np.asarray(a) for a in case.arrays(shape, dtype, np.random.default_rng(seed))]


# ---------------------------------------------------------------- refused dtypes

BAD_DTYPES = {
    "complex128": lambda a: a.astype(np.complex128),
    "complex64": lambda a: a.astype(np.complex64),
    "object": lambda a: a.astype(object),
    "str": lambda a: a.astype(str),
    "bytes": lambda a: a.astype("S8"),
    "float16": lambda a: a.astype(np.float16),
    "longdouble": lambda a: a.astype(np.longdouble),
    "datetime": lambda a: a.astype(np.int64).astype("datetime64[s]"),
}


def _bad_dtype_params():
    params = []
    for case in CASES:
        n = len(arrays_for(case))
        for i in range(n):
            params.append(pytest.param(case, i, id=f"{case.id}-arg{i}"))
    return params


@pytest.mark.parametrize("case, index", _bad_dtype_params())
def test_refused_dtypes_name_the_accepted_ones(case, index):
    """Any array argument of a refused dtype: TypeError naming float32 and float64."""
    arrays = arrays_for(case)
    failures = []
    for name, convert in BAD_DTYPES.items():
        if name == "longdouble" and np.dtype(np.longdouble).itemsize == 8:
            continue  # longdouble is float64 on this platform
        args = list(arrays)
        args[index] = convert(arrays[index])
        try:
            with pytest.raises(TypeError, match="float32") as info:
                case.call(*args)
            assert "float64" in str(info.value)
        except BaseException as e:  # collect every dtype's failure
            if isinstance(e, KeyboardInterrupt):
                raise
            failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", [c for c in CASES if not c.is_jacobian],
                         ids=[c.id for c in CASES if not c.is_jacobian])
def test_float16_out_is_refused(case, dtype):
    """A float16 out: TypeError naming the dtype the result needs; out untouched."""
    arrays = arrays_for(case, dtype)
    expected = results(case, case.call(*arrays))
    outs = tuple(np.full(e.shape, 7.0, np.float16) for e in expected)
    out = outs if case.n_outputs == 2 else outs[0]
    with pytest.raises(TypeError, match=np.dtype(dtype).name) as info:
        case.call(*arrays, out=out)
    assert "float16" in str(info.value)
    for o in outs:
        assert (o == 7.0).all()


# ---------------------------------------------------------------- accepted conversions

# glu needs one dimension, so it is left out of the scalar tests.
SCALAR_CASES = [c for c in CASES if not c.is_jacobian and c.name != "glu"]
SCALAR_IDS = [c.id for c in SCALAR_CASES]


def _python_scalars(arrays):
    return [a.reshape(()).item() if a.size == 1 else a for a in arrays]


@pytest.mark.parametrize("case", SCALAR_CASES, ids=SCALAR_IDS)
def test_python_float_scalars_give_numpy_float64_scalars(case):
    arrays = arrays_for(case, shape=())
    expected = results(case, case.call(*arrays))
    scalars = _python_scalars(arrays)
    assert all(type(s) is float for s in scalars)
    got = results(case, case.call(*scalars))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert type(g) is np.float64, f"got {type(g).__name__} {g!r}, expected a np.float64"
        assert_same_bits(g, e)


@pytest.mark.parametrize("case", SCALAR_CASES, ids=SCALAR_IDS)
def test_python_int_scalars_give_float64(case):
    if case.info.kind == "rowwise" and case.mode == "backward":
        arrays = [np.array(2.0), np.array(1.0)]
    else:
        arrays = [np.array(float(v)) for v in range(-2, -2 + len(arrays_for(case, shape=())))]
    ints = [int(a) for a in arrays]
    expected = results(case, case.call(*arrays))
    got = results(case, case.call(*ints))
    for g, e in zip(got, expected):
        assert np.asarray(g).dtype == np.float64
        assert np.ndim(g) == 0
        assert_same_bits(g, e)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", SCALAR_CASES, ids=SCALAR_IDS)
def test_0d_arrays_give_0d_arrays(case, dtype):
    arrays = arrays_for(case, dtype, shape=())
    for r in results(case, case.call(*arrays)):
        assert type(r) is np.ndarray and r.ndim == 0 and r.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", SCALAR_CASES, ids=SCALAR_IDS)
def test_numpy_scalars_give_numpy_scalars_of_their_dtype(case, dtype):
    """As a ufunc: np.float32 in, np.float32 out."""
    arrays = arrays_for(case, dtype, shape=())
    expected = results(case, case.call(*arrays))
    got = results(case, case.call(*[a[()] for a in arrays]))
    for g, e in zip(got, expected):
        assert type(g) is np.dtype(dtype).type, f"got {type(g).__name__} {g!r}"
        assert_same_bits(g, e)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_lists_give_float64(case):
    arrays = arrays_for(case)
    expected = results(case, case.call(*arrays))
    got = results(case, case.call(*[a.tolist() for a in arrays]))
    for g, e in zip(got, expected):
        assert type(g) is np.ndarray
        assert_same_bits(g, e)


INT_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bool_and_integer_arrays_give_float64(case):
    arrays = arrays_for(case)
    failures = []
    for int_dtype in INT_DTYPES:
        if int_dtype is np.bool_:
            ints = [a > 0 for a in arrays]
        elif np.dtype(int_dtype).kind == "u":
            ints = [np.abs(np.round(a * 3)).astype(int_dtype) for a in arrays]
        else:
            ints = [np.round(a * 3).astype(int_dtype) for a in arrays]
        if case.info.kind == "rowwise" and case.mode != "forward":
            # the row-wise backward and Jacobian read y, which stays float64
            ints[-1] = arrays[-1]
        expected = results(case, case.call(*[i.astype(np.float64) for i in ints]))
        try:
            got = results(case, case.call(*ints))
            for g, e in zip(got, expected):
                assert_same_bits(g, e)
        except Exception as e:
            failures.append(f"{np.dtype(int_dtype).name}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", [c for c in CASES if c.mode == "backward"],
                         ids=[c.id for c in CASES if c.mode == "backward"])
def test_int64_with_float32_gives_float64(case):
    """As NumPy: int64 with float32 promotes to float64."""
    arrays = arrays_for(case, np.float32)
    assert np.result_type(np.int64, np.float32) == np.float64
    g = np.round(arrays[0] * 3).astype(np.int64)
    for r in results(case, case.call(g, *arrays[1:])):
        assert r.dtype == np.float64


@pytest.mark.parametrize("dtype", [">f8", ">f4"], ids=["big-endian-float64", "big-endian-float32"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_big_endian_input(case, dtype):
    native = np.dtype(dtype).newbyteorder("=")
    arrays = arrays_for(case, native)
    expected = results(case, case.call(*arrays))
    swapped = [a.astype(dtype) for a in arrays]
    assert not swapped[0].dtype.isnative
    got = results(case, case.call(*swapped))
    for g, e in zip(got, expected):
        assert g.dtype == native
        assert g.dtype.isnative
        assert_same_bits(g, e)


@pytest.mark.parametrize("case", [c for c in CASES if not c.is_jacobian],
                         ids=[c.id for c in CASES if not c.is_jacobian])
def test_big_endian_input_with_out(case):
    arrays = arrays_for(case)
    expected = results(case, case.call(*arrays))
    outs = tuple(np.empty(e.shape, np.float64) for e in expected)
    case.call(*[a.astype(">f8") for a in arrays],
              out=outs if case.n_outputs == 2 else outs[0])
    for g, e in zip(outs, expected):
        assert_same_bits(g, e)


# ---------------------------------------------------------------- weird objects

WEIRD = {
    "None": None,
    "str": "1.0",
    "object": object(),
    "ragged": [[1.0], [1.0, 2.0]],
    "dict": {"a": 1.0},
    "complex": 1 + 2j,
    "nested_objects": [object(), object()],
}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_weird_objects_raise_cleanly(case):
    arrays = arrays_for(case)
    for i in range(len(arrays)):
        for name, value in WEIRD.items():
            args = list(arrays)
            args[i] = value
            with pytest.raises((TypeError, ValueError)):
                case.call(*args)


def test_no_call_crashes_the_interpreter():
    """Every case with every bad value in every argument, in a child interpreter."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        import numpy as np
        from cases import CASES
        rng = np.random.default_rng(0)
        bad = [None, "x", object(), [[1.0], [1.0, 2.0]], 1 + 2j,
               np.ones(3, np.float16), np.ones((2, 2), complex), np.ones(0),
               np.ones((0, 3)), np.ones((2, 3), object), np.float16(1.0),
               np.ones((7,) * 5)[..., ::3], np.ones(1 << 4)[::-3]]
        count = 0
        for case in CASES:
            arrays = case.arrays((3, 4), np.float64, rng)
            for i in range(len(arrays)):
                for value in bad:
                    args = list(arrays)
                    args[i] = value
                    try:
                        case.call(*args)
                    except (TypeError, ValueError):
                        pass
                    count += 1
        print("survived", count)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "survived" in proc.stdout


# ---------------------------------------------------------------- parameters

NONFINITE = [math.nan, math.inf, -math.inf]


def _param_cases(name):
    return [c for c in CASES if c.name == name and not c.params]


def _call(case, **params):
    arrays = arrays_for(case)
    return case.function(fa)(*arrays, **params)


FINITE_PARAMS = [
    ("leaky_relu", "negative_slope", {}),
    ("elu", "alpha", {}),
    ("swish", "beta", {}),
    ("softplus", "beta", {}),
    ("softplus", "threshold", {}),
    ("rrelu", "lower", {"upper": math.inf}),
    ("rrelu", "upper", {}),
]


@pytest.mark.parametrize("value", NONFINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name, param, extra", FINITE_PARAMS,
                         ids=[f"{n}-{p}" for n, p, _ in FINITE_PARAMS])
def test_nonfinite_parameters(name, param, extra, value):
    for case in _param_cases(name):
        kwargs = {param: value}
        if name == "rrelu" and param == "lower":
            kwargs["upper"] = 1.0 if value != math.inf else math.inf
        with pytest.raises(ValueError, match=param):
            _call(case, **kwargs)


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_nonfinite_in_training(training):
    for case in _param_cases("rrelu"):
        for param in ("lower", "upper"):
            for value in NONFINITE:
                with pytest.raises(ValueError, match=param):
                    _call(case, training=training, generator=0, **{param: value})


@pytest.mark.parametrize("beta", [0.0, -0.0])
def test_softplus_beta_zero(beta):
    for case in _param_cases("softplus"):
        with pytest.raises(ValueError, match="beta"):
            _call(case, beta=beta)


def test_swish_beta_zero_is_allowed():
    """swish(beta=0) is x/2: a valid, finite parameter."""
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(fa.swish(x, beta=0.0), x / 2)


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_lower_above_upper(training):
    for case in _param_cases("rrelu"):
        with pytest.raises(ValueError, match="lower"):
            _call(case, lower=0.5, upper=0.25, training=training, generator=0)


ROWWISE_FUNCTIONS = ["softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
                     "softmax_jacobian", "log_softmax_jacobian"]


def _rowwise_args(function_name, x=None):
    x = np.random.default_rng(0).standard_normal(SHAPE) if x is None else x
    if function_name.endswith("_backward"):
        return (np.ones_like(x), fa.softmax(x))
    if function_name.endswith("_jacobian"):
        return (fa.softmax(x),)
    return (x,)


@pytest.mark.parametrize("temperature", [0.0, -0.0, -1.0, math.nan, math.inf, -math.inf],
                         ids=["0", "-0", "-1", "nan", "inf", "-inf"])
@pytest.mark.parametrize("function_name", ROWWISE_FUNCTIONS)
def test_bad_temperature(function_name, temperature):
    function = getattr(fa, function_name)
    with pytest.raises(ValueError, match="temperature"):
        function(*_rowwise_args(function_name), temperature=temperature)


@pytest.mark.parametrize("mode", ["", "_derivative", "_backward"])
@pytest.mark.parametrize("name", ["gelu", "geglu"])
@pytest.mark.parametrize("bogus", ["bogus", "Tanh", "", None, 1])
def test_bad_approximate(name, mode, bogus):
    case = next(c for c in CASES if c.name == name and c.mode == (mode[1:] or "forward"))
    with pytest.raises(ValueError, match="approximate"):
        _call(case, approximate=bogus)


@pytest.mark.parametrize("bogus", ["bogus", "NaN", "zeros", None, 0])
def test_bad_masked_rows(bogus):
    with pytest.raises(ValueError, match="masked_rows"):
        fa.softmax(np.zeros(SHAPE), masked_rows=bogus)


@pytest.mark.parametrize("axis", [2, -3, 100])
@pytest.mark.parametrize("function_name", ROWWISE_FUNCTIONS)
def test_rowwise_axis_out_of_range(function_name, axis):
    function = getattr(fa, function_name)
    with pytest.raises(ValueError, match="axis"):
        function(*_rowwise_args(function_name), axis=axis)


@pytest.mark.parametrize("function_name", ROWWISE_FUNCTIONS)
def test_rowwise_axis_must_be_an_integer(function_name):
    function = getattr(fa, function_name)
    with pytest.raises(TypeError, match="axis"):
        function(*_rowwise_args(function_name), axis=1.0)


GLU = ["glu", "glu_derivative", "glu_backward"]


def _glu_args(function_name, x):
    if function_name == "glu_backward":
        g = np.ones(x.shape[:-1] + (x.shape[-1] // 2,)) if x.shape[-1] % 2 == 0 \
            else np.ones(x.shape)
        return (g, x)
    return (x,)


@pytest.mark.parametrize("axis", [2, -3, 100])
@pytest.mark.parametrize("function_name", GLU)
def test_glu_axis_out_of_range(function_name, axis):
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="axis"):
        getattr(fa, function_name)(*_glu_args(function_name, x), axis=axis)


@pytest.mark.parametrize("function_name", GLU)
def test_glu_odd_axis(function_name):
    function = getattr(fa, function_name)
    with pytest.raises(ValueError, match="axis"):
        function(*_glu_args(function_name, np.ones((3, 5))))
    x = np.ones((3, 4))  # odd along axis 0
    args = (np.ones((1, 4)), x) if function_name == "glu_backward" else (x,)
    with pytest.raises(ValueError, match="axis"):
        function(*args, axis=0)


@pytest.mark.parametrize("function_name", GLU)
def test_glu_0d(function_name):
    args = (np.array(1.0), np.array(1.0)) if function_name == "glu_backward" \
        else (np.array(1.0),)
    with pytest.raises(ValueError):
        getattr(fa, function_name)(*args)


def test_glu_backward_grad_output_shape():
    x = np.ones((3, 4))
    for g in (np.ones((3, 4)), np.ones((3, 3)), np.ones((2, 2))):
        with pytest.raises(ValueError, match="grad_output"):
            fa.glu_backward(g, x)


PRELU = ["prelu", "prelu_derivative", "prelu_backward"]


def _prelu_call(function_name, x, weight, **kwargs):
    if function_name == "prelu_backward":
        return fa.prelu_backward(np.ones_like(x), x, weight, **kwargs)
    return getattr(fa, function_name)(x, weight, **kwargs)


@pytest.mark.parametrize("axis", [2, -3, 100])
@pytest.mark.parametrize("function_name", PRELU)
def test_prelu_axis_out_of_range(function_name, axis):
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="axis"):
        _prelu_call(function_name, x, np.full(4, 0.25), axis=axis)


@pytest.mark.parametrize("function_name", PRELU)
def test_prelu_one_weight_ignores_axis(function_name):
    """One weight element is one slope for all of x: axis plays no part, as in
    PyTorch, where a 1-D input has no channel axis (and the default axis=1
    must not reject it)."""
    x = np.array([-2.0, 3.0])
    expected = _prelu_call(function_name, x, np.full(1, 0.25))
    np.testing.assert_array_equal(_prelu_call(function_name, x, np.full(1, 0.25), axis=5),
                                  expected)


@pytest.mark.parametrize("function_name", PRELU)
def test_prelu_weight_wrong_length(function_name):
    x = np.ones((3, 4))
    for weight in (np.full(3, 0.25), np.full(5, 0.25), np.full(0, 0.25)):
        with pytest.raises(ValueError, match="weight"):
            _prelu_call(function_name, x, weight)
    with pytest.raises(ValueError, match="weight"):
        _prelu_call(function_name, x, np.full(4, 0.25), axis=0)


@pytest.mark.parametrize("function_name", PRELU)
def test_prelu_weight_2d(function_name):
    x = np.ones((3, 4))
    for weight in (np.full((1, 4), 0.25), np.full((4, 1), 0.25), np.full((3, 4), 0.25)):
        with pytest.raises(ValueError, match="weight"):
            _prelu_call(function_name, x, weight)


@pytest.mark.parametrize("function_name", ["softmax_backward", "log_softmax_backward"])
def test_rowwise_backward_shape_mismatch(function_name):
    y = fa.softmax(np.zeros((3, 4)))
    for g in (np.ones((3, 5)), np.ones((4,)), np.ones((1, 4)), np.ones((3, 4, 1))):
        with pytest.raises(ValueError, match="grad_output"):
            getattr(fa, function_name)(g, y)


@pytest.mark.parametrize("case", [c for c in CASES if c.mode == "backward"],
                         ids=[c.id for c in CASES if c.mode == "backward"])
def test_backward_non_broadcastable_shapes(case):
    arrays = arrays_for(case)
    g = arrays[0]
    for bad in (np.ones(g.shape[:-1] + (g.shape[-1] + 1,)), np.ones((g.shape[0] + 1, 1)),
                np.ones((2,) + g.shape[:-1] + (g.shape[-1] + 1,))):
        with pytest.raises(ValueError, match="shape|broadcast"):
            case.call(bad, *arrays[1:])


@pytest.mark.parametrize("function_name", ["swiglu", "swiglu_derivative", "geglu",
                                           "geglu_derivative"])
def test_gated_mismatched_gate_and_up(function_name):
    with pytest.raises(ValueError, match="shape|broadcast"):
        getattr(fa, function_name)(np.ones((3, 4)), np.ones((3, 5)))


def test_parameters_of_the_wrong_type():
    with pytest.raises(TypeError):
        fa.leaky_relu(np.ones(3), negative_slope="0.1")
    with pytest.raises(TypeError):
        fa.softmax(np.ones(3), temperature="hot")
    with pytest.raises(TypeError):
        fa.relu(np.ones(3), 0.5)  # parameters are keyword-only
