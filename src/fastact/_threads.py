"""A temporary thread count, restored on exit."""
from contextlib import contextmanager

from ._api import get_num_threads, set_num_threads


@contextmanager
def num_threads(n):
    """Run the block with `n` threads: ``with fastact.num_threads(1): ...``."""
    previous = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(previous)
