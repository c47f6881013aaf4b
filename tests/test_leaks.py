"""No leaks (issue 6, item 7): many calls per function leave memory flat.

For every public function (every case of ``cases.CASES`` with default
parameters, so all 63 functions, plus the rrelu training variant) on small
arrays: CALLS calls (default 100 000; FASTACT_LEAK_CALLS overrides), cycling
through a valid call, a call into out=, and the error paths -- a refused dtype
(complex), a bad out (wrong dtype, where the function takes out=), a bad
parameter (NaN / axis out of range / bogus approximate, where it has one) and a
mismatched shape (multi-input functions). Each function is first warmed up,
then its memory is measured around the loop:

* tracemalloc: the Python-level allocations still alive after the loop
  (traced current size) grow by less than 64 KiB;
* RSS (resident pages from /proc/self/statm): grows by less than 4 MiB per
  function (a leak of even 40 bytes per call would be 4 MB over 100 000 calls),
  and by less than 16 MiB over the whole run.

tracemalloc slows every allocation down, so it is switched on for one tenth of
the calls of each function, the RSS loop runs without it.

Run:  python -m pytest tests/test_leaks.py -q -s
"""
import gc
import math
import os
import time
import tracemalloc

import numpy as np
import pytest

import fastact as fa
from cases import CASES

pytestmark = pytest.mark.slow

CALLS = int(os.environ.get("FASTACT_LEAK_CALLS", "100000"))
PAGE = os.sysconf("SC_PAGE_SIZE")

LEAK_CASES = {}
for _c in CASES:
    if not _c.params:
        LEAK_CASES.setdefault(_c.function().__name__, _c)
LEAK_CASES.update({"rrelu_backward[training]": c for c in CASES
                   if c.name == "rrelu" and c.params.get("training") and c.mode == "backward"})


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _shape(case):
    return (2, 8) if case.info.kind == "rowwise" or case.name in ("glu", "prelu") else (16,)


def _calls(case):
    """A list of zero-argument callables: the valid calls and the error paths."""
    rng = np.random.default_rng(0)
    arrays = tuple(np.asarray(a) for a in case.arrays(_shape(case), np.float64, rng))
    fn = case.function(fa)
    params = dict(case.params)
    calls = [lambda: fn(*arrays, **params)]
    errors = []
    bad_dtype = (arrays[0].astype(np.complex128),) + arrays[1:]
    errors.append((lambda: fn(*bad_dtype, **params), TypeError))
    expected = fn(*arrays, **params)
    outs = tuple(np.empty_like(e) for e in (expected if isinstance(expected, tuple)
                                            else (expected,)))
    out = outs if len(outs) == 2 else outs[0]
    calls.append(lambda: fn(*arrays, **params, out=out))
    bad = tuple(np.empty(o.shape, np.float32) for o in outs)
    bad_out = bad if len(bad) == 2 else bad[0]
    errors.append((lambda: fn(*arrays, **params, out=bad_out), TypeError))
    import inspect
    sig = set(case.info.params) | set(inspect.signature(fn).parameters)
    if "temperature" in sig:
        errors.append((lambda: fn(*arrays, **params, temperature=math.nan), ValueError))
    elif "negative_slope" in sig or "alpha" in sig or "beta" in sig or "lower" in sig:
        name = next(n for n in ("negative_slope", "alpha", "beta", "lower") if n in sig)
        errors.append((lambda: fn(*arrays, **dict(params, **{name: math.nan})), ValueError))
    elif "approximate" in sig:
        errors.append((lambda: fn(*arrays, **params, approximate="bogus"), ValueError))
    elif "axis" in sig:
        errors.append((lambda: fn(*arrays, **params, axis=7), ValueError))
    if len(arrays) >= 2 and case.name != "prelu":
        mismatched = (np.ones((3, 5)),) + arrays[1:]
        errors.append((lambda: fn(*mismatched, **params), ValueError))
    return calls, errors


def _loop(calls, errors, n):
    steps = calls + [None] * len(errors)
    k = len(steps)
    for i in range(n):
        j = i % k
        if j < len(calls):
            calls[j]()
        else:
            f, error = errors[j - len(calls)]
            try:
                f()
            except error:
                pass
            else:  # pragma: no cover
                raise AssertionError("an error path did not raise")


_TOTAL = {"start": None}


@pytest.mark.parametrize("name", list(LEAK_CASES))
def test_memory_flat(name):
    case = LEAK_CASES[name]
    calls, errors = _calls(case)
    n = CALLS
    _loop(calls, errors, max(2000, n // 20))  # warm-up: caches, free lists, arenas
    gc.collect()
    if _TOTAL["start"] is None:
        _TOTAL["start"] = rss()
    # tracemalloc on a tenth of the calls
    tracemalloc.start()
    _loop(calls, errors, 1000)
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    _loop(calls, errors, n // 10)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - before < 64 * 1024, \
        f"{name}: Python allocations grew by {after - before} bytes over {n // 10} calls"
    # RSS over all the calls
    gc.collect()
    r0 = rss()
    t0 = time.perf_counter()
    _loop(calls, errors, n)
    gc.collect()
    grown = rss() - r0
    assert grown < 4 * 2 ** 20, \
        f"{name}: RSS grew by {grown / 2 ** 20:.2f} MiB over {n} calls " \
        f"({grown / n:.1f} bytes per call; {time.perf_counter() - t0:.1f} s)"


def test_total_rss_flat():
    """Over every function above (run after them): RSS within 16 MiB of the first."""
    if _TOTAL["start"] is None:
        pytest.skip("run with the per-function tests")
    gc.collect()
    grown = rss() - _TOTAL["start"]
    assert grown < 16 * 2 ** 20, f"RSS grew by {grown / 2 ** 20:.1f} MiB over all functions"
