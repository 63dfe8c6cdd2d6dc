"""``ifelse``: Theano's lazy conditional."""
from .. import ir
from ..ir.ops import IfElse, Output
from .variable import Variable, as_tensor_variable, user_trace


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` if the scalar ``condition`` is true, else ``else_branch``, computing
    only the side taken.

    Unlike ``T.switch``, which is elementwise and computes both sides, what only one side
    needs runs only when that side is taken; what both sides (or the rest of the function)
    need is computed before.  The gradient flows only into the side that was taken.

    Parameters
    ----------
    condition : scalar Variable or bool
    then_branch, else_branch : Variable or list of Variable
        The same number of values on both sides, pairwise of the same dtype and rank.
    name : str, optional

    Returns
    -------
    Variable, or a list of Variable when the branches are lists.

    Examples
    --------
    >>> from theon.ifelse import ifelse
    >>> z = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
    """
    condition = as_tensor_variable(condition)
    if condition.ndim != 0:
        raise TypeError(f"ifelse: the condition must be a scalar; got {condition!r} of type "
                        f"{condition.type}")
    listed = isinstance(then_branch, (list, tuple))
    then_values = [as_tensor_variable(v) for v in (then_branch if listed else [then_branch])]
    if isinstance(else_branch, (list, tuple)) != listed:
        raise ValueError("ifelse: then_branch and else_branch must both be lists or both "
                         "be single variables")
    else_values = [as_tensor_variable(v) for v in (else_branch if listed else [else_branch])]
    if len(then_values) != len(else_values):
        raise ValueError(f"ifelse: then_branch has {len(then_values)} values and "
                         f"else_branch {len(else_values)}; they must have the same number")
    for index, (a, b) in enumerate(zip(then_values, else_values)):
        if a.dtype != b.dtype or a.ndim != b.ndim:
            raise TypeError(f"IfElse requires same types for true and false return values: "
                            f"true_branch={a.type}, false_branch={b.type} (value {index})")
    node = ir.Node.make(IfElse(len(then_values), name),
                        (condition.node, *[v.node for v in then_values + else_values]),
                        trace=user_trace())
    outputs = [Variable(ir.Node.make(Output(index), (node,)))
               for index in range(len(then_values))]
    return outputs if listed else outputs[0]
