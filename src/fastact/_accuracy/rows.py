"""softmax and log_softmax rows against mpmath (SPEC section 5: <= 4 ULP per element).

Row sets (``row_sets``): lengths 1, 2, 3, 1000 and 65536 with values uniform
in [-s, s] for spreads s = 1e-3, 1, 1e2, 1e4 (so x - max spans from nearly
nothing to far past exp's range), each at temperatures 1, 0.5 and 3 for the
shorter rows; ties at the maximum, all-equal rows, rows with -inf entries
(masked positions: softmax 0, log_softmax -inf exactly), rows with a +inf
(SPEC section 4: PyTorch's result, a NaN row) and rows whose x - max is
inexact far below exp's range.  The values are representable
in the dtype under test, so the exact result is that of the very inputs.
"""

import functools

import numpy as np

import fastact as fa

from . import mpref, ulp
from .tally import Tally, summarize

LENGTHS = (1, 2, 3, 1000, 65536)
SPREADS = (1e-3, 1.0, 1e2, 1e4)
FUNCTIONS = ("softmax", "log_softmax")


def row_sets(dtype, seed=0):
    """[(name, rows (2-D float64 holding dtype values), temperature)]."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    sets = []
    for n in LENGTHS:
        for spread in SPREADS:
            count = 1 if n == 65536 else 3
            rows = rng.uniform(-spread, spread, (count, n)).astype(dt).astype(np.float64)
            temperatures = (1.0,) if n == 65536 else (1.0, 0.5, 3.0)
            for t in temperatures:
                sets.append((f"n={n} spread={spread:g} T={t:g}", rows, t))
    ties = rng.uniform(-5.0, 5.0, (2, 1000)).astype(dt).astype(np.float64)
    ties[:, ::7] = 5.0  # many elements share the maximum
    sets.append(("ties at the max", ties, 1.0))
    sets.append(("all equal", np.full((3, 257), 0.75), 1.0))
    masked = rng.uniform(-30.0, 30.0, (3, 1000)).astype(dt).astype(np.float64)
    masked[rng.random(masked.shape) < 0.3] = -np.inf
    sets.append(("-inf entries", masked, 1.0))
    plus = rng.uniform(-3.0, 3.0, (2, 50)).astype(dt).astype(np.float64)
    plus[:, 7] = np.inf
    sets.append(("+inf entry", plus, 1.0))
    # x - max inexact far below exp's range (its rounding error alone is
    # huge there, 1e283 for -1e300 - 1e284): exp is 0, not lifted by it
    top, low = (1e284, -1e300) if dt == np.float64 else (1e30, -3e38)
    far = np.array([[top, low, top * 0.3, low * 0.7] * 5]).astype(dt).astype(np.float64)
    for t in (1.0, 0.5):
        sets.append((f"far below exp's range T={t:g}", far, t))
    return sets


def exact_rows(rows, temperature):
    """{'softmax': (hi, lo), 'log_softmax': (hi, lo)} for each element."""
    shape = rows.shape
    out = {f: (np.empty(shape), np.zeros(shape)) for f in FUNCTIONS}
    for r, row in enumerate(rows):
        finite = np.isfinite(row)
        if np.any(row == np.inf) or not finite.any():
            # not a number but a rule (SPEC section 4): the reference's NaN row
            for f in FUNCTIONS:
                out[f][0][r] = getattr(fa.reference, f)(row, temperature=temperature)
            continue
        sm, lsm = mpref.rowwise(row[finite], temperature)
        for f, values, masked in (("softmax", sm, 0.0), ("log_softmax", lsm, -np.inf)):
            hi, lo = ulp.to_pair(np.array(values, dtype=object))
            out[f][0][r] = masked
            out[f][1][r] = 0.0
            out[f][0][r, finite] = hi
            out[f][1][r, finite] = lo
    return out


@functools.lru_cache(maxsize=4)
def _cases_with_exact(dtype_name, seed):
    return [(name, rows, t, exact_rows(rows, t)) for name, rows, t in row_sets(dtype_name, seed)]


def measure(dtype, seed=0):
    """{(function, row set name): Tally} of fastact's rows in ``dtype`` (the
    exact values are kept for the next call, e.g. at another SIMD level)."""
    dt = np.dtype(dtype)
    results = {}
    for name, rows, t, exact in _cases_with_exact(dt.name, seed):
        x = rows.astype(dt)
        for f in FUNCTIONS:
            computed = getattr(fa, f)(x, temperature=t)
            with np.errstate(all="ignore"):
                err = ulp.ulp_error(computed, exact[f], dt).ravel()
            results[(f, name)] = summarize(rows.ravel(), err, ulp.LIMITS["softmax"])
    return results


def combined(results):
    """{function: Tally} over all row sets."""
    out = {}
    for (f, _), t in results.items():
        out[f] = out.get(f, Tally()) + t
    return out
