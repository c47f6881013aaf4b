"""Forward and forward+backward of every fastact.torch module against torch's own.

    python bench/torch_modules.py [--shape 64 1024] [--threads 1] [--repeats 15]

For each module and dtype, on the same input tensor, one process:

* forward: ``module(x)`` under ``torch.no_grad()`` (fastact's direct path, no
  autograd node; torch's functional kernel);
* forward+backward: ``y = module(x); y.backward(g)`` with ``x.requires_grad``
  (x.grad reset to None before each call, so no accumulation).

Times are the median over ``--repeats`` runs of a loop sized to about 20 ms,
after a warm-up; torch and fastact each on ``--threads`` threads.  The ratio
is torch time / fastact time (> 1: fastact is faster).  Timings are for the
whole Python-level call, overheads included (module call, autograd Function,
tensor <-> NumPy views); "fwd kernel" is fastact's NumPy function on the same
buffers with a preallocated out=, i.e. the forward without the torch layer.
"""
import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import fastact
import fastact.torch as ft


class _Gated(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, gate, up):
        return self.fn(gate, up)


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def cases(channels):
    """(label, fastact module, torch module, number of tensor inputs, kernel).

    kernel(arrays, out) calls fastact's NumPy function on the same buffers
    (the "fwd kernel" column: what the module's forward costs without the
    torch wrapper).
    """
    w = np.full(channels, 0.25)
    return [
        ("ReLU", ft.ReLU(), nn.ReLU(), 1, lambda a, o: fastact.relu(*a, out=o)),
        ("LeakyReLU", ft.LeakyReLU(), nn.LeakyReLU(), 1,
         lambda a, o: fastact.leaky_relu(*a, out=o)),
        (f"PReLU({channels})", ft.PReLU(channels), nn.PReLU(channels), 1,
         lambda a, o: fastact.prelu(a[0], w.astype(a[0].dtype), out=o)),
        ("RReLU (eval)", ft.RReLU().eval(), nn.RReLU().eval(), 1,
         lambda a, o: fastact.rrelu(*a, out=o)),
        ("ELU", ft.ELU(), nn.ELU(), 1, lambda a, o: fastact.elu(*a, out=o)),
        ("SELU", ft.SELU(), nn.SELU(), 1, lambda a, o: fastact.selu(*a, out=o)),
        ("GELU", ft.GELU(), nn.GELU(), 1, lambda a, o: fastact.gelu(*a, out=o)),
        ("GELU(tanh)", ft.GELU("tanh"), nn.GELU("tanh"), 1,
         lambda a, o: fastact.gelu(*a, approximate="tanh", out=o)),
        ("Sigmoid", ft.Sigmoid(), nn.Sigmoid(), 1, lambda a, o: fastact.sigmoid(*a, out=o)),
        ("LogSigmoid", ft.LogSigmoid(), nn.LogSigmoid(), 1,
         lambda a, o: fastact.log_sigmoid(*a, out=o)),
        ("Tanh", ft.Tanh(), nn.Tanh(), 1, lambda a, o: fastact.tanh(*a, out=o)),
        ("SiLU", ft.SiLU(), nn.SiLU(), 1, lambda a, o: fastact.silu(*a, out=o)),
        ("Swish(1.5)", ft.Swish(1.5), _Lambda(lambda t: t * torch.sigmoid(1.5 * t)), 1,
         lambda a, o: fastact.swish(*a, beta=1.5, out=o)),
        ("Mish", ft.Mish(), nn.Mish(), 1, lambda a, o: fastact.mish(*a, out=o)),
        ("Softplus", ft.Softplus(), nn.Softplus(), 1, lambda a, o: fastact.softplus(*a, out=o)),
        ("Hardsigmoid", ft.Hardsigmoid(), nn.Hardsigmoid(), 1,
         lambda a, o: fastact.hardsigmoid(*a, out=o)),
        ("Hardswish", ft.Hardswish(), nn.Hardswish(), 1,
         lambda a, o: fastact.hardswish(*a, out=o)),
        ("Softmax(-1)", ft.Softmax(-1), nn.Softmax(-1), 1,
         lambda a, o: fastact.softmax(a[0], -1, out=o)),
        ("LogSoftmax(-1)", ft.LogSoftmax(-1), nn.LogSoftmax(-1), 1,
         lambda a, o: fastact.log_softmax(a[0], -1, out=o)),
        ("GLU(-1)", ft.GLU(-1), nn.GLU(-1), 1, lambda a, o: fastact.glu(a[0], -1, out=o)),
        ("SwiGLU", ft.SwiGLU(), _Gated(lambda a, b: F.silu(a) * b), 2,
         lambda a, o: fastact.swiglu(*a, out=o)),
        ("GeGLU", ft.GeGLU(), _Gated(lambda a, b: F.gelu(a) * b), 2,
         lambda a, o: fastact.geglu(*a, out=o)),
    ]


def timeit(fn, repeats, target=0.02):
    fn()
    fn()
    start = time.perf_counter()
    fn()
    one = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(target / one))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops)
    return statistics.median(times)


def bench_module(module, inputs, grad, repeats):
    def forward():
        with torch.no_grad():
            module(*inputs)

    def forward_backward():
        for t in inputs:
            t.grad = None
        module(*inputs).backward(grad)

    return timeit(forward, repeats), timeit(forward_backward, repeats)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    fastact.set_num_threads(args.threads)
    cfg = fastact.config()
    shape = tuple(args.shape)
    print(f"fastact {fastact.__version__} (SIMD {cfg.get('simd_level')}, "
          f"{fastact.get_num_threads()} thread(s)) vs torch {torch.__version__} "
          f"({torch.get_num_threads()} thread(s)); CPU: {cpu_name()}")
    print(f"input shape {shape}; times in microseconds, median of {args.repeats}; "
          "ratio = torch / fastact (> 1: fastact faster)")
    print()
    header = (f"| {'module':<16} | {'dtype':<7} | {'fwd torch':>9} | {'fwd fastact':>11} | "
              f"{'fwd ratio':>9} | {'fwd kernel':>10} | {'f+b torch':>9} | {'f+b fastact':>11} | "
              f"{'f+b ratio':>9} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    ratios = {"fwd": [], "fb": []}
    for dtype_name in args.dtypes:
        dtype = getattr(torch, dtype_name)
        gen = torch.Generator().manual_seed(0)
        for label, fast, ref, n_inputs, kernel in cases(shape[1] if len(shape) > 1 else 1):
            fast.to(dtype)
            ref.to(dtype)
            inputs = [(torch.rand(shape, generator=gen, dtype=dtype) * 12 - 6).requires_grad_()
                      for _ in range(n_inputs)]
            with torch.no_grad():
                out_shape = ref(*inputs).shape
            grad = torch.rand(out_shape, generator=gen, dtype=dtype) * 2 - 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_fwd, t_fb = bench_module(ref, inputs, grad, args.repeats)
                f_fwd, f_fb = bench_module(fast, inputs, grad, args.repeats)
                arrays = [t.detach().numpy() for t in inputs]
                out = np.empty(tuple(out_shape), dtype=arrays[0].dtype)
                k_fwd = timeit(lambda: kernel(arrays, out), args.repeats)
            ratios["fwd"].append(t_fwd / f_fwd)
            ratios["fb"].append(t_fb / f_fb)
            print(f"| {label:<16} | {dtype_name:<7} | {t_fwd * 1e6:9.1f} | {f_fwd * 1e6:11.1f} | "
                  f"{t_fwd / f_fwd:9.2f} | {k_fwd * 1e6:10.1f} | {t_fb * 1e6:9.1f} | "
                  f"{f_fb * 1e6:11.1f} | "
                  f"{t_fb / f_fb:9.2f} |", flush=True)
    print()
    for key, label in (("fwd", "forward"), ("fb", "forward+backward")):
        r = ratios[key]
        geo = 1.0
        for v in r:
            geo *= v
        geo **= 1.0 / len(r)
        print(f"{label}: geometric mean ratio {geo:.2f}, min {min(r):.2f}, max {max(r):.2f}")


if __name__ == "__main__":
    main()
