"""fastact.torch: PyTorch drop-ins that run fastact's kernels on CPU tensors.

Importable only when PyTorch is installed (``import fastact`` itself never
imports torch).  Three layers, each usable on its own:

* ``fastact.torch.functional`` -- ``gelu(x, approximate=...)``, ``silu``,
  ``softmax(x, dim)``, ... with the signatures of ``torch.nn.functional``
  (plus ``swiglu(gate, up)``, ``geglu(gate, up)`` and ``swish(x, beta)``);
  the same functions are attributes of ``fastact.torch`` itself;
* modules named like torch's (``GELU``, ``SiLU``, ``Softmax``, ``PReLU``, ...),
  subclasses of the torch modules of the same name, so constructor arguments,
  attributes, ``repr`` and ``state_dict`` keys are torch's, plus ``SwiGLU``,
  ``GeGLU`` and ``Swish``;
* the ``torch.autograd.Function`` subclasses behind them (``GELUFunction``,
  ...), which only accept CPU float32/float64 tensors.

Fast path: CPU, strided, float32 or float64 tensors (the same dtype for all
array arguments).  Contiguous tensors are handed to the kernels as NumPy views
of the same memory (no copy); a non-contiguous tensor is made contiguous once.
Outputs are allocated with ``torch.empty_like`` and written through ``out=``.
The forward saves the input (the output for softmax/log_softmax) and the
backward calls fastact's fused ``NAME_backward``.  The Functions are
``once_differentiable``: first derivatives only (double backward raises).

Everything else (CUDA/MPS/meta tensors, float16, bfloat16, complex, integer,
sparse, nested, tensor subclasses such as the FakeTensors of ``torch.compile``,
``torch.func`` transforms) falls back to torch's own implementation, so a
module always works where torch's does.

``convert(model)`` swaps the torch activation modules of a model for these
in place.

This is one file (``fastact/torch.py``) so that it ships with the ``fastact``
package as declared in pyproject.toml; ``fastact.torch.functional`` is a
namespace module registered in ``sys.modules`` (``import
fastact.torch.functional as FF`` works).
"""
try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "fastact.torch needs PyTorch, which is not installed. Install the CPU "
        "build, e.g. `pip install torch==2.13.0 --index-url "
        "https://download.pytorch.org/whl/cpu`; the rest of fastact works "
        "without it."
    ) from exc

import sys as _sys  # noqa: E402
import types as _types  # noqa: E402

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.autograd.function import once_differentiable  # noqa: E402

from . import _api as fa  # noqa: E402

# ==========================================================================
# the fast path
# ==========================================================================

_FLOATS = (torch.float32, torch.float64)
_PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter)

try:  # torch.func (functorch) wraps tensors for grad/vmap; those go to torch
    _is_functorch_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
except AttributeError:  # pragma: no cover - older torch
    def _is_functorch_wrapped(t):
        return False

try:
    _is_compiling = torch.compiler.is_compiling
except AttributeError:  # pragma: no cover - older torch
    def _is_compiling():
        return False


def is_fast_path(*tensors):
    """True when fastact's kernels can run on these tensors directly.

    That is: plain ``torch.Tensor`` (or ``nn.Parameter``) objects on the CPU,
    strided layout, float32 or float64, all of the same dtype, not wrapped by
    ``torch.func``, without a lazy negation bit, and not while
    ``torch.jit.trace`` records or ``torch.compile`` traces (both then get
    torch's own ops).
    """
    if _is_compiling():
        return False        # torch.compile traces torch's ops (no graph break)
    dtype = tensors[0].dtype
    if dtype not in _FLOATS or torch._C._get_tracing_state() is not None:
        return False        # torch.jit.trace must record torch ops, not NumPy calls
    for t in tensors:
        if (type(t) not in _PLAIN_TYPES or t.dtype != dtype or not t.is_cpu
                or t.layout != torch.strided or t.is_nested or t.is_neg()
                or _is_functorch_wrapped(t)):
            return False
    return True


def needs_grad(*tensors):
    """True when autograd would record an operation on these tensors."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def as_numpy(t):
    """The NumPy view of a CPU tensor (no copy; detached from autograd)."""
    return t.detach().numpy() if t.requires_grad else t.numpy()


def contiguous(t):
    """t itself when contiguous, else one contiguous copy."""
    return t if t.is_contiguous() else t.contiguous()


# --------------------------------------------------------------------------
# direct calls (no autograd), shared by the Functions and the functional forms
# --------------------------------------------------------------------------


def run_unary(kernel, x, params, *args):
    """kernel(x, *args, out=y, **params) into a new tensor y; returns (x_contig, y)."""
    x = contiguous(x)
    y = torch.empty_like(x)
    kernel(as_numpy(x), *args, out=as_numpy(y), **params)
    return x, y


def run_unary_inplace(kernel, x, params, *args):
    """kernel writing into x's own memory; autograd's version counter is bumped.

    A non-contiguous x is computed in a contiguous copy and copied back, so
    x is always modified in place and returned, as torch's in-place ops do.
    """
    if x.is_contiguous():
        a = as_numpy(x)
        kernel(a, *args, out=a, **params)
        if not x.is_inference():
            torch.autograd.graph.increment_version(x)
        return x
    tmp = x.contiguous()
    a = as_numpy(tmp)
    kernel(a, *args, out=a, **params)
    with torch.no_grad():
        x.copy_(tmp)
    return x


# --------------------------------------------------------------------------
# elementwise Functions: f(x, *params), backward from x
# --------------------------------------------------------------------------

# class name -> (fastact function, its keyword parameters in apply() order)
ELEMENTWISE = {
    "ReLU": ("relu", ()),
    "LeakyReLU": ("leaky_relu", ("negative_slope",)),
    "RReLU": ("rrelu", ("lower", "upper")),          # evaluation mode (mean slope)
    "ELU": ("elu", ("alpha",)),
    "SELU": ("selu", ()),
    "GELU": ("gelu", ("approximate",)),
    "Sigmoid": ("sigmoid", ()),
    "LogSigmoid": ("log_sigmoid", ()),
    "Tanh": ("tanh", ()),
    "SiLU": ("silu", ()),
    "Swish": ("swish", ("beta",)),
    "Mish": ("mish", ()),
    "Softplus": ("softplus", ("beta", "threshold")),
    "Hardsigmoid": ("hardsigmoid", ()),
    "Hardswish": ("hardswish", ()),
}


def _elementwise_function(class_name, fa_name, param_names):
    forward_kernel = getattr(fa, fa_name)
    backward_kernel = getattr(fa, fa_name + "_backward")
    n_params = len(param_names)

    def forward(ctx, x, *args):
        params = dict(zip(param_names, args))
        x, y = run_unary(forward_kernel, x, params)
        ctx.save_for_backward(x)
        ctx.params = params
        return y

    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        g = contiguous(grad_output)
        grad_input = torch.empty_like(x)
        backward_kernel(as_numpy(g), as_numpy(x), out=as_numpy(grad_input), **ctx.params)
        return (grad_input,) + (None,) * n_params

    signature = ", ".join(("x",) + param_names)
    doc = (f"``{class_name}Function.apply({signature})``: fastact.{fa_name} with "
           f"autograd; backward is fastact.{fa_name}_backward(grad_output, x) "
           "(once_differentiable: no double backward). CPU float32/float64 only; "
           f"use fastact.torch.functional.{fa_name} for any tensor.")
    if fa_name == "rrelu":
        doc += " Evaluation mode only (slope (lower + upper) / 2)."
    return type(f"{class_name}Function", (torch.autograd.Function,), {
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": doc,
        "__module__": __name__,
        "fastact_name": fa_name,
        "param_names": param_names,
    })


FUNCTIONS = {}
for _class, (_fa_name, _params) in ELEMENTWISE.items():
    FUNCTIONS[_class] = _elementwise_function(_class, _fa_name, _params)
    globals()[f"{_class}Function"] = FUNCTIONS[_class]


# --------------------------------------------------------------------------
# PReLU: learnable weight
# --------------------------------------------------------------------------


def prelu_weight_gradient(grad_output, x, weight):
    """sum over the non-channel dims of grad_output * x * (x <= 0), shaped as weight.

    The channel dim is 1 (torch.nn.PReLU); a one-element weight sums over all.
    (NaN in x gives NaN, as torch.)
    """
    t = grad_output * x
    t.masked_fill_(x > 0, 0)
    if weight.numel() == 1 or x.dim() < 2:
        gw = t.sum()
    else:
        gw = t.sum(dim=[d for d in range(x.dim()) if d != 1])
    return gw.reshape(weight.shape)


class PReLUFunction(torch.autograd.Function):
    """``PReLUFunction.apply(x, weight)``: fastact.prelu along dim 1 with autograd.

    weight has 1 element or ``x.shape[1]`` elements (as torch.nn.PReLU).
    Backward: grad_input = fastact.prelu_backward(grad_output, x, weight);
    grad_weight = sum over the non-channel dims of grad_output * x * (x <= 0).
    once_differentiable (no double backward); CPU float32/float64 only.
    """

    @staticmethod
    def forward(ctx, x, weight):
        w = contiguous(weight.reshape(-1))
        x, y = run_unary(fa.prelu, x, {"axis": 1}, as_numpy(w))
        ctx.save_for_backward(x, weight)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        x, weight = ctx.saved_tensors
        g = contiguous(grad_output)
        grad_input = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_input = torch.empty_like(x)
            w = contiguous(weight.reshape(-1))
            fa.prelu_backward(as_numpy(g), as_numpy(x), as_numpy(w), axis=1,
                              out=as_numpy(grad_input))
        if ctx.needs_input_grad[1]:
            grad_weight = prelu_weight_gradient(g, x, weight)
        return grad_input, grad_weight


# --------------------------------------------------------------------------
# softmax / log_softmax: backward from the OUTPUT
# --------------------------------------------------------------------------


def _rowwise_function(class_name, fa_name):
    forward_kernel = getattr(fa, fa_name)
    backward_kernel = getattr(fa, fa_name + "_backward")

    def forward(ctx, x, dim):
        x = contiguous(x)
        y = torch.empty_like(x)
        forward_kernel(as_numpy(x), dim, out=as_numpy(y))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @once_differentiable
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        g = contiguous(grad_output)
        grad_input = torch.empty_like(y)
        backward_kernel(as_numpy(g), as_numpy(y), ctx.dim, out=as_numpy(grad_input))
        return grad_input, None

    doc = (f"``{class_name}Function.apply(x, dim)``: fastact.{fa_name} along dim with "
           f"autograd; the forward saves its OUTPUT y and backward is "
           f"fastact.{fa_name}_backward(grad_output, y, dim) (once_differentiable). "
           "CPU float32/float64 only.")
    return type(f"{class_name}Function", (torch.autograd.Function,), {
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": doc,
        "__module__": __name__,
    })


SoftmaxFunction = _rowwise_function("Softmax", "softmax")
LogSoftmaxFunction = _rowwise_function("LogSoftmax", "log_softmax")


# --------------------------------------------------------------------------
# gated
# --------------------------------------------------------------------------


class GLUFunction(torch.autograd.Function):
    """``GLUFunction.apply(x, dim)``: fastact.glu (a * sigmoid(b), a and b the
    halves of x along dim, as torch.nn.functional.glu) with autograd; backward
    is fastact.glu_backward(grad_output, x, dim) (once_differentiable).
    CPU float32/float64 only; x.shape[dim] must be even.
    """

    @staticmethod
    def forward(ctx, x, dim):
        x = contiguous(x)
        shape = list(x.shape)
        shape[dim] //= 2
        y = torch.empty(shape, dtype=x.dtype)
        fa.glu(as_numpy(x), dim, out=as_numpy(y))
        ctx.save_for_backward(x)
        ctx.dim = dim
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        g = contiguous(grad_output)
        grad_input = torch.empty_like(x)
        fa.glu_backward(as_numpy(g), as_numpy(x), ctx.dim, out=as_numpy(grad_input))
        return grad_input, None


def _gated_function(class_name, fa_name, param_names):
    forward_kernel = getattr(fa, fa_name)
    backward_kernel = getattr(fa, fa_name + "_backward")
    n_params = len(param_names)

    def forward(ctx, gate, up, *args):
        params = dict(zip(param_names, args))
        gate, up = contiguous(gate), contiguous(up)
        y = torch.empty_like(gate)
        forward_kernel(as_numpy(gate), as_numpy(up), out=as_numpy(y), **params)
        ctx.save_for_backward(gate, up)
        ctx.params = params
        return y

    @once_differentiable
    def backward(ctx, grad_output):
        gate, up = ctx.saved_tensors
        g = contiguous(grad_output)
        grad_gate, grad_up = torch.empty_like(gate), torch.empty_like(up)
        backward_kernel(as_numpy(g), as_numpy(gate), as_numpy(up),
                        out=(as_numpy(grad_gate), as_numpy(grad_up)), **ctx.params)
        return (grad_gate, grad_up) + (None,) * n_params

    act = "silu" if fa_name == "swiglu" else "gelu"
    doc = (f"``{class_name}Function.apply(gate, up{''.join(', ' + p for p in param_names)})``: "
           f"fastact.{fa_name} = {act}(gate) * up with autograd; backward is "
           f"fastact.{fa_name}_backward, returning (grad_gate, grad_up) "
           "(once_differentiable). CPU float32/float64, gate and up of one shape.")
    return type(f"{class_name}Function", (torch.autograd.Function,), {
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": doc,
        "__module__": __name__,
    })


SwiGLUFunction = _gated_function("SwiGLU", "swiglu", ())
GeGLUFunction = _gated_function("GeGLU", "geglu", ("approximate",))

FUNCTIONS.update({
    "PReLU": PReLUFunction,
    "Softmax": SoftmaxFunction,
    "LogSoftmax": LogSoftmaxFunction,
    "GLU": GLUFunction,
    "SwiGLU": SwiGLUFunction,
    "GeGLU": GeGLUFunction,
})



# ==========================================================================
# functional forms (also fastact.torch.functional)
# ==========================================================================

FUNCTIONAL_DOC = """Functional forms with the signatures of ``torch.nn.functional``.

Each function runs fastact's kernel when its tensors are on the fast path
(``fastact.torch.is_fast_path``: CPU, strided, float32/float64) and otherwise
calls torch's own implementation with the same arguments, so it is a drop-in
for the torch function of the same name.

On the fast path:

* with autograd recording (grad enabled and an input requiring grad) the
  result comes from the matching ``fastact.torch.*Function`` (first
  derivatives only, ``once_differentiable``);
* without it (``torch.no_grad()``, ``torch.inference_mode()``, inputs not
  requiring grad) the kernel is called directly, with no autograd overhead;
* ``inplace=True`` writes into the input's memory (``out=`` the input) and
  returns the input, bumping its autograd version counter as torch's
  in-place ops do -- but only when no gradient is being recorded for it.
  When autograd must record the call, fastact's backward needs the
  unmodified input, so a new tensor is returned instead and the input is
  left unchanged (torch would modify it, or raise for a leaf that requires
  grad).  Off the fast path ``inplace`` is passed to torch.

Extras not in torch: ``swish(x, beta)``, ``swiglu(gate, up)`` and
``geglu(gate, up, approximate)``.
"""


def _unary(name, x, params, fallback, inplace=False):
    """Dispatch one elementwise activation (see FUNCTIONAL_DOC)."""
    if not isinstance(x, torch.Tensor) or not is_fast_path(x):
        return fallback()
    function = FUNCTIONS[name]
    if needs_grad(x):
        return function.apply(x, *params.values())
    kernel = getattr(fa, function.fastact_name)
    if inplace:
        if x.is_inference() and not torch.is_inference_mode_enabled():
            return fallback()   # torch raises: in-place update to an inference tensor
        return run_unary_inplace(kernel, x, params)
    return run_unary(kernel, x, params)[1]


def relu(input, inplace=False):
    """max(input, 0), as torch.nn.functional.relu."""
    return _unary("ReLU", input, {}, lambda: F.relu(input, inplace=inplace), inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input if input > 0 else negative_slope * input, as F.leaky_relu."""
    return _unary("LeakyReLU", input, {"negative_slope": float(negative_slope)},
                  lambda: F.leaky_relu(input, negative_slope, inplace), inplace)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU, as F.rrelu.

    Evaluation (``training=False``): fastact's kernel with the slope
    (lower + upper) / 2.  Training: slopes drawn from U(lower, upper) for each
    element <= 0 from torch's default generator -- this runs torch's own
    kernel (``F.rrelu``), so results, random stream and ``torch.manual_seed``
    reproducibility are exactly torch's.
    """
    if training:
        return F.rrelu(input, lower, upper, True, inplace)
    return _unary("RReLU", input, {"lower": float(lower), "upper": float(upper)},
                  lambda: F.rrelu(input, lower, upper, False, inplace), inplace)


def elu(input, alpha=1.0, inplace=False):
    """input if input > 0 else alpha * expm1(input), as F.elu."""
    return _unary("ELU", input, {"alpha": float(alpha)},
                  lambda: F.elu(input, alpha, inplace), inplace)


def selu(input, inplace=False):
    """scale * elu(input, alpha) with the SELU constants, as F.selu."""
    return _unary("SELU", input, {}, lambda: F.selu(input, inplace), inplace)


def gelu(input, approximate="none"):
    """input * Phi(input), or the tanh approximation, as F.gelu."""
    if approximate not in ("none", "tanh"):
        return F.gelu(input, approximate=approximate)  # torch's error message
    return _unary("GELU", input, {"approximate": approximate},
                  lambda: F.gelu(input, approximate=approximate))


def sigmoid(input):
    """1 / (1 + exp(-input)), as torch.sigmoid."""
    return _unary("Sigmoid", input, {}, lambda: torch.sigmoid(input))


def logsigmoid(input):
    """-log(1 + exp(-input)), as F.logsigmoid."""
    return _unary("LogSigmoid", input, {}, lambda: F.logsigmoid(input))


log_sigmoid = logsigmoid


def tanh(input):
    """tanh(input), as torch.tanh."""
    return _unary("Tanh", input, {}, lambda: torch.tanh(input))


def silu(input, inplace=False):
    """input * sigmoid(input), as F.silu."""
    return _unary("SiLU", input, {}, lambda: F.silu(input, inplace=inplace), inplace)


def swish(input, beta=1.0):
    """input * sigmoid(beta * input) (no torch equivalent; silu when beta == 1)."""
    return _unary("Swish", input, {"beta": float(beta)},
                  lambda: input * torch.sigmoid(beta * input))


def mish(input, inplace=False):
    """input * tanh(softplus(input)), as F.mish."""
    return _unary("Mish", input, {}, lambda: F.mish(input, inplace=inplace), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta, linear where beta * input > threshold, as F.softplus."""
    return _unary("Softplus", input, {"beta": float(beta), "threshold": float(threshold)},
                  lambda: F.softplus(input, beta, threshold))


def hardsigmoid(input, inplace=False):
    """min(max(input + 3, 0), 6) / 6, as F.hardsigmoid."""
    return _unary("Hardsigmoid", input, {}, lambda: F.hardsigmoid(input, inplace), inplace)


def hardswish(input, inplace=False):
    """input * hardsigmoid(input), as F.hardswish."""
    return _unary("Hardswish", input, {}, lambda: F.hardswish(input, inplace), inplace)


def prelu(input, weight):
    """input if input > 0 else weight[c] * input, c the index along dim 1, as F.prelu.

    weight has one element, or ``input.shape[1]`` elements.  Its gradient is
    computed in the backward (sum over the non-channel dims of
    grad_output * input * (input <= 0)).
    """
    if (not isinstance(input, torch.Tensor) or not isinstance(weight, torch.Tensor)
            or not is_fast_path(input, weight)
            or not (weight.numel() == 1
                    or (input.dim() >= 2 and weight.numel() == input.shape[1]))):
        return F.prelu(input, weight)
    if needs_grad(input, weight):
        return FUNCTIONS["PReLU"].apply(input, weight)
    w = contiguous(weight.reshape(-1))
    return run_unary(fa.prelu, input, {"axis": 1}, as_numpy(w))[1]


# --------------------------------------------------------------------------
# softmax / log_softmax
# --------------------------------------------------------------------------


def _rowwise(name, input, dim, dtype, fallback):
    if dim is None:
        dim = F._get_softmax_dim(name.lower(), input.dim(), 4)
    if dtype is not None:
        input = input.to(dtype)
    ndim = input.dim()
    if (not isinstance(input, torch.Tensor) or not is_fast_path(input) or ndim == 0
            or not -ndim <= dim < ndim):
        return fallback(input, dim)
    if needs_grad(input):
        return FUNCTIONS[name].apply(input, dim)
    x = contiguous(input)
    y = torch.empty_like(x)
    getattr(fa, "softmax" if name == "Softmax" else "log_softmax")(
        as_numpy(x), dim, out=as_numpy(y))
    return y


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x - max) / sum(exp(x - max)) along dim, as F.softmax.

    ``dim=None`` picks torch's legacy implicit dim (with torch's warning);
    ``dtype`` casts the input first.  A row of all -inf gives NaN, as torch.
    """
    return _rowwise("Softmax", input, dim, dtype, lambda x, d: F.softmax(x, d))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - max - log(sum(exp(x - max))) along dim, as F.log_softmax."""
    return _rowwise("LogSoftmax", input, dim, dtype, lambda x, d: F.log_softmax(x, d))


# --------------------------------------------------------------------------
# gated
# --------------------------------------------------------------------------


def glu(input, dim=-1):
    """a * sigmoid(b), a and b the halves of input along dim, as F.glu."""
    ndim = input.dim() if isinstance(input, torch.Tensor) else 0
    if (ndim == 0 or not -ndim <= dim < ndim or input.shape[dim] % 2
            or not is_fast_path(input)):
        return F.glu(input, dim)
    if needs_grad(input):
        return FUNCTIONS["GLU"].apply(input, dim)
    x = contiguous(input)
    shape = list(x.shape)
    shape[dim] //= 2
    y = torch.empty(shape, dtype=x.dtype)
    fa.glu(as_numpy(x), dim, out=as_numpy(y))
    return y


def _gated(name, gate, up, params, fallback):
    if (not isinstance(gate, torch.Tensor) or not isinstance(up, torch.Tensor)
            or gate.shape != up.shape or not is_fast_path(gate, up)):
        return fallback()
    if needs_grad(gate, up):
        return FUNCTIONS[name].apply(gate, up, *params.values())
    gate, up = contiguous(gate), contiguous(up)
    y = torch.empty_like(gate)
    getattr(fa, name.lower())(as_numpy(gate), as_numpy(up), out=as_numpy(y), **params)
    return y


def swiglu(gate, up):
    """silu(gate) * up (the SwiGLU feed-forward gate); falls back to
    ``F.silu(gate) * up`` (with broadcasting) off the fast path or when the
    shapes differ."""
    return _gated("SwiGLU", gate, up, {}, lambda: F.silu(gate) * up)


def geglu(gate, up, approximate="none"):
    """gelu(gate, approximate) * up; falls back to ``F.gelu(gate) * up``."""
    if approximate not in ("none", "tanh"):
        return F.gelu(gate, approximate=approximate) * up
    return _gated("GeGLU", gate, up, {"approximate": approximate},
                  lambda: F.gelu(gate, approximate=approximate) * up)


FUNCTIONAL_NAMES = ["relu", "leaky_relu", "prelu", "rrelu", "elu", "selu", "gelu", "sigmoid",
                    "logsigmoid", "log_sigmoid", "tanh", "silu", "swish", "mish", "softplus",
                    "hardsigmoid", "hardswish", "softmax", "log_softmax", "glu", "swiglu",
                    "geglu"]

functional = _types.ModuleType(__name__ + ".functional", FUNCTIONAL_DOC)
for _name in FUNCTIONAL_NAMES:
    setattr(functional, _name, globals()[_name])
functional.__all__ = list(FUNCTIONAL_NAMES)
_sys.modules[functional.__name__] = functional   # import fastact.torch.functional works
FF = functional


# ==========================================================================
# nn.Module classes
# ==========================================================================

# nn.Module drop-ins named like torch's.
#
# Each class subclasses the ``torch.nn`` module of the same name and only
# replaces ``forward`` with the matching ``fastact.torch.functional`` call, so
# constructor arguments and defaults, attributes (``inplace``, ``approximate``,
# ``dim``, ``weight``, ...), ``repr``, ``state_dict`` keys and ``isinstance``
# checks are torch's.  Non-CPU or non-float32/float64 inputs fall back to
# torch's implementation.  ``inplace=True`` is accepted: it is honoured (the
# input is overwritten and returned) when no gradient is recorded for the input,
# otherwise a new tensor is returned (see ``fastact.torch.functional``).
#
# ``SwiGLU``, ``GeGLU`` (``forward(gate, up)``) and ``Swish(beta)`` have no torch
# counterpart.  ``convert(model)`` replaces the torch activation modules of a
# model by these classes.

MODULE_NAMES = ["ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "GELU", "Sigmoid",
                "LogSigmoid", "Tanh", "SiLU", "Mish", "Softplus", "Hardsigmoid", "Hardswish",
                "Softmax", "LogSoftmax", "GLU", "SwiGLU", "GeGLU", "Swish"]


class ReLU(nn.ReLU):
    """torch.nn.ReLU computed by fastact (``inplace`` as in fastact.torch.functional)."""

    def forward(self, input):
        return FF.relu(input, inplace=self.inplace)


class LeakyReLU(nn.LeakyReLU):
    """torch.nn.LeakyReLU(negative_slope=0.01, inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.leaky_relu(input, self.negative_slope, self.inplace)


class PReLU(nn.PReLU):
    """torch.nn.PReLU(num_parameters=1, init=0.25) computed by fastact.

    ``weight`` is a learnable parameter of ``num_parameters`` elements (1, or
    the number of channels, dim 1 of the input); its gradient is computed in
    fastact's backward.
    """

    def forward(self, input):
        return FF.prelu(input, self.weight)


class RReLU(nn.RReLU):
    """torch.nn.RReLU(lower=1/8, upper=1/3, inplace=False).

    In evaluation mode (``model.eval()``) fastact computes the leaky ReLU
    with the mean slope (lower + upper) / 2.  In training mode the random
    slopes come from torch's generator through torch's own kernel, so the
    results and the random stream are exactly torch's.
    """

    def forward(self, input):
        return FF.rrelu(input, self.lower, self.upper, self.training, self.inplace)


class ELU(nn.ELU):
    """torch.nn.ELU(alpha=1.0, inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.elu(input, self.alpha, self.inplace)


class SELU(nn.SELU):
    """torch.nn.SELU(inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.selu(input, self.inplace)


class GELU(nn.GELU):
    """torch.nn.GELU(approximate='none' | 'tanh') computed by fastact."""

    def forward(self, input):
        return FF.gelu(input, approximate=self.approximate)


class Sigmoid(nn.Sigmoid):
    """torch.nn.Sigmoid computed by fastact."""

    def forward(self, input):
        return FF.sigmoid(input)


class LogSigmoid(nn.LogSigmoid):
    """torch.nn.LogSigmoid computed by fastact."""

    def forward(self, input):
        return FF.logsigmoid(input)


class Tanh(nn.Tanh):
    """torch.nn.Tanh computed by fastact."""

    def forward(self, input):
        return FF.tanh(input)


class SiLU(nn.SiLU):
    """torch.nn.SiLU(inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.silu(input, inplace=self.inplace)


class Mish(nn.Mish):
    """torch.nn.Mish(inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.mish(input, inplace=self.inplace)


class Softplus(nn.Softplus):
    """torch.nn.Softplus(beta=1.0, threshold=20.0) computed by fastact."""

    def forward(self, input):
        return FF.softplus(input, self.beta, self.threshold)


class Hardsigmoid(nn.Hardsigmoid):
    """torch.nn.Hardsigmoid(inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.hardsigmoid(input, self.inplace)


class Hardswish(nn.Hardswish):
    """torch.nn.Hardswish(inplace=False) computed by fastact."""

    def forward(self, input):
        return FF.hardswish(input, self.inplace)


class Softmax(nn.Softmax):
    """torch.nn.Softmax(dim=None) computed by fastact (backward from the output)."""

    def forward(self, input):
        return FF.softmax(input, self.dim)


class LogSoftmax(nn.LogSoftmax):
    """torch.nn.LogSoftmax(dim=None) computed by fastact (backward from the output)."""

    def forward(self, input):
        return FF.log_softmax(input, self.dim)


class GLU(nn.GLU):
    """torch.nn.GLU(dim=-1) computed by fastact."""

    def forward(self, input):
        return FF.glu(input, self.dim)


class SwiGLU(nn.Module):
    """SwiGLU gate: ``forward(gate, up) = silu(gate) * up``.

    In a transformer feed-forward block:
    ``down(SwiGLU()(w_gate(x), w_up(x)))``.
    """

    def forward(self, gate, up):
        return FF.swiglu(gate, up)


class GeGLU(nn.Module):
    """GeGLU gate: ``forward(gate, up) = gelu(gate, approximate) * up``."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, gate, up):
        return FF.geglu(gate, up, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Swish(nn.Module):
    """Swish(beta=1.0): ``x * sigmoid(beta * x)`` (SiLU when beta == 1)."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, input):
        return FF.swish(input, self.beta)

    def extra_repr(self):
        return f"beta={self.beta}"


_CONVERTIBLE = {getattr(nn, name): globals()[name] for name in MODULE_NAMES
                if hasattr(nn, name)}


def convert(module):
    """Replace every torch activation module in ``module`` by its fastact class, in place.

    Exact instances of torch.nn.ReLU, GELU, SiLU, Softmax, PReLU, ... (not
    subclasses) become instances of the fastact class of the same name with
    the same attributes and parameters (PReLU keeps its weight Parameter, so
    optimizers and state_dict are unaffected).  Returns ``module`` (or its
    replacement when ``module`` itself is an activation).
    """
    def swap(m):
        cls = _CONVERTIBLE.get(type(m))
        if cls is None:
            return m
        new = cls.__new__(cls)
        new.__dict__.update(m.__dict__)
        return new

    for parent in list(module.modules()):
        for name, child in list(parent._modules.items()):
            if child is not None and type(child) in _CONVERTIBLE:
                parent._modules[name] = swap(child)
    return swap(module)


__all__ = (["functional", "convert", "is_fast_path", "FUNCTIONS"] + MODULE_NAMES
           + [f"{name}Function" for name in FUNCTIONS] + FUNCTIONAL_NAMES)
