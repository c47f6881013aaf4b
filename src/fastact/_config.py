"""What this build of fastact is and how it runs."""
import platform


def config():
    """The version, SIMD level, OpenMP and thread count, as a dict."""
    from . import __version__, _api, _dispatch

    return {
        "version": __version__,
        "simd_level": _dispatch.selected_level,
        "openmp": _api.HAVE_OPENMP,
        "num_threads": _api.get_num_threads(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def show_config():
    """Print config(), one item a line."""
    for key, value in config().items():
        print(f"{key + ':':<12} {value}")
