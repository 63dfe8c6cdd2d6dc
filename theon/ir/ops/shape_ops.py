"""Shape operations: reshape, dimshuffle, join, split, alloc, sum_to_shape and arange, and the
helpers for symbolic parameters that ``array_functions`` shares.

None of these has a kernel lowering: each runs on the host through ``impl``.  Ops whose
``impl`` returns a view of an input set ``returns_view``; kernels downstream read the view
in place (through its strides) and the runtime copies it only when it is a function output.

Parameters that may be symbolic (a shape, arange's bounds, a shift) are split in two: an
attribute holding every entry known when the graph is built (None for the others), and one
0-d input node per None entry, in order.  The static output shape is derived from the known
entries, so ``zeros((2, 3))`` has type ``[2, 3]`` and ``zeros((n, 3))`` has ``[?, 3]``.
"""
import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Node, Op, host_op
from ..types import TensorType
from .indexing import IncSubtensor, Subtensor
from .leaf import Constant
from .reduce import Reduce


def _dims(shape):
    """Text of a static shape: '(?, 3)'."""
    inner = ", ".join("?" if length is None else str(length) for length in shape)
    return f"({inner}{',' if len(shape) == 1 else ''})"


def _check_parameters(name, static, types, allowed=dtypes.INTEGRAL):
    """DTypeError/ShapeError unless ``types`` are one 0-d input of an allowed dtype per None
    entry of ``static``."""
    wanted = sum(1 for entry in static if entry is None)
    if len(types) != wanted:
        raise ShapeError(f"{name}: expected {wanted} symbolic parameter inputs, got {len(types)}")
    for index, ttype in enumerate(types):
        if ttype.ndim != 0:
            raise ShapeError(f"{name}: parameter input {index} has rank {ttype.ndim}; "
                             "expected a scalar")
        if ttype.dtype not in allowed:
            kind = "a numeric" if dtypes.FLOATS[0] in allowed else "an integer"
            raise DTypeError(f"{name}: parameter input {index} has dtype {ttype.dtype}; "
                             f"expected {kind} dtype")


def _merge(static, values, convert=int):
    """``static`` with its None entries replaced, in order, by the run-time ``values``."""
    values = iter(values)
    return tuple(convert(next(values)) if entry is None else entry for entry in static)


def _int(value):
    """A run-time scalar parameter as a Python int."""
    return int(np.asarray(value).item())


def _product(lengths):
    """Product of static lengths, or None when one is unknown."""
    if any(length is None for length in lengths):
        return None
    return math.prod(lengths)


def _axis_in_range(name, axis, ndim):
    if axis is not None and not 0 <= axis < ndim:
        raise ShapeError(f"{name}: axis {axis} is out of range for a tensor of rank {ndim}")


# ---- views: reshape, dimshuffle -----------------------------------------------------------

@host_op
@dataclass(frozen=True)
class Reshape(Op):
    """The input with a new shape of the same size; -1 (at most once) is inferred.

    Attributes
    ----------
    shape : tuple
        Per output dimension an int (-1 allowed once) or None for a symbolic length, which
        is the next parameter input.
    """

    shape: tuple

    name = "reshape"
    returns_view = True  # numpy reshapes contiguous arrays without copying

    def infer_type(self, ttype, *parameter_types):
        _check_parameters(self.name, self.shape, parameter_types)
        if sum(1 for length in self.shape if length == -1) > 1:
            raise ShapeError(f"reshape: more than one -1 in shape {_dims(self.shape)}")
        if any(length is not None and length < -1 for length in self.shape):
            raise ShapeError(f"reshape: negative length in shape {_dims(self.shape)}")
        out = [None if length == -1 else length for length in self.shape]
        size = _product(ttype.shape)
        known = _product([length for length in self.shape if length != -1])
        if size is not None and known is not None:
            if -1 in self.shape:
                if known == 0 or size % known:
                    raise ShapeError(f"reshape: cannot reshape a tensor of static shape "
                                     f"{_dims(ttype.shape)} into shape {_dims(self.shape)}")
                out[self.shape.index(-1)] = size // known
            elif size != known:
                raise ShapeError(f"reshape: cannot reshape a tensor of static shape "
                                 f"{_dims(ttype.shape)} (size {size}) into shape "
                                 f"{_dims(self.shape)} (size {known})")
        return TensorType(ttype.dtype, tuple(out))

    def impl(self, array, *parameters):
        shape = _merge(self.shape, parameters, _int)
        array = np.asarray(array)
        rest = [length for length in shape if length != -1]
        if any(length < 0 for length in rest):
            raise ValueError(f"reshape: negative length in shape {shape}")
        known = math.prod(rest)
        if -1 in shape:
            if known == 0 or array.size % known:
                raise ValueError(f"reshape: cannot reshape an array of shape {array.shape} "
                                 f"into shape {shape}")
        elif known != array.size:
            raise ValueError(f"reshape: cannot reshape an array of shape {array.shape} "
                             f"(size {array.size}) into shape {shape} (size {known})")
        return array.reshape(shape)

    def describe(self):
        return f"reshape{_dims(self.shape)}"

    def vjp(self, node, grad):
        """The gradient reshaped back to the input's shape; shape inputs get none."""
        from .. import build
        from ..node import Node
        from .shape import Shape
        x = node.inputs[0]
        none = (None,) * (len(node.inputs) - 1)
        if x.type.dtype not in dtypes.FLOATS:
            return (None,) + none
        static = tuple(x.type.shape)
        params = tuple(Node.make(Shape(axis), (x,)) for axis, length in enumerate(static)
                       if length is None)
        gx = Node.make(Reshape(static), (build.cast(grad, x.type.dtype),) + params)
        return (gx,) + none


@functools.lru_cache(maxsize=1024)
def _dimshuffle_plan(pattern, ndim):
    """(axis order, index, dropped axes) of a dimshuffle on a rank-``ndim`` array: the array
    transposed to the kept axes in pattern order, then the dropped ones, and indexed with
    ``index`` (None inserts an axis, a full slice keeps one, 0 removes a dropped one) is the
    result, a view.  Cached: a host step runs it on every call, and the pattern's
    arithmetic cost more than the view itself."""
    kept = [entry for entry in pattern if entry != "x"]
    dropped = tuple(axis for axis in range(ndim) if axis not in kept)
    index = tuple(None if entry == "x" else slice(None) for entry in pattern)
    return tuple(kept) + dropped, index + (0,) * len(dropped), dropped


@host_op
@dataclass(frozen=True)
class DimShuffle(Op):
    """Theano's dimshuffle: reorder dimensions, insert broadcastable ones ('x') and drop
    broadcastable ones (those not named in the pattern).

    Attributes
    ----------
    pattern : tuple
        Per output dimension, the input dimension it comes from or 'x'.
    """

    pattern: tuple

    name = "dimshuffle"
    returns_view = True

    def infer_type(self, ttype):
        kept = [entry for entry in self.pattern if entry != "x"]
        for entry in kept:
            if not isinstance(entry, int) or not 0 <= entry < ttype.ndim:
                raise ShapeError(f"{self.describe()}: entry {entry!r} is not 'x' or a "
                                 f"dimension of the input (shape {_dims(ttype.shape)})")
        if len(set(kept)) != len(kept):
            raise ShapeError(f"{self.describe()}: a dimension appears twice")
        for axis, length in enumerate(ttype.shape):
            if axis not in kept and length != 1:
                raise ShapeError(
                    f"{self.describe()}: cannot drop dimension {axis} of the input of shape "
                    f"{_dims(ttype.shape)}: only broadcastable dimensions (static length 1) "
                    f"can be dropped; the output would have shape "
                    f"{_dims(self._out_shape(ttype))}")
        return TensorType(ttype.dtype, self._out_shape(ttype))

    def _out_shape(self, ttype):
        return tuple(1 if entry == "x" else ttype.shape[entry] for entry in self.pattern)

    def impl(self, array):
        array = np.asarray(array)
        order, index, dropped = _dimshuffle_plan(self.pattern, array.ndim)
        for axis in dropped:
            if array.shape[axis] != 1:
                raise ValueError(f"{self.describe()}: cannot drop dimension {axis} of an "
                                 f"array of shape {array.shape}: its length is not 1")
        return array.transpose(order)[index]

    def describe(self):
        return "dimshuffle{" + ",".join(str(entry) for entry in self.pattern) + "}"

    def vjp(self, node, grad):
        """The inverse dimshuffle of the gradient: inserted axes summed away, dropped ones
        put back."""
        from .. import build
        from ..node import Node
        from .reduce import Reduce
        (x,) = node.inputs
        if x.type.dtype not in dtypes.FLOATS:
            return (None,)
        inserted = tuple(position for position, entry in enumerate(self.pattern)
                         if entry == "x" and grad.type.shape[position] != 1)
        if inserted:
            grad = Node.make(Reduce("add", inserted, True, grad.type.dtype), (grad,))
        inverse = tuple(self.pattern.index(axis) if axis in self.pattern else "x"
                        for axis in range(x.type.ndim))
        return (build.cast(build.dimshuffle(grad, inverse), x.type.dtype),)


@host_op
@dataclass(frozen=True)
class Rebroadcast(Op):
    """The input itself with a changed broadcastable pattern (Theano's ``addbroadcast``,
    ``unbroadcast``, ``patternbroadcast``).

    Attributes
    ----------
    pattern : tuple of (int, bool)
        ``(axis, True)`` declares the axis broadcastable (static length 1, checked when the
        op runs); ``(axis, False)`` makes its length one known only at run time.
    """

    pattern: tuple

    name = "rebroadcast"
    returns_view = True

    def infer_type(self, ttype):
        shape = list(ttype.shape)
        for axis, broadcastable in self.pattern:
            if not 0 <= axis < ttype.ndim:
                raise ShapeError(f"{self.describe()}: axis {axis} is out of range for a tensor "
                                 f"of rank {ttype.ndim}")
            if broadcastable and shape[axis] not in (None, 1):
                raise ShapeError(f"{self.describe()}: axis {axis} has static length "
                                 f"{shape[axis]}; only a length of 1 can be broadcastable")
            shape[axis] = 1 if broadcastable else None
        return TensorType(ttype.dtype, tuple(shape))

    def impl(self, array):
        array = np.asarray(array)
        for axis, broadcastable in self.pattern:
            if broadcastable and array.shape[axis] != 1:
                raise ShapeError(f"{self.describe()}: axis {axis} of the input (shape "
                                 f"{array.shape}) has length {array.shape[axis]}; declared "
                                 f"broadcastable, it must be 1")
        return array

    def describe(self):
        flags = ",".join(f"{axis}:{'x' if b else '?'}" for axis, b in self.pattern)
        return f"rebroadcast{{{flags}}}"

    def vjp(self, node, grad):
        """The gradient with the input's own pattern on the changed axes."""
        from .. import build
        (x,) = node.inputs
        if x.type.dtype not in dtypes.FLOATS:
            return (None,)
        inverse = tuple((axis, x.type.shape[axis] == 1) for axis, _ in self.pattern)
        return (build.cast(Node.make(Rebroadcast(inverse), (grad,)), x.type.dtype),)


# ---- joining and splitting ----------------------------------------------------------------

@host_op
@dataclass(frozen=True)
class Join(Op):
    """The inputs concatenated along ``axis``; the output dtype is their numpy upcast."""

    axis: int

    name = "join"

    def infer_type(self, *types):
        if not types:
            raise ShapeError("join: expected at least one input")
        first = types[0]
        _axis_in_range(self.describe(), self.axis, first.ndim)
        out = list(first.shape)
        for index, ttype in enumerate(types[1:], start=1):
            if ttype.ndim != first.ndim:
                raise ShapeError(f"{self.describe()}: input {index} has rank {ttype.ndim} "
                                 f"(shape {_dims(ttype.shape)}); expected rank {first.ndim} "
                                 f"to match input 0 (shape {_dims(first.shape)})")
            for axis, length in enumerate(ttype.shape):
                if axis == self.axis:
                    continue
                if None not in (out[axis], length) and out[axis] != length:
                    raise ShapeError(
                        f"{self.describe()}: input {index} has static shape "
                        f"{_dims(ttype.shape)}; expected length {out[axis]} at axis {axis} "
                        f"to match input 0 (static shape {_dims(first.shape)})")
                if out[axis] is None:
                    out[axis] = length
        out[self.axis] = _sum([ttype.shape[self.axis] for ttype in types])
        return TensorType(dtypes.upcast(*[t.dtype for t in types]), tuple(out))

    def impl(self, *arrays):
        arrays = [np.asarray(a) for a in arrays]
        first = arrays[0]
        for index, array in enumerate(arrays[1:], start=1):
            others = [n for axis, n in enumerate(array.shape) if axis != self.axis]
            expected = [n for axis, n in enumerate(first.shape) if axis != self.axis]
            if array.ndim != first.ndim or others != expected:
                raise ValueError(f"{self.describe()}: input {index} has shape {array.shape}; "
                                 f"expected the shape of input 0 {first.shape} except along "
                                 f"axis {self.axis}")
        dtype = dtypes.upcast(*[a.dtype.name for a in arrays])
        return np.concatenate(arrays, axis=self.axis).astype(dtype, copy=False)

    def describe(self):
        return f"join(axis={self.axis})"

    def vjp(self, node, grad):
        """Each input gets its own slice of the gradient along ``axis`` (a split of it by
        the inputs' lengths); integer inputs get none."""
        from .. import build
        if not any(x.type.dtype in dtypes.FLOATS for x in node.inputs):
            return (None,) * len(node.inputs)
        count = len(node.inputs)
        sizes = [x.type.shape[self.axis] for x in node.inputs]
        if None in sizes:
            # lengths known only at run time: split by an int64 vector of them
            entries = [build.dimshuffle(build.cast(build.length(x, self.axis), "int64"), ("x",))
                       if length is None else _int64(np.asarray([length]))
                       for x, length in zip(node.inputs, sizes)]
            vector = Node.make(Join(0), tuple(entries))
            parts = [Node.make(SplitPart(self.axis, index, count), (grad, vector))
                     for index in range(count)]
        else:
            parts = [Node.make(SplitPart(self.axis, index, count, tuple(sizes)), (grad,))
                     for index in range(count)]
        return tuple(build.cast(part, x.type.dtype) if x.type.dtype in dtypes.FLOATS else None
                     for x, part in zip(node.inputs, parts))


def _sum(lengths):
    return None if any(length is None for length in lengths) else sum(lengths)


def _int64(value):
    """A constant node holding ``value`` as int64 (an index or a length)."""
    return Node.make(Constant(np.asarray(value, dtype=np.int64)))


def _subtensor(node, index):
    """``node[index]`` for a static basic ``index`` (ints and slices, no inputs)."""
    return Node.make(Subtensor(index), (node,))


def static_and_parameters(lengths):
    """The attribute and the parameter inputs of a shape given as ``lengths`` (ints, or
    0-d integer nodes for lengths known at run time): the lengths with None for each node,
    and the nodes in order."""
    static = tuple(None if isinstance(entry, Node) else int(entry) for entry in lengths)
    return static, tuple(entry for entry in lengths if isinstance(entry, Node))


@host_op
@dataclass(frozen=True)
class SplitPart(Op):
    """Part ``index`` of the input split along ``axis`` into consecutive pieces of lengths
    ``sizes`` (known ints, or None: an int vector input gives them at run time)."""

    axis: int
    index: int
    n_splits: int
    sizes: tuple = None

    name = "split"
    returns_view = True

    def infer_type(self, ttype, *sizes_type):
        _axis_in_range(self.name, self.axis, ttype.ndim)
        out = list(ttype.shape)
        if self.sizes is None:
            if len(sizes_type) != 1 or sizes_type[0].ndim != 1 \
                    or sizes_type[0].dtype not in dtypes.INTEGRAL:
                raise DTypeError("split: splits_size must be an integer vector")
            out[self.axis] = None
            return TensorType(ttype.dtype, tuple(out))
        if len(self.sizes) != self.n_splits:
            raise ShapeError(f"split: {len(self.sizes)} sizes {self.sizes} for "
                             f"n_splits={self.n_splits}")
        length = ttype.shape[self.axis]
        if length is not None and sum(self.sizes) != length:
            raise ShapeError(f"split: splits_size {self.sizes} sums to {sum(self.sizes)}; "
                             f"expected the length {length} of axis {self.axis} of the input "
                             f"(static shape {_dims(ttype.shape)})")
        out[self.axis] = self.sizes[self.index]
        return TensorType(ttype.dtype, tuple(out))

    def impl(self, array, *sizes):
        array = np.asarray(array)
        if self.sizes is None:
            sizes = tuple(int(n) for n in np.asarray(sizes[0]).reshape(-1))
        else:
            sizes = self.sizes
        if len(sizes) != self.n_splits or any(n < 0 for n in sizes) \
                or sum(sizes) != array.shape[self.axis]:
            raise ValueError(f"split: splits_size {tuple(sizes)} (n_splits={self.n_splits}) "
                             f"does not divide axis {self.axis} of an array of shape "
                             f"{array.shape}")
        start = sum(sizes[:self.index])
        index = [slice(None)] * array.ndim
        index[self.axis] = slice(start, start + sizes[self.index])
        return array[tuple(index)]

    def describe(self):
        return f"split[{self.index}/{self.n_splits}](axis={self.axis})"

    def vjp(self, node, grad):
        """The gradient put into zeros of the input's shape where this part lies; the
        sizes get none."""
        from .. import build
        x = node.inputs[0]
        none = (None,) * (len(node.inputs) - 1)
        if x.type.dtype not in dtypes.FLOATS:
            return (None,) + none
        if self.sizes is None:
            sizes = node.inputs[1]
            start = 0
            if self.index:
                before = _subtensor(sizes, (("slice", None, self.index, None),))
                start = Node.make(Reduce("add", (0,), False, "int64"), (before,))
            own = build.cast(_subtensor(sizes, (("int", self.index),)), "int64")
            stop = own if self.index == 0 else build.apply("add", start, own)
        else:
            start = sum(self.sizes[:self.index])
            stop = start + self.sizes[self.index]
        bounds = [bound for bound in (start, stop) if isinstance(bound, Node)]
        part = ("slice",) + tuple("?" if isinstance(bound, Node) else bound
                                  for bound in (start, stop)) + (None,)
        index = (("slice", None, None, None),) * self.axis + (part,)
        gx = Node.make(IncSubtensor(index, "inc"),
                       (build.zeros_like(x), build.cast(grad, x.type.dtype)) + tuple(bounds))
        return (gx,) + none


# ---- allocation ---------------------------------------------------------------------------

@host_op
@dataclass(frozen=True)
class Alloc(Op):
    """A new tensor of ``shape`` filled with the (broadcast) first input.

    Attributes
    ----------
    shape : tuple
        Per dimension an int, or None: the next parameter input gives the length.
    """

    shape: tuple

    name = "alloc"

    def infer_type(self, value_type, *parameter_types):
        _check_parameters(self.name, self.shape, parameter_types)
        if value_type.ndim > len(self.shape):
            raise ShapeError(f"alloc: value of shape {_dims(value_type.shape)} has more "
                             f"dimensions than the target shape {_dims(self.shape)}")
        out = list(self.shape)
        offset = len(self.shape) - value_type.ndim
        for axis, length in enumerate(value_type.shape):
            target = out[offset + axis]
            if length in (None, 1):
                continue
            if target is not None and target != length:
                raise ShapeError(f"alloc: value of static shape {_dims(value_type.shape)} "
                                 f"does not broadcast to shape {_dims(self.shape)}")
            out[offset + axis] = length
        return TensorType(value_type.dtype, tuple(out))

    def impl(self, value, *parameters):
        shape = _merge(self.shape, parameters, _int)
        value = np.asarray(value)
        if any(length < 0 for length in shape):
            raise ValueError(f"alloc: negative length in shape {shape}")
        try:
            np.broadcast_shapes(value.shape, shape)
            out = np.empty(shape, dtype=value.dtype)
            out[...] = value
        except ValueError:
            raise ValueError(f"alloc: value of shape {value.shape} does not broadcast to "
                             f"shape {shape}") from None
        return out

    def describe(self):
        return f"alloc{_dims(self.shape)}"

    def vjp(self, node, grad):
        """The value gets the gradient summed over the axes it was broadcast along (the
        new leading ones, and those where its length is 1); the lengths get none."""
        from .. import build
        value = node.inputs[0]
        none = (None,) * (len(node.inputs) - 1)
        if value.type.dtype not in dtypes.FLOATS:
            return (None,) + none
        return (build.cast(build.sum_to_shape_of(grad, value), value.type.dtype),) + none


@host_op
@dataclass(frozen=True)
class SumToShape(Op):
    """The input summed down to ``shape`` as numpy broadcast ``shape`` up to it: over its
    extra leading axes and over the axes where ``shape`` has length 1 and the input does
    not.  The gradient of an op that broadcasts along axes whose length 1 may be known only
    at run time (alloc, matmul's batch axes); ``build.sum_to`` handles the static case.

    Attributes
    ----------
    shape : tuple
        Per output dimension an int, or None: the next parameter input gives the length.
    """

    shape: tuple

    name = "sum_to_shape"
    returns_view = True  # the input itself when nothing is summed

    def infer_type(self, ttype, *parameter_types):
        _check_parameters(self.name, self.shape, parameter_types)
        lead = ttype.ndim - len(self.shape)
        if lead < 0:
            raise ShapeError(f"{self.describe()}: input of static shape {_dims(ttype.shape)} "
                             "has fewer dimensions than the target shape")
        for length, target in zip(ttype.shape[lead:], self.shape):
            if None not in (length, target) and target not in (1, length):
                raise ShapeError(f"{self.describe()}: input of static shape "
                                 f"{_dims(ttype.shape)} is not a broadcast of the target "
                                 "shape")
        return TensorType(ttype.dtype, self.shape)

    def impl(self, array, *parameters):
        shape = _merge(self.shape, parameters, _int)
        array = np.asarray(array)
        lead = array.ndim - len(shape)
        axes = list(range(lead))
        for axis, target in enumerate(shape):
            length = array.shape[lead + axis]
            if target == 1 and length != 1:
                axes.append(lead + axis)
            elif target != length:
                raise ValueError(f"{self.describe()}: an array of shape {array.shape} is not "
                                 f"a broadcast of shape {shape}")
        if not axes:
            return array
        return array.sum(axis=tuple(axes), keepdims=True).reshape(shape)

    def describe(self):
        return f"sum_to_shape{_dims(self.shape)}"

    def vjp(self, node, grad):
        """The gradient broadcast back to the input's run-time shape (an alloc)."""
        from .. import build
        x = node.inputs[0]
        none = (None,) * (len(node.inputs) - 1)
        if x.type.dtype not in dtypes.FLOATS:
            return (None,) + none
        static, parameters = static_and_parameters(build.lengths(x))
        gx = Node.make(Alloc(static), (build.cast(grad, x.type.dtype),) + parameters)
        return (gx,) + none


@host_op
@dataclass(frozen=True)
class ARange(Op):
    """numpy's ``arange(start, stop, step, dtype)``; ``bounds`` holds the known values of
    (start, stop, step), None where a scalar input gives it."""

    bounds: tuple
    dtype: str

    name = "arange"

    def infer_type(self, *parameter_types):
        _check_parameters(self.name, self.bounds, parameter_types,
                          dtypes.INTEGRAL + dtypes.FLOATS)
        if self.bounds[2] == 0:
            raise ShapeError("arange: step is 0")
        if None in self.bounds:
            return TensorType(self.dtype, (None,))
        return TensorType(self.dtype, (_arange_length(*self.bounds),))

    def impl(self, *parameters):
        start, stop, step = _merge(self.bounds, parameters, _number)
        if step == 0:
            raise ValueError("arange: step is 0")
        return np.arange(start, stop, step, dtype=self.dtype)

    def describe(self):
        return "arange(" + ", ".join("?" if b is None else str(b) for b in self.bounds) + ")"

    def vjp(self, node, grad):
        """None for every bound: Theano treats arange's bounds as parameters (a float
        ``arange`` is piecewise constant in them almost everywhere)."""
        return (None,) * len(node.inputs)


def _number(value):
    return np.asarray(value).item()


def _arange_length(start, stop, step):
    """numpy's length of arange(start, stop, step)."""
    return max(0, math.ceil((stop - start) / step))
