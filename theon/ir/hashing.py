"""Deterministic structural hashes of graphs: equal across processes for equal graphs."""
import hashlib

from .ops.leaf import Input


def graph_digest(graph, extra=()):
    """A hex digest of ``graph``'s structure, input types and positions, and ``extra``.

    Inputs are identified by their position in ``graph.inputs`` (never by id or name), so a
    graph rebuilt from scratch, in this process or another, has the same digest.
    """
    hasher = hashlib.blake2b(digest_size=20)
    hasher.update(repr(extra).encode())
    numbering = {}
    for position, leaf in enumerate(graph.inputs):
        numbering[leaf] = len(numbering)
        hasher.update(repr(("input", position, leaf.type)).encode())
    for node in graph.nodes():
        if node in numbering:
            continue
        if isinstance(node.op, Input):
            raise ValueError(f"graph_digest: {node.op.describe()} is not a graph input")
        numbering[node] = len(numbering)
        key = (node.op.key(), [numbering[i] for i in node.inputs])
        hasher.update(repr(key).encode())
    hasher.update(repr(("outputs", [numbering[o] for o in graph.outputs])).encode())
    return hasher.hexdigest()
