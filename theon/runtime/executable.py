"""Running a compiled Schedule: argument checks, buffer allocation, kernel calls.

The call path is kept short on purpose: per input one type/dtype/rank test (anything else
goes to the slow path that converts or raises), per kernel output one ``np.empty`` and one
native call.  No imports, hashing or graph walks happen per call.
"""
import ctypes
import functools
import math
import operator

import numpy as np

from ..config import config
from ..ir import BranchStep, KernelStep, LoopStep, ShapeError
from ..ir.ops.linalg import Gemm
from . import blas, gemm, threads
from .arguments import convert_argument
from .loader import follow_upgrades
from .native_call import NativeCall, entry_points_moved
from .plans import inplace_plan, release_plan

_ARRAY = np.ndarray


class KernelCall:
    """One kernel step bound to its native entry points and its slots."""

    __slots__ = ("serial", "parallel", "inputs", "outputs", "out_dtypes", "axes", "label",
                 "names", "donor", "same_shape", "partial", "step", "target_name", "reduction",
                 "into", "address", "whole", "single", "gather", "__weakref__")

    def __init__(self, step, addresses, slot_names, target_name):
        kernel = step.kernel
        self.step = step
        self.target_name = target_name
        self._bind(step, addresses)
        self.inputs = step.inputs
        self.outputs = step.outputs
        self.single = len(step.outputs) == 1
        # the input arrays as a tuple, in one C call
        self.gather = _gatherer(step.inputs)
        self.out_dtypes = tuple(np.dtype(t.dtype) for t in kernel.out_types)
        self.axes = _axis_sources(kernel)
        self.label = kernel.describe()
        self.names = slot_names
        self.donor, self.same_shape, self.partial = _shape_plan(kernel, step.inputs)
        self.reduction = _Reduction(kernel) if kernel.reduce is not None else None
        # per output, the input slot whose array it may be written into (an update computed
        # in place, see plans.inplace_plan), or None; None as a whole: fresh arrays only
        self.into = None
        follow_upgrades(self, target_name, step.symbol)

    def upgrade(self, symbol, entries):
        """Run ``symbol``'s code at ``entries`` (its entry points by name) from now on: the
        optimised second tier of tiered compilation.  Ignored for a symbol this call no
        longer runs (it moved to a strided variant)."""
        if symbol == self.step.symbol and len(entries) == 2:
            self._bind(self.step, entries)
            entry_points_moved()  # native programs calling it read ``whole`` again

    def output_shape(self, values):
        """The domain's shape from the inputs' shapes; ShapeError if they disagree."""
        if self.donor is None:
            return self._shape_by_axis(values)
        shape = values[self.donor].shape
        for slot in self.same_shape:
            if values[slot].shape != shape:
                return self._shape_by_axis(values)
        for slot, axis, domain_axis in self.partial:
            if values[slot].shape[axis] != shape[domain_axis]:
                return self._shape_by_axis(values)
        return shape

    def _shape_by_axis(self, values):
        shape = []
        for sources in self.axes:
            if not sources:
                shape.append(1)
                continue
            first, first_axis = sources[0]
            length = values[self.inputs[first]].shape[first_axis]
            for other, other_axis in sources[1:]:
                if values[self.inputs[other]].shape[other_axis] != length:
                    raise self._mismatch(values, first, first_axis, other, other_axis)
            shape.append(length)
        return tuple(shape)

    def _mismatch(self, values, first, first_axis, other, other_axis):
        a, b = self.inputs[first], self.inputs[other]
        shape_a, shape_b = values[a].shape, values[b].shape
        return ShapeError(
            f"{self.label}: {self.names[b]} has shape {shape_b}; expected length "
            f"{shape_a[first_axis]} at axis {other_axis} to match {self.names[a]} "
            f"(shape {shape_a}); only dimensions declared broadcastable may differ")

    def run(self, values):
        """Allocate this step's outputs into ``values`` and run the kernel (split across
        ``config.num_threads`` threads when it is large)."""
        if self.reduction is not None:
            values[self.outputs[0]] = self.reduction.run(self, values)
            return
        shape = self.output_shape(values)
        # no comprehensions on this path: each costs a frame, ~0.3 us of a 2 us call
        if self.into is not None:
            outs = self._outputs_into(values, shape)
        elif self.single:
            outs = (np.empty(shape, self.out_dtypes[0]),)
        else:
            outs = ()
            for dtype in self.out_dtypes:
                outs += (np.empty(shape, dtype),)
        args = (*self.gather(values), *outs)
        if outs[0].size >= threads.PARALLEL_MIN_ELEMENTS and shape[0] > 1 and \
                config.num_threads > 1:
            status = threads.parallel_for(self.parallel, list(args), shape[0],
                                          config.num_threads)
        else:
            status = self.serial(*args)
        if status:
            self._rerun_refused(list(args), status)
        if self.single:
            values[self.outputs[0]] = outs[0]
        else:
            for slot, out in zip(self.outputs, outs):
                values[slot] = out

    def _outputs_into(self, values, shape):
        """The output arrays: an input's own array where the plan allows writing into it and
        the array fits (same shape and dtype, C-contiguous, aligned, writeable), else new
        ones."""
        outs = []
        for dtype, slot in zip(self.out_dtypes, self.into):
            if slot is not None:
                target = values[slot]
                if type(target) is _ARRAY and target.shape == shape and \
                        target.dtype == dtype and target.flags.carray:
                    outs.append(target)
                    continue
            outs.append(np.empty(shape, dtype))
        return outs

    def _bind(self, step, addresses):
        self.address = addresses[step.symbol]
        n_args = len(step.inputs) + len(step.outputs)
        if step.kernel.reduce is not None:
            n_args += 1  # the domain's extents
        serial, parallel = _prototypes(n_args)
        self.whole = addresses[step.symbol + ".all"]  # (read by native_loop, native_call)
        self.serial = serial(self.whole)
        self.parallel = parallel(addresses[step.symbol])

    def _rerun_refused(self, args, status):
        """Run a call the kernel refused (status 1) again: with the strided variant of the
        kernel when the inputs are aligned but strided along the inner axis (compiled once,
        then used for every call), else on aligned C-contiguous copies of the inputs."""
        n_inputs = len(self.inputs)
        if not self.step.kernel.strided and all(_aligned(a) for a in args[:n_inputs]):
            from ..stopwatch import Stopwatch
            from .loader import load_steps, strided_variant
            variant = strided_variant(self.step)
            loaded = load_steps([variant], self.target_name, self.label, Stopwatch())
            self.step = variant
            self._bind(variant, loaded.addresses)
            entry_points_moved()
            follow_upgrades(self, self.target_name, variant.symbol)
            if self.serial(*args) == 0:
                return
        copies = [np.array(a, copy=True, order="C") for a in args[:n_inputs]]
        copies += args[n_inputs:]
        status = self.serial(*copies)
        if status:
            raise RuntimeError(f"{self.label}: kernel failed with status {status}")


class _Reduction:
    """How a reduction kernel is called: its output starts as the combiner's identity with
    the reduced axes kept, and the domain's extents are passed as one more array.  What
    does not depend on the shapes is worked out once: a small reduction's call costs about
    as much Python as its kernel."""

    def __init__(self, kernel):
        from ..ir.ops.reduce import identity
        self.combiner, self.axes, self.keepdims = kernel.reduce
        self.dtype = np.dtype(kernel.out_types[0].dtype)
        self.identity = identity(self.combiner, self.dtype.name)
        self.out_shape = kernel.out_types[0].shape
        self.label = kernel.describe()
        self.reduced = tuple(axis in self.axes for axis in range(kernel.ndim))
        self.needs_elements = self.combiner in ("maximum", "minimum")  # no identity to start
        self.splits_rows = bool(self.reduced) and not self.reduced[0]
        # shape tuples picked by itemgetter (no Python loop per call): the output's with
        # the reduced axes kept, from the domain with a 1 appended; and without them
        ndim = kernel.ndim
        self.kept = _gatherer(tuple(ndim if reduced else axis
                                    for axis, reduced in enumerate(self.reduced)))
        self.remaining = _gatherer(tuple(axis for axis, reduced in enumerate(self.reduced)
                                         if not reduced))
        # the domain's extents as the kernel reads them, kept while the domain stays the same
        # (a training loop's): (domain, int64 array), replaced as one object
        self.extents = (None, None)

    def run(self, call, values):
        """The reduced array for the inputs in ``values``."""
        domain = call.output_shape(values)
        kept = self.kept((*domain, 1))
        if self.needs_elements and 0 in domain and any(
                domain[axis] == 0 for axis in self.axes):
            raise ValueError(f"{self.label}: zero-size array to a reduction operation "
                             f"{self.combiner}, which has no identity (domain {domain})")
        out = np.empty(kept, self.dtype)
        out.fill(self.identity)
        extents = self.extents  # read once: another thread may replace it meanwhile
        if extents[0] != domain:
            extents = self.extents = (domain, np.array(domain, np.int64))
        args = [*call.gather(values), out, extents[1]]
        # math.prod, not np.prod: on a small tuple numpy's costs microseconds per call
        if self.splits_rows and domain[0] > 1 and config.num_threads > 1 and \
                math.prod(domain) >= threads.PARALLEL_MIN_ELEMENTS:
            status = threads.parallel_for(call.parallel, args, domain[0], config.num_threads)
        else:
            status = call.serial(*args)
        if status:
            call._rerun_refused(args, status)
        if self.keepdims:
            return out
        return out.reshape(self.remaining(domain))


def _direct_caller(executable, kernel, single, trusted):
    """A closure running ``kernel`` on the arguments themselves: no slot list, no loops over
    steps.  Falls back to the general path for any argument needing conversion."""
    n_inputs = executable.n_inputs
    signature = executable.signature
    general = executable.__call__
    output_shape = kernel.output_shape
    (dtype,) = kernel.out_dtypes
    minimum = threads.PARALLEL_MIN_ELEMENTS
    empty = np.empty

    def call(*args):
        if len(args) != n_inputs:
            return general(*args)[0] if single else general(*args)
        for position, expected, ndim in signature:
            value = args[position]
            if type(value) is not _ARRAY or value.dtype is not expected or value.ndim != ndim:
                return general(*args)[0] if single else general(*args)
        return run(*args)

    def run(*args):
        shape = output_shape(args)
        out = empty(shape, dtype)
        if out.size >= minimum and shape[0] > 1 and config.num_threads > 1:
            status = threads.parallel_for(kernel.parallel, [*args, out], shape[0],
                                          config.num_threads)
        else:
            status = kernel.serial(*args, out)
        if status:
            kernel._rerun_refused([*args, out], status)
        return out if single else [out]

    return run if trusted else call


@functools.lru_cache(maxsize=None)
def _prototypes(n_arrays):
    """The ctypes function types of a kernel's two entry points for ``n_arrays`` array
    arguments: the whole range, keeping the GIL (PYFUNCTYPE: cheapest for small calls), and
    a [begin, end) chunk, releasing it (CFUNCTYPE) so that worker threads run chunks of one
    kernel in parallel.  Made once per count: PYFUNCTYPE creates a class per call."""
    arrays = [ctypes.py_object] * n_arrays
    return (ctypes.PYFUNCTYPE(ctypes.c_int32, *arrays),
            ctypes.CFUNCTYPE(ctypes.c_int32, *arrays, ctypes.c_int64, ctypes.c_int64))


def _gatherer(slots):
    """A function of the slot list returning the values at ``slots`` as a tuple."""
    if len(slots) == 1:
        (slot,) = slots
        return lambda values: (values[slot],)
    if not slots:
        return lambda values: ()
    return operator.itemgetter(*slots)


def _aligned(array):
    """Whether numpy's own flag says ``array``'s data and strides suit its element type."""
    return array.flags.aligned


def _shape_plan(kernel, slots):
    """(donor slot, slots that must have the donor's shape, (slot, axis, domain axis) of
    the other inputs' lengths that must equal the donor's): the donor is an input whose
    shape is the domain's (same rank, broadcast exactly where the output does), so the
    common case needs only tuple and integer comparisons.  No donor: (None, (), ())."""
    out_pattern = tuple(length == 1 for length in kernel.domain_shape)
    donor, same, partial = None, [], []
    for slot, ttype in zip(slots, kernel.in_types):
        if ttype.broadcastable == out_pattern:
            if donor is None:
                donor = slot
            else:
                same.append(slot)
            continue
        offset = kernel.ndim - ttype.ndim
        partial += [(slot, axis, axis + offset)
                    for axis, broadcast in enumerate(ttype.broadcastable) if not broadcast]
    if donor is None:
        return None, (), ()
    return donor, tuple(same), tuple(partial)


class HostCall:
    """An op run on the host through its numpy reference.  An op that calls BLAS says how
    many multiply-adds a call does (``multiply_adds``), so that small products run on one
    BLAS thread while other processes load the machine (see ``runtime.blas``)."""

    __slots__ = ("op", "inputs", "output", "dtype", "work", "gather", "impl")

    def __init__(self, step, slot_types):
        self.op = step.op
        self.impl = step.op.impl
        self.inputs = step.inputs
        self.gather = _gatherer(step.inputs)
        self.output = step.output
        self.dtype = np.dtype(slot_types[step.output].dtype)
        self.work = getattr(step.op, "multiply_adds", None)

    def run(self, values):
        arrays = self.gather(values)
        if self.work is None:
            result = self.impl(*arrays)
        else:
            previous = blas.begin(self.work(*arrays))
            try:
                result = self.op.impl(*arrays)
            finally:
                blas.end(previous)
        values[self.output] = np.asarray(result, dtype=self.dtype)


class GemmCall(HostCall):
    """A ``Gemm`` step (``c + alpha * a @ b``): the product is added by BLAS into a copy of
    ``c``, or into ``c``'s own array where the in-place plan allows (``into``) and the
    array suits: C-contiguous, aligned, writeable, of the result's dtype and not
    overlapping ``a`` or ``b``."""

    __slots__ = ("into",)

    def __init__(self, step, slot_types):
        super().__init__(step, slot_types)
        self.into = None  # set by Executable: (slot,) of c when c may become the result

    @property
    def outputs(self):
        """The slots this call writes (as a kernel call's ``outputs``)."""
        return (self.output,)

    def run(self, values):
        c, alpha, a, b = self.gather(values)
        if c.shape != (a.shape[0], b.shape[1]) or a.shape[1] != b.shape[0]:
            self.op.check_shapes(c.shape, a.shape, b.shape)  # raises, naming the lengths
        if self.into is not None and type(c) is _ARRAY and c.dtype == self.dtype and \
                c.flags.carray and \
                not np.may_share_memory(c, a) and not np.may_share_memory(c, b):
            out = c
        else:
            out = np.array(c, dtype=self.dtype, order="C")
        values[self.output] = gemm.accumulate(out, alpha, a, b)


def _make_call(step, addresses, slot_names, slot_types, target_name):
    """The runtime object running ``step``."""
    if isinstance(step, KernelStep):
        return KernelCall(step, addresses, slot_names, target_name)
    if isinstance(step, (LoopStep, BranchStep)):
        from .control import BranchCall, LoopCall  # (they build Executables of their own)
        call = LoopCall if isinstance(step, LoopStep) else BranchCall
        return call(step, addresses, target_name)
    if isinstance(step.op, Gemm):
        return GemmCall(step, slot_types)
    return HostCall(step, slot_types)


def _axis_sources(kernel):
    """Per domain axis, the (input, input axis) pairs whose length sets it: inputs whose
    dimension there is not broadcastable.  Empty for an axis of static length 1."""
    ndim = kernel.ndim
    axes = []
    for axis in range(ndim):
        sources = []
        if kernel.domain_shape[axis] != 1:
            for position, ttype in enumerate(kernel.in_types):
                own = axis - (ndim - ttype.ndim)
                if own >= 0 and ttype.shape[own] != 1:
                    sources.append((position, own))
        axes.append(tuple(sources))
    return tuple(axes)


class Executable:
    """A compiled function's runtime: call it with input arrays, get output arrays.

    Parameters
    ----------
    schedule : Schedule
    addresses : dict
        Kernel symbol -> native address.
    input_names : sequence of str
    allow_input_downcast : bool or None
        Theano's flag: True converts any dtype, None only Python floats to floatX, False
        only conversions that lose nothing.
    target_name : str
        Where the kernels run (to compile a kernel's strided variant on demand).
    updates : sequence of (int, int)
        ``(output index, input position)`` pairs: that output is the next value of that
        input (a shared variable's update).  Where it is safe, the kernel computing such an
        output writes it straight into the input's array (see ``plans.inplace_plan``); the
        caller recognises this by the output being the very array it passed.
    native_calls : bool
        Whether calls may run natively once their inputs' shapes repeat (see
        ``runtime/native_call.py``; ``config.native_calls`` turns it off for every
        function).  Loop and branch bodies, run by their own runners, say False.

    Attributes
    ----------
    native : runtime.native_call.NativeCall or None
        The native runner of this function's calls (None: every call runs in Python).
    """

    def __init__(self, schedule, addresses, input_names, allow_input_downcast,
                 target_name="cpu", updates=(), native_calls=True):
        self.schedule = schedule
        self.allow_input_downcast = allow_input_downcast
        self.input_names = tuple(input_names)
        self.n_inputs = schedule.n_inputs
        self.n_slots = len(schedule.slot_types)
        self.signature = tuple((position, np.dtype(t.dtype), t.ndim)
                               for position, t in enumerate(schedule.input_types))
        self.static_checks = tuple(
            (position, axis, length)
            for position, ttype in enumerate(schedule.input_types)
            for axis, length in enumerate(ttype.shape) if length is not None)
        # the slots after the inputs: constants, and room for what the steps compute
        self.tail = [None] * (self.n_slots - self.n_inputs)
        for slot, value in schedule.constants:
            self.tail[slot - self.n_inputs] = value
        # the schedule may come from the cache, compiled for another function's variables:
        # messages name this function's inputs
        slot_names = list(schedule.slot_names)
        slot_names[:self.n_inputs] = [repr(name) for name in self.input_names]
        self.calls = tuple(_make_call(step, addresses, slot_names, schedule.slot_types,
                                      target_name) for step in schedule.steps)
        # outputs that are inputs or constants are copied: callers may modify results
        # (a host op that returns a view of its input, such as a transpose, does not count:
        # the caller must not receive an array aliasing its own input)
        produced = {slot for step in schedule.steps
                    for slot in (step.outputs if isinstance(step, (KernelStep, LoopStep,
                                                                   BranchStep)) else
                                 () if getattr(step.op, "returns_view", False) else
                                 (step.output,))}
        # and an output returned twice is copied the second time (Theano returns distinct
        # arrays: writing to one must not change the other)
        copies, seen = [], set()
        for slot in schedule.outputs:
            copies.append(slot not in produced or slot in seen)
            seen.add(slot)
        self.copy_outputs = tuple(copies)
        self.any_copy = any(self.copy_outputs)
        self.outputs = schedule.outputs
        self.inplace = inplace_plan(schedule, updates)
        self.plan = tuple(zip(self.calls, release_plan(schedule)))
        for step_index, targets in self.inplace.items():
            call = self.calls[step_index]
            call.into = tuple(targets.get(position) for position in range(len(call.outputs)))
        self.native = NativeCall.of(self) if native_calls and target_name == "cpu" else None

    def __call__(self, *args):
        """Run the function on ``args``; returns the list of output arrays."""
        return self._run(self.prepare(args))

    def prepare(self, args):
        """The slot list a call on ``args`` starts from: the inputs checked and converted,
        the constants, room for what the steps compute (also for the runners that walk
        ``plan`` step by step, ``runtime.stepwise``)."""
        if len(args) != self.n_inputs:
            raise TypeError(f"function takes {self.n_inputs} input"
                            f"{'' if self.n_inputs == 1 else 's'} "
                            f"({', '.join(self.input_names)}); got {len(args)}")
        values = [*args, *self.tail]
        for position, dtype, ndim in self.signature:
            value = args[position]
            if type(value) is not _ARRAY or value.dtype is not dtype or value.ndim != ndim:
                values[position] = self._convert(position, value)
        if self.static_checks:
            self._check_static(values)
        return values

    def results(self, values):
        """The output arrays of a call whose steps filled ``values`` (copied where a call
        copies them)."""
        if self.any_copy:
            return self._copied_outputs(values)
        return [values[slot] for slot in self.outputs]

    def run_slots(self, args):
        """Run every step on ``args`` (trusted, as ``trusted_call``) and return the whole
        slot list: every intermediate array stays, for runners that read them (the native
        loop takes the shapes of a loop's first step from it)."""
        values = [*args, *self.tail]
        for call in self.calls:
            call.run(values)
        return values

    def trusted_call(self, *args):
        """Like calling, without checking or converting the inputs (PyTensor's
        ``trust_input``): the caller guarantees ndarrays of the right dtype and rank."""
        return self._run([*args, *self.tail])

    def _run(self, values):
        """The outputs of a call on the slots ``values``: natively where it can (see
        ``runtime/native_call.py``), else step by step."""
        if self.native is not None:
            return self.native.call(self, values)
        return self.run_steps(values)

    def run_steps(self, values):
        """Run every step on the slots ``values`` through Python, dropping each array after
        its last use; the outputs."""
        for call, dead in self.plan:
            call.run(values)
            for slot in dead:
                values[slot] = None
        return self.results(values)

    def caller(self, single, trusted=False):
        """The function users call: returns the first output bare when ``single``; with
        ``trusted``, skips argument checks (see ``trusted_call``).

        A function that is one kernel reading its inputs in order gets a dedicated path
        (the most common case, and the one whose overhead matters: small arrays).
        """
        direct = self._direct_kernel()
        if direct is not None:
            return _direct_caller(self, direct, single, trusted)
        call = self.trusted_call if trusted else self.__call__
        if single:
            return lambda *args: call(*args)[0]
        return call

    def _direct_kernel(self):
        if len(self.calls) != 1 or self.static_checks or self.any_copy:
            return None
        kernel = self.calls[0]
        if not isinstance(kernel, KernelCall) or len(kernel.outputs) != 1 or \
                kernel.reduction is not None or \
                kernel.inputs != tuple(range(self.n_inputs)) or \
                self.outputs != kernel.outputs:
            return None
        return kernel

    def _copied_outputs(self, values):
        return [np.array(values[slot], copy=True) if copy else values[slot]
                for slot, copy in zip(self.outputs, self.copy_outputs)]

    def _convert(self, position, value):
        _, dtype, ndim = self.signature[position]
        return convert_argument(value, dtype, ndim, self._describe(position),
                                self.allow_input_downcast)

    def _describe(self, position):
        ttype = self.schedule.input_types[position]
        return f"input {position} ('{self.input_names[position]}', {ttype})"

    def _check_static(self, values):
        for position, axis, length in self.static_checks:
            actual = values[position].shape[axis]
            if actual != length:
                kind = "a broadcastable dimension" if length == 1 else "a static length"
                raise ShapeError(f"function: {self._describe(position)} has shape "
                                 f"{values[position].shape}; expected length {length} at "
                                 f"axis {axis} ({kind})")
