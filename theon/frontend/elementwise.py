"""The elementwise functions of ``theon.tensor`` and the operators of Variable.

Each function applies one op of ``ir.ELEMENTWISE``; Python scalars among the operands are
weak (a float32 tensor times 0.5 stays float32), as Theano's autocasting does.
"""
import numpy as np

from .. import ir
from ..config import config
from ..ir import ELEMENTWISE, dtypes
from .variable import Variable, constant, user_trace

_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def apply(op, *operands):
    """``op`` applied to ``operands`` (Variables, arrays or Python scalars)."""
    tensor_dtypes = [o.dtype for o in operands if isinstance(o, Variable)]
    tensor_dtypes += [np.asarray(o).dtype.name for o in operands
                      if not isinstance(o, (Variable,) + _SCALARS)]
    common = dtypes.upcast(*tensor_dtypes) if tensor_dtypes else None
    nodes = []
    for operand in operands:
        if isinstance(operand, Variable):
            nodes.append(operand.node)
        elif isinstance(operand, _SCALARS) and not isinstance(operand, np.ndarray):
            dtype = dtypes.weak_scalar_dtype(operand, common, config.floatX) \
                if common else None
            nodes.append(constant(operand, dtype=dtype).node)
        else:
            nodes.append(constant(operand).node)
    return Variable(ir.Node.make(op, nodes, trace=user_trace()))


def _function(name, doc):
    op = ELEMENTWISE[name]

    def function(*operands):
        if len(operands) != op.nin:
            raise TypeError(f"{name}: expected {op.nin} argument"
                            f"{'s' if op.nin != 1 else ''}, got {len(operands)}")
        return apply(op, *operands)

    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = doc
    return function


_DOCS = {
    "add": "a + b, elementwise with broadcasting.",
    "sub": "a - b, elementwise.",
    "mul": "a * b, elementwise.",
    "true_div": "a / b, elementwise; integers divide as floats (int32 / int32 is float64).",
    "int_div": "a // b, elementwise floor division (numpy's floor_divide; x // 0 is 0 for "
               "integers).",
    "mod": "a % b, elementwise; the result has the divisor's sign, as in numpy.",
    "pow": "a ** b, elementwise.",
    "neg": "-a, elementwise.",
    "abs": "|a|, elementwise.",
    "sgn": "Sign of a: -1, 0 or 1 (nan stays nan).",
    "sqr": "a * a, elementwise.",
    "sqrt": "Square root, elementwise.",
    "exp": "e ** a, elementwise.",
    "exp2": "2 ** a, elementwise.",
    "expm1": "exp(a) - 1, accurate for small a.",
    "log": "Natural logarithm.",
    "log2": "Base-2 logarithm.",
    "log10": "Base-10 logarithm.",
    "log1p": "log(1 + a), accurate for small a.",
    "sin": "Sine.", "cos": "Cosine.", "tan": "Tangent.",
    "arcsin": "Inverse sine.", "arccos": "Inverse cosine.", "arctan": "Inverse tangent.",
    "arctan2": "arctan2(y, x): angle of the point (x, y), numpy's argument order.",
    "sinh": "Hyperbolic sine.", "cosh": "Hyperbolic cosine.", "tanh": "Hyperbolic tangent.",
    "arcsinh": "Inverse hyperbolic sine.", "arccosh": "Inverse hyperbolic cosine.",
    "arctanh": "Inverse hyperbolic tangent.",
    "sigmoid": "1 / (1 + exp(-a)).",
    "softplus": "log(1 + exp(a)), computed without overflow.",
    "erf": "The error function.", "erfc": "1 - erf(a), accurate where erf(a) is near 1.",
    "floor": "Largest integer <= a (as a float).",
    "ceil": "Smallest integer >= a (as a float).",
    "trunc": "a rounded toward zero (as a float).",
    "round_half_to_even": "a rounded to the nearest integer, ties to even (as a float).",
    "maximum": "Elementwise maximum; nan if either is nan.",
    "minimum": "Elementwise minimum; nan if either is nan.",
    "clip": "clip(a, low, high): a limited to [low, high], elementwise.",
    "switch": "switch(cond, a, b): a where cond is true, else b (both evaluated).",
    "eq": "a == b, elementwise (bool).", "neq": "a != b, elementwise (bool).",
    "lt": "a < b (bool).", "le": "a <= b (bool).", "gt": "a > b (bool).",
    "ge": "a >= b (bool).",
    "and_": "Bitwise and (logical and on bools).", "or_": "Bitwise or.",
    "xor": "Bitwise exclusive or.", "invert": "Bitwise not (logical not on bools).",
    "isnan": "True where a is nan.", "isinf": "True where a is +inf or -inf.",
    "second": "second(a, b): b broadcast to the shape of a (Theano's fill).",
}

FUNCTIONS = {name: _function(name, doc) for name, doc in _DOCS.items()}
globals().update(FUNCTIONS)


def cast(x, dtype):
    """``x`` converted to ``dtype`` ('floatX' allowed), as numpy's ``astype``."""
    dtype = config.floatX if dtype == "floatX" else dtypes.canonical(dtype)
    if isinstance(x, Variable) and x.dtype == dtype:
        return x
    return apply(ir.cast_op(dtype), x)


def where(condition, a, b):
    """Alias of ``switch``: a where condition is true, else b."""
    return FUNCTIONS["switch"](condition, a, b)


def fill(model, value):
    """``value`` broadcast to the shape of ``model`` (Theano's ``T.fill``)."""
    return FUNCTIONS["second"](model, value)


def round(x, mode="half_to_even"):  # noqa: A001 - Theano's name
    """``x`` rounded; theon supports Theano's 'half_to_even' mode (numpy's rint)."""
    if mode != "half_to_even":
        raise ValueError(f"round: mode {mode!r} is not supported; expected 'half_to_even'")
    return FUNCTIONS["round_half_to_even"](x)


# ---- operators ----------------------------------------------------------------------------

def _binary(name, reflected=False):
    function = FUNCTIONS[name]
    if reflected:
        return lambda self, other: function(other, self)
    return lambda self, other: function(self, other)


for _name, _op in (("add", "add"), ("sub", "sub"), ("mul", "mul"),
                   ("truediv", "true_div"), ("floordiv", "int_div"), ("mod", "mod"),
                   ("pow", "pow"), ("and", "and_"), ("or", "or_"), ("xor", "xor")):
    setattr(Variable, f"__{_name}__", _binary(_op))
    setattr(Variable, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in (("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")):
    setattr(Variable, f"__{_name}__", _binary(_op))
Variable.__neg__ = lambda self: FUNCTIONS["neg"](self)
Variable.__pos__ = lambda self: self
Variable.__abs__ = lambda self: FUNCTIONS["abs"](self)
Variable.__invert__ = lambda self: FUNCTIONS["invert"](self)
