"""Test values: Theano's debugger that runs every op on sample values as the graph is built.

Give the inputs test values, turn the flag on, and every variable built from them gets
one, computed by the ops' numpy references (``op.impl``)::

    theon.config.compute_test_value = 'raise'
    x = T.matrix('x')
    x.tag.test_value = np.ones((3, 4))
    W = T.matrix('W')
    W.tag.test_value = np.ones((5, 2))
    y = T.dot(x, W)      # raises here: dot of (3, 4) and (5, 2)

A test value is checked against its variable's type when assigned (dtype converted as
Theano's ``filter`` does, rank, broadcastable and static lengths).  Constants have their
value as test value, shared variables their current value, eager arrays
(``theon.eager.array``) theirs.  ``theon.config.compute_test_value`` says what a variable
built from an input *without* a test value does: 'off' (the default: nothing is computed),
'ignore' (it gets no test value), 'warn' (it gets none, with a warning pointing at the
user's line), 'raise' (ValueError) or 'pdb' (a post-mortem debugger, then as 'ignore').

Values are computed for every node a frontend function builds, wrapped in a variable or
not, once per node (``frontend/values.py``).  Nodes built inside a scan step function
depend on the loop's placeholders, which have no test value: they get none, silently,
and the loop's outputs get theirs from the whole loop's reference.  ``theon.function``
never reads test values.
"""
import sys

import numpy as np

from .. import ir
from ..config import config
from ..ir import ShapeError
from ..runtime.arguments import coerce
from . import eager
from .shared import SharedInput
from .values import Missing, ValueStore, annotated, as_type, busy, install, is_leaf, label
from .variable import USER_INPUTS, Variable, as_tensor_variable, warn_user


def _reference(node, values):
    """``node``'s value by its op's numpy reference."""
    # a test value of log(-1) is nan, as the compiled code gives, without numpy's warning
    with np.errstate(all="ignore"):
        try:
            result = node.op.impl(*values)
        except Exception as error:
            raise annotated(error, node, values, "test value") from error
    return as_type(result, node.type)


STORE = ValueStore(_reference, reassignable=True, fallback=eager.STORE)


# ---- what a tag reads and writes -------------------------------------------------------------

def read(node):
    """``tag.test_value`` of a variable over ``node``.

    Raises
    ------
    AttributeError
        It has none (as in Theano, so ``hasattr(x.tag, 'test_value')`` works): it is an
        input without one, depends on one, or the flag is 'off' and it was never computed.
    """
    value = STORE.known(node)
    if value is None and config.compute_test_value != "off":
        value = STORE.value(node)
    if value is None:
        raise AttributeError(f"{label(node)} has no test value: none was computed "
                             "(theon.config.compute_test_value is 'off')")
    if type(value) is Missing:
        raise AttributeError(_lacking(node, value.leaves))
    return value


def assign(node, value):
    """``tag.test_value = value`` on a variable over ``node``: ``value`` checked against
    its type and converted to its dtype as Theano's ``filter`` does.

    Raises
    ------
    DTypeError
        A non-numeric value, or a dtype that converts only with a loss of precision.
    TypeError
        A value of another rank; a constant or shared variable (their value is their test
        value).
    ShapeError
        A length other than the static one (1 along a broadcastable dimension).
    """
    description = f"test value of {label(node)} ({node.type})"
    if isinstance(node.op, ir.Constant):
        raise TypeError(f"{description}: a constant's test value is its value; it cannot "
                        "be set")
    if isinstance(node.op, SharedInput):
        raise TypeError(f"{description}: a shared variable's test value is its current "
                        "value; change it with set_value")
    if isinstance(node.type, ir.TupleType):
        raise TypeError(f"{description}: a node with several outputs takes no test value")
    dtype = np.dtype(node.type.dtype)
    array = coerce(value, dtype, node.type.ndim, description, None, noun="a value",
                   advice=f"convert the value with .astype('{dtype.name}') first",
                   exact_python_values=True)
    for axis, length in enumerate(node.type.shape):
        if length is not None and array.shape[axis] != length:
            kind = "a broadcastable dimension" if length == 1 else "its static length"
            raise ShapeError(f"{description} got a value of shape {array.shape}; expected "
                             f"length {length} at axis {axis} ({kind})")
    # a private copy: the caller may go on writing into the array it gave
    STORE.assign(node, np.array(array, copy=True, order="C"))


def forget(node):
    """``del x.tag.test_value``: ``node`` no longer has an assigned test value."""
    if STORE.own(node) is None:
        raise AttributeError(f"{label(node)} has no assigned test value to delete")
    STORE.unassign(node)


def assigned(node):
    """The test value assigned to ``node`` (``x.tag.test_value = ...``), or None."""
    return STORE.own(node)


# ---- Theano's functions ----------------------------------------------------------------------

def get_test_value(v):
    """The test value of ``v`` (Theano's ``theano.gof.op.get_test_value``).

    Parameters
    ----------
    v : Variable or array_like
        Anything else than a variable is made a constant first, whose test value is
        itself.

    Returns
    -------
    numpy.ndarray
        Read-only: every test value computed from it would be wrong after a write.

    Raises
    ------
    AttributeError
        ``v`` has no test value.
    """
    return read(as_tensor_variable(v).node)


def get_debug_values(*args):
    """Theano's ``get_debug_values``: ``[]`` while test values are off, else a list with
    one item: the test value of the single argument, or the tuple of all arguments' test
    values.  An argument without one is reported as the flag says ('raise': ValueError,
    'warn': a warning) and gives ``[]``.

    Examples
    --------
    >>> for x_value, y_value in get_debug_values(x, y):
    ...     assert x_value.shape == y_value.shape
    """
    if config.compute_test_value == "off":
        return []
    values = []
    for position, arg in enumerate(args):
        node = as_tensor_variable(arg).node
        value = STORE.value(node)
        if type(value) is Missing:
            name = f"({label(node)}) " if isinstance(arg, Variable) else ""
            _report(f"Argument {position} {name}has no test value: "
                    + _lacking(node, value.leaves))
            return []
        values.append(value)
    return [values[0] if len(values) == 1 else tuple(values)]


# ---- the build hook --------------------------------------------------------------------------

def _on_new_variable(variable):
    """Compute the new variable's test value (raising the op's error for values that do
    not fit it), or report an input of the user's that has none."""
    node = variable.node
    if is_leaf(node) or busy():
        return
    value = STORE.value(node)
    if type(value) is Missing:
        users = [leaf for leaf in value.leaves if leaf in USER_INPUTS]
        if users:
            _report(_missing_input_message(node, users))


def _missing_input_message(node, users):
    """Theano's message for an op whose input has no test value, naming the user's input
    without one that it comes from."""
    position, child = next((position, child) for position, child in enumerate(node.inputs)
                           if _depends_on(child, users))
    if child in users:
        lacking = [child]
        cause = f"{label(child)} has no test value"
    else:
        lacking = [leaf for leaf in users if _depends_on(child, [leaf])]
        names = ", ".join(label(leaf) for leaf in lacking)
        cause = f"it depends on {names}, which {'has' if len(lacking) == 1 else 'have'} " \
                "no test value"
    return (f"Cannot compute test value: input {position} ({label(child)}) of Op "
            f"{node.op.describe()} missing default value: {cause}; give "
            f"{'it' if len(lacking) == 1 else 'them'} one (variable.tag.test_value = value) "
            "or set theon.config.compute_test_value = 'off'")


def _depends_on(node, leaves):
    known = STORE.known(node)
    return type(known) is Missing and any(leaf in known.leaves for leaf in leaves)


def _lacking(node, leaves):
    if leaves == (node,):
        return f"{label(node)} has no test value"
    names = ", ".join(label(leaf) for leaf in leaves)
    verb = "has" if len(leaves) == 1 else "have"
    return f"{label(node)} has no test value: it depends on {names}, which {verb} none"


def _report(message):
    """Do what ``config.compute_test_value`` says with the message of a missing value."""
    action = config.compute_test_value
    if action == "raise":
        raise ValueError(message)
    if action == "warn":
        warn_user(message)
    elif action == "pdb":
        import pdb
        try:
            raise ValueError(message)
        except ValueError:
            pdb.post_mortem(sys.exc_info()[2])


config.on_change("compute_test_value", lambda action: install(_on_new_variable,
                                                              action != "off"))
