"""Choose the compiled kernel module whose loops every public function runs.

The kernels are built as a separate module that exports its loops as one
table (``_kernels.table()``); the public functions in ``_api`` run whatever
table is installed here at import. There is one kernel build today, the
baseline; SIMD-specific builds plug in by adding their module names to
LEVELS.
"""
from importlib import import_module

from . import _api

#: SIMD levels from best to worst, with the module that holds their kernels.
LEVELS = {"baseline": "fastact._kernels"}

selected_level = None


def install(level="baseline"):
    """Load the kernels of `level` and make every public function use them."""
    global selected_level
    kernels = import_module(LEVELS[level])
    if tuple(kernels.KERNEL_NAMES) != tuple(_api.KERNEL_NAMES):
        raise ImportError(
            f"fastact: {LEVELS[level]} was built from a different activation table "
            "than fastact._api; rebuild the package")
    _api._use_kernels(kernels.table())
    selected_level = level
