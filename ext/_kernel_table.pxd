# The table of hot loops that one compiled kernel module exports.
#
# Every loop works on contiguous buffers of one dtype and takes its buffers as
# untyped byte pointers, so the driver (_core) can run any loop of any dtype
# through the same threading and layout code; the loop casts to float/double.
# Index [DTYPE_F32] / [DTYPE_F64] picks the dtype. The kernel module hands the
# table out as a PyCapsule: the run-time SIMD dispatch picks which compiled
# copy of the kernels supplies it, without the driver being rebuilt.

cdef enum:
    DTYPE_F32 = 0
    DTYPE_F64 = 1


cdef inline Py_ssize_t elements_to_cache_line(const void* p, Py_ssize_t itemsize) noexcept nogil:
    # Elements of itemsize from p to the next 64-byte boundary (0 on one).
    # The driver's pieces and the float32 softmax's last pass start their
    # stores there: a 64-byte vector store across two cache lines is slow.
    return <Py_ssize_t> ((64 - <size_t> p % 64) % 64) // itemsize

ctypedef void (*unary_loop)(const char* x, char* y, Py_ssize_t n,
                            const double* params) noexcept nogil
ctypedef void (*binary_loop)(const char* a, const char* b, char* y, Py_ssize_t n,
                             const double* params) noexcept nogil
ctypedef void (*ternary_loop)(const char* a, const char* b, const char* c, char* y,
                              Py_ssize_t n, const double* params) noexcept nogil
ctypedef void (*gated_backward_loop)(const char* grad, const char* gate,
                                     const char* value, char* grad_gate,
                                     char* grad_value, Py_ssize_t n,
                                     const double* params) noexcept nogil
ctypedef void (*gated_derivative_loop)(const char* gate, const char* value,
                                       char* grad_gate, char* grad_value, Py_ssize_t n,
                                       const double* params) noexcept nogil
# One row of a row-wise function: n elements in, n out.
ctypedef void (*row_loop)(const char* x, char* y, Py_ssize_t n, double temperature,
                          bint zero_masked_rows) noexcept nogil
ctypedef void (*row_backward_loop)(const char* grad, const char* y, char* grad_x,
                                   Py_ssize_t n, double temperature) noexcept nogil
# The Jacobian of one row from the forward's output y: n elements in, n x n out.
ctypedef void (*row_jacobian_loop)(const char* y, char* jacobian, Py_ssize_t n,
                                   double temperature) noexcept nogil


cdef struct ElementwiseLoops:
    unary_loop forward[2]
    unary_loop derivative[2]
    binary_loop backward[2]            # (grad_output, x) -> grad_x
    binary_loop gated_forward[2]       # (gate, value) -> f(gate) * value
    gated_backward_loop gated_backward[2]
    gated_derivative_loop gated_derivative[2]   # gated_backward with grad_output 1


cdef struct SlopeLoops:
    # leaky_relu with one slope per element (prelu, rrelu in training).
    binary_loop forward[2]             # (x, slope) -> y
    binary_loop forward_nonzero[2]     # the same where no slope is 0 (prelu's
                                       # weight, checked per call): no select
                                       # for -inf * 0
    binary_loop derivative[2]          # (x, slope) -> f'(x)
    ternary_loop backward[2]           # (grad_output, x, slope) -> grad_x


cdef struct RowLoops:
    row_loop softmax[2]
    row_loop log_softmax[2]
    row_backward_loop softmax_backward[2]
    row_backward_loop log_softmax_backward[2]
    row_jacobian_loop softmax_jacobian[2]
    row_jacobian_loop log_softmax_jacobian[2]


cdef struct KernelTable:
    Py_ssize_t n_elementwise
    const ElementwiseLoops* elementwise   # indexed by kernel id (_catalog order)
    SlopeLoops slope
    RowLoops rows
