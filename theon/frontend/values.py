"""Concrete values that travel with a graph as it is built.

One mechanism serves two features: test values (``theon.config.compute_test_value``,
``frontend/test_value.py``), computed by each op's numpy reference, and eager execution
(``theon.eager``, ``frontend/eager.py``), computed by compiled kernels.  Each keeps a
:class:`ValueStore`: the values given to leaves (a test value, an eager array), and a weak
memo from every node whose value was computed to that value, so a node is computed once
however many variables, frontend functions or later graphs reach it, and its entry goes
when the node does.

Leaves that hold their own value need no assignment: a constant's value is its array, a
shared variable's is its current value.  An entry records what it read from leaves whose
value may change (a shared variable's version, which ``set_value`` and every update of a
compiled function advance, in place too; the array given to a leaf) and is recomputed once
one of them changed, so a value is always that of its expression at the leaves' current
values.

A node whose value cannot be known, because a leaf it depends on is a graph input without
a value, gets a :class:`Missing` marker naming those leaves instead.
"""
import threading
import weakref

import numpy as np

from .. import ir
from ..ir.ops import Output
from .shared import SharedInput
from .variable import BUILD_HOOKS

_state = threading.local()  # .busy: a store is computing on this thread


class Missing:
    """The marker of a node without a value: ``leaves`` are the graph inputs without a
    value it depends on, in creation order."""

    __slots__ = ("leaves",)

    def __init__(self, leaves):
        self.leaves = leaves

    @staticmethod
    def union(markers):
        """One marker for the leaves of all ``markers``."""
        if len(markers) == 1:
            return markers[0]
        leaves = {leaf: None for marker in markers for leaf in marker.leaves}
        return Missing(tuple(sorted(leaves, key=lambda leaf: leaf.serial)))


class _Entry:
    """A memoised value (or Missing marker) and what it was computed from: {leaf node: the
    array it read, or None for a leaf that had no value}, for the leaves whose value may
    change (shared variables, reassignable values); the entry holds while each still has
    that very array."""

    __slots__ = ("value", "sources")

    def __init__(self, value, sources):
        self.value = value
        self.sources = sources


_NO_SOURCES = {}


def install(hook, on):
    """Run ``hook(variable)`` on every new Variable from now on (``on``), or no longer."""
    if on and hook not in BUILD_HOOKS:
        BUILD_HOOKS.append(hook)
    elif not on and hook in BUILD_HOOKS:
        BUILD_HOOKS.remove(hook)


def is_leaf(node):
    """Whether ``node`` is a graph input or a constant (not an op computed without inputs,
    such as an arange of static bounds)."""
    return isinstance(node.op, _LEAVES)


_LEAVES = (ir.Input, ir.Constant)


def busy():
    """Whether a store is computing on this thread (the variables a computation makes,
    such as those of a function compiled for eager execution, get no values)."""
    return getattr(_state, "busy", False)


def read_only(value):
    """``value`` (an array or a tuple of arrays) as read-only views: memoised values are
    handed out, and writing into one would falsify every value computed from it."""
    if isinstance(value, tuple):
        return tuple(read_only(v) for v in value)
    view = value.view()
    view.flags.writeable = False
    return view


class ValueStore:
    """Values of graph nodes: assigned to some, computed for the others.

    Parameters
    ----------
    compute : callable
        ``compute(node, input_values)``: the value of ``node`` (an ndarray of its type, or
        a tuple of them for a node of TupleType).  Errors it raises propagate.
    reassignable : bool
        Whether a node's assigned value may change once values were computed from it (a
        test value may; an eager array's value is fixed when it is made).  Entries then
        record the assigned values they read, and the leaves they found without one.
    fallback : ValueStore, optional
        A store whose assigned values this one uses for leaves it has none for (test
        values use eager arrays' values).
    """

    def __init__(self, compute, reassignable, fallback=None):
        self._compute = compute
        self._reassignable = reassignable
        self._fallback = fallback
        self._assigned = weakref.WeakKeyDictionary()
        self._memo = weakref.WeakKeyDictionary()

    # -- assigned values -------------------------------------------------------------

    def assign(self, node, value):
        """Give ``node`` the value ``value`` (already checked); what was computed from an
        earlier value is recomputed when next asked for."""
        self._assigned[node] = read_only(value)

    def unassign(self, node):
        """Take back ``node``'s assigned value (nothing when it has none)."""
        self._assigned.pop(node, None)

    def own(self, node):
        """The value assigned to ``node`` in this store (not its fallback), or None."""
        return self._assigned.get(node)

    def assigned(self, node):
        """The value assigned to ``node`` here or in the fallback store, or None."""
        value = self._assigned.get(node)
        if value is None and self._fallback is not None:
            value = self._fallback.assigned(node)
        return value

    # -- computed values -------------------------------------------------------------

    def known(self, node):
        """``node``'s value or Missing marker if it is already known (assigned, a leaf's
        own, or memoised and still valid), else None; computes nothing."""
        entry = self._entry(node)
        return None if entry is None else entry.value

    def value(self, node):
        """``node``'s value, computed with whatever its inputs need first, or a Missing
        marker when it depends on a graph input without a value."""
        entry = self._entry(node)
        if entry is not None:
            return entry.value
        previous = busy()
        _state.busy = True
        try:
            return self._fill(node).value
        finally:
            _state.busy = previous

    def _fill(self, root):
        """Compute the entries of ``root`` and of the nodes below it that lack a valid one,
        inputs first (iteratively: graphs may be deeper than Python's recursion limit)."""
        entries = {}
        stack = [root]
        while stack:
            node = stack[-1]
            if node in entries:
                stack.pop()
                continue
            entry = self._entry(node)
            if entry is not None:
                entries[node] = entry
                stack.pop()
                continue
            pending = [child for child in node.inputs
                       if child not in entries and not self._remember(child, entries)]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            entries[node] = self._evaluate(node, [entries[child] for child in node.inputs])
        return entries[root]

    def _remember(self, node, entries):
        """Put ``node``'s valid entry, if it has one, into ``entries``; whether it had."""
        entry = self._entry(node)
        if entry is not None:
            entries[node] = entry
        return entry is not None

    def _entry(self, node):
        """``node``'s entry if it is known without computing anything, else None."""
        own = self._assigned.get(node)
        if own is not None:
            return _Entry(own, {node: own} if self._reassignable else _NO_SOURCES)
        if is_leaf(node):
            return self._leaf(node)
        entry = self._memo.get(node)
        if entry is None:
            return None
        for leaf, seen in entry.sources.items():
            current = self._current(leaf)
            if current is not seen and not (type(seen) is int and current == seen):
                return None
        return entry

    def _current(self, leaf):
        """What a source of an entry now is: a shared variable's version (it counts every
        change of its value, in place too), the array given to a leaf (None for none)."""
        if isinstance(leaf.op, SharedInput):
            return leaf.op.variable._version
        return self._assigned.get(leaf)

    def _leaf(self, node):
        op = node.op
        if isinstance(op, ir.Constant):
            return _Entry(op.value, _NO_SOURCES)
        if isinstance(op, SharedInput):
            variable = op.variable
            return _Entry(read_only(variable._value), {node: variable._version})
        if self._fallback is not None:
            inherited = self._fallback.assigned(node)
            if inherited is not None:
                return _Entry(inherited, _NO_SOURCES)  # an eager array: fixed for good
        return _Entry(Missing((node,)), {node: None} if self._reassignable else _NO_SOURCES)

    def _evaluate(self, node, inputs):
        """The entry of ``node`` from its inputs' entries, memoised."""
        sources = _NO_SOURCES
        for entry in inputs:
            if entry.sources and entry.sources is not sources:
                sources = entry.sources if not sources else {**sources, **entry.sources}
        missing = [entry.value for entry in inputs if type(entry.value) is Missing]
        if missing:
            value = Missing.union(missing)
        elif isinstance(node.op, Output):
            value = inputs[0].value[node.op.index]  # a projection: nothing to compute
        else:
            value = read_only(self._compute(node, [entry.value for entry in inputs]))
        entry = _Entry(value, sources)
        self._memo[node] = entry
        return entry


def as_type(value, ttype):
    """``value`` (what an op's numpy reference returned) as an ndarray of ``ttype``'s dtype,
    or a tuple of them for a TupleType: references may return numpy scalars or lists."""
    if isinstance(ttype, ir.TupleType):
        return tuple(as_type(v, t) for v, t in zip(value, ttype.types))
    array = np.asarray(value)
    if array.dtype.name != ttype.dtype:
        array = array.astype(ttype.dtype)
    return array


def describe_inputs(node, values):
    """``node``'s inputs with the shapes of ``values`` ("input 0 ('x', float64 shape
    (3, 4)), input 1 (...)"), for messages about a value that could not be computed."""
    parts = []
    for position, (child, value) in enumerate(zip(node.inputs, values)):
        parts.append(f"input {position} ({label(child)}, {_shape_text(value)})")
    return ", ".join(parts)


def _shape_text(value):
    if isinstance(value, tuple):
        return "(" + ", ".join(_shape_text(v) for v in value) + ")"
    return f"{value.dtype} shape {value.shape}"


def label(node):
    """How messages name ``node``: the user's name of an input, else its op and type."""
    name = getattr(node.op, "label", None)
    if isinstance(node.op, ir.Input) and name:
        return repr(name)
    return f"<{node.op.describe()} {node.type}>"


def annotated(error, node, values, what):
    """``error``, raised while computing ``node``'s ``what`` from ``values``, as an
    exception of the same type whose message also names the op, its inputs' shapes and the
    user's line that built the node (the original when its type takes no message)."""
    where = f" (built at {node.trace})" if node.trace else ""
    message = (f"{node.op.describe()}{where}: cannot compute the {what} from "
               f"{describe_inputs(node, values)}: {error}")
    try:
        return type(error)(message)
    except Exception:  # an exception type whose constructor wants more than a message
        return error
