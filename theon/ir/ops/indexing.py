"""Indexing: numpy's basic and advanced indexing, and the functional updates behind Theano's
``set_subtensor`` and ``inc_subtensor``.

The structure of an index is an attribute of the op: a tuple with one entry per item of the
user's index.  The values that are symbolic (scalar ints, slice bounds, index arrays, masks)
are inputs of the node, after the indexed tensor, in the order the entries name them:

    ("int", k)                    an integer: k an int, or "?" for the next input (0-d int)
    ("slice", start, stop, step)  each an int, None (absent) or "?" (the next input)
    ("newaxis",)                  numpy.newaxis
    ("ellipsis",)                 ...
    ("array",)                    the next input, an integer array
    ("mask",)                     the next input, a boolean array

Static shapes are exact where the index and the indexed lengths are static, and None
elsewhere (a mask selects a number of elements known only at run time).  What is statically
wrong raises when the node is built; the rest (an index out of range, a mask of the wrong
length) raises IndexError at call time, from numpy's own bounds checks, before any element
is read.
"""
import functools
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Op, host_op
from ..types import TensorType

SYMBOLIC = "?"  # an index part given by the node's next input
_ADVANCED = object()  # placeholder, in a shape being built, for the advanced block


def n_index_inputs(index):
    """How many node inputs the entries of ``index`` take."""
    count = 0
    for entry in index:
        if entry[0] in ("array", "mask"):
            count += 1
        else:
            count += sum(part == SYMBOLIC for part in entry[1:])
    return count


def is_advanced(index):
    """Whether ``index`` holds an index array or a mask (numpy's advanced indexing)."""
    return any(entry[0] in ("array", "mask") for entry in index)


def format_index(index):
    """``index`` as Python's subscript syntax, with ``?`` for symbolic parts."""
    def text(part):
        return "" if part is None else str(part)

    items = []
    for entry in index:
        kind = entry[0]
        if kind == "slice":
            start, stop, step = entry[1:]
            items.append(f"{text(start)}:{text(stop)}" + ("" if step is None else f":{step}"))
        elif kind == "int":
            items.append(str(entry[1]))
        else:
            items.append({"newaxis": "None", "ellipsis": "...", "array": "[?]",
                          "mask": "<mask>"}[kind])
    return "[" + ", ".join(items) + "]"


def numpy_index(index, values):
    """The tuple numpy indexes with: ``index``'s entries with ``values`` (the node's index
    inputs, in order) in place of their symbolic parts."""
    if _arrays_only(index):
        return tuple(values)  # the common advanced index, x[rows, columns]
    values = iter(values)

    def part(value):
        return int(next(values)) if value == SYMBOLIC else value

    result = []
    for entry in index:
        kind = entry[0]
        if kind == "int":
            result.append(part(entry[1]))
        elif kind == "slice":
            result.append(slice(*[part(p) for p in entry[1:]]))
        elif kind == "newaxis":
            result.append(None)
        elif kind == "ellipsis":
            result.append(Ellipsis)
        else:
            result.append(next(values))
    return tuple(result)


@functools.lru_cache(maxsize=256)
def _arrays_only(index):
    """Whether every entry of ``index`` is an index array (its numpy form is then the
    tuple of the index inputs themselves)."""
    return all(entry[0] == "array" for entry in index)


def _check_scalar(name, what, ttype):
    """DTypeError unless ``ttype`` is a 0-d integer type (the type of an int index part)."""
    if ttype.dtype not in dtypes.INTS or ttype.ndim != 0:
        kind = "a bool" if ttype.dtype == dtypes.BOOL else f"a {ttype.dtype}"
        raise DTypeError(f"{name}: {what} must be an integer scalar; got {kind} tensor of "
                         f"rank {ttype.ndim} ({ttype})")


def _slice_length(entry, length):
    """The static length of slicing a dimension of static ``length`` with ``entry``."""
    parts = entry[1:]
    if length == 0:
        return 0
    if length is None or SYMBOLIC in parts:
        return None
    return len(range(*slice(*parts).indices(length)))


def _broadcast_index_shapes(name, shapes):
    """numpy's broadcast of the static shapes of index arrays (IndexError if they clash)."""
    ndim = max((len(shape) for shape in shapes), default=0)
    padded = [(1,) * (ndim - len(shape)) + tuple(shape) for shape in shapes]
    result = []
    for axis in range(ndim):
        dims = [shape[axis] for shape in padded if shape[axis] != 1]
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise IndexError(f"{name}: shape mismatch: indexing arrays could not be broadcast "
                             f"together with static shapes {[tuple(s) for s in shapes]}")
        result.append(known.pop() if known else (None if dims else 1))
    return tuple(result)


def _consumed(name, index, input_types):
    """How many dimensions of the indexed tensor ``index`` reads; checks input dtypes."""
    types = iter(input_types)
    consumed = ellipses = 0
    for position, entry in enumerate(index):
        kind = entry[0]
        if kind == "int":
            consumed += 1
        elif kind == "slice":
            consumed += 1
            if entry[3] == 0:
                raise ValueError(f"{name}: index {position}: slice step cannot be zero")
        elif kind == "ellipsis":
            ellipses += 1
        if kind in ("int", "slice"):
            for part in entry[1:]:
                if part == SYMBOLIC:
                    _check_scalar(name, f"index {position}", next(types))
        elif kind == "array":
            ttype = next(types)
            if ttype.dtype not in dtypes.INTS:
                raise DTypeError(f"{name}: index {position}: an index array must have an "
                                 f"integer dtype; got {ttype.dtype}")
            consumed += 1
        elif kind == "mask":
            ttype = next(types)
            if ttype.dtype != dtypes.BOOL:
                raise DTypeError(f"{name}: index {position}: a mask must be bool; got "
                                 f"{ttype.dtype}")
            consumed += ttype.ndim
    if ellipses > 1:
        raise IndexError(f"{name}: an index can only have a single ellipsis ('...')")
    return consumed


def indexed_type(name, index, x_type, input_types):
    """The type of ``x[index]`` for ``x`` of type ``x_type`` and index inputs of types
    ``input_types``: numpy's rules, with exact static lengths where they are known.

    Raises
    ------
    IndexError
        Too many indices, two ellipses, a static int out of range, a mask whose static
        shape differs from the indexed one, index arrays that cannot broadcast.
    DTypeError
        A float index or a non-bool mask.
    """
    if len(input_types) != n_index_inputs(index):
        raise TypeError(f"{name}: index {format_index(index)} takes "
                        f"{n_index_inputs(index)} inputs; got {len(input_types)}")
    consumed = _consumed(name, index, input_types)
    if consumed > x_type.ndim:
        raise IndexError(f"{name}: too many indices for tensor: tensor is "
                         f"{x_type.ndim}-dimensional, but {consumed} were indexed")
    advanced = is_advanced(index)
    types = iter(input_types)
    shape, positions, block = [], [], []
    axis = 0
    for position, entry in enumerate(index):
        kind = entry[0]
        if kind == "newaxis":
            shape.append(1)
            continue
        if kind == "ellipsis":
            width = x_type.ndim - consumed
            shape.extend(x_type.shape[axis:axis + width])
            axis += width
            continue
        length = x_type.shape[axis] if axis < x_type.ndim else None
        if kind == "slice":
            shape.append(_slice_length(entry, length))
            for part in entry[1:]:
                if part == SYMBOLIC:
                    next(types)
            axis += 1
            continue
        if kind == "int":
            if entry[1] == SYMBOLIC:
                next(types)
            elif length is not None and not -length <= entry[1] < length:
                raise IndexError(f"{name}: index {entry[1]} is out of bounds for axis {axis} "
                                 f"with size {length}")
            axis += 1
            if not advanced:
                continue
            block.append(())
        elif kind == "array":
            block.append(next(types).shape)
            axis += 1
        else:
            mask_type = next(types)
            block.append(_mask_count(name, mask_type, x_type, axis))
            axis += mask_type.ndim
        positions.append(position)
        shape.append(_ADVANCED)
    shape.extend(x_type.shape[axis:])  # dimensions the index leaves out are taken whole
    if not advanced:
        return TensorType(x_type.dtype, tuple(shape))
    # numpy puts the broadcast index dimensions where the advanced indices are when they
    # are next to each other in the index, and first otherwise
    dims = _broadcast_index_shapes(name, block)
    where = shape.index(_ADVANCED) if positions == list(range(positions[0],
                                                              positions[-1] + 1)) else 0
    rest = [d for d in shape if d is not _ADVANCED]
    return TensorType(x_type.dtype, tuple(rest[:where]) + dims + tuple(rest[where:]))


def _mask_count(name, mask_type, x_type, axis):
    """The static shape ``(count,)`` of the elements a mask of ``mask_type`` selects from
    dimensions ``axis...`` of ``x_type``; IndexError if the static lengths disagree."""
    for offset, length in enumerate(mask_type.shape):
        own = x_type.shape[axis + offset]
        if length is not None and own is not None and length != own:
            raise IndexError(f"{name}: boolean index did not match indexed tensor along axis "
                             f"{axis + offset}; size of axis is {own} but size of "
                             f"corresponding boolean axis is {length}")
    lengths = list(mask_type.shape) + list(x_type.shape[axis:axis + mask_type.ndim])
    return (0,) if 0 in lengths else (None,)


class _Indexing(Op):
    """What the indexing ops share: the ``index`` attribute, its text and its errors."""

    def describe(self):
        return f"{self.name}{format_index(self.index)}"

    def _numpy(self, values):
        return numpy_index(self.index, values)

    def _index_error(self, error):
        """IndexError naming this op and numpy's message (the index and the axis size)."""
        return IndexError(f"{self.describe()}: {error}")


class _Read(_Indexing):
    """``x[index]``: what Subtensor and AdvancedSubtensor share.  ``advanced`` says which
    kind of index the op takes; ``other`` names the op for the other kind."""

    advanced = False
    other = ""

    def infer_type(self, x_type, *input_types):
        if is_advanced(self.index) != self.advanced:
            kind = "advanced" if is_advanced(self.index) else "basic"
            raise TypeError(f"{self.name}: index {format_index(self.index)} is {kind}; "
                            f"use {self.other}")
        return indexed_type(self.name, self.index, x_type, input_types)

    def impl(self, x, *values):
        try:
            return np.asarray(x)[self._numpy(values)]
        except IndexError as error:
            raise self._index_error(error) from None


@host_op
@dataclass(frozen=True)
class Subtensor(_Read):
    """``x[index]`` with ints, slices, newaxis and Ellipsis only (numpy's basic indexing).
    Inputs: ``x`` and the symbolic ints and slice bounds.  The result is a view of ``x``."""

    index: tuple

    name = "subtensor"
    returns_view = True
    other = "AdvancedSubtensor"


@host_op
@dataclass(frozen=True)
class AdvancedSubtensor(_Read):
    """``x[index]`` where the index holds integer arrays or masks (numpy's advanced
    indexing), possibly mixed with ints, slices, newaxis and Ellipsis.  The result is a
    new array."""

    index: tuple

    name = "advanced_subtensor"
    advanced = True
    other = "Subtensor"


@host_op
@dataclass(frozen=True)
class IncSubtensor(_Indexing):
    """A copy of ``x`` with ``x[index]`` set to ``y`` (``mode='set'``) or incremented by
    ``y`` (``mode='inc'``; repeated indices accumulate, as ``numpy.add.at``).  Inputs:
    ``x``, ``y`` and the index inputs.  ``y`` broadcasts to the shape of ``x[index]``."""

    index: tuple
    mode: str = "inc"

    name = "inc_subtensor"

    def __post_init__(self):
        if self.mode not in ("set", "inc"):
            raise ValueError(f"inc_subtensor: mode must be 'set' or 'inc'; got {self.mode!r}")

    def describe(self):
        return f"{self.mode}_subtensor{format_index(self.index)}"

    def infer_type(self, x_type, y_type, *input_types):
        name = f"{self.mode}_subtensor"
        target = indexed_type(name, self.index, x_type, input_types)
        if dtypes.upcast(x_type.dtype, y_type.dtype) != x_type.dtype:
            raise DTypeError(f"{name}: input 1 (the value) has dtype {y_type.dtype}, which "
                             f"does not fit the indexed tensor's {x_type.dtype}; cast it first")
        if y_type.ndim > target.ndim:
            raise ShapeError(f"{name}: input 1 (the value) has rank {y_type.ndim}; expected "
                             f"at most {target.ndim}, the rank of x{format_index(self.index)} "
                             f"{target}")
        for axis, (have, want) in enumerate(zip(reversed(y_type.shape),
                                                reversed(target.shape))):
            if have not in (1, None) and want is not None and have != want:
                raise ShapeError(f"{name}: input 1 (the value) has static shape "
                                 f"{y_type.shape}, which does not broadcast to "
                                 f"x{format_index(self.index)}'s {target.shape}")
        return x_type

    def impl(self, x, y, *values):
        result = np.array(x, copy=True)
        index = self._numpy(values)
        try:
            if self.mode == "set":
                result[index] = y
            elif is_advanced(self.index):
                np.add.at(result, index, y)
            else:
                result[index] += y
        except IndexError as error:
            raise self._index_error(error) from None
        return result


@host_op
@dataclass(frozen=True)
class RowLabels(Op):
    """The labels of ``x[arange(m), labels]`` (or of ``inc_subtensor`` there), checked as
    the indexing would check them and turned into column positions: a column ``(m, 1)``
    of values in ``[0, k)`` (negative labels count from the end, as in numpy), of the
    labels' dtype.  ``passes/one_hot.py`` computes the indexing as a one-hot mask with
    them, fused into the kernels around it, so the checks happen here, before any kernel
    reads a label.

    Inputs: the labels (an integer vector of length m or 1), an array of ``x``'s shape
    (only its shape is read), and m (the arange's length) unless ``m_is_length``: the rows
    are ``arange(len(labels))``, Theano's idiom.  ``indexing`` names the op the user wrote,
    for messages.  Raises IndexError as the indexing would (a label out of range, more rows
    than ``x`` has, labels that do not broadcast to m), and ValueError when m is below
    ``x``'s row count: the one-hot form computes every row (Theano's crossentropy rewrite
    asks the same).
    """

    indexing: str
    m_is_length: bool = True

    name = "row_labels"

    def infer_type(self, labels_type, x_type, *length_type):
        length = labels_type.shape[0] if labels_type.shape[0] != 1 else None
        return TensorType(labels_type.dtype, (length, 1))

    def impl(self, labels, x, length=None):
        rows, columns = np.shape(x)
        count = labels.shape[0]
        length = count if self.m_is_length else int(length)
        if count != length and count != 1:
            raise IndexError(f"{self.indexing}: shape mismatch: indexing arrays could not be "
                             f"broadcast together with shapes ({length},) ({count},)")
        if length != rows:
            self._wrong_rows(length, rows)
        # one reduction in the common case: read as unsigned, a negative label is huge
        unsigned = labels.view(labels.dtype.str.replace("i", "u"))
        if count and unsigned.max() >= columns:
            labels = self._wrapped(labels, columns)
        if count != length:
            labels = np.repeat(labels, length)
        # always a new array: a view of the labels would exist only when they are all in
        # range, and runtimes follow views by their pointer, without running the checks
        return np.array(labels.reshape(length, 1))

    def _wrong_rows(self, length, rows):
        if length > rows:
            raise IndexError(f"{self.indexing}: index {rows} is out of bounds for axis 0 "
                             f"with size {rows}")
        raise ValueError(f"{self.indexing}: x[arange({length}), labels] with x of {rows} "
                         f"rows: theon computes this indexing over all of x's rows; index "
                         f"x[:{length}] first")

    def _wrapped(self, labels, columns):
        """``labels`` with the negative ones counted from the end; IndexError naming the
        first label out of range."""
        bad = (labels < -columns) | (labels >= columns)
        if bad.any():
            raise IndexError(f"{self.indexing}: index {labels[bad][0]} is out of bounds for "
                             f"axis 1 with size {columns}")
        return np.where(labels < 0, labels + columns, labels).astype(labels.dtype)

    def describe(self):
        return f"row_labels({self.indexing})"


# ---- gradients --------------------------------------------------------------------------

def _index_of(index, source, values):
    """``source[index]`` with the index inputs ``values`` (basic or advanced)."""
    from ..node import Node
    op = AdvancedSubtensor(index) if is_advanced(index) else Subtensor(index)
    return Node.make(op, (source,) + tuple(values))


def _unbroadcast(value):
    """``value`` without the broadcasts that numpy's (and so inc_subtensor's) broadcasting
    redoes: fills (``second``, the gradient of a sum or a mean) and leading length-1 axes.
    The full-size array then need not be made."""
    while True:
        if getattr(value.op, "name", None) == "second":
            value = value.inputs[1]
        elif getattr(value.op, "name", None) == "dimshuffle" and _pads_left(value.op.pattern,
                                                                          value.inputs[0]):
            value = value.inputs[0]
        else:
            return value


def _pads_left(pattern, source):
    """Whether dimshuffle ``pattern`` only puts length-1 axes before ``source``'s."""
    kept = tuple(entry for entry in pattern if entry != "x")
    return kept == tuple(range(source.type.ndim)) and \
        pattern[:len(pattern) - len(kept)] == ("x",) * (len(pattern) - len(kept))


def _subtensor_vjp(self, node, grad):
    """x[index] -> the gradient added into zeros of x's shape at ``index`` (repeated
    indices accumulate); index inputs get none."""
    from .. import build
    from ..node import Node
    x, *values = node.inputs
    if x.type.dtype not in dtypes.FLOATS:
        return (None,) * len(node.inputs)
    grad = _unbroadcast(grad)
    grad = build.cast(grad, x.type.dtype)
    gx = Node.make(IncSubtensor(self.index, "inc"),
                   (build.zeros_like(x), grad) + tuple(values))
    return (gx,) + (None,) * len(values)


def _inc_subtensor_vjp(self, node, grad):
    """set: x gets the gradient with zeros at ``index``; inc: x gets it whole.  y gets the
    gradient at ``index``, summed over the axes it was broadcast along."""
    from .. import build
    from ..node import Node
    x, y, *values = node.inputs
    gx = gy = None
    if x.type.dtype in dtypes.FLOATS:
        gx = build.cast(grad, x.type.dtype)
        if self.mode == "set":
            gx = Node.make(IncSubtensor(self.index, "set"),
                           (gx, build.const(0, gx)) + tuple(values))
    if y.type.dtype in dtypes.FLOATS:
        gy = build.cast(build.sum_to(_index_of(self.index, grad, values), y.type),
                        y.type.dtype)
    return (gx, gy) + (None,) * len(values)


Subtensor.vjp = _subtensor_vjp
AdvancedSubtensor.vjp = _subtensor_vjp
IncSubtensor.vjp = _inc_subtensor_vjp
