"""tools/check_vectorization.py's rules for the row-wise loops that are scalar by
design: a function passes while it has at most its listed count of scalar
loops, and one more (a lane loop that stopped vectorizing) fails it; any other
function fails with a single scalar loop; and a block loop's lane loop must
be reported vectorized, by every copy of its function. (Compiling the kernels to check gcc's
reports themselves takes minutes: run the tool.)"""
import runpy
from pathlib import Path

import pytest

TOOL_PATH = Path(__file__).resolve().parent.parent / "tools" / "check_vectorization.py"
if not TOOL_PATH.exists():  # tests run from a copy beside an installed wheel
    pytest.skip("tools/check_vectorization.py is not beside the tests",
                allow_module_level=True)
TOOL = runpy.run_path(str(TOOL_PATH), run_name="check_vectorization")
ALLOWED = TOOL["SCALAR_BY_DESIGN"]
scalar_by_design = TOOL["scalar_by_design"]


def test_up_to_the_count_is_by_design():
    labels = [label for label, (count, _) in ALLOWED.items() for _ in range(count)]
    assert scalar_by_design(labels) == set(ALLOWED)


def test_one_more_scalar_loop_fails_the_function():
    labels = ["_rw_softmax_f32"] * (ALLOWED["_rw_softmax_f32"][0] + 1) + ["_rw_lanes_total"]
    assert scalar_by_design(labels) == {"_rw_lanes_total"}


def test_other_functions_are_never_by_design():
    assert scalar_by_design(["sigmoid_forward_f32", "gelu_erf_gated_backward_f64"]) == set()
    assert all(count > 0 and reason for count, reason in ALLOWED.values())


def test_every_block_loop_of_the_row_loops_has_its_lane_loop_found():
    source = TOOL["ROOT"] / "ext" / "_rowwise_loops.pxi"
    lanes = TOOL["lane_loops"](source)
    assert {"_rw_scan", "_rw_softmax_f32", "_rw_dot"} <= set(lanes)
    # the float32 softmax passes have a native block (FA_NATIVE32) beside
    # the double one: two lane loops at the FMA levels, one at baseline
    baseline = TOOL["lane_loops"](source, fma=False)
    two = {"_rw_softmax_f32", "_rw_log_softmax_f32"}
    assert all(len(lines) == (2 if name in two else 1) for name, lines in lanes.items())
    assert all(len(lines) == 1 for lines in baseline.values())
    assert set(baseline) == set(lanes)


def test_a_lane_loop_not_reported_vectorized_fails_its_copy():
    # a fully unrolled lane loop leaves no report at its line (the float copy
    # here); a copy whose lane loop vectorized passes (the double copy)
    lanes = {"_rw_scan": {"_rowwise_loops.pxi:183"}}
    rows = [("_rw_scan[float]", "_rowwise_loops.pxi:182", "NOT vectorized"),
            ("_rw_scan[double]", "_rowwise_loops.pxi:182", "NOT vectorized"),
            ("_rw_scan[double]", "_rowwise_loops.pxi:183", "vectorized"),
            ("sigmoid_forward_f32", "_kernels_avx512.pyx:10", "vectorized")]
    assert TOOL["unrolled_lane_loops"](rows, lanes) == [("_rw_scan[float]",
                                                          "_rowwise_loops.pxi:183")]
