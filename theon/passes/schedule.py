"""Scheduling: a fused graph becomes the ordered steps of a compiled function."""
from ..ir import (BranchStep, Constant, HostStep, Input, Kernel, KernelStep, LoopStep,
                  Output, Schedule, TupleType)
from ..ir.ops import Branch, Scan
from ..ir.errors import CompileError


def schedule(graph):
    """The :class:`Schedule` running ``graph``, whose every non-leaf node is a Kernel, a
    kernel's Output, or an op run on the host through its numpy reference.  Every step's
    inputs are function inputs, constants or outputs of earlier steps; buffers are numbered
    slots, inputs first."""
    slots = {leaf: index for index, leaf in enumerate(graph.inputs)}
    slot_types = [leaf.type for leaf in graph.inputs]
    slot_names = [repr(leaf.op.label or f"input {index}")
                  for index, leaf in enumerate(graph.inputs)]
    constants, steps = [], []

    def new_slot(node, name):
        slots[node] = len(slot_types)
        slot_types.append(node.type)
        slot_names.append(name)
        return slots[node]

    def output_slots(node):
        """One slot per output of a node with several (kernel, loop, conditional)."""
        outputs = []
        for index, out_type in enumerate(node.type.types):
            slots[(node, index)] = len(slot_types)
            slot_types.append(out_type)
            slot_names.append(f"output {index} of {node.op.describe()}")
            outputs.append(slots[(node, index)])
        return tuple(outputs)

    for node in graph.nodes():
        if node in slots:
            continue
        if isinstance(node.op, Constant):
            constants.append((new_slot(node, node.op.describe()), node.op.value))
        elif isinstance(node.op, Input):
            raise CompileError(f"schedule: {node.op.describe()} is not a function input")
        elif isinstance(node.op, Kernel):
            symbol = f"theon_{node.op.digest()[:16]}"
            steps.append(KernelStep(node.op, tuple(slots[i] for i in node.inputs),
                                    output_slots(node), symbol))
        elif isinstance(node.op, Scan):
            steps.append(LoopStep(node.op, tuple(slots[i] for i in node.inputs),
                                  output_slots(node), _compile_body(node.op.body)))
        elif isinstance(node.op, Branch):
            steps.append(BranchStep(node.op, tuple(slots[i] for i in node.inputs),
                                    output_slots(node), _compile_body(node.op.then_body),
                                    _compile_body(node.op.else_body)))
        elif isinstance(node.op, Output):
            slots[node] = slots[(node.inputs[0], node.op.index)]
        elif isinstance(node.type, TupleType):
            raise CompileError(f"schedule: no lowering for {node.op.describe()} ({node!r})")
        else:
            # no kernel lowering: the op's numpy reference runs on the host
            inputs = tuple(slots[i] for i in node.inputs)
            steps.append(HostStep(node.op, inputs, new_slot(node, node.op.describe())))
    n_inputs = len(graph.inputs)
    return Schedule(n_inputs=n_inputs, input_types=tuple(slot_types[:n_inputs]),
                    constants=tuple(constants), steps=tuple(steps),
                    outputs=tuple(slots[o] for o in graph.outputs),
                    slot_types=tuple(slot_types), slot_names=tuple(slot_names))


def _compile_body(body):
    """The schedule of a loop's body or a conditional's side: the pipeline, run on its own
    graph, less ``gemm`` (the native loop driver runs a body's products, not gemm steps)."""
    from .pipeline import PIPELINE, run_pipeline  # the pipeline ends with this pass
    compiled, _ = run_pipeline(body, [step for step in PIPELINE if step.name != "gemm"])
    return compiled
