"""Every public entry point as a test case: function, mode, parameters, inputs.

A Case knows how to make valid positional arrays for a requested shape and
dtype (prelu's weight, glu's even axis, a softmax output for the row-wise
backward) and how to call fastact and fastact.reference on them, so the
layout, dtype, `out=` and determinism tests loop over all of them alike.
"""
from dataclasses import dataclass, field

import numpy as np

import fastact as fa
from fastact import reference

MODES = ("forward", "derivative", "backward")

# Non-default parameter values worth testing, per activation.
VARIANTS = {
    "leaky_relu": [{"negative_slope": 0.2}],
    "elu": [{"alpha": 0.5}],
    "gelu": [{"approximate": "tanh"}],
    "swish": [{"beta": 1.7}, {"beta": -0.5}],
    "softplus": [{"beta": 2.0, "threshold": 5.0}],
    "rrelu": [{"training": True, "generator": 1234}],
    "softmax": [{"temperature": 0.7}],
    "log_softmax": [{"temperature": 2.5}],
    "geglu": [{"approximate": "tanh"}],
}


@dataclass(frozen=True)
class Case:
    name: str
    mode: str
    params: dict = field(default_factory=dict)

    @property
    def info(self):
        return fa.REGISTRY[self.name]

    @property
    def id(self):
        extra = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}.{self.mode}" + (f"[{extra}]" if extra else "")

    @property
    def n_outputs(self):
        """2 for the gate/up pair of swiglu and geglu's derivative and backward."""
        two = self.info.kind == "gated" and self.name != "glu"
        return 2 if two and self.mode != "forward" else 1

    def input_shape(self, shape):
        """The shape of x for a requested result shape (glu doubles its axis)."""
        if self.name == "glu":
            shape = tuple(shape) or (1,)
            return shape[:-1] + (2 * shape[-1],)
        return tuple(shape)

    def arrays(self, shape, dtype, rng, scale=3.0):
        """Positional arrays of fastact's call (before the keyword params)."""
        kind = self.info.kind
        x = (rng.standard_normal(self.input_shape(shape)) * scale).astype(dtype)
        if kind == "rowwise":
            if self.mode == "forward":
                return (x,)
            y = np.asarray(getattr(fa, self.name)(x, **self.params))
            if self.mode == "derivative":
                return (y,)
            return (rng.standard_normal(x.shape).astype(dtype), y)
        if self.name == "prelu":
            channels = x.shape[1] if x.ndim >= 2 else 1
            weight = rng.uniform(-0.5, 0.5, channels).astype(dtype)
            inputs = (x, weight)
        elif self.name in ("swiglu", "geglu"):
            inputs = (x, (rng.standard_normal(x.shape) * scale).astype(dtype))
        else:
            inputs = (x,)
        if self.mode == "backward":
            result_shape = tuple(shape) if self.name == "glu" else x.shape
            g = rng.standard_normal(result_shape).astype(dtype)
            return (g,) + inputs
        return inputs

    def function(self, module=fa):
        """The function of `module` (fastact or fastact.reference) for this case."""
        suffix = {"forward": "", "derivative": "_derivative", "backward": "_backward"}
        name = self.name + suffix[self.mode]
        if self.info.kind == "rowwise" and self.mode == "derivative":
            name = self.name + "_jacobian"
        return getattr(module, name)

    def call(self, *arrays, **kwargs):
        return self.function(fa)(*arrays, **self.params, **kwargs)

    def reference(self, *arrays):
        return self.function(reference)(*arrays, **self.params)

    @property
    def is_jacobian(self):
        """The row-wise derivative: its result has shape (..., n, n), not an
        input's, so the tests of out= and layouts that build the result's shape
        from the inputs' leave it out (its out=: test_jacobian.py)."""
        return self.info.kind == "rowwise" and self.mode == "derivative"


def all_cases():
    cases = []
    for name, info in fa.REGISTRY.items():
        for params in [{}] + VARIANTS.get(name, []):
            for mode in MODES:
                cases.append(Case(name, mode, dict(params)))
    return cases


CASES = all_cases()
CASE_IDS = [case.id for case in CASES]
