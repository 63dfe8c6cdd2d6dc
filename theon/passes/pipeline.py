"""The compilation pipeline: one ordered list of named passes, each timed.

What runs, and in which order, is this file.  ``run_pipeline`` times every pass and counts
nodes before and after; with ``THEON_CHECK=1`` it verifies the IR after each pass and names
the pass that broke it.  Common-subexpression elimination needs no pass: nodes are
hash-consed, so equal expressions are built as one node.
"""
import os
import time
from dataclasses import dataclass

from ..ir import Graph, check
from .branches import lazy_branches
from .canonicalize import canonicalize
from .fold_constants import fold_constants
from .fuse import fuse
from .gemm import gemm
from .loops import trim_loop_history
from .one_hot import one_hot
from .schedule import schedule
from .stabilize import stabilize


@dataclass(frozen=True)
class Pass:
    """A named function Graph -> Graph (the last one, ``schedule``, returns a Schedule)."""

    name: str
    run: object


PIPELINE = (
    Pass("canonicalize", canonicalize),
    Pass("stabilize", stabilize),
    Pass("one_hot", one_hot),
    Pass("fold_constants", fold_constants),
    Pass("trim_loops", trim_loop_history),
    Pass("lazy_branches", lazy_branches),
    Pass("gemm", gemm),
    Pass("fuse", fuse),
    Pass("schedule", schedule),
)


@dataclass
class PassRecord:
    """What one pass did: its time and the node counts before and after."""

    name: str
    seconds: float
    nodes_before: int
    nodes_after: int


def run_pipeline(graph, passes=PIPELINE, verify=None):
    """Run ``passes`` in order on ``graph``; return the result and one PassRecord per pass.

    Parameters
    ----------
    graph : Graph
    passes : sequence of Pass
    verify : bool, optional
        Run ``ir.check`` after every pass (default: the ``THEON_CHECK`` environment flag).
    """
    if verify is None:
        verify = os.environ.get("THEON_CHECK", "0") not in ("", "0")
    records = []
    if verify:
        check(graph, after="(input)")
    nodes = len(graph.nodes())
    for step in passes:
        start = time.perf_counter()
        graph = step.run(graph)
        seconds = time.perf_counter() - start
        after = len(graph.nodes()) if isinstance(graph, Graph) else len(graph.steps)
        if verify and isinstance(graph, Graph):
            check(graph, after=step.name)
        records.append(PassRecord(step.name, seconds, nodes, after))
        nodes = after
    return graph, records
