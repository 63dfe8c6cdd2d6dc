"""Drawing a compiled function's schedule: the graph after optimisation.

Each fused kernel is a cluster holding its scalar body (one box per primitive operation,
operands first) and, for a reduction, the fold that ends it; the cluster's label lists
the ops fused into it (``Kernel.members``).  Host steps are boxes (library calls such as
BLAS products in their own colour); loops and conditionals are clusters holding their
bodies' schedules.  Values are buffer slots: edges labelled with their type, or with
``compact=False`` ellipses of their own.
"""
from ...ir import scalar as s
from ...ir import wiring
from ...ir.kernel import BranchStep, KernelStep, LoopStep
from ...ir.printing import slot_label
from .model import Source
from .style import CLUSTER_FILLS, constant_text, edge_label, is_library, op_class, value_label


def draw_schedule(drawing, schedule, style, cluster=None, timings=None, input_kinds=None,
                  output_labels=None):
    """Draw ``schedule`` into ``drawing`` inside ``cluster``.

    Parameters
    ----------
    drawing : Drawing
    schedule : ir.Schedule
    style : Style
    cluster : str, optional
    timings : dict, optional
        Step index -> StepTiming, for the top-level steps of a profiled function.
    input_kinds : sequence of str, optional
        'input' or 'shared' per input slot (default: 'input').
    output_labels : sequence of str, optional
        Label per output ellipse (default ``output k``).

    Returns
    -------
    (list, list)
        The ellipse id of each input slot and of each output.
    """
    painter = _Painter(drawing, schedule, style, cluster, timings or {})
    input_ids = painter.inputs(input_kinds)
    for number, step in enumerate(schedule.steps):
        painter.step(number, step)
    output_ids = []
    for index, slot in enumerate(schedule.outputs):
        label = output_labels[index] if output_labels else f"output {index}"
        text = value_label(label, schedule.slot_types[slot], style)
        output_id = drawing.add_node(style.label(text), "output", cluster,
                                     {"output": str(index),
                                      "type": str(schedule.slot_types[slot])},
                                     style.color("Output"))
        for source in painter.sources_of(slot):
            drawing.add_edge(source.id, output_id, source.via)
        output_ids.append(output_id)
    return input_ids, output_ids


class _Painter:
    """Draws one schedule's slots and steps, remembering which node holds each slot."""

    def __init__(self, drawing, schedule, style, cluster, timings):
        self.drawing, self.schedule, self.style = drawing, schedule, style
        self.cluster, self.timings = cluster, timings
        self.sources = {}      # slot -> list of Source
        self.constants = dict(schedule.constants)

    def _type(self, slot):
        """The type of ``slot``."""
        return self.schedule.slot_types[slot]

    def inputs(self, kinds):
        """An ellipse per input slot; returns their ids."""
        ids = []
        for slot in range(self.schedule.n_inputs):
            kind = kinds[slot] if kinds else "input"
            name = slot_label(self.schedule.slot_names[slot])
            color = self.style.color("SharedInput" if kind == "shared" else "Input")
            node_id = self.drawing.add_node(
                self.style.label(value_label(name, self._type(slot), self.style)),
                kind, self.cluster, {"kind": kind, "name": name, "slot": f"%{slot}",
                                     "type": str(self._type(slot))}, color)
            self.sources[slot] = [Source(node_id, shows_type=True)]
            ids.append(node_id)
        return ids

    def sources_of(self, slot):
        """Where the value of ``slot`` is; a constant gets an ellipse at each use (see
        ``from_nodes``)."""
        if slot not in self.constants:
            return self.sources[slot]
        value = self.constants[slot]
        text = f"{constant_text(value)} {self._type(slot)}"
        node_id = self.drawing.add_node(
            self.style.label(text), "constant", self.cluster,
            {"value": constant_text(value)[len("val="):], "slot": f"%{slot}",
             "type": str(self._type(slot))}, self.style.color("Constant"))
        return [Source(node_id, shows_type=True)]

    def step(self, number, step):
        """Draw step ``number``."""
        if isinstance(step, KernelStep):
            self._kernel(number, step)
        elif isinstance(step, LoopStep):
            self._loop(number, step)
        elif isinstance(step, BranchStep):
            self._branch(number, step)
        else:
            self._host(number, step)

    # -- labels ----------------------------------------------------------------------

    def _label(self, text, number):
        """A step's label: its text, ``id=N`` with ``with_ids``, its time if profiled."""
        text = self.style.label(text + (f" id={number}" if self.style.with_ids else ""))
        timing = self.timings.get(number)
        return text if timing is None else f"{text}\n{timing.label()}"

    def _details(self, number, rows):
        """Tooltip rows of step ``number``: ``rows`` and its time if profiled."""
        details = {"step": str(number), **rows}
        timing = self.timings.get(number)
        if timing is not None:
            details.update(timing.details())
        return details

    def _types(self, slots):
        """The types of ``slots``, as text."""
        return ", ".join(str(self._type(slot)) for slot in slots)

    # -- values ----------------------------------------------------------------------

    def _edge(self, slot, target, position, n_inputs, role=""):
        """Edges from the nodes holding ``slot`` to node ``target``."""
        for source in self.sources_of(slot):
            ttype = None if source.shows_type else self._type(slot)
            via = " ".join(part for part in (source.via, role) if part)
            self.drawing.add_edge(source.id, target, edge_label(position, n_inputs, via, ttype))

    def _produce(self, slot, sources):
        """Record that ``sources`` hold ``slot``: with ``compact=False`` through an ellipse
        of its own."""
        if self.style.compact:
            self.sources[slot] = sources
            return
        value_id = self.drawing.add_node(str(self._type(slot)), "value", self.cluster,
                                         {"slot": f"%{slot}", "type": str(self._type(slot)),
                                          "name": self.schedule.slot_names[slot]})
        for source in sources:
            self.drawing.add_edge(source.id, value_id, source.via)
        self.sources[slot] = [Source(value_id, shows_type=True)]

    # -- steps -----------------------------------------------------------------------

    def _host(self, number, step):
        """A host step: one box (a library call in the library colour)."""
        op = step.op
        kind = "library" if is_library(op) else "host"
        details = self._details(number, {"op": op.describe(), "class": op_class(op),
                                         "runs": "library call" if kind == "library"
                                         else "numpy on the host",
                                         "inputs": self._types(step.inputs),
                                         "output": str(self._type(step.output))})
        node_id = self.drawing.add_node(self._label(op.describe(), number), kind, self.cluster,
                                        details, self.style.color(op_class(op)))
        for position, slot in enumerate(step.inputs):
            self._edge(slot, node_id, position, len(step.inputs))
        self._produce(step.output, [Source(node_id)])

    def _kernel(self, number, step):
        """A fused kernel: a cluster of its scalar operations."""
        kernel = step.kernel
        rows = {"members": ", ".join(kernel.members), "symbol": step.symbol,
                "domain": str(list(kernel.domain_shape)),
                "inputs": self._types(step.inputs), "outputs": self._types(step.outputs)}
        if kernel.reduce is not None:
            rows["reduce"] = _reduce_text(kernel.reduce)
        details = self._details(number, rows)
        title = "kernel[" + ", ".join(kernel.members) + "]"
        cluster = self.drawing.add_cluster(self._label(title, number), "kernel", self.cluster,
                                           details, self.style.color("Kernel"))
        ids = {}
        for scalar in s.topological(kernel.body):
            if scalar.prim in ("input", "const"):
                continue
            ids[scalar] = self.drawing.add_node(
                _scalar_label(scalar), "scalar", cluster,
                {"operation": _prim(scalar), "dtype": scalar.dtype, "kernel step": str(number)})
            self._operands(step, scalar, ids, ids[scalar])
        for index, slot in enumerate(step.outputs):
            value = kernel.body[index]
            if kernel.reduce is not None:
                text = _reduce_text(kernel.reduce)
                node_id = self.drawing.add_node(
                    text, "reduce", cluster, {"operation": text, "dtype": self._type(slot).dtype,
                                              "kernel step": str(number)},
                    self.style.color("Reduce"))
                self._into(step, value, ids, node_id, 0, 1)
            elif value in ids:
                node_id = ids[value]
            else:   # the output is an input or constant, copied or broadcast
                node_id = self.drawing.add_node(_scalar_label(value, copy=True), "scalar",
                                                cluster, {"operation": "copy",
                                                          "dtype": value.dtype})
                self._into(step, value, ids, node_id, 0, 1)
            self._produce(slot, [Source(node_id)])

    def _operands(self, step, scalar, ids, target):
        """Edges into a scalar operation from its operands (constants are in its label)."""
        for position, operand in enumerate(scalar.args):
            self._into(step, operand, ids, target, position, len(scalar.args))

    def _into(self, step, operand, ids, target, position, n_operands):
        """An edge into ``target`` from a scalar operand: another operation, or the slot
        of a kernel input; none for a constant."""
        if operand.prim == "const":
            return
        if operand.prim == "input":
            self._edge(step.inputs[operand.attr], target, position, n_operands,
                       f"in{operand.attr}")
        else:
            self.drawing.add_edge(ids[operand], target, edge_label(position, n_operands, "",
                                                                   None))

    def _loop(self, number, step):
        """A loop: a cluster with a head box (fed n_steps) and the body's schedule."""
        op = step.op
        cluster, head = self._control(number, step, "loop")
        body = step.body
        inputs, outputs = draw_schedule(self.drawing, body, self.style, cluster,
                                        output_labels=wiring.loop_output_roles(op))
        for entry in wiring.loop_inputs(op):
            self._edge(step.inputs[entry.outer], inputs[entry.position], 0, 1, entry.role)
        for feedback in wiring.loop_feedback(op):
            self.drawing.add_edge(outputs[feedback.output], inputs[feedback.position],
                                  feedback.label, "feedback")
        condition = wiring.loop_condition(op)
        if condition is not None:
            self.drawing.add_edge(outputs[condition], head, "until", "feedback")
        for slot, body_output in zip(step.outputs, wiring.loop_outputs(op)):
            self._produce(slot, [Source(outputs[body_output], shows_type=True)])

    def _branch(self, number, step):
        """A conditional: a cluster with a head box (fed the condition) and a cluster per
        side holding its schedule; each output comes from either side."""
        cluster, _ = self._control(number, step, "branch")
        then_inputs, else_inputs = wiring.branch_inputs(step.op.n_then, len(step.inputs))
        side_outputs = []
        for side, body, entries in (("then", step.then_body, then_inputs),
                                    ("else", step.else_body, else_inputs)):
            side_cluster = self.drawing.add_cluster(side, "side", cluster)
            labels = [f"{side} {k}" for k in range(len(body.outputs))]
            inputs, outputs = draw_schedule(self.drawing, body, self.style, side_cluster,
                                            output_labels=labels)
            for entry in entries:
                self._edge(step.inputs[entry.outer], inputs[entry.position], 0, 1)
            side_outputs.append(outputs)
        for slot, then_id, else_id in zip(step.outputs, *side_outputs):
            self._produce(slot, [Source(then_id, "then", True), Source(else_id, "else", True)])

    def _control(self, number, step, kind):
        """The cluster of a loop or branch step and its head box fed by input 0."""
        op = step.op
        details = self._details(number, {"op": op.describe(), "class": op_class(op),
                                         "inputs": self._types(step.inputs),
                                         "outputs": self._types(step.outputs)})
        color = self.style.color(op_class(op))
        label = self._label(op.describe(), number)
        cluster = self.drawing.add_cluster(label, kind, self.cluster, details,
                                           CLUSTER_FILLS[kind])
        head = self.drawing.add_node(label, kind, cluster, details, color)
        role = "n_steps" if kind == "loop" else "condition"
        self._edge(step.inputs[0], head, 0, 1, role)
        return cluster, head


def _prim(scalar):
    """The name of a scalar operation (an external call by its symbol)."""
    return f"call {scalar.attr}" if scalar.prim == "call" else scalar.prim


def _scalar_label(scalar, copy=False):
    """A scalar operation's label: its name, with constant operands written in
    (``mul(., 0.5)``) and a cast's target dtype."""
    if copy:
        return "copy" if scalar.prim == "input" else f"fill {scalar.value!r}"
    name = _prim(scalar)
    if scalar.prim == "cast":
        return f"cast {scalar.dtype}"
    if not any(arg.prim == "const" for arg in scalar.args):
        return name
    operands = ", ".join(repr(arg.value) if arg.prim == "const" else "." for arg in scalar.args)
    return f"{name}({operands})"


def _reduce_text(reduce):
    """``add-reduce[1]``: the fold that ends a reduction kernel (as the Reduce op prints)."""
    combiner, axes, keepdims = reduce
    return f"{combiner}-reduce{list(axes)}" + (" keepdims" if keepdims else "")
