"""What an Executable works out once from its schedule: which steps may write an update
into the updated input's own array, and after which step each intermediate is dead."""
from ..ir import HostStep, KernelStep


def inplace_plan(schedule, updates):
    """Where updates may be computed in place: {step index: {output position: input
    slot}}.

    The step producing an update may write into the updated input's array when nothing
    needs the old value after that step has written: no later step reads the input or a
    view of it, no function output is the input or a view of it (those are copied after
    the last step), and the step itself reads the input only where it is safe.  A kernel
    reads it element by element at the index it writes (same rank, not a reduction, not
    through a view): a kernel loads every input of an element before it stores that
    element's outputs, so reading and writing one array at the same index is safe, also
    when the kernel is split across threads.  A host op that accumulates into one of its
    inputs (``op.overwrites``, as Gemm) reads the updated input only there.  The update
    must also be returned only once (not also as an output or another update).
    """
    if not updates:
        return {}
    steps = schedule.steps
    counts = {}
    for slot in schedule.outputs:
        counts[slot] = counts.get(slot, 0) + 1
    producers = {}
    for index, step in enumerate(steps):
        if isinstance(step, KernelStep):
            for position, slot in enumerate(step.outputs):
                producers[slot] = (index, position)
        elif isinstance(step, HostStep) and getattr(step.op, "overwrites", None) is not None:
            producers[step.output] = (index, 0)
    plan = {}
    for output_index, input_slot in updates:
        slot = schedule.outputs[output_index]
        if counts[slot] != 1 or slot not in producers:
            continue
        step_index, position = producers[slot]
        aliases = _aliases(steps, input_slot)
        if any(out in aliases for out in schedule.outputs):
            continue
        if any(read in aliases for later in steps[step_index + 1:] for read in later.inputs):
            continue
        if _reads_safely(steps[step_index], aliases, input_slot):
            plan.setdefault(step_index, {})[position] = input_slot
    return plan


def _reads_safely(step, aliases, input_slot):
    """Whether ``step`` may write into the array of ``input_slot`` (whose views are
    ``aliases``) given how it reads them (see ``inplace_plan``)."""
    if isinstance(step, HostStep):
        overwritten = step.op.overwrites
        return all(read not in aliases or (position == overwritten and read == input_slot)
                   for position, read in enumerate(step.inputs))
    kernel = step.kernel
    if kernel.reduce is not None:
        return False
    return not any(read in aliases and (read != input_slot or ttype.ndim != kernel.ndim)
                   for read, ttype in zip(step.inputs, kernel.in_types))


def release_plan(schedule):
    """Per step, the intermediate slots it reads for the last time (function outputs
    excepted): the runtime drops them right after it, so a large graph holds only the
    intermediates still to be read, not all of them until the call returns.  Inputs are
    never dropped (the caller holds them anyway, and an in-place update writes into one)."""
    last = {}
    for index, step in enumerate(schedule.steps):
        for slot in step.inputs:
            if slot >= schedule.n_inputs:
                last[slot] = index
    outputs = set(schedule.outputs)
    plan = [[] for _ in schedule.steps]
    for slot, index in last.items():
        if slot not in outputs:
            plan[index].append(slot)
    return [tuple(slots) for slots in plan]


def _aliases(steps, slot):
    """``slot`` and the slots of host steps returning views of it (transitively)."""
    aliases = {slot}
    for step in steps:
        if isinstance(step, HostStep) and getattr(step.op, "returns_view", False) and \
                any(read in aliases for read in step.inputs):
            aliases.add(step.output)
    return aliases
