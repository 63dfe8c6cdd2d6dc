"""Recurrent workload (issue #8): an Elman RNN's SGD step through ``scan``.

``h_t = tanh(x_t W_in + h_{t-1} W_rec + b)``, cost ``mean((h w_out - target)**2)``, plain
SGD on the four parameters; batch 32, 8 inputs, 64 hidden units, float64.  The graph is the
same text for theon and PyTensor (Theano's API), each given sequences of a static length
``n_steps``, so that every length is a new graph to compile.  Measured: the compile time
(graph built and ``function`` returned; the disk caches hold what earlier lengths compiled,
as in a sweep) for each length, and the step time per scan step at the longest, for theon's
native loop and, in the same run, for its loop run step by step from Python.
PyTensor is measured when it is importable here (run this section from an environment that
has it, e.g. the peers' venv of ../shared/peer-bench).
"""
import time

import numpy as np

from benchmarks import timing
from benchmarks.sections import Row, fmt_ms

BATCH, N_IN, N_HIDDEN = 32, 8, 64
LENGTHS = (10, 100, 1000)


def _parameters(seed=5):
    rng = np.random.default_rng(seed)
    return {"W_in": rng.normal(0, 0.3, (N_IN, N_HIDDEN)),
            "W_rec": rng.normal(0, 0.1, (N_HIDDEN, N_HIDDEN)),
            "b": np.zeros(N_HIDDEN), "w_out": rng.normal(0, 0.1, (N_HIDDEN,))}


def _data(n_steps, seed=6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_steps, BATCH, N_IN)), rng.normal(size=(n_steps, BATCH))


def build_step(library, n_steps):
    """The compiled SGD step ``f(x, target) -> cost`` with ``library`` 'theon' or
    'pytensor'."""
    if library == "theon":
        import theon as theano
        import theon.tensor as T
        x = T.TensorType("float64", shape=(n_steps, BATCH, N_IN))("x")
        target = T.TensorType("float64", shape=(n_steps, BATCH))("target")
    else:
        import pytensor as theano
        import pytensor.tensor as T
        x = T.tensor("x", dtype="float64", shape=(n_steps, BATCH, N_IN))
        target = T.tensor("target", dtype="float64", shape=(n_steps, BATCH))
    p = {name: theano.shared(value.copy(), name=name) for name, value in _parameters().items()}

    def step(x_t, h):
        return T.tanh(T.dot(x_t, p["W_in"]) + T.dot(h, p["W_rec"]) + p["b"])

    h, _ = theano.scan(step, sequences=x, outputs_info=T.zeros((BATCH, N_HIDDEN)))
    cost = T.mean((T.dot(h, p["w_out"]) - target) ** 2)
    params = list(p.values())
    grads = theano.grad(cost, params)
    return theano.function([x, target], cost,
                           updates=[(v, v - 0.01 * g) for v, g in zip(params, grads)])


def _compile_seconds(library, n_steps):
    """Seconds to build and compile the step (not to run it: a first call of n steps
    costs n steps), and the step."""
    start = time.perf_counter()
    step = build_step(library, n_steps)
    seconds = time.perf_counter() - start
    step(*_data(n_steps))
    return seconds, step


def _importable(module):
    try:
        __import__(module)
    except Exception:
        return False
    return True


def _python_loop(f, *args):
    """``f(*args)`` with theon's loops run step by step from Python (before the native
    loop, every loop ran so), for the ratio of the two in the same run."""
    import theon
    with theon.config.change_flags(native_loops=False):
        return f(*args)


def rnn(settings):
    """Compile time per sequence length and step time per scan step."""
    libraries = ["theon"] + (["pytensor"] if _importable("pytensor") else [])
    rows, result = [], {}
    steps = {}
    for n_steps in LENGTHS:
        compile_s = {}
        for library in libraries:
            compile_s[library], steps[library] = _compile_seconds(library, n_steps)
        result[f"compile_s_{n_steps}"] = compile_s
        peers = ", ".join(f"{k} {fmt_ms(v)}" for k, v in compile_s.items() if k != "theon")
        ratio = ", ".join(f"{k}/theon {v / compile_s['theon']:.1f}x"
                          for k, v in compile_s.items() if k != "theon")
        rows.append(Row("scan", f"Elman RNN SGD step, {n_steps} steps: build + compile",
                        "ms", fmt_ms(compile_s["theon"]), peers, ratio,
                        "flat in n_steps", "", "pytensor not installed"
                        if len(libraries) == 1 else ""))
    n_steps = LENGTHS[-1]
    x, target = _data(n_steps)
    calls = {library: (lambda f=steps[library]: f(x, target)) for library in libraries}
    calls["theon, Python loop"] = lambda f=steps["theon"]: _python_loop(f, x, target)
    timed = timing.measure_interleaved(calls, settings.samples, settings.min_sample_s)
    per_step = {k: t["median_s"] / n_steps for k, t in timed.items()}
    result["per_step_s"] = per_step
    peers = ", ".join(f"{k} {v * 1e6:.1f}" for k, v in per_step.items() if k != "theon")
    ratio = ", ".join(f"{k}/theon {v / per_step['theon']:.2f}x"
                      for k, v in per_step.items() if k != "theon")
    first = result[f"compile_s_{LENGTHS[0]}"]["theon"]
    last = result[f"compile_s_{n_steps}"]["theon"]
    rows.append(Row("scan", f"Elman RNN SGD step ({n_steps} steps, batch {BATCH}, "
                    f"{N_IN}-{N_HIDDEN})", "us per scan step (median)",
                    f"{per_step['theon'] * 1e6:.1f}", peers, ratio, "ratios (no target)", "",
                    f"theon compile {n_steps} vs {LENGTHS[0]} steps: {last / first:.2f}x"))
    return rows, result
