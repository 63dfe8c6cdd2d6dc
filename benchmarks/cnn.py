"""Convolutional-net workload (issue #8): one SGD step of LeNet-5 on an MNIST-shaped batch.

The network is the deeplearning.net LeNet tutorial's (``convolutional_mlp.py``, nkerns 20 and
50): conv 20x5x5 + bias + tanh + 2x2 max-pool, conv 50x5x5 + bias + tanh + 2x2 max-pool, a
dense 800-500 tanh layer and a 500-10 softmax, NLL cost, plain SGD on all 8 parameters;
batch 128 of 28x28 float32.  Peers, measured in the same run with samples interleaved:
PyTorch on the CPU when it is importable (``torch.nn.functional``, autograd), and always a
hand-written numpy step (im2col through ``tensordot`` windows, the same algorithm theon
uses), which is also the float64 reference the parameters are checked against.
"""
import math
import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks import timing
from benchmarks.sections import Row, fmt_ms
from benchmarks.training import parameter_error, softmax_nll

BATCH = 128
LEARNING_RATE = 0.05
SHAPES = {"W1": (20, 1, 5, 5), "b1": (20,), "W2": (50, 20, 5, 5), "b2": (50,),
          "W3": (800, 500), "b3": (500,), "W4": (500, 10), "b4": (10,)}


def lenet_case(seed=8):
    """Data and Glorot-uniform parameters (the tutorial's init; zero biases)."""
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    params = {}
    for name, shape in SHAPES.items():
        if name.startswith("b"):
            params[name] = np.zeros(shape, np.float32)
            continue
        if len(shape) == 4:
            fan_in, fan_out = math.prod(shape[1:]), shape[0] * math.prod(shape[2:]) // 4
        else:
            fan_in, fan_out = shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        params[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return x, y, params


def theon_step(params):
    """The compiled SGD step ``f(x, y) -> cost`` and its shared parameters by name."""
    import theon
    import theon.tensor as T
    from theon.tensor.signal import pool
    x, y = T.tensor4("x", dtype="float32"), T.ivector("y")
    p = {name: theon.shared(value, name=name) for name, value in params.items()}
    h = x
    for w, b in (("W1", "b1"), ("W2", "b2")):
        conv = T.nnet.conv2d(h, p[w], filter_shape=SHAPES[w])
        h = pool.pool_2d(T.tanh(conv + p[b].dimshuffle("x", 0, "x", "x")), ws=(2, 2),
                         ignore_border=True)
    h = T.tanh(T.dot(h.flatten(2), p["W3"]) + p["b3"])
    p_y = T.nnet.softmax(T.dot(h, p["W4"]) + p["b4"])
    cost = -T.mean(T.log(p_y)[T.arange(y.shape[0]), y])
    variables = list(p.values())
    rate = np.float32(LEARNING_RATE)
    updates = [(v, v - rate * g) for v, g in zip(variables, theon.grad(cost, variables))]
    return theon.function([x, y], cost, updates=updates), p


# ---- numpy ---------------------------------------------------------------------------------

def _conv(x, w):
    """True 'valid' convolution: windows of ``x`` against the flipped filters."""
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))  # (B, C, OH, OW, kh, kw)
    out = np.tensordot(windows, w[:, :, ::-1, ::-1], axes=([1, 4, 5], [1, 2, 3]))
    return out.transpose(0, 3, 1, 2)


def _conv_grads(x, w, dout, need_input):
    """Gradients of ``_conv`` with respect to the filters and (if asked) the input."""
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))[:, :, ::-1, ::-1]
    if not need_input:
        return dw, None
    kh, kw = w.shape[2:]
    padded = np.pad(dout, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))  # (B, O, H, W, kh, kw)
    dx = np.tensordot(windows, w, axes=([1, 4, 5], [0, 2, 3]))
    return dw, dx.transpose(0, 3, 1, 2)


def _pool(x):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _pool_grad(x, out, dout):
    """Each window's gradient to the elements equal to its maximum (Theano's rule)."""
    spread = lambda a: a.repeat(2, axis=2).repeat(2, axis=3)  # noqa: E731
    return (x == spread(out)) * spread(dout)


def numpy_step(x, y, p, lr=LEARNING_RATE):
    """Forward, backward and SGD update of LeNet in numpy, updating ``p`` in place;
    returns the cost."""
    n = x.shape[0]
    acts, pre, pooled = [x], [], []
    for w, b in (("W1", "b1"), ("W2", "b2")):
        a = np.tanh(_conv(acts[-1], p[w]) + p[b][None, :, None, None])
        pre.append(a)
        pooled.append(_pool(a))
        acts.append(pooled[-1])
    flat = acts[-1].reshape(n, -1)
    h = np.tanh(flat @ p["W3"] + p["b3"])
    cost, dz = softmax_nll(h @ p["W4"] + p["b4"], y)
    grads = {"W4": h.T @ dz, "b4": dz.sum(axis=0)}
    dh = (dz @ p["W4"].T) * (1 - h * h)
    grads.update(W3=flat.T @ dh, b3=dh.sum(axis=0))
    dpool = (dh @ p["W3"].T).reshape(acts[-1].shape)
    for layer, (w, b) in reversed(list(enumerate((("W1", "b1"), ("W2", "b2"))))):
        da = _pool_grad(pre[layer], pooled[layer], dpool) * (1 - pre[layer] ** 2)
        grads[b] = da.sum(axis=(0, 2, 3))
        grads[w], dpool = _conv_grads(acts[layer], p[w], da, need_input=layer > 0)
    for name, g in grads.items():
        p[name] -= lr * g.astype(p[name].dtype, copy=False)
    return cost


def torch_step(params):
    """The same step with PyTorch on the CPU (None when torch is not importable)."""
    try:
        import torch
        import torch.nn.functional as F
    except Exception:  # not installed: the row says so
        return None
    p = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}

    def step(x, y):
        h = x
        for w, b in (("W1", "b1"), ("W2", "b2")):
            # theon's and Theano's conv2d flip the filters; torch correlates
            h = F.max_pool2d(torch.tanh(F.conv2d(h, p[w].flip(2, 3), p[b])), 2)
        h = torch.tanh(h.flatten(1) @ p["W3"] + p["b3"])
        cost = F.cross_entropy(h @ p["W4"] + p["b4"], y)
        grads = torch.autograd.grad(cost, list(p.values()))
        with torch.no_grad():
            for value, g in zip(p.values(), grads):
                value -= LEARNING_RATE * g
        return cost

    return step, torch


def check_steps(steps=2):
    """Largest relative error of theon's parameters after ``steps`` steps against the numpy
    step in float64 from the same start."""
    x, y, params = lenet_case()
    step, shared = theon_step(params)
    return parameter_error(step, shared, numpy_step, x, y, params, steps)


def lenet(settings):
    """LeNet-5 SGD step: theon against numpy (and PyTorch when importable), interleaved."""
    x, y, params = lenet_case()
    step, _ = theon_step(params)
    numpy_params = {name: value.copy() for name, value in params.items()}
    calls = {"theon": lambda: step(x, y), "numpy": lambda: numpy_step(x, y, numpy_params)}
    torch = torch_step(params)
    if torch is not None:
        torch_call, module = torch
        module.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        xt, yt = module.from_numpy(x), module.from_numpy(y.astype(np.int64))
        calls["torch"] = lambda: torch_call(xt, yt)
    timed = timing.measure_interleaved(calls, settings.samples, settings.min_sample_s)
    median = {name: t["median_s"] for name, t in timed.items()}
    error = check_steps()
    peers = ", ".join(f"{name} {fmt_ms(s)}" for name, s in median.items() if name != "theon")
    ratio = ", ".join(f"{name}/theon {s / median['theon']:.2f}x"
                      for name, s in median.items() if name != "theon")
    notes = [f"{step.report.kernels} kernels, {len(step.schedule.steps)} steps",
             f"params after 2 steps vs numpy float64: rel err {error:.1g}"]
    if torch is None:
        notes.append("torch not installed")
    row = Row("cnn", f"LeNet-5 SGD step, batch {BATCH} x 28x28", "ms/step (median)",
              fmt_ms(median["theon"]), peers, ratio, "ratios (no target)",
              "ok" if error < 1e-4 else "MISMATCH", "; ".join(notes))
    return [row], {"median_s": median, "rel_err_2_steps": error}
