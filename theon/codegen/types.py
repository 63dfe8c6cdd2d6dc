"""LLVM types of theon dtypes, in registers and in memory."""
from llvmlite import ir

from ..ir import dtypes

_REGISTER = {
    "bool": ir.IntType(1),
    "int8": ir.IntType(8), "uint8": ir.IntType(8),
    "int16": ir.IntType(16), "uint16": ir.IntType(16),
    "int32": ir.IntType(32), "uint32": ir.IntType(32),
    "int64": ir.IntType(64), "uint64": ir.IntType(64),
    "float32": ir.FloatType(), "float64": ir.DoubleType(),
}


def register_type(dtype):
    """The type a value of ``dtype`` has in registers (bool is i1)."""
    return _REGISTER[dtype]


def memory_type(dtype):
    """The type an element of ``dtype`` has in memory (bool is a byte)."""
    return ir.IntType(8) if dtype == dtypes.BOOL else _REGISTER[dtype]
