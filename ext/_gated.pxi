# The gated family: y = f(gate) * value. glu splits one array in halves along
# an axis (value first, gate second, as torch.nn.functional.glu); swiglu and
# geglu take the gate and the value ("up" projection) as two arrays. All run
# the gated loops of the activation f, so any activation of the catalog can
# gate.

from cpython.ref cimport Py_INCREF, PyObject, PyTypeObject

cdef extern from "numpy/arrayobject.h":
    # (declared here with raw pointers: it steals the reference to descr)
    object _new_view "PyArray_NewFromDescr"(PyTypeObject* subtype, PyObject* descr, int nd,
                                            cnp.npy_intp* dims, cnp.npy_intp* strides,
                                            void* data, int flags, PyObject* obj)


cdef cnp.ndarray _half(cnp.ndarray a, int ax, bint second):
    """The first or second half of a along ax, as a view: the C API's view
    costs a tenth of a[..., :h] (which builds slices and an index tuple), and
    glu makes two or four of them per call."""
    cdef cnp.npy_intp dims[cnp.NPY_MAXDIMS]
    cdef int d
    for d in range(a.ndim):
        dims[d] = a.shape[d]
    dims[ax] = dims[ax] // 2
    cdef char* data = <char*> cnp.PyArray_DATA(a) + (dims[ax] * a.strides[ax] if second else 0)
    cdef PyObject* descr = <PyObject*> cnp.PyArray_DESCR(a)
    Py_INCREF(<object> descr)
    view = _new_view(<PyTypeObject*> cnp.ndarray, descr, a.ndim, dims, a.strides, data,
                     cnp.PyArray_FLAGS(a) & cnp.NPY_ARRAY_WRITEABLE, NULL)
    cnp.set_array_base(<cnp.ndarray> view, a)
    return <cnp.ndarray> view


cdef tuple _glu_checked(object x, object axis):
    """x as a float array and the axis glu halves."""
    cdef cnp.ndarray xa = as_float_array(x, "x")
    if xa.ndim == 0:
        raise ValueError("glu needs an array with at least one dimension, got a 0-d one")
    cdef int ax = normalize_axis(axis, xa.ndim)
    cdef Py_ssize_t n = xa.shape[ax]
    if n % 2:
        raise ValueError(f"glu halves x along axis={axis}, whose length {n} is odd")
    return (xa, ax)


# ---- the row path: glu straight on x's halves --------------------------------
#
# In a C-contiguous x, the elements before the axis index rows, and each row
# holds the value half then the gate half, `inner` contiguous elements each.
# The row path runs the gated loops on those halves in place (a row Job), so
# it makes no views and no copies; the general path below (views of the
# halves through apply, which copies strided halves into buffers) takes every
# other case and gives the same bits.

cdef bint _glu_shape(cnp.ndarray a, cnp.ndarray xa, int ax, bint halved) noexcept:
    """a has x's shape, or x's with the axis halved."""
    if a.ndim != xa.ndim:
        return False
    cdef int d
    for d in range(xa.ndim):
        if a.shape[d] != (xa.shape[d] // 2 if (halved and d == ax) else xa.shape[d]):
            return False
    return True


cdef bint _glu_out_ready(object out, cnp.ndarray xa, int ax, bint halved,
                         object g) noexcept:
    """out can take the row path's result directly: a writable buffer of the
    result's dtype and shape, apart from the inputs (or x itself, for the
    gradients laid out as x: element i is read before it is written)."""
    if out is None:
        return True
    if not (buffer_of(out, cnp.PyArray_TYPE(xa)) and
            cnp.PyArray_ISWRITEABLE(<cnp.ndarray> out) and
            _glu_shape(<cnp.ndarray> out, xa, ax, halved)):
        return False
    if g is not None and overlaps(<cnp.ndarray> out, <cnp.ndarray> g):
        return False
    if overlaps(<cnp.ndarray> out, xa):
        return not halved and _exact_alias(<cnp.ndarray> out, xa)
    return True


cdef object _glu_rows(void* loop, bint halved, object g, cnp.ndarray xa, int ax,
                      object out):
    """Run loop on x's halves and return the result: the gated forward
    (halved: one output, x's shape with the axis halved) or the gated
    derivative or backward (g given: the backward), two outputs laid out as
    x (the gate's gradient in the gate's half)."""
    cdef double params[1]
    cdef cnp.npy_intp dims[cnp.NPY_MAXDIMS]
    cdef int d, k
    cdef Py_ssize_t rows = 1
    for d in range(xa.ndim):
        dims[d] = xa.shape[d] // 2 if (halved and d == ax) else xa.shape[d]
        if d < ax:
            rows *= xa.shape[d]
    cdef cnp.ndarray result = (<cnp.ndarray> out if out is not None else
                               cnp.PyArray_EMPTY(xa.ndim, dims, cnp.PyArray_TYPE(xa), 0))
    cdef Py_ssize_t size = cnp.PyArray_SIZE(xa)
    if size == 0:
        return result
    cdef Job job
    cdef Py_ssize_t inner = size // rows // 2
    job.itemsize = cnp.PyArray_ITEMSIZE(xa)
    cdef Py_ssize_t half = inner * job.itemsize
    cdef const char* value = <const char*> cnp.PyArray_DATA(xa)
    cdef char* res = <char*> cnp.PyArray_DATA(result)
    job.loop = loop
    job.span = SPAN_MATH
    job.params = params
    job.inner = inner
    k = 0
    if g is not None:
        job.inputs[0] = <const char*> cnp.PyArray_DATA(<cnp.ndarray> g)
        job.in_row[0] = half
        k = 1
    job.inputs[k] = value + half
    job.inputs[k + 1] = value
    job.in_row[k] = job.in_row[k + 1] = 2 * half
    job.arity = k + 2
    if halved:
        job.n_outputs = 1
        job.outputs[0] = res
        job.out_row[0] = half
    else:
        job.n_outputs = 2
        job.outputs[0] = res + half
        job.outputs[1] = res
        job.out_row[0] = job.out_row[1] = 2 * half
    run_job_released(&job, rows * inner)
    return result


# ---- the public functions ----------------------------------------------------

def glu(x, axis=-1, *, out=None):
    """Gated linear unit: a * sigmoid(b), where a, b are the halves of x along axis."""
    if not cnp.PyArray_Check(x) and _lazy(x):
        return _dask("glu", glu, (x,), dict(axis=axis, out=out))
    cdef double params[1]
    xa, ax = _glu_checked(x, axis)
    cdef void** loops = <void**> KERNELS.elementwise[K_SIGMOID].gated_forward
    if _usable_buffer(xa) and _glu_out_ready(out, xa, ax, True, None):
        return _glu_rows(loops[_dtype_index(cnp.PyArray_TYPE(xa))], True, None, xa, ax, out)
    return apply(loops, 2, 1, _half(xa, ax, True), _half(xa, ax, False), None, out,
                 params, ("x", "x"), (x,))


cdef object _glu_backward(object grad_output, object x, object axis, object out,
                          bint derivative):
    """glu_backward, or glu_derivative (grad_output unused)."""
    cdef double params[1]
    cdef cnp.ndarray xa, g = None
    xa, ax = _glu_checked(x, axis)
    cdef int typenum = cnp.PyArray_TYPE(xa)
    cdef void** loops = (<void**> KERNELS.elementwise[K_SIGMOID].gated_derivative
                         if derivative else
                         <void**> KERNELS.elementwise[K_SIGMOID].gated_backward)
    if _usable_buffer(xa) and (derivative or (buffer_of(grad_output, typenum) and
                                              _glu_shape(grad_output, xa, ax, True))):
        if not derivative:
            g = <cnp.ndarray> grad_output
        if _glu_out_ready(out, xa, ax, False, g):
            return _glu_rows(loops[_dtype_index(typenum)], False, g, xa, ax, out)
    value, gate = _half(xa, ax, False), _half(xa, ax, True)
    if not derivative:
        g = as_float_array(grad_output, "grad_output")
        if not same_shape(g, value):
            raise ValueError(f"grad_output must have glu's result shape {(<object> value).shape}, "
                             f"got {(<object> g).shape}")
        typenum = result_type((grad_output, x), (g, xa))
    if out is None:
        result = cnp.PyArray_EMPTY(xa.ndim, xa.shape, typenum, 0)
    else:
        result = check_out(out, xa, typenum)
    grad_value, grad_gate = _half(result, ax, False), _half(result, ax, True)
    if derivative:
        apply(loops, 2, 2, gate, value, None, (grad_gate, grad_value), params, ("x", "x"))
    else:
        apply(loops, 3, 2, grad_output, gate, value, (grad_gate, grad_value), params,
              ("grad_output", "x", "x"))
    return result


def glu_backward(grad_output, x, axis=-1, *, out=None):
    """Gradient of glu with respect to x (x's shape), as torch's glu_backward.

    grad_output has the shape of glu's result (x halved along axis).
    """
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(x))
            and (_lazy(grad_output) or _lazy(x))):
        return _dask("glu_backward", glu_backward, (grad_output, x), dict(axis=axis, out=out))
    return _glu_backward(grad_output, x, axis, out, False)


def glu_derivative(x, axis=-1, *, out=None):
    """Partial derivatives of glu, laid out as x: [sigmoid(b), a * sigmoid'(b)]."""
    if not cnp.PyArray_Check(x) and _lazy(x):
        return _dask("glu", glu_derivative, (x,), dict(axis=axis, out=out))
    return _glu_backward(None, x, axis, out, True)


cdef object _gated(Py_ssize_t kernel, object gate, object up, object out):
    cdef double params[1]
    return apply(<void**> KERNELS.elementwise[kernel].gated_forward, 2, 1, gate, up,
                 None, out, params, ("gate", "up"))


cdef object _gated_backward(Py_ssize_t kernel, object grad_output, object gate,
                            object up, object out):
    cdef double params[1]
    return apply(<void**> KERNELS.elementwise[kernel].gated_backward, 3, 2,
                 grad_output, gate, up, out, params, ("grad_output", "gate", "up"))


cdef object _gated_derivative(Py_ssize_t kernel, object gate, object up, object out):
    cdef double params[1]
    return apply(<void**> KERNELS.elementwise[kernel].gated_derivative, 2, 2,
                 gate, up, None, out, params, ("gate", "up"))


def swiglu(gate, up, *, out=None):
    """SwiGLU: silu(gate) * up."""
    if (not (cnp.PyArray_Check(gate) and cnp.PyArray_Check(up))
            and (_lazy(gate) or _lazy(up))):
        return _dask("elementwise", swiglu, (gate, up), dict(out=out))
    return _gated(K_SILU, gate, up, out)


def swiglu_derivative(gate, up, *, out=None):
    """Partial derivatives of swiglu: (silu'(gate) * up, silu(gate))."""
    if (not (cnp.PyArray_Check(gate) and cnp.PyArray_Check(up))
            and (_lazy(gate) or _lazy(up))):
        return _dask("elementwise", swiglu_derivative, (gate, up), dict(out=out), 2)
    return _gated_derivative(K_SILU, gate, up, out)


def swiglu_backward(grad_output, gate, up, *, out=None):
    """Gradients of swiglu: (grad_gate, grad_up). out, if given, is a pair of arrays."""
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(gate) and cnp.PyArray_Check(up))
            and (_lazy(grad_output) or _lazy(gate) or _lazy(up))):
        return _dask("elementwise", swiglu_backward, (grad_output, gate, up), dict(out=out), 2)
    return _gated_backward(K_SILU, grad_output, gate, up, out)


def geglu(gate, up, *, approximate="none", out=None):
    """GeGLU: gelu(gate, approximate) * up."""
    if (not (cnp.PyArray_Check(gate) and cnp.PyArray_Check(up))
            and (_lazy(gate) or _lazy(up))):
        return _dask("elementwise", geglu, (gate, up), dict(approximate=approximate, out=out))
    return _gated(_choose_gelu(approximate), gate, up, out)


def geglu_derivative(gate, up, *, approximate="none", out=None):
    """Partial derivatives of geglu: (gelu'(gate) * up, gelu(gate))."""
    if (not (cnp.PyArray_Check(gate) and cnp.PyArray_Check(up))
            and (_lazy(gate) or _lazy(up))):
        return _dask("elementwise", geglu_derivative, (gate, up),
                     dict(approximate=approximate, out=out), 2)
    return _gated_derivative(_choose_gelu(approximate), gate, up, out)


def geglu_backward(grad_output, gate, up, *, approximate="none", out=None):
    """Gradients of geglu: (grad_gate, grad_up). out, if given, is a pair of arrays."""
    if (not (cnp.PyArray_Check(grad_output) and cnp.PyArray_Check(gate) and cnp.PyArray_Check(up))
            and (_lazy(grad_output) or _lazy(gate) or _lazy(up))):
        return _dask("elementwise", geglu_backward, (grad_output, gate, up),
                     dict(approximate=approximate, out=out), 2)
    return _gated_backward(_choose_gelu(approximate), grad_output, gate, up, out)
