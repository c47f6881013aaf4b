#!/usr/bin/env python
"""Run the fastact vs NumPy vs PyTorch comparison in one process and write a report.

    python bench/report.py                  # full: 16 / 4096 / 65536 / 1Mi / 16Mi, ~10 min
    python bench/report.py --quick          # 16 / 4096 / 65536 + a 16 Mi subset, ~1 min
    python bench/report.py --quick --function relu --function gelu --out-dir /tmp/r

Writes OUT_DIR/REPORT.md (machine header, issue-3 targets as measured, the
table of ratios per function, mode, dtype, size and thread count) and
OUT_DIR/speed.png (Gelem/s vs size per library; needs matplotlib).

Measurement (SPEC section 6): fastact._bench's workloads and baselines, same
buffers for every library, outputs preallocated, a warm-up, then the median
of alternating timed batches; fastact and PyTorch at 1 thread and at all
threads (fastact's count at start), NumPy single-threaded.
"""
import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import fastact as fa

ALL_THREADS = fa.get_num_threads()    # before torch is imported: it may move the count

from fastact import _bench  # noqa: E402

HUGE = 1 << 24
FULL_SIZES = (16, 4096, 65536, 1 << 20, HUGE)
QUICK_SIZES = (16, 4096, 65536)
# --quick (~1-2 min) still measures the 16 Mi targets, on a subset (float32, forward)
QUICK_HUGE_FUNCTIONS = _bench.MEMORY_BOUND + ("gelu", "sigmoid", "tanh", "silu", "softmax")

TARGET_GEO_TORCH = 2.0
TARGET_GEO_NUMPY = 3.0
TARGET_BANDWIDTH = 0.85
TARGET_SPEEDUP = 1.7
TARGET_SMALL_THREADS = 1.05
SMALL_THREADS_SIZE = 4096


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="sizes 16/4096/65536, 16 Mi only for a subset (float32 forward); ~1-2 min")
    p.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "results",
                   help="where REPORT.md and speed.png go (default bench/results)")
    p.add_argument("--function", action="append", choices=list(fa.REGISTRY), metavar="NAME",
                   help="limit to these activations (repeatable)")
    p.add_argument("--dtype", action="append", choices=list(_bench.DTYPES))
    p.add_argument("--size", action="append", type=_bench.parse_size, metavar="N",
                   help="sizes of the main table (repeatable; e.g. 65536 or 1Mi)")
    p.add_argument("--repeats", type=int, default=None, help="timed batches per library")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    p.add_argument("--no-plot", action="store_true", help="do not write the chart")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


# --------------------------------------------------------------------------
# Extra measurements: copy bandwidth, the 16-element call
# --------------------------------------------------------------------------


def _threaded_numpy_copy(src, dst, n):
    """A callable copying src to dst in n contiguous chunks on n threads (np.copyto drops the GIL)."""
    if n <= 1:
        return lambda: np.copyto(dst, src)
    pool = ThreadPoolExecutor(n)
    bounds = np.linspace(0, src.size, n + 1).astype(int)
    pieces = [(dst[a:b], src[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

    def call():
        for f in [pool.submit(np.copyto, d, s) for d, s in pieces]:
            f.result()

    call.pool = pool
    return call


def _copy_calls(dtype, size, threads, use_torch):
    """(copy bytes read + written, {label: callable}) for the copies of `size` elements."""
    src = np.random.default_rng(1).standard_normal(size, dtype=np.float32).astype(dtype)
    dst = np.empty_like(src)
    calls = {"numpy (threaded np.copyto)": _threaded_numpy_copy(src, dst, threads),
             "numpy (np.copyto)": lambda: np.copyto(dst, src)}
    tf = _bench.torch_formulas() if use_torch else None
    if tf:
        calls["torch (Tensor.copy_)"] = tf.copy_call(src, dst)
    return 2 * src.nbytes, calls


def _close_copies(calls):
    pool = getattr(calls["numpy (threaded np.copyto)"], "pool", None)
    if pool is not None:
        pool.shutdown()


def measure_bandwidth(cases, dtype, size, threads, repeats, use_torch):
    """{(function, mode, dtype): (fastact GB/s, {copy label: GB/s})}: each
    memory-bound (function, mode) timed alternating with the copies, so that kernel and
    copy see the same machine. (On this shared 2-core machine a copy timed
    before and after the run, against the kernels' own timings, put the same
    kernel anywhere from 44 % to 145 % of it.)"""
    nbytes, copies = _copy_calls(dtype, size, threads, use_torch)
    out = {}
    with _bench.thread_count(threads), np.errstate(all="ignore"):
        for name, mode in cases:
            work = _bench.make_workload(name, mode, dtype, size)
            times = _bench.time_calls(dict(copies, fastact=work.fastact_call()),
                                      repeats=repeats, target=0.02)
            out[(name, mode, dtype)] = (
                work.nbytes / times["fastact"] / 1e9,
                {k: nbytes / times[k] / 1e9 for k in copies})
    _close_copies(copies)
    return out


def measure_small(functions, dtypes, modes, repeats, threads):
    """16-element calls: {(name, mode, dtype): (fastact s, np.maximum s)}, alternating."""
    out = {}
    rng = np.random.default_rng(5)
    with _bench.thread_count(threads), np.errstate(all="ignore"):
        for dtype in dtypes:
            x = rng.standard_normal(16).astype(dtype)
            o = np.empty_like(x)
            np_max = lambda: np.maximum(x, 0, out=o)  # noqa: E731
            for name in functions:
                for mode in modes:
                    work = _bench.make_workload(name, mode, dtype, 16, rng)
                    t = _bench.time_calls({"fastact": work.fastact_call(), "np": np_max},
                                          repeats=repeats, target=2e-3)
                    out[(name, mode, dtype)] = (t["fastact"], t["np"])
    return out


def _speedup(call, threads, repeats, target):
    """Time on 1 thread / time on `threads`: the median over pairs of timed
    batches, one on each count back to back, so that both sides of a ratio
    see the same machine (a pair's ratio cancels the slow drifts of a shared
    machine's load).  The count is set outside each batch, so that setting
    it costs neither side (at 4096 elements a call takes microseconds)."""
    with fa.num_threads(threads):
        call()
        number = _bench._calibrate(call, target)
    ratios = []
    for _ in range(repeats):
        with fa.num_threads(1):
            one = _bench._batch(call, number)
        with fa.num_threads(threads):
            many = _bench._batch(call, number)
        ratios.append(one / many)
    return statistics.median(ratios)


def measure_speedup(cases, dtype, size, threads, repeats, target=0.02):
    """{(function, mode, dtype): time on 1 thread / time on `threads`}."""
    out = {}
    with np.errstate(all="ignore"):
        for name, mode in cases:
            call = _bench.make_workload(name, mode, dtype, size).fastact_call()
            out[(name, mode, dtype)] = _speedup(call, threads, repeats, target)
    return out


# --------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------


def _ok(flag):
    return "yes" if flag else "**no**"


def targets(rows, bandwidth, speedup, small, small_threads, all_threads):
    """Markdown lines: the issue-3 targets as measured, and the cases that miss them."""
    lines = ["## Issue 3 targets, as measured", ""]
    lines += ["| target | measured | met |", "|---|---|---|"]
    details = []
    has_torch = any(r.torch_s is not None for r in rows)

    # 1. 65536 elements, 1 thread: geometric means and every case vs torch
    for dtype in _bench.DTYPES:
        sel = [r for r in rows if r.size == 65536 and r.threads == 1 and r.dtype == dtype]
        if not sel:
            continue
        g_np = _bench.geometric_mean([r.ratio for r in sel])
        lines.append(f"| 65536, 1 thread, {dtype}: geo-mean vs NumPy >= {TARGET_GEO_NUMPY:g} "
                     f"| {g_np:.2f} over {len(sel)} | {_ok(g_np >= TARGET_GEO_NUMPY)} |")
        if has_torch:
            tr = [r for r in sel if r.torch_ratio is not None]
            g_t = _bench.geometric_mean([r.torch_ratio for r in tr])
            slower = sorted(tr, key=lambda r: r.torch_ratio)
            slower = [r for r in slower if r.torch_ratio < 1]
            lines.append(f"| 65536, 1 thread, {dtype}: geo-mean vs PyTorch >= "
                         f"{TARGET_GEO_TORCH:g} | {g_t:.2f} over {len(tr)} "
                         f"| {_ok(g_t >= TARGET_GEO_TORCH)} |")
            lines.append(f"| 65536, 1 thread, {dtype}: every case at least as fast as PyTorch "
                         f"| slower in {len(slower)} of {len(tr)} | {_ok(not slower)} |")
            if slower:
                details.append(f"- slower than PyTorch at 65536, 1 thread, {dtype}: " + ", ".join(
                    f"{r.function} {r.mode} ({r.torch_ratio:.2f})" for r in slower))

    # 2. 16 Mi, all threads: memory-bound kernels vs a multi-threaded copy,
    # each timed alternating with the copies (measure_bandwidth)
    for dtype in _bench.DTYPES:
        sel = {k: v for k, v in bandwidth.items() if k[2] == dtype}
        if not sel:
            continue
        fracs = {k: gbs / max(copies.values()) for k, (gbs, copies) in sel.items()}
        worst = min(fracs, key=fracs.get)
        best_copy = max(sel[worst][1].items(), key=lambda kv: kv[1])
        lines.append(f"| 16 Mi, {all_threads} threads, {dtype}: memory-bound kernels >= "
                     f"{TARGET_BANDWIDTH:.0%} of copy bandwidth (the fastest copy, timed "
                     f"alternating with each kernel) | worst {fracs[worst]:.0%} ({worst[0]} "
                     f"{worst[1]}: {sel[worst][0]:.1f} GB/s, copy {best_copy[1]:.1f} GB/s, "
                     f"{best_copy[0]}); {len(fracs)} cases | {_ok(fracs[worst] >= TARGET_BANDWIDTH)} |")
        details.append(f"- bandwidth at 16 Mi, {all_threads} threads, {dtype}, each kernel against "
                       "the copies timed alternating with it: " + "; ".join(
                           f"{n} {m} {sel[(n, m, d)][0]:.1f} GB/s = {fracs[(n, m, d)]:.0%} (copy "
                           + ", ".join(f"{k} {v:.1f}" for k, v in sel[(n, m, d)][1].items()) + ")"
                           for n, m, d in sorted(sel)))

    # 3. 16 Mi: compute-bound kernels' speed-up on all threads (measure_speedup)
    if all_threads > 1:
        for dtype in _bench.DTYPES:
            speed = {k[:2]: v for k, v in speedup.items() if k[2] == dtype}
            if not speed:
                continue
            worst = min(speed, key=speed.get)
            low = [k for k in sorted(speed) if speed[k] < TARGET_SPEEDUP]
            lines.append(f"| 16 Mi, {dtype}: compute-bound speed-up on {all_threads} threads >= "
                         f"{TARGET_SPEEDUP:g} (1 and {all_threads} threads timed alternating) "
                         f"| min {speed[worst]:.2f} ({' '.join(worst)}), "
                         f"geo-mean {_bench.geometric_mean(speed.values()):.2f}, {len(speed)} cases "
                         f"| {_ok(not low)} |")
            if low:
                details.append(f"- speed-up below {TARGET_SPEEDUP:g} at 16 Mi, {dtype}: " + ", ".join(
                    f"{n} {m} ({speed[(n, m)]:.2f})" for n, m in low))

        # 4. 4096: all threads no slower than 1 thread (within 5 %), the two
        # timed in back-to-back pairs (measure_speedup)
        if small_threads:
            ratio = small_threads
            keys = sorted(ratio)
            worst = max(ratio, key=ratio.get)
            high = [k for k in keys if ratio[k] > TARGET_SMALL_THREADS]
            lines.append(f"| {SMALL_THREADS_SIZE}: {all_threads}-thread time <= "
                         f"{TARGET_SMALL_THREADS:g} x 1-thread time (timed alternating) "
                         f"| max {ratio[worst]:.2f} ({' '.join(worst)}), median "
                         f"{statistics.median(ratio.values()):.2f}, {len(keys)} cases "
                         f"| {_ok(not high)} |")
            if high:
                details.append(f"- {SMALL_THREADS_SIZE} elements, {all_threads} threads slower "
                               f"than 1 thread x {TARGET_SMALL_THREADS:g}: " + ", ".join(
                                   f"{n} {m} {d} ({ratio[(n, m, d)]:.2f})" for n, m, d in high))

    # 5. 16 elements vs np.maximum(x, 0, out=o)
    for dtype in _bench.DTYPES:
        sel = {k: v for k, v in small.items() if k[2] == dtype}
        if not sel:
            continue
        ratio = {k: fa_s / np_s for k, (fa_s, np_s) in sel.items()}
        worst = max(ratio, key=ratio.get)
        np_median = statistics.median(np_s for _, np_s in sel.values())
        high = [k for k in ratio if ratio[k] > 1]
        lines.append(f"| 16 elements, {dtype}: per-call time <= np.maximum(x, 0, out=o) "
                     f"({np_median * 1e6:.2f} us) | max {ratio[worst]:.2f} x "
                     f"({worst[0]} {worst[1]}, {sel[worst][0] * 1e6:.2f} us); "
                     f"over in {len(high)} of {len(ratio)} | {_ok(not high)} |")
        if high:
            details.append(f"- 16 elements, {dtype}, slower than np.maximum: " + ", ".join(
                f"{n} {m} ({ratio[(n, m, d)]:.2f})" for n, m, d in sorted(high)))
    return lines + [""] + details


# --------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    functions = args.function or list(fa.REGISTRY)
    dtypes = tuple(args.dtype or _bench.DTYPES)
    threads = list(dict.fromkeys([1, ALL_THREADS]))
    libraries = ("fastact", "numpy") if args.no_torch else None
    repeats = args.repeats or (5 if args.quick else 7)
    target = 1e-3 if args.quick else 3e-3
    sizes = tuple(args.size or (QUICK_SIZES if args.quick else FULL_SIZES))
    header = _bench.machine_header(threads)

    def progress(row):
        if args.verbose:
            print(f"  {row.function} {row.mode} {row.dtype} {row.size} {row.threads}thr: "
                  f"vs NumPy {_bench.format_ratio(row.ratio)}, "
                  f"vs PyTorch {_bench.format_ratio(row.torch_ratio)}", file=sys.stderr, flush=True)

    def log(text):
        print(f"[{time.perf_counter() - start:6.1f} s] {text}", file=sys.stderr, flush=True)

    log(f"main table: {len(functions)} functions, sizes {sizes}, threads {threads}")
    rows = _bench.run(functions, sizes, dtypes, repeats, _bench.MODES, target, progress,
                      threads=threads, libraries=libraries)
    if args.quick and not args.size:
        huge_functions = [f for f in functions if f in QUICK_HUGE_FUNCTIONS]
        huge_dtypes = ("float32",) if "float32" in dtypes else dtypes[:1]
        log(f"16 Mi subset: {huge_functions}, {huge_dtypes}, forward")
        rows += _bench.run(huge_functions, (HUGE,), huge_dtypes, 3, ("forward",), 0.0, progress,
                           threads=threads, libraries=libraries)
    bandwidth, speedup = {}, {}
    for dtype in sorted({r.dtype for r in rows if r.size == HUGE}):
        huge = sorted({(r.function, r.mode) for r in rows if r.size == HUGE and r.dtype == dtype})
        memory_bound = [c for c in huge if c[0] in _bench.MEMORY_BOUND]
        log(f"bandwidth against copies, {dtype}, {ALL_THREADS} threads: {memory_bound}")
        bandwidth.update(measure_bandwidth(memory_bound, dtype, HUGE, ALL_THREADS, repeats,
                                           not args.no_torch))
        if ALL_THREADS > 1:
            compute_bound = [c for c in huge if c[0] not in _bench.MEMORY_BOUND]
            log(f"speed-up on {ALL_THREADS} threads, {dtype}: {compute_bound}")
            speedup.update(measure_speedup(compute_bound, dtype, HUGE, ALL_THREADS, repeats))
    small_threads = {}
    if ALL_THREADS > 1 and SMALL_THREADS_SIZE in sizes:
        log(f"{SMALL_THREADS_SIZE} elements, 1 and {ALL_THREADS} threads alternating")
        for dtype in dtypes:
            cases = sorted({(r.function, r.mode) for r in rows
                            if r.size == SMALL_THREADS_SIZE and r.dtype == dtype})
            # 126 ratios of microsecond calls: a max over them needs medians of
            # more and longer batches than the main table's (+-7 % with 5 of 1 ms)
            measured = measure_speedup(cases, dtype, SMALL_THREADS_SIZE, ALL_THREADS,
                                       max(repeats, 9), max(target, 2e-3))
            small_threads.update({case: 1 / up for case, up in measured.items()})
    log("16-element calls vs np.maximum")
    small = measure_small(functions, dtypes, _bench.MODES, repeats, ALL_THREADS)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    chart = args.out_dir / "speed.png"
    chart_note = None
    if not args.no_plot:
        try:
            _bench.plot(rows, chart)
        except RuntimeError as error:
            chart_note = f"(no chart: {error})"
    target_lines = targets(rows, bandwidth, speedup, small, small_threads, ALL_THREADS)
    try:
        load = os.getloadavg()
    except (AttributeError, OSError):
        load = None
    lines = ["# fastact speed report", ""] + header
    lines.append(f"- run: {'quick' if args.quick else 'full'}, {time.strftime('%Y-%m-%d %H:%M')}, "
                 f"{time.perf_counter() - start:.0f} s; "
                 f"command: `python bench/report.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    if load is not None and load[0] > 0.25 * (os.cpu_count() or 1):
        lines.append(f"- warning: the machine was busy (load average {load[0]:.2f} at the end), "
                     "multi-threaded timings are unreliable")
    lines.append("")
    lines += target_lines
    lines += ["", "## Chart", ""]
    lines.append(chart_note or f"![Gelem/s vs size per library]({chart.name})")
    lines += ["", "## All cases", ""]
    lines += [f"Note: {note}" for note in _bench.NOTES] + [""]
    lines += _bench.format_table(rows)
    lines += [""] + _bench.summary_lines(rows) + [""]
    report = args.out_dir / "REPORT.md"
    report.write_text("\n".join(lines))
    print("\n".join(["# fastact speed report", ""] + header + [""] + target_lines))
    print(f"\nwrote {report}" + ("" if chart_note else f" and {chart}"))
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
