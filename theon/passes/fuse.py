"""Fusion of elementwise regions into Kernels.

Invariant established: every elementwise node of the input graph is computed inside a
Kernel, every Kernel's inputs are computed outside it (no cycles), and all nodes of one
fusion region share the broadcast pattern of its domain (so, once the runtime has checked
the inputs' shapes, the same shape).  A value whose shape differs from its consumer's (a
computed vector broadcast over a matrix) ends a region, so no expensive element is
computed more than once; inputs and constants broadcast freely into kernels.  Two kinds of
values are recomputed instead of read: a reduction's elementwise producers of its own
shape (``_inline_cone``), and cheap regions another kernel reads (``_cheap_cone``), whose
own kernel then exists only if something else needs the value stored.
"""
from ..ir import (Constant, ElementwiseOp, Kernel, Node, Output, consumers, dtypes,
                  scalar as s, toposort)
from ..ir.ops.reduce import Reduce

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


def _creates_cycle(node, roots, groups, users, stored):
    """Whether putting ``node`` and groups ``roots`` in one kernel makes it depend on itself:
    a path that leaves the union and comes back into it."""
    union = set(roots)

    def inside(candidate):
        return candidate is node or (candidate in groups.parent and
                                     groups.find(candidate) in union)

    # a reduction that recomputes ``node`` in its own kernel does not read it
    frontier = [u for u in users[node] if not inside(u) and not _recomputes(u, node, stored)]
    if len(roots) > 1:
        for root in roots:
            for member in groups.members[root]:
                frontier.extend(u for u in users[member] if not inside(u))
    seen, entered = set(), set()
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        for user in users[current]:
            if inside(user):
                return True
            frontier.append(user)
        # a group runs as one kernel: it waits for all its inputs, so the path goes on from
        # every member (the cost's scalars and the gradient's -1/n may share a kernel)
        if current in groups.parent:
            root = groups.find(current)
            if root not in entered:
                entered.add(root)
                frontier.extend(groups.members[root])
    return False


def _assign_groups(order, users, graph_outputs, stored):
    """Group fusible nodes, consumers first; returns the union-find.  A Reduce starts a
    group of its own, which takes in the elementwise nodes that feed only it and are not
    outputs of the graph (their values are folded, never stored)."""
    groups = _Groups()
    reductions = {}  # root of a reduction group -> the Reduce
    for node in reversed(order):
        if isinstance(node.op, Reduce):
            groups.add(node)
            reductions[node] = node
            continue
        if not _fusible(node):
            continue
        pattern = node.type.broadcastable  # equal patterns: equal shapes at run time
        user_roots = {groups.find(u) for u in users[node] if u in groups.parent}
        reduction = next((r for r in user_roots if r in reductions), None)
        if reduction is not None and len(user_roots) == 1 and node not in graph_outputs and \
                pattern == reductions[reduction].inputs[0].type.broadcastable and \
                all(u in groups.parent for u in users[node]) and \
                len(groups.members[reduction]) < MAX_KERNEL_NODES:
            # folded into the reduction: all its users are there, so it is never stored
            groups.union([reduction], node)
            continue
        # otherwise it joins the elementwise groups of its users; a reduction among them
        # recomputes it (_inline_cone) rather than reading it back from memory
        roots = {r for r in user_roots if r not in reductions and any(
            u in groups.parent and groups.find(u) is r and u.type.broadcastable == pattern
            for u in users[node])}
        roots = sorted((r for r in roots if len(groups.members[r]) < MAX_KERNEL_NODES),
                       key=lambda r: r.serial)
        if roots and not _creates_cycle(node, roots, groups, users, stored):
            groups.union(roots, node)
        else:
            groups.add(node)
    return groups


def _unit_order(order, groups, cheap_cones, stored, read_elsewhere):
    """Fusion groups and unfused nodes as units, each after the units it reads from.  The
    nodes a kernel reads through the cheap regions it recomputes (see ``_cheap_cone``) from
    other units go into ``read_elsewhere``: they must be stored."""
    def unit(node):
        return groups.find(node) if node in groups.parent else node

    deps = {}
    for node in order:
        own = unit(node)
        reads = node.inputs
        if isinstance(node.op, Reduce) and unit(node.inputs[0]) is not own:
            reads = _cone_leaves(node.inputs[0], stored)  # what _inline_cone makes it read
        elif _fusible(node):
            reads = []  # what _build_kernel makes it read: cheap inputs are recomputed
            for child in node.inputs:
                cheap = cheap_cones(child) if unit(child) is not own else None
                if cheap is None:
                    reads.append(child)
                    continue
                leaves = [leaf for leaf in cheap[1] if unit(leaf) is not own]
                read_elsewhere.update(leaves)
                reads.extend(leaves)
        # a dict as an ordered set: the schedule must not depend on hash order
        units = deps.setdefault(own, {})
        for read in reads:
            source = unit(read)
            if source is not own:
                units[source] = None
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


def _build_kernel(members, member_set, users, graph_outputs, read_by_cones, memo,
                  cheap_cones, stored):
    """The kernel node computing ``members`` (in topological order) and its outputs; none
    when every value it computes is recomputed where it is used."""
    inputs, input_index, scalars = [], {}, {}
    reduction = members[-1] if isinstance(members[-1].op, Reduce) else None
    for member in members:
        if member is reduction:
            break
        args = []
        for child in member.inputs:
            if child in member_set:
                args.append(scalars[child])
            elif isinstance(child.op, Constant) and child.op.value.size == 1:
                args.append(s.const(child.op.value.reshape(()).item(), child.type.dtype))
            elif cheap_cones(child) is not None:
                args.append(_cheap_scalars(child, cheap_cones(child)[0], inputs, input_index,
                                           scalars))
            else:
                if child not in input_index:
                    input_index[child] = len(inputs)
                    inputs.append(child)
                args.append(s.input_(input_index[child], child.type.dtype))
        scalars[member] = member.op.scalar_body(args)
    if reduction is not None:
        kernel = _reduction_kernel(reduction, member_set, scalars, inputs, input_index,
                                   members, stored)
        outputs = [reduction]
    else:
        # a reduction that recomputes a member (_inline_cone) does not read it; the leaves
        # of its recomputed cone it does read (``read_by_cones``)
        outputs = [m for m in members
                   if m in graph_outputs or m in read_by_cones or any(
                       u not in member_set and not _recomputes(u, m, stored) and
                       not (_fusible(u) and cheap_cones(m) is not None) for u in users[m])]
        if not outputs:
            return
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


def _reduction_kernel(reduction, member_set, scalars, inputs, input_index, members,
                      stored):
    """The Kernel folding the Reduce ``reduction`` over the values its region computes."""
    source = reduction.inputs[0]
    if source in member_set:
        value = scalars[source]
    else:
        value = _inline_cone(source, inputs, input_index, stored)
    op = reduction.op
    accumulator = dtypes.BOOL if op.combiner in ("and", "or") else op.dtype
    return Kernel(in_types=tuple(i.type for i in inputs), out_types=(reduction.type,),
                  body=(s.cast(value, accumulator),),
                  members=tuple(m.op.describe() for m in members),
                  reduce=(op.combiner, op.axes, op.keepdims), domain=source.type.shape)


MAX_RECOMPUTED_NODES = 64  # elementwise nodes a reduction recomputes instead of reading

# Elementwise ops a few instructions long, without a math function: a kernel that reads the
# result of a region of them from another kernel recomputes the region instead (its inputs
# are read either way), so the region is stored only for readers that are not kernels, and
# a value that two kernels read (a softmax's shifted logits, a one-hot mask) does not force
# a kernel of its own between them.
_CHEAP = frozenset({"add", "sub", "mul", "neg", "true_div", "cast", "eq", "neq", "lt", "le",
                    "gt", "ge", "switch", "second", "axis_index", "maximum", "minimum", "abs",
                    "and_", "or_", "invert"})
MAX_CHEAP_NODES = 16


def _cheap_cone(node):
    """(cone, leaves): the cheap elementwise nodes computing ``node`` (at most
    MAX_CHEAP_NODES) and the nodes they read; None when ``node`` is not cheap, or when the
    cone reads more than one array of ``node``'s full shape (then recomputing costs memory
    traffic, not only instructions)."""
    if not _fusible(node) or node.op.name not in _CHEAP:
        return None
    cone, leaves, stack = set(), {}, [node]
    while stack:
        current = stack.pop()
        if current in cone:
            continue
        if current is node or (_fusible(current) and current.op.name in _CHEAP and
                               len(cone) < MAX_CHEAP_NODES):
            cone.add(current)
            stack.extend(current.inputs)
            leaves.pop(current, None)
        elif not (isinstance(current.op, Constant) and current.op.value.size == 1):
            leaves[current] = None
    full = [leaf for leaf in leaves if leaf.type.broadcastable == node.type.broadcastable
            and leaf.type.ndim == node.type.ndim and _value_read(leaf, cone)]
    return None if len(full) > 1 else (cone, list(leaves))


def _value_read(leaf, cone):
    """Whether a node of ``cone`` reads ``leaf``'s values, not only its shape (the first
    operand of ``second`` and of ``axis_index``)."""
    return any(leaf is operand and not (position == 0 and n.op.name in ("second", "axis_index"))
               for n in cone for position, operand in enumerate(n.inputs))


def _cheap_scalars(node, cone, inputs, input_index, known=None):
    """The scalar DAG recomputing ``node`` from the leaves of its cheap ``cone``, adding the
    leaves to ``inputs`` (those in ``known``, computed by the kernel itself, excepted)."""
    values = dict(known or {})

    def value(current):
        if current in values:
            return values[current]
        if current in cone:
            result = current.op.scalar_body([value(i) for i in current.inputs])
        elif isinstance(current.op, Constant) and current.op.value.size == 1:
            result = s.const(current.op.value.reshape(()).item(), current.type.dtype)
        else:
            if current not in input_index:
                input_index[current] = len(inputs)
                inputs.append(current)
            result = s.input_(input_index[current], current.type.dtype)
        values[current] = result
        return result

    return value(node)


def _cone(source, stored):
    """The elementwise nodes a reduction of ``source`` recomputes: ``source`` and its
    producers of the same broadcast pattern, at most MAX_RECOMPUTED_NODES of them, stopping
    at values ``stored`` anyway (reading one costs no more than reading its inputs)."""
    pattern = source.type.broadcastable
    cone, stack = set(), [source]
    while stack and len(cone) < MAX_RECOMPUTED_NODES:
        node = stack.pop()
        if node in cone or not _fusible(node) or node.type.broadcastable != pattern or \
                node in stored:
            continue
        cone.add(node)
        stack.extend(node.inputs)
    return cone


def _cone_leaves(source, stored):
    """The nodes a kernel recomputing ``source`` (see _inline_cone) reads: the inputs of its
    cone that are outside it, single-element constants excepted (they become literals), and
    cheap ones recomputed in turn (see ``_cheap_cone``)."""
    cone = _cone(source, stored)
    if not cone:
        return [source]
    leaves = []
    for i in (i for node in cone for i in node.inputs if i not in cone and not (
            isinstance(i.op, Constant) and i.op.value.size == 1)):
        cheap = _cheap_cone(i)
        leaves.extend(cheap[1] if cheap is not None else (i,))
    return leaves


def _recomputes(user, node, stored):
    """Whether ``user`` is a Reduce whose kernel recomputes ``node`` instead of reading it."""
    return isinstance(user.op, Reduce) and node in _cone(user.inputs[0], stored)


def _inline_cone(source, inputs, input_index, stored):
    """The scalar DAG recomputing ``source`` from the leaves of its elementwise cone (nodes
    of its broadcast pattern, at most MAX_RECOMPUTED_NODES), adding the leaves to
    ``inputs``.  A reduction of exp(x - m) whose exp is also stored elsewhere (softmax)
    then reads x once instead of reading the stored exps: one pass over memory less."""
    cone = _cone(source, stored)
    scalars = {}
    for node in toposort([source]):
        if node in scalars:
            continue
        if node in cone:
            scalars[node] = node.op.scalar_body([scalars[i] for i in node.inputs])
            continue
        if isinstance(node.op, Constant) and node.op.value.size == 1:
            scalars[node] = s.const(node.op.value.reshape(()).item(), node.type.dtype)
            continue
        leaf = any(node in n.inputs for n in cone)
        cheap = _cheap_cone(node) if leaf and node is not source else None
        if cheap is not None:
            scalars[node] = _cheap_scalars(node, cheap[0], inputs, input_index)
        elif leaf or node is source:
            if node not in input_index:
                input_index[node] = len(inputs)
                inputs.append(node)
            scalars[node] = s.input_(input_index[node], node.type.dtype)
    return scalars[source]


def fuse(graph):
    """Replace each connected elementwise region of ``graph`` by one Kernel node."""
    order = graph.nodes()
    users = consumers(order)
    graph_outputs = set(graph.outputs)
    # values a host step or the caller reads: stored whatever fusion does, so a reduction
    # reads them rather than recomputing them (a tanh layer's output, a gradient a gemm reads)
    stored = frozenset(node for node in order if _fusible(node) and (
        node in graph_outputs or any(not _fusible(u) and not isinstance(u.op, Reduce)
                                     for u in users[node])))
    groups = _assign_groups(order, users, graph_outputs, stored)
    if not groups.parent:
        return graph
    position = {node: index for index, node in enumerate(order)}
    read_by_cones = {leaf for node in order if isinstance(node.op, Reduce)
                     and (node.inputs[0] not in groups.parent
                          or groups.find(node.inputs[0]) is not groups.find(node))
                     for leaf in _cone_leaves(node.inputs[0], stored)} \
        if any(isinstance(node.op, Reduce) for node in order) else set()
    cones = {}

    def cheap_cones(node):
        if node not in cones:
            cones[node] = _cheap_cone(node)
        return cones[node]

    memo = {}
    # (_unit_order adds what kernels read through the cheap regions they recompute)
    for unit in _unit_order(order, groups, cheap_cones, stored, read_by_cones):
        if unit in groups.members:
            members = sorted(groups.members[unit], key=position.__getitem__)
            _build_kernel(members, set(members), users, graph_outputs, read_by_cones, memo,
                          cheap_cones, stored)
        elif unit.inputs:
            memo[unit] = unit.replace(inputs=[memo[i] for i in unit.inputs])
        else:
            memo[unit] = unit
    return graph.replace_outputs([memo[o] for o in graph.outputs])
