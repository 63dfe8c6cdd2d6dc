"""The sympy bridge: sympy expressions to theon graphs and back, and ops defined in sympy.

- :func:`from_sympy` builds an ordinary theon graph from a sympy expression;
- :func:`to_sympy` reads an elementwise theon graph back as a sympy expression;
- :func:`sympy_op` (``frontend/sympy_op.py``) defines a new elementwise op whose body is a
  sympy expression and whose derivatives come from ``sympy.diff``.

sympy is imported on the first call, never by ``import theon``.
"""
import math

import numpy as np

from .. import ir
from ..config import config
from ..ir import dtypes
from .elementwise import FUNCTIONS
from .sympy_op import SympyOp, sympy_op
from .sympy_translate import _sympy, translate
from .variable import Variable, constant

__all__ = ["from_sympy", "sympy_op", "to_sympy"]

_NUMBERS = (bool, int, float, np.bool_, np.integer, np.floating)


def from_sympy(expr, mapping):
    """The theon graph computing the sympy expression ``expr``.

    Every part of ``expr`` becomes the theon op computing it, so the result fuses, folds and
    differentiates like any graph written with ``theon.tensor``.  Constants take the float
    dtype of the tensors they meet: a float32 graph stays float32.

    Translated: ``+``, ``*``, ``/``, ``**`` (``x**2`` -> ``sqr``, ``x**-1`` -> ``1 / x``,
    ``x**(1/2)`` -> ``sqrt``, ``2**x`` -> ``exp2``), exp, log (``log(x, 2)`` and
    ``log(x, 10)`` -> ``log2``, ``log10``), sin, cos, tan, cot, sec, csc and their
    inverses, the hyperbolic functions and their inverses, atan2, erf, erfc, Abs, sign,
    floor, ceiling, Mod, Min, Max, Heaviside, hypot, sympy.codegen's expm1, log1p, exp2,
    log2, log10; relations (``<``, ``<=``, ``>``, ``>=``, Eq, Ne) and And, Or, Xor, Not as
    bool tensors; Piecewise as nested ``T.switch`` (nan where no condition holds, as in
    sympy); Sum and Product over integer bounds, written out term by term; numbers
    (Integer, Rational, Float, pi, E, oo, nan, and any constant subexpression such as
    ``sqrt(2)`` or ``exp(3)``, evaluated once).

    Parameters
    ----------
    expr : sympy.Basic or number
        A real-valued expression, or a boolean one (a relation, And, ...).
    mapping : dict
        ``{sympy.Symbol: value}`` for every free symbol of ``expr``; a value is a theon
        Variable, a Python or numpy number (weak: it takes the dtype of the tensors it
        meets), or an array (a constant of its own dtype).

    Returns
    -------
    Variable

    Raises
    ------
    TypeError
        ``expr`` uses a function or expression kind theon has no op for (the message names
        it), holds a complex constant, or ``mapping`` has a key that is not a Symbol or a
        value that is not a Variable, number or array.
    ValueError
        A free symbol of ``expr`` has no value in ``mapping``, or a Sum or Product has a
        bound that is not an integer.

    Examples
    --------
    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> x, y = T.fvectors("x", "y")
    >>> z = theon.from_sympy(sympy.Piecewise((a**2, a < b), (sympy.exp(-b), True)),
    ...                      {a: x, b: y})
    >>> z.dtype
    'float32'
    """
    sp = _sympy()
    if isinstance(expr, (bool, int, float)):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Basic):
        raise TypeError(f"from_sympy: expr must be a sympy expression; got "
                        f"{type(expr).__name__} {expr!r}")
    builder = _GraphBuilder(_values(sp, mapping))
    result = translate(expr, builder, "from_sympy")
    if isinstance(result, Variable):
        return result
    return constant(result, dtype=builder.float_dtype if isinstance(result, float) else None)


def _values(sp, mapping):
    if not hasattr(mapping, "items"):
        raise TypeError(f"from_sympy: mapping must be a dict {{sympy.Symbol: value}}; got "
                        f"{type(mapping).__name__}")
    values = {}
    for symbol, value in mapping.items():
        if not isinstance(symbol, sp.Symbol):
            raise TypeError(f"from_sympy: mapping keys must be sympy Symbols; got "
                            f"{type(symbol).__name__} {symbol!r}")
        if isinstance(value, (Variable,) + _NUMBERS):
            values[symbol] = value
        elif isinstance(value, (np.ndarray, list, tuple)):
            values[symbol] = constant(np.asarray(value))
        else:
            raise TypeError(f"from_sympy: the value of symbol {symbol} must be a theon "
                            f"Variable, a number or an array; got {type(value).__name__}")
    return values


class _GraphBuilder:
    """Builds the translation from the frontend's elementwise functions."""

    def __init__(self, values):
        self.values = values
        floats = [v.dtype for v in values.values()
                  if isinstance(v, Variable) and v.dtype in dtypes.FLOATS]
        self.float_dtype = dtypes.upcast(*floats) if floats else config.floatX

    def leaf(self, symbol):
        if symbol not in self.values:
            known = ", ".join(sorted(str(s) for s in self.values)) or "no symbols"
            hint = ""
            if any(s.name == symbol.name for s in self.values):
                hint = ("; a symbol of the same name with other assumptions (real=True, ...) "
                        "is a different symbol")
            raise ValueError(f"from_sympy: symbol {symbol} has no value in mapping "
                             f"(mapping has {known}){hint}")
        return self.values[symbol]

    def number(self, value):
        return value  # a weak Python scalar until an op meets a tensor

    def apply(self, name, *operands):
        if not any(isinstance(o, Variable) and o.dtype in dtypes.FLOATS for o in operands):
            # no float tensor for a Python float to follow (switch(cond, 0.5, 1.5), n * 0.5):
            # it takes the graph's float dtype, not floatX
            operands = [constant(o, dtype=self.float_dtype) if isinstance(o, float) else o
                        for o in operands]
        return FUNCTIONS[name](*operands)


# ---- to_sympy ----------------------------------------------------------------------------

def to_sympy(var, symbols=None, nsimplify=False):
    """The sympy expression of the elementwise theon graph ``var``.

    Inputs become ``sympy.Symbol(name)``: the name given to ``var`` if it is an input, else
    the input's name at construction (``T.vector('x')``); ``symbols`` chooses others, and
    may also stop the walk at an inner variable.  Elementwise ops, casts and scalar
    constants translate; ``switch`` becomes a Piecewise, comparisons become relations, a
    bool used as a number becomes ``Piecewise((1, c), (0, True))``, a sympy_op its own
    expression.  Shapes and dtypes are not part of the result (a cast to an integer dtype
    becomes truncation, one to bool ``Ne(x, 0)``).

    Parameters
    ----------
    var : Variable
    symbols : dict, optional
        ``{Variable: sympy expression}``: what each of these variables stands for.
    nsimplify : bool, optional
        Write each non-integer float constant as the simplest exact number within its
        dtype's precision (``sympy.nsimplify``: 0.3333333333333333 -> 1/3,
        3.141592653589793 -> pi) instead of a sympy Float holding its exact binary value.

    Returns
    -------
    sympy.Basic

    Raises
    ------
    TypeError
        The graph holds an op that is not elementwise (dot, sum, indexing, ...), an
        elementwise op with no sympy counterpart (isnan, bitwise ops on integers,
        round_half_to_even), or a constant whose elements are not all equal; the message
        names it.
    ValueError
        An input has no name, or two different inputs have the same name.

    Examples
    --------
    >>> x = T.dvector("x")
    >>> theon.to_sympy(T.exp(-x ** 2) / 2)
    exp(-x**2)/2
    """
    sp = _sympy()
    if not isinstance(var, Variable):
        raise TypeError(f"to_sympy: expected a theon Variable; got {type(var).__name__}")
    given = {}
    for key, value in (symbols or {}).items():
        if not isinstance(key, Variable) or not isinstance(value, sp.Basic):
            raise TypeError("to_sympy: symbols must map theon Variables to sympy "
                            f"expressions; got {type(key).__name__} -> "
                            f"{type(value).__name__}")
        given[key.node] = value
    if var.node not in given and isinstance(var.node.op, ir.Input) and var.name:
        given[var.node] = sp.Symbol(var.name)
    return _Reader(sp, given, nsimplify).read(var.node)


class _Reader:
    """Reads the nodes of a graph into sympy expressions, each after its inputs."""

    def __init__(self, sp, given, nsimplify):
        self.sp = sp
        self.values = dict(given)
        self.names = {}  # symbol name -> input node, to refuse two inputs of one name
        self.nsimplify = nsimplify

    def read(self, root):
        for node in _order(root, self.values):
            self.values[node] = self.node(node)
        return self.values[root]

    def node(self, node):
        op = node.op
        if isinstance(op, ir.Input):
            return self.input(op, node)
        if isinstance(op, ir.Constant):
            return self.constant(op)
        if not isinstance(op, ir.ElementwiseOp):
            raise TypeError(f"to_sympy: {op.describe()} is not an elementwise op; to_sympy "
                            "reads graphs of elementwise ops over inputs and scalar "
                            "constants")
        args = [self.values[i] for i in node.inputs]
        if isinstance(op, SympyOp):
            return op.expr.xreplace(dict(zip(op.args, [self.number(a) for a in args])))
        if op.name == "cast":
            return self.cast(args[0], node.inputs[0].type.dtype, dict(op.attrs)["dtype"])
        rule = _RULES.get(op.name)
        if rule is None:
            raise TypeError(f"to_sympy: sympy has no counterpart of the elementwise op "
                            f"{op.describe()}")
        kind, function = rule
        if kind == "logic":
            if node.type.dtype != dtypes.BOOL:
                raise TypeError(f"to_sympy: sympy has no counterpart of {op.describe()} on "
                                f"{node.type.dtype} (bitwise); only on bools")
            return function(self.sp, *[self.boolean(a) for a in args])
        if kind == "switch":
            condition, a, b = self.boolean(args[0]), self.number(args[1]), self.number(args[2])
            # switch(c1, a, switch(c2, b, d)) is one Piecewise, as from_sympy built it
            rest = b.args if isinstance(b, self.sp.Piecewise) else ((b, True),)
            return self.sp.Piecewise((a, condition), *rest)
        return function(self.sp, *[self.number(a) for a in args])

    def input(self, op, node):
        name = op.label
        if not name:
            raise ValueError(f"to_sympy: an input of type {op.type} has no name; name it "
                             "(T.vector('x')) or give its symbol in symbols")
        other = self.names.setdefault(name, node)
        if other is not node:
            raise ValueError(f"to_sympy: two different inputs are named {name!r}; rename "
                             "one or give their symbols in symbols")
        return self.sp.Symbol(name)

    def constant(self, op):
        value = op.scalar
        if value is None:
            raise TypeError(f"to_sympy: {op.describe()} is not a scalar constant")
        sp = self.sp
        if isinstance(value, bool):
            return sp.true if value else sp.false
        if isinstance(value, int):
            return sp.Integer(value)
        if math.isnan(value):
            return sp.nan
        if math.isinf(value):
            return sp.oo if value > 0 else -sp.oo
        if value == int(value) and abs(value) < 2 ** 53:
            return sp.Integer(int(value))
        if self.nsimplify:
            eps = float(np.finfo(op.value.dtype).eps)
            return sp.nsimplify(value, [sp.pi, sp.E], tolerance=4 * eps * abs(value))
        return sp.Float(value)

    def cast(self, arg, source, target):
        sp = self.sp
        if target == dtypes.BOOL:
            return self.boolean(arg)
        arg = self.number(arg)
        if target in dtypes.FLOATS or source not in dtypes.FLOATS:
            return arg
        # float to integer truncates toward zero
        return sp.Piecewise((sp.floor(arg), arg >= 0), (sp.ceiling(arg), True))

    def number(self, value):
        """``value`` as a number: a boolean becomes 1 where it holds, else 0."""
        if _is_boolean(self.sp, value):
            return self.sp.Piecewise((1, value), (0, True))
        return value

    def boolean(self, value):
        """``value`` as a boolean: a number is true where it is not 0."""
        if _is_boolean(self.sp, value):
            return value
        return self.sp.Ne(value, 0)


def _is_boolean(sp, value):
    # a Symbol is both an Expr and a Boolean; here it is a number
    return isinstance(value, sp.logic.boolalg.Boolean) and not isinstance(value, sp.Expr)


def _order(root, leaves):
    """Nodes reachable from ``root`` without entering ``leaves``, inputs first."""
    order, seen, stack = [], set(leaves), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in seen:
            continue
        if expanded:
            seen.add(node)
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((i, False) for i in reversed(node.inputs) if i not in seen)
    return order


def _numeric(build):
    return ("number", build)


_RULES = {
    "add": _numeric(lambda sp, a, b: a + b),
    "sub": _numeric(lambda sp, a, b: a - b),
    "mul": _numeric(lambda sp, a, b: a * b),
    "true_div": _numeric(lambda sp, a, b: a / b),
    "int_div": _numeric(lambda sp, a, b: sp.floor(a / b)),
    "mod": _numeric(lambda sp, a, b: sp.Mod(a, b)),
    "pow": _numeric(lambda sp, a, b: a ** b),
    "neg": _numeric(lambda sp, a: -a),
    "abs": _numeric(lambda sp, a: sp.Abs(a)),
    "sgn": _numeric(lambda sp, a: sp.sign(a)),
    "sqr": _numeric(lambda sp, a: a ** 2),
    "sqrt": _numeric(lambda sp, a: sp.sqrt(a)),
    "exp": _numeric(lambda sp, a: sp.exp(a)),
    "exp2": _numeric(lambda sp, a: 2 ** a),
    "expm1": _numeric(lambda sp, a: sp.exp(a) - 1),
    "log": _numeric(lambda sp, a: sp.log(a)),
    "log2": _numeric(lambda sp, a: sp.log(a, 2)),
    "log10": _numeric(lambda sp, a: sp.log(a, 10)),
    "log1p": _numeric(lambda sp, a: sp.log(1 + a)),
    "sin": _numeric(lambda sp, a: sp.sin(a)),
    "cos": _numeric(lambda sp, a: sp.cos(a)),
    "tan": _numeric(lambda sp, a: sp.tan(a)),
    "arcsin": _numeric(lambda sp, a: sp.asin(a)),
    "arccos": _numeric(lambda sp, a: sp.acos(a)),
    "arctan": _numeric(lambda sp, a: sp.atan(a)),
    "arctan2": _numeric(lambda sp, a, b: sp.atan2(a, b)),
    "sinh": _numeric(lambda sp, a: sp.sinh(a)),
    "cosh": _numeric(lambda sp, a: sp.cosh(a)),
    "tanh": _numeric(lambda sp, a: sp.tanh(a)),
    "arcsinh": _numeric(lambda sp, a: sp.asinh(a)),
    "arccosh": _numeric(lambda sp, a: sp.acosh(a)),
    "arctanh": _numeric(lambda sp, a: sp.atanh(a)),
    "erf": _numeric(lambda sp, a: sp.erf(a)),
    "erfc": _numeric(lambda sp, a: sp.erfc(a)),
    "sigmoid": _numeric(lambda sp, a: 1 / (1 + sp.exp(-a))),
    "softplus": _numeric(lambda sp, a: sp.log(1 + sp.exp(a))),
    "floor": _numeric(lambda sp, a: sp.floor(a)),
    "ceil": _numeric(lambda sp, a: sp.ceiling(a)),
    "trunc": _numeric(lambda sp, a: sp.Piecewise((sp.floor(a), a >= 0), (sp.ceiling(a), True))),
    "maximum": _numeric(lambda sp, a, b: sp.Max(a, b)),
    "minimum": _numeric(lambda sp, a, b: sp.Min(a, b)),
    "clip": _numeric(lambda sp, a, low, high: sp.Min(sp.Max(a, low), high)),
    "eq": _numeric(lambda sp, a, b: sp.Eq(a, b)),
    "neq": _numeric(lambda sp, a, b: sp.Ne(a, b)),
    "lt": _numeric(lambda sp, a, b: sp.Lt(a, b)),
    "le": _numeric(lambda sp, a, b: sp.Le(a, b)),
    "gt": _numeric(lambda sp, a, b: sp.Gt(a, b)),
    "ge": _numeric(lambda sp, a, b: sp.Ge(a, b)),
    "second": _numeric(lambda sp, model, value: value),
    "and_": ("logic", lambda sp, a, b: sp.And(a, b)),
    "or_": ("logic", lambda sp, a, b: sp.Or(a, b)),
    "xor": ("logic", lambda sp, a, b: sp.Xor(a, b)),
    "invert": ("logic", lambda sp, a: sp.Not(a)),
    "switch": ("switch", None),
}
