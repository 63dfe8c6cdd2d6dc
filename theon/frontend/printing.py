"""``theon.printing``: looking at graphs and compiled functions."""
import sys

from ..ir.printing import debugprint_nodes
from .function import Function
from .variable import Variable


def debugprint(obj, file=None, print_type=True):
    """Print the graph of a variable, a list of variables or a compiled function.

    For a compiled Function its schedule is shown: each fused kernel with its scalar body.
    For variables, each node is printed with its type and an id (``[id A]``); a node used
    twice is expanded once.

    Parameters
    ----------
    obj : Variable, list of Variable, or Function
    file : file-like, optional
        Where to print (default: stdout).  ``file='str'`` returns the text instead.

    Returns
    -------
    str or obj
    """
    if isinstance(obj, Function):
        text = obj.source("ir")
    else:
        variables = obj if isinstance(obj, (list, tuple)) else [obj]
        for variable in variables:
            if not isinstance(variable, Variable):
                raise TypeError(f"debugprint: expected a Variable or Function, got "
                                f"{type(variable).__name__}")
        names = {v.node: v.name for v in variables if v.name}
        text = debugprint_nodes([v.node for v in variables], names)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return obj


def pprint(variable):
    """A one-line infix rendering of ``variable``'s graph."""
    from .. import ir
    rendered = {}
    for node in ir.toposort([variable.node]):
        if isinstance(node.op, ir.Input):
            rendered[node] = node.op.label or "?"
        elif isinstance(node.op, ir.Constant):
            value = node.op.value
            rendered[node] = repr(value.item()) if value.size == 1 else node.op.describe()
        else:
            args = ", ".join(rendered[i] for i in node.inputs)
            rendered[node] = f"{node.op.describe()}({args})"
    return rendered[variable.node]
