"""Run-time SIMD dispatch: level selection, FASTACT_SIMD, and the kernels at every level.

fastact carries one kernel module per SIMD level (baseline, avx2, avx512; see
setup.py and fastact/_dispatch.py) and installs the best one the CPU running
it supports. Checked here:

* every level that is built and supported by this CPU can be installed, and
  ``config()`` reports it; a level the CPU lacks (simulated by hiding CPU
  features), that is not built, or that does not exist is refused by
  ``install`` (ValueError) and, asked for through FASTACT_SIMD, gives a
  RuntimeWarning and the best allowed level;
* FASTACT_SIMD in a fresh interpreter picks the forced level;
* EVERY case of cases.py (forward, derivative, backward; float32 and float64)
  at every non-baseline level, on lengths 1..67 (vector bodies and scalar
  tails of every width), a long and a 3-d array, strided and unaligned data,
  and special values (NaN, +-inf, +-0, subnormals, huge): BITWISE the result
  of the lower level with the same arithmetic (avx512 = avx2: both fuse the
  polynomial steps, mla in ext/_dd.pxd, and the SIMD width must not change a
  bit); within FMA_ULPS of baseline, which rounds those steps twice and
  computes float32 in double where the FMA levels compute natively in float
  (ext/_native32.h; near a zero of f' the two may be twice SPEC's absolute
  floor apart), with the same NaNs and infinities; and within SPEC section 5
  of fastact.reference.

The previously installed level is restored after every test.
"""
import os
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest

import fastact as fa
from fastact import _dispatch
from bits import bits, far_from, ulp_distance
from cases import CASES
from helpers_layout import compare, make_layout, tolerance
from levels import FMA_ULPS, bitwise_twin, simd_level

AVAILABLE = _dispatch.available_levels()
NON_BASELINE = [level for level in AVAILABLE if level != "baseline"]
DTYPES = (np.float32, np.float64)

# A NaN result need only be a NaN at every level: which NaN operand an x86
# instruction passes on (and so the sign bit of a NaN made from a NaN input)
# differs between the SSE and the AVX encodings of the same operation. Every
# other bit must match; within one level, NaNs too are identical whatever the
# thread count or position (tests/test_threads.py).
NAN_BITS_MUST_MATCH = False


@pytest.fixture
def restore_level(monkeypatch):
    """Undo the test's monkeypatching (fake CPU features, FASTACT_SIMD), then
    restore the previously installed level."""
    previous = _dispatch.selected_level
    try:
        yield
    finally:
        monkeypatch.undo()
        _dispatch.install(previous)


def _fake_cpu(monkeypatch, **overrides):
    """Pretend the CPU has the detected features, with `overrides` (name=bool)."""
    features = dict(_dispatch.cpu_features())
    features.update(overrides)
    monkeypatch.setattr(_dispatch, "_cpu_features_cache", features)


NO_AVX512 = dict(avx512f=False, avx512dq=False, avx512vl=False, avx512bw=False,
                 os_avx512=False)
NO_AVX = dict(NO_AVX512, avx=False, avx2=False, fma=False, os_avx=False)


# ---------------------------------------------------------------- selection


def test_baseline_always_available():
    assert "baseline" in _dispatch.built_levels()
    assert AVAILABLE[0] == "baseline"
    assert set(AVAILABLE) <= set(_dispatch.LEVELS)
    assert AVAILABLE == [lvl for lvl in _dispatch.LEVELS if lvl in AVAILABLE]  # worst to best


def test_default_is_best_available():
    if _dispatch.requested_level() is not None:
        pytest.skip("FASTACT_SIMD is set in this environment")
    assert _dispatch.best_level() == AVAILABLE[-1]
    assert _dispatch.choose_level(None) == AVAILABLE[-1]


def test_levels_match_cpu_features():
    features = _dispatch.cpu_features()
    supported = _dispatch.supported_levels()
    assert ("avx2" in supported) == all(features[f] for f in ("avx", "avx2", "fma", "os_avx"))
    if "avx512" in supported:
        assert "avx2" in supported
        assert all(features[f] for f in ("avx512f", "avx512dq", "avx512vl", "avx512bw",
                                         "os_avx512"))


@pytest.mark.parametrize("level", AVAILABLE)
def test_every_available_level_is_selectable(level, restore_level):
    assert _dispatch.install(level) == level
    assert _dispatch.selected_level == level
    config = fa.config()
    assert config["simd_level"] == level
    assert config["simd_levels"] == AVAILABLE
    x = np.linspace(-5, 5, 37)
    np.testing.assert_allclose(fa.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)


@pytest.mark.parametrize("bad", ["sse9", "", "AVX3", "neon"])
def test_install_refuses_unknown_level(bad, restore_level):
    before = _dispatch.selected_level
    with pytest.raises(ValueError, match="SIMD level"):
        _dispatch.install(bad)
    assert _dispatch.selected_level == before


def test_install_refuses_level_the_cpu_lacks(monkeypatch, restore_level):
    _fake_cpu(monkeypatch, **NO_AVX512)
    assert "avx512" not in _dispatch.available_levels()
    with pytest.raises(ValueError, match="avx512f"):
        _dispatch.install("avx512")
    _fake_cpu(monkeypatch, **NO_AVX)
    assert _dispatch.available_levels() == ["baseline"]
    for level in ("avx2", "avx512"):
        with pytest.raises(ValueError, match="lacks"):
            _dispatch.install(level)
    assert _dispatch.install("baseline") == "baseline"


def test_os_without_zmm_state_gets_no_avx512(monkeypatch, restore_level):
    # CPUID says AVX-512 but the OS does not save the ZMM registers (XGETBV)
    _fake_cpu(monkeypatch, avx512f=True, avx512dq=True, avx512vl=True, avx512bw=True,
              os_avx512=False)
    assert "avx512" not in _dispatch.supported_levels()
    with pytest.raises(ValueError, match="os_avx512"):
        _dispatch.install("avx512")


def test_install_refuses_level_not_built(monkeypatch, restore_level):
    monkeypatch.setattr(_dispatch, "built_levels", lambda: ["baseline"])
    with pytest.raises(ValueError, match="not include"):
        _dispatch.install("avx2")
    monkeypatch.setenv(_dispatch.ENV_VAR, "avx2")
    if "avx2" in _dispatch.supported_levels():
        with pytest.warns(RuntimeWarning, match="FASTACT_SIMD='avx2'.*'baseline'"):
            assert _dispatch.install() == "baseline"


@pytest.mark.parametrize("asked", ["avx512", "avx2"])
def test_env_asking_for_missing_level_warns_and_falls_back(asked, monkeypatch, restore_level):
    _fake_cpu(monkeypatch, **(NO_AVX512 if asked == "avx512" else NO_AVX))
    expected = _dispatch.best_level()
    assert expected != asked
    monkeypatch.setenv(_dispatch.ENV_VAR, asked)
    with pytest.warns(RuntimeWarning, match=f"FASTACT_SIMD='{asked}'.*lacks.*'{expected}'"):
        assert _dispatch.install() == expected
    assert fa.config()["simd_level"] == expected


@pytest.mark.parametrize("asked", AVAILABLE)
def test_env_selects_available_level_in_process(asked, monkeypatch, restore_level):
    monkeypatch.setenv(_dispatch.ENV_VAR, f"  {asked.upper()} ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _dispatch.install() == asked


def _run_python(code, simd=None):
    env = dict(os.environ)
    env.pop(_dispatch.ENV_VAR, None)
    if simd is not None:
        env[_dispatch.ENV_VAR] = simd
    package_root = os.path.dirname(os.path.dirname(fa.__file__))
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


PRINT_LEVEL = ("import warnings; warnings.simplefilter('always'); import fastact; "
               "print(fastact.config()['simd_level'])")


@pytest.mark.parametrize("asked", AVAILABLE)
def test_env_forces_level_in_subprocess(asked):
    proc = _run_python(PRINT_LEVEL, simd=asked)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == asked
    assert "RuntimeWarning" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("asked", ["", "auto"])
def test_env_default_in_subprocess(asked):
    proc = _run_python(PRINT_LEVEL, simd=asked)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == AVAILABLE[-1]
    assert "RuntimeWarning" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("asked", ["sse9", "avx1024", "fastest"])
def test_env_unknown_value_warns_in_subprocess(asked):
    proc = _run_python(PRINT_LEVEL, simd=asked)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == AVAILABLE[-1]
    assert "RuntimeWarning" in proc.stderr
    assert f"FASTACT_SIMD={asked!r}" in proc.stderr
    assert f"using SIMD level {AVAILABLE[-1]!r}" in proc.stderr


def test_env_unsupported_level_warns_in_subprocess():
    """FASTACT_SIMD=avx512 on a CPU without AVX-512 (simulated by hiding its
    features from the detection and choosing again, as import does)."""
    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "import fastact\n"
        "from fastact import _api, _dispatch\n"
        "real = _api._cpu_features\n"
        "def fake():\n"
        "    f = real()\n"
        "    f.update(avx512f=False, avx512bw=False, os_avx512=False)\n"
        "    return f\n"
        "_api._cpu_features = fake\n"
        "_dispatch._cpu_features_cache = None\n"
        "_dispatch.install()  # what import does, now on the smaller CPU\n"
        "print(fastact.config()['simd_level'])\n"
    )
    proc = _run_python(code, simd="avx512")
    assert proc.returncode == 0, proc.stderr
    expected = [lvl for lvl in AVAILABLE if lvl != "avx512"][-1]
    assert proc.stdout.strip() == expected
    assert "RuntimeWarning" in proc.stderr and "FASTACT_SIMD='avx512'" in proc.stderr
    assert "avx512f" in proc.stderr and f"using SIMD level {expected!r}" in proc.stderr


def test_info_reports_levels():
    proc = _run_python("import sys; from fastact.__main__ import main; sys.exit(main(['info']))",
                       simd="baseline")
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    assert lines["simd_level"].strip() == "baseline"
    assert lines["simd_levels"].strip() == ", ".join(AVAILABLE)


# ---------------------------------------------------------------- kernels


SPECIALS = np.array([
    np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310,
    1e-45, -1e-45, 1.2e-38, -1.2e-38, 1e-300, -1e-300, 1e-20, -1e-20, 1e-8, -1e-8,
    0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 2.9999999, -2.9999999, 5.0, -5.0,
    8.0, -8.0, 9.5, -9.5, 19.99, 20.0, 20.01, -20.0, 27.0, -27.0, 38.0, -38.0,
    88.5, -88.5, 89.0, -104.0, -110.0, 700.0, -700.0, 709.8, -709.8, 745.2, -745.2,
    1e4, -1e4, 3.4e38, -3.4e38, 1e300, -1e300, 1.7976931348623157e308,
    -1.7976931348623157e308, -0.7517915246935645, -1.278464542761074,
    -1.1924312145154956, -1.5,
])


def _seed(*parts):
    return zlib.crc32("|".join(map(str, parts)).encode())


def _inputs(case, dtype):
    """(label, arrays, check_reference) tuples exercising every loop shape."""
    rng = np.random.default_rng(_seed(case.id, np.dtype(dtype).name))
    out = []
    for n in range(1, 68):
        out.append((f"n={n}", case.arrays((n,), dtype, rng), True))
    out.append(("n=1000", case.arrays((1000,), dtype, rng), True))
    out.append(("3x5x17", case.arrays((3, 5, 17), dtype, rng), True))
    for layout in ("strided", "unaligned", "negative"):
        arrays = case.arrays((67,), dtype, rng)
        out.append((f"n=67 {layout}", tuple(make_layout(a, layout) for a in arrays), True))
    # wide range (tails, subnormal results): bitwise only, the float64
    # reference is itself inexact for subnormal results
    out.append(("n=200 scale=40", case.arrays((200,), dtype, rng, scale=40.0), False))
    if not (case.info.kind == "rowwise" and case.mode != "forward"):
        # special values in x (the activation's input), the rest random
        arrays = list(case.arrays((len(SPECIALS),), dtype, rng))
        xi = 1 if case.mode == "backward" else 0
        with np.errstate(over="ignore"):
            specials = np.resize(SPECIALS, arrays[xi].shape).astype(dtype)
        arrays[xi] = specials
        out.append(("specials", tuple(arrays), False))
    return out


def _fmt(v):
    v = np.asarray(v)
    return f"{v.item()!r} (0x{int(bits(v.reshape(1))[0]):0{2 * v.itemsize}x})"


def _describe_mismatch(case, dtype, label, k, arrays, got, want):
    got, want = np.asarray(got), np.asarray(want)
    mismatch = bits(got) != bits(want)
    index = tuple(np.argwhere(mismatch.reshape(got.shape))[0])
    where = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.shape == got.shape:
            where.append(f"arg{i}={_fmt(a[index])}")
    return (f"{case.id} {np.dtype(dtype).name} {label} output {k}: "
            f"{int(mismatch.sum())} of {got.size} elements differ; first at {index}: "
            f"{', '.join(where)} -> level {_fmt(got[index])}, twin {_fmt(want[index])}")


def _as_tuple(result):
    return tuple(result) if isinstance(result, tuple) else (result,)


def _run_at(level, case, inputs):
    with simd_level(level):
        with np.errstate(all="ignore"):
            return [_as_tuple(case.call(*arrays)) for _, arrays, _ in inputs]


@pytest.mark.skipif(not NON_BASELINE, reason="only the baseline level is available here")
@pytest.mark.parametrize("level", NON_BASELINE)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_level_matches_twin_bitwise_baseline_closely_and_reference(case, level):
    twin = bitwise_twin(level)
    bit_errors, base_errors, ref_errors = [], [], []
    for dtype in DTYPES:
        inputs = _inputs(case, dtype)
        baseline = _run_at("baseline", case, inputs)
        twins = _run_at(twin, case, inputs) if twin else [None] * len(inputs)
        results = _run_at(level, case, inputs)
        for (label, arrays, check_ref), got, base, want in zip(inputs, results, baseline, twins):
            assert len(got) == len(base) == case.n_outputs
            arrays64 = [np.ascontiguousarray(a, dtype=np.float64) for a in arrays]
            floors = tolerance(case, arrays64, dtype)[2]
            for k, (g, b) in enumerate(zip(got, base)):
                g, b = np.asarray(g), np.asarray(b)
                assert g.shape == b.shape and g.dtype == b.dtype == np.dtype(dtype)
                # Within SPEC 5's absolute window near a zero of f' each
                # level may be its floor from the exact value (float32 at the
                # FMA levels is native float, baseline computes in double).
                with np.errstate(all="ignore"):
                    near = np.abs(g.astype(np.float64) - b) <= 2 * np.asarray(floors[k])
                far = far_from(g, b, FMA_ULPS) & ~near
                if far.any():
                    index = tuple(np.argwhere(far)[0])
                    base_errors.append(f"{case.id} {np.dtype(dtype).name} {label} output {k} "
                                       f"at {index}: level {_fmt(g[index])}, baseline "
                                       f"{_fmt(b[index])}")
                if want is None:
                    continue
                w = np.asarray(want[k])
                if not np.array_equal(bits(g), bits(w)):
                    nan_only = np.array_equal(np.isnan(g), np.isnan(w)) and np.array_equal(
                        bits(np.where(np.isnan(g), 0, g)), bits(np.where(np.isnan(w), 0, w)))
                    if nan_only and not NAN_BITS_MUST_MATCH:
                        continue
                    bit_errors.append(("NaN sign/payload only: " if nan_only else "")
                                      + _describe_mismatch(case, dtype, label, k, arrays, g, w))
            if not check_ref:
                continue
            expected = _as_tuple(case.reference(*arrays64))
            limit, slacks, floors = tolerance(case, arrays64, dtype)
            for k, (g, e) in enumerate(zip(got, expected)):
                ok, ulps = compare(g, e, dtype, limit, slacks[k], floors[k])
                if not np.all(ok):
                    i = tuple(np.argwhere(~np.asarray(ok))[0])
                    ref_errors.append(
                        f"{case.id} {np.dtype(dtype).name} {label} output {k} at level "
                        f"{level}: {int((~ok).sum())} elements outside SPEC 5; first at {i}: "
                        f"got {np.asarray(g)[i]!r}, reference {np.asarray(e)[i]!r}, "
                        f"{float(np.asarray(ulps)[i]):.2f} ULP")
    messages = []
    if bit_errors:
        messages.append(f"level {level} differs bitwise from {twin}:\n  "
                        + "\n  ".join(bit_errors))
    if base_errors:
        messages.append(f"level {level} is more than {FMA_ULPS} ULP from baseline:\n  "
                        + "\n  ".join(base_errors))
    if ref_errors:
        messages.append("outside SPEC 5 against fastact.reference:\n  " + "\n  ".join(ref_errors))
    assert not messages, "\n".join(messages)


@pytest.mark.parametrize("level", AVAILABLE)
def test_every_level_within_spec_on_loop_lengths(level):
    """The same reference check at every level, baseline included (cheap subset)."""
    cases = [c for c in CASES if c.mode == "forward" and c.info.kind != "rowwise"]
    with simd_level(level):
        for case in cases:
            for dtype in DTYPES:
                rng = np.random.default_rng(_seed("spec", case.id, np.dtype(dtype).name))
                for n in (1, 7, 15, 16, 17, 33, 67):
                    arrays = case.arrays((n,), dtype, rng)
                    got = _as_tuple(case.call(*arrays))
                    arrays64 = [a.astype(np.float64) for a in arrays]
                    expected = _as_tuple(case.reference(*arrays64))
                    limit, slacks, floors = tolerance(case, arrays64, dtype)
                    for k, (g, e) in enumerate(zip(got, expected)):
                        ok, ulps = compare(g, e, dtype, limit, slacks[k], floors[k])
                        assert np.all(ok), (f"{case.id} {np.dtype(dtype).name} n={n} level "
                                            f"{level}: max {np.max(ulps):.2f} ULP")


def test_ulp_distance_counts_representable_values():
    one = np.float64(1.0)
    up = np.nextafter(one, 2.0)
    a = np.array([1.0, -0.0, 0.0, 5e-324, -1.0, np.inf])
    b = np.array([up, 0.0, -5e-324, -5e-324, -up, np.finfo(np.float64).max])
    assert ulp_distance(a, b).tolist() == [1, 0, 1, 2, 1, 1]
    f = np.array([1.0, -0.0], np.float32)
    g = np.array([np.nextafter(np.float32(1.0), np.float32(0.0)), np.float32(1e-45)], np.float32)
    assert ulp_distance(f, g).tolist() == [1, 1]
    assert far_from(np.array([1.0, np.nan, np.inf]), np.array([up, np.nan, 1.0]), 1).tolist() == [
        False, False, True]
