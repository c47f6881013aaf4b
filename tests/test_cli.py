"""The command line (python -m fastact) and the NumPy baselines of the benchmark.

No timings are asserted here (SPEC section 6: timings live in bench/); the
bench subcommand is only run once, restricted to two functions, to check that
it works and prints the table.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastact as fa
from fastact import _bench
from fastact.__main__ import main


def run_cli(*args, timeout=120):
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "fastact", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def test_info():
    result = run_cli("info")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    config = fa.config()
    for key in ("version", "simd_level", "openmp", "num_threads", "machine", "python", "numpy"):
        assert f"{key}:" in out, (key, out)
    assert fa.__version__ in out
    assert str(config["simd_level"]) in out
    assert np.__version__ in out


def test_help():
    for args in (("--help",), ("bench", "--help"), ("info", "--help")):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
    result = run_cli("bench", "--help")
    for option in ("--quick", "--size", "--dtype", "--threads", "--function"):
        assert option in result.stdout


def test_bad_arguments_fail_cleanly():
    result = run_cli()
    assert result.returncode == 2 and "usage:" in result.stderr
    result = run_cli("bench", "--function", "no_such_activation")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run_cli("bench", "--dtype", "float16")
    assert result.returncode == 2


def test_bench_quick():
    result = run_cli("bench", "--quick", "--function", "relu", "--function", "softmax")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "| function | mode | dtype | size | fastact | NumPy | ratio |" in out
    assert "SIMD level:" in out and "threads:" in out and "CPU:" in out
    assert _bench.ERF_SOURCE in out
    table = [line for line in out.splitlines()
             if line.startswith("| relu ") or line.startswith("| softmax ")]
    # 2 functions x 3 modes x 2 dtypes at one size
    assert len(table) == 12, out
    seen = set()
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        name, mode, dtype, size, t_fa, t_np, ratio = cells
        assert mode in _bench.MODES and dtype in ("float32", "float64")
        assert int(size) > 0
        assert t_fa.endswith(("us", "ms")) and t_np.endswith(("us", "ms"))
        assert float(ratio) > 0
        seen.add((name, mode, dtype))
    assert len(seen) == 12


def test_bench_in_process_with_options(capsys):
    code = main(["bench", "--size", "2048", "--dtype", "float64", "--threads", "1",
                 "--function", "tanh", "--mode", "forward", "--repeats", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "threads: 1" in out
    assert "| tanh | forward | float64 | 2048 |" in out


# --------------------------------------------------------------------------
# The benchmark library
# --------------------------------------------------------------------------


def test_every_registry_entry_has_a_baseline():
    assert set(_bench.NUMPY_BASELINES) == set(fa.REGISTRY)


def test_run_returns_rows():
    rows = _bench.run(["relu"], sizes=[1000], dtypes=["float32"], repeats=1,
                      modes=["forward"], target=1e-4)
    assert len(rows) == 1
    row = rows[0]
    assert (row.function, row.mode, row.dtype, row.size) == ("relu", "forward", "float32", 1000)
    assert row.fastact_s > 0 and row.numpy_s > 0 and row.ratio > 0
    report = _bench.format_markdown(rows)
    assert "| relu | forward | float32 | 1000 |" in report


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("mode", _bench.MODES)
@pytest.mark.parametrize("name", list(fa.REGISTRY))
def test_baseline_matches_reference(name, mode):
    """Each NumPy baseline computes the same function as fastact.reference."""
    work = _bench.make_workload(name, mode, "float64", 2048, np.random.default_rng(7))
    baseline = getattr(_bench.NUMPY_BASELINES[name], mode)
    expected = _as_tuple(work.reference_function(*work.arrays))
    with np.errstate(all="ignore"):
        fresh = _as_tuple(baseline(*work.arrays))
        # the benchmark's path: preallocated outputs and scratch, called twice
        call = work.numpy_call()
        call()
        call()
    reused = _as_tuple(work.numpy_out)
    assert len(fresh) == len(expected) == len(reused)
    for got_fresh, got_reused, want in zip(fresh, reused, expected):
        assert got_fresh.shape == want.shape
        np.testing.assert_allclose(got_fresh, want, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(got_reused, want, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", list(fa.REGISTRY))
def test_baseline_keeps_float32(name):
    for mode in _bench.MODES:
        work = _bench.make_workload(name, mode, "float32", 512, np.random.default_rng(3))
        with np.errstate(all="ignore"):
            work.numpy_call()()
        for part in _as_tuple(work.numpy_out):
            assert part.dtype == np.float32


def test_workload_sizes():
    assert _bench.make_workload("relu", "forward", "float64", 4096).size == 4096
    assert _bench.make_workload("softmax", "forward", "float64", 4096).arrays[0].shape == (4, 1024)
    glu = _bench.make_workload("glu", "backward", "float64", 4096)
    assert glu.size == 4096 and glu.arrays[1].shape == (8, 1024)
    jac = _bench.make_workload("softmax", "derivative", "float64", 4096)
    assert not jac.takes_out and jac.numpy_out.shape == (4, 32, 32)
    prelu = _bench.make_workload("prelu", "forward", "float64", 4096)
    assert prelu.arrays[0].shape == (64, 64) and prelu.arrays[1].shape == (64,)
