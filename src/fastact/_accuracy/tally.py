"""The summary of a measurement: ``Tally`` (mergeable with ``+``) and
``summarize``, which makes one from per-element errors by the SPEC section 5
rule.  Shared by the float32 sweeps, the float64 samples and the rows."""

import dataclasses
import math

import numpy as np

from . import ulp


@dataclasses.dataclass
class Tally:
    """Errors over a set of inputs (merge with ``+``).

    ``max_ulp``/``worst_x``: the largest ULP error outside the windows within
    0.05 of a zero of f'; ``window_abs_eps``: the largest absolute error (in
    eps) inside them (derivative and backward only); ``failures``: elements
    outside the SPEC section 5 rule; ``over_1ulp``: elements above 1 ULP.
    """

    n: int = 0
    max_ulp: float = 0.0
    worst_x: float = math.nan
    window_abs_eps: float = 0.0
    window_worst_x: float = math.nan
    failures: int = 0
    first_failure_x: float = math.nan
    over_1ulp: int = 0

    def __add__(self, other):
        a, b = self, other
        worst = a if _beats(a.max_ulp, a.worst_x, b.max_ulp) else b
        window = a if _beats(a.window_abs_eps, a.window_worst_x, b.window_abs_eps) else b
        fail = a if not math.isnan(a.first_failure_x) else b
        return Tally(
            a.n + b.n,
            worst.max_ulp,
            worst.worst_x,
            window.window_abs_eps,
            window.window_worst_x,
            a.failures + b.failures,
            fail.first_failure_x,
            a.over_1ulp + b.over_1ulp,
        )

    def as_dict(self):
        return dataclasses.asdict(self)


def _beats(value, where, other):
    # ties go to the side that has seen an input (an empty Tally has none)
    return value > other or (value == other and not math.isnan(where))


def near_zero(x, abs_err, zeros, eps, scale=None, floor=0.0):
    """(mask of the inputs within 0.05 of a zero of f', their absolute error
    in units of eps -- times |scale| for backward, where the bound is carried
    through the product with g, but never below ``floor``, the output's own
    smallest spacing -- and +inf elsewhere)."""
    window = ulp.near_zero_mask(x, zeros)
    unit = eps if scale is None else np.maximum(eps * np.abs(scale), floor)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return window, np.where(window, abs_err / unit, np.inf)


def summarize(x, err, limit, window=None, abs_eps=None):
    """A ``Tally`` from per-element ULP errors ``err`` and, for derivatives
    and backward, the windows near the zeros of f' with the absolute errors
    (in eps) inside them (``near_zero``)."""
    if window is None:
        outside = err
        fails = ~(err <= limit)
    else:
        outside = np.where(window, 0.0, err)
        fails = ~((err <= limit) | (abs_eps <= ulp.NEAR_ZERO_ABS_EPS))
    t = Tally(n=int(x.size), over_1ulp=int(np.count_nonzero(err > 1.0)))
    if x.size:
        i = int(np.argmax(np.where(np.isnan(outside), np.inf, outside)))
        t.max_ulp, t.worst_x = float(outside[i]), float(x[i])
        if window is not None and window.any():
            inside = np.where(window, abs_eps, 0.0)
            j = int(np.argmax(np.where(np.isnan(inside), np.inf, inside)))
            t.window_abs_eps, t.window_worst_x = float(inside[j]), float(x[j])
    t.failures = int(np.count_nonzero(fails))
    if t.failures:
        t.first_failure_x = float(x[np.flatnonzero(fails)[0]])
    return t
