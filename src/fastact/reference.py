"""The executable specification of fastact: plain NumPy versions of every kernel.

Every forward, derivative and backward of the public API (see ``fastact``) is
written here once more, slowly and in the most readable way, and the Cython
kernels are tested against these functions (and against high-precision values).
When a kernel and this module disagree, this module says what was meant.

Conventions:

* Everything is computed in float64 and every function returns float64 arrays
  (0-d arrays for 0-d input, a tuple of arrays for the gated derivatives and
  backwards); callers cast to the input's dtype themselves. Inputs are accepted
  as the public API accepts them: float32/float64 arrays, and bool/integer
  arrays, Python numbers and lists (converted to float64); any other dtype
  (float16, complex, object, strings) raises TypeError.
* Same names and parameters (names, defaults, keyword-only-ness) as the public
  API, without ``out=``. Parameters are validated as the public API does:
  ValueError naming the parameter.
* ``NAME_backward(grad_output, x, ...)`` is ``grad_output * NAME_derivative(x,
  ...)``, built by one helper for all elementwise activations.
* The numerically stable formulas are used (sigmoid on -|x|, softplus and
  log_sigmoid through log1p(exp(-|x|)), ELU/SELU through expm1, exact GELU as
  x * Phi(x) with an accurate normal CDF, derivatives from the input, never from
  the output), so these functions are also accurate references in the tails.
* Arguments that the formula itself computes (beta * x in swish and softplus,
  z = sqrt(2/pi) (x + 0.044715 x^3) in gelu(approximate='tanh'), (x - max) / T
  in softmax) are rounded to float64 as a kernel would round them; in the
  tails exp/sigmoid of such an argument u magnify that rounding to about
  |u| * eps relative (hundreds of ULP for |u| ~ 500). Where the rounding comes
  only from how a function is evaluated and not from its definition (the
  1/sqrt(2) inside Phi, the x^2 inside the normal pdf) it is compensated, so
  gelu and its derivative keep, in the tails too (gelu(-8)), the accuracy of
  libm's erfc: correctly rounded in recent glibc (CORE-MATH's), up to ~3 ULP
  in older ones (3.2 ULP measured on glibc 2.36; Phi within 2.6 ULP).
* SPEC section 4 holds exactly: NaN in gives NaN out (relu and the piecewise
  derivatives included); -0.0 behaves as in PyTorch (relu(-0.0) = -0.0);
  +-inf give the mathematical limit instead of a NaN from inf * 0
  (gelu(-inf) = silu(-inf) = mish(-inf) = -0.0, sigmoid'(inf) = tanh'(inf) =
  gelu'(-inf) = 0); the kinks follow PyTorch.
* Only NumPy and the standard library are used (``math.erfc`` through
  ``np.vectorize``), so the module imports with NumPy alone; no SciPy.
"""

import functools
import inspect
import math
import operator

import numpy as np

__all__ = [
    "relu", "relu_derivative", "relu_backward",
    "leaky_relu", "leaky_relu_derivative", "leaky_relu_backward",
    "prelu", "prelu_derivative", "prelu_backward",
    "rrelu", "rrelu_derivative", "rrelu_backward",
    "elu", "elu_derivative", "elu_backward",
    "selu", "selu_derivative", "selu_backward",
    "gelu", "gelu_derivative", "gelu_backward",
    "sigmoid", "sigmoid_derivative", "sigmoid_backward",
    "log_sigmoid", "log_sigmoid_derivative", "log_sigmoid_backward",
    "tanh", "tanh_derivative", "tanh_backward",
    "silu", "silu_derivative", "silu_backward",
    "swish", "swish_derivative", "swish_backward",
    "mish", "mish_derivative", "mish_backward",
    "softplus", "softplus_derivative", "softplus_backward",
    "hardsigmoid", "hardsigmoid_derivative", "hardsigmoid_backward",
    "hardswish", "hardswish_derivative", "hardswish_backward",
    "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
    "softmax_jacobian", "log_softmax_jacobian",
    "glu", "glu_derivative", "glu_backward",
    "swiglu", "swiglu_derivative", "swiglu_backward",
    "geglu", "geglu_derivative", "geglu_backward",
]

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
GELU_TANH_COEFF = 0.044715  # gelu(approximate='tanh'): x + 0.044715 x^3

_SQRT_2_OVER_PI = 0.7978845608028654  # sqrt(2/pi), correctly rounded
_TWO_OVER_SQRT_PI = 1.1283791670955126  # 2/sqrt(pi) = -d/dt erfc(t) at t = 0
_INV_SQRT_2PI = 0.3989422804014327  # 1/sqrt(2 pi), the normal pdf at 0
# 1/sqrt(2) as an unevaluated sum hi + lo (lo = 1/sqrt(2) - hi, from mpmath).
_INV_SQRT2_HI = 0.7071067811865476
_INV_SQRT2_LO = -4.833646656726457e-17

_erfc = np.vectorize(math.erfc, otypes=[float])

# --------------------------------------------------------------------------
# Input conversion and parameter validation (as the public API does it)
# --------------------------------------------------------------------------


def _as_float64(name, value):
    """``value`` as a new float64 array; TypeError for dtypes fastact refuses."""
    array = np.asarray(value)
    if array.dtype.kind in "biu" or array.dtype in (np.float32, np.float64):
        return array.astype(np.float64)
    raise TypeError(
        f"{name} has dtype {array.dtype}; fastact accepts float32 and float64 "
        "arrays (bool and integer arrays, Python numbers and lists are "
        "converted to float64)"
    )


def _finite(name, value):
    """A float parameter: any finite real number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _finite_nonzero(name, value):
    """A float parameter that may also not be 0 (softplus's beta)."""
    number = _finite(name, value)
    if number == 0:
        raise ValueError(f"{name} must be nonzero, got {value!r}")
    return number


def _temperature(value):
    """The softmax temperature: finite and > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"temperature must be a real number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"temperature must be finite and > 0, got {value!r}")
    return number


def _choice(name, value, options):
    """A string parameter that must be one of ``options``."""
    if not (isinstance(value, str) and value in options):
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _axis(axis, ndim):
    """``axis`` checked against ``ndim`` and made non-negative (NumPy's rule)."""
    try:
        index = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None
    if not -ndim <= index < ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {ndim} dimension(s)")
    return index % ndim


def _rows(x, axis):
    """(x with at least one dimension, the checked axis): a 0-d x is one row."""
    x = x.reshape(1) if x.ndim == 0 else x
    return x, _axis(axis, x.ndim)


def _row_sum(a, axis):
    """np.sum along axis (keepdims), pairwise: NumPy sums a contiguous last axis
    pairwise (error ~log2(n) eps) but any other axis one term after another
    (~n eps; 228 ULP for softmax over a column of 1639)."""
    moved = np.ascontiguousarray(np.moveaxis(a, axis, -1))
    return np.moveaxis(np.sum(moved, axis=-1, keepdims=True), -1, axis)


def _same_shape(name, array, other_name, other):
    if array.shape != other.shape:
        raise ValueError(
            f"{name} has shape {array.shape} but {other_name} has shape {other.shape}; "
            "they must be equal"
        )


def _float64_result(function):
    """Run ``function`` with NumPy's float warnings off and return float64 arrays.

    Overflow, underflow and inf - inf / inf * 0 are expected inside (exp of a
    large argument, NaN rows of softmax, ...), and every result is made a
    float64 ndarray, also for 0-d input (where NumPy would give a scalar).
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            result = function(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(np.asarray(part, dtype=np.float64) for part in result)
        return np.asarray(result, dtype=np.float64)

    return wrapper


# --------------------------------------------------------------------------
# Small numeric building blocks
# --------------------------------------------------------------------------


def _keep_nan(x, d):
    """``d``, but NaN wherever ``x`` is NaN (for piecewise-constant formulas)."""
    return np.where(np.isnan(x), np.nan, d)


def _mul_limit(x, f):
    """``x * f``, reading inf * 0 as its limit: a zero with the sign of ``x``.

    Used where ``f`` tends to 0 as ``x`` tends to +-inf (silu(-inf) = -0.0).
    For finite ``x`` this is exactly ``x * f``; NaN stays NaN.
    """
    return np.where(np.isinf(x) & (f == 0), np.copysign(0.0, x), x * f)


def _with_limits(x, d, minus_inf, plus_inf):
    """``d``, with the given limits at x = -inf and x = +inf."""
    return np.where(x == -np.inf, minus_inf, np.where(x == np.inf, plus_inf, d))


def _sigmoid(x):
    """1 / (1 + exp(-x)), computed from exp(-|x|) so it never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


_EXP_M700 = 9.85967654375977e-305  # exp(-700), correctly rounded (mpmath)


def _times_exp(p, m):
    """p * exp(m) for m <= 0, also where exp(m) alone is subnormal or 0 but the
    product is not (glu(a, b) with a = 1e300, b = -1245.9 is 8.2e-242).

    Below -700, exp(m) = exp(m + 700) * exp(-700), and m + 700 is exact there
    (a multiple of m's ULP, smaller than |m|). An infinite p keeps p * exp(m):
    inf where exp(m) > 0, NaN where it is 0, as PyTorch and the kernels give.
    """
    deep = (m < -700) & np.isfinite(p)
    scaled = (p * np.exp(np.where(deep, m + 700, 0.0))) * _EXP_M700
    return np.where(deep, scaled, p * np.exp(m))


def _times_sigmoid(a, b):
    """a * sigmoid(b), without the underflow of sigmoid(b) for b < -745 (_times_exp)."""
    e = np.exp(-np.abs(b))
    return np.where(b >= 0, a / (1 + e), _times_exp(a, -np.abs(b)) / (1 + e))


def _times_sigmoid_prime(a, b):
    """a * sigmoid(b) * sigmoid(-b) = a e / (1 + e)^2 with e = exp(-|b|) (_times_exp)."""
    e = np.exp(-np.abs(b))
    return _times_exp(a, -np.abs(b)) / (1 + e) ** 2


def _sech_squared(x):
    """1 / cosh(x)^2 = 4 e / (1 + e)^2 with e = exp(-2|x|) (= tanh'(x))."""
    e = np.exp(-2 * np.abs(x))
    return 4 * e / (1 + e) ** 2


def _softplus_unit(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _silu_derivative_of(u):
    """d/du [u sigmoid(u)] = sigmoid(u) (1 + u sigmoid(-u)); 0 at -inf, 1 at inf."""
    return _with_limits(u, _sigmoid(u) * (1 + u * _sigmoid(-u)), 0.0, 1.0)


def _two_product(a, b):
    """(p, e) with p = fl(a * b) and p + e == a * b exactly (Dekker/Veltkamp).

    e is NaN or inf where a or b is huge (> ~1e300) or not finite; callers
    only use it as a small correction and drop it there.
    """

    def split(v):  # v == hi + lo, each with at most 26 significant bits
        c = 134217729.0 * v  # 2**27 + 1
        hi = c - (c - v)
        return hi, v - hi

    p = a * b
    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def _finite_or_zero(v):
    return np.where(np.isfinite(v), v, 0.0)


def _normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2, accurate to ~1 ULP in the lower tail.

    Rounding t = -x/sqrt(2) to float64 changes erfc(t) by a relative 2 t^2 eps,
    about 30 ULP at x = -8. So t is kept as t_hi + t_lo (exact product with a
    two-part 1/sqrt(2)), and the first-order correction
    erfc(t_hi + t_lo) = erfc(t_hi) - t_lo * 2/sqrt(pi) * exp(-t_hi^2) is added.
    """
    t_hi, t_lo = _two_product(-x, _INV_SQRT2_HI)
    t_lo = t_lo + (-x) * _INV_SQRT2_LO
    correction = -t_lo * _TWO_OVER_SQRT_PI * np.exp(-t_hi * t_hi)
    return (_erfc(t_hi) + _finite_or_zero(correction)) / 2


def _normal_pdf(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi), with x^2 taken exactly.

    x * x = sq + sq_err exactly, so exp(-x^2/2) = exp(-sq/2) * (1 - sq_err/2)
    to first order (rounding x^2 would cost a relative x^2/2 * eps).
    """
    sq, sq_err = _two_product(x, x)
    return np.exp(-sq / 2) * (1 - _finite_or_zero(sq_err) / 2) * _INV_SQRT_2PI


def _gelu_tanh_inner(x):
    """z = sqrt(2/pi) (x + 0.044715 x^3); gelu_tanh(x) = x/2 (1 + tanh z) = x sigmoid(2z)."""
    return _SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * (x * x * x))


# --------------------------------------------------------------------------
# Builders of the backward passes
# --------------------------------------------------------------------------


def _backward_from(derivative):
    """NAME_backward(grad_output, x, ...) = grad_output * NAME_derivative(x, ...)."""
    name = derivative.__name__.replace("_derivative", "_backward")

    def backward(grad_output, *args, **kwargs):
        d = derivative(*args, **kwargs)
        grad_output = _as_float64("grad_output", grad_output)
        _same_shape("grad_output", grad_output, "x", d)
        return grad_output * d

    backward.__name__ = backward.__qualname__ = name
    backward.__doc__ = (
        f"grad_output * {derivative.__name__}(x, ...): the gradient with respect to x."
    )
    signature = inspect.signature(derivative)
    grad_param = inspect.Parameter("grad_output", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    backward.__signature__ = signature.replace(
        parameters=[grad_param, *signature.parameters.values()]
    )
    return _float64_result(backward)


def _gated_backward_from(derivative, activation_derivative):
    """NAME_backward(grad_output, gate, up, ...) = (grad_output * d_gate, grad_output * d_up).

    grad_output * d_gate is grad_output * up * f'(gate): where up * f'(gate) is
    subnormal, or underflows to 0 while f'(gate) and grad_output are not 0 and
    finite, its own rounding would dominate, so (grad_output * up) * f'(gate)
    is taken there.
    """
    name = derivative.__name__.replace("_derivative", "_backward")

    def backward(grad_output, gate, up, **kwargs):
        d_gate, d_up = derivative(gate, up, **kwargs)
        grad_output = _as_float64("grad_output", grad_output)
        _same_shape("grad_output", grad_output, "gate", d_gate)
        gate, up = _gate_and_up(gate, up)
        tiny = np.abs(d_gate) < np.finfo(np.float64).tiny
        f_prime = activation_derivative(gate, **kwargs)
        with np.errstate(all="ignore"):
            regroup = tiny & ((d_gate != 0) | ((f_prime != 0) & np.isfinite(grad_output)))
            grad_gate = np.where(regroup, (grad_output * up) * f_prime, grad_output * d_gate)
        return grad_gate, grad_output * d_up

    backward.__name__ = backward.__qualname__ = name
    backward.__doc__ = (
        f"(grad_output * d_gate, grad_output * d_up) with (d_gate, d_up) = "
        f"{derivative.__name__}(gate, up, ...): the gradients wrt gate and up."
    )
    signature = inspect.signature(derivative)
    grad_param = inspect.Parameter("grad_output", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    backward.__signature__ = signature.replace(
        parameters=[grad_param, *signature.parameters.values()]
    )
    return _float64_result(backward)


# --------------------------------------------------------------------------
# Elementwise activations
# --------------------------------------------------------------------------


@_float64_result
def relu(x):
    """max(x, 0); relu(NaN) = NaN and relu(-0.0) = -0.0, as PyTorch."""
    x = _as_float64("x", x)
    return np.where(x < 0, 0.0, x)


@_float64_result
def relu_derivative(x):
    """1 if x > 0 else 0 (so 0 at x = 0); NaN at NaN."""
    x = _as_float64("x", x)
    return _keep_nan(x, np.where(x > 0, 1.0, 0.0))


relu_backward = _backward_from(relu_derivative)


@_float64_result
def leaky_relu(x, *, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    x = _as_float64("x", x)
    slope = _finite("negative_slope", negative_slope)
    return np.where(x > 0, x, _mul_limit(x, slope))


@_float64_result
def leaky_relu_derivative(x, *, negative_slope=0.01):
    """1 if x > 0 else negative_slope (so negative_slope at x = 0)."""
    x = _as_float64("x", x)
    slope = _finite("negative_slope", negative_slope)
    return _keep_nan(x, np.where(x > 0, 1.0, slope))


leaky_relu_backward = _backward_from(leaky_relu_derivative)


def _prelu_weight(weight, x, axis):
    """The prelu weight as an array that broadcasts against x.

    One element applies to every element of x (axis is then not used); else it
    needs x.shape[axis] elements, one per index along axis.
    """
    w = _as_float64("weight", weight)
    if w.ndim > 1:
        raise ValueError(f"weight must be 0-d or 1-d, got shape {w.shape}")
    if w.size == 1:
        return w.reshape(())
    ax = _axis(axis, x.ndim)
    if w.size != x.shape[ax]:
        raise ValueError(
            f"weight has {w.size} elements; it needs 1 or x.shape[axis] = "
            f"{x.shape[ax]} (axis={axis})"
        )
    shape = [1] * x.ndim
    shape[ax] = w.size
    return w.reshape(shape)


@_float64_result
def prelu(x, weight, *, axis=1):
    """x if x > 0 else weight * x, weight taken along axis."""
    x = _as_float64("x", x)
    w = _prelu_weight(weight, x, axis)
    return np.where(x > 0, x, _mul_limit(x, w))


@_float64_result
def prelu_derivative(x, weight, *, axis=1):
    """d/dx prelu: 1 if x > 0 else weight (the gradient wrt x, x's shape)."""
    x = _as_float64("x", x)
    w = _prelu_weight(weight, x, axis)
    return _keep_nan(x, np.where(x > 0, 1.0, w))


prelu_backward = _backward_from(prelu_derivative)


def _rrelu_slopes(x, lower, upper, training, generator):
    """The negative-side slopes of rrelu: one random draw per element in training.

    training=False: the single slope (lower + upper) / 2.
    training=True: np.random.default_rng(generator).uniform(lower, upper,
    size=x.shape), float64. An int seed (or None's fresh entropy) is consumed
    anew by every call, so forward, derivative and backward given the same int
    seed draw the same slopes; a Generator object advances between calls.
    """
    lower = _finite("lower", lower)
    upper = _finite("upper", upper)
    if lower > upper:
        raise ValueError(f"lower must be <= upper, got lower={lower!r}, upper={upper!r}")
    if not training:
        return 0.5 * lower + 0.5 * upper
    if lower == upper:  # also 0.0 and -0.0, which numpy's uniform refuses
        return np.full(np.shape(x), lower)
    return np.random.default_rng(generator).uniform(lower, upper, size=np.shape(x))


@_float64_result
def rrelu(x, *, lower=1 / 8, upper=1 / 3, training=False, generator=None):
    """Randomized leaky relu.

    training=False: leaky_relu(x, negative_slope=(lower + upper) / 2).
    training=True: x if x >= 0 else a * x, a ~ U(lower, upper) per element.
    """
    x = _as_float64("x", x)
    slopes = _rrelu_slopes(x, lower, upper, training, generator)
    if not training:
        return leaky_relu(x, negative_slope=slopes)
    return np.where(x >= 0, x, _mul_limit(x, slopes))


@_float64_result
def rrelu_derivative(x, *, lower=1 / 8, upper=1 / 3, training=False, generator=None):
    """1 if x > 0 else the slope (the mean slope, or the per-element draw a)."""
    x = _as_float64("x", x)
    slopes = _rrelu_slopes(x, lower, upper, training, generator)
    if not training:
        return leaky_relu_derivative(x, negative_slope=slopes)
    return _keep_nan(x, np.where(x > 0, 1.0, slopes))


rrelu_backward = _backward_from(rrelu_derivative)


@_float64_result
def elu(x, *, alpha=1.0):
    """x if x > 0 else alpha * expm1(x)."""
    x = _as_float64("x", x)
    alpha = _finite("alpha", alpha)
    return np.where(x > 0, x, alpha * np.expm1(x))


@_float64_result
def elu_derivative(x, *, alpha=1.0):
    """1 if x > 0 else alpha * exp(x) (so alpha at x = 0)."""
    x = _as_float64("x", x)
    alpha = _finite("alpha", alpha)
    return np.where(x > 0, 1.0, alpha * np.exp(x))


elu_backward = _backward_from(elu_derivative)


@_float64_result
def selu(x):
    """scale * (x if x > 0 else alpha * expm1(x)) with PyTorch's alpha and scale."""
    x = _as_float64("x", x)
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))


@_float64_result
def selu_derivative(x):
    """scale * (1 if x > 0 else alpha * exp(x))."""
    x = _as_float64("x", x)
    return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x))


selu_backward = _backward_from(selu_derivative)


@_float64_result
def gelu(x, *, approximate="none"):
    """x * Phi(x) = x/2 * erfc(-x/sqrt(2)).

    approximate='tanh': x/2 * (1 + tanh(z)) = x * sigmoid(2z),
    z = sqrt(2/pi) * (x + 0.044715 x^3). gelu(-inf) = -0.0.
    """
    x = _as_float64("x", x)
    approximate = _choice("approximate", approximate, ("none", "tanh"))
    if approximate == "tanh":
        return _mul_limit(x, _sigmoid(2 * _gelu_tanh_inner(x)))
    return _mul_limit(x, _normal_cdf(x))


@_float64_result
def gelu_derivative(x, *, approximate="none"):
    """Phi(x) + x * phi(x).

    approximate='tanh': sigmoid(2z) + 2 x z' sigmoid(2z) sigmoid(-2z),
    z' = sqrt(2/pi) * (1 + 3 * 0.044715 x^2). 0 at -inf, 1 at +inf.
    """
    x = _as_float64("x", x)
    approximate = _choice("approximate", approximate, ("none", "tanh"))
    if approximate == "tanh":
        two_z = 2 * _gelu_tanh_inner(x)
        two_dz = 2 * _SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_COEFF * (x * x))
        s = _sigmoid(two_z)
        return s + _mul_limit(x * two_dz, s * _sigmoid(-two_z))
    return _normal_cdf(x) + _mul_limit(x, _normal_pdf(x))


gelu_backward = _backward_from(gelu_derivative)


@_float64_result
def sigmoid(x):
    """1 / (1 + exp(-x)), evaluated on -|x| and reflected."""
    return _sigmoid(_as_float64("x", x))


@_float64_result
def sigmoid_derivative(x):
    """sigmoid(x) * sigmoid(-x) (not y * (1 - y), which is 0 in the tails)."""
    x = _as_float64("x", x)
    return _sigmoid(x) * _sigmoid(-x)


sigmoid_backward = _backward_from(sigmoid_derivative)


@_float64_result
def log_sigmoid(x):
    """-log(1 + exp(-x)) = min(x, 0) - log1p(exp(-|x|))."""
    x = _as_float64("x", x)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


@_float64_result
def log_sigmoid_derivative(x):
    """sigmoid(-x)."""
    return _sigmoid(-_as_float64("x", x))


log_sigmoid_backward = _backward_from(log_sigmoid_derivative)


@_float64_result
def tanh(x):
    """tanh(x)."""
    return np.tanh(_as_float64("x", x))


@_float64_result
def tanh_derivative(x):
    """1 / cosh(x)^2 = 4 e / (1 + e)^2 with e = exp(-2|x|) (not 1 - tanh^2)."""
    return _sech_squared(_as_float64("x", x))


tanh_backward = _backward_from(tanh_derivative)


@_float64_result
def silu(x):
    """x * sigmoid(x); silu(-inf) = -0.0."""
    x = _as_float64("x", x)
    return _mul_limit(x, _sigmoid(x))


@_float64_result
def silu_derivative(x):
    """sigmoid(x) * (1 + x * sigmoid(-x)); 0 at -inf, 1 at +inf."""
    return _silu_derivative_of(_as_float64("x", x))


silu_backward = _backward_from(silu_derivative)


@_float64_result
def swish(x, *, beta=1.0):
    """x * sigmoid(beta * x) (beta = 0 gives x / 2, also at +-inf)."""
    x = _as_float64("x", x)
    beta = _finite("beta", beta)
    u = _mul_limit(x, beta)
    return _mul_limit(x, _sigmoid(u))


@_float64_result
def swish_derivative(x, *, beta=1.0):
    """sigmoid(u) * (1 + u * sigmoid(-u)) with u = beta * x (= silu'(beta x))."""
    x = _as_float64("x", x)
    beta = _finite("beta", beta)
    return _silu_derivative_of(_mul_limit(x, beta))


swish_backward = _backward_from(swish_derivative)


@_float64_result
def mish(x):
    """x * tanh(softplus(x)); mish(-inf) = -0.0."""
    x = _as_float64("x", x)
    return _mul_limit(x, np.tanh(_softplus_unit(x)))


@_float64_result
def mish_derivative(x):
    """tanh(sp) + x * sigmoid(x) / cosh(sp)^2 with sp = softplus(x); 0 at -inf, 1 at +inf."""
    x = _as_float64("x", x)
    sp = _softplus_unit(x)
    d = np.tanh(sp) + x * _sigmoid(x) * _sech_squared(sp)
    return _with_limits(x, d, 0.0, 1.0)


mish_backward = _backward_from(mish_derivative)


@_float64_result
def softplus(x, *, beta=1.0, threshold=20.0):
    """x if beta * x > threshold else log(1 + exp(beta * x)) / beta.

    log(1 + exp(u)) is taken as max(u, 0) + log1p(exp(-|u|)).
    """
    x = _as_float64("x", x)
    beta = _finite_nonzero("beta", beta)
    threshold = _finite("threshold", threshold)
    u = beta * x
    return np.where(u > threshold, x, _softplus_unit(u) / beta)


@_float64_result
def softplus_derivative(x, *, beta=1.0, threshold=20.0):
    """1 if beta * x > threshold else sigmoid(beta * x)."""
    x = _as_float64("x", x)
    beta = _finite_nonzero("beta", beta)
    threshold = _finite("threshold", threshold)
    u = beta * x
    return np.where(u > threshold, 1.0, _sigmoid(u))


softplus_backward = _backward_from(softplus_derivative)


@_float64_result
def hardsigmoid(x):
    """min(max(x + 3, 0), 6) / 6."""
    x = _as_float64("x", x)
    return np.minimum(np.maximum(x + 3, 0), 6) / 6


@_float64_result
def hardsigmoid_derivative(x):
    """1/6 on the open interval (-3, 3), else 0."""
    x = _as_float64("x", x)
    return _keep_nan(x, np.where((x > -3) & (x < 3), 1 / 6, 0.0))


hardsigmoid_backward = _backward_from(hardsigmoid_derivative)


@_float64_result
def hardswish(x):
    """x * min(max(x + 3, 0), 6) / 6; hardswish(-inf) = -0.0.

    x itself for x >= 3, where x * 6 / 6 would overflow near the largest float.
    """
    x = _as_float64("x", x)
    return np.where(x >= 3, x, _mul_limit(x, np.minimum(np.maximum(x + 3, 0), 6)) / 6)


@_float64_result
def hardswish_derivative(x):
    """0 for x <= -3, x/3 + 1/2 on (-3, 3), 1 for x >= 3.

    Evaluated as (2x + 3) / 6: near the zero at x = -1.5, 2x + 3 is exact, where
    x/3 + 1/2 would cancel two rounded terms.
    """
    x = _as_float64("x", x)
    return np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, (2 * x + 3) / 6))


hardswish_backward = _backward_from(hardswish_derivative)


# --------------------------------------------------------------------------
# Row-wise: softmax and log_softmax along axis
# --------------------------------------------------------------------------


@_float64_result
def softmax(x, axis=-1, *, temperature=1.0, masked_rows="nan"):
    """softmax(x / T) along axis: exp((x - max) / T), divided by its row sum.

    A row whose max is not finite gives a NaN row: all -inf (fully masked),
    any +inf, or any NaN. masked_rows='zero' gives zeros for all -inf rows.
    """
    x = _as_float64("x", x)
    shape = x.shape
    x, ax = _rows(x, axis)
    t = _temperature(temperature)
    masked_rows = _choice("masked_rows", masked_rows, ("nan", "zero"))
    row_max = np.max(x, axis=ax, keepdims=True, initial=-np.inf)
    e = np.exp((x - row_max) / t)
    y = e / _row_sum(e, ax)
    y = np.where(np.isfinite(row_max), y, np.nan)
    if masked_rows == "zero":
        fully_masked = np.all(x == -np.inf, axis=ax, keepdims=True)
        y = np.where(fully_masked, 0.0, y)
    return y.reshape(shape)


@_float64_result
def log_softmax(x, axis=-1, *, temperature=1.0):
    """log(softmax(x / T)) along axis: z - log(sum(exp(z))), z = (x - max) / T.

    One maximum element has z = 0 and exp(z) = 1, so the log of the sum is
    taken as log1p(sum of exp(z) over the other elements): the max element's
    value is -log1p(rest), without the cancellation of log(1 + rest).
    Rows whose max is not finite (all -inf, any +inf, any NaN) give NaN rows.
    """
    x = _as_float64("x", x)
    shape = x.shape
    x, ax = _rows(x, axis)
    t = _temperature(temperature)
    if x.shape[ax] == 0:
        return x.copy()
    row_max = np.max(x, axis=ax, keepdims=True)
    z = (x - row_max) / t
    e = np.exp(z)
    first_max = np.argmax(x, axis=ax, keepdims=True)
    np.put_along_axis(e, first_max, 0.0, axis=ax)  # leave that element's 1 out
    rest = _row_sum(e, ax)
    y = z - np.log1p(rest)
    return np.where(np.isfinite(row_max), y, np.nan).reshape(shape)


@_float64_result
def softmax_backward(grad_output, y, axis=-1, *, temperature=1.0):
    """Gradient wrt x of softmax(x / T), from its OUTPUT y: y * (g - sum(g * y)) / T."""
    y = _as_float64("y", y)
    g = _as_float64("grad_output", grad_output)
    _same_shape("grad_output", g, "y", y)
    shape = y.shape
    (y, ax), (g, _) = _rows(y, axis), _rows(g, axis)
    t = _temperature(temperature)
    return (y * (g - _row_sum(g * y, ax)) / t).reshape(shape)


@_float64_result
def log_softmax_backward(grad_output, y, axis=-1, *, temperature=1.0):
    """Gradient wrt x of log_softmax(x / T), from its OUTPUT y: (g - exp(y) * sum(g)) / T."""
    y = _as_float64("y", y)
    g = _as_float64("grad_output", grad_output)
    _same_shape("grad_output", g, "y", y)
    shape = y.shape
    (y, ax), (g, _) = _rows(y, axis), _rows(g, axis)
    t = _temperature(temperature)
    return ((g - np.exp(y) * _row_sum(g, ax)) / t).reshape(shape)


@_float64_result
def softmax_jacobian(y, axis=-1, *, temperature=1.0):
    """The Jacobian dy/dx of y = softmax(x / T) from y: (diag(y) - y y^T) / T.

    Shape: the dimensions of y other than axis, in order, then (n, n);
    J[..., i, j] = dy_i / dx_j (symmetric).
    """
    y, ax = _rows(_as_float64("y", y), axis)
    t = _temperature(temperature)
    rows = np.moveaxis(y, ax, -1)
    n = rows.shape[-1]
    jac = -(rows[..., :, None] * rows[..., None, :])
    diagonal = np.arange(n)
    jac[..., diagonal, diagonal] += rows
    return jac / t


@_float64_result
def log_softmax_jacobian(y, axis=-1, *, temperature=1.0):
    """The Jacobian of y = log_softmax(x / T) from y: (I - 1 exp(y)^T) / T.

    J[..., i, j] = dy_i / dx_j; shape as for softmax_jacobian.
    """
    y, ax = _rows(_as_float64("y", y), axis)
    t = _temperature(temperature)
    rows = np.moveaxis(y, ax, -1)
    return (np.eye(rows.shape[-1]) - np.exp(rows)[..., None, :]) / t


# --------------------------------------------------------------------------
# Gated: glu, swiglu, geglu
# --------------------------------------------------------------------------


def _glu_halves(x, axis):
    """(a, b, axis): the first and second halves of x along axis."""
    ax = _axis(axis, x.ndim)
    n = x.shape[ax]
    if n % 2:
        raise ValueError(
            f"glu splits x in halves along axis, but x.shape[axis] = {n} is odd (axis={axis})"
        )
    a, b = np.split(x, 2, axis=ax)
    return a, b, ax


@_float64_result
def glu(x, axis=-1):
    """a * sigmoid(b), where a, b are the first and second halves of x along axis."""
    x = _as_float64("x", x)
    a, b, _ = _glu_halves(x, axis)
    return _times_sigmoid(a, b)


@_float64_result
def glu_derivative(x, axis=-1):
    """[sigmoid(b), a * sigmoid(b) * sigmoid(-b)] joined along axis (x's shape).

    The partial derivatives of y = a * sigmoid(b) wrt a and b; equal to
    glu_backward with grad_output of ones.
    """
    x = _as_float64("x", x)
    a, b, ax = _glu_halves(x, axis)
    d_a = _sigmoid(b)
    d_b = _times_sigmoid_prime(a, b)
    return np.concatenate([d_a, d_b], axis=ax)


@_float64_result
def glu_backward(grad_output, x, axis=-1):
    """Gradient wrt x (x's shape): [g * d_a, g * d_b] joined along axis, as torch's glu_backward."""
    x = _as_float64("x", x)
    a, b, ax = _glu_halves(x, axis)
    g = _as_float64("grad_output", grad_output)
    _same_shape("grad_output", g, "glu(x)", a)
    d_b = _times_sigmoid_prime(a, b)
    # g * a * sigmoid'(b). Where a * sigmoid'(b) is subnormal or 0 (and so has
    # lost bits), regrouped as (g * a) * sigmoid'(b) (see _gated_backward_from),
    # or, where g * a overflows, as (g e^(m/2)) (a e^(m/2)) / (1 + e)^2 with
    # m = -|b|, e = e^m: both factors are finite then and the product is not
    # lost (glu_backward(1e300, [3e38, -1402.46]) = 2.5e-271). An infinite g
    # multiplies a * sigmoid'(b) as rounded in double (inf * 0 = NaN, as the
    # kernels).
    m = -np.abs(b)
    g_a = g * a
    split = _times_exp(g, m / 2) * _times_exp(a, m / 2) / (1 + np.exp(m)) ** 2
    regrouped = np.where(np.isfinite(g_a), _times_sigmoid_prime(g_a, b), split)
    lost = (np.abs(d_b) < np.finfo(np.float64).tiny) & np.isfinite(a)
    d_b_double = a * (_sigmoid(b) * _sigmoid(-b))
    grad_b = np.where(np.isinf(g), g * d_b_double, np.where(lost, regrouped, g * d_b))
    # g * sigmoid(b) keeps its bits where sigmoid(b) alone is subnormal or 0
    return np.concatenate([_times_sigmoid(g, b), grad_b], axis=ax)


def _gate_and_up(gate, up):
    gate = _as_float64("gate", gate)
    up = _as_float64("up", up)
    _same_shape("gate", gate, "up", up)
    return gate, up


@_float64_result
def swiglu(gate, up):
    """silu(gate) * up."""
    gate, up = _gate_and_up(gate, up)
    return silu(gate) * up


@_float64_result
def swiglu_derivative(gate, up):
    """(d_gate, d_up) = (silu'(gate) * up, silu(gate))."""
    gate, up = _gate_and_up(gate, up)
    return silu_derivative(gate) * up, silu(gate)


swiglu_backward = _gated_backward_from(swiglu_derivative, silu_derivative)


@_float64_result
def geglu(gate, up, *, approximate="none"):
    """gelu(gate, approximate) * up."""
    gate, up = _gate_and_up(gate, up)
    return gelu(gate, approximate=approximate) * up


@_float64_result
def geglu_derivative(gate, up, *, approximate="none"):
    """(d_gate, d_up) = (gelu'(gate) * up, gelu(gate))."""
    gate, up = _gate_and_up(gate, up)
    return (
        gelu_derivative(gate, approximate=approximate) * up,
        gelu(gate, approximate=approximate),
    )


geglu_backward = _gated_backward_from(geglu_derivative, gelu_derivative)
