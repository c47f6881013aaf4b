"""The command line (python -m fastact), the benchmark's baselines and bench/report.py.

No timings are asserted here (SPEC section 6: timings live in bench/); the
bench subcommand is only run once, restricted to two functions, to check that
it works and prints the table.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastact as fa
from fastact import _bench
from fastact.__main__ import main

REPO = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


HAS_TORCH = _has("torch")
HAS_MATPLOTLIB = _has("matplotlib")


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
    for args in (("--help",), ("bench", "--help"), ("info", "--help"), ("plot", "--help")):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
    result = run_cli("bench", "--help")
    for option in ("--quick", "--size", "--sizes", "--dtype", "--threads", "--function",
                   "--plot", "--no-torch", "--progress", "--no-progress"):
        assert option in result.stdout
    result = run_cli("--help")
    for command in ("info", "bench", "plot"):
        assert command in result.stdout


def test_bad_arguments_fail_cleanly():
    result = run_cli()
    assert result.returncode == 2 and "usage:" in result.stderr
    result = run_cli("bench", "--function", "no_such_activation")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run_cli("bench", "--dtype", "float16")
    assert result.returncode == 2
    result = run_cli("bench", "--threads", "some")
    assert result.returncode == 2 and "'all' or a positive integer" in result.stderr
    result = run_cli("bench", "--sizes", "16,zero")
    assert result.returncode == 2 and "--sizes" in result.stderr


def _table(out):
    """(header cells, rows of cells) of the Markdown table in a bench output."""
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]
    return head, [dict(zip(head, row)) for row in rows]


def test_bench_quick():
    result = run_cli("bench", "--quick", "--function", "relu", "--function", "softmax")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    head, rows = _table(out)
    assert head[:7] == ["function", "mode", "dtype", "size", "threads", "fastact", "NumPy"]
    assert "vs NumPy" in head
    assert ("PyTorch" in head) == HAS_TORCH
    assert "SIMD level:" in out and "threads:" in out and "CPU:" in out
    assert _bench.ERF_SOURCE in out
    # 2 functions x 3 modes x 2 dtypes at one size, at the current thread count
    assert len(rows) == 12, out
    seen = set()
    for row in rows:
        assert row["mode"] in _bench.MODES and row["dtype"] in ("float32", "float64")
        assert int(row["size"]) > 0 and int(row["threads"]) == fa.get_num_threads()
        assert row["fastact"].endswith(("us", "ms")) and row["NumPy"].endswith(("us", "ms"))
        assert float(row["vs NumPy"]) > 0
        seen.add((row["function"], row["mode"], row["dtype"]))
    assert len(seen) == 12
    assert "geometric mean" in out


def test_bench_in_process_with_options(capsys):
    code = main(["bench", "--size", "2048", "--dtype", "float64", "--threads", "1",
                 "--function", "tanh", "--mode", "forward", "--repeats", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "threads: 1" in out
    assert "| tanh | forward | float64 | 2048 | 1 |" in out


def test_bench_threads_and_issue_sizes(capsys):
    """--threads 1 --threads all times each case at both counts; --sizes LIST."""
    all_threads = fa.get_num_threads()
    code = main(["bench", "--sizes", "16,1Ki", "--threads", "1", "--threads", "all",
                 "--dtype", "float32", "--function", "relu", "--function", "softmax",
                 "--mode", "forward", "--repeats", "1", "--no-torch"])
    assert code == 0
    assert fa.get_num_threads() == all_threads          # restored
    _, rows = _table(capsys.readouterr().out)
    got = {(r["function"], int(r["size"]), int(r["threads"])) for r in rows}
    counts = sorted({1, all_threads})
    assert got == {(f, s, n) for f in ("relu", "softmax") for s in (16, 1024) for n in counts}
    assert all("PyTorch" not in r for r in rows)


def test_size_parsing():
    assert _bench.parse_sizes("issue") == (16, 65536, 1 << 20, 1 << 24)
    assert _bench.parse_sizes("16,64Ki,1Mi,4k") == (16, 65536, 1 << 20, 4000)
    assert _bench.resolve_threads("all", 7) == 7 and _bench.resolve_threads("3") == 3
    with pytest.raises(ValueError):
        _bench.parse_size("0")
    args = fa.__main__.build_parser().parse_args(["bench", "--sizes"])
    assert args.sizes == _bench.ISSUE_SIZES


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_bench_torch_column():
    result = run_cli("bench", "--size", "4096", "--function", "gelu", "--function", "softmax",
                     "--dtype", "float32", "--threads", "1", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    head, rows = _table(result.stdout)
    assert "PyTorch" in head and "vs PyTorch" in head
    assert "PyTorch 2." in result.stdout
    assert len(rows) == 6
    for row in rows:
        assert row["PyTorch"].endswith(("us", "ms"))
        assert float(row["vs PyTorch"]) > 0
    assert "vs PyTorch, float32, 1 thread: geometric mean" in result.stdout


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")
def test_bench_plot_writes_png(tmp_path, capsys):
    path = tmp_path / "chart.png"
    code = main(["bench", "--sizes", "16,4Ki", "--function", "relu", "--function", "sigmoid",
                 "--dtype", "float32", "--threads", "1", "--repeats", "1", "--plot", str(path)])
    assert code == 0
    assert f"chart written to {path}" in capsys.readouterr().out
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_bench_plot_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import fails
    path = tmp_path / "chart.png"
    code = main(["bench", "--size", "64", "--function", "relu", "--plot", str(path)])
    assert code == 2
    assert "pip install matplotlib" in capsys.readouterr().err
    assert not path.exists()


# --------------------------------------------------------------------------
# fastact plot, and bench's progress bar
# --------------------------------------------------------------------------


def test_plottable_is_every_elementwise_activation():
    from fastact import _plot

    names = _plot.plottable()
    assert names == [n for n, info in fa.REGISTRY.items()
                     if info.kind in ("elementwise", "parametric")]
    assert {"relu", "gelu", "sigmoid", "tanh", "silu", "mish", "hardswish", "prelu",
            "rrelu"} <= set(names)
    assert not {"softmax", "log_softmax", "glu", "swiglu", "geglu"} & set(names)


@pytest.mark.parametrize("name", [n for n, info in fa.REGISTRY.items()
                                  if info.kind in ("elementwise", "parametric")])
def test_plotted_curves_are_the_functions(name):
    """The curves drawn are f and f' at the defaults (checked against fastact.reference)."""
    from fastact import _plot

    x = np.linspace(-6, 6, 241)
    y, dy = _plot.curves(name, x)
    ref = fa.REGISTRY[name].reference
    if name == "prelu":
        w = np.array([_plot.PRELU_WEIGHT])
        want_y, want_dy = ref.forward(x[:, None], w).ravel(), ref.derivative(x[:, None], w).ravel()
    else:
        want_y, want_dy = ref.forward(x), ref.derivative(x)
    assert y.shape == dy.shape == x.shape
    np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dy, want_dy, rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")
def test_plot_writes_png(tmp_path, capsys):
    path = tmp_path / "activations.png"
    code = main(["plot", str(path)])
    assert code == 0
    assert f"written to {path}" in capsys.readouterr().out
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 50_000
    import matplotlib.image

    image = matplotlib.image.imread(path)
    # a 4-column grid of 16 panels at 100 dpi: about 1320 x 1130 pixels
    assert image.ndim == 3 and image.shape[0] > 800 and image.shape[1] > 1000


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")
def test_plot_subprocess_with_functions(tmp_path):
    path = tmp_path / "two.png"
    result = run_cli("plot", str(path), "--function", "gelu", "--function", "relu",
                     "--dpi", "60")
    assert result.returncode == 0, result.stderr
    assert "2 activations" in result.stdout
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000


def test_plot_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import fails
    path = tmp_path / "activations.png"
    code = main(["plot", str(path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "needs matplotlib" in err and "pip install 'fastact[plot]'" in err
    assert not path.exists()


def test_plot_bad_arguments(tmp_path):
    result = run_cli("plot")
    assert result.returncode == 2 and "OUT.png" in result.stderr
    result = run_cli("plot", str(tmp_path / "x.png"), "--function", "softmax")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_progress_bar_draws_in_place():
    import io

    from fastact.__main__ import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(4, label="bench", width=8, stream=stream)
    for i in range(4):
        bar.update(f"case {i}")
    bar.close()
    text = stream.getvalue()
    frames = text.split("\r")[1:]
    assert "\n" not in "".join(frames[:-1]) and text.endswith("\n")
    assert frames[0].startswith("bench   0% [--------] 0/4")
    assert "2/4" in frames[2] and "[####----]" in frames[2] and "case 1" in frames[2]
    assert frames[-1].startswith("bench 100% [########] 4/4 in ")


def test_bench_progress_bar(capsys):
    args = ["bench", "--size", "1024", "--function", "relu", "--function", "tanh",
            "--dtype", "float32", "--threads", "1", "--repeats", "1", "--no-torch"]
    assert main(args + ["--progress"]) == 0
    captured = capsys.readouterr()
    # 2 functions x 3 modes x 1 dtype x 1 size x 1 thread count
    assert "\rbench 100% [########################] 6/6" in captured.err
    assert "3/6" in captured.err and "tanh backward float32 1024" in captured.err
    assert captured.err.endswith("\n")
    assert "| relu | forward | float32 | 1024 | 1 |" in captured.out
    assert "[###" not in captured.out                   # the bar never goes to stdout
    # stderr is not a terminal under capsys: no bar by default, nor with --no-progress
    for extra in ([], ["--no-progress"]):
        assert main(args + extra) == 0
        assert "6/6" not in capsys.readouterr().err


def test_bench_progress_and_verbose(capsys):
    assert main(["bench", "--size", "512", "--function", "relu", "--mode", "forward",
                 "--dtype", "float64", "--threads", "1", "--repeats", "1", "--no-torch",
                 "--progress", "-v"]) == 0
    err = capsys.readouterr().err
    assert "relu forward float64 512 1 thr: vs NumPy" in err and "1/1" in err


def test_bench_dir_not_collected_by_main_suite():
    """`python -m pytest` from the repository root collects tests/ only, never bench/."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "tests/test_cli.py::" in result.stdout
    assert "bench/" not in result.stdout and "test_speed" not in result.stdout


def test_report_quick_smoke(tmp_path):
    """bench/report.py --quick (restricted to two functions) writes REPORT.md and the chart."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "report.py"), "--quick", "--function", "relu",
         "--function", "sigmoid", "--repeats", "2", "--out-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = (tmp_path / "REPORT.md").read_text()
    cfg = fa.config()
    assert "# fastact speed report" in report
    assert f"SIMD level: {cfg['simd_level']}" in report and "CPU:" in report
    assert "## Issue 3 targets, as measured" in report
    assert "65536, 1 thread, float32: geo-mean vs NumPy" in report
    assert "16 elements, float64: per-call time <= np.maximum" in report
    assert "| relu | forward | float32 | 16 | 1 |" in report
    assert ("vs PyTorch" in report) == HAS_TORCH
    if fa.get_num_threads() > 1:
        assert "memory-bound kernels >=" in report
        assert "4096: " in report and "x 1-thread time (timed alternating)" in report
    chart = tmp_path / "speed.png"
    if HAS_MATPLOTLIB:
        assert chart.read_bytes().startswith(PNG_SIGNATURE)
    else:
        assert "no chart" in report
    assert "Issue 3 targets" in result.stdout
# --------------------------------------------------------------------------
# The benchmark library
# --------------------------------------------------------------------------


def test_every_registry_entry_has_a_baseline():
    assert set(_bench.NUMPY_BASELINES) == set(fa.REGISTRY)
    if HAS_TORCH:
        from fastact._torch_formulas import TORCH_BASELINES

        assert set(TORCH_BASELINES) == set(fa.REGISTRY)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("mode", _bench.MODES)
@pytest.mark.parametrize("name", list(fa.REGISTRY))
def test_torch_baseline_matches_reference(name, mode):
    """Each PyTorch baseline computes the same function as fastact.reference (float64)."""
    work = _bench.make_workload(name, mode, "float64", 2048, np.random.default_rng(7))
    expected = _as_tuple(work.reference_function(*work.arrays))
    call = work.torch_call()
    call()
    got = _as_tuple(call())             # twice: reused outputs and saved tensors
    assert len(got) == len(expected)
    for g, want in zip(got, expected):
        g = g.numpy()
        assert g.shape == want.shape and g.dtype == np.float64
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-12)
    # torch wrote into the preallocated buffers, except where it has no out= variant
    no_out = name in ("rrelu", "prelu") or (name == "mish" and mode != "forward")
    if not no_out:
        for buf, want in zip(_as_tuple(work.torch_out), expected):
            np.testing.assert_allclose(buf, want, rtol=1e-6, atol=1e-12)


def test_run_with_threads_and_torch_rows():
    rows = _bench.run(["sigmoid"], sizes=[1000], dtypes=["float64"], repeats=1,
                      modes=["backward"], target=1e-4, threads=[1])
    (row,) = rows
    assert row.threads == 1 and row.nbytes == 3 * 1000 * 8
    assert (row.torch_s is not None) == HAS_TORCH
    if HAS_TORCH:
        assert row.torch_ratio > 0 and row.gelems("torch") > 0


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
    assert jac.fastact_out.shape == jac.numpy_out.shape == (4, 32, 32)
    prelu = _bench.make_workload("prelu", "forward", "float64", 4096)
    assert prelu.arrays[0].shape == (64, 64) and prelu.arrays[1].shape == (64,)
