"""A scan's steps run as one native loop: the body's kernels and matrix products are called
from machine code (``codegen/loop_driver.py``), with no Python between steps.

The first step runs through Python, as every step did before: it checks the shapes and
fixes every intermediate's shape for the rest of the loop (a step's inputs have the same
shapes at every step).  From its arrays a *program* is written: each per-step array gets
one array object whose data pointer the driver moves from step to step (the row of a
sequence, of a state's history, of a per-step output), views follow the array they view,
kernels and products write into arrays made once, and the body's results are written
straight into their rows of the loop's outputs.  Arrays that do not change from step to
step (weights, constants, what is computed from them alone) are the first step's.

The body runs natively when each of its steps is a kernel, a matrix product of arrays of
rank 1 or 2 (BLAS ``?gemm``, numpy's own OpenBLAS), a view (transpose, dimshuffle, reshape
or slice of one array), or an operation on values that stay the same over the loop; when
its kernels are small enough to run on one thread (``threads.PARALLEL_MIN_ELEMENTS``:
larger ones are split across threads by the Python loop, whose cost per step is then
small); and when its results need no dtype conversion.  Otherwise, or with
``config.native_loops`` off, the loop stays in Python.  A kernel that refuses its arrays
(misaligned, strided) stops the native loop at that step; Python runs the rest.
"""
import ctypes
import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..codegen.loop_program import (CALL, COPY, END, FILL, GEMM, MAX_CALL_ARGS, SET, SYMBOL,
                                    UNTIL, VIEW)
from ..config import config
from ..ir import HostStep, KernelStep
from ..ir.ops.linalg import Dot
from ..ir.ops.reduce import identity
from ..ir.ops.scan import run_loop
from ..ir.ops.shape import Shape
from . import blas, threads
from .gemm import gemm_functions, parameters, scalar_bits

_DRIVE = ctypes.PYFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                           ctypes.c_void_p)


class NativeLoop:
    """The native runner of one loop body (an ``Executable``); ``of`` returns None for a
    body that can never run natively."""

    def __init__(self, body, kinds):
        self.body = body
        self.kinds = kinds  # per body step: 'invariant', 'kernel', 'dot' or 'view'
        self.native_steps = 0  # steps run by the driver so far (for tests and curious users)

    @classmethod
    def of(cls, body, op):
        """A NativeLoop for the Executable ``body`` of loop ``op``, or None."""
        kinds = _step_kinds(body.schedule, op)
        if kinds is None or ("dot" in kinds and gemm_functions() is None):
            return None
        return cls(body, kinds)

    def run(self, op, n_steps, arrays, nitsot_types):
        """The loop's outputs (as ``ir.ops.scan.run_loop``): its first step through
        Python, the others natively where this run allows."""
        return _Run(self).execute(op, n_steps, arrays, nitsot_types)


class _Run:
    """One run of a loop: keeps the arrays of its first step for ``resume``."""

    def __init__(self, loop):
        self.loop = loop
        self.first = None

    def execute(self, op, n_steps, arrays, nitsot_types):
        return run_loop(op, self.step, n_steps, arrays, nitsot_types, resume=self.resume)

    def step(self, *args):
        """A step through Python; the first keeps every array it made."""
        body = self.loop.body
        if self.first is not None:
            return body.trusted_call(*args)
        self.first = body.run_slots(args)
        return body.results(self.first)

    def resume(self, state):
        """Run the steps from ``state.i`` on natively: (next step for Python, stopped)."""
        if not config.native_loops:
            return state.i, False
        program = _Program.write(self.loop, state, self.first)
        self.first = ()  # (not None: later Python steps keep nothing)
        if program is None:
            return state.i, False
        done, stopped = program.run(state.i, state.n)
        self.loop.native_steps += done - state.i
        return done, stopped


def _step_kinds(schedule, op):
    """What each step of the body ``schedule`` is to the driver, or None if one of them
    cannot run there.  A step is 'invariant' when it reads only values that stay the same
    over the loop (non-sequences, constants, shapes)."""
    n_varying = op.n_slices + sum(len(taps) for taps in op.state_taps)
    invariant = set(range(n_varying, schedule.n_inputs))
    invariant.update(slot for slot, _ in schedule.constants)
    kinds = []
    for step in schedule.steps:
        if isinstance(step, KernelStep):
            if len(step.inputs) + len(step.outputs) + 1 > MAX_CALL_ARGS:
                return None
            kind = "kernel"
        elif not isinstance(step, HostStep):
            return None  # a loop or a conditional in the body
        elif isinstance(step.op, Shape) or all(slot in invariant for slot in step.inputs):
            kind = "invariant"
        elif isinstance(step.op, Dot):
            kind = "dot"
        elif getattr(step.op, "returns_view", False) and \
                all(slot in invariant for slot in step.inputs[1:]):
            kind = "view"
        else:
            return None
        if kind == "invariant" or (kind == "kernel" and
                                   all(slot in invariant for slot in step.inputs)):
            kind = "invariant"
            invariant.update(step.outputs if isinstance(step, KernelStep) else (step.output,))
        kinds.append(kind)
    return tuple(kinds)


class _Program:
    """The driver's program for one run of a loop, and the arrays it points into (kept
    alive while it runs)."""

    def __init__(self):
        self.words = []
        self.keep = []
        self.multiply_adds = 0  # of the largest product (BLAS threads: runtime/blas.py)

    def emit(self, *words):
        self.words.extend(int(word) for word in words)

    def hold(self, array):
        """``array``'s object address, the array kept alive."""
        self.keep.append(array)
        return id(array)

    def moved(self, array, base, a, b, rows, stride):
        """SET: ``array``'s data at ``base + (a*i + b) mod rows * stride`` each step."""
        self.emit(SET, self.hold(array), base.ctypes.data, a, b, rows, stride)
        self.keep.append(base)

    @classmethod
    def write(cls, loop, state, values):
        """The program running ``loop``'s body from ``values`` (its first step's slots)
        on ``state``; None where this run cannot go native."""
        try:
            return _Writer(loop, state, values).write()
        except _NotNative:
            return None

    def run(self, first, last):
        """Run steps ``first .. last-1``: (the next step for Python to run, stopped)."""
        self.emit(END)
        # padding: the driver reads a call's words up to MAX_CALL_ARGS ahead
        program = np.array(self.words + [0] * MAX_CALL_ARGS, dtype=np.int64)
        result = np.zeros(2, dtype=np.int64)
        drive = driver()
        previous = blas.begin(self.multiply_adds) if self.multiply_adds else None
        try:
            drive(program.ctypes.data, first, last, result.ctypes.data)
        finally:
            blas.end(previous)
        done, status = int(result[0]), int(result[1])
        if status == -2:
            raise RuntimeError("native loop: the driver met a malformed program")
        return done, status == -1


class _NotNative(Exception):
    """This run of the loop stays in Python."""


class _Writer:
    """Writes a ``_Program`` from a loop's first step."""

    def __init__(self, loop, state, values):
        self.loop, self.state, self.values = loop, state, values
        self.schedule = loop.body.schedule
        self.program = _Program()
        self.objects = {}   # slot -> the array object the driver passes for it
        self.moving = set()  # slots whose data pointer the program moves

    def write(self):
        self._inputs()
        redirected = self._redirections()
        for step, kind, call in zip(self.schedule.steps, self.loop.kinds,
                                    self.loop.body.calls):
            if kind == "invariant":
                for slot in _outputs(step):
                    self.objects[slot] = self.values[slot]
            elif kind == "kernel":
                self._kernel(step, call, redirected)
            elif kind == "dot":
                self._dot(step, redirected)
            else:
                self._view(step)
        self._results(redirected)
        return self.program

    # -- the body's inputs --------------------------------------------------------------

    def _inputs(self):
        state, program = self.state, self.program
        op, n = state.op, state.n
        for position, (sequence, offset) in enumerate(state.slices):
            view = sequence[offset, ...]
            if op.reverse:
                program.moved(view, sequence, -1, n - 1 + offset, 0, sequence.strides[0])
            else:
                program.moved(view, sequence, 1, offset, 0, sequence.strides[0])
            self._set(position, view, moving=True)
        for position, buffer, start, size in state.reads:
            view = buffer[start % size, ...]
            program.moved(view, buffer, 1, start, size, buffer.strides[0])
            self._set(position, view, moving=True)
        varying = len(state.slices) + len(state.reads)
        for slot in range(varying, self.schedule.n_inputs):
            self._set(slot, self.values[slot])
        for slot, value in self.schedule.constants:
            self._set(slot, value)

    def _set(self, slot, array, moving=False):
        self.objects[slot] = array
        if moving:
            self.moving.add(slot)

    # -- where the results go -----------------------------------------------------------

    def _targets(self):
        """Per body output: (array to write, ``moved`` arguments placing it in its row)."""
        state = self.state
        n = state.n
        targets = []
        for buffer, window, size, _ in state.writes:
            targets.append((buffer[window % size, ...],
                            (buffer, 1, window, size, buffer.strides[0])))
        for stacked in state.stacked:
            a, b = (-1, n - 1) if state.op.reverse else (1, 0)
            targets.append((stacked[b, ...], (stacked, a, b, 0, stacked.strides[0])))
        return targets

    def _redirections(self):
        """Body output slots computed by a kernel or a product straight into their row:
        slot -> the row's array (moved by the program).  The first output of each such
        slot; any other output is copied (``_results``)."""
        producers = {}
        for step, kind in zip(self.schedule.steps, self.loop.kinds):
            if kind in ("kernel", "dot"):
                for slot in _outputs(step):
                    producers[slot] = step
        redirected = {}
        for slot, (row, place) in zip(self.schedule.outputs, self._targets()):
            if slot in producers and slot not in redirected and \
                    self.values[slot].dtype == row.dtype and \
                    self.values[slot].shape == row.shape:
                self.program.moved(row, *place)
                redirected[slot] = row
        # row objects of their own for the copies: a slot computed into one row may also
        # be copied into another
        self.targets = self._targets()
        return redirected

    def _results(self, redirected):
        program = self.program
        used = set()
        outputs = self.schedule.outputs
        n_results = len(self.state.writes) + len(self.state.stacked)
        for index, slot in enumerate(outputs[:n_results]):
            if slot in redirected and slot not in used:
                used.add(slot)
                continue
            row, place = self.targets[index]
            source = self.objects[slot]
            if source.dtype != row.dtype or source.shape != row.shape or \
                    not source.flags.c_contiguous:
                raise _NotNative
            program.moved(row, *place)
            program.emit(COPY, program.hold(row), program.hold(source), row.nbytes)
        if self.state.op.until:
            flag = self.objects[outputs[-1]]
            if flag.dtype != np.bool_ or flag.size != 1:
                raise _NotNative
            program.emit(UNTIL, program.hold(flag))

    # -- steps ---------------------------------------------------------------------------

    def _output_array(self, slot, redirected):
        """A fresh array for what a step computes into ``slot`` (its row, if redirected)."""
        if slot in redirected:
            self.moving.add(slot)
            return redirected[slot]
        first = self.values[slot]
        return np.empty(first.shape, first.dtype)

    def _kernel(self, step, call, redirected):
        program = self.program
        args = [self.objects[slot] for slot in step.inputs]
        kernel = step.kernel
        if kernel.reduce is None:
            outs = [self._output_array(slot, redirected) for slot in step.outputs]
            if outs[0].size >= threads.PARALLEL_MIN_ELEMENTS and config.num_threads > 1:
                raise _NotNative  # the Python loop splits it across threads
            args += outs
        else:
            (slot,) = step.outputs
            domain = call.output_shape(self.values)
            if np.prod(domain) >= threads.PARALLEL_MIN_ELEMENTS and config.num_threads > 1:
                raise _NotNative
            kept = tuple(1 if axis in kernel.reduce[1] else length
                         for axis, length in enumerate(domain))
            result = self._output_array(slot, redirected)
            out = result.reshape(kept)
            if not np.shares_memory(out, result):
                raise _NotNative
            if slot in self.moving:
                program.emit(VIEW, program.hold(out), program.hold(result), 0)
            dtype = out.dtype
            start = identity(call.reduction.combiner, dtype.name)
            program.emit(FILL, program.hold(out), out.size, dtype.itemsize,
                         scalar_bits(start, dtype))
            outs = [result]
            args += [out, np.array(domain, np.int64)]
        for slot, out in zip(step.outputs, outs):
            self.objects[slot] = out
        program.emit(CALL, call.whole, len(args), *(program.hold(a) for a in args))

    def _dot(self, step, redirected):
        a, b = (self.objects[slot] for slot in step.inputs)
        out = self._output_array(step.output, redirected)
        self.objects[step.output] = out
        gemm = gemm_call(a, b, out)
        if gemm is None:
            raise _NotNative
        function, words = gemm
        program = self.program
        program.keep.append(words)
        program.multiply_adds = max(program.multiply_adds, step.op.multiply_adds(a, b))
        # Fortran's first operand is b (see gemm_call)
        program.emit(GEMM, function, words.ctypes.data, program.hold(b), program.hold(a),
                     program.hold(out))

    def _view(self, step):
        source_slot = step.inputs[0]
        source = self.objects[source_slot]
        view = step.op.impl(source, *(self.objects[slot] for slot in step.inputs[1:]))
        if not isinstance(view, np.ndarray) or not np.shares_memory(view, source):
            raise _NotNative  # it copied: not a view at every step
        self.objects[step.output] = view
        if source_slot in self.moving:
            self.moving.add(step.output)
            if view is not source:
                delta = view.ctypes.data - source.ctypes.data
                self.program.emit(VIEW, self.program.hold(view), self.program.hold(source),
                                  delta)


def _outputs(step):
    return step.outputs if isinstance(step, KernelStep) else (step.output,)


def gemm_call(a, b, out):
    """(function address, parameter block) computing ``out = dot(a, b)`` for arrays of
    rank 1 or 2 of one float dtype, laid out as BLAS can read them; None otherwise (the
    block: ``runtime.gemm.parameters``, whose Fortran operands are ``b`` then ``a``)."""
    functions = gemm_functions()
    dtype = out.dtype
    if functions is None or dtype.name not in functions or a.dtype != dtype or \
            b.dtype != dtype or not 1 <= a.ndim <= 2 or not 1 <= b.ndim <= 2:
        return None
    # a vector is a one-row (a) or one-column (b) matrix over the same memory
    a2 = a if a.ndim == 2 else as_strided(a, (1, a.shape[0]), (0, a.strides[0]))
    b2 = b if b.ndim == 2 else as_strided(b, (b.shape[0], 1), (b.strides[0], 0))
    m, k = a2.shape
    n = b2.shape[1]
    if 0 in (m, n, k) or out.size != m * n or not out.flags.c_contiguous:
        return None
    words = parameters(a2, b2, out, 1, 0)
    return None if words is None else (functions[dtype.name], words)


# -- the driver ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def driver():
    """The loop driver's entry point (native loops and native calls share it): from this
    process or the disk cache, compiled on a miss (its generator imports llvmlite, ~7 ms a
    warm start need not pay)."""
    from .loader import load_support
    return _DRIVE(load_support(SYMBOL, _define_driver, "cpu"))


def _define_driver(module):
    from ..codegen.loop_driver import define_driver
    return define_driver(module)
