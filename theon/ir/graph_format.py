"""Graphs as data: a user's graph (before any pass) written as JSON and raw buffers.

A graph document lists the nodes reachable from a graph's outputs (and its inputs) in
topological order, each as ``[op, input numbers, trace]``.  An op is described by data only:

* a constant by its dtype, shape and a buffer whose bytes the caller stores;
* an elementwise op by its identity ``(name, attrs)``, found again by ``find_elementwise``:
  the built-in ops, casts, and user-defined ops registered with ``register_custom`` (such
  an op must be defined again in the loading process before the graph is loaded);
* any other op by its class name, looked up in the ops ``register_op`` recorded or the host
  ops (``ir.node.HOST_OPS``), and its dataclass fields as JSON values.  A graph an op holds
  (the body of a ``Scan``, the sides of a ``Branch``) is a document of its own in the same
  file, written once however many ops hold it;
* an input leaf by what the caller's ``leaf`` function makes of it (the frontend refers to
  a shared variable, or to a token that pickle shares between the variables of one
  pickle), or, when ``leaf`` gives None, by its type and label: loading makes a new input.
  The inputs of a nested graph are always of this second kind.

Loading rebuilds every node with ``Node.make``, so a loaded graph is made of the same nodes
as an equal graph built in the loading process, and its type rules run again.  Nothing is
unpickled or evaluated: op classes come only from the registries, and malformed input
raises ``SerializationError``.
"""
import dataclasses
import math

import numpy as np

from . import dtypes
from .container import SerializationError, checked_index, pack, unpack
from .graph import Graph
from .node import HOST_OPS, Node, toposort
from .ops.branch import Branch, IfElse
from .ops.elementwise import ElementwiseOp, find_elementwise
from .ops.gradient_ops import DisconnectedGrad, GradClip, GradScale, ZeroGrad
from .ops.leaf import Constant, Input, Output
from .ops.scan import Scan
from .types import TensorType

FORMAT = 1
MAGIC = b"THEONGRF"

_OP_CLASSES = {}  # class name -> op class, besides the host ops


class UndefinedOpError(SerializationError):
    """A stored graph names an op that this process does not define (a user-defined op not
    defined again before loading)."""


def register_op(cls):
    """Let graph documents hold ops of class ``cls``, rebuilt as ``cls(**fields)``.

    The host ops (``ir.host_op``) are known already.  Use this as a class decorator for
    an op defined outside theon's catalogue whose fields are data.

    Parameters
    ----------
    cls : type
        A frozen dataclass subclass of ``ir.Op`` whose fields hold only None, bools, ints,
        floats, strings, ``TensorType``s, ``Graph``s and tuples of these.

    Returns
    -------
    type
        ``cls``.

    Raises
    ------
    TypeError
        ``cls`` is not a dataclass, or another class of that name is registered.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"register_op: {cls.__name__} is not a dataclass; a graph document "
                        "rebuilds an op from its dataclass fields")
    known = _OP_CLASSES.get(cls.__name__, HOST_OPS.get(cls.__name__))
    if known is not None and known is not cls:
        raise TypeError(f"register_op: another op class named {cls.__name__!r} is "
                        f"registered ({known.__module__}.{known.__qualname__})")
    _OP_CLASSES[cls.__name__] = cls
    return cls


# the ops of user graphs that never run as a host step (a Branch appears only after the
# lazy_branches pass, but a graph may be stored at any stage)
for _cls in (Output, IfElse, Branch, Scan, ZeroGrad, DisconnectedGrad, GradClip, GradScale):
    register_op(_cls)


def _op_class(name):
    """The registered op class called ``name``, or None."""
    return _OP_CLASSES.get(name, HOST_OPS.get(name))


def dumps_graph(graph, leaf=None):
    """``graph`` as bytes: magic, format, JSON length, JSON, constant buffers.

    Parameters
    ----------
    graph : Graph
    leaf : callable, optional
        ``leaf(node) -> JSON value or None`` for each input node of the graph and every
        input node its outputs reach outside nested graphs; None (or no ``leaf``) writes the
        input's type and label, and loading then makes a new input.

    Returns
    -------
    bytes

    Raises
    ------
    SerializationError
        An op that cannot be described as data (named in the message), or an input of a
        subclass of ``Input`` that ``leaf`` did not describe.
    """
    return pack(MAGIC, FORMAT, lambda array: graph_document(graph, leaf, array))


def loads_graph(data, leaf=None):
    """The Graph ``dumps_graph`` wrote into ``data``.

    Parameters
    ----------
    data : bytes
    leaf : callable, optional
        ``leaf(value) -> Node`` for each value the writer's ``leaf`` gave.

    Returns
    -------
    Graph

    Raises
    ------
    SerializationError
        ``data`` is not a graph this version of theon wrote (or reads), is truncated or
        malformed; ``UndefinedOpError`` (a subclass) when it names an op this process does
        not define.
    """
    document, array = unpack(data, MAGIC, FORMAT, "graph")
    return graph_from_document(document, leaf, array)


def graph_document(graph, leaf, array):
    """The JSON structure of ``graph`` (see the module's docstring).

    Parameters
    ----------
    graph : Graph
    leaf : callable or None
        As for ``dumps_graph``.
    array : callable
        ``array(ndarray) -> JSON value``: stores a constant's value and says where.

    Returns
    -------
    dict
        ``{"graphs": [...], "main": index}``; JSON values only.
    """
    writer = _Writer(leaf, array)
    main = writer.graph(graph, nested=False)
    return {"graphs": writer.documents, "main": main}


def graph_from_document(document, leaf, array):
    """The Graph of ``document`` (``graph_document``'s result), its nodes made with
    ``Node.make``.

    Parameters
    ----------
    document : dict
    leaf : callable or None
        ``leaf(value) -> Node`` for the values the writer's ``leaf`` gave.
    array : callable
        ``array(spec) -> ndarray`` for the values the writer's ``array`` gave.

    Returns
    -------
    Graph

    Raises
    ------
    SerializationError
    """
    try:
        reader = _Reader(document["graphs"], leaf, array)
        return reader.graph(document["main"])
    except SerializationError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise SerializationError(f"malformed graph: {error!r}") from None


def _type(ttype):
    return [ttype.dtype, list(ttype.shape)]


def _load_type(spec):
    dtype, shape = spec
    if dtype not in dtypes.ALL:
        raise SerializationError(f"malformed graph: unknown dtype {dtype!r}")
    if not all(length is None or isinstance(length, int) and length >= 0 for length in shape):
        raise SerializationError(f"malformed graph: shape {shape!r}")
    return TensorType(dtype, tuple(shape))


def _index(value, bound, what):
    return checked_index(value, bound, what, "graph")


def _described(value):
    """A short text naming what ``value`` is, for errors."""
    if callable(value):
        return f"the callable {getattr(value, '__qualname__', type(value).__name__)!r}"
    return f"a {type(value).__name__}"


class _Writer:
    """Writes graphs into ``documents``, each nested graph once."""

    def __init__(self, leaf, array):
        self.leaf = leaf
        self.array = array
        self.documents = []
        self.numbers = {}  # Graph -> its position in documents

    def graph(self, graph, nested):
        """The position of ``graph``'s document, written first if new."""
        if graph in self.numbers:
            return self.numbers[graph]
        own = set(graph.inputs) if nested else ()
        numbering, nodes = {}, []
        for node in toposort(tuple(graph.outputs) + tuple(graph.inputs)):
            spec = self.node(node, node in own)
            numbering[node] = len(nodes)
            nodes.append([spec, [numbering[i] for i in node.inputs], node.trace])
        document = {"inputs": [numbering[i] for i in graph.inputs],
                    "outputs": [numbering[o] for o in graph.outputs], "nodes": nodes}
        self.numbers[graph] = len(self.documents)
        self.documents.append(document)
        return self.numbers[graph]

    def node(self, node, own_input):
        """The description of ``node``'s op."""
        op = node.op
        if isinstance(op, Input):
            described = None if own_input or self.leaf is None else self.leaf(node)
            if described is not None:
                return {"leaf": described}
            if type(op) is not Input:
                raise SerializationError(
                    f"{op.describe()!r} ({type(op).__name__}) cannot be stored in a graph "
                    "document on its own: it is an input of a kind that only the frontend "
                    "describes (a shared variable is pickled or saved with its variable)")
            return {"input": [_type(op.type), op.label]}
        if isinstance(op, Constant):
            return {"constant": self.array(op.value)}
        if isinstance(op, ElementwiseOp):
            try:
                find_elementwise(op.name, op.attrs)
            except KeyError:
                raise SerializationError(
                    f"elementwise op {op.name!r} cannot be stored: it is not registered "
                    "(a user-defined op must be registered with "
                    "ir.ops.elementwise.register_custom to be found again)") from None
            return {"elementwise": [op.name, self.value(op.attrs, op, "attrs")]}
        cls = type(op)
        if _op_class(cls.__name__) is not cls:
            raise SerializationError(
                f"op {op.describe()!r} ({cls.__module__}.{cls.__qualname__}) cannot be "
                "stored: it is not an op theon rebuilds from data (see "
                "ir.graph_format.register_op)")
        fields = {field.name: self.value(getattr(op, field.name), op, field.name)
                  for field in dataclasses.fields(op)}
        return {"op": [cls.__name__, fields]}

    def value(self, value, op, field):
        """``value`` (a field of ``op``) as JSON, or SerializationError naming both."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"float": repr(float(value))}
        if isinstance(value, (tuple, list)):
            return [self.value(item, op, field) for item in value]
        if isinstance(value, TensorType):
            return {"type": _type(value)}
        if isinstance(value, Graph):
            return {"graph": self.graph(value, nested=True)}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return self.value(value.item(), op, field)
        raise SerializationError(
            f"op {op.describe()!r} ({type(op).__name__}) cannot be stored: its field "
            f"{field!r} holds {_described(value)}, which is not data")


class _Reader:
    """Rebuilds graphs from their documents, each nested graph once."""

    def __init__(self, documents, leaf, array):
        self.documents = documents
        self.leaf = leaf
        self.array = array
        self.graphs = {}  # position -> Graph
        self.loading = set()

    def graph(self, number):
        """The Graph of document ``number``."""
        number = _index(number, len(self.documents), "graph")
        if number in self.graphs:
            return self.graphs[number]
        if number in self.loading:
            raise SerializationError(f"malformed graph: graph {number} contains itself")
        self.loading.add(number)
        document = self.documents[number]
        nodes = []
        for position, (spec, inputs, trace) in enumerate(document["nodes"]):
            if trace is not None and not isinstance(trace, str):
                raise SerializationError(f"malformed graph: node {position} has trace "
                                         f"{trace!r}")
            args = [nodes[_index(i, len(nodes), "input node")] for i in inputs]
            nodes.append(self.node(spec, args, trace, position))
        pick = (lambda i: nodes[_index(i, len(nodes), "node")])
        graph = Graph(tuple(pick(i) for i in document["inputs"]),
                      tuple(pick(o) for o in document["outputs"]))
        self.loading.discard(number)
        self.graphs[number] = graph
        return graph

    def node(self, spec, inputs, trace, position):
        """The node ``spec`` describes, applied to ``inputs``."""
        (kind, content), = spec.items()
        if kind == "leaf":
            if self.leaf is None:
                raise SerializationError("malformed graph: a leaf reference, and no leaf "
                                         "resolver was given")
            return self.leaf(content)
        if kind == "input":
            type_spec, label = content
            if label is not None and not isinstance(label, str):
                raise SerializationError(f"malformed graph: input label {label!r}")
            op = Input.new(_load_type(type_spec), label)
        elif kind == "constant":
            op = Constant(self.array(content))
        elif kind == "elementwise":
            name, attrs = content
            try:
                op = find_elementwise(name, self.value(attrs))
            except KeyError:
                raise UndefinedOpError(
                    f"elementwise op {name!r} is not defined in this process (a "
                    "user-defined op must be defined before a graph using it is "
                    "loaded)") from None
        elif kind == "op":
            name, fields = content
            op = self.op(name, fields)
        else:
            raise SerializationError(f"malformed graph: unknown node kind {kind!r}")
        try:
            return Node.make(op, inputs, trace)
        except (TypeError, ValueError) as error:
            raise SerializationError(f"malformed graph: node {position} "
                                     f"({op.describe()}): {error}") from None

    def op(self, name, fields):
        """The op of class ``name`` with ``fields``."""
        cls = _op_class(name)
        if cls is None:
            raise UndefinedOpError(f"op class {name!r} is not defined in this process")
        values = {field: self.value(value) for field, value in fields.items()}
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise SerializationError(f"malformed graph: op {name}: {error}") from None

    def value(self, value):
        """A field value from its JSON form."""
        if isinstance(value, list):
            return tuple(self.value(item) for item in value)
        if isinstance(value, dict):
            (kind, content), = value.items()
            if kind == "float" and content in ("nan", "inf", "-inf"):
                return float(content)
            if kind == "type":
                return _load_type(content)
            if kind == "graph":
                return self.graph(content)
            raise SerializationError(f"malformed graph: field value {value!r}")
        return value
