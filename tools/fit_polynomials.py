"""Fit the polynomials of ext/_vmath.pxd fitted here and report their error.

Each is printed as its coefficients (C hex literals, highest degree first, the
order of the Horner steps in _vmath.pxd) and its maximum relative error
against mpmath.

The float32 kernels compute in double and round once, so their helpers need
a relative error far below float32's 2^-24 (6e-8), not double's; these are
fitted near-minimax in double (the polynomial evaluated in double):

* exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2, degree 7 (fa_vm_exp_m7; also the
  row-wise softmax's _rw_exp_f);
* expm1(r) = r + r^2 P(r), the same range, degree 8 (fa_vm_expm1_m8), weighted
  for expm1's relative error;
* log1p on [0, 1] as 2 s (1 + w Q(w)), s = f/(2 + f), w = s^2, |s| <= 0.1716,
  Q of degree 3 (fa_vm_log1p01_f32g).

The fit is least squares on Chebyshev nodes, reweighted towards the largest
errors until it levels (close to the minimax polynomial, whose error
equioscillates).

One is a float64 helper and needs an error near 2^-60, beyond a fit done in
double; mpmath's chebyfit computes it at 50 digits (the truncation error of
the coefficients rounded to double, evaluated exactly, is printed):

* log1p on [0, 1] as 2 s (1 + w Q(w)), |s| <= 0.2, Q of degree 7
  (vm_log1p01_dd).

Run: python tools/fit_polynomials.py (a few seconds).
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 40
HALF_LN2 = float(mp.log(2) / 2) + 1e-4
LOG1P_S = 0.17158            # f/(2 + f) at f = sqrt(2) - 1


def near_minimax(f, a, b, degree, weight, nodes=2000, rounds=60):
    """Coefficients c[0..degree] (increasing powers) minimising
    max |weight(x) (P(x) - f(x))| on [a, b], nearly."""
    t = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    x = 0.5 * (a + b) + 0.5 * (b - a) * t
    y = np.array([float(f(mp.mpf(v))) for v in x])
    w = np.array([float(weight(mp.mpf(v))) for v in x])
    vander = np.vander(x, degree + 1, increasing=True)
    emphasis = np.ones(nodes)
    for _ in range(rounds):
        c, *_ = np.linalg.lstsq(vander * (w * emphasis)[:, None], y * w * emphasis, rcond=None)
        err = np.abs((vander @ c - y) * w)
        emphasis *= np.sqrt(err / err.max() + 1e-3)
    return c


def horner(c, x):
    """c[0] + c[1] x + ... (increasing powers)"""
    p = c[-1]
    for q in c[-2::-1]:
        p = p * x + q
    return p


def max_relative_error(exact, approx, a, b, points=20001, exact_arithmetic=False):
    worst = mp.mpf(0)
    for v in np.linspace(a, b, points):
        v = mp.mpf(float(v)) if exact_arithmetic else float(v)
        e = exact(mp.mpf(v))
        if e != 0:
            worst = max(worst, abs((mp.mpf(approx(v)) - e) / e))
    return float(worst)


def show(name, c, err):
    print(f"{name}: max relative error {err:.3g}")
    for q in c[::-1]:
        print(f"    {float(q).hex()}")


def exp_p(r):
    return (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(0.5)


def main():
    a = HALF_LN2
    c = near_minimax(exp_p, -a, a, 5, lambda r: r**2 / mp.exp(r))
    show("exp, degree 7", c, max_relative_error(
        mp.exp, lambda r: 1.0 + (r + r * r * horner(c, r)), -a, a))

    c = near_minimax(exp_p, -a, a, 6, lambda r: r**2 / abs(mp.expm1(r)) if r else mp.mpf(0))
    show("expm1, degree 8", c, max_relative_error(
        lambda r: mp.expm1(r) if r else mp.mpf(1),
        lambda r: r + r * r * horner(c, r) if r else 1.0, -a, a))

    def q_of_w(w):
        s = mp.sqrt(w)
        return (mp.atanh(s) / s - 1) / w if w else mp.mpf(1) / 3

    c = near_minimax(q_of_w, 0.0, LOG1P_S**2, 3, lambda w: w / (1 + w / 3))
    show("log1p (atanh, Q of degree 3)", c, max_relative_error(
        lambda s: 2 * mp.atanh(s),
        lambda s: 2 * s + 2 * s * (s * s) * horner(c, s * s), 1e-6, LOG1P_S))

    mp.mp.dps = 50
    s_max = mp.mpf("0.2")
    coefficients, _ = mp.chebyfit(q_of_w, [0, s_max**2], 8, error=True)
    c = [mp.mpf(float(q)) for q in coefficients[::-1]]
    show("log1p, float64 (atanh, Q of degree 7)", c, max_relative_error(
        lambda s: 2 * mp.atanh(s),
        lambda s: 2 * s + 2 * s * (s * s) * horner(c, s * s), 1e-4, float(s_max),
        exact_arithmetic=True))


if __name__ == "__main__":
    main()
