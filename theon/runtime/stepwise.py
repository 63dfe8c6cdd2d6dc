"""Running a compiled function one step at a time, with a hook around each step.

The plain call path (``Executable.__call__`` and its direct single-kernel path) stays as it
is; a function compiled with ``profile=True`` or an instrumented mode runs through a
:class:`StepwiseRunner` instead, chosen once at compile time.  A runner walks the same
``Executable.plan`` (the step calls and the slots each one frees), with the same argument
checks, in-place updates and output copies, so the function's results do not change.
"""
from ..ir import BranchStep, KernelStep, LoopStep
from .executable import HostCall


class StepwiseRunner:
    """Runs ``executable``'s steps through ``run_step``, which subclasses override.

    It stands in for the Executable where a Function or its shared-variable wrapper uses
    one: it has ``schedule``, ``inplace``, ``__call__``, ``trusted_call`` and ``caller``.

    Parameters
    ----------
    executable : Executable
    """

    def __init__(self, executable):
        self.executable = executable
        self.schedule = executable.schedule
        self.inplace = executable.inplace

    def __call__(self, *args):
        """Run the function on ``args`` (checked and converted); the list of outputs."""
        return self.run(self.executable.prepare(args))

    def trusted_call(self, *args):
        """Run the function on ``args`` unchecked (see ``Executable.trusted_call``)."""
        return self.run([*args, *self.executable.tail])

    def run(self, values):
        """Run every step on the slot list ``values``; the list of outputs."""
        for index, (call, dead) in enumerate(self.executable.plan):
            self.run_step(index, call, values)
            for slot in dead:
                values[slot] = None
        return self.executable.results(values)

    def run_step(self, index, call, values):
        """Run step ``index`` (``call``) on ``values``.  Subclasses add what they measure or
        check around it."""
        call.run(values)

    def caller(self, single, trusted=False):
        """The callable a Function runs: the first output bare when ``single``."""
        call = self.trusted_call if trusted else self.__call__
        if single:
            return lambda *args: call(*args)[0]
        return call


def step_kind(step):
    """'kernel', 'host', 'loop' or 'branch': what a schedule step is."""
    if isinstance(step, KernelStep):
        return "kernel"
    if isinstance(step, LoopStep):
        return "loop"
    if isinstance(step, BranchStep):
        return "branch"
    return "host"


def step_label(step):
    """The short text naming a schedule step: its kernel's or its op's ``describe()``."""
    if isinstance(step, KernelStep):
        return step.kernel.describe()
    return step.op.describe()


def output_slots(call):
    """The slots a step call writes."""
    if isinstance(call, HostCall):
        return (call.output,)
    return tuple(call.outputs)


def describe_step(schedule, index):
    """'step <index> (<label>)', with every fused op of a kernel listed after its label
    (the label shows at most six)."""
    step = schedule.steps[index]
    text = f"step {index} ({step_label(step)}"
    if isinstance(step, KernelStep):
        text += f"; fused ops: {', '.join(step.kernel.members)}"
    return text + ")"

