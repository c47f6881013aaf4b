"""fastact vs NumPy vs PyTorch, one benchmark per case (see conftest.py, README.md).

    pytest bench/                       # 16 / 65536 / 1Mi elements, 1 and all threads
    pytest bench/ --bench-huge          # and 16 Mi
    pytest bench/ -k "gelu and float32" --benchmark-group-by=group
"""
import numpy as np
import pytest

from fastact import _bench


def test_speed(benchmark, case, workloads, threads_of):
    if case.library == "torch" and not _bench.torch_available():
        pytest.skip("torch is not installed (pip install torch==2.13.0, the CPU build)")
    work = workloads.get(case)
    call = work.call(case.library)
    benchmark.group = case.group
    benchmark.name = f"{case.library}"
    benchmark.extra_info.update(
        function=case.name, mode=case.mode, dtype=case.dtype, size=work.size,
        threads=threads_of, library=case.library, nbytes=work.nbytes)
    with np.errstate(all="ignore"):
        call()                                   # warm-up: first touch of the outputs
        benchmark(call)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:                        # None under --benchmark-disable
        median = stats.stats.median
        benchmark.extra_info["gelem_per_s"] = work.size / median / 1e9 if median else None
