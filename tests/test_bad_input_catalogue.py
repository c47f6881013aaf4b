"""Bad-input catalogue (issue 6, item 1): every public function x every kind of bad input.

tests/test_errors.py and tests/test_out.py already check, function by function,
that refused dtypes, bad ``out=`` arrays (shape, dtype, read-only, list,
memoryview), bad parameter values and mismatched shapes raise. This file adds
what they leave out, as one table per case of ``cases.CASES``:

* every bad input is made WITH a valid, preallocated ``out=`` (a sentinel
  array; a pair for the two-output cases), and ``out`` must be left untouched,
  bit for bit, and the inputs too -- test_errors.py never passes an ``out``,
  test_out.py only for bad ``out`` arrays and a mismatched grad_output;
* ``out=`` that is not an array at all: ``True``, ``False``, ``0``, ``1``,
  ``1.0``, a NumPy scalar, a string; arrays of bool, int32, complex and object
  dtype (for the row-wise Jacobians too: their out has shape (..., n, n));
* parameters of the wrong type (None, str, list, complex, a 1-d array, a bool
  axis, a non-bool ``training``) and a float parameter too big for a double
  (``10**400``): an exception naming the parameter (category ``param_type``);
* NaN/inf given as NumPy scalars, every float parameter of every
  function and every mode (derivative and backward included), every axis
  parameter out of range and of the wrong type, an extra positional argument
  and an unknown keyword;
* mismatched shapes for EVERY multi-input function: each array argument in
  turn given a shape that does not broadcast against the others (the gated
  backward has three), and for the row-wise backward a broadcastable but
  different grad_output.

Each entry names the exception class it must raise and a regular expression
the message must match (the parameter's name for a bad parameter, "float32"
and "float64" for a refused dtype, "shape"/"broadcast" for mismatched shapes,
"ndarray" for an out that is not an array, ...).

Run:  python -m pytest tests/test_bad_input_catalogue.py -q
"""
import inspect
import math

import numpy as np
import pytest

import fastact as fa
from cases import CASES

SHAPE = (3, 4)
SENTINEL = 1234.5678

# One case per public function (the parameter variants call the same functions).
FUNCTION_CASES = {}
for _case in CASES:
    FUNCTION_CASES.setdefault(_case.function().__name__, _case)
# rrelu's generator only matters in training
FUNCTION_CASES.update({c.function().__name__ + "[training]": c for c in CASES
                       if c.name == "rrelu" and c.params.get("training")})

FLOAT_PARAMS = {"negative_slope", "alpha", "beta", "threshold", "lower", "upper", "temperature"}
AXIS_PARAMS = {"axis"}


def _arrays(case, dtype=np.float64):
    return [np.asarray(a) for a in case.arrays(SHAPE, dtype, np.random.default_rng(0))]


def _keyword_params(case):
    """Names of the function's parameters other than its arrays and out."""
    sig = inspect.signature(case.function())
    arrays = len(_arrays(case))
    names = list(sig.parameters)
    return [n for n in names[arrays:] if n != "out"]


def _entry(label, args, kwargs, error, pattern, *, use_out=True):
    return (label, list(args), dict(kwargs), error, pattern, use_out)


# ---------------------------------------------------------------- the catalogue


def dtype_entries(case):
    arrays = _arrays(case)
    bad = {
        "complex128": lambda a: a.astype(np.complex128),
        "object": lambda a: a.astype(object),
        "str": lambda a: a.astype(str),
        "float16": lambda a: a.astype(np.float16),
    }
    out = []
    for i in range(len(arrays)):
        for name, convert in bad.items():
            args = list(arrays)
            args[i] = convert(arrays[i])
            out.append(_entry(f"arg{i} {name}", args, case.params, TypeError,
                              r"(?s)float32.*float64"))
    return out


def out_entries(case):
    """Kinds of bad out= that tests/test_out.py does not cover."""
    arrays = _arrays(case)
    expected = case.call(*arrays)
    first = expected[0] if isinstance(expected, tuple) else expected
    shape, dtype = first.shape, first.dtype
    not_arrays = {"True": True, "False": False, "0": 0, "1": 1, "1.0": 1.0,
                  "np.float64": np.float64(0.0), "str": "out", "None-in-pair": None}
    entries = []
    for label, value in not_arrays.items():
        if label == "None-in-pair" and case.n_outputs != 2:
            continue
        if case.n_outputs == 2:
            for slot in (0, 1):
                pair = [np.full(shape, SENTINEL, dtype), np.full(shape, SENTINEL, dtype)]
                pair[slot] = value
                entries.append(_entry(f"out[{slot}]={label}", arrays,
                                      dict(case.params, out=tuple(pair)), TypeError,
                                      "ndarray|out", use_out=False))
            if label != "None-in-pair":
                entries.append(_entry(f"out={label}", arrays, dict(case.params, out=value),
                                      TypeError, "ndarray|tuple|pair|out", use_out=False))
        else:
            entries.append(_entry(f"out={label}", arrays, dict(case.params, out=value),
                                  TypeError, "ndarray", use_out=False))
    for dt in (np.bool_, np.int32, np.complex128, object):
        bad = np.zeros(shape, dt)
        out = (np.full(shape, SENTINEL, dtype), bad) if case.n_outputs == 2 else bad
        entries.append(_entry(f"out dtype {np.dtype(dt).name}", arrays,
                              dict(case.params, out=out), TypeError,
                              rf"dtype.*{dtype.name}|{dtype.name}.*dtype", use_out=False))
    return entries


def _float_param_bad_values(name):
    """(label, value, error, pattern) for a float parameter."""
    out = [(f"{name}=nan", math.nan, ValueError, name),
           (f"{name}=inf", math.inf, ValueError, name),
           (f"{name}=-inf", -math.inf, ValueError, name),
           (f"{name}=np.float32(nan)", np.float32("nan"), ValueError, name),
           (f"{name}=np.float64(-inf)", np.float64("-inf"), ValueError, name),
           ]
    if name == "temperature":
        out += [(f"{name}=0", 0.0, ValueError, name), (f"{name}=-0.0", -0.0, ValueError, name),
                (f"{name}=-1", -1.0, ValueError, name), (f"{name}=-1e-300", -1e-300, ValueError, name)]
    return out


def _float_param_wrong_types(name):
    out = [(f"{name}=10**400", 10 ** 400, (ValueError, TypeError), name)]
    for label, value in [("None", None), ("str", "0.5"), ("list", [0.5]), ("complex", 1j),
                         ("1-d array", np.ones(2))]:
        out.append((f"{name}={label}", value, TypeError, name))
    return out


def param_type_entries(case):
    """Parameters of the wrong type: TypeError (or ValueError) naming the parameter."""
    arrays = _arrays(case)
    entries = []

    def add(label, kwargs, error, pattern):
        entries.append(_entry(label, arrays, dict(case.params, **kwargs), error, pattern))

    for name in _keyword_params(case):
        if name in FLOAT_PARAMS:
            for label, value, error, pattern in _float_param_wrong_types(name):
                add(label, {name: value}, error, pattern)
        elif name in AXIS_PARAMS:
            for label, value in [("1.0", 1.0), ("None", None), ("str", "1"), ("tuple", (0, 1)),
                                 ("1-d array", np.array([1])), ("True", True)]:
                add(f"axis={label}", {"axis": value}, TypeError, "axis")
        elif name == "training":
            for label, value in [("'False'", "False"), ("None", None), ("list", [])]:
                add(f"training={label}", {"training": value}, TypeError, "training")
    return entries


def param_entries(case):
    """Parameter values out of the domain: ValueError naming the parameter."""
    arrays = _arrays(case)
    names = _keyword_params(case)
    entries = []

    def add(label, kwargs, error, pattern):
        entries.append(_entry(label, arrays, dict(case.params, **kwargs), error, pattern))

    for name in names:
        if name in FLOAT_PARAMS:
            for label, value, error, pattern in _float_param_bad_values(name):
                kwargs = {name: value}
                if case.name == "rrelu" and name == "lower" and isinstance(value, float) \
                        and value == math.inf:
                    kwargs["upper"] = math.inf  # not lower > upper: the infinity itself
                add(label, kwargs, error, pattern)
        elif name in AXIS_PARAMS:
            ndim = arrays[-1].ndim if case.name != "prelu" else arrays[-2].ndim
            for label, value in [("ndim", ndim), ("-ndim-1", -ndim - 1), ("2**70", 2 ** 70),
                                 ("-2**70", -(2 ** 70))]:
                add(f"axis={label}", {"axis": value}, ValueError, "axis")
        elif name == "approximate":
            for value in ("bogus", "TANH", b"tanh", None):
                add(f"approximate={value!r}", {"approximate": value}, ValueError, "approximate")
        elif name == "masked_rows":
            for value in ("bogus", None, 0):
                add(f"masked_rows={value!r}", {"masked_rows": value}, ValueError, "masked_rows")
        elif name == "generator" and case.params.get("training"):
            for label, value in [("str", "abc"), ("float", 1.5), ("negative", -1)]:
                add(f"generator={label}", {"generator": value}, (TypeError, ValueError),
                    "generator|seed|SeedSequence|integer")
    if case.name == "softplus":
        add("beta=0", {"beta": 0.0}, ValueError, "beta")
    if case.name == "rrelu":
        add("lower>upper", {"lower": 0.5, "upper": 0.25}, ValueError, "lower")
    if case.name == "prelu":
        k = 0 if case.mode != "backward" else 1
        for label, weight in [("weight len 3", np.full(3, 0.25)), ("weight len 5", np.full(5, 0.25)),
                              ("weight len 0", np.full(0, 0.25)),
                              ("weight 2-d", np.full((1, 4), 0.25))]:
            args = list(arrays)
            args[k + 1] = weight
            entries.append(_entry(label, args, case.params, ValueError, "weight"))
    # calling conventions: an extra positional argument, an unknown keyword
    positional = [p for p in inspect.signature(case.function()).parameters.values()
                  if p.kind == p.POSITIONAL_OR_KEYWORD]
    extra = arrays + [-1] * (len(positional) - len(arrays)) + [arrays[-1]]
    entries.append(_entry("extra positional", extra, case.params, TypeError,
                          "positional|argument"))
    entries.append(_entry("unknown keyword", arrays, dict(case.params, bogus=1.0), TypeError,
                          "bogus"))
    return entries


def shape_entries(case):
    arrays = _arrays(case)
    if len(arrays) < 2:
        return []
    entries = []
    for i, a in enumerate(arrays):
        if case.name == "prelu" and i == len(arrays) - 1:
            continue  # the weight: see param_entries
        for label, shape in [("last+1", a.shape[:-1] + (a.shape[-1] + 1,)),
                             ("first+1", (a.shape[0] + 1,) + a.shape[1:]),
                             ("extra axis, last+1", (2,) + a.shape[:-1] + (a.shape[-1] + 1,))]:
            args = list(arrays)
            args[i] = np.ones(shape, a.dtype)
            entries.append(_entry(f"arg{i} shape {shape} ({label})", args, case.params,
                                  ValueError, "shape|broadcast|grad_output|weight|odd"))
    if case.info.kind == "rowwise" and case.mode == "backward":
        g, y = arrays
        for shape in [(1, SHAPE[1]), (SHAPE[1],), SHAPE + (1,)]:
            entries.append(_entry(f"grad_output broadcastable {shape}", [np.ones(shape), y],
                                  case.params, ValueError, "grad_output|shape"))
    return entries


CATEGORIES = {"dtype": dtype_entries, "out": out_entries, "param": param_entries,
              "param_type": param_type_entries, "shape": shape_entries}


def _params():
    out = []
    for fname, case in FUNCTION_CASES.items():
        for category in CATEGORIES:
            out.append(pytest.param(case, category, id=f"{fname}-{category}"))
    return out


def _snapshot(value):
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else None


def _check_entry(case, entry):
    label, args, kwargs, error, pattern, use_out = entry
    outs = []
    if use_out:
        good = _arrays(case)
        expected = case.call(*good)
        expected = expected if isinstance(expected, tuple) else (expected,)
        outs = [np.full(e.shape, SENTINEL, e.dtype) for e in expected]
        kwargs = dict(kwargs, out=tuple(outs) if case.n_outputs == 2 else outs[0])
    elif isinstance(kwargs.get("out"), (np.ndarray, tuple)):
        o = kwargs["out"]
        outs = [v for v in (o if isinstance(o, tuple) else (o,)) if isinstance(v, np.ndarray)]
    before_outs = [o.copy() for o in outs]
    before_args = [_snapshot(a) for a in args]
    with pytest.raises(error) as info:
        case.function(fa)(*args, **kwargs)
    import re
    message = str(info.value)
    assert re.search(pattern, message), f"message {message!r} does not match {pattern!r}"
    for o, b in zip(outs, before_outs):
        assert o.tobytes() == b.tobytes(), "out was written although the call failed"
    for a, b in zip(args, before_args):
        if b is not None and a.dtype.kind != "O":
            assert a.tobytes() == b.tobytes(), "an input was modified by a failing call"


@pytest.mark.parametrize("case, category", _params())
def test_bad_input_catalogue(case, category):
    """Every entry of the category: the exception, the message, out and inputs untouched."""
    entries = CATEGORIES[category](case)
    failures = []
    for entry in entries:
        try:
            _check_entry(case, entry)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # collect every entry's failure  # noqa: B036
            failures.append(f"{entry[0]}: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
    assert not failures, f"{len(failures)} of {len(entries)} bad inputs mishandled:\n" + \
        "\n".join(failures)


def test_catalogue_covers_every_public_function():
    public = {n for n in dir(fa) if callable(getattr(fa, n)) and not n.startswith("_")
              and any(n == i.forward.__name__ or n == i.derivative.__name__
                      or n == i.backward.__name__ for i in fa.REGISTRY.values())}
    covered = {c.function().__name__ for c in FUNCTION_CASES.values()}
    assert public == covered, public ^ covered
    assert len(covered) == 3 * len(fa.REGISTRY)


@pytest.mark.parametrize("bad", ["nope", "", None, 3, "RELU "])
def test_get_activation_unknown_name(bad):
    with pytest.raises((KeyError, TypeError, ValueError)) as info:
        fa.get_activation(bad)
    if isinstance(bad, str):
        assert "relu" in str(info.value)  # lists the known names
