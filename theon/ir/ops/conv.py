"""Convolutions over N spatial axes (Theano 1.0's ``abstract_conv``): the product and its
gradients with respect to the input and to the filters, one host op each.

Layout, as Theano's: an input is ``(batch, channels, *spatial)``, the filters are
``(output channels, channels / num_groups, *kernel)``, the result is
``(batch, output channels, *output spatial)``.  With ``filter_flip`` (the default) the
filters are flipped along every spatial axis, a true convolution; without, a
cross-correlation.  ``border`` is 'valid', 'full', 'half' or one ``(before, after)`` pair of
zero-padding lengths per spatial axis; ``subsample`` is the stride and ``dilation`` the
spacing of the filter taps.

The three ops are one family: each is linear in each of its two tensor inputs, and the
gradient of each is made of the other two (see the ``vjp``s), so gradients of any order
exist.  The work is im2col + BLAS: the input's windows are a strided view of the (padded)
input, copied once into a column matrix that meets the filters in one matrix product per
group; the input gradient adds one product per filter tap (output gradient times that
tap's weights) into a channels-last array.  No loop in Python runs over batch, channels or
positions.
"""
import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Node, Op, host_op
from ..types import TensorType
from .shape_ops import _check_parameters, _dims, _int, _merge

BORDER_MODES = ("valid", "full", "half")


# ---- shape rules (static: entries may be None; at run time: ints) --------------------------

def dilated(kernel, dilation):
    """The extent of each kernel axis once its taps are ``dilation`` apart (None: unknown)."""
    return tuple(None if k is None else (k - 1) * d + 1 for k, d in zip(kernel, dilation))


def paddings(border, kernel, dilation):
    """``(before, after)`` zero padding per spatial axis (None where a kernel length that
    'full' or 'half' needs is unknown)."""
    if not isinstance(border, str):
        return border
    pads = []
    for extent in dilated(kernel, dilation):
        if border == "valid":
            pads.append((0, 0))
        elif extent is None:
            pads.append(None)
        else:
            pad = extent - 1 if border == "full" else extent // 2
            pads.append((pad, pad))
    return tuple(pads)


def output_lengths(op_name, spatial, kernel, border, stride, dilation):
    """Output length per spatial axis: ``(length + before + after - extent) // stride + 1``.

    ShapeError when a known kernel does not fit even once in its known padded input."""
    lengths = []
    pads = paddings(border, kernel, dilation)
    for axis, (length, extent, pad, step) in enumerate(
            zip(spatial, dilated(kernel, dilation), pads, stride)):
        if length is None or extent is None or pad is None:
            lengths.append(None)
            continue
        padded = length + pad[0] + pad[1]
        if padded < extent:
            raise ShapeError(f"{op_name}: the filters span {extent} along spatial axis {axis} "
                             f"(kernel {kernel[axis]}, dilation {dilation[axis]}) but the "
                             f"input has {length} there ({padded} padded)")
        lengths.append((padded - extent) // step + 1)
    return tuple(lengths)


def _flip(filters, n):
    """``filters`` reversed along its ``n`` trailing (spatial) axes."""
    return filters[(slice(None), slice(None)) + (slice(None, None, -1),) * n]


def _pad(x, pads):
    """``x`` with zeros around its spatial axes (``x`` itself when there are none)."""
    if not any(before or after for before, after in pads):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(pads))


def _windows(padded, kernel, stride, dilation, out):
    """A read-only view ``(batch, channels, *out, *kernel)`` of the windows of ``padded``.

    The last tap of the last window is at ``(out - 1) * stride + (kernel - 1) * dilation``,
    inside the padded length by the definition of ``out``: the view never reaches past it."""
    spatial = padded.strides[2:]
    strides = (padded.strides[:2] + tuple(s * k for s, k in zip(spatial, stride)) +
               tuple(s * d for s, d in zip(spatial, dilation)))
    return as_strided(padded, padded.shape[:2] + tuple(out) + tuple(kernel), strides,
                      writeable=False)


def _columns(windows, channels):
    """The im2col matrix ``(channels * prod(kernel), batch * prod(out))`` of the windows of
    the input channels ``channels`` (a slice): one column per output position.

    Taps before positions: the copy then runs along output rows, which are contiguous in
    the input, and one product covers the whole batch (measured on LeNet's layers: 3-5x
    faster to build than rows of taps, and no transpose of the result)."""
    n = (windows.ndim - 2) // 2
    picked = windows[:, channels]
    taps = picked.transpose((1,) + tuple(range(2 + n, 2 + 2 * n)) + (0,) +
                            tuple(range(2, 2 + n)))
    return taps.reshape(math.prod(taps.shape[:1 + n]), math.prod(taps.shape[1 + n:]))


def _rows(top, outputs):
    """The output channels ``outputs`` (a slice) of ``top`` as a matrix
    ``(channels, batch * prod(out))``: the layout of the column matrix's columns."""
    block = np.swapaxes(top[:, outputs], 0, 1)
    return block.reshape(block.shape[0], math.prod(block.shape[1:]))


def _matrix(filters):
    """Filters ``(out channels, channels, *kernel)`` as ``(out channels, channels *
    prod(kernel))``: the layout of the column matrix's columns."""
    return filters.reshape(filters.shape[0], math.prod(filters.shape[1:]))


def _group_slices(groups, inputs, outputs):
    """``(input channels, output channels)`` slices of each group."""
    return [(slice(g * inputs, (g + 1) * inputs), slice(g * outputs, (g + 1) * outputs))
            for g in range(groups)]


# ---- the ops -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ConvFamily(Op):
    """What the three convolution ops share: the geometry and its checks.

    Attributes
    ----------
    border : str or tuple
        'valid', 'full', 'half', or one ``(before, after)`` pair of ints per spatial axis.
    subsample : tuple of int
        The stride per spatial axis (its length is the number of spatial axes).
    filter_flip : bool
        True: convolution (filters flipped); False: cross-correlation.
    dilation : tuple of int
        The spacing of the filter taps per spatial axis.
    num_groups : int
        Input and output channels are split into this many groups convolved separately.
    """

    border: object
    subsample: tuple
    filter_flip: bool
    dilation: tuple
    num_groups: int

    @property
    def label(self):
        """'conv2d' for two spatial axes: the name messages use."""
        return f"conv{len(self.subsample)}d"

    def describe(self):
        kind = "conv" if self.filter_flip else "corr"
        return (f"{self.name}[{kind}, border={self.border}, subsample={self.subsample}, "
                f"dilation={self.dilation}, groups={self.num_groups}]")

    def _float_dtype(self, in_types, names):
        for position, (ttype, name) in enumerate(zip(in_types, names)):
            if ttype.dtype not in dtypes.FLOATS:
                raise DTypeError(f"{self.label}: input {position} ({name}) has dtype "
                                 f"{ttype.dtype}; expected float32 or float64")
        return dtypes.upcast(*[t.dtype for t in in_types])

    def _check_rank(self, in_types, names):
        rank = len(self.subsample) + 2
        for position, (ttype, name) in enumerate(zip(in_types, names)):
            if ttype.ndim != rank:
                raise ShapeError(f"{self.label}: input {position} ({name}) has rank "
                                 f"{ttype.ndim} (shape {_dims(ttype.shape)}); expected {rank}")

    def _check_channels(self, channels, per_group, filters_shape, outputs=None):
        """ShapeError unless ``channels`` (the input's) is ``per_group * num_groups`` and
        the output channels split into the groups; unknown lengths pass."""
        groups = self.num_groups
        if channels is not None and per_group is not None and channels != per_group * groups:
            raise ShapeError(f"{self.label}: the input has {channels} channels; the filters "
                             f"{_dims(filters_shape)} expect {per_group} per group x "
                             f"{groups} group{'s' if groups > 1 else ''} = "
                             f"{per_group * groups}")
        outputs = filters_shape[0] if outputs is None else outputs
        if outputs is not None and outputs % groups:
            raise ShapeError(f"{self.label}: {outputs} output channels do not split into "
                             f"{groups} groups")

    def _fit(self, spatial, kernel, top_spatial=None):
        """Output lengths for ``spatial`` and ``kernel``; with ``top_spatial`` (a gradient's
        output-gradient lengths), a ShapeError unless they are those lengths."""
        out = output_lengths(self.label, spatial, kernel, self.border, self.subsample,
                             self.dilation)
        if top_spatial is not None and any(
                a is not None and b is not None and a != b for a, b in zip(out, top_spatial)):
            raise ShapeError(f"{self.label}: the output gradient has spatial shape "
                             f"{_dims(top_spatial)}; an input {_dims(spatial)} and filters "
                             f"{_dims(kernel)} give {_dims(out)}")
        return out

    def _runtime_pads(self, kernel):
        return paddings(self.border, kernel, self.dilation)


@host_op
@dataclass(frozen=True)
class Conv(_ConvFamily):
    """The convolution of input 0 ``(batch, channels, *spatial)`` with the filters, input 1
    ``(out channels, channels / num_groups, *kernel)``.

    ``input_hint`` / ``filter_hint`` are Theano's ``input_shape`` / ``filter_shape``: a
    length per axis or None; known entries add to the static shapes and are checked when
    the op runs."""

    input_hint: tuple = None
    filter_hint: tuple = None

    name = "conv"

    def _hinted(self, position, ttype, hint):
        if hint is None:
            return ttype.shape
        if len(hint) != ttype.ndim:
            raise ShapeError(f"{self.label}: the {('input', 'filter')[position]}_shape hint "
                             f"{_dims(hint)} has {len(hint)} entries; expected {ttype.ndim}")
        shape = []
        for axis, (known, hinted) in enumerate(zip(ttype.shape, hint)):
            if known is not None and hinted is not None and known != hinted:
                raise ShapeError(f"{self.label}: input {position} has static shape "
                                 f"{_dims(ttype.shape)}; the hint says {_dims(hint)}")
            shape.append(hinted if known is None else known)
        return tuple(shape)

    def infer_type(self, x_type, w_type):
        names = ("input", "filters")
        dtype = self._float_dtype((x_type, w_type), names)
        self._check_rank((x_type, w_type), names)
        x_shape = self._hinted(0, x_type, self.input_hint)
        w_shape = self._hinted(1, w_type, self.filter_hint)
        self._check_channels(x_shape[1], w_shape[1], w_shape)
        out = self._fit(x_shape[2:], w_shape[2:])
        return TensorType(dtype, (x_shape[0], w_shape[0]) + out)

    def _check_hints(self, x, w):
        for position, (array, hint) in enumerate(((x, self.input_hint), (w, self.filter_hint))):
            if hint is not None and any(h is not None and h != n
                                        for h, n in zip(hint, array.shape)):
                raise ShapeError(f"{self.label}: input {position} has shape {array.shape}; "
                                 f"the {('input', 'filter')[position]}_shape hint says "
                                 f"{_dims(hint)}")

    def impl(self, x, w):
        dtype = np.result_type(x, w)
        x, w = np.asarray(x, dtype), np.asarray(w, dtype)
        self._check_hints(x, w)
        self._check_channels(x.shape[1], w.shape[1], w.shape)
        n, kernel = len(self.subsample), w.shape[2:]
        out = self._fit(x.shape[2:], kernel)
        if self.filter_flip:
            w = _flip(w, n)
        windows = _windows(_pad(x, self._runtime_pads(kernel)), kernel, self.subsample,
                           self.dilation, out)
        batch, outputs = x.shape[0], w.shape[0]
        result = np.empty((batch, outputs) + out, dtype)
        for inputs, outs in _group_slices(self.num_groups, w.shape[1],
                                          outputs // self.num_groups):
            product = _matrix(w[outs]) @ _columns(windows, inputs)
            result[:, outs] = np.swapaxes(product.reshape((product.shape[0], batch) + out), 0, 1)
        return result

    def multiply_adds(self, x, w):
        """Multiply-adds of one call (for profiles)."""
        out = self._fit(x.shape[2:], w.shape[2:])
        return x.shape[0] * math.prod(out) * math.prod(w.shape[1:]) * w.shape[0]

    def vjp(self, node, grad):
        """Input: ``ConvGradInputs(grad, filters)``; filters: ``ConvGradWeights(input,
        grad)``, both with this op's geometry."""
        from .. import build
        x, w = node.inputs
        geometry = _geometry(self)
        gx = _make_sized(ConvGradInputs, geometry, (grad, w), _spatial(x))
        gw = _make_sized(ConvGradWeights, geometry, (x, grad), _spatial(w))
        return build.cast(gx, x.type.dtype), build.cast(gw, w.type.dtype)


@host_op
@dataclass(frozen=True)
class ConvGradInputs(_ConvFamily):
    """The gradient of a convolution with respect to its input: input 0 is the gradient of
    the output ``(batch, out channels, *out)``, input 1 the filters; then one 0-d int input
    per None entry of ``spatial``, the input's spatial lengths (given: with a stride, several
    input lengths give the same output length)."""

    spatial: tuple = ()

    name = "conv_grad_inputs"

    def infer_type(self, top_type, w_type, *length_types):
        _check_parameters(self.name, self.spatial, length_types)
        names = ("output gradient", "filters")
        dtype = self._float_dtype((top_type, w_type), names)
        self._check_rank((top_type, w_type), names)
        self._check_channels(None, w_type.shape[1], w_type.shape, top_type.shape[1])
        if top_type.shape[1] is not None and w_type.shape[0] is not None and \
                top_type.shape[1] != w_type.shape[0]:
            raise ShapeError(f"{self.label}: the output gradient has {top_type.shape[1]} "
                             f"channels; the filters {_dims(w_type.shape)} have "
                             f"{w_type.shape[0]}")
        self._fit(self.spatial, w_type.shape[2:], top_type.shape[2:])
        per_group = w_type.shape[1]
        channels = None if per_group is None else per_group * self.num_groups
        return TensorType(dtype, (top_type.shape[0], channels) + self.spatial)

    def impl(self, top, w, *lengths):
        dtype = np.result_type(top, w)
        top, w = np.asarray(top, dtype), np.asarray(w, dtype)
        spatial = _merge(self.spatial, lengths, _int)
        n, kernel = len(spatial), w.shape[2:]
        if top.shape[1] != w.shape[0]:
            raise ShapeError(f"{self.label}: the output gradient has shape {top.shape}; the "
                             f"filters {w.shape} have {w.shape[0]} output channels")
        self._check_channels(None, w.shape[1], w.shape)
        out = self._fit(spatial, kernel, top.shape[2:])
        pads = self._runtime_pads(kernel)
        if self.filter_flip:
            w = _flip(w, n)
        batch, per_group = top.shape[0], w.shape[1]
        # channels last, (*padded, batch, channels): what a tap adds is then a block whose
        # rows of batch x channels are contiguous (with the columns of im2col the rows were
        # runs of one output row: 12.1 -> 5.0 ms for LeNet's second layer)
        padded = np.zeros(tuple(s + a + b for s, (a, b) in zip(spatial, pads)) +
                          (batch, per_group * self.num_groups), dtype)
        if 0 not in out:
            for inputs, outs in _group_slices(self.num_groups, per_group,
                                              w.shape[0] // self.num_groups):
                self._add_taps(padded[..., inputs], top[:, outs], w[outs], out)
        crop = tuple(slice(before, before + s) for (before, _), s in zip(pads, spatial))
        return np.ascontiguousarray(np.moveaxis(padded[crop], (n, n + 1), (0, 1)))

    def _add_taps(self, target, top, w, out):
        """Add, for every filter tap, the output gradient times that tap's filter weights
        at the input positions the tap reads: ``target`` ``(*padded, batch, channels)``,
        ``top`` ``(batch, out channels, *out)``, ``w`` ``(out channels, channels,
        *kernel)``; one product per tap."""
        n = len(out)
        rows = np.ascontiguousarray(top.transpose(tuple(range(2, 2 + n)) + (0, 1)))
        rows = rows.reshape(math.prod(rows.shape[:-1]), rows.shape[-1])
        for tap in np.ndindex(*w.shape[2:]):
            region = tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                           for k, d, s, o in zip(tap, self.dilation, self.subsample, out))
            block = rows @ w[(slice(None), slice(None)) + tap]
            target[region] += block.reshape(out + target.shape[-2:])

    def vjp(self, node, grad):
        """Output gradient: ``Conv(grad, filters)``; filters: ``ConvGradWeights(grad,
        output gradient)`` (this op is the adjoint of the convolution)."""
        from .. import build
        top, w = node.inputs[:2]
        geometry = _geometry(self)
        gtop = Node.make(Conv(*geometry), (grad, w))
        gw = _make_sized(ConvGradWeights, geometry, (grad, top), _spatial(w))
        none = (None,) * (len(node.inputs) - 2)
        return (build.cast(gtop, top.type.dtype), build.cast(gw, w.type.dtype)) + none


@host_op
@dataclass(frozen=True)
class ConvGradWeights(_ConvFamily):
    """The gradient of a convolution with respect to its filters: input 0 is the input
    ``(batch, channels, *spatial)``, input 1 the gradient of the output; then one 0-d int
    input per None entry of ``spatial``, the kernel's lengths."""

    spatial: tuple = ()

    name = "conv_grad_weights"

    def infer_type(self, x_type, top_type, *length_types):
        _check_parameters(self.name, self.spatial, length_types)
        names = ("input", "output gradient")
        dtype = self._float_dtype((x_type, top_type), names)
        self._check_rank((x_type, top_type), names)
        self._check_channels(None, None, (top_type.shape[1],))
        self._fit(x_type.shape[2:], self.spatial, top_type.shape[2:])
        channels = x_type.shape[1]
        if channels is not None and channels % self.num_groups:
            raise ShapeError(f"{self.label}: {channels} input channels do not split into "
                             f"{self.num_groups} groups")
        per_group = None if channels is None else channels // self.num_groups
        return TensorType(dtype, (top_type.shape[1], per_group) + self.spatial)

    def impl(self, x, top, *lengths):
        dtype = np.result_type(x, top)
        x, top = np.asarray(x, dtype), np.asarray(top, dtype)
        kernel = _merge(self.spatial, lengths, _int)
        channels, outputs = x.shape[1], top.shape[1]
        if channels % self.num_groups or outputs % self.num_groups:
            raise ShapeError(f"{self.label}: {channels} input and {outputs} output channels "
                             f"do not split into {self.num_groups} groups")
        if x.shape[0] != top.shape[0]:
            raise ShapeError(f"{self.label}: the input has batch {x.shape[0]}; the output "
                             f"gradient {top.shape} has {top.shape[0]}")
        out = self._fit(x.shape[2:], kernel, top.shape[2:])
        windows = _windows(_pad(x, self._runtime_pads(kernel)), kernel, self.subsample,
                           self.dilation, out)
        per_group = channels // self.num_groups
        result = np.empty((outputs, per_group) + kernel, dtype)
        for inputs, outs in _group_slices(self.num_groups, per_group,
                                          outputs // self.num_groups):
            product = _rows(top, outs) @ _columns(windows, inputs).T
            result[outs] = product.reshape(result[outs].shape)
        return _flip(result, len(kernel)) if self.filter_flip else result

    def vjp(self, node, grad):
        """Input: ``ConvGradInputs(output gradient, grad)``; output gradient:
        ``Conv(input, grad)``."""
        from .. import build
        x, top = node.inputs[:2]
        geometry = _geometry(self)
        gx = _make_sized(ConvGradInputs, geometry, (top, grad), _spatial(x))
        gtop = Node.make(Conv(*geometry), (x, grad))
        none = (None,) * (len(node.inputs) - 2)
        return (build.cast(gx, x.type.dtype), build.cast(gtop, top.type.dtype)) + none


def _geometry(op):
    """The fields every op of the family shares, in order."""
    return (op.border, op.subsample, op.filter_flip, op.dilation, op.num_groups)


def _spatial(node):
    """The spatial lengths of ``node``: ints where static, else 0-d nodes."""
    from .. import build
    return [build.length(node, axis) for axis in range(2, node.type.ndim)]


def _make_sized(op_class, geometry, tensors, lengths):
    """``op_class`` applied to ``tensors`` with spatial ``lengths`` (ints and 0-d nodes)."""
    from .. import build
    static = tuple(None if isinstance(length, Node) else length for length in lengths)
    symbolic = tuple(build.cast(length, "int64") for length in lengths
                     if isinstance(length, Node))
    return Node.make(op_class(*geometry, spatial=static), tuple(tensors) + symbolic)
