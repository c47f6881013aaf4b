"""fastact's accuracy harness: SPEC section 5 measured, not asserted.

Used by tests/test_accuracy.py (CI-sized samples, at every SIMD level) and by
``python -m fastact accuracy`` (any size, up to every float32 input).  Needs
mpmath (``pip install 'fastact[test]'``); gmpy2, when installed, makes mpmath
about twice as fast.

- ``ulp``      the measure: ULP error against a true value, the near-zero rule
- ``mpref``    the true values: every activation in mpmath at 50 digits
- ``cases``    what is measured and how fastact, mpmath and PyTorch compute it
- ``tally``    the summary of a measurement (max error, where, failures)
- ``sweep32``  float32 over bit patterns (all 2^32, strided, dense ranges),
               against the float64 kernels, worst points confirmed in mpmath
- ``sample64`` float64 inputs where errors live, against mpmath
- ``rows``     softmax / log_softmax rows against mpmath
- ``gated``    glu, swiglu, geglu: f(gate) * up and both gradients
- ``peers``    PyTorch's results on the same inputs
- ``run``      the command line: JSON records and the README's Markdown table
"""
