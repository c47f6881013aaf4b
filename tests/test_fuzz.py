"""Fuzzing every entry point (issue 6, item 2).

A hypothesis strategy draws a *spec*: a plain dict (printable, replayable)
naming a case of ``cases.CASES``, a dtype (float32, float64, big-endian
floats, bool and integers -- accepted, computed in float64 -- or a refused
one: float16, complex, object, str), sometimes a second dtype for one
argument, a shape (0-d to 3-d, empty sides, and now and then a long array or
long rows that take the multi-threaded path), a memory layout per argument
(steps of +-1/+-2, a transposition, an odd byte offset), values (scaled
normals sprinkled with NaN, +-inf, +-0, subnormals and huge values), every
keyword parameter of the function (its default, a random valid value, or an
invalid one: NaN, +-inf, temperature <= 0, softplus beta == 0, lower > upper,
a bad ``approximate`` / ``masked_rows``, an axis out of range or not an
integer, None or a string), a prelu weight of the wrong length, mismatched
shapes, the thread count (1 or 2), and an ``out=``: none, a fresh array, a
strided or negative-stride view, in place on an argument, partially
overlapping an argument, or a bad one (wrong shape, wrong dtype, read-only,
a list, an int).

``run_spec`` makes the call and checks: a valid call returns the result's
dtype and shape, matches ``fastact.reference`` within SPEC section 5
(``helpers_layout.tolerance`` / ``compare``, the same rule as the layout and
property tests), returns ``out`` itself when given, and leaves inputs not
aliased by ``out`` unmodified; an invalid call raises ValueError or
TypeError (the documented exceptions) and writes nothing into ``out``. Any
other exception, a crash, or a missing one is a failure.

Budget: ``FASTACT_FUZZ_BATCHES`` (default 50, about 50 s here) batches of
``FASTACT_FUZZ_EXAMPLES`` (default 300) hypothesis examples each, batch k
drawn with seed ``FASTACT_FUZZ_SEED`` (default 0) + k. A count, not a time:
every machine checks the same specs, so CI does not reach (and fail on) a
batch that a slower run here never drew. A failure prints hypothesis' shrunk
example and the spec; replay it with ``python scripts/fuzz.py --replay
"<spec>"``. ``scripts/fuzz.py`` runs the same target for longer, on fresh
specs or (``--first-seed``) on the batches after the suite's.

Run:  FASTACT_FUZZ_BATCHES=100 python -m pytest tests/test_fuzz.py -q
"""
import math
import os
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings, seed
from hypothesis import strategies as st

import fastact as fa
from fastact import reference
from cases import CASES
from helpers_layout import as_tuple, compare, scaled_product, tolerance

FUZZ_BATCHES = int(os.environ.get("FASTACT_FUZZ_BATCHES", "50"))
FUZZ_FIRST_SEED = int(os.environ.get("FASTACT_FUZZ_SEED", "0"))
BATCH_EXAMPLES = int(os.environ.get("FASTACT_FUZZ_EXAMPLES", "300"))

CASES_BY_ID = {c.id: c for c in CASES}
SENTINEL = -4321.0

GOOD_DTYPES = ["float32", "float64"]
OTHER_GOOD_DTYPES = [">f4", ">f8", "bool", "int8", "int32", "int64", "uint8"]
BAD_DTYPES = ["float16", "complex64", "complex128", "object", "str"]

OUT_GOOD = ["none", "fresh", "strided", "negative", "inplace", "overlap"]
OUT_BAD = ["bad_shape", "bad_dtype", "read_only", "list", "int"]

FLOAT_PARAMS = ("negative_slope", "alpha", "beta", "threshold", "lower", "upper", "temperature")


def _keyword_params(case):
    import inspect
    names = list(inspect.signature(case.function()).parameters)
    n_arrays = len(case.info.arguments) + (1 if case.mode == "backward" else 0)
    if case.info.kind == "rowwise":
        n_arrays = 1 if case.mode != "backward" else 2
    return [n for n in names[n_arrays:] if n != "out"]


# ---------------------------------------------------------------- the strategy

def _valid_float(name, case):
    if name == "temperature":
        return st.floats(0.05, 20.0)
    if name == "beta" and case.name == "softplus":
        return st.one_of(st.floats(0.1, 5.0), st.floats(-5.0, -0.1))
    if name == "threshold":
        # also beyond exp's range (|beta x| > 700 below the threshold)
        return st.one_of(st.floats(-30.0, 30.0), st.floats(-3000.0, 3000.0))
    if name in ("lower", "upper"):
        return st.floats(-1.0, 1.0)
    return st.floats(-5.0, 5.0)  # negative_slope, alpha, swish beta (0 allowed)


def _invalid_float(name, case):
    values = [math.nan, math.inf, -math.inf, None, "0.5"]
    if name == "temperature":
        values += [0.0, -0.0, -1.0]
    if name == "beta" and case.name == "softplus":
        values += [0.0, -0.0]
    return st.sampled_from(values)


@st.composite
def specs(draw, cases=tuple(CASES)):
    case = draw(st.sampled_from(cases))
    kind = case.info.kind
    spec = {"case": case.id, "invalid": []}
    # ---- dtype
    pick = draw(st.integers(0, 9))
    if pick < 6:
        dtype = draw(st.sampled_from(GOOD_DTYPES))
    elif pick < 8:
        dtype = draw(st.sampled_from(OTHER_GOOD_DTYPES))
    else:
        dtype = draw(st.sampled_from(BAD_DTYPES))
    spec["dtype"] = dtype
    n_args = len(case.arrays((1,), np.float64, np.random.default_rng(0)))
    if draw(st.integers(0, 7)) == 0:
        arg = draw(st.integers(0, n_args - 1))
        other = draw(st.sampled_from(GOOD_DTYPES + OTHER_GOOD_DTYPES + BAD_DTYPES))
        spec["dtype_of_arg"] = [arg, other]
    final = [dtype] * n_args
    if "dtype_of_arg" in spec:
        final[spec["dtype_of_arg"][0]] = spec["dtype_of_arg"][1]
    for i, d in enumerate(final):
        if d in BAD_DTYPES:
            spec["invalid"].append(f"arg{i} dtype {d}")
    # ---- shape
    min_dims = 1 if (kind == "rowwise" or case.name == "glu") else 0
    size_pick = draw(st.integers(0, 19))
    if size_pick == 0:  # long: crosses the thread spans (8192 / 65536 elements)
        n = draw(st.sampled_from([8191, 8193, 16385, 65537, 140001]))
        shape = [n] if kind != "rowwise" else [draw(st.integers(2, 40)), n // 40 + 1]
        if case.name == "glu":
            shape = [n // 2 + 1]
        if kind == "rowwise" and case.mode == "derivative":
            shape = [3, 100]  # the Jacobian is n*n
    else:
        shape = draw(st.lists(st.integers(0, 6), min_size=min_dims, max_size=3))
        if kind == "rowwise" and case.mode == "derivative":
            shape = [min(s, 5) for s in shape]
    spec["shape"] = shape
    ndim = len(shape)
    # ---- axis (rowwise, glu, prelu): where the row / halving / channel axis goes
    if kind == "rowwise" or case.name in ("glu", "prelu"):
        if ndim and draw(st.integers(0, 5)) == 0:
            bad = draw(st.sampled_from([ndim, -ndim - 1, 1.5, None, "0"]))
            spec["axis"] = bad
            spec["invalid"].append(f"axis {bad!r}")
        elif ndim:
            spec["axis"] = draw(st.integers(-ndim, ndim - 1))
        else:
            spec["axis"] = 1  # prelu's default; a 0-d x needs a 1-element weight
    if case.name == "prelu":
        spec["weight"] = draw(st.sampled_from(["channels", "channels", "one", "wrong"]))
        if ndim == 0 and spec["weight"] == "channels":
            spec["weight"] = "one"
        if spec["weight"] == "one" and "axis" in spec and any(
                "axis" in s for s in spec["invalid"]):
            # one weight element ignores the axis entirely (tests/test_errors.py)
            spec["invalid"] = [s for s in spec["invalid"] if "axis" not in s]
        if spec["weight"] == "wrong":
            spec["invalid"].append("prelu weight length")
    # ---- mismatched shapes (multi-input)
    if n_args >= 2 and ndim and draw(st.integers(0, 11)) == 0:
        arg = draw(st.integers(0, n_args - 1))
        if not (case.name == "prelu" and (case.mode != "backward" or arg != 0)):
            spec["mismatch_arg"] = arg
            spec["invalid"].append(f"arg{arg} shape mismatch")
    # ---- layouts
    spec["layouts"] = []
    for _ in range(n_args):
        steps = [draw(st.sampled_from([1, 1, 2, -1, -2])) for _ in range(ndim + 1)]
        spec["layouts"].append({"steps": steps, "transpose": draw(st.booleans()),
                                "offset": draw(st.sampled_from([0, 0, 1, 3]))})
    # ---- values
    spec["seed"] = draw(st.integers(0, 2 ** 32 - 1))
    spec["scale"] = draw(st.sampled_from([0.01, 1.0, 3.0, 30.0, 1000.0]))
    spec["specials"] = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5]))
    # ---- parameters
    params = dict(case.params)
    for name in _keyword_params(case):
        if name == "axis":
            continue
        choice = draw(st.integers(0, 9))
        if choice < 4:
            continue  # the case's value or the default
        if name in FLOAT_PARAMS:
            if choice < 9:
                params[name] = draw(_valid_float(name, case))
            else:
                params[name] = draw(_invalid_float(name, case))
                spec["invalid"].append(f"{name}={params[name]!r}")
        elif name == "approximate":
            params[name] = draw(st.sampled_from(["none", "tanh", "tanh", "bogus"]))
        elif name == "masked_rows":
            params[name] = draw(st.sampled_from(["nan", "zero", "zero", "bogus"]))
        elif name == "training":
            params[name] = draw(st.booleans())
        elif name == "generator":
            params[name] = draw(st.integers(0, 2 ** 32 - 1))
        if params.get(name) == "bogus":
            spec["invalid"].append(f"{name}='bogus'")
    if case.name == "rrelu":
        if params.get("training") and params.get("generator") is None:
            # random slopes: comparable with the reference only for a fixed seed
            params["generator"] = draw(st.integers(0, 2 ** 32 - 1))
        lo, up = params.get("lower", 1 / 8), params.get("upper", 1 / 3)
        if (isinstance(lo, float) and isinstance(up, float) and lo > up):
            spec["invalid"].append("lower > upper")
    spec["params"] = params
    # ---- threads
    spec["threads"] = draw(st.sampled_from([1, 2]))
    # ---- out
    if draw(st.integers(0, 5)) == 0:
        spec["out"] = draw(st.sampled_from(OUT_BAD))
        spec["invalid"].append(f"out {spec['out']}")
    else:
        spec["out"] = draw(st.sampled_from(OUT_GOOD))
    spec["out_arg"] = draw(st.integers(0, n_args - 1))
    return spec


# ---------------------------------------------------------------- building the call


def _specials(rng, a, fraction):
    if fraction == 0 or a.size == 0:
        return a
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -2.2e-308, 1e-30, 3e38,
                       -3e38, 1e300, -1e300, 20.0, -20.0, 3.0, -3.0], dtype=np.float64)
    mask = rng.random(a.shape) < fraction
    a = a.copy()
    a[mask] = rng.choice(values, int(mask.sum()))
    return a


def _convert(a64, dtype):
    """The float64 values as an array of ``dtype`` (and their float64 meaning)."""
    with np.errstate(all="ignore"):
        if dtype == "bool":
            a = a64 > 0
        elif dtype in ("int8", "int32", "int64", "uint8"):
            info = np.iinfo(dtype)
            v = np.nan_to_num(np.round(a64), nan=0.0, posinf=info.max, neginf=info.min)
            a = np.clip(v, info.min, info.max).astype(dtype)
        elif dtype == "str":
            a = a64.astype(str)
        elif dtype == "object":
            a = a64.astype(object)
        else:
            a = a64.astype(dtype)
    return a


def _result_dtype(dtypes):
    """float32 if every (converted) array argument is float32, else float64."""
    floats = []
    for d in dtypes:
        d = np.dtype(d)
        floats.append(np.dtype(np.float32) if d.kind == "f" and d.itemsize == 4 else
                      np.dtype(np.float64))
    return np.dtype(np.float32) if all(f == np.float32 for f in floats) else np.dtype(np.float64)


def _lay_out(a, layout):
    """The values of ``a`` (contiguous) in a view with the given steps, transposition
    and byte offset."""
    if a.dtype.kind in "OU":
        return a  # no byte-level layouts for object / str arrays
    ndim = a.ndim
    steps = list(layout["steps"][:ndim]) + [1] * max(0, ndim - len(layout["steps"]))
    perm = list(range(ndim))[::-1] if (layout["transpose"] and ndim >= 2) else list(range(ndim))
    # the shape before the transposition
    pre = [a.shape[perm.index(i)] for i in range(ndim)] if ndim else []
    base_shape = tuple(max(1, n * abs(s)) for n, s in zip(pre, steps))
    count = int(np.prod(base_shape)) if ndim else 1
    buf = np.zeros(count * a.itemsize + layout["offset"] + 16, np.uint8)
    off = layout["offset"]
    base = buf[off:off + count * a.itemsize].view(a.dtype)
    base = base.reshape(base_shape) if ndim else base.reshape(())
    view = base[tuple(slice(None, None, s) for s in steps)] if ndim else base
    view = view[tuple(slice(0, n) for n in pre)] if ndim else view
    view = view.transpose(perm) if ndim else view
    assert view.shape == a.shape, (view.shape, a.shape)
    view[...] = a
    return view


def build(spec):
    """(function, args, kwargs, expected-call pieces) for a spec."""
    case = CASES_BY_ID[spec["case"]]
    rng = np.random.default_rng(spec["seed"])
    shape = tuple(spec["shape"])
    kind = case.info.kind
    axis = spec.get("axis")
    valid_axis = isinstance(axis, int) and shape and -len(shape) <= axis < len(shape)
    # positional arrays in float64, with the special axis last, then moved to `axis`
    arrays = [np.array(a, dtype=np.float64) for a in
              case.arrays(shape, np.float64, rng, scale=spec["scale"])]
    if case.name == "prelu":
        # x (and g) of `shape`; the weight along `axis`
        k = 1 if case.mode == "backward" else 0
        x = arrays[k]
        w_kind = spec["weight"]
        if w_kind == "one" or not valid_axis:
            n_w = 1 if w_kind == "one" else 2
        else:
            n_w = x.shape[axis]
        if w_kind == "wrong":
            n_w = (x.shape[axis] + (2 if x.shape[axis] == 0 else 1)) if valid_axis else 0
        arrays[-1] = rng.uniform(-0.5, 0.5, n_w)
    elif valid_axis and (kind == "rowwise" or case.name == "glu"):
        arrays = [np.moveaxis(a, -1, axis) for a in arrays]
        arrays = [np.ascontiguousarray(a) for a in arrays]
    if kind != "rowwise" or case.mode == "forward":
        # specials in the data arguments (not in a softmax output y)
        arrays = [_specials(rng, a, spec["specials"]) if i < len(arrays) - (case.name == "prelu")
                  else a for i, a in enumerate(arrays)]
    if "mismatch_arg" in spec:
        i = spec["mismatch_arg"]
        a = arrays[i]
        if a.ndim == 0 or a.shape[-1] == 1:
            # 1 broadcasts against anything: no mismatch to make along the last axis
            spec["invalid"].remove(f"arg{i} shape mismatch")
        else:
            last = a.shape[-1] + (2 if a.shape[-1] == 0 else 1)
            arrays[i] = np.ones(a.shape[:-1] + (last,))
    dtypes = [spec["dtype"]] * len(arrays)
    if "dtype_of_arg" in spec:
        dtypes[spec["dtype_of_arg"][0]] = spec["dtype_of_arg"][1]
    converted = [_convert(a, d) for a, d in zip(arrays, dtypes)]
    laid = [_lay_out(c, lay) for c, lay in zip(converted, spec["layouts"])]
    kwargs = dict(spec["params"])
    if "axis" in spec:
        kwargs["axis"] = axis
    return case, laid, converted, kwargs


def _float64_meaning(c):
    """What fastact computes with: float64 (or float32) values of an accepted array."""
    if c.dtype.kind in "biu":
        return c.astype(np.float64)
    return c.astype(c.dtype.newbyteorder("="))


def _make_out(spec, kind, shapes, dtype, args):
    """out= for the spec: the object to pass and the arrays to check afterwards."""
    n = len(shapes)

    def fresh(shape):
        return np.full(shape, SENTINEL, dtype)

    if kind == "none":
        return None, []
    if kind == "fresh":
        outs = [fresh(s) for s in shapes]
    elif kind in ("strided", "negative"):
        outs = []
        for s in shapes:
            if not s:
                outs.append(fresh(s))
            elif kind == "strided":
                outs.append(np.full(s[:-1] + (2 * s[-1],), SENTINEL, dtype)[..., ::2])
            else:
                outs.append(fresh(s)[(slice(None, None, -1),) * len(s)])
    elif kind == "inplace":
        k = spec["out_arg"]
        a = args[k]
        if isinstance(a, np.ndarray) and a.shape == shapes[0] and a.dtype == dtype \
                and a.flags.writeable:
            outs = [a] + [fresh(s) for s in shapes[1:]]
        else:
            outs = [fresh(s) for s in shapes]
    elif kind == "overlap":
        k = spec["out_arg"]
        a = args[k]
        size = int(np.prod(shapes[0]))
        if isinstance(a, np.ndarray) and a.dtype == dtype and size and a.size:
            buf = np.zeros(max(size, a.size) + 1, dtype)
            moved = buf[1:1 + a.size].reshape(a.shape)
            moved[...] = a
            args[k] = moved
            outs = [buf[:size].reshape(shapes[0])] + [fresh(s) for s in shapes[1:]]
        else:
            outs = [fresh(s) for s in shapes]
    elif kind == "bad_shape":
        outs = [fresh(s[:-1] + (s[-1] + 1,)) if s else fresh((2,)) for s in shapes]
    elif kind == "bad_dtype":
        other = np.float32 if dtype == np.float64 else np.float64
        outs = [np.full(s, SENTINEL, other) for s in shapes]
    elif kind == "read_only":
        outs = [fresh(s) for s in shapes]
        outs[-1].flags.writeable = False
    elif kind == "list":
        lists = [fresh(s).tolist() for s in shapes]
        return (tuple(lists) if n == 2 else lists[0]), []
    elif kind == "int":
        return (1, 1) if n == 2 else 1, []
    else:
        raise AssertionError(kind)
    return (tuple(outs) if n == 2 else outs[0]), outs


def run_spec(spec):
    """Make the call of ``spec`` and check it (module docstring)."""
    import copy
    spec = copy.deepcopy(spec)  # build() may drop an impossible mismatch from "invalid"
    case, args, converted, kwargs = build(spec)
    function = case.function(fa)
    invalid = spec["invalid"]
    label = f"{case.id} spec={spec!r}"
    inputs_ok = not [r for r in invalid if not r.startswith("out")]
    if inputs_ok:
        # the reference on float64 copies; the result's dtype
        meaning = [_float64_meaning(c) for c in converted]
        dtypes = [m.dtype for m in meaning]
        if case.name == "prelu":
            dtypes = dtypes[:-1]  # the weight takes x's dtype
        rdtype = _result_dtype(dtypes)
        arrays64 = [m.astype(np.float64) for m in meaning]
        if case.name == "prelu":
            arrays64[-1] = arrays64[-1].astype(rdtype).astype(np.float64)
        ref_kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        with np.errstate(all="ignore"):
            expected = as_tuple(case.function(reference)(*arrays64, **ref_kwargs))
            if case.name == "rrelu" and ref_kwargs.get("training") and rdtype == np.float32:
                expected = _rrelu_float32_slopes(case, arrays64, ref_kwargs, expected)
    if invalid:
        if inputs_ok:
            shapes = [e.shape for e in expected]
        else:
            shapes = [tuple(args[0].shape)] * case.n_outputs
            rdtype = np.float32 if spec["dtype"] in ("float32", ">f4") else np.float64
        out, outs = _make_out(spec, spec["out"], shapes, rdtype, args)
        if out is not None:
            kwargs["out"] = out
        before_outs = [o.copy() for o in outs]
        before_args = [a.copy() if isinstance(a, np.ndarray) and a.dtype.kind not in "OU"
                       else None for a in args]
        try:
            with fa.num_threads(spec["threads"]):
                function(*args, **kwargs)
        except (ValueError, TypeError):
            pass
        else:
            raise AssertionError(f"{label}: no exception for {invalid}")
        for o, b in zip(outs, before_outs):
            assert o.tobytes() == b.tobytes(), f"{label}: out written by a failing call"
        for a, b in zip(args, before_args):
            if b is not None:
                assert a.tobytes() == b.tobytes(), f"{label}: input modified by a failing call"
        return "error"

    # ---- a valid call
    shapes = [e.shape for e in expected]
    out, outs = _make_out(spec, spec["out"], shapes, rdtype, args)
    if out is not None:
        kwargs["out"] = out
    aliased = {id(o) for o in outs}
    before_args = [(a.copy() if isinstance(a, np.ndarray) else None) for a in args]
    with fa.num_threads(spec["threads"]):
        got = function(*args, **kwargs)
    got = as_tuple(got)
    assert len(got) == len(expected), f"{label}: {len(got)} results"
    if out is not None:
        for g, o in zip(got, outs):
            assert g is o, f"{label}: out= not returned"
    for a, b in zip(args, before_args):
        if b is not None and a.dtype.kind not in "OU" and id(a) not in aliased \
                and not any(np.shares_memory(a, o) for o in outs):
            assert a.tobytes() == b.tobytes(), f"{label}: an input was modified"
    # ---- compare within SPEC 5 (the row axis last for tolerance())
    tol_arrays, tol_got, tol_exp = arrays64, list(got), list(expected)
    axis = kwargs.get("axis")
    if case.info.kind == "rowwise":
        tol_arrays = [np.moveaxis(a, axis, -1) for a in arrays64]
        if case.mode != "derivative":
            tol_got = [np.moveaxis(np.asarray(g), axis, -1) for g in got]
            tol_exp = [np.moveaxis(e, axis, -1) for e in expected]
    tcase = _with_params(case, spec["params"])
    limit, slacks, floors = tolerance(tcase, [np.ascontiguousarray(a) for a in tol_arrays],
                                      rdtype)
    beta = float(spec["params"].get("beta", 1.0)) if case.name == "softplus" else 1.0
    if beta != 1.0 and rdtype == np.float64:
        # Not in helpers_layout.tolerance: the float64 reference rounds u = beta*x
        # before exp (|u| ULP), as for swish. E.g. softplus(-3.114509202550763,
        # beta=3): kernel 0.35 ULP, reference 7.7 ULP from mpmath.
        x = tol_arrays[1] if case.mode == "backward" else tol_arrays[0]
        with np.errstate(all="ignore"):
            extra = np.abs(beta * x)
        extra = np.where(np.isfinite(extra), extra, 0.0)
        slacks = [sl + extra for sl in slacks]
    if rdtype == np.float64 and case.info.kind == "rowwise" and case.mode != "derivative" \
            and np.ndim(tol_arrays[0]):
        # Not in helpers_layout.tolerance: the float64 reference sums a row with
        # plain np.sum (error growing with the row length n), the kernel with
        # compensated sums. E.g. softmax of a bool row of 205: kernel 0.1 ULP,
        # reference 13.1 ULP (mpmath). Allow 2 sqrt(n) + n / 20 more ULP.
        n = np.shape(tol_arrays[0])[-1]
        slacks = [sl + 2 * np.sqrt(n) + n / 20 for sl in slacks]
    if rdtype == np.float64 and case.info.kind != "rowwise":
        # Not in helpers_layout.tolerance: where an intermediate of the float64
        # reference is subnormal it loses precision (x * erfc(...) / 2 with erfc
        # already subnormal: about |x| subnormal ULP, also when the result itself is
        # just above the normal range). E.g. gelu(-38.05678849770939): kernel 0.18
        # subnormal ULP, reference 27.8; silu_backward(-0.92455, -714.1378) =
        # 4.7097e-308: kernel 0.03 ULP, reference 143 ULP (mpmath). Allow an absolute
        # 4 (min(|x|, 1000) + 2) subnormal ULP (times |grad_output|, |up|).
        x = tol_arrays[1] if case.mode == "backward" else tol_arrays[0]
        if np.shape(x) != np.shape(tol_exp[0]):
            x = np.full(np.shape(tol_exp[0]), 1e3)  # glu: x has twice the result's size
        scale = np.abs(tol_arrays[0]) if case.mode == "backward" else 1.0
        if np.shape(scale) not in ((), x.shape):
            scale = 1e3
        factors = [scale]
        with np.errstate(all="ignore"):
            mag = np.abs(x)
            if spec["params"].get("approximate") == "tanh":
                # its argument 2z = 2 sqrt(2/pi)(x + 0.044715 x^3) is rounded 4 times:
                # geglu_derivative(-21.392042851778164, -5.865174834993071, tanh) =
                # 8.0677e-315: kernel 0.4, reference 4762 subnormal ULP (mpmath)
                mag = mag + 8 * np.abs(2 * 0.7978845608028654 * (x + 0.044715 * x ** 3))
        # (of swiglu / geglu only output 0 -- f(gate) * up, d_gate = up * f'(gate) --
        # is scaled by |up|; d_up is f(gate). One rounding at the end
        # (scaled_product): |grad_output| * |up| may overflow, or a subnormal ULP
        # times |grad_output| underflow, where the floor itself does not.)
        gated = case.info.kind == "gated" and case.name != "glu"
        subs = []
        for k in range(len(tol_exp)):
            more = [tol_arrays[-1]] if gated and k == 0 else []
            sub = np.broadcast_to(scaled_product(4 * (np.minimum(mag, 1e5) + 2), 5e-324,
                                                 *factors, *more), x.shape)
            subs.append(np.where(np.isfinite(sub), sub, 0.0))
        floors = [np.maximum(f, sub) if np.shape(e) == x.shape else f
                  for f, e, sub in zip(floors, tol_exp, subs)]
    for k, (g, e) in enumerate(zip(tol_got, tol_exp)):
        g = np.asarray(g)
        assert g.shape == e.shape, f"{label}: output {k} shape {g.shape} != {e.shape}"
        assert g.dtype == rdtype, f"{label}: output {k} dtype {g.dtype} != {rdtype}"
        ok, ulps = compare(g, e, rdtype, limit, slacks[k], floors[k])
        if not ok.all():
            ok = ok | _inf_times_tiny(case, spec["params"], k, tol_arrays, g, ok)
        if not ok.all():
            bad = np.flatnonzero(~ok.ravel())
            i = bad[np.argmax(ulps.ravel()[bad])]
            xs = [a.ravel()[i] if a.size == g.size else "..." for a in tol_arrays]
            raise AssertionError(
                f"{label}: output {k}: {bad.size}/{ok.size} elements off; worst at flat "
                f"index {i}: inputs {xs}, expected {e.ravel()[i]!r}, got {g.ravel()[i]!r} "
                f"({ulps.ravel()[i]:.3g} ULP)")
    return "ok"


def _exact_factor_products(case, params, k, args):
    """The results an infinite argument times a tiny factor may have, or None.

    ``args``: the float64 values of the positional arguments at one element.
    Where an argument is +-inf and the other factor of the product is a tiny
    nonzero number (silu'(-745.56) = -2.4e-321, gelu_tanh(-21.54) = -4.8e-324),
    fastact.reference's factor may underflow to 0 where the kernel's does not
    (or the converse at the rounding edge), so that one gives inf * 0 = NaN and
    the other +-inf. Both are the IEEE product of the infinite argument and the
    finite factor rounded to double (the kernels' contract: float32 too computes
    f and f' in double; tests/test_fuzz.py test_regression_float32_inf_grad):
    here that factor is computed exactly (fastact._accuracy.mpref) and rounded, and near
    0 (within SPEC 5's 4 ULP of a subnormal) a zero or a smallest subnormal is
    accepted for it too (below). Elementwise backward (grad_output * f'(x)) and swiglu / geglu
    (f(gate) * up, the derivatives up * f'(gate) and f(gate), the backward
    grad_output * (up * f'(gate)) and grad_output * f(gate), in that order).
    """
    from fastact._accuracy import mpref
    from mpmath import mp, mpf
    name, mode = case.name, case.mode
    gated = name in ("swiglu", "geglu")
    if gated:
        fname = "silu" if name == "swiglu" else "gelu"
        x = args[1] if mode == "backward" else args[0]
    elif name in mpref.FORWARD and mode == "backward":
        fname, x = name, args[1]
    else:
        return None
    if not math.isfinite(x) or all(math.isfinite(a) for a in args):
        return None
    fparams = {n: v for n, v in params.items() if n in mpref.PARAMS.get(fname, {})}
    table = mpref.DERIVATIVE if (mode != "forward" and k == 0) else mpref.FORWARD
    exact = table[fname](x, **fparams)
    # the finite factor: f or f', or up * f'(gate) when up is finite (gated backward)
    up = args[2] if gated and mode == "backward" and k == 0 else None
    if up is not None and math.isfinite(up):
        with mp.workdps(mpref.DPS):
            exact = exact * mpf(up)
        up = None  # folded into the factor
    # SPEC 5 allows the factor 4 ULP, floored at the smallest subnormal: a zero for
    # an exact |factor| <= 4 subnormal ULP (NaN), a nonzero one (+-inf) for a
    # factor that rounds to 0 only at the edge (>= a quarter of the smallest
    # subnormal) -- not for silu'(-800) = -1e-345, whose product is NaN
    factors = [float(exact)]
    sign = -1.0 if exact < 0 else 1.0
    if abs(exact) <= 4 * 5e-324:
        factors.append(math.copysign(0.0, sign))
    if abs(exact) >= mpf(5e-324) / 4:  # (5e-324 / 4 is 0.0 in float64)
        factors.append(sign * 5e-324)
    results = []
    with np.errstate(all="ignore"):
        for f in map(np.float64, factors):
            if gated and mode == "backward" and k == 0:
                r = args[0] * (f if up is None else np.float64(up) * f)
            elif gated and mode != "backward":
                r = f * args[1] if k == 0 else f
            else:
                r = args[0] * f  # grad_output * f'(x), grad_output * f(gate)
            results.append(np.float64(r))
    return results


def _inf_times_tiny(case, params, k, arrays64, got, ok, max_checked=64):
    """Mask of the failing elements whose NaN / +-inf is an infinite argument times
    a tiny factor rounded to double (``_exact_factor_products``)."""
    accepted = np.zeros(got.shape, bool)
    bad = np.flatnonzero(~ok.ravel())
    if bad.size > max_checked or case.name == "glu":  # (no such factor; x is 2x got)
        return accepted
    flat = accepted.reshape(-1)
    for i in bad:
        c = float(got.ravel()[i])
        if math.isfinite(c):
            continue
        args = [float(np.broadcast_to(a, got.shape).ravel()[i]) for a in arrays64]
        results = _exact_factor_products(case, params, k, args)
        if results is None:
            continue
        flat[i] = any((math.isnan(c) and np.isnan(r)) or c == r for r in results)
    return accepted


def _rrelu_float32_slopes(case, arrays64, kwargs, expected):
    """rrelu in training with a float32 result draws its slopes in float32 (as
    PyTorch draws its noise in the input's dtype; fastact.rrelu's docstring),
    fastact.reference in float64. Rounded to float32, a draw in float32's
    normal range keeps its relative accuracy, but one below it does not: it
    becomes a subnormal (-9.1e-46 -> -1.4e-45) or +-0. There the expected value
    is the reference's with the slope the kernel gets, the rounded draw (0.0 for
    +-0: rrelu(-inf) = -0.0, not +-inf; g * 0 in the backward)."""
    draws = reference._rrelu_slopes(arrays64[-1], kwargs.get("lower", 1 / 8),
                                    kwargs.get("upper", 1 / 3), True, kwargs["generator"])
    rounded = draws.astype(np.float32)
    lost = (rounded != draws) & (np.abs(rounded) < np.finfo(np.float32).tiny)
    expected = list(expected)
    for slope in np.unique(rounded[lost]):
        fixed = dict(kwargs, lower=float(slope) + 0.0, upper=float(slope) + 0.0)
        at_slope = as_tuple(case.function(reference)(*arrays64, **fixed))
        where = lost & (rounded == slope)
        expected = [np.where(where, z, e) for z, e in zip(at_slope, expected)]
    return tuple(expected)


def _with_params(case, params):
    from cases import Case
    params = dict(params)
    if case.name == "swish" and params.get("beta") == 0:
        # helpers_layout.derivative_zeros divides by beta; swish(beta=0) = x/2 has
        # a constant derivative and no zero: any tiny beta gives the same tolerance
        params["beta"] = 1e-300
    return Case(case.name, case.mode, params)


# ---------------------------------------------------------------- the hypothesis target

FUZZ_SETTINGS = dict(deadline=None, database=None, print_blob=True,
                     phases=[Phase.generate, Phase.shrink],
                     suppress_health_check=list(HealthCheck))


def fuzz_batch(examples, stats=None, seed_value=None):
    """One hypothesis run of ``examples`` specs (raises on the first, shrunk, failure).

    With seed_value the batch draws the same specs every time it runs.
    """

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @seed(seed_value)
    @given(spec=specs())
    def target(spec):
        try:
            outcome = run_spec(spec)
        except AssertionError:
            raise
        except Exception as e:  # anything but the documented exceptions of a bad call
            raise AssertionError(f"{type(e).__name__}: {e}\nspec={spec!r}") from e
        if stats is not None:
            stats[outcome] = stats.get(outcome, 0) + 1

    target()


def fuzz_for(seconds, examples=BATCH_EXAMPLES, progress=None, first_seed=None):
    """Batches until ``seconds`` have passed; returns the counts of ok / error calls.

    With first_seed, batch k draws with seed first_seed + k (replayable);
    without, fresh specs every time.
    """
    stats = {}
    start = time.monotonic()
    batches = 0
    while True:
        fuzz_batch(examples, stats, None if first_seed is None else first_seed + batches)
        batches += 1
        elapsed = time.monotonic() - start
        if progress:
            progress(batches, elapsed, stats)
        if elapsed >= seconds:
            return stats


def test_fuzz_every_entry_point():
    stats = {}
    for k in range(FUZZ_BATCHES):
        fuzz_batch(BATCH_EXAMPLES, stats, FUZZ_FIRST_SEED + k)
    print(f"fuzz: {stats} in {FUZZ_BATCHES} batches")
    assert stats.get("ok", 0) > 0 and stats.get("error", 0) > 0


# ---------------------------------------------------------------- regressions
# Library bugs the fuzzer found, fixed since; each test pins the fix.


def test_regression_glu_backward_overflow():
    """Fixed: glu_backward's d/db = grad_output * a * sigmoid'(b) was NaN for finite
    inputs (grad_output * a overflowed to inf, sigmoid'(b) underflowed to 0); the
    kernel now multiplies a * sigmoid'(b) first, so the result is the true 0."""
    x, g = np.array([1e300, -1e300]), np.array([1e10])
    got = fa.glu_backward(g, x)
    assert not np.isnan(got).any(), f"glu_backward({g}, {x}) = {got}, " \
        f"reference {reference.glu_backward(g, x)}"


@pytest.mark.parametrize("name", ["swiglu_backward", "geglu_backward"])
def test_regression_gated_backward_overflow(name):
    """Fixed: grad_gate = grad_output * up * f'(gate) was NaN for finite float64 inputs
    with |grad_output * up| > DBL_MAX and f'(gate) == 0 in double (inf * 0; SPEC 4:
    NaN only from NaN, or where PyTorch gives NaN); the kernel now computes
    grad_output * (up * f'(gate)), as fastact.reference does (-0.0 / 0.0)."""
    g, gate, up = np.array([-1e300]), np.array([-1e300]), np.array([-3e38])
    grad_gate, grad_up = getattr(fa, name)(g, gate, up)
    expected = getattr(reference, name)(g, gate, up)
    assert not np.isnan(grad_gate).any(), f"{name}({g}, {gate}, {up}) = {grad_gate}, " \
        f"reference {expected[0]}"


@pytest.mark.parametrize("name, x", [("silu", -800.0), ("swish", -800.0), ("gelu", -40.0),
                                     ("mish", -800.0), ("elu", -800.0), ("selu", -800.0),
                                     ("softplus", -800.0)])
def test_regression_float32_inf_grad(name, x):
    """Fixed: float32 backward with grad_output = -inf where f'(x) is 0 (float32 and
    double) gave -inf; float64, PyTorch and the README's rule (IEEE grad_output *
    f'(x): inf * 0 = NaN) give NaN, and now float32 does too."""
    g = np.array([-np.inf])
    xs = np.array([x])
    d32 = getattr(fa, name + "_derivative")(xs.astype(np.float32))
    assert d32[0] == 0
    b64 = getattr(fa, name + "_backward")(g, xs)
    b32 = getattr(fa, name + "_backward")(g.astype(np.float32), xs.astype(np.float32))
    assert np.isnan(b64[0])
    assert np.isnan(b32[0]), f"{name}_backward(-inf, {x}) float32 = {b32[0]}, float64 = {b64[0]}"


@pytest.mark.parametrize("name", ["swiglu", "geglu"])
def test_regression_float32_gated_inf(name):
    """Fixed: float32 swiglu / geglu(gate=-inf, up=inf) gave -inf; f(-inf) = -0.0, so
    f(gate) * up is -0.0 * inf = NaN, as fastact gives in float64."""
    gate, up = np.array([-np.inf]), np.array([np.inf])
    y64 = getattr(fa, name)(gate, up)
    y32 = getattr(fa, name)(gate.astype(np.float32), up.astype(np.float32))
    assert np.isnan(y64[0])
    assert np.isnan(y32[0]), f"{name}(-inf, inf): float32 {y32[0]}, float64 {y64[0]}"


@pytest.mark.parametrize("mode", ["", "_derivative", "_backward"])
def test_regression_swish_beta0_inf(mode):
    """Fixed: swish / swish_derivative / swish_backward with beta=0 (valid: swish = x/2,
    tests/test_errors.py) gave NaN at x = +-inf (0 * inf inside sigmoid(beta*x));
    they now give +-inf, 0.5 and grad_output * 0.5, as the reference."""
    x = np.array([-np.inf, np.inf])
    args = (np.ones(2), x) if mode == "_backward" else (x,)
    got = getattr(fa, "swish" + mode)(*args, beta=0.0)
    expected = getattr(reference, "swish" + mode)(*args, beta=0.0)
    np.testing.assert_array_equal(got, expected)


def test_regression_float32_glu_inf():
    """Fixed: float32 glu([inf, -inf]) gave inf; a * sigmoid(b) with a = inf, b = -inf
    is inf * 0 = NaN, as fastact gives in float64."""
    x = np.array([np.inf, -np.inf])
    assert np.isnan(fa.glu(x)[0])
    assert np.isnan(fa.glu(x.astype(np.float32))[0]), fa.glu(x.astype(np.float32))


@pytest.mark.parametrize("gate", [-np.inf, -1e30, -21.0])
def test_regression_float32_geglu_gate_clamp(gate):
    """Fixed: float32 geglu_backward clamped gate at about -19.9, so grad_gate was
    grad_output * up * gelu'(-19.9...) for lower gates (and -inf): with
    |grad_output * up| > ~1e40 a wrong finite value, e.g. geglu_backward(-3e38,
    -inf, -3e38) = -9.91e-10 (true 0). Now within 4 ULP of the float64 result."""
    args = [np.array([-3e38]), np.array([gate]), np.array([-3e38])]
    expected = reference.geglu_backward(*args)[0].astype(np.float32)
    got = fa.geglu_backward(*[a.astype(np.float32) for a in args])[0]
    assert abs(float(got[0]) - float(expected[0])) <= 4 * float(
        np.spacing(np.abs(expected[0]))), f"geglu_backward(-3e38, {gate}, -3e38) float32 " \
        f"grad_gate = {got[0]}, expected {expected[0]}"


@pytest.mark.parametrize("float32_arg", [0, 1])
def test_regression_rrelu_mixed_dtype_slopes(float32_arg):
    """Fixed: rrelu_backward(training=True) with one float32 and one float64 argument
    has a float64 result, but its random slopes were rounded to float32 first
    (relative error ~3e-8, ~1e8 ULP of float64); now within 4 ULP."""
    args = [np.array([0.1049, 0.1049]), np.array([-0.00132, -0.5])]
    args[float32_arg] = args[float32_arg].astype(np.float32)
    got = fa.rrelu_backward(*args, training=True, generator=0)
    expected = reference.rrelu_backward(*[a.astype(np.float64) for a in args], training=True,
                                        generator=0)
    assert got.dtype == np.float64
    assert np.all(np.abs(got - expected) <= 4 * np.spacing(np.abs(expected))), \
        f"{got!r} vs {expected!r}"


def test_regression_float32_glu_underflow():
    """Fixed: float32 glu_backward rounded sigmoid'(b) to float32 before the product
    with a and grad_output: glu_backward(1e30, [-140, 104.9]) gave -0.0 for d/db,
    true -3.88e-14. SPEC 5: <= 4 ULP."""
    x = np.array([-140.0, 104.9], np.float32)
    g = np.array([1e30], np.float32)
    expected = reference.glu_backward(g.astype(float), x.astype(float))[1]
    got = float(fa.glu_backward(g, x)[1])
    assert abs(got - expected) <= 4 * float(np.spacing(np.float32(abs(expected)))), \
        f"float32 glu_backward(1e30, [-140, 104.9])[1] = {got}, expected {expected}"


@pytest.mark.parametrize("g, x", [(100.0, -46.36016), (1e10, -50.0), (1e30, -60.0)])
def test_regression_float32_tanh_backward_underflow(g, x):
    """Fixed: float32 tanh_backward rounded tanh'(x) to float32 (subnormal or 0 for
    |x| > ~44) before multiplying by grad_output: tanh_backward(100, -46.36) was 200
    ULP off, (1e30, -60) gave 0 (true 3.07e-22). SPEC 5: backward <= 4 ULP."""
    g32, x32 = np.array([g], np.float32), np.array([x], np.float32)
    expected = reference.tanh_backward(g32.astype(float), x32.astype(float))[0]
    got = float(fa.tanh_backward(g32, x32)[0])
    ulp = float(np.spacing(np.float32(abs(expected))))
    assert abs(got - expected) <= 4 * ulp, \
        f"float32 tanh_backward({g}, {x}) = {got}, expected {expected} " \
        f"({abs(got - expected) / ulp:.3g} ULP)"


@pytest.mark.parametrize("spec", [
    # hand-picked specs the strategy can reach, kept as regressions
    {"case": "softmax.backward", "invalid": [], "dtype": "float32", "shape": [3, 5],
     "axis": 0, "layouts": [{"steps": [-2, 1, 1], "transpose": True, "offset": 1}] * 2,
     "seed": 1, "scale": 3.0, "specials": 0.0, "params": {}, "threads": 2,
     "out": "overlap", "out_arg": 1},
    {"case": "geglu.backward", "invalid": [], "dtype": "int32", "shape": [4, 3],
     "layouts": [{"steps": [2, -1, 1], "transpose": False, "offset": 3}] * 3,
     "seed": 2, "scale": 30.0, "specials": 0.0, "params": {"approximate": "tanh"},
     "threads": 1, "out": "inplace", "out_arg": 0},
    # the reference summed a row along a non-last axis one term after another
    # (reference._row_sum): softmax over int8 columns of 1639, reference 228 ULP off
    {"case": "softmax.forward", "invalid": [], "dtype": "int8", "shape": [2, 1639],
     "axis": 0, "layouts": [{"steps": [1, 1, 1], "transpose": False, "offset": 0}],
     "seed": 0, "scale": 1.0, "specials": 0.0, "params": {"temperature": 2.25},
     "threads": 1, "out": "none", "out_arg": 0},
    # a Jacobian's out= overlapping y
    {"case": "log_softmax.derivative", "invalid": [], "dtype": "float64", "shape": [3, 5],
     "axis": 0, "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}],
     "seed": 3, "scale": 3.0, "specials": 0.0, "params": {}, "threads": 2,
     "out": "overlap", "out_arg": 0},
    # the tolerance missed libm's erfc error inside the reference's Phi
    # (helpers_layout.REF64_ERFC_ULP): geglu(-1.7402, -0.04578) reference 4.04 ULP off
    {"case": "geglu.forward[approximate=tanh]", "invalid": [], "dtype": "float64",
     "shape": [8191], "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}] * 2,
     "seed": 1, "scale": 3.0, "specials": 0.0, "params": {"approximate": "none"},
     "threads": 1, "out": "none", "out_arg": 0},
    # the reference's glu was -0.0 where sigmoid(b) underflows and a * sigmoid(b)
    # does not: glu(a=-1e300, b=-1245.9) = -8.09e-242
    {"case": "glu.forward", "invalid": [], "dtype": "float64", "shape": [1, 2, 4],
     "axis": 0, "layouts": [{"steps": [1, 1, 1, 1], "transpose": False, "offset": 0}],
     "seed": 0, "scale": 1000.0, "specials": 0.5, "params": {}, "threads": 1,
     "out": "none", "out_arg": 0},
    # ... and glu_backward's g * sigmoid(b): glu_backward(1e300, [282.07, -1180.48])
    {"case": "glu.backward", "invalid": [], "dtype": "float64", "shape": [4097],
     "axis": 0, "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}] * 2,
     "seed": 0, "scale": 1000.0, "specials": 0.05, "params": {}, "threads": 1,
     "out": "none", "out_arg": 0},
    # ... and its g * a * sigmoid'(b) where g * a overflows and a * sigmoid'(b)
    # underflows: glu_backward(1e300, [3e38, -1402.46]) = 2.5e-271
    {"case": "glu.backward", "invalid": [], "dtype": "float64", "shape": [4096],
     "axis": 0, "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}] * 2,
     "seed": 0, "scale": 1000.0, "specials": 0.5, "params": {}, "threads": 1,
     "out": "none", "out_arg": 0},
    # rrelu's float32 slopes: a draw below float32's smallest subnormal is -0.0
    # (rrelu(-inf) = -0.0), the reference's float64 one is not (+inf)
    {"case": "rrelu.forward[training=True,generator=1234]", "invalid": [],
     "dtype": "float32", "dtype_of_arg": [0, "float32"], "shape": [8191],
     "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}], "seed": 0,
     "scale": 0.01, "specials": 0.05,
     "params": {"training": True, "generator": 1234, "lower": -2.9491047007860794e-152,
                "upper": 0.0}, "threads": 1, "out": "none", "out_arg": 0},
    # ... and a draw that becomes a float32 subnormal: -9.06e-46 is -1.4e-45 for
    # the kernel, -7.1 * a 1e-44 (the float64 draw's product: 6.4e-45)
    {"case": "rrelu.forward[training=True,generator=1234]", "invalid": [],
     "dtype": "float32", "dtype_of_arg": [0, "float32"], "shape": [4, 6, 6],
     "layouts": [{"steps": [1, 1, 1, 1], "transpose": False, "offset": 0}], "seed": 0,
     "scale": 3.0, "specials": 0.0,
     "params": {"training": True, "generator": 1234, "lower": -9.062107464706124e-46,
                "upper": 0.0}, "threads": 1, "out": "none", "out_arg": 0},
    # float64 softplus with a threshold above 700 took its subnormal branch for
    # beta*x > 700 too: softplus(700.74, threshold=701) gave 1e-304
    {"case": "softplus.forward", "invalid": [], "dtype": "float64", "shape": [8191],
     "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}], "seed": 0,
     "scale": 1000.0, "specials": 0.0, "params": {"threshold": 701.0}, "threads": 1,
     "out": "none", "out_arg": 0},
    # the check of inf * tiny factors broadcast glu's g against x (twice its size)
    {"case": "glu.backward", "invalid": [], "dtype": "float32", "shape": [4096],
     "axis": 0, "layouts": [{"steps": [1, 1], "transpose": False, "offset": 0}] * 2,
     "seed": 0, "scale": 1000.0, "specials": 0.5, "params": {}, "threads": 1,
     "out": "none", "out_arg": 0},
])
def test_fuzz_regressions(spec):
    run_spec(spec)


def test_regression_reference_glu_deep_tail():
    """Fixed in fastact.reference (the kernels were right): glu, glu_derivative and
    glu_backward multiplied a (or grad_output) by sigmoid(b) or sigmoid'(b) after it
    had underflowed to 0 or lost its bits as a subnormal, so glu(1e300, -1245.9) was
    0 (true 8.2e-242). Now within 3 ULP of mpmath, as the kernels."""
    import mpmath as mp
    mp.mp.dps = 50
    a = np.array([1e300, -1e300, 1e300, 1e300, 3e200, -1e-300, 282.07, 3e38, 1e308])
    b = np.array([-1245.9, -1400.0, 1245.9, -720.0, -740.0, -5.0, -1180.48, -1402.46, 1500.0])
    g = np.array([1e10, 1e-10, -1e5, 1.0, 1e100, 1.0, 1e300, 1e300, -1e308])
    x = np.stack([a, b], axis=-1)

    def sig(t):
        return 1 / (1 + mp.exp(-mp.mpf(t)))

    exact = {
        "glu": [mp.mpf(ai) * sig(bi) for ai, bi in zip(a, b)],
        "glu_derivative": [mp.mpf(ai) * sig(bi) * sig(-bi) for ai, bi in zip(a, b)],
        "glu_backward": [mp.mpf(gi) * mp.mpf(ai) * sig(bi) * sig(-bi)
                         for gi, ai, bi in zip(g, a, b)],
        "glu_backward grad_a": [mp.mpf(gi) * sig(bi) for gi, bi in zip(g, b)],
    }
    results = {
        "glu": (reference.glu(x)[:, 0], fa.glu(x)[:, 0]),
        "glu_derivative": (reference.glu_derivative(x)[:, 1], fa.glu_derivative(x)[:, 1]),
        "glu_backward": (reference.glu_backward(g[:, None], x)[:, 1],
                         fa.glu_backward(g[:, None], x)[:, 1]),
        "glu_backward grad_a": (reference.glu_backward(g[:, None], x)[:, 0],
                                fa.glu_backward(g[:, None], x)[:, 0]),
    }
    for name, pair in results.items():
        for label, got in zip(("reference", "kernel"), pair):
            for value, want in zip(got, exact[name]):
                ulp = mp.mpf(float(np.spacing(abs(float(want)))))
                err = abs(mp.mpf(float(value)) - want) / ulp
                assert err <= 3, f"{label} {name}: {value!r}, exact {mp.nstr(want, 17)} " \
                                 f"({float(err):.3g} ULP)"
