"""External scalar functions re-emitted inside a kernel, on vectors as on scalars.

numba compiles an ``elemwise_op`` body for one element.  Called lane by lane from theon's
vector loop, its code stays scalar.  Most such bodies are one basic block of arithmetic,
comparisons, selects, casts and math functions, though: those are read here into a short
program (once per function) and replayed with the kernel's own builder on the kernel's own
values, so every instruction works on whole vectors, math functions come from theon's
vectorised library (on the GPU too, where no libm exists), and no call or link is left.

A body with branches, loops, memory, or a call to anything but a known math function is
not replayed; ``external.emit_call`` then calls the linked code lane by lane.
"""
import functools
import re
from dataclasses import dataclass

from llvmlite import ir

# LLVM intrinsics and C functions numba's code calls -> theon's math library
_MATH = {"exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
         "log10": "log10", "log1p": "log1p", "sin": "sin", "cos": "cos", "tan": "tan",
         "asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
         "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "arcsinh",
         "acosh": "arccosh", "atanh": "arctanh", "erf": "erf", "erfc": "erfc", "pow": "pow"}
# intrinsics LLVM itself lowers on every target, for vectors as for scalars
_INTRINSICS = ("fabs", "sqrt", "floor", "ceil", "trunc", "rint", "roundeven", "round",
               "fma", "fmuladd", "minnum", "maxnum", "minimum", "maximum", "copysign",
               "smax", "smin", "umax", "umin")
# C functions that are LLVM intrinsics under another name
_LIBM_INTRINSICS = {"floor": "floor", "ceil": "ceil", "trunc": "trunc", "round": "round",
                    "rint": "rint", "sqrt": "sqrt", "fabs": "fabs", "copysign": "copysign",
                    "fmin": "minnum", "fmax": "maxnum", "fma": "fma"}
_BINARY = {"fadd", "fsub", "fmul", "fdiv", "frem", "add", "sub", "mul", "and", "or", "xor",
           "shl", "lshr", "ashr"}
_CASTS = {"sitofp", "uitofp", "fptosi", "fptoui", "fpext", "fptrunc", "sext", "zext", "trunc"}
_FCMP = {"oeq": ("ordered", "=="), "ogt": ("ordered", ">"), "oge": ("ordered", ">="),
         "olt": ("ordered", "<"), "ole": ("ordered", "<="), "one": ("ordered", "!="),
         "ord": ("ordered", "ord"), "ueq": ("unordered", "=="), "ugt": ("unordered", ">"),
         "uge": ("unordered", ">="), "ult": ("unordered", "<"), "ule": ("unordered", "<="),
         "une": ("unordered", "!="), "uno": ("unordered", "uno")}
_ICMP = {"eq": ("signed", "=="), "ne": ("signed", "!="), "sgt": ("signed", ">"),
         "sge": ("signed", ">="), "slt": ("signed", "<"), "sle": ("signed", "<="),
         "ugt": ("unsigned", ">"), "uge": ("unsigned", ">="), "ult": ("unsigned", "<"),
         "ule": ("unsigned", "<=")}
_TYPES = {"double": ir.DoubleType(), "float": ir.FloatType(),
          **{f"i{bits}": ir.IntType(bits) for bits in (1, 8, 16, 32, 64)}}
_PREDICATE = re.compile(r"= [fi]cmp (?:[a-z]+ )*?(\w+) ")


@dataclass(frozen=True)
class _Step:
    """One instruction: ``result = opcode(operands)``; an operand is ``("arg", index)``,
    ``("value", name)`` or ``("const", value, type name)``."""

    result: str
    opcode: str
    detail: object   # the predicate, the cast's target type, the math function's name
    operands: tuple


@functools.lru_cache(maxsize=None)
def program(llvm_ir, symbol):
    """The steps of ``symbol``'s body in ``llvm_ir`` and the operand it returns, or None
    when the body cannot be replayed (see the module's docstring)."""
    from .llvm import binding
    function = binding().parse_assembly(llvm_ir).get_function(symbol)
    blocks = list(function.blocks)
    if len(blocks) != 1:
        return None
    arguments = {a.name: index - 2 for index, a in enumerate(function.arguments)}
    names = {}  # instruction -> our name for its value (LLVM's may be empty)
    steps, result = [], None
    for instruction in blocks[0].instructions:
        opcode = instruction.opcode
        operands = list(instruction.operands)
        if opcode == "ret":
            continue
        if opcode == "store":
            value, pointer = operands
            if pointer.name != "retptr" or result is not None:
                return None
            result = _operand(value, arguments, names)
            continue
        detail = None
        if opcode == "call":
            *operands, callee = operands
            detail = _callee(callee.name)
            if detail is None:
                return None
        elif opcode in ("fcmp", "icmp"):
            match = _PREDICATE.search(str(instruction))
            detail = match.group(1) if match else None
            if detail not in (_FCMP if opcode == "fcmp" else _ICMP):
                return None
        elif opcode in _CASTS:
            detail = str(instruction.type)
        elif opcode not in _BINARY and opcode not in ("fneg", "select", "freeze"):
            return None
        described = [_operand(o, arguments, names) for o in operands]
        if any(d is None for d in described) or str(instruction.type) not in _TYPES:
            return None
        names[instruction] = f"v{len(names)}"
        steps.append(_Step(names[instruction], opcode, detail, tuple(described)))
    if result is None:
        return None
    return tuple(steps), result


def _callee(name):
    """('math', theon's name) or ('intrinsic', LLVM's base name) for a function numba's code
    calls, or None."""
    if name.startswith("llvm."):
        base = name[len("llvm."):].split(".")[0]
        if base in _INTRINSICS:
            return ("intrinsic", f"llvm.{base}")
        return ("math", _MATH[base]) if base in _MATH else None
    for bare in (name, name[:-1] if name.endswith("f") else None):  # expf: exp on floats
        if bare in _MATH:
            return ("math", _MATH[bare])
        if bare in _LIBM_INTRINSICS:
            return ("intrinsic", f"llvm.{_LIBM_INTRINSICS[bare]}")
    return None


def _operand(value, arguments, names):
    kind = value.value_kind.name
    if kind == "argument":
        index = arguments.get(value.name, -1)
        return ("arg", index) if index >= 0 else None
    if kind == "instruction":
        return ("value", names[value]) if value in names else None
    if kind in ("constant_fp", "constant_int") and str(value.type) in _TYPES:
        return ("const", value.get_constant_value(), str(value.type))
    return None


def replay(builder, target, steps, result, args):
    """Emit ``steps`` on ``args`` (scalars, or vectors of one length) and return the value
    of ``result``."""
    lanes = args[0].type.count if isinstance(args[0].type, ir.VectorType) else 1
    values = {}

    def value_of(operand):
        if operand[0] == "arg":
            return args[operand[1]]
        if operand[0] == "value":
            return values[operand[1]]
        _, constant, type_name = operand
        element = _TYPES[type_name]
        if lanes == 1:
            return ir.Constant(element, constant)
        return ir.Constant(ir.VectorType(element, lanes), [constant] * lanes)

    def typed(type_name):
        element = _TYPES[type_name]
        return element if lanes == 1 else ir.VectorType(element, lanes)

    for step in steps:
        operands = [value_of(o) for o in step.operands]
        values[step.result] = _emit(builder, target, step, operands, typed)
    return value_of(result)


def _emit(builder, target, step, operands, typed):
    from .body import _intrinsic
    opcode = step.opcode
    if opcode in _BINARY:
        method = {"and": "and_", "or": "or_", "shl": "shl", "lshr": "lshr",
                  "ashr": "ashr"}.get(opcode, opcode)
        return getattr(builder, method)(*operands)
    if opcode == "fneg":
        return builder.fneg(operands[0])
    if opcode == "freeze":
        return operands[0]
    if opcode == "select":
        return builder.select(*operands)
    if opcode == "fcmp":
        order, op = _FCMP[step.detail]
        compare = builder.fcmp_ordered if order == "ordered" else builder.fcmp_unordered
        return compare(op, *operands)
    if opcode == "icmp":
        sign, op = _ICMP[step.detail]
        compare = builder.icmp_signed if sign == "signed" else builder.icmp_unsigned
        return compare(op, *operands)
    if opcode in _CASTS:
        return getattr(builder, opcode)(operands[0], typed(step.detail))
    kind, name = step.detail  # a call
    if kind == "math":
        return target.math(builder, name, operands)
    return _intrinsic(builder, name, operands)
