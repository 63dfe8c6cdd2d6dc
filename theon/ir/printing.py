"""theon's IR printers: Theano's debugprint layout for graphs of nodes and for compiled
schedules (one node per line, inputs indented below it, ids for nodes met twice), and the
step listing of a schedule (``format_schedule``)."""
import string

from . import wiring
from .ops.leaf import Constant, Input

ID_STYLES = ("CHAR", "int", "")


def _ids(style="CHAR"):
    """Id texts: A, B, ..., Z, BA, BB, ... (Theano's 'CHAR'), 0, 1, ... ('int'), or none
    ('')."""
    letters = string.ascii_uppercase
    count = 0
    while True:
        if style == "":
            yield ""
        elif style == "int":
            yield f"[id {count}]"
        else:
            n, text = count, ""
            while True:
                text = letters[n % 26] + text
                n //= 26
                if n == 0:
                    break
            yield f"[id {text}]"
        count += 1


def _check_ids(ids):
    """ValueError unless ``ids`` is an id style debugprint knows."""
    if ids not in ID_STYLES:
        raise ValueError(f"debugprint: ids must be one of {', '.join(map(repr, ID_STYLES))}; "
                         f"got {ids!r}")


def _line(*parts):
    """Non-empty ``parts`` joined by spaces."""
    return " ".join(part for part in parts if part)


def debugprint_nodes(outputs, names=None, file=None, print_type=True, depth=-1, ids="CHAR"):
    """Text of the graph under ``outputs``: each node, its id and type, inputs indented.

    A node already printed is shown again by its line, without its inputs.  ``names``
    maps nodes to the user's variable names.  ``depth`` limits the levels printed (-1:
    all); ``ids`` is 'CHAR' (``[id A]``), 'int' (``[id 0]``) or '' (none).  Returns the
    text and also writes it to ``file`` if given.
    """
    _check_ids(ids)
    names = names or {}
    new_id = _ids(ids)
    assigned = {}
    lines = []
    for root in outputs:
        # (node, prefix of its line, prefix of its inputs' lines, levels left)
        stack = [(root, "", "", depth)]
        while stack:
            node, prefix, child_prefix, levels = stack.pop()
            if levels == 0:
                continue
            seen = node in assigned
            if not seen:
                assigned[node] = next(new_id)
            ttype = str(node.type) if print_type else ""
            lines.append(prefix + _line(_label(node, names), assigned[node], ttype))
            if seen or isinstance(node.op, (Input, Constant)):
                continue
            stack.extend(_children(node.inputs, child_prefix, levels))
    text = "\n".join(lines)
    if file is not None:
        print(text, file=file)
    return text


def _label(node, names):
    """What a node's line starts with: an input's name, else its op and the user's name."""
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


def debugprint_schedule(schedule, print_type=True, depth=-1, ids="CHAR", step_times=None):
    """Text of a compiled schedule in Theano's debugprint layout.

    Each output is the root of a tree of the steps computing it: a step's line shows what
    it runs (a fused kernel by the ops fused into it), its id, its type and its step
    number; its inputs are indented below it, and a step met again shows its line
    only.  A step with several outputs is written ``label.k`` for output ``k``.  An
    "Inner graphs" section follows: each kernel's scalar body, and each loop's and
    conditional's own schedule, whose inputs point (``-> [id X]``) to the values outside
    that feed them.

    Parameters
    ----------
    schedule : Schedule
    print_type : bool
    depth : int
        Levels printed per tree (-1: all).
    ids : {'CHAR', 'int', ''}
    step_times : dict, optional
        Step index -> (seconds, share of the total) for the top-level steps, appended as
        Theano's ``--> <time>s <share>%``.

    Returns
    -------
    str
    """
    _check_ids(ids)
    printer = _SchedulePrinter(print_type, depth, _ids(ids))
    lines = printer.trees(schedule, "", step_times or {}, {})
    inner = []
    while printer.queue:
        inner.append("")
        inner.extend(printer.inner(*printer.queue.pop(0)))
    if inner:
        lines += ["", "Inner graphs:"] + inner
    return "\n".join(lines)


class _SchedulePrinter:
    """Prints the trees of one schedule and queues the inner graphs it meets; ids are
    shared by all the schedules it prints."""

    def __init__(self, print_type, depth, new_id):
        self.print_type, self.depth, self.new_id = print_type, depth, new_id
        self.queue = []        # (step, its id text, its schedule): inner graphs to print
        self.step_ids = {}     # id(step) -> id text (steps are hashed by content: not keys)
        self.value_ids = {}    # (id(schedule), slot) -> id text of the value printed

    def trees(self, schedule, prefix, step_times, outer_ids):
        """Lines of the trees of ``schedule``'s outputs; ``outer_ids`` maps its input
        slots to the id texts of the values feeding them (for inner schedules)."""
        producer = {}
        for number, step in enumerate(schedule.steps):
            outputs = (step.output,) if not hasattr(step, "outputs") else step.outputs
            for index, slot in enumerate(outputs):
                producer[slot] = (number, step, index, len(outputs))
        context = (schedule, producer, step_times, outer_ids)
        lines = []
        for slot in schedule.outputs:
            lines.extend(self._tree(context, slot, prefix))
        return lines

    def _tree(self, context, root, prefix):
        """Lines of the tree under slot ``root``."""
        schedule, producer, step_times, outer_ids = context
        lines = []
        stack = [(root, prefix, prefix, self.depth)]
        while stack:
            slot, line_prefix, child_prefix, levels = stack.pop()
            if levels == 0:
                continue
            ttype = str(schedule.slot_types[slot]) if self.print_type else ""
            if slot not in producer:
                lines.append(line_prefix + self._leaf(schedule, slot, ttype, outer_ids))
                continue
            number, step, index, n_outputs = producer[slot]
            seen = id(step) in self.step_ids
            if not seen:
                self.step_ids[id(step)] = next(self.new_id)
                if not hasattr(step, "output"):     # kernels, loops, branches
                    self.queue.append((step, self.step_ids[id(step)], schedule))
            self.value_ids[(id(schedule), slot)] = self.step_ids[id(step)]
            label = _step_label(step) + (f".{index}" if n_outputs > 1 else "")
            timing = ""
            if number in step_times:
                seconds, share = step_times[number]
                timing = f"--> {seconds:8.2e}s {share * 100:4.1f}%"
            lines.append(line_prefix + _line(label, self.step_ids[id(step)], ttype,
                                             f"  {number}", timing))
            if seen:
                continue
            stack.extend(_children(step.inputs, child_prefix, levels))
        return lines

    def _leaf(self, schedule, slot, ttype, outer_ids):
        """The line of an input or constant slot."""
        key = (id(schedule), slot)
        if key not in self.value_ids:
            self.value_ids[key] = next(self.new_id)
        if slot < schedule.n_inputs:
            label = slot_label(schedule.slot_names[slot])
        else:
            value = dict(schedule.constants)[slot]
            label = Constant(value).describe()
        outer = outer_ids.get(slot)
        return _line(label, self.value_ids[key], ttype, f"-> {outer}" if outer else "")

    def inner(self, step, step_id, schedule):
        """Lines of the inner graphs of ``step`` (of ``schedule``): a kernel's body, a
        loop's or a conditional's schedules."""
        from .kernel import BranchStep, KernelStep
        from .scalar import format_body
        lines = [_line(_step_label(step), step_id)]
        if isinstance(step, KernelStep):
            body = format_body(step.kernel.body)
            if step.kernel.reduce is not None:
                combiner, axes, keepdims = step.kernel.reduce
                name, value = body[-1].split(" = ")
                body[-1] = f"{name} = {combiner}-reduce{list(axes)}({value})" + \
                    (" keepdims" if keepdims else "")
            return lines + [f" >{line}" for line in body]
        # a value the depth limit left unprinted has no id to point to
        outer_ids = [self.value_ids.get((id(schedule), slot)) for slot in step.inputs]
        if isinstance(step, BranchStep):
            then_side, else_side = wiring.branch_inputs(step.op.n_then, len(step.inputs))
            for side, body, entries in (("then", step.then_body, then_side),
                                        ("else", step.else_body, else_side)):
                lines.append(f" >{side}:")
                mapping = {entry.position: outer_ids[entry.outer] for entry in entries}
                lines += self.trees(body, " >", {}, mapping)
            return lines
        mapping = {entry.position: outer_ids[entry.outer]
                   for entry in wiring.loop_inputs(step.op)}
        return lines + self.trees(step.body, " >", {}, mapping)


def slot_label(name):
    """A slot's user-facing name without the quotes the schedule keeps around it."""
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == "'" else name


def _step_label(step):
    """What a step runs: ``kernel[members]`` or the op."""
    from .kernel import KernelStep
    return step.kernel.describe() if isinstance(step, KernelStep) else step.op.describe()


def _children(inputs, prefix, levels):
    """Stack entries (child, its line's prefix, its children's prefix, levels left) for
    ``inputs``, last first, so that they pop in order; the last child closes its branch."""
    entries = [(child, prefix + " |", prefix + ("  " if index == len(inputs) - 1 else " |"),
                levels - 1) for index, child in enumerate(inputs)]
    return reversed(entries)
