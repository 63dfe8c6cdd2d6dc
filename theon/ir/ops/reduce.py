"""Reductions: a combiner folded over a set of axes (sum, prod, max, min, any, all).

``Reduce`` is the one reduction primitive; mean, var, std, logsumexp and softmax are
composites built on it in the frontend.  Fusion puts a Reduce and the elementwise region
that produces its input into one kernel (``passes/fuse.py``), so ``sum(x * y, axis=1)``
reads x and y once and writes only the sums.
"""
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Op, host_op
from ..types import TensorType

# combiner -> (numpy reduction, identity for floats, identity for integers, bools)
COMBINERS = {
    "add": (np.add.reduce, 0.0, 0, False),
    "mul": (np.multiply.reduce, 1.0, 1, True),
    "maximum": (np.maximum.reduce, -np.inf, "min", False),
    "minimum": (np.minimum.reduce, np.inf, "max", True),
    "and": (np.logical_and.reduce, None, None, True),
    "or": (np.logical_or.reduce, None, None, False),
}


def identity(combiner, dtype):
    """The value ``combiner`` starts from in ``dtype``: 0 for add, -inf (or the smallest
    integer) for maximum, True for and, ..."""
    _, for_floats, for_ints, for_bools = COMBINERS[combiner]
    if dtype == dtypes.BOOL:
        return for_bools
    if dtype in dtypes.FLOATS:
        return for_floats
    if for_ints == "min":
        return np.iinfo(dtype).min
    if for_ints == "max":
        return np.iinfo(dtype).max
    return for_ints


def normalize_axes(axis, ndim, name):
    """``axis`` (None, an int or a sequence, negatives allowed) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for value in axes:
        if not -ndim <= value < ndim:
            raise ShapeError(f"{name}: axis {value} is out of range for a tensor of rank {ndim}")
        normalized.append(int(value) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"{name}: repeated axis in {tuple(axes)}")
    return tuple(sorted(normalized))


@host_op
@dataclass(frozen=True)
class Reduce(Op):
    """``combiner`` folded over ``axes`` of the input, giving ``dtype``.

    Attributes
    ----------
    combiner : str
        A key of ``COMBINERS``.
    axes : tuple of int
        Sorted, non-negative.
    keepdims : bool
        Keep the reduced axes with length 1 (broadcastable).
    dtype : str
        Output dtype (integer sums widen as numpy: int32 -> int64).
    """

    combiner: str
    axes: tuple
    keepdims: bool
    dtype: str

    name = "reduce"

    def infer_type(self, ttype):
        if self.combiner in ("and", "or") and self.dtype != dtypes.BOOL:
            raise DTypeError(f"{self.combiner}: output dtype must be bool, got {self.dtype}")
        if any(axis >= ttype.ndim for axis in self.axes):
            raise ShapeError(f"{self.describe()}: axes {self.axes} out of range for rank "
                             f"{ttype.ndim}")
        shape = [1 if axis in self.axes else length for axis, length in enumerate(ttype.shape)]
        if not self.keepdims:
            shape = [length for axis, length in enumerate(shape) if axis not in self.axes]
        return TensorType(self.dtype, tuple(shape))

    def impl(self, array):
        reduce = COMBINERS[self.combiner][0]
        array = np.asarray(array)
        if self.combiner in ("and", "or"):
            array = array.astype(bool)
        elif array.dtype.name != self.dtype and self.combiner in ("add", "mul"):
            array = array.astype(self.dtype)
        result = reduce(array, axis=self.axes, keepdims=self.keepdims)
        return np.asarray(result).astype(self.dtype, copy=False)

    def describe(self):
        return f"{self.combiner}-reduce{list(self.axes)}"

    def vjp(self, node, grad):
        """sum: ``grad`` broadcast back over the reduced axes; max/min: to every element
        equal to the result (Theano's convention); prod: ``grad * out / x`` (exact only
        where no element is 0); and/or, integer inputs: none."""
        from .. import build
        (x,) = node.inputs
        if self.combiner in ("and", "or") or x.type.dtype not in dtypes.FLOATS:
            return (None,)
        out = node
        if not self.keepdims:
            grad = build.expand_reduced(grad, self.axes, x.type.ndim)
            out = build.expand_reduced(out, self.axes, x.type.ndim)
        if self.combiner == "add":
            gx = build.second(x, grad)
        elif self.combiner == "mul":
            gx = build.apply("true_div", build.apply("mul", grad, out), x)
        else:  # maximum, minimum
            gx = build.apply("mul", grad, build.apply("eq", x, out))
        return (build.cast(build.second(x, gx), x.type.dtype),)


@host_op
@dataclass(frozen=True)
class ArgReduce(Op):
    """Index of the maximum (``which='argmax'``) or minimum along ``axis`` (None: of the
    flattened input), int64, first index on ties; numpy's argmax/argmin on the host."""

    which: str
    axis: int
    keepdims: bool

    name = "argreduce"

    def infer_type(self, ttype):
        if self.axis is None:
            shape = (1,) * ttype.ndim if self.keepdims else ()
        else:
            shape = [1 if axis == self.axis else n for axis, n in enumerate(ttype.shape)]
            if not self.keepdims:
                del shape[self.axis]
        return TensorType("int64", tuple(shape))

    def impl(self, array):
        function = np.argmax if self.which == "argmax" else np.argmin
        return np.asarray(function(array, axis=self.axis, keepdims=self.keepdims),
                          dtype=np.int64)

    def describe(self):
        return f"{self.which}[{self.axis}]"

    def vjp(self, node, grad):
        return (None,)
