"""What the CUDA target's kernels share: special registers, array addressing, warp
shuffles, barriers and fences, as llvmlite IR for the NVPTX back end.

Arrays are addressed in elements: a kernel receives one pointer per array and, for each
array, one i64 element stride per domain axis it does not broadcast along (a dimension of
static length 1 is read with stride 0, and gets no parameter).
"""
from dataclasses import dataclass

from llvmlite import ir

from ..ir import dtypes
from .types import memory_type

I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()
FULL_WARP = 0xFFFFFFFF  # every lane of the warp takes part in a shuffle
WARP = 32


@dataclass
class Entry:
    """A kernel entry point being emitted, its parameters by role."""

    function: ir.Function
    builder: ir.IRBuilder
    pointers: list   # one per array
    extra: list      # further pointers (a reduction's workspace)
    extents: list    # the domain's, one i64 per axis
    strides: list    # per array, {axis: i64 element stride} for the axes it does not
    #                  broadcast along
    trailing: list   # the parameters after the strides


def define_entry(module, symbol, types, ndim, extra_pointers=0, trailing=()):
    """Declare ``ptx_kernel`` ``symbol`` with the parameters every CUDA kernel starts with:
    one pointer per array of ``types`` and ``extra_pointers`` more, the domain's ``ndim``
    extents, each array's element strides; then ``trailing`` (llvmlite types)."""
    strided = [[axis for axis in range(ndim) if not broadcasts(ttype, axis, ndim)]
               for ttype in types]
    parameters = [PTR] * (len(types) + extra_pointers) + [I64] * ndim
    parameters += [I64] * sum(len(axes) for axes in strided) + list(trailing)
    function = ir.Function(module, ir.FunctionType(ir.VoidType(), parameters), name=symbol)
    function.calling_convention = "ptx_kernel"
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    arguments = iter(function.args)

    def take(count):
        return [next(arguments) for _ in range(count)]

    pointers, extra, extents = take(len(types)), take(extra_pointers), take(ndim)
    strides = [dict(zip(axes, take(len(axes)))) for axes in strided]
    return Entry(function, builder, pointers, extra, extents, strides, take(len(trailing)))


def intrinsic(module, name, return_type, argument_types):
    """The function ``name`` declared in ``module`` (once)."""
    function = module.globals.get(name)
    if function is None:
        function = ir.Function(module, ir.FunctionType(return_type, argument_types), name)
    return function


def special_register(builder, name):
    """The value of PTX special register ``name`` ('tid.x', 'ctaid.y', ...), as an i32."""
    function = intrinsic(builder.module, f"llvm.nvvm.read.ptx.sreg.{name}", I32, [])
    return builder.call(function, [])


def barrier(builder):
    """``__syncthreads()``: every thread of the block waits here; all must reach it."""
    builder.call(intrinsic(builder.module, "llvm.nvvm.barrier0", ir.VoidType(), []), [])


def device_fence(builder):
    """``__threadfence()``: this thread's writes to global memory are seen by the whole
    device before any write it makes after the fence."""
    builder.call(intrinsic(builder.module, "llvm.nvvm.membar.gl", ir.VoidType(), []), [])


def shuffle_xor(builder, value, lane_mask):
    """The ``value`` of lane ``lane ^ lane_mask`` of this warp (``__shfl_xor_sync`` with the
    whole warp taking part), for a value of any width: shuffled as 32-bit words."""
    function = intrinsic(builder.module, "llvm.nvvm.shfl.sync.bfly.i32", I32,
                         [I32, I32, I32, I32])

    def word(bits):
        return builder.call(function, [I32(FULL_WARP), bits, lane_mask, I32(WARP - 1)])

    value_type = value.type
    width = value_type.width if isinstance(value_type, ir.IntType) else \
        (32 if isinstance(value_type, ir.FloatType) else 64)
    integer = ir.IntType(width)
    bits = value if isinstance(value_type, ir.IntType) else builder.bitcast(value, integer)
    if width <= 32:
        wide = bits if width == 32 else builder.zext(bits, I32)
        shuffled = word(wide)
        shuffled = shuffled if width == 32 else builder.trunc(shuffled, integer)
    else:
        low = word(builder.trunc(bits, I32))
        high = word(builder.trunc(builder.lshr(bits, I64(32)), I32))
        shuffled = builder.or_(builder.zext(low, I64),
                               builder.shl(builder.zext(high, I64), I64(32)))
    return shuffled if isinstance(value_type, ir.IntType) else \
        builder.bitcast(shuffled, value_type)


def broadcasts(ttype, axis, ndim):
    """Whether an array of ``ttype`` is read with stride 0 along domain ``axis``."""
    own = axis - (ndim - ttype.ndim)
    return own < 0 or ttype.shape[own] == 1


def unflatten(builder, flat, extents):
    """The row-major index of element number ``flat`` (which is below the product of
    ``extents``), one i64 per axis; the first axis needs no remainder."""
    index = [None] * len(extents)
    rest = flat
    for axis in reversed(range(1, len(extents))):
        index[axis] = builder.urem(rest, extents[axis])
        rest = builder.udiv(rest, extents[axis])
    if extents:
        index[0] = rest
    return index


def offset(builder, strides, index):
    """Element offset of an array at ``index`` ({axis: i64}) given its ``strides`` ({axis:
    stride}; axes it broadcasts along are absent)."""
    total = I64(0)
    for axis, stride in strides.items():
        if axis in index:
            total = builder.add(total, builder.mul(index[axis], stride))
    return total


def element(builder, pointer, dtype, offset_value):
    """Address of element ``offset_value`` of an array of ``dtype`` at ``pointer``."""
    return builder.gep(pointer, [offset_value], source_etype=memory_type(dtype))


def load(builder, address, dtype):
    """The element at ``address`` in registers (a bool byte becomes an i1)."""
    value = builder.load(address, typ=memory_type(dtype), align=dtypes.itemsize(dtype))
    if dtype == dtypes.BOOL:
        return builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))
    return value


def store(builder, value, address, dtype):
    """Store register ``value`` as an element of ``dtype`` (an i1 as a byte)."""
    if dtype == dtypes.BOOL:
        value = builder.zext(value, memory_type(dtype))
    builder.store(value, address, align=dtypes.itemsize(dtype))
