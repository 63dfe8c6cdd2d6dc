"""Running loops and conditionals: steps whose bodies are compiled functions of their own
(``Executable``s built from the step's schedules, sharing the function's kernels)."""
from ..ir.ops.scan import run_loop
from .executable import Executable, _gatherer
from .native_loop import NativeLoop


def _compiled(schedule, what, addresses, target_name):
    """The Executable of a body ``schedule``; its inputs named '<what> input <i>'.  Its
    calls stay in Python: a loop's steps run natively by ``NativeLoop``, and a program
    recorded per body would pay its writing for few calls."""
    names = [f"{what} input {index}" for index in range(schedule.n_inputs)]
    return Executable(schedule, addresses, names, None, target_name, native_calls=False)


class LoopCall:
    """A loop (``ir.ops.Scan``): ``run_loop`` calling the compiled body once per step, or
    its first step, then the rest in one native loop (``runtime/native_loop.py``)."""

    __slots__ = ("op", "body", "inputs", "outputs", "gather", "body_types", "native")

    def __init__(self, step, addresses, target_name):
        self.op = step.op
        self.body = _compiled(step.body, "body", addresses, target_name)
        self.body_types = [step.body.slot_types[slot] for slot in step.body.outputs]
        self.inputs = step.inputs
        self.outputs = step.outputs
        self.gather = _gatherer(step.inputs)
        self.native = NativeLoop.of(self.body, self.op) if target_name == "cpu" else None

    def run(self, values):
        n_steps, *arrays = self.gather(values)
        if self.native is not None:
            results = self.native.run(self.op, n_steps, arrays, self.body_types)
        else:
            results = run_loop(self.op, self.body.trusted_call, n_steps, arrays,
                               self.body_types)
        for slot, result in zip(self.outputs, results):
            values[slot] = result


class BranchCall:
    """A conditional (``ir.ops.Branch``): runs the compiled side its condition picks, and
    nothing of the other."""

    __slots__ = ("then_body", "else_body", "n_then", "inputs", "outputs", "gather")

    def __init__(self, step, addresses, target_name):
        self.then_body = _compiled(step.then_body, "then", addresses, target_name)
        self.else_body = _compiled(step.else_body, "else", addresses, target_name)
        self.n_then = step.op.n_then
        self.inputs = step.inputs
        self.outputs = step.outputs
        self.gather = _gatherer(step.inputs)

    def run(self, values):
        condition, *arrays = self.gather(values)
        if condition:
            results = self.then_body.trusted_call(*arrays[:self.n_then])
        else:
            results = self.else_body.trusted_call(*arrays[self.n_then:])
        for slot, result in zip(self.outputs, results):
            values[slot] = result
