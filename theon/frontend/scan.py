"""Theano's ``scan`` and the loops built on it (``map``, ``reduce``, ``foldl``, ``foldr``).

``scan`` calls the user's step function once, on placeholder variables, and keeps the
graph it returns as the body of one ``ir.ops.Scan`` node.  Everything the body reads that
does not change from step to step (the non-sequences, and any other variable the step
function reached, such as shared weights) becomes an input of the node, computed once
outside the loop.  The body is compiled with the whole pipeline, once, whatever the
number of steps.
"""
import collections

import numpy as np

from .. import ir
from ..ir.types import merged_shape
from ..passes.autodiff import dependents
from ..ir.ops import Output, Scan
from .shape import shape_padleft
from .shared import SharedInput, SharedVariable
from .variable import Variable, as_tensor_variable, user_trace


class until:  # noqa: N801 - Theano's name
    """The stop condition a scan step returns with its outputs: the loop ends after the
    first step whose condition is true (``return h, until(h > 10)``).

    Parameters
    ----------
    condition : scalar Variable or bool
    """

    def __init__(self, condition):
        condition = as_tensor_variable(condition)
        if condition.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar; got {condition!r} of "
                            f"type {condition.type}")
        self.condition = condition


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """A loop: ``fn`` applied step by step along the sequences, feeding back its outputs.

    At each step ``fn`` receives, in this order, the current slice of every sequence (one
    argument per tap), the previous values of every output that has an initial value in
    ``outputs_info`` (one argument per tap), and the non-sequences.  It returns the step's
    outputs, and optionally a dictionary of shared-variable updates and an ``until``
    condition, in any order: ``return h``, ``return [h, y]``, ``return h, {count:
    count + 1}``, ``return h, until(h > 1)``.

    Parameters
    ----------
    fn : callable
    sequences : Variable, dict or list of them, optional
        Iterated along their first axis.  A dict ``dict(input=x, taps=[-1, 0])`` passes
        several slices per step: tap ``k`` at step ``t`` is ``x[t + k - min(taps)]``.
    outputs_info : list, optional
        One entry per output of ``fn``: None for an output not fed back; an initial value
        (fed back with tap -1); or ``dict(initial=x0, taps=[-2, -1])``, where ``x0`` has one
        row per tap back (``x0[0]`` is the value ``-min(taps)`` steps before the first).
    non_sequences : Variable or list, optional
        Passed unchanged to every step.  (Variables ``fn`` reaches without them being
        passed are found anyway; ``strict=True`` forbids that.)
    n_steps : int or integer scalar Variable, optional
        The number of steps; default, as many as the shortest sequence allows.
    truncate_gradient : int
        -1 (default): the gradient goes through every step.  k > 0: truncated
        backpropagation through time: the gradient goes back through the last k steps
        only; earlier steps' slices get zero gradients, and the initial values get one only
        when the loop ran at most k steps.  (Theano instead gives the initial values the
        cotangent that reached step n - k.)
    go_backwards : bool
        Iterate the sequences from their last entry to their first.
    mode, profile, allow_gc : ignored
        The loop's body is compiled with the function that uses it.
    name : str, optional
        A name for the loop in messages and printed graphs.
    strict : bool
        Raise if ``fn`` reaches a shared or input variable not among ``non_sequences``.
    return_list : bool
        Return a list even for one output.

    Returns
    -------
    (outputs, updates)
        ``outputs``: per output of ``fn``, its values at every step stacked along a new
        first axis (one Variable, or a list); ``updates``: an OrderedDict mapping each shared
        variable the step updated to its value after the last step, to pass to
        ``theon.function(..., updates=updates)``.

    Examples
    --------
    >>> x = T.vector('x')
    >>> cumulative, _ = theon.scan(lambda v, total: total + v, sequences=x,
    ...                            outputs_info=T.zeros((), x.dtype))
    """
    del mode, profile, allow_gc
    return _Loop(fn, sequences, outputs_info, non_sequences, n_steps, truncate_gradient,
                 go_backwards, name, strict).build(return_list)


def map(fn, sequences, non_sequences=None, truncate_gradient=-1,  # noqa: A001
        go_backwards=False, mode=None, name=None):
    """``fn`` applied to each entry of the sequences: ``scan`` without fed-back outputs.
    Returns ``(outputs, updates)``."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, mode=mode,
                name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,
           name=None):
    """``scan`` keeping only each output's value after the last step (the compiled loop
    then keeps no history of the states).  Returns ``(outputs, updates)``.

    Examples
    --------
    >>> total, _ = theon.reduce(lambda v, acc: acc + v, sequences=x,
    ...                         outputs_info=T.zeros((), x.dtype))
    """
    outputs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                            non_sequences=non_sequences, go_backwards=go_backwards,
                            mode=mode, name=name, return_list=True)
    last = [out[-1] for out in outputs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the first entry of the sequences to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False, mode=mode,
                  name=name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the last entry of the sequences to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True, mode=mode,
                  name=name)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _placeholder(ttype, name):
    return Variable(ir.Node.make(ir.Input.new(ttype, name)), name)


def _row_type(ttype):
    """The type of one entry of an array of type ``ttype`` along its first axis."""
    return ir.TensorType(ttype.dtype, ttype.shape[1:])


class _Loop:
    """The parts of one ``scan`` call, worked out in ``build``."""

    def __init__(self, fn, sequences, outputs_info, non_sequences, n_steps,
                 truncate_gradient, go_backwards, name, strict):
        if not callable(fn):
            raise TypeError(f"scan: fn must be callable; got {type(fn).__name__}")
        if isinstance(truncate_gradient, bool) or not isinstance(
                truncate_gradient, (int, np.integer)) or \
                (truncate_gradient != -1 and truncate_gradient < 1):
            raise ValueError(f"scan: truncate_gradient must be -1 (the gradient goes through "
                             f"every step) or a positive number of steps; got "
                             f"{truncate_gradient!r}")
        self.truncate = int(truncate_gradient)
        self.fn = fn
        self.name = name
        self.strict = strict
        self.go_backwards = bool(go_backwards)
        self.sequences = [self._sequence(index, entry)
                          for index, entry in enumerate(_as_list(sequences))]
        self.outputs_info = None if outputs_info is None else [
            self._output_info(index, entry) for index, entry in enumerate(
                outputs_info if isinstance(outputs_info, (list, tuple)) else [outputs_info])]
        self.non_sequences = [as_tensor_variable(v) for v in _as_list(non_sequences)]
        self.n_steps = n_steps

    # -- arguments -------------------------------------------------------------------

    def _sequence(self, index, entry):
        """(variable iterated, taps) of one entry of ``sequences``."""
        if isinstance(entry, dict):
            if "input" not in entry:
                raise ValueError(f"scan: sequences[{index}] is a dict without 'input'")
            variable, taps = entry["input"], entry.get("taps", [0])
        else:
            variable, taps = entry, [0]
        variable = as_tensor_variable(variable)
        taps = [int(k) for k in _as_list(taps)]
        if not taps:
            raise ValueError(f"scan: sequences[{index}] has no taps")
        if variable.ndim == 0:
            raise ValueError(f"scan: sequences[{index}] ({variable!r}) is 0-d; a sequence is "
                             "iterated along its first axis")
        if self.go_backwards:
            variable = variable[::-1]
        return variable, taps

    def _output_info(self, index, entry):
        """None for an output not fed back, else (initial value, taps)."""
        if entry is None:
            return None
        if isinstance(entry, dict):
            if entry.get("initial") is None:
                if entry.get("taps"):
                    raise ValueError(f"scan: outputs_info[{index}] has taps but no initial "
                                     "value")
                return None
            initial, taps = as_tensor_variable(entry["initial"]), entry.get("taps", [-1])
        else:
            initial, taps = as_tensor_variable(entry), [-1]
        taps = [int(k) for k in _as_list(taps)]
        if not taps or any(k >= 0 for k in taps):
            raise ValueError(f"scan: outputs_info[{index}] has taps {taps}; the taps of an "
                             "output must be negative (-1: the previous step)")
        if taps != [-1] and initial.ndim == 0:
            raise ValueError(f"scan: outputs_info[{index}] has taps {taps}: its initial value "
                             f"needs one row per step back ({-min(taps)}); got a scalar")
        return initial, taps

    # -- building --------------------------------------------------------------------

    def build(self, return_list):
        """(outputs, updates) of the loop, as ``scan`` returns them."""
        states = [info for info in (self.outputs_info or []) if info is not None]
        state_types = [self._tap_type(initial, taps) for initial, taps in states]
        for _ in range(3):
            traced = self._trace(states, state_types)
            outputs = traced["state_outputs"]
            relaxed = [ir.TensorType(t.dtype, merged_shape(t.shape, out.node.type.shape))
                       if out.node.type.ndim == t.ndim else t
                       for t, out in zip(state_types, outputs)]
            if relaxed == state_types:
                break
            state_types = relaxed  # the step's values are less specific: trace again
        self._check_states(states, state_types, outputs)
        return self._make_node(traced, states, return_list)

    def _tap_type(self, initial, taps):
        ttype = initial.node.type
        return ttype if taps == [-1] else _row_type(ttype)

    def _trace(self, states, state_types):
        """Call ``fn`` on placeholders (``states``: the (initial, taps) of the fed-back
        outputs); the pieces of the body it returns."""
        args, slice_leaves = [], []
        for index, (variable, taps) in enumerate(self.sequences):
            for k in taps:
                leaf = _placeholder(_row_type(variable.node.type),
                                    f"{variable.name or f'sequence {index}'}[t{k:+d}]")
                args.append(leaf)
                slice_leaves.append(leaf.node)
        tap_leaves = []
        for index, ((initial, taps), ttype) in enumerate(zip(states, state_types)):
            for k in taps:
                leaf = _placeholder(ttype, f"{initial.name or f'output {index}'}[t{k:+d}]")
                args.append(leaf)
                tap_leaves.append(leaf.node)
        args += self.non_sequences
        outputs, updates, condition = _parse_result(self.fn(*args))
        if self.outputs_info is None:
            kinds = [None] * len(outputs)
        else:
            kinds = self.outputs_info
            if len(outputs) != len(kinds):
                raise ValueError(f"scan: the step function returned {len(outputs)} "
                                 f"output{'s' if len(outputs) != 1 else ''}; outputs_info "
                                 f"has {len(kinds)} entries (one per output, None for an "
                                 "output not fed back)")
        return {"slice_leaves": slice_leaves, "tap_leaves": tap_leaves,
                "state_outputs": [out for out, kind in zip(outputs, kinds) if kind is not None],
                "nitsot_outputs": [out for out, kind in zip(outputs, kinds) if kind is None],
                "kinds": kinds, "updates": updates, "condition": condition}

    def _check_states(self, states, state_types, outputs):
        for index, ((initial, _), ttype, out) in enumerate(zip(states, state_types, outputs)):
            got = out.node.type
            if got.dtype != ttype.dtype or got.ndim != ttype.ndim:
                raise TypeError(
                    f"scan: the step function's output for outputs_info entry {index} has "
                    f"type {got}, but its initial value {initial!r} gives {ttype}: they must "
                    f"have the same dtype and rank (cast the initial value or the output)")

    def _make_node(self, traced, states, return_list):
        update_pairs = self._update_pairs(traced)
        # shared variables the step updates become states of the loop: the body reads a
        # placeholder where it read the variable
        update_leaves = {variable.node: _placeholder(variable.node.type,
                                                     f"{variable.name or 'shared'}[t-1]").node
                         for variable, _ in update_pairs}
        body_outputs = [out.node for out in traced["state_outputs"]]
        body_outputs += [value.node for _, value in update_pairs]
        body_outputs += [out.node for out in traced["nitsot_outputs"]]
        if traced["condition"] is not None:
            body_outputs.append(traced["condition"].node)
        body_outputs = ir.substitute(body_outputs, update_leaves)
        variant = set(traced["slice_leaves"]) | set(traced["tap_leaves"]) | \
            set(update_leaves.values())
        free = _free_nodes(body_outputs, variant)
        self._check_strict(free)
        nonseq_leaves = {node: _placeholder(node.type, _label(node)).node for node in free}
        body_outputs = ir.substitute(body_outputs, nonseq_leaves)
        body = ir.Graph(tuple(traced["slice_leaves"] + traced["tap_leaves"] +
                              list(update_leaves.values()) + list(nonseq_leaves.values())),
                        tuple(body_outputs))
        initial = [self._initial_rows(initial, taps) for initial, taps in states]
        initial += [shape_padleft(variable).node for variable, _ in update_pairs]
        taps = [tuple(k) for _, k in states] + [(-1,)] * len(update_pairs)
        n_steps, length = self._steps()
        offsets = []
        for index, (_, seq_taps) in enumerate(self.sequences):
            offsets += [(index, k - min(seq_taps)) for k in seq_taps]
        op = Scan(body=body, seq_offsets=tuple(offsets), n_sequences=len(self.sequences),
                  state_taps=tuple(taps), state_history=(True,) * len(taps),
                  n_nitsot=len(traced["nitsot_outputs"]), n_nonseqs=len(free),
                  until=traced["condition"] is not None, length=length, label=self.name,
                  truncate=self.truncate)
        node = ir.Node.make(op, (n_steps, *[v.node for v, _ in self.sequences], *initial,
                                 *free), trace=user_trace())
        projected = [Variable(ir.Node.make(Output(index), (node,)))
                     for index in range(len(node.type.types))]
        n_states = len(states)
        state_values = iter(projected[:n_states])
        nitsot_values = iter(projected[n_states + len(update_pairs):])
        outputs = [next(state_values) if kind is not None else next(nitsot_values)
                   for kind in traced["kinds"]]
        updates = collections.OrderedDict(
            (variable, projected[n_states + index][-1])
            for index, (variable, _) in enumerate(update_pairs))
        if len(outputs) == 1 and not return_list:
            return outputs[0], updates
        return outputs, updates

    def _update_pairs(self, traced):
        """The step's updates, with the default updates of the shared variables it reads
        (random streams' states) that it did not update itself."""
        from .updates import checked_update
        pairs = []
        for variable, value in traced["updates"]:
            if not isinstance(variable, SharedVariable):
                raise TypeError(f"scan: the step function's updates must be keyed by shared "
                                f"variables; got {variable!r} ({type(variable).__name__})")
            pairs.append((variable, checked_update(variable, value, "update")))
        roots = [out.node for out in traced["state_outputs"] + traced["nitsot_outputs"]]
        roots += [value.node for _, value in pairs]
        if traced["condition"] is not None:
            roots.append(traced["condition"].node)
        updated = {variable for variable, _ in pairs}
        while True:
            added = False
            for node in ir.toposort(roots):
                if not isinstance(node.op, SharedInput):
                    continue
                variable = node.op.variable
                if variable in updated or variable.default_update is None:
                    continue
                value = checked_update(variable, variable.default_update, "default_update")
                pairs.append((variable, value))
                updated.add(variable)
                roots.append(value.node)
                added = True
            if not added:
                return pairs

    def _check_strict(self, free):
        if not self.strict:
            return
        given = {v.node for v in self.non_sequences}
        for node in free:
            if isinstance(node.op, ir.Input) and node not in given:
                raise ValueError(f"scan: with strict=True every variable the step function "
                                 f"uses must be passed in non_sequences; "
                                 f"{node.op.describe()!r} ({node.type}) is not")

    def _initial_rows(self, initial, taps):
        """The state's initial value as the loop takes it: one row per step back."""
        if taps == [-1]:
            return shape_padleft(initial).node
        window = -min(taps)
        return initial[:window].node

    def _steps(self):
        """(0-d int64 node, static count or None): the number of steps."""
        from .elementwise import cast, minimum
        if self.n_steps is not None:
            steps = as_tensor_variable(self.n_steps)
            if steps.ndim != 0 or steps.dtype not in ir.dtypes.INTS:
                raise TypeError(f"scan: n_steps must be an integer scalar; got {steps!r} of "
                                f"type {steps.type}")
            known = steps.node.op.scalar if isinstance(steps.node.op, ir.Constant) else None
            if known is not None and known < 0:
                raise ValueError(f"scan: n_steps is {known}; it must be at least 0")
            return cast(steps, "int64").node, known
        if not self.sequences:
            raise ValueError("scan: no sequences and no n_steps: give n_steps to say how "
                             "many steps to run")
        counts, static = [], []
        for variable, taps in self.sequences:
            span = max(taps) - min(taps)
            counts.append(variable.shape[0] - span if span else variable.shape[0])
            length = variable.node.type.shape[0]
            static.append(None if length is None else max(length - span, 0))
        total = counts[0]
        for count in counts[1:]:
            total = minimum(total, count)
        known = None if None in static else min(static)
        return cast(total, "int64").node, known


def _parse_result(result):
    """(outputs, update pairs, condition or None) from what a step function returned."""
    outputs, updates, condition = [], [], None

    def take(item):
        nonlocal condition
        if isinstance(item, until):
            condition = item.condition
        elif isinstance(item, dict):
            updates.extend(item.items())
        elif isinstance(item, (list, tuple)) and item and all(
                isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0],
                                                                          SharedVariable)
                for pair in item):
            updates.extend(item)
        elif isinstance(item, (list, tuple)):
            outputs.extend(as_tensor_variable(v) for v in item)
        else:
            outputs.append(as_tensor_variable(item))

    if isinstance(result, (list, tuple)) and any(
            isinstance(item, (dict, until, list, tuple)) for item in result):
        for item in result:
            take(item)
    elif result is not None:
        take(result)
    return outputs, updates, condition


def _free_nodes(outputs, variant):
    """The nodes the loop reads from outside: those not depending on ``variant`` (the body's
    placeholders) that are inputs of nodes that do, or outputs themselves.  Constants stay
    in the body."""
    order = ir.toposort(outputs)
    depends = dependents(order, variant)
    free = {}
    for node in order:
        if node not in depends:
            continue
        for child in node.inputs:
            if child not in depends and not isinstance(child.op, ir.Constant):
                free.setdefault(child, None)
    for node in outputs:
        if node not in depends and not isinstance(node.op, ir.Constant):
            free.setdefault(node, None)
    return list(free)


def _label(node):
    label = getattr(node.op, "label", None)
    return label or node.op.describe()
