"""float64 against mpmath: many inputs per function, chosen where errors live.

float64 has too many inputs to sweep and mpmath costs ~10-100 us per value,
so each (function, kind) gets ``n`` inputs drawn from a fixed mixture:

* random finite bit patterns (every binade equally: huge, tiny, subnormal);
* uniform on [-40, 40] (where the functions bend);
* log-uniform magnitudes 2**-30 .. 2**10, both signs (the tails out to where
  exp under/overflows);
* within 0.05 of every zero of f' and around the kinks (0, +-3);
* the special finite values (+-0, the smallest subnormal, the smallest
  normal, the largest finite), always.  NaN and +-inf follow SPEC section 4
  rather than a number, and are the semantics tests' business.

Backward gets gradients of random sign with log-uniform magnitudes
2**-1000 .. 2**1000 (and ones).  Each input is measured by ``ulp.ulp_error``
against the mpmath value (``mpref``, 50 digits); near a zero of f' the
absolute error counts in units of eps (times |g| for backward).
"""

import functools

import numpy as np

from . import cases as _cases
from . import ulp
from .tally import Tally, near_zero, summarize

F64 = np.dtype(np.float64)
EPS64 = float(np.finfo(np.float64).eps)
SPECIAL = np.array([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
                    1.7976931348623157e308, -1.7976931348623157e308])
KINKS = (0.0, -3.0, 3.0)


def inputs(n, seed, zeros=()):
    """``n`` float64 inputs (the specials first) from the mixture above."""
    rng = np.random.default_rng(seed)
    m = max(n - SPECIAL.size, 0)
    parts = np.array_split(np.arange(m), 5)
    bits = rng.integers(0, 1 << 64, size=len(parts[0]), dtype=np.uint64, endpoint=False)
    patterns = bits.view(np.float64)
    patterns = np.where(np.isfinite(patterns), patterns, 1.0)
    uniform = rng.uniform(-40.0, 40.0, len(parts[1]))
    mags = np.exp2(rng.uniform(-30.0, 10.0, len(parts[2])))
    logs = np.where(rng.random(mags.size) < 0.5, -mags, mags)
    centres = np.array(tuple(zeros) + KINKS)
    near = rng.choice(centres, len(parts[3])) + rng.uniform(-0.06, 0.06, len(parts[3]))
    tails = rng.uniform(20.0, 750.0, len(parts[4])) * np.where(rng.random(len(parts[4])) < 0.5, -1, 1)
    x = np.concatenate([SPECIAL, patterns, uniform, logs, near, tails])
    return x[:n] if n < x.size else x


def gradients(n, seed):
    rng = np.random.default_rng(seed + 1)
    mag = np.exp2(rng.uniform(-1000.0, 1000.0, n))
    mag = np.where(rng.random(n) < 0.25, 1.0, mag)
    return np.where(rng.random(n) < 0.5, -mag, mag)


def exact(label, kind, x, g=None):
    """The mpmath values of ``kind`` at x (and g) as a (hi, lo) pair."""
    case = _cases.by_label(label)
    values = case.exact_mp(kind, [float(v) for v in x], None if g is None else list(g))
    return ulp.to_pair(np.array(values, dtype=object))


def measure(label, kind, x, g=None, exact_pair=None):
    """Tally of fastact's float64 ``kind`` of ``label`` at inputs x vs mpmath
    (``exact_pair``: the values of ``exact``, when already computed)."""
    case = _cases.by_label(label)
    zeros = case.zeros()
    if exact_pair is None:
        exact_pair = exact(label, kind, x, g)
    with np.errstate(all="ignore"):
        computed = case.fastact(kind, x, g)
        err = ulp.ulp_error(computed, exact_pair, F64)
        if kind == "forward" or not zeros:
            return summarize(x, err, ulp.LIMITS[kind])
        window, abs_eps = near_zero(x, ulp.abs_error(computed, exact_pair, F64), zeros,
                                    EPS64, g, floor=5e-324)
    return summarize(x, err, ulp.LIMITS[kind], window, abs_eps)


@functools.lru_cache(maxsize=2)
def _inputs_of(label, n, seed):
    # a worker measures many chunks of the same inputs: make them once
    return inputs(n, seed, _cases.by_label(label).zeros()), gradients(n, seed)


def _task(task):
    label, kind, n, seed, start, stop = task
    x, g = _inputs_of(label, n, seed)
    return (label, kind), measure(label, kind, x[start:stop],
                                  g[start:stop] if kind == "backward" else None)


def run(labels, kinds, n, seed=0, processes=1, level=None, chunk=2000, progress=False):
    """{(label, kind): Tally} over ``n`` inputs each, in worker processes."""
    import multiprocessing

    from .._progress import ProgressBar
    from . import sweep32

    todo = [(label, kind, n, seed, lo, min(lo + chunk, n))
            for label in labels for kind in kinds for lo in range(0, n, chunk)]
    results = {}
    bar = ProgressBar(len(todo), label="float64") if progress else None
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes, initializer=sweep32._worker_init, initargs=(level,)) as pool:
        # in order, so that each worker keeps meeting the inputs it cached
        for key, t in pool.imap(_task, todo, chunksize=4):
            results[key] = results.get(key, Tally()) + t
            if bar is not None:
                bar.update(f"{key[0]} {key[1]}")
    if bar is not None:
        bar.close()
    return results
