"""The registry and the public namespace (SPEC section 3).

* fa.REGISTRY holds every activation SPEC section 3 names, with the right kind;
* each entry's forward / derivative / backward is the public fastact function
  of that name (the row-wise derivative is NAME_jacobian);
* its params are the keyword defaults of the functions' signatures (out
  excluded), and its arguments their positional array arguments;
* its reference functions are fastact.reference's of the same names, take the
  same positional and keyword parameters with the same defaults, and run with
  the non-default parameter values of cases.VARIANTS;
* fa.get_activation returns the entry, and a KeyError listing the names for an
  unknown one;
* every name of fa.__all__ is importable and every public callable has its own
  docstring.

Run:  python -m pytest tests/test_registry.py -q
"""
import importlib
import inspect
from types import MappingProxyType

import numpy as np
import pytest

import fastact as fa
from fastact import reference
from cases import VARIANTS

SPEC_NAMES = {
    "relu": "elementwise", "leaky_relu": "elementwise", "prelu": "parametric",
    "rrelu": "elementwise", "elu": "elementwise", "selu": "elementwise",
    "gelu": "elementwise", "sigmoid": "elementwise", "log_sigmoid": "elementwise",
    "tanh": "elementwise", "silu": "elementwise", "swish": "elementwise",
    "mish": "elementwise", "softplus": "elementwise", "hardsigmoid": "elementwise",
    "hardswish": "elementwise", "softmax": "rowwise", "log_softmax": "rowwise",
    "glu": "gated", "swiglu": "gated", "geglu": "gated",
}
SPEC_DEFAULTS = {  # SPEC section 3 (PyTorch's names and defaults)
    "leaky_relu": {"negative_slope": 0.01},
    "prelu": {"axis": 1},
    "rrelu": {"lower": 1 / 8, "upper": 1 / 3, "training": False, "generator": None},
    "elu": {"alpha": 1.0},
    "gelu": {"approximate": "none"},
    "swish": {"beta": 1.0},
    "softplus": {"beta": 1.0, "threshold": 20.0},
    "softmax": {"temperature": 1.0},
    "log_softmax": {"temperature": 1.0},
    "geglu": {"approximate": "none"},
}
NAMES = sorted(SPEC_NAMES)
ROLES = ("forward", "derivative", "backward")


def public_name(name, role):
    kind = SPEC_NAMES[name]
    if role == "forward":
        return name
    if role == "derivative":
        return f"{name}_jacobian" if kind == "rowwise" else f"{name}_derivative"
    return f"{name}_backward"


def keyword_defaults(function, drop=("out",)):
    return {p.name: p.default for p in inspect.signature(function).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in drop}


def positional(function):
    return [p.name for p in inspect.signature(function).parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                          inspect.Parameter.POSITIONAL_OR_KEYWORD)]


def positional_defaults(function):
    return {p.name: p.default for p in inspect.signature(function).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            and p.default is not inspect.Parameter.empty}


def test_registry_is_a_read_only_mapping():
    assert isinstance(fa.REGISTRY, (dict, MappingProxyType))
    with pytest.raises(TypeError):
        fa.REGISTRY["relu"] = None


def test_registry_has_every_spec_name():
    missing = set(SPEC_NAMES) - set(fa.REGISTRY)
    assert not missing


@pytest.mark.parametrize("name", NAMES)
def test_entry(name):
    info = fa.REGISTRY[name]
    assert isinstance(info, fa.ActivationInfo)
    assert info.name == name
    assert info.kind == SPEC_NAMES[name]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", NAMES)
def test_entry_functions_are_the_public_ones(name, role):
    info = fa.REGISTRY[name]
    expected = public_name(name, role)
    assert getattr(info, role) is getattr(fa, expected)
    assert expected in fa.__all__


@pytest.mark.parametrize("name", NAMES)
def test_params_are_the_forward_keyword_defaults(name):
    info = fa.REGISTRY[name]
    assert dict(info.params) == keyword_defaults(info.forward)
    for key, value in SPEC_DEFAULTS.get(name, {}).items():
        assert info.params[key] == value, key


@pytest.mark.parametrize("name", NAMES)
def test_derivative_and_backward_take_the_same_keywords(name):
    """Same keyword defaults as the forward (the row-wise ones lack masked_rows)."""
    info = fa.REGISTRY[name]
    for role in ("derivative", "backward"):
        got = keyword_defaults(getattr(info, role))
        if info.kind == "rowwise":
            assert got == {k: v for k, v in info.params.items() if k != "masked_rows"}, role
        else:
            assert got == dict(info.params), role


@pytest.mark.parametrize("name", NAMES)
def test_params_are_immutable(name):
    with pytest.raises(TypeError):
        fa.REGISTRY[name].params["x"] = 1


@pytest.mark.parametrize("name", NAMES)
def test_arguments_are_the_forward_positional_arrays(name):
    info = fa.REGISTRY[name]
    assert list(info.arguments) == [p for p in positional(info.forward) if p != "axis"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", NAMES)
def test_reference_functions(name, role):
    info = fa.REGISTRY[name]
    ref = getattr(info.reference, role)
    public = getattr(info, role)
    assert ref is getattr(reference, public_name(name, role))
    assert callable(ref)
    assert positional(ref) == positional(public)
    assert positional_defaults(ref) == positional_defaults(public)
    assert keyword_defaults(ref) == keyword_defaults(public)


def _arrays(info, role, variant):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    if info.kind == "rowwise":
        if role == "forward":
            return (x,)
        y = info.forward(x, **variant)
        return (y,) if role == "derivative" else (rng.standard_normal((3, 4)), y)
    if info.name == "prelu":
        inputs = (x, np.array([0.1, -0.2, 0.3, 0.25]))
    elif info.name in ("swiglu", "geglu"):
        inputs = (x, rng.standard_normal((3, 4)))
    else:
        inputs = (x,)
    if role == "backward":
        g = rng.standard_normal((3, 2) if info.name == "glu" else (3, 4))
        return (g,) + inputs
    return inputs


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", NAMES)
def test_reference_accepts_the_params_and_agrees(name, role):
    """Reference and fastact run with the same (non-default) keywords and agree."""
    info = fa.REGISTRY[name]
    variants = [dict(info.params)] + VARIANTS.get(name, [])
    for variant in variants:
        kwargs = {k: v for k, v in variant.items()
                  if k in keyword_defaults(getattr(info, role))}
        arrays = _arrays(info, role, {k: v for k, v in variant.items()
                                      if k in keyword_defaults(info.forward)})
        got = getattr(info, role)(*arrays, **kwargs)
        want = getattr(info.reference, role)(*arrays, **kwargs)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name}.{role} {kwargs}")


def test_get_activation():
    for name in NAMES:
        assert fa.get_activation(name) is fa.REGISTRY[name]


@pytest.mark.parametrize("bad", ["nope", "RELU", "", "relu_backward"])
def test_get_activation_unknown(bad):
    with pytest.raises(KeyError) as info:
        fa.get_activation(bad)
    message = str(info.value)
    assert repr(bad) in message or bad in message
    for name in ("relu", "gelu", "softmax", "swiglu"):
        assert name in message


def test_all_names_are_importable():
    assert len(fa.__all__) == len(set(fa.__all__))
    module = importlib.import_module("fastact")
    for name in fa.__all__:
        assert hasattr(module, name), name
        namespace = {}
        exec(f"from fastact import {name}", namespace)
        assert namespace[name] is getattr(fa, name)


def test_star_import():
    namespace = {}
    exec("from fastact import *", namespace)
    assert set(fa.__all__) <= set(namespace)


def test_every_spec_function_is_public():
    for name in NAMES:
        for role in ROLES:
            assert public_name(name, role) in fa.__all__
    for name in ("softmax_jacobian", "set_num_threads", "get_num_threads", "num_threads",
                 "show_config", "config", "get_activation", "REGISTRY", "__version__"):
        assert name in fa.__all__


def _own_docstring(obj):
    doc = inspect.getdoc(obj)
    if not doc:
        return None
    if inspect.isclass(obj):
        # NamedTuple and dataclass invent "Name(field, ...)": not documentation
        own = obj.__dict__.get("__doc__")
        if not own or own.startswith(f"{obj.__name__}("):
            return None
    return doc


@pytest.mark.parametrize("name", sorted(n for n in fa.__all__ if callable(getattr(fa, n))))
def test_public_callables_are_documented(name):
    assert _own_docstring(getattr(fa, name)), f"fastact.{name} has no docstring"


def test_version_is_a_string():
    assert isinstance(fa.__version__, str) and fa.__version__
    assert fa.config()["version"] == fa.__version__
