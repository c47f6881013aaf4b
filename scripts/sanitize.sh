#!/usr/bin/env bash
# Build fastact with AddressSanitizer + UndefinedBehaviorSanitizer in a scratch
# copy of the working tree and run the test suite under them (issue 6, item 3).
#
#   scripts/sanitize.sh [pytest arguments...]     e.g. scripts/sanitize.sh -x tests/test_out.py
#
# Exits non-zero when the build fails, a test fails, or ASan/UBSan report
# anything (also from subprocesses the tests start: every report goes to a log
# file, and any log file fails the run). Needs gcc (or clang) with the
# sanitizer runtimes, and the test requirements (pytest, hypothesis, mpmath).
#
# What it does, as NumPy's sanitizer job does:
# - copies the working tree (not .git, builds or generated sources) to a
#   scratch directory ($FASTACT_SANITIZE_DIR, default a fresh mktemp -d) and
#   builds in place there: nothing in the checkout is touched;
# - compiles every extension with -fsanitize=address,undefined plus
#   float-cast-overflow (a float -> int conversion out of range is UB too),
#   -fno-sanitize-recover, -fno-omit-frame-pointer and -g. The flags go in
#   through CFLAGS/LDFLAGS, which setuptools honours; setup.py's own flags
#   (-O3 -fno-math-errno -fno-trapping-math -ffp-contract=off) come later on
#   the command line and stay in force, so the sanitized code is the shipped
#   code's optimisation level. float-divide-by-zero is NOT checked: x/0 giving
#   inf is IEEE behaviour the kernels rely on;
# - builds the baseline SIMD level only by default (saves two thirds of the
#   kernel build; the three levels compile the same source). Set
#   FASTACT_SIMD_LEVELS=baseline,avx2,avx512 to sanitize them all; the
#   dispatcher then picks the best the CPU runs;
# - runs pytest with the ASan runtime preloaded (the interpreter itself is not
#   instrumented), PYTHONMALLOC=malloc so Python's allocations are checked
#   too, ASAN_OPTIONS=detect_leaks=0 (CPython keeps its allocations at exit),
#   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1;
# - exports FASTACT_SANITIZER=1: tests that cannot work under ASan (arrays of
#   2^31 elements: ASan's shadow memory and quarantine; RSS-based leak checks:
#   the quarantine holds freed memory) skip themselves when it is set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
CC="${CC:-gcc}"
SCRATCH="${FASTACT_SANITIZE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fastact-sanitize.XXXXXX")}"
LOGS="$SCRATCH/sanitizer-logs"
START=$(date +%s)

echo "sanitize: scratch copy in $SCRATCH"
mkdir -p "$SCRATCH"
# The working tree, uncommitted changes included, without git metadata, build
# products and the sources setup.py generates.
tar -C "$ROOT" -cf - \
    --exclude=./.git --exclude=./build --exclude='*.so' --exclude='*.egg-info' \
    --exclude=__pycache__ --exclude=.pytest_cache --exclude=.hypothesis \
    --exclude=./bench/results --exclude='./ext/*.c' --exclude='./ext/_api.pyx' \
    --exclude='./ext/_kernels_*.pyx' . | tar -C "$SCRATCH" -xf -

ASAN_LIB="$("$CC" -print-file-name=libasan.so)"
UBSAN_LIB="$("$CC" -print-file-name=libubsan.so)"
for lib in "$ASAN_LIB" "$UBSAN_LIB"; do
    if [ ! -e "$lib" ]; then
        echo "sanitize: $CC has no $(basename "$lib") (install the sanitizer runtimes)" >&2
        exit 2
    fi
done

SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all"
export CC
export CFLAGS="${CFLAGS:-} $SAN -fno-omit-frame-pointer -g"
export LDFLAGS="${LDFLAGS:-} $SAN"
export FASTACT_DEBUG=1                       # keep -g (setup.py adds -g0 otherwise)
export FASTACT_SIMD_LEVELS="${FASTACT_SIMD_LEVELS:-baseline}"

echo "sanitize: building (SIMD levels: $FASTACT_SIMD_LEVELS) with $SAN"
(cd "$SCRATCH" && "$PYTHON" setup.py build_ext --inplace) > "$SCRATCH/build.log" 2>&1 || {
    tail -n 40 "$SCRATCH/build.log" >&2
    echo "sanitize: build failed (full log: $SCRATCH/build.log)" >&2
    exit 2
}
BUILT=$(date +%s)
echo "sanitize: built in $((BUILT - START)) s"

rm -rf "$LOGS" && mkdir -p "$LOGS"
status=0
(
    cd "$SCRATCH"
    export PYTHONPATH="$SCRATCH/src${PYTHONPATH:+:$PYTHONPATH}"
    export LD_PRELOAD="$ASAN_LIB $UBSAN_LIB${LD_PRELOAD:+ $LD_PRELOAD}"
    export PYTHONMALLOC=malloc
    export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=99:log_path=$LOGS/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=99:log_path=$LOGS/ubsan"
    export FASTACT_SANITIZER=1
    # The package under test must be the sanitized build in the scratch copy.
    "$PYTHON" -c 'import fastact, sys; sys.exit(0 if fastact.__file__.startswith(sys.argv[1]) else
                  "sanitize: imported " + fastact.__file__ + " instead of the scratch build")' \
        "$SCRATCH/src"
    "$PYTHON" -m pytest -q -p no:cacheprovider "${@:-tests}"
) || status=$?
END=$(date +%s)

reports=$(find "$LOGS" -type f | sort)
if [ -n "$reports" ]; then
    echo "sanitize: sanitizer reports:" >&2
    for f in $reports; do
        echo "==== $f" >&2
        cat "$f" >&2
    done
    [ "$status" -ne 0 ] || status=98
fi
echo "sanitize: tests ran $((END - BUILT)) s, total $((END - START)) s;" \
     "pytest exit status $status; $(echo -n "$reports" | grep -c . || true) report file(s)"
exit "$status"
