"""The scalar language of kernel bodies: a small, closed set of primitives.

A fused kernel's body is a DAG of :class:`Scalar` nodes (hash-consed like graph nodes).
Elementwise ops lower to these primitives; code generators know only these.  Every
primitive has a numpy reference here, so ``ir.evaluate`` can run a fused kernel too.

Operands of a primitive always share one dtype (the op that builds the body inserts casts);
comparisons, ``isnan`` and ``isinf`` return bool, ``cast`` returns its attribute's dtype.
``index`` is the element's position along one axis of the kernel's domain (int64), counted
from the last axis as broadcasting aligns shapes (``attr`` -1: the innermost axis), so a
one-hot ``where(index == label, x, 0)`` is computed in place instead of gathered.
"""
import math
import weakref
from dataclasses import dataclass, field

import numpy as np

from . import dtypes

# prim -> (arity, result rule: "same" | "bool" | "cast")
ARITHMETIC = {"add": 2, "sub": 2, "mul": 2, "div": 2, "floordiv": 2, "mod": 2, "pow": 2,
              "neg": 1, "abs": 1, "sign": 1, "minimum": 2, "maximum": 2}
COMPARISONS = {"eq": 2, "ne": 2, "lt": 2, "le": 2, "gt": 2, "ge": 2, "isnan": 1, "isinf": 1}
BITWISE = {"and": 2, "or": 2, "xor": 2, "invert": 1}
FLOAT_UNARY = {"sqrt": 1, "floor": 1, "ceil": 1, "trunc": 1, "rint": 1}
# Transcendentals: codegen takes them from theon's own vectorisable math library.
MATH = {"exp": 1, "exp2": 1, "expm1": 1, "log": 1, "log2": 1, "log10": 1, "log1p": 1,
        "sin": 1, "cos": 1, "tan": 1, "arcsin": 1, "arccos": 1, "arctan": 1, "arctan2": 2,
        "sinh": 1, "cosh": 1, "tanh": 1, "arcsinh": 1, "arccosh": 1, "arctanh": 1,
        "erf": 1, "erfc": 1}
OTHER = {"where": 3, "cast": 1, "input": 0, "const": 0, "index": 0}
# ``call``: an external scalar function (``EXTERNAL``), any number of operands
ARITY = {**ARITHMETIC, **COMPARISONS, **BITWISE, **FLOAT_UNARY, **MATH, **OTHER, "call": None}


class Scalar:
    """One primitive applied to scalar operands.  Build with :func:`make` (hash-consed).

    Attributes
    ----------
    prim : str
        A key of ``ARITY``.
    args : tuple of Scalar
    dtype : str
    attr : hashable
        ``input``: the kernel input index; ``const``: the value's bytes; ``cast``: nothing
        (the target dtype is ``dtype``); ``call``: the symbol of an ``ExternalFunction``;
        ``index``: the axis, negative (counted from the domain's last axis).
    """

    __slots__ = ("prim", "args", "dtype", "attr", "__weakref__")
    _table = weakref.WeakValueDictionary()

    def __repr__(self):
        return "; ".join(format_body([self]))

    def _leaf_text(self):
        if self.prim == "const":
            return f"{self.value!r}:{self.dtype}"
        if self.prim == "index":
            return f"index[{self.attr}]"
        return f"in{self.attr}:{self.dtype}"

    @property
    def value(self):
        """The Python value of a ``const``."""
        return np.frombuffer(self.attr, dtype=self.dtype)[0].item()

    def key(self):
        """Deterministic description of this primitive alone (operands excluded)."""
        attr = self.attr.hex() if isinstance(self.attr, bytes) else self.attr
        return (self.prim, self.dtype, attr)


def make(prim, args, dtype, attr=None):
    """The Scalar for ``prim(*args)`` of ``dtype``, reusing an equal one if it exists."""
    args = tuple(args)
    arity = ARITY[prim]
    if arity is not None and len(args) != arity:
        raise ValueError(f"scalar {prim}: expected {arity} operands, got {len(args)}")
    key = (prim, args, dtype, attr)
    node = Scalar._table.get(key)
    if node is None:
        node = object.__new__(Scalar)
        node.prim, node.args, node.dtype, node.attr = prim, args, dtype, attr
        Scalar._table[key] = node
    return node


def format_body(outputs):
    """Lines ``tk = prim(ti, tj) : dtype`` for the DAGs ``outputs`` (each node once, operands
    first, leaves inline), ending with ``out<n> = tk``; iterative, so any depth prints."""
    names, lines = {}, []
    for node in _order(outputs):
        if node.prim in ("input", "const", "index"):
            names[node] = node._leaf_text()
            continue
        names[node] = f"t{len(lines)}"
        operands = ", ".join(names[a] for a in node.args)
        prim = f"call {node.attr}" if node.prim == "call" else node.prim
        lines.append(f"{names[node]} = {prim}({operands}) : {node.dtype}")
    lines.extend(f"out{index} = {names[o]}" for index, o in enumerate(outputs))
    return lines


def input_(index, dtype):
    """Element of kernel input ``index``."""
    return make("input", (), dtype, index)


def const(value, dtype):
    """A constant of ``dtype``; NaN and -0.0 are kept exactly (identity is the bytes)."""
    return make("const", (), dtype, np.array(value, dtype=dtype).tobytes())


def index(axis):
    """The element's position (int64) along domain axis ``axis``, a negative axis counted
    from the last one."""
    if not isinstance(axis, int) or axis >= 0:
        raise ValueError(f"scalar index: axis must be a negative int; got {axis!r}")
    return make("index", (), "int64", axis)


def cast(x, dtype):
    """``x`` converted to ``dtype`` (numpy's astype; float to bool is ``x != 0``)."""
    if x.dtype == dtype:
        return x
    return make("cast", (x,), dtype)


def apply(prim, *args):
    """``prim(*args)`` with the result dtype the primitive's rule gives."""
    dtype = args[0].dtype if prim != "where" else args[1].dtype
    if prim in COMPARISONS:
        dtype = dtypes.BOOL
    return make(prim, args, dtype)


@dataclass(frozen=True)
class ExternalFunction:
    """A scalar function compiled elsewhere (by numba, for ``theon.elemwise_op``) whose LLVM
    IR kernels link in and inline.

    Attributes
    ----------
    symbol : str
        Its name in kernels' LLVM modules; a hash of ``llvm_ir``, so equal code is one
        function and the kernel caches, keyed by the body, stay correct.
    arg_dtypes : tuple of str
    out_dtype : str
    llvm_ir : str
        A module defining ``symbol`` with numba's calling convention:
        ``i32 symbol(out_dtype* result, ptr exception, args...)`` (the status is ignored:
        the function is compiled not to raise).
    callees : tuple of str
        The functions the code calls (libm's ``erf``, LLVM intrinsics): a target links
        only what it can provide.
    reference : callable or None
        Elementwise over numpy arrays (the numpy reference ``evaluate`` runs); None in a
        process that loaded the function from a stored schedule without defining it.
    name : str
        The op's name, for messages.
    """

    symbol: str
    arg_dtypes: tuple
    out_dtype: str
    llvm_ir: str = field(repr=False)
    callees: tuple = ()
    reference: object = field(default=None, repr=False, compare=False)
    name: str = field(default="", compare=False)


# symbol -> ExternalFunction: every external function this process knows
EXTERNAL = {}


def register_external(function):
    """Make ``function`` known by its symbol (a definition with a reference wins over one
    loaded without); returns the registered ExternalFunction."""
    known = EXTERNAL.get(function.symbol)
    if known is None or (known.reference is None and function.reference is not None):
        EXTERNAL[function.symbol] = function
        return function
    return known


def call(symbol, args):
    """The scalar ``symbol(*args)`` of a registered ExternalFunction; the operands are cast
    to its argument dtypes."""
    function = EXTERNAL[symbol]
    if len(args) != len(function.arg_dtypes):
        raise ValueError(f"scalar call {symbol}: expected {len(function.arg_dtypes)} operands, "
                         f"got {len(args)}")
    args = [cast(a, d) for a, d in zip(args, function.arg_dtypes)]
    return make("call", args, function.out_dtype, symbol)


def _call_reference(symbol, *arrays):
    function = EXTERNAL.get(symbol)
    if function is None or function.reference is None:
        raise RuntimeError(f"scalar call {symbol}: no numpy reference in this process (the "
                           "function was loaded from a stored schedule; define its op to "
                           "evaluate it)")
    return function.reference(*arrays)


def _erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[x.dtype])(x)


def _int_power(base, exponent):
    """Integer power where negative exponents truncate toward zero (1/b**k), as C would."""
    with np.errstate(all="ignore"):
        safe = np.power(base, np.abs(exponent).astype(base.dtype))
        negative = exponent < 0
        if not np.any(negative):
            return safe
        small = np.where(base == 1, 1, np.where(base == -1, np.where(exponent % 2 == 0, 1, -1), 0))
        return np.where(negative, small.astype(base.dtype), safe)


def _power(base, exponent):
    if base.dtype.kind in "iu":
        return _int_power(base, exponent)
    return np.power(base, exponent)


def _divide_like(ufunc):
    """Integer division/modulo that gives 0 for a zero divisor instead of raising."""
    def impl(a, b):
        if a.dtype.kind in "iub":
            with np.errstate(all="ignore"):
                return ufunc(a, b)
        return ufunc(a, b)
    return impl


NUMPY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "floordiv": _divide_like(np.floor_divide), "mod": _divide_like(np.mod), "pow": _power,
    "neg": np.negative, "abs": np.abs, "sign": np.sign,
    "minimum": np.minimum, "maximum": np.maximum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "isnan": np.isnan, "isinf": np.isinf,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor, "invert": np.invert,
    "sqrt": np.sqrt, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "rint": np.rint,
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2,
    "log10": np.log10, "log1p": np.log1p, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan, "arctan2": np.arctan2,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arcsinh": np.arcsinh,
    "arccosh": np.arccosh, "arctanh": np.arctanh, "erf": _erf, "erfc": _erfc,
    "where": np.where,
}


def evaluate(outputs, inputs):
    """Evaluate scalar DAGs ``outputs`` elementwise over numpy arrays ``inputs``.

    Parameters
    ----------
    outputs : sequence of Scalar
    inputs : sequence of numpy arrays, already broadcast against each other
    """
    values = {}
    shape = np.broadcast_shapes(*[np.shape(a) for a in inputs]) if inputs else ()
    with np.errstate(all="ignore"):
        for node in _order(outputs):
            if node.prim == "input":
                value = np.asarray(inputs[node.attr])
            elif node.prim == "const":
                value = np.asarray(node.value, dtype=node.dtype)
            elif node.prim == "index":
                value = positions(shape, node.attr)
            elif node.prim == "cast":
                value = _cast(values[node.args[0]], node.dtype)
            elif node.prim == "call":
                value = _call_reference(node.attr, *[values[a] for a in node.args])
                value = np.asarray(value).astype(node.dtype, copy=False)
            else:
                value = NUMPY[node.prim](*[values[a] for a in node.args])
                value = np.asarray(value).astype(node.dtype, copy=False)
            values[node] = value
    return [np.broadcast_to(values[o], shape).astype(o.dtype) for o in outputs]


def positions(shape, axis):
    """Each element's position along ``axis`` (negative) of ``shape``, broadcastable to it."""
    if -axis > len(shape):
        raise ValueError(f"scalar index: axis {axis} of a domain of rank {len(shape)}")
    length = shape[axis]
    return np.arange(length, dtype=np.int64).reshape((length,) + (1,) * (-axis - 1))


def _cast(value, dtype):
    if dtype == dtypes.BOOL:
        return value != 0
    return value.astype(dtype)


def _order(outputs):
    """Scalars reachable from ``outputs``, operands first (iterative)."""
    order, seen = [], set()
    for root in outputs:
        stack = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if node in seen:
                continue
            if i < len(node.args):
                stack.append((node, i + 1))
                if node.args[i] not in seen:
                    stack.append((node.args[i], 0))
            else:
                seen.add(node)
                order.append(node)
    return order


topological = _order
