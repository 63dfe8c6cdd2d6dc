"""Symbolic variables: what users hold and combine with Python operators.

A :class:`Variable` wraps an ``ir.Node``.  Nodes are hash-consed, so building the same
expression twice gives variables over one node; the variable adds what belongs to the
user: a name.  Equality and hashing stay by identity, as in Theano (use ``T.eq`` for the
elementwise comparison), so variables can be dictionary keys.
"""
import functools
import sys
import warnings
import weakref

import numpy as np

from .. import ir
from ..config import config
from ..ir import dtypes

_PACKAGE = __name__.rsplit(".", 2)[0]

# Callbacks ``hook(variable)`` run on every new Variable while this list is not empty: test
# values (config.compute_test_value) and eager execution (config.execution) put theirs here
# only while their flag is on, so building a graph with both off costs one global read.
BUILD_HOOKS = []

# The nodes of the input variables users made (TensorType.__call__, so T.matrix() and
# friends), unlike the placeholders theon makes inside scan steps and gradients: only the
# former are reported as lacking a test value.
USER_INPUTS = weakref.WeakSet()


def _user_frame():
    """The innermost frame outside theon, seen from the caller of this function's caller
    ``C``, and its ``stacklevel`` for a ``warnings.warn`` called in ``C``."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE + "."):
        frame, level = frame.f_back, level + 1
    return frame, level


def user_trace():
    """'file:line' of the innermost caller outside theon, for error messages."""
    frame, _ = _user_frame()
    if frame is None:
        return None
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def warn_user(message, category=UserWarning):
    """``warnings.warn(message, category)`` attributed to the user's line: the first frame
    outside theon, however deep inside theon the warning is raised."""
    _, level = _user_frame()
    warnings.warn(message, category, stacklevel=level)


class TensorType:
    """Theano's tensor type: a dtype and a broadcastable pattern.  Calling it makes a new
    input variable of this type.

    Parameters
    ----------
    dtype : str
        'float32', 'int64', ..., or 'floatX' for ``theon.config.floatX``.
    broadcastable : sequence of bool
        True where the dimension has length 1 and broadcasts.
    shape : sequence of int or None, optional
        Static shape instead of ``broadcastable`` (None: known only at run time).

    Examples
    --------
    >>> row_type = TensorType('float32', (True, False))
    >>> x = row_type('x')
    """

    def __init__(self, dtype, broadcastable=None, shape=None, name=None):
        dtype = config.floatX if dtype == "floatX" else dtypes.canonical(dtype)
        if shape is None:
            if broadcastable is None:
                raise TypeError("TensorType: give broadcastable or shape")
            shape = tuple(1 if b else None for b in broadcastable)
        self.ir_type = ir.TensorType(dtype, tuple(shape))
        self.name = name

    @classmethod
    def from_ir(cls, ir_type):
        """The TensorType describing an ``ir.TensorType``."""
        result = cls.__new__(cls)
        result.ir_type = ir_type
        result.name = None
        return result

    dtype = property(lambda self: self.ir_type.dtype, doc="The element dtype.")
    ndim = property(lambda self: self.ir_type.ndim, doc="The number of dimensions.")
    broadcastable = property(lambda self: self.ir_type.broadcastable,
                             doc="Theano's pattern: True where a dimension broadcasts.")
    shape = property(lambda self: self.ir_type.shape,
                     doc="Static shape: ints where known, None elsewhere.")

    def __call__(self, name=None):
        """A new input variable of this type."""
        node = ir.Node.make(ir.Input.new(self.ir_type, name), trace=user_trace())
        USER_INPUTS.add(node)
        return Variable(node, name)

    def __eq__(self, other):
        return isinstance(other, TensorType) and self.ir_type == other.ir_type

    def __hash__(self):
        return hash(self.ir_type)

    def __repr__(self):
        return f"TensorType({self.dtype}, shape={self.shape})"

    __str__ = __repr__


class Variable:
    """A symbolic tensor.  Build with the constructors in ``theon.tensor`` or by combining
    variables; compile with ``theon.function``."""

    __slots__ = ("node", "name", "_tag", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our operators: ndarray + Variable

    def __init__(self, node, name=None):
        self.node = node
        self.name = name
        self._tag = None  # made on first use: most variables never have their tag read
        if BUILD_HOOKS:
            for hook in BUILD_HOOKS:
                hook(self)

    @property
    def tag(self):
        """Free-form annotations (Theano's ``var.tag``); ``tag.test_value`` is this
        variable's test value (see ``theon.config.compute_test_value``)."""
        try:
            tag = self._tag
        except AttributeError:  # a variable made by __new__ (copying, unpickling)
            tag = None
        if tag is None:
            tag = self._tag = _Tag(self.node)
        return tag

    @tag.setter
    def tag(self, tag):
        if isinstance(tag, _Tag) and tag._node is None:
            tag._bind(self.node)
        self._tag = tag

    @property
    def type(self):
        """The variable's TensorType."""
        return TensorType.from_ir(self.node.type)

    dtype = property(lambda self: self.node.type.dtype, doc="The element dtype.")
    ndim = property(lambda self: self.node.type.ndim, doc="The number of dimensions.")
    broadcastable = property(lambda self: self.node.type.broadcastable,
                             doc="Theano's pattern: True where a dimension broadcasts.")

    @property
    def shape(self):
        """The run-time shape: a symbolic int64 vector; ``x.shape[i]`` is a scalar."""
        return ShapeVariable(self)

    @property
    def owner(self):
        """The op that computes this variable, or None for an input or constant."""
        return None if not self.node.inputs else self.node.op

    def __repr__(self):
        return self.name or f"<{self.node.op.describe()} {self.node.type}>"

    __str__ = __repr__

    def __bool__(self):
        raise TypeError("a symbolic variable has no truth value; use T.switch or T.eq")

    def __len__(self):
        raise TypeError("a symbolic variable has no len(); use x.shape[0]")

    def __iter__(self):
        raise TypeError("a symbolic variable is not iterable")

    def astype(self, dtype):
        """This variable cast to ``dtype``."""
        from .elementwise import cast
        return cast(self, dtype)

    def eval(self, inputs_to_values=None):
        """Compile and run this variable (Theano's ``x.eval({x: value})``); the eager arrays
        it reads (``theon.eager.array``) are inputs bound to their values."""
        from .eager import bind_eager_inputs
        from .function import function
        inputs_to_values = bind_eager_inputs(self, inputs_to_values or {})
        inputs = list(inputs_to_values)
        return function(inputs, self, on_unused_input="ignore")(
            *[inputs_to_values[i] for i in inputs])

    def __reduce__(self):
        """Pickle as a graph document of this variable's node (``theon.frontend.persist``):
        variables pickled together keep sharing their inputs and shared variables."""
        from .persist import reduce_variable
        return reduce_variable(self)

    def __copy__(self):
        """Another variable object over the same node (``copy.copy``)."""
        from .persist import copy_variable
        return copy_variable(self)


class _Tag:
    """Free-form annotations (Theano's ``var.tag``).

    ``tag.test_value`` is special (``theon.frontend.test_value``): assigning it checks the
    value against the variable's type, and reading it gives the value computed from the
    test values of the inputs.  It belongs to the variable's node (variables over one node
    have one test value), not to the tag object.
    """

    __slots__ = ("_node", "_pending", "__dict__")

    def __init__(self, node=None):
        self._node = node
        self._pending = None

    def _bind(self, node):
        """Make this the tag of ``node``'s variables, giving it the test value an unpickled
        tag carried."""
        self._node = node
        pending, self._pending = self._pending, None
        if pending is not None:
            self.test_value = pending[0]

    def _owner(self):
        if self._node is None:
            raise AttributeError("this tag belongs to no variable, so it has no test value")
        return self._node

    @property
    def test_value(self):
        from . import test_value
        return test_value.read(self._owner())

    @test_value.setter
    def test_value(self, value):
        from . import test_value
        test_value.assign(self._owner(), value)

    @test_value.deleter
    def test_value(self):
        from . import test_value
        test_value.forget(self._owner())

    def __getstate__(self):
        from . import test_value
        state = dict(vars(self))
        assigned = None if self._node is None else test_value.assigned(self._node)
        if assigned is not None:
            state["test_value"] = assigned
        return state

    def __setstate__(self, state):
        state = dict(state)
        self._node = None
        self._pending = (state.pop("test_value"),) if "test_value" in state else None
        vars(self).update(state)

    def __repr__(self):
        return f"tag({vars(self)})"


class ShapeVariable(Variable):
    """``x.shape``: an int64 vector variable that also indexes to scalar lengths."""

    __slots__ = ("source",)

    def __init__(self, source):
        super().__init__(ir.Node.make(ir.Shape(), (source.node,)))
        self.source = source

    def __getitem__(self, axis):
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"x.shape[...] takes an int axis here; got {type(axis).__name__}")
        ndim = self.source.ndim
        if not -ndim <= axis < ndim:
            raise IndexError(f"x.shape[{axis}]: axis out of range for a tensor of rank {ndim}")
        return Variable(ir.Node.make(ir.Shape(int(axis) % ndim), (self.source.node,)))

    def __len__(self):
        return self.source.ndim


def constant(value, name=None, ndim=None, dtype=None):
    """A constant tensor holding ``value``.

    Parameters
    ----------
    value : array_like
    name : str, optional
    ndim : int, optional
        Left-pad with broadcastable dimensions up to this rank.
    dtype : str, optional
        Defaults to the value's own dtype; Python floats take ``floatX``, Python ints the
        smallest int dtype holding them (Theano's autocasting).
    """
    if isinstance(value, Variable):
        raise TypeError(f"constant: {value!r} is already a symbolic variable")
    if dtype is None:
        dtype = _natural_dtype(value)
    if dtype == "floatX":
        dtype = config.floatX
    if ndim is None and type(value) in (int, float, bool):
        # repr keeps 1, 1.0 and True apart, and -0.0 from 0.0 (equal as dictionary keys)
        return Variable(_scalar_constant(repr(value), dtype), name)
    array = np.asarray(value, dtype=dtype)
    if ndim is not None:
        if array.ndim > ndim:
            raise ValueError(f"constant: value of rank {array.ndim} does not fit ndim={ndim}")
        array = array.reshape((1,) * (ndim - array.ndim) + array.shape)
    dtypes.canonical(array.dtype)
    return Variable(ir.Node.make(ir.Constant(array), trace=user_trace()), name)


@functools.lru_cache(maxsize=1024)
def _scalar_constant(text, dtype):
    """The node of the Python scalar written ``text`` (its repr): graphs repeat the same few
    scalars (0.5, 1, 2) thousands of times, and building a Constant hashes its bytes."""
    value = {"True": True, "False": False}.get(text)
    if value is None:
        value = float(text) if any(c in text for c in ".eEna") else int(text)
    return ir.Node.make(ir.Constant(np.asarray(value, dtype=dtype)))


def _natural_dtype(value):
    """Theano's autocasting: arrays keep their dtype, Python floats take floatX, Python ints
    the smallest int dtype that holds them."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.name
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return dtypes.smallest_int(value)
    if isinstance(value, float):
        return config.floatX
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return config.floatX
    if array.dtype.kind == "i" and array.size:
        return dtypes.upcast(dtypes.smallest_int(int(array.min())),
                             dtypes.smallest_int(int(array.max())))
    return array.dtype.name


def as_tensor_variable(value, name=None, ndim=None):
    """``value`` as a Variable: variables pass through, anything else becomes a constant.

    Parameters
    ----------
    value : Variable or array_like
    name : str, optional
    ndim : int, optional
        Required rank; a constant is left-padded with broadcastable dimensions.
    """
    if isinstance(value, Variable):
        if ndim is not None and value.ndim != ndim:
            raise TypeError(f"as_tensor_variable: {value!r} has rank {value.ndim}; "
                            f"expected {ndim}")
        return value
    return constant(value, name=name, ndim=ndim)
