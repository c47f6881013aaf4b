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


def summarize(x, err, window, abs_eps, limit):
    """A ``Tally`` from per-element ULP errors ``err``, the windows near the
    zeros of f' and the absolute errors (in eps) inside them."""
    outside = np.where(window, 0.0, err)
    inside = np.where(window, abs_eps, 0.0)
    fails = ~((err <= limit) | (abs_eps <= ulp.NEAR_ZERO_ABS_EPS))
    t = Tally(n=int(x.size), over_1ulp=int(np.count_nonzero(err > 1.0)))
    if x.size:
        i = int(np.argmax(np.where(np.isnan(outside), np.inf, outside)))
        t.max_ulp, t.worst_x = float(outside[i]), float(x[i])
        if window.any():
            j = int(np.argmax(np.where(np.isnan(inside), np.inf, inside)))
            t.window_abs_eps, t.window_worst_x = float(inside[j]), float(x[j])
    t.failures = int(np.count_nonzero(fails))
    if t.failures:
        t.first_failure_x = float(x[np.flatnonzero(fails)[0]])
    return t
