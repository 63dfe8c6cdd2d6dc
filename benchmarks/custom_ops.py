"""Custom elementwise ops (issue #9): a Huber loss written as a Python scalar function.

``mean(huber(prediction - target))`` on 1e7 float32 values, where ``huber`` is one plain
Python function used by every contestant that can take one:

* theon: ``theon.elemwise_op(huber)``: numba compiles it to LLVM IR, linked into theon's
  kernel, so the subtraction, the Huber function and the sum are one loop;
* numba: ``numba.vectorize`` of the same function (a ufunc), then numpy's mean: what a
  numba user writes without fusing by hand; and ``numba.njit`` of a hand-written loop that
  fuses everything (the fastest a Python user gets, at the price of writing the loop);
* numpy: the same loss in array expressions (``np.where``), no custom op at all.

The issue sets no target for this section; it shows where a custom op stands.
"""
import numpy as np

from benchmarks import timing
from benchmarks.sections import Row, fmt_ms

N = 10_000_000


def huber(r):
    """The Huber loss of one residual (delta 1)."""
    a = abs(r)
    return 0.5 * r * r if a <= 1.0 else a - 0.5


def contestants(prediction, target):
    """{name: callable computing the mean Huber loss} for every library installed."""
    import numba
    import theon
    import theon.tensor as T
    from theon.runtime.loader import wait_for_optimized

    x, y = T.fvector("prediction"), T.fvector("target")
    loss = theon.elemwise_op(huber)
    f = theon.function([x, y], loss(x - y).mean())
    wait_for_optimized()
    ufunc = numba.vectorize(["float32(float32)"])(huber)
    scalar = numba.njit(huber)

    @numba.njit
    def fused_loop(p, t):
        total = 0.0
        for i in range(p.shape[0]):
            total += scalar(p[i] - t[i])
        return total / p.shape[0]

    def numpy_loss():
        r = prediction - target
        a = np.abs(r)
        return np.where(a <= 1.0, 0.5 * r * r, a - 0.5).mean()

    return {"theon": lambda: f(prediction, target),
            "numba ufunc": lambda: ufunc(prediction - target).mean(),
            "numba loop": lambda: fused_loop(prediction, target),
            "numpy": numpy_loss}, f


def custom_ops(settings):
    """The Huber loss section: theon's fused custom op against numba and numpy."""
    rng = np.random.default_rng(9)
    n = N if not settings.quick else N // 10
    prediction = rng.normal(0, 2, n).astype(np.float32)
    target = rng.normal(0, 2, n).astype(np.float32)
    runners, f = contestants(prediction, target)
    expected = float(runners["numpy"]())
    for name, run in runners.items():
        value = float(run())
        if abs(value - expected) > 1e-4 * abs(expected):
            raise AssertionError(f"custom ops: {name} gives {value}, numpy {expected}")
    timed = timing.measure_interleaved(runners, settings.samples, settings.min_sample_s)
    theon_s = timed["theon"]["median_s"]
    rows = []
    for name in ("numba ufunc", "numba loop", "numpy"):
        peer_s = timed[name]["median_s"]
        rows.append(Row("custom ops", f"mean(huber(p - t)), {n:.0e} f32, vs {name}",
                        "ms/call (median)", fmt_ms(theon_s), f"{name} {fmt_ms(peer_s)}",
                        f"{peer_s / theon_s:.2f}x", "", "",
                        f"theon: {f.report.kernels} kernel(s)"))
    gbps = 2 * n * 4 / theon_s / 1e9
    rows.append(Row("custom ops", "  theon memory traffic", "GB/s (2 in)", f"{gbps:.1f}"))
    raw = {name: result["median_s"] for name, result in timed.items()}
    return rows, {"custom ops": raw}
