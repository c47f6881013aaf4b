"""Timing fastact against NumPy and PyTorch on the same buffers.

Used by ``python -m fastact bench``, by the pytest-benchmark suite in
``bench/`` and by ``bench/report.py`` (one source of truth for workloads and
baselines):

    from fastact import _bench
    rows = _bench.run(["relu", "softmax"], sizes=[65536], dtypes=["float32"], threads=[1])
    print(_bench.format_markdown(rows))

How it measures (SPEC section 6): every library runs in this process on the
same input buffers (PyTorch on ``torch.from_numpy`` views of them), every
output is preallocated where the API takes ``out=`` and every NumPy temporary
lives in a preallocated scratch buffer, each library is warmed up, then each
repeat times a batch of calls long enough for the clock, the libraries'
repeats alternate, and the median per-call time of the repeats is reported.
fastact and PyTorch run with the same thread count (:func:`thread_count`);
NumPy's ufuncs are single-threaded.

The baselines live elsewhere, one concern per file:
``fastact._numpy_formulas`` (NumPy, always) and ``fastact._torch_formulas``
(PyTorch, only when ``import torch`` works; see :func:`torch_formulas`).
"""
import contextlib
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ._config import config as _config
from ._numpy_formulas import ERF_SOURCE, NUMPY_BASELINES, Baseline, Workspace  # noqa: F401
from .registry import REGISTRY

MODES = ("forward", "derivative", "backward")
DTYPES = ("float32", "float64")
LIBRARIES = ("fastact", "numpy", "torch")
LIBRARY_LABELS = {"fastact": "fastact", "numpy": "NumPy", "torch": "PyTorch"}
QUICK_SIZES = (65536,)
DEFAULT_SIZES = (4096, 65536, 1048576)
ISSUE_SIZES = (16, 65536, 1 << 20, 1 << 24)     # issue 3: 16 / 65536 / 1 Mi / 16 Mi

SOFTMAX_ROW = 1024     # softmax / log_softmax: rows of this length
JACOBIAN_ROW = 32      # softmax_jacobian: rows of this length (output is n*n per row)
PRELU_CHANNELS = 64    # prelu: x of shape (size // 64, 64), one weight per channel (axis=1)
GLU_HALF = 512         # glu: x of shape (size // 512, 1024), result (size // 512, 512)

# issue 3's classes of kernels
MEMORY_BOUND = ("relu", "leaky_relu", "prelu", "hardsigmoid", "hardswish")


# --------------------------------------------------------------------------
# PyTorch, when installed
# --------------------------------------------------------------------------

_TORCH = None


def torch_formulas():
    """The fastact._torch_formulas module, or None when torch cannot be imported."""
    global _TORCH
    if _TORCH is None:
        try:
            from . import _torch_formulas
        except ImportError:
            _TORCH = False
        else:
            _TORCH = _torch_formulas
    return _TORCH or None


def torch_available():
    return torch_formulas() is not None


def default_libraries():
    return LIBRARIES if torch_available() else ("fastact", "numpy")


@contextlib.contextmanager
def thread_count(n):
    """fastact and (if loaded) PyTorch both run n threads inside the block.

    torch's set_num_threads can move the OpenMP count fastact reads, so torch
    is set first and fastact last, and both are restored on exit.
    """
    import fastact as fa

    tf = torch_formulas()
    old_fa = fa.get_num_threads()
    old_torch = tf.get_num_threads() if tf else None
    if tf:
        tf.set_num_threads(n)
    fa.set_num_threads(n)
    try:
        yield
    finally:
        if tf:
            tf.set_num_threads(old_torch)
        fa.set_num_threads(old_fa)


def resolve_threads(spec, all_threads=None):
    """'all' -> all_threads (default fa.get_num_threads()), else a positive int."""
    if all_threads is None:
        import fastact as fa

        all_threads = fa.get_num_threads()
    if isinstance(spec, str):
        if spec.strip().lower() == "all":
            return int(all_threads)
        spec = int(spec)
    if spec < 1:
        raise ValueError(f"thread count must be >= 1 or 'all', got {spec}")
    return int(spec)


_SUFFIXES = {"k": 1000, "ki": 1024, "m": 1000 ** 2, "mi": 1024 ** 2}


def parse_size(text):
    """'65536', '64Ki', '1Mi', '16Mi', '4k' -> int."""
    t = str(text).strip()
    lower = t.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            value = int(float(t[: -len(suffix)]) * _SUFFIXES[suffix])
            break
    else:
        value = int(t)
    if value < 1:
        raise ValueError(f"size must be >= 1, got {text!r}")
    return value


def parse_sizes(text):
    """'issue' (16, 65536, 1Mi, 16Mi) or a comma-separated list of sizes."""
    if text is None or str(text).strip().lower() in ("issue", ""):
        return ISSUE_SIZES
    return tuple(parse_size(part) for part in str(text).split(",") if part.strip())


def format_size(n):
    for unit, name in ((1 << 20, "Mi"), (1 << 10, "Ki")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{name}"
    return str(n)


# --------------------------------------------------------------------------
# Workloads: the arrays of one (function, mode, dtype, size)
# --------------------------------------------------------------------------


@dataclass
class Workload:
    """Inputs and preallocated outputs of one benchmark case.

    ``size`` is the number of elements of the result (of the forward's result
    for glu's derivative and backward, which are laid out as x; of the
    (..., n, n) Jacobian for the row-wise derivative).
    """

    name: str
    mode: str
    dtype: np.dtype
    size: int
    arrays: tuple                       # positional arguments of every library
    fastact_out: object = None
    numpy_out: object = None
    torch_out: object = None            # NumPy buffers, handed to torch as views
    workspace: Workspace = field(default_factory=Workspace)

    @property
    def info(self):
        return REGISTRY[self.name]

    @property
    def fastact_function(self):
        return getattr(self.info, self.mode)

    @property
    def numpy_function(self):
        return getattr(NUMPY_BASELINES[self.name], self.mode)

    @property
    def reference_function(self):
        return getattr(self.info.reference, self.mode)

    @property
    def nbytes(self):
        """Bytes read and written by one call: the array arguments and the result."""
        parts = list(self.arrays) + list(_as_tuple(self.numpy_out))
        return sum(int(np.asarray(p).nbytes) for p in parts)

    def fastact_call(self):
        """A no-argument callable running fastact on this workload."""
        function, arrays, out = self.fastact_function, self.arrays, self.fastact_out
        return lambda: function(*arrays, out=out)

    def numpy_call(self):
        function, arrays = self.numpy_function, self.arrays
        out, ws = self.numpy_out, self.workspace
        return lambda: function(*arrays, out=out, ws=ws)

    def torch_call(self):
        """A no-argument callable running PyTorch, or None when torch is absent."""
        tf = torch_formulas()
        if tf is None:
            return None
        if self.torch_out is None:
            self.torch_out = _empty_like_result(self.numpy_out)
        maker = getattr(tf.TORCH_BASELINES[self.name], self.mode)
        tensors = tuple(tf.as_tensors(np.asarray(a)) for a in self.arrays)
        return maker(*tensors, out=tf.as_tensors(self.torch_out))

    def call(self, library):
        return {"fastact": self.fastact_call, "numpy": self.numpy_call,
                "torch": self.torch_call}[library]()


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _empty_like_result(result):
    if isinstance(result, tuple):
        return tuple(np.empty_like(part) for part in result)
    return np.empty_like(result)


def make_workload(name, mode, dtype, size, rng=None):
    """The arrays of `name`'s `mode` at about `size` result elements (see Workload)."""
    info = REGISTRY[name]
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0) if rng is None else rng

    def normal(shape, scale=3.0):
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(dtype)

    def rows_of(n):
        n = max(1, min(n, size))
        return (max(1, size // n), n)

    if info.kind == "rowwise":
        if mode == "derivative":
            # (rows of sqrt(size) below 32 * 32 elements: 16 gives 4 x 4)
            n = min(JACOBIAN_ROW, max(1, math.isqrt(size)))
            shape = (max(1, size // (n * n)), n)
        else:
            shape = rows_of(SOFTMAX_ROW)
        x = normal(shape)
        if mode == "forward":
            arrays = (x,)
        else:
            y = np.asarray(info.forward(x))
            arrays = (y,) if mode == "derivative" else (normal(shape, 1.0), y)
    elif name == "prelu":
        shape = rows_of(PRELU_CHANNELS)
        weight = rng.uniform(-0.5, 0.5, shape[1]).astype(dtype)
        arrays = (normal(shape), weight)
        if mode == "backward":
            arrays = (normal(shape, 1.0),) + arrays
    elif name == "glu":
        rows, half = rows_of(GLU_HALF)
        x = normal((rows, 2 * half))
        arrays = (x,) if mode != "backward" else (normal((rows, half), 1.0), x)
    elif info.kind == "gated":
        arrays = (normal(size), normal(size))
        if mode == "backward":
            arrays = (normal(size, 1.0),) + arrays
    else:
        arrays = (normal(size),)
        if mode == "backward":
            arrays = (normal(size, 1.0),) + arrays

    result = getattr(info, mode)(*arrays)
    first = result[0] if isinstance(result, tuple) else result
    result_size = int(np.size(first))
    if name == "glu" and mode != "forward":
        result_size //= 2        # laid out as x: twice the forward's result
    workload = Workload(name, mode, dtype, result_size, arrays)
    workload.fastact_out = _empty_like_result(result)
    workload.numpy_out = _empty_like_result(result)
    return workload


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


@dataclass
class Row:
    function: str
    mode: str
    dtype: str
    size: int
    fastact_s: float                 # median seconds per call
    numpy_s: Optional[float] = None
    torch_s: Optional[float] = None
    threads: int = 1
    nbytes: int = 0                  # bytes read + written per call
    requested_size: Optional[int] = None   # the size asked for (size: the result's)

    @property
    def nominal_size(self):
        return self.size if self.requested_size is None else self.requested_size

    @property
    def ratio(self):
        """NumPy time / fastact time: > 1 means fastact is faster."""
        return _ratio(self.numpy_s, self.fastact_s)

    @property
    def torch_ratio(self):
        """PyTorch time / fastact time: > 1 means fastact is faster."""
        return _ratio(self.torch_s, self.fastact_s)

    def seconds(self, library):
        return getattr(self, f"{library}_s")

    def gelems(self, library):
        """Result elements per second, in 1e9, of one library (None if not timed)."""
        t = self.seconds(library)
        return self.size / t / 1e9 if t else None


def _ratio(other, fastact):
    if other is None:
        return None
    return other / fastact if fastact > 0 else float("inf")


def _calibrate(call, target):
    """Calls per timed batch so that a batch lasts about `target` seconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= target or number >= 1 << 20:
            break
        number = min(number * 10, max(number + 1, int(number * target / max(elapsed, 1e-9) * 1.2)))
    return number


def _batch(call, number):
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def time_calls(calls, repeats=5, target=2e-3):
    """{label: median seconds per call}; every callable warmed up, repeats alternate."""
    calls = {k: c for k, c in calls.items() if c is not None}
    for call in calls.values():
        call()           # warm-up (first touch of outputs and scratch buffers)
    numbers = {k: _calibrate(c, target) for k, c in calls.items()}
    times = {k: [] for k in calls}
    for _ in range(repeats):
        for k, c in calls.items():
            times[k].append(_batch(c, numbers[k]))
    return {k: statistics.median(v) for k, v in times.items()}


def time_pair(fastact_call, numpy_call, repeats=5, target=2e-3):
    """(fastact, numpy) median seconds per call, repeats alternating sides."""
    t = time_calls({"fastact": fastact_call, "numpy": numpy_call}, repeats, target)
    return t["fastact"], t["numpy"]


def run(functions=None, sizes=QUICK_SIZES, dtypes=DTYPES, repeats=5, modes=MODES,
        target=2e-3, progress=None, threads=None, libraries=None, numpy_once=True):
    """Time fastact against NumPy and PyTorch; one Row per case and thread count.

    functions: registry names (default all); sizes: result elements;
    dtypes: 'float32'/'float64'; repeats: timed batches per library (median);
    target: seconds per timed batch; progress: optional callable(Row);
    threads: thread counts to run each case at (default: the current count,
    left as it is); libraries: subset of LIBRARIES (default: those
    installed). numpy_once: NumPy is single-threaded, so it is timed at the
    first thread count only and its time reused for the others.
    """
    import fastact as fa

    functions = list(REGISTRY) if functions is None else list(functions)
    for name in functions:
        if name not in REGISTRY:
            raise KeyError(f"no activation named {name!r}; known: {', '.join(REGISTRY)}")
    libraries = tuple(default_libraries() if libraries is None else libraries)
    if "torch" in libraries and not torch_available():
        libraries = tuple(lib for lib in libraries if lib != "torch")
    rows = []
    rng = np.random.default_rng(12345)
    with np.errstate(all="ignore"):
        for name in functions:
            for mode in modes:
                for dtype in dtypes:
                    for size in sizes:
                        work = make_workload(name, mode, dtype, size, rng)
                        calls = {lib: work.call(lib) for lib in libraries}
                        numpy_s = None
                        for i, n in enumerate(threads or [None]):
                            ctx = contextlib.nullcontext() if n is None else thread_count(n)
                            with ctx:
                                now = dict(calls)
                                if numpy_once and i > 0:
                                    now.pop("numpy", None)
                                t = time_calls(now, repeats=repeats, target=target)
                                nthreads = fa.get_num_threads()
                            numpy_s = t.get("numpy", numpy_s)
                            row = Row(name, mode, np.dtype(dtype).name, work.size,
                                      t["fastact"], numpy_s, t.get("torch"), nthreads,
                                      work.nbytes, int(size))
                            rows.append(row)
                            if progress is not None:
                                progress(row)
                        del work, calls
    return rows


def geometric_mean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def cpu_model():
    """The CPU model name from /proc/cpuinfo, or platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_header(threads=None):
    """Lines naming the machine and the build, for the top of a report.

    threads: the thread counts of the run (default: fastact's current count).
    """
    cfg = _config()
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except (AttributeError, OSError):
        load = "load average unknown"
    if threads is None:
        threads_text = str(cfg["num_threads"])
    else:
        threads_text = ", ".join(str(n) for n in threads)
    tf = torch_formulas()
    torch_text = f"PyTorch {tf.TORCH_VERSION}" if tf else "PyTorch not installed"
    return [
        f"- machine: {platform.platform()}; CPU: {cpu_model()} ({os.cpu_count()} logical CPUs; "
        f"{load})",
        f"- fastact {cfg['version']}, SIMD level: {cfg['simd_level']}, "
        f"OpenMP: {'on' if cfg['openmp'] else 'off'}, threads: {threads_text}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, {torch_text}",
    ]


NOTES = [
    "ratio = peer time / fastact time (> 1: fastact is faster); median per-call time "
    "of alternating timed batches after a warm-up, same input buffers, outputs "
    "preallocated for every library that takes out=.",
    "NumPy baseline: ufunc chains with out= into preallocated scratch buffers, "
    "default parameters; NumPy runs single-threaded (timed once per case and "
    "reused for every thread count).",
    "PyTorch baseline (when installed): torch.nn.functional / torch ops with out= "
    "where torch has an out variant; backward = torch's backward kernels "
    "(torch.ops.aten.*_backward, from the saved output where autograd saves it), "
    "derivative = the same with a grad_output of ones; torch.set_num_threads "
    "matches fastact's thread count.",
    f"exact gelu/geglu in NumPy use {ERF_SOURCE}.",
    f"size = elements of the result; softmax/log_softmax rows of {SOFTMAX_ROW}; "
    f"their derivative is the (rows, n, n) Jacobian with n = {JACOBIAN_ROW} "
    "(sqrt(size) for smaller sizes) "
    "(size = Jacobian elements); "
    f"prelu has {PRELU_CHANNELS} channels (axis=1); glu splits a last axis of "
    f"{2 * GLU_HALF} (derivative/backward write x's shape, 2 x size).",
]


def format_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def format_ratio(ratio):
    if ratio is None:
        return "-"
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


def table_columns(rows):
    """The libraries that have a time in any row."""
    return [lib for lib in LIBRARIES if any(r.seconds(lib) is not None for r in rows)]


def format_table(rows):
    libs = table_columns(rows)
    peers = [lib for lib in libs if lib != "fastact"]
    head = ["function", "mode", "dtype", "size", "threads"] + [LIBRARY_LABELS[lib] for lib in libs]
    head += [f"vs {LIBRARY_LABELS[p]}" for p in peers]
    lines = ["| " + " | ".join(head) + " |",
             "|---|---|---|---:|---:|" + "---:|" * (len(libs) + len(peers))]
    for r in rows:
        cells = [r.function, r.mode, r.dtype, str(r.size), str(r.threads)]
        cells += [format_time(r.seconds(lib)) for lib in libs]
        cells += [format_ratio(_ratio(r.seconds(p), r.fastact_s)) for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary_lines(rows):
    """Geometric mean ratios per dtype and thread count, and the cases fastact loses."""
    lines = []
    libs = table_columns(rows)
    for peer in (lib for lib in libs if lib != "fastact"):
        label = LIBRARY_LABELS[peer]
        keys = sorted({(r.dtype, r.threads) for r in rows})
        for dtype, n in keys:
            sel = [_ratio(r.seconds(peer), r.fastact_s) for r in rows
                   if r.dtype == dtype and r.threads == n]
            sel = [v for v in sel if v is not None]
            if not sel:
                continue
            slower = sum(1 for v in sel if v < 1)
            lines.append(f"- vs {label}, {dtype}, {n} thread{'s' if n != 1 else ''}: "
                         f"geometric mean {geometric_mean(sel):.2f} over {len(sel)} cases; "
                         f"fastact slower in {slower}.")
    return lines


def format_markdown(rows, title="fastact vs NumPy and PyTorch", header=True):
    """A Markdown report: machine header, notes, one table row per Row, summary.

    header: True (machine_header() now), False (table only), or the lines of
    a machine_header() taken before the run (so the load average and thread
    count are those the run started with).
    """
    lines = []
    if header:
        if header is True:
            header_lines = machine_header(sorted({r.threads for r in rows}) or None)
        else:
            header_lines = list(header)
        lines += [f"## {title}", ""] + header_lines + [""]
        lines += [f"Note: {note}" for note in NOTES] + [""]
    lines += format_table(rows)
    if rows:
        lines += [""] + summary_lines(rows)
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Chart
# --------------------------------------------------------------------------

LIBRARY_COLORS = {"fastact": "tab:blue", "numpy": "tab:orange", "torch": "tab:red"}


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib, which is not installed: "
            "pip install matplotlib  (or pip install 'fastact[plot]')") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(rows, path, title=None):
    """A PNG chart of Gelem/s vs size per library: one panel per dtype and mode.

    Each line is the geometric mean throughput over the functions timed at
    every size of that panel (the function itself when only one was), at the
    requested sizes; solid: the lowest thread count of the run, dashed: the
    others. Raises RuntimeError if matplotlib is missing.
    """
    plt = _pyplot()
    dtypes = [d for d in DTYPES if any(r.dtype == d for r in rows)]
    modes = [m for m in MODES if any(r.mode == m for r in rows)]
    libs = table_columns(rows)
    thread_counts = sorted({r.threads for r in rows})
    functions = sorted({r.function for r in rows})
    fig, axes = plt.subplots(len(dtypes), len(modes), squeeze=False,
                             figsize=(4.2 * len(modes), 3.4 * len(dtypes)))
    styles = ["-", "--", ":", "-."]
    for i, dtype in enumerate(dtypes):
        for j, mode in enumerate(modes):
            ax = axes[i][j]
            panel = [r for r in rows if r.dtype == dtype and r.mode == mode]
            panel_sizes = {r.nominal_size for r in panel}
            # only functions timed at every size, so each point averages the same set
            common = [f for f in functions
                      if {r.nominal_size for r in panel if r.function == f} == panel_sizes]
            panel = [r for r in panel if r.function in (common or functions)]
            for lib in libs:
                for k, n in enumerate(thread_counts):
                    if lib == "numpy" and k > 0:
                        continue           # single-threaded: one line is enough
                    sel = [r for r in panel if r.threads == n and r.seconds(lib)]
                    sizes = sorted({r.nominal_size for r in sel})
                    if not sizes:
                        continue
                    ys = [geometric_mean([r.gelems(lib) for r in sel if r.nominal_size == s])
                          for s in sizes]
                    label = LIBRARY_LABELS[lib]
                    if lib != "numpy":
                        label += f", {n} thr"
                    ax.plot(sizes, ys, styles[k % len(styles)], marker="o", markersize=3,
                            color=LIBRARY_COLORS[lib], label=label)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            n_fn = len(common or functions)
            ax.set_title(f"{mode}, {dtype}" + (f" ({n_fn} functions)" if n_fn > 1 else ""),
                         fontsize=10)
            ax.set_xlabel("elements")
            ax.set_ylabel("Gelem/s")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
    what = functions[0] if len(functions) == 1 else "geometric mean over functions"
    cfg = _config()
    fig.suptitle(title or f"fastact {cfg['version']} ({cfg['simd_level']}) on {cpu_model()}: "
                 f"Gelem/s vs size, {what}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
