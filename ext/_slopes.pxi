# prelu and rrelu: leaky_relu whose slope comes from a learned weight per
# channel (prelu) or is drawn per element (rrelu in training). One slope for
# the whole array runs the leaky_relu loops with the slope as their parameter;
# otherwise the slopes are laid out as an array of x's shape for the slope loops.

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
            return apply(<void**> loops.forward, 1, 1, x, None, None, out, params)
        if mode == DERIVATIVE:
            return apply(<void**> loops.derivative, 1, 1, x, None, None, out, params)
        return apply(<void**> loops.backward, 2, 1, grad_output, x, None, out, params,
                     ("grad_output", "x"))
    if mode == FORWARD:
        return apply(<void**> KERNELS.slope.forward, 2, 1, x, slope, None, out, params,
                     ("x", "weight"), (x,))
    if mode == DERIVATIVE:
        return apply(<void**> KERNELS.slope.derivative, 2, 1, x, slope, None, out,
                     params, ("x", "weight"), (x,))
    return apply(<void**> KERNELS.slope.backward, 3, 1, grad_output, x, slope, out,
                 params, ("grad_output", "x", "weight"), (grad_output, x))


cdef object _prelu_slope(object x_argument, object weight, object axis):
    """The weight as one float, or broadcast along `axis` to x's shape and dtype.

    With one weight element `axis` plays no part (as for a 1-D input in
    PyTorch, which has no channel axis) and is not checked.
    """
    cdef cnp.ndarray x = as_float_array(x_argument, "x")
    cdef cnp.ndarray w = as_float_array(weight, "weight")
    if cnp.PyArray_SIZE(w) == 1:
        return float(w.reshape(()))
    if w.ndim != 1:
        raise ValueError(f"weight must be 1-D, got shape {(<object> w).shape}")
    if x.ndim == 0:
        raise ValueError(f"weight has {w.shape[0]} elements, but a 0-d x has no axis "
                         "to apply them along; use a weight of one element")
    cdef int ax = normalize_axis(axis, x.ndim)
    if w.shape[0] != x.shape[ax]:
        raise ValueError(f"weight has {w.shape[0]} elements but x has {x.shape[ax]} "
                         f"along axis={axis}; they must match (or weight has 1)")
    shape = [1] * x.ndim
    shape[ax] = -1
    return np.broadcast_to(w.astype(x.dtype, copy=False).reshape(shape), (<object> x).shape)


def prelu(x, weight, *, axis=1, out=None):
    """PReLU: x if x > 0 else weight[c] * x, with c the index along `axis`.

    weight has one element (one slope for everything; axis is then unused) or
    x.shape[axis] elements, one per channel, as torch.nn.functional.prelu with
    channels on axis 1. The result has x's dtype.
    """
    return _run_slopes(FORWARD, None, x, _prelu_slope(x, weight, axis), out)


def prelu_derivative(x, weight, *, axis=1, out=None):
    """Derivative of prelu with respect to x: 1 if x > 0 else weight[c]."""
    return _run_slopes(DERIVATIVE, None, x, _prelu_slope(x, weight, axis), out)


def prelu_backward(grad_output, x, weight, *, axis=1, out=None):
    """Gradient of prelu with respect to x: grad_output * prelu_derivative(x, weight)."""
    return _run_slopes(BACKWARD, grad_output, x, _prelu_slope(x, weight, axis), out)


cdef object _rrelu_slope(object x, double lower, double upper, bint training,
                         object generator):
    check_finite(lower, "lower")
    check_finite(upper, "upper")
    if lower > upper:
        raise ValueError(f"lower must not exceed upper, got lower={lower!r}, "
                         f"upper={upper!r}")
    if not training:
        return (lower + upper) / 2
    cdef cnp.ndarray xa = as_float_array(x, "x")
    draws = np.random.default_rng(generator).uniform(lower, upper, size=(<object> xa).shape)
    return draws.astype(xa.dtype, copy=False)


def rrelu(x, *, double lower=1.0 / 8, double upper=1.0 / 3, bint training=False,
          generator=None, out=None):
    """Randomized leaky ReLU: x if x >= 0 else a * x.

    In evaluation (training=False) a = (lower + upper) / 2. In training, a is
    drawn for every element from U(lower, upper) with
    ``numpy.random.default_rng(generator).uniform(lower, upper, size=x.shape)``;
    rrelu_derivative and rrelu_backward draw the same way, so passing the same
    seed (or a Generator in the same state) to all three uses the same slopes.
    """
    return _run_slopes(FORWARD, None, x,
                       _rrelu_slope(x, lower, upper, training, generator), out)


def rrelu_derivative(x, *, double lower=1.0 / 8, double upper=1.0 / 3,
                     bint training=False, generator=None, out=None):
    """Derivative of rrelu: 1 if x > 0 else a (slopes drawn as by rrelu)."""
    return _run_slopes(DERIVATIVE, None, x,
                       _rrelu_slope(x, lower, upper, training, generator), out)


def rrelu_backward(grad_output, x, *, double lower=1.0 / 8, double upper=1.0 / 3,
                   bint training=False, generator=None, out=None):
    """grad_output * rrelu_derivative(x) (slopes drawn as by rrelu)."""
    return _run_slopes(BACKWARD, grad_output, x,
                       _rrelu_slope(x, lower, upper, training, generator), out)
