"""The shared driver of rule-based passes: bottom up, memoised, to a fixed point."""
from ..ir import CompileError

MAX_SWEEPS = 32        # whole-graph sweeps before the driver gives up
MAX_RULES_PER_NODE = 64  # rule applications on one node within a sweep


def rewrite(graph, rules):
    """Apply ``rules`` to every node of ``graph`` until none fires.

    Each rule takes a node (whose inputs are already rewritten) and returns a replacement
    of the same type, or None to decline.  Returns ``graph`` itself when nothing changed.

    Raises
    ------
    CompileError
        When a rule returns a node of another type, or no fixed point is reached.
    """
    for _ in range(MAX_SWEEPS):
        new = _sweep(graph, rules)
        if new is graph:
            return graph
        graph = new
    raise CompileError(f"rewrite: no fixed point after {MAX_SWEEPS} sweeps with rules "
                       f"{[rule.__name__ for rule in rules]}")


def _sweep(graph, rules):
    memo = {}
    for node in graph.nodes():
        if not node.inputs:
            memo[node] = node
            continue
        memo[node] = _apply_rules(node.replace(inputs=[memo[i] for i in node.inputs]), rules)
    return graph.replace_outputs([memo[o] for o in graph.outputs])


def _apply_rules(node, rules):
    """``node`` after rules fire on it (not on the nodes they build) until none fires."""
    for _ in range(MAX_RULES_PER_NODE):
        for rule in rules:
            replacement = rule(node)
            if replacement is None or replacement is node:
                continue
            if replacement.type != node.type:
                raise CompileError(f"rewrite rule {rule.__name__} turned {node!r} into "
                                   f"{replacement!r} of another type")
            if replacement.trace is None:
                replacement.trace = node.trace
            node = replacement
            break
        else:
            return node
    raise CompileError(f"rewrite: rules keep firing on {node!r}")
