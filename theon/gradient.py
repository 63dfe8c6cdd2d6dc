"""``theon.gradient``: Theano's ``theano.gradient`` module: grad, Lop, Rop, jacobian,
hessian, the gradient-steering identities (zero_grad, disconnected_grad, grad_clip,
grad_scale, the deprecated consider_constant), DisconnectedInputError and verify_grad."""
import numpy as np

from .frontend.derivatives import Lop, Rop, hessian, jacobian
from .frontend.gradient import (DisconnectedInputError, consider_constant, disconnected_grad,
                                format_as, grad, grad_clip, grad_scale, zero_grad)

__all__ = ["DisconnectedInputError", "GradientError", "Lop", "Rop", "consider_constant",
           "disconnected_grad", "format_as", "grad", "grad_clip", "grad_scale", "hessian",
           "jacobian", "verify_grad", "zero_grad"]


class GradientError(AssertionError):
    """The symbolic gradient differs from the finite-difference estimate."""


def verify_grad(fn, pt, rng=None, eps=None, abs_tol=None, rel_tol=None, n_tests=1):
    """Check ``theon.grad`` of ``fn`` at the point ``pt`` against central differences.

    Parameters
    ----------
    fn : callable
        Takes one symbolic Variable per array of ``pt`` and returns a Variable.
    pt : list of array_like
        The point; float arrays (their dtypes set the variables' types).
    rng : numpy.random.RandomState or Generator, optional
        Draws the random projection ``u``: the check is on ``sum(fn(*pt) * u)``.
    eps : float, optional
        Finite-difference step (1e-7 for float64, 1e-3 for float32).
    abs_tol, rel_tol : float, optional
        Tolerances (1e-4 each for float64, 1e-2 for float32).

    Raises
    ------
    GradientError (an AssertionError)
        Naming the input, the largest errors and both gradients.
    """
    from . import function
    from .frontend.variable import TensorType
    from .frontend.reduce import sum as tensor_sum

    rng = rng if rng is not None else np.random.RandomState(42)
    pt = [np.array(p) for p in pt]
    for index, value in enumerate(pt):
        if value.dtype.kind != "f":
            raise TypeError(f"verify_grad: point {index} has dtype {value.dtype}; gradients "
                            "are checked at float points")
    low_precision = any(p.dtype == np.float32 for p in pt)
    eps = eps if eps is not None else (1e-3 if low_precision else 1e-7)
    abs_tol = abs_tol if abs_tol is not None else (1e-2 if low_precision else 1e-4)
    rel_tol = rel_tol if rel_tol is not None else (1e-2 if low_precision else 1e-4)

    variables = [TensorType(p.dtype.name, shape=tuple(None for _ in p.shape))(f"input{i}")
                 for i, p in enumerate(pt)]
    output = fn(*variables)
    evaluate_output = function(variables, output, on_unused_input="ignore")
    shape = np.shape(evaluate_output(*pt))
    draw = rng.random_sample if hasattr(rng, "random_sample") else rng.random
    for _ in range(n_tests):
        projection = np.asarray(draw(shape) + 0.5, dtype=output.dtype)
        cost = tensor_sum(output * projection)
        cost_fn = function(variables, cost, on_unused_input="ignore")
        grad_fn = function(variables, grad(cost, variables, disconnected_inputs="ignore"),
                           on_unused_input="ignore")
        analytic = grad_fn(*pt)
        for index, value in enumerate(pt):
            numeric = np.zeros(value.shape, dtype=np.float64)
            flat = numeric.reshape(-1)
            for position in range(value.size):
                shifted = [p.copy() for p in pt]
                shifted[index].reshape(-1)[position] += eps
                plus = float(cost_fn(*shifted))
                shifted[index].reshape(-1)[position] -= 2 * eps
                minus = float(cost_fn(*shifted))
                flat[position] = (plus - minus) / (2 * eps)
            got = np.asarray(analytic[index], dtype=np.float64)
            abs_err = np.abs(got - numeric)
            rel_err = abs_err / np.maximum(np.abs(got) + np.abs(numeric), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if np.any(bad) or not np.all(np.isfinite(got)):
                raise GradientError(
                    f"verify_grad: the gradient of input {index} differs from central "
                    f"differences (eps={eps}): max abs error {abs_err.max():.3g} "
                    f"(tolerance {abs_tol}), max rel error {rel_err.max():.3g} "
                    f"(tolerance {rel_tol})\nanalytic:\n{got}\nnumeric:\n{numeric}")
