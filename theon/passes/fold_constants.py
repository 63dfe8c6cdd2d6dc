"""Constant folding: a node whose inputs are all constants becomes a constant."""
from ..ir import Constant, Input, Node, TupleType
from .rewrite import rewrite

MAX_FOLDED_ELEMENTS = 1 << 20  # bigger results stay computed at run time, not stored


def fold_constant_node(node):
    """op(c1, c2, ...) -> c, evaluated with the op's numpy reference."""
    if not node.inputs or isinstance(node.op, (Input, Constant)):
        return None
    if not all(isinstance(i.op, Constant) for i in node.inputs):
        return None
    if isinstance(node.type, TupleType):
        return None  # a loop or conditional: its projections stay, computed at run time
    size = 1
    for length in node.type.shape:
        size *= length
    if size > MAX_FOLDED_ELEMENTS:
        return None
    value = node.op.impl(*[i.op.value for i in node.inputs])
    folded = Node.make(Constant(value))
    return folded if folded.type == node.type else None


def fold_constants(graph):
    """Replace every all-constant subgraph of ``graph`` by its value."""
    return rewrite(graph, (fold_constant_node,))
