"""Every activation of fastact by name, for code that picks one by string.

Tests, benchmarks and the command line iterate over ``REGISTRY``; a pipeline
can do ``fastact.get_activation("gelu").forward(x, approximate="tanh")``.
The elementwise entries come from the catalog (src/fastact/_catalog.py);
the others, whose arguments differ, are listed here.

Calling conventions, by ``kind``:

* ``elementwise``: forward(x, **params), derivative(x, **params),
  backward(grad_output, x, **params).
* ``parametric`` (prelu): the same with a second array argument, weight.
* ``rowwise``: forward(x, axis, **params); backward(grad_output, y, axis,
  **params) takes the forward's OUTPUT y; derivative(y, axis) is the Jacobian.
* ``gated``: forward(*arguments); derivative and backward return one array
  (glu, laid out as x) or a pair (grad_gate, grad_up).
"""
from types import MappingProxyType, SimpleNamespace
from typing import Callable, NamedTuple

from . import _api, reference
from ._catalog import ELEMENTWISE


class ActivationInfo(NamedTuple):
    """One registered activation: its functions, parameters and NumPy reference."""

    name: str
    kind: str
    forward: Callable
    derivative: Callable
    backward: Callable
    params: MappingProxyType      # keyword parameters and their defaults
    arguments: tuple              # positional array arguments of forward
    reference: SimpleNamespace    # .forward, .derivative, .backward in NumPy


def _entry(name, kind, params, arguments, derivative=None):
    derivative = derivative or f"{name}_derivative"
    return ActivationInfo(
        name=name,
        kind=kind,
        forward=getattr(_api, name),
        derivative=getattr(_api, derivative),
        backward=getattr(_api, f"{name}_backward"),
        params=MappingProxyType(dict(params)),
        arguments=tuple(arguments),
        reference=SimpleNamespace(
            forward=getattr(reference, name),
            derivative=getattr(reference, derivative),
            backward=getattr(reference, f"{name}_backward"),
        ),
    )


def _elementwise_params(activation):
    params = {p.name: p.default for p in activation.params}
    if activation.choice is not None:
        params = {activation.choice.name: activation.choice.default, **params}
    return params


def _build():
    entries = [_entry(a.name, "elementwise", _elementwise_params(a), ("x",))
               for a in ELEMENTWISE]
    entries += [
        _entry("rrelu", "elementwise",
               {"lower": 1 / 8, "upper": 1 / 3, "training": False, "generator": None},
               ("x",)),
        _entry("prelu", "parametric", {"axis": 1}, ("x", "weight")),
        _entry("softmax", "rowwise", {"temperature": 1.0, "masked_rows": "nan"},
               ("x",), derivative="softmax_jacobian"),
        _entry("log_softmax", "rowwise", {"temperature": 1.0}, ("x",),
               derivative="log_softmax_jacobian"),
        _entry("glu", "gated", {}, ("x",)),
        _entry("swiglu", "gated", {}, ("gate", "up")),
        _entry("geglu", "gated", {"approximate": "none"}, ("gate", "up")),
    ]
    return MappingProxyType({entry.name: entry for entry in entries})


REGISTRY = _build()


def get_activation(name):
    """The ActivationInfo registered under `name` (KeyError listing the names)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no activation named {name!r}; known: {', '.join(REGISTRY)}") from None
