"""fastact.torch: the PyTorch drop-in (issue 5, item 2).

Checked here (skipped cleanly without torch):

* ``import fastact`` never imports torch; ``import fastact.torch`` without
  torch raises an ImportError that says what to install;
* ``torch.autograd.gradcheck`` passes in float64 for every Function (inputs
  away from kinks), and the Functions refuse a double backward
  (once_differentiable);
* every module's output and input/parameter gradients equal torch's own
  module's in float32 and float64 (rtol 8 eps, atol 16 eps: torch's own error
  at ordinary points plus fastact's SPEC section 5 bounds, as
  tests/test_torch_parity.py);
* float16 / bfloat16 / complex / meta tensors fall back to torch (bitwise
  torch's result);
* no copies: a contiguous input is saved for backward as is (same data_ptr),
  the forward allocates exactly its output, a non-contiguous input is copied
  once; ``inplace=True`` writes into the input without allocating and bumps
  its autograd version counter;
* an MLP (Linear-GELU-Linear-SiLU-Linear-Softmax) and transformer
  feed-forward blocks (SwiGLU, GeGLU, GELU) give torch's outputs and
  parameter gradients with the same weights.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
nn = torch.nn

import fastact.torch as ft  # noqa: E402
import fastact.torch.functional as FF  # noqa: E402

DTYPES = [torch.float32, torch.float64]
DTYPE_IDS = ["f32", "f64"]
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def tolerance(dtype, scale=1.0):
    eps = torch.finfo(dtype).eps
    return {"rtol": 8 * eps, "atol": 16 * eps * max(1.0, scale)}


def assert_close(actual, expected, what="", scale=1.0):
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} vs {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(),
                               err_msg=what, **tolerance(actual.dtype, scale))


def randn(shape, dtype, seed, lo=-6.0, hi=6.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo).to(dtype)


def away_from(x, points, gap=0.05):
    """Push the elements of x within gap of any of points out to gap."""
    for p in points:
        near = (x - p).abs() < gap
        x = torch.where(near, p + gap * torch.where(x >= p, 1.0, -1.0).to(x.dtype), x)
    return x


# --------------------------------------------------------------------------
# import behaviour
# --------------------------------------------------------------------------


def test_import_fastact_does_not_import_torch():
    code = "import sys, fastact; fastact.gelu(1.0); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_without_torch_is_a_clear_import_error():
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # as if torch were not installed\n"
        "import fastact\n"
        "try:\n"
        "    import fastact.torch\n"
        "except ImportError as e:\n"
        "    assert 'needs PyTorch' in str(e) and 'pip install torch' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# the cases: fastact module, torch reference, input maker, kinks
# --------------------------------------------------------------------------

# (id, fastact module factory, torch module factory, kinks to avoid in gradcheck)
ELEMENTWISE_CASES = [
    ("relu", lambda: ft.ReLU(), lambda: nn.ReLU(), [0.0]),
    ("leaky_relu", lambda: ft.LeakyReLU(0.2), lambda: nn.LeakyReLU(0.2), [0.0]),
    ("rrelu_eval", lambda: ft.RReLU(0.1, 0.3).eval(), lambda: nn.RReLU(0.1, 0.3).eval(), [0.0]),
    ("elu", lambda: ft.ELU(0.7), lambda: nn.ELU(0.7), [0.0]),
    ("selu", lambda: ft.SELU(), lambda: nn.SELU(), [0.0]),
    ("gelu", lambda: ft.GELU(), lambda: nn.GELU(), []),
    ("gelu_tanh", lambda: ft.GELU("tanh"), lambda: nn.GELU("tanh"), []),
    ("sigmoid", lambda: ft.Sigmoid(), lambda: nn.Sigmoid(), []),
    ("log_sigmoid", lambda: ft.LogSigmoid(), lambda: nn.LogSigmoid(), []),
    ("tanh", lambda: ft.Tanh(), lambda: nn.Tanh(), []),
    ("silu", lambda: ft.SiLU(), lambda: nn.SiLU(), []),
    ("swish", lambda: ft.Swish(1.7), lambda: (lambda t: t * torch.sigmoid(1.7 * t)), []),
    ("mish", lambda: ft.Mish(), lambda: nn.Mish(), []),
    ("softplus", lambda: ft.Softplus(), lambda: nn.Softplus(), []),
    ("softplus_beta", lambda: ft.Softplus(2.0, 4.0), lambda: nn.Softplus(2.0, 4.0), [2.0]),
    # torch's float64 hardsigmoid' is the float constant 1.0f/6 (relative error
    # 3e-8, see tests/test_torch_parity.py); hardtanh(x, -3, 3)/6 + 1/2 is the
    # same function with the same kinks and an exact 1/6.
    ("hardsigmoid", lambda: ft.Hardsigmoid(),
     lambda: (lambda t: F.hardtanh(t, -3.0, 3.0) / 6 + 0.5), [-3.0, 3.0]),
    ("hardswish", lambda: ft.Hardswish(), lambda: nn.Hardswish(), [-3.0, 3.0]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=[c[0] for c in ELEMENTWISE_CASES])
def test_elementwise_module_matches_torch(case, dtype):
    _, fast, ref, kinks = case
    x = away_from(randn((4, 33), dtype, 1), kinks, 1e-3)
    g = randn((4, 33), dtype, 2, -1.0, 1.0)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = fast()(xa), ref()(xb)
    ya.backward(g)
    yb.backward(g)
    assert type(ya.grad_fn).__name__.endswith("FunctionBackward")   # fastact's, not torch's
    assert_close(ya, yb, "forward")
    assert_close(xa.grad, xb.grad, "grad")
    with torch.no_grad():                      # the direct (no autograd) path
        assert_close(fast()(x), yb, "forward without autograd")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("num_parameters,shape", [(1, (3, 4, 5)), (4, (3, 4, 5)), (4, (6, 4)),
                                                  (1, (7,))])
def test_prelu_matches_torch(num_parameters, shape, dtype):
    x = away_from(randn(shape, dtype, 3), [0.0], 1e-3)
    g = randn(shape, dtype, 4, -1.0, 1.0)
    fast = ft.PReLU(num_parameters, dtype=dtype)
    ref = nn.PReLU(num_parameters, dtype=dtype)
    with torch.no_grad():
        w = torch.linspace(-0.3, 0.6, num_parameters, dtype=dtype)
        fast.weight.copy_(w)
        ref.weight.copy_(w)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = fast(xa), ref(xb)
    ya.backward(g)
    yb.backward(g)
    assert type(ya.grad_fn).__name__ == "PReLUFunctionBackward"
    assert_close(ya, yb, "forward")
    assert_close(xa.grad, xb.grad, "grad input")
    # grad_weight is a sum of up to 60 terms: accumulation error on top
    assert_close(fast.weight.grad, ref.weight.grad, "grad weight", scale=float(np.prod(shape)))
    assert list(fast.state_dict()) == list(ref.state_dict()) == ["weight"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_rowwise_module_matches_torch(kind, dim, dtype):
    x = randn((5, 3, 17), dtype, 5)
    g = randn((5, 3, 17), dtype, 6, -1.0, 1.0)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = getattr(ft, kind)(dim)(xa), getattr(nn, kind)(dim)(xb)
    ya.backward(g)
    yb.backward(g)
    assert type(ya.grad_fn).__name__ == f"{kind}FunctionBackward"
    assert_close(ya, yb, "forward")
    assert_close(xa.grad, xb.grad, "grad", scale=float(x.shape[dim]))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("dim", [-1, 0])
def test_glu_matches_torch(dim, dtype):
    x = randn((6, 10), dtype, 7)
    g = randn((3, 10) if dim == 0 else (6, 5), dtype, 8, -1.0, 1.0)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ft.GLU(dim)(xa), nn.GLU(dim)(xb)
    ya.backward(g)
    yb.backward(g)
    assert type(ya.grad_fn).__name__ == "GLUFunctionBackward"
    assert_close(ya, yb, "forward")
    assert_close(xa.grad, xb.grad, "grad")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind,approximate", [("SwiGLU", None), ("GeGLU", "none"),
                                              ("GeGLU", "tanh")])
def test_gated_modules_match_torch(kind, approximate, dtype):
    gate, up = randn((4, 21), dtype, 9), randn((4, 21), dtype, 10, -2.0, 2.0)
    g = randn((4, 21), dtype, 11, -1.0, 1.0)
    fast = ft.SwiGLU() if kind == "SwiGLU" else ft.GeGLU(approximate)

    def ref(a, b):
        return (F.silu(a) if kind == "SwiGLU" else F.gelu(a, approximate=approximate)) * b

    ga, ua = gate.clone().requires_grad_(), up.clone().requires_grad_()
    gb, ub = gate.clone().requires_grad_(), up.clone().requires_grad_()
    ya, yb = fast(ga, ua), ref(gb, ub)
    ya.backward(g)
    yb.backward(g)
    assert type(ya.grad_fn).__name__ == f"{kind}FunctionBackward"
    assert_close(ya, yb, "forward", scale=2.0)
    assert_close(ga.grad, gb.grad, "grad gate", scale=2.0)
    assert_close(ua.grad, ub.grad, "grad up", scale=2.0)


def test_rrelu_training_is_torchs_random_rrelu():
    x = randn((8, 50), torch.float32, 12)
    torch.manual_seed(123)
    xa = x.clone().requires_grad_()
    ya = ft.RReLU(0.1, 0.3)(xa)
    ya.sum().backward()
    torch.manual_seed(123)
    xb = x.clone().requires_grad_()
    yb = nn.RReLU(0.1, 0.3)(xb)
    yb.sum().backward()
    assert torch.equal(ya, yb) and torch.equal(xa.grad, xb.grad)
    neg = x <= 0
    slopes = (ya[neg] / x[neg]).detach()
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6 and slopes.std() > 0.01
    assert torch.equal(ya[~neg], x[~neg])


def test_softmax_dim_none_is_torchs_implicit_dim():
    x = randn((3, 4, 5), torch.float64, 13)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        a = ft.Softmax()(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = nn.Softmax()(x)
    assert_close(a, b)


def test_functional_forms_match_torch():
    x = randn((5, 8), torch.float64, 14)
    w = torch.tensor([0.1, -0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], dtype=torch.float64)
    pairs = [
        (FF.relu(x), F.relu(x)), (FF.leaky_relu(x, 0.3), F.leaky_relu(x, 0.3)),
        (FF.rrelu(x), F.rrelu(x)), (FF.elu(x, 2.0), F.elu(x, 2.0)), (FF.selu(x), F.selu(x)),
        (FF.gelu(x, approximate="tanh"), F.gelu(x, approximate="tanh")),
        (FF.sigmoid(x), torch.sigmoid(x)), (FF.logsigmoid(x), F.logsigmoid(x)),
        (FF.log_sigmoid(x), F.logsigmoid(x)), (FF.tanh(x), torch.tanh(x)),
        (FF.silu(x), F.silu(x)), (FF.swish(x, 1.0), F.silu(x)), (FF.mish(x), F.mish(x)),
        (FF.softplus(x, 0.5, 2.0), F.softplus(x, 0.5, 2.0)),
        (FF.hardswish(x), F.hardswish(x)), (FF.hardsigmoid(x), F.hardsigmoid(x)),
        (FF.prelu(x, w), F.prelu(x, w)), (FF.softmax(x, 0), F.softmax(x, 0)),
        (FF.log_softmax(x, -1), F.log_softmax(x, -1)), (FF.glu(x, 1), F.glu(x, 1)),
        (FF.swiglu(x, x), F.silu(x) * x), (FF.geglu(x, x), F.gelu(x) * x),
        (FF.softmax(x.float(), 1, dtype=torch.float64), F.softmax(x.float(), 1,
                                                                 dtype=torch.float64)),
    ]
    for i, (a, b) in enumerate(pairs):
        assert_close(a, b, f"pair {i}", scale=36.0)


def test_zero_dim_and_empty_tensors():
    for shape in [(), (0,), (0, 4), (3, 0)]:
        x = randn(shape, torch.float64, 15).requires_grad_()
        for fa_fn, t_fn in [(FF.gelu, F.gelu), (FF.sigmoid, torch.sigmoid),
                            (lambda t: FF.softmax(t, -1), lambda t: F.softmax(t, -1))]:
            a, b = fa_fn(x), t_fn(x)
            assert a.shape == b.shape
            assert_close(a, b)
            a.sum().backward()


# --------------------------------------------------------------------------
# gradcheck, double backward
# --------------------------------------------------------------------------


def gradcheck_inputs(kinks, shape=(3, 5), seed=20, lo=-4.0, hi=4.0):
    x = away_from(randn(shape, torch.float64, seed, lo, hi), kinks, 0.05)
    return x.requires_grad_()


GRADCHECK_CASES = [
    ("ReLU", (), [0.0]), ("LeakyReLU", (0.2,), [0.0]), ("RReLU", (0.1, 0.3), [0.0]),
    ("ELU", (0.7,), [0.0]), ("SELU", (), [0.0]), ("GELU", ("none",), []),
    ("GELU", ("tanh",), []), ("Sigmoid", (), []), ("LogSigmoid", (), []), ("Tanh", (), []),
    ("SiLU", (), []), ("Swish", (1.7,), []), ("Mish", (), []), ("Softplus", (1.0, 20.0), []),
    ("Softplus", (2.0, 4.0), [2.0]), ("Hardsigmoid", (), [-3.0, 3.0]),
    ("Hardswish", (), [-3.0, 3.0]),
]


@pytest.mark.parametrize("name,params,kinks", GRADCHECK_CASES,
                         ids=[f"{c[0]}{c[1]}" for c in GRADCHECK_CASES])
def test_gradcheck_elementwise(name, params, kinks):
    x = gradcheck_inputs(kinks)
    assert torch.autograd.gradcheck(lambda t: ft.FUNCTIONS[name].apply(t, *params), (x,))


def test_gradcheck_prelu():
    x = gradcheck_inputs([0.0], shape=(2, 3, 4))
    w = torch.tensor([0.25, -0.5, 1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ft.PReLUFunction.apply, (x, w))
    w1 = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ft.PReLUFunction.apply, (x, w1))


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "GLU"])
@pytest.mark.parametrize("dim", [-1, 0])
def test_gradcheck_rowwise_and_glu(name, dim):
    x = gradcheck_inputs([], shape=(4, 6))
    assert torch.autograd.gradcheck(lambda t: ft.FUNCTIONS[name].apply(t, dim), (x,))


@pytest.mark.parametrize("name,params", [("SwiGLU", ()), ("GeGLU", ("none",)),
                                         ("GeGLU", ("tanh",))])
def test_gradcheck_gated(name, params):
    gate = gradcheck_inputs([], seed=21)
    up = gradcheck_inputs([], seed=22)
    assert torch.autograd.gradcheck(
        lambda a, b: ft.FUNCTIONS[name].apply(a, b, *params), (gate, up))


def test_every_function_is_gradchecked():
    checked = {c[0] for c in GRADCHECK_CASES} | {"PReLU", "Softmax", "LogSoftmax", "GLU",
                                                 "SwiGLU", "GeGLU"}
    assert checked == set(ft.FUNCTIONS)


def test_double_backward_raises():
    x = gradcheck_inputs([])
    y = ft.GELU()(x)
    g = torch.ones_like(y, requires_grad=True)
    (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gx.sum().backward()


# --------------------------------------------------------------------------
# fallback to torch
# --------------------------------------------------------------------------

FALLBACK_CASES = [
    ("relu", FF.relu, F.relu), ("gelu", FF.gelu, F.gelu),
    ("gelu_tanh", lambda t: FF.gelu(t, approximate="tanh"),
     lambda t: F.gelu(t, approximate="tanh")),
    ("silu", FF.silu, F.silu), ("sigmoid", FF.sigmoid, torch.sigmoid),
    ("mish", FF.mish, F.mish), ("elu", FF.elu, F.elu), ("hardswish", FF.hardswish, F.hardswish),
    ("softplus", FF.softplus, F.softplus), ("logsigmoid", FF.logsigmoid, F.logsigmoid),
    ("softmax", lambda t: FF.softmax(t, -1), lambda t: F.softmax(t, -1)),
    ("log_softmax", lambda t: FF.log_softmax(t, 0), lambda t: F.log_softmax(t, 0)),
    ("glu", FF.glu, F.glu),
    ("prelu", lambda t: FF.prelu(t, torch.full((4,), 0.2, dtype=t.dtype)),
     lambda t: F.prelu(t, torch.full((4,), 0.2, dtype=t.dtype))),
    ("swiglu", lambda t: FF.swiglu(t, t * 2), lambda t: F.silu(t) * (t * 2)),
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("case", FALLBACK_CASES, ids=[c[0] for c in FALLBACK_CASES])
def test_half_precision_falls_back_to_torch(case, dtype):
    _, fast, ref = case
    x = randn((3, 4), torch.float32, 30).to(dtype)
    g = randn(fast(x).shape, torch.float32, 31).to(dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = fast(xa), ref(xb)
    ya.backward(g)
    yb.backward(g)
    assert ya.dtype == dtype and torch.equal(ya, yb)
    assert torch.equal(xa.grad, xb.grad)
    assert "Function" not in type(ya.grad_fn).__name__


def test_other_devices_and_dtypes_fall_back():
    m = torch.randn(3, 4, device="meta")             # a non-CPU device
    assert ft.GELU()(m).device.type == "meta"
    assert ft.Softmax(-1)(m).shape == (3, 4)
    z = torch.randn(3, 4, dtype=torch.complex64)      # complex: torch's own
    assert torch.equal(FF.tanh(z), torch.tanh(z))
    assert torch.equal(FF.sigmoid(z), torch.sigmoid(z))
    i = torch.arange(-3, 3)                            # integer: torch's own
    assert torch.equal(FF.relu(i), F.relu(i))
    with pytest.raises(RuntimeError):                 # torch's own error
        FF.gelu(i)
    a, b = randn((3, 4), torch.float32, 32), randn((3, 4), torch.float64, 33)
    assert_close(FF.swiglu(a, b), F.silu(a) * b)     # mixed dtypes: torch's promotion
    c = randn((1, 4), torch.float64, 34)
    assert_close(FF.swiglu(b, c), F.silu(b) * c)     # broadcasting: torch's


def test_torch_func_transforms_fall_back():
    x = randn((3, 5), torch.float64, 35)
    gx = torch.func.grad(lambda t: FF.gelu(t).sum())(x)
    assert_close(gx, torch.func.grad(lambda t: F.gelu(t).sum())(x))
    vx = torch.func.vmap(lambda t: FF.softmax(t, -1))(x)
    assert_close(vx, F.softmax(x, -1))


# --------------------------------------------------------------------------
# no copies
# --------------------------------------------------------------------------


def op_counts(fn):
    with torch.profiler.profile() as prof:
        fn()
    counts = {}
    for event in prof.events():
        counts[event.name] = counts.get(event.name, 0) + 1
    return counts


ALLOCATING = ("aten::empty_like", "aten::empty", "aten::clone", "aten::copy_",
              "aten::contiguous")


def allocations(counts):
    return {k: v for k, v in counts.items() if k in ALLOCATING}


@pytest.mark.parametrize("name", ["GELU", "SiLU", "Tanh"])
def test_forward_saves_the_input_itself(name):
    x = randn((64, 1024), torch.float32, 40).requires_grad_()
    y = getattr(ft, name)()(x)
    (saved,) = y.grad_fn.saved_tensors
    assert saved.data_ptr() == x.data_ptr()
    counts = op_counts(lambda: getattr(ft, name)()(x))
    assert allocations(counts) == {"aten::empty_like": 1}, counts   # the output only


def test_softmax_saves_its_output_and_gated_save_inputs():
    x = randn((8, 64), torch.float32, 41).requires_grad_()
    y = ft.Softmax(-1)(x)
    (saved,) = y.grad_fn.saved_tensors
    assert saved.data_ptr() == y.data_ptr()
    up = randn((8, 64), torch.float32, 42).requires_grad_()
    z = ft.SwiGLU()(x, up)
    assert [t.data_ptr() for t in z.grad_fn.saved_tensors] == [x.data_ptr(), up.data_ptr()]


def test_non_contiguous_input_is_copied_once():
    base = randn((32, 64), torch.float32, 43)
    x = base.t().requires_grad_()
    counts = op_counts(lambda: ft.GELU()(x))
    assert counts.get("aten::clone", 0) + counts.get("aten::contiguous", 0) >= 1
    assert counts.get("aten::copy_", 0) == 1, counts
    assert_close(ft.GELU()(x), F.gelu(x))


def test_no_grad_path_allocates_only_the_output():
    x = randn((64, 1024), torch.float64, 44)
    counts = op_counts(lambda: ft.Mish()(x))
    assert allocations(counts) == {"aten::empty_like": 1}, counts


def test_inplace_without_grad_writes_into_the_input():
    x = randn((16, 32), torch.float32, 45)
    expected = F.silu(x)
    version = x._version
    with torch.no_grad():
        ptr = x.data_ptr()
        counts = op_counts(lambda: ft.SiLU(inplace=True)(x))
        y = ft.ReLU(inplace=True)
    assert allocations(counts) == {}, counts
    assert x.data_ptr() == ptr and x._version > version
    assert_close(x, expected)
    expected = F.relu(x)
    z = y(x)
    assert z is x and torch.equal(x, expected)
    # non-contiguous: still modified in place
    w = randn((16, 32), torch.float64, 46)
    ref = F.hardswish(w.t())
    out = FF.hardswish(w.t(), inplace=True)
    assert torch.equal(w.t(), out)
    assert_close(out, ref)


def test_inplace_bumps_the_version_counter_for_autograd():
    # x is saved by the multiplication; modifying it in place must be detected.
    a = randn((4, 5), torch.float64, 47).requires_grad_()
    x = randn((4, 5), torch.float64, 48)
    h = a * x
    ft.ReLU(inplace=True)(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()


def test_inplace_with_grad_returns_a_new_tensor():
    x = randn((4, 5), torch.float64, 49)
    xr = x.clone().requires_grad_()
    y = ft.ELU(inplace=True)(xr)
    assert y is not xr and torch.equal(xr.detach(), x)
    y.sum().backward()
    xt = x.clone().requires_grad_()
    F.elu(xt).sum().backward()
    assert_close(xr.grad, xt.grad)


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------


def model_tolerance(dtype, reference):
    """SPEC 5 bounds plus accumulation through the linear layers."""
    eps = torch.finfo(dtype).eps
    return {"rtol": 64 * eps, "atol": 64 * eps * max(1.0, float(reference.detach().abs().max()))}


def compare_models(build, inputs, dtype, seed=0):
    """build(fastact_module_namespace) -> model; same weights for both namespaces."""
    torch.manual_seed(seed)
    ref = build(nn).to(dtype)
    fast = build(ft).to(dtype)
    fast.load_state_dict(ref.state_dict())
    xs = [t.to(dtype) for t in inputs]
    ya = fast(*xs)
    yb = ref(*xs)
    g = randn(ya.shape, dtype, 99, -1.0, 1.0)
    ya.backward(g)
    yb.backward(g)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(),
                               **model_tolerance(dtype, yb))
    fast_params, ref_params = dict(fast.named_parameters()), dict(ref.named_parameters())
    assert fast_params.keys() == ref_params.keys()
    for name, p in ref_params.items():
        np.testing.assert_allclose(fast_params[name].grad.numpy(), p.grad.numpy(),
                                   err_msg=name, **model_tolerance(dtype, p.grad))
    return fast


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_mlp_matches_torch(dtype):
    def build(ns):
        return nn.Sequential(nn.Linear(32, 64), ns.GELU(), nn.Linear(64, 48), ns.SiLU(),
                             nn.Linear(48, 10), ns.Softmax(dim=-1))

    fast = compare_models(build, [randn((16, 32), torch.float64, 50, -2, 2)], dtype)
    assert isinstance(fast[1], ft.GELU) and isinstance(fast[1], nn.GELU)


class FeedForward(nn.Module):
    """Transformer feed-forward block: down(act(gate(x)) * up(x)) or down(act(up(x)))."""

    def __init__(self, ns, kind, d=32, hidden=96):
        super().__init__()
        self.kind = kind
        self.up = nn.Linear(d, hidden)
        self.down = nn.Linear(hidden, d)
        if kind == "gelu":
            self.act = ns.GELU()
        else:
            self.gate = nn.Linear(d, hidden, bias=False)
            if ns is nn:       # torch has no gated module: the usual expressions
                self.act = (lambda a, b: F.silu(a) * b) if kind == "swiglu" else (
                    lambda a, b: F.gelu(a, approximate="tanh") * b)
            else:
                self.act = ns.SwiGLU() if kind == "swiglu" else ns.GeGLU("tanh")

    def forward(self, x):
        if self.kind == "gelu":
            return self.down(self.act(self.up(x)))
        return self.down(self.act(self.gate(x), self.up(x)))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ["swiglu", "geglu", "gelu"])
def test_transformer_feed_forward_matches_torch(kind, dtype):
    x = randn((2, 12, 32), torch.float64, 51, -2, 2)      # (batch, tokens, d_model)
    compare_models(lambda ns: FeedForward(ns, kind), [x], dtype)


def test_convert_swaps_torch_activations():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Sequential(nn.PReLU(8), nn.GELU("tanh")),
                          nn.Linear(8, 6), nn.LogSoftmax(dim=1))
    x = randn((5, 8), torch.float64, 52).float()
    expected = model(x)
    weight = model[2][0].weight
    ft.convert(model)
    assert type(model[1]) is ft.ReLU and type(model[2][0]) is ft.PReLU
    assert type(model[2][1]) is ft.GELU and model[2][1].approximate == "tanh"
    assert type(model[4]) is ft.LogSoftmax and model[4].dim == 1
    assert model[2][0].weight is weight
    y = model(x)
    assert type(y.grad_fn).__name__ == "LogSoftmaxFunctionBackward"
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


# --------------------------------------------------------------------------
# tracing and compiling get torch's own ops
# --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_jit_trace_records_torch_ops():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(8, 8), ft.GELU(), nn.Linear(8, 4), ft.Softmax(-1))
    traced = torch.jit.trace(model, randn((3, 8), torch.float32, 60))
    x = randn((5, 8), torch.float32, 61)        # another shape: not baked-in constants
    np.testing.assert_allclose(traced(x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_torch_compile_fullgraph():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 8), ft.SiLU(), nn.Linear(8, 4), ft.LogSoftmax(-1))
    compiled = torch.compile(model, backend="eager", fullgraph=True)   # no graph break
    x = randn((5, 8), torch.float32, 62)
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_inplace_on_inference_tensor_outside_inference_mode_raises_as_torch():
    with torch.inference_mode():
        x = randn((3, 4), torch.float32, 63)
        assert ft.ReLU(inplace=True)(x) is x     # inside inference mode: fine
    with pytest.raises(RuntimeError, match="[Ii]nference"):
        ft.ReLU(inplace=True)(x)
