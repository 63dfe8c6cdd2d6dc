"""Products of tensors: ``dot``, ``matmul``, ``tensordot``, ``batched_dot``, ``outer``, and
``gemm``, the accumulating product the ``gemm`` pass makes of parameter updates.

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
from .reduce import Reduce


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

    def multiply_adds(self, a, b):
        """The multiply-adds of ``dot(a, b)`` (the runtime picks BLAS threads by it)."""
        k = a.shape[-1] if a.ndim else 1
        return a.size * (b.size // k) if k else 0

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0]:
            return _matrix_product(a, b)  # the common case, checked by one comparison
        self.check_shapes(a.shape, b.shape)
        if a.ndim <= 2 and b.ndim <= 2:
            return np.dot(a, b)  # BLAS dot or gemv; numpy copies strided operands itself
        if b.ndim <= 2:
            # np.dot on a tensor of rank > 2 loops over vector dots; one gemm is faster
            rows = a.reshape(math.prod(a.shape[:-1]), a.shape[-1])
            columns = b if b.ndim == 2 else b.reshape(b.shape[0], 1)
            return _matrix_product(rows, columns).reshape(a.shape[:-1] + b.shape[1:])
        return np.tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2]))

    def vjp(self, node, grad):
        """Gradients of vector and matrix products; an operand of rank > 2 makes this
        ``tensordot`` over the last axis of input 0 and the second-to-last of input 1,
        whose rule applies."""
        from .. import build
        from ..node import Node
        a, b = node.inputs
        if a.type.ndim > 2 or b.type.ndim > 2:
            axes = ((a.type.ndim - 1,), (max(b.type.ndim - 2, 0),))
            return _tensordot_vjp(node, grad, *axes)
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
class Gemm(Op):
    """BLAS's general matrix product with accumulation, ``c + alpha * (a @ b)``, for
    matrices ``c`` (m, n), ``a`` (m, k), ``b`` (k, n) and a 0-d ``alpha``, all of one float
    dtype.  Users do not build it: the ``gemm`` pass makes it from an update such as
    ``W - lr * dot(x.T, delta)``, and the runtime then accumulates the product straight
    into ``c``'s array when nothing else needs the old value (``overwrites``), so neither
    the product nor the update needs an array of its own (Theano's ``gemm_inplace``).
    As in BLAS, ``alpha = 0`` leaves ``c`` as it is, even where ``a @ b`` holds inf or NaN
    (where numpy's ``c + 0 * (a @ b)`` is NaN)."""

    name = "gemm"
    overwrites = 0  # the input whose array the runtime may turn into the result

    def check_shapes(self, shape_c, shape_a, shape_b):
        """The output shape for these (static or actual) shapes of ``c``, ``a`` and ``b``;
        ShapeError naming the first pair of lengths that differ."""
        shapes = {0: shape_c, 2: shape_a, 3: shape_b}
        for position, shape in shapes.items():
            if len(shape) != 2:
                raise ShapeError(f"{self.name}: input {position} has rank {len(shape)} "
                                 f"(shape {_shape_text(shape)}); expected a matrix")
        # (input, axis) whose length must equal that of (other input, its axis)
        for position, axis, other, other_axis in ((3, 0, 2, 1), (2, 0, 0, 0), (3, 1, 0, 1)):
            length, expected = shapes[position][axis], shapes[other][other_axis]
            if _clash(length, expected):
                raise ShapeError(f"{self.name}: input {position} has shape "
                                 f"{_shape_text(shapes[position])}; expected length "
                                 f"{expected} at axis {axis} to match input {other} "
                                 f"(shape {_shape_text(shapes[other])})")
        return (_known(shape_c[0], shape_a[0]), _known(shape_c[1], shape_b[1]))

    def infer_type(self, type_c, type_alpha, type_a, type_b):
        types = (type_c, type_alpha, type_a, type_b)
        if type_c.dtype not in dtypes.FLOATS or any(t.dtype != type_c.dtype for t in types):
            raise DTypeError(f"{self.name}: inputs must share one float dtype; got "
                             f"{', '.join(t.dtype for t in types)}")
        if type_alpha.ndim:
            raise ShapeError(f"{self.name}: input 1 (alpha) has shape "
                             f"{_shape_text(type_alpha.shape)}; expected a 0-d scalar")
        return TensorType(type_c.dtype,
                          self.check_shapes(type_c.shape, type_a.shape, type_b.shape))

    def impl(self, c, alpha, a, b):
        """The reference: a new array (the runtime's call writes into ``c`` instead)."""
        c, a, b = np.asarray(c), np.asarray(a), np.asarray(b)
        self.check_shapes(c.shape, a.shape, b.shape)
        return (c + np.asarray(alpha) * _matrix_product(a, b)).astype(c.dtype, copy=False)


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

    def multiply_adds(self, a, b):
        """The multiply-adds of ``a @ b``, at least (batch broadcasting may add more)."""
        rows = a.shape[-2] if a.ndim >= 2 else 1
        columns = b.shape[-1] if b.ndim >= 2 else 1
        return max(a.size * columns, b.size * rows)

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        self.check_shapes(a.shape, b.shape)
        return np.matmul(blasable(a), blasable(b))

    def vjp(self, node, grad):
        """``grad @ b.T`` and ``a.T @ grad`` over the last two axes, each summed over the
        batch axes its operand was broadcast along (at run time where its batch lengths are
        not static); a vector operand is a row or a column, as in the product."""
        from .. import build
        from ..node import Node
        a, b = node.inputs
        # vectors as a row (input 0) and a column (input 1), and the gradient with the axes
        # the product dropped for them put back: every case is then matrices with batches
        rows = a if a.type.ndim >= 2 else build.dimshuffle(a, ("x", 0))
        columns = b if b.type.ndim >= 2 else build.dimshuffle(b, (0, "x"))
        pattern = list(range(grad.type.ndim))
        if b.type.ndim == 1:
            pattern.append("x")
        if a.type.ndim == 1:
            pattern.insert(len(pattern) - 1, "x")
        grad = build.dimshuffle(grad, pattern)
        result = []
        for x, matrix, other in ((a, rows, columns), (b, columns, rows)):
            if x.type.dtype not in dtypes.FLOATS:
                result.append(None)
                continue
            if x is a:
                gx = Node.make(Matmul(), (grad, _swap_last(other)))
            else:
                gx = Node.make(Matmul(), (_swap_last(other), grad))
            batch = range(matrix.type.ndim - 2)
            gx = build.sum_to_shape_of(gx, matrix, batch)
            if x.type.ndim == 1:
                # the row or column axis has static length 1 here: drop it
                gx = build.dimshuffle(gx, (1,) if x is a else (0,))
            result.append(build.cast(gx, x.type.dtype))
        return tuple(result)


def _swap_last(node):
    """``node`` with its last two axes swapped (a batch of transposed matrices)."""
    from .. import build
    ndim = node.type.ndim
    return build.dimshuffle(node, tuple(range(ndim - 2)) + (ndim - 1, ndim - 2))


def _contract(a, b, axes_a, axes_b):
    """``tensordot(a, b, (axes_a, axes_b))`` as a node: a ``Dot`` when it is dot's sum (one
    node for both spellings, as in the frontend), else a ``Tensordot``."""
    from ..node import Node
    axes_a, axes_b = tuple(axes_a), tuple(axes_b)
    if a.type.ndim >= 1 and b.type.ndim >= 1 and axes_a == (a.type.ndim - 1,) and \
            axes_b == (max(b.type.ndim - 2, 0),):
        return Node.make(Dot(), (a, b))
    return Node.make(Tensordot(axes_a, axes_b), (a, b))


def _tensordot_vjp(node, grad, axes_a, axes_b):
    """Gradients of ``tensordot(a, b, (axes_a, axes_b))``: each operand gets the gradient
    contracted with the other operand over that operand's free axes, its axes then put
    back in order."""
    from .. import build
    a, b = node.inputs
    free_a = [axis for axis in range(a.type.ndim) if axis not in axes_a]
    free_b = [axis for axis in range(b.type.ndim) if axis not in axes_b]
    count_a, count_b = len(free_a), len(free_b)
    ga = gb = None
    if a.type.dtype in dtypes.FLOATS:
        # left: a's free axes (from grad), then b's summed axes in b's order, each one
        # standing for its partner in a
        partial = _contract(grad, b, range(count_a, count_a + count_b), free_b)
        order = free_a + [axes_a[axes_b.index(axis)] for axis in sorted(axes_b)]
        ga = build.dimshuffle(partial, [order.index(axis) for axis in range(a.type.ndim)])
        ga = build.cast(ga, a.type.dtype)
    if b.type.dtype in dtypes.FLOATS:
        partial = _contract(a, grad, free_a, range(count_a))
        order = [axes_b[axes_a.index(axis)] for axis in sorted(axes_a)] + free_b
        gb = build.dimshuffle(partial, [order.index(axis) for axis in range(b.type.ndim)])
        gb = build.cast(gb, b.type.dtype)
    return ga, gb


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

    def multiply_adds(self, a, b):
        """The multiply-adds of the contraction."""
        contracted = math.prod(a.shape[axis] for axis in self.axes_a)
        return a.size * (b.size // contracted) if contracted else 0

    def impl(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        self.check_shapes(a.shape, b.shape)
        # np.tensordot transposes and reshapes to one 2-D np.dot: a single BLAS call
        return np.tensordot(a, b, axes=(list(self.axes_a), list(self.axes_b)))

    def describe(self):
        return f"tensordot{{{list(self.axes_a)}, {list(self.axes_b)}}}"

    def vjp(self, node, grad):
        """The gradient contracted with the other operand over its free axes, per
        operand (see ``_tensordot_vjp``)."""
        return _tensordot_vjp(node, grad, self.axes_a, self.axes_b)


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

    def multiply_adds(self, a, b):
        """The multiply-adds of the batched product."""
        per_batch = a.shape[0] * a.shape[-1] if a.ndim >= 2 else a.shape[0]
        return a.size * (b.size // per_batch) if per_batch else 0

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

    def vjp(self, node, grad):
        """A batch of vectors: the elementwise product's gradients.  Otherwise the product
        as ``impl`` computes it, on batches of matrices ``(B, M, k) @ (B, k, N)``: gradients
        ``G @ b3.T`` and ``a3.T @ G`` reshaped back (without reshapes for 3-d operands)."""
        from .. import build
        from ..node import Node
        a, b = node.inputs
        if a.type.ndim == 1 or b.type.ndim == 1:
            return _batched_scale_vjp(node, grad)
        batch = _known(a.type.shape[0], b.type.shape[0])
        batch = build.length(a, 0) if batch is None else batch
        summed = build.length(a, -1)
        axis_b = max(b.type.ndim - 2, 1)
        # b with its summed axis moved to 1: (B, k, the rest)
        moved = (0, axis_b) + tuple(axis for axis in range(1, b.type.ndim) if axis != axis_b)
        b_moved = build.dimshuffle(b, moved)
        rows = build.product(build.lengths(a)[1:-1])
        columns = build.product(build.lengths(b_moved)[2:])
        a3 = a if a.type.ndim == 3 else build.reshape(a, (batch, rows, summed))
        b3 = b_moved if b.type.ndim == 3 else build.reshape(b_moved, (batch, summed, columns))
        g3 = grad
        if (a.type.ndim, b.type.ndim) != (3, 3):
            g3 = build.reshape(grad, (batch, rows, columns))
        ga = gb = None
        if a.type.dtype in dtypes.FLOATS:
            ga = Node.make(BatchedDot(), (g3, _swap_last(b3)))
            ga = build.cast(ga if a.type.ndim == 3 else build.reshape_like(ga, a),
                            a.type.dtype)
        if b.type.dtype in dtypes.FLOATS:
            gb = Node.make(BatchedDot(), (_swap_last(a3), g3))
            if b.type.ndim != 3:
                gb = build.reshape(gb, build.lengths(b_moved))
            gb = build.dimshuffle(gb, [moved.index(axis) for axis in range(b.type.ndim)])
            gb = build.cast(gb, b.type.dtype)
        return ga, gb


def _batched_scale_vjp(node, grad):
    """Gradients of ``batched_dot`` with a batch of vectors, which scales each batch element
    of the other operand: ``out = a[:, None, ...] * b`` (or the mirror image)."""
    from .. import build
    from ..node import Node
    a, b = node.inputs

    def expanded(vector, ndim):
        return build.dimshuffle(vector, (0,) + ("x",) * (ndim - 1))

    result = []
    for x, y in ((a, b), (b, a)):
        if x.type.dtype not in dtypes.FLOATS:
            result.append(None)
            continue
        if x.type.ndim == 1 and y.type.ndim == 1:
            gx = build.apply("mul", grad, y)
        elif x.type.ndim == 1:
            # x scaled every element of batch i of y: its gradient sums over them
            gx = Node.make(Reduce("add", tuple(range(1, y.type.ndim)), False,
                                  grad.type.dtype), (build.apply("mul", grad, y),))
        else:
            # x has the product's shape; y scaled its batch element i
            gx = build.apply("mul", grad, expanded(y, x.type.ndim))
        result.append(build.cast(gx, x.type.dtype))
    return tuple(result)


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

    def vjp(self, node, grad):
        """``dot(grad, y)`` and ``dot(x, grad)`` over the flattened inputs, each reshaped
        back to its input's shape."""
        from .. import build
        from ..node import Node
        x, y = node.inputs
        flat_x, flat_y = build.flatten(x), build.flatten(y)
        gx = gy = None
        if x.type.dtype in dtypes.FLOATS:
            gx = build.reshape_like(Node.make(Dot(), (grad, flat_y)), x)
            gx = build.cast(gx, x.type.dtype)
        if y.type.dtype in dtypes.FLOATS:
            gy = build.reshape_like(Node.make(Dot(), (flat_x, grad)), y)
            gy = build.cast(gy, y.type.dtype)
        return gx, gy


def _size(shape):
    """The number of elements of a static shape, or None when a length is unknown."""
    if any(length is None for length in shape):
        return None
    return math.prod(shape)
