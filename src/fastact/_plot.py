"""``python -m fastact plot``: every elementwise activation and its derivative.

One PNG with a grid of small panels, one per elementwise activation of
``fastact.REGISTRY`` (prelu included, with the single weight 0.25 that
``torch.nn.PReLU`` starts from), each showing f(x) and f'(x) over [-6, 6] at
the registry's default parameters, computed by fastact's own kernels.
matplotlib is imported only when a plot is drawn (the ``plot`` extra:
``pip install 'fastact[plot]'``).
"""
import math

import numpy as np

from .registry import REGISTRY

X_RANGE = (-6.0, 6.0)
POINTS = 1201                 # step 0.01: the kinks of relu & co. stay sharp
PRELU_WEIGHT = 0.25           # torch.nn.PReLU's initial weight
FORWARD_STYLE = {"color": "tab:blue", "linestyle": "-", "linewidth": 1.8}
DERIVATIVE_STYLE = {"color": "tab:orange", "linestyle": "--", "linewidth": 1.5}


def pyplot():
    """matplotlib.pyplot on the Agg backend, or RuntimeError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError(
            "plotting needs matplotlib, which is not installed: "
            "pip install matplotlib  (or pip install 'fastact[plot]')") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plottable():
    """Names of the activations `plot` draws: the elementwise ones, in registry order."""
    return [name for name, info in REGISTRY.items()
            if info.kind in ("elementwise", "parametric")]


def _title(name):
    info = REGISTRY[name]
    if name == "prelu":
        return f"prelu (weight={PRELU_WEIGHT:g})"
    shown = {k: v for k, v in info.params.items()
             if k not in ("training", "generator") and v is not None}
    if name == "rrelu":
        # eval mode: the fixed slope (lower + upper) / 2
        return f"rrelu (eval, slope={(shown['lower'] + shown['upper']) / 2:.3g})"
    if not shown:
        return name
    args = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}"
                     for k, v in shown.items())
    return f"{name} ({args})"


def curves(name, x):
    """(f(x), f'(x)) of one plottable activation, at its default parameters."""
    info = REGISTRY[name]
    if info.kind == "parametric":
        weight = np.array([PRELU_WEIGHT])
        x2 = x.reshape(-1, 1)              # one channel along axis 1
        return (np.asarray(info.forward(x2, weight)).ravel(),
                np.asarray(info.derivative(x2, weight)).ravel())
    return np.asarray(info.forward(x)), np.asarray(info.derivative(x))


def plot_activations(path, names=None, dpi=100, x_range=X_RANGE):
    """Write a PNG of f and f' of every activation in `names` (default: all plottable).

    Returns the path. Raises RuntimeError when matplotlib is missing and
    KeyError for a name that is not plottable.
    """
    names = plottable() if not names else list(dict.fromkeys(names))
    allowed = plottable()
    for name in names:
        if name not in allowed:
            raise KeyError(f"cannot plot {name!r}: plot draws the elementwise activations "
                           f"({', '.join(allowed)})")
    plt = pyplot()
    import fastact as fa

    x = np.linspace(x_range[0], x_range[1], POINTS)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, sharex=True,
                             figsize=(3.3 * cols, 2.6 * rows + 0.9))
    for ax, name in zip(axes.flat, names):
        y, dy = curves(name, x)
        ax.axhline(0.0, color="0.6", linewidth=0.7)
        ax.axvline(0.0, color="0.6", linewidth=0.7)
        ax.plot(x, y, label="f(x)", **FORWARD_STYLE)
        ax.plot(x, dy, label="f'(x)", **DERIVATIVE_STYLE)
        ax.set_title(_title(name), fontsize=10)
        ax.set_xlim(*x_range)
        low = min(float(np.nanmin(y)), float(np.nanmin(dy)))
        high = max(float(np.nanmax(y)), float(np.nanmax(dy)))
        pad = 0.08 * max(high - low, 1.0)
        ax.set_ylim(low - pad, high + pad)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("x", fontsize=9)
    handles, _ = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, ["f(x), forward", "f'(x), derivative"], loc="upper right",
               ncol=2, fontsize=10, frameon=False)
    cfg = fa.config()
    fig.suptitle(f"fastact {cfg['version']}: activations and their derivatives on "
                 f"[{x_range[0]:g}, {x_range[1]:g}] (default parameters)",
                 x=0.01, ha="left", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (2.6 * rows + 0.9)))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
