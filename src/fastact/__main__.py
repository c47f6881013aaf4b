"""The fastact command line: ``python -m fastact`` (or the ``fastact`` script).

    fastact info                      version, SIMD level, OpenMP, threads, platform
    fastact bench [--quick] [...]     time every activation against plain NumPy
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

    sizes = args.size or (_bench.QUICK_SIZES if args.quick else _bench.DEFAULT_SIZES)
    dtypes = args.dtype or _bench.DTYPES
    modes = args.mode or _bench.MODES
    repeats = args.repeats or (5 if args.quick else 9)
    target = 1e-3 if args.quick else 3e-3
    functions = args.function or list(fa.REGISTRY)

    def progress(row):
        if args.verbose:
            print(f"  {row.function} {row.mode} {row.dtype} {row.size}: ratio {row.ratio:.2f}",
                  file=sys.stderr, flush=True)

    def measure():
        header = _bench.machine_header()
        rows = _bench.run(functions, sizes, dtypes, repeats, modes, target, progress)
        return _bench.format_markdown(rows, header=header)

    start = time.perf_counter()
    if args.threads is not None:
        with fa.num_threads(args.threads):
            report = measure()
    else:
        report = measure()
    print(report)
    print(f"\n(benchmark took {time.perf_counter() - start:.1f} s)")
    return 0


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


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
        help="time every activation against the best plain-NumPy formula",
        description="Time forward, derivative and backward of every activation in "
                    "fastact.REGISTRY against plain NumPy, and print a Markdown table "
                    "(ratio = NumPy time / fastact time; > 1 means fastact is faster).",
    )
    bench.add_argument("--quick", action="store_true",
                       help="one size (65536 elements), few repeats: well under a minute")
    bench.add_argument("--size", type=_positive_int, action="append", metavar="N",
                       help="result elements (repeatable; default 4096, 65536, 1048576)")
    bench.add_argument("--dtype", choices=["float32", "float64"], action="append",
                       help="repeatable; default both")
    bench.add_argument("--threads", type=_positive_int, metavar="N",
                       help="fastact thread count (default: current, see 'fastact info')")
    bench.add_argument("--function", choices=list(REGISTRY), action="append", metavar="NAME",
                       help="activation to time (repeatable; default all: "
                            + ", ".join(REGISTRY) + ")")
    bench.add_argument("--mode", choices=["forward", "derivative", "backward"],
                       action="append", help="repeatable; default all three")
    bench.add_argument("--repeats", type=_positive_int, metavar="N",
                       help="timed batches per side, median taken (default 5 quick, 9 full)")
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
