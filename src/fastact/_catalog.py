"""The one table of fastact's elementwise activations.

Pure data, no imports from the package: ``setup.py`` reads this file to generate
the Cython loops and public functions (``ext/*.pyx.tp``), and the run-time
registry (:mod:`fastact.registry`) reads it to describe every function.
Adding an elementwise activation means writing its two point functions,
``NAME_forward`` and ``NAME_derivative``, in ``ext/_formulas.pxd`` and adding
one :class:`Activation` here.

``Param.check`` names the validation every call applies to the parameter:
``"finite"`` rejects NaN and +-inf, ``"finite_nonzero"`` also rejects 0.
A :class:`Choice` parameter selects one of several kernels by a string, as
``gelu(approximate='tanh')`` does.
"""

from typing import NamedTuple, Optional


class Param(NamedTuple):
    name: str
    default: float
    check: str = "finite"


class Choice(NamedTuple):
    name: str
    default: str
    kernels: dict  # option -> kernel name


class Activation(NamedTuple):
    name: str
    params: tuple = ()
    formula: str = ""
    derivative: str = ""
    choice: Optional[Choice] = None
    # Memory-bound (a compare and a multiply per element): split over threads
    # in larger spans than the kernels that evaluate exp, erfc or tanh.
    cheap: bool = False

    def kernels(self):
        """Names of the point-function pairs this activation uses."""
        if self.choice is None:
            return (self.name,)
        return tuple(self.choice.kernels.values())


ELEMENTWISE = (
    Activation("relu", (), "max(x, 0)", "1 if x > 0 else 0", cheap=True),
    Activation(
        "leaky_relu",
        (Param("negative_slope", 0.01),),
        "x if x > 0 else negative_slope * x",
        "1 if x > 0 else negative_slope",
        cheap=True,
    ),
    Activation(
        "elu",
        (Param("alpha", 1.0),),
        "x if x > 0 else alpha * expm1(x)",
        "1 if x > 0 else alpha * exp(x)",
    ),
    Activation(
        "selu",
        (),
        "scale * (x if x > 0 else alpha * expm1(x)), "
        "alpha = 1.6732632423543772, scale = 1.0507009873554805",
        "scale * (1 if x > 0 else alpha * exp(x))",
    ),
    Activation(
        "gelu",
        (),
        "x * Phi(x) = x/2 * erfc(-x/sqrt(2)); approximate='tanh': "
        "x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))",
        "Phi(x) + x * phi(x); approximate='tanh': derivative of that formula",
        Choice("approximate", "none", {"none": "gelu_erf", "tanh": "gelu_tanh"}),
    ),
    Activation("sigmoid", (), "1 / (1 + exp(-x))", "sigmoid(x) * sigmoid(-x)"),
    Activation("log_sigmoid", (), "-log(1 + exp(-x))", "sigmoid(-x)"),
    Activation("tanh", (), "tanh(x)", "1 / cosh(x)^2"),
    Activation("silu", (), "x * sigmoid(x)", "sigmoid(x) * (1 + x * sigmoid(-x))"),
    Activation(
        "swish",
        (Param("beta", 1.0),),
        "x * sigmoid(beta * x)",
        "sigmoid(beta x) * (1 + beta x * sigmoid(-beta x))",
    ),
    Activation(
        "mish",
        (),
        "x * tanh(softplus(x))",
        "tanh(softplus(x)) + x * sigmoid(x) / cosh(softplus(x))^2",
    ),
    Activation(
        "softplus",
        (Param("beta", 1.0, "finite_nonzero"), Param("threshold", 20.0)),
        "x if beta * x > threshold else log(1 + exp(beta * x)) / beta",
        "1 if beta * x > threshold else sigmoid(beta * x)",
    ),
    Activation(
        "hardsigmoid",
        (),
        "min(max(x + 3, 0), 6) / 6",
        "1/6 if -3 < x < 3 else 0",
        cheap=True,
    ),
    Activation(
        "hardswish",
        (),
        "x * min(max(x + 3, 0), 6) / 6",
        "0 if x <= -3, x/3 + 1/2 if -3 < x < 3, 1 if x >= 3",
        cheap=True,
    ),
)


def kernel_names():
    """Every point-function pair, in a fixed order (the kernel ids)."""
    names = []
    for activation in ELEMENTWISE:
        names.extend(activation.kernels())
    return tuple(names)


def kernel_params(kernel):
    """The float parameters a kernel's point functions take, in order."""
    for activation in ELEMENTWISE:
        if kernel in activation.kernels():
            return activation.params
    raise KeyError(kernel)
