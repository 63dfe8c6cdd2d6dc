"""The base of the checking runners (DebugMode, NanGuardMode): loop bodies and branch sides
run through runners of the same kind, so the checks reach the steps inside them, and every
message says where a step sits (``step 1 (kernel[...]) in iteration 3 of the body of step
2 (scan 'rnn')``)."""
import itertools

from ..ir.ops.scan import run_loop
from .control import BranchCall, LoopCall
from .stepwise import StepwiseRunner, describe_step


class CheckingRunner(StepwiseRunner):
    """Runs a function step by step, recursing into loops and conditionals.

    Subclasses say what a nested runner is (``nested``) and add checks in ``run_leaf`` (a
    kernel or host step) and ``after_step`` (any step, once its outputs are in ``values``).

    Parameters
    ----------
    executable : Executable
    output_labels : sequence of str, optional
        One per schedule output: how messages name it (``"output 0 ('y')"``).  Omitted
        for loop bodies and branch sides, whose outputs are not the function's.
    """

    def __init__(self, executable, output_labels=None):
        super().__init__(executable)
        # where this runner's steps sit: '' for the function, ' in iteration 3 of the body
        # of step 2 (...)' for a loop body (set before each run of a nested runner)
        self.where = ""
        self.function_outputs = {}
        for slot, label in zip(executable.outputs, output_labels or ()):
            self.function_outputs.setdefault(slot, label)
        self.bodies = {}
        for index, (call, _) in enumerate(executable.plan):
            if isinstance(call, LoopCall):
                self.bodies[index] = self.nested(call.body)
            elif isinstance(call, BranchCall):
                self.bodies[index] = (self.nested(call.then_body),
                                      self.nested(call.else_body))

    def nested(self, executable):
        """A runner of this kind, with these settings, for a loop body or a branch side."""
        raise NotImplementedError(type(self).__name__)

    def run_step(self, index, call, values):
        if isinstance(call, LoopCall):
            self._run_loop(index, call, values)
        elif isinstance(call, BranchCall):
            self._run_branch(index, call, values)
        else:
            self.run_leaf(index, call, values)
        self.after_step(index, call, values)

    def run_leaf(self, index, call, values):
        """Run a kernel or host step."""
        call.run(values)

    def after_step(self, index, call, values):
        """Check a step whose outputs are in ``values``."""

    def where_step(self, index):
        """Step ``index`` described for messages, with where it sits."""
        return describe_step(self.schedule, index) + self.where

    def describe_output(self, slot, position):
        """'output <position> (<type>)' of a step, and which function output it is."""
        text = f"output {position} ({self.schedule.slot_types[slot]}"
        label = self.function_outputs.get(slot)
        if label is not None:
            text += f"; the function's {label}"
        return text + ")"

    def _run_loop(self, index, call, values):
        """``LoopCall.run`` with the body run by this kind of runner."""
        body = self.bodies[index]
        loop = " of the body of " + self.where_step(index)
        iterations = itertools.count()

        def step(*arrays):
            body.where = f" in iteration {next(iterations)}{loop}"
            return body.trusted_call(*arrays)

        n_steps, *arrays = call.gather(values)
        results = run_loop(call.op, step, n_steps, arrays, call.body_types)
        for slot, result in zip(call.outputs, results):
            values[slot] = result

    def _run_branch(self, index, call, values):
        """``BranchCall.run`` with the side run by this kind of runner."""
        then_side, else_side = self.bodies[index]
        condition, *arrays = call.gather(values)
        if condition:
            side, name, arrays = then_side, "then", arrays[:call.n_then]
        else:
            side, name, arrays = else_side, "else", arrays[call.n_then:]
        side.where = f" in the '{name}' side of {self.where_step(index)}"
        results = side.trusted_call(*arrays)
        for slot, result in zip(call.outputs, results):
            values[slot] = result
