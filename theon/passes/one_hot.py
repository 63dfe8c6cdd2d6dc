"""Row-wise label indexing as a one-hot mask, fused into the kernels around it.

``x[arange(m), labels]`` (the negative log-likelihood of a classifier) gathers one element
per row; its gradient, ``inc_subtensor(zeros_like(x)[arange(m), labels], g)``, scatters one
per row.  Run as written they are host steps of their own (the arange, the gather, a
scatter into a fresh array of zeros), and ``x`` must be stored to be gathered from.  With
``j`` each element's column (``axis_index``) and ``c`` the labels as column positions
(``RowLabels``, which checks them first, as the indexing would)::

    x[arange(m), labels]                      -> sum(where(j == c, x, 0), axis=1)
    inc_subtensor(b[arange(m), labels], g)    -> b + where(j == c, g, 0)
    set_subtensor(b[arange(m), labels], g)    -> where(j == c, g, b)

exact, since each row holds one selected element: the gather becomes a row reduction that
fuses with the producer of ``x`` (a log-softmax is then never stored), the scatter an
elementwise term of the gradient's kernel.  And a row sum of the scatter, which the
gradient of a softmax takes, is the scattered value itself::

    sum(where(j == c, v, 0), axis=1) -> v     (v constant along the row; also through a
                                               negation or a cast)

The rules apply where the rows are ``arange(0, m, 1)`` over a matrix, and the result keeps
the node's type exactly; elsewhere the indexing runs as written.
"""
import numpy as np

from ..ir import ELEMENTWISE, Constant, ElementwiseOp, Node, Shape, build, dtypes
from ..ir.ops import AdvancedSubtensor, Alloc, ARange, IncSubtensor, Reduce
from ..ir.ops.elementwise import axis_index_op
from ..ir.ops.indexing import RowLabels
from .canonicalize import (has_full_shape, merge_nested_sums, shape_from_operand,
                           shape_through_sum)
from .rewrite import rewrite

_EQ = ELEMENTWISE["eq"]
_SWITCH = ELEMENTWISE["switch"]
_ADD = ELEMENTWISE["add"]
_SECOND = ELEMENTWISE["second"]
_ROWS_AND_LABELS = (("array",), ("array",))


def _zero(dtype):
    return Node.make(Constant(np.zeros((), dtype)))


def _arange_length(rows):
    """``m`` when ``rows`` is ``arange(0, m, 1)`` (m a node or an int), else None."""
    op = rows.op
    if not isinstance(op, ARange) or op.bounds[0] != 0 or op.bounds[2] != 1:
        return None
    if op.bounds[1] is not None:
        return Node.make(Constant(np.asarray(op.bounds[1], np.int64)))
    (stop,) = rows.inputs
    return stop if stop.type.dtype in dtypes.INTS else None


def _full_operand(node):
    """An array of ``node``'s shape that is cheapest to have: ``node``'s elementwise
    producers are followed to an operand of their full shape, so that reading a shape does
    not make an elementwise value be stored."""
    while isinstance(node.op, ElementwiseOp):
        full = next((operand for operand in node.inputs if has_full_shape(operand, node)), None)
        if full is None:
            return node
        node = full
    return node


def _one_hot(node, x):
    """The one-hot mask ``j == c`` (bool, ``x``'s shape) of the indexing ``node`` over the
    matrix ``x`` by rows and labels; None where the rules do not apply."""
    op = node.op
    if op.index != _ROWS_AND_LABELS or x.type.ndim != 2:
        return None
    rows, labels = node.inputs[-2:]
    if rows.type.ndim != 1 or labels.type.ndim != 1 or \
            labels.type.dtype not in dtypes.INTS:
        return None
    length = _arange_length(rows)
    if length is None:
        return None
    # one RowLabels for a gather and its gradient's scatter: messages name the gather
    text = AdvancedSubtensor(op.index).describe()
    if isinstance(length.op, Shape) and length.op.axis in (0, -1) and \
            length.inputs[0] is labels:
        columns = Node.make(RowLabels(text), (labels, _full_operand(x)))
    else:
        columns = Node.make(RowLabels(text, False), (labels, _full_operand(x), length))
    positions = build.axis_index(x, -1)
    return Node.make(_EQ, (positions, columns))


def gather_as_one_hot_sum(node):
    """x[arange(m), labels] -> sum(where(j == c, x, 0), axis=1)."""
    if not isinstance(node.op, AdvancedSubtensor):
        return None
    x = node.inputs[0]
    mask = _one_hot(node, x)
    if mask is None:
        return None
    picked = Node.make(_SWITCH, (mask, x, _zero(x.type.dtype)))
    total = Node.make(Reduce("add", (1,), False, x.type.dtype), (picked,))
    return total if total.type == node.type else None


def scatter_as_one_hot(node):
    """inc_subtensor(b[arange(m), labels], g) -> b + where(j == c, g, 0); set_subtensor ->
    where(j == c, g, b).  A base of zeros is not added."""
    if not isinstance(node.op, IncSubtensor):
        return None
    base, value = node.inputs[:2]
    mask = _one_hot(node, base)
    if mask is None or value.type.ndim > 1:
        return None
    dtype = base.type.dtype
    value = build.cast(value, dtype)
    if value.type.ndim == 1:
        value = build.dimshuffle(value, (0, "x"))  # one value per row
    if node.op.mode == "set":
        result = Node.make(_SWITCH, (mask, value, base))
    elif _is_zeros(base):
        result = Node.make(_SWITCH, (mask, value, _zero(dtype)))
    else:
        # -0.0 off the mask: b + -0.0 is b itself, a -0.0 in b included (b + 0.0 is not)
        off = Node.make(Constant(np.array(-0.0 if dtype in dtypes.FLOATS else 0, dtype)))
        result = Node.make(_ADD, (base, Node.make(_SWITCH, (mask, value, off))))
    return result if result.type == node.type else None


def _is_zeros(node):
    """Whether ``node`` is all zeros: a zero constant, ``second(x, 0)`` or an ``alloc`` of
    0 (zeros_like)."""
    if isinstance(node.op, Constant):
        return node.op.scalar == 0
    if isinstance(node.op, Alloc):
        return _is_zeros(node.inputs[0])
    return getattr(node.op, "name", None) == "second" and _is_zeros(node.inputs[1])


def row_sum_of_one_hot(node):
    """sum(f(where(j == c, v, 0)), axis=1) -> f(v) where ``v`` does not vary along the row
    and ``f`` is a negation or a cast, which keep zeros zero (a product by a scale would
    not: 0 * inf is nan): the checked labels ``c`` select exactly one column of each row."""
    op = node.op
    if not isinstance(op, Reduce) or op.combiner != "add" or op.axes != (1,) or \
            node.inputs[0].type.ndim != 2:
        return None
    found = _selected(node.inputs[0])
    if found is None:
        return None
    value, columns = found
    rows = Node.make(_SECOND, (columns, value))  # the value broadcast to (m, 1)
    if rows.type.dtype != node.type.dtype:
        return None
    result = rows if op.keepdims else build.dimshuffle(rows, (0,))
    return result if result.type == node.type else None


def _row_constant(node):
    return node.type.ndim < 2 or node.type.shape[-1] == 1


def _selected(node):
    """(what each row of ``node`` holds at its label, the labels' node) when ``node`` is
    zero off the one-hot mask of checked labels (see ``row_sum_of_one_hot``), else None."""
    op = getattr(node.op, "name", None)
    if node.op == _SWITCH:
        mask, value, other = node.inputs
        if isinstance(other.op, Constant) and other.op.scalar == 0 and mask.op == _EQ and \
                mask.inputs[0].op == axis_index_op(-1) and \
                isinstance(mask.inputs[1].op, RowLabels) and _row_constant(value):
            return value, mask.inputs[1]
        return None
    if op in ("neg", "cast"):
        found = _selected(node.inputs[0])
        return None if found is None else (node.replace(inputs=[found[0]]), found[1])
    return None


def index_from_operand(node):
    """axis_index(f(a, b)) -> axis_index(a) for an elementwise f and an operand of its full
    shape: positions need only a shape, and reading it must not make ``f(a, b)`` be
    stored (the mask of a gradient is built on zeros_like(x), x a log-softmax)."""
    if getattr(node.op, "name", None) != "axis_index":
        return None
    source = _full_operand(node.inputs[0])
    return None if source is node.inputs[0] else node.replace(inputs=[source])


RULES = (gather_as_one_hot_sum, scatter_as_one_hot, row_sum_of_one_hot, index_from_operand,
         shape_from_operand, shape_through_sum, merge_nested_sums)


def one_hot(graph):
    """Rewrite row-wise label indexing of ``graph`` as one-hot masks (see the module).  A
    graph without advanced indexing is returned as it is, without a sweep of the rules (the
    shape and sum rules among them only tidy what the others make)."""
    if not any(isinstance(node.op, (AdvancedSubtensor, IncSubtensor)) for node in graph.nodes()):
        return graph
    return rewrite(graph, RULES)
