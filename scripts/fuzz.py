#!/usr/bin/env python
"""Run the fuzz target of tests/test_fuzz.py for longer, or replay one spec.

    python scripts/fuzz.py                      # 10 minutes
    python scripts/fuzz.py --minutes 120        # longer
    python scripts/fuzz.py --first-seed 50 --batch 300   # the batches after the suite's
    python scripts/fuzz.py --replay "<spec>"    # one spec printed by a failure

It runs batches of hypothesis examples (tests/test_fuzz.py: every public
function, random dtypes -- refused ones included --, shapes, strides, byte
offsets, parameter values valid and invalid, out= combinations and thread
counts), prints progress after every batch (calls checked, valid calls that
matched fastact.reference within SPEC 5, invalid calls that raised
ValueError/TypeError as documented), and stops at the first failure,
printing hypothesis' shrunk example, the spec as a Python literal, a
--replay command line and hypothesis' @reproduce_failure blob. Exit status 0
when the time budget ran out without a failure, 1 on a failure.
"""
import argparse
import math  # noqa: F401  (nan / inf in replayed specs)
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import test_fuzz  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=500, help="hypothesis examples per batch")
    parser.add_argument("--first-seed", type=int,
                        help="draw batch k with seed FIRST_SEED + k (replayable; default: "
                             "fresh specs); the test suite draws its batches 0..49 of "
                             "FASTACT_FUZZ_EXAMPLES=300 examples this way")
    parser.add_argument("--replay", help="a spec (Python dict literal) to run once")
    args = parser.parse_args()

    if args.replay:
        spec = eval(args.replay, {"nan": float("nan"), "inf": float("inf")})  # noqa: S307
        print("outcome:", test_fuzz.run_spec(spec))
        return 0

    start = time.monotonic()

    def progress(batches, elapsed, stats):
        total = sum(stats.values())
        print(f"[{elapsed:7.0f} s] batch {batches}: {total} calls checked "
              f"({stats.get('ok', 0)} valid and matching the reference, "
              f"{stats.get('error', 0)} invalid and refused)", flush=True)

    try:
        stats = test_fuzz.fuzz_for(args.minutes * 60, examples=args.batch, progress=progress,
                                   first_seed=args.first_seed)
    except BaseException as e:  # a failure: hypothesis has printed the shrunk example
        if isinstance(e, KeyboardInterrupt):
            print("interrupted")
            return 130
        print("\nFAILURE after", f"{time.monotonic() - start:.0f} s")
        traceback.print_exc()
        text = str(e)
        i = text.find("spec={")
        if i >= 0:
            spec = text[i + 5:].split("\n")[0].split(": ")[0]
            if spec.endswith("}"):
                print("\nreplay with:\n  python scripts/fuzz.py --replay " + repr(spec))
        return 1
    print(f"done: {sum(stats.values())} calls, no failure "
          f"({stats.get('ok', 0)} valid, {stats.get('error', 0)} refused)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
