"""``theon.grad`` and the gradient-steering identities of Theano's ``theano.gradient``
(zero_grad, disconnected_grad, grad_clip, grad_scale); Lop, Rop, jacobian and hessian are in
``derivatives``.

The cost is first rewritten by the ``stabilize`` pass, so the gradients of stable forms
(log(sigmoid(x)) -> -softplus(-x), log(softmax(x)), ...) are themselves stable, then
differentiated by ``passes.autodiff.gradients``.
"""
import numpy as np

from .. import ir
from ..config import config
from ..ir import build, dtypes
from ..ir.ops import DisconnectedGrad, GradClip, GradScale, ZeroGrad
from .variable import Variable, as_tensor_variable, user_trace, warn_user

_DISCONNECTED_MESSAGE = (
    "grad method was asked to compute the gradient with respect to a variable that is not "
    "part of the computational graph of the cost, or is used only by a non-differentiable "
    "operator: {}")
_ROP_DISCONNECTED_MESSAGE = (
    "Rop method was asked to compute the gradient with respect to a variable that is not "
    "part of the computational graph of variables in wrt, or is used only by a "
    "non-differentiable operator: {}")


class DisconnectedInputError(ValueError):
    """Raised when ``grad`` is asked for the gradient with respect to a variable the cost
    does not depend on (Theano's ``theano.gradient.DisconnectedInputError``)."""


# ---- helpers --------------------------------------------------------------------------------

def format_as(use_list, use_tuple, outputs):
    """``outputs`` as a list (``use_list``), a tuple (``use_tuple``) or a bare value (a
    one-element sequence unwrapped): the structure of the argument a result mirrors
    (Theano's ``theano.gradient.format_as``)."""
    if use_list and use_tuple:
        raise AssertionError("Both flags cannot be simultaneously True")
    if (use_list or use_tuple) and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    if use_list:
        return list(outputs)
    if use_tuple:
        return tuple(outputs)
    if isinstance(outputs, (list, tuple)):
        if len(outputs) != 1:
            raise AssertionError("Wrong arguments. Expected a one element list")
        return outputs[0]
    return outputs


def _as_list(value):
    """``value`` as a new list: a list or tuple copied, anything else wrapped."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_mode(keyword, value):
    if value not in ("ignore", "warn", "raise"):
        raise ValueError(f"Invalid value for keyword '{keyword}', valid values are "
                         "'ignore', 'warn' and 'raise'.")


def _check_return_disconnected(value):
    if str(value).lower() not in ("zero", "none", "disconnected"):
        raise ValueError("Invalid value for keyword 'return_disconnected', valid values "
                         "are 'zero', 'None' and 'Disconnected'.")


def _check_wrt(wrt_list):
    for variable in wrt_list:
        if not isinstance(variable, Variable):
            raise TypeError(f"Expected Variable, got {variable!r} of type {type(variable)}")


def _stabilized(cost_node, keep):
    """``cost_node`` after the stabilize pass.  The nodes of ``keep`` (intermediate
    ``wrt`` and ``consider_constant`` nodes) stand for placeholders while it runs, so no
    rewrite merges them away and every path through them is kept."""
    from ..passes.stabilize import stabilize_for_gradient
    keep = [node for node in dict.fromkeys(keep) if node.inputs]
    placeholders = {node: ir.Node.make(ir.Input.new(node.type, "keep")) for node in keep}
    if placeholders:
        (cost_node,) = ir.substitute([cost_node], placeholders)
    stable = stabilize_for_gradient(ir.Graph(inputs=(), outputs=(cost_node,))).outputs[0]
    if placeholders:
        (stable,) = ir.substitute([stable], {p: node for node, p in placeholders.items()})
    return stable


def _float_zeros_like(node):
    dtype = node.type.dtype if node.type.dtype in dtypes.FLOATS else config.floatX
    return Variable(build.zeros_like(node, dtype))


def _shaped_gradient(node, g):
    """The gradient node ``g`` reaching ``node`` as a Variable of ``node``'s shape and
    dtype; float zeros where none reached it or ``node`` is not a float."""
    if g is None or node.type.dtype not in dtypes.FLOATS:
        return _float_zeros_like(node)
    g = build.cast(build.sum_to(g, node.type), node.type.dtype)
    if g.type.shape != node.type.shape:
        g = build.second(node, g)  # a broadcast gradient takes wrt's full shape
    return Variable(g)


def _disconnecting(roots):
    """The ``disconnected_grad`` nodes above ``roots``: autodiff treats them as constants,
    so what lies below them only is disconnected, as Theano's DisconnectedType made it."""
    return [node for node in ir.toposort(roots) if node.op.__class__ is DisconnectedGrad]


def _backward(cost_grads, wrt_list, stop, disconnected_inputs, return_disconnected):
    """One gradient Variable (or None) per variable of ``wrt_list`` for the (node,
    cotangent node) pairs ``cost_grads``, with Theano's handling of disconnected ones."""
    from ..passes.autodiff import connected, gradients
    wrt_nodes = [v.node for v in wrt_list]
    roots = [node for node, _ in cost_grads]
    stop = list(stop) + _disconnecting(roots)
    reached = connected(roots, wrt_nodes, stop)
    found = gradients(cost_grads, wrt_nodes, stop)
    results = []
    for variable, node in zip(wrt_list, wrt_nodes):
        if node in reached:
            results.append(_shaped_gradient(node, found.get(node)))
            continue
        results.append(_disconnected(_DISCONNECTED_MESSAGE.format(variable),
                                     disconnected_inputs, return_disconnected,
                                     lambda: _float_zeros_like(node)))
    return results


def _disconnected(message, mode, return_disconnected, zeros):
    """The result for a disconnected variable: DisconnectedInputError (mode 'raise'), a
    warning ('warn') or nothing ('ignore'); then ``zeros()`` or None per
    ``return_disconnected``."""
    if mode == "raise":
        raise DisconnectedInputError(message)
    if mode == "warn":
        warn_user(message)
    return zeros() if str(return_disconnected).lower() == "zero" else None


def _constant_nodes(consider_constant):
    return [as_tensor_variable(v).node for v in (consider_constant or ())]


# ---- grad ------------------------------------------------------------------------------------

def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise",
         add_names=True, known_grads=None, return_disconnected="zero",
         null_gradients="raise"):
    """The gradient of ``cost`` with respect to ``wrt`` (Theano's ``theano.grad``).

    Parameters
    ----------
    cost : Variable or None
        A scalar (0-d); None only when ``known_grads`` is given.
    wrt : Variable or list of Variable
        The result has the same structure: one Variable, a list or a tuple.
    consider_constant : list of Variable, optional
        Variables treated as constants: no gradient flows through them.
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        What to do when the cost does not depend on a ``wrt`` variable (or only through
        ``disconnected_grad``): raise DisconnectedInputError, warn, or return zeros
        silently.
    known_grads : dict, optional
        ``{variable: gradient}``: gradients of the (implicit) cost with respect to
        intermediate variables, added to those flowing from ``cost``.
    return_disconnected : {'zero', 'None', 'Disconnected'}
        The gradient returned for a disconnected ``wrt``: zeros, or None (theon has no
        DisconnectedType, so 'Disconnected' returns None too).

    Returns
    -------
    Variable or list/tuple of Variable
        Each of ``wrt``'s shape, and its dtype for float variables; integer variables get
        float zeros (``floatX``), as in Theano.
    """
    if cost is None and not known_grads:
        raise AssertionError("cost and known_grads can't both be None.")
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError("cost must be a scalar.")
    _check_mode("disconnected_inputs", disconnected_inputs)
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError("Invalid value for keyword 'return_disconnected', valid values "
                         "are 'zero', 'None' and 'Disconnected'.")
    if isinstance(wrt, set):
        raise TypeError("wrt must not be a set. sets have no defined iteration order, so we "
                        "can't return gradients in a  matching order.")
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    wrt_list = _as_list(wrt)
    _check_wrt(wrt_list)
    stop = _constant_nodes(consider_constant)
    wrt_nodes = [v.node for v in wrt_list]

    cost_grads = []
    if cost is not None:
        node = _stabilized(cost.node, wrt_nodes + stop + [
            as_tensor_variable(v).node for v in (known_grads or ())])
        one = np.asarray(1, dtype=node.type.dtype if node.type.dtype in dtypes.FLOATS
                         else config.floatX)
        cost_grads.append((node, ir.Node.make(ir.Constant(one))))
    for variable, g in (known_grads or {}).items():
        variable = as_tensor_variable(variable)
        g = as_tensor_variable(g)
        if g.ndim > variable.ndim:
            raise ValueError(f"known_grads: the gradient of {variable!r} has rank {g.ndim}; "
                             f"expected {variable.ndim}")
        g_node = g.node
        if variable.dtype in dtypes.FLOATS:
            g_node = build.cast(g_node, variable.dtype)
        cost_grads.append((variable.node, g_node))
    results = _backward(cost_grads, wrt_list, stop, disconnected_inputs, return_disconnected)
    return format_as(using_list, using_tuple, results)


# ---- gradient-steering identities -----------------------------------------------------------

def _identity(op, x, *parameters):
    x = as_tensor_variable(x)
    return Variable(ir.Node.make(op, (x.node,) + parameters, trace=user_trace()))


def zero_grad(x):
    """``x`` unchanged, but its gradient is zero: the cost is differentiated as if ``x``
    were a constant, and variables reached only through it get zero gradients (Theano's
    ``theano.gradient.zero_grad``).  Removed before compiling: it costs nothing.

    Parameters
    ----------
    x : Variable

    Returns
    -------
    Variable
        Equal to ``x``.
    """
    return _identity(ZeroGrad(), x)


def disconnected_grad(x):
    """``x`` unchanged, but no gradient path goes through it (Theano's
    ``theano.gradient.disconnected_grad``): like ``zero_grad``, except that a variable
    reached only through it is disconnected, so ``grad`` raises DisconnectedInputError
    (with the default ``disconnected_inputs='raise'``).  Removed before compiling.

    Parameters
    ----------
    x : Variable

    Returns
    -------
    Variable
        Equal to ``x``.
    """
    return _identity(DisconnectedGrad(), x)


def consider_constant(x):
    """Deprecated in Theano: use :func:`zero_grad` (which it is) or
    :func:`disconnected_grad`.  ``x`` unchanged, with a zero gradient."""
    warn_user("consider_constant() is deprecated, use zero_grad() or disconnected_grad() "
          "instead.")
    return zero_grad(x)


def grad_clip(x, lower_bound, upper_bound):
    """``x`` unchanged, but the gradient flowing back into it is clipped elementwise to
    ``[lower_bound, upper_bound]`` (Theano's ``theano.gradient.grad_clip``).  Removed before
    compiling: it costs nothing in the forward pass.

    Parameters
    ----------
    x : Variable
    lower_bound, upper_bound : float
        Numbers, with ``lower_bound <= upper_bound``.

    Returns
    -------
    Variable
        Equal to ``x``.

    Raises
    ------
    TypeError
        When a bound is not a number.
    AssertionError
        When ``upper_bound < lower_bound`` (Theano's check).

    Examples
    --------
    >>> x = T.dscalar('x')
    >>> z = theon.grad(grad_clip(x, -1, 1) ** 2, x)   # 1.0 at x = 2, where x**2 gives 4.0
    """
    bounds = []
    for bound in (lower_bound, upper_bound):
        if isinstance(bound, Variable) or np.ndim(bound) != 0:
            raise TypeError(f"grad_clip: the bounds must be numbers; got {bound!r}")
        bounds.append(float(bound))
    if not bounds[1] >= bounds[0]:
        raise AssertionError(f"grad_clip: upper_bound ({bounds[1]}) is smaller than "
                             f"lower_bound ({bounds[0]})")
    return _identity(GradClip(bounds[0], bounds[1]), x)


def grad_scale(x, multiplier):
    """``x`` unchanged, but the gradient flowing back into it is multiplied by
    ``multiplier`` (Theano's ``theano.gradient.grad_scale``; -1 reverses it).  Removed
    before compiling.

    Parameters
    ----------
    x : Variable
    multiplier : float or scalar Variable
        Not differentiated itself.

    Returns
    -------
    Variable
        Equal to ``x``.
    """
    return _identity(GradScale(), x, as_tensor_variable(multiplier).node)
