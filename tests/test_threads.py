"""Threads and determinism (SPEC sections 3 and 4).

* fa.get_num_threads / set_num_threads / the fa.num_threads context manager
  (restores on exit, also when the block raises); bad counts are refused.
* OMP_NUM_THREADS=1 in a child interpreter gives one thread (get_num_threads
  and fa.config()); threadpoolctl sees fastact's OpenMP pool and can limit it.
* Bitwise determinism: every case (elementwise forward, derivative, backward;
  softmax / log_softmax and their backward; the gated family) on a large array
  (200_000 elements: six full 32768-element spans and a short one, split over
  threads; the row-wise ones as 200 rows of 1024) gives the same bits with 1
  and 2 threads (also into a preallocated out, and with 3 threads for an
  uneven split).
* Prefetched calls: one-input math calls over 4 MiB (run in pieces that
  prefetch ahead, ext/_driver.pxi) give the bits of small calls on their
  pieces, at 1, 2 and 3 threads; calls whose output starts off a 64-byte
  boundary (run with the head as a piece of its own) give the bits of the
  aligned call, for unary, binary, gated and glu jobs.
* Position independence: the same values at different offsets and lengths
  (x[k:k+n] of a bigger array, unaligned starts included, and a buffer whose
  data is not even aligned to its itemsize) give the same bits element for
  element, so the SIMD body and the scalar tail agree; a softmax row gives the
  same bits wherever it lies in memory and whichever batch it is part of.
* Python threads: 4 threads calling fastact concurrently on different arrays
  get the single-threaded results.

Run:  python -m pytest tests/test_threads.py -q
"""
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastact as fa
from bits import assert_same_bits
from cases import CASES

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]


@pytest.fixture(autouse=True)
def restore_threads():
    previous = fa.get_num_threads()
    yield
    fa.set_num_threads(previous)


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


# ---------------------------------------------------------------- the API


def test_get_num_threads_is_positive():
    n = fa.get_num_threads()
    assert isinstance(n, int) and n >= 1


def test_set_num_threads():
    fa.set_num_threads(1)
    assert fa.get_num_threads() == 1
    fa.set_num_threads(2)
    assert fa.get_num_threads() == (2 if fa.config()["openmp"] else 1)
    fa.set_num_threads(np.int64(1))
    assert fa.get_num_threads() == 1


def test_context_manager_restores():
    fa.set_num_threads(1)
    with fa.num_threads(2):
        assert fa.get_num_threads() == (2 if fa.config()["openmp"] else 1)
        with fa.num_threads(1):
            assert fa.get_num_threads() == 1
    assert fa.get_num_threads() == 1
    fa.set_num_threads(2)
    expected = fa.get_num_threads()
    with fa.num_threads(1):
        assert fa.get_num_threads() == 1
        assert fa.config()["num_threads"] == 1
    assert fa.get_num_threads() == expected


def test_context_manager_restores_when_the_block_raises():
    before = fa.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"):
        with fa.num_threads(1):
            assert fa.get_num_threads() == 1
            raise RuntimeError("boom")
    assert fa.get_num_threads() == before


def test_context_manager_with_a_bad_count_changes_nothing():
    before = fa.get_num_threads()
    with pytest.raises(ValueError):
        with fa.num_threads(0):
            pass  # pragma: no cover
    assert fa.get_num_threads() == before


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError),
                                        (1.5, TypeError), (True, TypeError),
                                        (False, TypeError), ("2", TypeError),
                                        (None, TypeError)],
                         ids=["0", "-1", "1.5", "True", "False", "str", "None"])
def test_set_num_threads_refuses(bad, error):
    before = fa.get_num_threads()
    with pytest.raises(error):
        fa.set_num_threads(bad)
    assert fa.get_num_threads() == before


def _child(code, **env):
    full_env = dict(os.environ)
    full_env.update(env)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_omp_num_threads_is_honoured():
    out = _child("import fastact as fa; print(fa.get_num_threads(), "
                 "fa.config()['num_threads'])", OMP_NUM_THREADS="1")
    assert out.split() == ["1", "1"]


def test_omp_num_threads_two():
    out = _child("import fastact as fa; print(fa.config()['openmp'], fa.get_num_threads())",
                 OMP_NUM_THREADS="2")
    openmp, n = out.split()
    assert int(n) == (2 if openmp == "True" else 1)


def test_config_reports_threads():
    config = fa.config()
    for key in ("version", "simd_level", "openmp", "num_threads"):
        assert key in config
    assert config["num_threads"] == fa.get_num_threads()
    with fa.num_threads(1):
        assert fa.config()["num_threads"] == 1


def test_threadpoolctl_sees_and_limits_the_openmp_pool():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not fa.config()["openmp"]:
        pytest.skip("fastact was built without OpenMP")
    info = threadpoolctl.threadpool_info()
    assert any(pool["user_api"] == "openmp" for pool in info), info
    fa.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert fa.get_num_threads() == 1
        assert fa.config()["num_threads"] == 1
    assert fa.get_num_threads() == 2


def test_threadpoolctl_in_a_fresh_interpreter():
    """Only fastact loaded: its OpenMP runtime is the pool threadpoolctl lists and limits."""
    pytest.importorskip("threadpoolctl")
    out = _child(
        "import fastact as fa, threadpoolctl\n"
        "if not fa.config()['openmp']:\n"
        "    print('no-openmp'); raise SystemExit\n"
        "pools = [p for p in threadpoolctl.threadpool_info() if p['user_api'] == 'openmp']\n"
        "fa.set_num_threads(2)\n"
        "with threadpoolctl.threadpool_limits(limits=1, user_api='openmp'):\n"
        "    inside = fa.get_num_threads()\n"
        "print(len(pools), inside, fa.get_num_threads())\n")
    if out.strip() == "no-openmp":
        pytest.skip("fastact was built without OpenMP")
    pools, inside, after = (int(v) for v in out.split())
    assert pools >= 1, "threadpoolctl lists no OpenMP pool"
    assert (inside, after) == (1, 2), out


# ---------------------------------------------------------------- determinism over threads

def big_shape(case):
    if case.is_jacobian:
        return (24, 300)  # 2.2 M elements; the rows of 300 take two column blocks
    if case.info.kind == "rowwise":
        return (200, 1024)
    if case.name in ("glu", "prelu"):
        return (200, 1000)
    return (200_000,)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bitwise_identical_over_thread_counts(case, dtype):
    arrays = case.arrays(big_shape(case), dtype, np.random.default_rng(7), scale=6.0)
    with fa.num_threads(1):
        reference = as_tuple(case.call(*arrays))
    with fa.num_threads(2):
        got = as_tuple(case.call(*arrays))
    for g, r in zip(got, reference):
        assert_same_bits(g, r, "2 threads vs 1")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ["gelu", "softmax", "swiglu_backward"])
def test_bitwise_identical_over_thread_counts_into_out(name, dtype):
    case = next(c for c in CASES if c.function().__name__ == name and not c.params)
    arrays = case.arrays(big_shape(case), dtype, np.random.default_rng(7), scale=6.0)
    with fa.num_threads(1):
        reference = as_tuple(case.call(*arrays))
    outs = [np.empty_like(r) for r in reference]
    with fa.num_threads(2):
        case.call(*arrays, out=tuple(outs) if len(outs) == 2 else outs[0])
    for o, r in zip(outs, reference):
        assert_same_bits(o, r, "2 threads into out vs 1")


@pytest.mark.parametrize("name", ["gelu", "softplus"])
def test_three_threads_uneven_spans(name):
    """An uneven split (10 spans over 3 threads, a short last span) changes no bit."""
    x = np.random.default_rng(8).standard_normal(9 * 32768 + 1234) * 6
    with fa.num_threads(1):
        reference = getattr(fa, name)(x)
    with fa.num_threads(3):
        assert_same_bits(getattr(fa, name)(x), reference, "3 threads vs 1")


# One-input math calls over at least 4 MiB run in 1024-element pieces and
# prefetch ahead (ext/_driver.pxi, PREFETCH_MIN_BYTES): just over that, with
# a length that is not a multiple of the piece.
PREFETCHED = 4 * 2 ** 20 + 3 * 1024 + 13 * 8


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ["gelu", "tanh_derivative", "elu"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_prefetched_calls_match_small_calls(name, dtype, threads):
    """A call large enough to prefetch gives the bits of small calls on its
    pieces (which do not prefetch), whatever the thread count."""
    n = PREFETCHED // np.dtype(dtype).itemsize
    x = (np.random.default_rng(9).standard_normal(n) * 6).astype(dtype)
    x[::997] = np.array([np.nan, -np.inf, np.inf, -0.0, 1e-40, -30.0, 3e38])[
        np.arange(len(x[::997])) % 7].astype(dtype)
    function = getattr(fa, name)
    with fa.num_threads(1):
        pieces = np.concatenate([function(x[i:i + 100_003]) for i in range(0, n, 100_003)])
    with fa.num_threads(threads):
        assert_same_bits(function(x), pieces, f"{threads} thread(s), prefetched vs pieces")


def _at_offset(values, offset):
    """A copy of values starting `offset` elements past a 64-byte boundary."""
    buf = np.empty(values.size + 64, values.dtype)
    start = (-buf.ctypes.data % 64) // values.itemsize + offset
    view = buf[start:start + values.size]
    view[...] = values
    return view


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name, arity", [("relu", 1), ("gelu_backward", 2),
                                         ("swiglu_derivative", 2), ("glu", 1)])
@pytest.mark.parametrize("x_offset, out_offset", [(0, 0), (1, 0), (0, 3), (5, 5), (7, 2)])
def test_unaligned_output_head_changes_no_bit(name, arity, dtype, x_offset, out_offset):
    """A piece whose output starts off a 64-byte boundary runs its head as a
    piece of its own (ext/_driver.pxi, ALIGN_MIN): the bits are those of the
    call with every array on a boundary (no head anywhere), whatever the
    inputs' and the output's offsets. (glu: 3 rows of 6000, halves of 3000.)"""
    function = getattr(fa, name)
    rng = np.random.default_rng(x_offset * 10 + out_offset)
    shape = (3, 6000) if name == "glu" else (6000,)
    args = [(rng.standard_normal(shape) * 6).astype(dtype) for _ in range(arity)]

    def call(offset_in, offset_out):
        result = as_tuple(function(*args))
        moved = [_at_offset(a.ravel(), offset_in).reshape(a.shape) for a in args]
        outs = [_at_offset(np.zeros(r.size, dtype), offset_out).reshape(r.shape) for r in result]
        function(*moved, out=tuple(outs) if len(outs) == 2 else outs[0])
        return outs

    for got, want in zip(call(x_offset, out_offset), call(0, 0)):
        assert_same_bits(got, want, f"x offset {x_offset}, out offset {out_offset}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_rowwise_on_other_axis_over_thread_counts(name, dtype):
    x = (np.random.default_rng(3).standard_normal((1024, 300)) * 5).astype(dtype)
    with fa.num_threads(1):
        reference = getattr(fa, name)(x, axis=0)
    with fa.num_threads(2):
        assert_same_bits(getattr(fa, name)(x, axis=0), reference, "axis=0, 2 threads")


# ---------------------------------------------------------------- position independence

# Elementwise and gated cases whose result element i depends on input element i
# only (rrelu in training draws its slopes per shape, so it is left out).
POSITION_CASES = [c for c in CASES if c.info.kind != "rowwise"
                  and not c.params.get("training")]
OFFSETS = [0, 1, 2, 3, 5, 7, 8, 13, 16, 31]
LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257]
TOTAL = 600


def _position_arrays(case, dtype):
    """Full arrays laid out so that a slice [k:k+n] of the last axis is a valid call."""
    rng = np.random.default_rng(11)
    if case.name == "glu":
        # axis 0 of a (2, TOTAL) array: halves x[0] and x[1]
        arrays = case.arrays((1, TOTAL), dtype, rng, scale=6.0)
        x = arrays[-1].reshape(TOTAL, 2).T.copy()
        return arrays[:-1] + (x,), {"axis": 0}
    if case.name == "prelu":
        # channels along axis 1 of a (1, TOTAL) array; the weight is sliced too
        arrays = case.arrays((1, TOTAL), dtype, rng, scale=6.0)
        return arrays, {}
    return case.arrays((TOTAL,), dtype, rng, scale=6.0), {}


def _slice_call(case, arrays, kwargs, k, n):
    sliced = [a[..., k:k + n] for a in arrays]
    return as_tuple(case.call(*sliced, **kwargs))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", POSITION_CASES, ids=[c.id for c in POSITION_CASES])
def test_position_independence(case, dtype):
    arrays, kwargs = _position_arrays(case, dtype)
    full = as_tuple(case.call(*arrays, **kwargs))
    for k in OFFSETS:
        for n in LENGTHS:
            got = _slice_call(case, arrays, kwargs, k, n)
            for g, f in zip(got, full):
                assert_same_bits(g, f[..., k:k + n], f"x[{k}:{k + n}]")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", POSITION_CASES, ids=[c.id for c in POSITION_CASES])
def test_position_independence_into_unaligned_out(case, dtype):
    """Writing into out = buf[j:j+n] (unaligned start) gives the same bits."""
    arrays, kwargs = _position_arrays(case, dtype)
    full = as_tuple(case.call(*arrays, **kwargs))
    for k, j in [(0, 1), (1, 0), (3, 5), (7, 2)]:
        for n in (5, 17, 64, 101):
            sliced = [a[..., k:k + n] for a in arrays]
            shape = full[0][..., k:k + n].shape
            outs = [np.empty((int(np.prod(shape)) + 8,), dtype)[j:j + int(np.prod(shape))]
                    .reshape(shape) for _ in full]
            case.call(*sliced, **kwargs, out=tuple(outs) if len(outs) == 2 else outs[0])
            for o, f in zip(outs, full):
                assert_same_bits(o, f[..., k:k + n], f"x[{k}:{k + n}] into buf[{j}:]")


def _misaligned(a):
    """A copy of a whose data starts at an odd byte address (not itemsize-aligned)."""
    raw = np.empty(a.nbytes + 1, np.uint8)
    view = raw[1:].view(a.dtype).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned
    return view


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", POSITION_CASES + [c for c in CASES if c.info.kind == "rowwise"],
                         ids=[c.id for c in POSITION_CASES] +
                         [c.id for c in CASES if c.info.kind == "rowwise"])
def test_misaligned_data(case, dtype):
    rng = np.random.default_rng(5)
    arrays = case.arrays((4, 37), dtype, rng)
    expected = as_tuple(case.call(*arrays))
    got = as_tuple(case.call(*[_misaligned(a) for a in arrays]))
    for g, e in zip(got, expected):
        assert_same_bits(g, e, "misaligned input")
    # a misaligned out
    outs = [_misaligned(np.zeros_like(e)) for e in expected]
    case.call(*arrays, out=tuple(outs) if len(outs) == 2 else outs[0])
    for o, e in zip(outs, expected):
        assert_same_bits(o, e, "misaligned out")


ROWWISE_FORWARD = [c for c in CASES if c.info.kind == "rowwise" and c.mode == "forward"]
ROWWISE_BACKWARD = [c for c in CASES if c.info.kind == "rowwise" and c.mode == "backward"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", ROWWISE_FORWARD + ROWWISE_BACKWARD,
                         ids=[c.id for c in ROWWISE_FORWARD + ROWWISE_BACKWARD])
def test_rowwise_position_independence(case, dtype):
    """A row gives the same bits alone, at any offset in memory, and in any batch."""
    rng = np.random.default_rng(9)
    for n in (1, 2, 3, 7, 8, 9, 16, 17, 31, 100, 1000):
        rows = case.arrays((6, n), dtype, rng)
        batch = as_tuple(case.call(*rows))[0]
        for r in range(6):
            alone = as_tuple(case.call(*[a[r] for a in rows]))[0]
            assert_same_bits(alone, batch[r], f"row {r} of 6, n={n}")
            for k in (1, 3, 5):
                placed = []
                for a in rows:
                    buf = np.zeros(n + 16, dtype)
                    buf[k:k + n] = a[r]
                    placed.append(buf[k:k + n])
                got = as_tuple(case.call(*placed))[0]
                assert_same_bits(got, batch[r], f"row {r} at offset {k}, n={n}")
        # a batch of a different size holding the same rows
        sub = as_tuple(case.call(*[a[2:5] for a in rows]))[0]
        assert_same_bits(sub, batch[2:5], f"rows 2:5, n={n}")


# ---------------------------------------------------------------- Python threads


def test_python_threads_call_concurrently():
    """4 Python threads, each running several functions on its own arrays."""
    rng = np.random.default_rng(2)
    jobs = []
    for t in range(4):
        dtype = DTYPES[t % 2]
        x = (rng.standard_normal(70_000 + 1000 * t) * 4).astype(dtype)
        g = rng.standard_normal(x.shape).astype(dtype)
        rows = (rng.standard_normal((64, 513 + t)) * 4).astype(dtype)
        jobs.append((x, g, rows))

    def work(x, g, rows):
        return [
            fa.gelu(x), fa.silu_backward(g, x), fa.sigmoid_derivative(x),
            fa.softplus(x, beta=2.0), fa.softmax(rows), fa.log_softmax(rows, axis=0),
            fa.swiglu(x, g), *fa.geglu_backward(g, x, g), fa.tanh(x[::3]),
            fa.softmax_backward(rows, fa.softmax(rows)),
        ]

    expected = [work(*job) for job in jobs]
    barrier = threading.Barrier(4)

    def run(i):
        barrier.wait()
        outcomes = []
        for _ in range(5):
            outcomes.append(work(*jobs[i]))
        return outcomes

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(run, i) for i in range(4)]
        all_results = [f.result(timeout=120) for f in futures]
    for i, outcomes in enumerate(all_results):
        for repeat in outcomes:
            for j, (got, want) in enumerate(zip(repeat, expected[i])):
                assert_same_bits(got, want, f"thread {i}, result {j}")


def test_python_threads_with_their_own_thread_counts():
    """Each Python thread sets its own count (OpenMP's count is per thread)."""
    x = np.random.default_rng(4).standard_normal(200_000)
    expected = fa.mish(x)

    def run(n):
        with fa.num_threads(n):
            got = [fa.mish(x) for _ in range(3)]
            return fa.get_num_threads(), got

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(run, [1, 2, 1, 2]))
    for n, (seen, got) in zip([1, 2, 1, 2], outcomes):
        assert seen == (n if fa.config()["openmp"] else 1)
        for g in got:
            assert_same_bits(g, expected, f"{n} threads in a Python thread")
