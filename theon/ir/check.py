"""The IR verifier: types, leaves and graph invariants, checked after any pass."""
from .errors import CompileError
from .ops.leaf import Input
from .types import TupleType


def check(graph, after=None):
    """Raise CompileError if ``graph`` breaks an invariant; return ``graph`` otherwise.

    Checked: every node's type is what its op's rule gives for its inputs' types; every
    ``Input`` leaf reached is one of ``graph.inputs``; outputs are tensors, not tuples.

    Parameters
    ----------
    graph : Graph
    after : str, optional
        Name of the pass that produced ``graph``, named in the error.
    """
    where = f" after pass {after!r}" if after else ""
    leaves = set(graph.inputs)
    for node in graph.nodes():
        if isinstance(node.op, Input):
            if node not in leaves:
                raise CompileError(f"ir.check{where}: dangling input {node!r}")
            continue
        try:
            expected = node.op.infer_type(*[i.type for i in node.inputs])
        except Exception as error:  # the rule itself rejects the inputs
            raise CompileError(f"ir.check{where}: {node!r}: {error}") from error
        if expected != node.type:
            raise CompileError(f"ir.check{where}: {node!r} has type {node.type}; its op's rule "
                               f"gives {expected}")
    for index, out in enumerate(graph.outputs):
        if isinstance(out.type, TupleType):
            raise CompileError(f"ir.check{where}: output {index} is a tuple node {out!r}")
    return graph
