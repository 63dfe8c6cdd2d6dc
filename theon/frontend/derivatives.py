"""Theano's derived differential operators: ``Lop``, ``Rop``, ``jacobian`` and ``hessian``,
all built on ``theon.grad``'s reverse mode.

Theano computed ``jacobian`` and ``hessian`` with ``scan``, one backward pass per element of
the expression, looped at run time.  theon does so when the expression's length is known
only at run time; when it is static, it unrolls the loop while building the graph, so that
the rows fuse into the kernels of one graph.  ``Rop`` is forward mode by the double-Lop identity, for every op that has a
``vjp``: ``g(u) = J^T u`` is linear in ``u``, so ``J v`` is the gradient of ``<g(u), v>``
with respect to ``u``, and does not depend on ``u``.
"""
import numpy as np

from .. import ir
from ..config import config
from ..ir import build, dtypes
from .gradient import (_ROP_DISCONNECTED_MESSAGE, _as_list, _backward, _check_mode,
                       _check_return_disconnected, _check_wrt, _constant_nodes, _disconnected,
                       _disconnecting, _shaped_gradient, _stabilized, format_as, grad)
from .variable import Variable, as_tensor_variable


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """The L-operator: ``eval_points`` multiplied on the left by the Jacobian of ``f`` with
    respect to ``wrt`` (Theano's ``theano.gradient.Lop``), i.e. the vector-Jacobian product
    that backpropagation computes.

    Parameters
    ----------
    f : Variable or list of Variable
        The outputs.
    wrt : Variable or list of Variable
        The variables to differentiate with respect to.
    eval_points : Variable or list of Variable
        One per output of ``f``, of its shape: the vector ``v`` in ``v^T J``.
    consider_constant : list of Variable, optional
        Variables no gradient flows through.
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        As for :func:`grad`.

    Returns
    -------
    Variable or list/tuple of Variable
        Structured as ``wrt``: ``L[j] = sum_i eval_points[i] * d f[i] / d wrt[j]``, summed
        over every element of every output.

    Examples
    --------
    >>> W, v = T.dmatrix('W'), T.dvector('v')
    >>> x = T.dvector('x')
    >>> Lop(T.dot(W, x), x, v)   # W.T @ v
    """
    points = _as_list(eval_points)
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    outputs = _as_list(f)
    if len(outputs) != len(points):
        raise AssertionError(f"Lop: {len(outputs)} output(s) in f but {len(points)} "
                             "eval_points; expected one eval point per output")
    known = dict(zip(outputs, points))
    result = grad(None, _as_list(wrt), consider_constant=consider_constant,
                  disconnected_inputs=disconnected_inputs, known_grads=known)
    return format_as(using_list, using_tuple, result)


def _independent_outputs(outputs, placeholders):
    """``outputs`` (nodes) rebuilt over ``placeholders`` (wrt node -> fresh input) and
    looking through the ops whose forward derivative is the identity (grad_clip,
    grad_scale): the graph whose partial derivatives Rop takes."""
    memo = {}
    for node in ir.toposort(outputs):
        if node in placeholders:
            memo[node] = placeholders[node]
        elif not node.inputs:
            memo[node] = node
        elif getattr(node.op, "forward_identity", False):
            memo[node] = memo[node.inputs[0]]
        else:
            memo[node] = node.replace(inputs=[memo[i] for i in node.inputs])
    return [memo[node] for node in outputs]


def _stabilized_outputs(nodes):
    """``nodes`` after the stabilize pass (so J v of log(softmax(x)) is stable too)."""
    from ..passes.stabilize import stabilize_for_gradient
    return list(stabilize_for_gradient(ir.Graph(inputs=(), outputs=tuple(nodes))).outputs)


def _jacobian_vector_products(outputs, leaves, points, stop):
    """``(duals, products)``: one dummy cotangent input per node of ``outputs`` and, per
    output, the node ``J v`` (None where it is zero) for the tangents ``points`` (one
    Variable per input leaf of ``leaves``), by the double-Lop identity.  A product reads
    its dual at most for its shape: ``g(u) = J^T u`` is linear in ``u``."""
    from ..passes.autodiff import gradients
    duals = [ir.Node.make(ir.Input.new(out.type, "cotangent")) for out in outputs]
    pullback = [(out, dual) for out, dual in zip(outputs, duals)
                if out.type.dtype in dtypes.FLOATS]
    found = gradients(pullback, leaves, stop)
    pushforward = []
    for leaf, point in zip(leaves, points):
        g = found.get(leaf)
        if g is None or leaf.type.dtype not in dtypes.FLOATS:
            continue
        g = _shaped_gradient(leaf, g).node   # g(u) = J^T u
        pushforward.append((g, build.cast(point.node, g.type.dtype)))
    products = gradients(pushforward, duals) if pushforward else {}
    return duals, [products.get(dual) for dual in duals]


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):
    """The R-operator: the Jacobian of ``f`` with respect to ``wrt`` multiplied on the right
    by ``eval_points`` (Theano's ``theano.gradient.Rop``), i.e. the forward-mode
    directional derivative of ``f`` along ``eval_points``.

    theon computes it with two reverse passes (the double-Lop identity), for every op that
    has a gradient; the dummy cotangent of the first pass is eliminated, so the compiled
    function takes only the inputs of ``f`` and the eval points.

    Parameters
    ----------
    f : Variable or list of Variable
        The outputs.
    wrt : Variable or list of Variable
        The variables to differentiate with respect to; each is held independent of the
        others (partial derivatives).
    eval_points : Variable or list of Variable
        One per ``wrt`` variable, of its rank and shape: the direction ``v``.
    disconnected_outputs : {'raise', 'warn', 'ignore'}
        What to do when an output of ``f`` depends on no variable of ``wrt`` (or only
        through ``disconnected_grad``): raise DisconnectedInputError, warn, or carry on.
    return_disconnected : {'zero', 'None', 'Disconnected'}
        The result for such an output: zeros of its shape, or None ('Disconnected' gives
        None too: theon has no DisconnectedType).

    Returns
    -------
    Variable or list/tuple of Variable
        Structured as ``f``: ``R[i] = sum_j (d f[i] / d wrt[j]) eval_points[j]``.

    Raises
    ------
    ValueError
        When a ``wrt`` variable and its eval point differ in rank.

    Examples
    --------
    >>> W, V, x = T.dmatrix('W'), T.dmatrix('V'), T.dvector('x')
    >>> Rop(T.dot(W, x), W, V)   # V @ x
    """
    using_list, using_tuple = isinstance(f, list), isinstance(f, tuple)
    wrt_list = [as_tensor_variable(v) for v in _as_list(wrt)]
    points = [as_tensor_variable(p) for p in _as_list(eval_points)]
    outputs = [as_tensor_variable(v) for v in _as_list(f)]
    if len(wrt_list) != len(points):
        raise AssertionError(f"Rop: {len(wrt_list)} wrt variable(s) but {len(points)} "
                             "eval_points; expected one eval point per wrt variable")
    for index, (variable, point) in enumerate(zip(wrt_list, points)):
        if variable.ndim != point.ndim:
            raise ValueError(f"Element {index} of wrt/eval_point have mismatched "
                             f"dimensionality: {variable.ndim} versus {point.ndim}")
    _check_mode("disconnected_outputs", disconnected_outputs)
    _check_return_disconnected(return_disconnected)

    from ..passes.autodiff import connected
    wrt_nodes = [v.node for v in wrt_list]
    placeholders = {node: ir.Node.make(ir.Input.new(node.type, "wrt")) for node in wrt_nodes}
    leaves = [placeholders[node] for node in wrt_nodes]
    independent = _independent_outputs([out.node for out in outputs], placeholders)
    independent = _stabilized_outputs(independent)
    stop = _disconnecting(independent)
    duals, products = _jacobian_vector_products(independent, leaves, points, stop)
    back = {leaf: node for node, leaf in placeholders.items()}
    results = []
    for out, node, dual, product in zip(outputs, independent, duals, products):
        if out.node in placeholders:
            results.append(points[wrt_nodes.index(out.node)])  # d wrt / d wrt: identity
            continue
        if not connected([node], leaves, stop):
            results.append(_disconnected(
                _ROP_DISCONNECTED_MESSAGE.format(out), disconnected_outputs,
                return_disconnected, lambda: Variable(build.zeros_like(out.node))))
            continue
        if product is None or out.dtype not in dtypes.FLOATS:
            results.append(Variable(build.zeros_like(out.node)))  # connected, zero (zero_grad)
            continue
        product = _shaped_gradient(dual, product).node
        # J v does not depend on the cotangent's value (g is linear in it); it may still
        # read its shape, which is the output's
        mapping = dict(back)
        mapping.update({d: build.zeros_like(o.node) for d, o in zip(duals, outputs)})
        results.append(Variable(ir.substitute([product], mapping)[0]))
    return format_as(using_list, using_tuple, results)


# ---- jacobian, hessian ----------------------------------------------------------------------

def _jacobian_by_scan(expression, wrt_list, consider_constant, disconnected_inputs):
    """One Jacobian per variable of ``wrt_list``, row ``i`` computed at step ``i`` of a
    loop (Theano's way): for an ``expression`` whose length is known only at run time."""
    from .scan import scan
    from .shape import arange

    def row(index, *_):
        return grad(expression[index], wrt_list, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)

    rows, _ = scan(row, sequences=arange(expression.shape[0]), return_list=True,
                   name="jacobian")
    return rows


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Jacobian of the vector ``expression`` with respect to ``wrt`` (Theano's
    ``theano.gradient.jacobian``): row ``i`` is the gradient of ``expression[i]``.

    When the length of ``expression`` is static, theon builds one backward pass per
    element (the graph then fuses across rows); otherwise a ``scan`` computes one row per
    step at run time, as Theano did.

    Parameters
    ----------
    expression : Variable
        A vector (or a scalar, whose Jacobian is its gradient).
    wrt : Variable or list of Variable
    consider_constant : list of Variable, optional
        Variables no gradient flows through.
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        As for :func:`grad`; a disconnected variable gets a Jacobian of zeros.

    Returns
    -------
    Variable or list/tuple of Variable
        Structured as ``wrt``; for each variable of shape ``s``, shape ``(n,) + s``.

    Raises
    ------
    AssertionError
        When ``expression`` is not a Variable of rank 0 or 1 (Theano's checks).

    Examples
    --------
    >>> A = T.dmatrix('A')
    >>> x = T.TensorType('float64', shape=(3,))('x')
    >>> J = jacobian(T.dot(A, x).reshape((2,)), x)   # A, for a 2 x 3 A
    """
    if not isinstance(expression, Variable):
        raise AssertionError("tensor.jacobian expects a Variable as `expression`")
    if expression.ndim >= 2:
        raise AssertionError("tensor.jacobian expects a 1 dimensional variable as "
                             "`expression`. If not use flatten to make it a vector")
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    wrt_list = _as_list(wrt)
    if expression.ndim == 0:
        return format_as(using_list, using_tuple, grad(
            expression, wrt_list, consider_constant=consider_constant,
            disconnected_inputs=disconnected_inputs))
    _check_mode("disconnected_inputs", disconnected_inputs)
    _check_wrt(wrt_list)
    length = expression.node.type.shape[0]
    if length is None:
        return format_as(using_list, using_tuple, _jacobian_by_scan(
            expression, wrt_list, consider_constant, disconnected_inputs))
    stop = _constant_nodes(consider_constant)
    node = _stabilized(expression.node, [v.node for v in wrt_list] + stop)
    dtype = node.type.dtype if node.type.dtype in dtypes.FLOATS else config.floatX
    if length == 0:
        # no row to differentiate; report disconnected variables all the same
        _backward([(node, build.zeros_like(node, dtype))], wrt_list, stop,
                  disconnected_inputs, "zero")
        return format_as(using_list, using_tuple, [_empty_jacobian(v) for v in wrt_list])
    identity = np.eye(length, dtype=dtype)
    rows = [[] for _ in wrt_list]
    mode = disconnected_inputs
    for index in range(length):
        row = ir.Node.make(ir.Constant(identity[index]))  # the cotangent of expression[i]
        for column, g in zip(rows, _backward([(node, row)], wrt_list, stop, mode, "zero")):
            column.append(g)
        mode = "ignore"  # one warning per variable, as Theano's scan built one inner graph
    from .shape import stack
    return format_as(using_list, using_tuple, [stack(column) for column in rows])


def _empty_jacobian(variable):
    """Zeros of shape ``(0,) + variable.shape``."""
    from .shape import zeros
    dtype = variable.dtype if variable.dtype in dtypes.FLOATS else config.floatX
    return zeros([0] + [variable.shape[axis] for axis in range(variable.ndim)], dtype)


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Hessian of the scalar ``cost`` with respect to the vector(s) ``wrt`` (Theano's
    ``theano.gradient.hessian``): the Jacobian of the gradient.

    Parameters
    ----------
    cost : Variable
        A scalar.
    wrt : Variable or list of Variable
        Vectors.
    consider_constant : list of Variable, optional
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        For a ``wrt`` vector the cost does not depend on.  A gradient that does not depend
        on its vector (a linear cost) is no error: its Hessian is zero.

    Returns
    -------
    Variable or list/tuple of Variable
        Structured as ``wrt``; an ``(n, n)`` matrix per vector of length ``n``.

    Raises
    ------
    AssertionError
        When ``cost`` is not a scalar Variable or ``wrt`` not vectors (Theano's checks).

    Examples
    --------
    >>> x = T.dvector('x')
    >>> A = T.dmatrix('A')
    >>> H = hessian(T.dot(x, T.dot(A, x)), x)   # A + A.T
    """
    if not isinstance(cost, Variable):
        raise AssertionError("tensor.hessian expects a Variable as `cost`")
    if cost.ndim != 0:
        raise AssertionError("tensor.hessian expects a 0 dimensional variable as `cost`")
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    hessians = []
    for variable in _as_list(wrt):
        if not isinstance(variable, Variable):
            raise AssertionError("tensor.hessian expects a (list of) Variable as `wrt`")
        if variable.ndim != 1:
            raise AssertionError("tensor.hessian expects a (list of) 1 dimensional variable "
                                 "as `wrt`")
        gradient = grad(cost, variable, consider_constant=consider_constant,
                        disconnected_inputs=disconnected_inputs)
        hessians.append(jacobian(gradient, variable, consider_constant=consider_constant,
                                 disconnected_inputs="ignore"))
    return format_as(using_list, using_tuple, hessians)
