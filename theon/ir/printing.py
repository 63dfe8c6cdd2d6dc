"""theon's IR printer: Theano's debugprint layout, one node per line, ids for shared nodes."""
import string

from .ops.leaf import Constant, Input


def _ids():
    """A, B, ..., Z, BA, BB, ... (Theano's id scheme)."""
    letters = string.ascii_uppercase
    count = 0
    while True:
        n, text = count, ""
        while True:
            text = letters[n % 26] + text
            n //= 26
            if n == 0:
                break
        yield text
        count += 1


def debugprint_nodes(outputs, names=None, file=None):
    """Text of the graph under ``outputs``: each node, its type and id, inputs indented.

    A node already printed is shown again by its id only.  ``names`` maps nodes to the
    user's variable names.  Returns the text and also writes it to ``file`` if given.
    """
    names = names or {}
    ids = _ids()
    assigned = {}
    lines = []
    for root in outputs:
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            prefix = " |" * depth
            seen = node in assigned
            if not seen:
                assigned[node] = next(ids)
            label = _label(node, names)
            lines.append(f"{prefix}{label} [id {assigned[node]}] {node.type}")
            if seen or isinstance(node.op, (Input, Constant)):
                continue
            for child in reversed(node.inputs):
                stack.append((child, depth + 1))
    text = "\n".join(lines)
    if file is not None:
        print(text, file=file)
    return text


def _label(node, names):
    name = names.get(node)
    if isinstance(node.op, Input):
        return node.op.label or name or "<input>"
    text = node.op.describe()
    return f"{text} '{name}'" if name else text


def format_schedule(schedule):
    """Text of a compiled function's schedule: its slots, each step (kernels with their
    scalar bodies), and the slots it returns."""
    from .kernel import BranchStep, KernelStep, LoopStep
    from .scalar import format_body
    names, types = schedule.slot_names, schedule.slot_types

    def slot(index):
        return f"%{index}"

    lines = ["inputs: " + ", ".join(f"{slot(i)} {names[i]} {types[i]}"
                                    for i in range(schedule.n_inputs))]
    for index, value in schedule.constants:
        lines.append(f"{slot(index)} = {names[index]} {types[index]}")
    for number, step in enumerate(schedule.steps):
        reads = ", ".join(slot(i) for i in step.inputs)
        if isinstance(step, KernelStep):
            writes = ", ".join(f"{slot(o)} {types[o]}" for o in step.outputs)
            lines.append(f"step {number}: {writes} = {step.kernel.describe()}({reads})  "
                         f"[{step.symbol}]")
            lines.extend(f"    {line}" for line in format_body(step.kernel.body))
        elif isinstance(step, LoopStep):
            writes = ", ".join(f"{slot(o)} {types[o]}" for o in step.outputs)
            lines.append(f"step {number}: {writes} = {step.op.describe()}({reads}), body:")
            lines.extend(f"    {line}" for line in format_schedule(step.body).splitlines())
        elif isinstance(step, BranchStep):
            writes = ", ".join(f"{slot(o)} {types[o]}" for o in step.outputs)
            lines.append(f"step {number}: {writes} = {step.op.describe()}({reads})")
            for side, body in (("if", step.then_body), ("else", step.else_body)):
                lines.append(f"  {side}:")
                lines.extend(f"    {line}" for line in format_schedule(body).splitlines())
        else:
            lines.append(f"step {number}: {slot(step.output)} {types[step.output]} = "
                         f"{step.op.describe()}({reads})  [host]")
    lines.append("outputs: " + ", ".join(slot(o) for o in schedule.outputs))
    return "\n".join(lines)
