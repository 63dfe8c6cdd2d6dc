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

from .body import emit_body
from .external import module_text
from .llvm import nvptx_machine, optimize, parse_and_verify
from .loops import for_range
from .nvptx import define_entry, element, load, offset, special_register, store, unflatten
from .target import CompiledModule, Target

I64 = ir.IntType(64)

DEFAULT_ARCH = "sm_80"


class CudaTarget(Target):
    """PTX for one GPU architecture (``sm_80`` for A100, ``sm_90`` for H100)."""

    name = "cuda"
    triple = "nvptx64-nvidia-cuda"
    inline_math = True  # no calls on the GPU: each thread runs the body once per element

    def __init__(self, arch=DEFAULT_ARCH):
        self.arch = arch

    def define_kernel(self, module, step):
        """Emit ``step.symbol``: a grid-stride ``ptx_kernel`` over the flattened domain, or
        for a reduction kernel the block-level fold of ``cuda_reduce``."""
        kernel = step.kernel
        if kernel.reduce is not None:
            from .cuda_reduce import define_reduction
            return define_reduction(module, step, self)
        types = kernel.in_types + kernel.out_types
        entry = define_entry(module, step.symbol, types, kernel.ndim, trailing=[I64])
        builder, pointers, strides = entry.builder, entry.pointers, entry.strides
        (elements,) = entry.trailing
        first, stride = grid_stride(builder)
        with for_range(builder, first, elements, "i", step=stride) as flat:
            index = dict(enumerate(unflatten(builder, flat, entry.extents)))
            addresses = [element(builder, pointer, ttype.dtype, offset(builder, own, index))
                         for pointer, ttype, own in zip(pointers, types, strides)]

            def read(position, dtype):
                return load(builder, addresses[position], types[position].dtype)

            values = emit_body(builder, kernel.body, read, self,
                               position=lambda axis: index[kernel.ndim + axis])
            for position, value in enumerate(values):
                slot = len(kernel.in_types) + position
                store(builder, value, addresses[slot], types[slot].dtype)
        builder.ret_void()
        return entry.function

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


def grid_stride(builder):
    """(first element of this thread, elements between its turns): the grid stride."""
    def read(register):
        return builder.zext(special_register(builder, register), I64)

    thread, block = read("tid.x"), read("ctaid.x")
    block_size, grid_size = read("ntid.x"), read("nctaid.x")
    first = builder.add(builder.mul(block, block_size), thread)
    return first, builder.mul(grid_size, block_size)
