"""Small helpers that build nodes, for gradient rules (``Op.vjp``) and ``passes.autodiff``.

Imports only ``ir``.  Every helper returns a hash-consed ``Node``.
"""
import numpy as np

from . import dtypes
from .node import Node
from .ops import ELEMENTWISE, Constant, DimShuffle, Reduce, Reshape, Shape, cast_op
from .ops.elementwise import axis_index_op
from .ops.shape_ops import SumToShape, static_and_parameters


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
    if axes == list(range(lead)):
        # only the leading axes: a reduction without them, not one keeping them and a
        # dimshuffle dropping them (a step less: a bias gradient in every training step)
        return Node.make(Reduce("add", tuple(axes), False, grad.type.dtype), (grad,)) \
            if axes else grad
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


def axis_index(node, axis):
    """Each element's position (int64) along ``axis`` (negative: from the last) of
    ``node``'s shape; zeros where that axis has static length 1: a kernel computes a node at
    every element of its domain, which may be longer there (the value broadcast), and the
    position would be the domain's."""
    if node.type.shape[axis] == 1:
        return zeros_like(node, "int64")
    return Node.make(axis_index_op(axis), (node,))


def length(node, axis):
    """The length of ``node`` along ``axis``: an int when it is static, else a 0-d int64
    node reading it at run time."""
    static = node.type.shape[axis]
    if static is not None:
        return static
    return Node.make(Shape(axis % node.type.ndim), (node,))


def lengths(node):
    """``length(node, axis)`` for every axis of ``node``."""
    return [length(node, axis) for axis in range(node.type.ndim)]


def product(values):
    """The product of ``values`` (ints and 0-d integer nodes): an int when all are ints,
    else an int64 node."""
    known = 1
    symbolic = None
    for value in values:
        if isinstance(value, Node):
            value = cast(value, "int64")
            symbolic = value if symbolic is None else apply("mul", symbolic, value)
        else:
            known *= int(value)
    if symbolic is None:
        return known
    if known == 1:
        return symbolic
    return apply("mul", symbolic, Node.make(Constant(np.asarray(known, dtype="int64"))))


def reshape(node, shape):
    """``node`` reshaped to ``shape``, whose entries are ints or 0-d integer nodes (lengths
    known only at run time); ``node`` itself when its static shape already is ``shape``."""
    static, parameters = static_and_parameters(shape)
    if static == tuple(node.type.shape) and None not in static:
        return node
    return Node.make(Reshape(static), (node,) + parameters)


def reshape_like(node, like):
    """``node`` (of ``like``'s size) reshaped to the run-time shape of ``like``."""
    if node.type.ndim == like.type.ndim == 1:
        return node  # one size and one axis: the same shape
    return reshape(node, lengths(like))


def flatten(node):
    """``node`` as a vector (numpy's ``ravel``); ``node`` itself when it is one."""
    if node.type.ndim == 1:
        return node
    return Node.make(Reshape((-1,)), (node,))


def sum_to_shape_of(grad, like, axes=None):
    """``grad`` summed down to the run-time shape of ``like``, undoing numpy's broadcast of
    ``like`` to ``grad``'s shape.

    ``sum_to`` reads only static shapes; ops that broadcast as numpy does (alloc, matmul)
    may also have broadcast an axis whose length 1 was known only at run time, so along
    such axes the sum is decided at run time by ``SumToShape``.

    Parameters
    ----------
    grad : Node
        Of rank at least ``like``'s, its trailing axes aligned with ``like``'s.
    like : Node
    axes : sequence of int, optional
        The axes of ``like`` that may have been broadcast (default all).

    Returns
    -------
    Node
        Of ``like``'s rank, in ``grad``'s dtype.
    """
    grad = sum_to(grad, like.type)
    axes = range(like.type.ndim) if axes is None else axes
    if all(like.type.shape[axis] is not None or grad.type.shape[axis] == 1 for axis in axes):
        return grad
    static, parameters = static_and_parameters(lengths(like))
    return Node.make(SumToShape(static), (grad,) + parameters)
