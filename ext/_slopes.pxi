# prelu and rrelu: leaky_relu whose slope comes from a learned weight per
# channel (prelu) or is drawn per element (rrelu in training). One slope for
# the whole array runs the leaky_relu loops with the slope as their parameter.
# prelu's per-channel weight is never spread over an array of x's shape (that
# would add a third memory stream to a memory-bound kernel): x is seen as
# (outer, channels, inner) blocks, and each block runs a leaky_relu loop with
# its channel's slope, or, when the channel axis is the last (inner == 1), a
# row of the slope loops with the weight vector itself as the slopes. rrelu's
# drawn slopes are an array of x's shape, run through the slope loops.
# Channels-last rows are short (64 channels: one call per 64 elements would
# cost a quarter of the bandwidth in call overhead), so several rows run as
# one call, against the weight vector repeated to that length (a few KiB that
# stay in L1).

from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef enum:
    # elements per call for channels-last rows (whole rows of the weight)
    CHANNEL_TILE = 4096

cdef enum SlopeMode:
    FORWARD
    DERIVATIVE
    BACKWARD


cdef object _run_slopes(SlopeMode mode, object grad_output, object x, object slope,
                        object out):
    """leaky_relu's forward/derivative/backward with slope a float or an array."""
    cdef double params[1]
    if not cnp.PyArray_Check(slope):
        params[0] = slope
        loops = KERNELS.elementwise[K_LEAKY_RELU]
        if mode == FORWARD:
            return apply(<void**> loops.forward, 1, 1, x, None, None, out, params,
                         ("x",), None, SPAN_CHEAP)
        if mode == DERIVATIVE:
            return apply(<void**> loops.derivative, 1, 1, x, None, None, out, params,
                         ("x",), None, SPAN_CHEAP)
        return apply(<void**> loops.backward, 2, 1, grad_output, x, None, out, params,
                     ("grad_output", "x"), None, SPAN_CHEAP)
    if mode == FORWARD:
        return apply(<void**> KERNELS.slope.forward, 2, 1, x, slope, None, out, params,
                     ("x", "weight"), (x,), SPAN_CHEAP)
    if mode == DERIVATIVE:
        return apply(<void**> KERNELS.slope.derivative, 2, 1, x, slope, None, out,
                     params, ("x", "weight"), (x,), SPAN_CHEAP)
    return apply(<void**> KERNELS.slope.backward, 3, 1, grad_output, x, slope, out,
                 params, ("grad_output", "x", "weight"), (grad_output, x), SPAN_CHEAP)


cdef struct ChannelJob:
    SlopeMode mode
    int dtype
    const char* grad          # backward only
    const char* x
    const char* weight        # one slope per channel, of the dtype
    char* y
    Py_ssize_t channels
    Py_ssize_t inner          # elements per (outer, channel) block
    Py_ssize_t itemsize
    Py_ssize_t n              # elements of x
    Py_ssize_t rows_per_block # inner == 1: rows per call; weight repeats that often
    bint nonzero              # no slope is 0: the forward's plain loops (the same bits)


cdef bint _no_zero_slope(const char* weight, int dtype, Py_ssize_t channels) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(channels):
        if ((<const float*> weight)[c] == 0.0 if dtype == DTYPE_F32
                else (<const double*> weight)[c] == 0.0):
            return False
    return True


cdef void run_channel_block(const ChannelJob* job, Py_ssize_t b) noexcept nogil:
    """Block b: rows_per_block rows of `channels` elements (inner == 1, the
    last block may be shorter), else block b of `inner` elements."""
    cdef Py_ssize_t stride = (job.channels * job.rows_per_block if job.inner == 1
                              else job.inner)
    cdef Py_ssize_t start = b * stride
    cdef Py_ssize_t length = stride if start + stride <= job.n else job.n - start
    cdef Py_ssize_t off = start * job.itemsize
    cdef double slope[1]
    if job.inner == 1:
        if job.mode == FORWARD and job.nonzero:
            KERNELS.slope.forward_nonzero[job.dtype](job.x + off, job.weight, job.y + off,
                                                     length, NULL)
        elif job.mode == FORWARD:
            KERNELS.slope.forward[job.dtype](job.x + off, job.weight, job.y + off,
                                             length, NULL)
        elif job.mode == DERIVATIVE:
            KERNELS.slope.derivative[job.dtype](job.x + off, job.weight, job.y + off,
                                                length, NULL)
        else:
            KERNELS.slope.backward[job.dtype](job.grad + off, job.x + off, job.weight,
                                              job.y + off, length, NULL)
        return
    cdef Py_ssize_t c = b % job.channels
    if job.dtype == DTYPE_F32:
        slope[0] = (<const float*> job.weight)[c]
    else:
        slope[0] = (<const double*> job.weight)[c]
    cdef const ElementwiseLoops* loops = &KERNELS.elementwise[K_LEAKY_RELU]
    if job.mode == FORWARD:
        loops.forward[job.dtype](job.x + off, job.y + off, length, slope)
    elif job.mode == DERIVATIVE:
        loops.derivative[job.dtype](job.x + off, job.y + off, length, slope)
    else:
        loops.backward[job.dtype](job.grad + off, job.x + off, job.y + off, length, slope)


cdef void run_channels(const ChannelJob* job, Py_ssize_t blocks, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t b
    cdef int threads = thread_count()
    if threads < 2 or blocks < 2 or n < 2 * SPAN_CHEAP:
        for b in range(blocks):
            run_channel_block(job, b)
        return
    if threads > blocks:
        threads = <int> blocks
    for b in prange(blocks, num_threads=threads, schedule="static"):
        run_channel_block(job, b)


cdef object _prelu(SlopeMode mode, object grad_output, object x, object weight,
                   object axis, object out):
    cdef cnp.ndarray xa = as_float_array(x, "x")
    cdef cnp.ndarray w = as_float_array(weight, "weight")
    if cnp.PyArray_SIZE(w) == 1:
        # One slope for all of x: axis plays no part (as for a 1-D input in
        # PyTorch, which has no channel axis) and is not checked.
        return _run_slopes(mode, grad_output, x, float(w.reshape(())), out)
    if w.ndim != 1:
        raise ValueError(f"weight must be 1-D, got shape {(<object> w).shape}")
    if xa.ndim == 0:
        raise ValueError(f"weight has {w.shape[0]} elements, but a 0-d x has no axis "
                         "to apply them along; use a weight of one element")
    cdef int ax = normalize_axis(axis, xa.ndim)
    if w.shape[0] != xa.shape[ax]:
        raise ValueError(f"weight has {w.shape[0]} elements but x has {xa.shape[ax]} "
                         f"along axis={axis}; they must match (or weight has 1)")
    cdef int typenum = cnp.PyArray_TYPE(xa)
    cdef cnp.ndarray ga = None
    if mode == BACKWARD:
        ga = as_float_array(grad_output, "grad_output")
        typenum = result_type((grad_output, x), (ga, xa))
        if not same_shape(ga, xa):
            raise ValueError(f"grad_output must have x's shape {(<object> xa).shape}, "
                             f"got {(<object> ga).shape}")
        ga = as_buffer(ga, typenum)
    xa = as_buffer(xa, typenum)
    w = as_buffer(w, typenum)
    inputs = (xa, w) if ga is None else (ga, xa, w)
    result = (cnp.PyArray_EMPTY(xa.ndim, xa.shape, typenum, 0) if out is None
              else check_out(out, xa, typenum))
    cdef cnp.ndarray target = destination(result, inputs)

    cdef ChannelJob job
    job.mode = mode
    job.dtype = _dtype_index(typenum)
    job.grad = NULL if ga is None else <const char*> cnp.PyArray_DATA(ga)
    job.x = <const char*> cnp.PyArray_DATA(xa)
    job.weight = <const char*> cnp.PyArray_DATA(w)
    job.y = <char*> cnp.PyArray_DATA(target)
    job.channels = xa.shape[ax]
    job.nonzero = _no_zero_slope(job.weight, job.dtype, job.channels)
    job.inner = 1
    for d in range(ax + 1, xa.ndim):
        job.inner *= xa.shape[d]
    job.itemsize = cnp.PyArray_ITEMSIZE(xa)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(xa)
    job.n = n
    job.rows_per_block = 1
    cdef Py_ssize_t rows = n // job.channels if job.inner == 1 and n else 0
    cdef Py_ssize_t r
    cdef char* tiled = NULL
    if job.inner == 1 and rows > 1 and job.channels < CHANNEL_TILE // 2:
        job.rows_per_block = min(CHANNEL_TILE // job.channels, rows)
        tiled = <char*> malloc(job.rows_per_block * job.channels * job.itemsize)
        if tiled == NULL:
            raise MemoryError()
        for r in range(job.rows_per_block):
            memcpy(tiled + r * job.channels * job.itemsize, job.weight,
                   job.channels * job.itemsize)
        job.weight = tiled
    cdef Py_ssize_t blocks = 0
    if n:
        blocks = ((rows + job.rows_per_block - 1) // job.rows_per_block if job.inner == 1
                  else n // job.inner)
    try:
        with nogil:
            run_channels(&job, blocks, n)
    finally:
        free(tiled)
    if target is not result:
        cnp.PyArray_CopyInto(result, target)
    return finish(result, (x,) if ga is None else (grad_output, x), out)


def prelu(x, weight, *, axis=1, out=None):
    """PReLU: x if x > 0 else weight[c] * x, with c the index along `axis`.

    weight has one element (one slope for everything; axis is then unused) or
    x.shape[axis] elements, one per channel, as torch.nn.functional.prelu with
    channels on axis 1. The result has x's dtype.
    """
    if (not (cnp.PyArray_Check(x) and cnp.PyArray_Check(weight))
            and (_lazy(x) or _lazy(weight))):
        return _dask("prelu", prelu, (x, weight), dict(axis=axis, out=out))
    return _prelu(FORWARD, None, x, weight, axis, out)


def prelu_derivative(x, weight, *, axis=1, out=None):
    """Derivative of prelu with respect to x: 1 if x > 0 else weight[c]."""
    if (not (cnp.PyArray_Check(x) and cnp.PyArray_Check(weight))
            and (_lazy(x) or _lazy(weight))):
        return _dask("prelu", prelu_derivative, (x, weight), dict(axis=axis, out=out))
    return _prelu(DERIVATIVE, None, x, weight, axis, out)


def prelu_backward(grad_output, x, weight, *, axis=1, out=None):
    """Gradient of prelu with respect to x: grad_output * prelu_derivative(x, weight)."""
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(x) and cnp.PyArray_Check(weight))
            and (_lazy(grad_output) or _lazy(x) or _lazy(weight))):
        return _dask("prelu", prelu_backward, (grad_output, x, weight), dict(axis=axis, out=out))
    return _prelu(BACKWARD, grad_output, x, weight, axis, out)


cdef object _rrelu_slope(object grad_output, object x, object lower_argument,
                         object upper_argument, object training, object generator):
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    cdef double lower = real_parameter(lower_argument, "lower")
    cdef double upper = real_parameter(upper_argument, "upper")
    check_finite(lower, "lower")
    check_finite(upper, "upper")
    if lower > upper:
        raise ValueError(f"lower must not exceed upper, got lower={lower!r}, "
                         f"upper={upper!r}")
    if not training:
        return (lower + upper) / 2
    cdef cnp.ndarray xa = as_float_array(x, "x")
    # lower == upper (0.0 and -0.0 too, which numpy's uniform refuses): one slope.
    draws = (np.full((<object> xa).shape, lower) if lower == upper else
             np.random.default_rng(generator).uniform(lower, upper, size=(<object> xa).shape))
    # In the dtype of the result, as PyTorch draws its noise in the input's
    # dtype (a float64 grad_output makes a float32 x's backward float64).
    cdef int typenum = cnp.PyArray_TYPE(xa)
    if grad_output is not None:
        typenum = result_type((grad_output, x),
                              (as_float_array(grad_output, "grad_output"), xa))
    return draws.astype(cnp.PyArray_DescrFromType(typenum), copy=False)


def rrelu(x, *, lower=1.0 / 8, upper=1.0 / 3, training=False,
          generator=None, out=None):
    """Randomized leaky ReLU: x if x >= 0 else a * x.

    In evaluation (training=False) a = (lower + upper) / 2. In training, a is
    drawn for every element from U(lower, upper) with
    ``numpy.random.default_rng(generator).uniform(lower, upper, size=x.shape)``;
    rrelu_derivative and rrelu_backward draw the same way, so passing the same
    seed (or a Generator in the same state) to all three uses the same slopes.
    """
    if not cnp.PyArray_Check(x) and _lazy(x):
        return _dask("rrelu", rrelu, (x,), dict(lower=lower, upper=upper, training=training,
                                                generator=generator, out=out))
    return _run_slopes(FORWARD, None, x,
                       _rrelu_slope(None, x, lower, upper, training, generator), out)


def rrelu_derivative(x, *, lower=1.0 / 8, upper=1.0 / 3,
                     training=False, generator=None, out=None):
    """Derivative of rrelu: 1 if x > 0 else a (slopes drawn as by rrelu)."""
    if not cnp.PyArray_Check(x) and _lazy(x):
        return _dask("rrelu", rrelu_derivative, (x,), dict(
            lower=lower, upper=upper, training=training, generator=generator, out=out))
    return _run_slopes(DERIVATIVE, None, x,
                       _rrelu_slope(None, x, lower, upper, training, generator), out)


def rrelu_backward(grad_output, x, *, lower=1.0 / 8, upper=1.0 / 3,
                   training=False, generator=None, out=None):
    """grad_output * rrelu_derivative(x) (slopes drawn as by rrelu)."""
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(x))
            and (_lazy(grad_output) or _lazy(x))):
        return _dask("rrelu", rrelu_backward, (grad_output, x), dict(
            lower=lower, upper=upper, training=training, generator=generator, out=out))
    return _run_slopes(BACKWARD, grad_output, x,
                       _rrelu_slope(grad_output, x, lower, upper, training, generator),
                       out)
