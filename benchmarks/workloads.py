"""The benchmark graphs, written once for theon and once for each peer, with their checks.

W1 is ``exp(-x*x) * sin(y) + log1p(abs(z)) * 0.5`` on three vectors; W6 is ``x + 1`` on a
10-element float64 vector; the chain is N steps of ``x = tanh(x) * 1.0001 + 0.5 * sin(x)``
(5 elementwise nodes per step) on a float64 vector of 1000.  Inputs come from fixed seeds and
every result is compared with a float64 numpy reference, so a fast wrong answer shows.

theon, numexpr and numba are imported inside the functions that need them, so that a fresh
process can time their imports separately.
"""
import numpy as np

W1_EXPR = "exp(-x*x) * sin(y) + log1p(abs(z)) * 0.5"
CHAIN_STEP = "x = tanh(x)*1.0001 + 0.5*sin(x)"
NODES_PER_STEP = 5
# tolerance on max|out - ref| / max|ref| against the float64 reference
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def rel_err(out, ref):
    """max |out - ref| / max |ref|, computed in float64."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if out.shape != ref.shape:
        return float("inf")
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    return float(np.max(np.abs(out - ref))) / scale


def check(out, ref, dtype):
    """Compare ``out`` with the float64 reference ``ref``.

    Parameters
    ----------
    out : array_like
        The result under test; it must also have dtype ``dtype``.
    ref : ndarray
        The float64 reference.
    dtype : str
        Expected output dtype; picks the tolerance.

    Returns
    -------
    dict
        ``ok`` (bool), ``rel_err`` and ``out_dtype``.
    """
    err = rel_err(out, ref)
    out_dtype = str(np.asarray(out).dtype)
    ok = bool(err <= TOLERANCE[dtype] and out_dtype == dtype)
    return {"ok": ok, "rel_err": err, "out_dtype": out_dtype}


# ---------------------------------------------------------------------------------------------
# W1: fused elementwise expression
# ---------------------------------------------------------------------------------------------

def w1_inputs(n, dtype):
    """Three standard-normal vectors of length ``n`` (seed 1)."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(n).astype(dtype) for _ in range(3)]


def w1_reference(inputs):
    """W1 in float64 numpy."""
    x, y, z = (a.astype(np.float64) for a in inputs)
    return np.exp(-x * x) * np.sin(y) + np.log1p(np.abs(z)) * 0.5


def w1_theon_graph(dtype):
    """W1's symbolic inputs and output, built with theon's Theano API."""
    import theon.tensor as T
    x = T.vector("x", dtype=dtype)
    y = T.vector("y", dtype=dtype)
    z = T.vector("z", dtype=dtype)
    return [x, y, z], T.exp(-x * x) * T.sin(y) + T.log1p(abs(z)) * 0.5


def w1_theon(dtype):
    """W1 compiled by theon: a callable ``f(x, y, z)`` (``f.report`` holds its compile)."""
    import theon
    inputs, output = w1_theon_graph(dtype)
    return theon.function(inputs, output)


def w1_numpy(x, y, z):
    """W1 as plain numpy expressions (single-threaded ufuncs)."""
    return np.exp(-x * x) * np.sin(y) + np.log1p(np.abs(z)) * 0.5


def w1_numexpr(dtype, threads=2):
    """W1 through ``numexpr.evaluate`` with ``threads`` threads; None if numexpr is missing."""
    try:
        import numexpr
    except ImportError:
        return None
    numexpr.set_num_threads(threads)
    # a 0-d array keeps a float32 expression in float32 (a Python float would promote it)
    half = np.asarray(0.5, dtype=dtype)

    def f(x, y, z):
        return numexpr.evaluate("exp(-x*x) * sin(y) + log1p(abs(z)) * half",
                                local_dict={"x": x, "y": y, "z": z, "half": half})
    return f


def w1_numba():
    """W1 as a serial ``numba.njit`` loop (no cache, no fastmath); None if numba is missing."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False)
    def kernel(x, y, z):
        out = np.empty_like(x)
        half = x.dtype.type(0.5)
        for i in range(x.shape[0]):
            out[i] = np.exp(-x[i] * x[i]) * np.sin(y[i]) + np.log1p(np.abs(z[i])) * half
        return out
    return kernel


# ---------------------------------------------------------------------------------------------
# W6: call overhead
# ---------------------------------------------------------------------------------------------

def w6_input():
    """The 10-element float64 vector 0..9."""
    return np.arange(10, dtype=np.float64)


def w6_theon(trust_input=False):
    """``x + 1`` on a float64 vector, compiled by theon."""
    import theon
    import theon.tensor as T
    x = T.dvector("x")
    f = theon.function([x], x + 1)
    f.trust_input = trust_input
    return f


def w6_numexpr():
    """``x + 1`` through numexpr; None if numexpr is missing."""
    try:
        import numexpr
    except ImportError:
        return None

    def f(x):
        return numexpr.evaluate("x + 1", local_dict={"x": x})
    return f


# ---------------------------------------------------------------------------------------------
# chain: compile time against graph size
# ---------------------------------------------------------------------------------------------

def chain_input(n=1000):
    """A float64 vector of ``n`` standard-normal values (seed 6)."""
    return np.random.default_rng(6).standard_normal(n)


def chain_theon_graph(steps):
    """The chain's symbolic input and output: ``steps`` steps, 5 elementwise nodes each."""
    import theon.tensor as T
    x0 = T.dvector("x")
    x = x0
    for _ in range(steps):
        x = T.tanh(x) * 1.0001 + 0.5 * T.sin(x)
    return x0, x


def chain_numpy(x, steps):
    """The chain evaluated eagerly by numpy (the reference)."""
    for _ in range(steps):
        x = np.tanh(x) * 1.0001 + 0.5 * np.sin(x)
    return x
