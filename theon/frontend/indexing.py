"""numpy-style indexing of Variables (``x[...]``) and Theano's functional updates
``set_subtensor`` and ``inc_subtensor``.

``x[index]`` builds a ``Subtensor`` node (ints, slices, newaxis and Ellipsis: a view) or an
``AdvancedSubtensor`` node (index arrays or masks: a copy).  The index's structure is the
op's attribute; its symbolic parts (``lscalar`` ints, slice bounds such as
``i * bs:(i + 1) * bs``, index vectors, masks) and its constant arrays are the node's inputs
after ``x``.
"""
import numpy as np

from .. import ir
from ..config import config
from ..ir import dtypes
from ..ir.ops.indexing import SYMBOLIC, AdvancedSubtensor, IncSubtensor, Subtensor
from .variable import ShapeVariable, Variable, constant, user_trace

_INTEGERS = (int, np.integer)


def _describe(item):
    """A short description of an index item for error messages."""
    if isinstance(item, Variable):
        return f"a {item.dtype} tensor of rank {item.ndim} ({item!r})"
    return f"{type(item).__name__} {item!r}"


def _slice_part(part, position, inputs):
    """A slice bound or step as an entry part: an int, None, or SYMBOLIC with the bound's
    node appended to ``inputs``."""
    if part is None:
        return None
    if isinstance(part, (bool, np.bool_)):
        raise TypeError(f"index {position}: slice bounds must be integers; got {part!r}")
    if isinstance(part, _INTEGERS):
        return int(part)
    if isinstance(part, np.ndarray) and part.ndim == 0 and part.dtype.kind in "iu":
        return int(part)
    if isinstance(part, Variable):
        if part.ndim == 0 and part.dtype in dtypes.INTS:
            inputs.append(part.node)
            return SYMBOLIC
    raise TypeError(f"index {position}: slice bounds must be integers or integer scalar "
                    f"tensors; got {_describe(part)}")


def _array_entry(value, position, inputs):
    """The entry for an index array or mask given as a list or ndarray (a constant input)."""
    array = np.asarray(value)
    if array.size == 0 and array.dtype.kind == "f":
        array = array.astype(np.int64)  # x[[]] selects nothing, as in numpy
    if array.dtype.kind == "b":
        if array.ndim == 0:
            raise TypeError(f"index {position}: a bool scalar is not a valid index; use "
                            f"None (numpy.newaxis) to add a dimension")
        inputs.append(constant(array).node)
        return ("mask",)
    if array.dtype.kind not in "iu":
        raise TypeError(f"index {position}: only integers, slices (':'), ellipsis ('...'), "
                        f"numpy.newaxis (None) and integer or boolean arrays are valid "
                        f"indices; got an array of dtype {array.dtype}")
    if array.ndim == 0:
        return ("int", int(array))
    inputs.append(constant(array.astype(np.int64, copy=False)).node)
    return ("array",)


def _variable_entry(item, position, inputs):
    """The entry for a symbolic index: an int scalar, an index array or a mask."""
    if item.dtype == dtypes.BOOL:
        if item.ndim == 0:
            raise TypeError(f"index {position}: a bool scalar tensor is not a valid index")
        inputs.append(item.node)
        return ("mask",)
    if item.dtype not in dtypes.INTS:
        raise TypeError(f"index {position}: only integer or boolean tensors are valid "
                        f"indices; got {_describe(item)}")
    inputs.append(item.node)
    return ("int", SYMBOLIC) if item.ndim == 0 else ("array",)


def parse_index(index):
    """``index`` (what Python passes to ``__getitem__``) as the op's entry tuple and the
    list of nodes its symbolic parts and arrays are read from.

    Parameters
    ----------
    index : int, slice, None, Ellipsis, Variable, array_like or a tuple of them

    Returns
    -------
    entries : tuple
        The ``index`` attribute of the indexing op (see ``theon.ir.ops.indexing``).
    inputs : list of Node

    Raises
    ------
    TypeError
        An item that is not a valid index (a float, a bool scalar, a string).
    """
    if not isinstance(index, tuple):
        index = (index,)
    entries, inputs = [], []
    for position, item in enumerate(index):
        if item is None:
            entries.append(("newaxis",))
        elif item is Ellipsis:
            entries.append(("ellipsis",))
        elif isinstance(item, slice):
            parts = (item.start, item.stop, item.step)
            entries.append(("slice",) + tuple(_slice_part(p, position, inputs)
                                              for p in parts))
        elif isinstance(item, (bool, np.bool_)):
            raise TypeError(f"index {position}: a bool is not a valid index; use None "
                            f"(numpy.newaxis) to add a dimension")
        elif isinstance(item, _INTEGERS):
            entries.append(("int", int(item)))
        elif isinstance(item, Variable):
            entries.append(_variable_entry(item, position, inputs))
        elif isinstance(item, (list, np.ndarray)):
            entries.append(_array_entry(item, position, inputs))
        else:
            raise TypeError(f"index {position}: only integers, slices (':'), ellipsis "
                            f"('...'), numpy.newaxis (None) and integer or boolean arrays "
                            f"are valid indices; got {_describe(item)}")
    return tuple(entries), inputs


def getitem(x, index):
    """``x[index]``, with numpy's semantics.

    Basic indexing (ints, including negative ones; slices, including negative steps;
    ``None``/``numpy.newaxis``; ``...``) gives a view of ``x``; any part may be a symbolic
    integer scalar, as in Theano's minibatch idiom ``x[i * bs:(i + 1) * bs]``.  Advanced
    indexing (integer index arrays or tensors, repeats allowed, boolean masks) gives a copy;
    a mask selects a number of elements known only at run time.

    Parameters
    ----------
    x : Variable
    index : int, slice, None, Ellipsis, Variable, array_like or a tuple of them

    Returns
    -------
    Variable

    Raises
    ------
    TypeError
        When built: a float index, a bool scalar, or another type that is not an index.
    IndexError
        When built: too many indices, two ellipses, an int out of range of a static
        length.  When called: an int or index array out of range, e.g. ``index 7 is out
        of bounds for axis 0 with size 5``, or a mask whose shape does not match.

    Examples
    --------
    >>> x, i = T.matrix('x'), T.lscalar('i')
    >>> batch = x[i * 20:(i + 1) * 20]
    >>> picked = x[T.arange(x.shape[0]), T.ivector('y')]
    >>> positive = x[x > 0]
    """
    entries, inputs = parse_index(index)
    advanced = any(entry[0] in ("array", "mask") for entry in entries)
    op = (AdvancedSubtensor if advanced else Subtensor)(entries)
    node = ir.Node.make(op, (x.node, *inputs), trace=user_trace())
    if ("mask",) in entries and not _reads_inputs(node):
        # constant folding cannot give a constant the static shape (None) of a masked
        # selection, so a selection computed from constants only is computed here
        value = ir.evaluate(ir.Graph((), (node,)), [])[0]
        return constant(value, dtype=node.type.dtype)
    return Variable(node)


def _reads_inputs(node):
    """Whether ``node`` depends on an ``ir.Input`` (a value known only at call time)."""
    stack, seen = [node], {node}
    while stack:
        current = stack.pop()
        if isinstance(current.op, ir.Input):
            return True
        for child in current.inputs:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False


def _update(name, x, y, mode):
    """The node updating the indexed expression ``x`` with ``y`` in ``mode``."""
    node = x.node if isinstance(x, Variable) else None
    if node is None or not isinstance(node.op, (Subtensor, AdvancedSubtensor)):
        raise TypeError(f"{name}: the first argument must be an indexed tensor such as "
                        f"x[i] or x[idx, :]; got {_describe(x)}")
    source, *index_inputs = node.inputs
    if not isinstance(y, Variable):
        dtype = None
        if isinstance(y, (bool, int, float, np.bool_, np.integer, np.floating)) and \
                not isinstance(y, np.ndarray):
            dtype = dtypes.weak_scalar_dtype(y, source.type.dtype, config.floatX)
        y = constant(y, dtype=dtype)
    op = IncSubtensor(node.op.index, mode)
    return Variable(ir.Node.make(op, (source, y.node, *index_inputs), trace=user_trace()))


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """A copy of the tensor ``x`` indexes with ``x[idx]`` replaced by ``y``.

    Theano's API: the first argument is the indexed expression, ``x[idx]``; the result has
    the shape of the whole tensor.  Nothing is modified in place.

    Parameters
    ----------
    x : Variable
        An indexing expression ``t[idx]`` (basic or advanced).
    y : Variable or array_like
        The new values, broadcast to the shape of ``t[idx]``; its dtype must fit ``t``'s
        (Python scalars take ``t``'s dtype).
    inplace, tolerate_inplace_aliasing : bool
        Accepted for Theano compatibility; the update is always functional.

    Returns
    -------
    Variable
        ``t`` with ``t[idx] = y`` applied.  With repeated indices the last value wins.

    Raises
    ------
    TypeError
        ``x`` is not an indexing expression.
    DTypeError, ShapeError
        When built: ``y``'s dtype does not fit, or its static shape does not broadcast.

    Examples
    --------
    >>> z = T.set_subtensor(x[:, 0], 0.0)    # x with its first column zeroed
    """
    return _update("set_subtensor", x, y, "set")


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False,
                  tolerate_inplace_aliasing=False, ignore_duplicates=False):
    """A copy of the tensor ``x`` indexes with ``y`` added to ``x[idx]``.

    Theano's API: the first argument is the indexed expression, ``x[idx]``.  Repeated
    indices accumulate (``numpy.add.at``): ``inc_subtensor(v[[0, 0]], 1)`` adds 2 to
    ``v[0]``.

    Parameters
    ----------
    x : Variable
        An indexing expression ``t[idx]`` (basic or advanced).
    y : Variable or array_like
        The increments, broadcast to the shape of ``t[idx]``; its dtype must fit ``t``'s.
    set_instead_of_inc : bool
        Replace instead of add (``set_subtensor``).
    inplace, tolerate_inplace_aliasing, ignore_duplicates : bool
        Accepted for Theano compatibility; the update is always functional and always
        accumulates repeated indices.

    Returns
    -------
    Variable
        ``t`` with ``t[idx] += y`` applied.

    Raises
    ------
    TypeError
        ``x`` is not an indexing expression.
    DTypeError, ShapeError
        When built: ``y``'s dtype does not fit, or its static shape does not broadcast.

    Examples
    --------
    >>> counts = T.inc_subtensor(T.zeros_like(v)[labels], 1)
    """
    if set_instead_of_inc:
        return _update("set_subtensor", x, y, "set")
    return _update("inc_subtensor", x, y, "inc")


def _setitem(self, index, value):
    raise TypeError("symbolic variables are immutable: use x = T.set_subtensor(x[index], "
                    "value) or T.inc_subtensor(x[index], value)")


_shape_getitem = ShapeVariable.__getitem__


def _shape_variable_getitem(self, index):
    """``x.shape[i]`` for an int axis (a length); any other index indexes the vector."""
    if isinstance(index, _INTEGERS) and not isinstance(index, (bool, np.bool_)):
        return _shape_getitem(self, index)
    return getitem(self, index)


Variable.__getitem__ = getitem
Variable.__setitem__ = _setitem
ShapeVariable.__getitem__ = _shape_variable_getitem
