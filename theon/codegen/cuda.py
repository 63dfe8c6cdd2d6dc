"""The CUDA target: the same kernels as PTX, for NVIDIA GPUs.

A kernel is a ``ptx_kernel`` over the flattened iteration domain with a grid-stride loop:
thread ``blockIdx.x * blockDim.x + threadIdx.x`` computes elements ``i, i + stride, ...``
where stride is the whole grid.  Each element's domain index comes from dividing ``i`` by
the domain's extents; each array is addressed with its own element strides (a broadcast
dimension, static length 1, is read with stride 0).  The scalar body is the one every target
shares (``body.py``); math functions are theon's own, inlined (no libm on the GPU).

Kernel parameters, in order: one pointer per input then per output, the domain's extents
(one i64 per axis), each array's element strides (one i64 per array per axis it does not
broadcast along), and the number of elements.
"""
from llvmlite import ir

from ..ir import CompileError, dtypes
from .body import emit_body
from .external import module_text
from .llvm import nvptx_machine, optimize, parse_and_verify
from .loops import for_range
from .target import CompiledModule, Target
from .types import memory_type

I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()

DEFAULT_ARCH = "sm_80"


class CudaTarget(Target):
    """PTX for one GPU architecture (``sm_80`` for A100, ``sm_90`` for H100)."""

    name = "cuda"
    triple = "nvptx64-nvidia-cuda"
    inline_math = True  # no calls on the GPU: each thread runs the body once per element

    def __init__(self, arch=DEFAULT_ARCH):
        self.arch = arch

    def define_kernel(self, module, step):
        """Emit ``step.symbol`` as a grid-stride ``ptx_kernel`` over the flattened domain."""
        kernel = step.kernel
        if kernel.reduce is not None:
            raise CompileError(f"{kernel.describe()}: reductions are not lowered for CUDA "
                               "yet (block-level reduction trees are issue #7's)")
        types = kernel.in_types + kernel.out_types
        ndim = kernel.ndim
        strided = [[axis for axis in range(ndim) if not _broadcasts(ttype, axis, ndim)]
                   for ttype in types]
        parameters = [PTR] * len(types) + [I64] * ndim
        parameters += [I64] * sum(len(axes) for axes in strided) + [I64]
        function = ir.Function(module, ir.FunctionType(ir.VoidType(), parameters),
                               name=step.symbol)
        function.calling_convention = "ptx_kernel"
        builder = ir.IRBuilder(function.append_basic_block("entry"))
        arguments = list(function.args)
        pointers = arguments[:len(types)]
        extents = arguments[len(types):len(types) + ndim]
        stride_values = iter(arguments[len(types) + ndim:-1])
        strides = [{axis: next(stride_values) for axis in axes} for axes in strided]
        first, stride = self._grid(builder)
        with for_range(builder, first, arguments[-1], "i", step=stride) as flat:
            index = _unflatten(builder, flat, extents)
            addresses = [_element(builder, pointer, ttype, axes, index)
                         for pointer, ttype, axes in zip(pointers, types, strides)]

            def load(position, dtype):
                return _load(builder, addresses[position], types[position])

            values = emit_body(builder, kernel.body, load, self)
            for position, value in enumerate(values):
                slot = len(kernel.in_types) + position
                _store(builder, value, addresses[slot], types[slot])
        builder.ret_void()
        return function

    def _grid(self, builder):
        """(first element of this thread, elements between its turns): the grid stride."""
        def read(register):
            name = f"llvm.nvvm.read.ptx.sreg.{register}"
            function = builder.module.globals.get(name)
            if function is None:
                function = ir.Function(builder.module, ir.FunctionType(I32, []), name)
            return builder.zext(builder.call(function, []), I64)

        thread, block = read("tid.x"), read("ctaid.x")
        block_size, grid_size = read("ntid.x"), read("nctaid.x")
        first = builder.add(builder.mul(block, block_size), thread)
        return first, builder.mul(grid_size, block_size)

    def compile(self, module, name, watch, quick=False):
        """Verify, optimise and emit ``module`` as PTX text for this architecture (one tier:
        ``quick`` is ignored)."""
        with watch("llvm"):
            text = module_text(module, self.triple, supported=_on_gpu)
            ref = parse_and_verify(text, name)
            machine = nvptx_machine(self.arch)
            optimize(ref, machine)
            optimized = str(ref)
            ptx = machine.emit_assembly(ref)
        symbols = tuple(f.name for f in module.functions if not f.is_declaration
                        and f.linkage != "internal")
        return CompiledModule("cuda", symbols, ptx.encode(), text, optimized)

    def assembly(self, compiled):
        """The PTX of ``compiled``."""
        return compiled.code.decode()


# what NVPTX lowers to instructions: external code may call these and nothing else (the GPU
# has no libm, and LLVM's exp/log/sin intrinsics do not select on NVPTX)
_GPU_INTRINSICS = ("llvm.fabs.", "llvm.sqrt.", "llvm.floor.", "llvm.ceil.", "llvm.trunc.",
                   "llvm.rint.", "llvm.roundeven.", "llvm.fma.", "llvm.fmuladd.",
                   "llvm.minnum.", "llvm.maxnum.", "llvm.minimum.", "llvm.maximum.",
                   "llvm.copysign.", "llvm.smax.", "llvm.smin.", "llvm.umax.", "llvm.umin.",
                   "llvm.abs.", "llvm.fptosi.sat.", "llvm.fptoui.sat.")


def _on_gpu(callee):
    return callee.startswith(_GPU_INTRINSICS)


def _broadcasts(ttype, axis, ndim):
    """Whether an array of ``ttype`` is read with stride 0 along domain ``axis``."""
    own = axis - (ndim - ttype.ndim)
    return own < 0 or ttype.shape[own] == 1


def _unflatten(builder, flat, extents):
    """The domain index of element number ``flat`` (row-major), one i64 per axis."""
    index = [None] * len(extents)
    rest = flat
    for axis in reversed(range(len(extents))):
        index[axis] = builder.urem(rest, extents[axis])
        rest = builder.udiv(rest, extents[axis])
    return index


def _element(builder, pointer, ttype, strides, index):
    """Address of the element of an array at domain ``index`` (in elements, via GEP)."""
    offset = I64(0)
    for axis, stride in strides.items():
        offset = builder.add(offset, builder.mul(index[axis], stride))
    return builder.gep(pointer, [offset], source_etype=memory_type(ttype.dtype))


def _load(builder, address, ttype):
    value = builder.load(address, typ=memory_type(ttype.dtype), align=dtypes.itemsize(ttype.dtype))
    if ttype.dtype == dtypes.BOOL:
        return builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))
    return value


def _store(builder, value, address, ttype):
    if ttype.dtype == dtypes.BOOL:
        value = builder.zext(value, memory_type(ttype.dtype))
    builder.store(value, address, align=dtypes.itemsize(ttype.dtype))
