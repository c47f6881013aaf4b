"""Every script in examples/ runs, exits 0 and prints its key result line."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = {
    "transformer_ffn.py": ["gradient check passed", "attention rows sum to 1: True"],
    "dead_neurons.py": ["never active", "leaky_relu", "dead-neuron report done"],
    "gradient_flow.py": ["layer     sigmoid       tanh       relu       gelu       silu",
                         "ratio layer 1 / layer 20"],
}


needs_examples = pytest.mark.skipif(not EXAMPLES.is_dir(),
                                    reason="needs the source tree (examples/)")


@needs_examples
@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in CASES[script]:
        assert line in result.stdout, (line, result.stdout)


@needs_examples
def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)
