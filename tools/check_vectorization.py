#!/usr/bin/env python
"""Which loops of fastact's kernels gcc vectorizes, at every SIMD level.

    python tools/check_vectorization.py                 # all levels this compiler builds
    python tools/check_vectorization.py --level avx512 --failures-only

For each level it renders and cythonizes ext/_kernels.pyx.tp exactly as
setup.py does (ext/_kernels_<level>.pyx, into a temporary directory), compiles
the C with setup.py's flags for that level plus ``-fopt-info-vec-optimized
-fopt-info-vec-missed``, and maps every loop gcc reports on back to the Cython
function that holds it (``sigmoid_forward_f32``, ``_rw_sum_exp[double]``, ...)
and to its .pyx/.pxi line. Inline helpers are inlined into their callers, so
a helper's loop is reported once per inlined copy; a loop counts as
vectorized only if every copy is.

Hot loops are the loops of the kernel module's own functions (every
elementwise loop and the row-wise softmax loops); loops of the point-function
modules (_formulas, _dd, inlined into them) are listed separately.

The row-wise helpers hold loops that are scalar by design (SCALAR_BY_DESIGN):
the outer loop over blocks of 16 (or 32) elements, whose inner loop over the
lanes is the one vectorized; the tail shorter than a block, each element
added to its own lane; the fixed-order combination of the lanes (the same bits for any
row length); and the Jacobians' loop over the lines of a column block, whose
inner loop over the columns is vectorized. They are listed as such, by count per function: one more loop
not vectorized in such a function (a lane loop that stopped vectorizing) is
a failure like any other, and so is a lane loop that gcc does not report
vectorized at all (unrolled completely before the vectorizer saw it). Exit
status: 0 if every other hot loop vectorized at every level checked, 1 if
one did not, 2 on a build problem (e.g. no gcc).
"""
import argparse
import collections
import os
import re
import runpy
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# "file.c:LINE:COL: optimized|missed: message" (continuation lines start with a space)
MESSAGE = re.compile(r"^(?P<file>[^:\s]+\.c):(?P<line>\d+):\d+: (?P<kind>optimized|missed|note): "
                     r"(?P<text>.*)$")
# A Cython function definition: "static ... NAME(args) {" on one line.
DEFINITION = re.compile(r"^static [^;=]*?\b(?P<name>(?:__pyx_fuse_\d+)?__pyx_f_\w+)\(.*\)\s*\{\s*$")
PYX_LINE = re.compile(r'^\s*/\* "(?P<file>[^"]+)":(?P<line>\d+)\s*$')

# gcc's reason for an outer loop holding several inner loops (loop nest): not
# a failure, the inner loops are checked (and listed) one by one.
OUTER_LOOP = "loop nest containing two or more consecutive inner loops"

# Row-wise functions and how many of their loops are scalar by design (module
# docstring), with what those loops are.
_BLOCK_TAIL = "the block loop (its lane loop vectorizes) and the tail shorter than a block"
_JACOBIAN_LINES = ("the loop over a column block's lines (its column loop vectorizes; "
                   "then the line's one diagonal element)")
SCALAR_BY_DESIGN = {
    "_rw_lanes_total": (1, "the 16 lanes' compensated sums combined in lane order"),
    "_rw_scan[float]": (3, _BLOCK_TAIL + ", and the lanes' max / NaN count combined"),
    "_rw_scan[double]": (3, _BLOCK_TAIL + ", and the lanes' max / min / NaN count combined"),
    "_rw_softmax_f32": (4, _BLOCK_TAIL + ", of the native float and the double passes"),
    "_rw_softmax_f64_pass": (2, _BLOCK_TAIL),
    "_rw_log_softmax_f32": (4, _BLOCK_TAIL + ", of the native float and the double passes"),
    "_rw_dot_f32": (2, _BLOCK_TAIL),
    "_rw_sum_max_f32": (3, _BLOCK_TAIL + ", and the lanes' sums / max combined"),
    "_rw_log_softmax_f64_sum": (2, _BLOCK_TAIL),
    "_rw_dot[float]": (2, _BLOCK_TAIL),
    "_rw_dot[double]": (2, _BLOCK_TAIL),
    "_rw_softmax_jacobian[float]": (1, _JACOBIAN_LINES),
    "_rw_softmax_jacobian[double]": (1, _JACOBIAN_LINES),
    "_rw_log_softmax_jacobian[float]": (1, _JACOBIAN_LINES),
    "_rw_log_softmax_jacobian[double]": (1, _JACOBIAN_LINES),
    # gcc splits these row functions (.part.0) and reports the call to the
    # split-off part as a loop at the function's line
    "softmax_backward_row_f32": (1, "the call of its partially inlined body"),
    "log_softmax_backward_row_f32": (1, "the call of its partially inlined body"),
    "log_softmax_backward_row_f64": (1, "the call of its partially inlined body"),
}


# A lane loop: the loop directly inside a row-wise block loop.  gcc unrolls a
# loop of up to 16 iterations with a small body completely, before it
# vectorizes; the unrolled lanes then leave no loop to report at all (and
# ran scalar: float32 softmax's max pass was 10x slower that way), so a lane
# loop counts as vectorized only if gcc reports it so.
BLOCK_LOOP = re.compile(r"^\s*for b in range\(0, nb, \d+\):\s*$")
LANE_LOOP = re.compile(r"^\s*for j in range\(_RW_\w*LANES\):\s*$")


def lane_loops(source, fma=True):
    """{function: {"file:line" of its lane loops}} for the .pxi file ``source``.

    Without fma (baseline), the lane loops under ``if FA_NATIVE32`` are left
    out: the native float32 passes are dead code there (ext/_native32.h)."""
    lines = Path(source).read_text().splitlines()
    found = collections.defaultdict(set)
    function = None
    native_indent = None
    for number, text in enumerate(lines):
        m = re.match(r"^cdef\b.*?\b(?P<name>\w+)\(", text)
        if m:
            function = m.group("name")
        indent = len(text) - len(text.lstrip())
        if native_indent is not None and text.strip() and indent <= native_indent:
            native_indent = None
        if re.match(r"^\s*if FA_NATIVE32\b", text):
            native_indent = indent
        if not fma and native_indent is not None:
            continue
        if (function and BLOCK_LOOP.match(text) and number + 1 < len(lines)
                and LANE_LOOP.match(lines[number + 1])):
            found[function].add(f"{Path(source).name}:{number + 2}")
    return found


def unrolled_lane_loops(rows, lanes):
    """[(label, "file:line")] of the lane loops (``lanes``, from lane_loops) that
    a reported copy of their function (``rows``: (label, "file:line", status))
    does not report vectorized."""
    vectorized = {(label, pyx) for label, pyx, status in rows if status == "vectorized"}
    copies = {label for label, _, _ in rows if label.split("[")[0] in lanes}
    return sorted((label, pyx) for label in copies for pyx in lanes[label.split("[")[0]]
                  if (label, pyx) not in vectorized)


def scalar_by_design(labels):
    """The functions among ``labels`` (one per loop not vectorized) whose scalar
    loops are all by design: at most SCALAR_BY_DESIGN's count of them."""
    counts = collections.Counter(labels)
    return {label for label, count in counts.items()
            if count <= SCALAR_BY_DESIGN.get(label, (0, ""))[0]}


# The fused type of the row-wise helpers, _rw_real, is (float, double).
FUSE_LABELS = {"0": "float", "1": "double"}


def load_setup():
    """setup.py's tables and template renderer, without running setup()."""
    return runpy.run_path(str(ROOT / "setup.py"), run_name="fastact_setup")


def demangle(symbol):
    """('_kernels_avx2' or '_formulas' ..., 'sigmoid_forward_f32[float]')."""
    fuse = None
    m = re.match(r"__pyx_fuse_(\d+)(.*)", symbol)
    if m:
        fuse, symbol = m.group(1), m.group(2)
    rest = symbol[len("__pyx_f_"):]
    parts = []
    while rest and rest[0].isdigit():
        m = re.match(r"(\d+)", rest)
        n = int(m.group(1))
        start = len(m.group(1))
        parts.append(rest[start:start + n])
        rest = rest[start + n + 1:]  # skip the component and its "_"
    name = rest
    if fuse is not None:
        name += f"[{FUSE_LABELS.get(fuse, 'fuse ' + fuse)}]"
    return (parts[-1] if parts else "?"), name


def c_functions(c_lines):
    """[(first_line, last_line, module, name, C symbol)] of the Cython functions."""
    out = []
    current = None
    for number, text in enumerate(c_lines, 1):
        if current is None:
            m = DEFINITION.match(text)
            if m:
                current = (number, m.group("name"))
        elif text.startswith("}"):
            module, name = demangle(current[1])
            out.append((current[0], number, module, name, current[1]))
            current = None
    return out


def pyx_location(c_lines, line):
    """The .pyx/.pxi file and line Cython's comment names just above C `line`."""
    for number in range(line - 1, max(0, line - 400), -1):
        m = PYX_LINE.match(c_lines[number - 1])
        if m:
            return f"{os.path.basename(m.group('file'))}:{m.group('line')}"
    return "?"


def parse_messages(text):
    """{c_line: {'vectorized': n, 'missed': n, 'reasons': [..], 'widths': set}}."""
    loops = collections.defaultdict(
        lambda: {"vectorized": 0, "missed": 0, "reasons": [], "widths": set()})
    current = None  # the loop whose failure reasons follow
    for raw in text.splitlines():
        if raw.startswith(" ") and current is not None and current["reasons"]:
            current["reasons"][-1] += " " + raw.strip()
            continue
        m = MESSAGE.match(raw)
        if not m:
            continue
        line, msg = int(m.group("line")), m.group("text")
        if msg.startswith("loop vectorized"):
            loops[line]["vectorized"] += 1
            width = re.search(r"using (\d+) byte vectors", msg)
            if width:
                loops[line]["widths"].add(int(width.group(1)))
            current = None
        elif msg.startswith("couldn't vectorize loop"):
            loops[line]["missed"] += 1
            current = loops[line]
        elif current is not None and m.group("kind") == "missed" and (
                msg.startswith("not vectorized") or "clobbers memory" in msg):
            if len(current["reasons"]) < 8:
                current["reasons"].append(msg)
        elif "basic block" in msg:
            current = None
    return loops


def compile_level(setup_ns, level, workdir, verbose):
    """Cythonize and compile _kernels_<level>; return (C lines, gcc's messages)."""
    pyx = ROOT / "ext" / f"_kernels_{level}.pyx"
    c_file = workdir / f"_kernels_{level}.c"
    subprocess.run([sys.executable, "-m", "cython", "-3", "--module-name",
                    f"fastact._kernels_{level}", "-I", str(ROOT / "ext"), "-o", str(c_file),
                    str(pyx)], check=True, cwd=ROOT)
    import numpy
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "gcc"
    command = (cc.split() + ["-c", str(c_file), "-o", str(workdir / f"{level}.o"), "-fPIC",
                             "-g0", "-fwrapv", "-DNDEBUG",
                             "-DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION",
                             "-I", str(ROOT / "ext"), "-I", numpy.get_include(),
                             "-I", sysconfig.get_paths()["include"]]
               + setup_ns["MATH_FLAGS"] + setup_ns["SIMD_LEVELS"][level]
               + ["-fopt-info-vec-optimized", "-fopt-info-vec-missed"])
    if verbose > 1:
        print(" ".join(command), file=sys.stderr)
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling the {level} kernels failed:\n{proc.stderr[-3000:]}")
    return c_file.read_text().splitlines(), proc.stderr, external_calls(workdir / f"{level}.o")


def external_calls(object_file):
    """{C symbol: sorted external functions it calls} from objdump -dr (or {})."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return {}
    proc = subprocess.run([objdump, "-dr", str(object_file)], capture_output=True, text=True)
    calls = collections.defaultdict(set)
    current = None
    for text in proc.stdout.splitlines():
        m = re.match(r"^[0-9a-f]+ <(?P<sym>[^>]+)>:$", text)
        if m:
            current = m.group("sym")
            continue
        m = re.search(r"R_X86_64_PLT32\s+(?P<target>[A-Za-z_]\w*)", text)
        if m and current and not m.group("target").startswith(("__pyx", "Py", "_Py")):
            calls[current].add(m.group("target"))
    return {sym: sorted(targets) for sym, targets in calls.items()}


def report_level(level, c_lines, messages, verbose, calls=None):
    """Print the level's loops; return the number of hot loops that did not vectorize."""
    functions = c_functions(c_lines)
    loops = parse_messages(messages)
    kernel_module = f"_kernels_{level}"
    rows = []  # (hot, module, name, pyx, status, detail)
    for line in sorted(loops):
        info = loops[line]
        owner = next((f for f in functions if f[0] <= line <= f[1]), None)
        if owner is None:
            continue  # Cython's own utility code (module init, error handling)
        _, _, module, name, symbol = owner
        if module not in (kernel_module, "_formulas", "_dd", "_vmath"):
            continue
        hot = module == kernel_module
        if info["missed"] and info["reasons"] and not info["vectorized"] and all(
                OUTER_LOOP in reason for reason in info["reasons"]):
            # An outer loop over blocks (float32 backward): gcc vectorizes only
            # innermost loops, and its inner loops have their own rows.
            if verbose:
                print(f"  (outer loop of {name} at {pyx_location(c_lines, line)}: "
                      "its inner loops are listed separately)")
            continue
        if info["missed"] == 0:
            status = "vectorized"
            detail = "/".join(str(8 * w) for w in sorted(info["widths"], reverse=True)) + "-bit"
        else:
            status = "NOT vectorized" if info["vectorized"] == 0 else "PARTLY vectorized"
            reason = info["reasons"][0] if info["reasons"] else "(no reason given)"
            detail = reason if len(reason) < 160 else reason[:157] + "..."
            if info["vectorized"]:
                detail = f"{info['missed']} inlined copies not vectorized: " + detail
            # gcc's reason is often the last vector mode's ("no vectype for
            # stmt"); the libm calls left in the compiled loop say more.
            called = (calls or {}).get(symbol)
            if called:
                detail += f" [calls {', '.join(called)}]"
        label = name if module == kernel_module else f"{module}.{name}"
        rows.append((hot, label, pyx_location(c_lines, line), status, detail, info))

    hot = [r for r in rows if r[0]]
    inner = [r for r in rows if not r[0]]
    scalar = [r for r in hot if r[3] != "vectorized"]
    per_function = collections.Counter(r[1] for r in scalar)
    by_design = scalar_by_design(r[1] for r in scalar)
    failed = [r for r in scalar if r[1] not in by_design]
    n_design = len(scalar) - len(failed)
    unrolled = unrolled_lane_loops([(r[1], r[2], r[3]) for r in hot],
                                   lane_loops(ROOT / "ext" / "_rowwise_loops.pxi",
                                              "-mfma" in SETUP["SIMD_LEVELS"][level]))
    print(f"== {level} ({' '.join(SETUP['SIMD_LEVELS'][level]) or 'default flags'}): "
          f"{len(hot) - len(scalar)} of {len(hot)} hot loops vectorized, "
          f"{n_design} scalar by design, {len(failed) + len(unrolled)} failed")
    for label, pyx in unrolled:
        print(f"  {label:<30}  lane loop at {pyx} not reported vectorized (unrolled "
              "completely before vectorization?)")
    width = max([len(r[1]) for r in rows] + [10])
    for _, label, pyx, status, detail, _ in hot:
        if status == "vectorized" and not verbose or label in by_design:
            continue
        print(f"  {label:<{width}}  {pyx:<30} {status}: {detail}")
    if not verbose and len(failed) < len(hot):
        print(f"  (the other {len(hot) - len(scalar)} vectorized; run without "
              "--failures-only to list them)")
    if by_design:
        print(f"  scalar by design ({n_design}):")
        for label in sorted(by_design):
            print(f"  {label:<{width}}  {per_function[label]} loop(s): "
                  f"{SCALAR_BY_DESIGN[label][1]}")
    if inner:
        print(f"  loops inside point functions (inlined into the loops above): {len(inner)}")
        for _, label, pyx, status, detail, _ in inner:
            if status != "vectorized" or verbose:
                print(f"  {label:<{width}}  {pyx:<30} {status}: {detail}")
    if verbose > 1:
        for _, label, pyx, status, _, info in rows:
            for reason in info["reasons"][1:]:
                print(f"    {label}: {reason[:200]}")
    return len(failed) + len(unrolled)


SETUP = None


def main(argv=None):
    global SETUP
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--level", action="append",
                        help="SIMD level to check (repeatable; default: every level "
                             "setup.py would build with this compiler)")
    parser.add_argument("--failures-only", action="store_true",
                        help="list only the loops that did not vectorize")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="also every reason gcc gives and the gcc command")
    parser.add_argument("--keep", action="store_true", help="keep the generated C files")
    args = parser.parse_args(argv)
    args.verbose += 0 if args.failures_only else 1

    SETUP = load_setup()
    levels = args.level or SETUP["simd_levels_to_build"]()
    unknown = [lvl for lvl in levels if lvl not in SETUP["SIMD_LEVELS"]]
    if unknown:
        parser.error(f"unknown level(s) {', '.join(unknown)}; "
                     f"expected {', '.join(SETUP['SIMD_LEVELS'])}")
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        SETUP["render_templates"]()
    finally:
        os.chdir(cwd)

    workdir = Path(tempfile.mkdtemp(prefix="fastact_vec_"))
    not_vectorized = 0
    try:
        for level in levels:
            try:
                c_lines, messages, calls = compile_level(SETUP, level, workdir, args.verbose)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            not_vectorized += report_level(level, c_lines, messages, args.verbose, calls)
    finally:
        if args.keep:
            print(f"(generated C kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'FAIL' if not_vectorized else 'OK'}: {not_vectorized} hot loop(s) not "
          f"vectorized over {len(levels)} level(s)")
    return 1 if not_vectorized else 0


if __name__ == "__main__":
    sys.exit(main())
