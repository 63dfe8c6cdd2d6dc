"""Products of tensors: ``dot``, ``matmul``, ``tensordot``, ``batched_dot`` and ``outer``.

These ops have no kernel lowering: they run as host steps through ``impl``, which hands the
work to numpy's BLAS-backed ``matmul`` / ``dot`` (never a Python or naive loop for floats).
Elementwise work on a product's result (a bias, an activation) fuses into one kernel fed by
the host step.

One shape rule per op, written once as ``check_shapes``: the type rule calls it on static
shapes (None is a length known only at run time), ``impl`` on the actual shapes, and the
frontend with the user's names so that a build-time error names the variables.  Dimensions
never broadcast across a contraction: a static length of 1 must meet a length of 1.
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Op, host_op
from ..types import TensorType


def _shape_text(shape):
    """A shape as Python writes a tuple, with '?' for a length known only at run time."""
    items = ["?" if length is None else str(length) for length in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _operand(position, name, shape=None):
    """'input 1', "input 1 ('W')", "input 0 ('x', shape (8, 32))" for messages."""
    details = [f"'{name}'"] if name else []
    if shape is not None:
        details.append(f"shape {_shape_text(shape)}")
    return f"input {position}" + (f" ({', '.join(details)})" if details else "")


def _mismatch(op_name, shapes, names, expected):
    """The ShapeError for input 1 not matching input 0, naming both shapes."""
    return ShapeError(f"{op_name}: {_operand(1, names[1])} has shape {_shape_text(shapes[1])}; "
                      f"expected {expected} to match {_operand(0, names[0], shapes[0])}")


def _clash(a, b):
    """Whether static or run-time lengths ``a`` and ``b`` certainly differ."""
    return a is not None and b is not None and a != b


def _known(a, b):
    """The length two equal dimensions share, as far as it is known."""
    return a if a is not None else b


def _dtype(op_name, in_types):
    """numpy's result dtype of a product of ``in_types``; DTypeError for a non-numeric one."""
    for position, ttype in enumerate(in_types):
        if ttype.dtype not in dtypes.ALL:
            raise DTypeError(f"{op_name}: input {position} has dtype {ttype.dtype}")
    return dtypes.upcast(*[t.dtype for t in in_types])


def _need_rank(op_name, shapes, names, least):
    for position, shape in enumerate(shapes):
        if len(shape) < least:
            raise ShapeError(f"{op_name}: {_operand(position, names[position])} has rank "
                             f"{len(shape)} (shape {_shape_text(shape)}); expected at least "
                             f"{least}")


def blasable(array):
    """``array`` itself when BLAS can read it (C- or F-contiguous, as numpy's matmul needs
    to avoid its non-BLAS loop), else a C-contiguous copy.  Transposed views pass as they
    are: numpy gives them to BLAS with the transpose flag."""
    if array.flags.c_contiguous or array.flags.f_contiguous:
        return array
    return np.ascontiguousarray(array)


def _matrix_product(a, b):
    """a @ b for 2-D ``a`` and ``b`` through BLAS, copying only non-contiguous operands."""
    return np.matmul(blasable(a), blasable(b))


@host_op
@dataclass(frozen=True)
class Dot(Op):
    """numpy's ``dot`` for operands of rank >= 1 (the frontend turns a scalar operand into a
    product): the last axis of input 0 meets the only axis of a vector, or else the
    second-to-last axis of input 1.  Output shape ``a.shape[:-1] + b.shape[:-2] +
    b.shape[-1:]``."""

    name = "dot"

    def check_shapes(self, shape_a, shape_b, names=(None, None)):
        """The output shape of ``dot`` on these shapes; ShapeError naming both if they
        do not contract."""
        shapes = (shape_a, shape_b)
        _need_rank(self.name, shapes, names, 1)
        axis_b = max(len(shape_b) - 2, 0)
        if _clash(shape_a[-1], shape_b[axis_b]):
            if len(shape_b) == 1:
                expected = f"length {shape_a[-1]}"
            elif len(shape_b) == 2:
                expected = f"{shape_a[-1]} rows"
            else:
                expected = f"length {shape_a[-1]} at axis {axis_b}"
            raise _mismatch(self.name, shapes, names, expected)
        return tuple(shape_a[:-1]) + tuple(shape_b[:axis_b]) + tuple(shape_b[axis_b + 1:])

    def infer_type(self, type_a, type_b):
        dtype = _dtype(self.name, (type_a, type_b))
        return TensorType(dtype, self.check_shapes(type_a.shape, type_b.shape))

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        self.check_shapes(a.shape, b.shape)
        if a.ndim == 2 and b.ndim == 2:
            return _matrix_product(a, b)
        if a.ndim <= 2 and b.ndim <= 2:
            return np.dot(a, b)  # BLAS dot or gemv; numpy copies strided operands itself
        if b.ndim <= 2:
            # np.dot on a tensor of rank > 2 loops over vector dots; one gemm is faster
            rows = a.reshape(math.prod(a.shape[:-1]), a.shape[-1])
            columns = b if b.ndim == 2 else b.reshape(b.shape[0], 1)
            return _matrix_product(rows, columns).reshape(a.shape[:-1] + b.shape[1:])
        return np.tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2]))

    def vjp(self, node, grad):
        """Gradients of vector and matrix products (operands of rank 1 or 2)."""
        from .. import build
        from ..node import Node
        a, b = node.inputs
        if a.type.ndim > 2 or b.type.ndim > 2:
            raise NotImplementedError(f"{self.describe()}: no gradient defined for operands "
                                      "of rank > 2")
        mul = lambda u, v: build.apply("mul", u, v)  # noqa: E731
        dot = lambda u, v: Node.make(Dot(), (u, v))  # noqa: E731
        transpose = lambda u: build.dimshuffle(u, (1, 0))  # noqa: E731
        column = lambda u: build.dimshuffle(u, (0, "x"))  # noqa: E731
        row = lambda u: build.dimshuffle(u, ("x", 0))  # noqa: E731
        ranks = (a.type.ndim, b.type.ndim)
        if ranks == (2, 2):
            ga, gb = dot(grad, transpose(b)), dot(transpose(a), grad)
        elif ranks == (1, 2):
            ga, gb = dot(b, grad), mul(column(a), row(grad))
        elif ranks == (2, 1):
            ga, gb = mul(column(grad), row(b)), dot(transpose(a), grad)
        else:
            ga, gb = mul(grad, b), mul(grad, a)
        result = []
        for x, gx in ((a, ga), (b, gb)):
            result.append(build.cast(build.sum_to(gx, x.type), x.type.dtype)
                          if x.type.dtype in dtypes.FLOATS else None)
        return tuple(result)


@host_op
@dataclass(frozen=True)
class Matmul(Op):
    """numpy's ``matmul`` (Python's ``@``): a matrix product over the last two axes, the
    leading axes broadcast; a vector operand is a row (input 0) or a column (input 1)."""

    name = "matmul"

    def check_shapes(self, shape_a, shape_b, names=(None, None)):
        """The output shape of ``a @ b``; ShapeError naming both shapes if they do not
        fit."""
        shapes = (shape_a, shape_b)
        _need_rank(self.name, shapes, names, 1)
        rows = shape_a[-1]
        axis_b = 0 if len(shape_b) == 1 else len(shape_b) - 2
        if _clash(rows, shape_b[axis_b]):
            expected = f"length {rows}" if len(shape_b) == 1 else \
                f"{rows} rows" if len(shape_b) == 2 else f"length {rows} at axis {axis_b}"
            raise _mismatch(self.name, shapes, names, expected)
        batch_a, batch_b = tuple(shape_a[:-2]), tuple(shape_b[:-2])
        ndim = max(len(batch_a), len(batch_b))
        batch_a = (1,) * (ndim - len(batch_a)) + batch_a
        batch_b = (1,) * (ndim - len(batch_b)) + batch_b
        batch = []
        for length_a, length_b in zip(batch_a, batch_b):
            if length_a == 1 or length_b == 1:
                batch.append(length_b if length_a == 1 else length_a)
            elif _clash(length_a, length_b):
                raise _mismatch(self.name, shapes, names,
                                "leading (batch) axes that broadcast")
            else:
                # None with a length n: n, since numpy allows only 1 or n there
                batch.append(_known(length_a, length_b))
        out = tuple(batch)
        if len(shape_a) >= 2:
            out += (shape_a[-2],)
        if len(shape_b) >= 2:
            out += (shape_b[-1],)
        return out

    def infer_type(self, type_a, type_b):
        dtype = _dtype(self.name, (type_a, type_b))
        return TensorType(dtype, self.check_shapes(type_a.shape, type_b.shape))

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        self.check_shapes(a.shape, b.shape)
        return np.matmul(blasable(a), blasable(b))


def normalize_axes(op_name, axes, rank_a, rank_b):
    """Theano's ``axes`` argument of ``tensordot`` (an int n: the last n axes of input 0
    with the first n of input 1; or a pair of axis lists or ints) as two tuples of
    non-negative axes; ValueError when out of range, repeated or of unequal length."""
    if isinstance(axes, (int, np.integer)):
        count = int(axes)
        if count < 0 or count > min(rank_a, rank_b):
            raise ShapeError(f"{op_name}: axes={count} needs 0 <= axes <= min(ranks) = "
                             f"{min(rank_a, rank_b)}")
        return tuple(range(rank_a - count, rank_a)), tuple(range(count))
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise TypeError(f"{op_name}: axes must be an int or a pair of axis lists; got "
                        f"{axes!r}") from None
    pair = []
    for position, (chosen, rank) in enumerate(((axes_a, rank_a), (axes_b, rank_b))):
        chosen = (chosen,) if isinstance(chosen, (int, np.integer)) else tuple(chosen)
        if any(not -rank <= int(axis) < rank for axis in chosen):
            raise ShapeError(f"{op_name}: axes {list(chosen)} out of range for input "
                             f"{position} of rank {rank}")
        chosen = tuple(int(axis) % rank for axis in chosen)
        if len(set(chosen)) != len(chosen):
            raise ShapeError(f"{op_name}: repeated axis in {list(chosen)} for input {position}")
        pair.append(chosen)
    if len(pair[0]) != len(pair[1]):
        raise ShapeError(f"{op_name}: {len(pair[0])} axes of input 0 cannot meet "
                         f"{len(pair[1])} axes of input 1")
    return pair[0], pair[1]


@host_op
@dataclass(frozen=True)
class Tensordot(Op):
    """numpy's ``tensordot``: the sum over ``axes_a`` of input 0 paired with ``axes_b`` of
    input 1 (non-negative axes); output axes are the free axes of input 0, then those of
    input 1."""

    axes_a: tuple
    axes_b: tuple

    name = "tensordot"

    def check_shapes(self, shape_a, shape_b, names=(None, None)):
        """The output shape; ShapeError naming both shapes when a summed pair differs."""
        shapes = (shape_a, shape_b)
        for position, (axes, shape) in enumerate(((self.axes_a, shape_a),
                                                  (self.axes_b, shape_b))):
            if any(axis >= len(shape) for axis in axes):
                raise ShapeError(f"{self.name}: axes {list(axes)} out of range for "
                                 f"{_operand(position, names[position])} of rank "
                                 f"{len(shape)}")
        for axis_a, axis_b in zip(self.axes_a, self.axes_b):
            if _clash(shape_a[axis_a], shape_b[axis_b]):
                raise _mismatch(self.name, shapes, names,
                                f"length {shape_a[axis_a]} at axis {axis_b} to match axis "
                                f"{axis_a} of input 0")
        free_a = tuple(d for axis, d in enumerate(shape_a) if axis not in self.axes_a)
        free_b = tuple(d for axis, d in enumerate(shape_b) if axis not in self.axes_b)
        return free_a + free_b

    def infer_type(self, type_a, type_b):
        dtype = _dtype(self.name, (type_a, type_b))
        return TensorType(dtype, self.check_shapes(type_a.shape, type_b.shape))

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        self.check_shapes(a.shape, b.shape)
        # np.tensordot transposes and reshapes to one 2-D np.dot: a single BLAS call
        return np.tensordot(a, b, axes=(list(self.axes_a), list(self.axes_b)))

    def describe(self):
        return f"tensordot{{{list(self.axes_a)}, {list(self.axes_b)}}}"


@host_op
@dataclass(frozen=True)
class BatchedDot(Op):
    """Theano's ``batched_dot``: ``out[i] = dot(a[i], b[i])`` over the first (batch) axis,
    which both inputs share.  A batch of vectors with a batch of tensors multiplies
    elementwise (Theano: ``a.dimshuffle(0, 'x', ...) * b``)."""

    name = "batched_dot"

    def check_shapes(self, shape_a, shape_b, names=(None, None)):
        """The output shape; ShapeError naming both shapes when the batch sizes or the
        summed lengths differ."""
        shapes = (shape_a, shape_b)
        _need_rank(self.name, shapes, names, 1)
        if _clash(shape_a[0], shape_b[0]):
            raise _mismatch(self.name, shapes, names, f"batch size {shape_a[0]}")
        batch = (_known(shape_a[0], shape_b[0]),)
        if len(shape_a) == 1 or len(shape_b) == 1:
            rest = shape_b[1:] if len(shape_a) == 1 else shape_a[1:]
            return batch + tuple(rest)
        axis_b = max(len(shape_b) - 2, 1)
        if _clash(shape_a[-1], shape_b[axis_b]):
            raise _mismatch(self.name, shapes, names,
                            f"length {shape_a[-1]} at axis {axis_b}")
        return batch + tuple(shape_a[1:-1]) + tuple(shape_b[1:axis_b]) + \
            tuple(shape_b[axis_b + 1:])

    def infer_type(self, type_a, type_b):
        dtype = _dtype(self.name, (type_a, type_b))
        return TensorType(dtype, self.check_shapes(type_a.shape, type_b.shape))

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        out_shape = self.check_shapes(a.shape, b.shape)
        if a.ndim == 1 or b.ndim == 1:
            if a.ndim == 1:
                a = a.reshape(a.shape + (1,) * (b.ndim - 1))
            else:
                b = b.reshape(b.shape + (1,) * (a.ndim - 1))
            return np.multiply(a, b)
        # each batch: (rows of a, k) @ (k, columns of b), one batched BLAS matmul
        batch, k = a.shape[0], a.shape[-1]
        a3 = a.reshape(batch, math.prod(a.shape[1:-1]), k)
        if b.ndim == 2:
            b3 = b.reshape(batch, k, 1)
        else:
            moved = np.moveaxis(b, b.ndim - 2, 1)
            b3 = moved.reshape(batch, k, math.prod(moved.shape[2:]))
        return np.matmul(blasable(a3), blasable(b3)).reshape(out_shape)


@host_op
@dataclass(frozen=True)
class Outer(Op):
    """Theano's ``outer``: inputs flattened to vectors x, y; ``out[i, j] = x[i] * y[j]``.

    A primitive for now because theon has no flatten or dimshuffle to compose it from
    (``x.flatten()[:, None] * y.flatten()[None, :]``, which would fuse); replace it by that
    composite when they exist."""

    name = "outer"

    def infer_type(self, type_x, type_y):
        dtype = _dtype(self.name, (type_x, type_y))
        return TensorType(dtype, (_size(type_x.shape), _size(type_y.shape)))

    def impl(self, x, y):
        return np.outer(x, y)


def _size(shape):
    """The number of elements of a static shape, or None when a length is unknown."""
    if any(length is None for length in shape):
        return None
    return math.prod(shape)
