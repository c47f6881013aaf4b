"""Fork safety (issue 6, item 5).

GNU OpenMP's thread pool does not survive fork(): in a child forked from a
process that has run a parallel region, the next parallel region waits
forever for pool threads that only existed in the parent. fastact notices the
fork (a pthread_atfork child handler, ext/_fork.h) and runs serially in such a
child, with the same bits, since results never depend on the thread count.

* A parent that ran large multi-threaded calls forks (multiprocessing 'fork'
  start method): the child's large calls (elementwise, prelu's per-channel
  split, softmax's row split) finish, give the parent's bits, and
  get_num_threads() reports 1 there (with OpenMP). A grandchild works too.
* A 'spawn' child is a fresh process: it uses 2 threads as usual.
* A process that never ran fastact with more than one thread keeps its
  threads after a fork.

Every child runs under a timeout, so a hang fails the test instead of hanging
the run.

Run:  python -m pytest tests/test_fork.py -q
"""
import multiprocessing as mp
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastact as fa
from bits import assert_same_bits

TIMEOUT = 60  # seconds for a child; its work takes well under one
N = 1_000_000  # 122 spans of 8192 (sigmoid), 15 of 65536 (prelu)

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork") or "fork" not in mp.get_all_start_methods(),
                       reason="needs the fork start method"),
    # Python 3.12+ warns when a process with threads forks: that is the point.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

OPENMP = fa.config()["openmp"]


@pytest.fixture(autouse=True)
def restore_threads():
    previous = fa.get_num_threads()
    yield
    fa.set_num_threads(previous)


def inputs():
    rng = np.random.default_rng(6)
    x = rng.normal(scale=4.0, size=N)
    return {
        "x64": x,
        "x32": x.astype(np.float32),
        "image": x.astype(np.float32).reshape(10, 100, 1000),  # prelu over axis 1
        "weight": np.linspace(-0.5, 0.5, 100, dtype=np.float32),
        "logits": x.reshape(1000, 1000),
    }


def work(a):
    """Large calls that each take the parallel path when threads are available."""
    return {
        "sigmoid64": fa.sigmoid(a["x64"]),
        "gelu32": fa.gelu(a["x32"]),
        "silu_backward": fa.silu_backward(a["x64"], a["x64"]),
        "prelu": fa.prelu(a["image"], a["weight"]),
        "softmax": fa.softmax(a["logits"]),
    }


def child_main(conn, threads, depth):
    """Run in the child: set the threads, do the work, send back the results."""
    try:
        if threads is not None:
            fa.set_num_threads(threads)
        reported = fa.get_num_threads()
        results = work(inputs())
        if depth > 1:  # fork again from here, after this child's own calls
            results["grandchild"] = run_child("fork", None, depth - 1)
        conn.send(("ok", reported, results))
    except BaseException as exc:  # report, do not hang the parent
        conn.send(("error", repr(exc), None))
    finally:
        conn.close()


def run_child(method, threads, depth=1):
    """Start a child with `method`; its (reported threads, results), or fail on a hang."""
    ctx = mp.get_context(method)
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=child_main, args=(send, threads, depth), daemon=False)
    process.start()
    send.close()
    answered = False
    try:
        if not receive.poll(TIMEOUT * depth):
            raise AssertionError(f"a {method!r} child did not answer within "
                                 f"{TIMEOUT * depth} s: it hangs")
        status, reported, results = receive.recv()
        answered = True
    finally:
        receive.close()
        process.join(TIMEOUT if answered else 0)
        if process.is_alive():
            process.kill()
            process.join()
    assert status == "ok", f"the {method!r} child failed: {reported}"
    assert process.exitcode == 0
    return reported, results


def sigmoid(x):
    return fa.sigmoid(x)


def check_results(got, expected):
    for name, value in expected.items():
        assert_same_bits(got[name], value, name)


def parent_uses_threads():
    """Run large calls on 2 threads here, so the OpenMP pool exists before the fork."""
    fa.set_num_threads(2)
    expected = work(inputs())
    if OPENMP:
        assert fa.get_num_threads() == 2
    return expected


def test_fork_child_after_threaded_calls():
    expected = parent_uses_threads()
    reported, got = run_child("fork", None)
    check_results(got, expected)
    assert reported == 1
    # The parent is not affected: it still uses (and reports) 2 threads.
    if OPENMP:
        assert fa.get_num_threads() == 2
    check_results(work(inputs()), expected)


def test_fork_child_ignores_set_num_threads():
    # Asking for threads in such a child must not bring the dead pool back.
    expected = parent_uses_threads()
    reported, got = run_child("fork", 2)
    assert reported == 1
    check_results(got, expected)


def test_fork_grandchild():
    expected = parent_uses_threads()
    reported, got = run_child("fork", None, depth=2)
    assert reported == 1
    check_results(got, expected)
    grandchild_reported, grandchild = got["grandchild"]
    assert grandchild_reported == 1
    check_results(grandchild, expected)


def test_fork_pool_map():
    # The everyday form: a fork Pool whose workers call fastact.
    expected = parent_uses_threads()
    with mp.get_context("fork").Pool(2) as pool:
        pending = pool.map_async(sigmoid, [inputs()["x64"]] * 4)
        got = pending.get(TIMEOUT)  # raises multiprocessing.TimeoutError on a hang
        pool.terminate()
    for value in got:
        assert_same_bits(value, expected["sigmoid64"], "sigmoid64")


def test_spawn_child_uses_threads():
    expected = parent_uses_threads()
    reported, got = run_child("spawn", 2)
    assert reported == (2 if OPENMP else 1)
    check_results(got, expected)


@pytest.mark.skipif(not OPENMP, reason="built without OpenMP")
def test_fork_before_any_threaded_call_keeps_threads():
    # Only a process that has run fastact with more than one thread is
    # treated as unsafe to fork: forking earlier keeps the threads. Run in a
    # fresh interpreter, since this one has long used threads.
    script = textwrap.dedent("""
        import os
        import numpy as np
        import fastact as fa
        x = np.linspace(-30, 30, 1_000_000)
        fa.set_num_threads(1)
        expected = fa.sigmoid(x)  # one thread: no pool yet
        fa.set_num_threads(2)
        pid = os.fork()
        if pid == 0:
            ok = fa.get_num_threads() == 2
            ok = ok and np.array_equal(fa.sigmoid(x), expected)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=TIMEOUT, env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["child", "0"], run.stdout + run.stderr
