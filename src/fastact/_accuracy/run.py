"""``python -m fastact accuracy``: measure, write JSON, print the Markdown table.

    python -m fastact accuracy                      # CI-sized: float32 every 256th
                                                    # bit pattern, 20k float64 points
    python -m fastact accuracy --stride 1 --float64 1000000 --json acc.json
                                                    # the exhaustive run (~1 h on 2 cores)
    python -m fastact accuracy --table acc.json     # the table of a saved run

The JSON holds every (function, kind) record of the float32 sweep, the float64
sample and the softmax rows, with PyTorch's errors on the same inputs when
torch is installed, plus the machine and settings; ``markdown`` turns it into
the README's table.
"""

import datetime
import json
import math
import platform
import time

from . import cases as _cases
from . import gated, peers, rows, sample64, sweep32


def _meta(args):
    import numpy as np

    import fastact as fa

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "fastact": fa.__version__,
        "simd_level": args.level or fa.config()["simd_level"],
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "stride": args.stride,
        "float64_samples": args.float64,
    }
    if peers.available():
        meta["torch"] = peers._baselines().TORCH_VERSION
    return meta


def _labels(selected):
    labels = [c.label for c in _cases.UNARY]
    if selected:
        unknown = sorted(set(selected) - set(labels))
        if unknown:
            raise SystemExit(f"fastact accuracy: unknown function(s) {unknown}; choose from {labels}")
        labels = [label for label in labels if label in selected]
    return labels


def run_float32(args, labels):
    kinds = args.kind or ["forward", "derivative"]
    results = sweep32.run(labels, kinds, stride=args.stride, processes=args.processes,
                          level=args.level, with_torch=not args.no_torch,
                          progress=args.progress)
    records = []
    for label in labels:
        for kind in kinds:
            ours, theirs = results[(label, kind)]
            record = {"function": label, "kind": kind, "fastact": ours.as_dict(),
                      "torch": None if theirs is None else theirs.as_dict()}
            if kind != "backward" and not args.no_confirm:
                points = [ours.worst_x, ours.window_worst_x]
                record["mpmath_at_worst"] = [float(e) for e in sweep32.confirm(label, kind, points)]
            records.append(record)
    return records


def run_float64(args, labels):
    kinds = args.kind or ["forward", "derivative", "backward"]
    extra = [c.label for c in _cases.UNARY_PARAMS] if not args.function else []
    every = labels + extra
    results = sample64.run(every, kinds, args.float64, processes=args.processes or 2,
                           level=args.level, progress=args.progress)
    return [{"function": label, "kind": kind, "fastact": results[(label, kind)].as_dict()}
            for label in every for kind in kinds]


def run_rows(args):
    import numpy as np

    if args.level:
        from fastact import _dispatch

        _dispatch.install(args.level)
    records = []
    for dtype in (np.float32, np.float64):
        for (function, name), t in rows.measure(dtype).items():
            records.append({"function": function, "kind": name, "dtype": np.dtype(dtype).name,
                            "fastact": t.as_dict()})
    return records


def main(args):
    if args.table:
        with open(args.table) as f:
            print(markdown(json.load(f)))
        return 0
    started = time.monotonic()
    labels = _labels(args.function)
    data = {"meta": _meta(args)}
    if args.stride:
        data["float32"] = run_float32(args, labels)
    if args.float64:
        data["float64"] = run_float64(args, labels)
    if args.rows and not args.function and not args.kind:
        data["rows"] = run_rows(args)
    if args.float64 and not args.function and not args.kind:
        data["gated"] = gated.run(max(args.float64 // 10, 1000))
    data["meta"]["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    print(markdown(data))
    return 0 if not failures(data) else 1


def failures(data):
    """(section, function, kind) of every record with elements over the SPEC."""
    bad = []
    for section in ("float32", "float64", "rows", "gated"):
        for r in data.get(section, []):
            if r["fastact"]["failures"]:
                bad.append((section, r["function"], r["kind"]))
    return bad


def _fmt(value):
    value = float(value)
    if math.isinf(value):
        return "inf"
    if math.isnan(value):
        return "—"
    return f"{value:.3g}"


def _row(cells):
    return "| " + " | ".join(cells) + " |"


def _header(*names):
    return [_row(names), "|" + "---|" * len(names)]


def markdown(data):
    """The README's tables: max ULP per function, kind and dtype, PyTorch alongside."""
    meta = data["meta"]
    lines = []
    f32 = {(r["function"], r["kind"]): r for r in data.get("float32", [])}
    if f32:
        stride = meta["stride"]
        what = "all 2^32 inputs" if stride == 1 else f"every {stride}th bit pattern"
        lines += [f"float32, {what} (SIMD level {meta['simd_level']}), max ULP error "
                  "(derivatives: outside ±0.05 of a zero of f'; inside, abs error in eps):", ""]
        lines += _header("function", "forward", "PyTorch", "derivative", "near f' = 0 (eps)",
                         "PyTorch")
        for label in dict.fromkeys(label for label, _ in f32):
            fw, dv = f32.get((label, "forward")), f32.get((label, "derivative"))
            lines.append(_row([label, _cell(fw, "max_ulp"), _cell(fw, "max_ulp", "torch"),
                               _cell(dv, "max_ulp"), _cell(dv, "window_abs_eps"),
                               _cell(dv, "max_ulp", "torch")]))
    f64 = {(r["function"], r["kind"]): r for r in data.get("float64", [])}
    if f64:
        lines += ["", f"float64 against mpmath, {meta['float64_samples']} inputs per function "
                  "and kind, max ULP error (near f' = 0: abs error in eps, times |g| for "
                  "backward):", ""]
        lines += _header("function", "forward", "derivative", "near f' = 0 (eps)", "backward")
        for label in dict.fromkeys(label for label, _ in f64):
            dv = f64.get((label, "derivative"))
            lines.append(_row([label, _cell(f64.get((label, "forward")), "max_ulp"),
                               _cell(dv, "max_ulp"), _cell(dv, "window_abs_eps"),
                               _cell(f64.get((label, "backward")), "max_ulp")]))
    row_records = data.get("rows", [])
    if row_records:
        lines += ["", "softmax rows (lengths 1 to 65536, spreads 1e-3 to 1e4, temperatures, "
                  "ties, ±inf), max ULP error per element:", ""]
        lines += _header("function", "float32", "float64")
        for function in rows.FUNCTIONS:
            worst = [max((r["fastact"]["max_ulp"] for r in row_records
                          if r["function"] == function and r["dtype"] == dtype), default=None)
                     for dtype in ("float32", "float64")]
            lines.append(_row([function] + ["—" if w is None else _fmt(w) for w in worst]))
    gated_records = {(r["function"], r["kind"], r["dtype"]): r for r in data.get("gated", [])}
    if gated_records:
        lines += ["", "GLU family (f(gate) * up; backward: both gradients), max ULP error "
                  "(float64 against mpmath, float32 against the float64 results):", ""]
        lines += _header("function", "forward float32", "backward float32", "forward float64",
                         "backward float64")
        for label in dict.fromkeys(label for label, _, _ in gated_records):
            lines.append(_row([label] + [_cell(gated_records.get((label, k, d)), "max_ulp")
                                         for d in ("float32", "float64")
                                         for k in ("forward", "backward")]))
    bad = failures(data)
    lines += ["", "Elements outside SPEC section 5: "
              + ("none." if not bad else ", ".join(f"{s}: {f} {k}" for s, f, k in bad))]
    return "\n".join(lines)


def _cell(record, field, who="fastact"):
    if record is None or record.get(who) is None:
        return "—"
    tally = record[who]
    if field == "window_abs_eps" and math.isnan(float(tally["window_worst_x"])):
        return "—"   # no input near a zero of f'
    text = _fmt(tally[field])
    if who == "torch" and tally["failures"]:
        where = tally["worst_x"] if field == "max_ulp" else tally["window_worst_x"]
        text += f" (x={float(where):.4g})"
    return text
