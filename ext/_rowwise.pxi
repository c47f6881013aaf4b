# Row-wise functions: softmax and log_softmax along an axis, their backward
# and their Jacobians (from the forward's output). The axis is moved last and
# the rows laid out contiguously; threads split the rows, never a row.

cdef enum RowFunction:
    SOFTMAX
    LOG_SOFTMAX
    SOFTMAX_BACKWARD
    LOG_SOFTMAX_BACKWARD
    SOFTMAX_JACOBIAN
    LOG_SOFTMAX_JACOBIAN


cdef struct RowJob:
    RowFunction function
    int dtype
    const char* a             # x, or grad_output for a backward
    const char* b             # the forward's output y, for a backward
    char* y
    Py_ssize_t n              # row length
    Py_ssize_t row_bytes
    Py_ssize_t out_row_bytes  # row_bytes, or n times it for a Jacobian
    double temperature
    bint zero_masked_rows


cdef void run_row(const RowJob* job, Py_ssize_t r) noexcept nogil:
    cdef Py_ssize_t off = r * job.row_bytes
    if job.function == SOFTMAX_JACOBIAN:
        KERNELS.rows.softmax_jacobian[job.dtype](job.a + off, job.y + r * job.out_row_bytes,
                                                 job.n, job.temperature)
    elif job.function == LOG_SOFTMAX_JACOBIAN:
        KERNELS.rows.log_softmax_jacobian[job.dtype](job.a + off,
                                                     job.y + r * job.out_row_bytes,
                                                     job.n, job.temperature)
    elif job.function == SOFTMAX:
        KERNELS.rows.softmax[job.dtype](job.a + off, job.y + off, job.n,
                                        job.temperature, job.zero_masked_rows)
    elif job.function == LOG_SOFTMAX:
        KERNELS.rows.log_softmax[job.dtype](job.a + off, job.y + off, job.n,
                                            job.temperature, job.zero_masked_rows)
    elif job.function == SOFTMAX_BACKWARD:
        KERNELS.rows.softmax_backward[job.dtype](job.a + off, job.b + off, job.y + off,
                                                 job.n, job.temperature)
    else:
        KERNELS.rows.log_softmax_backward[job.dtype](job.a + off, job.b + off,
                                                     job.y + off, job.n, job.temperature)


cdef inline Py_ssize_t elements_written(const RowJob* job, Py_ssize_t rows) noexcept nogil:
    # rows * n, or rows * n * n for a Jacobian
    return rows * (job.out_row_bytes // job.row_bytes) * job.n


cdef void run_rows(const RowJob* job, Py_ssize_t rows) noexcept nogil:
    cdef Py_ssize_t r
    cdef int threads = thread_count()
    if threads < 2 or rows < 2 or elements_written(job, rows) < ROWS_PARALLEL_MIN:
        for r in range(rows):
            run_row(job, r)
        return
    if threads > rows:
        threads = <int> rows
    for r in prange(rows, num_threads=threads, schedule="static"):
        run_row(job, r)


cdef void run_rows_released(const RowJob* job, Py_ssize_t rows):
    """run_rows, without the GIL from GIL_RELEASE_MIN elements written on."""
    if elements_written(job, rows) >= GIL_RELEASE_MIN:
        with nogil:
            run_rows(job, rows)
    else:
        run_rows(job, rows)


cdef void run_row_function(RowFunction function, int typenum, cnp.ndarray a,
                           cnp.ndarray b, cnp.ndarray target, double temperature,
                           bint zero_masked_rows):
    """function over the rows of a (b: the forward's output y for a backward,
    else a) into target, all C-contiguous buffers of typenum; a's last axis
    is the row."""
    cdef Py_ssize_t n = a.shape[a.ndim - 1]
    cdef bint jacobian = function == SOFTMAX_JACOBIAN or function == LOG_SOFTMAX_JACOBIAN
    cdef RowJob job
    job.function = function
    job.dtype = _dtype_index(typenum)
    job.a = <const char*> cnp.PyArray_DATA(a)
    job.b = <const char*> cnp.PyArray_DATA(b)
    job.y = <char*> cnp.PyArray_DATA(target)
    job.n = n
    job.row_bytes = n * cnp.PyArray_ITEMSIZE(a)
    job.out_row_bytes = n * job.row_bytes if jacobian else job.row_bytes
    job.temperature = temperature
    job.zero_masked_rows = zero_masked_rows
    run_rows_released(&job, cnp.PyArray_SIZE(a) // n)


cdef double check_temperature(object temperature) except? -1.0:
    cdef double t = real_parameter(temperature, "temperature")
    if not (isfinite(t) and t > 0):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}")
    return t


cdef inline object _axis_last(cnp.ndarray a, int ax):
    return a if ax == a.ndim - 1 else np.moveaxis(a, ax, -1)


cdef object _rowwise(RowFunction function, object x, object y, object axis,
                     object temperature_argument, bint zero_masked_rows, object out):
    """Run a row function along axis. x is the input (forward) or grad_output."""
    cdef double temperature = check_temperature(temperature_argument)
    cdef bint backward = function == SOFTMAX_BACKWARD or function == LOG_SOFTMAX_BACKWARD
    cdef cnp.ndarray xa = as_float_array(x, "grad_output" if backward else "x")
    cdef cnp.ndarray ya
    cdef int typenum = cnp.PyArray_TYPE(xa)
    if backward:
        ya = as_float_array(y, "y")
        typenum = result_type((x, y), (xa, ya))
        if not same_shape(xa, ya):
            raise ValueError(f"grad_output and y must have the same shape, got "
                             f"{(<object> xa).shape} and {(<object> ya).shape}")
    # A 0-d array is one row of one element.
    cdef int ax = normalize_axis(axis, max(xa.ndim, 1))
    if out is None:
        result = cnp.PyArray_EMPTY(xa.ndim, xa.shape, typenum, 0)
    else:
        result = check_out(out, xa, typenum)
    if xa.ndim == 0:
        xa = xa.reshape(1)
        ya = ya.reshape(1) if backward else None
        rows_out = result.reshape(1)
    else:
        rows_out = _axis_last(result, ax)
    cdef cnp.ndarray a = as_buffer(_axis_last(xa, ax), typenum)
    cdef cnp.ndarray b = as_buffer(_axis_last(ya, ax), typenum) if backward else a
    cdef Py_ssize_t n = a.shape[a.ndim - 1]
    if n == 0 or cnp.PyArray_SIZE(a) == 0:
        return result
    cdef cnp.ndarray target = destination(rows_out, (a, b))
    run_row_function(function, typenum, a, b, target, temperature, zero_masked_rows)
    if target is not rows_out:
        cnp.PyArray_CopyInto(rows_out, target)
    return finish(result, (x, y), out)


cdef bint _zero_masked(object masked_rows) except -1:
    if masked_rows == "nan":
        return False
    if masked_rows == "zero":
        return True
    raise ValueError(f"masked_rows must be 'nan' or 'zero', got {masked_rows!r}")


def softmax(x, axis=-1, *, temperature=1.0, masked_rows="nan", out=None):
    """Softmax of x / temperature along axis, numerically stable.

    A row of all -inf (fully masked) gives NaN, as in PyTorch and SciPy, or
    zeros with masked_rows='zero'. A +inf in a row gives NaN, as in PyTorch.
    """
    if not cnp.PyArray_Check(x) and _lazy(x):
        return _dask("rowwise", softmax, (x,), dict(axis=axis, temperature=temperature,
                                                    masked_rows=masked_rows, out=out))
    return _rowwise(SOFTMAX, x, None, axis, temperature, _zero_masked(masked_rows), out)


def log_softmax(x, axis=-1, *, temperature=1.0, out=None):
    """log(softmax(x / temperature)) along axis, without forming the softmax."""
    if not cnp.PyArray_Check(x) and _lazy(x):
        return _dask("rowwise", log_softmax, (x,), dict(axis=axis, temperature=temperature,
                                                        out=out))
    return _rowwise(LOG_SOFTMAX, x, None, axis, temperature, False, out)


def softmax_backward(grad_output, y, axis=-1, *, temperature=1.0, out=None):
    """Gradient of softmax from its OUTPUT y: y * (g - sum(g * y)) / temperature."""
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(y))
            and (_lazy(grad_output) or _lazy(y))):
        return _dask("rowwise", softmax_backward, (grad_output, y),
                     dict(axis=axis, temperature=temperature, out=out))
    return _rowwise(SOFTMAX_BACKWARD, grad_output, y, axis, temperature, False, out)


def log_softmax_backward(grad_output, y, axis=-1, *, temperature=1.0, out=None):
    """Gradient of log_softmax from its OUTPUT y: (g - exp(y) * sum(g)) / temperature."""
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(y))
            and (_lazy(grad_output) or _lazy(y))):
        return _dask("rowwise", log_softmax_backward, (grad_output, y),
                     dict(axis=axis, temperature=temperature, out=out))
    return _rowwise(LOG_SOFTMAX_BACKWARD, grad_output, y, axis, temperature, False,
                    out)


cdef object _jacobian(object y, object axis, object temperature_argument,
                      bint log_softmax, object out):
    cdef double temperature = check_temperature(temperature_argument)
    cdef cnp.ndarray ya = as_float_array(y, "y")
    cdef int ax = normalize_axis(axis, max(ya.ndim, 1))
    cdef int typenum = cnp.PyArray_TYPE(ya)
    cdef cnp.ndarray rows = as_buffer(_axis_last(ya.reshape(1) if ya.ndim == 0 else ya, ax),
                                      typenum)
    cdef int d, nd = rows.ndim
    cdef Py_ssize_t n = rows.shape[nd - 1]
    cdef cnp.npy_intp dims[cnp.NPY_MAXDIMS]
    if nd + 1 > cnp.NPY_MAXDIMS:
        raise ValueError(f"y has {nd} dimensions; its Jacobian's {nd + 1} are more "
                         f"than NumPy's maximum of {cnp.NPY_MAXDIMS}")
    for d in range(nd):
        dims[d] = rows.shape[d]
    dims[nd] = n
    cdef cnp.ndarray result
    if out is None:
        result = cnp.PyArray_EMPTY(nd + 1, dims, typenum, 0)
    else:
        result = check_out_shape(out, nd + 1, dims, typenum)
    if n == 0 or cnp.PyArray_SIZE(rows) == 0:
        return result
    # The loop writes C-ordered n x n blocks: into out itself when it is
    # such a buffer and shares no memory with y (not even an alias of y's
    # start, which the other row functions may write in place), else into a
    # temporary.
    cdef cnp.ndarray target = result
    if not _usable_buffer(result) or overlaps(result, rows):
        target = cnp.PyArray_EMPTY(nd + 1, dims, typenum, 0)
    run_row_function(LOG_SOFTMAX_JACOBIAN if log_softmax else SOFTMAX_JACOBIAN, typenum,
                     rows, rows, target, temperature, False)
    if target is not result:
        cnp.PyArray_CopyInto(result, target)
    return result


def softmax_jacobian(y, axis=-1, *, temperature=1.0, out=None):
    """The Jacobian of softmax from its OUTPUT y: (diag(y) - y y^T) / temperature.

    The result has shape (..., n, n): y's dimensions other than axis, in order,
    then the row length twice; out, if given, must have that shape and y's
    dtype.
    """
    if not cnp.PyArray_Check(y) and _lazy(y):
        return _dask("jacobian", softmax_jacobian, (y,),
                     dict(axis=axis, temperature=temperature, out=out))
    return _jacobian(y, axis, temperature, False, out)


def log_softmax_jacobian(y, axis=-1, *, temperature=1.0, out=None):
    """The Jacobian of log_softmax from its OUTPUT y: (I - 1 exp(y)^T) / temperature.

    Shape (..., n, n) and out as for softmax_jacobian.
    """
    if not cnp.PyArray_Check(y) and _lazy(y):
        return _dask("jacobian", log_softmax_jacobian, (y,),
                     dict(axis=axis, temperature=temperature, out=out))
    return _jacobian(y, axis, temperature, True, out)
