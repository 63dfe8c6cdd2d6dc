"""Reduction kernels on the CUDA target: threads, warps and blocks fold together.

The domain's axes split into kept axes (the output's) and reduced axes.  Output number
``o`` (row-major over the kept axes) is computed by a *group* of ``group`` consecutive
threads of one block, ``group`` a power of two from 1 to 1024 chosen at launch:

1. each thread folds the elements ``r = chunk * group + lane, r + group * chunks, ...`` of
   the reduced range (row-major over the reduced axes), where ``chunk`` is ``blockIdx.y``
   and ``chunks`` is ``gridDim.y``, so neighbouring threads read neighbouring elements;
2. the group's threads fold their values by warp shuffles (butterfly, ``log2(group)``
   steps within a warp);
3. a group wider than a warp folds its warps' values through shared memory, by the first
   warp of the group, after a block barrier;
4. with one chunk, the group's first thread writes the output.  With several (a grid-level
   reduction: few outputs, many elements each), it writes its partial value to
   ``scratch[chunk, o]``, and the last chunk to arrive (counted in ``arrivals[o]`` by an
   atomic add after a device fence) folds the partials in chunk order, writes the output
   and sets ``arrivals[o]`` back to 0 for the next launch.

Every order of folding is fixed by the launch configuration, so results are reproducible.
The block strides over outputs (``blockIdx.x`` then by ``gridDim.x``), and every thread of
a block runs the same number of turns, so the barriers are reached by all.

Kernel parameters, in order: one pointer per input, the output, ``scratch`` (``chunks *
n_out`` elements of the accumulation dtype, ``codegen.combine.accumulate_dtype``; unused
with one chunk), ``arrivals`` (``n_out`` uint32, zero before the first launch); the domain's
extents (one i64 per axis); each array's element strides (one i64 per array per axis it
does not broadcast along; the output broadcasts along the reduced axes); ``n_out`` and
``n_red`` (i64, the numbers of outputs and of elements folded into each); ``group`` (i32).
"""
from llvmlite import ir

from ..ir import dtypes
from .body import emit_body
from .combine import accumulate_dtype, combine, identity_constant, reduced_output_type
from .loops import entry_alloca, for_range
from .nvptx import (WARP, barrier, define_entry, device_fence, element, load, offset,
                    shuffle_xor, special_register, store, unflatten)
from .types import memory_type, register_type

I32 = ir.IntType(32)
I64 = ir.IntType(64)
SHARED = 3  # NVPTX's address space of block-shared memory
MAX_WARPS = 1024 // WARP  # warps in the largest block


def define_reduction(module, step, target):
    """Emit ``step.symbol``, the reduction kernel of ``step.kernel`` (see the module's
    docstring for what each thread does and the parameters it takes)."""
    kernel = step.kernel
    combiner, reduced_axes, _ = kernel.reduce
    ndim = kernel.ndim
    kept_axes = [axis for axis in range(ndim) if axis not in reduced_axes]
    types = kernel.in_types + (reduced_output_type(kernel),)
    entry = define_entry(module, step.symbol, types, ndim, extra_pointers=2,
                         trailing=[I64, I64, I32])
    builder, pointers, strides, extents = entry.builder, entry.pointers, entry.strides, \
        entry.extents
    scratch, arrivals = entry.extra
    n_out, n_red, group = entry.trailing
    fold = _Fold(builder, combiner, accumulate_dtype(kernel), module, step.symbol)

    thread = special_register(builder, "tid.x")
    lane_in_group = builder.and_(thread, builder.sub(group, I32(1)))
    groups_per_block = builder.udiv(special_register(builder, "ntid.x"), group)
    group_in_block = builder.zext(builder.udiv(thread, group), I64)
    chunk = builder.zext(special_register(builder, "ctaid.y"), I64)
    chunks = builder.zext(special_register(builder, "nctaid.y"), I64)
    block = builder.zext(special_register(builder, "ctaid.x"), I64)
    blocks = builder.zext(special_register(builder, "nctaid.x"), I64)
    per_block = builder.zext(groups_per_block, I64)
    group64 = builder.zext(group, I64)

    first_output = builder.mul(block, per_block)
    with for_range(builder, first_output, n_out, "rows",
                   step=builder.mul(blocks, per_block)) as row_base:
        output = builder.add(row_base, group_in_block)
        active = builder.icmp_unsigned("<", output, n_out)
        # inactive threads fold nothing but still take part in shuffles and barriers
        kept = unflatten(builder, builder.select(active, output, I64(0)),
                         [extents[axis] for axis in kept_axes])
        kept_index = dict(zip(kept_axes, kept))
        bases = [offset(builder, own, kept_index) for own in strides]
        value = _thread_value(builder, kernel, target, fold, pointers, types, strides, bases,
                              reduced_axes, extents, active, n_red, kept_index,
                              start=builder.add(builder.mul(chunk, group64),
                                                builder.zext(lane_in_group, I64)),
                              step=builder.mul(group64, chunks))
        value = fold.across_group(value, thread, group)
        leader = builder.and_(active, builder.icmp_unsigned("==", lane_in_group, I32(0)))
        with builder.if_then(leader):
            _finish(builder, fold, kernel, value, pointers[-1], bases[-1], scratch, arrivals,
                    output, n_out, chunk, chunks)
        barrier(builder)  # shared memory is reused by the next turn
    builder.ret_void()
    return entry.function


def _thread_value(builder, kernel, target, fold, pointers, types, strides, bases,
                  reduced_axes, extents, active, n_red, kept_index, start, step):
    """This thread's fold of its share of the reduced range (the identity if inactive);
    ``kept_index``: the position along each kept axis ({axis: i64})."""
    slot = entry_alloca(builder, fold.register)
    builder.store(fold.identity, slot)
    stop = builder.select(active, n_red, I64(0))
    with for_range(builder, start, stop, "r", step=step) as flat:
        reduced = unflatten(builder, flat, [extents[axis] for axis in reduced_axes])
        index = dict(zip(reduced_axes, reduced))
        n_inputs = len(kernel.in_types)
        addresses = [element(builder, pointers[k], types[k].dtype,
                             builder.add(bases[k], offset(builder, strides[k], index)))
                     for k in range(n_inputs)]

        def read(position, dtype):
            return load(builder, addresses[position], types[position].dtype)

        positions = {**kept_index, **index}
        (value,) = emit_body(builder, kernel.body, read, target,
                             position=lambda axis: positions[kernel.ndim + axis])
        builder.store(fold(builder.load(slot, typ=fold.register), fold.widen(value)), slot)
    return builder.load(slot, typ=fold.register)


def _finish(builder, fold, kernel, value, out_pointer, out_base, scratch, arrivals, output,
            n_out, chunk, chunks):
    """The group leader's end of one output: write it, or with several chunks hand the
    partial value over and let the last chunk to arrive fold them all."""
    out_dtype = kernel.out_types[0].dtype
    out_address = element(builder, out_pointer, out_dtype, out_base)
    several = builder.icmp_unsigned(">", chunks, I64(1))
    with builder.if_else(several) as (grid_level, block_level):
        with block_level:
            store(builder, fold.narrow(value, out_dtype), out_address, out_dtype)
        with grid_level:
            partial = builder.gep(scratch, [builder.add(builder.mul(chunk, n_out), output)],
                                  source_etype=fold.memory)
            builder.store(fold.to_memory(value), partial, align=fold.itemsize)
            device_fence(builder)
            counter = builder.gep(arrivals, [output], source_etype=I32)
            before = builder.atomic_rmw("add", counter, I32(1), "monotonic")
            last = builder.icmp_unsigned("==", builder.zext(before, I64),
                                         builder.sub(chunks, I64(1)))
            with builder.if_then(last):
                device_fence(builder)
                total = entry_alloca(builder, fold.register)
                builder.store(fold.identity, total)
                with for_range(builder, I64(0), chunks, "chunk") as other:
                    # an atomic (relaxed) load reads memory, never a stale cached line
                    address = builder.gep(scratch, [builder.add(builder.mul(other, n_out),
                                                                output)],
                                          source_etype=fold.memory)
                    stored = builder.load_atomic(address, "monotonic", fold.itemsize,
                                                 typ=fold.memory)
                    builder.store(fold(builder.load(total, typ=fold.register),
                                       fold.from_memory(stored)), total)
                result = builder.load(total, typ=fold.register)
                store(builder, fold.narrow(result, out_dtype), out_address, out_dtype)
                builder.store(I32(0), counter)


class _Fold:
    """One combiner in one accumulation dtype: folding two values, across a group of
    threads, and moving values between registers and memory."""

    def __init__(self, builder, combiner, dtype, module, symbol):
        self.builder = builder
        self.combiner = combiner
        self.dtype = dtype
        self.register = register_type(dtype)
        self.memory = memory_type(dtype)
        self.itemsize = dtypes.itemsize(dtype)
        self.identity = identity_constant(combiner, dtype)
        self.partials = ir.GlobalVariable(module, ir.ArrayType(self.memory, MAX_WARPS),
                                          f"{symbol}.warps", addrspace=SHARED)
        self.partials.align = 8
        self.partials.linkage = "internal"

    def __call__(self, a, b):
        return combine(self.builder, self.combiner, self.dtype, a, b)

    def widen(self, value):
        """A value of the body (the output's dtype) in the accumulation dtype."""
        if value.type != self.register:
            return self.builder.fpext(value, self.register)
        return value

    def narrow(self, value, dtype):
        """An accumulated value in the output's ``dtype``."""
        if register_type(dtype) != self.register:
            return self.builder.fptrunc(value, register_type(dtype))
        return value

    def to_memory(self, value):
        return self.builder.zext(value, self.memory) if self.dtype == dtypes.BOOL else value

    def from_memory(self, value):
        if self.dtype == dtypes.BOOL:
            return self.builder.icmp_unsigned("!=", value, ir.Constant(self.memory, 0))
        return value

    def across_group(self, value, thread, group):
        """``value`` folded over the ``group`` threads that share an output; the result is
        valid in the group's first thread (the leader)."""
        builder = self.builder
        lane = builder.and_(thread, I32(WARP - 1))
        in_warp = builder.select(builder.icmp_unsigned("<", group, I32(WARP)), group,
                                 I32(WARP))
        value = self._butterfly(value, in_warp)
        wide = builder.icmp_unsigned(">", group, I32(WARP))
        warp = builder.lshr(thread, I32(5))
        with builder.if_then(wide):  # the same for every thread: the barrier is reached by all
            with builder.if_then(builder.icmp_unsigned("==", lane, I32(0))):
                builder.store(self.to_memory(value), self._partial(warp), align=self.itemsize)
        barrier(builder)
        result = entry_alloca(builder, self.register)
        builder.store(value, result)
        warps = builder.lshr(group, I32(5))
        first_warp = builder.icmp_unsigned("<", builder.and_(thread, builder.sub(group, I32(1))),
                                           I32(WARP))
        with builder.if_then(builder.and_(wide, first_warp)):  # whole warps: shuffles are safe
            mine = builder.icmp_unsigned("<", lane, warps)
            index = builder.select(mine, builder.add(warp, lane), warp)
            stored = self.from_memory(builder.load(self._partial(index), typ=self.memory,
                                                   align=self.itemsize))
            partial = builder.select(mine, stored, self.identity)
            builder.store(self._butterfly(partial, warps), result)
        return builder.load(result, typ=self.register)

    def _butterfly(self, value, width):
        """``value`` folded across each aligned run of ``width`` lanes (a power of two up
        to 32; 1 leaves it as it is) by xor shuffles: every lane gets its run's result."""
        builder = self.builder
        slot = entry_alloca(builder, self.register)
        builder.store(value, slot)
        distance = entry_alloca(builder, I32)
        builder.store(builder.lshr(width, I32(1)), distance)
        header = builder.append_basic_block("butterfly.header")
        body = builder.append_basic_block("butterfly.body")
        done = builder.append_basic_block("butterfly.done")
        builder.branch(header)
        builder.position_at_end(header)
        mask = builder.load(distance, typ=I32)
        builder.cbranch(builder.icmp_unsigned("!=", mask, I32(0)), body, done)
        builder.position_at_end(body)
        mine = builder.load(slot, typ=self.register)
        builder.store(self(mine, shuffle_xor(builder, mine, mask)), slot)
        builder.store(builder.lshr(mask, I32(1)), distance)
        builder.branch(header)
        builder.position_at_end(done)
        return builder.load(slot, typ=self.register)

    def _partial(self, warp):
        return self.builder.gep(self.partials, [I32(0), warp])
