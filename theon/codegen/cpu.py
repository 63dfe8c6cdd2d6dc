"""The CPU target: kernels that read numpy arrays in place, vectorised by theon itself.

Calling convention of a CPU kernel::

    i32 kernel(PyArrayObject* arrays[n_inputs + n_outputs]..., i64 begin, i64 end)
    i32 kernel.all(PyArrayObject* arrays[n_inputs + n_outputs]...)   # the whole domain

Each array is passed as the Python object itself (ctypes ``py_object``), so a call costs no
argument marshalling: the kernel reads data pointer, shape and strides from numpy's array
struct.  The domain is the first output's shape; ``[begin, end)`` is the range of axis 0
this call computes, so the runtime splits large kernels across threads.  The kernel returns
1 without touching memory when an array is misaligned, or strided along the innermost
axis in a kernel compiled without ``Kernel.strided``; the runtime then compiles the strided
variant (gathers: a transpose or ``a[:, ::2]`` is read in place) or passes aligned copies.
Gathers cost compile time, so only kernels that meet strided inputs get them.  The inner
loop is whole vectors plus one masked vector, so the body and the math functions exist only
in vector form.
"""
from llvmlite import ir

from ..ir import dtypes, scalar
from .body import emit_body
from .combine import accumulate_dtype, combine, identity_constant, reduced_output_type
from .external import module_text
from .host import (ARRAY_DATA, ARRAY_DIMS, ARRAY_STRIDES, CODEGEN_LEVEL, PIPELINE,
                   QUICK_CODEGEN_LEVEL, QUICK_PIPELINE)
from .llvm import (binding, host_description, host_machine, optimize, parse_and_verify,
                   vector_bytes)
from .loops import branch_value, entry_alloca, for_range
from .target import CompiledModule, Target
from .types import memory_type, register_type

I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()



# A module whose kernels use math functions at most this many times gets them inlined at
# each use: the loop then loads the functions' constants once, not at every call (W1:
# 1566 -> 1233 us per 1e6 elements, tanh 2.2x faster).  Beyond it one copy of each is
# called, so that compile time stays linear in the graph (chains of thousands of tanh).
INLINE_MATH_UP_TO = 16


class CpuTarget(Target):
    """LLVM machine code for the host CPU, with every feature it has."""

    name = "cpu"
    tiered = True

    def plan_module(self, module, steps):
        """Decide, for all the kernels of ``steps`` at once, whether ``module`` inlines the
        math library (see ``INLINE_MATH_UP_TO``)."""
        uses = sum(1 for step in steps for node in scalar.topological(step.kernel.body)
                   if node.prim in scalar.MATH)
        module.inline_math = uses <= INLINE_MATH_UP_TO

    def math(self, builder, name, args):
        """Value of math function ``name`` on ``args``: inlined or called, as
        ``plan_module`` decided for the module."""
        from .mathlib import call
        return call(builder, name, args, inline=getattr(builder.module, "inline_math", False))

    def vector_lanes(self, kernel):
        """Lanes that fill the widest vector register this CPU has, for the kernel's widest
        element type."""
        width = max(dtypes.itemsize(n.dtype) for n in scalar.topological(kernel.body))
        width = max([width] + [dtypes.itemsize(t.dtype) for t in kernel.in_types])
        if kernel.reduce is not None and accumulate_dtype(kernel) == "float64":
            width = 8  # float32 sums accumulate in float64 lanes
        return max(1, vector_bytes() // width)

    @property
    def triple(self):
        return host_description()[0]

    def define_kernel(self, module, step):
        """Emit ``step.symbol``: the loop nest over the kernel's domain around its body.

        A reduction kernel takes one more array after its output, the domain's extents
        (int64), since its output lacks the reduced ones; its output is passed with the
        reduced axes kept (length 1) and pre-filled with the combiner's identity."""
        kernel = step.kernel
        types = kernel.in_types + (kernel.out_types if kernel.reduce is None
                                   else (reduced_output_type(kernel),))
        extra = 1 if kernel.reduce is not None else 0
        signature = ir.FunctionType(I32, [PTR] * (len(types) + extra) + [I64, I64])
        function = ir.Function(module, signature, name=step.symbol)
        builder = ir.IRBuilder(function.append_basic_block("entry"))
        *arrays, begin, end = function.args
        depth = _loop_depth(kernel)
        views = [_ArrayView(builder, array, ttype, kernel.ndim, depth, kernel.strided)
                 for array, ttype in zip(arrays, types)]
        if kernel.reduce is not None:
            extents = _field(builder, arrays[-1], ARRAY_DATA)
            shape = [builder.load(builder.gep(extents, [I64(axis)], source_etype=I64), typ=I64)
                     for axis in range(kernel.ndim)]
        else:
            shape = views[len(kernel.in_types)].shape()
        empty = ir.IntType(1)(0)
        for length in shape:
            empty = builder.or_(empty, builder.icmp_signed("==", length, I64(0)))
        with builder.if_then(empty, likely=False):
            builder.ret(I32(0))  # nothing to compute: numpy's strides of empty arrays vary
        misaligned = ir.IntType(1)(0)
        strided = ir.IntType(1)(0)
        for view in views:
            misaligned = builder.or_(misaligned, view.misaligned())
        refused = views if not kernel.strided else views[len(kernel.in_types):]
        for view in refused:
            strided = builder.or_(strided, view.strided_inner())
        with builder.if_then(builder.or_(misaligned, strided), likely=False):
            builder.ret(I32(1))
        inner = _emit_inner if kernel.reduce is None else _emit_reduce_inner
        _emit_loops(builder, kernel, views, shape, begin, end, self.vector_lanes(kernel),
                    inner, depth)
        builder.ret(I32(0))
        self._define_whole_range(module, function, step, kernel, len(types) + extra)
        return function

    def _define_whole_range(self, module, function, step, kernel, n_arrays):
        """``symbol.all``: the kernel over its whole domain; no integer arguments to convert,
        which makes the serial call from Python cheaper."""
        signature = ir.FunctionType(I32, [PTR] * n_arrays)
        whole = ir.Function(module, signature, name=f"{step.symbol}.all")
        builder = ir.IRBuilder(whole.append_basic_block("entry"))
        extent = I64(1)
        if kernel.ndim and kernel.reduce is not None:
            extents = _field(builder, whole.args[-1], ARRAY_DATA)
            extent = builder.load(extents, typ=I64)
        elif kernel.ndim:
            first_output = whole.args[len(kernel.in_types)]
            dims = _field(builder, first_output, ARRAY_DIMS)
            extent = builder.load(dims, typ=I64)
        builder.ret(builder.call(function, list(whole.args) + [I64(0), extent]))

    def compile(self, module, name, watch, quick=False):
        """Verify, optimise and emit ``module`` as an object file for this CPU; ``quick``:
        with the fastest back end (``host.QUICK_CODEGEN_LEVEL``), for tiered compilation."""
        with watch("llvm"):
            text = module_text(module, self.triple)
        symbols = tuple(f.name for f in module.functions if not f.is_declaration
                        and f.linkage != "internal")
        return self.compile_text(text, symbols, name, watch, quick)

    def compile_text(self, text, symbols, name, watch, quick=False):
        """``compile`` for a module given as LLVM IR text defining ``symbols``."""
        with watch("llvm"):
            ref = parse_and_verify(text, name)
            machine = host_machine(QUICK_CODEGEN_LEVEL if quick else CODEGEN_LEVEL)
            optimize(ref, machine, QUICK_PIPELINE if quick else PIPELINE)
            optimized = str(ref)
            code = machine.emit_object(ref)
        return CompiledModule("cpu", tuple(symbols), code, text, optimized)

    def load(self, compiled):
        """Load a ``CompiledModule`` into this process: (keep-alive handle, {symbol:
        address})."""
        llvm = binding()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), host_machine())
        engine.add_object_file(llvm.ObjectFileRef.from_data(compiled.code))
        engine.finalize_object()
        return engine, {s: engine.get_function_address(s) for s in compiled.symbols}

    def assembly(self, compiled):
        """The machine code of ``compiled`` as assembly text."""
        return host_machine().emit_assembly(binding().parse_assembly(compiled.optimized_ir))


class _ArrayView:
    """An array argument inside a kernel: base pointer and element strides along the
    domain's first ``depth`` axes (constant 0 where the array broadcasts); the axes after
    them have static length 1 and are never looped over."""

    def __init__(self, builder, array, ttype, ndim, depth, gather):
        self.builder = builder
        self.gather = gather  # read strided inner axes by gathers (else they are refused)
        self.ttype = ttype
        self.element = memory_type(ttype.dtype)
        self.itemsize = dtypes.itemsize(ttype.dtype)
        self.data = _field(builder, array, ARRAY_DATA)
        self.dims = _field(builder, array, ARRAY_DIMS)
        strides = _field(builder, array, ARRAY_STRIDES)
        offset = ndim - ttype.ndim
        self.depth = depth
        self.byte_strides = []
        self.strides = []
        for axis in range(depth):
            own = axis - offset
            if own < 0 or ttype.shape[own] == 1:
                self.strides.append(I64(0))
                continue
            byte_stride = builder.load(builder.gep(strides, [I64(own)], source_etype=I64),
                                       typ=I64)
            self.byte_strides.append(byte_stride)
            self.strides.append(builder.sdiv(byte_stride, I64(self.itemsize),
                                             name="stride"))

    @property
    def broadcast_inner(self):
        """Whether the array is read with stride 0 along the domain's innermost axis."""
        return self.depth == 0 or isinstance(self.strides[-1], ir.Constant)

    def strided_inner(self):
        """i1: the array is not contiguous along the innermost axis (for an output: the
        kernel refuses it)."""
        if self.broadcast_inner:
            return ir.IntType(1)(0)
        return self.builder.icmp_signed("!=", self.strides[-1], I64(1))

    def shape(self):
        """The array's dims along the looped axes as i64 values (used for the first output:
        the domain)."""
        return [self.builder.load(self.builder.gep(self.dims, [I64(axis)], source_etype=I64),
                                  typ=I64) for axis in range(self.depth)]

    def misaligned(self):
        """i1: the data pointer or a stride is not a multiple of the element size."""
        builder = self.builder
        mask = I64(self.itemsize - 1)
        bits = builder.and_(builder.ptrtoint(self.data, I64), mask)
        for stride in self.byte_strides:
            bits = builder.or_(bits, builder.and_(stride, mask))
        return builder.icmp_unsigned("!=", bits, I64(0))

    def pointer(self, base, index):
        """Pointer to element ``index`` (in elements) from ``base``."""
        return self.builder.gep(base, [index], source_etype=self.element)

    def load(self, base, index, lanes, mask):
        """Elements ``index .. index+lanes-1`` of the inner axis from row ``base`` as a vector
        (only the lanes set in ``mask``): one vector load where the array is contiguous along
        the inner axis, a gather where it is strided (read in place, no copy), the one
        element splat where it broadcasts."""
        builder = self.builder
        if self.broadcast_inner:
            value = builder.load(base, typ=self.element, align=self.itemsize)
            value = _splat(builder, value, lanes)
        elif not self.gather:
            value = self._load_contiguous(base, index, lanes, mask)
        else:
            unit_stride = builder.icmp_signed("==", self.strides[-1], I64(1))
            value = branch_value(builder, unit_stride,
                                 lambda: self._load_contiguous(base, index, lanes, mask),
                                 lambda: self._gather(base, index, lanes, mask))
        if self.ttype.dtype == dtypes.BOOL:
            return builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))
        return value

    def _load_contiguous(self, base, index, lanes, mask):
        builder = self.builder
        vector = ir.VectorType(self.element, lanes)
        pointer = self.pointer(base, index)
        if mask is None:
            return builder.load(pointer, typ=vector, align=self.itemsize)
        function = _intrinsic(builder.module, "llvm.masked.load", vector,
                              [PTR, I32, mask.type, vector], f"{_suffix(vector)}.p0")
        return builder.call(function, [pointer, I32(self.itemsize), mask,
                                       ir.Constant(vector, ir.Undefined)])

    def _gather(self, base, index, lanes, mask):
        builder = self.builder
        vector = ir.VectorType(self.element, lanes)
        lane_ids = ir.Constant(ir.VectorType(I64, lanes), list(range(lanes)))
        positions = builder.add(_splat(builder, index, lanes), lane_ids)
        offsets = builder.mul(positions, _splat(builder, self.strides[-1], lanes))
        pointers = builder.gep(base, [offsets], source_etype=self.element)
        pointers.type = ir.VectorType(PTR, lanes)  # llvmlite types a vector GEP as scalar
        if mask is None:
            mask = ir.Constant(ir.VectorType(ir.IntType(1), lanes), [1] * lanes)
        function = _intrinsic(builder.module, "llvm.masked.gather", vector,
                              [pointers.type, I32, mask.type, vector],
                              f"{_suffix(vector)}.v{lanes}p0")
        return builder.call(function, [pointers, I32(self.itemsize), mask,
                                       ir.Constant(vector, ir.Undefined)])

    def store(self, value, base, index, mask):
        """Store vector ``value`` at elements ``index ..`` of row ``base`` (only the lanes set
        in ``mask``).  Outputs are contiguous: the runtime allocates them."""
        builder = self.builder
        pointer = self.pointer(base, index)
        if self.ttype.dtype == dtypes.BOOL:
            value = builder.zext(value, ir.VectorType(I8, value.type.count))
        if mask is None:
            builder.store(value, pointer, align=self.itemsize)
            return
        function = _intrinsic(builder.module, "llvm.masked.store", ir.VoidType(),
                              [value.type, PTR, I32, mask.type], f"{_suffix(value.type)}.p0")
        builder.call(function, [value, pointer, I32(self.itemsize), mask])


def _suffix(vector):
    from .body import _type_suffix
    return _type_suffix(vector)


def _intrinsic(module, name, return_type, argument_types, suffix):
    """The declaration of overloaded intrinsic ``name.suffix`` in ``module``."""
    full_name = f"{name}.{suffix}"
    function = module.globals.get(full_name)
    if function is None:
        function = ir.Function(module, ir.FunctionType(return_type, argument_types), full_name)
    return function


def _splat(builder, value, lanes):
    """``<lanes x T>`` with every lane ``value``."""
    vector = ir.VectorType(value.type, lanes)
    first = builder.insert_element(ir.Constant(vector, ir.Undefined), value, I32(0))
    return builder.shuffle_vector(first, ir.Constant(vector, ir.Undefined),
                                  ir.Constant(ir.VectorType(I32, lanes), [0] * lanes))


def _field(builder, array, offset):
    address = builder.gep(array, [I64(offset)], source_etype=I8)
    return builder.load(address, typ=PTR)


def _loop_depth(kernel):
    """How many of the domain's axes an elementwise kernel loops over: all but the trailing
    ones of static length 1, so that a ``(n, 1)`` column (a keepdims reduction's result) is
    walked as ``n`` contiguous elements, whole vectors at a time, not ``n`` rows of one.  A
    reduction loops over all its axes (its extents array has one per axis)."""
    if kernel.reduce is not None:
        return kernel.ndim
    depth = kernel.ndim
    while depth and kernel.domain_shape[depth - 1] == 1:
        depth -= 1
    return depth


def _emit_loops(builder, kernel, views, shape, begin, end, lanes, inner, depth):
    """Loops over axis 0 in [begin, end) and every other axis whole; ``inner`` emits the
    innermost axis, ``lanes`` elements at a time.

    An elementwise kernel whose arrays are all C-contiguous at run time (or scalars) runs
    its rows as one flat range instead: the same loops, with every axis but the innermost
    one iteration long.  Rows shorter than a vector (ten classes, a 784x10 weight) then
    fill whole vectors rather than one masked vector each, and an update written into its
    own input does not stall on a masked store that overlaps the next row's load."""
    if depth == 0:
        inner(builder, kernel, views, [v.data for v in views], I64(0), I64(1), lanes, ())
        return
    if depth == 1:
        inner(builder, kernel, views, [v.data for v in views], begin, end, lanes, ())
        return
    start, stop = I64(0), shape[-1]
    flat = _flattenable(builder, kernel, views, shape, depth)
    if flat is not None:
        row = I64(1)
        for length in shape[1:]:
            row = builder.mul(row, length, flags=("nsw",))
        start = builder.select(flat, builder.mul(begin, row), start)
        stop = builder.select(flat, builder.mul(end, row), stop)
        end = builder.select(flat, I64(1), end)
        begin = builder.select(flat, I64(0), begin)
        shape = [shape[0]] + [builder.select(flat, I64(1), length) for length in shape[1:-1]]
    with for_range(builder, begin, end, "i0") as outer:
        offsets = [builder.mul(outer, v.strides[0]) for v in views]
        _emit_middle(builder, kernel, views, shape, offsets, 1, lanes, inner, (start, stop), depth,
                     (outer,))


def _flattenable(builder, kernel, views, shape, depth):
    """i1: every array of this elementwise kernel is C-contiguous over the domain (a scalar
    counts), so the domain may be read as one flat row; None where that cannot happen (a
    reduction, an array broadcast along some axes only, or a body reading positions: a flat
    row has no axes)."""
    if kernel.reduce is not None or _reads_positions(kernel):
        return None
    varying = [axis for axis in range(depth) if kernel.domain_shape[axis] != 1]
    flat = ir.IntType(1)(1)
    for view in views:
        constant = [isinstance(view.strides[axis], ir.Constant) for axis in varying]
        if all(constant):
            continue  # a scalar, read at its one element
        if any(constant):
            return None
        expected = I64(1)
        for axis in reversed(varying):
            flat = builder.and_(flat, builder.icmp_signed("==", view.strides[axis], expected))
            expected = builder.mul(expected, shape[axis])
    return flat


def _emit_middle(builder, kernel, views, shape, offsets, axis, lanes, inner, span, depth,
                 positions):
    """Loops over axes ``axis .. depth-2`` accumulating offsets, then the inner loop over
    ``span`` (start, stop) of the innermost looped axis; ``positions``: the loop indices of
    the axes before ``axis``."""
    if axis == depth - 1:
        bases = [view.pointer(view.data, offset) for view, offset in zip(views, offsets)]
        inner(builder, kernel, views, bases, *span, lanes, positions)
        return
    with for_range(builder, I64(0), shape[axis], f"i{axis}") as index:
        deeper = [builder.add(offset, builder.mul(index, view.strides[axis]))
                  for view, offset in zip(views, offsets)]
        _emit_middle(builder, kernel, views, shape, deeper, axis + 1, lanes, inner, span, depth,
                     positions + (index,))


def _emit_inner(builder, kernel, views, bases, start, stop, lanes, positions):
    """The contiguous innermost axis over [start, stop): whole vectors, then one masked
    vector for the remainder (no scalar copy of the body or of the math functions)."""
    count = builder.sub(stop, start)
    full_stop = builder.add(start, builder.and_(count, I64(-lanes)))
    with for_range(builder, start, full_stop, "v", step=lanes) as index:
        _emit_elements(builder, kernel, views, bases, index, lanes, None, positions)
    remaining = builder.sub(stop, full_stop)
    with builder.if_then(builder.icmp_signed(">", remaining, I64(0)), likely=False):
        lane_ids = ir.Constant(ir.VectorType(I64, lanes), list(range(lanes)))
        limit = _splat(builder, remaining, lanes)
        mask = builder.icmp_signed("<", lane_ids, limit)
        _emit_elements(builder, kernel, views, bases, full_stop, lanes, mask, positions)


def _emit_reduce_inner(builder, kernel, views, bases, start, stop, lanes, positions):
    """The innermost axis of a reduction over [start, stop): whole vectors and one masked
    vector folded into a vector accumulator then into the output element (inner axis
    reduced), or folded lane by lane into the output row (inner axis kept)."""
    combiner, axes, _ = kernel.reduce
    out = views[-1]
    dtype = kernel.out_types[0].dtype
    accumulate = accumulate_dtype(kernel)
    identity = identity_constant(combiner, accumulate, lanes)
    count = builder.sub(stop, start)
    full_stop = builder.add(start, builder.and_(count, I64(-lanes)))
    remaining = builder.sub(stop, full_stop)
    lane_ids = ir.Constant(ir.VectorType(I64, lanes), list(range(lanes)))
    tail_mask = builder.icmp_signed("<", lane_ids, _splat(builder, remaining, lanes))
    if kernel.ndim == 0 or (kernel.ndim - 1) in axes:
        slot = entry_alloca(builder, identity.type)
        builder.store(identity, slot)

        def fold(index, mask):
            value = _reduced_value(builder, kernel, views, bases, index, lanes, mask,
                                   accumulate, identity, positions)
            builder.store(combine(builder, combiner, accumulate,
                                   builder.load(slot, typ=identity.type), value), slot)

        _over_vectors(builder, start, full_stop, remaining, tail_mask, lanes, fold)
        total = _horizontal(builder, combiner, accumulate, builder.load(slot, typ=identity.type))
        if accumulate != dtype:
            total = builder.fptrunc(total, register_type(dtype))
        current = out.load(bases[-1], I64(0), 1, None)
        result = combine(builder, combiner, dtype, _extract(builder, current), total)
        out.store(_splat(builder, result, 1), bases[-1], I64(0), None)
        return

    def fold_row(index, mask):
        value = _reduced_value(builder, kernel, views, bases, index, lanes, mask, dtype,
                               identity_constant(combiner, dtype, lanes), positions)
        current = out.load(bases[-1], index, lanes, mask)
        out.store(combine(builder, combiner, dtype, current, value), bases[-1], index, mask)

    _over_vectors(builder, start, full_stop, remaining, tail_mask, lanes, fold_row)


def _over_vectors(builder, start, full_stop, remaining, tail_mask, lanes, emit):
    """``emit(index, mask)`` for each whole vector of [start, full_stop), then once for the
    masked remainder."""
    with for_range(builder, start, full_stop, "v", step=lanes) as index:
        emit(index, None)
    with builder.if_then(builder.icmp_signed(">", remaining, I64(0)), likely=False):
        emit(full_stop, tail_mask)


def _reduced_value(builder, kernel, views, bases, index, lanes, mask, dtype, identity,
                   positions):
    """The body's value at ``index`` in ``dtype``, with the identity in masked-off lanes."""
    def load(position, _):
        return views[position].load(bases[position], index, lanes, mask)

    (value,) = emit_body(builder, kernel.body, load, CPU, lanes,
                         _positions(builder, kernel, positions, index, lanes))
    if dtype == "float64" and value.type != identity.type:
        value = builder.fpext(value, identity.type)
    if mask is not None:
        value = builder.select(mask, value, identity)
    return value


def _horizontal(builder, combiner, dtype, vector):
    """The lanes of ``vector`` folded into one value, by halving (log2(lanes) steps)."""
    lanes = vector.type.count
    while lanes > 1:
        half = lanes // 2
        low = builder.shuffle_vector(vector, vector, ir.Constant(
            ir.VectorType(I32, half), list(range(half))))
        high = builder.shuffle_vector(vector, vector, ir.Constant(
            ir.VectorType(I32, half), list(range(half, lanes))))
        vector = combine(builder, combiner, dtype, low, high)
        lanes = half
    return builder.extract_element(vector, I32(0))


def _extract(builder, vector):
    return builder.extract_element(vector, I32(0))


def _emit_elements(builder, kernel, views, bases, index, lanes, mask, positions):
    """Load ``lanes`` consecutive elements of every input at ``index`` (only the lanes set in
    ``mask``, when given), run the body on vectors, store the outputs."""
    n_inputs = len(kernel.in_types)

    def load(position, dtype):
        return views[position].load(bases[position], index, lanes, mask)

    values = emit_body(builder, kernel.body, load, CPU, lanes,
                       _positions(builder, kernel, positions, index, lanes))
    for position, value in enumerate(values):
        views[n_inputs + position].store(value, bases[n_inputs + position], index, mask)


def _reads_positions(kernel):
    """Whether the kernel's body uses the ``index`` primitive (element positions)."""
    return any(node.prim == "index" for node in scalar.topological(kernel.body))


def _positions(builder, kernel, outer, index, lanes):
    """``position(axis)`` for ``emit_body``: the lanes' positions along domain axis ``axis``
    (negative) as ``<lanes x i64>``: the loop indices ``outer`` of the axes before the
    innermost looped one, ``index`` plus the lane number along it, 0 along the trailing
    axes of static length 1 that are not looped over."""
    depth = len(outer) + 1 if kernel.ndim else 0
    if kernel.reduce is None:
        depth = min(depth, _loop_depth(kernel))

    def position(axis):
        domain_axis = kernel.ndim + axis
        if domain_axis >= depth:
            return ir.Constant(ir.VectorType(I64, lanes), [0] * lanes)
        if domain_axis < depth - 1:
            return _splat(builder, outer[domain_axis], lanes)
        lane_ids = ir.Constant(ir.VectorType(I64, lanes), list(range(lanes)))
        return builder.add(_splat(builder, index, lanes), lane_ids)

    return position


CPU = CpuTarget()

