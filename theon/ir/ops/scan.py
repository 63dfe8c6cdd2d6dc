"""Loops: Theano's ``scan`` as one op that holds its step as a graph.

A :class:`Scan` node runs its ``body`` (an ``ir.Graph``) once per step.  Its inputs are::

    n_steps, sequences..., initial states..., non-sequences...

``n_steps`` is a 0-d integer: how many steps to run (the sequences must be long enough).
The body's inputs are, in this order: one *slice* per (sequence, offset) pair of
``seq_offsets`` (at step ``t`` the slice is ``sequence[t + offset]``), one input per tap of
each state (tap ``k < 0`` reads the value the state had ``-k`` steps ago), and the
non-sequences.  Its outputs are each state's next value, the per-step results that are not
fed back (``n_nitsot`` of them), and, for a loop with ``until``, a 0-d condition: the loop
stops after the first step at which it is true.

Each state's initial value is an array of ``ntaps = -min(taps)`` rows: row ``j`` is the
value ``ntaps - j`` steps before the first.  The node's outputs (a tuple) are, per state,
its values at every step (``state_history``) or only its last ``ntaps`` values (the final
window, for states whose history nobody reads: accumulators, shared-variable updates),
then each per-step result stacked along a new leading axis.

``reverse`` runs the steps from last to first: iteration ``i`` is step ``t = n - 1 - i``.
Slices and per-step results are indexed by ``t``; a state's values by iteration.  Gradient
loops are reverse loops of this kind (see :meth:`Scan.vjp`).
"""
from dataclasses import dataclass, field

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..hashing import graph_digest
from ..node import Node, Op
from ..types import TensorType, TupleType
from .indexing import IncSubtensor, Subtensor
from .leaf import Constant, Input, Output
from .shape import Shape
from .shape_ops import Alloc, Join


@dataclass(frozen=True)
class Scan(Op):
    """A loop running ``body`` once per step (see the module's docstring).

    Attributes
    ----------
    body : Graph or None
        The step.  None in an op read back from a serialised schedule, whose loop runs the
        body's schedule instead.
    seq_offsets : tuple of (int, int)
        Per slice input of the body: (sequence index, offset).
    n_sequences : int
    state_taps : tuple of tuple of int
        Per state, its taps (negative), in the order the body takes them.
    state_history : tuple of bool
        Per state: True to return its value at every step, False for the final window.
    n_nitsot : int
        Per-step results not fed back.
    n_nonseqs : int
    reverse : bool
    until : bool
        The body's last output is the stop condition.
    length : int or None
        The number of steps when it is known statically (and ``until`` is False).
    label : str or None
        The user's name for the loop (messages only; not part of its identity).
    truncate : int
        Theano's ``truncate_gradient``: -1, or how many of the last steps the gradient goes
        back through (truncated backpropagation through time).
    """

    body: object
    seq_offsets: tuple
    n_sequences: int
    state_taps: tuple
    state_history: tuple
    n_nitsot: int
    n_nonseqs: int
    reverse: bool = False
    until: bool = False
    length: int = None
    label: str = field(default=None, compare=False)
    truncate: int = -1

    name = "scan"

    # -- structure -------------------------------------------------------------------

    @property
    def n_states(self):
        """The number of recurrent states."""
        return len(self.state_taps)

    @property
    def n_slices(self):
        """The number of sequence-slice inputs of the body."""
        return len(self.seq_offsets)

    @property
    def n_taps(self):
        """The number of state-tap inputs of the body."""
        return sum(len(taps) for taps in self.state_taps)

    def window(self, state):
        """How many past values state ``state`` keeps (its initial value's rows)."""
        return -min(self.state_taps[state])

    def key(self):
        body = None if self.body is None else graph_digest(self.body)
        return ("Scan", body, self.seq_offsets, self.n_sequences, self.state_taps,
                self.state_history, self.n_nitsot, self.n_nonseqs, self.reverse, self.until,
                self.length)

    def describe(self):
        return f"scan '{self.label}'" if self.label else "scan"

    # -- type rule -------------------------------------------------------------------

    def infer_type(self, n_steps, *types):
        where = self.describe()
        if n_steps.ndim != 0 or n_steps.dtype not in dtypes.INTS:
            raise DTypeError(f"{where}: n_steps must be a 0-d integer; got {n_steps}")
        expected = self.n_sequences + self.n_states + self.n_nonseqs
        if len(types) != expected:
            raise TypeError(f"{where}: {expected} inputs after n_steps; got {len(types)}")
        sequences = types[:self.n_sequences]
        initial = types[self.n_sequences:self.n_sequences + self.n_states]
        nonseqs = types[self.n_sequences + self.n_states:]
        if self.body is None:
            return self._output_types(initial, None)
        body_inputs = [leaf.type for leaf in self.body.inputs]
        expected_inputs = []
        for sequence, offset in self.seq_offsets:
            seq = sequences[sequence]
            if seq.ndim == 0:
                raise ShapeError(f"{where}: sequence {sequence} is 0-d ({seq}); a sequence "
                                 "is iterated along its first axis")
            expected_inputs.append(TensorType(seq.dtype, seq.shape[1:]))
        for state, taps in enumerate(self.state_taps):
            init = initial[state]
            if init.ndim == 0:
                raise ShapeError(f"{where}: initial value of state {state} is 0-d; it has "
                                 f"one row per tap ({self.window(state)})")
            expected_inputs += [TensorType(init.dtype, init.shape[1:])] * len(taps)
        expected_inputs += list(nonseqs)
        if len(body_inputs) != len(expected_inputs):
            raise TypeError(f"{where}: the body has {len(body_inputs)} inputs; the loop "
                            f"gives it {len(expected_inputs)}")
        for position, (got, want) in enumerate(zip(body_inputs, expected_inputs)):
            if got.dtype != want.dtype or got.ndim != want.ndim:
                raise DTypeError(f"{where}: body input {position} has type {got}; the loop "
                                 f"gives it {want}")
        outputs = [node.type for node in self.body.outputs]
        n_expected = self.n_states + self.n_nitsot + int(self.until)
        if len(outputs) != n_expected:
            raise TypeError(f"{where}: the body has {len(outputs)} outputs; expected "
                            f"{n_expected}")
        for state in range(self.n_states):
            got, init = outputs[state], initial[state]
            if got.dtype != init.dtype or got.ndim != init.ndim - 1:
                raise DTypeError(
                    f"{where}: the step's value of state {state} has type {got}; its initial "
                    f"value ({init}) says {TensorType(init.dtype, init.shape[1:])}")
        if self.until and (outputs[-1].ndim != 0):
            raise ShapeError(f"{where}: the stop condition must be a scalar; got "
                             f"{outputs[-1]}")
        return self._output_types(initial, outputs[self.n_states:self.n_states + self.n_nitsot])

    def _output_types(self, initial, nitsot):
        length = None if self.until else self.length
        types = []
        for state, init in enumerate(initial):
            lead = length if self.state_history[state] else self.window(state)
            types.append(TensorType(init.dtype, (lead,) + tuple(init.shape[1:])))
        for ttype in nitsot or ():
            types.append(TensorType(ttype.dtype, (length,) + tuple(ttype.shape)))
        return TupleType(tuple(types))

    # -- running ---------------------------------------------------------------------

    def impl(self, n_steps, *arrays):
        from ..evaluate import evaluate
        return run_loop(self, lambda *values: evaluate(self.body, values), n_steps, arrays,
                        [leaf.type for leaf in self.body.outputs])

    # -- gradient --------------------------------------------------------------------

    def vjp(self, node, grads):
        """The gradient loop: a Scan running the other way (see ``_backward``)."""
        return _backward(self, node, grads)


@dataclass
class LoopState:
    """Where ``run_loop`` stands after a step, for a ``resume`` that takes over: the loop,
    its length, the next step ``i``, and its arrays: ``slices`` (sequence, offset) per
    sequence tap, ``reads`` (body input position, buffer, first row, rows) per state tap,
    ``writes`` (buffer, window, rows, row shape) per state, ``stacked`` the arrays of the
    per-step outputs."""

    op: object
    n: int
    i: int
    slices: list
    reads: list
    writes: list
    stacked: list


def run_loop(op, step, n_steps, arrays, nitsot_types, resume=None):
    """The outputs of loop ``op``, calling ``step(*body inputs)`` (a list of body outputs)
    once per step.  Shared by the numpy reference and the runtime, which passes the body's
    compiled function as ``step``, and may pass ``resume``: after the first step,
    ``resume(LoopState)`` runs steps from ``state.i`` on by other means (the runtime's
    native loop) and returns (the next step to run in Python, whether the loop stopped).

    Parameters
    ----------
    op : Scan
    step : callable
    n_steps : int or 0-d array
    arrays : sequence of numpy.ndarray
        The node's inputs after ``n_steps``.
    nitsot_types : sequence of TensorType
        The body's output types (for the shape of a per-step result of a loop of 0 steps).
    """
    where = op.describe()
    n = int(n_steps)
    sequences = arrays[:op.n_sequences]
    initial = arrays[op.n_sequences:op.n_sequences + op.n_states]
    nonseqs = list(arrays[op.n_sequences + op.n_states:])
    if n < 0:
        raise ValueError(f"{where}: n_steps is {n}; it must be at least 0")
    for sequence, offset in op.seq_offsets:
        available = len(sequences[sequence]) - offset
        if n > available:
            raise ValueError(
                f"{where}: sequence {sequence} has {len(sequences[sequence])} entries; "
                f"{n} steps reading it at offset {offset} need {n + offset}")
    slices = [(sequences[sequence], offset) for sequence, offset in op.seq_offsets]
    buffers, reads, writes = [], [], []
    position = op.n_slices
    for state, taps in enumerate(op.state_taps):
        init = initial[state]
        window = -min(taps)
        if init.shape[0] < window:
            raise ValueError(f"{where}: state {state} has taps {list(taps)}; its initial "
                             f"value needs {window} rows, got shape {init.shape}")
        size = window + n if op.state_history[state] else window + 1
        buffer = np.empty((size,) + init.shape[1:], init.dtype)
        buffer[:window] = init[:window]
        buffers.append(buffer)
        for tap in taps:
            reads.append((position, buffer, window + tap, size))
            position += 1
        writes.append((buffer, window, size, init.shape[1:]))
    args = [None] * position + nonseqs
    stacked = [None] * op.n_nitsot
    first_nitsot = op.n_states
    done = n
    i = 0
    while i < n:
        t = n - 1 - i if op.reverse else i
        # (row, ...) is a view even of a vector's entry: a 0-d array, never a numpy scalar
        for index, (sequence, offset) in enumerate(slices):
            args[index] = sequence[t + offset, ...]
        for index, buffer, start, size in reads:
            args[index] = buffer[(i + start) % size, ...]
        results = step(*args)
        for state, (buffer, window, size, shape) in enumerate(writes):
            value = results[state]
            if value.shape != shape:
                raise ValueError(f"{where}: at step {t} the step's value of state {state} "
                                 f"has shape {value.shape}; the state has shape {shape}")
            buffer[(i + window) % size] = value
        for index in range(op.n_nitsot):
            value = results[first_nitsot + index]
            out = stacked[index]
            if out is None:
                out = stacked[index] = np.empty((n,) + value.shape, value.dtype)
            elif value.shape != out.shape[1:]:
                raise ValueError(f"{where}: at step {t} output {first_nitsot + index} has "
                                 f"shape {value.shape}; at the first step it had "
                                 f"{out.shape[1:]}")
            out[t] = value
        if op.until and results[-1]:
            done = i + 1
            break
        i += 1
        if resume is not None and i == 1 < n:
            i, stopped = resume(LoopState(op, n, i, slices, reads, writes, stacked))
            if stopped:
                done = i
                break
    outputs = []
    for state, (buffer, window, size, _) in enumerate(writes):
        if op.state_history[state]:
            outputs.append(buffer[window:window + done])
        else:
            outputs.append(buffer[[(done + j) % size for j in range(window)]])
    for index, out in enumerate(stacked):
        if out is None:
            ttype = nitsot_types[first_nitsot + index]
            out = np.empty((0,) + tuple(s or 0 for s in ttype.shape), ttype.dtype)
        outputs.append(out[:done])
    return tuple(outputs)


# -- the gradient loop -------------------------------------------------------------------


def _backward(op, node, grads):
    """Gradients of a Scan's inputs given ``grads``, one cotangent (or None) per output.

    The gradient loop runs the steps the other way.  At forward iteration ``i`` it knows
    the cotangent of the value each state took there: the cotangent given for that
    output, plus what the steps that read it through their taps sent back.  It applies
    the body's vjp to that, and carries:

    - per (state, tap k), the cotangent of the tap input: a state of its own with the
      single tap ``k``, so that it arrives ``-k`` iterations later, where the value it
      belongs to was computed; its final window is the initial value's gradient;
    - per non-sequence, the running sum of its gradient (final value only);

    and returns per sequence slice the slice's gradient at each step, which is added into
    the sequence's gradient at the slice's offset.
    """
    from ...passes.autodiff import gradients  # the reverse-mode walk, applied to the body

    if op.body is None:
        raise NotImplementedError(f"{op.describe()}: no gradient of a deserialised loop")
    n_steps = node.inputs[0]
    sequences = node.inputs[1:1 + op.n_sequences]
    initial = node.inputs[1 + op.n_sequences:1 + op.n_sequences + op.n_states]
    nonseqs = node.inputs[1 + op.n_sequences + op.n_states:]
    outputs = [Node.make(Output(index), (node,)) for index in range(len(node.type.types))]
    n = _steps_taken(op, n_steps, outputs)
    from .. import build
    # truncated: the gradient loop runs the last ``steps`` steps only, the ``skip`` before
    # them get no gradient (Theano's truncate_gradient: the loop's sequences start there)
    skip, steps, length = None, n, None if op.until else op.length
    if op.truncate != -1:
        if op.reverse:
            raise NotImplementedError(f"{op.describe()}: truncate_gradient of a loop that "
                                      "runs backwards")
        steps = build.apply("minimum", n, _int64(op.truncate))
        skip = build.apply("sub", n, steps)
        length = None if length is None else min(length, op.truncate)
    body_in = op.body.inputs
    slice_leaves = body_in[:op.n_slices]
    tap_leaves = body_in[op.n_slices:op.n_slices + op.n_taps]
    nonseq_leaves = body_in[op.n_slices + op.n_taps:]

    def by_iteration(array):
        """``array`` (indexed by forward iteration) indexed by forward step."""
        return _reversed(array) if op.reverse else array

    def history(state, tap):
        """(array, offset): the gradient loop's sequence whose slice at step t is the
        value state ``state`` had ``-tap`` iterations before the one of step t."""
        if not op.state_history[state]:
            raise NotImplementedError(f"{op.describe()}: gradient through state {state}, "
                                      "whose history is not kept")
        full = Node.make(Join(0), (initial[state], outputs[state]))  # initial rows first
        if op.reverse:
            # iteration i reads full[i + window + tap] and i = n - 1 - t
            return _reversed(full), -tap
        return full, op.window(state) + tap

    # (state, tap, body leaf) of every state tap the body reads
    state_taps = [(state, tap) for state, taps in enumerate(op.state_taps) for tap in taps]
    state_taps = [(state, tap, leaf) for (state, tap), leaf in zip(state_taps, tap_leaves)]
    # the gradient loop's sequences: (outer array, offset, body leaf)
    seq_parts = []
    for (sequence, offset), leaf in zip(op.seq_offsets, slice_leaves):
        seq_parts.append((sequences[sequence], offset, leaf))
    for state, tap, leaf in state_taps:
        seq_parts.append((*history(state, tap), leaf))
    cotangent_leaves = []
    for state in range(op.n_states):
        g = grads[state]
        if g is None or node.type.types[state].dtype not in dtypes.FLOATS:
            cotangent_leaves.append(None)
            continue
        leaf = _leaf_like(outputs[state], drop=1)
        cotangent_leaves.append(leaf)
        seq_parts.append((by_iteration(g), 0, leaf))
    nitsot_leaves = []
    for index in range(op.n_nitsot):
        g = grads[op.n_states + index]
        out = outputs[op.n_states + index]
        if g is None or out.type.dtype not in dtypes.FLOATS:
            nitsot_leaves.append(None)
            continue
        leaf = _leaf_like(out, drop=1)
        nitsot_leaves.append(leaf)
        seq_parts.append((g, 0, leaf))

    # the gradient loop's states: per (float state, tap) the tap's cotangent, then per
    # float non-sequence its accumulated gradient
    carried = []  # (body leaf, initial value node, taps, kind, what)
    for state, tap, leaf in state_taps:
        if leaf.type.dtype in dtypes.FLOATS:
            zeros = _zero_rows(initial[state], -tap, 1)
            carried.append((_leaf_like(leaf), zeros, (tap,), "tap", (state, tap, leaf)))
    for position, (outer, leaf) in enumerate(zip(nonseqs, nonseq_leaves)):
        if leaf.type.dtype not in dtypes.FLOATS:
            continue
        zeros = _zero_rows(outer, 1, 0)
        carried.append((_leaf_like(leaf), zeros, (-1,), "sum", (position, leaf)))

    # the body of the gradient loop
    cost_grads = []
    for state in range(op.n_states):
        total = cotangent_leaves[state]
        for carry_leaf, _, _, kind, what in carried:
            if kind == "tap" and what[0] == state:
                total = carry_leaf if total is None else build.apply("add", total, carry_leaf)
        if total is not None:
            cost_grads.append((op.body.outputs[state], total))
    for index, leaf in enumerate(nitsot_leaves):
        if leaf is not None:
            cost_grads.append((op.body.outputs[op.n_states + index], leaf))
    wrt = list(body_in)
    found = gradients(cost_grads, wrt) if cost_grads else {leaf: None for leaf in wrt}
    new_carried = []
    for carry_leaf, _, _, kind, what in carried:
        leaf = what[-1]
        g = found.get(leaf)
        if kind == "tap":
            new_carried.append(g if g is not None else build.zeros_like(leaf))
        else:
            new_carried.append(carry_leaf if g is None else
                               build.cast(build.apply("add", carry_leaf, g),
                                          carry_leaf.type.dtype))
    slice_grads = []
    for leaf in slice_leaves:
        if leaf.type.dtype not in dtypes.FLOATS:
            continue
        g = found.get(leaf)
        slice_grads.append((leaf, g if g is not None else build.zeros_like(leaf)))

    # the gradient reads the step's outputs (tanh's derivative is 1 - y**2) from what the
    # forward loop stored, instead of computing them again
    from ..node import substitute, toposort
    back_outputs = new_carried + [g for _, g in slice_grads]
    needed = set(toposort(back_outputs))
    reused = {}
    for index, value in enumerate(op.body.outputs[:op.n_states + op.n_nitsot]):
        if value not in needed or isinstance(value.op, (Input, Constant)) or value in reused:
            continue
        stored = history(index, 0) if index < op.n_states else (outputs[index], 0)
        reused[value] = _leaf_like(value)
        seq_parts.append((*stored, reused[value]))
    back_outputs = substitute(back_outputs, reused)
    from ..graph import Graph
    body = Graph(tuple([leaf for _, _, leaf in seq_parts] + [c[0] for c in carried] +
                       list(nonseq_leaves)),
                 tuple(back_outputs))
    back = Scan(body=body,
                seq_offsets=tuple((index, offset) for index, (_, offset, _)
                                  in enumerate(seq_parts)),
                n_sequences=len(seq_parts),
                state_taps=tuple(c[2] for c in carried),
                # whole histories, which the trim_loops pass cuts to the final windows read
                # here unless a second-order gradient reads more
                state_history=(True,) * len(carried),
                n_nitsot=len(slice_grads), n_nonseqs=len(nonseq_leaves),
                reverse=not op.reverse, until=False, length=length,
                label=f"grad of {op.label}" if op.label else "grad of scan")
    back_node = Node.make(back, (steps, *[_from(outer, skip) for outer, _, _ in seq_parts],
                                 *[c[1] for c in carried], *nonseqs))
    back_out = [Node.make(Output(index), (back_node,))
                for index in range(len(back_node.type.types))]

    # the inputs' gradients
    input_grads = [None] * len(node.inputs)
    for position, (carry, out) in enumerate(zip(carried, back_out)):
        _, _, _, kind, what = carry
        if kind == "sum":
            index = 1 + op.n_sequences + op.n_states + what[0]
            input_grads[index] = _row(out, -1)
    for state in range(op.n_states):
        rows = []
        window = op.window(state)
        for j in range(window):
            total = None
            for carry, out in zip(carried, back_out):
                _, _, _, kind, what = carry
                if kind != "tap" or what[0] != state:
                    continue
                tap = what[1]
                # row j is read by forward iteration j - window - tap, whose tap cotangent
                # the carry computed at its iteration'th iteration from the end
                iteration = j - window - tap
                if iteration < 0:
                    continue
                part = _row(out, -1 - iteration) if skip is None else \
                    _truncated_row(out, iteration, skip)
                total = part if total is None else build.apply("add", total, part)
            if total is None:
                continue
            rows.append((j, total))
        if rows:
            grad = build.zeros_like(initial[state])
            for j, total in rows:
                grad = Node.make(IncSubtensor((("int", j),), "inc"), (grad, total))
            input_grads[1 + op.n_sequences + state] = grad
    slice_outputs = back_out[len(carried):]
    position = 0
    per_sequence = {}
    for (sequence, offset), leaf in zip(op.seq_offsets, slice_leaves):
        if leaf.type.dtype not in dtypes.FLOATS:
            continue
        per_sequence.setdefault(sequence, []).append((offset, slice_outputs[position]))
        position += 1
    for sequence, parts in per_sequence.items():
        outer = sequences[sequence]
        grad = build.zeros_like(outer)
        for offset, part in parts:
            start = _int64(offset)
            stop = build.apply("add", n, start) if offset else n
            if skip is not None:  # the rows of the steps the gradient went through
                start = build.apply("add", skip, start)
            grad = Node.make(IncSubtensor((("slice", "?", "?", None),), "inc"),
                             (grad, part, start, stop))
        input_grads[1 + sequence] = grad
    return tuple(input_grads)


def _steps_taken(op, n_steps, outputs):
    """The number of steps the loop ran: ``n_steps``, or for a loop that may stop early,
    the length of an output that has one row per step."""
    if not op.until:
        return n_steps
    for index, out in enumerate(outputs):
        per_step = index >= op.n_states or op.state_history[index]
        if per_step:
            return Node.make(Shape(0), (out,))
    raise NotImplementedError(f"{op.describe()}: gradient of a loop with a stop condition "
                              "and no per-step output")


def _reversed(array):
    """A view of ``array`` with its first axis reversed."""
    return Node.make(Subtensor((("slice", None, None, -1),)), (array,))


def _row(array, index):
    """``array[index]``."""
    return Node.make(Subtensor((("int", index),)), (array,))


def _from(array, start):
    """``array[start:]`` (``array`` itself for a None ``start``)."""
    if start is None:
        return array
    return Node.make(Subtensor((("slice", "?", None, None),)), (array, start))


def _truncated_row(out, iteration, skip):
    """The row of a truncated gradient loop's carried state ``out`` that belongs to forward
    iteration ``iteration``: its last row belongs to iteration ``skip``, the first one
    the loop went through; zeros when ``iteration`` came before it."""
    from .. import build
    reached = build.apply("ge", _int64(iteration), skip)
    # skip - 1 - iteration, clamped to a row that exists when the iteration is not reached
    position = build.apply("minimum", build.apply("sub", skip, _int64(1 + iteration)),
                           _int64(-1))
    row = Node.make(Subtensor((("int", "?"),)), (out, position))
    return build.apply("switch", reached, row, build.const(0, row))


def _int64(value):
    return Node.make(Constant(np.asarray(value, dtype=np.int64)))


def _zero_rows(like, count, skip):
    """Zeros of ``count`` rows, each shaped as ``like`` without its first ``skip`` axes."""
    from .. import build
    from .shape_ops import static_and_parameters
    lengths = [count] + [build.length(like, axis) for axis in range(skip, like.type.ndim)]
    static, parameters = static_and_parameters(lengths)
    zero = Node.make(Constant(np.zeros((), like.type.dtype)))
    return Node.make(Alloc(static), (zero, *parameters))


def _leaf_like(node, drop=0):
    """A new body input of ``node``'s type, without its first ``drop`` axes."""
    ttype = node.type
    return Node.make(Input.new(TensorType(ttype.dtype, ttype.shape[drop:]),
                               getattr(node.op, "label", None)))
