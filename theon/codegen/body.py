"""The one emitter of kernel bodies, shared by every target.

It walks a kernel's scalar DAG once, keeping ``values: dict[Scalar, ir.Value]``, and emits
each primitive through the table ``EMIT``.  Operations that differ between targets (the
math library, saturating conversions) are asked of the Target.
"""
from llvmlite import ir

from ..ir import dtypes, scalar as s
from .external import emit_call
from .types import register_type


def emit_body(builder, outputs, load, target, lanes=1, position=None):
    """Emit the scalar DAGs ``outputs`` on scalars, or on vectors of ``lanes`` elements (the
    same code: every emit function is written for both); return their values.

    Parameters
    ----------
    builder : llvmlite.ir.IRBuilder
    outputs : sequence of Scalar
    load : callable
        ``load(index, dtype) -> ir.Value``: element of kernel input ``index``.
    target : Target
    lanes : int
        1 for scalar code; otherwise every value is a ``<lanes x T>`` vector.
    position : callable, optional
        ``position(axis) -> ir.Value``: the elements' i64 positions along domain axis
        ``axis`` (negative, from the last), for the ``index`` primitive.
    """
    values = {}
    for node in s.topological(outputs):
        if node.prim == "input":
            values[node] = load(node.attr, node.dtype)
        elif node.prim == "index":
            values[node] = position(node.attr)
        elif node.prim == "const":
            values[node] = constant(node.value, node.dtype, lanes)
        else:
            args = [values[a] for a in node.args]
            values[node] = EMIT[node.prim](builder, target, node, args)
    return [values[o] for o in outputs]


def constant(value, dtype, lanes=1):
    """An LLVM constant of ``dtype`` (splat over ``lanes`` when more than one)."""
    element = register_type(dtype)
    if dtype == dtypes.BOOL:
        value = int(bool(value))
    elif dtype in dtypes.FLOATS:
        value = float(value)
    else:
        value = int(value) & ((1 << element.width) - 1)
    return ir.Constant(vector_of(element, lanes), value)


def vector_of(element, lanes):
    """``element`` itself for one lane, else ``<lanes x element>``."""
    return element if lanes == 1 else ir.VectorType(element, lanes)


def _like(value, element):
    """The type with ``value``'s shape (scalar or vector) and ``element`` as element type."""
    if isinstance(value.type, ir.VectorType):
        return ir.VectorType(element, value.type.count)
    return element


def _width(value_type):
    """Bits of an integer type's elements (vector or scalar)."""
    if isinstance(value_type, ir.VectorType):
        return value_type.element.width
    return value_type.width


def _type_suffix(value_type):
    """LLVM's overload suffix: f32, f64, i32, v8f32, ..."""
    if isinstance(value_type, ir.VectorType):
        return f"v{value_type.count}{_type_suffix(value_type.element)}"
    if isinstance(value_type, ir.FloatType):
        return "f32"
    if isinstance(value_type, ir.DoubleType):
        return "f64"
    return f"i{value_type.width}"


def _operand_dtype(node):
    return node.args[0].dtype if node.args else node.dtype


def _float(node):
    return _operand_dtype(node) in dtypes.FLOATS


def _signed(node):
    return dtypes.is_signed(_operand_dtype(node))


def _binary(float_method, int_method):
    def emit(builder, target, node, args):
        method = float_method if _float(node) else int_method
        return getattr(builder, method)(*args)
    return emit


def _intrinsic(builder, name, args):
    """Call LLVM intrinsic ``name`` overloaded on the type of ``args[0]`` (all args alike)."""
    value_type = args[0].type
    full_name = f"{name}.{_type_suffix(value_type)}"
    function = builder.module.globals.get(full_name)
    if function is None:
        signature = ir.FunctionType(value_type, [a.type for a in args])
        function = ir.Function(builder.module, signature, full_name)
    return builder.call(function, args)


def _neg(builder, target, node, args):
    if _float(node):
        return builder.fneg(args[0])
    return builder.neg(args[0])


def _abs(builder, target, node, args):
    (x,) = args
    if _float(node):
        return _intrinsic(builder, "llvm.fabs", [x])
    if not _signed(node):
        return x
    return builder.select(builder.icmp_signed("<", x, x.type(0)), builder.neg(x), x)


def _sign(builder, target, node, args):
    (x,) = args
    one, zero = ir.Constant(x.type, 1), ir.Constant(x.type, 0)
    if _float(node):
        # +0.0 for 0 and -0, nan stays nan, as numpy
        positive = builder.fcmp_ordered(">", x, zero)
        negative = builder.fcmp_ordered("<", x, zero)
        zero_or_nan = builder.select(builder.fcmp_unordered("uno", x, x), x, zero)
        return builder.select(positive, one,
                              builder.select(negative, builder.fneg(one), zero_or_nan))
    if not _signed(node):
        return builder.zext(builder.icmp_unsigned("!=", x, zero), x.type)
    positive = builder.zext(builder.icmp_signed(">", x, zero), x.type)
    negative = builder.zext(builder.icmp_signed("<", x, zero), x.type)
    return builder.sub(positive, negative)


def _extremum(float_intrinsic, predicate):
    def emit(builder, target, node, args):
        a, b = args
        if _float(node):
            return _intrinsic(builder, float_intrinsic, args)  # propagates nan, as numpy
        compare = builder.icmp_signed if _signed(node) else builder.icmp_unsigned
        return builder.select(compare(predicate, a, b), a, b)
    return emit


_PREDICATES = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _compare(builder, target, node, args):
    predicate = _PREDICATES[node.prim]
    if _float(node):
        # numpy: nan != anything is True, every other comparison with nan is False
        if node.prim == "ne":
            return builder.fcmp_unordered(predicate, *args)
        return builder.fcmp_ordered(predicate, *args)
    if _signed(node):
        return builder.icmp_signed(predicate, *args)
    return builder.icmp_unsigned(predicate, *args)


def _isnan(builder, target, node, args):
    return builder.fcmp_unordered("uno", args[0], args[0])


def _isinf(builder, target, node, args):
    magnitude = _intrinsic(builder, "llvm.fabs", args)
    return builder.fcmp_ordered("==", magnitude, args[0].type(float("inf")))


def _where(builder, target, node, args):
    return builder.select(*args)


def _unary_intrinsic(name):
    def emit(builder, target, node, args):
        return _intrinsic(builder, name, args)
    return emit


def _math(builder, target, node, args):
    return target.math(builder, node.prim, args)


def _invert(builder, target, node, args):
    return builder.not_(args[0])


def _cast(builder, target, node, args):
    (x,) = args
    source, dest = node.args[0].dtype, node.dtype
    to = _like(x, register_type(dest))
    if dest == dtypes.BOOL:
        if source in dtypes.FLOATS:
            return builder.fcmp_unordered("!=", x, x.type(0.0))  # nan is True
        return builder.icmp_unsigned("!=", x, x.type(0))
    if source in dtypes.FLOATS and dest in dtypes.FLOATS:
        if source == dest:
            return x
        return builder.fpext(x, to) if dest == "float64" else builder.fptrunc(x, to)
    if source in dtypes.FLOATS:
        return target.float_to_int(builder, x, to, dtypes.is_signed(dest))
    if dest in dtypes.FLOATS:
        if source == dtypes.BOOL or not dtypes.is_signed(source):
            return builder.uitofp(x, to)
        return builder.sitofp(x, to)
    if _width(to) == _width(x.type):
        return x
    if _width(to) < _width(x.type):
        return builder.trunc(x, to)
    if source == dtypes.BOOL or not dtypes.is_signed(source):
        return builder.zext(x, to)
    return builder.sext(x, to)


def _safe_divisor(builder, a, b, signed):
    """(divisor with 0 and -1 replaced by 1, b == 0, b == -1): sdiv by them is undefined."""
    zero = builder.icmp_unsigned("==", b, b.type(0))
    minus_one = builder.icmp_signed("==", b, b.type(-1)) if signed else \
        ir.Constant(_like(b, ir.IntType(1)), 0)
    unsafe = builder.or_(zero, minus_one)
    return builder.select(unsafe, b.type(1), b), zero, minus_one


def _int_floordiv(builder, a, b, signed):
    """numpy's a // b on integers: floor division, 0 for a zero divisor, wraps for MIN//-1."""
    divisor, zero, minus_one = _safe_divisor(builder, a, b, signed)
    if not signed:
        return builder.select(zero, a.type(0), builder.udiv(a, divisor))
    quotient = builder.sdiv(a, divisor)
    remainder = builder.srem(a, divisor)
    signs_differ = builder.icmp_signed("<", builder.xor(remainder, divisor), a.type(0))
    adjust = builder.and_(builder.icmp_unsigned("!=", remainder, a.type(0)), signs_differ)
    floored = builder.sub(quotient, builder.zext(adjust, a.type))
    floored = builder.select(minus_one, builder.neg(a), floored)
    return builder.select(zero, a.type(0), floored)


def _int_mod(builder, a, b, signed):
    """numpy's a % b on integers: the sign of the divisor, 0 for a zero divisor."""
    divisor, zero, minus_one = _safe_divisor(builder, a, b, signed)
    if not signed:
        return builder.select(zero, a.type(0), builder.urem(a, divisor))
    remainder = builder.srem(a, divisor)
    signs_differ = builder.icmp_signed("<", builder.xor(remainder, divisor), a.type(0))
    adjust = builder.and_(builder.icmp_unsigned("!=", remainder, a.type(0)), signs_differ)
    result = builder.select(adjust, builder.add(remainder, divisor), remainder)
    return builder.select(builder.or_(zero, minus_one), a.type(0), result)


def _float_divmod(builder, a, b):
    """numpy's npy_divmod for floats: (floor quotient, remainder with the divisor's sign)."""
    zero = a.type(0.0)
    mod = builder.frem(a, b)
    mod_nonzero = builder.fcmp_unordered("!=", mod, zero)
    signs_differ = builder.xor(builder.fcmp_ordered("<", b, zero),
                               builder.fcmp_ordered("<", mod, zero))
    adjust = builder.and_(mod_nonzero, signs_differ)
    div = builder.fdiv(builder.fsub(a, mod), b)
    div = builder.select(adjust, builder.fsub(div, a.type(1.0)), div)
    mod = builder.select(adjust, builder.fadd(mod, b), mod)
    mod = builder.select(mod_nonzero, mod, _intrinsic(builder, "llvm.copysign", [zero, b]))
    floor = _intrinsic(builder, "llvm.floor", [div])
    round_up = builder.fcmp_ordered(">", builder.fsub(div, floor), a.type(0.5))
    floor = builder.select(round_up, builder.fadd(floor, a.type(1.0)), floor)
    quotient_is_zero = builder.fcmp_ordered("==", div, zero)
    true_quotient = builder.fdiv(a, b)
    floor = builder.select(quotient_is_zero,
                           _intrinsic(builder, "llvm.copysign", [zero, true_quotient]), floor)
    divisor_zero = builder.fcmp_ordered("==", b, zero)
    return builder.select(divisor_zero, true_quotient, floor), mod


def _floordiv(builder, target, node, args):
    if _float(node):
        return _float_divmod(builder, *args)[0]
    return _int_floordiv(builder, *args, _signed(node))


def _mod(builder, target, node, args):
    if _float(node):
        return _float_divmod(builder, *args)[1]
    return _int_mod(builder, *args, _signed(node))


def _int_pow(builder, base, exponent, signed):
    """base ** exponent by square-and-multiply over every exponent bit (branch-free);
    a negative exponent gives 1/base**k truncated: 1, -1 or 0."""
    result = base.type(1)
    square = base
    magnitude = builder.select(builder.icmp_signed("<", exponent, exponent.type(0)),
                               builder.neg(exponent), exponent) if signed else exponent
    for bit in range(_width(base.type)):
        is_set = builder.trunc(builder.lshr(magnitude, magnitude.type(bit)),
                               _like(magnitude, ir.IntType(1)))
        result = builder.select(is_set, builder.mul(result, square), result)
        square = builder.mul(square, square)
    if not signed:
        return result
    negative = builder.icmp_signed("<", exponent, exponent.type(0))
    one = builder.icmp_signed("==", base, base.type(1))
    minus_one = builder.icmp_signed("==", base, base.type(-1))
    odd = builder.trunc(exponent, _like(exponent, ir.IntType(1)))
    small = builder.select(one, base.type(1),
                           builder.select(minus_one,
                                          builder.select(odd, base.type(-1), base.type(1)),
                                          base.type(0)))
    return builder.select(negative, small, result)


def _pow(builder, target, node, args):
    if _float(node):
        return target.math(builder, "pow", args)
    return _int_pow(builder, *args, _signed(node))


EMIT = {
    "add": _binary("fadd", "add"), "sub": _binary("fsub", "sub"),
    "mul": _binary("fmul", "mul"), "div": _binary("fdiv", None),  # true_div is float-only
    "floordiv": _floordiv, "mod": _mod, "pow": _pow,
    "neg": _neg, "abs": _abs, "sign": _sign,
    "minimum": _extremum("llvm.minimum", "<"), "maximum": _extremum("llvm.maximum", ">"),
    "eq": _compare, "ne": _compare, "lt": _compare, "le": _compare, "gt": _compare,
    "ge": _compare, "isnan": _isnan, "isinf": _isinf,
    "and": _binary("and_", "and_"), "or": _binary("or_", "or_"),
    "xor": _binary("xor", "xor"), "invert": _invert,
    "sqrt": _unary_intrinsic("llvm.sqrt"), "floor": _unary_intrinsic("llvm.floor"),
    "ceil": _unary_intrinsic("llvm.ceil"), "trunc": _unary_intrinsic("llvm.trunc"),
    "rint": _unary_intrinsic("llvm.roundeven"),
    "where": _where, "cast": _cast,
    "call": emit_call,
    **{name: _math for name in s.MATH},
}
