"""What this build of fastact is and how it runs."""
import platform


def config():
    """The version, SIMD level, OpenMP and thread count, as a dict.

    simd_level is the level whose kernels run now; simd_levels the levels that
    are both built into this installation and supported by this CPU, worst to
    best (``fastact._dispatch.install`` accepts any of them; FASTACT_SIMD
    can ask for a lower one); simd_built the levels built, whatever the CPU.
    """
    from . import __version__, _api, _dispatch

    return {
        "version": __version__,
        "simd_level": _dispatch.selected_level,
        "simd_levels": _dispatch.available_levels(),
        "simd_built": _dispatch.built_levels(),
        "openmp": _api.HAVE_OPENMP,
        "num_threads": _api.get_num_threads(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def show_config():
    """Print config(), one item a line."""
    for key, value in config().items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) or "-"
        print(f"{key + ':':<12} {value}")
