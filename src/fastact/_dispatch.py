"""Choose the compiled kernel module whose loops every public function runs.

The kernels are compiled once per SIMD level into separately named modules
(``fastact._kernels_baseline``, ``_kernels_avx2``, ``_kernels_avx512``; see
setup.py), each exporting its loops as one table (``table()``); the public
functions in ``_api`` run whatever table is installed here. At import,
``install()`` picks the best level that was built AND whose features the CPU
running the code has (detected in compiled code: ext/_cpu.pxi, CPUID plus the
OS's XGETBV register-state check), never the build machine's.

The environment variable FASTACT_SIMD=baseline|avx2|avx512 asks for a level,
to force a LOWER one than the best (tests, benchmarks, bug hunting). A level
that the CPU lacks or that was not built is never used: a RuntimeWarning names
what was asked and what is used instead, which is the best allowed level. An
empty value, ``auto`` or ``best`` mean the default choice.

``install(level)`` switches at run time (ValueError for a level the CPU lacks
or that is not built); ``available_levels()`` lists the levels it accepts.
"""
import os
import warnings
from importlib import import_module
from importlib.util import find_spec

from . import _api

#: SIMD levels from worst to best: the kernel module and the CPU features
#: (names of ``cpu_features()``) each needs. The flags each module is compiled
#: with are in setup.py (SIMD_LEVELS); keep the two tables in step.
LEVELS = {
    "baseline": ("fastact._kernels_baseline", ()),
    "avx2": ("fastact._kernels_avx2", ("avx", "avx2", "fma", "os_avx")),
    "avx512": ("fastact._kernels_avx512",
               ("avx", "avx2", "fma", "os_avx", "avx512f", "avx512dq", "avx512vl",
                "avx512bw", "os_avx512")),
}

#: The environment variable that asks for a level.
ENV_VAR = "FASTACT_SIMD"

#: The level whose kernels are installed (None before the first install()).
selected_level = None

_cpu_features_cache = None


def cpu_features():
    """The CPU's SIMD features as {name: bool} (detected once, in compiled code)."""
    global _cpu_features_cache
    if _cpu_features_cache is None:
        _cpu_features_cache = dict(_api._cpu_features())
    return dict(_cpu_features_cache)


def missing_features(level):
    """The CPU features `level` needs that this CPU (or its OS) lacks."""
    features = cpu_features()
    return [name for name in LEVELS[level][1] if not features.get(name, False)]


def supported_levels():
    """Levels whose CPU features this CPU has, worst to best (built or not)."""
    return [level for level in LEVELS if not missing_features(level)]


def built_levels():
    """Levels whose kernel module is part of this installation, worst to best."""
    return [level for level, (module, _) in LEVELS.items() if find_spec(module) is not None]


def available_levels():
    """Levels that are both built and supported by this CPU, worst to best.

    These are the levels ``install`` accepts; the last one is the default.
    """
    built = built_levels()
    return [level for level in supported_levels() if level in built]


def best_level():
    """The level ``install()`` picks when FASTACT_SIMD does not ask for one."""
    levels = available_levels()
    return levels[-1] if levels else "baseline"


def _why_not(level):
    if level not in LEVELS:
        return f"it is not a SIMD level (expected one of {', '.join(LEVELS)})"
    missing = missing_features(level)
    if missing:
        return f"this CPU/OS lacks {', '.join(missing)}"
    if level not in built_levels():
        return "this build of fastact does not include its kernels"
    return None


def requested_level(environ=None):
    """The level FASTACT_SIMD asks for, normalized, or None for the default."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    value = value.strip().lower()
    return None if value in ("", "auto", "best") else value


def choose_level(requested=None):
    """The level to use when `requested` (e.g. from FASTACT_SIMD) is asked for.

    None gives the best available level. A level this CPU lacks, that was not
    built, or that does not exist gives a RuntimeWarning and the best allowed
    level; an available level is used as asked (it is never above the best).
    """
    best = best_level()
    if requested is None:
        return best
    reason = _why_not(requested)
    if reason is None:
        return requested
    warnings.warn(
        f"fastact: {ENV_VAR}={requested!r} cannot be used ({reason}); "
        f"using SIMD level {best!r} instead",
        RuntimeWarning, stacklevel=3)
    return best


def _load(level):
    module = LEVELS[level][0]
    kernels = import_module(module)
    if tuple(kernels.KERNEL_NAMES) != tuple(_api.KERNEL_NAMES):
        raise ImportError(
            f"fastact: {module} was built from a different activation table "
            "than fastact._api; rebuild the package")
    return kernels


def install(level=None):
    """Load the kernels of `level` and make every public function use them.

    level=None (what ``import fastact`` does) chooses from FASTACT_SIMD and the
    CPU (see ``choose_level``). An explicit level must be one of
    ``available_levels()``, else ValueError; a level this CPU lacks is never
    installed. Returns the level installed.
    """
    global selected_level
    if level is None:
        level = choose_level(requested_level())
        try:
            kernels = _load(level)
        except ImportError as error:
            # A broken or missing optimized module must not make fastact
            # unimportable: fall back to the baseline kernels.
            if level == "baseline":
                raise
            warnings.warn(f"fastact: cannot load the {level} kernels ({error}); "
                          "using the baseline kernels", RuntimeWarning, stacklevel=2)
            level = "baseline"
            kernels = _load(level)
    else:
        if not isinstance(level, str):
            raise TypeError(f"level must be a str; got {type(level).__name__}")
        level = level.strip().lower()
        reason = _why_not(level)
        if reason is not None:
            raise ValueError(f"cannot use SIMD level {level!r}: {reason} "
                             f"(available: {', '.join(available_levels())})")
        kernels = _load(level)
    _api._use_kernels(kernels.table())
    selected_level = level
    return level
