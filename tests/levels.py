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
