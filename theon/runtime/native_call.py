"""A compiled function's call run natively: its steps are called from machine code (the
native loop driver, ``codegen/loop_driver.py``), with no Python between them.

Theano's C VM runs a function's schedule this way; theon's Python walk of the steps costs
1.3-2.5 us per step on top of the step's own work, which dominates small training steps.

How. A call's inputs have a *signature*: the shape and strides of each array. The first
call with a signature runs through Python as always; the second one too, keeping every
slot, and from those arrays a *program* is written for the driver
(``runtime/native_program.py``, as the native loop writes one from a loop's first step).
Every later call whose inputs have that signature runs the program: each input is checked
against the signature and bound by the driver itself (``BIND``: its data pointer copied
into an array object of the program's own, a *proxy* with the recorded shape and strides,
which the kernels read), so that Python only writes one word per input. Intermediates are
arrays the program owns, made once and reused by every call (Theano's ``allow_gc=False``);
only programs whose intermediates take at most ``native_program.MAX_BYTES`` (64 MiB) are
written. Each output is a fresh array per call (bound to its proxy the same way), so
results of earlier calls never change, and an update the Python path computes in its
input's array (``Executable.inplace``) is computed there too.

What runs natively, with the Python path's results bit for bit: kernels small enough for
one thread (``threads.PARALLEL_MIN_ELEMENTS``, or any with ``config.num_threads == 1``);
``Gemm`` on matrices BLAS reads as they are; ``Dot`` where numpy's matmul calls the same
``?gemm`` (matrices of more than one row and column, C- or F-contiguous; not vectors, which
numpy gives to ``?gemv``); views (transposes, dimshuffles, reshapes, basic slices) whose
parameters depend on shapes alone; and steps whose values depend on shapes and constants
alone (``Shape``, ``arange`` of a length, ...), computed once.  Any other step (advanced
indexing, loops, conditionals, large kernels) runs through Python between native
*segments*, one driver call each, reading and writing the program's arrays; an array such
a step makes is checked against its recorded shape and strides before the driver reads
it.

Fallbacks.  A call with another signature, or an in-place target that is not writeable,
C-contiguous and aligned, runs through Python (with the Python path's errors); after two
calls with a new signature its program replaces the old one, at most ``MAX_PROGRAMS`` times
per function.  A kernel refusing its arrays, or a step's array differing from the
recorded one, ends the native part: Python finishes the call from that step on the
program's arrays, and a program that stops ``MAX_STOPS`` times is dropped.  A function for
which a program cannot be written (nothing native, too much memory), or whose program was
dropped, records no more: its calls run through Python.  A thread that finds another
inside the program runs through Python.  Kernel code replaced by tiered
compilation (or by a strided variant) is followed: the kernel call rebound to it calls
``entry_points_moved``.
``config.native_calls = False`` turns all of this off.
"""
import operator
import threading

from ..config import config
from ..ir import KernelStep
from ..ir.ops.linalg import Dot, Gemm
from .native_program import NotNative, Writer, entry_points_moved, stand_in

__all__ = ["NativeCall", "entry_points_moved"]

MAX_PROGRAMS = 4       # programs recorded per function: alternating signatures stay in Python
MAX_STOPS = 4          # native runs a program may stop early before it is dropped

_GEOMETRY = operator.attrgetter("shape", "strides")


class NativeCall:
    """The native runner of one ``Executable``'s calls (see the module's docstring).

    Attributes
    ----------
    program : runtime.native_program.Program or None
        The program of the latest signature recorded.
    recorded : int
        Programs recorded so far; ``MAX_PROGRAMS`` once no more will be.
    native_calls : int
        Calls run by a program so far (for tests and curious users).
    """

    def __init__(self, executable):
        # (not the executable itself, which holds this runner: no reference cycle keeps a
        # dropped function's arrays alive until the garbage collector runs)
        self.n_inputs = executable.n_inputs
        self.lock = threading.Lock()  # held while a program runs: its arrays are shared
        self.program = None
        self.seen = None       # the signature of the last call run through Python
        self.recorded = 0      # programs recorded (MAX_PROGRAMS: no more are)
        self.native_calls = 0

    @classmethod
    def of(cls, executable):
        """A NativeCall for ``executable``, or None where a program would not pay: a
        schedule of one step, or none that can run natively."""
        steps = executable.schedule.steps
        if len(steps) < 2 or not any(isinstance(step, KernelStep) or
                                     isinstance(getattr(step, "op", None), (Dot, Gemm))
                                     for step in steps):
            return None
        return cls(executable)

    def call(self, executable, values):
        """The outputs of a call of ``executable`` (whose runner this is) on the slot
        list ``values`` (as ``Executable.prepare`` makes it): natively where a program
        fits, else through Python."""
        program = self.program
        if program is not None and config.native_calls:
            if not self.lock.acquire(False):
                return executable.run_steps(values)  # another thread is running it
            try:
                results = program.run(values)
            finally:
                self.lock.release()
            if results is not None:
                self.native_calls += 1
                if program.stops >= MAX_STOPS and self.program is program:
                    self.program = None  # (its Python steps make arrays of other shapes)
                    self.recorded = MAX_PROGRAMS
                return results
        return self._in_python(executable, values)

    def _in_python(self, executable, values):
        """A call through Python; the second of a signature records a program."""
        if not config.native_calls or self.recorded >= MAX_PROGRAMS:
            return executable.run_steps(values)
        try:
            signature = tuple(map(_GEOMETRY, values[:self.n_inputs]))
        except AttributeError:  # (a trusted call passing something else than arrays)
            return executable.run_steps(values)
        if signature != self.seen:
            self.seen = signature
            return executable.run_steps(values)
        return self._record(executable, values, signature)

    def _record(self, executable, values, signature):
        """A call through Python that writes a program for its signature.  Each step is
        classified as it runs, and its arrays are released as on the Python path (standing
        in for them: arrays of their geometry over one item), so recording takes no more
        memory than a call."""
        writer = Writer(executable, values, signature)
        for index, (call, dead) in enumerate(executable.plan):
            call.run(values)
            writer.observe(index)
            for slot in dead:
                values[slot] = stand_in(values[slot])
        results = executable.results(values)
        try:
            program = writer.write()
        except NotNative:
            # (what declines one signature mostly declines the next: computing signatures
            # for nothing would cost Python calls ~0.15 us per input)
            self.recorded = MAX_PROGRAMS
            return results
        self.recorded += 1
        self.program = program
        return results
