"""Accumulating products: ``c - s * dot(a, b)`` becomes ``gemm(c, -s, a, b)``.

The SGD update of a weight matrix, ``W - lr * dot(x.T, delta)``, is otherwise a product
written into a new array and an elementwise kernel reading it and ``W`` to write the
update: two passes over a matrix of ``W``'s size and, at the first call, page faults on a
fresh one.  As a ``Gemm`` step the runtime adds the product straight into ``W``'s array
(BLAS's beta = 1; Theano's ``gemm_inplace``).

Rewritten: a function output ``c + dot(a, b)``, ``c - dot(a, b)``, or either with the
product scaled by a scalar (``s * dot``, ``dot * s``), where the product is a matrix
product of matrices, every operand has one float dtype, and ``c`` already has the
output's shape (no broadcasting).  The output must feed nothing else and the product and
its scaling nothing but the sum: a result that more elementwise work reads stays with the
fused kernel, which does that work in the same pass over memory.

Loop bodies keep their products (``passes.schedule`` leaves this pass out there): the
native loop driver runs a body's ``dot`` steps, not ``gemm``.
"""
from collections import Counter

import numpy as np

from ..ir import ELEMENTWISE, Constant, Node
from ..ir.ops.linalg import Dot, Gemm

_ADD, _SUB, _MUL, _NEG = (ELEMENTWISE[name] for name in ("add", "sub", "mul", "neg"))
_BLAS_DTYPES = ("float32", "float64")


def gemm(graph):
    """``graph`` with each output of the forms above computed by a ``Gemm``; ``graph``
    itself when there is none."""
    if not any(_may_be_gemm(node) for node in graph.outputs):
        return graph  # the common case: no walk over the graph
    reads, listed = _reads(graph), Counter(graph.outputs)
    # only an output that nothing but the caller reads (no node) is rewritten
    return graph.replace_outputs([_as_gemm(node, reads) if reads[node] == listed[node] else node
                                  for node in graph.outputs])


def _may_be_gemm(node):
    """Whether ``node`` has the shape of a rewritten form, its readers aside."""
    return node.op in (_ADD, _SUB) and _float_matrix(node) and any(
        isinstance(term.op, Dot) or (term.op == _MUL and any(
            isinstance(factor.op, Dot) for factor in term.inputs))
        for term in node.inputs)


def _reads(graph):
    """Node -> how many times it is read: as an input of a node, and as an output of the
    graph (by the caller)."""
    reads = dict.fromkeys(graph.nodes(), 0)
    for node in reads:
        for child in node.inputs:
            reads[child] += 1
    for output in graph.outputs:
        reads[output] += 1
    return reads


def _as_gemm(node, reads):
    """The Gemm node computing ``node``, an output read by nothing else; ``node`` itself
    when it is not of a rewritten form."""
    if not _may_be_gemm(node):
        return node
    left, right = node.inputs
    orders = [(left, right)] if node.op == _SUB else [(left, right), (right, left)]
    sign = -1 if node.op == _SUB else 1
    for c, term in orders:
        found = _scaled_product(term, reads)
        if found is None or not _same_pattern(c, node):
            continue
        product, scale = found
        alpha = _alpha(sign, scale, node.type.dtype)
        candidate = Node.make(Gemm(), (c, alpha, *product.inputs))
        if candidate.type == node.type:
            if candidate.trace is None:
                candidate.trace = node.trace
            return candidate
    return node


def _scaled_product(term, reads):
    """(product, scale or None) when ``term`` is ``dot(a, b)``, ``s * dot(a, b)`` or
    ``dot(a, b) * s`` read only by the sum, with matrices ``a`` and ``b`` and a 0-d
    ``s``."""
    if term.op == _MUL and reads[term] == 1:
        for product, scale in (term.inputs, term.inputs[::-1]):
            if scale.type.ndim == 0 and scale.type.dtype == term.type.dtype and \
                    _matrix_product(product, reads):
                return product, scale
        return None
    if _matrix_product(term, reads):
        return term, None
    return None


def _matrix_product(node, reads):
    """Whether ``node`` is a dot of two matrices of its (BLAS) dtype read once."""
    return isinstance(node.op, Dot) and _float_matrix(node) and reads[node] == 1 and \
        all(operand.type.ndim == 2 and operand.type.dtype == node.type.dtype
            for operand in node.inputs)


def _float_matrix(node):
    return node.type.ndim == 2 and node.type.dtype in _BLAS_DTYPES


def _same_pattern(c, node):
    """Whether ``c`` is a matrix of ``node``'s dtype that needs no broadcasting to it."""
    return c.type.dtype == node.type.dtype and c.type.ndim == 2 and \
        c.type.broadcastable == node.type.broadcastable


def _alpha(sign, scale, dtype):
    """The 0-d node of ``sign * scale`` (``scale`` None: of ``sign``), folded when constant."""
    if scale is None:
        return Node.make(Constant(np.array(sign, dtype)))
    if isinstance(scale.op, Constant):
        return Node.make(Constant(np.array(sign * scale.op.value, dtype)))
    return scale if sign == 1 else Node.make(_NEG, (scale,))
