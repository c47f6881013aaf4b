"""fastact: fast, accurate activation functions for NumPy arrays on the CPU.

Every activation has a forward pass ``NAME(x)``, its derivative
``NAME_derivative(x)`` and a fused backward pass ``NAME_backward(grad_output,
x)``, on float32 and float64, with the parameter names and defaults of
``torch.nn.functional``. ``fastact.reference`` holds the plain NumPy
definition of each one; ``REGISTRY`` lists them all by name.
"""
from importlib.metadata import PackageNotFoundError, version as _version

from . import _api, _dispatch
from ._api import *  # noqa: F401,F403  (the public functions; see __all__)
from ._api import get_num_threads, set_num_threads  # noqa: F401 (public)
from ._threads import num_threads  # noqa: F401 (public)
from ._config import config, show_config  # noqa: F401 (public)
from .registry import REGISTRY, ActivationInfo, get_activation  # noqa: F401 (public)

try:
    __version__ = _version("fastact")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

_dispatch.install()

__all__ = sorted(
    [name for name in dir(_api) if not name.startswith("_") and callable(getattr(_api, name))]
    + ["num_threads", "config", "show_config", "REGISTRY", "ActivationInfo",
       "get_activation", "__version__"]
)
