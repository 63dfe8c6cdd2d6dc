"""Array functions run on the host: ops that copy, rearrange or accumulate elements
(tile, repeat, roll, sort/argsort, cumsum/cumprod, diag), as numpy's functions of those names.

Like the ops of ``shape_ops``, none has a kernel lowering: each runs on the host through
``impl``.  A parameter that may be symbolic (roll's shift) follows the convention described
there, and the helpers for it are imported from there.
"""
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Node, Op, host_op
from ..types import TensorType
from .indexing import IncSubtensor
from .reduce import Reduce
from .shape_ops import (ARange, _axis_in_range, _check_parameters, _dims, _int, _int64, _merge,
                        _product, _subtensor)


def _positions(length):
    """``arange(length)`` in int64 for a length that is an int or a 0-d integer node."""
    if isinstance(length, Node):
        return Node.make(ARange((0, None, 1), "int64"), (length,))
    return Node.make(ARange((0, length, 1), "int64"))


@host_op
@dataclass(frozen=True)
class Tile(Op):
    """numpy's ``tile(x, reps)`` with known ``reps``."""

    reps: tuple

    name = "tile"

    def infer_type(self, ttype):
        ndim = max(ttype.ndim, len(self.reps))
        shape = (1,) * (ndim - ttype.ndim) + ttype.shape
        reps = (1,) * (ndim - len(self.reps)) + self.reps
        return TensorType(ttype.dtype, tuple(
            None if length is None else length * rep for length, rep in zip(shape, reps)))

    def impl(self, array):
        return np.tile(np.asarray(array), self.reps)

    def describe(self):
        return f"tile{self.reps}"

    def vjp(self, node, grad):
        """The sum of the gradient's tiles: each axis of length ``reps * n`` is split into
        ``(reps, n)`` (tiles are whole copies, so the tile index is the outer one) and the
        tile axes are summed away."""
        from .. import build
        (x,) = node.inputs
        if x.type.dtype not in dtypes.FLOATS:
            return (None,)
        ndim = max(x.type.ndim, len(self.reps))
        lead = ndim - x.type.ndim
        reps = (1,) * (ndim - len(self.reps)) + self.reps
        sizes = [1] * lead + build.lengths(x)
        split, summed = [], []
        for rep, size in zip(reps, sizes):
            if rep != 1:
                summed.append(len(split))
                split.append(rep)
            split.append(size)
        gx = build.reshape(grad, split)
        if summed:
            gx = Node.make(Reduce("add", tuple(summed), False, gx.type.dtype), (gx,))
        # the padded leading axes have static length 1 here, so they can be dropped
        gx = build.dimshuffle(gx, tuple(range(lead, ndim)))
        return (build.cast(gx, x.type.dtype),)


@host_op
@dataclass(frozen=True)
class Repeat(Op):
    """numpy's ``repeat(x, repeats, axis)``: ``repeats`` is a known int or tuple of ints, or
    None for a run-time int scalar or vector (the second input)."""

    axis: int = None
    repeats: object = None

    name = "repeat"

    def infer_type(self, ttype, *repeats_type):
        _axis_in_range(self.name, self.axis, ttype.ndim)
        length = _product(ttype.shape) if self.axis is None else ttype.shape[self.axis]
        if self.repeats is None:
            if len(repeats_type) != 1 or repeats_type[0].ndim > 1 \
                    or repeats_type[0].dtype not in dtypes.INTEGRAL:
                raise DTypeError("repeat: repeats must be an integer scalar or vector")
            out_length = None
        elif isinstance(self.repeats, int):
            out_length = None if length is None else length * self.repeats
        else:
            if length is not None and len(self.repeats) != length:
                raise ShapeError(f"repeat: {len(self.repeats)} repeats for an axis of length "
                                 f"{length} (input static shape {_dims(ttype.shape)})")
            out_length = sum(self.repeats)
        if self.axis is None:
            return TensorType(ttype.dtype, (out_length,))
        shape = list(ttype.shape)
        shape[self.axis] = out_length
        return TensorType(ttype.dtype, tuple(shape))

    def impl(self, array, *repeats):
        repeats = np.asarray(repeats[0]) if self.repeats is None else self.repeats
        try:
            return np.repeat(np.asarray(array), repeats, axis=self.axis)
        except ValueError as error:
            raise ValueError(f"repeat: repeats of shape {np.shape(repeats)} for an array of "
                             f"shape {np.shape(array)} along axis {self.axis}: {error}") \
                from None

    def describe(self):
        return f"repeat(axis={self.axis})"

    def vjp(self, node, grad):
        """Each element gets the sum of the gradient over its repeats; the repeats get
        none.  One count for all: the repeated axis is split into ``(n, repeats)`` and the
        second part summed.  A count per element: the gradient is added into zeros at the
        index each output element was copied from (``repeat(arange(n), repeats)``)."""
        from .. import build
        x = node.inputs[0]
        none = (None,) * (len(node.inputs) - 1)
        if x.type.dtype not in dtypes.FLOATS:
            return (None,) + none
        repeats = self.repeats if self.repeats is not None else node.inputs[1]
        source = build.flatten(x) if self.axis is None else x
        axis = 0 if self.axis is None else self.axis
        if isinstance(repeats, int) or isinstance(repeats, Node) and repeats.type.ndim == 0:
            sizes = build.lengths(source)
            split = sizes[:axis + 1] + [repeats] + sizes[axis + 1:]
            gx = Node.make(Reduce("add", (axis + 1,), False, grad.type.dtype),
                           (build.reshape(grad, split),))
        else:
            if isinstance(repeats, Node):
                positions = _positions(build.length(source, axis))
                origin = Node.make(Repeat(0, None), (positions, repeats))
            else:
                origin = _int64(np.repeat(np.arange(len(repeats)), repeats))
            index = (("slice", None, None, None),) * axis + (("array",),)
            gx = Node.make(IncSubtensor(index, "inc"),
                           (build.zeros_like(source), grad, origin))
        if self.axis is None:
            gx = build.reshape_like(gx, x)
        return (build.cast(gx, x.type.dtype),) + none


@host_op
@dataclass(frozen=True)
class Roll(Op):
    """numpy's ``roll(x, shift, axis)``; ``shift`` is a known int or None (a scalar input)."""

    axis: int = None
    shift: int = None

    name = "roll"

    def infer_type(self, ttype, *shift_type):
        _axis_in_range(self.name, self.axis, ttype.ndim)
        _check_parameters(self.name, (self.shift,), shift_type)
        return ttype

    def impl(self, array, *shift):
        shift = _merge((self.shift,), shift, _int)[0]
        return np.roll(np.asarray(array), shift, axis=self.axis)

    def describe(self):
        return f"roll(axis={self.axis})"

    def vjp(self, node, grad):
        """The gradient rolled back by ``-shift``; the shift gets none."""
        from .. import build
        x = node.inputs[0]
        none = (None,) * (len(node.inputs) - 1)
        if x.type.dtype not in dtypes.FLOATS:
            return (None,) + none
        grad = build.cast(grad, x.type.dtype)
        if self.shift is not None:
            return (Node.make(Roll(self.axis, -self.shift), (grad,)),) + none
        # int64 first: negating an unsigned shift would wrap around
        back = build.apply("neg", build.cast(node.inputs[1], "int64"))
        return (Node.make(Roll(self.axis, None), (grad, back)),) + none


def _flat_or_same(ttype, axis):
    """Shape of a result along ``axis`` (the input's), or of the flattened input (None)."""
    if axis is None:
        return (_product(ttype.shape),)
    return ttype.shape


@host_op
@dataclass(frozen=True)
class Sort(Op):
    """Sorted values (``argsort=False``) or the indices that sort them, along ``axis`` or
    over the flattened input (None).  A stable sort: equal values keep their order."""

    axis: int = None
    argsort: bool = False

    name = "sort"

    def infer_type(self, ttype):
        _axis_in_range(self.describe(), self.axis, ttype.ndim)
        dtype = "int64" if self.argsort else ttype.dtype
        return TensorType(dtype, _flat_or_same(ttype, self.axis))

    def impl(self, array):
        function = np.argsort if self.argsort else np.sort
        result = function(np.asarray(array), axis=self.axis, kind="stable")
        return result.astype("int64", copy=False) if self.argsort else result

    def describe(self):
        return f"{'argsort' if self.argsort else 'sort'}(axis={self.axis})"

    def vjp(self, node, grad):
        """sort: the gradient scattered back through the sorting permutation (argsort of
        the input); argsort: none (its integer output has no gradient)."""
        from .. import build
        (x,) = node.inputs
        if self.argsort or x.type.dtype not in dtypes.FLOATS:
            return (None,)
        grad = build.cast(grad, x.type.dtype)
        source = build.flatten(x) if self.axis is None else x
        axis = 0 if self.axis is None else self.axis
        permutation = Node.make(Sort(self.axis, argsort=True), (x,))
        # out[..., i, ...] = x[..., p[..., i, ...], ...]: index every other axis by its own
        # position, broadcast, so that the scatter is numpy's put_along_axis
        arrays = []
        for other in range(source.type.ndim):
            if other == axis:
                arrays.append(permutation)
                continue
            pattern = ["x"] * source.type.ndim
            pattern[other] = 0
            arrays.append(build.dimshuffle(_positions(build.length(source, other)), pattern))
        index = (("array",),) * source.type.ndim
        # a permutation never repeats an index: "set" is exact and skips numpy's add.at
        gx = Node.make(IncSubtensor(index, "set"),
                       (build.zeros_like(source), grad) + tuple(arrays))
        return (build.reshape_like(gx, x) if self.axis is None else gx,)


def cumulative_dtype(dtype):
    """numpy's dtype for cumsum/cumprod of ``dtype``: small integers and bool widen."""
    return np.cumsum(np.zeros(1, dtype=dtype)).dtype.name


@host_op
@dataclass(frozen=True)
class CumOp(Op):
    """Running sum (``mode='add'``) or product (``'mul'``) along ``axis`` (None: over the
    flattened input), as numpy's cumsum and cumprod."""

    axis: int = None
    mode: str = "add"

    name = "cumop"

    def infer_type(self, ttype):
        if self.mode not in ("add", "mul"):
            raise ValueError(f"cumop: mode {self.mode!r}; expected 'add' or 'mul'")
        _axis_in_range(self.describe(), self.axis, ttype.ndim)
        return TensorType(cumulative_dtype(ttype.dtype), _flat_or_same(ttype, self.axis))

    def impl(self, array):
        function = np.cumsum if self.mode == "add" else np.cumprod
        return function(np.asarray(array), axis=self.axis)

    def describe(self):
        return f"{'cumsum' if self.mode == 'add' else 'cumprod'}(axis={self.axis})"

    def vjp(self, node, grad):
        """cumsum: the reversed cumulative sum of the gradient.  cumprod: Theano's
        ``reversed_cumsum(grad * out) / x``, exact where no element of ``x`` is 0."""
        from .. import build
        (x,) = node.inputs
        if x.type.dtype not in dtypes.FLOATS:
            return (None,)
        source = build.flatten(x) if self.axis is None else x
        axis = 0 if self.axis is None else self.axis
        if self.mode == "mul":
            grad = build.apply("mul", grad, node)
        flip = (("slice", None, None, None),) * axis + (("slice", None, None, -1),)
        total = Node.make(CumOp(axis, "add"), (_subtensor(grad, flip),))
        gx = _subtensor(total, flip)
        if self.mode == "mul":
            gx = build.apply("true_div", gx, source)
        if self.axis is None:
            gx = build.reshape_like(gx, x)
        return (build.cast(gx, x.type.dtype),)


@host_op
@dataclass(frozen=True)
class Diag(Op):
    """A vector's square diagonal matrix, or a matrix's ``k``-th diagonal (numpy's diag)."""

    k: int = 0

    name = "diag"

    def infer_type(self, ttype):
        if ttype.ndim == 1:
            length = ttype.shape[0]
            side = None if length is None else length + abs(self.k)
            return TensorType(ttype.dtype, (side, side))
        if ttype.ndim == 2:
            rows, columns = ttype.shape
            length = None
            if rows is not None and columns is not None:
                length = max(0, min(rows, columns - self.k) if self.k >= 0 else
                             min(rows + self.k, columns))
            return TensorType(ttype.dtype, (length,))
        raise ShapeError(f"diag: input of shape {_dims(ttype.shape)}; expected a vector or "
                         "a matrix")

    def impl(self, array):
        array = np.asarray(array)
        if array.ndim == 2:
            return np.diagonal(array, self.k).copy()
        return np.diag(array, self.k)

    def describe(self):
        return f"diag(k={self.k})"

    def vjp(self, node, grad):
        """vector -> matrix: the gradient's ``k``-th diagonal.  matrix -> diagonal: the
        gradient put on the ``k``-th diagonal of zeros of the matrix's shape."""
        from .. import build
        (x,) = node.inputs
        if x.type.dtype not in dtypes.FLOATS:
            return (None,)
        grad = build.cast(grad, x.type.dtype)
        if x.type.ndim == 1:
            return (Node.make(Diag(self.k), (grad,)),)
        positions = _positions(build.length(grad, 0))
        rows, columns = positions, positions
        if self.k > 0:
            columns = build.apply("add", positions, _int64(self.k))
        elif self.k < 0:
            rows = build.apply("add", positions, _int64(-self.k))
        # the diagonal's positions are distinct: "set" is exact and skips numpy's add.at
        gx = Node.make(IncSubtensor((("array",), ("array",)), "set"),
                       (build.zeros_like(x), grad, rows, columns))
        return (gx,)
