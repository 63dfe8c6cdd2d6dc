"""The program of a native call (``runtime/native_call.py``): ``Writer`` writes it from a
call run through Python, ``Program`` runs it.

A program is the loop driver's words for the function's native segments (one driver run
each), the Python steps between them, and the arrays it owns: proxies for the inputs and
the outputs made fresh at each call, whose data pointers ``BIND`` moves, and the
intermediates, made once.
"""
import ctypes
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..codegen.host import ARRAY_DATA
from ..codegen.loop_program import (ALIGNED, BIND, BIND_FAILED, C_CONTIGUOUS, CALL, COPY, END,
                                    FILL, GEMM, MARK, MAX_CALL_ARGS, VIEW, WRITEABLE)
from ..config import config
from ..ir import HostStep, KernelStep
from ..ir.ops.linalg import Dot, Gemm
from ..ir.ops.reduce import identity
from ..ir.ops.shape import Shape
from . import blas, threads
from .gemm import gemm_functions, layout, parameters, scalar_bits
from .native_loop import driver, gemm_call

MAX_BYTES = 64 << 20   # a program's own arrays at most (intermediates kept between calls)

_POINTER_AT = ctypes.c_void_p.from_address
_BEFORE_INPUTS = -1    # the MARK before the inputs' BINDs: a stop there is another signature
_FIRST, _LAST = ctypes.c_int64(0), ctypes.c_int64(1)  # a call is one step of the driver

# bumped whenever a kernel call is bound to new code (tiered compilation, strided variants):
# programs compare it with their own copy and re-read their kernels' entry points
_generation = 0


def entry_points_moved():
    """Record that some kernel call now runs other code: every program re-reads its
    kernels' entry points before its next run."""
    global _generation
    _generation += 1


class NotNative(Exception):
    """No program is written for this signature."""


class Program:
    """The driver's program for one signature, the arrays it owns, and what a call does
    around the driver: which words it points at its arrays, which arrays it makes."""

    def __init__(self, executable, signature):
        self.signature = signature
        self.calls = executable.calls
        self.tail = executable.tail
        self.n_inputs = executable.n_inputs
        self.result = np.zeros(3, np.int64)  # steps done, status (the driver's); last MARK
        self.status = memoryview(self.result)
        self.result_address = self.result.ctypes.data
        self.result_pointer = ctypes.c_void_p(self.result_address)
        self.entry_points = []   # (word, KernelCall) of each CALL's function address
        self.multiply_adds = 0   # of the largest product (BLAS threads: runtime/blas.py)
        self.stops = 0
        self.generation = _generation
        self.drive = None        # the loop driver's entry point (set by Writer.write)
        # set by Writer._finish
        self.words = self.memory = self.keep = None
        self.template = self.outputs = self.copies = None
        self.pieces = self.bound = self.fresh = self.aliases = self.overlaps = ()

    def run(self, values):
        """The outputs of a call on ``values`` (inputs, then the function's tail), or None
        where its inputs do not fit the program (nothing was run)."""
        if self.generation != _generation:
            self._reread_entry_points()
        n = self.n_inputs
        values[n:] = self.template
        memory = self.memory
        for position, slot in self.bound:
            memory[position] = id(values[slot])
        for position, slot, shape, dtype in self.fresh:
            array = np.empty(shape, dtype)
            values[slot] = array
            memory[position] = id(array)
        for slot, source in self.aliases:
            values[slot] = values[source]
        for target, other in self.overlaps:
            if _may_overlap(values[target], values[other]):
                values[n:] = self.tail
                return None  # the Python path does not write into the target either
        previous = blas.begin(self.multiply_adds) if self.multiply_adds else None
        drive = self.drive
        try:
            for address, python_calls, binds in self.pieces:
                if address is not None:
                    drive(address, _FIRST, _LAST, self.result_pointer)
                    if self.status[1]:
                        return self._stopped(values)
                else:
                    for call in python_calls:
                        call.run(values)
                    for position, slot in binds:
                        memory[position] = id(values[slot])
        finally:
            blas.end(previous)
        return self._results(values)

    def _stopped(self, values):
        """After the driver stopped early: None when an input did not fit (nothing ran),
        else the outputs, the call finished through Python from the step it stopped at."""
        status, where = self.status[1], self.status[2]
        if status == BIND_FAILED and where == _BEFORE_INPUTS:
            values[self.n_inputs:] = self.tail
            return None
        if status < 0 and status != BIND_FAILED:
            raise RuntimeError("native call: the driver met a malformed program")
        self.stops += 1
        for call in self.calls[where:]:
            call.run(values)
        return self._results(values)

    def _results(self, values):
        if self.copies is None:
            return [values[slot] for slot in self.outputs]
        return [np.array(values[slot], copy=True) if copy else values[slot]
                for slot, copy in zip(self.outputs, self.copies)]

    def _reread_entry_points(self):
        # the generation first: a kernel rebound while this runs is seen at the next call
        self.generation = _generation
        memory = self.memory
        for position, call in self.entry_points:
            memory[position] = call.whole


def _may_overlap(a, b):
    """Whether arrays ``a`` and ``b`` may share memory (two arrays that own their data do
    not, unless they are one)."""
    if a is b:
        return True
    if a.base is None and b.base is None:
        return False
    return np.may_share_memory(a, b)


def stand_in(array, contiguous=False):
    """An array of ``array``'s dtype, shape and strides (C-contiguous ones with
    ``contiguous``) over one item of its own: what the writer reads of an array released
    during the recording (never its data)."""
    array = np.asarray(array)
    strides = array.strides
    if contiguous:
        strides, step = (), array.itemsize
        for length in reversed(array.shape):
            strides = (step,) + strides
            step *= max(length, 1)
    return as_strided(np.empty(1, array.dtype), array.shape, strides)


def _proxy(array):
    """An array object of ``array``'s dtype, shape and strides over ``array``'s data, whose
    data pointer the program moves: it holds no reference to ``array`` (an input is not kept
    alive by the program), only to one item of memory of its own."""
    proxy = as_strided(np.empty(1, array.dtype), array.shape, array.strides)
    _POINTER_AT(id(proxy) + ARRAY_DATA).value = array.ctypes.data
    return proxy


def _outputs(step):
    """The slots ``step`` writes."""
    return (step.output,) if isinstance(step, HostStep) else step.outputs


class Writer:
    """Writes a ``Program`` from a call run through Python: ``observe`` classifies each
    step right after it ran (its arrays all there), ``write`` writes the program after
    the call (from the arrays, or stand-ins for those released)."""

    def __init__(self, executable, values, signature):
        self.executable = executable
        self.values = values
        self.schedule = executable.schedule
        self.n_inputs = executable.n_inputs
        self.program = Program(executable, signature)
        self.words = []
        self.keep = []
        self.owned_bytes = 0
        self.objects = {}      # slot -> the array object the program's words name
        self.proxies = {}      # slot -> proxy, for slots whose array is new at each call
        self.per_call = set()  # slots after the inputs whose array is new at each call
        self.moving = set()    # slots whose object's data pointer the program sets per call
        self.roots = {}        # slot -> the input slot whose memory it is or views
        self.kinds = []        # per step observed: see _kind
        self.invariant = {slot for slot, _ in self.schedule.constants}
        self.fixed = {}        # slot -> its value, copied, for values fixed by the signature
        self.python_made = set()   # slots computed by steps run through Python
        self.unaligned = set()     # such slots whose array was not aligned
        self.inplace_of = {}   # slot -> the input slot whose array a native step wrote it in
        self.read_natively = set()
        self.inplace_targets = set()
        self.input_binds = []  # (word, input slot)
        self.fresh_slots = []  # function outputs a call makes a new array for
        self.fresh_binds = []  # (word, such an output slot)
        self.aliases = []      # (slot, slot whose array it is at each call)
        self.overlaps = []     # (in-place target, input read by the same product)
        self.pending = None    # (binds of the last Python piece, the slots they bind)

    # -- what each step is ---------------------------------------------------------------

    def observe(self, index):
        """Classify step ``index``, which just ran: 'kernel', 'dot', 'gemm', 'view',
        'invariant' or 'python'."""
        step, call = self.schedule.steps[index], self.executable.calls[index]
        kind = self._kind(step, call)
        values = self.values
        for slot in _outputs(step):
            if kind == "invariant":
                self.invariant.add(slot)
                # the recording call returns the recorded array itself: the program's copy
                self.fixed[slot] = np.array(values[slot], copy=True)
            elif kind == "python":
                self.python_made.add(slot)
                if not values[slot].flags.aligned:
                    self.unaligned.add(slot)
            elif kind in ("kernel", "gemm") and call.into is not None:
                target = call.into[call.outputs.index(slot)]
                if target is not None and values[slot] is values[target]:
                    self.inplace_of[slot] = target
        self.kinds.append(kind)

    def _kind(self, step, call):
        values, invariant = self.values, self.invariant
        if isinstance(step, KernelStep):
            if all(slot in invariant for slot in step.inputs):
                return "invariant"
            return "kernel" if self._kernel_fits(step, call) else "python"
        if not isinstance(step, HostStep):
            return "python"  # a loop or a conditional
        op = step.op
        if isinstance(op, Shape):
            # a shape is fixed by the signature, or checked, unless a Python step made it
            return "python" if step.inputs[0] in self.python_made else "invariant"
        if all(slot in invariant for slot in step.inputs):
            return "invariant"
        if isinstance(op, Dot):
            return "dot" if self._dot_fits(step) else "python"
        if isinstance(op, Gemm):
            return "gemm" if self._gemm_fits(step) else "python"
        if getattr(op, "returns_view", False) and \
                all(slot in invariant for slot in step.inputs[1:]):
            view, source = values[step.output], values[step.inputs[0]]
            if view is source and step.inputs[0] in self.python_made:
                return "python"  # (an alias of an array made anew at each call)
            return "view" if np.shares_memory(view, source) else "python"
        return "python"

    def _kernel_fits(self, step, call):
        if len(step.inputs) + len(step.outputs) + 1 > MAX_CALL_ARGS:
            return False
        if config.num_threads == 1:
            return True
        return math.prod(call.output_shape(self.values)) < threads.PARALLEL_MIN_ELEMENTS

    def _dot_fits(self, step):
        """Whether the driver's ``?gemm`` computes ``step`` bit for bit as the Python path
        does: numpy's matmul calls ``?gemm`` itself on matrices of more than one row and
        column, C- or F-contiguous (``linalg.blasable``), unless they are one matrix and
        its transpose (then ``?syrk``); vectors go to ``?gemv`` or ``?dot``."""
        a, b = (self.values[slot] for slot in step.inputs)
        if a.ndim != 2 or b.ndim != 2 or min(*a.shape, b.shape[1]) < 2 or \
                a.ctypes.data == b.ctypes.data:
            return False
        if not all(array.flags.c_contiguous or array.flags.f_contiguous for array in (a, b)):
            return False
        out = stand_in(self.values[step.output], contiguous=True)
        return gemm_call(a, b, out) is not None

    def _gemm_fits(self, step):
        c, _, a, b = (self.values[slot] for slot in step.inputs)
        out = self.values[step.output]
        functions = gemm_functions()
        if functions is None or out.dtype.name not in functions or 0 in a.shape or \
                0 in b.shape or layout(a) is None or layout(b) is None:
            return False
        if out is c:
            # in place: whether a or b overlaps c is checked per call, for inputs only
            return not any(slot in self.python_made for slot in step.inputs[2:])
        return c.flags.c_contiguous and c.dtype == out.dtype

    # -- the program ---------------------------------------------------------------------

    def write(self):
        """The program; NotNative where none can be written."""
        kinds = self.kinds
        if not any(kind in ("kernel", "dot", "gemm") for kind in kinds):
            raise NotNative
        self._inputs(kinds)
        self._fresh_outputs(kinds)
        pieces = []
        steps = self.schedule.steps
        index = 0
        while index < len(steps):
            native = kinds[index] != "python"
            end = index
            while end < len(steps) and (kinds[end] != "python") == native:
                end += 1
            if not pieces and not native:  # the inputs are checked before anything runs
                pieces.append(self._segment(index, index, kinds))
            if native:
                pieces.append(self._segment(index, end, kinds))
            else:
                pieces.append(self._python(index, end))
            index = end
        self.program.drive = driver()
        return self._finish(pieces)

    def _emit(self, *words):
        self.words.extend(int(word) for word in words)

    def _hold(self, array):
        """``array``'s object address, the array kept alive by the program."""
        self.keep.append(array)
        return id(array)

    def _own(self, array):
        """An array of the program's own: counted against MAX_BYTES."""
        self.owned_bytes += array.nbytes
        if self.owned_bytes > MAX_BYTES:
            raise NotNative
        self.keep.append(array)
        return array

    def _inputs(self, kinds):
        """Proxies for the inputs the native steps read or write."""
        for index, (step, kind) in enumerate(zip(self.schedule.steps, kinds)):
            if kind in ("kernel", "dot", "gemm", "view"):
                self.read_natively.update(step.inputs)
                for slot in _outputs(step):
                    if slot in self.inplace_of:
                        self.inplace_targets.add(self.inplace_of[slot])
        for slot in range(self.n_inputs):
            self.roots[slot] = slot
            if slot in self.read_natively or slot in self.inplace_targets:
                self._dynamic(slot)
        for slot, value in self.schedule.constants:
            self.objects[slot] = value

    def _dynamic(self, slot):
        """A proxy for ``slot``, whose array is another at each call."""
        proxy = _proxy(self.values[slot])
        self.proxies[slot] = proxy
        self.objects[slot] = proxy
        self.moving.add(slot)
        self.keep.append(proxy)
        if slot >= self.n_inputs:
            self.per_call.add(slot)
        return proxy

    def _alias(self, slot, source):
        """``slot`` is the array of ``source`` at each call."""
        self.objects[slot] = self.objects[source]
        self.roots[slot] = self.roots.get(source)
        if source in self.moving:
            self.moving.add(slot)
        if source < self.n_inputs or source in self.per_call:
            self.aliases.append((slot, source))
            self.per_call.add(slot)

    def _fresh_outputs(self, kinds):
        """Function outputs computed by native steps get a new array at each call (never
        one a later call writes), bound to a proxy; an in-place update is its input."""
        outputs = set(self.schedule.outputs)
        for index, (step, kind) in enumerate(zip(self.schedule.steps, kinds)):
            if kind not in ("kernel", "dot", "gemm"):
                continue
            for slot in _outputs(step):
                target = self.inplace_of.get(slot)
                if target is not None:
                    self._alias(slot, target)
                elif slot in outputs and slot not in self.proxies:
                    self._dynamic(slot)
                    self.fresh_slots.append(slot)

    def _segment(self, first, end, kinds):
        """Steps ``first .. end-1`` as one driver run: (its first word, None, ()).  The
        first segment checks and binds the inputs and binds the fresh outputs; one after
        Python steps checks and binds what they made."""
        start = len(self.words)
        mark = self.program.result_address + 16
        if start == 0:
            self._emit(MARK, mark, _BEFORE_INPUTS)
            for slot in range(self.n_inputs):
                self.input_binds.append((len(self.words) + 2, slot))
                self._bind(slot, self._input_mask(slot))
            for slot in self.fresh_slots:
                self.fresh_binds.append((len(self.words) + 2, slot))
                self._emit(VIEW, id(self.proxies[slot]), 0, 0)
        else:
            self._emit(MARK, mark, first)
        if self.pending is not None:
            binds, slots = self.pending
            for slot in slots:
                binds.append((len(self.words) + 2, slot))
                self._bind(slot, ALIGNED)
            self.pending = None
        for index in range(first, end):
            step, kind = self.schedule.steps[index], kinds[index]
            if kind == "kernel":
                self._emit(MARK, mark, index)
                self._kernel(step, self.executable.calls[index])
            elif kind == "dot":
                self._dot(step)
            elif kind == "gemm":
                self._gemm(step)
            elif kind == "view":
                self._view(step)
            else:
                self._invariant(step)
        self._emit(END)
        return (start, None, ())

    def _input_mask(self, slot):
        if slot in self.inplace_targets:
            return ALIGNED | WRITEABLE | C_CONTIGUOUS
        return ALIGNED if slot in self.read_natively else 0

    def _bind(self, slot, mask):
        """BIND: the array at ``slot`` checked against its recorded geometry and ``mask``,
        then bound to its proxy (if it has one: the program reads it)."""
        array = self.values[slot]
        if slot < self.n_inputs:
            aligned, writeable = array.flags.aligned, array.flags.writeable
        else:  # (made by a Python step, perhaps released since)
            aligned, writeable = slot not in self.unaligned, True
        if (mask & ALIGNED and not aligned) or (mask & WRITEABLE and not writeable):
            raise NotNative  # every call would stop there
        proxy = self.proxies.get(slot)
        self._emit(BIND, 0 if proxy is None else id(proxy), 0, array.ndim, mask,
                   *array.shape, *array.strides)

    def _python(self, first, end):
        """Steps ``first .. end-1`` through Python: (None, their calls, binds after
        them, filled by the next segment)."""
        binds, slots = [], []
        for step in self.schedule.steps[first:end]:
            for slot in _outputs(step):
                self.per_call.add(slot)
                if slot in self.read_natively:
                    self._dynamic(slot)
                    slots.append(slot)
        self.pending = (binds, slots)
        return (None, self.executable.calls[first:end], binds)

    # -- steps ---------------------------------------------------------------------------

    def _output_array(self, slot):
        """The array a native step computes ``slot`` into: its proxy (a fresh output, an
        in-place update) or one the program owns."""
        array = self.objects.get(slot)
        if array is None:
            recorded = self.values[slot]  # (its geometry only: perhaps a stand-in)
            array = self._own(np.empty(recorded.shape, recorded.dtype))
            self.objects[slot] = array
        return array

    def _kernel(self, step, call):
        args = [self.objects[slot] for slot in step.inputs]
        if step.kernel.reduce is None:
            args += [self._output_array(slot) for slot in step.outputs]
        else:
            (slot,) = step.outputs
            domain = call.output_shape(self.values)
            kept = tuple(1 if axis in step.kernel.reduce[1] else length
                         for axis, length in enumerate(domain))
            result = self._output_array(slot)
            out = result.reshape(kept)
            if not np.shares_memory(out, result):
                raise NotNative
            if slot in self.moving:
                self._emit(VIEW, self._hold(out), id(result), 0)
            dtype = out.dtype
            start = identity(call.reduction.combiner, dtype.name)
            self._emit(FILL, self._hold(out), out.size, dtype.itemsize,
                       scalar_bits(start, dtype))
            args += [out, self._own(np.array(domain, np.int64))]
        self.program.entry_points.append((len(self.words) + 1, call))
        self._emit(CALL, call.whole, len(args), *(self._hold(array) for array in args))

    def _dot(self, step):
        a_slot, b_slot = step.inputs
        a, b = self.values[a_slot], self.values[b_slot]
        out = self._output_array(step.output)
        function, block = gemm_call(a, b, out)
        self._product(step.op.multiply_adds(a, b), block)
        # Fortran's first operand is b (see native_loop.gemm_call)
        self._emit(GEMM, function, block.ctypes.data, self._hold(self.objects[b_slot]),
                   self._hold(self.objects[a_slot]), id(out))

    def _gemm(self, step):
        c_slot, alpha_slot, a_slot, b_slot = step.inputs
        a, b = self.values[a_slot], self.values[b_slot]
        alpha = self.objects[alpha_slot]
        out = self._output_array(step.output)
        if out is not self.objects[c_slot]:
            self._emit(COPY, id(out), self._hold(self.objects[c_slot]), out.nbytes)
        else:
            target = self.roots[c_slot]
            for slot in (a_slot, b_slot):
                other = self.roots.get(slot)
                if other is not None and other != target:
                    self.overlaps.append((target, other))
        fixed = alpha_slot in self.invariant
        block = parameters(a, b, out, alpha if fixed else 1, 1)
        self._product(a.shape[0] * a.shape[1] * b.shape[1], block)
        if not fixed:
            # alpha's bytes into the block's alpha word at each call (its low bytes, where
            # BLAS reads it)
            self._emit(COPY, self._hold(block[5:6]), self._hold(self.objects[alpha_slot]),
                       alpha.dtype.itemsize)
        # Fortran's first operand is b (see runtime.gemm)
        self._emit(GEMM, gemm_functions()[out.dtype.name], block.ctypes.data,
                   self._hold(self.objects[b_slot]), self._hold(self.objects[a_slot]),
                   id(out))

    def _product(self, multiply_adds, block):
        self.keep.append(block)
        self.program.multiply_adds = max(self.program.multiply_adds, multiply_adds)

    def _view(self, step):
        source_slot = step.inputs[0]
        source = self.objects[source_slot]
        view = step.op.impl(source, *(self.objects[slot] for slot in step.inputs[1:]))
        if view is source:
            self._alias(step.output, source_slot)
            return
        if not isinstance(view, np.ndarray) or not np.shares_memory(view, source):
            raise NotNative  # (the recorded one was a view: should not happen)
        self.keep.append(view)
        self.objects[step.output] = view
        self.roots[step.output] = self.roots.get(source_slot)
        if source_slot in self.moving:
            self.moving.add(step.output)
            delta = view.ctypes.data - source.ctypes.data
            self._emit(VIEW, id(view), id(source), delta)

    def _invariant(self, step):
        """Values fixed by the signature: the recorded ones, copied (the recording call
        returned the recorded arrays themselves)."""
        for slot in _outputs(step):
            self.objects[slot] = self._own(self.fixed[slot])

    # -- what a call does around the driver ----------------------------------------------

    def _finish(self, pieces):
        """The program, its words and tables in place."""
        program = self.program
        self._emit(*([0] * MAX_CALL_ARGS))  # the driver reads a call's words ahead
        words = np.array(self.words, dtype=np.int64)
        base = words.ctypes.data
        program.words = words
        program.memory = memoryview(words)
        program.keep = self.keep
        # a native piece: the address of its words (made once: ctypes converts a c_void_p
        # faster than an int), a Python piece: its calls and the words it binds after them
        program.pieces = tuple((ctypes.c_void_p(base + 8 * start), (), ()) if calls is None
                               else (None, calls, tuple(binds))
                               for start, calls, binds in pieces)
        program.bound = tuple(self.input_binds)
        program.fresh = tuple((position, slot, self.values[slot].shape,
                               self.values[slot].dtype)
                              for position, slot in self.fresh_binds)
        program.aliases = tuple(self.aliases)
        program.overlaps = tuple(self.overlaps)
        # the slots after the inputs as a call starts: the program's own arrays, None
        # where each call puts a new one
        n = self.n_inputs
        template = list(self.executable.tail)
        for slot, array in self.objects.items():
            if slot >= n and slot not in self.per_call:
                template[slot - n] = array
        program.template = template
        # outputs copied: those the Python path copies, and the program's own arrays
        copies = tuple(copy or (slot >= n and slot not in self.per_call)
                       for slot, copy in zip(self.schedule.outputs,
                                             self.executable.copy_outputs))
        program.outputs = self.schedule.outputs
        program.copies = copies if any(copies) else None
        # entry points may have moved since the recording run: read them again now
        program._reread_entry_points()
        return program
