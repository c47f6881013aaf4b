"""Run a block of code at one SIMD level (tests that loop over the levels)."""
import contextlib

from fastact import _dispatch

#: every level built and supported by this CPU
LEVELS = _dispatch.available_levels()


@contextlib.contextmanager
def simd_level(level):
    """Install `level` for the duration of the block, then restore the previous one."""
    previous = _dispatch.selected_level
    try:
        _dispatch.install(level)
        yield level
    finally:
        _dispatch.install(previous)


#: the levels whose kernels fuse mla (ext/_dd.pxd) into one rounding; they
#: compute the same bits as each other, and baseline (two roundings) may be
#: a few ULP from them
FMA_LEVELS = ("avx2", "avx512")

#: how far an FMA level may be from baseline (3 measured: float64 backward
#: products), far inside SPEC section 5
FMA_ULPS = 4


def bitwise_twin(level):
    """The lowest available level that must give `level`'s bits, or None."""
    same = [other for other in LEVELS if (other in FMA_LEVELS) == (level in FMA_LEVELS)]
    return same[0] if same[0] != level else None
