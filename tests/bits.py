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
