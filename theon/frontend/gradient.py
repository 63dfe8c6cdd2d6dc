"""``theon.grad``: Theano's symbolic reverse-mode gradient.

The cost is first rewritten by the ``stabilize`` pass, so the gradients of stable forms
(log(sigmoid(x)) -> -softplus(-x), log(softmax(x)), ...) are themselves stable, then
differentiated by ``passes.autodiff.gradients``.
"""
import warnings

import numpy as np

from .. import ir
from ..config import config
from ..ir import build, dtypes
from .variable import Variable, as_tensor_variable

_DISCONNECTED_MESSAGE = (
    "grad method was asked to compute the gradient with respect to a variable that is not "
    "part of the computational graph of the cost, or is used only by a non-differentiable "
    "operator: {}")


class DisconnectedInputError(ValueError):
    """Raised when ``grad`` is asked for the gradient with respect to a variable the cost
    does not depend on (Theano's ``theano.gradient.DisconnectedInputError``)."""


def _substitute(output, mapping):
    """``output`` rebuilt with the nodes of ``mapping`` replaced by their values."""
    memo = {}
    for node in ir.toposort([output]):
        if node in mapping:
            memo[node] = mapping[node]
        elif not node.inputs:
            memo[node] = node
        else:
            memo[node] = node.replace(inputs=[memo[i] for i in node.inputs])
    return memo[output]


def _stabilized(cost_node, keep):
    """``cost_node`` after the stabilize pass.  The nodes of ``keep`` (intermediate
    ``wrt`` and ``consider_constant`` nodes) stand for placeholders while it runs, so no
    rewrite merges them away and every path through them is kept."""
    from ..passes.stabilize import stabilize
    keep = [node for node in dict.fromkeys(keep) if node.inputs]
    placeholders = {node: ir.Node.make(ir.Input.new(node.type, "keep")) for node in keep}
    if placeholders:
        cost_node = _substitute(cost_node, placeholders)
    stable = stabilize(ir.Graph(inputs=(), outputs=(cost_node,))).outputs[0]
    if placeholders:
        stable = _substitute(stable, {p: node for node, p in placeholders.items()})
    return stable


def _float_zeros_like(node):
    dtype = node.type.dtype if node.type.dtype in dtypes.FLOATS else config.floatX
    return Variable(build.zeros_like(node, dtype))


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise",
         add_names=True, known_grads=None, return_disconnected="zero",
         null_gradients="raise"):
    """The gradient of ``cost`` with respect to ``wrt`` (Theano's ``theano.grad``).

    Parameters
    ----------
    cost : Variable or None
        A scalar (0-d); None only when ``known_grads`` is given.
    wrt : Variable or list of Variable
        The result has the same structure: one Variable, or a list.
    consider_constant : list of Variable, optional
        Variables treated as constants: no gradient flows through them.
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        What to do when the cost does not depend on a ``wrt`` variable: raise
        DisconnectedInputError, warn, or return zeros silently.
    known_grads : dict, optional
        ``{variable: gradient}``: gradients of the (implicit) cost with respect to
        intermediate variables, added to those flowing from ``cost``.
    return_disconnected : {'zero', 'None', 'Disconnected'}
        The gradient returned for a disconnected ``wrt``: zeros, or None.

    Returns
    -------
    Variable or list of Variable
        Each of ``wrt``'s shape, and its dtype for float variables; integer variables get
        float zeros (``floatX``), as in Theano.
    """
    if cost is None and not known_grads:
        raise AssertionError("cost and known_grads can't both be None.")
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError("cost must be a scalar.")
    if disconnected_inputs not in ("ignore", "warn", "raise"):
        raise ValueError("Invalid value for keyword 'disconnected_inputs', valid values "
                         "are 'ignore', 'warn' and 'raise'.")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError("Invalid value for keyword 'return_disconnected', valid values "
                         "are 'zero', 'None' and 'Disconnected'.")
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    for variable in wrt_list:
        if not isinstance(variable, Variable):
            raise TypeError(f"Expected Variable, got {variable!r} of type {type(variable)}")
    stop = [as_tensor_variable(v).node for v in (consider_constant or ())]
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

    from ..passes.autodiff import connected, gradients
    reached = connected([n for n, _ in cost_grads], wrt_nodes, stop)
    found = gradients(cost_grads, wrt_nodes, stop)
    results = []
    for variable, node in zip(wrt_list, wrt_nodes):
        if node not in reached:
            message = _DISCONNECTED_MESSAGE.format(variable)
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(message)
            if disconnected_inputs == "warn":
                warnings.warn(message, stacklevel=2)
            results.append(_float_zeros_like(node) if return_disconnected == "zero"
                           else None)
            continue
        g = found.get(node)
        if g is None or node.type.dtype not in dtypes.FLOATS:
            results.append(_float_zeros_like(node))
            continue
        g = build.cast(build.sum_to(g, node.type), node.type.dtype)
        if g.type.shape != node.type.shape:
            g = build.second(node, g)  # a broadcast gradient takes wrt's full shape
        results.append(Variable(g))
    return results[0] if single else results
