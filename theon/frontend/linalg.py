"""Products of tensors (``dot``, ``tensordot``, ``outer``, ``batched_dot``, ``matmul`` and
``@``) and ``relu``, with Theano 1.0's names and semantics.

Products run as host steps through numpy's BLAS; anything elementwise applied to their
results fuses into kernels.  A shape error found while building names the user's variables.
"""
from .. import ir
from ..ir.ops.linalg import BatchedDot, Dot, Matmul, Outer, Tensordot, normalize_axes
from .elementwise import FUNCTIONS
from .variable import Variable, as_tensor_variable, user_trace

_DOT = Dot()
_MATMUL = Matmul()
_BATCHED_DOT = BatchedDot()
_OUTER = Outer()


def _apply(op, a, b):
    """``op(a, b)`` as a Variable; the shape rule runs first with the variables' names."""
    op.check_shapes(a.node.type.shape, b.node.type.shape, names=(a.name, b.name))
    return Variable(ir.Node.make(op, (a.node, b.node), trace=user_trace()))


def dot(a, b):
    """The product of two tensors, as numpy's ``dot``.

    vector . vector is a scalar (the inner product), matrix . vector a vector, vector .
    matrix a vector, matrix . matrix a matrix; in general the last axis of ``a`` is summed
    against the second-to-last axis of ``b`` (its only axis when ``b`` is a vector).  A 0-d
    operand multiplies elementwise.  Runs through BLAS (numpy's ``matmul``/``dot``).

    Parameters
    ----------
    a, b : Variable or array_like

    Returns
    -------
    Variable
        Shape ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``, dtype numpy's promotion of
        the two dtypes (integers multiply exactly, as in numpy).

    Raises
    ------
    ShapeError
        When the summed lengths are known at build time and differ (the call raises
        ValueError when they differ only at run time).

    Examples
    --------
    >>> x, W, b = T.matrix('x'), T.matrix('W'), T.vector('b')
    >>> h = T.tanh(T.dot(x, W) + b)   # one BLAS call, then one fused kernel
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return FUNCTIONS["mul"](a, b)  # Theano: dot with a scalar is a product
    return _apply(_DOT, a, b)


def matmul(a, b):
    """``a @ b`` with numpy's ``matmul`` semantics.

    The last two axes are matrices and the leading axes broadcast; a vector ``a`` is a
    row and a vector ``b`` a column (that axis is dropped from the result).  Scalars are
    refused, as in numpy.

    Parameters
    ----------
    a, b : Variable or array_like
        Rank >= 1.

    Returns
    -------
    Variable

    Raises
    ------
    ShapeError
        For a 0-d operand, or static shapes that do not fit.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    return _apply(_MATMUL, a, b)


def tensordot(a, b, axes=2):
    """The sum of products over chosen axes of ``a`` and ``b``, as numpy's ``tensordot``.

    Parameters
    ----------
    a, b : Variable or array_like
    axes : int or pair of sequences of int, optional
        An int ``n`` sums the last ``n`` axes of ``a`` against the first ``n`` of ``b``
        (``0`` is the outer product); a pair ``(axes_a, axes_b)`` names the summed axes of
        each, paired in order (negative axes count from the end).

    Returns
    -------
    Variable
        The free axes of ``a``, then those of ``b``.

    Raises
    ------
    ShapeError
        For axes out of range, lists of unequal length, or paired lengths that differ.

    Examples
    --------
    >>> T.tensordot(x3, W, axes=[[2], [0]])   # same as T.dot(x3, W)
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    axes_a, axes_b = normalize_axes("tensordot", axes, a.ndim, b.ndim)
    if a.ndim >= 1 and b.ndim >= 1 and axes_a == (a.ndim - 1,) and \
            axes_b == (max(b.ndim - 2, 0),):
        return _apply(_DOT, a, b)  # the same sum as dot: one node for both spellings
    return _apply(Tensordot(axes_a, axes_b), a, b)


def outer(x, y):
    """The outer product ``out[i, j] = x[i] * y[j]``; tensors are flattened first, as in
    Theano.

    Parameters
    ----------
    x, y : Variable or array_like

    Returns
    -------
    Variable
        A matrix of shape ``(x.size, y.size)``.
    """
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    return Variable(ir.Node.make(_OUTER, (x.node, y.node), trace=user_trace()))


def batched_dot(a, b):
    """``dot`` applied to each pair ``a[i], b[i]`` along the first (batch) axis.

    (B, n, m) with (B, m, p) gives (B, n, p); (B, n) with (B, n) gives (B,); (B, n, m)
    with (B, m) gives (B, n).  A batch of vectors (rank 1) with anything multiplies each
    batch element, as in Theano.  Runs as one batched BLAS matmul.

    Parameters
    ----------
    a, b : Variable or array_like
        Rank >= 1, with the same length on axis 0.

    Returns
    -------
    Variable

    Raises
    ------
    ShapeError
        When batch sizes or summed lengths are known at build time and differ.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    return _apply(_BATCHED_DOT, a, b)


def relu(x, alpha=0):
    """The rectifier ``max(x, 0)``, or the leaky ``x if x > 0 else alpha * x``.

    An elementwise composite, so it fuses with what surrounds it.

    Parameters
    ----------
    x : Variable or array_like
    alpha : float or Variable, optional
        Slope for negative ``x`` (0: the plain rectifier).

    Returns
    -------
    Variable
        ``x``'s dtype when ``alpha`` is 0 (Theano computes ``0.5 * (x + abs(x))``, which
        gives the same values but makes integers float).
    """
    x = as_tensor_variable(x)
    if not isinstance(alpha, Variable) and alpha == 0:
        return FUNCTIONS["maximum"](x, 0)
    return FUNCTIONS["switch"](FUNCTIONS["gt"](x, 0), x, FUNCTIONS["mul"](alpha, x))


def _reflected_matmul(self, other):
    return matmul(other, self)


Variable.dot = dot
Variable.__matmul__ = matmul
Variable.__rmatmul__ = _reflected_matmul
