"""Elementwise ops: every one defined once, in the table at the bottom of this module.

An :class:`ElementwiseOp` holds its dtype signature, its numpy reference, its lowering to
the scalar primitives of ``ir.scalar`` and its algebraic traits.  Broadcasting (Theano's
rule: missing leading dimensions are broadcastable, a dimension broadcasts only when its
static length is 1) and dtype promotion are handled here, once, for all of them.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import dtypes
from .. import scalar as s
from ..errors import DTypeError, ShapeError
from ..node import Op
from ..types import TensorType


@dataclass(frozen=True, eq=False)
class ElementwiseOp(Op):
    """An elementwise op.  Identity is ``(name, attrs)``; the callables are its definition.

    Attributes
    ----------
    name : str
        Theano's / numpy's name.
    nin : int
        Number of inputs.
    signature : callable
        ``signature(name, in_dtypes) -> (arg_dtypes, out_dtype)``: the dtypes the inputs are
        converted to before the computation, and the output dtype.  Raises DTypeError.
    reference : callable
        numpy implementation over arrays already converted to ``arg_dtypes``.
    lower : callable
        ``lower(out_dtype, *scalar_args) -> Scalar`` over the primitives of ``ir.scalar``.
    commutative, associative, idempotent, involution : bool
        Algebraic traits read by the generic canonicaliser.
    identity : number or None
        ``x op identity == x``.
    attrs : tuple
        Attributes that are part of identity (cast's target dtype).
    gradient : callable or None
        ``gradient(inputs, output, g) -> tuple`` of one node (or None: no gradient) per
        input, given ``g``, the gradient with respect to ``output``; read by ``vjp``.
    """

    name: str
    nin: int
    signature: object = field(repr=False)
    reference: object = field(repr=False)
    lower: object = field(repr=False)
    commutative: bool = False
    associative: bool = False
    idempotent: bool = False
    involution: bool = False
    identity: object = None
    attrs: tuple = ()
    gradient: object = field(default=None, repr=False)

    def __eq__(self, other):
        return isinstance(other, ElementwiseOp) and (self.name, self.attrs) == \
            (other.name, other.attrs)

    def __hash__(self):
        return hash((self.name, self.attrs))

    def key(self):
        return ("Elementwise", self.name, self.attrs)

    def describe(self):
        if self.attrs:
            return f"{self.name}{{{', '.join(str(v) for _, v in self.attrs)}}}"
        return self.name

    def infer_type(self, *types):
        if len(types) != self.nin:
            raise TypeError(f"{self.name}: expected {self.nin} inputs, got {len(types)}")
        _, out_dtype = self.signature(self.name, [t.dtype for t in types])
        return TensorType(out_dtype, broadcast_shapes(self.name, [t.shape for t in types]))

    def impl(self, *arrays):
        arg_dtypes, out_dtype = self.signature(self.name, [a.dtype.name for a in arrays])
        args = [np.asarray(a).astype(d, copy=False) for a, d in zip(arrays, arg_dtypes)]
        with np.errstate(all="ignore"):
            result = np.asarray(self.reference(*args))
        if out_dtype == dtypes.BOOL:
            return result.astype(bool) if result.dtype == bool else result != 0
        return result.astype(out_dtype, copy=False)

    def vjp(self, node, grad):
        """The rule's input gradients, each summed to its input's shape (undoing the
        broadcast) and cast to its dtype; None for integer and bool inputs."""
        if self.gradient is None:
            raise NotImplementedError(f"{self.describe()}: no gradient defined")
        from .. import build
        inputs = node.inputs
        if not any(x.type.dtype in dtypes.FLOATS for x in inputs):
            return (None,) * len(inputs)
        results = self.gradient(inputs, node, grad)
        mask = _switch_mask(grad)
        out = []
        for x, gx in zip(inputs, results):
            if gx is None or x.type.dtype not in dtypes.FLOATS:
                out.append(None)
                continue
            if mask is not None:
                # grad is switch(c, g, 0): where it is 0, so is every input's gradient,
                # even where f'(x) is nan or inf (sqrt(x) in the untaken branch at x < 0)
                condition, taken = mask
                zero = build.const(0, gx)
                gx = build.apply("switch", condition, *((gx, zero) if taken else (zero, gx)))
            out.append(build.cast(build.sum_to(gx, x.type), x.type.dtype))
        return tuple(out)

    def scalar_body(self, args):
        """The scalar DAG computing this op from scalar operands ``args`` (any dtypes)."""
        arg_dtypes, out_dtype = self.signature(self.name, [a.dtype for a in args])
        converted = [s.cast(a, d) for a, d in zip(args, arg_dtypes)]
        return s.cast(self.lower(out_dtype, *converted), out_dtype)


def _switch_mask(grad):
    """``(c, True)`` when ``grad`` is ``switch(c, g, 0)``, ``(c, False)`` when it is
    ``switch(c, 0, g)``, else None (a 0 is a constant whose elements are all 0)."""
    op = grad.op
    if not isinstance(op, ElementwiseOp) or op.name != "switch":
        return None
    condition, a, b = grad.inputs
    for taken, branch in ((True, b), (False, a)):
        value = getattr(branch.op, "scalar", None)
        if not branch.inputs and value is not None and value == 0:
            return condition, taken
    return None


def broadcast_shapes(name, shapes):
    """Theano's broadcast of static shapes; ShapeError naming ``name`` when they clash."""
    shaped = [tuple(shape) for shape in shapes if len(shape)]
    if not shaped:
        return ()
    if all(shape == shaped[0] for shape in shaped):
        return shaped[0]  # the common case: operands of one shape, and 0-d constants
    ndim = max(len(shape) for shape in shaped)
    padded = [(1,) * (ndim - len(shape)) + tuple(shape) for shape in shapes]
    out = []
    for axis in range(ndim):
        dims = [shape[axis] for shape in padded if shape[axis] != 1]
        known = sorted({d for d in dims if d is not None})
        if len(known) > 1:
            raise ShapeError(f"{name}: static shapes {[tuple(s) for s in shapes]} do not "
                             f"broadcast: lengths {known} at axis {axis}")
        out.append(1 if not dims else (known[0] if known else None))
    return tuple(out)


# ---- dtype signatures -------------------------------------------------------------------

# ops that numpy computes on bools as bools (add is logical or, mul logical and); the others
# it computes in int8 (square, //, %, **) or refuses (-, unary -, sign), which Theano
# computes in int8
_BOOL_CLOSED = frozenset({"add", "mul", "maximum", "minimum", "abs", "clip"})


def _arith_dtype(name, in_dtypes):
    dtype = dtypes.upcast(*in_dtypes)
    if dtype == dtypes.BOOL and name not in _BOOL_CLOSED:
        return "int8"
    return dtype


def same_kind(name, in_dtypes):
    """Inputs promoted to one dtype, which is also the output's."""
    dtype = _arith_dtype(name, in_dtypes)
    return (dtype,) * len(in_dtypes), dtype


def float_kind(name, in_dtypes):
    """Inputs promoted and made float (int8 -> float32, int32 -> float64), as Theano does."""
    dtype = dtypes.to_float(dtypes.upcast(*in_dtypes))
    return (dtype,) * len(in_dtypes), dtype


def comparison(name, in_dtypes):
    """Inputs promoted to one dtype; the output is bool."""
    dtype = dtypes.upcast(*in_dtypes)
    return (dtype,) * len(in_dtypes), dtypes.BOOL


def bitwise(name, in_dtypes):
    """Integer or bool inputs only; promoted to one dtype."""
    for index, dtype in enumerate(in_dtypes):
        if dtype not in dtypes.INTEGRAL:
            raise DTypeError(f"{name}: input {index} has dtype {dtype}; expected an integer "
                             "or bool dtype")
    dtype = dtypes.upcast(*in_dtypes)
    return (dtype,) * len(in_dtypes), dtype


def switch_signature(name, in_dtypes):
    """``switch(cond, a, b)``: the condition is tested as bool, branches promoted together."""
    dtype = dtypes.upcast(*in_dtypes[1:])
    return (dtypes.BOOL, dtype, dtype), dtype


def second_signature(name, in_dtypes):
    """``second(a, b)``: ``b`` broadcast to ``a``'s shape (Theano's ``fill``)."""
    return tuple(in_dtypes), in_dtypes[1]


def float_test(name, in_dtypes):
    """isnan/isinf: any numeric input, bool output."""
    return tuple(in_dtypes), dtypes.BOOL


def cast_signature(target):
    """Signature of the cast to ``target``."""
    def signature(name, in_dtypes):
        return tuple(in_dtypes), target
    return signature


# ---- lowerings that are more than one primitive ---------------------------------------------

def _const(value, like):
    return s.const(value, like.dtype)


def _add(dtype, a, b):
    # bool + bool is logical or in numpy; an i1 add would wrap (True + True = False)
    return s.apply("or" if dtype == dtypes.BOOL else "add", a, b)


def _sqr(dtype, x):
    return s.apply("mul", x, x)


def _sigmoid(dtype, x):
    # 1 / (1 + exp(-x)) overflows exp below x = -709 and gives 0 where the value is still
    # subnormal; with e = exp(-|x|) <= 1 it is 1 / (1 + e) for x >= 0 and e / (1 + e) below,
    # one exp and one division, within about an ulp everywhere
    one = _const(1, x)
    tail = s.apply("exp", s.apply("neg", s.apply("abs", x)))
    numerator = s.apply("where", s.apply("ge", x, _const(0, x)), one, tail)
    return s.apply("div", numerator, s.apply("add", one, tail))


def _softplus(dtype, x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never overflows, exact for large |x|
    zero = _const(0, x)
    tail = s.apply("log1p", s.apply("exp", s.apply("neg", s.apply("abs", x))))
    return s.apply("add", s.apply("maximum", x, zero), tail)


def _clip(dtype, x, low, high):
    return s.apply("minimum", s.apply("maximum", x, low), high)


def _int_or_float_isnan(prim):
    def lower(dtype, x):
        if x.dtype in dtypes.FLOATS:
            return s.apply(prim, x)
        return s.const(False, dtypes.BOOL)
    return lower


def _invert(dtype, x):
    if x.dtype == dtypes.BOOL:
        return s.apply("xor", x, s.const(True, dtypes.BOOL))
    return s.apply("invert", x)


def _rounding(prim):
    def lower(dtype, x):
        return s.apply(prim, x)
    return lower


def _prim(prim):
    def lower(dtype, *args):
        return s.apply(prim, *args)
    lower.__name__ = f"lower_{prim}"
    return lower


def _second(dtype, model, value):
    return value


def _second_ref(model, value):
    return np.broadcast_to(value, np.broadcast_shapes(np.shape(model), np.shape(value)))


def _sigmoid_ref(x):
    tail = np.exp(-np.abs(x))  # the lowering's formula (exact where exp(-x) would overflow)
    return np.where(x >= 0, 1, tail) / (1 + tail)


def _softplus_ref(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _erf_ref(x):
    return s.NUMPY["erf"](x)


def _erfc_ref(x):
    return s.NUMPY["erfc"](x)


def _cast_lower(dtype, x):
    return s.cast(x, dtype)


# ---- gradient rules (``ElementwiseOp.gradient``) -----------------------------------------
# rule(inputs, output, g) -> one node or None per input; ElementwiseOp.vjp sums each to its
# input's shape and casts it to its dtype.

def _g(name, *nodes):
    from .. import build
    return build.apply(name, *nodes)


def _k(value, like):
    from .. import build
    return build.const(value, like)


def _mul(*nodes):
    result = nodes[0]
    for node in nodes[1:]:
        result = _g("mul", result, node)
    return result


def _div(a, b):
    return _g("true_div", a, b)


def _none(inputs, out, g):
    return (None,) * len(inputs)


def _unary(derivative):
    """Rule of f(x) from ``derivative(x, out, g) -> g * f'(x)``."""
    def rule(inputs, out, g):
        return (derivative(inputs[0], out, g),)
    return rule


def _grad_pow(inputs, out, g):
    x, y = inputs
    from ..node import Node
    from .leaf import Constant
    one = Node.make(Constant(np.asarray(1, dtype=y.type.dtype)))  # int exponents stay int
    gx = _mul(g, y, _g("pow", x, _g("sub", y, one)))
    gy = _mul(g, out, _g("log", x)) if y.type.dtype in dtypes.FLOATS else None
    return gx, gy


def _grad_true_div(inputs, out, g):
    x, y = inputs
    return _div(g, y), _g("neg", _div(_g("mul", g, x), _g("sqr", y)))


def _grad_mod(inputs, out, g):
    x, y = inputs
    return g, _g("neg", _g("mul", g, _g("int_div", x, y)))


def _grad_extremum(inputs, out, g):
    # Theano's convention: the gradient goes to every input equal to the result
    return tuple(_g("mul", g, _g("eq", x, out)) for x in inputs)


def _grad_clip(inputs, out, g):
    x, low, high = inputs
    return (_mul(g, _g("ge", x, low), _g("le", x, high)), _g("mul", g, _g("lt", x, low)),
            _g("mul", g, _g("gt", x, high)))


def _grad_switch(inputs, out, g):
    # selecting (not multiplying by a mask) keeps a nan/inf of the untaken branch out
    condition, a, b = inputs
    zero = _k(0, g)
    return None, _g("switch", condition, g, zero), _g("switch", condition, zero, g)


def _grad_arctan2(inputs, out, g):
    y, x = inputs
    norm = _g("add", _g("sqr", x), _g("sqr", y))
    return _div(_g("mul", g, x), norm), _g("neg", _div(_g("mul", g, y), norm))


def _inverse_sqrt_of(expr):
    return lambda x, out, g: _div(g, _g("sqrt", expr(x)))


_GRADIENTS = {
    "add": lambda inputs, out, g: (g, g),
    "sub": lambda inputs, out, g: (g, _g("neg", g)),
    "mul": lambda inputs, out, g: (_g("mul", g, inputs[1]), _g("mul", g, inputs[0])),
    "true_div": _grad_true_div,
    "int_div": _none,
    "mod": _grad_mod,
    "pow": _grad_pow,
    "neg": _unary(lambda x, out, g: _g("neg", g)),
    "abs": _unary(lambda x, out, g: _g("mul", g, _g("sgn", x))),
    "sqr": _unary(lambda x, out, g: _mul(g, _k(2, x), x)),
    "sqrt": _unary(lambda x, out, g: _div(g, _g("mul", _k(2, out), out))),
    "exp": _unary(lambda x, out, g: _g("mul", g, out)),
    "exp2": _unary(lambda x, out, g: _mul(g, out, _k(np.log(2.0), out))),
    "expm1": _unary(lambda x, out, g: _g("mul", g, _g("exp", x))),
    "log": _unary(lambda x, out, g: _div(g, x)),
    "log2": _unary(lambda x, out, g: _div(g, _g("mul", x, _k(np.log(2.0), out)))),
    "log10": _unary(lambda x, out, g: _div(g, _g("mul", x, _k(np.log(10.0), out)))),
    "log1p": _unary(lambda x, out, g: _div(g, _g("add", x, _k(1, out)))),
    "sin": _unary(lambda x, out, g: _g("mul", g, _g("cos", x))),
    "cos": _unary(lambda x, out, g: _g("neg", _g("mul", g, _g("sin", x)))),
    "tan": _unary(lambda x, out, g: _g("mul", g, _g("add", _k(1, out), _g("sqr", out)))),
    "arcsin": _unary(_inverse_sqrt_of(lambda x: _g("sub", _k(1, x), _g("sqr", x)))),
    "arccos": _unary(lambda x, out, g: _g("neg", _div(g, _g("sqrt", _g(
        "sub", _k(1, x), _g("sqr", x)))))),
    "arctan": _unary(lambda x, out, g: _div(g, _g("add", _k(1, out), _g("sqr", x)))),
    "sinh": _unary(lambda x, out, g: _g("mul", g, _g("cosh", x))),
    "cosh": _unary(lambda x, out, g: _g("mul", g, _g("sinh", x))),
    "tanh": _unary(lambda x, out, g: _g("mul", g, _g("sub", _k(1, out), _g("sqr", out)))),
    "arcsinh": _unary(_inverse_sqrt_of(lambda x: _g("add", _g("sqr", x), _k(1, x)))),
    "arccosh": _unary(_inverse_sqrt_of(lambda x: _g("sub", _g("sqr", x), _k(1, x)))),
    "arctanh": _unary(lambda x, out, g: _div(g, _g("sub", _k(1, out), _g("sqr", x)))),
    "arctan2": _grad_arctan2,
    "erf": _unary(lambda x, out, g: _mul(g, _k(2 / np.sqrt(np.pi), out),
                                         _g("exp", _g("neg", _g("sqr", x))))),
    "erfc": _unary(lambda x, out, g: _mul(g, _k(-2 / np.sqrt(np.pi), out),
                                          _g("exp", _g("neg", _g("sqr", x))))),
    # sigmoid(x) * sigmoid(-x) keeps its accuracy where sigmoid(x) rounds to 1
    "sigmoid": _unary(lambda x, out, g: _mul(g, out, _g("sigmoid", _g("neg", x)))),
    "softplus": _unary(lambda x, out, g: _g("mul", g, _g("sigmoid", x))),
    "maximum": _grad_extremum,
    "minimum": _grad_extremum,
    "clip": _grad_clip,
    "switch": _grad_switch,
    "second": lambda inputs, out, g: (None, g),
    "cast": lambda inputs, out, g: (g,),
}
for _name in ("sgn", "floor", "ceil", "trunc", "round_half_to_even", "eq", "neq", "lt", "le",
              "gt", "ge", "and_", "or_", "xor", "invert", "isnan", "isinf"):
    _GRADIENTS[_name] = _none


def _define(name, nin, signature, reference, lower, **traits):
    traits.setdefault("gradient", _GRADIENTS.get(name))
    return ElementwiseOp(name, nin, signature, reference, lower, **traits)


# ---- the catalogue ----------------------------------------------------------------------

_ARITH = [
    # name, nin, numpy, primitive, traits
    ("add", 2, np.add, "add", dict(commutative=True, associative=True, identity=0)),
    ("sub", 2, np.subtract, "sub", dict(identity=0)),
    ("mul", 2, np.multiply, "mul", dict(commutative=True, associative=True, identity=1)),
    ("int_div", 2, s.NUMPY["floordiv"], "floordiv", {}),  # x // 1 is floor(x) for floats
    ("mod", 2, s.NUMPY["mod"], "mod", {}),
    ("pow", 2, s.NUMPY["pow"], "pow", dict(identity=1)),
    ("neg", 1, np.negative, "neg", dict(involution=True)),
    ("abs", 1, np.abs, "abs", {}),
    ("sgn", 1, np.sign, "sign", {}),
    ("maximum", 2, np.maximum, "maximum", dict(commutative=True, associative=True,
                                              idempotent=True)),
    ("minimum", 2, np.minimum, "minimum", dict(commutative=True, associative=True,
                                              idempotent=True)),
]

_FLOAT_FUNCTIONS = ["sqrt", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin",
                    "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
                    "arcsinh", "arccosh", "arctanh"]

_COMPARISONS = [("eq", "eq", True), ("neq", "ne", True), ("lt", "lt", False),
                ("le", "le", False), ("gt", "gt", False), ("ge", "ge", False)]

_BITWISE = [("and_", "and", np.bitwise_and), ("or_", "or", np.bitwise_or),
            ("xor", "xor", np.bitwise_xor)]


def _catalogue():
    ops = {}
    for name, nin, ref, prim, traits in _ARITH:
        ops[name] = _define(name, nin, same_kind, ref, _prim(prim), **traits)
    ops["add"] = _define("add", 2, same_kind, np.add, _add, commutative=True,
                         associative=True, identity=0)
    ops["true_div"] = _define("true_div", 2, float_kind, np.true_divide, _prim("div"),
                              identity=1)
    ops["sqr"] = _define("sqr", 1, same_kind, np.square, _sqr)
    ops["clip"] = _define("clip", 3, same_kind, np.clip, _clip)
    for name in _FLOAT_FUNCTIONS:
        ops[name] = _define(name, 1, float_kind, getattr(np, name), _prim(name))
    ops["arctan2"] = _define("arctan2", 2, float_kind, np.arctan2, _prim("arctan2"))
    ops["erf"] = _define("erf", 1, float_kind, _erf_ref, _prim("erf"))
    ops["erfc"] = _define("erfc", 1, float_kind, _erfc_ref, _prim("erfc"))
    ops["sigmoid"] = _define("sigmoid", 1, float_kind, _sigmoid_ref, _sigmoid)
    ops["softplus"] = _define("softplus", 1, float_kind, _softplus_ref, _softplus)
    for name, numpy_name in (("floor", "floor"), ("ceil", "ceil"), ("trunc", "trunc"),
                             ("round_half_to_even", "rint")):
        ops[name] = _define(name, 1, float_kind, getattr(np, numpy_name),
                            _rounding(numpy_name))
    for name, prim, commutative in _COMPARISONS:
        ref = s.NUMPY[prim]
        ops[name] = _define(name, 2, comparison, ref, _prim(prim), commutative=commutative)
    for name, prim, ref in _BITWISE:
        ops[name] = _define(name, 2, bitwise, ref, _prim(prim), commutative=True,
                            associative=True, idempotent=prim != "xor")
    ops["invert"] = _define("invert", 1, bitwise, np.invert, _invert, involution=True)
    ops["isnan"] = _define("isnan", 1, float_test, np.isnan, _int_or_float_isnan("isnan"))
    ops["isinf"] = _define("isinf", 1, float_test, np.isinf, _int_or_float_isnan("isinf"))
    ops["switch"] = _define("switch", 3, switch_signature, np.where, _prim("where"))
    ops["second"] = _define("second", 2, second_signature, _second_ref, _second)
    return ops


ELEMENTWISE = _catalogue()

# ops defined by users (theon.sympy_op, theon.elemwise_op), by identity ``(name, attrs)``
_CUSTOM = {}


def register_custom(op):
    """Record the user-defined elementwise ``op`` under its identity, so that a stored
    schedule or graph naming it (the disk cache, a pickle) finds it again in this
    process; returns ``op``."""
    if op.name in ELEMENTWISE:
        raise ValueError(f"elementwise op {op.name!r}: the name of a built-in op")
    _CUSTOM[(op.name, op.attrs)] = op
    return op


def find_elementwise(name, attrs=()):
    """The elementwise op with identity ``(name, attrs)``: built-in, a cast, or registered
    with ``register_custom``; KeyError if this process knows none."""
    if name == "cast":
        return cast_op(dict(attrs)["dtype"])
    if name == "axis_index":
        return axis_index_op(dict(attrs)["axis"])
    if not attrs and name in ELEMENTWISE:
        return ELEMENTWISE[name]
    return _CUSTOM[(name, tuple(attrs))]

_casts = {}


def cast_op(dtype):
    """The elementwise op converting to ``dtype`` (numpy's ``astype``)."""
    dtype = dtypes.canonical(dtype)
    op = _casts.get(dtype)
    if op is None:
        op = _define("cast", 1, cast_signature(dtype), _saturating_cast(dtype), _cast_lower,
                     attrs=(("dtype", dtype),))
        _casts[dtype] = op
    return op


_axis_indices = {}


def axis_index_op(axis):
    """The elementwise op giving each element of its operand its position along ``axis``
    (negative: counted from the last axis), as int64; the operand's values are not read,
    only its shape.  ``eq(axis_index(x), label)`` is a one-hot mask that fuses into the
    kernels around it (see ``passes/one_hot.py``).  Build it with ``ir.build.axis_index``,
    which gives zeros instead on an axis of static length 1: in a kernel whose domain is
    longer there, the position would be the domain's."""
    if not isinstance(axis, int) or axis >= 0:
        raise ValueError(f"axis_index: axis must be a negative int; got {axis!r}")
    op = _axis_indices.get(axis)
    if op is None:
        def signature(name, in_dtypes):
            return tuple(in_dtypes), "int64"

        def reference(x):
            if -axis > x.ndim:
                raise ValueError(f"axis_index: axis {axis} of an array of rank {x.ndim}")
            return np.broadcast_to(s.positions(x.shape, axis), x.shape)

        op = _define("axis_index", 1, signature, reference, lambda dtype, x: s.index(axis),
                     attrs=(("axis", axis),), gradient=_none)
        _axis_indices[axis] = op
    return op


def _saturating_cast(target):
    """numpy reference of the cast to ``target``: float to integer saturates and nan gives 0,
    as the kernels do (numpy's astype leaves those values undefined)."""
    def cast(x):
        if x.dtype.kind != "f" or target not in dtypes.INTS:
            return x
        info = np.iinfo(target)
        with np.errstate(invalid="ignore"):
            clipped = np.clip(np.nan_to_num(x, nan=0.0), info.min, info.max)
            result = clipped.astype(target)
        # info.max may round up in floating point (2**63 - 1 -> 2**63), which astype wraps
        return np.where(clipped >= float(info.max), np.asarray(info.max, dtype=target),
                        result)
    return cast
