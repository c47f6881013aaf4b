"""Many Python threads calling every function at once (issue 6, item 4).

tests/test_threads.py runs 4 threads over a handful of functions. Here 8
Python threads, released together by a barrier, each call EVERY case of
``cases.CASES`` (every public function and parameter variant), with
fastact's OpenMP pool at 2 threads, on

* inputs of their own (different per thread, both dtypes, sizes that take the
  OpenMP path for part of the calls), and
* inputs SHARED by all threads, read-only (``writeable = False``), so any
  write to an input or any shared scratch state shows up;

and, in a second test, into preallocated ``out=`` arrays of their own. Every
result must be bitwise identical to the serial, single-threaded result
computed beforehand, and the shared inputs unchanged. Each thread runs its
calls in its own (shuffled) order so different kernels overlap.

Run:  python -m pytest tests/test_concurrency.py -q
"""
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastact as fa
from bits import assert_same_bits
from cases import CASES

N_THREADS = 8
ROUNDS = 2


def _shape(case, big):
    if case.info.kind == "rowwise":
        return (8, 64) if case.mode == "derivative" else ((40, 1024) if big else (7, 33))
    if case.name in ("glu", "prelu"):
        return (40, 1024) if big else (5, 13)
    return (20000,) if big else (257,)


def _inputs(seed):
    """Positional arrays for every case (a mix of sizes and dtypes), read-only."""
    rng = np.random.default_rng(seed)
    out = []
    for i, case in enumerate(CASES):
        dtype = (np.float32, np.float64)[(i + seed) % 2]
        arrays = case.arrays(_shape(case, big=(i + seed) % 3 == 0), dtype, rng, scale=5.0)
        arrays = tuple(np.ascontiguousarray(a) for a in arrays)
        for a in arrays:
            a.flags.writeable = False
        out.append(arrays)
    return out


def _serial(inputs):
    with fa.num_threads(1):
        return [tuple(np.asarray(r) for r in _as_tuple(case.call(*arrays)))
                for case, arrays in zip(CASES, inputs)]


def _as_tuple(r):
    return r if isinstance(r, tuple) else (r,)


@pytest.fixture(scope="module")
def shared():
    inputs = _inputs(1000)
    return inputs, _serial(inputs), [tuple(a.copy() for a in arrays) for arrays in inputs]


@pytest.fixture(scope="module")
def own():
    inputs = [_inputs(t) for t in range(N_THREADS)]
    return inputs, [_serial(i) for i in inputs]


@pytest.fixture(autouse=True)
def _two_openmp_threads():
    before = fa.get_num_threads()
    yield
    fa.set_num_threads(before)


def _run(n_threads, work):
    barrier = threading.Barrier(n_threads)

    def body(t):
        with fa.num_threads(2):
            barrier.wait()
            return work(t)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(body, t) for t in range(n_threads)]
        return [f.result(timeout=300) for f in futures]


def test_every_function_in_8_threads_shared_and_own_inputs(shared, own):
    shared_inputs, shared_expected, shared_copies = shared
    own_inputs, own_expected = own

    def work(t):
        order = list(range(len(CASES)))
        random.Random(t).shuffle(order)
        results = []
        for _ in range(ROUNDS):
            for i in order:
                case = CASES[i]
                results.append(("shared", i, _as_tuple(case.call(*shared_inputs[i]))))
                results.append(("own", i, _as_tuple(case.call(*own_inputs[t][i]))))
        return results

    all_results = _run(N_THREADS, work)
    for t, results in enumerate(all_results):
        for which, i, got in results:
            expected = shared_expected[i] if which == "shared" else own_expected[t][i]
            for k, (g, e) in enumerate(zip(got, expected)):
                assert_same_bits(g, e, f"thread {t}, {which} input, {CASES[i].id} output {k}")
    for arrays, copies in zip(shared_inputs, shared_copies):
        for a, c in zip(arrays, copies):
            assert_same_bits(a, c, "a shared input changed")


def test_every_function_in_8_threads_into_out(shared):
    shared_inputs, shared_expected, _ = shared
    cases = list(enumerate(CASES))

    def work(t):
        outs = {}
        order = list(cases)
        random.Random(100 + t).shuffle(order)
        for i, case in order:
            o = tuple(np.full(e.shape, np.nan, e.dtype) for e in shared_expected[i])
            got = case.call(*shared_inputs[i], out=o if len(o) == 2 else o[0])
            assert all(g is x for g, x in zip(_as_tuple(got), o))
            outs[i] = o
        return outs

    for t, outs in enumerate(_run(N_THREADS, work)):
        for i, o in outs.items():
            for k, (g, e) in enumerate(zip(o, shared_expected[i])):
                assert_same_bits(g, e, f"thread {t}, out=, {CASES[i].id} output {k}")


def test_threads_changing_thread_counts_while_others_compute():
    """Threads flipping fa.set_num_threads / fa.num_threads while others call big kernels."""
    x = np.random.default_rng(5).standard_normal(300_000)
    rows = np.random.default_rng(6).standard_normal((100, 3000))
    with fa.num_threads(1):
        ex, er = fa.gelu(x), fa.softmax(rows)
    stop = threading.Event()

    def flipper():
        n = 0
        while not stop.is_set():
            with fa.num_threads(1 + n % 2):
                n += 1

    def worker(_):
        return [(fa.gelu(x), fa.softmax(rows)) for _ in range(5)]

    flippers = [threading.Thread(target=flipper) for _ in range(2)]
    for f in flippers:
        f.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(worker, range(4)))
    finally:
        stop.set()
        for f in flippers:
            f.join()
    for r in results:
        for gx, gr in r:
            assert_same_bits(gx, ex, "gelu")
            assert_same_bits(gr, er, "softmax")
