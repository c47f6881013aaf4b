"""PyTorch's results on the harness's inputs, for the tables' comparison column.

``torch_result(case, kind, x)`` runs the same torch call the benchmark times
(``fastact._torch_formulas``: torch's forward ops and its backward kernels
with a grad_output of ones for derivatives) and returns a NumPy array, or
None when torch is not installed or has no equivalent for the case (only the
catalog defaults are compared; gelu's tanh form is added here).
"""

import numpy as np

from .cases import PRELU_WEIGHT


def _baselines():
    try:
        from .. import _torch_formulas
    except ImportError:
        return None
    return _torch_formulas


def available():
    return _baselines() is not None


def torch_result(case, kind, x):
    tf = _baselines()
    if tf is None or kind not in ("forward", "derivative") or case.params and case.label != "gelu[tanh]":
        return None
    torch = tf.torch
    xt = torch.from_numpy(np.ascontiguousarray(x))
    out = torch.empty_like(xt)
    if case.label == "gelu[tanh]":
        if kind == "forward":
            return tf._nn.gelu(xt, approximate="tanh").numpy()
        ones = torch.ones_like(xt)
        return tf.aten.gelu_backward(ones, xt, approximate="tanh").numpy()
    baseline = tf.TORCH_BASELINES.get(case.name)
    if baseline is None:
        return None
    make = baseline.forward if kind == "forward" else baseline.derivative
    if case.name == "prelu":
        weight = torch.full((1,), PRELU_WEIGHT, dtype=xt.dtype)
        result = make(xt, weight, out=out)()
    else:
        result = make(xt, out=out)()
    return np.asarray(result.numpy(), dtype=x.dtype)
