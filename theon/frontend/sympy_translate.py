"""One translation of sympy expressions into theon's elementwise ops, for two builders.

``translate`` walks a sympy expression and names, for every part of it, the op of
``ir.ELEMENTWISE`` that computes it; a *builder* applies those ops.  ``from_sympy`` applies
them to Variables (a graph that fuses and differentiates like any other), ``sympy_op``
lowers them to the scalar primitives of ``ir.scalar`` (the body of one fused op).  So the
two agree on every function by construction.

sympy is imported only when a translation runs: ``import theon`` must not load it.
"""
import functools

# terms a Sum or Product over integer bounds is written out into, at most
MAX_TERMS = 10_000

# sympy function name -> the theon op of one argument computing it
_UNARY = {
    "exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin",
    "acos": "arccos", "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "erf": "erf", "erfc": "erfc",
    "Abs": "abs", "sign": "sgn", "floor": "floor", "ceiling": "ceil",
    # sympy.codegen.cfunctions: the accurate forms theon also has
    "expm1": "expm1", "log1p": "log1p", "exp2": "exp2", "log2": "log2", "log10": "log10",
    "Sqrt": "sqrt",
}
# reciprocal functions: f(x) = 1 / g(x)
_RECIPROCAL = {"cot": "tan", "sec": "cos", "csc": "sin", "coth": "tanh", "sech": "cosh",
               "csch": "sinh"}
# their inverses: f(x) = g(1 / x)
_INVERSE_RECIPROCAL = {"acot": "arctan", "asec": "arccos", "acsc": "arcsin",
                       "acoth": "arctanh", "asech": "arccosh", "acsch": "arcsinh"}
_RELATIONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "neq"}
_FOLDED = {"And": "and_", "Or": "or_", "Xor": "xor", "Min": "minimum", "Max": "maximum"}
_LOG_BASES = {2: "log2", 10: "log10"}


def supported_functions():
    """The names of the sympy functions ``translate`` knows, sorted (for messages)."""
    return sorted({*_UNARY, *_RECIPROCAL, *_INVERSE_RECIPROCAL, *_FOLDED, "Not", "atan2",
                   "Mod", "Heaviside", "hypot", "Cbrt", "Piecewise", "Sum", "Product"})


@functools.cache
def _sympy():
    import sympy
    return sympy


def python_number(expr, what):
    """The Python int or float of the constant sympy expression ``expr`` (ints stay ints
    while int64 holds them); TypeError naming ``what`` when it is not a real number."""
    if expr.is_Integer and -2 ** 63 <= int(expr) < 2 ** 63:
        return int(expr)
    try:
        return float(expr)
    except TypeError:
        raise TypeError(f"{what}: {expr} is not a real number; theon computes in real "
                        "arithmetic") from None


def translate(expr, builder, what):
    """``expr`` built by ``builder``.

    Parameters
    ----------
    expr : sympy.Basic
        An expression or a boolean (relations, And/Or/Not); sums and products are expanded
        first with :func:`expand_sums`.
    builder : object
        ``leaf(symbol)``: the value of a free symbol; ``number(value)``: a Python bool, int
        or float; ``apply(name, *values)``: the op ``ir.ELEMENTWISE[name]`` applied.
    what : str
        The caller, first in error messages.

    Raises
    ------
    TypeError
        For a sympy function or expression kind theon has no op for, and for complex
        constants.
    ValueError
        For a Sum or Product whose bounds are not integers.
    """
    return _Translation(builder, what).value(expand_sums(expr, what))


class _Translation:
    def __init__(self, builder, what):
        self.builder = builder
        self.what = what
        self.memo = {}
        self.sp = _sympy()

    def value(self, expr):
        result = self.memo.get(expr)
        if result is None:
            result = self.memo[expr] = self._translate(expr)
        return result

    def apply(self, name, *exprs):
        return self.builder.apply(name, *[self.value(e) for e in exprs])

    def _translate(self, expr):
        sp, b = self.sp, self.builder
        if isinstance(expr, sp.Symbol):
            return b.leaf(expr)
        if expr is sp.true or expr is sp.false:
            return b.number(bool(expr))
        if getattr(expr, "is_number", False):
            return b.number(python_number(expr, self.what))
        name = type(expr).__name__
        if isinstance(expr, sp.Add):
            return self._add(expr)
        if isinstance(expr, sp.Mul):
            return self._mul(expr)
        if isinstance(expr, sp.Pow):
            return self._pow(expr)
        if isinstance(expr, sp.Piecewise):
            return self._piecewise(expr)
        if isinstance(expr, sp.core.relational.Relational) and expr.rel_op in _RELATIONS:
            return self.apply(_RELATIONS[expr.rel_op], expr.lhs, expr.rhs)
        if name in _FOLDED:
            return self._fold(_FOLDED[name], expr.args)
        if name == "Not":
            return self.apply("invert", expr.args[0])
        if isinstance(expr, sp.Function) and len(expr.args) == 1:
            (arg,) = expr.args
            if name in _UNARY:
                return self.apply(_UNARY[name], arg)
            if name in _RECIPROCAL:
                return b.apply("true_div", b.number(1), self.apply(_RECIPROCAL[name], arg))
            if name in _INVERSE_RECIPROCAL:
                inverse = b.apply("true_div", b.number(1), self.value(arg))
                return b.apply(_INVERSE_RECIPROCAL[name], inverse)
            if name == "Cbrt":  # C's real cube root, also of negative numbers
                return self.value(sp.sign(arg) * sp.Abs(arg) ** sp.Rational(1, 3))
        if name == "atan2":
            return self.apply("arctan2", *expr.args)
        if name == "Mod":
            return self.apply("mod", *expr.args)
        if name == "hypot":
            x, y = expr.args
            return self.value(sp.sqrt(x ** 2 + y ** 2))
        if name == "Heaviside":
            return self._heaviside(*expr.args)
        raise TypeError(f"{self.what}: sympy's {name} has no theon counterpart (in {expr}); "
                        f"supported functions: {', '.join(supported_functions())}")

    def _fold(self, op, args):
        result = self.value(args[0])
        for arg in args[1:]:
            result = self.builder.apply(op, result, self.value(arg))
        return result

    def _add(self, expr):
        # terms with a minus sign are subtracted (x - y, not x + (-1) * y), constant terms
        # summed into one number
        b = self.builder
        constant = [t for t in expr.args if t.is_number]
        terms = [t for t in expr.args if not t.is_number]
        added = [t for t in terms if not t.could_extract_minus_sign()]
        subtracted = [-t for t in terms if t.could_extract_minus_sign()]
        result = self._fold("add", added) if added else None
        if constant:
            value = python_number(self.sp.Add(*constant), self.what)
            if result is None:
                result = b.number(value)
            elif value < 0:
                result = b.apply("sub", result, b.number(-value))
            elif value != 0:
                result = b.apply("add", result, b.number(value))
        for term in subtracted:
            result = (b.apply("neg", self.value(term)) if result is None
                      else b.apply("sub", result, self.value(term)))
        return result

    def _mul(self, expr):
        # a / b for factors with negative constant exponents, one constant coefficient, and
        # log(u) / log(2) as log2(u) (sympy writes log(u, 2) so)
        sp, b = self.sp, self.builder
        constant = [f for f in expr.args if f.is_number]
        numerator, denominator = [], []
        for factor in expr.args:
            if factor.is_number:
                continue
            if factor.is_Pow and factor.exp.is_number and factor.exp.is_negative:
                denominator.append(sp.Pow(factor.base, -factor.exp))
            else:
                numerator.append(factor)
        logs = [f for f in numerator if isinstance(f, sp.log)]
        for base, op in _LOG_BASES.items():
            inverse = sp.Pow(sp.log(base), -1)
            if logs and inverse in constant:
                constant.remove(inverse)
                numerator.remove(logs[0])
                numerator.append(_Applied(op, logs.pop(0).args[0]))
        coefficient = python_number(sp.Mul(*constant), self.what) if constant else 1
        if numerator:
            result = self._product(numerator)
            if coefficient == -1:
                result = b.apply("neg", result)
            elif coefficient != 1:
                result = b.apply("mul", b.number(coefficient), result)
        else:
            result = b.number(coefficient)
        if denominator:
            result = b.apply("true_div", result, self._product(denominator))
        return result

    def _product(self, factors):
        values = [self.builder.apply(f.op, self.value(f.arg)) if isinstance(f, _Applied)
                  else self.value(f) for f in factors]
        result = values[0]
        for value in values[1:]:
            result = self.builder.apply("mul", result, value)
        return result

    def _pow(self, expr):
        b = self.builder
        base, exponent = expr.base, expr.exp
        if exponent.is_number:
            value = python_number(exponent, self.what)
            if value < 0:
                return b.apply("true_div", b.number(1), self._power(base, -value))
            return self._power(base, value)
        if base == 2:
            return self.apply("exp2", exponent)
        return self.apply("pow", base, exponent)

    def _power(self, base, value):
        """``base ** value`` for a number ``value`` >= 0, exact where a cheaper op is."""
        b = self.builder
        if value == 1:
            return self.value(base)
        if value == 2:
            return self.apply("sqr", base)
        if value == 0.5:
            return self.apply("sqrt", base)
        return b.apply("pow", self.value(base), b.number(value))

    def _piecewise(self, expr):
        # the first true condition picks its expression; with no True default, nan (sympy's
        # value where no condition holds)
        pieces = list(expr.args)
        if pieces[-1].cond is self.sp.true:
            result = self.value(pieces.pop().expr)
        else:
            result = self.builder.number(float("nan"))
        for piece in reversed(pieces):
            result = self.builder.apply("switch", self.value(piece.cond),
                                        self.value(piece.expr), result)
        return result

    def _heaviside(self, x, at_zero=None):
        # 0 below 0, 1 above, H(0) at 0 (sympy's second argument, 1/2 by default), nan at
        # nan (numpy.heaviside, what lambdify calls)
        b = self.builder
        at_zero = b.number(0.5) if at_zero is None else self.value(at_zero)
        value = self.value(x)
        middle = b.apply("switch", b.apply("eq", value, b.number(0)), at_zero, value)
        above = b.apply("switch", b.apply("gt", value, b.number(0)), b.number(1), middle)
        return b.apply("switch", b.apply("lt", value, b.number(0)), b.number(0), above)


class _Applied:
    """``op(arg)`` in a product, where ``op`` is not a sympy function (log2)."""

    __slots__ = ("op", "arg")

    def __init__(self, op, arg):
        self.op, self.arg = op, arg


def expand_sums(expr, what):
    """``expr`` with every Sum and Product over integer bounds written out term by term.

    sympy's own ``doit`` answers sums of 100 terms or more with closed forms (a geometric
    series as ``(1 - x**n) / (1 - x)``, which loses every digit near ``x = 1``, or with
    special functions theon lacks), so the terms are substituted directly.  An empty range
    ``a > b`` follows sympy's (Karr's) convention, as ``doit`` does.

    Raises
    ------
    ValueError
        A bound that is not an integer (a symbol, oo), or more than ``MAX_TERMS`` terms.
    """
    sp = _sympy()
    if not expr.has(sp.Sum, sp.Product):
        return expr

    def expand(node):
        if not node.free_symbols:  # a number, even over an infinite range: sympy sums it
            value = node.doit()
            return value if value.is_number and not value.has(sp.Sum, sp.Product) else \
                node.evalf()
        return _expanded(node, node.function, list(node.limits), what)

    return expr.replace(lambda e: isinstance(e, (sp.Sum, sp.Product)), expand)


def _expanded(node, body, limits, what):
    """``body`` summed (or multiplied) over ``limits``, innermost first as sympy lists
    them, written out from the outermost: an inner bound may name an outer index."""
    if not limits:
        return body
    sp = _sympy()
    kind = type(node).__name__
    *inner, limit = limits
    if len(limit) != 3:
        raise ValueError(f"{what}: {kind} over {limit[0]} needs bounds (i, a, b); "
                         f"got {tuple(limit)}")
    index, low, high = limit
    for bound in (low, high):
        if not bound.is_Integer:
            raise ValueError(f"{what}: {kind} over {index} needs integer bounds; got "
                             f"{bound} in {node}")
    low, high = int(low), int(high)
    reverse = high < low - 1  # Karr: sum_{a}^{b} = -sum_{b+1}^{a-1}, product inverted
    if reverse:
        low, high = high + 1, low - 1
    if high - low + 1 > MAX_TERMS:
        raise ValueError(f"{what}: {kind} over {index} has {high - low + 1} terms; at most "
                         f"{MAX_TERMS} are expanded")
    terms = []
    for k in range(low, high + 1):
        value = {index: sp.Integer(k)}
        terms.append(_expanded(node, body.xreplace(value),
                               [tuple(part.xreplace(value) for part in lim) for lim in inner],
                               what))
    if kind == "Sum":
        result = sp.Add(*terms)
        return -result if reverse else result
    result = sp.Mul(*terms)
    return 1 / result if reverse else result
