"""Does fastact release the GIL? Two Python threads on large arrays, vs serially.

With fastact's OpenMP pool at 1 thread (fa.set_num_threads(1), called in
every thread: OpenMP's thread count is per thread), only the GIL decides whether two Python threads can compute at once. For each function,
the script times (median of repeats, after a warm-up):

    serial   : call(A); call(B)                  in one thread
    threaded : call(A) in thread 1, call(B) in thread 2, started together

and prints serial/threaded. About 2.0 means the two calls really ran at the
same time on two cores (the GIL was released around the kernel); about 1.0
would mean they were serialized. Outputs are preallocated (out=) so the
allocator is not measured. Not a timed test: run it by hand.

Run:  python bench/gil_release.py [--n 20000000] [--repeats 7]
"""
import argparse
import os
import statistics
import threading
import time

import numpy as np

import fastact as fa


def _time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000_000, help="elements per array")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    fa.set_num_threads(1)
    rng = np.random.default_rng(0)
    n = args.n
    rows = (n // 1000, 1000)
    a = rng.standard_normal(n).astype(np.float32) * 4
    b = rng.standard_normal(n).astype(np.float32) * 4
    g = rng.standard_normal(n).astype(np.float32)
    oa, ob = np.empty_like(a), np.empty_like(b)
    jobs = {
        "gelu": lambda x, o: fa.gelu(x, out=o),
        "sigmoid": lambda x, o: fa.sigmoid(x, out=o),
        "relu": lambda x, o: fa.relu(x, out=o),
        "silu_backward": lambda x, o: fa.silu_backward(g, x, out=o),
        "softmax (rows of 1000)": lambda x, o: fa.softmax(x.reshape(rows), out=o.reshape(rows)),
        "numpy.exp (comparison)": lambda x, o: np.exp(x, out=o),
    }
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cfg = fa.config()
    print(f"fastact {cfg['version']}, simd {cfg['simd_level']}, openmp {cfg['openmp']}, "
          f"fastact threads {fa.get_num_threads()}, CPUs available {cpus}")
    print(f"two float32 arrays of {n:,} elements; median of {args.repeats}")
    print(f"{'function':<24}{'one call':>10}{'serial x2':>11}{'2 threads':>11}{'speed-up':>10}")
    for name, call in jobs.items():
        one = _time(lambda: call(a, oa), args.repeats)

        def serial():
            call(a, oa)
            call(b, ob)

        def threaded():
            barrier = threading.Barrier(2)

            def run(x, o):
                # the OpenMP thread count is per thread: a new Python thread starts
                # with the default, not with the main thread's set_num_threads(1)
                fa.set_num_threads(1)
                barrier.wait()
                call(x, o)

            ts = [threading.Thread(target=run, args=(a, oa)),
                  threading.Thread(target=run, args=(b, ob))]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        s = _time(serial, args.repeats)
        t = _time(threaded, args.repeats)
        print(f"{name:<24}{one * 1e3:>8.1f}ms{s * 1e3:>9.1f}ms{t * 1e3:>9.1f}ms{s / t:>9.2f}x")
    print("speed-up ~2x: both threads computed at once (GIL released); ~1x: serialized.")


if __name__ == "__main__":
    main()
