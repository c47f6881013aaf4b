"""More than 2**31 elements (issue 6, item 6): no 32-bit index overflow anywhere.

One float32 buffer of N = 2**31 + 17 elements (8.6 GB), reused by every test
(module fixture) and computed IN PLACE (out=x) so no second buffer is needed:

* relu in place on the flat array;
* sigmoid in place on the flat array;
* softmax over rows, in place: the same buffer as (N // 1025, 1025) rows (the
  17 + ... leftover elements are left out), so row offsets pass 2**31 too.

The values are a cheap periodic pattern written in chunks; after each call
the elements at the start, around 2**31, around every multiple of 2**28 and
at the end are checked against NumPy on the same values (relu, sigmoid
within 2 ULP; softmax rows against fastact on that row alone, bitwise, which
tests/test_threads.py proves is what any batch gives). With 2 OpenMP threads
the spans around 2**31 are split over threads.

Skipped unless MemAvailable (/proc/meminfo) is above 12 GiB, or
FASTACT_HUGE=1 forces it (FASTACT_HUGE=0 skips it). Marked slow; on the
2-core CI machine it takes about a minute (see the report / README).

Run:  python -m pytest tests/test_huge.py -q -s
"""
import os
import time

import numpy as np
import pytest

import fastact as fa

N = int(os.environ.get("FASTACT_HUGE_N", 2 ** 31 + 17))  # smaller only to debug the test
ROW = 1025
NEED_BYTES = 12 * 2 ** 30


def _mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _enabled():
    force = os.environ.get("FASTACT_HUGE")
    if force is not None:
        return force == "1"
    return _mem_available() > NEED_BYTES


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _enabled(), reason=f"needs MemAvailable > {NEED_BYTES >> 30} GiB "
                       "(or FASTACT_HUGE=1)"),
]

PERIOD = 977  # coprime with the row length and the SIMD widths
CHUNK = PERIOD * (1 << 16)  # a multiple of the period: every chunk is the same copy


def _pattern(start, stop):
    """Values at flat indices [start, stop): a periodic ramp over [-6, 6)."""
    i = np.arange(start, stop, dtype=np.int64)
    return ((i % PERIOD).astype(np.float32) * np.float32(12.0 / PERIOD) - np.float32(6.0))


_BASE = {}


def _fill(x):
    if "chunk" not in _BASE:
        _BASE["chunk"] = _pattern(0, CHUNK)
    base = _BASE["chunk"]
    for s in range(0, x.size, CHUNK):
        e = min(s + CHUNK, x.size)
        x[s:e] = base[:e - s]


def _probe_indices(n):
    pts = [0, 1, 2, 15, 16, 17, 2 ** 31 - 3, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 31 + 7,
           n - 17, n - 2, n - 1]
    # around every multiple of 2**28 (span boundaries of any thread split)
    pts += [k * 2 ** 28 + d for k in range(1, 8) for d in (-1, 0, 1)]
    return sorted({p for p in pts if 0 <= p < n})


@pytest.fixture(scope="module")
def huge():
    t0 = time.monotonic()
    x = np.empty(N, np.float32)
    timings = {"allocate": time.monotonic() - t0, "fill": 0.0}
    yield x, timings
    print("\nhuge-array timings (s):", {k: round(v, 1) for k, v in timings.items()})
    del x


@pytest.fixture(autouse=True)
def _threads():
    before = fa.get_num_threads()
    fa.set_num_threads(2)
    yield
    fa.set_num_threads(before)


def test_relu_in_place_beyond_2_31(huge):
    x, timings = huge
    t0 = time.monotonic()
    _fill(x)
    timings["fill"] += time.monotonic() - t0
    idx = np.array(_probe_indices(x.size))
    t0 = time.monotonic()
    r = fa.relu(x, out=x)
    timings["relu"] = time.monotonic() - t0
    assert r is x
    inputs = np.concatenate([_pattern(i, i + 1) for i in idx])
    np.testing.assert_array_equal(x[idx], np.maximum(inputs, np.float32(0)))
    # a whole stretch across 2**31, every element
    s = max(0, min(2 ** 31, x.size) - 5000)
    e = min(s + 10000, x.size)
    np.testing.assert_array_equal(x[s:e], np.maximum(_pattern(s, e), 0))
    np.testing.assert_array_equal(x[-5000:], np.maximum(_pattern(x.size - 5000, x.size), 0))


def test_sigmoid_in_place_beyond_2_31(huge):
    x, timings = huge
    t0 = time.monotonic()
    _fill(x)
    timings["fill"] += time.monotonic() - t0
    t0 = time.monotonic()
    r = fa.sigmoid(x, out=x)
    timings["sigmoid"] = time.monotonic() - t0
    assert r is x
    for s in sorted({s for s in (0, 2 ** 31 - 5000, x.size // 2, x.size - 10000)
                     if 0 <= s < x.size}):
        e = min(s + 10000, x.size)
        inputs = _pattern(s, e).astype(np.float64)
        expected = 1 / (1 + np.exp(-inputs))
        got = x[s:e].astype(np.float64)
        ulp = np.spacing(np.abs(expected).astype(np.float32)).astype(np.float64)
        err = np.abs(got - expected) / ulp
        assert err.max() <= 2, f"sigmoid at [{s}, {s + 10000}): {err.max():.3g} ULP"


def test_softmax_rows_in_place_beyond_2_31(huge):
    x, timings = huge
    t0 = time.monotonic()
    _fill(x)
    timings["fill"] += time.monotonic() - t0
    n_rows = x.size // ROW
    rows = x[: n_rows * ROW].reshape(n_rows, ROW)
    tail_before = x[n_rows * ROW:].copy()
    t0 = time.monotonic()
    r = fa.softmax(rows, out=rows)
    timings["softmax"] = time.monotonic() - t0
    assert r is rows
    np.testing.assert_array_equal(x[n_rows * ROW:], tail_before)  # not part of any row
    crossing = (2 ** 31) // ROW  # the row that contains element 2**31
    for k in sorted({r for r in [0, 1, crossing - 1, crossing, crossing + 1, n_rows // 2,
                                 n_rows - 2, n_rows - 1] if 0 <= r < n_rows}):
        alone = fa.softmax(_pattern(k * ROW, (k + 1) * ROW))
        np.testing.assert_array_equal(rows[k], alone, err_msg=f"row {k} of {n_rows}")
        assert abs(float(rows[k].astype(np.float64).sum()) - 1.0) < 1e-5
