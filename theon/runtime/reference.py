"""A compiled schedule evaluated by numpy alone: what the optimised function computes when
no native code runs.  DebugMode compares it with the unoptimised graph to tell a rewrite
that changed a value from the rounding of native code."""
import numpy as np

from ..ir import BranchStep, KernelStep, LoopStep
from ..ir.ops.scan import run_loop


def run_reference(schedule, inputs):
    """The outputs of ``schedule`` on ``inputs``, every step run by numpy: kernels through
    ``Kernel.impl``, host steps through their op's ``impl``, loops and conditionals on
    their bodies' schedules.

    Parameters
    ----------
    schedule : Schedule
    inputs : sequence of numpy.ndarray
        One array per function input, of its dtype and rank.

    Returns
    -------
    list of numpy.ndarray
    """
    values = list(inputs) + [None] * (len(schedule.slot_types) - schedule.n_inputs)
    for slot, value in schedule.constants:
        values[slot] = value
    with np.errstate(all="ignore"):
        for step in schedule.steps:
            arrays = [values[slot] for slot in step.inputs]
            if isinstance(step, KernelStep):
                results = step.kernel.impl(*arrays)
            elif isinstance(step, LoopStep):
                results = _loop(step, arrays)
            elif isinstance(step, BranchStep):
                results = _branch(step, arrays)
            else:
                dtype = schedule.slot_types[step.output].dtype
                values[step.output] = np.asarray(step.op.impl(*arrays), dtype=dtype)
                continue
            for slot, result in zip(step.outputs, results):
                values[slot] = result
    return [values[slot] for slot in schedule.outputs]


def _loop(step, arrays):
    """A loop step's outputs, its body run by ``run_reference``."""
    body = step.body
    n_steps, *arrays = arrays
    body_types = [body.slot_types[slot] for slot in body.outputs]
    return run_loop(step.op, lambda *args: run_reference(body, args), n_steps, arrays,
                    body_types)


def _branch(step, arrays):
    """A conditional step's outputs: the side its condition picks, run by
    ``run_reference``."""
    condition, *arrays = arrays
    n_then = step.op.n_then
    if condition:
        return run_reference(step.then_body, arrays[:n_then])
    return run_reference(step.else_body, arrays[n_then:])
