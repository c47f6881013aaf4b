"""The fastact command line: ``python -m fastact`` (or the ``fastact`` script).

    fastact info                      version, SIMD level, OpenMP, threads, platform
    fastact bench [--quick] [...]     time every activation against NumPy and PyTorch
    fastact plot OUT.png [...]        draw every elementwise activation and its derivative
    fastact accuracy [...]            measure ULP errors (float32 sweeps, float64 vs mpmath)
"""
import argparse
import sys
import time

from fastact._progress import ProgressBar


def _cmd_info(args):
    import numpy as np

    import fastact as fa
    from fastact import _bench

    fa.show_config()
    extra = {"numpy": np.__version__, "cpu": _bench.cpu_model()}
    config = fa.config()
    for key, value in extra.items():
        if key not in config:
            print(f"{key + ':':<12} {value}")
    return 0


def _cmd_bench(args):
    import fastact as fa
    from fastact import _bench

    all_threads = fa.get_num_threads()      # before torch is imported (it may move it)
    threads = None
    if args.threads:
        threads = list(dict.fromkeys(_bench.resolve_threads(t, all_threads)
                                     for t in args.threads))
    if args.size:
        sizes = args.size
    elif args.sizes is not None:
        sizes = args.sizes
    else:
        sizes = _bench.QUICK_SIZES if args.quick else _bench.DEFAULT_SIZES
    dtypes = args.dtype or _bench.DTYPES
    modes = args.mode or _bench.MODES
    repeats = args.repeats or (5 if args.quick else 9)
    target = 1e-3 if args.quick else 3e-3
    functions = args.function or list(fa.REGISTRY)
    libraries = ("fastact", "numpy") if args.no_torch else None
    if args.plot:
        try:
            _bench._pyplot()
        except RuntimeError as error:   # fail before timing anything
            print(f"fastact bench: error: {error}", file=sys.stderr)
            return 2

    if threads is None:
        threads = [all_threads]
    show_bar = args.progress if args.progress is not None else _stderr_is_tty()
    bar = ProgressBar(len(functions) * len(modes) * len(dtypes) * len(sizes) * len(threads),
                      label="bench") if show_bar else None

    def progress(row):
        if args.verbose:
            parts = [f"vs NumPy {_bench.format_ratio(row.ratio)}"]
            if row.torch_s is not None:
                parts.append(f"vs PyTorch {_bench.format_ratio(row.torch_ratio)}")
            if bar is not None:
                bar.clear()
            print(f"  {row.function} {row.mode} {row.dtype} {row.size} "
                  f"{row.threads} thr: " + ", ".join(parts), file=sys.stderr, flush=True)
        if bar is not None:
            bar.update(f"{row.function} {row.mode} {row.dtype} {row.size}")

    start = time.perf_counter()
    header = _bench.machine_header(threads)
    try:
        rows = _bench.run(functions, sizes, dtypes, repeats, modes, target, progress,
                          threads=threads, libraries=libraries)
    finally:
        if bar is not None:
            bar.close()
    print(_bench.format_markdown(rows, header=header))
    if args.plot:
        _bench.plot(rows, args.plot)
        print(f"\nchart written to {args.plot}")
    print(f"\n(benchmark took {time.perf_counter() - start:.1f} s)")
    return 0


def _cmd_plot(args):
    from fastact import _plot

    try:
        _plot.pyplot()                  # a clear message before any work
    except RuntimeError as error:
        print(f"fastact plot: error: {error}", file=sys.stderr)
        return 2
    _plot.plot_activations(args.out, names=args.function, dpi=args.dpi)
    names = args.function or _plot.plottable()
    print(f"{len(dict.fromkeys(names))} activations and their derivatives on [-6, 6] "
          f"written to {args.out}")
    return 0


def _stderr_is_tty():
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _int_at_least(text, minimum):
    value = int(text)
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def _positive_int(text):
    return _int_at_least(text, 1)


def _nonnegative_int(text):
    return _int_at_least(text, 0)


def _threads(text):
    if text.strip().lower() == "all":
        return "all"
    try:
        return _positive_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'all' or a positive integer, got {text!r}")


def _size(text):
    from fastact._bench import parse_size

    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive size like 4096 or 1Mi, got {text!r}")


def _sizes(text):
    from fastact._bench import parse_sizes

    try:
        return parse_sizes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'issue' or a comma-separated list like 16,64Ki,1Mi, got {text!r}")


def _cmd_accuracy(args):
    from fastact._accuracy import run

    if args.progress is None:
        args.progress = _stderr_is_tty()
    return run.main(args)


def build_parser():
    from fastact.registry import REGISTRY

    parser = argparse.ArgumentParser(
        prog="fastact",
        description="fastact: fast, accurate activation functions for NumPy arrays.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    info = sub.add_parser("info", help="print version, SIMD level, OpenMP, threads, platform")
    info.set_defaults(handler=_cmd_info)

    bench = sub.add_parser(
        "bench",
        help="time every activation against plain NumPy and PyTorch",
        description="Time forward, derivative and backward of every activation in "
                    "fastact.REGISTRY against the best plain-NumPy formula and, when "
                    "torch is installed, PyTorch CPU, and print a Markdown table "
                    "(ratio = peer time / fastact time; > 1 means fastact is faster).",
    )
    bench.add_argument("--quick", action="store_true",
                       help="one size (65536 elements), few repeats: under a minute")
    bench.add_argument("--size", type=_size, action="append", metavar="N",
                       help="result elements, e.g. 4096 or 1Mi (repeatable; "
                            "default 4096, 65536, 1048576)")
    bench.add_argument("--sizes", type=_sizes, nargs="?", const=_sizes("issue"), metavar="LIST",
                       help="comma-separated sizes (e.g. 16,64Ki,1Mi); alone or 'issue': "
                            "issue 3's sizes 16, 65536, 1Mi, 16Mi (softmax as rows of 1024)")
    bench.add_argument("--dtype", choices=["float32", "float64"], action="append",
                       help="repeatable; default both")
    bench.add_argument("--threads", type=_threads, action="append", metavar="1|all|N",
                       help="thread count of fastact and PyTorch (repeatable, e.g. "
                            "--threads 1 --threads all; all = fastact's count at start; "
                            "default: all)")
    bench.add_argument("--function", choices=list(REGISTRY), action="append", metavar="NAME",
                       help="activation to time (repeatable; default all: "
                            + ", ".join(REGISTRY) + ")")
    bench.add_argument("--mode", choices=["forward", "derivative", "backward"],
                       action="append", help="repeatable; default all three")
    bench.add_argument("--repeats", type=_positive_int, metavar="N",
                       help="timed batches per library, median taken (default 5 quick, 9 full)")
    bench.add_argument("--no-torch", action="store_true",
                       help="leave out the PyTorch column even when torch is installed")
    bench.add_argument("--plot", metavar="OUT.png",
                       help="also write a chart of Gelem/s vs size per library "
                            "(needs matplotlib: pip install 'fastact[plot]')")
    bench.add_argument("-v", "--verbose", action="store_true",
                       help="print each result to stderr as it is measured")
    bar = bench.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show a progress bar on stderr (default: when stderr is a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show the progress bar")
    bench.set_defaults(handler=_cmd_bench)

    from fastact._plot import plottable

    names = plottable()
    plot = sub.add_parser(
        "plot",
        help="draw every elementwise activation and its derivative into one PNG",
        description="Draw f(x) and f'(x) of every elementwise activation in "
                    "fastact.REGISTRY over [-6, 6], one small panel each, at the default "
                    "parameters, into one PNG (needs matplotlib: "
                    "pip install 'fastact[plot]').",
    )
    plot.add_argument("out", metavar="OUT.png", help="the PNG file to write")
    plot.add_argument("--function", choices=names, action="append", metavar="NAME",
                      help="activation to draw (repeatable; default all: "
                           + ", ".join(names) + ")")
    plot.add_argument("--dpi", type=_positive_int, default=100,
                      help="resolution of the PNG (default 100)")
    plot.set_defaults(handler=_cmd_plot)

    accuracy = sub.add_parser(
        "accuracy",
        help="measure the ULP error of every function (SPEC section 5)",
        description="Sweep float32 bit patterns (every STRIDE-th; 1 = all 2^32) "
                    "against the float64 kernels, sample float64 inputs against "
                    "mpmath, measure softmax rows, with PyTorch's errors on the same "
                    "inputs; print a Markdown table. Exit status 1 if any element "
                    "is outside SPEC section 5. Needs mpmath.",
    )
    accuracy.add_argument("--stride", type=_nonnegative_int, default=256, metavar="K",
                          help="float32 sweep over every K-th bit pattern (default 256, "
                               "~16.8 M inputs per function; 1 = exhaustive, about an "
                               "hour on 2 cores; 0 = skip)")
    accuracy.add_argument("--float64", type=_nonnegative_int, default=20000, metavar="N",
                          help="float64 inputs per function and kind checked against "
                               "mpmath (default 20000; 0 = skip)")
    accuracy.add_argument("--rows", action=argparse.BooleanOptionalAction, default=True,
                          help="measure softmax/log_softmax rows (default on)")
    accuracy.add_argument("--function", action="append", metavar="NAME",
                          help="case to measure (repeatable; e.g. sigmoid, gelu[tanh])")
    accuracy.add_argument("--kind", choices=["forward", "derivative", "backward"],
                          action="append", help="kinds to measure (repeatable; default: forward and "
                               "derivative for the float32 sweep, all three for float64; "
                               "given, the rows and GLU sections are left out)")
    accuracy.add_argument("--level", choices=["baseline", "avx2", "avx512"],
                          help="SIMD level to measure (default: the best this CPU has)")
    accuracy.add_argument("--processes", type=_positive_int, metavar="N",
                          help="worker processes (default: one per CPU)")
    accuracy.add_argument("--no-torch", action="store_true",
                          help="leave out PyTorch's errors even when torch is installed")
    accuracy.add_argument("--no-confirm", action="store_true",
                          help="do not re-measure the worst float32 inputs with mpmath")
    accuracy.add_argument("--json", metavar="OUT.json", help="also write every record here")
    accuracy.add_argument("--table", metavar="IN.json",
                          help="only print the table of a saved run")
    accuracy.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                          help="progress bar on stderr (default: when stderr is a terminal)")
    accuracy.set_defaults(handler=_cmd_accuracy)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # e.g. `fastact bench | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
