"""The drawing of what ``pydotprint`` is given: variables, or a compiled function before
or after optimisation, or both side by side."""
from .from_nodes import draw_nodes
from .from_schedule import draw_schedule
from .model import Drawing
from .timing import step_timings

STAGES = ("optimized", "original", "both")


def draw_variables(variables, style, title):
    """A Drawing of the graph computing ``variables`` (Variables)."""
    drawing = Drawing(title)
    names = {}
    for variable in variables:
        if variable.name:
            names.setdefault(variable.node, variable.name)
    draw_nodes(drawing, [v.node for v in variables], style, names,
               output_labels=[v.name or f"output {k}" for k, v in enumerate(variables)])
    return drawing


def draw_function(function, stage, style, title):
    """A Drawing of the compiled ``function``: its schedule (``stage='optimized'``), the
    graph it was compiled from (``'original'``), or both in two clusters.  An update of a
    shared variable is drawn as Theano draws it: an ``UPDATE`` edge from the new value
    to the variable."""
    drawing = Drawing(title)
    labels, updates = _outputs(function)
    if stage in ("original", "both"):
        cluster = drawing.add_cluster("original graph", "graph") if stage == "both" else None
        graph = function.graph
        inputs, outputs = draw_nodes(drawing, graph.outputs, style, cluster=cluster,
                                     output_labels=labels)
        for output, position in updates:
            leaf = graph.inputs[position]
            if leaf in inputs:
                drawing.add_edge(outputs[output], inputs[leaf], "UPDATE", "update")
    if stage in ("optimized", "both"):
        cluster = drawing.add_cluster("optimized (as compiled)", "graph") \
            if stage == "both" else None
        schedule = function.schedule
        inputs, outputs = draw_schedule(drawing, schedule, style, cluster,
                                        step_timings(getattr(function, "profile", None)),
                                        _input_kinds(function, schedule),
                                        _matching(labels, len(schedule.outputs)))
        for output, position in updates:
            drawing.add_edge(outputs[output], inputs[position], "UPDATE", "update")
    return drawing


def _outputs(function):
    """(label per output, (output, input position) per update of a shared variable the
    function reads) of a compiled function, as far as it knows them."""
    graph = getattr(function, "graph", None)
    state = getattr(function, "_state", None)
    if graph is None:
        return None, []
    n_user = len(graph.outputs) if state is None else state.n_outputs
    labels = [f"output {k}" for k in range(n_user)]
    positions = {leaf: index for index, leaf in enumerate(graph.inputs)}
    updates = []
    for index, variable in enumerate(getattr(state, "targets", ())):
        labels.append(f"update of {variable.name or 'shared'}")
        if variable.node in positions:
            updates.append((n_user + index, positions[variable.node]))
    return labels, updates


def _matching(labels, count):
    """``labels`` if there is one per output, else None (the default labels)."""
    return labels if labels is not None and len(labels) == count else None


def _input_kinds(function, schedule):
    """'shared' or 'input' per input slot of ``schedule``, from the function's graph when
    it is known (a shared variable's leaf is a ``SharedInput``)."""
    graph = getattr(function, "graph", None)
    if graph is None or len(graph.inputs) != schedule.n_inputs:
        return None
    return ["shared" if type(leaf.op).__name__ == "SharedInput" else "input"
            for leaf in graph.inputs]
