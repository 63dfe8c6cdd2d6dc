"""What every target's reductions share: the combiners as LLVM operations, their
identities, and the type a reduction accumulates in.

A reduction kernel folds ``body[0]`` over some axes of its domain with one of the
combiners of ``ir.ops.reduce.COMBINERS``; each target decides how the folding is spread
over vector lanes, loops or GPU threads, and uses these to fold.
"""
from ..ir import TensorType, dtypes
from .body import _intrinsic, constant


def accumulate_dtype(kernel):
    """The dtype a reduction kernel accumulates in: its output's, except that float32 sums
    accumulate in float64, so that a sum of 1e7 float32 values loses nothing to the order of
    the additions."""
    dtype = kernel.out_types[0].dtype
    return "float64" if kernel.reduce[0] == "add" and dtype == "float32" else dtype


def reduced_output_type(kernel):
    """The type a reduction kernel's output array is passed with: the domain's shape with
    the reduced axes of length 1 (so read and written with stride 0 along them)."""
    _, axes, _ = kernel.reduce
    shape = tuple(1 if axis in axes else length
                  for axis, length in enumerate(kernel.domain_shape))
    return TensorType(kernel.out_types[0].dtype, shape)


def identity_constant(combiner, dtype, lanes=1):
    """The value ``combiner`` starts from in ``dtype`` as an LLVM constant (splat over
    ``lanes``)."""
    from ..ir.ops.reduce import identity
    return constant(identity(combiner, dtype), dtype, lanes)


def combine(builder, combiner, dtype, a, b):
    """``a`` combined with ``b`` (scalars or vectors of ``dtype``); float maximum and minimum
    propagate NaN, as numpy's do."""
    if dtype == dtypes.BOOL:  # on bools min and * are and; max and + are or
        if combiner in ("and", "minimum", "mul"):
            return builder.and_(a, b)
        return builder.or_(a, b)
    floats = dtype in dtypes.FLOATS
    if combiner == "add":
        return builder.fadd(a, b) if floats else builder.add(a, b)
    if combiner == "mul":
        return builder.fmul(a, b) if floats else builder.mul(a, b)
    if floats:
        name = "llvm.maximum" if combiner == "maximum" else "llvm.minimum"
        return _intrinsic(builder, name, [a, b])
    compare = builder.icmp_signed if dtypes.is_signed(dtype) else builder.icmp_unsigned
    return builder.select(compare(">" if combiner == "maximum" else "<", a, b), a, b)
