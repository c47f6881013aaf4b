"""High-precision (mpmath) reference values for fastact's activations.

The "exact" side of the SPEC section 5 accuracy rule.  Every elementwise forward
and derivative of ``fastact`` (names and parameters as in ``torch.nn.functional``)
is written here once more in mpmath, evaluated at ``DPS`` (>= 40) decimal digits
in *numerically stable* forms (log1p, expm1, erfc, sigmoid of the right sign) so
that the working precision really is the precision of the result, even in the
far tails (sigmoid(-700), log_sigmoid(+700), gelu(-30), ...).

Conventions
-----------
* Inputs are floats (or mpf).  A float input is taken *exactly* (``mpf(x)`` is
  the binary value of the float), so ``forward("gelu", np.float32(-8))`` is the
  true value at the float32 input.
* Parameters are keywords with PyTorch's names and defaults; a float parameter
  is also taken exactly as the float64 value the user passes.  ``gelu`` takes
  ``approximate='none'|'tanh'``.
* Kinks follow PyTorch (and SPEC section 4): relu'(0) = 0, leaky_relu'(0) =
  negative_slope, elu'(0) = alpha, hardsigmoid' = 1/6 on the open (-3, 3),
  hardswish' = 0 for x <= -3, x/3 + 1/2 on (-3, 3), 1 for x >= 3; softplus is
  x (derivative 1) where beta*x > threshold (the comparison is made exactly).
* Constants: SELU's alpha and scale are the exact decimals
  1.6732632423543772848170429916717 and 1.0507009873554804934193349852946;
  tanh-GELU uses sqrt(2/pi) to full precision and 0.044715 as an exact decimal.

Tables (keyed by the public function name, so tests can loop over them)
------------------------------------------------------------------------
``FORWARD[name](x, **params)``       -> mpf
``DERIVATIVE[name](x, **params)``    -> mpf
``PARAMS[name]``                     -> dict of the parameters and their defaults
``DERIVATIVE_ZEROS[name](**params)`` -> tuple of mpf: the zeros of f' (found with
                                        mp.findroot, except hardswish's -1.5)

Helpers: ``forward(name, x, **p)``, ``derivative(name, x, **p)``,
``derivative_zeros(name, **p)``, ``evaluate(name, xs, kind, **p)`` (a list of
mpf for an iterable of inputs) and ``softmax_row`` / ``log_softmax_row``.

Nothing here imports fastact: it is the independent side of the comparison.
"""

import functools

import mpmath
from mpmath import mp, mpf

__all__ = [
    "DPS",
    "FORWARD",
    "DERIVATIVE",
    "PARAMS",
    "DERIVATIVE_ZEROS",
    "NAMES",
    "forward",
    "derivative",
    "derivative_zeros",
    "evaluate",
    "softmax_row",
    "log_softmax_row",
    "rowwise",
]

#: decimal digits used for every evaluation (SPEC asks for >= 40).
DPS = 50

SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"
GELU_TANH_COEFF = "0.044715"


def _hp(fn):
    """Run ``fn`` at DPS digits and convert float inputs/params exactly."""

    @functools.wraps(fn)
    def wrapper(x, **params):
        with mp.workdps(DPS):
            return fn(mpf(x), **params)

    return wrapper


def _p(value):
    """A float parameter, taken exactly as the float64 the caller passes."""
    return mpf(float(value))


# --------------------------------------------------------------- building blocks
# (call these only inside a workdps(DPS) block)


def _sigmoid(t):
    # 1/(1+exp(-t)) is stable in both directions at arbitrary exponent range.
    return 1 / (1 + mp.exp(-t))


def _softplus(t):
    # max(t, 0) + log1p(exp(-|t|)): no cancellation, no huge intermediates.
    return max(t, 0) + mp.log1p(mp.exp(-abs(t)))


def _sech2(t):
    # 1/cosh(t)^2 = 4 sigmoid(2t) sigmoid(-2t), relative-accurate everywhere.
    return 4 * _sigmoid(2 * t) * _sigmoid(-2 * t)


def _erfc(t):
    # mp.erfc overflows internally for |t| >~ 1e150; far out use the
    # asymptotic series (relative error ~ 15/(8 t^6) < 1e-60 for |t| > 1e10).
    if t > 10**10:
        u = 1 / (2 * t * t)
        return mp.exp(-t * t) / (t * mp.sqrt(mp.pi)) * (1 - u + 3 * u * u)
    if t < -(10**10):
        return 2 - _erfc(-t)
    return mp.erfc(t)


def _c_selu():
    return mpf(SELU_ALPHA), mpf(SELU_SCALE)


def _gelu_tanh_z(x):
    k = mp.sqrt(2 / mp.pi)
    c = mpf(GELU_TANH_COEFF)
    return k * (x + c * x**3), k * (1 + 3 * c * x**2)


# ---------------------------------------------------------------- forwards


@_hp
def relu(x):
    return x if x > 0 else mpf(0)


@_hp
def relu_derivative(x):
    return mpf(1) if x > 0 else mpf(0)


@_hp
def leaky_relu(x, negative_slope=0.01):
    return x if x > 0 else _p(negative_slope) * x


@_hp
def leaky_relu_derivative(x, negative_slope=0.01):
    return mpf(1) if x > 0 else _p(negative_slope)


@_hp
def elu(x, alpha=1.0):
    return x if x > 0 else _p(alpha) * mp.expm1(x)


@_hp
def elu_derivative(x, alpha=1.0):
    return mpf(1) if x > 0 else _p(alpha) * mp.exp(x)


@_hp
def selu(x):
    a, s = _c_selu()
    return s * x if x > 0 else s * a * mp.expm1(x)


@_hp
def selu_derivative(x):
    a, s = _c_selu()
    return s if x > 0 else s * a * mp.exp(x)


def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', not {approximate!r}")


@_hp
def gelu(x, approximate="none"):
    _check_approximate(approximate)
    if approximate == "tanh":
        # x/2 (1 + tanh z) = x sigmoid(2z): no cancellation in the left tail.
        z, _ = _gelu_tanh_z(x)
        return x * _sigmoid(2 * z)
    return x / 2 * _erfc(-x / mp.sqrt(2))


@_hp
def gelu_derivative(x, approximate="none"):
    _check_approximate(approximate)
    if approximate == "tanh":
        z, dz = _gelu_tanh_z(x)
        s = _sigmoid(2 * z)
        return s + x * 2 * s * _sigmoid(-2 * z) * dz
    return _erfc(-x / mp.sqrt(2)) / 2 + x * mp.exp(-(x**2) / 2) / mp.sqrt(2 * mp.pi)


@_hp
def sigmoid(x):
    return _sigmoid(x)


@_hp
def sigmoid_derivative(x):
    return _sigmoid(x) * _sigmoid(-x)


@_hp
def log_sigmoid(x):
    return -_softplus(-x)


@_hp
def log_sigmoid_derivative(x):
    return _sigmoid(-x)


@_hp
def tanh(x):
    return mp.tanh(x)


@_hp
def tanh_derivative(x):
    return _sech2(x)


@_hp
def silu(x):
    return x * _sigmoid(x)


@_hp
def silu_derivative(x):
    return _sigmoid(x) * (1 + x * _sigmoid(-x))


@_hp
def swish(x, beta=1.0):
    b = _p(beta)
    return x * _sigmoid(b * x)


@_hp
def swish_derivative(x, beta=1.0):
    b = _p(beta)
    return _sigmoid(b * x) * (1 + b * x * _sigmoid(-b * x))


@_hp
def mish(x):
    return x * mp.tanh(_softplus(x))


@_hp
def mish_derivative(x):
    sp = _softplus(x)
    return mp.tanh(sp) + x * _sigmoid(x) * _sech2(sp)


@_hp
def softplus(x, beta=1.0, threshold=20.0):
    b = _p(beta)
    if b * x > _p(threshold):
        return x
    return _softplus(b * x) / b


@_hp
def softplus_derivative(x, beta=1.0, threshold=20.0):
    b = _p(beta)
    if b * x > _p(threshold):
        return mpf(1)
    return _sigmoid(b * x)


@_hp
def hardsigmoid(x):
    if x <= -3:
        return mpf(0)
    if x >= 3:
        return mpf(1)
    return (x + 3) / 6


@_hp
def hardsigmoid_derivative(x):
    return mpf(1) / 6 if -3 < x < 3 else mpf(0)


@_hp
def hardswish(x):
    if x <= -3:
        return mpf(0)
    if x >= 3:
        return x
    return x * (x + 3) / 6


@_hp
def hardswish_derivative(x):
    if x <= -3:
        return mpf(0)
    if x >= 3:
        return mpf(1)
    return x / 3 + mpf(1) / 2


# ------------------------------------------------------------------ tables

PARAMS = {
    "relu": {},
    "leaky_relu": {"negative_slope": 0.01},
    "elu": {"alpha": 1.0},
    "selu": {},
    "gelu": {"approximate": "none"},
    "sigmoid": {},
    "log_sigmoid": {},
    "tanh": {},
    "silu": {},
    "swish": {"beta": 1.0},
    "mish": {},
    "softplus": {"beta": 1.0, "threshold": 20.0},
    "hardsigmoid": {},
    "hardswish": {},
}

NAMES = tuple(PARAMS)

_g = globals()
FORWARD = {name: _g[name] for name in NAMES}
DERIVATIVE = {name: _g[name + "_derivative"] for name in NAMES}
del _g


# ------------------------------------------------------- zeros of the derivative


def _root(fn, guess, **params):
    """A zero of ``fn(x, **params)`` polished by mp.findroot at DPS digits."""
    with mp.workdps(DPS):
        f = lambda t: fn(t, **params)  # noqa: E731
        r = mp.findroot(f, mpf(guess), tol=mpf(10) ** (-(DPS - 5)))
        assert abs(f(r)) < mpf(10) ** (-(DPS - 10)), (fn.__name__, params, r)
        return +r


@functools.lru_cache(maxsize=None)
def _zeros_cached(name, items):
    params = dict(items)
    if name == "gelu":
        return (_root(gelu_derivative, -0.75, **params),)
    if name == "silu":
        return (_root(silu_derivative, -1.28),)
    if name == "swish":
        # swish'(x; beta) = silu'(beta x): the zero scales as 1/beta.
        return (_root(swish_derivative, -1.28 / float(params["beta"]), **params),)
    if name == "mish":
        return (_root(mish_derivative, -1.19),)
    if name == "hardswish":
        return (mpf(-3) / 2,)
    # relu, leaky_relu, elu, selu (alpha > 0), sigmoid, log_sigmoid, tanh,
    # softplus: f' has no zero (it tends to 0 only asymptotically, or is
    # identically 0 on a half line / outside (-3, 3), where the values are
    # exact and the ULP rule applies as is).
    return ()


def derivative_zeros(name, **params):
    """The zeros of ``name``'s derivative for these parameters (tuple of mpf)."""
    full = dict(PARAMS[name])
    unknown = set(params) - set(full)
    if unknown:
        raise TypeError(f"{name}: unknown parameters {sorted(unknown)}")
    full.update(params)
    return _zeros_cached(name, tuple(sorted(full.items())))


#: DERIVATIVE_ZEROS[name](**params) -> tuple of mpf
DERIVATIVE_ZEROS = {name: functools.partial(derivative_zeros, name) for name in NAMES}


# ----------------------------------------------------------------- helpers


def forward(name, x, **params):
    return FORWARD[name](x, **params)


def derivative(name, x, **params):
    return DERIVATIVE[name](x, **params)


def evaluate(name, xs, kind="forward", **params):
    """``[f(x) for x in xs]`` (kind 'forward') or ``f'`` (kind 'derivative')."""
    table = {"forward": FORWARD, "derivative": DERIVATIVE}[kind]
    fn = table[name]
    return [fn(float(x), **params) for x in xs]


def _row_terms(xs, temperature):
    with mp.workdps(DPS):
        t = _p(temperature)
        z = [mpf(float(x)) / t for x in xs]
        m = max(z)
        d = [zi - m for zi in z]  # exact enough: mpf subtraction at DPS digits
        e = [mp.exp(di) for di in d]
        # log(sum exp(d)) = log1p(sum over the non-maximal terms): keeps
        # log_softmax of the dominant element accurate when it is ~ -1e-18.
        imax = d.index(max(d))
        rest = mp.fsum(e[:imax] + e[imax + 1 :])
        return d, e, rest


def rowwise(xs, temperature=1.0):
    """(softmax_row, log_softmax_row) of one finite row from one mpmath pass."""
    d, e, rest = _row_terms(xs, temperature)
    with mp.workdps(DPS):
        s = 1 + rest
        lse = mp.log1p(rest)
        return [ei / s for ei in e], [di - lse for di in d]


def softmax_row(xs, temperature=1.0):
    """Exact softmax(x / temperature) of one finite row, as a list of mpf."""
    d, e, rest = _row_terms(xs, temperature)
    with mp.workdps(DPS):
        s = 1 + rest
        return [ei / s for ei in e]


def log_softmax_row(xs, temperature=1.0):
    """Exact log_softmax(x / temperature) of one finite row, as a list of mpf."""
    d, e, rest = _row_terms(xs, temperature)
    with mp.workdps(DPS):
        lse = mp.log1p(rest)
        return [di - lse for di in d]


if __name__ == "__main__":  # a quick look at the anchors of SPEC section 5
    import numpy as np

    print("gelu(-8)       ", mpmath.nstr(gelu(-8.0), 20))
    print("sigmoid'(20)   ", mpmath.nstr(sigmoid_derivative(20.0), 20))
    print("log_sigmoid(700)", mpmath.nstr(log_sigmoid(700.0), 20))
    for n in NAMES:
        zs = derivative_zeros(n)
        if zs:
            print(f"zero of {n}'", [mpmath.nstr(z, 25) for z in zs])
    print("gelu tanh zero", derivative_zeros("gelu", approximate="tanh"))
    print(np.float64(gelu(-8.0)))
