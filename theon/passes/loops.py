"""Loops keep only the part of their states' history that is read.

A state's output is, by default, its value at every step.  When the graph reads it only
through ``out[-k]`` with ``k`` at most the state's window (``reduce``, a shared variable
updated in the loop, a gradient's accumulators), the loop keeps just its final window: it
then stores ``window + 1`` rows instead of one per step (Theano's ``scan_save_mem``).
"""
from dataclasses import replace

from ..ir import Graph, Node, consumers, substitute
from ..ir.ops import Output, Scan
from ..ir.ops.indexing import Subtensor


def trim_loop_history(graph):
    """``graph`` with each loop state whose history only its last rows are read of turned
    into a final-window state; ``graph`` itself when there is none."""
    order = graph.nodes()
    users = consumers(order)
    returned = set(graph.outputs)
    swap = {}
    for node in order:
        if not isinstance(node.op, Scan):
            continue
        op = node.op
        history = list(op.state_history)
        for projection in users[node]:
            index = projection.op.index
            if index < op.n_states and history[index] and projection not in returned and \
                    _reads_last_rows(users[projection], op.window(index)):
                history[index] = False
        if tuple(history) == op.state_history:
            continue
        new = Node.make(replace(op, state_history=tuple(history)), node.inputs)
        new.trace = node.trace
        for projection in users[node]:
            index = projection.op.index
            moved = Node.make(Output(index), (new,))
            if index >= op.n_states or history[index] == op.state_history[index]:
                swap[projection] = moved
                continue
            for reader in users[projection]:
                swap[reader] = Node.make(reader.op, (moved,))
    if not swap:
        return graph
    return Graph(graph.inputs, tuple(substitute(graph.outputs, swap)))


def _reads_last_rows(readers, window):
    """Whether every reader is ``x[j]`` with ``-window <= j <= -1``: a row of the final
    window, whose position counted from the end is the same in the whole history."""
    if not readers:
        return False
    for reader in readers:
        if not isinstance(reader.op, Subtensor) or len(reader.op.index) != 1:
            return False
        kind, *parts = reader.op.index[0]
        if kind != "int" or not isinstance(parts[0], int) or not -window <= parts[0] <= -1:
            return False
    return True
