"""Dead-neuron report: the fraction of hidden units that never activate (output
<= 0 for every example of a batch), per layer, for a small random MLP with
relu and with leaky_relu. A relu unit that is dead there also gets a zero
gradient (relu_derivative is 0), so it cannot recover; leaky_relu's never is.

    python examples/dead_neurons.py
"""
import numpy as np

import fastact as fa

rng = np.random.default_rng(1)
batch, widths = 256, [32, 64, 64, 64, 64, 10]
x0 = rng.standard_normal((batch, widths[0])).astype(np.float32)
# A deliberately bad initialisation: negative biases kill units.
layers = [(rng.standard_normal((m, n)).astype(np.float32) * np.sqrt(2.0 / m),
           np.full(n, -0.8, dtype=np.float32) + 0.3 * rng.standard_normal(n).astype(np.float32))
          for m, n in zip(widths[:-1], widths[1:])]


def report(name, act, act_derivative):
    h = x0
    print(f"{name}:")
    print(f"  {'layer':>5} {'units':>5} {'never active':>13} {'zero gradient':>14}")
    for i, (w, b) in enumerate(layers[:-1], start=1):
        z = h @ w + b
        h = act(z)
        never = np.mean(np.all(h <= 0, axis=0))
        zero_grad = np.mean(np.all(act_derivative(z) == 0, axis=0))
        print(f"  {i:>5} {w.shape[1]:>5} {never:>12.1%} {zero_grad:>14.1%}")
    return h


report("relu", fa.relu, fa.relu_derivative)
report("leaky_relu(negative_slope=0.01)",
       lambda z: fa.leaky_relu(z, negative_slope=0.01),
       lambda z: fa.leaky_relu_derivative(z, negative_slope=0.01))
print("dead-neuron report done")
