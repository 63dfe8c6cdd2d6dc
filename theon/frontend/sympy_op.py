"""``theon.sympy_op``: an elementwise op whose scalar body is a sympy expression.

The op is an ordinary ``ir.ElementwiseOp``: its lowering translates the expression into the
scalar primitives of ``ir.scalar`` (so it fuses into theon's kernels with its neighbours),
its numpy reference is ``sympy.lambdify``, and its gradient with respect to each argument is
the sympy_op of ``sympy.diff`` of the expression, so derivatives of any order come from
sympy.  sympy is imported when an op is defined, not before.
"""
from dataclasses import dataclass, field, replace

import numpy as np

from ..ir import ELEMENTWISE, Node, dtypes
from ..ir import scalar as s
from ..ir.ops.elementwise import ElementwiseOp, float_kind, register_custom
from .elementwise import apply
from .sympy_translate import _sympy, expand_sums, python_number, translate

_NAME = "sympy_op"
_DEFINED = {}  # attrs -> op, so that a definition repeated is one op and one lambdify
_LABEL_LENGTH = 48


@dataclass(frozen=True, eq=False)
class SympyOp(ElementwiseOp):
    """An elementwise op defined by a sympy expression; call it on Variables to apply it.

    Identity is ``("sympy_op", attrs)`` where ``attrs`` holds ``sympy.srepr`` of the
    expression and of its arguments: equal definitions are one op (one node when applied to
    the same inputs, one entry of the compile caches), different ones never collide.  The
    display name is not part of the identity.  Make one with :func:`sympy_op`.

    Attributes
    ----------
    expr : sympy.Expr
        The scalar body, over ``args``; symbols not declared real are replaced by real
        symbols of the same name (theon's tensors are real), sums are expanded.
    args : tuple of sympy.Symbol
        The arguments, in call order.
    label : str or None
        The display name: ``describe()`` is ``sympy_op{label}``.
    """

    expr: object = field(default=None, repr=False)
    args: tuple = field(default=(), repr=False)
    label: str = None

    def describe(self):
        text = self.label
        if text is None:
            text = str(self.expr)
            if len(text) > _LABEL_LENGTH:
                text = text[:_LABEL_LENGTH - 3] + "..."
        return f"{_NAME}{{{text}}}"

    def __repr__(self):
        return f"<{self.describe()}: ({', '.join(a.name for a in self.args)}) -> {self.expr}>"

    def __call__(self, *operands):
        """The op applied to ``operands`` (Variables, arrays or numbers; numbers take the
        dtype of the tensors they meet, as in ``x * 0.5``)."""
        if len(operands) != self.nin:
            names = ", ".join(a.name for a in self.args)
            raise TypeError(f"{self.describe()}: expected {self.nin} argument"
                            f"{'s' if self.nin != 1 else ''} ({names}), got {len(operands)}")
        return apply(self, *operands)


def sympy_op(expr, args, name=None):
    """A new elementwise op computing the sympy expression ``expr`` of ``args``.

    The op fuses with its neighbours into one kernel (its body is translated into theon's
    scalar primitives, the table of :func:`theon.from_sympy`), folds constants through
    ``sympy.lambdify``, and differentiates through ``sympy.diff``: ``theon.grad`` of it is
    the sympy_op of the derivative, so second and higher derivatives work too.  Integer
    inputs compute in floats, as theon's other float functions do (int8 -> float32,
    int32 -> float64).  Defining the same expression and arguments twice gives equal ops,
    which share nodes and compiled functions.

    Derivatives follow theon's conventions where sympy gives a distribution or nothing:
    the derivative of sign, floor, ceiling and Heaviside is 0 (sympy's DiracDelta is taken
    as 0), and ``Mod(a, b)`` is differentiated as ``a - b*floor(a/b)``.

    Parameters
    ----------
    expr : sympy.Expr or number
        The scalar body: a real-valued expression of ``args`` built from the functions
        :func:`theon.from_sympy` supports (Piecewise, Sum over integer bounds, ...).
    args : sympy.Symbol or sequence of sympy.Symbol
        The arguments, in call order, with distinct names; every free symbol of ``expr``
        must be one of them.
    name : str, optional
        The display name (``describe()`` shows ``sympy_op{name}``); not part of the op's
        identity.

    Returns
    -------
    SympyOp
        Call it with one Variable (or array, or number) per argument.

    Raises
    ------
    TypeError
        ``expr`` is not a sympy expression or uses a function theon has no op for;
        an argument is not a Symbol.
    ValueError
        Arguments share a name, ``expr`` has a free symbol outside ``args``, or a Sum has
        bounds that are not integers.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> softclip = theon.sympy_op(y * sympy.tanh(x / y), [x, y], name="softclip")
    >>> a = T.dvector("a")
    >>> f = theon.function([a], softclip(a, 3.0) * 2)          # one fused kernel
    >>> g = theon.function([a], theon.grad(T.sum(softclip(a, 3.0)), a))  # 1 - tanh(a/3)**2
    """
    sp = _sympy()
    expr, args = _checked(sp, expr, args, name)
    expr, args = _real(sp, expr, args)
    return _define(sp, expand_sums(expr, "sympy_op"), args, name)


def _checked(sp, expr, args, name):
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"sympy_op: expr must be a sympy expression (sympy.Expr); got "
                        f"{type(expr).__name__} {expr!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"sympy_op: name must be a str; got {type(name).__name__}")
    args = (args,) if isinstance(args, sp.Basic) else tuple(args)
    if not args:
        raise ValueError("sympy_op: args is empty; expected at least one sympy Symbol")
    for index, arg in enumerate(args):
        if not isinstance(arg, sp.Symbol):
            raise TypeError(f"sympy_op: args[{index}] must be a sympy Symbol; got "
                            f"{type(arg).__name__} {arg!r}")
    names = [a.name for a in args]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"sympy_op: args must have distinct names; {repeated[0]!r} is "
                         "repeated")
    extra = sorted((expr.free_symbols - set(args)), key=str)
    if extra:
        raise ValueError(f"sympy_op: expr has free symbol {extra[0]} that is not among args "
                         f"({', '.join(names)})")
    return expr, args


def _real(sp, expr, args):
    """``expr`` and ``args`` with every argument a real symbol (sympy then differentiates
    abs(x) as sign(x), not through re(x) and im(x))."""
    real = tuple(a if a.is_real else sp.Symbol(a.name, real=True) for a in args)
    return expr.xreplace(dict(zip(args, real))), real


def _define(sp, expr, args, label):
    attrs = (("expr", sp.srepr(expr)), ("args", tuple(sp.srepr(a) for a in args)))
    op = _DEFINED.get(attrs)
    if op is None:
        # fail now, not at the first compile, on a function theon cannot lower
        _lower(expr, args)("float64", *[s.input_(i, "float64") for i in range(len(args))])
        op = SympyOp(_NAME, len(args), float_kind, _Reference(expr, args), _lower(expr, args),
                     attrs=attrs, gradient=_Gradient(expr, args, label), expr=expr,
                     args=args, label=label)
        _DEFINED[attrs] = op
    elif op.label != label:
        op = replace(op, label=label)  # an equal op (the same identity) shown by its name
    return register_custom(op)


class _Reference:
    """The numpy reference: ``sympy.lambdify`` of the expression, made on first use."""

    def __init__(self, expr, args):
        self.expr, self.args, self.function = expr, args, None

    def __call__(self, *arrays):
        if self.function is None:
            sp = _sympy()
            # numpy has no erf (theon's reference of its erf op serves), and lambdify
            # does not name sympy.codegen's Cbrt for numpy; its Heaviside is a select that
            # gives 1 at nan, numpy.heaviside (and the kernels) nan
            functions = {"erf": s.NUMPY["erf"], "erfc": s.NUMPY["erfc"], "Cbrt": np.cbrt,
                         "theon_heaviside": np.heaviside}
            step = sp.Function("theon_heaviside")
            expr = self.expr.replace(
                sp.Heaviside, lambda x, at_zero=sp.Rational(1, 2): step(x, at_zero))
            self.function = sp.lambdify(self.args, expr, modules=[functions, "numpy"])
        arrays = np.broadcast_arrays(*arrays)
        with np.errstate(all="ignore"):
            result = np.asarray(self.function(*arrays))
        return np.broadcast_to(result, arrays[0].shape)


class _ScalarBuilder:
    """Builds the translation from scalar primitives: every op through its own lowering."""

    def __init__(self, args, scalars, dtype):
        self.leaves = dict(zip(args, scalars))
        self.dtype = dtype

    def leaf(self, symbol):
        return self.leaves[symbol]

    def number(self, value):
        return s.const(value, dtypes.BOOL if isinstance(value, bool) else self.dtype)

    def apply(self, name, *values):
        return ELEMENTWISE[name].scalar_body(values)


def _lower(expr, args):
    def lower(out_dtype, *scalars):
        return translate(expr, _ScalarBuilder(args, scalars, out_dtype), "sympy_op")
    return lower


class _Gradient:
    """``ElementwiseOp.gradient`` of a sympy_op: ``g`` times the sympy_op of the derivative
    for each float input; derivatives are computed once, on first use."""

    def __init__(self, expr, args, label):
        self.expr, self.args, self.label = expr, args, label
        self.derivatives = {}

    def __call__(self, inputs, out, g):
        from ..ir import build
        result = []
        for index, x in enumerate(inputs):
            if x.type.dtype not in dtypes.FLOATS:
                result.append(None)  # vjp gives integer inputs no gradient
                continue
            derivative = self.derivative(index)
            if isinstance(derivative, SympyOp):
                result.append(build.apply("mul", g, Node.make(derivative, inputs)))
            elif derivative == 0:
                result.append(build.zeros_like(g))  # connected, with a zero gradient
            else:
                result.append(build.apply("mul", g, build.const(derivative, g)))
        return tuple(result)

    def derivative(self, index):
        """The sympy_op of d expr / d args[index], or a number when that is constant."""
        if index not in self.derivatives:
            sp = _sympy()
            arg = self.args[index]
            d = _distributions_as_zero(sp, sp.diff(_differentiable(sp, self.expr), arg))
            if d.is_number:
                value = python_number(d, "sympy_op")
            else:
                label = f"d{self.label}/d{arg.name}" if self.label else None
                value = _define(sp, d, self.args, label)
            self.derivatives[index] = value
        return self.derivatives[index]


def _differentiable(sp, expr):
    # sympy leaves Derivative(Mod(a, b), a) unevaluated; this form has the same derivative
    return expr.replace(sp.Mod, lambda a, b: a - b * sp.floor(a / b))


def _distributions_as_zero(sp, expr):
    """``expr`` with DiracDelta and the unevaluated derivatives of step functions as 0, as
    theon's own gradients of sgn, floor and ceil are."""
    steps = (sp.floor, sp.ceiling, sp.sign, sp.Heaviside)
    expr = expr.replace(lambda e: isinstance(e, sp.Derivative) and isinstance(e.expr, steps),
                        lambda e: sp.S.Zero)
    # the chain rule through a step function leaves Subs(0, xi, u(x)): evaluate them
    expr = expr.replace(lambda e: isinstance(e, sp.Subs), lambda e: e.doit())
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
