"""The typed API: src/fastact/_api.pyi and py.typed.

* the checked-in stub is what tools/gen_stubs.py writes from the catalog, so a
  new activation cannot miss its stub;
* the stub lists every public function of the compiled module with the
  runtime's parameter names, kinds and defaults;
* mypy accepts a sample user script and reports wrong calls in another.
"""
import ast
import inspect
import os
import runpy
import site
import subprocess
import sys
from pathlib import Path

import pytest

import fastact
from fastact import _api

REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(fastact.__file__).resolve().parent
STUB = PACKAGE / "_api.pyi"


def test_stub_and_marker_are_present():
    assert STUB.is_file()
    assert (PACKAGE / "py.typed").is_file()


@pytest.mark.skipif(not (REPO / "tools" / "gen_stubs.py").is_file(),
                    reason="needs the source tree (tools/gen_stubs.py)")
def test_checked_in_stub_is_up_to_date():
    gen = runpy.run_path(str(REPO / "tools" / "gen_stubs.py"))
    rendered = gen["render"]()
    source_stub = REPO / "src" / "fastact" / "_api.pyi"
    assert rendered[source_stub] == source_stub.read_text(), (
        "src/fastact/_api.pyi is out of date: run python tools/gen_stubs.py")


def _stub_functions():
    tree = ast.parse(STUB.read_text())
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _public_functions():
    return {name: obj for name, obj in vars(_api).items()
            if not name.startswith("_") and callable(obj) and not inspect.ismodule(obj)}


def test_stub_matches_the_runtime_signatures():
    stubs = _stub_functions()
    public = _public_functions()
    assert set(public) <= set(stubs), sorted(set(public) - set(stubs))
    assert {n for n in stubs if not n.startswith("_")} == set(public)
    for name, func in public.items():
        node = stubs[name]
        runtime = inspect.signature(func).parameters.values()
        args = node.args
        stub = [(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD) for a in args.args]
        stub += [(a.arg, inspect.Parameter.KEYWORD_ONLY) for a in args.kwonlyargs]
        assert [(p.name, p.kind) for p in runtime] == stub, name
        defaults = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
        defaults += list(args.kw_defaults)
        for p, default in zip(runtime, defaults):
            if p.default is inspect.Parameter.empty:
                assert default is None, (name, p.name)
            else:
                assert default is not None, (name, p.name)
                assert ast.literal_eval(default) == p.default, (name, p.name)


GOOD = '''\
from typing import Tuple

import numpy as np
from numpy.typing import NDArray

import fastact as fa

x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
y = fa.gelu(x, approximate="tanh")
d = fa.gelu_derivative(x)
g = fa.gelu_backward(np.ones_like(x), x, out=np.empty_like(x))
s = fa.softmax(x, axis=-1, temperature=0.5, masked_rows="zero")
ls = fa.log_softmax_backward(x, fa.log_softmax(x), -1)
pair: Tuple[NDArray[np.floating], NDArray[np.floating]] = fa.swiglu_backward(x, x, x)
gate_grad, up_grad = fa.geglu_derivative(x, x, approximate="none")
z: np.ndarray = fa.relu([1.0, -2.0])
w = fa.prelu(x, np.full(4, 0.1), axis=1)
r = fa.rrelu(x, lower=0.1, upper=0.2, training=True, generator=0)
h = fa.glu(x, -1)
sp = fa.softplus(x, beta=2.0, threshold=10.0)
fa.set_num_threads(1)
n: int = fa.get_num_threads()
print(y.shape, d.dtype, g.sum(), s.max(), ls.shape, pair[0].shape, gate_grad.shape,
      up_grad.shape, z, w, r, h, sp, n)
'''

BAD = '''\
import numpy as np

import fastact as fa

x = np.ones(4)
fa.gelu(x, approximate=3)
fa.relu_backward(x)
fa.softmax(x, masked_rows="zeros")
fa.leaky_relu(x, 0.2)
fa.elu(x, alfa=1.0)
s: str = fa.sigmoid(x)
'''

# (line, fragment of mypy's message) for every wrong call in BAD
BAD_ERRORS = [(6, "approximate"), (7, "Missing positional argument"), (8, "masked_rows"),
              (9, "Too many positional arguments"), (10, "alfa"),
              (11, "Incompatible types in assignment")]


def _installed():
    """Is fastact found by mypy on its own (an installed package)?"""
    roots = {Path(p).resolve() for p in site.getsitepackages() + [site.getusersitepackages()]}
    return PACKAGE.parent in roots


def test_mypy_accepts_a_user_script_and_reports_wrong_calls(tmp_path):
    pytest.importorskip("mypy")
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    # Check the user's code against fastact's types as for any installed library:
    # errors inside fastact's own modules are not the user's (follow_imports=silent).
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nwarn_unused_configs = False\n[mypy-fastact.*]\nfollow_imports = silent\n")
    env = dict(os.environ)
    if not _installed():
        env["MYPYPATH"] = str(PACKAGE.parent)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), "--show-error-codes", "good.py", "bad.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    good = [line for line in lines if line.startswith("good.py")]
    assert not good, result.stdout
    assert result.returncode == 1, result.stdout + result.stderr
    for number, fragment in BAD_ERRORS:
        assert any(line.startswith(f"bad.py:{number}:") and fragment in line
                   for line in lines), (number, fragment, result.stdout)
    assert all(line.startswith("bad.py") for line in lines), result.stdout
