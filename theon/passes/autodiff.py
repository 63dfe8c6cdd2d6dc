"""Reverse-mode automatic differentiation over ``ir`` nodes.

``gradients`` walks the nodes that lie on a path from a ``wrt`` node to a cost in reverse
topological order, sums the gradient contributions each node receives from its users (with
the ``add`` op) and hands the total to ``node.op.vjp``, which returns one gradient (or None)
per input.  Iterative throughout: deep graphs do not recurse.
"""
from ..ir import build, dtypes
from ..ir.node import toposort
from ..ir.ops import Output
from ..ir.types import TupleType


def connected(costs, wrt, stop=()):
    """The nodes of ``wrt`` on which some node of ``costs`` depends, not counting paths
    through the nodes of ``stop`` (treated as leaves)."""
    wrt, stop = set(wrt), set(stop)
    seen, stack = set(), list(costs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node not in stop:
            stack.extend(node.inputs)
    return wrt & seen


def dependents(order, wrt, stop=()):
    """The nodes of ``order`` (topological) that depend on a node of ``wrt`` (including
    those nodes), with the nodes of ``stop`` cut off from their inputs."""
    wrt, stop = set(wrt), set(stop)
    depends = set()
    for node in order:
        if node in wrt or (node not in stop and any(i in depends for i in node.inputs)):
            depends.add(node)
    return depends


def _total(contributions, node):
    """The sum of a node's gradient contributions, in the node's dtype."""
    total = None
    for g in contributions:
        total = g if total is None else build.apply("add", total, g)
    return build.cast(total, node.type.dtype) if node.type.dtype in dtypes.FLOATS else total


def gradients(cost_grads, wrt, stop=()):
    """Reverse-mode gradients of costs with respect to ``wrt``.

    Parameters
    ----------
    cost_grads : sequence of (Node, Node)
        Each a node and the gradient of the total cost with respect to it (for a scalar
        cost, a 0-d one).
    wrt : sequence of Node
    stop : sequence of Node
        Nodes treated as constants: no gradient flows through them to their inputs.

    Returns
    -------
    dict
        ``{wrt node: gradient node}``, None where no gradient reaches it (disconnected,
        integer-typed, or only through ops with zero gradient).
    """
    stop = set(stop)
    order = toposort([node for node, _ in cost_grads])
    depends = dependents(order, wrt, stop)
    wrt_set = set(wrt)
    contributions = {}
    for node, g in cost_grads:
        if node in depends and g is not None:
            contributions.setdefault(node, []).append(g)
    totals = {}
    parts = {}  # node with several outputs -> {output index: gradient of that output}
    for node in reversed(order):
        if node not in depends:
            continue
        if isinstance(node.type, TupleType):
            # its gradient is one per output, gathered from its projections
            if node not in parts or node in stop:
                continue
            given = parts.pop(node)
            input_grads = node.op.vjp(node, [given.get(i) for i in range(len(node.type.types))])
        else:
            if node not in contributions:
                continue
            g = _total(contributions.pop(node), node)
            if node in wrt_set:
                totals[node] = g
            if node in stop or not node.inputs or node.type.dtype not in dtypes.FLOATS:
                continue
            if not any(i in depends for i in node.inputs):
                continue
            if isinstance(node.op, Output):
                parts.setdefault(node.inputs[0], {})[node.op.index] = g
                continue
            input_grads = node.op.vjp(node, g)
        for child, gc in zip(node.inputs, input_grads):
            if gc is not None and child in depends:
                contributions.setdefault(child, []).append(gc)
    return {node: totals.get(node) for node in wrt}
