"""What every backend shares, and the interface each Target implements.

Everything that differs between the CPU and CUDA lives in a Target subclass: how the
iteration domain becomes indices, the calling convention of a kernel, the math library,
how a module becomes bytes.  The body emitter (``body.py``) never asks which target it is on.
"""
from dataclasses import dataclass


@dataclass
class CompiledModule:
    """The code of one LLVM module: its bytes (object file or PTX) and how it was made.

    Attributes
    ----------
    target : str
    symbols : tuple of str
        The kernel entry points it defines.
    code : bytes
        Object file (CPU) or PTX text (CUDA).
    llvm_ir : str
        The module's LLVM IR before optimisation.
    optimized_ir : str
        After optimisation.
    """

    target: str
    symbols: tuple
    code: bytes
    llvm_ir: str
    optimized_ir: str


class Target:
    """A backend.  Subclasses define ``name``, ``triple``, ``define_kernel``, ``compile``,
    ``load`` and ``assembly``; they may override ``vector_lanes``, ``math`` and
    ``float_to_int``.  What changes a target's code besides a kernel's content is its
    ``codegen.host.cache_key``."""

    name = "abstract"
    inline_math = True  # inline math functions at each use, or call one copy per module
    tiered = False      # compiles quick code first, optimised code in the background

    def vector_lanes(self, kernel):
        """Elements per vector in the kernel's inner loop (1: scalar code)."""
        return 1

    def new_module(self, name):
        """An empty llvmlite module for this target."""
        from llvmlite import ir  # here: a process loading cached code never needs it
        module = ir.Module(name=name)
        module.triple = self.triple
        return module

    def math(self, builder, name, args):
        """Value of math function ``name`` (exp, log, ..., pow) on scalar float ``args``."""
        from .mathlib import call
        return call(builder, name, args, inline=self.inline_math)

    def float_to_int(self, builder, value, to, signed):
        """``value`` converted to integer type ``to``, saturating (nan gives 0): never
        LLVM's poison for out-of-range values."""
        from .body import _type_suffix
        kind = "fptosi" if signed else "fptoui"
        name = f"llvm.{kind}.sat.{_type_suffix(to)}.{_type_suffix(value.type)}"
        function = builder.module.globals.get(name)
        if function is None:
            from llvmlite import ir
            function = ir.Function(builder.module, ir.FunctionType(to, [value.type]), name)
        return builder.call(function, [value])

    def plan_module(self, module, steps):
        """Called once with all the steps a module will hold, before their kernels are
        defined (the CPU decides there whether to inline its math library)."""

    def define_kernel(self, module, step):
        """Emit the entry points of ``step``'s kernel into ``module``."""
        raise NotImplementedError

    def compile(self, module, name, watch, quick=False):
        """``module`` as a CompiledModule of this target's code (timed in ``watch``);
        ``quick``: the first tier of tiered compilation, on a target that has tiers."""
        raise NotImplementedError
