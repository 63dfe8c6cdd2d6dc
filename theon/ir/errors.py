"""The exceptions theon raises; each subclasses the Python exception a user would expect."""


class DTypeError(TypeError):
    """An input or operand has a dtype the operation cannot take."""


class ShapeError(ValueError):
    """Shapes or broadcast patterns are incompatible."""


class CompileError(RuntimeError):
    """LLVM, ptxas or the code generator failed on a graph theon accepted."""
