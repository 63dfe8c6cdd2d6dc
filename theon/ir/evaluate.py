"""The numpy evaluator: runs a graph node by node through each op's ``impl``.

It is the reference every backend is tested against, and what constant folding uses.
"""
import numpy as np

from .ops.leaf import Input


def evaluate(graph, inputs):
    """Values of ``graph.outputs`` for the given input arrays.

    Parameters
    ----------
    graph : Graph
    inputs : sequence of array_like
        One value per ``graph.inputs`` entry, in order.

    Returns
    -------
    list of numpy.ndarray
    """
    if len(inputs) != len(graph.inputs):
        raise TypeError(f"evaluate: expected {len(graph.inputs)} inputs, got {len(inputs)}")
    values = {}
    for leaf, value in zip(graph.inputs, inputs):
        values[leaf] = np.asarray(value, dtype=leaf.type.dtype)
    for node in graph.nodes():
        if node in values:
            continue
        if isinstance(node.op, Input):
            raise ValueError(f"evaluate: {node.op.describe()} is not among the graph's inputs")
        values[node] = node.op.impl(*[values[i] for i in node.inputs])
    return [values[o] for o in graph.outputs]
