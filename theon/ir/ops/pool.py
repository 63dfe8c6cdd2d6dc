"""Pooling over the trailing axes of a tensor: Theano's ``theano.tensor.signal.pool`` ops.

``Pool`` takes the maximum, the sum or the average of every window of ``ws`` elements
(moved by ``stride``, over an input padded by ``pad`` on both sides) across the last
``len(ws)`` axes; ``pool_2d`` and ``pool_3d`` are the cases of 2 and 3 axes, one op serves
any number.  ``MaxPoolGrad`` and ``AveragePoolGrad`` are its gradients and
``MaxPoolGradGrad`` the gradient of ``MaxPoolGrad``; each has a ``vjp``, so gradients of
gradients work to any order.

The semantics are those of Theano 1.0's CPU ops: output lengths as ``Pool.out_shape``
(ragged windows at the far border when ``ignore_border`` is False), padding never taking
part in a maximum or a sum, ``average_exc_pad`` dividing by the count of input elements in
the window, ``average_inc_pad`` by the window's length clipped to the padded input, and a
maximum's gradient going to every element equal to it (ties all get it, overlapping
windows add up).

None has a kernel lowering: each runs on the host through ``impl``, which makes one
whole-array numpy operation per window offset (``prod(ws)`` of them) on strided views of
the input, so nothing loops over output elements, batch or channels in Python.  The views
are of a padded copy that holds every window whole, so nothing is read out of bounds.
"""
import itertools
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Node, Op, host_op
from ..types import TensorType

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


# ---- geometry -----------------------------------------------------------------------------

def pooled_length(length, window, stride, pad, ignore_border):
    """The number of windows along one axis, as Theano's ``Pool.out_shape``.

    Parameters
    ----------
    length : int or None
        The input's length along the axis (None: known only at run time).
    window, stride, pad : int
    ignore_border : bool
        True: only windows lying wholly inside the padded input.  False: also the ragged
        windows that run past its far end, so that every element is in some window.

    Returns
    -------
    int or None
    """
    if length is None:
        return None
    padded = length + 2 * pad
    if ignore_border:
        return max((padded - window) // stride + 1, 0)
    if stride >= window:
        return (padded - 1) // stride + 1
    return max(0, (padded - 1 - window + stride) // stride) + 1


def pooled_shape(shape, ws, stride, pad, ignore_border):
    """The shape pooling gives an input of ``shape`` (entries int or None): its leading axes,
    then ``pooled_length`` along each of the last ``len(ws)``."""
    count = len(ws)
    return tuple(shape[:-count]) + tuple(
        pooled_length(length, window, step, size, ignore_border)
        for length, window, step, size in zip(shape[-count:], ws, stride, pad))


def check_window(function, ws, stride, pad, ignore_border):
    """Raise for window parameters that select nothing or that Theano rejects.

    Parameters
    ----------
    function : str
        Names the operation in messages ('pool_2d', 'pool').
    ws, stride, pad : tuple of int
        One entry per pooled axis.
    ignore_border : bool

    Raises
    ------
    ValueError
        Lengths differ, a window or stride below 1, a pad below 0.
    NotImplementedError
        Padding with ``ignore_border=False``, or a pad not smaller than its window (Theano's
        exceptions for these).
    """
    for argument, values, least in (("ws", ws, 1), ("stride", stride, 1), ("pad", pad, 0)):
        if len(values) != len(ws):
            raise ValueError(f"{function}: {argument} {values} has {len(values)} entries; "
                             f"expected {len(ws)}, as ws {ws}")
        for position, value in enumerate(values):
            if value < least:
                raise ValueError(f"{function}: {argument}[{position}] is {value}; expected "
                                 f"an int >= {least}")
    if any(pad) and not ignore_border:
        raise NotImplementedError(f"{function}: pad {pad} with ignore_border=False; expected "
                                  "ignore_border=True when padding")
    for position, (size, window) in enumerate(zip(pad, ws)):
        if size >= window:
            raise NotImplementedError(f"{function}: pad[{position}] is {size}; expected a pad "
                                      f"smaller than the window, ws[{position}] = {window}")


def _lowest(dtype):
    """The identity of a maximum in ``dtype``: what padding holds so that it never wins."""
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


class _Windows:
    """The windows of one pooling of an array of ``shape``: the output shape, and strided
    views (one per window offset) of a padded array that holds every window whole."""

    def __init__(self, op, shape):
        count = len(op.ws)
        self.op = op
        self.lead = tuple(shape[:-count])
        self.lengths = tuple(shape[-count:])
        self.out_shape = pooled_shape(shape, op.ws, op.stride, op.pad, op.ignore_border)
        self.counts = self.out_shape[-count:]
        # the far side needs more than the pad where ragged windows run past the input
        self.padded_lengths = tuple(
            max(length + 2 * pad, (windows - 1) * stride + window)
            for length, windows, window, stride, pad
            in zip(self.lengths, self.counts, op.ws, op.stride, op.pad))
        self.interior = (Ellipsis,) + tuple(
            slice(pad, pad + length) for pad, length in zip(op.pad, self.lengths))

    @property
    def padded_shape(self):
        return self.lead + self.padded_lengths

    def _borderless(self):
        """Whether every window lies inside the input: then no padded copy is needed."""
        return self.padded_lengths == self.lengths

    def padded(self, array, fill):
        """``array`` inside a border of ``fill``; ``array`` itself when no window leaves it."""
        if self._borderless():
            return array
        result = np.full(self.padded_shape, fill, dtype=array.dtype)
        result[self.interior] = array
        return result

    def interior_of(self, padded):
        """The input's part of a padded array, as a new contiguous array."""
        if self._borderless():
            return padded
        return np.ascontiguousarray(padded[self.interior])

    def overlapping(self):
        """Whether windows share elements (a stride below its window length): then what is
        spread back over them must be added up, else each element gets one value."""
        return any(stride < window for stride, window in zip(self.op.stride, self.op.ws))

    def spread(self, result, write):
        """Store into ``result`` (a padded array of zeros) what each window-offset view
        receives: ``write(view, out)`` puts it in ``out``, straight into ``result`` where
        windows do not overlap, else into a scratch array added to ``result``."""
        scratch = None
        overlapping = self.overlapping()
        for view in self.views():
            target = result[view]
            if not overlapping:
                write(view, target)
                continue
            if scratch is None:
                scratch = np.empty(target.shape, dtype=result.dtype)
            write(view, scratch)
            target += scratch
        return self.interior_of(result)

    def views(self):
        """One index per window offset: applied to a padded array, it gives the elements at
        that offset in every window, in the output's shape.  Within one view no element
        repeats, so adding into it is exact."""
        op = self.op
        for offset in itertools.product(*[range(window) for window in op.ws]):
            yield (Ellipsis,) + tuple(slice(start, start + windows * stride, stride)
                                      for start, windows, stride
                                      in zip(offset, self.counts, op.stride))

    def reduce(self, padded, combine, dtype):
        """``combine`` (np.maximum, np.add) over every window of ``padded``, in ``dtype``."""
        result = None
        for view in self.views():
            if result is None:
                result = padded[view].astype(dtype, copy=True)
            else:
                combine(result, padded[view], out=result)
        return result

    def divisor(self, mode, dtype):
        """What each window's sum is divided by for an average (shape: the windows').

        average_inc_pad: the window's size, clipped to the padded input (smaller only for
        ragged windows); average_exc_pad: the count of input elements in the window.  A
        window holding no element divides by 1, so that its average is 0.
        """
        total = np.ones((), dtype=np.int64)
        op = self.op
        for length, windows, window, stride, pad in zip(self.lengths, self.counts, op.ws,
                                                        op.stride, op.pad):
            starts = np.arange(windows, dtype=np.int64) * stride - pad  # in the input's axis
            if mode == "average_inc_pad":
                sizes = np.minimum(starts + window, length + pad) - starts
            else:
                sizes = np.clip(starts + window, 0, length) - np.clip(starts, 0, length)
            total = np.multiply.outer(total, sizes)
        return np.maximum(total, 1).astype(dtype)

    def expect(self, function, argument, array):
        """ShapeError unless ``array`` has the pooled shape."""
        if array.shape != self.out_shape:
            raise ShapeError(f"{function}: {argument} has shape {array.shape}; expected the "
                             f"pooled shape {self.out_shape}")


# ---- type rules ---------------------------------------------------------------------------

def _dims(shape):
    return "(" + ", ".join("?" if length is None else str(length) for length in shape) + ")"


def _merge(function, argument, shape, expected):
    """``shape`` with the lengths ``expected`` knows; ShapeError where they certainly differ."""
    if len(shape) != len(expected):
        raise ShapeError(f"{function}: {argument} has rank {len(shape)}; expected "
                         f"{len(expected)}")
    merged = []
    for given, wanted in zip(shape, expected):
        if given is not None and wanted is not None and given != wanted:
            raise ShapeError(f"{function}: {argument} has shape {_dims(shape)}; expected "
                             f"{_dims(expected)}")
        merged.append(wanted if given is None else given)
    return tuple(merged)


def _same_dtype(function, argument, ttype, dtype):
    if ttype.dtype != dtype:
        raise DTypeError(f"{function}: {argument} has dtype {ttype.dtype}; expected {dtype}, "
                         "the input's")


@dataclass(frozen=True)
class _Pooling(Op):
    """The window parameters every pooling op shares, one entry per pooled axis."""

    ws: tuple
    stride: tuple
    pad: tuple
    ignore_border: bool

    def _check_input(self, ttype):
        """The pooled static shape of an input of type ``ttype``; raises for bad input."""
        check_window(self.name, self.ws, self.stride, self.pad, self.ignore_border)
        if ttype.ndim < len(self.ws):
            raise ShapeError(f"{self.name}: input has rank {ttype.ndim} (shape "
                             f"{_dims(ttype.shape)}); expected at least {len(self.ws)}, "
                             "one axis per window length")
        return pooled_shape(ttype.shape, *self._window_parameters())

    def _parameters(self):
        return f"ws={self.ws}, stride={self.stride}, pad={self.pad}, " \
               f"ignore_border={self.ignore_border}"

    def _window_parameters(self):
        return (self.ws, self.stride, self.pad, self.ignore_border)


# ---- the ops ------------------------------------------------------------------------------

@host_op
@dataclass(frozen=True)
class Pool(_Pooling):
    """The maximum, sum or average of every window over the last ``len(ws)`` axes.

    Output shape: the input's leading axes, then ``pooled_length`` windows per pooled axis;
    dtype the input's (an integer average is truncated, as Theano's).
    """

    mode: str = "max"

    name = "pool"

    def infer_type(self, ttype):
        if self.mode not in MODES:
            raise ValueError(f"pool: mode {self.mode!r}; expected one of "
                             f"{', '.join(map(repr, MODES))}")
        return TensorType(ttype.dtype, self._check_input(ttype))

    def impl(self, array):
        array = np.asarray(array)
        windows = _Windows(self, array.shape)
        if self.mode == "max":
            return windows.reduce(windows.padded(array, _lowest(array.dtype)), np.maximum,
                                  array.dtype)
        exact = self.mode == "sum" or array.dtype.kind == "f"
        # an integer average is taken in float64 and truncated, as Theano's perform does
        dtype = array.dtype if exact else np.dtype(np.float64)
        total = windows.reduce(windows.padded(array, 0), np.add, dtype)
        if self.mode == "sum":
            return total
        np.divide(total, windows.divisor(self.mode, dtype), out=total)
        return total.astype(array.dtype, copy=False)

    def describe(self):
        return f"pool({self.mode}, {self._parameters()})"

    def vjp(self, node, grad):
        """max: ``MaxPoolGrad`` (each window's gradient to the elements equal to its
        maximum); sum and averages: ``AveragePoolGrad`` (spread with the forward
        weights).  Integer inputs get none."""
        from .. import build
        (x,) = node.inputs
        if x.type.dtype not in dtypes.FLOATS:
            return (None,)
        grad = build.cast(grad, x.type.dtype)
        if self.mode == "max":
            return (Node.make(MaxPoolGrad(*self._window_parameters()), (x, node, grad)),)
        op = AveragePoolGrad(*self._window_parameters(), self.mode)
        return (Node.make(op, (x, grad)),)


@host_op
@dataclass(frozen=True)
class MaxPoolGrad(_Pooling):
    """The gradient of max pooling: inputs ``x``, the pooled ``maxout`` and its gradient
    ``gz``; every element of ``x`` equal to its window's maximum gets that window's
    gradient, summed over the windows holding it.  Output of ``x``'s type."""

    name = "max_pool_grad"

    def infer_type(self, x_type, maxout_type, grad_type):
        pooled = self._check_input(x_type)
        for argument, ttype in (("maxout", maxout_type), ("gz", grad_type)):
            _same_dtype(self.name, argument, ttype, x_type.dtype)
            _merge(self.name, argument, ttype.shape, pooled)
        return x_type

    def impl(self, array, maxout, grad):
        array, maxout, grad = np.asarray(array), np.asarray(maxout), np.asarray(grad)
        windows = _Windows(self, array.shape)
        windows.expect(self.name, "maxout", maxout)
        windows.expect(self.name, "gz", grad)
        padded = windows.padded(array, _lowest(array.dtype))
        result = np.zeros(windows.padded_shape, dtype=grad.dtype)
        # a product with the comparison's booleans, in place: half np.where's time
        return windows.spread(result, lambda view, out: np.multiply(padded[view] == maxout,
                                                                    grad, out=out))

    def describe(self):
        return f"max_pool_grad({self._parameters()})"

    def vjp(self, node, grad):
        """Linear in ``gz``: ``MaxPoolGradGrad`` gathers the gradient from each window's
        maximal elements.  ``x`` and ``maxout`` get none (the choice of elements is
        piecewise constant in them)."""
        from .. import build
        x, maxout, _ = node.inputs
        grad = build.cast(grad, x.type.dtype)
        op = MaxPoolGradGrad(*self._window_parameters())
        return (None, None, Node.make(op, (x, maxout, grad)))


@host_op
@dataclass(frozen=True)
class AveragePoolGrad(_Pooling):
    """The gradient of sum and average pooling: inputs ``x`` (read for its shape only) and
    the pooled gradient ``gz``; each window's gradient is spread over its elements with the
    forward weights (1 for a sum, 1 / the divisor for an average).  Output of ``x``'s type.
    """

    mode: str = "sum"

    name = "average_pool_grad"

    def infer_type(self, x_type, grad_type):
        if self.mode not in MODES[1:]:
            raise ValueError(f"average_pool_grad: mode {self.mode!r}; expected one of "
                             f"{', '.join(map(repr, MODES[1:]))}")
        pooled = self._check_input(x_type)
        if x_type.dtype not in dtypes.FLOATS:
            raise DTypeError(f"average_pool_grad: x has dtype {x_type.dtype}; expected "
                             "float32 or float64")
        _same_dtype(self.name, "gz", grad_type, x_type.dtype)
        _merge(self.name, "gz", grad_type.shape, pooled)
        return x_type

    def impl(self, array, grad):
        array, grad = np.asarray(array), np.asarray(grad)
        windows = _Windows(self, array.shape)
        windows.expect(self.name, "gz", grad)
        share = grad
        if self.mode != "sum":
            share = grad / windows.divisor(self.mode, grad.dtype)
        result = np.zeros(windows.padded_shape, dtype=grad.dtype)
        return windows.spread(result, lambda view, out: np.copyto(out, share))

    def describe(self):
        return f"average_pool_grad({self.mode}, {self._parameters()})"

    def vjp(self, node, grad):
        """Linear in ``gz``, whose gradient is the forward pooling of the gradient; ``x``,
        read for its shape only, gets none."""
        from .. import build
        x, _ = node.inputs
        grad = build.cast(grad, x.type.dtype)
        return (None, Node.make(Pool(*self._window_parameters(), self.mode), (grad,)))


@host_op
@dataclass(frozen=True)
class MaxPoolGradGrad(_Pooling):
    """The gradient of ``MaxPoolGrad`` with respect to its ``gz`` (Theano's
    DownsampleFactorMaxGradGrad): inputs ``x``, ``maxout`` and ``ggx`` of ``x``'s shape;
    each window gets the sum of ``ggx`` over its elements equal to its maximum.  Output of
    ``maxout``'s shape."""

    name = "max_pool_grad_grad"

    def infer_type(self, x_type, maxout_type, ggx_type):
        pooled = self._check_input(x_type)
        _same_dtype(self.name, "maxout", maxout_type, x_type.dtype)
        _same_dtype(self.name, "ggx", ggx_type, x_type.dtype)
        _merge(self.name, "ggx", ggx_type.shape, x_type.shape)
        return TensorType(x_type.dtype, _merge(self.name, "maxout", maxout_type.shape, pooled))

    def impl(self, array, maxout, ggx):
        array, maxout, ggx = np.asarray(array), np.asarray(maxout), np.asarray(ggx)
        windows = _Windows(self, array.shape)
        windows.expect(self.name, "maxout", maxout)
        if ggx.shape != array.shape:
            raise ShapeError(f"{self.name}: ggx has shape {ggx.shape}; expected the input's "
                             f"{array.shape}")
        padded = windows.padded(array, _lowest(array.dtype))
        padded_ggx = windows.padded(ggx, 0)
        result = np.zeros(windows.out_shape, dtype=ggx.dtype)
        for view in windows.views():
            result += np.where(padded[view] == maxout, padded_ggx[view], 0)
        return result

    def describe(self):
        return f"max_pool_grad_grad({self._parameters()})"

    def vjp(self, node, grad):
        """Linear in ``ggx``: its gradient is ``MaxPoolGrad`` of the incoming gradient."""
        from .. import build
        x, maxout, _ = node.inputs
        grad = build.cast(grad, x.type.dtype)
        op = MaxPoolGrad(*self._window_parameters())
        return (None, None, Node.make(op, (x, maxout, grad)))
