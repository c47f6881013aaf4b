# cython: language_level=3
#
# The native float64 kernels of the FMA levels (_native64.h, where the why
# and the error bookkeeping are): the double counterparts of _native32.pxd's,
# in plain double with exact pairs where the double-double path carried
# double-doubles throughout.  FA_NATIVE64 is 1 where the module is compiled
# with FMA (the kernel template's FMA64), a compile-time constant.

cdef extern from "_native64.h" nogil:
    const int FA_NATIVE64
    double fa_n64_sigmoid(double x)
    double fa_n64_sigmoid_derivative(double x)
    double fa_n64_log_sigmoid_derivative(double x)
    double fa_n64_softplus_derivative(double x, double threshold)
    double fa_n64_tanh(double x)
    double fa_n64_tanh_derivative(double x)
    double fa_n64_silu(double x)
    double fa_n64_silu_derivative(double x)
