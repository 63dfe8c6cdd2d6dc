"""Eager execution: operations on concrete arrays run as they are written.

The issue's ``theon.config.mode = "eager"`` is the flag ``theon.config.execution``:
'graph' (the default) builds graphs only; 'eager' also computes, as each variable is built,
the value of every variable whose inputs all have values: eager arrays
(:func:`array`), constants (numbers and numpy arrays passed to ``T.*`` functions become
constants) and shared variables.  (``theon.function(mode=...)`` is how one compiled
function runs; this flag is another thing.)  :func:`mode` turns it on for a ``with``
block::

    with theon.eager.mode():
        x = theon.eager.array(np.arange(3.0), name='x')
        y = T.exp(x) * 2          # computed here
    y                             # eager(array([ 2.  ,  5.43...,  14.77...]))
    f = theon.function([x], y)    # the same graph, compiled as a whole
    f(np.ones(3))

No function has code of its own for this: every new variable is computed by the same
hook (``frontend/values.py``) that computes test values, with the same ops and kernels as
compiled code: each node is compiled alone into a small ``theon.function`` over inputs of
its input types, cached by op and input types (:func:`cache_info`), so the second ``exp``
of a float64 vector costs one call of an already compiled function.  A node is computed
once; a variable depending on a symbolic input (``T.matrix()``) has no value and stays
symbolic.  ``theon.grad`` builds its graph from the same nodes, so gradients of eager
variables are computed too.

An eager variable shows its value: ``repr``, ``v.value``, ``numpy.asarray(v)``,
``float(v)``, ``int(v)``, ``bool(v)`` for a 0-d one, and ``v.eval()``.  Outside eager
execution, variables built from eager arrays are computed when converted (``v.value``,
``float(v)``, ...), not when built, and a graph of constants and shared variables only
stays symbolic as it always was.  A value is that of the expression at the current values
of its leaves: after ``w.set_value(...)``, or a compiled function's update of ``w``, the
variables computed from ``w`` are recomputed when next used.
"""
import collections
import contextlib
import threading

import numpy as np

from .. import ir
from ..config import config
from ..ir import DTypeError, dtypes
from .values import Missing, ValueStore, annotated, busy, install, is_leaf, label
from .variable import Variable, user_trace

CacheInfo = collections.namedtuple("CacheInfo", "hits misses maxsize currsize")

_MAX_FUNCTIONS = 1024


class _FunctionCache:
    """Compiled single-node functions by (op, input types), least recently used first
    out; counts its hits and misses."""

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.functions = collections.OrderedDict()
        self.hits = 0
        self.misses = 0
        self.lock = threading.Lock()

    def get(self, node):
        """The compiled function computing ``node`` from its inputs' values."""
        key = (node.op, tuple(child.type for child in node.inputs))
        try:
            with self.lock:
                function = self.functions.get(key)
                if function is not None:
                    self.functions.move_to_end(key)
                    self.hits += 1
                    return function
        except TypeError:  # an op that cannot be a key: compiled every time
            key = None
        function = _compile(node)
        with self.lock:
            self.misses += 1
            if key is not None:
                self.functions[key] = function
                while len(self.functions) > self.maxsize:
                    self.functions.popitem(last=False)
        return function


_CACHE = _FunctionCache(_MAX_FUNCTIONS)


def _compile(node):
    """``theon.function`` computing ``node``'s op from new inputs of its input types (on
    the CPU: its values are numpy arrays)."""
    from .function import function
    inputs = [Variable(ir.Node.make(ir.Input.new(child.type, f"input {position}")))
              for position, child in enumerate(node.inputs)]
    clone = ir.Node.make(node.op, [variable.node for variable in inputs])
    if isinstance(clone.type, ir.TupleType):
        outputs = [Variable(ir.Node.make(ir.Output(index), (clone,)))
                   for index in range(len(clone.type.types))]
    else:
        outputs = Variable(clone)
    return function(inputs, outputs, target="cpu", on_unused_input="ignore",
                    name=f"eager {node.op.describe()}")


def _run(node, values):
    """``node``'s value, computed by its compiled single-node function."""
    try:
        result = _CACHE.get(node)(*values)
    except Exception as error:
        raise annotated(error, node, values, "eager value") from error
    return tuple(result) if isinstance(node.type, ir.TupleType) else result


STORE = ValueStore(_run, reassignable=False)


def cache_info():
    """How the compiled single-node functions were found, as ``functools.lru_cache``
    reports it.

    Returns
    -------
    CacheInfo
        ``hits``: values computed by a function compiled before; ``misses``: functions
        compiled (``theon.function`` may still have found one in its own caches);
        ``maxsize``; ``currsize``: functions held.
    """
    with _CACHE.lock:
        return CacheInfo(_CACHE.hits, _CACHE.misses, _CACHE.maxsize, len(_CACHE.functions))


def cache_clear():
    """Drop the compiled single-node functions and reset the counts of :func:`cache_info`."""
    with _CACHE.lock:
        _CACHE.functions.clear()
        _CACHE.hits = 0
        _CACHE.misses = 0


# ---- making eager variables ------------------------------------------------------------------

def array(value, name=None, dtype=None, broadcastable=None):
    """An eager input: a variable over a new graph input, holding a copy of ``value``.

    Operations on it are computed at once in eager execution (:func:`mode`); in a graph
    compiled with ``theon.function`` it is an input like ``T.matrix()``, given in the
    function's inputs and taking new values at each call.

    Parameters
    ----------
    value : array_like
        An ndarray keeps its dtype; Python ints give int64 and floats float64 (numpy's
        rule, as ``theon.shared``).
    name : str, optional
    dtype : str, optional
        Convert to this dtype ('floatX' allowed).
    broadcastable : sequence of bool, optional
        The broadcast pattern; default True exactly where ``value`` has length 1 (the
        rule of constants), so an eager row broadcasts against a matrix.  A compiled
        function taking this variable then accepts only length 1 there.

    Returns
    -------
    Variable

    Raises
    ------
    TypeError
        ``value`` is symbolic, or does not fit ``broadcastable``.
    DTypeError
        A dtype theon does not support.

    Examples
    --------
    >>> x = theon.eager.array([[1.0, 2.0]], name='x')   # float64, shape (1, 2)
    >>> x.broadcastable
    (True, False)
    """
    if isinstance(value, Variable):
        raise TypeError(f"eager.array: {value!r} is a variable already; pass a numeric "
                        "value")
    if dtype == "floatX":
        dtype = config.floatX
    values = np.array(value, dtype=dtype, order="C", copy=True)
    if values.dtype.name not in dtypes.ALL:
        raise DTypeError(f"eager.array: a value of dtype {values.dtype} is not supported; "
                         f"expected one of {', '.join(dtypes.ALL)}")
    if broadcastable is None:
        broadcastable = tuple(length == 1 for length in values.shape)
    broadcastable = tuple(bool(flag) for flag in broadcastable)
    if len(broadcastable) != values.ndim:
        raise TypeError(f"eager.array: broadcastable={broadcastable} has "
                        f"{len(broadcastable)} entries; the value has rank {values.ndim} "
                        f"(shape {values.shape})")
    for axis, (flag, length) in enumerate(zip(broadcastable, values.shape)):
        if flag and length != 1:
            raise TypeError(f"eager.array: dimension {axis} is declared broadcastable but "
                            f"the value has length {length} there (shape {values.shape})")
    ttype = ir.TensorType.from_broadcastable(values.dtype.name, broadcastable)
    node = ir.Node.make(ir.Input.new(ttype, name), trace=user_trace())
    STORE.assign(node, values)
    return Variable(node, name)


@contextlib.contextmanager
def mode():
    """Eager execution inside a ``with`` block: ``theon.config.execution = 'eager'``,
    restored on leaving.

    Examples
    --------
    >>> with theon.eager.mode():
    ...     y = T.tanh(theon.eager.array([0.5, 1.0]))
    >>> y.value
    array([0.46211716, 0.76159416])
    """
    with config.change_flags(execution="eager"):
        yield


def bind_eager_inputs(variable, inputs_to_values):
    """``inputs_to_values`` (of ``Variable.eval``) with every eager array ``variable``
    reads and the caller did not give bound to its value."""
    given = {key.node for key in inputs_to_values if isinstance(key, Variable)}
    bound = {}
    for node in ir.toposort([variable.node]):
        if not isinstance(node.op, ir.Input) or node in given:
            continue
        value = STORE.own(node)
        if value is not None:
            bound[Variable(node, node.op.label)] = value
    if not bound:
        return inputs_to_values
    bound.update(inputs_to_values)
    return bound


# ---- showing values --------------------------------------------------------------------------

def _shown_value(variable, compute=True):
    """The value ``variable`` shows (numpy, float, int, bool, repr), or None for a symbolic
    one.  In eager execution every variable with a value shows it.  Otherwise eager arrays
    and the variables computed from them do (computed now, unless not ``compute``), and
    graphs of constants and shared variables only stay symbolic, as they were before eager
    execution existed."""
    node = variable.node
    if config.execution == "eager":
        value = STORE.value(node) if compute else STORE.known(node)
    elif is_leaf(node):
        value = STORE.own(node)
    else:
        value = STORE.known(node)
        if value is None and compute and _reads_eager_array(node):
            value = STORE.value(node)
    return None if value is None or type(value) is Missing else value


def _reads_eager_array(node):
    """Whether the graph of ``node`` has an eager array among its inputs."""
    return any(isinstance(n.op, ir.Input) and STORE.own(n) is not None
               for n in ir.toposort([node]))


def _value(self):
    """The variable's value, computed now if it was not yet (read-only).

    Raises
    ------
    AttributeError
        It depends on a graph input without a value: a symbolic variable has no value, as
        in Theano only constants have one (``hasattr(v, 'value')`` is False).
    """
    value = STORE.value(self.node)
    if type(value) is Missing:
        names = ", ".join(label(leaf) for leaf in value.leaves)
        raise AttributeError(f"{self} has no value: it depends on the symbolic input(s) "
                         f"{names}; only variables computed from eager arrays "
                         "(theon.eager.array), constants and shared variables have one "
                         "(compile a function, or use .eval(), to give inputs values)")
    return value


def _array(self, dtype=None, copy=None):
    """numpy's ``__array__``: the value (read-only unless copied), or for a symbolic
    variable a 0-d object array holding it, which is what numpy made of one before."""
    value = _shown_value(self)
    if value is None:
        holder = np.empty((), dtype=object)
        holder[()] = self
        return holder
    if dtype is not None and np.dtype(dtype) != value.dtype:
        if copy is False:
            raise ValueError(f"{self}: converting its {value.dtype} value to {dtype} needs "
                             "a copy, and copy=False was asked for")
        return value.astype(dtype)
    return np.array(value, copy=True) if copy else value


def _converter(kind, symbolic_error):
    """A method converting the shown value with ``kind``, or calling ``symbolic_error``."""
    def convert(self):
        value = _shown_value(self)
        if value is None:
            symbolic_error(self)
        return kind(value)
    convert.__name__ = f"__{kind.__name__}__"
    return convert


def _no_truth_value(self):
    """What ``bool()`` of a symbolic variable always raised."""
    raise TypeError("a symbolic variable has no truth value; use T.switch or T.eq")


def _no_number(kind):
    """The error of ``kind()`` (float, int) of a symbolic variable."""
    def fail(self):
        raise TypeError(f"{kind}() of a symbolic variable ({self}): it has no value; "
                        "compile it with theon.function or use .eval()")
    return fail


_symbolic_repr = Variable.__repr__


def _repr(self):
    """An eager variable's value as ``eager(array(...), name=...)``; else as before."""
    try:
        # a repr computes nothing outside eager execution: messages print variables
        value = None if busy() else _shown_value(self, compute=config.execution == "eager")
    except Exception:  # noqa: BLE001 - a repr must not raise; the value's error shows elsewhere
        value = None
    if value is None:
        return _symbolic_repr(self)
    text = repr(np.asarray(value)).replace("\n", "\n      ")  # aligned under "eager("
    return f"eager({text}, name={self.name!r})" if self.name else f"eager({text})"


# Every variable may be eager, so the methods showing a value are Variable's (attached
# here, as elementwise.py attaches the operators); symbolic variables behave as before.
Variable.value = property(_value)
Variable.__array__ = _array
Variable.__bool__ = _converter(bool, _no_truth_value)
Variable.__float__ = _converter(float, _no_number("float"))
Variable.__int__ = _converter(int, _no_number("int"))
Variable.__repr__ = _repr


def _on_new_variable(variable):
    """Compute the new variable's value when its inputs have values."""
    node = variable.node
    if not is_leaf(node) and not busy():
        STORE.value(node)


config.on_change("execution", lambda execution: install(_on_new_variable,
                                                        execution == "eager"))
