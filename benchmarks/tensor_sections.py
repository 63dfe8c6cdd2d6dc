"""Benchmark sections for reductions and linear algebra (issue #4): W2a row softmax, W2b
``sum(x*y, axis=1)``, matmul 2048², and the forward pass of a 784-500-10 tanh MLP.

Peers measured in the same run: numpy always, JAX (``jax.jit`` on the CPU) when it is
importable.  Targets are printed with PASS/MISS, never asserted.
"""
import gc

import numpy as np

from benchmarks import timing
from benchmarks.sections import Row, _verdict, fmt_ms

COPY_GBPS_NOTE = "this machine copies memory at 24-28 GB/s"


def _jax():
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        return jax
    except Exception:  # not installed, or it fails to start: the row says so
        return None


def _time(settings, call):
    return timing.measure(call, settings.samples, settings.min_sample_s)["median_s"]


def _rel_err(out, ref):
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.max(np.abs(np.asarray(out, np.float64) - ref)) /
                 max(np.max(np.abs(ref)), 1e-300))


def w2_reductions(settings):
    """W2a (row softmax) and W2b (row dot) on 4096x4096 float32."""
    import theon
    import theon.tensor as T
    rng = np.random.default_rng(0)
    x_value = rng.standard_normal((4096, 4096)).astype(np.float32)
    y_value = rng.standard_normal((4096, 4096)).astype(np.float32)
    x, y = T.fmatrix("x"), T.fmatrix("y")
    softmax = theon.function([x], T.nnet.softmax(x))
    rowdot = theon.function([x, y], T.sum(x * y, axis=1))

    def numpy_softmax(a):
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    cases = {
        "W2a softmax": (lambda: softmax(x_value), lambda: numpy_softmax(x_value),
                        numpy_softmax(x_value.astype(np.float64)), 2 * x_value.nbytes),
        "W2b sum(x*y,1)": (lambda: rowdot(x_value, y_value),
                           lambda: np.einsum("ij,ij->i", x_value, y_value),
                           (x_value.astype(np.float64) * y_value).sum(1),
                           2 * x_value.nbytes),
    }
    jax = _jax()
    rows, raw = [], {}
    for name, (ours, numpy_call, reference, nbytes) in cases.items():
        error = _rel_err(ours(), reference)
        theon_s, numpy_s = _time(settings, ours), _time(settings, numpy_call)
        peers = {"numpy": numpy_s}
        if jax is not None:
            peers["jax"] = _jax_time(settings, jax, name, x_value, y_value)
        raw[name] = {"theon_s": theon_s, "rel_err": error, **{k + "_s": v for k, v in
                                                              peers.items()}}
        ratio = ", ".join(f"{p}/theon {t / theon_s:.2f}x" for p, t in peers.items())
        gbps = nbytes / theon_s / 1e9
        if name.startswith("W2a"):
            target, ok = ">= 2x numpy", numpy_s / theon_s >= 2
        else:
            target = ">= JAX, >= 80% of bandwidth"
            ok = ("jax" not in peers or peers["jax"] >= theon_s) and gbps >= 0.8 * 24
        note = f"rel err {error:.1g}; theon {gbps:.1f} GB/s read; {COPY_GBPS_NOTE}"
        if jax is None:
            note += "; jax not installed"
        rows.append(Row("W2", name, "ms/call (median)", fmt_ms(theon_s),
                        ", ".join(f"{p} {fmt_ms(t)}" for p, t in peers.items()), ratio,
                        target, _verdict(ok and error < 1e-4), note))
        gc.collect()
    return rows, raw


def _jax_time(settings, jax, name, x_value, y_value):
    import jax.numpy as jnp
    if name.startswith("W2a"):
        f = jax.jit(lambda a: jax.nn.softmax(a, axis=1))
        args = (jnp.asarray(x_value),)
    else:
        f = jax.jit(lambda a, b: jnp.sum(a * b, axis=1))
        args = (jnp.asarray(x_value), jnp.asarray(y_value))
    f(*args).block_until_ready()
    return _time(settings, lambda: f(*args).block_until_ready())


def linalg(settings):
    """matmul 2048² float32/float64 and a 784-500-10 tanh MLP forward pass (batch 128)."""
    import theon
    import theon.tensor as T
    if not hasattr(T, "dot"):
        return [Row("linalg", "matmul / MLP", "n/a", note="T.dot is not available")], {}
    rng = np.random.default_rng(1)
    rows, raw = [], {}
    for dtype in ("float32", "float64"):
        a = rng.standard_normal((2048, 2048)).astype(dtype)
        b = rng.standard_normal((2048, 2048)).astype(dtype)
        x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
        f = theon.function([x, y], T.dot(x, y))
        theon_s, numpy_s = _time(settings, lambda: f(a, b)), _time(settings, lambda: a @ b)
        flops = 2 * 2048 ** 3
        raw[f"matmul {dtype}"] = {"theon_s": theon_s, "numpy_s": numpy_s}
        rows.append(Row("linalg", f"matmul 2048² {dtype}", "GFLOP/s",
                        f"{flops / theon_s / 1e9:.1f}", f"numpy {flops / numpy_s / 1e9:.1f}",
                        f"theon/numpy {numpy_s / theon_s:.2f}x", ">= 0.8x numpy",
                        _verdict(numpy_s / theon_s >= 0.8)))
        del a, b
    rows.append(_mlp_row(settings, rng, raw))
    return rows, raw


def _mlp_row(settings, rng, raw):
    import theon
    import theon.tensor as T
    sizes = (784, 500, 10)
    w1 = (rng.standard_normal(sizes[:2]) * 0.05).astype(np.float32)
    b1 = np.zeros(sizes[1], np.float32)
    w2 = (rng.standard_normal(sizes[1:]) * 0.05).astype(np.float32)
    b2 = np.zeros(sizes[2], np.float32)
    batch = rng.standard_normal((128, 784)).astype(np.float32)
    x = T.fmatrix("x")
    W1, B1, W2, B2 = T.fmatrix("W1"), T.fvector("b1"), T.fmatrix("W2"), T.fvector("b2")
    hidden = T.tanh(T.dot(x, W1) + B1)
    f = theon.function([x, W1, B1, W2, B2], T.nnet.softmax(T.dot(hidden, W2) + B2))

    def numpy_forward():
        h = np.tanh(batch @ w1 + b1)
        z = h @ w2 + b2
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    error = _rel_err(f(batch, w1, b1, w2, b2), numpy_forward())
    timed = timing.measure_interleaved(
        {"theon": lambda: f(batch, w1, b1, w2, b2), "numpy": numpy_forward},
        settings.samples, settings.min_sample_s)
    theon_s, numpy_s = timed["theon"]["median_s"], timed["numpy"]["median_s"]
    raw["mlp forward"] = {"theon_s": theon_s, "numpy_s": numpy_s, "rel_err": error}
    return Row("linalg", "MLP 784-500-10 fwd, batch 128", "µs/call (median)",
               f"{theon_s * 1e6:.0f}", f"numpy {numpy_s * 1e6:.0f}",
               f"numpy/theon {numpy_s / theon_s:.2f}x", ">= numpy",
               _verdict(numpy_s / theon_s >= 1 and error < 1e-4), f"rel err {error:.1g}")
