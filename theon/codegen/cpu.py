"""The CPU target: kernels that read numpy arrays in place, loops LLVM vectorises.

Calling convention of a CPU kernel::

    i32 kernel(PyArrayObject* arrays[n_inputs + n_outputs]..., i64 begin, i64 end)
    i32 kernel.all(PyArrayObject* arrays[n_inputs + n_outputs]...)   # the whole domain

Each array is passed as the Python object itself (ctypes ``py_object``), so a call costs no
argument marshalling: the kernel reads data pointer, shape and strides from numpy's array
struct.  The domain is the first output's shape; ``[begin, end)`` is the range of axis 0
this call computes, so the runtime splits large kernels across threads.  The kernel returns
1 without touching memory when an array is misaligned (the runtime then copies it).
"""
from llvmlite import ir

from ..ir import dtypes
from .body import emit_body
from .llvm import binding, host_description, host_machine, optimize, parse_and_verify
from .loops import for_range
from .target import CompiledModule, Target
from .types import memory_type

I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()

# Offsets of fields of numpy's PyArrayObject on 64-bit CPython (checked by the runtime
# against numpy itself before the first call).
ARRAY_DATA = 16
ARRAY_DIMS = 32
ARRAY_STRIDES = 40


class CpuTarget(Target):
    """LLVM machine code for the host CPU, with every feature it has."""

    name = "cpu"

    @property
    def triple(self):
        return host_description()[0]

    def cache_key(self):
        return ("cpu",) + host_description()

    def define_kernel(self, module, step):
        """Emit ``step.symbol``: the loop nest over the kernel's domain around its body."""
        kernel = step.kernel
        types = kernel.in_types + kernel.out_types
        signature = ir.FunctionType(I32, [PTR] * len(types) + [I64, I64])
        function = ir.Function(module, signature, name=step.symbol)
        builder = ir.IRBuilder(function.append_basic_block("entry"))
        *arrays, begin, end = function.args
        views = [_ArrayView(builder, array, ttype, kernel.ndim)
                 for array, ttype in zip(arrays, types)]
        shape = views[len(kernel.in_types)].shape()
        misaligned = ir.IntType(1)(0)
        for view in views:
            misaligned = builder.or_(misaligned, view.misaligned())
        with builder.if_then(misaligned, likely=False):
            builder.ret(I32(1))
        _emit_loops(builder, kernel, views, shape, begin, end)
        builder.ret(I32(0))
        self._define_whole_range(module, function, step, kernel, types)
        return function

    def _define_whole_range(self, module, function, step, kernel, types):
        """``symbol.all``: the kernel over its whole domain; no integer arguments to convert,
        which makes the serial call from Python cheaper."""
        signature = ir.FunctionType(I32, [PTR] * len(types))
        whole = ir.Function(module, signature, name=f"{step.symbol}.all")
        builder = ir.IRBuilder(whole.append_basic_block("entry"))
        extent = I64(1)
        if kernel.ndim:
            first_output = whole.args[len(kernel.in_types)]
            dims = _field(builder, first_output, ARRAY_DIMS)
            extent = builder.load(dims, typ=I64)
        builder.ret(builder.call(function, list(whole.args) + [I64(0), extent]))

    def compile(self, module, name, watch):
        """Verify, optimise and emit ``module`` as an object file for this CPU."""
        with watch("llvm"):
            ref = parse_and_verify(module, name)
            machine = host_machine()
            optimize(ref, machine)
            optimized = str(ref)
            code = machine.emit_object(ref)
        symbols = tuple(f.name for f in module.functions if not f.is_declaration
                        and f.linkage != "internal")
        return CompiledModule("cpu", symbols, code, str(module), optimized)

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
    """An array argument inside a kernel: base pointer and per-domain-axis element strides
    (constant 0 where the array broadcasts)."""

    def __init__(self, builder, array, ttype, ndim):
        self.builder = builder
        self.ttype = ttype
        self.element = memory_type(ttype.dtype)
        self.itemsize = dtypes.itemsize(ttype.dtype)
        self.data = _field(builder, array, ARRAY_DATA)
        self.dims = _field(builder, array, ARRAY_DIMS)
        strides = _field(builder, array, ARRAY_STRIDES)
        offset = ndim - ttype.ndim
        self.byte_strides = []
        self.strides = []
        for axis in range(ndim):
            own = axis - offset
            if own < 0 or ttype.shape[own] == 1:
                self.strides.append(I64(0))
                continue
            byte_stride = builder.load(builder.gep(strides, [I64(own)], source_etype=I64),
                                       typ=I64)
            self.byte_strides.append(byte_stride)
            self.strides.append(builder.sdiv(byte_stride, I64(self.itemsize),
                                             name="stride"))

    def shape(self):
        """The array's dims as i64 values (used for the first output: the domain)."""
        return [self.builder.load(self.builder.gep(self.dims, [I64(axis)], source_etype=I64),
                                  typ=I64) for axis in range(self.ttype.ndim)]

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

    def load(self, pointer):
        value = self.builder.load(pointer, typ=self.element, align=self.itemsize)
        if self.ttype.dtype == dtypes.BOOL:
            return self.builder.icmp_unsigned("!=", value, I8(0))
        return value

    def store(self, value, pointer):
        if self.ttype.dtype == dtypes.BOOL:
            value = self.builder.zext(value, I8)
        self.builder.store(value, pointer, align=self.itemsize)


def _field(builder, array, offset):
    address = builder.gep(array, [I64(offset)], source_etype=I8)
    return builder.load(address, typ=PTR)


def _emit_loops(builder, kernel, views, shape, begin, end):
    """Loops over axis 0 in [begin, end), every other axis whole, innermost contiguous."""
    ndim = kernel.ndim
    n_inputs = len(kernel.in_types)
    if ndim == 0:
        _emit_elements(builder, kernel, views, [v.data for v in views], I64(0), n_inputs)
        return
    if ndim == 1:
        with for_range(builder, begin, end, "i0") as index:
            _emit_elements(builder, kernel, views, [v.data for v in views], index, n_inputs)
        return
    with for_range(builder, begin, end, "i0") as outer:
        offsets = [builder.mul(outer, v.strides[0]) for v in views]
        _emit_middle(builder, kernel, views, shape, offsets, 1, n_inputs)


def _emit_middle(builder, kernel, views, shape, offsets, axis, n_inputs):
    """Loops over axes ``axis .. ndim-2`` accumulating offsets, then the inner loop."""
    ndim = kernel.ndim
    if axis == ndim - 1:
        bases = [view.pointer(view.data, offset) for view, offset in zip(views, offsets)]
        with for_range(builder, I64(0), shape[axis], f"i{axis}") as index:
            _emit_elements(builder, kernel, views, bases, index, n_inputs)
        return
    with for_range(builder, I64(0), shape[axis], f"i{axis}") as index:
        deeper = [builder.add(offset, builder.mul(index, view.strides[axis]))
                  for view, offset in zip(views, offsets)]
        _emit_middle(builder, kernel, views, shape, deeper, axis + 1, n_inputs)


def _emit_elements(builder, kernel, views, bases, index, n_inputs):
    """Load the inputs at ``index`` of the innermost axis, run the body, store outputs."""
    inner = kernel.ndim - 1

    def element(view, base):
        if kernel.ndim == 0:
            return base
        return view.pointer(base, builder.mul(index, view.strides[inner]))

    def load(position, dtype):
        return views[position].load(element(views[position], bases[position]))

    values = emit_body(builder, kernel.body, load, CPU)
    for position, value in enumerate(values):
        view = views[n_inputs + position]
        view.store(value, element(view, bases[n_inputs + position]))


CPU = CpuTarget()

