"""Immutable, hash-consed graph nodes.

A :class:`Node` is an op applied to input nodes.  Building a node equal to one that already
exists returns the existing object, so equal subgraphs are one object: common-subexpression
elimination falls out of construction, and ``a is b`` is an exact structural comparison.
"""
import itertools
import weakref


HOST_OPS = {}  # class name -> op class, for the ops a serialised schedule rebuilds by key


def host_op(cls):
    """Class decorator for an op (a frozen dataclass whose fields are JSON values: ints,
    floats, strings, bools, None, tuples of them) that may run as a schedule's host step.
    Its key is ``(class name, *field values)`` and ``ir.serialize`` rebuilds it from that."""
    HOST_OPS[cls.__name__] = cls
    return cls


class Op:
    """Base of every op.  Subclasses are frozen dataclasses: their fields are attributes and
    are part of a node's identity, so they must be hashable.

    A subclass defines ``name``, ``infer_type(*input_types)`` (the type rule, raising
    DTypeError or ShapeError for bad inputs) and ``impl(*arrays)`` (the numpy reference used
    by constant folding and ``ir.evaluate``).
    """

    def infer_type(self, *input_types):
        raise NotImplementedError(type(self).__name__)

    def impl(self, *arrays):
        raise NotImplementedError(type(self).__name__)

    def key(self):
        """A deterministic tuple of plain values identifying this op across processes:
        its class name and, for dataclass ops, its field values."""
        fields = getattr(self, "__dataclass_fields__", {})
        return (type(self).__name__,) + tuple(getattr(self, name) for name in fields)

    def describe(self):
        """Short text used by printers: the name and any attributes worth showing."""
        return self.name

    def vjp(self, node, grad):
        """Reverse-mode rule: given ``grad``, the gradient of the cost with respect to
        ``node`` (a node applying this op), return a tuple with one gradient node per input
        of ``node``, or None where the input gets no (a zero) gradient."""
        raise NotImplementedError(f"{self.describe()}: no gradient defined")


class Node:
    """An op applied to inputs, with the type the op's rule gave it.  Never build one with
    ``Node(...)``: use :meth:`Node.make`, which returns the existing node when there is one.

    Attributes
    ----------
    op : Op
    inputs : tuple of Node
    type : TensorType or TupleType
    trace : str or None
        The user's source line that first built this node (for error messages).
    serial : int
        Creation order within this process; used only to order commutative operands.
    """

    __slots__ = ("op", "inputs", "type", "trace", "serial", "__weakref__")
    _table = weakref.WeakValueDictionary()
    _serials = itertools.count()

    @classmethod
    def make(cls, op, inputs=(), trace=None):
        """Return the node applying ``op`` to ``inputs``, building it only if it is new."""
        inputs = tuple(inputs)
        key = (op, inputs)
        node = cls._table.get(key)
        if node is not None:
            return node
        node = object.__new__(cls)
        node.op = op
        node.inputs = inputs
        node.type = op.infer_type(*[i.type for i in inputs])
        node.trace = trace
        node.serial = next(cls._serials)
        cls._table[key] = node
        return node

    def replace(self, op=None, inputs=None):
        """This node with ``op`` and/or ``inputs`` swapped; ``self`` when nothing changed."""
        op = self.op if op is None else op
        inputs = self.inputs if inputs is None else tuple(inputs)
        if op == self.op and all(a is b for a, b in zip(inputs, self.inputs)) \
                and len(inputs) == len(self.inputs):
            return self
        node = Node.make(op, inputs)
        if node.trace is None:
            node.trace = self.trace
        return node

    def __repr__(self):
        return f"<Node {self.op.describe()} : {self.type} #{self.serial}>"

    def __reduce__(self):
        raise TypeError("ir.Node does not pickle; serialise a Graph with ir.serialize")


def toposort(outputs):
    """All nodes reachable from ``outputs``, each after its inputs (iterative, no recursion)."""
    order = []
    state = {}  # node -> False while on the stack, True once emitted
    for root in outputs:
        if root in state:
            continue
        stack = [(root, iter(root.inputs))]
        state[root] = False
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in state:
                    state[child] = False
                    stack.append((child, iter(child.inputs)))
                    break
            else:
                stack.pop()
                state[node] = True
                order.append(node)
    return order


def substitute(roots, replace):
    """``roots`` with every node in ``replace`` swapped for its replacement, rebuilding
    what depends on it (iteratively, in topological order; replacements are not searched
    for further keys)."""
    if not replace or not roots:
        return list(roots)
    memo = {}
    for node in toposort(roots):
        if node in replace:
            memo[node] = replace[node]
        elif not node.inputs:
            memo[node] = node
        else:
            memo[node] = node.replace(inputs=[memo[i] for i in node.inputs])
    return [memo[root] for root in roots]


def consumers(order):
    """Map each node in topological ``order`` to the list of nodes that use it."""
    users = {node: [] for node in order}
    for node in order:
        for child in node.inputs:
            users[child].append(node)
    return users
