"""What the accuracy harness measures: each function, how fastact, PyTorch and
mpmath compute it, and where its derivative has zeros.

A ``Unary`` case is one elementwise activation with fixed parameters; its
kinds are ``forward``, ``derivative`` and ``backward`` (g * f'(x)).  A
``Gated`` case is one of the GLU family, ``f(gate) * up``: kinds ``forward``
and ``backward`` (both gradients).  prelu with one weight and rrelu in eval
mode are leaky_relu with slope ``weight`` / ``(lower + upper) / 2``; they are
measured through their own public functions against that formula.

``UNARY`` holds every activation of the catalog with its defaults (gelu both
ways); ``UNARY_PARAMS`` adds parameter values that move the tails and zeros
(powers of two for the scale parameters: rounding beta*x alone costs
|beta x| / 2 ULP in the tails, more than any kernel may lose).
"""

from typing import NamedTuple

import numpy as np

import fastact as fa

from .. import _catalog
from . import mpref

KINDS = ("forward", "derivative", "backward")

_RRELU_LOWER, _RRELU_UPPER = 1.0 / 8.0, 1.0 / 3.0
PRELU_WEIGHT = 0.25


class Unary(NamedTuple):
    label: str  # how tables name the case: "gelu[tanh]", "elu[alpha=0.5]"
    name: str  # the public fastact function
    params: dict  # keyword arguments of the fastact call
    mp_name: str  # the mpref function and its parameters
    mp_params: dict

    def fastact(self, kind, x, g=None):
        """fastact's result for ``kind`` at x (and gradient g for backward)."""
        args, kwargs = self._args(x.dtype)
        if kind == "forward":
            return getattr(fa, self.name)(x, *args, **kwargs)
        if kind == "derivative":
            return getattr(fa, self.name + "_derivative")(x, *args, **kwargs)
        return getattr(fa, self.name + "_backward")(g, x, *args, **kwargs)

    def _args(self, dtype):
        if self.name == "prelu":
            return (np.array([PRELU_WEIGHT], dtype=dtype),), {}
        return (), self.params

    def exact_mp(self, kind, xs, gs=None):
        """mpmath values (a list of mpf) at the float inputs."""
        if kind == "backward":
            d = mpref.evaluate(self.mp_name, xs, "derivative", **self.mp_params)
            return [mpref.mpf(float(g)) * v for g, v in zip(gs, d)]
        return mpref.evaluate(self.mp_name, xs, kind, **self.mp_params)

    def zeros(self):
        """Zeros of f' (floats), where the SPEC's absolute bound applies."""
        return tuple(float(z) for z in mpref.derivative_zeros(self.mp_name, **self.mp_params))


def _unary(name, params=None, label=None):
    params = dict(params or {})
    mp_name, mp_params = name, dict(params)
    if name == "prelu":
        mp_name, mp_params = "leaky_relu", {"negative_slope": PRELU_WEIGHT}
    elif name == "rrelu":
        mp_name = "leaky_relu"
        mp_params = {"negative_slope": (_RRELU_LOWER + _RRELU_UPPER) / 2}
    if label is None:
        label = name
        shown = {k: v for k, v in params.items() if k != "approximate"}
        if "approximate" in params:
            label += f"[{params['approximate']}]"
        if shown:
            label += "[" + ",".join(f"{k}={v:g}" for k, v in shown.items()) + "]"
    return Unary(label, name, params, mp_name, mp_params)


def _catalog_cases():
    cases = []
    for activation in _catalog.ELEMENTWISE:
        if activation.choice is None:
            cases.append(_unary(activation.name))
            continue
        for option in activation.choice.kernels:
            params = {} if option == activation.choice.default else {activation.choice.name: option}
            cases.append(_unary(activation.name, params))
    return cases


#: every elementwise activation at its defaults, plus prelu and rrelu (eval).
UNARY = tuple(_catalog_cases() + [_unary("prelu"), _unary("rrelu")])

#: parameter values that move the kinks, tails and zeros.
UNARY_PARAMS = tuple(
    _unary(name, params)
    for name, params in [
        ("leaky_relu", {"negative_slope": 0.2}),
        ("leaky_relu", {"negative_slope": 3.0}),
        ("elu", {"alpha": 0.5}),
        ("elu", {"alpha": 2.5}),
        ("swish", {"beta": 0.5}),
        ("swish", {"beta": 2.0}),
        ("softplus", {"beta": 2.0}),
        ("softplus", {"beta": 0.5, "threshold": 10.0}),
        ("softplus", {"beta": 1.0, "threshold": 5.0}),
    ]
)


class Gated(NamedTuple):
    """f(gate) * up, as swiglu/geglu compute it (glu: f = sigmoid, the halves of x)."""

    label: str
    name: str
    params: dict
    mp_name: str
    mp_params: dict

    def fastact(self, kind, gate, up, g=None):
        """forward -> f(gate)*up; backward -> (grad_gate, grad_up)."""
        if self.name == "glu":
            x = np.concatenate([up, gate], axis=-1)
            if kind == "forward":
                return fa.glu(x)
            grad = fa.glu_backward(g, x)
            n = up.shape[-1]
            return grad[..., n:], grad[..., :n]
        if kind == "forward":
            return getattr(fa, self.name)(gate, up, **self.params)
        return getattr(fa, self.name + "_backward")(g, gate, up, **self.params)

    def exact_mp(self, kind, gates, ups, gs=None):
        """forward: list of mpf; backward: (list, list) for grad_gate, grad_up."""
        mpf = mpref.mpf
        f = mpref.evaluate(self.mp_name, gates, "forward", **self.mp_params)
        if kind == "forward":
            return [v * mpf(float(u)) for v, u in zip(f, ups)]
        d = mpref.evaluate(self.mp_name, gates, "derivative", **self.mp_params)
        grad_gate = [mpf(float(g)) * mpf(float(u)) * dv for g, u, dv in zip(gs, ups, d)]
        grad_up = [mpf(float(g)) * v for g, v in zip(gs, f)]
        return grad_gate, grad_up

    def zeros(self):
        return tuple(float(z) for z in mpref.derivative_zeros(self.mp_name, **self.mp_params))


GATED = (
    Gated("glu", "glu", {}, "sigmoid", {}),
    Gated("swiglu", "swiglu", {}, "silu", {}),
    Gated("geglu", "geglu", {}, "gelu", {}),
    Gated("geglu[tanh]", "geglu", {"approximate": "tanh"}, "gelu", {"approximate": "tanh"}),
)


def by_label(label):
    """The case (unary or gated) called ``label``."""
    for case in UNARY + UNARY_PARAMS + GATED:
        if case.label == label:
            return case
    raise KeyError(label)
