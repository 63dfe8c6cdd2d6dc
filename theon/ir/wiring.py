"""How the values of a loop or conditional reach the graphs inside it, and leave them
(for the printers).

A ``Scan`` node's inputs are ``n_steps, sequences, initial states, non-sequences``; its
body's are one slice per (sequence, offset), one per state tap, then the non-sequences.
A ``Branch`` node's inputs are the condition, the ``then`` side's values, then the
``else`` side's.  The text printer and the drawings both need these maps, written once here.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class BodyInput:
    """Body input ``position`` is fed by input ``outer`` of the loop or branch node;
    ``role`` says how (``'seq 0 [t+1]'``, ``'state 0 [t-1]'``, ``'non-seq'``, ``'value'``)."""

    position: int
    outer: int
    role: str


@dataclass(frozen=True)
class Feedback:
    """Body output ``output`` becomes body input ``position`` at a later step (``label``)."""

    output: int
    position: int
    label: str


def loop_inputs(op):
    """The BodyInput of each body input of the ``Scan`` op ``op``, in body order."""
    found = []
    for sequence, offset in op.seq_offsets:
        sign = "+" if offset >= 0 else "-"
        found.append(BodyInput(len(found), 1 + sequence,
                               f"seq {sequence} [t{sign}{abs(offset)}]"))
    first_state = 1 + op.n_sequences
    for state, taps in enumerate(op.state_taps):
        for tap in taps:
            found.append(BodyInput(len(found), first_state + state, f"state {state} [t{tap}]"))
    first_nonseq = first_state + op.n_states
    for index in range(op.n_nonseqs):
        found.append(BodyInput(len(found), first_nonseq + index, "non-seq"))
    return found


def loop_feedback(op):
    """The Feedback edges of the ``Scan`` op ``op``: each state's next value goes to every
    tap of that state."""
    found = []
    position = op.n_slices
    for state, taps in enumerate(op.state_taps):
        for tap in taps:
            found.append(Feedback(state, position, f"next [t{tap}]"))
            position += 1
    return found


def loop_outputs(op):
    """For each output of the ``Scan`` op ``op``: the body output it is made of."""
    return list(range(op.n_states + op.n_nitsot))


def loop_output_roles(op):
    """Labels of a Scan body's outputs: each state's next value, each per-step result,
    and the stop condition."""
    roles = [f"state {state} next" for state in range(op.n_states)]
    roles += [f"per-step {index}" for index in range(op.n_nitsot)]
    if op.until:
        roles.append("until")
    return roles


def loop_condition(op):
    """The body output that stops the loop of ``Scan`` op ``op``, or None."""
    return op.n_states + op.n_nitsot if op.until else None


def branch_inputs(n_then, n_inputs):
    """(then inputs, else inputs) of a ``Branch`` node with ``n_inputs`` inputs whose
    then side takes ``n_then``, as lists of BodyInput: input 0 is the condition, the then
    side reads inputs ``1 .. n_then``, the else side the rest."""
    then_side = [BodyInput(k, 1 + k, "then") for k in range(n_then)]
    else_side = [BodyInput(k, 1 + n_then + k, "else") for k in range(n_inputs - 1 - n_then)]
    return then_side, else_side
