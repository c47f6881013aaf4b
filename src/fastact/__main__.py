"""The fastact command line: ``python -m fastact`` (or the ``fastact`` script).

    fastact info                      version, SIMD level, OpenMP, threads, platform
    fastact bench [--quick] [...]     time every activation against NumPy and PyTorch
"""
import argparse
import sys
import time


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

    def progress(row):
        if args.verbose:
            parts = [f"vs NumPy {_bench.format_ratio(row.ratio)}"]
            if row.torch_s is not None:
                parts.append(f"vs PyTorch {_bench.format_ratio(row.torch_ratio)}")
            print(f"  {row.function} {row.mode} {row.dtype} {row.size} "
                  f"{row.threads} thr: " + ", ".join(parts), file=sys.stderr, flush=True)

    start = time.perf_counter()
    if threads is None:
        threads = [all_threads]
    header = _bench.machine_header(threads)
    rows = _bench.run(functions, sizes, dtypes, repeats, modes, target, progress,
                      threads=threads, libraries=libraries)
    print(_bench.format_markdown(rows, header=header))
    if args.plot:
        _bench.plot(rows, args.plot)
        print(f"\nchart written to {args.plot}")
    print(f"\n(benchmark took {time.perf_counter() - start:.1f} s)")
    return 0


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


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
    bench.set_defaults(handler=_cmd_bench)
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
