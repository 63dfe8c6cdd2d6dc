"""The graphs of ``theon bench compile``, written once against the Theano 1.0 API.

Each graph is a :class:`Spec`: a builder that takes ``th`` (a namespace with ``function``,
``grad``, ``shared`` and ``T`` -- theon or PyTensor behind the Theano names) and a
:class:`Case` (fixed-seed inputs, initial shared values and a float64 numpy reference), and
returns a :class:`Graph` that ``th.function`` compiles.  ``Spec.needs`` lists the names the
builder uses beyond the basics, so that a graph an implementation cannot build yet is reported
as ``n/a (needs ...)`` instead of failing.  The JAX versions of the same graphs are in
``jax_graphs.py``.
"""
import math
from dataclasses import dataclass, field

import numpy as np

ELEMENTWISE_N = 100_000
SOFTMAX_SHAPE = (1000, 1000)
CHAIN_N = 1000
CHAIN_STEPS = (10, 100, 1000, 10000)
QUICK_MAX_STEPS = 1000


@dataclass
class Graph:
    """What ``th.function(inputs, outputs, updates=updates)`` compiles."""

    inputs: list
    outputs: object
    updates: list = field(default_factory=list)
    shared: list = field(default_factory=list)  # in the order of Case.init


@dataclass
class Case:
    """Inputs and expected results of one graph.

    Attributes
    ----------
    args : list of ndarray
        Passed to the compiled function.
    init : dict
        Initial values of the shared variables (name -> ndarray), in builder order.
    reference : callable
        ``reference() -> (output, [state...])`` in float64: the expected output of the first
        call and the expected shared values after it.
    tol : float
        Largest accepted ``max|out - ref| / max|ref|``.
    params : dict
        JSON-safe description (sizes, dtype).
    lr : float
        Learning rate of the training steps (unused elsewhere).
    """

    args: list
    init: dict
    reference: object
    tol: float
    params: dict
    lr: float = 0.1


@dataclass(frozen=True)
class Spec:
    """One graph of the suite: how to make its case and build it with the Theano API."""

    name: str
    make_case: object
    build: object
    needs: tuple = ()


def _tol(dtype):
    return 2e-4 if np.dtype(dtype) == np.float32 else 1e-9


# --- elementwise ---------------------------------------------------------------------------

def _elementwise_case():
    rng = np.random.default_rng(1)
    args = [rng.standard_normal(ELEMENTWISE_N).astype("float32") for _ in range(3)]

    def reference():
        x, y, z = (a.astype(np.float64) for a in args)
        return np.exp(-x * x) * np.sin(y) + np.log1p(np.abs(z)) * 0.5, []

    return Case(args, {}, reference, _tol("float32"), {"n": ELEMENTWISE_N, "dtype": "float32"})


def _elementwise(th, case):
    T = th.T
    x = T.vector("x", dtype="float32")
    y = T.vector("y", dtype="float32")
    z = T.vector("z", dtype="float32")
    return Graph([x, y, z], T.exp(-x * x) * T.sin(y) + T.log1p(abs(z)) * 0.5)


# --- chain ---------------------------------------------------------------------------------

def _chain_case(steps):
    rng = np.random.default_rng(6)
    args = [rng.standard_normal(CHAIN_N)]

    def reference():
        x = args[0]
        for _ in range(steps):
            x = np.tanh(x) * 1.0001 + 0.5 * np.sin(x)
        return x, []

    # rounding differences are amplified along a long chain
    params = {"steps": steps, "nodes": 5 * steps, "n": CHAIN_N, "dtype": "float64"}
    return Case(args, {}, reference, 1e-6, params)


def _chain(th, case):
    T = th.T
    x = T.vector("x", dtype="float64")
    h = x
    for _ in range(case.params["steps"]):
        h = T.tanh(h) * 1.0001 + 0.5 * T.sin(h)
    return Graph([x], h)


# --- softmax, logistic regression, MLP -----------------------------------------------------

def _softmax64(z):
    """Row softmax in float64, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_case():
    rng = np.random.default_rng(2)
    args = [rng.standard_normal(SOFTMAX_SHAPE).astype("float32")]

    def reference():
        return _softmax64(args[0].astype(np.float64)), []

    return Case(args, {}, reference, _tol("float32"),
                {"shape": list(SOFTMAX_SHAPE), "dtype": "float32"})


def _softmax(th, case):
    x = th.T.matrix("x", dtype="float32")
    return Graph([x], th.T.nnet.softmax(x))


def _nll_step(x, y, params, lr):
    """Cost of one SGD step of a tanh MLP (or logistic regression: two params) and the
    updated params, by hand in float64."""
    acts = [x]
    layers = list(zip(params[0::2], params[1::2]))
    for W, b in layers[:-1]:
        acts.append(np.tanh(acts[-1] @ W + b))
    W, b = layers[-1]
    p = _softmax64(acts[-1] @ W + b)
    n = x.shape[0]
    cost = -np.log(p[np.arange(n), y]).mean()
    dz = p
    dz[np.arange(n), y] -= 1
    dz /= n
    grads = []
    for k in range(len(layers) - 1, -1, -1):
        W, _ = layers[k]
        grads[:0] = [acts[k].T @ dz, dz.sum(axis=0)]
        if k:
            dz = (dz @ W.T) * (1 - acts[k] * acts[k])
    return cost, [param - lr * g for param, g in zip(params, grads)]


def _training_case(seed, batch, sizes, lr=0.1):
    """Inputs, initial weights and reference of an SGD step on layers ``sizes``."""
    rng = np.random.default_rng(seed)
    args = [rng.random((batch, sizes[0])).astype("float32"),
            rng.integers(0, sizes[-1], batch).astype("int32")]
    init = {}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        suffix = str(k) if len(sizes) > 2 else ""
        if k < len(sizes) - 1:
            bound = math.sqrt(6.0 / (n_in + n_out))
            init["W" + suffix] = rng.uniform(-bound, bound, (n_in, n_out)).astype("float32")
        else:
            init["W" + suffix] = (rng.standard_normal((n_in, n_out)) * 0.01).astype("float32")
        init["b" + suffix] = np.zeros(n_out, dtype="float32")

    def reference():
        params = [v.astype(np.float64) for v in init.values()]
        return _nll_step(args[0].astype(np.float64), args[1], params, lr)

    params = {"batch": batch, "layers": list(sizes), "lr": lr, "dtype": "float32"}
    return Case(args, init, reference, _tol("float32"), params, lr)


def _nll(T, p_y_given_x, y):
    # the deeplearning.net tutorial's negative log-likelihood
    return -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])


def _sgd(th, cost, params, lr):
    grads = th.grad(cost, params)
    lr = np.asarray(lr, dtype="float32")
    return [(p, p - g * lr) for p, g in zip(params, grads)]


def _logreg(th, case):
    T = th.T
    x = T.matrix("x", dtype="float32")
    y = T.ivector("y")
    # shared() copies its value (borrow=False, in theon, Theano and PyTensor alike), as
    # peer-bench's workloads rely on: no copy of our own inside the timed construction
    W, b = (th.shared(v, name=k) for k, v in case.init.items())
    cost = _nll(T, T.nnet.softmax(T.dot(x, W) + b), y)
    return Graph([x, y], cost, _sgd(th, cost, [W, b], case.lr), [W, b])


def _mlp(th, case):
    T = th.T
    x = T.matrix("x", dtype="float32")
    y = T.ivector("y")
    params = [th.shared(v, name=k) for k, v in case.init.items()]  # (copied by shared)
    W1, b1, W2, b2 = params
    h = T.tanh(T.dot(x, W1) + b1)
    cost = _nll(T, T.nnet.softmax(T.dot(h, W2) + b2), y)
    return Graph([x, y], cost, _sgd(th, cost, params, case.lr), params)


_TRAINING_NEEDS = ("T.matrix", "T.ivector", "T.dot", "T.nnet.softmax", "T.log", "T.mean",
                   "T.arange", "grad", "shared")


def _chain_spec(steps):
    return Spec(f"chain{steps}", lambda: _chain_case(steps), _chain, ("T.tanh", "T.sin"))


SUITE = {spec.name: spec for spec in [
    Spec("elementwise", _elementwise_case, _elementwise, ("T.exp", "T.sin", "T.log1p")),
    *[_chain_spec(steps) for steps in CHAIN_STEPS],
    Spec("softmax", _softmax_case, _softmax, ("T.matrix", "T.nnet.softmax")),
    Spec("logreg", lambda: _training_case(4, 256, (784, 10)), _logreg, _TRAINING_NEEDS),
    Spec("mlp", lambda: _training_case(5, 128, (784, 500, 10)), _mlp, _TRAINING_NEEDS),
]}


def default_graphs(quick):
    """Names of the suite's graphs run by default; ``quick`` drops chains above 1000 steps."""
    names = list(SUITE)
    if quick:
        names = [n for n in names if not n.startswith("chain")
                 or int(n[len("chain"):]) <= QUICK_MAX_STEPS]
    return names


def missing_names(spec, th):
    """The names in ``spec.needs`` that the namespace ``th`` lacks (dotted paths)."""
    missing = []
    for path in spec.needs:
        obj = th
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                missing.append(path)
                break
    return missing


def check(case, output, state):
    """Compare the first result (and the shared values after it) with the numpy reference.

    Returns
    -------
    dict
        ``ok`` (bool), ``max_rel_err`` and ``tol``; ``error`` when a shape differs.
    """
    ref_out, ref_state = case.reference()
    errors = []
    try:
        for got, ref in zip([output, *state], [ref_out, *ref_state]):
            errors.append(_rel_err(got, ref))
    except ValueError as exc:
        return {"ok": False, "error": str(exc), "tol": case.tol}
    worst = max(errors)
    return {"ok": bool(worst <= case.tol), "max_rel_err": worst, "tol": case.tol,
            "state_checked": bool(ref_state)}


def _rel_err(out, ref):
    """max |out - ref| / max |ref|, in float64; ValueError on a shape mismatch."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if out.shape != ref.shape:
        raise ValueError(f"shape {out.shape}, expected {ref.shape}")
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    return float(np.max(np.abs(out - ref))) / scale
