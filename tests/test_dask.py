"""fastact on dask arrays: lazy, blockwise, and equal to the in-memory result.

Every public function is called on dask arrays chunked smaller than the array
(so the graph has several blocks), and the computed result is compared with
the same call on the NumPy arrays: bitwise, since every block runs the same
kernels on the same values (rows and glu halves are never split). One test
runs on a dask.distributed LocalCluster with two worker processes.
"""
import numpy as np
import pytest

import fastact as fa
from fastact import REGISTRY

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

RNG = np.random.default_rng(20240605)
SHAPE = (6, 10)
CHUNKS = (4, 3)


def _bitwise(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.tobytes() == want.tobytes(), np.max(np.abs(got - want))


def _compare(result, expected):
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected)
        assert all(isinstance(r, da.Array) for r in result)
        for r, e in zip(dask.compute(*result), expected):
            _bitwise(r, e)
    else:
        assert isinstance(result, da.Array), type(result)
        _bitwise(result.compute(), expected)


def _data(dtype, shape=SHAPE, scale=4.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def _dask(a, chunks=None):
    """a as a dask array of several blocks (chunks of about half of each axis)."""
    if chunks is None:
        chunks = tuple(max(1, (n + 1) // 2) for n in a.shape) if a.ndim != 2 else CHUNKS
    return da.from_array(a, chunks=chunks)


ELEMENTWISE = [name for name, info in REGISTRY.items() if info.kind == "elementwise"]
PARAMS = {"leaky_relu": {"negative_slope": 0.2}, "elu": {"alpha": 0.7},
          "gelu": {"approximate": "tanh"}, "swish": {"beta": 1.5},
          "softplus": {"beta": 2.0, "threshold": 5.0}, "rrelu": {"lower": 0.1, "upper": 0.3}}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_equals_in_memory(name, dtype):
    info = REGISTRY[name]
    x, g = _data(dtype), _data(dtype)
    xd, gd = _dask(x), _dask(g, chunks=(3, 5))  # different chunks: aligned
    for params in ({}, PARAMS.get(name, {})):
        _compare(info.forward(xd, **params), info.forward(x, **params))
        _compare(info.derivative(xd, **params), info.derivative(x, **params))
        _compare(info.backward(gd, xd, **params), info.backward(g, x, **params))
        # one dask argument, one ndarray or scalar
        _compare(info.backward(g, xd, **params), info.backward(g, x, **params))
        _compare(info.backward(1.5, xd, **params), info.backward(1.5, x, **params))


def test_dtype_rules_and_broadcasting():
    x32 = _data(np.float32)
    g64 = _data(np.float64, shape=(10,))
    _compare(fa.gelu_backward(_dask(g64, chunks=4), _dask(x32)), fa.gelu_backward(g64, x32))
    ints = np.arange(-6, 6).reshape(3, 4)
    _compare(fa.relu(_dask(ints, chunks=2)), fa.relu(ints))
    with pytest.raises(TypeError, match="float32"):
        fa.relu(_dask(x32.astype(np.float16)))


def test_parameters_checked_when_the_graph_is_built():
    xd = _dask(_data(np.float64))
    with pytest.raises(ValueError, match="approximate"):
        fa.gelu(xd, approximate="fast")
    with pytest.raises(ValueError, match="beta"):
        fa.softplus(xd, beta=0.0)
    with pytest.raises(ValueError, match="temperature"):
        fa.softmax(xd, temperature=-1.0)
    with pytest.raises(ValueError, match="axis"):
        fa.softmax(xd, axis=2)
    with pytest.raises(ValueError, match="odd"):
        fa.glu(_dask(_data(np.float64, shape=(4, 5))), axis=1)
    with pytest.raises(TypeError, match="out="):
        fa.relu(xd, out=np.empty(SHAPE))
    with pytest.raises(TypeError, match="out="):
        fa.softmax_jacobian(xd, out=np.empty(SHAPE + (SHAPE[-1],)))


def test_rrelu_training_is_reproducible_and_consistent():
    x = _data(np.float64)
    xd = _dask(x)
    y1 = fa.rrelu(xd, training=True, generator=7).compute()
    y2 = fa.rrelu(xd, training=True, generator=7).compute()
    d = fa.rrelu_derivative(xd, training=True, generator=7).compute()
    _bitwise(y1, y2)
    neg = x < 0
    slopes = y1[neg] / x[neg]
    assert np.all((slopes >= 0.125 - 1e-12) & (slopes <= 1 / 3 + 1e-12))
    np.testing.assert_allclose(d[neg], slopes, rtol=1e-12)
    assert len(np.unique(np.round(slopes, 12))) > 1


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_prelu(axis):
    x, g = _data(np.float32, shape=(4, 7, 5)), _data(np.float32, shape=(4, 7, 5))
    w = RNG.uniform(0, 0.5, x.shape[axis]).astype(np.float32)
    xd, gd = _dask(x, chunks=(3, 3, 2)), _dask(g, chunks=(2, 4, 5))
    _compare(fa.prelu(xd, w, axis=axis), fa.prelu(x, w, axis=axis))
    _compare(fa.prelu(xd, _dask(w, chunks=2), axis=axis), fa.prelu(x, w, axis=axis))
    _compare(fa.prelu_derivative(xd, w, axis=axis), fa.prelu_derivative(x, w, axis=axis))
    _compare(fa.prelu_backward(gd, xd, w, axis=axis), fa.prelu_backward(g, x, w, axis=axis))
    one = np.array([0.25], dtype=np.float32)
    _compare(fa.prelu(xd, one), fa.prelu(x, one))
    with pytest.raises(ValueError, match="weight"):
        fa.prelu(xd, np.ones(3, np.float32), axis=axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_rowwise(axis, dtype):
    x, g = _data(dtype, shape=(6, 9, 4)), _data(dtype, shape=(6, 9, 4))
    xd, gd = _dask(x, chunks=(4, 2, 3)), _dask(g, chunks=(2, 5, 2))
    y, ly = fa.softmax(x, axis=axis), fa.log_softmax(x, axis=axis, temperature=2.0)
    _compare(fa.softmax(xd, axis=axis), y)
    _compare(fa.softmax(xd, axis=axis, masked_rows="zero"), fa.softmax(x, axis=axis,
                                                                        masked_rows="zero"))
    _compare(fa.log_softmax(xd, axis=axis, temperature=2.0), ly)
    _compare(fa.softmax_backward(gd, _dask(y), axis=axis), fa.softmax_backward(g, y, axis=axis))
    _compare(fa.log_softmax_backward(gd, _dask(ly), axis=axis, temperature=2.0),
             fa.log_softmax_backward(g, ly, axis=axis, temperature=2.0))
    _compare(fa.softmax_jacobian(_dask(y), axis=axis), fa.softmax_jacobian(y, axis=axis))
    _compare(fa.log_softmax_jacobian(_dask(ly), axis=axis),
             fa.log_softmax_jacobian(ly, axis=axis))
    # the row axis ends up in one chunk
    assert len(fa.softmax(xd, axis=axis).chunks[axis]) == 1


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_glu(axis):
    x = _data(np.float64, shape=(6, 8, 4))
    xd = _dask(x, chunks=(5, 3, 3))
    y = fa.glu(x, axis=axis)
    g = _data(np.float64, shape=y.shape)
    _compare(fa.glu(xd, axis=axis), y)
    _compare(fa.glu_derivative(xd, axis=axis), fa.glu_derivative(x, axis=axis))
    _compare(fa.glu_backward(_dask(g, chunks=2), xd, axis=axis),
             fa.glu_backward(g, x, axis=axis))
    _compare(fa.glu_backward(g, xd, axis=axis), fa.glu_backward(g, x, axis=axis))


@pytest.mark.parametrize("name", ["swiglu", "geglu"])
def test_gated_pairs(name):
    info = REGISTRY[name]
    gate, up, g = (_data(np.float32) for _ in range(3))
    gd, ud, god = _dask(gate), _dask(up, chunks=(2, 5)), _dask(g, chunks=(6, 4))
    params = {"approximate": "tanh"} if name == "geglu" else {}
    _compare(info.forward(gd, ud, **params), info.forward(gate, up, **params))
    _compare(info.derivative(gd, ud, **params), info.derivative(gate, up, **params))
    _compare(info.backward(god, gd, ud, **params), info.backward(g, gate, up, **params))
    # a broadcast argument: one up row for every gate row
    _compare(info.forward(gd, _dask(up[0], chunks=4), **params),
             info.forward(gate, up[0], **params))


def test_nothing_is_computed_until_compute():
    calls = []

    def source(block):
        calls.append(block.shape)
        return block

    x = da.from_array(_data(np.float64), chunks=CHUNKS).map_blocks(
        source, dtype=np.float64, meta=np.empty((0, 0)))
    results = [fa.relu(x), fa.gelu_backward(x, x), fa.softmax(x), fa.glu(x[:, :8]),
               fa.prelu(x, np.full(SHAPE[1], 0.1), axis=1), *fa.swiglu_backward(x, x, x),
               fa.softmax_jacobian(x)]
    assert calls == []
    assert all(isinstance(r, da.Array) for r in results)
    results[0].compute()
    assert len(calls) == results[0].npartitions


def test_numpy_inputs_never_import_dask_module():
    import subprocess
    import sys
    code = ("import sys, numpy as np, fastact as fa; fa.relu(np.ones(3)); fa.softmax([1.0, 2]);"
            "fa.swiglu_backward(1.0, 2.0, 3.0); print('fastact._dask' in sys.modules,"
            " 'dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out


def test_distributed_local_cluster_two_processes(monkeypatch):
    distributed = pytest.importorskip("distributed")
    x = _data(np.float32, shape=(400, 64))
    g = _data(np.float32, shape=(400, 64))
    xd, gd = _dask(x, chunks=(100, 32)), _dask(g, chunks=(100, 32))
    assert xd.npartitions > 1

    def calls(x, g):
        """The same calls on dask arrays (lazy) and on NumPy arrays (expected)."""
        return {
            "gelu": fa.gelu(x),
            "gelu_backward": fa.gelu_backward(g, x),
            "softmax": fa.softmax(x, axis=-1),
            "log_softmax_backward": fa.log_softmax_backward(g, fa.log_softmax(x), axis=-1),
            "glu": fa.glu(x, axis=-1),
            "swiglu_backward": fa.swiglu_backward(g[:, :32], x[:, :32], x[:, 32:]),
            "prelu": fa.prelu(x, np.linspace(0, 0.5, 64, dtype=np.float32), axis=1),
        }

    lazy = calls(xd, gd)
    expected = calls(x, g)
    # LocalCluster writes OMP_NUM_THREADS=1 (and MKL/OpenBLAS) into this
    # process's environment for its workers; monkeypatch restores it, so the
    # subprocesses later tests start keep their thread count.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        (computed,) = dask.compute(lazy)
        # the blocks really ran in the worker processes
        pids = set(client.run(__import__("os").getpid).values())
        assert len(pids) == 2 and __import__("os").getpid() not in pids
    for name, want in expected.items():
        got = computed[name]
        if isinstance(want, tuple):
            for a, b in zip(got, want):
                _bitwise(a, b)
        else:
            _bitwise(got, want)
