"""Fit the polynomials of the native kernels (ext/_native32.h, ext/_native64.h).

    python tools/fit_native.py exp32      # fa_n32_exp: P of degree 4
    python tools/fit_native.py log1p32    # fa_n32_softplus: log1p's P of degree 7
    python tools/fit_native.py gelu32     # the GELU kernels' G, E and V (a few minutes)
    python tools/fit_native.py exp64      # fa_n64_exp_poly: P of degree 10 (a minute)

Each prints the coefficients as C hex literals, highest degree first (the
order of the Horner steps), and the error of the rounded coefficients.

The float32 kernels evaluate their polynomials in float, so the coefficients
are floats, fitted with the rounding in the loop: they are rounded to float
one at a time, the others refitted each time (near-minimax, least squares on
Chebyshev nodes reweighted towards the largest errors, or a linear program
for log1p32).  GELU's are expanded about a float TC where the function is
within ~1e-4 float ULP of a float, so that the last Horner step c0 + v q
splits into an exact pair with no rounding of the constant at v = 0.

Needs numpy and mpmath (the test extras); log1p32 also scipy.
"""
import sys

import mpmath as mp
import numpy as np

f32 = np.float32


def chex(q, suffix="f"):
    """A C hex literal of q (float32 with the f suffix, or double)."""
    m, e = float(q).hex().split("p")
    return m.rstrip("0").rstrip(".") + "p" + e + suffix


def cheb_nodes(a, b, n):
    t = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    return 0.5 * (a + b) + 0.5 * (b - a) * t


def lsq_minimax(x, y, w, deg, fixed=(), rounds=80):
    """Coefficients c[0..deg] (powers of x) nearly minimising max |w (P - y)|,
    c[i] for i < len(fixed) held at fixed[i]."""
    k = len(fixed)
    yy = y - sum(fixed[i] * x**i for i in range(k))
    vander = np.vander(x, deg + 1, increasing=True)[:, k:]
    emphasis = np.ones(len(x))
    for _ in range(rounds):
        c, *_ = np.linalg.lstsq(vander * (w * emphasis)[:, None], yy * w * emphasis, rcond=None)
        err = np.abs((vander @ c - yy) * w)
        emphasis *= np.sqrt(err / err.max() + 1e-3)
    return np.concatenate([np.array(fixed, float), c]), err.max()


def fit_float(x, y, w, deg, scale=1.0, first=()):
    """Fit in x/scale, round the coefficients of x to float one at a time
    from degree 0 up, refitting the rest."""
    u = x / scale
    fx = list(first)
    for i in range(len(first), deg + 1):
        c, _ = lsq_minimax(u, y, w, deg, fixed=[fx[j] * scale**j for j in range(len(fx))])
        fx.append(float(f32(c[i] / scale**i)))
    return [f32(q) for q in fx]


def exp32():
    """exp(r) = 1 + r + r^2 P(r) on |r| <= ln2/2, P of degree 4: the
    near-minimax fit of tools/fit_polynomials.py, each coefficient rounded to
    float (refitting after each rounding, fit_float, gives 0.052 2^-24
    instead of 0.062: not worth a change of every native kernel's bits)."""
    from fit_polynomials import HALF_LN2, exp_p, near_minimax
    a = HALF_LN2
    c = [f32(q) for q in near_minimax(exp_p, -a, a, 4, lambda r: r**2 / mp.exp(r))]
    worst = max(abs((1 + v + v * v * sum(float(c[i]) * v**i for i in range(5))) / mp.exp(v) - 1)
                for v in map(mp.mpf, np.linspace(-a, a, 4001)))
    print(f"exp32: P of degree 4, max relative error {float(worst):.3g} "
          f"= {float(worst) * 2**24:.3f} 2^-24")
    print("  " + ", ".join(chex(q) for q in c[::-1]))


def log1p32():
    """log1p(f) = f - f^2/2 + f^3 P(f) on f in [-0.3232, 0.3536], P of degree 7,
    weighted relative to softplus's result there (ln2 + log1p(f) for f < 0)."""
    from scipy.optimize import linprog

    def lp_minimax(A, y, w):
        n, k = A.shape
        aw, yw = A * w[:, None], y * w
        scale = np.abs(aw).max(axis=0)
        scale[scale == 0] = 1
        a_ub = np.vstack([np.hstack([aw, -np.ones((n, 1))]), np.hstack([-aw, -np.ones((n, 1))])])
        a_ub[:, :k] /= scale
        cost = np.zeros(k + 1)
        cost[-1] = 1
        res = linprog(cost, A_ub=a_ub, b_ub=np.concatenate([yw, -yw]),
                      bounds=[(None, None)] * k + [(0, None)], method="highs")
        return res.x[:k] / scale

    lo, hi = -0.32323, 0.35356
    xs = np.concatenate([np.linspace(lo, hi, 6001), np.linspace(-0.01, 0.01, 401)])
    xs = xs[np.abs(xs) > 1e-6]
    y = np.array([float((mp.log1p(v) - v + v * v / 2) / v**3) for v in map(mp.mpf, xs)])
    result = np.array([float(mp.log1p(v) + (mp.log(2) if v < 0 else 0)) for v in map(mp.mpf, xs)])
    w = np.abs(xs**3 / result)
    A = np.vander(xs, 8, increasing=True)
    fixed = {}
    for j in range(7, -1, -1):          # highest degree first, the rest refitted
        free = [i for i in range(8) if i not in fixed]
        yy = y - sum(A[:, i] * fixed[i] for i in fixed) if fixed else y
        c = lp_minimax(A[:, free], yy, w)
        w2 = w / max(np.max(np.abs((A[:, free] @ c - yy) * w)), 1e-300)
        c = lp_minimax(A[:, free], yy, w2)  # (highs is good to ~1e-7 absolute: rescaled)
        fixed[j] = float(f32(c[free.index(j)]))
    c = np.array([fixed[i] for i in range(8)])
    err = np.max(np.abs((A @ c - y) * w))
    print(f"log1p32: P of degree 7, error relative to the result {err:.3g} "
          f"= {err * 2**24:.3f} 2^-24")
    print("  " + ", ".join(chex(q) for q in c[::-1]))


def gelu32():
    """GELU's polynomials: G (Mills ratio times (1 + a)/sqrt(2 pi) in t =
    1/(1 + a)), E (Phi near 0) and V ((a - R(a))/(a - Z0)/sqrt(2 pi)), for the
    forward and derivative (|x| <= 14.6), the backward (19.75) and GEGLU (23.9)."""
    mp.mp.dps = 30
    sq2pi = mp.sqrt(2 * mp.pi)

    def R(a):
        a = mp.mpf(a)
        return mp.sqrt(mp.pi / 2) * mp.erfc(a / mp.sqrt(2)) * mp.exp(a * a / 2)

    z0 = mp.findroot(lambda a: R(a) - a, 0.75)

    def pick_center(f, lo, hi, span=2000):
        c = f32((lo + hi) / 2)
        step = float(np.spacing(c))
        best = None
        for i in range(-span, span):
            tc = float(f32(float(c) + i * step))
            g = f(tc)
            gf = float(f32(float(g)))
            d = abs(float(g) - gf) / float(np.spacing(f32(gf)))
            if best is None or d < best[0]:
                best = (d, tc, gf)
        return best

    def fit(name, f, lo, hi, deg):
        d, tc, c0 = pick_center(f, lo, hi)
        v = cheb_nodes(lo - tc, hi - tc, 1500)
        y = np.array([float(f(q + tc)) for q in v])
        c = fit_float(v, y, 1 / y, deg, scale=(hi - lo) / 2, first=[f32(c0)])
        vt = np.unique(np.linspace(lo - tc, hi - tc, 4001).astype(np.float32))
        err = max(abs(sum(mp.mpf(float(c[i])) * mp.mpf(float(q))**i for i in range(len(c)))
                      / f(float(q) + tc) - 1) for q in vt)
        print(f"{name}: degree {deg}, TC = {chex(tc)}, max relative error {float(err):.3g}")
        print("  " + ", ".join(chex(q) for q in c[::-1]))

    def G(t):
        return R(1 / mp.mpf(t) - 1) / (mp.mpf(t) * sq2pi)

    def E(h):
        h = mp.mpf(h)
        if h == 0:
            return 1 / sq2pi
        x = mp.sqrt(-2 * h)
        return (mp.ncdf(x) - mp.mpf(1) / 2) / x

    def V(t):
        a = 1 / mp.mpf(t) - 1
        if abs(a - z0) < mp.mpf(10)**-12:
            a = z0 + mp.mpf(10)**-12
        return (a - R(a)) / (a - z0) / sq2pi

    small = 0.65
    fit("G (gelu)", G, 1 / (1 + 14.6), 1 / (1 + small - 1 / 64), 11)
    fit("E (gelu)", E, -(small + 1 / 64)**2 / 2, 0.0, 4)
    fit("V (gelu')", V, 1 / (1 + 14.6), 1.0, 12)
    fit("V (gelu backward)", V, 1 / (1 + 19.75), 1.0, 13)
    fit("G (geglu)", G, 1 / (1 + 23.9), 1 / (1 + small - 1 / 64), 11)
    fit("V (geglu)", V, 1 / (1 + 23.9), 1.0, 13)
    z0h = float(f32(round(float(z0) * 4096) / 4096))
    print(f"Z0 = {mp.nstr(z0, 20)}: Z0H = {chex(z0h)}, Z0L = {chex(f32(float(z0 - z0h)))}")


def exp64():
    """exp(r) = 1 + r + r^2 (1/2 + r Q(r)) on |r| <= ln2/2, Q of degree 9 (P of
    degree 10), fitted at 40 digits and rounded to double one coefficient at
    a time."""
    mp.mp.dps = 40
    a = mp.log(2) / 2 + mp.mpf("1e-4")

    def q_of_r(r):
        if abs(r) < mp.mpf("1e-8"):
            return mp.mpf(1) / 6 + r / 24
        return (mp.exp(r) - 1 - r - r * r / 2) / r**3

    nodes = 240
    x = [a * mp.cos(mp.pi * (i + mp.mpf(0.5)) / nodes) for i in range(nodes)]
    w = [abs(v)**3 / mp.exp(v) for v in x]
    deg = 9
    fixed = []
    for j in range(deg + 1):
        y = [q_of_r(v) - sum(f * v**i for i, f in enumerate(fixed)) for v in x]
        emphasis = [mp.mpf(1)] * nodes
        for _ in range(25):
            M = mp.matrix(nodes, deg + 1 - len(fixed))
            b = mp.matrix(nodes, 1)
            for i in range(nodes):
                s = w[i] * emphasis[i]
                for k in range(len(fixed), deg + 1):
                    M[i, k - len(fixed)] = s * x[i]**k
                b[i] = s * y[i]
            c, _ = mp.qr_solve(M, b)
            err = [abs((sum(c[k] * x[i]**(k + len(fixed)) for k in range(deg + 1 - len(fixed)))
                        - y[i]) * w[i]) for i in range(nodes)]
            m = max(err)
            emphasis = [emphasis[i] * mp.sqrt(err[i] / m + mp.mpf("1e-3")) for i in range(nodes)]
        fixed.append(mp.mpf(float(c[0])))
    worst = mp.mpf(0)
    for v in np.linspace(-float(a), float(a), 4001):
        r = mp.mpf(float(v))
        q = mp.mpf(0)
        for cj in fixed[::-1]:
            q = q * r + cj
        worst = max(worst, abs((1 + r + r * r * (mp.mpf(0.5) + r * q)) / mp.exp(r) - 1))
    print(f"exp64: P of degree 10, max relative error 2^{float(mp.log(worst, 2)):.2f}")
    print("  " + ", ".join(chex(float(q), "") for q in fixed[::-1]) + ", 0x1p-1")


if __name__ == "__main__":
    fits = {"exp32": exp32, "log1p32": log1p32, "gelu32": gelu32, "exp64": exp64}
    for name in sys.argv[1:] or ["exp32"]:
        fits[name]()
