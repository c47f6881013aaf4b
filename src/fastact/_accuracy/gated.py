"""The GLU family (glu, swiglu, geglu): f(gate) * up and its two gradients.

Inputs: gates from ``sample64.inputs`` (cut to float32's range for float32),
``up`` and the gradient of random sign with log-uniform magnitudes (2**-60 ..
2**60 for float32, 2**-500 .. 2**500 for float64, so products stay finite).
float64 results are measured against mpmath; float32 results against
fastact's float64 results at the same inputs (exact to far below a float32
ULP).  backward is measured on both outputs: grad_gate = g*up*f'(gate)
(within 0.05 of a zero of f' the bound is 4 eps |g up|) and grad_up = g*f(gate).
"""

import functools

import numpy as np

from . import cases as _cases
from . import sample64, ulp
from .tally import near_zero, summarize

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def sample(n, seed, dtype, zeros):
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed + 7)
    top = 60.0 if dt == F32 else 500.0
    gate = sample64.inputs(n, seed, zeros)
    if dt == F32:
        gate = np.clip(gate, -3.0e38, 3.0e38)
    up = np.exp2(rng.uniform(-top, top, gate.size)) * np.where(rng.random(gate.size) < 0.5, -1, 1)
    g = np.exp2(rng.uniform(-top, top, gate.size)) * np.where(rng.random(gate.size) < 0.5, -1, 1)
    return gate.astype(dt), up.astype(dt), g.astype(dt)


def _exact(case, kind, gate, up, g):
    """Exact values: (hi, lo) pairs (float64) or float64 arrays (float32)."""
    if gate.dtype == F32:
        r = case.fastact(kind, gate.astype(F64), up.astype(F64), None if g is None else g.astype(F64))
        return r if kind == "forward" else tuple(r)
    mp = case.exact_mp(kind, list(gate), list(up), None if g is None else list(g))
    if kind == "forward":
        return ulp.to_pair(np.array(mp, dtype=object))
    return tuple(ulp.to_pair(np.array(v, dtype=object)) for v in mp)


@functools.lru_cache(maxsize=64)
def _inputs_and_exact(label, kind, dtype_name, n, seed):
    case = _cases.by_label(label)
    gate, up, g = sample(n, seed, dtype_name, case.zeros())
    return gate, up, g, _exact(case, kind, gate, up, None if kind == "forward" else g)


def measure(label, kind, dtype, n=2000, seed=0):
    """Tally of ``kind`` ('forward' or 'backward', both outputs) of a gated case
    (inputs and exact values are kept for the next call)."""
    case = _cases.by_label(label)
    zeros = case.zeros()
    gate, up, g, exact = _inputs_and_exact(label, kind, np.dtype(dtype).name, n, seed)
    dt = gate.dtype
    eps = float(np.finfo(dt).eps)
    with np.errstate(all="ignore"):
        if kind == "forward":
            err = ulp.ulp_error(case.fastact("forward", gate, up), exact, dt)
            return summarize(gate, err, ulp.LIMITS["forward"])
        grad_gate, grad_up = case.fastact("backward", gate, up, g)
        exact_gate, exact_up = exact
        window, abs_eps = near_zero(gate, ulp.abs_error(grad_gate, exact_gate, dt), zeros, eps,
                                    g.astype(F64) * up.astype(F64),
                                    floor=np.finfo(dt).smallest_subnormal)
        t = summarize(gate, ulp.ulp_error(grad_gate, exact_gate, dt), ulp.LIMITS["backward"],
                      window, abs_eps)
        return t + summarize(gate, ulp.ulp_error(grad_up, exact_up, dt), ulp.LIMITS["backward"])

def run(n, seed=0):
    """[{function, kind, dtype, fastact: Tally dict}] for every gated case."""
    records = []
    for case in _cases.GATED:
        for dtype in (F32, F64):
            for kind in ("forward", "backward"):
                t = measure(case.label, kind, dtype, n, seed)
                records.append({"function": case.label, "kind": kind, "dtype": dtype.name,
                                "fastact": t.as_dict()})
    return records

