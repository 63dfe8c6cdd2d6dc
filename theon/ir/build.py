"""Small helpers that build nodes, for gradient rules (``Op.vjp``) and ``passes.autodiff``.

Imports only ``ir``.  Every helper returns a hash-consed ``Node``.
"""
import numpy as np

from . import dtypes
from .node import Node
from .ops import ELEMENTWISE, Constant, DimShuffle, Reduce, cast_op


def apply(name, *nodes):
    """The elementwise op ``name`` of ``ir.ELEMENTWISE`` applied to ``nodes``."""
    return Node.make(ELEMENTWISE[name], nodes)


def const(value, like):
    """A 0-d constant holding ``value`` in ``like``'s dtype when that is a float (so float32
    graphs stay float32), float64 otherwise."""
    dtype = like.type.dtype if like.type.dtype in dtypes.FLOATS else "float64"
    return Node.make(Constant(np.asarray(value, dtype=dtype)))


def cast(node, dtype):
    """``node`` converted to ``dtype``; ``node`` itself when it has that dtype."""
    return node if node.type.dtype == dtype else Node.make(cast_op(dtype), (node,))


def dimshuffle(node, pattern):
    """``node`` dimshuffled by ``pattern``; ``node`` itself for the identity pattern."""
    pattern = tuple(pattern)
    if pattern == tuple(range(node.type.ndim)):
        return node
    return Node.make(DimShuffle(pattern), (node,))


def expand_reduced(node, axes, ndim):
    """The result ``node`` of a reduction over ``axes`` without keepdims, with the reduced
    axes put back as broadcastable ones (rank ``ndim``)."""
    pattern, kept = [], iter(range(node.type.ndim))
    for axis in range(ndim):
        pattern.append("x" if axis in axes else next(kept))
    return dimshuffle(node, pattern)


def sum_to(grad, ttype):
    """``grad`` summed down to the shape of ``ttype``: over its extra leading axes and over
    the axes where ``ttype`` is broadcastable (length 1) and ``grad`` is not; left-padded
    with broadcastable axes when it has fewer than ``ttype``."""
    ndim, target = grad.type.ndim, ttype.ndim
    if ndim < target:
        grad = dimshuffle(grad, ("x",) * (target - ndim) + tuple(range(ndim)))
        ndim = target
    lead = ndim - target
    axes = list(range(lead))
    axes += [lead + axis for axis, length in enumerate(ttype.shape)
             if length == 1 and grad.type.shape[lead + axis] != 1]
    if axes:
        grad = Node.make(Reduce("add", tuple(axes), True, grad.type.dtype), (grad,))
    if lead:
        grad = dimshuffle(grad, tuple(range(lead, ndim)))
    return grad


def second(model, value):
    """``value`` broadcast to ``model``'s shape (Theano's ``fill``)."""
    return apply("second", model, value)


def zeros_like(node, dtype=None):
    """Zeros of ``node``'s shape, in ``dtype`` (default ``node``'s dtype)."""
    dtype = dtype or node.type.dtype
    return second(node, Node.make(Constant(np.zeros((), dtype=dtype))))
