"""Shared variables: symbolic tensors whose value lives with the variable (Theano's
``theano.shared``).

A shared variable is a graph input like ``T.matrix()``: its node is an ``ir.Input`` leaf,
made once per variable, so graphs using it hash and cache like any graph.  What differs is
who supplies the value: ``theon.function`` passes the current value of every shared
variable its outputs and updates reach at each call, so ``set_value`` takes effect on the
next call without recompiling, and updates write new values back after the call.

The leaf's op holds the variable, so a graph keeps the shared variables it uses alive (as
Theano's graphs do) even when the user dropped the Python object.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import ir
from ..ir import DTypeError, dtypes
from ..runtime.arguments import coerce
from .variable import Variable, user_trace


@dataclass(frozen=True)
class SharedInput(ir.Input):
    """The leaf of a shared variable: an ``ir.Input`` that also holds the variable (outside
    its identity, which stays the input's unique id)."""

    variable: object = field(default=None, compare=False, repr=False)

    def describe(self):
        return f"shared {self.label}" if self.label else "shared"


class SharedVariable(Variable):
    """A symbolic tensor with a value of its own (Theano's ``TensorSharedVariable``).

    Use it in expressions like any variable; ``theon.function`` reads its current value at
    every call and ``updates`` write new values into it.  Make one with ``theon.shared``.

    Attributes
    ----------
    name : str or None
    default_update : Variable or None
        An update ``theon.function`` applies whenever a compiled function uses this
        variable and the caller gave no update of its own for it (Theano's
        ``default_update``); ``no_default_updates`` turns it off.
    """

    __slots__ = ("_value", "default_update", "_strict", "_allow_downcast", "_exposed",
                 "_version")

    def __init__(self, value, ir_type, name=None, strict=False, allow_downcast=None,
                 exposed=False):
        op = SharedInput.new(ir_type, name)
        object.__setattr__(op, "variable", self)
        node = ir.Node.make(op, trace=user_trace())
        # Node.make registered the leaf in the hash-consing table, whose key (holding the op,
        # hence this variable) would keep it alive forever; a leaf with a fresh uid is never
        # looked up again, so the entry is dropped and the variable lives as long as its node
        ir.Node._table.pop((op, ()), None)
        super().__init__(node, name)
        self._value = value
        self._version = 0  # counts changes of the value, in place too (for values.py)
        self.default_update = None
        self._strict = strict
        self._allow_downcast = allow_downcast
        # whether code outside theon may hold the array (borrow=True): only then can an
        # explicit argument of a function alias it, which calls check before updating in place
        self._exposed = exposed

    def get_value(self, borrow=False, return_internal_type=False):
        """The current value.

        Parameters
        ----------
        borrow : bool
            False (default): a copy.  True: the array the variable holds, which compiled
            functions may overwrite in place when they update this variable.
        return_internal_type : bool
            Accepted for Theano compatibility (the internal type is an ndarray).

        Returns
        -------
        numpy.ndarray
        """
        if borrow:
            self._exposed = True
            return self._value
        return self._value.copy()

    def set_value(self, value, borrow=False):
        """Replace the value.  The shape may change; the rank and dtype may not.

        Parameters
        ----------
        value : array_like
            Converted to the variable's dtype when nothing is lost (or, for Python floats,
            into a float dtype; anything with ``allow_downcast=True`` given to
            ``theon.shared``).
        borrow : bool
            False (default): the variable keeps a copy.  True: it keeps ``value`` itself
            when no conversion is needed, and compiled functions may update it in place.

        Raises
        ------
        TypeError
            A value of another rank, a dtype that would lose precision, or a length other
            than 1 along a broadcastable dimension (DTypeError for dtypes).
        """
        array = filter_value(value, self.node.type, self._strict, self._allow_downcast,
                             self._describe("set_value"))
        if array is value and not borrow:
            array = np.array(array, order="C", copy=True)
        self._value = array
        self._exposed = array is value
        self._version += 1

    def _describe(self, where):
        return f"{where}: shared variable '{self.name or 'unnamed'}' ({self.node.type})"

    def _store_update(self, value):
        """Install ``value`` (a fresh array nothing else holds, already of this variable's
        dtype) as the new value: written into the existing array when the shape is the
        same, so the array's address stays stable across calls."""
        old = self._value
        self._version += 1
        if value is old:
            return  # the kernel computing it wrote into this variable's array
        if value.shape == old.shape and old.flags.writeable:
            np.copyto(old, value, casting="no")
        else:
            self._value = value
            self._exposed = False

    def __reduce__(self):
        """Pickle the value, type, name and flags, and the ``default_update``; the shared
        variables pickled in one stream stay one object each (``theon.frontend.persist``)."""
        from .persist import reduce_shared
        return reduce_shared(self)

    def __repr__(self):
        return self.name or f"<shared {self.node.type}>"

    __str__ = __repr__


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False,
           broadcastable=None):
    """A shared variable holding ``value`` (Theano's ``theano.shared``).

    Parameters
    ----------
    value : array_like
        An ndarray keeps its dtype; a numpy scalar gives a 0-d variable of its dtype; a
        Python int gives int64, a Python float float64 (Theano: ``shared(0.0)`` is float64
        whatever ``floatX`` is; pass ``np.float32(0)`` for float32).
    name : str, optional
    strict : bool
        ``set_value`` then accepts only ndarrays of exactly this dtype.
    allow_downcast : bool or None
        How ``set_value`` converts values: True converts any dtype; None (default) and
        False only conversions that lose nothing (None also Python floats to any float).
    borrow : bool
        False (default): the variable holds a copy of ``value``.  True: it holds ``value``
        itself when it is an ndarray, and compiled functions may update it in place.
    broadcastable : sequence of bool, optional
        The broadcast pattern; default all False (any length, Theano's default).  A True
        dimension must have length 1.

    Returns
    -------
    SharedVariable

    Raises
    ------
    TypeError
        ``value`` is symbolic, of a dtype theon does not support, or does not fit
        ``broadcastable``.

    Examples
    --------
    >>> W = theon.shared(np.zeros((3, 2)), name='W')
    >>> W.set_value(np.ones((4, 2)))   # new shape, same rank and dtype
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared: value {value!r} is a symbolic variable; shared variables "
                        "hold numeric values (use its value, or givens to substitute it)")
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (bool, int, float, np.generic)):
        array = np.asarray(value)
    else:
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float64)  # Python floats: float64 as for scalars
    if array.dtype.name not in dtypes.ALL:
        raise DTypeError(f"shared: a value of dtype {array.dtype} is not supported; expected "
                         f"one of {', '.join(dtypes.ALL)}")
    dtype = array.dtype.name
    if broadcastable is None:
        broadcastable = (False,) * array.ndim
    broadcastable = tuple(bool(b) for b in broadcastable)
    if len(broadcastable) != array.ndim:
        raise TypeError(f"shared: broadcastable={broadcastable} has {len(broadcastable)} "
                        f"entries; the value has rank {array.ndim} (shape {array.shape})")
    for axis, (flag, length) in enumerate(zip(broadcastable, array.shape)):
        if flag and length != 1:
            raise TypeError(f"shared: dimension {axis} is declared broadcastable but the "
                            f"value has length {length} there (shape {array.shape})")
    if not (borrow and array is value and array.dtype.isnative):
        array = np.array(array, dtype=array.dtype.newbyteorder("="), order="C", copy=True)
    ir_type = ir.TensorType.from_broadcastable(dtype, broadcastable)
    return SharedVariable(array, ir_type, name, strict, allow_downcast,
                          exposed=array is value)


def filter_value(value, ttype, strict, allow_downcast, description):
    """``value`` as an ndarray of ``ttype``'s dtype and rank, or TypeError naming
    ``description`` (Theano's ``TensorType.filter``).

    Parameters
    ----------
    value : array_like
    ttype : ir.TensorType
    strict : bool
        Only ndarrays of exactly this dtype.
    allow_downcast : bool or None
        True: any conversion numpy can do.  None: conversions that lose nothing, and Python
        floats into any float dtype.  False: conversions that lose nothing.
    description : str
        Names the target in messages, e.g. "set_value: shared variable 'W' (float32[?])".

    Returns
    -------
    numpy.ndarray
        ``value`` itself when it already fits, else a new array.
    """
    dtype = np.dtype(ttype.dtype)
    if isinstance(value, Variable):
        raise TypeError(f"{description} got the symbolic variable {value!r}; expected a "
                        "numeric value")
    if strict and not (isinstance(value, np.ndarray) and value.dtype == dtype):
        given = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise DTypeError(f"{description} got {given}; expected an ndarray of dtype "
                         f"{dtype.name} (the variable is strict)")
    array = coerce(value, dtype, ttype.ndim, description, allow_downcast, noun="a value",
                   advice=f"convert the value with .astype('{dtype.name}') first, or pass "
                          "allow_downcast=True to theon.shared",
                   exact_python_values=True)
    for axis, length in enumerate(ttype.shape):
        if length is not None and array.shape[axis] != length:
            raise TypeError(f"{description} got a value of shape {array.shape}; expected "
                            f"length {length} at axis {axis} (a broadcastable dimension)")
    return array


def shared_type_matches(variable, ttype):
    """Whether an expression of ``ttype`` may become ``variable``'s value: Theano compares
    the dtype and the broadcast pattern (static lengths other than 1 do not count)."""
    own = variable.node.type
    return ttype.dtype == own.dtype and ttype.broadcastable == own.broadcastable

