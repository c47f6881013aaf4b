"""float32 backward: the cheap path and the full-derivative path.

The float32 backward loops of the exp-based activations compute g * f'(x) with
a cheap double derivative (``NAME_bwd32`` in ext/_formulas.pxd) and take the
full one only for the elements that need it: non-finite g, x outside the
window where the cheap one is relatively accurate (and NaN/inf x).  Checked
here:

* SPEC 5 (<= 4 ULP) against mpmath with huge grad_output (up to FLT_MAX) and
  f'(x) far below float32's range, on ordinary values, and near the zeros of
  f' (there SPEC 5's absolute bound, 4 eps |g|: the native float32 kernels of
  the FMA levels, ext/_native32.h, are not relatively accurate where f'
  cancels to 0);
* that an element's bits depend on that element alone: flagged and unflagged
  elements mixed at every position of arrays of many lengths (vector body,
  scalar tail, block boundaries) give the same bits as each element alone;
* that the flagged elements keep the old semantics bit for bit
  (float32(g * full f64 derivative): NaN, inf * 0 = NaN, inf * f' = +-inf,
  signs of zero), also in place (out=g, out=x).
"""

import mpmath
import numpy as np
import pytest

from fastact._accuracy import mpref, ulp

fa = pytest.importorskip("fastact")

F32 = np.float32
FLT_MAX = float(np.finfo(F32).max)
EPS32 = float(np.finfo(F32).eps)

# (public name, params): every activation whose float32 backward has the
# cheap path, several parameter values for the parametric ones.
CASES = [
    ("sigmoid", {}), ("log_sigmoid", {}), ("tanh", {}), ("silu", {}),
    ("swish", {"beta": 1.0}), ("swish", {"beta": 1.7}), ("swish", {"beta": -0.3}),
    ("swish", {"beta": 0.0}), ("swish", {"beta": 3e6}),
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("mish", {}),
    ("softplus", {}), ("softplus", {"beta": 2.5, "threshold": 7.0}),
    ("elu", {}), ("elu", {"alpha": -2.5}), ("elu", {"alpha": 1e-30}), ("selu", {}),
]


def _id(case):
    name, params = case
    return name + "".join(f"-{k}={v}" for k, v in params.items())


def _f32(values):
    return np.asarray(values, dtype=np.float64).astype(F32)


def _zeros(name, params):
    """The zeros of f' (swish'(x) = silu'(beta x))."""
    if name != "swish":
        return mpref.derivative_zeros(name, **params)
    if params["beta"] == 0.0:
        return ()
    return [z / params["beta"] for z in mpref.derivative_zeros("silu")]


def _near_zeros(name, params, n=6):
    """float32 inputs nearest to the zeros of f' (each side), and a few
    within 0.05 of them."""
    out = []
    for z in _zeros(name, params):
        z = float(z)
        if not np.isfinite(F32(z)) or abs(z) > 1e30:
            continue
        c = F32(z)
        for k in range(n):
            out += [np.nextafter(c, F32(np.inf)) if k == 0 else c, c]
            c = np.nextafter(c, F32(-np.inf))
        out += [F32(z + d) for d in (-0.049, -0.01, -1e-3, -2e-5, 2e-5, 1e-3, 0.01, 0.049)]
        w = 2.0 ** -12  # the polynomial's window, both sides of each edge
        out += [F32(z + d) for d in (-1.01 * w, -0.99 * w, 0.99 * w, 1.01 * w)]
    return out


def _points(name, params):
    xs = [-700, -650, -400, -349, -200, -100, -90.5, -60, -46.36, -30, -25.1, -20.01, -19.99,
          -13.5, -12, -9, -5, -2.5, -1, -0.3, -1e-5, -1e-30, 0, 1e-30, 1e-5, 0.3, 1, 2.5, 5,
          9, 12, 13.5, 19.99, 20.01, 25.1, 30, 46.36, 60, 90.5, 100, 200, 349, 400, 650, 700]
    beta = params.get("beta", 1.0) if name in ("swish", "softplus") else 1.0
    if beta not in (0.0, 1.0):
        xs = xs + [v / beta for v in xs if abs(v / beta) < 3e38]
    return _f32(xs).tolist() + [float(v) for v in _near_zeros(name, params)]


GRADS = [1.0, -1.0, 1e30, -3e37, FLT_MAX, -FLT_MAX, 2.5e-10, 1e-38, 1.4e-45]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_backward_f32_huge_grad_mpmath(case):
    """<= 4 ULP of the true g * f'(x) with g up to FLT_MAX and f' far below
    FLT_MIN; within 0.05 of a zero of f', SPEC 5's absolute bound, 4 eps |g|
    (as the accuracy harness measures a backward there)."""
    name, params = case
    xs = _f32(_points(name, params))
    d_exact = mpref.evaluate(name, [float(v) for v in xs], "derivative", **params)
    near = ulp.near_zero_mask(xs.astype(np.float64), _zeros(name, params))
    worst = (0.0, None)
    for gv in GRADS:
        g = np.full(xs.shape, gv, dtype=F32)
        with np.errstate(all="ignore"):
            got = getattr(fa, name + "_backward")(g, xs, **params)
        with mpmath.workdps(mpref.DPS):
            exact = np.array([mpmath.mpf(float(F32(gv))) * d for d in d_exact], dtype=object)
        err = ulp.ulp_error(got, exact, F32)
        abs_eps = ulp.abs_error(got, exact, F32) / (ulp.NEAR_ZERO_ABS_EPS * EPS32 * abs(float(F32(gv))))
        err = np.where(near & (abs_eps <= 1.0), 0.0, err)
        i = int(np.argmax(err))
        if err[i] > worst[0]:
            worst = (float(err[i]), (gv, float(xs[i]), float(got[i]), float(exact[i])))
    assert worst[0] <= ulp.LIMITS["backward"], (
        f"{name}_backward{params} float32: {worst[0]:.2f} ULP at "
        f"(g, x, got, exact) = {worst[1]}")


def _old(name, params, g, x):
    """The full-derivative result: float32(g * f64 derivative(x))."""
    with np.errstate(all="ignore"):
        d = getattr(fa, name + "_derivative")(x.astype(np.float64), **params)
        return (g.astype(np.float64) * d).astype(F32)


# Elements that take the full-derivative path, and (g, x) pairs with
# special results: NaN, inf * 0, inf * tiny, huge g times tiny f'.
FLAGGED = [(np.inf, 1.0), (-np.inf, -3.0), (np.nan, 0.5), (1.0, np.nan), (np.inf, 1e30),
           (-np.inf, -1e30), (2.0, np.inf), (-2.0, -np.inf), (FLT_MAX, -800.0),
           (1e30, 1e20), (np.inf, -np.inf), (-0.0, np.inf), (0.0, -1e38)]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_backward_f32_flagged_keep_semantics(case):
    """Flagged elements give the old (full-derivative) bits exactly."""
    name, params = case
    g = np.array([p[0] for p in FLAGGED], dtype=F32)
    x = np.array([p[1] for p in FLAGGED], dtype=F32)
    with np.errstate(all="ignore"):
        got = getattr(fa, name + "_backward")(g, x, **params)
    assert got.tobytes() == _old(name, params, g, x).tobytes(), (
        f"{name}_backward{params}: {got} != {_old(name, params, g, x)}")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_backward_f32_zero_grad_keeps_the_sign_of_the_product(case):
    """g = +-0 gives the zero of IEEE's g * f'(x): -0 * f' is -0 where f' > 0
    and +0 where f' < 0 (PyTorch's; the native kernels' last fma would give
    +0 for both).  Not where |f'| < 4 eps near a zero of f': SPEC 5's
    absolute bound there leaves f''s sign open."""
    name, params = case
    xs = _f32(_points(name, params))
    with np.errstate(all="ignore"):
        d = getattr(fa, name + "_derivative")(xs.astype(np.float64), **params)
    near = ulp.near_zero_mask(xs.astype(np.float64), _zeros(name, params))
    keep = ~(near & (np.abs(d) < ulp.NEAR_ZERO_ABS_EPS * EPS32))
    xs, d = xs[keep], d[keep]
    for zero in (0.0, -0.0):
        g = np.full(xs.shape, zero, dtype=F32)
        got = getattr(fa, name + "_backward")(g, xs, **params)
        with np.errstate(all="ignore"):
            expected = (g.astype(np.float64) * d).astype(F32)
        assert got.tobytes() == expected.tobytes(), (
            f"{name}_backward{params}, g = {zero}: {xs[got.view(np.uint32) != expected.view(np.uint32)]}")


def _mixed(n, rng, flag_at, near_at=(), near_x=None):
    x = (rng.standard_normal(n) * 4).astype(F32)
    # keep the ordinary elements out of the zeros' polynomial windows, so
    # that a block without near_at elements takes the cheapest path
    if near_x is not None:
        x[np.abs(x - near_x) < 0.01] += F32(0.5)
    g = (rng.standard_normal(n) * 10.0 ** rng.uniform(-30, 30, n)).astype(F32)
    for k, i in enumerate(near_at):
        if 0 <= i < n:
            x[i] = np.nextafter(near_x, F32(k % 2 * 2 - 1) * np.inf)
            g[i] = F32(3e37)
    for k, i in enumerate(flag_at):
        if 0 <= i < n:
            g[i], x[i] = FLAGGED[k % len(FLAGGED)]
    return g, x


LENGTHS = [1, 2, 7, 15, 16, 17, 33, 1023, 1024, 1025, 2047, 2048, 2049, 3000]


ZERO_CASES = [c for c in CASES if c[0] in ("silu", "mish") or c == ("swish", {"beta": 1.7})
              or c == ("gelu", {"approximate": "tanh"})]


@pytest.mark.parametrize("case", CASES[::3] + [CASES[7], CASES[11]] + ZERO_CASES, ids=_id)
def test_backward_f32_element_independent(case):
    """Flagged (full derivative) and near-zero (polynomial) elements mixed with
    ordinary ones at many positions and lengths: every element has the bits it
    has alone, the ordinary ones the bits they have without the others, and
    flagged ones the full-path bits."""
    name, params = case
    fn = getattr(fa, name + "_backward")
    rng = np.random.default_rng(7)
    zeros = [float(z) for z in _near_zeros(name, params, n=1)[:1]]
    near_x = F32(zeros[0]) if zeros and case in ZERO_CASES else None
    for n in LENGTHS:
        spots = sorted({0, n - 1, n // 2, 1023, 1024, 15, 16, n - 17} & set(range(n)))
        kinds = [([], []), (spots, []), (spots[:1], []), (spots[-1:], [])]
        if near_x is not None:
            kinds += [([], spots), ([], spots[-1:]), (spots[:1], spots[1:])]
        for flag_at, near_at in kinds:
            g, x = _mixed(n, rng, flag_at, near_at, near_x)
            with np.errstate(all="ignore"):
                got = fn(g, x, **params)
                alone = np.concatenate([fn(g[i:i + 1], x[i:i + 1], **params)
                                        for i in range(n)]) if n <= 64 else None
                clean_g, clean_x = g.copy(), x.copy()
                mask = np.zeros(n, bool)
                mask[list(flag_at)] = True
                nmask = np.zeros(n, bool)
                nmask[[i for i in near_at if i not in flag_at]] = True
                clean_g[mask | nmask], clean_x[mask | nmask] = 1.0, 0.5
                clean = fn(clean_g, clean_x, **params)
                near_alone = [fn(g[i:i + 1], x[i:i + 1], **params)[0] for i in np.nonzero(nmask)[0]]
            assert got[nmask].tobytes() == np.array(near_alone, F32).tobytes(), \
                f"{name} n={n} near at {near_at}"
            mask_all = mask | nmask
            assert got[~mask_all].tobytes() == clean[~mask_all].tobytes(), \
                f"{name} n={n} flags at {flag_at}, near at {near_at}"
            if alone is not None:
                assert got.tobytes() == alone.tobytes(), f"{name} n={n} flags at {flag_at}"
            old = _old(name, params, g[mask], x[mask])
            assert got[mask].tobytes() == old.tobytes(), f"{name} n={n} flags at {flag_at}"
            # offset views (alignment of the vector body)
            for off in (1, 3):
                if n > off:
                    with np.errstate(all="ignore"):
                        sub = fn(g[off:], x[off:], **params)
                    assert sub.tobytes() == got[off:].tobytes(), f"{name} n={n} off={off}"


@pytest.mark.parametrize("case", [CASES[0], CASES[5], CASES[11]], ids=_id)
@pytest.mark.parametrize("target", ["g", "x"])
def test_backward_f32_in_place(case, target):
    """out=g and out=x with flagged elements in the array."""
    name, params = case
    fn = getattr(fa, name + "_backward")
    g, x = _mixed(2500, np.random.default_rng(3), [5, 1024, 2000, 2499])
    with np.errstate(all="ignore"):
        expected = fn(g, x, **params)
        g2, x2 = g.copy(), x.copy()
        out = g2 if target == "g" else x2
        fn(g2, x2, out=out, **params)
    assert out.tobytes() == expected.tobytes()


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_backward_f32_ordinary_values_mpmath(case):
    """A random sample of ordinary values, g of every magnitude: <= 4 ULP."""
    name, params = case
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(60) * 5).astype(F32)
    g = (rng.choice([-1, 1], 60) * 10.0 ** rng.uniform(-40, 38.5, 60)).astype(F32)
    with np.errstate(all="ignore"):
        got = getattr(fa, name + "_backward")(g, x, **params)
    d = mpref.evaluate(name, [float(v) for v in x], "derivative", **params)
    with mpmath.workdps(mpref.DPS):
        exact = np.array([mpmath.mpf(float(gi)) * di for gi, di in zip(g, d)], dtype=object)
    err = ulp.ulp_error(got, exact, F32)
    assert err.max() <= ulp.LIMITS["backward"], (name, params, float(err.max()),
                                                 float(x[err.argmax()]), float(g[err.argmax()]))
