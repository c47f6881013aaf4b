"""The PyTorch CPU peers of the benchmark (imported only when ``import torch`` works).

``TORCH_BASELINES`` maps each registry name to ``TorchBaseline(forward,
derivative, backward)``. Each entry is a *maker*: called once with the
workload's arrays as tensors (``torch.from_numpy`` views of the very buffers
fastact and NumPy read) in the positional order of the fastact function of
that mode, and ``out=`` (a tensor, or a pair of tensors for the swiglu/geglu
derivative and backward, viewing a preallocated NumPy buffer), it returns a
no-argument callable that runs PyTorch once and returns the result.

What is timed (SPEC section 6, issue 3):

- forward: ``torch.nn.functional``/``torch`` with ``out=`` where torch has an
  out variant (``torch.sigmoid(x, out=o)``, ``torch._C._nn.gelu(x, out=o)``,
  ``torch.clamp_min(x, 0, out=o)`` which is what ``F.relu`` computes, ...),
  else the functional call (``F.rrelu(training=False)``, ``F.prelu``);
- backward: torch's own backward kernels as autograd runs them
  (``torch.ops.aten.gelu_backward``, ``sigmoid_backward`` from the saved
  output, ``threshold_backward`` for relu, ...), writing into the preallocated
  output through their ``grad_input``/``out`` overloads where they exist.
  Tensors autograd would have saved from the forward (sigmoid/tanh/relu
  outputs, log_sigmoid's buffer, silu(gate) of swiglu) are computed once when
  the callable is made, not timed;
- derivative: the same backward kernel with a grad_output of ones; for
  softmax/log_softmax (whose derivative is the Jacobian) a few tensor ops.

Functions without a torch kernel are composed from torch ops as autograd
would (swish = x * sigmoid(beta x), swiglu = silu(gate) * up, geglu =
gelu(gate) * up). Parameters are the registry's defaults.
"""
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from . import reference as _reference

aten = torch.ops.aten
_nn = torch._C._nn

TORCH_VERSION = torch.__version__

_RRELU_LOWER, _RRELU_UPPER = 1 / 8, 1 / 3
_LEAKY_SLOPE = 0.01
_SELU_ALPHA = _reference.SELU_ALPHA
_SELU_SCALE = _reference.SELU_SCALE
_SWISH_BETA = 1.0


class TorchBaseline(NamedTuple):
    forward: Callable
    derivative: Callable
    backward: Callable


def set_num_threads(n):
    torch.set_num_threads(int(n))


def get_num_threads():
    return torch.get_num_threads()


def as_tensors(arrays):
    """torch.from_numpy views of NumPy arrays (a tuple stays a tuple)."""
    if isinstance(arrays, tuple):
        return tuple(torch.from_numpy(a) for a in arrays)
    return torch.from_numpy(arrays)


def _with_ones(backward_maker):
    """derivative maker: backward_maker with grad_output = ones of x's shape."""

    def make(x, *rest, out):
        ones = torch.ones_like(x)
        return backward_maker(ones, x, *rest, out=out)

    return make


def _elementwise(forward, backward, saved=None):
    """Makers from forward(x, o) and backward(g, x_or_saved, o).

    saved(x) -> the tensor autograd keeps from the forward (computed once,
    outside the timed call); backward then receives it instead of x.
    """

    def make_forward(x, *, out):
        return lambda: forward(x, out)

    def make_backward(g, x, *, out):
        s = x if saved is None else saved(x)
        return lambda: backward(g, s, out)

    return TorchBaseline(make_forward, _with_ones(make_backward), make_backward)


# --- relu, leaky_relu, rrelu (eval), prelu ---------------------------------

_RELU = _elementwise(
    lambda x, o: torch.clamp_min(x, 0, out=o),           # F.relu's computation, into o
    lambda g, y, o: aten.threshold_backward.grad_input(g, y, 0, grad_input=o),
    saved=torch.relu,                                      # relu's backward uses its result
)

_LEAKY = _elementwise(
    lambda x, o: _nn.leaky_relu(x, _LEAKY_SLOPE, out=o),
    lambda g, x, o: aten.leaky_relu_backward.grad_input(g, x, _LEAKY_SLOPE, False,
                                                        grad_input=o),
)

_RRELU_NOISE = torch.empty(0)
_RRELU = _elementwise(
    lambda x, o: F.rrelu(x, _RRELU_LOWER, _RRELU_UPPER, training=False),
    lambda g, x, o: aten.rrelu_with_noise_backward(g, x, _RRELU_NOISE, _RRELU_LOWER,
                                                   _RRELU_UPPER, False, False),
)


def _prelu_forward(x, weight, *, out):
    return lambda: F.prelu(x, weight)


def _prelu_backward(g, x, weight, *, out):
    # torch's prelu backward kernel writes grad_input and the per-element
    # grad_weight terms in one pass; we return grad_input.
    return lambda: aten._prelu_kernel_backward(g, x, weight)[0]


def _prelu_derivative(x, weight, *, out):
    return _prelu_backward(torch.ones_like(x), x, weight, out=out)


_PRELU = TorchBaseline(_prelu_forward, _prelu_derivative, _prelu_backward)

# --- exponential family --------------------------------------------------

_ELU = _elementwise(
    lambda x, o: _nn.elu(x, 1.0, 1.0, 1.0, out=o),
    lambda g, x, o: aten.elu_backward.grad_input(g, 1.0, 1.0, 1.0, False, x, grad_input=o),
)

_SELU = _elementwise(
    lambda x, o: _nn.elu(x, _SELU_ALPHA, _SELU_SCALE, 1.0, out=o),   # what F.selu runs
    lambda g, x, o: aten.elu_backward.grad_input(g, _SELU_ALPHA, _SELU_SCALE, 1.0, False, x,
                                                 grad_input=o),
)

_GELU = _elementwise(
    lambda x, o: _nn.gelu(x, approximate="none", out=o),
    lambda g, x, o: aten.gelu_backward.grad_input(g, x, approximate="none", grad_input=o),
)

_SIGMOID = _elementwise(
    lambda x, o: torch.sigmoid(x, out=o),
    lambda g, y, o: aten.sigmoid_backward.grad_input(g, y, grad_input=o),
    saved=torch.sigmoid,
)


def _log_sigmoid_backward(g, x, *, out):
    buffer = aten.log_sigmoid_forward(x)[1]      # saved by the forward on CPU
    return lambda: aten.log_sigmoid_backward.grad_input(g, x, buffer, grad_input=out)


_LOG_SIGMOID = TorchBaseline(
    lambda x, *, out: (lambda: _nn.log_sigmoid(x, out=out)),
    _with_ones(_log_sigmoid_backward),
    _log_sigmoid_backward,
)

_TANH = _elementwise(
    lambda x, o: torch.tanh(x, out=o),
    lambda g, y, o: aten.tanh_backward.grad_input(g, y, grad_input=o),
    saved=torch.tanh,
)

_SILU = _elementwise(
    lambda x, o: _nn.silu(x, out=o),
    lambda g, x, o: aten.silu_backward.grad_input(g, x, grad_input=o),
)


def _swish_forward(x, *, out):
    """x * sigmoid(beta x), no torch kernel: composed with out=."""
    t = torch.empty_like(x)

    def call():
        torch.mul(x, _SWISH_BETA, out=t)
        torch.sigmoid(t, out=t)
        return torch.mul(x, t, out=out)

    return call


def _swish_backward(g, x, *, out):
    """Autograd of x * s, s = sigmoid(beta x) saved: g*s + beta*sigmoid_backward(g*x, s)."""
    s = torch.sigmoid(x * _SWISH_BETA)
    t = torch.empty_like(x)

    def call():
        torch.mul(g, x, out=t)
        aten.sigmoid_backward.grad_input(t, s, grad_input=t)
        torch.mul(t, _SWISH_BETA, out=t)
        return torch.addcmul(t, g, s, out=out)

    return call


_SWISH = TorchBaseline(_swish_forward, _with_ones(_swish_backward), _swish_backward)

_MISH = _elementwise(
    lambda x, o: _nn.mish(x, out=o),
    lambda g, x, o: aten.mish_backward(g, x),           # no out variant
)

_SOFTPLUS = _elementwise(
    lambda x, o: _nn.softplus(x, 1.0, 20.0, out=o),
    lambda g, x, o: aten.softplus_backward.grad_input(g, x, 1.0, 20.0, grad_input=o),
)

_HARDSIGMOID = _elementwise(
    lambda x, o: _nn.hardsigmoid(x, out=o),
    lambda g, x, o: aten.hardsigmoid_backward.grad_input(g, x, grad_input=o),
)

_HARDSWISH = _elementwise(
    lambda x, o: _nn.hardswish(x, out=o),
    lambda g, x, o: aten.hardswish_backward.out(g, x, out=o),
)

# --- softmax / log_softmax over the last axis ----------------------------


def _rowwise(forward, backward_op, jacobian):
    def make_forward(x, axis=-1, *, out):
        return lambda: forward(x, axis, out=out)

    def make_backward(g, y, axis=-1, *, out):
        dtype = y.dtype
        if backward_op is aten._softmax_backward_data.out:
            return lambda: backward_op(g, y, axis, dtype, grad_input=out)
        return lambda: backward_op(g, y, axis, dtype, out=out)

    return TorchBaseline(make_forward, jacobian, make_backward)


def _softmax_jacobian(y, axis=-1, *, out):
    """diag(y) - y y^T per row (no torch kernel; the usual tensor expression)."""
    out = torch.empty(y.shape + (y.shape[-1],), dtype=y.dtype) if out is None else out
    diagonal = out.diagonal(dim1=-2, dim2=-1)

    def call():
        torch.mul(y.unsqueeze(-1), y.unsqueeze(-2), out=out)
        out.neg_()
        diagonal.add_(y)
        return out

    return call


def _log_softmax_jacobian(y, axis=-1, *, out):
    """I - 1 exp(y)^T per row."""
    n = y.shape[-1]
    out = torch.empty(y.shape + (n,), dtype=y.dtype) if out is None else out
    eye = torch.eye(n, dtype=y.dtype)
    e = torch.empty_like(y)

    def call():
        torch.exp(y, out=e)
        return torch.sub(eye, e.unsqueeze(-2), out=out)

    return call


_SOFTMAX = _rowwise(torch.softmax, aten._softmax_backward_data.out, _softmax_jacobian)
_LOG_SOFTMAX = _rowwise(torch.log_softmax, aten._log_softmax_backward_data.out,
                        _log_softmax_jacobian)

# --- gated -----------------------------------------------------------------


def _glu_backward(g, x, axis=-1, *, out):
    return lambda: aten.glu_backward.grad_input(g, x, axis, grad_input=out)


def _glu_derivative(x, axis=-1, *, out):
    half = list(x.shape)
    half[axis] //= 2
    return _glu_backward(torch.ones(half, dtype=x.dtype), x, axis, out=out)


_GLU = TorchBaseline(
    lambda x, axis=-1, *, out: (lambda: _nn.glu(x, axis, out=out)),
    _glu_derivative,
    _glu_backward,
)


def _gated(act_out, act_backward_into):
    """y = f(gate) * up; backward as autograd runs it, f(gate) saved from the forward.

    act_out(x, out=o) writes f(x); act_backward_into(g, x, o) writes g * f'(x).
    grad_gate = f_backward(g * up, gate), grad_up = g * f(gate).
    """

    def forward(gate, up, *, out):
        def call():
            act_out(gate, out=out)
            return torch.mul(out, up, out=out)

        return call

    def backward(g, gate, up, *, out):
        d_gate, d_up = out
        saved = act_out(gate, out=torch.empty_like(gate))

        def call():
            torch.mul(g, up, out=d_gate)
            act_backward_into(d_gate, gate, d_gate)
            torch.mul(g, saved, out=d_up)
            return d_gate, d_up

        return call

    def derivative(gate, up, *, out):
        return backward(torch.ones_like(gate), gate, up, out=out)

    return TorchBaseline(forward, derivative, backward)


_SWIGLU = _gated(_nn.silu,
                 lambda g, x, o: aten.silu_backward.grad_input(g, x, grad_input=o))
_GEGLU = _gated(lambda x, out: _nn.gelu(x, approximate="none", out=out),
                lambda g, x, o: aten.gelu_backward.grad_input(g, x, approximate="none",
                                                              grad_input=o))

TORCH_BASELINES = {
    "relu": _RELU,
    "leaky_relu": _LEAKY,
    "elu": _ELU,
    "selu": _SELU,
    "gelu": _GELU,
    "sigmoid": _SIGMOID,
    "log_sigmoid": _LOG_SIGMOID,
    "tanh": _TANH,
    "silu": _SILU,
    "swish": _SWISH,
    "mish": _MISH,
    "softplus": _SOFTPLUS,
    "hardsigmoid": _HARDSIGMOID,
    "hardswish": _HARDSWISH,
    "rrelu": _RRELU,
    "prelu": _PRELU,
    "softmax": _SOFTMAX,
    "log_softmax": _LOG_SOFTMAX,
    "glu": _GLU,
    "swiglu": _SWIGLU,
    "geglu": _GEGLU,
}


def copy_call(src, dst):
    """A callable copying src into dst (NumPy arrays) with torch's threaded copy_."""
    s, d = torch.from_numpy(src), torch.from_numpy(dst)
    return lambda: d.copy_(s)
