"""Drawing a graph of ``ir`` nodes: what the user built, before any pass ran.

Ops are boxes; inputs, constants and outputs are ellipses showing their type.  With
``compact`` an intermediate value is an edge labelled with its type; without it, an
ellipse of its own.  A loop (``Scan``) is a cluster holding its body, wired to the values
outside it.  A conditional is an ``IfElse`` box: its sides become graphs (``Branch``) only
in the compiler's passes, and the drawing of a compiled function shows those.
"""
from ... import ir
from ...ir import wiring
from ...ir.ops.scan import Scan
from .model import Source
from .style import CLUSTER_FILLS, constant_text, edge_label, op_class, value_label



def draw_nodes(drawing, outputs, style, names=None, cluster=None, output_labels=None):
    """Draw the graph under the ir nodes ``outputs`` into ``drawing``, inside ``cluster``.

    Parameters
    ----------
    drawing : Drawing
    outputs : sequence of ir.Node
    style : Style
    names : dict, optional
        Node -> the user's name for it.
    cluster : str, optional
        Id of the cluster to draw into.
    output_labels : sequence of str, optional
        Label of each output's ellipse (default: its name, else ``output k``).

    Returns
    -------
    (dict, list)
        Input node -> id of its ellipse (for the inputs the outputs depend on), and the
        id of each output's ellipse.
    """
    painter = _Painter(drawing, style, names or {}, cluster)
    for node in ir.toposort(list(outputs)):
        painter.draw(node)
    output_ids = []
    for index, node in enumerate(outputs):
        label = output_labels[index] if output_labels else \
            painter.names.get(node) or f"output {index}"
        text = value_label(label, node.type, style)
        output_id = drawing.add_node(style.label(text), "output", cluster,
                                     {"output": str(index), "type": str(node.type)},
                                     style.color("Output"))
        for source in painter.sources_of(node):
            drawing.add_edge(source.id, output_id, edge_label(0, 1, source.via, None))
        output_ids.append(output_id)
    return painter.inputs, output_ids


class _Painter:
    """Draws nodes one at a time, operands first, remembering where each value is."""

    def __init__(self, drawing, style, names, cluster):
        self.drawing, self.style, self.names, self.cluster = drawing, style, names, cluster
        self.sources = {}      # node -> list of Source
        self.tuples = {}       # node of a drawn loop/branch -> per output, list of Source
        self.inputs = {}       # Input node -> ellipse id
        self.op_count = 0

    def draw(self, node):
        """Add ``node`` (its operands already drawn) and record where its value is."""
        op = node.op
        if isinstance(op, ir.Input):
            self.inputs[node] = self._leaf(
                node, "shared" if type(op).__name__ == "SharedInput" else "input",
                self.names.get(node) or op.label or "")
            self.sources[node] = [Source(self.inputs[node], shows_type=True)]
        elif isinstance(op, ir.Constant):
            pass    # drawn at each use (sources_of)
        elif isinstance(op, ir.Output):
            self._projection(node)
        elif isinstance(op, Scan) and op.body is not None and self.style.scan_graphs:
            self._loop(node)
        else:
            self._op(node)

    def sources_of(self, node):
        """Where the value of ``node`` (already drawn) is.  A constant gets an ellipse of
        its own at each use, as in Theano's drawings: one shared constant (say 0.5 used
        by fifty ops) would otherwise pull fifty long edges across the picture."""
        if isinstance(node.op, ir.Constant):
            node_id = self._leaf(node, "constant", constant_text(node.op.value))
            return [Source(node_id, shows_type=True)]
        return self.sources[node]

    def _leaf(self, node, kind, name):
        """An input or constant: an ellipse with its type; returns its id."""
        style = self.style
        text = value_label(name, node.type, style) if kind != "constant" else \
            f"{name} {node.type}"
        details = {"kind": kind, "type": str(node.type)}
        if kind == "constant":
            details["value"] = name[len("val="):]
        elif name:
            details["name"] = name
        return self.drawing.add_node(style.label(text), kind, self.cluster, details,
                                     style.color(op_class(node.op)))

    def _op(self, node):
        """An op: a box, with an edge from each operand."""
        style = self.style
        label = node.op.describe()
        if style.with_ids:
            label += f" id={self.op_count}"
        details = {"op": node.op.describe(), "class": op_class(node.op),
                   "type": str(node.type), "id": str(self.op_count)}
        if node.trace:
            details["defined at"] = node.trace
        self.op_count += 1
        node_id = self.drawing.add_node(style.label(label), "op", self.cluster, details,
                                        style.color(op_class(node.op)))
        self._edges_in(node, node.inputs, node_id)
        self.sources[node] = self._value(node, [Source(node_id)])

    def _edges_in(self, node, operands, target_id):
        """Edges from the first ``operands`` of ``node`` to a box."""
        for position, operand in enumerate(operands):
            for source in self.sources_of(operand):
                ttype = None if source.shows_type else operand.type
                self.drawing.add_edge(source.id, target_id,
                                      edge_label(position, len(node.inputs), source.via,
                                                 ttype))

    def _value(self, node, sources, via=""):
        """Where ``node``'s value is: ``sources``, or with ``compact=False`` (and a single
        tensor value) an ellipse of its own fed by them."""
        if self.style.compact or isinstance(node.type, ir.TupleType):
            return sources
        name = self.names.get(node, "")
        text = value_label(name, node.type, self.style)
        if via:
            text = f"{via} {text}"
        value_id = self.drawing.add_node(self.style.label(text), "value", self.cluster,
                                         {"type": str(node.type)})
        for source in sources:
            self.drawing.add_edge(source.id, value_id, source.via)
        return [Source(value_id, shows_type=True)]

    def _projection(self, node):
        """Output ``k`` of a several-output node: an edge label, not a box."""
        owner, index = node.inputs[0], node.op.index
        if owner in self.tuples:
            sources = self.tuples[owner][index]
        else:
            sources = [Source(s.id, f"out {index}") for s in self.sources_of(owner)]
        self.sources[node] = self._value(node, sources, f"out {index}")

    def _cluster(self, node, kind):
        """A cluster for a loop node and its head box, fed by input 0; returns both ids."""
        op, style = node.op, self.style
        label = op.describe() + (f" id={self.op_count}" if style.with_ids else "")
        details = {"op": op.describe(), "class": op_class(op), "type": str(node.type),
                   "id": str(self.op_count)}
        self.op_count += 1
        cluster = self.drawing.add_cluster(style.label(label), kind, self.cluster,
                                           details, CLUSTER_FILLS[kind])
        head = self.drawing.add_node(style.label(label), kind, cluster, details,
                                     style.color(op_class(op)))
        self._edges_in(node, node.inputs[:1], head)
        return cluster, head

    def _body(self, body, cluster, output_labels):
        """Draw the graph ``body`` inside ``cluster``; (input ellipses, output ellipses)."""
        return draw_nodes(self.drawing, body.outputs, self.style, {}, cluster, output_labels)

    def _wire(self, node, body, inputs, body_inputs):
        """Edges from the node's operands to the body's input ellipses that exist."""
        for entry in body_inputs:
            leaf = body.inputs[entry.position]
            if leaf not in inputs:
                continue     # the body does not read it
            operand = node.inputs[entry.outer]
            for source in self.sources_of(operand):
                label = " ".join(part for part in (source.via, entry.role) if part)
                self.drawing.add_edge(source.id, inputs[leaf], label)

    def _loop(self, node):
        """A Scan: a cluster with a head box (fed n_steps) and the body graph, whose inputs
        are fed by the loop's operands and by the states' values of the previous step."""
        op = node.op
        cluster, head = self._cluster(node, "loop")
        inputs, outputs = self._body(op.body, cluster, wiring.loop_output_roles(op))
        self._wire(node, op.body, inputs, wiring.loop_inputs(op))
        for feedback in wiring.loop_feedback(op):
            leaf = op.body.inputs[feedback.position]
            if leaf in inputs:
                self.drawing.add_edge(outputs[feedback.output], inputs[leaf], feedback.label,
                                      "feedback")
        condition = wiring.loop_condition(op)
        if condition is not None:
            self.drawing.add_edge(outputs[condition], head, "until", "feedback")
        self.tuples[node] = [[Source(outputs[k], shows_type=True)]
                             for k in wiring.loop_outputs(op)]
        self.sources[node] = [Source(head)]
