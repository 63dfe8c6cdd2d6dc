"""A drawing of a graph, independent of how it is rendered: nodes, edges and nested clusters.

The builders (``from_nodes``, ``from_schedule``) make a :class:`Drawing`; the writers
(``dot``, ``html``) render it.  Ids are made by the drawing, so two graphs drawn into one
drawing (before and after optimisation) never clash.
"""
from dataclasses import dataclass, field

# Node kinds drawn as ellipses: values (Theano's variables).  Everything else is a box.
VALUE_KINDS = frozenset({"input", "shared", "constant", "output", "value"})

NODE_KINDS = VALUE_KINDS | {"op", "scalar", "reduce", "host", "library", "loop", "branch"}
EDGE_KINDS = frozenset({"data", "feedback", "update"})
CLUSTER_KINDS = frozenset({"kernel", "loop", "branch", "side", "graph"})


@dataclass
class DrawNode:
    """One box (an op, a step, a kernel's scalar operation) or ellipse (a value).

    Attributes
    ----------
    id : str
    label : str
        Text shown; lines separated by newlines.
    kind : str
        One of ``NODE_KINDS``.
    cluster : str or None
        Id of the innermost cluster holding the node.
    details : dict
        Rows of the node's tooltip, in order (name -> text).
    color : str or None
        Fill colour (a Graphviz/CSS colour name or ``#rrggbb``).
    """

    id: str
    label: str
    kind: str
    cluster: str = None
    details: dict = field(default_factory=dict)
    color: str = None

    @property
    def shape(self):
        """'ellipse' for values, 'box' for operations."""
        return "ellipse" if self.kind in VALUE_KINDS else "box"


@dataclass
class DrawEdge:
    """A value flowing from node ``source`` to node ``target``.

    ``kind`` is 'data'; 'feedback' for a loop state flowing into the next step, or
    'update' for the new value of a shared variable (both drawn dashed, and not used to
    order the layers: they point backwards).
    """

    source: str
    target: str
    label: str = ""
    kind: str = "data"


@dataclass
class DrawCluster:
    """A rectangle around nodes and clusters: a fused kernel, a loop and its body, a
    conditional and its sides, or a whole graph.  ``parent`` is the enclosing cluster."""

    id: str
    label: str
    kind: str
    parent: str = None
    details: dict = field(default_factory=dict)
    color: str = None


class Source:
    """Where a builder finds a value in the drawing: node ``id``; ``via`` is added to the
    labels of the edges leaving it for this value (which output of a several-output
    node, which side of a conditional); ``shows_type`` is True for an ellipse, whose
    label already has the type."""

    __slots__ = ("id", "via", "shows_type")

    def __init__(self, node_id, via="", shows_type=False):
        self.id, self.via, self.shows_type = node_id, via, shows_type


@dataclass
class Drawing:
    """Nodes, edges and clusters of one picture, with a title."""

    title: str
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    clusters: list = field(default_factory=list)

    def add_node(self, label, kind, cluster=None, details=None, color=None):
        """Add a node and return its id."""
        _check_kind(kind, NODE_KINDS)
        node = DrawNode(f"n{len(self.nodes)}", label, kind, cluster, dict(details or {}),
                        color)
        self.nodes.append(node)
        return node.id

    def add_edge(self, source, target, label="", kind="data"):
        """Add an edge between two node ids."""
        _check_kind(kind, EDGE_KINDS)
        self.edges.append(DrawEdge(source, target, label, kind))

    def add_cluster(self, label, kind, parent=None, details=None, color=None):
        """Add a cluster and return its id."""
        _check_kind(kind, CLUSTER_KINDS)
        cluster = DrawCluster(f"c{len(self.clusters)}", label, kind, parent,
                              dict(details or {}), color)
        self.clusters.append(cluster)
        return cluster.id

    def to_json(self):
        """The drawing as plain JSON values (what the HTML view embeds)."""
        return {
            "title": self.title,
            "nodes": [{"id": n.id, "label": n.label, "kind": n.kind, "shape": n.shape,
                       "cluster": n.cluster, "details": n.details, "color": n.color}
                      for n in self.nodes],
            "edges": [{"source": e.source, "target": e.target, "label": e.label,
                       "kind": e.kind} for e in self.edges],
            "clusters": [{"id": c.id, "label": c.label, "kind": c.kind, "parent": c.parent,
                          "details": c.details, "color": c.color} for c in self.clusters],
        }


def _check_kind(kind, kinds):
    """ValueError unless ``kind`` is one of ``kinds`` (the viewer styles only those)."""
    if kind not in kinds:
        raise ValueError(f"Drawing: kind {kind!r}; expected one of {sorted(kinds)}")


def truncate(text, size):
    """``text`` cut to ``size`` characters per line, ending in '...' where cut."""
    lines = []
    for line in text.split("\n"):
        lines.append(line if len(line) <= size else line[:max(size - 3, 1)] + "...")
    return "\n".join(lines)
