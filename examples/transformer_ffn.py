"""A transformer block's two hot spots in NumPy + fastact: attention softmax
and the GELU feed-forward, forward AND backward with fastact's fused backward
functions, checked against central finite differences.

    python examples/transformer_ffn.py
"""
import numpy as np

import fastact as fa

rng = np.random.default_rng(0)
tokens, d_model, d_ff = 8, 16, 64
x = rng.standard_normal((tokens, d_model))
wq, wk, wv = (rng.standard_normal((d_model, d_model)) / np.sqrt(d_model) for _ in range(3))
w1 = rng.standard_normal((d_model, d_ff)) / np.sqrt(d_model)
b1 = np.zeros(d_ff)
w2 = rng.standard_normal((d_ff, d_model)) / np.sqrt(d_ff)


def forward(x, cache=None):
    """Self-attention (single head) with a residual, then the GELU FFN with a residual."""
    q, k, v = x @ wq, x @ wk, x @ wv
    scale = np.sqrt(d_model)
    p = fa.softmax(q @ k.T, axis=-1, temperature=scale)   # softmax(qk^T / sqrt(d))
    h = x + p @ v
    a = h @ w1 + b1
    y = h + fa.gelu(a) @ w2
    if cache is not None:
        cache.update(q=q, k=k, v=v, p=p, h=h, a=a, scale=scale)
    return y


def backward(x, grad_y, c):
    """d loss / d x, given d loss / d y, through both residual blocks."""
    grad_h = grad_y + fa.gelu_backward(grad_y @ w2.T, c["a"]) @ w1.T
    grad_p = grad_h @ c["v"].T
    grad_v = c["p"].T @ grad_h
    grad_s = fa.softmax_backward(grad_p, c["p"], axis=-1, temperature=c["scale"])
    grad_q, grad_k = grad_s @ c["k"], grad_s.T @ c["q"]
    return grad_h + grad_q @ wq.T + grad_k @ wk.T + grad_v @ wv.T


cache = {}
y = forward(x, cache)
grad_y = rng.standard_normal(y.shape)           # loss = sum(grad_y * y)
grad_x = backward(x, grad_y, cache)

# Central finite differences of the loss, one input element at a time.
eps = 1e-6
numeric = np.empty_like(x)
for i in np.ndindex(x.shape):
    step = np.zeros_like(x)
    step[i] = eps
    numeric[i] = (np.sum(grad_y * forward(x + step)) - np.sum(grad_y * forward(x - step))) / (2 * eps)

err = np.max(np.abs(grad_x - numeric)) / np.max(np.abs(numeric))
print(f"transformer block: tokens={tokens} d_model={d_model} d_ff={d_ff}")
print(f"attention rows sum to 1: {np.allclose(cache['p'].sum(axis=-1), 1.0)}")
print(f"output norm {np.linalg.norm(y):.4f}, input-gradient norm {np.linalg.norm(grad_x):.4f}")
print(f"max relative error of the fastact backward vs finite differences: {err:.2e}")
if err > 1e-6:
    raise SystemExit("gradient check FAILED")
print("gradient check passed")
