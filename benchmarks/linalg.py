"""Matrix products through theon against numpy: ``python3 benchmarks/linalg.py``.

Prints medians (5 samples of >= 0.2 s each, theon's and numpy's samples alternating) for

* ``dot`` of two 2048 x 2048 matrices in float32 and float64, C-ordered and with the first
  operand a transposed view (theon must hand it to BLAS without a copy), in GFLOP/s;
* a 784-500-10 tanh MLP forward pass on a batch of 128 float32 rows:
  ``tanh(dot(tanh(dot(x, W1) + b1), W2) + b2)`` (theon has no softmax yet, so the last layer
  is tanh as well), in microseconds per pass.

Targets from the issue: products >= 0.8x numpy's speed, the MLP at least numpy's.
"""
import argparse
import gc
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import theon  # noqa: E402
import theon.tensor as T  # noqa: E402
from benchmarks.timing import _calls_per_sample  # noqa: E402
from theon.frontend.linalg import dot  # noqa: E402


def paired(ours, theirs, samples, min_sample_s):
    """Median seconds per call of ``ours`` and ``theirs`` and the median of the per-sample
    ratios theirs/ours.  Samples alternate (ours, theirs, ours, ...), so load from other
    processes on this shared machine falls on both sides alike.  GC is off while timing."""
    for call in (ours, theirs):
        call()
    counts = [_calls_per_sample(ours, min_sample_s), _calls_per_sample(theirs, min_sample_s)]
    times = ([], [])
    gc.disable()
    try:
        for _ in range(samples):
            for side, (call, count) in enumerate(zip((ours, theirs), counts)):
                start = time.perf_counter()
                for _ in range(count):
                    call()
                times[side].append((time.perf_counter() - start) / count)
    finally:
        gc.enable()
    ratios = [t / o for o, t in zip(*times)]
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def _matmul_rows(size, samples, min_sample_s):
    rows = []
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        a = T.matrix("a", dtype=dtype)
        b = T.matrix("b", dtype=dtype)
        f = theon.function([a, b], dot(a, b))
        x = rng.standard_normal((size, size)).astype(dtype)
        y = rng.standard_normal((size, size)).astype(dtype)
        for layout, left in (("C", x), ("a.T view", x.T)):
            np.testing.assert_allclose(f(left, y), np.matmul(left, y), rtol=1e-3, atol=1e-2)
            ours, theirs, ratio = paired(lambda: f(left, y), lambda: np.matmul(left, y),
                                         samples, min_sample_s)
            flops = 2.0 * size ** 3
            rows.append((f"matmul {size}^2 {dtype} ({layout})", f"{flops / ours / 1e9:.1f} GFLOP/s",
                         f"{flops / theirs / 1e9:.1f} GFLOP/s", ratio, 0.8))
    return rows


def _mlp_row(batch, samples, min_sample_s):
    rng = np.random.default_rng(1)
    x, w1, w2 = T.fmatrix("x"), T.fmatrix("W1"), T.fmatrix("W2")
    b1, b2 = T.fvector("b1"), T.fvector("b2")
    hidden = T.tanh(dot(x, w1) + b1)
    f = theon.function([x, w1, b1, w2, b2], T.tanh(dot(hidden, w2) + b2))
    values = [rng.standard_normal((batch, 784)).astype("float32"),
              (rng.standard_normal((784, 500)) * 0.05).astype("float32"),
              rng.standard_normal(500).astype("float32"),
              (rng.standard_normal((500, 10)) * 0.05).astype("float32"),
              rng.standard_normal(10).astype("float32")]

    def numpy_mlp(xv, w1v, b1v, w2v, b2v):
        return np.tanh(np.tanh(xv @ w1v + b1v) @ w2v + b2v)

    np.testing.assert_allclose(f(*values), numpy_mlp(*values), rtol=1e-4, atol=1e-5)
    ours, theirs, ratio = paired(lambda: f(*values), lambda: numpy_mlp(*values), samples,
                                 min_sample_s)
    steps = len(f.schedule.steps)
    label = f"MLP 784-500-10 tanh, batch {batch} ({steps} steps, {f.report.kernels} kernels)"
    return (label, f"{ours * 1e6:.0f} us", f"{theirs * 1e6:.0f} us", ratio, 1.0)


def main(argv=None):
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--min-sample-s", type=float, default=0.2)
    parser.add_argument("--mlp-only", action="store_true", help="skip the 2048^2 products")
    args = parser.parse_args(argv)
    rows = [] if args.mlp_only else _matmul_rows(args.size, args.samples, args.min_sample_s)
    rows.append(_mlp_row(128, args.samples, args.min_sample_s))
    header = ("case", "theon", "numpy", "numpy/theon", "target", "verdict")
    print(f"{header[0]:<52} {header[1]:>16} {header[2]:>16} {header[3]:>11} "
          f"{header[4]:>7} {header[5]:>7}")
    for label, ours, theirs, ratio, target in rows:
        verdict = "PASS" if ratio >= target else "MISS"
        print(f"{label:<52} {ours:>16} {theirs:>16} {ratio:>10.2f}x {target:>6}x "
              f"{verdict:>7}")
    print(f"(medians of {args.samples} alternating samples of >= {args.min_sample_s} s; "
          f"ratio: median of per-sample ratios; "
          f"numpy {np.__version__}; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
