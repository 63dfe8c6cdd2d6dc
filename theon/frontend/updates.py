"""A compiled function's shared variables: its updates (given and default), its givens, and
``SharedState``, which passes the variables' values to each call and installs the updates'
results after it.  Everything here is checked with Theano's rules and messages."""
import operator

import numpy as np

from .. import ir
from .shared import SharedInput, SharedVariable, filter_value, shared, shared_type_matches
from .variable import Variable, constant


def add_default_updates(out_nodes, targets, update_nodes, replace, skip):
    """Append to ``targets`` and ``update_nodes`` the default updates of the shared
    variables the graph reaches (also through other updates, default ones included), except
    those with an update already and those ``skip`` names; return the shared variables the
    final graph reaches, in topological order."""
    while True:
        shared_vars = [node.op.variable for node in ir.toposort(out_nodes + update_nodes)
                       if isinstance(node.op, SharedInput)]
        added = False
        for variable in shared_vars:
            default = variable.default_update
            if default is None or skip is True or variable in skip or variable in targets:
                continue
            value = checked_update(variable, default, "default_update")
            targets.append(variable)
            update_nodes += ir.substitute([value.node], replace)
            added = True
        if not added:
            return shared_vars


class SharedState:
    """What a function using shared variables does around its executable: pass their
    current values after the explicit arguments, then install the updates' results.

    Attributes
    ----------
    explicit_names : tuple of str
    shared : tuple of SharedVariable
        The implicit inputs, in the graph's order (after the explicit ones).
    targets : tuple of SharedVariable
        The updated variables, one per graph output after the user's outputs.
    n_outputs : int
        The user's outputs.
    inplace_pairs : tuple of (int, int)
        (graph output, graph input) of each update whose variable the graph reads: the
        executable may compute that output in the input's array.
    """

    def __init__(self, explicit_names, shared_vars, targets, n_outputs, inplace_pairs):
        self.explicit_names = explicit_names
        self.shared = shared_vars
        self.targets = targets
        self.n_outputs = n_outputs
        self.inplace_pairs = inplace_pairs

    def caller(self, executable, single, trusted=False):
        """The callable a Function runs: checks the number of explicit arguments, appends
        the shared values, runs ``executable`` and writes the updates back."""
        run = executable.trusted_call if trusted else executable.__call__
        n_explicit = len(self.explicit_names)
        shared_vars, targets, n_outputs = self.shared, self.targets, self.n_outputs
        # arrays written in place must not be an explicit argument too (possible only once
        # borrow=True exposed them): such an argument is copied first, so no step reads it
        # after the array was overwritten
        written = {slot for targets_of_step in executable.inplace.values()
                   for slot in targets_of_step.values()}
        guarded = tuple(shared_vars[slot - n_explicit] for slot in sorted(written))
        names = self.explicit_names
        current_value = operator.attrgetter("_value")  # (a comprehension costs a frame)

        def call(*args):
            if len(args) != n_explicit:
                raise TypeError(f"function takes {n_explicit} input"
                                f"{'' if n_explicit == 1 else 's'} ({', '.join(names)}); "
                                f"got {len(args)}")
            if guarded and args:
                for variable in guarded:
                    if variable._exposed:
                        args = _unaliased(args, guarded)
                        break
            results = run(*args, *map(current_value, shared_vars))
            if targets:
                for variable, value in zip(targets, results[n_outputs:]):
                    variable._store_update(value)
                del results[n_outputs:]
            return results[0] if single else results

        return call


def _unaliased(args, guarded):
    """``args`` with a copy of each ndarray that may share memory with a guarded shared
    variable's array."""
    copied = None
    for index, arg in enumerate(args):
        if type(arg) is np.ndarray:
            for variable in guarded:
                if np.may_share_memory(arg, variable._value):
                    copied = list(args) if copied is None else copied
                    copied[index] = arg.copy()
                    break
    return args if copied is None else tuple(copied)


def update_pairs(updates):
    """The (SharedVariable, Variable) pairs of ``updates``, checked (Theano's rules)."""
    if updates is None:
        return []
    if isinstance(updates, dict):
        items = list(updates.items())
    elif isinstance(updates, (list, tuple)):
        items = list(updates)
        if len(items) == 2 and isinstance(items[0], SharedVariable) and \
                not isinstance(items[1], (list, tuple)):
            raise TypeError("function: updates must be a list of (shared variable, new value) "
                            f"pairs; got the single pair ({items[0]!r}, {items[1]!r}): wrap "
                            "it in a list")
    else:
        raise TypeError("function: updates must be a list, tuple or dict of (shared "
                        f"variable, new value) pairs; got {type(updates).__name__}")
    pairs, seen = [], set()
    for index, item in enumerate(items):
        target, value = _pair(item, f"update {index}", "(shared variable, new value)")
        if not isinstance(target, SharedVariable):
            raise TypeError(f"function: update target must be a SharedVariable; update "
                            f"{index} targets {target!r} ({type(target).__name__}), which "
                            "is not a shared variable (only theon.shared variables can be "
                            "updated)")
        if id(target) in seen:
            raise ValueError(f"function: this shared variable already has an update "
                             f"expression: {target!r} is updated twice")
        seen.add(id(target))
        pairs.append((target, checked_update(target, value, "update")))
    return pairs


def _pair(item, what, expected):
    """``item`` as two values; TypeError naming ``what`` unless it is a list or tuple of
    two (``expected`` says of what)."""
    if not isinstance(item, (list, tuple)) or len(item) != 2:
        raise TypeError(f"function: {what} is {item!r}; expected a {expected} pair")
    return item


def checked_update(target, value, what):
    """``value`` as a Variable of ``target``'s type, or TypeError (Theano's message)."""
    if not isinstance(value, Variable):
        array = filter_value(value, target.node.type, False, None,
                             f"function: the {what} of shared variable "
                             f"'{target.name or 'unnamed'}' ({target.node.type})")
        return constant(array)
    if shared_type_matches(target, value.node.type):
        return value
    if value.dtype != target.dtype:
        hint = (f" The dtypes differ: cast the expression, e.g. T.cast(update, "
                f"'{target.dtype}').")
    else:
        hint = (" If the difference is related to the broadcast pattern, rebuild the "
                "expression with the pattern of the shared variable (theon.shared makes "
                "no dimension broadcastable unless told by broadcastable=...).")
    label = "An update" if what == "update" else "A default_update"
    raise TypeError(f"{label} must have the same type as the original shared variable "
                    f"(shared_var={target!r}, shared_var.type={target.type}, "
                    f"update_val={value!r}, update_val.type={value.type}).{hint}")


def no_default_updates_option(option):
    """True, or the set of variables whose default updates are skipped."""
    if option is True:
        return True
    if option is False or option is None:
        return ()
    if isinstance(option, (list, tuple, set)):
        return list(option)
    raise TypeError("function: no_default_updates must be True, False or a list of shared "
                    f"variables; got {type(option).__name__}")


def givens_replacements(givens, leaves, names):
    """{node: replacement node} from Theano's ``givens`` (a dict or a list of pairs)."""
    if givens is None:
        return {}
    if isinstance(givens, dict):
        items = list(givens.items())
    elif isinstance(givens, (list, tuple)):
        items = list(givens)
    else:
        raise TypeError("function: givens must be a dict or a list of (variable, "
                        f"replacement) pairs; got {type(givens).__name__}")
    replace = {}
    for index, item in enumerate(items):
        old, new = _pair(item, f"given {index}", "(variable, replacement)")
        if not isinstance(old, Variable):
            raise TypeError(f"function: given keys must be symbolic variables; given {index} "
                            f"has the key {old!r} ({type(old).__name__})")
        if old.node in leaves:
            raise RuntimeError(
                f"function: you are trying to replace variable '{old!r}' through the "
                "`givens` parameter, but this variable is an input to your function. "
                "Replacing inputs is forbidden because it has no effect. One way to modify "
                "an input `x` to a function evaluating f(x) is to define a new input `y` "
                "and use `theon.function([y], f(x), givens={x: g(y)})`")
        if not isinstance(new, Variable):
            new = shared(new)
        old_type, new_type = old.node.type, new.node.type
        if old_type.dtype != new_type.dtype or old_type.ndim != new_type.ndim or any(
                length is not None and length != other
                for length, other in zip(old_type.shape, new_type.shape)):
            raise TypeError(f"function: givens cannot replace {old!r} of type {old.type} by "
                            f"{new!r} of type {new.type}: the replacement must have the same "
                            "dtype and rank, and length 1 where the original is "
                            "broadcastable")
        if old.node in replace:
            raise ValueError(f"function: givens replaces {old!r} twice")
        replace[old.node] = new.node
        if new.name:
            names.setdefault(new.node, new.name)
    for new in replace.values():
        for node in ir.toposort([new]):
            if node in replace:
                raise ValueError(
                    "function: when using givens with several (old, new) pairs, a new "
                    "variable may not depend on an old one (for instance, givens={a: b, "
                    "b: a + 1} is not allowed); here " + repr(node.op.describe()) +
                    " is used to compute a replacement but is itself replaced")
    return replace
