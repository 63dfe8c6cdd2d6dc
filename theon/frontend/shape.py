"""Shape operations of ``theon.tensor`` and the matching Variable methods.

reshape, dimshuffle, join, split, alloc and arange apply the ops of ``ir/ops/shape_ops.py``
(tile, repeat, sort, cumsum, ... are in ``array_functions.py``); the rest are
composites of those and of the elementwise ops (flatten is a reshape, transpose and
shape_padleft are dimshuffles, stack is a join of padded tensors, eye and tril are
comparisons of aranges), so they fuse.

Shape-like arguments take Python ints, 0-d integer Variables such as ``x.shape[0]``, or a
whole ``x.shape``; entries known while building the graph give the result a static shape.
"""
import numpy as np

from .. import ir
from ..config import config
from ..ir import dtypes
from ..ir.errors import DTypeError
from ..ir.ops.shape_ops import ARange, Alloc, DimShuffle, Join, Rebroadcast, Reshape, SplitPart
from .elementwise import FUNCTIONS as ELEMENTWISE, cast
from .variable import ShapeVariable, Variable, as_tensor_variable, constant, user_trace

_INTEGERS = (bool, int, np.integer, np.bool_)


def _make(op, nodes):
    """The Variable of ``op`` applied to ``nodes``, traced to the user's line."""
    return Variable(ir.Node.make(op, nodes, trace=user_trace()))


def _known_value(node):
    """The value of a 0-d node when it is known while building the graph (a constant, the
    static length read by ``x.shape[i]``, or an expression of constants); else None."""
    if isinstance(node.op, ir.Constant):
        return node.op.value.item()
    if isinstance(node.op, ir.Shape) and node.op.axis is not None:
        return node.inputs[0].type.shape[node.op.axis]
    value = _evaluate_constant(node)
    return None if value is None else value.item()


def _evaluate_constant(node):
    """The value of ``node`` when its graph is small and has no inputs; else None."""
    order = ir.toposort([node])
    if len(order) > 64 or any(isinstance(n.op, ir.Input) for n in order):
        return None
    values = {}
    for current in order:
        values[current] = current.op.impl(*[values[i] for i in current.inputs])
    return np.asarray(values[node])


def _parameter(value, what, allow_float=False):
    """``(known value, None)`` or ``(None, node)`` for one scalar parameter."""
    allowed = dtypes.INTEGRAL + (dtypes.FLOATS if allow_float else ())
    if isinstance(value, Variable):
        if value.ndim != 0:
            raise TypeError(f"{what}: expected a scalar; got {value!r} of rank {value.ndim}")
        if value.dtype not in allowed:
            raise DTypeError(f"{what}: got {value!r} of dtype {value.dtype}; expected an "
                             f"{'integer or float' if allow_float else 'integer'} scalar")
        known = _known_value(value.node)
        return (None, value.node) if known is None else (known, None)
    if isinstance(value, _INTEGERS):
        return int(value), None
    if allow_float and isinstance(value, (float, np.floating)):
        return float(value), None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _parameter(value.item(), what, allow_float)
    raise TypeError(f"{what}: got {type(value).__name__} {value!r}; expected an int "
                    "or a scalar integer Variable")


def _parameters(values, what):
    """``(static tuple, symbolic nodes)`` for a sequence of scalar parameters."""
    static, nodes = [], []
    for value in values:
        known, node = _parameter(value, what)
        static.append(known)
        if node is not None:
            nodes.append(node)
    return tuple(static), nodes


def _shape_entries(shape, what, ndim=None):
    """A shape argument (int, sequence, ``x.shape`` or an integer vector) as a list of
    scalars (ints or 0-d Variables); ``ndim`` gives the length of a symbolic vector whose
    static length is unknown."""
    if isinstance(shape, Variable):
        node = shape.node
        if node.type.ndim == 0:
            return [shape]
        if isinstance(node.op, ir.Shape) and node.op.axis is None:
            source = node.inputs[0]
            return [Variable(ir.Node.make(ir.Shape(axis), (source,)))
                    for axis in range(source.type.ndim)]
        value = _evaluate_constant(node) if node.type.ndim == 1 else None
        if value is not None:
            return [int(length) for length in value]
        length = node.type.shape[0] if node.type.ndim == 1 else None
        length = ndim if length is None else length
        if length is not None and hasattr(Variable, "__getitem__"):
            # an integer vector computed at run time: one entry per element (needs indexing)
            return [shape[index] for index in range(length)]
        raise TypeError(f"{what}: cannot read the entries of the shape vector {shape!r}; "
                        "give a tuple of scalars such as (x.shape[0], -1), or ndim")
    if isinstance(shape, (_INTEGERS, np.ndarray)) and np.ndim(shape) == 0:
        return [shape]
    return list(shape)


def _scalar_constant(value, dtype):
    return constant(np.asarray(value, dtype=dtype))


# ---- reshape and flatten ------------------------------------------------------------------

def reshape(x, shape, ndim=None):
    """``x`` with a new shape of the same size (a view when ``x`` is contiguous).

    Parameters
    ----------
    x : Variable or array_like
    shape : int, sequence, or ``y.shape``
        The new shape; entries may be ints, -1 (inferred, at most once) or integer scalar
        Variables such as ``x.shape[0]``.
    ndim : int, optional
        The length of ``shape``, checked when given (Theano needs it for symbolic shapes).

    Returns
    -------
    Variable

    Raises
    ------
    ShapeError
        When the static sizes differ (at build time).
    ValueError
        When the run-time sizes differ: the message names both shapes.

    Examples
    --------
    >>> y = x.reshape((x.shape[0], -1))
    """
    x = as_tensor_variable(x)
    entries = _shape_entries(shape, "reshape", ndim)
    if ndim is not None and ndim != len(entries):
        raise ValueError(f"reshape: ndim={ndim} but the shape has {len(entries)} entries")
    static, nodes = _parameters(entries, "reshape")
    if static == x.node.type.shape and None not in static:
        return x
    return _make(Reshape(static), (x.node, *nodes))


def flatten(x, ndim=1, outdim=None):
    """``x`` reshaped to ``ndim`` dimensions: the leading ``ndim - 1`` are kept and the rest
    are collapsed into the last one.

    Parameters
    ----------
    x : Variable
    ndim : int, default 1
    outdim : int, optional
        Theano's older name for ``ndim``.

    Returns
    -------
    Variable
    """
    x = as_tensor_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim={ndim} for a tensor of rank {x.ndim}; expected "
                         f"1 <= ndim <= {max(x.ndim, 1)}")
    if ndim == 1:
        return reshape(x, (-1,))
    # the product of the trailing lengths rather than -1, which numpy refuses for empty
    # tensors (reshape((0, -1)) is ambiguous; flatten is not)
    last = 1
    for axis in range(ndim - 1, x.ndim):
        length = x.node.type.shape[axis]
        last = last * (x.shape[axis] if length is None else length)
    return reshape(x, [x.shape[axis] for axis in range(ndim - 1)] + [last])


# ---- dimshuffle and its composites --------------------------------------------------------

def dimshuffle(x, *pattern):
    """Theano's dimshuffle: reorder the dimensions of ``x``, insert broadcastable ones with
    'x', and drop broadcastable ones by leaving them out.  A view, not a copy.

    Parameters
    ----------
    x : Variable
    *pattern : int or 'x'
        Or one list/tuple of them.

    Raises
    ------
    ShapeError
        When a dimension left out is not broadcastable (static length 1).

    Examples
    --------
    >>> x.dimshuffle(1, 0)      # transpose of a matrix
    >>> v.dimshuffle('x', 0)    # a vector as a row
    """
    x = as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = tuple(pattern[0])
    pattern = tuple(entry if entry == "x" else _axis(entry, x.ndim, "dimshuffle")
                    for entry in pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return _make(DimShuffle(pattern), (x.node,))


def _axis(axis, ndim, what):
    """``axis`` as a non-negative int below ``ndim``."""
    if not isinstance(axis, _INTEGERS) or isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"{what}: axis {axis!r} is not an int")
    if not -ndim <= axis < ndim:
        raise ir.ShapeError(f"{what}: axis {axis} is out of range for a tensor of rank {ndim}")
    return int(axis) % ndim


def transpose(x, axes=None):
    """``x`` with its dimensions permuted (reversed when ``axes`` is None); a view.

    Parameters
    ----------
    x : Variable
    axes : sequence of int, optional
    """
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(axes)
    if sorted(_axis(a, x.ndim, "transpose") for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} "
                         "dimensions")
    return dimshuffle(x, *axes)


def shape_padleft(x, n_ones=1):
    """``x`` with ``n_ones`` broadcastable dimensions added on the left."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *(["x"] * n_ones + list(range(x.ndim))))


def shape_padright(x, n_ones=1):
    """``x`` with ``n_ones`` broadcastable dimensions added on the right."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *(list(range(x.ndim)) + ["x"] * n_ones))


def shape_padaxis(x, axis):
    """``x`` with a broadcastable dimension inserted at ``axis`` (numpy's expand_dims).

    Parameters
    ----------
    x : Variable
    axis : int
        Position of the new dimension in the result; negative counts from the end.
    """
    x = as_tensor_variable(x)
    axis = _axis(axis, x.ndim + 1, "shape_padaxis")
    pattern = list(range(x.ndim))
    pattern.insert(axis, "x")
    return dimshuffle(x, *pattern)


def squeeze(x):
    """``x`` without its broadcastable dimensions (those of static length 1)."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *[axis for axis, b in enumerate(x.broadcastable) if not b])


def _rebroadcast(x, pattern, function):
    """``x`` with ``pattern`` ((axis, broadcastable) pairs) applied; ``x`` itself when
    nothing changes."""
    x = as_tensor_variable(x)
    changes = []
    for axis, broadcastable in pattern:
        axis = _axis(axis, x.ndim, function)
        if x.broadcastable[axis] != broadcastable:
            changes.append((axis, bool(broadcastable)))
    return _make(Rebroadcast(tuple(changes)), (x.node,)) if changes else x


def addbroadcast(x, *axes):
    """``x`` with ``axes`` declared broadcastable (length 1), so that they broadcast against
    other tensors and can be dropped by ``dimshuffle``; calling with a length other than 1
    there raises ShapeError."""
    return _rebroadcast(x, [(axis, True) for axis in axes], "addbroadcast")


def unbroadcast(x, *axes):
    """``x`` with ``axes`` no longer broadcastable (their length known only at run time)."""
    return _rebroadcast(x, [(axis, False) for axis in axes], "unbroadcast")


def patternbroadcast(x, broadcastable):
    """``x`` with the broadcastable pattern ``broadcastable`` (one bool per dimension)."""
    x = as_tensor_variable(x)
    if len(broadcastable) != x.ndim:
        raise ValueError(f"patternbroadcast: the pattern {tuple(broadcastable)} has "
                         f"{len(broadcastable)} entries; the tensor has rank {x.ndim}")
    return _rebroadcast(x, list(enumerate(broadcastable)), "patternbroadcast")


# ---- join, stack, split -------------------------------------------------------------------

def join(axis, *tensors):
    """The tensors concatenated along ``axis`` (Theano's argument order).

    Parameters
    ----------
    axis : int
    *tensors : Variable or array_like
        Of one rank; their lengths must agree except along ``axis``.

    Raises
    ------
    ShapeError
        When static lengths disagree (at build time).
    ValueError
        When run-time lengths disagree: the message names both shapes.
    """
    if not tensors:
        raise ValueError("join: expected at least one tensor")
    tensors = [as_tensor_variable(t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    axis = _axis(axis, tensors[0].ndim, "join")
    return _make(Join(axis), [t.node for t in tensors])


def concatenate(tensor_list, axis=0):
    """The tensors of ``tensor_list`` joined along ``axis`` (see :func:`join`)."""
    return join(axis, *tensor_list)


def stack(*tensors, axis=0):
    """The tensors (of one shape) stacked along a new dimension ``axis``.

    Parameters
    ----------
    *tensors : Variable or array_like
        Or one list of them, as in ``stack([a, b], axis=1)``.
    axis : int, default 0
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("stack: expected at least one tensor")
    tensors = [as_tensor_variable(t) for t in tensors]
    axis = _axis(axis, tensors[0].ndim + 1, "stack")
    return join(axis, *[shape_padaxis(t, axis) for t in tensors])


def split(x, splits_size, n_splits, axis=0):
    """``x`` cut along ``axis`` into ``n_splits`` consecutive pieces (views).

    Parameters
    ----------
    x : Variable
    splits_size : sequence of int, or an integer vector Variable
        The pieces' lengths; they must sum to the length of ``axis``.
    n_splits : int
    axis : int, default 0

    Returns
    -------
    list of Variable
    """
    x = as_tensor_variable(x)
    axis = _axis(axis, x.ndim, "split")
    sizes_node = ()
    if isinstance(splits_size, Variable):
        sizes = None
        sizes_node = (splits_size.node,)
    else:
        sizes = tuple(int(n) for n in splits_size)
    return [_make(SplitPart(axis, index, int(n_splits), sizes), (x.node, *sizes_node))
            for index in range(int(n_splits))]


# ---- allocation ---------------------------------------------------------------------------

def alloc(value, *shape):
    """A new tensor of ``shape`` filled with ``value`` (broadcast to it).

    Parameters
    ----------
    value : Variable or array_like
        Its dtype is the result's.
    *shape : int or integer scalar Variable
    """
    value = as_tensor_variable(value)
    if len(shape) == 1 and (isinstance(shape[0], (list, tuple)) or
                            isinstance(shape[0], Variable) and shape[0].ndim == 1):
        shape = _shape_entries(shape[0], "alloc")
    static, nodes = _parameters(shape, "alloc")
    return _make(Alloc(static), (value.node, *nodes))


def _filled(fill_value, shape, dtype):
    dtype = config.floatX if dtype in (None, "floatX") else dtypes.canonical(dtype)
    return alloc(_scalar_constant(fill_value, dtype), *_shape_entries(shape, "alloc"))


def zeros(shape, dtype=None):
    """A tensor of ``shape`` (ints or integer scalar Variables) filled with 0; dtype floatX
    by default."""
    return _filled(0, shape, dtype)


def ones(shape, dtype=None):
    """A tensor of ``shape`` filled with 1; dtype floatX by default."""
    return _filled(1, shape, dtype)


def zeros_like(x, dtype=None):
    """A tensor of zeros with the shape of ``x`` and its dtype (or ``dtype``)."""
    x = as_tensor_variable(x)
    return _filled(0, x.shape, dtype or x.dtype)


def ones_like(x, dtype=None):
    """A tensor of ones with the shape of ``x`` and its dtype (or ``dtype``)."""
    x = as_tensor_variable(x)
    return _filled(1, x.shape, dtype or x.dtype)


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in ``[start, stop)``, as numpy's arange; bounds may be scalar
    Variables (``arange(x.shape[0])``).

    Parameters
    ----------
    start, stop, step : int, float or scalar Variable
        With ``stop`` None the range is ``[0, start)``.
    dtype : str, optional
        Default int64 when every bound is an integer, else floatX (float64 if a bound is a
        float64 Variable).
    """
    if stop is None:
        start, stop = 0, start
    bounds = (start, stop, step)
    if dtype is None:
        dtype = _arange_dtype(bounds)
    dtype = config.floatX if dtype == "floatX" else dtypes.canonical(dtype)
    static, nodes = [], []
    for bound in bounds:
        known, node = _parameter(bound, "arange", allow_float=True)
        static.append(known)
        if node is not None:
            nodes.append(node)
    return _make(ARange(tuple(static), dtype), nodes)


def _arange_dtype(bounds):
    """int64 for integer bounds, else the floats' upcast with Python floats as floatX."""
    floats = []
    for bound in bounds:
        if isinstance(bound, Variable) and bound.dtype in dtypes.FLOATS:
            floats.append(bound.dtype)
        elif isinstance(bound, (float, np.floating)):
            floats.append(config.floatX)
    return dtypes.upcast(*floats) if floats else "int64"


def eye(n, m=None, k=0, dtype=None):
    """A 2-d tensor with ones on the ``k``-th diagonal and zeros elsewhere.

    Parameters
    ----------
    n : int or integer scalar Variable
        Number of rows.
    m : int or integer scalar Variable, optional
        Number of columns (default ``n``).
    k : int, default 0
        Diagonal offset: positive above the main diagonal.
    dtype : str, optional
        Default floatX.
    """
    dtype = config.floatX if dtype in (None, "floatX") else dtypes.canonical(dtype)
    m = n if m is None else m
    rows = shape_padright(arange(n))
    columns = shape_padleft(arange(m))
    return cast(ELEMENTWISE["eq"](rows + k, columns), dtype)


def identity_like(x):
    """The identity matrix with the shape and dtype of the matrix ``x``."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"identity_like: expected a matrix; got rank {x.ndim}")
    return eye(x.shape[0], x.shape[1], dtype=x.dtype)


def _triangle(x, k, keep_lower):
    x = as_tensor_variable(x)
    if x.ndim < 2:
        raise TypeError(f"{'tril' if keep_lower else 'triu'}: expected at least a matrix; "
                        f"got rank {x.ndim}")
    rows = shape_padright(arange(x.shape[-2])) + k
    columns = shape_padleft(arange(x.shape[-1]))
    mask = ELEMENTWISE["ge" if keep_lower else "le"](rows, columns)
    return ELEMENTWISE["switch"](mask, x, _scalar_constant(0, x.dtype))


def tril(x, k=0):
    """``x`` with the elements above the ``k``-th diagonal set to zero (last two axes)."""
    return _triangle(x, k, keep_lower=True)


def triu(x, k=0):
    """``x`` with the elements below the ``k``-th diagonal set to zero (last two axes)."""
    return _triangle(x, k, keep_lower=False)


# ---- Variable methods ---------------------------------------------------------------------

def _transpose_method(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
        axes = tuple(axes[0])
    return transpose(self, axes or None)


# Theano iterates over a shape vector of known length: T.alloc(0, *x.shape)
ShapeVariable.__iter__ = lambda self: (self[axis] for axis in range(len(self)))
Variable.reshape = reshape
Variable.flatten = flatten
Variable.ravel = lambda self: flatten(self, 1)
Variable.dimshuffle = dimshuffle
Variable.transpose = _transpose_method
Variable.T = property(lambda self: transpose(self), doc="The transpose (dimensions reversed).")
Variable.squeeze = squeeze

FUNCTIONS = {function.__name__: function for function in (
    reshape, flatten, dimshuffle, transpose, shape_padleft, shape_padright, shape_padaxis,
    squeeze, addbroadcast, unbroadcast, patternbroadcast, join, concatenate, stack, split,
    alloc, zeros, ones, zeros_like, ones_like, arange, eye, identity_like, tril, triu)}
