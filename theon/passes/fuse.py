"""Fusion of elementwise regions into Kernels.

Invariant established: every elementwise node of the input graph is computed inside
exactly one Kernel, every Kernel's inputs are computed outside it (no cycles), and all
nodes of one kernel share the broadcast pattern of its domain (so, once the runtime has
checked the inputs' shapes, the same shape).  A value whose shape differs from its
consumer's (a computed vector broadcast over a matrix) ends a region, so no element is
computed more than once; inputs and constants broadcast freely into kernels.
"""
from ..ir import (Constant, ElementwiseOp, Kernel, Node, Output, consumers,
                  scalar as s)

MAX_KERNEL_NODES = 2048  # larger regions are split: LLVM's time grows faster than linearly


def _fusible(node):
    return isinstance(node.op, ElementwiseOp)


class _Groups:
    """Union-find over fusion groups; each root keeps its members."""

    def __init__(self):
        self.parent = {}
        self.members = {}

    def add(self, node):
        self.parent[node] = node
        self.members[node] = [node]

    def find(self, node):
        root = node
        while self.parent[root] is not root:
            root = self.parent[root]
        while self.parent[node] is not root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, roots, node):
        """Merge groups ``roots`` and put ``node`` in the result; return the new root."""
        root = max(roots, key=lambda r: len(self.members[r]))
        for other in roots:
            if other is not root:
                self.parent[other] = root
                self.members[root].extend(self.members.pop(other))
        self.parent[node] = root
        self.members[root].append(node)
        return root


def _creates_cycle(node, roots, groups, users):
    """Whether putting ``node`` and groups ``roots`` in one kernel makes it depend on itself:
    a path that leaves the union and comes back into it."""
    union = set(roots)

    def inside(candidate):
        return candidate is node or (candidate in groups.parent and
                                     groups.find(candidate) in union)

    frontier = [u for u in users[node] if not inside(u)]
    if len(roots) > 1:
        for root in roots:
            for member in groups.members[root]:
                frontier.extend(u for u in users[member] if not inside(u))
    seen = set()
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        for user in users[current]:
            if inside(user):
                return True
            frontier.append(user)
    return False


def _assign_groups(order, users):
    """Group fusible nodes, consumers first; returns the union-find."""
    groups = _Groups()
    for node in reversed(order):
        if not _fusible(node):
            continue
        pattern = node.type.broadcastable  # equal patterns: equal shapes at run time
        roots = {groups.find(u) for u in users[node]
                 if u in groups.parent and u.type.broadcastable == pattern}
        roots = sorted((r for r in roots if len(groups.members[r]) < MAX_KERNEL_NODES),
                       key=lambda r: r.serial)
        if roots and not _creates_cycle(node, roots, groups, users):
            groups.union(roots, node)
        else:
            groups.add(node)
    return groups


def _unit_order(order, groups):
    """Fusion groups and unfused nodes as units, each after the units it reads from."""
    def unit(node):
        return groups.find(node) if node in groups.parent else node

    deps = {}
    for node in order:
        deps.setdefault(unit(node), set()).update(
            unit(i) for i in node.inputs if unit(i) is not unit(node))
    result, done = [], set()
    for start in deps:
        if start in done:
            continue
        stack = [(start, iter(deps[start]))]
        done.add(start)
        while stack:
            current, pending = stack[-1]
            for dep in pending:
                if dep not in done:
                    done.add(dep)
                    stack.append((dep, iter(deps[dep])))
                    break
            else:
                stack.pop()
                result.append(current)
    return result


def _build_kernel(members, member_set, users, graph_outputs, memo):
    """The kernel node computing ``members`` (in topological order) and its outputs."""
    inputs, input_index, scalars = [], {}, {}
    for member in members:
        args = []
        for child in member.inputs:
            if child in member_set:
                args.append(scalars[child])
            elif isinstance(child.op, Constant) and child.op.value.size == 1:
                args.append(s.const(child.op.value.reshape(()).item(), child.type.dtype))
            else:
                if child not in input_index:
                    input_index[child] = len(inputs)
                    inputs.append(child)
                args.append(s.input_(input_index[child], child.type.dtype))
        scalars[member] = member.op.scalar_body(args)
    outputs = [m for m in members
               if m in graph_outputs or any(u not in member_set for u in users[m])]
    kernel = Kernel(in_types=tuple(i.type for i in inputs),
                    out_types=tuple(o.type for o in outputs),
                    body=tuple(scalars[o] for o in outputs),
                    members=tuple(m.op.describe() for m in members))
    node = Node.make(kernel, [memo[i] for i in inputs])
    node.trace = members[-1].trace
    for index, out in enumerate(outputs):
        projected = Node.make(Output(index), (node,))
        projected.trace = out.trace
        memo[out] = projected


def fuse(graph):
    """Replace each connected elementwise region of ``graph`` by one Kernel node."""
    order = graph.nodes()
    users = consumers(order)
    groups = _assign_groups(order, users)
    if not groups.parent:
        return graph
    position = {node: index for index, node in enumerate(order)}
    graph_outputs = set(graph.outputs)
    memo = {}
    for unit in _unit_order(order, groups):
        if unit in groups.members:
            members = sorted(groups.members[unit], key=position.__getitem__)
            _build_kernel(members, set(members), users, graph_outputs, memo)
        elif unit.inputs:
            memo[unit] = unit.replace(inputs=[memo[i] for i in unit.inputs])
        else:
            memo[unit] = unit
    return graph.replace_outputs([memo[o] for o in graph.outputs])
