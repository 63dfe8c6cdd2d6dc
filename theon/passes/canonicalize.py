"""Algebraic canonicalisation, driven by the traits each op declares in its definition."""
import numpy as np

from ..ir import ELEMENTWISE, Constant, ElementwiseOp, Node, Shape
from ..ir.ops import GradientOp, Reduce
from .rewrite import rewrite

_SUB = ELEMENTWISE["sub"]
_SECOND = ELEMENTWISE["second"]
_SQR = ELEMENTWISE["sqr"]
_SQRT = ELEMENTWISE["sqrt"]
_POW = ELEMENTWISE["pow"]


def constant_value(node):
    """The uniform Python value of a constant node, or None."""
    if isinstance(node.op, Constant):
        return node.op.scalar
    return None


def _elementwise(node):
    return node.op if isinstance(node.op, ElementwiseOp) else None


def _zeros_like(node, dtype):
    """A node of ``node``'s shape holding zeros of ``dtype``: ``second(node, 0)``."""
    return Node.make(_SECOND, (node, Node.make(Constant(np.zeros((), dtype)))))


def _operand_order(node):
    # constants last; otherwise creation order, so rebuilding a graph gives the same order
    return (isinstance(node.op, Constant), node.serial)


def remove_gradient_op(node):
    """zero_grad(x) -> x, disconnected_grad(x) -> x, grad_clip(x) -> x, grad_scale(x) -> x:
    they steer only theon.grad, which ran on the user's graph before compiling."""
    if isinstance(node.op, GradientOp):
        return node.inputs[0]
    return None


def sort_commutative_operands(node):
    """a + b -> b + a when the order is not canonical (so a+b and b+a become one node)."""
    op = _elementwise(node)
    if op is None or not op.commutative:
        return None
    ordered = sorted(node.inputs, key=_operand_order)
    if all(a is b for a, b in zip(ordered, node.inputs)):
        return None
    return node.replace(inputs=ordered)


def remove_identity_operand(node):
    """x + 0 -> x, x * 1 -> x, x - 0 -> x, x / 1 -> x, x ** 1 -> x (when types agree)."""
    op = _elementwise(node)
    if op is None or op.identity is None or op.nin != 2:
        return None
    left, right = node.inputs
    if constant_value(right) == op.identity and left.type == node.type:
        return left
    if op.commutative and constant_value(left) == op.identity and right.type == node.type:
        return right
    return None


def collapse_involution(node):
    """--x -> x, ~~x -> x."""
    op = _elementwise(node)
    if op is None or not op.involution:
        return None
    inner = node.inputs[0]
    if inner.op == op and inner.inputs[0].type == node.type:
        return inner.inputs[0]
    return None


def collapse_idempotent(node):
    """max(x, x) -> x, x & x -> x."""
    op = _elementwise(node)
    if op is None or not op.idempotent:
        return None
    left, right = node.inputs
    if left is right and left.type == node.type:
        return left
    return None


def cancel_self_subtraction(node):
    """x - x -> 0 and x ^ x -> 0 for integers (for floats, inf - inf is nan)."""
    op = _elementwise(node)
    if op is None or op.name not in ("sub", "xor") or node.type.dtype.startswith("float"):
        return None
    left, right = node.inputs
    if left is not right:
        return None
    zeros = _zeros_like(left, node.type.dtype)
    return zeros if zeros.type == node.type else None


def absorb_integer_zero(node):
    """x * 0 -> 0 for integers (for floats, inf * 0 is nan)."""
    op = _elementwise(node)
    if op is None or op.name != "mul" or node.type.dtype.startswith("float"):
        return None
    left, right = node.inputs
    if constant_value(right) != 0 or left.type.shape != node.type.shape:
        return None
    zeros = _zeros_like(left, node.type.dtype)
    return zeros if zeros.type == node.type else None


def subtract_negation(node):
    """x - (-y) -> x + y and x + (-y) -> x - y."""
    op = _elementwise(node)
    if op is None or op.name not in ("add", "sub"):
        return None
    left, right = node.inputs
    if _elementwise(right) is None or right.op.name != "neg":
        return None
    flipped = ELEMENTWISE["sub" if op.name == "add" else "add"]
    replacement = Node.make(flipped, (left, right.inputs[0]))
    return replacement if replacement.type == node.type else None


def power_to_square_or_root(node):
    """x ** 2 -> sqr(x), x ** 0.5 -> sqrt(x): no pow call in the kernel."""
    if node.op != _POW:
        return None
    base, exponent = node.inputs
    value = constant_value(exponent)
    if value == 2:
        replacement = Node.make(_SQR, (base,))
    elif value == 0.5 and node.type.dtype.startswith("float"):
        replacement = Node.make(_SQRT, (base,))
    else:
        return None
    return replacement if replacement.type == node.type else None


def has_full_shape(operand, value):
    """Whether the operand of elementwise ``value`` has ``value``'s shape: its rank and no
    broadcast axis where ``value`` has none (then its lengths are ``value``'s at run time)."""
    return operand.type.ndim == value.type.ndim and all(
        length != 1 or full == 1 for length, full in zip(operand.type.shape, value.type.shape))


def shape_from_operand(node):
    """shape(f(a, b))[i] -> shape(a)[j] for an elementwise f, reading an operand whose axis
    does not broadcast there: ``mean(f(x))`` divides by ``x.shape[0]`` and no longer
    computes ``f(x)`` a second time only to measure it."""
    if not isinstance(node.op, Shape) or _elementwise(node.inputs[0]) is None:
        return None
    (source,) = node.inputs
    ndim = source.type.ndim
    for operand in source.inputs:
        if node.op.axis is None:
            if has_full_shape(operand, source):
                return Node.make(Shape(), (operand,))
            continue
        own = node.op.axis % ndim - (ndim - operand.type.ndim)
        if own >= 0 and operand.type.shape[own] != 1:
            return Node.make(Shape(own), (operand,))
    return None


def shape_through_sum(node):
    """shape(reduce(x))[i] -> shape(x)[j] for an axis the reduction keeps: the length is
    read from the array reduced, and the reduction's result is not needed to measure it
    (``mean`` of a row reduction divides by its row count)."""
    if not isinstance(node.op, Shape) or node.op.axis is None or \
            not isinstance(node.inputs[0].op, Reduce):
        return None
    reduce = node.inputs[0]
    op = reduce.op
    ndim = reduce.type.ndim
    axis = node.op.axis % ndim
    if op.keepdims:
        if axis in op.axes:
            return None
        return Node.make(Shape(axis), reduce.inputs)
    kept = [a for a in range(reduce.inputs[0].type.ndim) if a not in op.axes]
    return Node.make(Shape(kept[axis]), reduce.inputs)


def merge_nested_sums(node):
    """sum(sum(x, axes=b), axes=a) -> sum(x, axes=a+b) (one pass over x, no intermediate
    array), when both sums have one dtype and both keep dims, or neither does."""
    op = node.op
    if not isinstance(op, Reduce) or op.combiner != "add" or \
            not isinstance(node.inputs[0].op, Reduce):
        return None
    inner_node = node.inputs[0]
    inner = inner_node.op
    if inner.combiner != "add" or inner.dtype != op.dtype or inner.keepdims != op.keepdims:
        return None
    (source,) = inner_node.inputs
    if op.keepdims:
        outer_axes = set(op.axes)
    else:
        kept = [a for a in range(source.type.ndim) if a not in inner.axes]
        outer_axes = {kept[a] for a in op.axes}
    axes = tuple(sorted(set(inner.axes) | outer_axes))
    merged = Node.make(Reduce("add", axes, op.keepdims, op.dtype), (source,))
    return merged if merged.type == node.type else None


RULES = (remove_gradient_op, sort_commutative_operands, remove_identity_operand,
         collapse_involution, collapse_idempotent, cancel_self_subtraction,
         absorb_integer_zero, subtract_negation, power_to_square_or_root, shape_from_operand,
         shape_through_sum, merge_nested_sums)


def canonicalize(graph):
    """Simplify ``graph`` with the algebraic rules above (identities, involutions, ...)."""
    return rewrite(graph, RULES)
