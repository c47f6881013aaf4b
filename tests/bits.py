"""Bit-for-bit comparison of float arrays (NaN payloads and signed zeros included)."""
import numpy as np


def bits(a):
    """The array's elements as unsigned integers of the same width."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype.itemsize == 4 else np.uint64)


def assert_same_bits(got, expected, what=""):
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, what
    assert got.dtype == expected.dtype, what
    mismatch = bits(got) != bits(expected)
    if mismatch.any():
        index = tuple(np.argwhere(mismatch)[0])
        raise AssertionError(
            f"{what + ': ' if what else ''}{mismatch.sum()} of {mismatch.size} elements "
            f"differ; first at {index}: got {got[index]!r}, expected {expected[index]!r}")


def ulp_distance(a, b):
    """How many representable values apart a and b are, element by element
    (+0.0 and -0.0 are 0 apart); float64 counts, exact below 2^53."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    signed = np.int32 if a.dtype.itemsize == 4 else np.int64
    lowest = np.iinfo(signed).min

    def ordered(x):
        i = x.view(signed)
        return np.where(i < 0, lowest - i, i)     # monotonic in the value

    oa, ob = ordered(a), ordered(b)
    same_side = (oa >= 0) == (ob >= 0)
    with np.errstate(over="ignore"):
        near = np.abs(oa - ob).astype(np.float64)
    far = np.abs(oa.astype(np.float64) - ob.astype(np.float64))
    return np.where(same_side, near, far)


def far_from(got, want, ulps):
    """Where got is more than `ulps` from want, or NaN or infinite where want
    is not (or the other way round)."""
    got, want = np.asarray(got), np.asarray(want)
    far = (np.isnan(got) != np.isnan(want)) | (np.isinf(got) != np.isinf(want))
    both = ~np.isnan(got) & ~np.isnan(want)
    far[both] |= ulp_distance(got[both], want[both]) > ulps
    return far
