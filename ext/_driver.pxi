# The per-call path shared by every public function: turn the arguments into
# contiguous float32/float64 buffers, check and prepare `out`, run a loop from
# the kernel table over threads with the GIL released, and copy back where the
# caller's arrays could not be written directly.
#
# Nothing is written to a caller's `out` before every check has passed, and a
# loop never reads memory it is also writing except in the exact-alias case
# (out is the input itself), which every loop supports because element i is
# read before element i is written. Any other overlap goes through a temporary.

cimport numpy as cnp
from cython.parallel cimport prange

cdef extern from *:
    """
    /* Prefetch [p, p + bytes) into the cache, one request per 64-byte line
       (a no-op where the compiler has no prefetch builtin). */
    static inline void fastact_prefetch(const char* p, Py_ssize_t bytes) {
    #if defined(__GNUC__)
        for (Py_ssize_t i = 0; i < bytes; i += 64)
            __builtin_prefetch(p + i, 0, 3);
    #else
        (void) p; (void) bytes;
    #endif
    }
    """
    void fastact_prefetch(const char* p, Py_ssize_t bytes) noexcept nogil
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport isfinite

import numpy as np

cnp.import_array()

cdef extern from "_omp_compat.h":
    int omp_get_max_threads() noexcept nogil
    void omp_set_num_threads(int n) noexcept nogil
    int FASTACT_HAVE_OPENMP

cdef enum:
    # Elementwise work is split into spans, one thread per span; an array of
    # fewer than two spans runs on the calling thread alone, so small calls
    # never wake the pool. A span is about 20-40 us of work on one core
    # (measured with AVX-512 kernels): many elements for the memory-bound
    # kernels, fewer for those that evaluate exp/erfc/tanh.
    SPAN_CHEAP = 65536
    SPAN_MATH = 8192
    # Row-wise work is split over rows once a call holds this many elements.
    ROWS_PARALLEL_MIN = 32768
    # One-input math-kernel calls (the forwards and derivatives) whose input
    # is this large (bytes; past the core's 2 MiB L2) run in pieces of
    # PREFETCH_PIECE elements, and before each piece prefetch the input's
    # piece PREFETCH_AHEAD pieces further on: with the hardware prefetcher
    # alone, float32 sigmoid over 16 Mi elements took 1.91 ns per element
    # (0.70 in cache), with this 1.03 (float64 tanh 6.35 -> 4.46).  Not done
    # where it did not pay, measured: the backward and gated loops (their
    # block loops' flag pass already reads ahead; 10-15 % slower with it),
    # the memory-bound kernels (0.61 -> 0.67) and prefetching the outputs.
    PREFETCH_MIN_BYTES = 4194304
    PREFETCH_PIECE = 1024
    PREFETCH_AHEAD = 2
    # A piece of at least this many elements whose (first) output does not
    # start on a 64-byte boundary runs its head, up to the boundary, as a
    # piece of its own: NumPy's large arrays start 16 bytes past one, so every
    # 64-byte vector store of the loops straddled two cache lines (float32
    # relu over 16 Mi elements: 10.2 ms, 8.4 ms with this).
    ALIGN_MIN = 1024
    # Smaller calls keep the GIL: releasing and retaking it (a mutex and a
    # condition variable) cost ~100 ns, a third of a 16-element call, and no
    # other Python thread gets far in the microsecond such a call takes.
    # NumPy's ufuncs keep it below 500 elements.
    GIL_RELEASE_MIN = 1024


cdef const KernelTable* KERNELS = NULL


def _use_kernels(capsule):
    """Install the KernelTable that every public function runs (at import)."""
    global KERNELS
    KERNELS = <const KernelTable*> PyCapsule_GetPointer(capsule, b"fastact.KernelTable")


# ---------------------------------------------------------------- arguments

cdef str _ACCEPTED = ("float32 or float64 (bool and integer inputs are converted "
                      "to float64)")


cdef inline bint _is_native_float(cnp.ndarray a) noexcept:
    cdef int t = cnp.PyArray_TYPE(a)
    return (t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE) and cnp.PyArray_ISNOTSWAPPED(a)


cdef cnp.ndarray as_float_array(object x, str name):
    """x as an ndarray of float32 or float64, as NumPy's ufuncs would see it."""
    cdef cnp.ndarray a
    if cnp.PyArray_Check(x):
        a = <cnp.ndarray> x
    else:
        a = np.asarray(x)
    if _is_native_float(a):
        return a
    kind = a.dtype.kind
    if kind == "f" and a.dtype.itemsize in (4, 8):
        return a.astype(a.dtype.newbyteorder("="))
    if kind in "biu":
        return a.astype(np.float64)
    raise TypeError(f"{name} must have dtype {_ACCEPTED}; got dtype {a.dtype}")


cdef inline bint _is_weak(object x) noexcept:
    # NumPy 2 promotion: Python scalars do not widen float32 arrays.
    return type(x) is float or type(x) is int or type(x) is bool


cdef int result_type(tuple originals, object arrays) except -1:
    """float64 if any array-like argument is float64, else float32."""
    cdef Py_ssize_t i
    cdef bint any_strong = False
    cdef int t = cnp.NPY_FLOAT
    for i in range(len(arrays)):
        if not _is_weak(originals[i]):
            any_strong = True
            if cnp.PyArray_TYPE(<cnp.ndarray> arrays[i]) == cnp.NPY_DOUBLE:
                t = cnp.NPY_DOUBLE
    return t if any_strong else cnp.NPY_DOUBLE


cdef inline bint _usable_buffer(cnp.ndarray a) noexcept:
    return cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a)


cdef cnp.ndarray as_buffer(cnp.ndarray a, int typenum):
    """a as a C-contiguous aligned array of typenum (a itself when it is one)."""
    if cnp.PyArray_TYPE(a) == typenum and _usable_buffer(a):
        return a
    # astype, not ascontiguousarray, which would turn a 0-d array into 1-d.
    return a.astype(cnp.PyArray_DescrFromType(typenum), order="C")


cdef str _dtype_name(int typenum):
    return "float32" if typenum == cnp.NPY_FLOAT else "float64"


cdef int _dtype_index(int typenum) noexcept:
    return DTYPE_F32 if typenum == cnp.NPY_FLOAT else DTYPE_F64


cdef inline bint same_shape(cnp.ndarray a, cnp.ndarray b) noexcept:
    cdef int d
    if a.ndim != b.ndim:
        return False
    for d in range(a.ndim):
        if a.shape[d] != b.shape[d]:
            return False
    return True


cdef inline cnp.ndarray _out_array(object out, int typenum, str name):
    """out as an ndarray of typenum, else TypeError."""
    if not cnp.PyArray_Check(out):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    cdef cnp.ndarray o = <cnp.ndarray> out
    if not (cnp.PyArray_TYPE(o) == typenum and cnp.PyArray_ISNOTSWAPPED(o)):
        raise TypeError(f"{name} must have dtype {_dtype_name(typenum)} (the result's "
                        f"dtype); got dtype {o.dtype}")
    return o


cdef inline cnp.ndarray _writable(cnp.ndarray o, str name):
    if not cnp.PyArray_ISWRITEABLE(o):
        raise ValueError(f"{name} is read-only")
    return o


cdef cnp.ndarray check_out(object out, cnp.ndarray like, int typenum, str name="out"):
    """Raise unless out is a writable ndarray of like's shape and of typenum."""
    cdef cnp.ndarray o = _out_array(out, typenum, name)
    if not same_shape(o, like):
        raise ValueError(f"{name} must have shape {(<object> like).shape} (the result's "
                         f"shape); got shape {(<object> o).shape}")
    return _writable(o, name)


cdef cnp.ndarray check_out_shape(object out, int nd, const cnp.npy_intp* dims,
                                 int typenum):
    """check_out for a result whose shape, dims[:nd], is no argument's (a Jacobian's)."""
    cdef cnp.ndarray o = _out_array(out, typenum, "out")
    cdef int d
    cdef bint same = cnp.PyArray_NDIM(o) == nd
    for d in range(nd if same else 0):
        same = same and cnp.PyArray_DIM(o, d) == dims[d]
    if not same:
        raise ValueError(f"out must have shape {tuple(dims[d] for d in range(nd))} (the "
                         f"result's shape); got shape {(<object> o).shape}")
    return _writable(o, "out")


cdef void _extent(cnp.ndarray a, char** low, char** high) noexcept:
    """The bytes [low, high) that a's elements occupy."""
    cdef char* lo = <char*> cnp.PyArray_DATA(a)
    cdef char* hi = lo
    cdef int d
    cdef Py_ssize_t step
    for d in range(cnp.PyArray_NDIM(a)):
        step = cnp.PyArray_STRIDE(a, d) * (cnp.PyArray_DIM(a, d) - 1)
        if step < 0:
            lo += step
        else:
            hi += step
    low[0] = lo
    high[0] = hi + cnp.PyArray_ITEMSIZE(a)


cdef bint overlaps(cnp.ndarray a, cnp.ndarray b) noexcept:
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    if cnp.PyArray_SIZE(a) == 0 or cnp.PyArray_SIZE(b) == 0:
        return False
    _extent(a, &alo, &ahi)
    _extent(b, &blo, &bhi)
    return alo < bhi and blo < ahi


cdef inline bint _exact_alias(cnp.ndarray a, cnp.ndarray b) noexcept:
    # Both are usable buffers of the same size here, so equal starts mean
    # element i of one is element i of the other.
    return cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b)


cdef cnp.ndarray destination(cnp.ndarray target, tuple inputs):
    """Where a loop may write a result meant for target: target, or a temporary."""
    if not _usable_buffer(target):
        return cnp.PyArray_EMPTY(target.ndim, target.shape, cnp.PyArray_TYPE(target), 0)
    for a in inputs:
        if overlaps(target, <cnp.ndarray> a) and not _exact_alias(target, <cnp.ndarray> a):
            return cnp.PyArray_EMPTY(target.ndim, target.shape,
                                     cnp.PyArray_TYPE(target), 0)
    return target


cdef object finish(object results, tuple arguments, object out):
    """The value to return: results, with 0-d results of scalar arguments unwrapped.

    As from a ufunc, scalar arguments (no argument an ndarray) give NumPy
    scalars; arrays, 0-d included, give arrays. results is an array or a pair.
    """
    if out is not None:
        return results
    for argument in arguments:
        if cnp.PyArray_Check(argument):
            return results
    if isinstance(results, tuple):
        return tuple(r[()] if (<cnp.ndarray> r).ndim == 0 else r for r in results)
    if (<cnp.ndarray> results).ndim == 0:
        return results[()]
    return results


# ---------------------------------------------------------------- threads

cdef extern from "_fork.h":
    int fastact_thread_count() noexcept nogil
    int fastact_reported_threads() noexcept nogil


cdef inline int thread_count() noexcept nogil:
    # omp_get_max_threads(), except 1 in a process forked from one that had
    # used fastact's threads: GNU OpenMP's pool does not survive fork and the
    # child's next parallel region would hang, so such a child runs serially
    # (same bits). _fork.h detects the fork with a pthread_atfork child
    # handler; the check is one read of a static int.
    return fastact_thread_count()


cdef struct Job:
    int arity                 # inputs: 1, 2 or 3
    int n_outputs             # 1 or 2
    Py_ssize_t span           # elements per thread span
    void* loop                # unary_loop / binary_loop / ternary_loop /
                              # gated_backward_loop (arity 3) / gated_derivative_loop (arity 2)
    const char* inputs[3]
    char* outputs[2]
    Py_ssize_t itemsize
    const double* params
    # The elements are rows of `inner` contiguous elements, row r of argument
    # k starting r * in_row[k] (out_row[k]) bytes after its pointer: glu's
    # halves, read and written in place.  A flat job is one row (inner >= n).
    Py_ssize_t inner
    Py_ssize_t in_row[3]
    Py_ssize_t out_row[2]
    # 0, or the job's element count when its input is prefetched
    # (PREFETCH_MIN_BYTES; flat one-input jobs of the math kernels only)
    Py_ssize_t prefetch_end


cdef inline void flat_job(Job* job, Py_ssize_t n) noexcept nogil:
    job.inner = n if n > 0 else 1
    job.in_row[0] = job.in_row[1] = job.in_row[2] = 0
    job.out_row[0] = job.out_row[1] = 0


cdef void run_piece(const Job* job, const char** ins, char** outs,
                    Py_ssize_t count) noexcept nogil:
    if job.n_outputs == 2 and job.arity == 3:
        (<gated_backward_loop> job.loop)(ins[0], ins[1], ins[2], outs[0], outs[1], count,
                                         job.params)
    elif job.n_outputs == 2:
        (<gated_derivative_loop> job.loop)(ins[0], ins[1], outs[0], outs[1], count,
                                           job.params)
    elif job.arity == 1:
        (<unary_loop> job.loop)(ins[0], outs[0], count, job.params)
    elif job.arity == 2:
        (<binary_loop> job.loop)(ins[0], ins[1], outs[0], count, job.params)
    else:
        (<ternary_loop> job.loop)(ins[0], ins[1], ins[2], outs[0], count, job.params)


cdef inline Py_ssize_t aligned_head(const Job* job, const char* out,
                                    Py_ssize_t count) noexcept nogil:
    # elements before out reaches a 64-byte boundary: 0 when it is on one,
    # when the piece is short, or when out is not aligned to its itemsize
    if count < ALIGN_MIN or <size_t> out % job.itemsize:
        return 0
    return elements_to_cache_line(out, job.itemsize)


cdef void run_span_prefetched(const Job* job, Py_ssize_t start,
                              Py_ssize_t count) noexcept nogil:
    # elements [start, start + count) of a flat job, in PREFETCH_PIECE pieces,
    # each after prefetching the input PREFETCH_AHEAD pieces on (up to the
    # job's end, so a thread's span also reaches into the next span)
    cdef const char* ins[3]
    cdef char* outs[2]
    cdef Py_ssize_t piece, head, ahead
    cdef int k
    while count > 0:
        piece = min(<Py_ssize_t> PREFETCH_PIECE, count)
        head = aligned_head(job, job.outputs[0] + start * job.itemsize, count)
        piece = head if head else piece
        ahead = start + PREFETCH_AHEAD * PREFETCH_PIECE
        if ahead < job.prefetch_end:
            for k in range(job.arity):
                fastact_prefetch(job.inputs[k] + ahead * job.itemsize,
                                 min(<Py_ssize_t> PREFETCH_PIECE, job.prefetch_end - ahead)
                                 * job.itemsize)
        for k in range(job.arity):
            ins[k] = job.inputs[k] + start * job.itemsize
        for k in range(job.n_outputs):
            outs[k] = job.outputs[k] + start * job.itemsize
        run_piece(job, ins, outs, piece)
        start += piece
        count -= piece


cdef void run_span(const Job* job, Py_ssize_t start, Py_ssize_t count) noexcept nogil:
    # elements [start, start + count), one loop call per row piece (after
    # the piece's unaligned head, see ALIGN_MIN)
    cdef const char* ins[3]
    cdef char* outs[2]
    cdef Py_ssize_t r, c, piece, head
    cdef int k
    if job.prefetch_end:
        run_span_prefetched(job, start, count)
        return
    while count > 0:
        r = start // job.inner
        c = start - r * job.inner
        piece = min(job.inner - c, count)
        for k in range(job.arity):
            ins[k] = job.inputs[k] + r * job.in_row[k] + c * job.itemsize
        for k in range(job.n_outputs):
            outs[k] = job.outputs[k] + r * job.out_row[k] + c * job.itemsize
        head = aligned_head(job, outs[0], piece)
        piece = head if head else piece
        run_piece(job, ins, outs, piece)
        start += piece
        count -= piece


cdef void run_job(const Job* job, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t span = job.span
    cdef Py_ssize_t spans = (n + span - 1) // span
    cdef Py_ssize_t s
    cdef int threads = thread_count()
    if threads < 2 or spans < 2:
        run_span(job, 0, n)
        return
    if threads > spans:
        threads = <int> spans
    for s in prange(spans, num_threads=threads, schedule="static"):
        run_span(job, s * span, min(span, n - s * span))


cdef inline void run_job_released(Job* job, Py_ssize_t n) noexcept:
    """run_job, without the GIL from GIL_RELEASE_MIN elements on."""
    job.prefetch_end = (n if job.arity == 1 and job.span == SPAN_MATH and job.inner >= n
                        and n * job.itemsize >= PREFETCH_MIN_BYTES else 0)
    if n >= GIL_RELEASE_MIN:
        with nogil:
            run_job(job, n)
    else:
        run_job(job, n)


# ---------------------------------------------------------------- elementwise

cdef inline bint buffer_of(object a, int typenum) noexcept:
    """a is an ndarray a loop can read or write as it is: of typenum, native
    byte order, C-contiguous and aligned."""
    return (cnp.PyArray_Check(a) and cnp.PyArray_TYPE(<cnp.ndarray> a) == typenum
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray> a) and _usable_buffer(<cnp.ndarray> a))


cdef bint _ready_together(tuple originals) noexcept:
    """The arguments are already usable buffers of one native float dtype
    and one shape (the usual call: then _common_arrays has nothing to do)."""
    cdef object v = originals[0]
    if not (cnp.PyArray_Check(v) and _is_native_float(<cnp.ndarray> v)):
        return False
    cdef cnp.ndarray first = <cnp.ndarray> v
    cdef int typenum = cnp.PyArray_TYPE(first)
    cdef Py_ssize_t i
    for i in range(len(originals)):
        v = originals[i]
        if not (buffer_of(v, typenum) and same_shape(<cnp.ndarray> v, first)):
            return False
    return True


cdef tuple _common_arrays(tuple originals, tuple names):
    """The arguments as float arrays of one dtype and one (broadcast) shape."""
    if _ready_together(originals):
        return originals
    cdef Py_ssize_t k = len(originals), i
    cdef list arrays = [None] * k
    for i in range(k):
        arrays[i] = as_float_array(originals[i], names[i])
    cdef int typenum = result_type(originals, arrays)
    for i in range(1, k):
        if not same_shape(<cnp.ndarray> arrays[i], <cnp.ndarray> arrays[0]):
            arrays = _broadcast(arrays, names[:k], typenum)
            break
    for i in range(k):
        arrays[i] = as_buffer(<cnp.ndarray> arrays[i], typenum)
    return tuple(arrays)


cdef list _broadcast(list arrays, tuple names, int typenum):
    """The arrays broadcast to one shape, as contiguous buffers of typenum.

    A scalar among arrays of one shape (a scalar grad_output) is filled in
    directly: np.broadcast_arrays costs microseconds, more than a small
    call's whole budget.
    """
    cdef cnp.ndarray shaped = None, filled
    for v in arrays:
        if (<cnp.ndarray> v).ndim:
            if shaped is not None and not same_shape(<cnp.ndarray> v, shaped):
                break
            shaped = <cnp.ndarray> v
    else:
        result = []
        for v in arrays:
            if (<cnp.ndarray> v).ndim:
                result.append(v)
            else:
                filled = cnp.PyArray_EMPTY(shaped.ndim, shaped.shape, typenum, 0)
                cnp.PyArray_FillWithScalar(filled, (<cnp.ndarray> v)[()])
                result.append(filled)
        return result
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        raise ValueError(
            f"{', '.join(names)} could not be broadcast together with shapes "
            f"{', '.join(str(v.shape) for v in arrays)}") from None


cdef object apply(void** loops, int arity, int n_outputs, object a, object b,
                  object c, object out, const double* params,
                  tuple names=("x",), tuple user_arguments=None,
                  Py_ssize_t span=SPAN_MATH):
    """Run loops[dtype] on the arguments (a; a, b; or a, b, c), elementwise.

    Arguments (called `names` in messages) broadcast against each other; the
    result has their common dtype (NumPy 2 rules). Two-output loops take `out`
    as a tuple of two. user_arguments, when the caller made some of the
    arguments itself (drawn slopes, halves), are the ones the user passed,
    which decide whether a 0-d result comes back as a scalar. span: elements
    per thread span (SPAN_CHEAP for the memory-bound kernels).
    """
    cdef tuple arrays
    cdef cnp.ndarray first
    if arity == 1:
        # The one-argument path is every forward and derivative: kept free of
        # tuple and list building, as it decides the cost of a small call.
        first = as_float_array(a, names[0])
        first = as_buffer(first, cnp.PyArray_TYPE(first))
        arrays = (first,)
    else:
        arrays = _common_arrays((a, b, c)[:arity], names)
        first = <cnp.ndarray> arrays[0]
    cdef int typenum = cnp.PyArray_TYPE(first)

    cdef cnp.ndarray result0, result1 = None, target0, target1 = None
    if out is None:
        result0 = cnp.PyArray_EMPTY(first.ndim, first.shape, typenum, 0)
        if n_outputs == 2:
            result1 = cnp.PyArray_EMPTY(first.ndim, first.shape, typenum, 0)
    elif n_outputs == 1:
        result0 = check_out(out, first, typenum)
    else:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("out must be a tuple of two arrays for a function with "
                            f"two results, got {type(out).__name__}")
        result0 = check_out(out[0], first, typenum, "out[0]")
        result1 = check_out(out[1], first, typenum, "out[1]")
    target0 = destination(result0, arrays)
    if n_outputs == 2:
        target1 = destination(result1, arrays)
        if overlaps(target0, target1):
            target1 = cnp.PyArray_EMPTY(first.ndim, first.shape, typenum, 0)

    cdef Job job
    cdef Py_ssize_t i
    job.arity = arity
    job.n_outputs = n_outputs
    job.span = span
    job.loop = loops[_dtype_index(typenum)]
    for i in range(arity):
        job.inputs[i] = <const char*> cnp.PyArray_DATA(<cnp.ndarray> arrays[i])
    job.outputs[0] = <char*> cnp.PyArray_DATA(target0)
    if n_outputs == 2:
        job.outputs[1] = <char*> cnp.PyArray_DATA(target1)
    job.itemsize = cnp.PyArray_ITEMSIZE(first)
    job.params = params
    cdef Py_ssize_t n = cnp.PyArray_SIZE(first)
    flat_job(&job, n)
    run_job_released(&job, n)

    if target0 is not result0:
        cnp.PyArray_CopyInto(result0, target0)
    if n_outputs == 2:
        if target1 is not result1:
            cnp.PyArray_CopyInto(result1, target1)
        return finish((result0, result1), (a, b, c)[:arity]
                      if user_arguments is None else user_arguments, out)
    if user_arguments is None:
        user_arguments = (a, b, c)[:arity]
    return finish(result0, user_arguments, out)


# ---------------------------------------------------------------- parameters

cdef double real_parameter(object value, str name) except? -1.0:
    """A float parameter's value; TypeError naming it unless it is a real number."""
    if type(value) is float:
        return <double> value
    if isinstance(value, (str, bytes, complex, np.complexfloating)) or (
            cnp.PyArray_Check(value) and (<cnp.ndarray> value).ndim != 0):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {value!r}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None


cdef inline void check_finite(double value, str name) except *:
    if not isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


cdef inline void check_finite_nonzero(double value, str name) except *:
    if not isfinite(value) or value == 0:
        raise ValueError(f"{name} must be finite and nonzero, got {value!r}")


cdef int normalize_axis(object axis, int ndim, str name="axis") except -1:
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {type(axis).__name__}")
    try:
        ax = axis.__index__()
    except (AttributeError, TypeError):
        raise TypeError(f"{name} must be an integer, got {type(axis).__name__}") from None
    if not -ndim <= ax < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of {ndim} "
                         f"dimension{'s' if ndim != 1 else ''}")
    return <int> (ax + ndim if ax < 0 else ax)


# ---------------------------------------------------------------- configuration

def set_num_threads(n):
    """Set the number of OpenMP threads fastact uses from the calling thread.

    In a process forked (os.fork, multiprocessing's 'fork' start method) from
    one that had already run fastact on more than one thread, fastact stays
    serial whatever is set here: GNU OpenMP's threads do not survive fork, and
    a parallel region there would hang. Use the 'spawn' or 'forkserver' start
    method for multi-threaded workers.
    """
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    omp_set_num_threads(<int> min(n, 1 << 16))


def get_num_threads():
    """The number of threads a large call would use.

    1 without OpenMP, and 1 in a process forked from one that had already run
    fastact on more than one thread (see set_num_threads); otherwise OpenMP's
    count for the calling thread (OMP_NUM_THREADS, set_num_threads,
    threadpoolctl).
    """
    return fastact_reported_threads()


HAVE_OPENMP = bool(FASTACT_HAVE_OPENMP)
