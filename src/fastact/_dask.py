"""Dask support: fastact's public functions on dask arrays, lazily.

The compiled public functions send an argument here only when it is not an
ndarray and its type comes from a ``dask`` module, so NumPy callers never pay
for this module (nor import dask). Each function builds a dask graph that calls
the SAME fastact function on every block:

* elementwise functions (and swiglu/geglu): blockwise on the arguments
  broadcast together and rechunked to common chunks;
* prelu: blockwise, the weight chunked like x along ``axis`` so that every
  block gets its channels' slopes;
* softmax / log_softmax and their backward: ``axis`` rechunked to one chunk,
  so that no row is split over blocks;
* glu and glu_backward: ``axis`` rechunked to one chunk, so both halves of a
  row are in the same block;
* functions with two results return a pair of dask arrays that share one
  task per block.

Parameters are checked and the result dtype found at once, by calling the
function on empty (or tiny, zero-strided) arrays of the arguments' dtypes, so
a bad argument raises when the graph is built, not when it is computed.
``out=`` cannot be honoured lazily and raises TypeError.

rrelu in training mode draws its slopes per block from a generator seeded by
(one seed drawn from ``generator``, block index): reproducible from a seed and
the same in rrelu, rrelu_derivative and rrelu_backward for the same seed and
chunks, but not the same draws as the in-memory call makes.
"""
import operator

import numpy as np
import dask.array as da

__all__ = ["dispatch"]


def _check_out(out, name):
    if out is not None:
        raise TypeError(f"{name}: out= is not supported for dask arrays (the result "
                        "is a lazy dask array); store it with dask instead")


def _is_arraylike(a):
    return isinstance(a, da.Array) or (np.ndim(a) > 0) or isinstance(a, np.ndarray)


def _as_dask(a, name):
    """A dask array for an array argument; Python/NumPy scalars are left as they are."""
    if isinstance(a, da.Array):
        return a
    if type(a).__module__.startswith("dask"):
        raise TypeError(f"fastact accepts dask arrays, not {type(a).__name__}; "
                        "convert it with .to_dask_array() first")
    if isinstance(a, (float, int, bool, np.generic)) or (np.ndim(a) == 0):
        return a
    return da.asarray(a)


def _empty_like(a, shape=(0,)):
    """A tiny stand-in of a's dtype (scalars are passed as themselves)."""
    if isinstance(a, da.Array):
        return np.empty(shape, dtype=a.dtype)
    return a


def _dtype(result):
    return (result[0] if isinstance(result, tuple) else result).dtype


def _axis(axis, ndim):
    """axis normalized as fastact does (the checks raise fastact's own errors)."""
    try:
        ax = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}") from None
    n = max(ndim, 1)
    if not -n <= ax < n:
        raise ValueError(f"axis={axis} is out of range for an array of {ndim} "
                         f"dimension{'s' if ndim != 1 else ''}")
    return ax % n


def _split(result, n_outputs, dtype, ndim):
    """Two dask arrays from one whose blocks are pairs (one task per block)."""
    if n_outputs == 1:
        return result
    meta = np.empty((0,) * ndim, dtype=dtype)
    return tuple(result.map_blocks(operator.itemgetter(i), dtype=dtype, meta=meta)
                 for i in range(n_outputs))


def _blockwise(func, args, kwargs, n_outputs):
    """func per block of the array arguments broadcast to common chunks."""
    arrays = [a for a in args if isinstance(a, da.Array)]
    result = func(*[_empty_like(a) for a in args], **kwargs)
    dtype = _dtype(result)
    if len(arrays) > 1:
        arrays = da.broadcast_arrays(*arrays)
        arrays = list(da.core.unify_chunks(*sum(
            ([a, tuple(range(a.ndim))] for a in arrays), []))[1])
    it = iter(arrays)
    args = [next(it) if isinstance(a, da.Array) else a for a in args]
    ndim = arrays[0].ndim
    meta = np.empty((0,) * ndim, dtype=dtype)
    out = da.map_blocks(func, *args, dtype=dtype, meta=meta,
                        token=f"fastact-{func.__name__}", **kwargs)
    return _split(out, n_outputs, dtype, ndim)


def elementwise(func, args, kwargs, n_outputs=1):
    _check_out(kwargs.pop("out", None), func.__name__)
    args = [_as_dask(a, "x") for a in args]
    return _blockwise(func, args, kwargs, n_outputs)


def rrelu(func, args, kwargs):
    _check_out(kwargs.pop("out", None), func.__name__)
    args = [_as_dask(a, "x") for a in args]
    generator = kwargs.pop("generator", None)
    if not kwargs.get("training", False):
        return _blockwise(func, args, kwargs, 1)
    # Validate the other parameters now, then seed every block from one draw.
    func(*[_empty_like(a) for a in args], **kwargs)
    if isinstance(generator, np.random.Generator):
        entropy = int(generator.integers(2**63))
    else:
        entropy = np.random.SeedSequence(generator).entropy

    def block(*blocks, block_id=None):
        rng = np.random.default_rng([entropy, *(block_id or ())])
        return func(*blocks, generator=rng, **kwargs)

    block.__name__ = func.__name__
    return _blockwise(block, args, {}, 1)


def prelu(func, args, kwargs):
    """prelu(x, weight) / prelu_backward(grad_output, x, weight)."""
    _check_out(kwargs.pop("out", None), func.__name__)
    *arrays, weight = args
    arrays = [_as_dask(a, "x") for a in arrays]
    x = arrays[-1]
    if not isinstance(x, da.Array):
        x = da.asarray(x)
        arrays[-1] = x
    axis = kwargs.pop("axis", 1)
    w_dtype = weight.dtype if hasattr(weight, "dtype") else np.asarray(weight).dtype
    w_size = int(np.prod(np.shape(weight)))
    if w_size != 1 and x.ndim > 0:
        ax = _axis(axis, x.ndim)
        probe_shape = tuple(n if d == ax else min(n, 1) for d, n in enumerate(x.shape))
    else:
        ax, probe_shape = None, (0,) * x.ndim
    # Validate (weight length, axis, dtypes) and find the dtype on a tiny probe.
    probe = [np.broadcast_to(np.zeros((), a.dtype), probe_shape)
             if isinstance(a, da.Array) else a for a in arrays]
    probe_w = np.zeros(np.shape(weight), dtype=w_dtype)
    dtype = _dtype(func(*probe, probe_w, axis=axis))
    if len(arrays) == 2:
        if isinstance(arrays[0], da.Array) and arrays[0].shape != x.shape:
            raise ValueError(f"grad_output must have x's shape {x.shape}, "
                             f"got {arrays[0].shape}")
        if isinstance(arrays[0], da.Array):
            arrays[0] = arrays[0].rechunk(x.chunks)
    index = tuple(range(x.ndim))
    pairs = []
    for a in arrays:
        pairs += [a, index if isinstance(a, da.Array) else None]
    if ax is None:
        # One slope for everything: the weight goes whole to every block.
        pairs += [np.asarray(weight) if not isinstance(weight, da.Array)
                  else weight.reshape(np.shape(weight)), None if not isinstance(weight, da.Array)
                  else tuple(range(x.ndim, x.ndim + weight.ndim))]
    else:
        w = weight if isinstance(weight, da.Array) else da.asarray(weight)
        pairs += [w.rechunk((x.chunks[ax],)), (ax,)]
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    return da.blockwise(func, index, *pairs, axis=ax if ax is not None else axis,
                        dtype=dtype, meta=meta, concatenate=True,
                        token=f"fastact-{func.__name__}")


def rowwise(func, args, kwargs):
    """softmax/log_softmax (x) and their backward (grad_output, y): rows whole."""
    _check_out(kwargs.pop("out", None), func.__name__)
    args = [_as_dask(a, "x") for a in args]
    arrays = [a for a in args if isinstance(a, da.Array)]
    ndim = arrays[0].ndim
    axis = kwargs.pop("axis", -1)
    ax = _axis(axis, ndim)
    dtype = func(*[_empty_like(a, (1,) * max(ndim, 1)) for a in args], axis=ax,
                 **kwargs).dtype
    if len(args) == 2:
        shapes = [np.shape(a) for a in args]
        if shapes[0] != shapes[1]:
            raise ValueError(f"grad_output and y must have the same shape, got "
                             f"{shapes[0]} and {shapes[1]}")
    if ndim:
        arrays = [a.rechunk({ax: -1}) for a in arrays]
        if len(arrays) == 2:
            arrays[1] = arrays[1].rechunk(arrays[0].chunks)
    it = iter(arrays)
    args = [next(it) if isinstance(a, da.Array) else a for a in args]
    meta = np.empty((0,) * ndim, dtype=dtype)
    return da.map_blocks(func, *args, axis=ax, dtype=dtype, meta=meta,
                         token=f"fastact-{func.__name__}", **kwargs)


def glu(func, args, kwargs):
    """glu(x) and glu_derivative(x): both halves of a row in one block."""
    _check_out(kwargs.pop("out", None), func.__name__)
    (x,) = [_as_dask(a, "x") for a in args]
    axis = kwargs.pop("axis", -1)
    if x.ndim == 0:
        return func(np.zeros(()), axis=axis)  # raises fastact's error
    ax = _axis(axis, x.ndim)
    n = x.shape[ax]
    probe = np.broadcast_to(np.zeros((), x.dtype),
                            tuple(n if d == ax else min(s, 1) for d, s in enumerate(x.shape)))
    dtype = func(probe, axis=ax).dtype  # odd length raises here
    x = x.rechunk({ax: -1})
    chunks = x.chunks
    if func.__name__ == "glu":
        chunks = chunks[:ax] + ((n // 2,),) + chunks[ax + 1:]
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    return da.map_blocks(func, x, axis=ax, chunks=chunks, dtype=dtype, meta=meta,
                         token=f"fastact-{func.__name__}")


def glu_backward(func, args, kwargs):
    """glu_backward(grad_output, x): grad_output chunked like x's halves."""
    _check_out(kwargs.pop("out", None), func.__name__)
    g, x = [_as_dask(a, "x") for a in args]
    if not isinstance(x, da.Array):
        x = da.asarray(x)
    axis = kwargs.pop("axis", -1)
    if x.ndim == 0:
        return func(g, np.zeros(()), axis=axis)  # raises fastact's error
    ax = _axis(axis, x.ndim)
    n = x.shape[ax]
    half = tuple(n // 2 if d == ax else s for d, s in enumerate(x.shape))
    probe_x = np.broadcast_to(np.zeros((), x.dtype),
                              tuple(n if d == ax else min(s, 1)
                                    for d, s in enumerate(x.shape)))
    if n % 2 == 0 and np.shape(g) != half:
        raise ValueError(f"grad_output must have glu's result shape {half}, "
                         f"got {np.shape(g)}")
    probe_g = (np.broadcast_to(np.zeros((), g.dtype), tuple(
        n // 2 if d == ax else min(s, 1) for d, s in enumerate(x.shape)))
        if isinstance(g, da.Array) else g)
    dtype = func(probe_g, probe_x, axis=ax).dtype  # odd length etc. raise here
    x = x.rechunk({ax: -1})
    if not isinstance(g, da.Array):
        g = da.asarray(g)
    g = g.rechunk(x.chunks[:ax] + ((n // 2,),) + x.chunks[ax + 1:])
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    # Same block grid, different lengths along axis: no chunk unification.
    index = tuple(range(x.ndim))
    return da.blockwise(func, index, g, index, x, index, axis=ax, dtype=dtype, meta=meta,
                        align_arrays=False, adjust_chunks={ax: lambda _: n},
                        token=f"fastact-{func.__name__}")


def jacobian(func, args, kwargs):
    """softmax_jacobian / log_softmax_jacobian: (..., n, n) from whole rows."""
    _check_out(kwargs.pop("out", None), func.__name__)
    (y,) = [_as_dask(a, "y") for a in args]
    if not isinstance(y, da.Array):
        y = da.asarray(y)
    axis = kwargs.pop("axis", -1)
    ax = _axis(axis, y.ndim)
    dtype = func(np.zeros((1,) * max(y.ndim, 1), y.dtype), axis=ax, **kwargs).dtype
    if y.ndim == 0:
        y, ax = y.reshape(1), 0
    n = y.shape[ax]
    y = y.rechunk({ax: -1})
    index = tuple(range(y.ndim))
    out_index = tuple(d for d in index if d != ax) + (y.ndim, y.ndim + 1)
    meta = np.empty((0,) * len(out_index), dtype=dtype)
    return da.blockwise(func, out_index, y, index, axis=ax, new_axes={y.ndim: n, y.ndim + 1: n},
                        concatenate=True, dtype=dtype, meta=meta,
                        token=f"fastact-{func.__name__}", **kwargs)


_KINDS = {
    "jacobian": jacobian,
    "elementwise": elementwise,
    "rrelu": rrelu,
    "prelu": prelu,
    "rowwise": rowwise,
    "glu": glu,
    "glu_backward": glu_backward,
}


def dispatch(kind, func, args, kwargs, n_outputs=1):
    """Entry point from the compiled functions: func(*args, **kwargs), lazily."""
    if kind == "elementwise":
        return elementwise(func, args, dict(kwargs), n_outputs)
    return _KINDS[kind](func, args, dict(kwargs))
