"""float32 sweeps over bit patterns: every float32 input, or every k-th one.

The exact side is fastact's own float64 kernel at the same float32 inputs
(SPEC section 5 accepts float64 as "exact" for float32 wherever it is within
1 float32 ULP; the float64 kernels are measured against mpmath at <= 4 float64
ULP, i.e. ~2e-8 float32 ULP, by ``sample64``).  The worst inputs a sweep finds
are re-measured against mpmath (``confirm``), so the numbers reported do not
rest on the float64 kernels alone.

Inputs are the bit patterns ``start, start + stride, ...`` read as float32:
stride 1 over [0, 2**32) is the exhaustive sweep, stride 256 the ~16.8 M
inputs per function CI runs.  NaN inputs are included (they must give NaN).
Work is split into chunks of bit patterns; ``run`` maps them over processes
and merges the per-chunk ``Tally`` records.
"""

import functools
import math
import multiprocessing
import os

import numpy as np

from . import cases as _cases
from . import peers, ulp
from .._progress import ProgressBar
from .tally import Tally, near_zero, summarize

F32 = np.dtype(np.float32)
EPS32 = float(np.finfo(np.float32).eps)
SUB32_EXP = -149  # smallest float32 subnormal is 2**-149
MAX32_ROUND = float(np.ldexp(2.0 - 2.0**-24, 127))  # rounds to inf from here on

#: bit patterns per chunk (about 120 MB of temporaries).
CHUNK = 1 << 22
BLOCK = 1 << 15


def patterns(start, stop, stride=1):
    """float32 values of the bit patterns start, start+stride, ... < stop."""
    first = start + (-start) % stride
    bits = np.arange(first, stop, stride, dtype=np.uint64).astype(np.uint32)
    return bits.view(np.float32)


def ulp_error_f32(computed, exact):
    """SPEC section 5 ULP error of float32 results against float64 exact values.

    The fast path of ``ulp.ulp_error`` for this one case (float64 exact values,
    float32 unit); NaN/inf cases fall back to it.
    """
    c = computed.astype(np.float64)
    # ulp(exact) straight from exact's exponent bits: float64 exact values
    # below float32's range (exponent field 0 included) get the subnormal floor
    exponent = ((exact.view(np.int64) >> 52) & 0x7FF) - 1023
    unit = ((np.maximum(exponent - 23, SUB32_EXP) + 1023) << 52).view(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(c - exact) / unit
    special = ~np.isfinite(err) | (np.abs(exact) >= MAX32_ROUND)
    if special.any():
        err[special] = ulp.ulp_error(computed[special], exact[special], F32)
    return err


def tally(x, computed, exact, kind, zeros, limit=None, scale=None):
    """A ``Tally`` of float32 results against float64 exact values.

    ``scale``: for backward, |g| -- the absolute bound near a zero of f' is
    4 eps |g| (the derivative's bound carried through the product).
    """
    err = ulp_error_f32(computed, exact)
    limit = ulp.LIMITS[kind] if limit is None else limit
    if kind not in ("derivative", "backward") or not zeros:
        return summarize(x, err, limit)
    with np.errstate(invalid="ignore", over="ignore"):
        c = computed.astype(np.float64)
        abs_err = np.where(np.isnan(c) & np.isnan(exact), 0.0, np.abs(c - exact))
    # (a subnormal product cannot be closer than float32's own spacing)
    window, abs_eps = near_zero(x, abs_err, zeros, EPS32, scale, floor=2.0**SUB32_EXP)
    return summarize(x, err, limit, window, abs_eps)


@functools.lru_cache(maxsize=4)
def gradients(n):
    """float32 gradients for backward sweeps (the same n values for every
    chunk): random signs, magnitudes spread log-uniformly from the subnormals
    to 3.4e38 (half of them), moderate values (the other half)."""
    rng = np.random.default_rng(n)
    mag = np.exp2(rng.uniform(-149.0, 128.0, n))
    mixed = np.where(rng.random(n) < 0.5, mag, rng.standard_normal(n) * 4.0)
    g = np.where(rng.random(n) < 0.5, -mixed, mixed).astype(np.float32)
    g = np.where(np.isfinite(g), g, np.float32(3.0e38))
    g.flags.writeable = False
    return g


def float_bits(value):
    """The bit pattern of a float32 value."""
    return int(np.array(value, dtype=np.float32).view(np.uint32))


def bit_ranges(lo, hi):
    """Contiguous bit-pattern ranges [start, stop) covering every float32 in
    [lo, hi] (negative floats count down from 0x80000000)."""
    lo, hi = float(np.float32(lo)), float(np.float32(hi))
    ranges = []
    if hi >= 0.0:
        ranges.append((float_bits(max(lo, 0.0)), float_bits(hi) + 1))
    if lo < 0.0:
        ranges.append((float_bits(min(hi, -0.0)), float_bits(lo) + 1))
    return ranges


def dense_ranges(label, kind):
    """Bit-pattern ranges swept densely (every input) on top of the strided
    sweep: within 0.05 of every zero of f' (derivatives), around the kinks,
    and the tails where results turn subnormal and underflow."""
    case = _cases.by_label(label)
    ranges = []
    if kind != "forward":
        for z in case.zeros():
            ranges += bit_ranges(z - 0.05, z + 0.05)
    for kink in (-3.0, 3.0):
        ranges += bit_ranges(kink - 1e-3, kink + 1e-3)
    ranges += bit_ranges(-1.2e-38, 1.2e-38)  # zeros and subnormals
    # where exp(-|x|) and exp(-2|x|) (sigmoid, silu, elu, ... and tanh,
    # tanh-gelu) and x*Phi(x) (gelu) turn subnormal and underflow
    for lo, hi in ((-104.0, -85.0), (85.0, 104.0), (-52.0, -43.0), (43.0, 52.0),
                   (-14.5, -8.0)):
        ranges += bit_ranges(lo, hi)
    return ranges


def measure_chunk(label, kind, start, stop, stride, with_torch=False):
    """(fastact Tally, torch Tally or None) over one range of bit patterns
    (PyTorch's over the finite inputs among them)."""
    case = _cases.by_label(label)
    zeros = case.zeros()
    ours, theirs = Tally(), None
    x_all = patterns(start, stop, stride)
    g_all = gradients(x_all.size) if kind == "backward" else None
    # Blocks that stay in cache: the error arithmetic is a dozen NumPy passes.
    for lo in range(0, x_all.size, BLOCK):
        ours, theirs = _block(case, kind, zeros, x_all, g_all, lo, ours, theirs, with_torch)
    return ours, theirs


def _block(case, kind, zeros, x_all, g_all, lo, ours, theirs, with_torch):
    # signalling NaN inputs raise "invalid" in every cast; the errors are counted
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        x = x_all[lo:lo + BLOCK]
        g = None if g_all is None else g_all[lo:lo + BLOCK]
        computed = case.fastact(kind, x, g)
        x64 = x.astype(np.float64)
        scale = None
        if kind == "backward":
            scale = g.astype(np.float64)
            exact = g.astype(np.float64) * case.fastact("derivative", x64)
        else:
            exact = case.fastact(kind, x64)
        ours = ours + tally(x, computed, exact, kind, zeros, scale=scale)
        if with_torch:
            # finite inputs only: PyTorch's NaN/inf conventions differ from
            # the SPEC's in places, and the column is about accuracy
            finite = np.isfinite(x)
            t = peers.torch_result(case, kind, x[finite])
            if t is not None:
                theirs = _add(theirs, tally(x[finite], t, exact[finite], kind, zeros))
    return ours, theirs


def _worker_init(level):
    import fastact
    from fastact import _dispatch

    fastact.set_num_threads(1)
    if level is not None:
        _dispatch.install(level)
    if peers.available():
        peers._baselines().torch.set_num_threads(1)


def _run_task(task):
    return task, measure_chunk(*task)


def tasks_for(labels, kinds, stride, start=0, stop=1 << 32, chunk=CHUNK, with_torch=False):
    """The chunk tasks of a sweep: (label, kind, start, stop, stride, with_torch)."""
    span = chunk * stride
    out = []
    for label in labels:
        for kind in kinds:
            for lo in range(start, stop, span):
                out.append((label, kind, lo, min(lo + span, stop), stride, with_torch))
    return out


def run(labels, kinds, stride=1, processes=None, level=None, with_torch=False,
        progress=True, chunk=CHUNK):
    """Sweep every (label, kind); returns {(label, kind): (Tally, torch Tally or None)}."""
    todo = tasks_for(labels, kinds, stride, chunk=chunk, with_torch=with_torch)
    results = {}
    processes = processes or os.cpu_count() or 1
    bar = ProgressBar(len(todo), label="float32") if progress else None
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes, initializer=_worker_init, initargs=(level,)) as pool:
        for task, (ours, theirs) in pool.imap_unordered(_run_task, todo):
            key = (task[0], task[1])
            prev_ours, prev_theirs = results.get(key, (Tally(), None))
            results[key] = (prev_ours + ours, _add(prev_theirs, theirs))
            if bar is not None:
                bar.update(f"{task[0]} {task[1]}")
    if bar is not None:
        bar.close()
    return results


def _add(a, b):
    """a + b for Tallies that may be None (no PyTorch result)."""
    return b if a is None else (a if b is None else a + b)


def confirm(label, kind, xs, dtype=F32):
    """mpmath ULP errors of fastact at the given float32 inputs (forward,
    derivative): the independent check of a sweep's worst points."""
    case = _cases.by_label(label)
    x = np.asarray([v for v in xs if not math.isnan(v)], dtype=dtype)
    if not x.size:
        return np.zeros(0)
    computed = case.fastact(kind, x)
    exact = case.exact_mp(kind, [float(v) for v in x])
    return ulp.ulp_error(computed, exact, dtype)
