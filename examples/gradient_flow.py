"""Gradient flow through 20 layers: back-propagate a unit gradient through a
deep random MLP and print the gradient norm reaching each layer, for sigmoid,
tanh, relu, gelu and silu (each layer's backward is fastact's fused
NAME_backward: grad * NAME'(z)). With the same He-initialised weights, sigmoid,
whose derivative is at most 1/4, loses about ten orders of magnitude over the
20 layers (vanishing gradients); relu and gelu keep the norm of order one;
silu, whose slope at 0 is 1/2, loses a few orders.

    python examples/gradient_flow.py
"""
import numpy as np

import fastact as fa

DEPTH, WIDTH, BATCH = 20, 128, 64
rng = np.random.default_rng(2)
weights = [rng.standard_normal((WIDTH, WIDTH)) for _ in range(DEPTH)]
x0 = rng.standard_normal((BATCH, WIDTH))
ACTIVATIONS = {
    "sigmoid": (fa.sigmoid, fa.sigmoid_backward),
    "tanh": (fa.tanh, fa.tanh_backward),
    "relu": (fa.relu, fa.relu_backward),
    "gelu": (fa.gelu, fa.gelu_backward),
    "silu": (fa.silu, fa.silu_backward),
}


def gradient_norms(forward, backward):
    """Norm of d(loss)/d(input of layer i) for i = 1..DEPTH."""
    h, pre = x0, []
    scale = np.sqrt(2.0 / WIDTH)          # He initialisation
    for w in weights:
        z = h @ (w * scale)
        pre.append(z)
        h = forward(z)
    grad = np.ones_like(h) / np.sqrt(h.size)  # a unit-norm gradient at the output
    norms = []
    for w, z in zip(reversed(weights), reversed(pre)):
        grad = backward(grad, z) @ (w * scale).T
        norms.append(np.linalg.norm(grad))
    return norms[::-1]


results = {name: gradient_norms(*fns) for name, fns in ACTIVATIONS.items()}
print("gradient norm at the input of each layer (layer 1 is the first)")
print("layer " + "".join(f"{name:>11}" for name in results))
for layer in range(DEPTH):
    print(f"{layer + 1:>5} " + "".join(f"{results[name][layer]:>11.3e}" for name in results))
print("ratio layer 1 / layer 20: " + ", ".join(
    f"{name} {norms[0] / norms[-1]:.1e}" for name, norms in results.items()))
