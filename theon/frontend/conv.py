"""Convolutions with Theano 1.0's signatures: ``conv2d``, ``conv3d``, their gradients
``conv2d_grad_wrt_inputs`` / ``conv2d_grad_wrt_weights`` (and 3-D), ``causal_conv1d``, and
``conv1d`` for temporal convolution over sequences of any length.

One op family (``theon.ir.ops.conv``) serves every spatial rank; these functions check and
normalise the arguments, so a mistake is reported with the argument's name when the graph
is built.  Lengths not fixed by the graph (the batch, a sequence's length) stay free: one
compiled function serves every length.
"""
import numbers

from ..ir.ops.conv import BORDER_MODES, Conv, ConvGradInputs, ConvGradWeights, output_lengths
from .shape import _make, _parameter, _parameters, _shape_entries
from .variable import Variable, as_tensor_variable, warn_user


def _positive_ints(value, n, function, argument):
    """``value`` (an int, or a sequence of ``n`` ints) as a tuple of ``n`` ints >= 1."""
    items = (value,) * n if isinstance(value, numbers.Integral) else tuple(value)
    if len(items) != n or not all(isinstance(v, numbers.Integral) and v >= 1 for v in items):
        raise ValueError(f"{function}: {argument} must be {n} positive int"
                         f"{'s' if n > 1 else ''}; got {value!r}")
    return tuple(int(v) for v in items)


def _border(mode, n, function):
    """Theano's ``border_mode`` as the op's: 'valid'/'full'/'half', or a ``(before, after)``
    pair per spatial axis from an int, or a tuple of ints and pairs."""
    if isinstance(mode, str):
        if mode not in BORDER_MODES:
            raise ValueError(f"{function}: border_mode {mode!r} is not one of 'valid', 'full', "
                             f"'half', an int or a tuple of {n}")
        return mode
    items = (mode,) * n if isinstance(mode, numbers.Integral) else mode
    if not isinstance(items, (tuple, list)) or len(items) != n:
        raise ValueError(f"{function}: border_mode {mode!r} is not one of 'valid', 'full', "
                         f"'half', an int or a tuple of {n}")
    pads = []
    for item in items:
        pair = (item, item) if isinstance(item, numbers.Integral) else tuple(item)
        if len(pair) != 2 or not all(isinstance(p, numbers.Integral) and p >= 0 for p in pair):
            raise ValueError(f"{function}: border_mode {mode!r}: each entry must be an int "
                             f">= 0 or a pair of them (padding before, after)")
        pads.append((int(pair[0]), int(pair[1])))
    return tuple(pads)


def _entries(shape, rank, function, argument):
    """A shape argument (a sequence, or a symbolic shape such as ``x.shape``) as a tuple of
    ``rank`` entries: ints, None and 0-d Variables."""
    if isinstance(shape, Variable):
        return tuple(_shape_entries(shape, f"{function}: {argument}", rank))
    return tuple(shape)


def _hint(shape, rank, function, argument):
    """A shape hint as a tuple of ints and None (constants allowed); None stays None."""
    if shape is None:
        return None
    entries = _entries(shape, rank, function, argument)
    if len(entries) != rank:
        raise ValueError(f"{function}: {argument} has {len(entries)} entries; expected "
                         f"{rank}")
    hint = []
    for entry in entries:
        known, node = (None, None) if entry is None else _parameter(entry, function)
        if node is not None:
            known = None  # a symbolic length: as good as unknown for a hint
        if known is not None and known < 0:
            raise ValueError(f"{function}: {argument} {shape!r} has a negative length")
        hint.append(known)
    return tuple(hint)


def _operands(input, filters, rank, function, names=("input", "filters")):
    """Both operands as Variables of rank ``rank`` (ValueError naming the wrong one)."""
    operands = []
    for argument, value in zip(names, (input, filters)):
        variable = as_tensor_variable(value)
        if variable.ndim != rank:
            raise ValueError(f"{function}: {argument} has rank {variable.ndim}; expected "
                             f"{rank}")
        operands.append(variable)
    return operands


def _geometry(n, function, border_mode, subsample, filter_flip, filter_dilation, num_groups,
              unshared=False):
    if unshared:
        raise NotImplementedError(f"{function}: unshared (locally connected) convolution is "
                                  "not supported")
    if not isinstance(num_groups, numbers.Integral) or num_groups < 1:
        raise ValueError(f"{function}: num_groups must be a positive int; got {num_groups!r}")
    return (_border(border_mode, n, function),
            _positive_ints(subsample, n, function, "subsample"), bool(filter_flip),
            _positive_ints(filter_dilation, n, function, "filter_dilation"), int(num_groups))


def _convolve(n, function, input, filters, input_shape, filter_shape, border_mode, subsample,
              filter_flip, filter_dilation, num_groups, unshared=False):
    geometry = _geometry(n, function, border_mode, subsample, filter_flip, filter_dilation,
                         num_groups, unshared)
    x, w = _operands(input, filters, n + 2, function)
    op = Conv(*geometry, input_hint=_hint(input_shape, n + 2, function, "input_shape"),
              filter_hint=_hint(filter_shape, n + 2, function, "filter_shape"))
    return _make(op, (x.node, w.node))


def _lengths(shape, rank, function, argument):
    """The spatial entries of a required shape argument: (static entries with None for
    symbolic ones, the symbolic ones as int64 nodes)."""
    entries = () if shape is None else _entries(shape, rank, function, argument)
    if len(entries) != rank:
        raise ValueError(f"{function}: {argument} must have {rank} entries; got {shape!r}")
    if any(entry is None for entry in entries[2:]):
        raise ValueError(f"{function}: {argument} {shape!r}: the spatial lengths (the "
                         "last entries) are required")
    return _parameters(entries[2:], function)


def _gradient(op_class, n, function, tensors, names, shape, shape_argument, geometry_args):
    geometry = _geometry(n, function, *geometry_args)
    a, b = _operands(*tensors, n + 2, function, names)
    static, symbolic = _lengths(shape, n + 2, function, shape_argument)
    return _make(op_class(*geometry, spatial=static), (a.node, b.node) + tuple(symbolic))


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1),
           num_groups=1, unshared=False, **kwargs):
    """Convolve a mini-batch of 2-D feature-map stacks with a set of 2-D filters.

    Parameters
    ----------
    input : Variable
        4-D, ``(batch, input channels, rows, columns)``.
    filters : Variable
        4-D, ``(output channels, input channels / num_groups, filter rows, filter columns)``.
    input_shape, filter_shape : tuple of 4 (int or None), optional
        What is known of the shapes; known entries fix the output's static shape and are
        checked at run time (ValueError if the arrays differ).
    border_mode : 'valid', 'full', 'half', int, or tuple of 2
        'valid': only where the filter lies wholly inside the input (``rows - filter rows
        + 1`` output rows); 'full': wherever they overlap at all (``rows + filter rows -
        1``); 'half': zero padding of ``filter rows // 2`` (same size for odd filters); an
        int or ``(int, int)``: that much zero padding on both sides; a pair instead of an
        int pads asymmetrically, ``(before, after)``.
    subsample : tuple of 2 ints
        The stride.
    filter_flip : bool
        True (default): a true convolution, the filters flipped; False: cross-correlation.
    image_shape : tuple, optional
        Deprecated alias of ``input_shape``.
    filter_dilation : tuple of 2 ints
        The spacing of the filter taps (dilated / atrous convolution).
    num_groups : int
        Input and output channels are split into this many groups convolved separately.
    unshared : bool
        Locally connected convolution: not supported (NotImplementedError).

    Returns
    -------
    Variable
        ``(batch, output channels, output rows, output columns)`` with output rows
        ``(rows + pad before + pad after - ((filter rows - 1) * dilation + 1)) // stride +
        1``.  Differentiable with respect to both operands (gradients of any order).
    """
    if "imshp_logical" in kwargs or "kshp_logical" in kwargs:
        raise ValueError("conv2d: imshp_logical and kshp_logical are not supported "
                         "(Theano 1.0 dropped them too)")
    if kwargs:
        warn_user(f"conv2d: keyword arguments {sorted(kwargs)} are ignored")
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: give input_shape or its deprecated alias image_shape, "
                             "not both")
        warn_user("conv2d: image_shape is deprecated; use input_shape")
        input_shape = image_shape
    return _convolve(2, "conv2d", input, filters, input_shape, filter_shape, border_mode,
                     subsample, filter_flip, filter_dilation, num_groups, unshared)


def conv3d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1, 1), filter_flip=True, filter_dilation=(1, 1, 1), num_groups=1):
    """Convolve a mini-batch of 3-D feature-map stacks with 3-D filters: as ``conv2d`` with
    a depth axis, ``input`` ``(batch, channels, depth, rows, columns)`` and ``filters``
    ``(output channels, channels / num_groups, depth, rows, columns)``; the tuples have
    three entries."""
    return _convolve(3, "conv3d", input, filters, input_shape, filter_shape, border_mode,
                     subsample, filter_flip, filter_dilation, num_groups)


def conv1d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=1, filter_flip=True, filter_dilation=1, num_groups=1):
    """Temporal convolution: ``input`` ``(batch, channels, time)`` with ``filters``
    ``(output channels, channels / num_groups, width)``, as ``conv2d`` along one axis.

    The sequence length need not be known: one compiled function convolves sequences of any
    length (Theano wrote this as a conv2d over a dummy axis)."""
    return _convolve(1, "conv1d", input, filters, input_shape, filter_shape, border_mode,
                     subsample, filter_flip, filter_dilation, num_groups)


def causal_conv1d(input, filters, filter_shape, input_shape=None, subsample=1,
                  filter_flip=True, filter_dilation=1, num_groups=1, unshared=False):
    """Causal (dilated) temporal convolution (WaveNet): the output at time t sees only
    inputs up to t; ``input`` ``(batch, channels, time)``, ``filters`` ``(output channels,
    channels / num_groups, width)``, the output has the input's length.

    ``filter_shape`` (3 entries) is required, as in Theano: its width sets the left
    padding, ``filter_dilation * (width - 1)``."""
    entries = tuple(filter_shape)
    if len(entries) != 3 or not isinstance(entries[2], numbers.Integral):
        raise ValueError(f"causal_conv1d: filter_shape must have 3 entries, the last an int "
                         f"(the filter width); got {filter_shape!r}")
    dilation = _positive_ints(filter_dilation, 1, "causal_conv1d", "filter_dilation")[0]
    border = ((dilation * (int(entries[2]) - 1), 0),)
    return _convolve(1, "causal_conv1d", input, filters, input_shape, filter_shape, border,
                     subsample, filter_flip, filter_dilation, num_groups, unshared)


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip=True,
                           filter_dilation=(1, 1), num_groups=1, unshared=False):
    """The gradient of ``conv2d`` with respect to its input (the transposed convolution,
    "deconvolution"), given the gradient of its output.

    ``input_shape`` (4 entries; the last two, the input's rows and columns, are required
    ints or scalar variables: with a stride several input sizes give the same output) and
    the other arguments are those of the ``conv2d`` being differentiated.  Returns
    ``(batch, input channels, rows, columns)``."""
    del filter_shape  # a hint only: the filters' own shape is used
    return _gradient(ConvGradInputs, 2, "conv2d_grad_wrt_inputs", (output_grad, filters),
                     ("output_grad", "filters"), input_shape, "input_shape",
                     (border_mode, subsample, filter_flip, filter_dilation, num_groups,
                      unshared))


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,
                            border_mode="valid", subsample=(1, 1), filter_flip=True,
                            filter_dilation=(1, 1), num_groups=1, unshared=False):
    """The gradient of ``conv2d`` with respect to its filters, given its input and the
    gradient of its output.  ``filter_shape`` (4 entries; the last two, the filter's rows
    and columns, are required) and the other arguments are those of the ``conv2d`` being
    differentiated.  Returns ``(output channels, input channels / num_groups, rows,
    columns)``."""
    del input_shape  # a hint only: the input's own shape is used
    return _gradient(ConvGradWeights, 2, "conv2d_grad_wrt_weights", (input, output_grad),
                     ("input", "output_grad"), filter_shape, "filter_shape",
                     (border_mode, subsample, filter_flip, filter_dilation, num_groups,
                      unshared))


def conv3d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                           filter_dilation=(1, 1, 1), num_groups=1):
    """``conv2d_grad_wrt_inputs`` for ``conv3d`` (5-D tensors, 3-entry tuples)."""
    del filter_shape
    return _gradient(ConvGradInputs, 3, "conv3d_grad_wrt_inputs", (output_grad, filters),
                     ("output_grad", "filters"), input_shape, "input_shape",
                     (border_mode, subsample, filter_flip, filter_dilation, num_groups))


def conv3d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,
                            border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                            filter_dilation=(1, 1, 1), num_groups=1):
    """``conv2d_grad_wrt_weights`` for ``conv3d`` (5-D tensors, 3-entry tuples)."""
    del input_shape
    return _gradient(ConvGradWeights, 3, "conv3d_grad_wrt_weights", (input, output_grad),
                     ("input", "output_grad"), filter_shape, "filter_shape",
                     (border_mode, subsample, filter_flip, filter_dilation, num_groups))


def get_conv_output_shape(image_shape, kernel_shape, border_mode, subsample,
                          filter_dilation=None):
    """The output shape of a convolution of an input of ``image_shape`` with filters of
    ``kernel_shape`` (tuples with None for unknown entries), as Theano's function of this
    name: ``(batch, output channels, *output spatial)``, None where unknown."""
    n = len(image_shape) - 2
    function = "get_conv_output_shape"
    dilation = _positive_ints(1 if filter_dilation is None else filter_dilation, n, function,
                              "filter_dilation")
    out = output_lengths(function, tuple(image_shape[2:]), tuple(kernel_shape[-n:]),
                         _border(border_mode, n, function),
                         _positive_ints(subsample, n, function, "subsample"), dilation)
    return (image_shape[0], kernel_shape[0]) + out


def legacy_conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid",
                  subsample=(1, 1), **kwargs):
    """Theano 0.7's ``theano.tensor.nnet.conv.conv2d`` (the deeplearning.net LeNet
    tutorial's): a true 2-D convolution with the old argument order; ``border_mode`` is
    'valid' or 'full'.  Other old keywords are ignored with a warning."""
    if border_mode not in ("valid", "full"):
        raise ValueError(f"conv.conv2d: border_mode {border_mode!r} is not 'valid' or 'full'")
    if kwargs:
        warn_user(f"conv.conv2d: keyword arguments {sorted(kwargs)} are ignored")
    return _convolve(2, "conv.conv2d", input, filters, image_shape, filter_shape,
                     border_mode, subsample, True, (1, 1), 1)
