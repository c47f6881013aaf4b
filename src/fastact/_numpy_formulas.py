"""The NumPy baselines of the benchmark: the best plain-NumPy formula per activation.

``NUMPY_BASELINES`` maps each registry name to ``Baseline(forward,
derivative, backward)``: the fastest straightforward NumPy formula (ufunc
chains with ``out=`` into scratch buffers), computing the same function for
the registry's DEFAULT parameters. They are checked against
``fastact.reference`` in tests/test_cli.py but are not meant to be accurate in
the tails (sigmoid through 1/(1+exp(-x)), softplus through log1p(exp(x)), ...).
Each takes the same positional arrays as the fastact function of that mode and
``out=`` (an array, or a pair for swiglu/geglu derivative and backward) and
``ws=`` (a :class:`Workspace`); both may be omitted.

Timing lives in ``fastact._bench``; the PyTorch peers in
``fastact._torch_formulas``.
"""
import math
from typing import Callable, NamedTuple

import numpy as np

from . import reference as _reference

# --------------------------------------------------------------------------
# erf / erfc for exact gelu: SciPy if importable, else math.erfc per element
# --------------------------------------------------------------------------

try:
    from scipy.special import erfc as _erfc_ufunc

    ERF_SOURCE = "scipy.special.erfc"

    def _erfc_into(t, o):
        return _erfc_ufunc(t, out=o)

except ImportError:  # pragma: no cover - depends on the environment
    _erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])
    ERF_SOURCE = "np.vectorize(math.erfc) (SciPy not installed; slow)"

    def _erfc_into(t, o):
        o[...] = _erfc_vec(t)
        return o


# --------------------------------------------------------------------------
# Scratch buffers
# --------------------------------------------------------------------------


class Workspace:
    """Preallocated scratch arrays, made on first use and reused afterwards."""

    def __init__(self):
        self._arrays = {}

    def get(self, key, shape, dtype):
        shape = tuple(shape)
        dtype = np.dtype(dtype)
        array = self._arrays.get(key)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._arrays[key] = np.empty(shape, dtype)
        return array

    def like(self, key, x, dtype=None):
        return self.get(key, x.shape, x.dtype if dtype is None else dtype)


def _prepare(x, out, ws, shape=None):
    """(out, ws), making whichever was not given."""
    if ws is None:
        ws = Workspace()
    if out is None:
        out = np.empty(x.shape if shape is None else shape, x.dtype)
    return out, ws


def _prepare_pair(x, out, ws):
    if ws is None:
        ws = Workspace()
    if out is None:
        out = (np.empty_like(x), np.empty_like(x))
    return out, ws


# --------------------------------------------------------------------------
# Building blocks: write f(x) into o, using ws for temporaries
# --------------------------------------------------------------------------

_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SELU_ALPHA = _reference.SELU_ALPHA
_SELU_SCALE = _reference.SELU_SCALE
_RRELU_SLOPE = (1 / 8 + 1 / 3) / 2


def _sigmoid_into(x, o, scale=None):
    """o = 1 / (1 + exp(-scale * x))."""
    if scale is None:
        np.negative(x, out=o)
    else:
        np.multiply(x, -scale, out=o)
    np.exp(o, out=o)
    np.add(o, 1, out=o)
    return np.reciprocal(o, out=o)


def _silu_into(x, o):
    """o = x / (1 + exp(-x))."""
    np.negative(x, out=o)
    np.exp(o, out=o)
    np.add(o, 1, out=o)
    return np.divide(x, o, out=o)


def _silu_derivative_into(x, o, ws, key="silu_s", s=None):
    """o = s * (1 + x * (1 - s)), s = sigmoid(x); returns (o, s)."""
    if s is None:
        s = _sigmoid_into(x, ws.like(key, x))
    np.subtract(1, s, out=o)
    np.multiply(o, x, out=o)
    np.add(o, 1, out=o)
    np.multiply(o, s, out=o)
    return o, s


def _gelu_into(x, o):
    """o = x/2 * erfc(-x / sqrt(2))."""
    np.multiply(x, -_SQRT1_2, out=o)
    _erfc_into(o, o)
    np.multiply(o, x, out=o)
    return np.multiply(o, 0.5, out=o)


def _gelu_derivative_into(x, o, ws):
    """o = erfc(-x/sqrt(2))/2 + x * exp(-x^2/2) / sqrt(2 pi)."""
    t = ws.like("gelu_t", x)
    np.multiply(x, x, out=t)
    np.multiply(t, -0.5, out=t)
    np.exp(t, out=t)
    np.multiply(t, x, out=t)
    np.multiply(t, _INV_SQRT_2PI, out=t)
    np.multiply(x, -_SQRT1_2, out=o)
    _erfc_into(o, o)
    np.multiply(o, 0.5, out=o)
    return np.add(o, t, out=o)


def _leaky_into(x, o, ws, slope):
    """o = max(x, slope * x) (0 <= slope <= 1)."""
    t = ws.like("leaky_t", x)
    np.multiply(x, slope, out=t)
    return np.maximum(x, t, out=o)


def _leaky_derivative_into(x, o, slope):
    """o = 1 if x > 0 else slope: (x > 0) * (1 - slope) + slope."""
    np.greater(x, 0, out=o)
    np.multiply(o, 1 - slope, out=o)
    return np.add(o, slope, out=o)


def _backward(derivative_into):
    """g * f'(x) from a function that writes f'(x) into o."""

    def backward(grad_output, x, *, out=None, ws=None):
        out, ws = _prepare(x, out, ws)
        derivative_into(x, out, ws)
        return np.multiply(out, grad_output, out=out)

    return backward


def _unary(into):
    """A baseline f(x, out=None, ws=None) from into(x, o, ws)."""

    def function(x, *, out=None, ws=None):
        out, ws = _prepare(x, out, ws)
        return into(x, out, ws)

    return function


class Baseline(NamedTuple):
    forward: Callable
    derivative: Callable
    backward: Callable


def _elementwise(forward_into, derivative_into, backward=None):
    return Baseline(_unary(forward_into), _unary(derivative_into),
                    backward or _backward(derivative_into))


# --- relu ---------------------------------------------------------------

def _relu(x, o, ws):
    return np.maximum(x, 0, out=o)


def _relu_d(x, o, ws):
    # x > 0 written straight into the float output (np.heaviside and
    # np.copyto(where=) are several times slower: branchy loops).
    return np.greater(x, 0, out=o)


# --- elu / selu (default alpha = 1) ------------------------------------

def _elu(x, o, ws):
    """max(x, 0) + expm1(min(x, 0))."""
    t = ws.like("elu_t", x)
    np.minimum(x, 0, out=t)
    np.expm1(t, out=t)
    np.maximum(x, 0, out=o)
    return np.add(o, t, out=o)


def _elu_d(x, o, ws):
    """exp(min(x, 0)): 1 for x > 0, exp(x) else (alpha = 1)."""
    np.minimum(x, 0, out=o)
    return np.exp(o, out=o)


def _selu(x, o, ws):
    t = ws.like("selu_t", x)
    np.minimum(x, 0, out=t)
    np.expm1(t, out=t)
    np.multiply(t, _SELU_ALPHA, out=t)
    np.maximum(x, 0, out=o)
    np.add(o, t, out=o)
    return np.multiply(o, _SELU_SCALE, out=o)


def _selu_d(x, o, ws):
    """scale * alpha * exp(min(x, 0)) + scale * (1 - alpha) * (x > 0)."""
    t = ws.like("selu_t", x)
    np.minimum(x, 0, out=t)
    np.exp(t, out=t)
    np.multiply(t, _SELU_SCALE * _SELU_ALPHA, out=t)
    np.greater(x, 0, out=o)
    np.multiply(o, _SELU_SCALE * (1 - _SELU_ALPHA), out=o)
    return np.add(o, t, out=o)


# --- sigmoid family -----------------------------------------------------

def _sigmoid(x, o, ws):
    return _sigmoid_into(x, o)


def _sigmoid_d(x, o, ws):
    s = _sigmoid_into(x, ws.like("sigmoid_s", x))
    np.subtract(1, s, out=o)
    return np.multiply(o, s, out=o)


def _log_sigmoid(x, o, ws):
    """-log1p(exp(-x))."""
    np.negative(x, out=o)
    np.exp(o, out=o)
    np.log1p(o, out=o)
    return np.negative(o, out=o)


def _one_plus_exp(x, o):
    np.exp(x, out=o)
    return np.add(o, 1, out=o)


def _log_sigmoid_d(x, o, ws):
    """sigmoid(-x) = 1 / (1 + exp(x))."""
    return np.reciprocal(_one_plus_exp(x, o), out=o)


def _log_sigmoid_backward(grad_output, x, *, out=None, ws=None):
    """g / (1 + exp(x))."""
    out, ws = _prepare(x, out, ws)
    return np.divide(grad_output, _one_plus_exp(x, out), out=out)


def _tanh(x, o, ws):
    return np.tanh(x, out=o)


def _tanh_d(x, o, ws):
    """1 - tanh(x)^2."""
    np.tanh(x, out=o)
    np.multiply(o, o, out=o)
    return np.subtract(1, o, out=o)


def _silu(x, o, ws):
    return _silu_into(x, o)


def _silu_d(x, o, ws):
    return _silu_derivative_into(x, o, ws)[0]


def _swish(x, o, ws, beta=1.0):
    """x / (1 + exp(-beta x))."""
    np.multiply(x, -beta, out=o)
    np.exp(o, out=o)
    np.add(o, 1, out=o)
    return np.divide(x, o, out=o)


def _swish_d(x, o, ws, beta=1.0):
    """silu'(beta x)."""
    u = ws.like("swish_u", x)
    np.multiply(x, beta, out=u)
    return _silu_derivative_into(u, o, ws)[0]


def _mish(x, o, ws):
    """x * tanh(log1p(exp(x)))."""
    np.exp(x, out=o)
    np.log1p(o, out=o)
    np.tanh(o, out=o)
    return np.multiply(o, x, out=o)


def _mish_d(x, o, ws):
    """tanh(sp) + x * sigmoid(x) * (1 - tanh(sp)^2), sp = log1p(exp(x))."""
    e = ws.like("mish_e", x)
    tsp = ws.like("mish_tsp", x)
    np.exp(x, out=e)
    np.log1p(e, out=tsp)
    np.tanh(tsp, out=tsp)
    np.add(e, 1, out=o)
    np.divide(e, o, out=e)          # sigmoid(x) = e / (1 + e)
    np.multiply(tsp, tsp, out=o)
    np.subtract(1, o, out=o)
    np.multiply(o, e, out=o)
    np.multiply(o, x, out=o)
    return np.add(o, tsp, out=o)


def _softplus(x, o, ws):
    """log1p(exp(x)) (default beta = 1; above threshold 20 it equals x to rounding)."""
    np.exp(x, out=o)
    return np.log1p(o, out=o)


def _softplus_d(x, o, ws):
    return _sigmoid_into(x, o)


def _softplus_backward(grad_output, x, *, out=None, ws=None):
    """g / (1 + exp(-x))."""
    out, ws = _prepare(x, out, ws)
    np.negative(x, out=out)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.divide(grad_output, out, out=out)


def _hardsigmoid(x, o, ws):
    """clip(x / 6 + 1/2, 0, 1)."""
    np.multiply(x, 1 / 6, out=o)
    np.add(o, 0.5, out=o)
    return np.clip(o, 0, 1, out=o)


def _hardsigmoid_d(x, o, ws):
    """(|x| < 3) / 6."""
    t = ws.like("hs_t", x)
    np.abs(x, out=t)
    np.less(t, 3, out=o)
    return np.multiply(o, 1 / 6, out=o)


def _hardswish(x, o, ws):
    """x * clip(x + 3, 0, 6) / 6."""
    np.add(x, 3, out=o)
    np.clip(o, 0, 6, out=o)
    np.multiply(o, x, out=o)
    return np.multiply(o, 1 / 6, out=o)


def _hardswish_d(x, o, ws):
    """(clip(x, -3, 3) / 3 + 1/2) * (x > -3) - (x >= 3) / 2, without branches."""
    t = ws.like("hsw_t", x)
    np.clip(x, -3, 3, out=o)
    np.multiply(o, 1 / 3, out=o)
    np.add(o, 0.5, out=o)
    np.greater(x, -3, out=t)
    np.multiply(o, t, out=o)
    np.greater_equal(x, 3, out=t)
    np.multiply(t, 0.5, out=t)
    return np.subtract(o, t, out=o)


# --- leaky_relu / rrelu (eval mode) / prelu ------------------------------

def _leaky(slope):
    return _elementwise(lambda x, o, ws: _leaky_into(x, o, ws, slope),
                        lambda x, o, ws: _leaky_derivative_into(x, o, slope))


def _prelu_w(x, weight, axis):
    w = np.asarray(weight)
    if w.size == 1:
        return w.reshape(())
    shape = [1] * x.ndim
    shape[axis] = w.size
    return w.reshape(shape)


def _prelu_forward(x, weight, *, axis=1, out=None, ws=None):
    """max(x, 0) + w * min(x, 0)."""
    out, ws = _prepare(x, out, ws)
    w = _prelu_w(x, weight, axis)
    t = ws.like("prelu_t", x)
    np.minimum(x, 0, out=t)
    np.multiply(t, w, out=t)
    np.maximum(x, 0, out=out)
    return np.add(out, t, out=out)


def _prelu_derivative(x, weight, *, axis=1, out=None, ws=None):
    """(x > 0) * (1 - w) + w."""
    out, ws = _prepare(x, out, ws)
    w = _prelu_w(x, weight, axis)
    np.greater(x, 0, out=out)
    np.multiply(out, 1 - w, out=out)
    return np.add(out, w, out=out)


def _prelu_backward(grad_output, x, weight, *, axis=1, out=None, ws=None):
    out, ws = _prepare(x, out, ws)
    _prelu_derivative(x, weight, axis=axis, out=out, ws=ws)
    return np.multiply(out, grad_output, out=out)


# --- softmax / log_softmax over the last axis ---------------------------

def _row_shape(x):
    return x.shape[:-1] + (1,)


def _softmax(x, axis=-1, *, out=None, ws=None):
    """exp(x - max) / sum, in place in out."""
    out, ws = _prepare(x, out, ws)
    r = ws.get("row", _row_shape(x), x.dtype)
    np.max(x, axis=-1, keepdims=True, out=r)
    np.subtract(x, r, out=out)
    np.exp(out, out=out)
    np.sum(out, axis=-1, keepdims=True, out=r)
    return np.divide(out, r, out=out)


def _log_softmax(x, axis=-1, *, out=None, ws=None):
    """(x - max) - log(sum(exp(x - max)))."""
    out, ws = _prepare(x, out, ws)
    r = ws.get("row", _row_shape(x), x.dtype)
    e = ws.like("lsm_e", x)
    np.max(x, axis=-1, keepdims=True, out=r)
    np.subtract(x, r, out=out)
    np.exp(out, out=e)
    np.sum(e, axis=-1, keepdims=True, out=r)
    np.log(r, out=r)
    return np.subtract(out, r, out=out)


def _softmax_backward(grad_output, y, axis=-1, *, out=None, ws=None):
    """y * (g - sum(g * y))."""
    out, ws = _prepare(y, out, ws)
    r = ws.get("row", _row_shape(y), y.dtype)
    np.multiply(grad_output, y, out=out)
    np.sum(out, axis=-1, keepdims=True, out=r)
    np.subtract(grad_output, r, out=out)
    return np.multiply(out, y, out=out)


def _log_softmax_backward(grad_output, y, axis=-1, *, out=None, ws=None):
    """g - exp(y) * sum(g)."""
    out, ws = _prepare(y, out, ws)
    r = ws.get("row", _row_shape(y), y.dtype)
    np.sum(grad_output, axis=-1, keepdims=True, out=r)
    np.exp(y, out=out)
    np.multiply(out, r, out=out)
    return np.subtract(grad_output, out, out=out)


def _jacobian_shape(y):
    n = y.shape[-1]
    return y.shape[:-1] + (n, n)


def _softmax_jacobian(y, axis=-1, *, out=None, ws=None):
    """diag(y) - y y^T per row."""
    out, ws = _prepare(y, out, ws, _jacobian_shape(y))
    n = y.shape[-1]
    np.multiply(y[..., :, None], y[..., None, :], out=out)
    np.negative(out, out=out)
    diagonal = out.reshape(y.shape[:-1] + (n * n,))[..., :: n + 1]
    np.add(diagonal, y, out=diagonal)
    return out


def _log_softmax_jacobian(y, axis=-1, *, out=None, ws=None):
    """I - 1 exp(y)^T per row."""
    out, ws = _prepare(y, out, ws, _jacobian_shape(y))
    n = y.shape[-1]
    e = ws.like("lsmj_e", y)
    eye = ws.get("eye", (n, n), y.dtype)
    eye[...] = np.eye(n, dtype=y.dtype)
    np.exp(y, out=e)
    return np.subtract(eye, e[..., None, :], out=out)


# --- gated: glu over the last axis, swiglu, geglu ----------------------

def _glu(x, axis=-1, *, out=None, ws=None):
    """a / (1 + exp(-b))."""
    n = x.shape[-1] // 2
    a, b = x[..., :n], x[..., n:]
    out, ws = _prepare(x, out, ws, a.shape)
    np.negative(b, out=out)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.divide(a, out, out=out)


def _glu_backward_into(grad_output, x, out, ws):
    n = x.shape[-1] // 2
    a, b = x[..., :n], x[..., n:]
    out, ws = _prepare(x, out, ws)
    oa, ob = out[..., :n], out[..., n:]
    _sigmoid_into(b, oa)                 # s
    np.subtract(1, oa, out=ob)
    np.multiply(ob, oa, out=ob)          # s (1 - s)
    np.multiply(ob, a, out=ob)
    if grad_output is not None:
        np.multiply(ob, grad_output, out=ob)
        np.multiply(oa, grad_output, out=oa)
    return out


def _glu_derivative(x, axis=-1, *, out=None, ws=None):
    """[sigmoid(b), a * sigmoid(b) * (1 - sigmoid(b))]."""
    return _glu_backward_into(None, x, out, ws)


def _glu_backward(grad_output, x, axis=-1, *, out=None, ws=None):
    return _glu_backward_into(grad_output, x, out, ws)


def _gated(act_into, act_derivative_into, act_after_derivative=None):
    """Baseline of y = f(gate) * up from f's building blocks.

    act_into(x, o, ws) writes f(x); act_derivative_into(x, o, ws) writes
    f'(x); act_after_derivative(x, o, ws), if given, writes f(x) reusing what
    the derivative left in ws (silu(x) = x * sigmoid(x)), else act_into is
    called again.
    derivative: (f'(gate) * up, f(gate)); backward: the same times grad_output.
    """
    again = act_after_derivative or (lambda x, o, ws: act_into(x, o, ws))

    def forward(gate, up, *, out=None, ws=None):
        out, ws = _prepare(gate, out, ws)
        act_into(gate, out, ws)
        return np.multiply(out, up, out=out)

    def backward_into(grad_output, gate, up, out, ws):
        (d_gate, d_up), ws = _prepare_pair(gate, out, ws)
        act_derivative_into(gate, d_gate, ws)
        again(gate, d_up, ws)
        np.multiply(d_gate, up, out=d_gate)
        if grad_output is not None:
            np.multiply(d_gate, grad_output, out=d_gate)
            np.multiply(d_up, grad_output, out=d_up)
        return d_gate, d_up

    def derivative(gate, up, *, out=None, ws=None):
        return backward_into(None, gate, up, out, ws)

    def backward(grad_output, gate, up, *, out=None, ws=None):
        return backward_into(grad_output, gate, up, out, ws)

    return Baseline(forward, derivative, backward)


_SWIGLU = _gated(
    lambda x, o, ws: _silu_into(x, o),
    # leaves sigmoid(gate) in ws["silu_s"] ...
    lambda x, o, ws: _silu_derivative_into(x, o, ws)[0],
    # ... so silu(gate) = gate * sigmoid(gate) costs one multiply
    lambda x, o, ws: np.multiply(x, ws.like("silu_s", x), out=o),
)
_GEGLU = _gated(lambda x, o, ws: _gelu_into(x, o), _gelu_derivative_into)


NUMPY_BASELINES = {
    "relu": _elementwise(_relu, _relu_d),
    "leaky_relu": _leaky(0.01),
    "elu": _elementwise(_elu, _elu_d),
    "selu": _elementwise(_selu, _selu_d),
    "gelu": _elementwise(lambda x, o, ws: _gelu_into(x, o), _gelu_derivative_into),
    "sigmoid": _elementwise(_sigmoid, _sigmoid_d),
    "log_sigmoid": _elementwise(_log_sigmoid, _log_sigmoid_d, _log_sigmoid_backward),
    "tanh": _elementwise(_tanh, _tanh_d),
    "silu": _elementwise(_silu, _silu_d),
    "swish": _elementwise(_swish, _swish_d),
    "mish": _elementwise(_mish, _mish_d),
    "softplus": _elementwise(_softplus, _softplus_d, _softplus_backward),
    "hardsigmoid": _elementwise(_hardsigmoid, _hardsigmoid_d),
    "hardswish": _elementwise(_hardswish, _hardswish_d),
    "rrelu": _leaky(_RRELU_SLOPE),
    "prelu": Baseline(_prelu_forward, _prelu_derivative, _prelu_backward),
    "softmax": Baseline(_softmax, _softmax_jacobian, _softmax_backward),
    "log_softmax": Baseline(_log_softmax, _log_softmax_jacobian, _log_softmax_backward),
    "glu": Baseline(_glu, _glu_derivative, _glu_backward),
    "swiglu": _SWIGLU,
    "geglu": _GEGLU,
}
