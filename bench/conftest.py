"""pytest-benchmark suite of fastact vs NumPy vs PyTorch (see bench/README.md).

Every case comes from fastact._bench (the workloads and baselines that
``python -m fastact bench`` and bench/report.py use): one benchmark per
(function, mode, dtype, size, threads, library), grouped so that
``--benchmark-group-by=group`` (the default here) puts the three libraries of
one case side by side.

Options (or environment variables):
  --bench-huge        FASTACT_BENCH_HUGE=1     also 16 Mi elements (slow, ~1 GB of RAM)
  --bench-sizes=LIST  FASTACT_BENCH_SIZES=...  sizes, e.g. 16,64Ki (default 16,65536,1Mi)
  --bench-threads=L   FASTACT_BENCH_THREADS=.. thread counts, e.g. 1 or 1,all (default 1,all)
  --bench-libs=LIST   FASTACT_BENCH_LIBS=...   libraries (default fastact,numpy,torch)
Use -k to pick functions, e.g. -k "gelu and float32".
"""
import os

import numpy as np
import pytest

import fastact as fa
from fastact import _bench

# "all" threads = fastact's count before anything (torch included) can move it
ALL_THREADS = fa.get_num_threads()
DEFAULT_SIZES = (16, 65536, 1 << 20)
HUGE = 1 << 24


def pytest_addoption(parser):
    group = parser.getgroup("fastact benchmarks")
    group.addoption("--bench-huge", action="store_true", default=False,
                    help="also time 16 Mi elements (env FASTACT_BENCH_HUGE=1)")
    group.addoption("--bench-sizes", default=None,
                    help="comma-separated sizes, e.g. 16,64Ki,1Mi (env FASTACT_BENCH_SIZES)")
    group.addoption("--bench-threads", default=None,
                    help="comma-separated thread counts, 'all' = fastact's count "
                         "(env FASTACT_BENCH_THREADS; default 1,all)")
    group.addoption("--bench-libs", default=None,
                    help="comma-separated libraries among fastact,numpy,torch "
                         "(env FASTACT_BENCH_LIBS)")


def _option(config, name, env):
    value = config.getoption(name)
    return value if value not in (None, False) else os.environ.get(env)


def bench_sizes(config):
    text = _option(config, "--bench-sizes", "FASTACT_BENCH_SIZES")
    sizes = list(_bench.parse_sizes(text)) if text else list(DEFAULT_SIZES)
    huge = _option(config, "--bench-huge", "FASTACT_BENCH_HUGE")
    if huge and str(huge).lower() not in ("0", "false", "no") and HUGE not in sizes:
        sizes.append(HUGE)
    return sizes


def bench_threads(config):
    text = _option(config, "--bench-threads", "FASTACT_BENCH_THREADS") or "1,all"
    counts = [_bench.resolve_threads(t, ALL_THREADS) for t in text.split(",") if t.strip()]
    return list(dict.fromkeys(counts))


def bench_libraries(config):
    text = _option(config, "--bench-libs", "FASTACT_BENCH_LIBS")
    libs = [t.strip() for t in text.split(",")] if text else list(_bench.LIBRARIES)
    unknown = set(libs) - set(_bench.LIBRARIES)
    if unknown:
        raise pytest.UsageError(f"unknown --bench-libs {sorted(unknown)}; "
                                f"known: {', '.join(_bench.LIBRARIES)}")
    return libs


class Case:
    """One benchmark: a workload (shared by the cases next to it), a thread count, a library."""

    def __init__(self, name, mode, dtype, size, threads, library):
        self.name, self.mode, self.dtype, self.size = name, mode, dtype, size
        self.threads, self.library = threads, library

    @property
    def key(self):
        return (self.name, self.mode, self.dtype, self.size)

    @property
    def group(self):
        return (f"{self.name} {self.mode} {self.dtype} "
                f"{_bench.format_size(self.size)} {self.threads}thr")

    @property
    def id(self):
        return (f"{self.name}-{self.mode}-{self.dtype}-{_bench.format_size(self.size)}"
                f"-t{self.threads}-{self.library}")


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    sizes, threads, libs = bench_sizes(config), bench_threads(config), bench_libraries(config)
    # one flat list in workload order, so the cache below builds each workload once
    cases = [Case(name, mode, dtype, size, n, lib)
             for name in fa.REGISTRY for mode in _bench.MODES for dtype in _bench.DTYPES
             for size in sizes for n in threads for lib in libs]
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])


class _WorkloadCache:
    """Keeps only the current workload: large sizes would not fit in memory all at once."""

    def __init__(self):
        self.key, self.workload = None, None

    def get(self, case):
        if case.key != self.key:
            self.key, self.workload = None, None      # free the previous one first
            self.workload = _bench.make_workload(*case.key, rng=np.random.default_rng(12345))
            self.key = case.key
        return self.workload


@pytest.fixture(scope="session")
def workloads():
    return _WorkloadCache()


@pytest.fixture
def threads_of(case):
    """Run the test with fastact and torch at the case's thread count."""
    with _bench.thread_count(case.threads):
        yield case.threads
