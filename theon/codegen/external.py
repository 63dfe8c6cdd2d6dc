"""Calls to external scalar functions (``ir.scalar.ExternalFunction``: numba-compiled
``theon.elemwise_op`` bodies) and linking their LLVM IR into a kernel module.

A body that is straight-line code is replayed on the kernel's values (``replay.py``).  Any
other is called through numba's calling convention: the module declares it, and
``module_text`` brings in its definition just before LLVM compiles the module, internal and
always-inline, so after inlining the kernel loop holds the function's code itself: no call
remains and nothing is exported.
"""
import re

from llvmlite import ir

from ..ir import CompileError, scalar
from .loops import entry_alloca
from .replay import program, replay
from .types import register_type

I32 = ir.IntType(32)
PTR = ir.PointerType()


def emit_call(builder, target, node, args):
    """The value of ``node`` (a ``call`` scalar) on ``args``, scalars or vectors: the
    function's body replayed on them where it is straight-line code (``replay.py``), else
    a call per lane."""
    function = scalar.EXTERNAL[node.attr]
    straight = program(function.llvm_ir, function.symbol)
    if straight is not None:
        return replay(builder, target, *straight, args)
    callee = _declare(builder.module, function)
    result = entry_alloca(builder, register_type(function.out_dtype))
    exception = entry_alloca(builder, PTR)
    if not isinstance(args[0].type, ir.VectorType):
        builder.call(callee, [result, exception, *args])
        return builder.load(result)
    lanes = args[0].type.count
    value = ir.Constant(ir.VectorType(register_type(function.out_dtype), lanes), None)
    for lane in range(lanes):
        operands = [builder.extract_element(a, I32(lane)) for a in args]
        builder.call(callee, [result, exception, *operands])
        value = builder.insert_element(value, builder.load(result), I32(lane))
    return value


def _declare(module, function):
    declared = module.globals.get(function.symbol)
    if declared is not None:
        return declared
    signature = ir.FunctionType(I32, [PTR, PTR] + [register_type(d) for d in
                                                   function.arg_dtypes])
    declared = ir.Function(module, signature, function.symbol)
    if not hasattr(module, "externals"):
        module.externals = {}
    module.externals[function.symbol] = function
    return declared


def module_text(module, triple, supported=None):
    """The LLVM IR text of ``module`` with the external functions it calls linked in.

    ``supported(callee) -> bool`` says which functions the target can provide to the
    external code (None: all); an external function calling another is a CompileError.
    """
    text = str(module)
    externals = getattr(module, "externals", None)
    if not externals:
        return text
    from .llvm import binding
    llvm = binding()
    linked = llvm.parse_assembly(text)
    for function in externals.values():
        if supported is not None:
            for callee in function.callees:
                if not supported(callee):
                    raise CompileError(
                        f"elementwise op {function.name or function.symbol!r} calls "
                        f"{callee}, which the {module.triple} target cannot provide")
        linked.link_in(llvm.parse_assembly(_retargeted(function.llvm_ir, triple)))
    for function in externals.values():
        definition = linked.get_function(function.symbol)
        definition.linkage = "internal"
        definition.add_function_attribute("alwaysinline")
    return str(linked)


_TARGET_LINE = re.compile(r'^target (triple|datalayout) = .*$', re.MULTILINE)


def _retargeted(text, triple):
    """``text`` for ``triple``: its own triple and data layout dropped (the kernel module's
    apply once linked)."""
    return f'target triple = "{triple}"\n' + _TARGET_LINE.sub("", text)
