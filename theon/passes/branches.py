"""Lazy conditionals: what only one side of an ``ifelse`` needs moves into that side.

Each node gets an *owner*: the graph itself when some path from an output reaches it
without entering a side of a conditional, else the one side ``(ifelse node, side)`` whose
values lead to it.  A node that two different sides need, or a side and the rest of the
graph, is computed before the conditional, outside both.  Each ``IfElse`` then becomes a
``Branch`` whose sides are graphs of the nodes it owns; the runtime runs one of them.
Conditionals nested in a side stay ``IfElse`` nodes of that side's graph, which this pass
lowers in turn when the side is compiled.
"""
from ..ir import Graph, Input, Node, consumers, substitute
from ..ir.ops import Constant, Output
from ..ir.ops.branch import Branch, IfElse

_GRAPH = "graph"


def lazy_branches(graph):
    """``graph`` with every IfElse it computes lowered to a Branch; ``graph`` itself when
    it has none."""
    order = graph.nodes()
    if not any(isinstance(node.op, IfElse) for node in order):
        return graph
    owner = _owners(graph, order)
    swap = {}
    for node in order:
        if isinstance(node.op, IfElse) and owner[node] == _GRAPH:
            swap[node] = _lower(node, owner)
    return Graph(graph.inputs, tuple(substitute(graph.outputs, swap)))


def _owners(graph, order):
    users = consumers(order)
    returned = set(graph.outputs)
    owner = {}
    for node in reversed(order):
        demands = {_GRAPH} if node in returned else set()
        for user in users[node]:
            if isinstance(user.op, IfElse):
                n = user.op.n_outputs
                for position, child in enumerate(user.inputs):
                    if child is node:
                        demands.add(owner[user] if position == 0 else
                                    (user, 0 if position <= n else 1))
            else:
                demands.add(owner[user])
        if len(demands) == 1:
            (owner[node],) = demands
        else:
            owner[node] = _GRAPH
        if owner[node] != _GRAPH and (isinstance(node.op, (Input, Constant))):
            owner[node] = _GRAPH  # leaves are never moved: constants are shared freely
    return owner


def _inside(node, side, owner):
    """Whether ``node`` belongs to ``side`` (directly or through a nested conditional)."""
    current = owner[node]
    while current != _GRAPH:
        if current == side:
            return True
        current = owner[current[0]]
    return False


def _lower(node, owner):
    n = node.op.n_outputs
    bodies, outer = [], []
    for side, values in ((0, node.inputs[1:1 + n]), (1, node.inputs[1 + n:])):
        free = {}
        stack, seen = list(values), set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            # one output of a node with several (a scan's) that only this side reads is
            # still read from the node, computed outside when something else needs it
            if _inside(current, (node, side), owner) and not (
                    isinstance(current.op, Output) and
                    not _inside(current.inputs[0], (node, side), owner)):
                stack.extend(current.inputs)
            elif not isinstance(current.op, Constant):
                free.setdefault(current, Node.make(Input.new(current.type,
                                                            getattr(current.op, "label", None))))
        outputs = substitute(list(values), free)
        bodies.append(Graph(tuple(free.values()), tuple(outputs)))
        outer.append(list(free))
    op = Branch(bodies[0], bodies[1], len(outer[0]), n, node.op.label)
    lowered = Node.make(op, (node.inputs[0], *outer[0], *outer[1]))
    lowered.trace = node.trace
    return lowered
